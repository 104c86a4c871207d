/**
 * bench section `scale`: the standard scenario (bench/standard.ts) on the worker pool of --jobs
 * (cli/pool.ts), 1 worker thread against 2, side by side in one run: executions per second of each,
 * and their ratio. Both pools are warmed up first (the JIT settles, the kernel is loaded); then the
 * two are measured in turn, twice each (1, 2, 1, 2), each measurement `ms` long, and the better of
 * each pair is kept (a neighbour's load only slows a measurement down). Every run must pass.
 *
 * Target: 2 jobs ≥ 1.8 × 1 job on a 2-core machine with nothing else running
 * (`/work/bin/heavy --exclusive npm run -s bench -- --json --only=scale`).
 */
import { availableParallelism } from 'node:os';
import { WorkerPool } from '../cli/pool.js';

/** Runs per task: big enough that the messages cost nothing next to the runs. */
const BATCH = 100;

export interface ScaleSection {
  readonly cores: number;
  readonly jobs1ExecutionsPerSec: number;
  readonly jobs2ExecutionsPerSec: number;
  /** jobs2 / jobs1. */
  readonly speedup: number;
}

let next = 0;

/** Keep every worker busy with batches for `ms`; executions per second over the window. */
async function measure(pool: WorkerPool, ms: number): Promise<number> {
  const t0 = performance.now();
  const end = t0 + ms;
  let done = 0;
  let lastEnd = t0;
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      const from = next;
      next += BATCH;
      const r = await pool.run<{ runs: number }>({ kind: 'standard', from, to: from + BATCH });
      done += r.runs;
      lastEnd = performance.now();
    }
  };
  await Promise.all(Array.from({ length: pool.size }, lane));
  return (done * 1000) / (lastEnd - t0);
}

export async function benchScale(opts: { ms?: number; warmupMs?: number } = {}): Promise<ScaleSection> {
  const ms = opts.ms ?? 4000;
  const warm = opts.warmupMs ?? 3000;
  const cwd = process.cwd();
  const p1 = new WorkerPool(1, cwd);
  const p2 = new WorkerPool(2, cwd);
  try {
    await measure(p1, warm);
    await measure(p2, warm);
    const r1: number[] = [];
    const r2: number[] = [];
    for (let i = 0; i < 2; i++) {
      r1.push(await measure(p1, ms));
      r2.push(await measure(p2, ms));
    }
    const j1 = Math.max(...r1);
    const j2 = Math.max(...r2);
    return { cores: availableParallelism(), jobs1ExecutionsPerSec: Math.round(j1), jobs2ExecutionsPerSec: Math.round(j2), speedup: Math.round((j2 / j1) * 100) / 100 };
  } finally {
    await p1.close();
    await p2.close();
  }
}
