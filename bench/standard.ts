/**
 * bench section `standard`: throughput of the whole checker on the standard 3-task scenario —
 * runScenario (properties/runner.ts) with every per-step invariant, the end-of-run checks and the
 * history check (linearizability + final state) — under seeded random schedules on v6.6, one core:
 * { executionsPerSec, stepsPerExecution, executionsPerCpuSec }. Target: ≥ 2,000 executions/s.
 *
 *   P1:  |--anon rw (pages 0-2)--|   |--file std.bin (pages 4-5)--|
 *   loader:   store 0, load 1, load 4, store 5, load 0
 *   remapper: munmap page 1, mmap anon page 1 (MAP_FIXED), store 1
 *   forker:   mprotect page 2 read-only, fork
 */
import { performance } from 'node:perf_hooks';
import { RandomScheduler, mixSeed } from '../impl/rt/schedulers/random.js';
import type { ScenarioSpec } from '../impl/sim/scenario.js';
import { generationVariant, type Variant } from '../impl/sim/variant.js';
import { runScenario } from '../properties/runner.js';
import type { RunReport } from '../properties/api.js';
import { anon, fileMap, fork, load, mprotect, munmap, RO, store } from '../properties/scenarios/build.js';

export const STANDARD_FILE = 'std.bin';

/** The standard 3-task scenario (fixed: the bench measures the checker, not the generator). */
export const STANDARD_SCENARIO: ScenarioSpec = {
  name: 'standard',
  family: 'standard',
  files: [{ name: STANDARD_FILE, pages: [100, 101] }],
  processes: [{ pid: 1, setup: [anon(1, 0, 3), fileMap(1, 4, 2, STANDARD_FILE), store(1, 0, 1)] }],
  threads: [
    { name: 'loader', pid: 1, program: [store(1, 0, 10), load(1, 1), load(1, 4), store(1, 5, 11), load(1, 0)] },
    { name: 'remapper', pid: 1, program: [munmap(1, 1, 1), anon(1, 1, 1), store(1, 1, 20)] },
    { name: 'forker', pid: 1, program: [mprotect(1, 2, 1, RO), fork(1)] },
  ],
};

export const STANDARD_CONFIG = 'v6.6';

export interface StandardSection {
  /** Wall clock, median of the batches. */
  executionsPerSec: number;
  /** Scheduler steps per second (wall clock, median batch): compare with runtime.bare.stepsPerSec. */
  stepsPerSec: number;
  stepsPerExecution: number;
  /**
   * Executions per CPU second of the process (median batch): what one core gives when the
   * machine is shared and wall-clock throughput shows the neighbours' load.
   */
  executionsPerCpuSec: number;
}

/** One run of the standard scenario under random schedule `i` of `seed`. */
export function runStandard(variant: Variant, seed: number, i: number): RunReport {
  return runScenario({ variant, scenario: STANDARD_SCENARIO, scheduler: new RandomScheduler(mixSeed(seed, i)) });
}

/**
 * Batches of about `batchMs`; the median batch rate is reported (robust to a neighbour's load
 * and to GC pauses). Any run that is not a pass is an error: the standard scenario is clean.
 */
export async function benchStandard(opts: { ms?: number; batchMs?: number; warmupMs?: number; config?: string } = {}): Promise<StandardSection> {
  const ms = opts.ms ?? 5000;
  const batchMs = opts.batchMs ?? 250;
  const variant = generationVariant(opts.config ?? STANDARD_CONFIG);
  let i = 0;
  const one = (): number => {
    const r = runStandard(variant, 1, i++);
    if (r.status !== 'pass') throw new Error(`standard scenario run ${i - 1}: ${r.status} ${r.violation?.property ?? ''} ${r.violation?.message ?? r.error ?? ''}`);
    return r.steps;
  };
  // Warm-up: the JIT needs a couple of thousand runs to settle on this much kernel code.
  const warm = performance.now() + (opts.warmupMs ?? 2000);
  while (performance.now() < warm) one();
  const rates: number[] = [];
  const stepRates: number[] = [];
  const cpuRates: number[] = [];
  let steps = 0;
  let runs = 0;
  const deadline = performance.now() + ms;
  while (performance.now() < deadline || rates.length < 3) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    let dt = 0;
    let batchSteps = 0;
    while (dt < batchMs) {
      const s = one();
      steps += s;
      batchSteps += s;
      n++;
      runs++;
      dt = performance.now() - t0;
    }
    const cpu = process.cpuUsage(c0);
    rates.push(n / (dt / 1000));
    stepRates.push(batchSteps / (dt / 1000));
    cpuRates.push(n / ((cpu.user + cpu.system) / 1e6));
  }
  const median = (xs: number[]): number => Math.round([...xs].sort((a, b) => a - b)[xs.length >> 1]!);
  return { executionsPerSec: median(rates), stepsPerSec: median(stepRates), stepsPerExecution: Math.round(steps / runs), executionsPerCpuSec: median(cpuRates) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchStandard().then((r) => console.log(JSON.stringify({ standard: r })));
}
