/**
 * bench section `runtime`: scheduling throughput of the runtime alone on the synthetic 3-task
 * lock workload, per strategy: { stepsPerSec, executionsPerSec }. Each strategy runs a fresh
 * Execution per run (re-execution, as in a campaign) for a fixed wall-clock budget after a warm-up.
 */
import { DfsStrategy, Execution, explore, PctStrategy, RandomStrategy, type Strategy } from '../impl/rt/index.js';
import { lockWorkload } from './workload.js';

export interface Throughput {
  stepsPerSec: number;
  executionsPerSec: number;
}

export interface RuntimeSection {
  random: Throughput;
  pct: Throughput;
  dfs: Throughput;
}

function measure(make: () => Strategy, ms: number): Throughput {
  const strategy = make();
  const setup = (scheduler: Parameters<typeof explore>[1] extends (s: infer S) => Execution ? S : never) => {
    const e = new Execution({ scheduler });
    lockWorkload(e);
    return e;
  };
  // Warm-up (JIT), then measure in batches until the budget is spent.
  explore(strategy, setup, { maxExecutions: 2000, stopOnFailure: false });
  let steps = 0;
  let executions = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < ms) {
    const r = explore(strategy, setup, { maxExecutions: 1000, stopOnFailure: false });
    steps += r.steps;
    executions += r.executions;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.executions === 0) break;
  }
  const s = elapsed / 1000;
  return { stepsPerSec: Math.round(steps / s), executionsPerSec: Math.round(executions / s) };
}

export async function benchRuntime(opts: { ms?: number } = {}): Promise<RuntimeSection> {
  const ms = opts.ms ?? 3000;
  return {
    random: measure(() => new RandomStrategy(1), ms),
    pct: measure(() => new PctStrategy(1, 3, Infinity, 183), ms),
    dfs: measure(() => new DfsStrategy({ preemptionBound: 2 }), ms),
  };
}
