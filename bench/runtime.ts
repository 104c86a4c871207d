/**
 * bench section `runtime`: scheduling throughput of the runtime alone on the synthetic 3-task
 * lock workload, per strategy: { stepsPerSec, executionsPerSec }. Each strategy runs a fresh
 * Execution per run (re-execution, as in a campaign) for a fixed wall-clock budget after a warm-up;
 * random and PCT (d = 3) with fresh seeds, DFS with preemption bound 2 (its space is far larger
 * than the budget: this measures its throughput, not its coverage).
 */
import { performance } from 'node:perf_hooks';
import { DfsStrategy, Execution, explore, PctStrategy, RandomStrategy, type Scheduler, type Strategy } from '../impl/rt/index.js';
import { bareLockLoop, lockWorkload } from './workload.js';

export interface Throughput {
  stepsPerSec: number;
  executionsPerSec: number;
}

export interface RuntimeSection {
  /**
   * The bare generator baseline: the same 3-task lock loop stepped by a bare round-robin loop, no
   * runtime (bench/workload.ts bareLockLoop). Other figures are best compared as a ratio to it
   * (`ratios` in the bench output), which carries across machines.
   */
  bare: { stepsPerSec: number };
  random: Throughput;
  pct: Throughput;
  dfs: Throughput;
}

/**
 * Runs batches of about 250 ms and reports the best one: the machine may be shared (CI, other
 * jobs), and the best batch is the runtime's speed rather than the neighbours' load.
 */
function measure(make: () => Strategy, ms: number): Throughput {
  const strategy = make();
  const setup = (scheduler: Scheduler): Execution => {
    const e = new Execution({ scheduler });
    lockWorkload(e);
    return e;
  };
  explore(strategy, setup, { maxExecutions: 3000, stopOnFailure: false }); // warm-up (JIT)
  const deadline = performance.now() + ms;
  let best: Throughput = { stepsPerSec: 0, executionsPerSec: 0 };
  while (performance.now() < deadline) {
    let steps = 0;
    let executions = 0;
    const t0 = performance.now();
    let dt = 0;
    while (dt < 250) {
      const r = explore(strategy, setup, { maxExecutions: 200, stopOnFailure: false });
      steps += r.steps;
      executions += r.executions;
      dt = performance.now() - t0;
      if (r.executions === 0) return best; // the strategy ran dry (cannot happen for this workload)
    }
    const rate = steps / (dt / 1000);
    if (rate > best.stepsPerSec) best = { stepsPerSec: Math.round(rate), executionsPerSec: Math.round(executions / (dt / 1000)) };
  }
  return best;
}

/**
 * Steps per second of the bare generator lock loop: the median batch of about 250 ms after a
 * warm-up (the median, as bench/standard.ts reports, so that their ratio compares like with like).
 */
export function measureBare(ms: number): { stepsPerSec: number } {
  for (let i = 0; i < 20_000; i++) bareLockLoop();
  const deadline = performance.now() + ms;
  const rates: number[] = [];
  while (performance.now() < deadline || rates.length < 3) {
    let steps = 0;
    const t0 = performance.now();
    let dt = 0;
    while (dt < 250) {
      for (let i = 0; i < 200; i++) steps += bareLockLoop();
      dt = performance.now() - t0;
    }
    rates.push(steps / (dt / 1000));
  }
  rates.sort((a, b) => a - b);
  return { stepsPerSec: Math.round(rates[rates.length >> 1]!) };
}

export async function benchRuntime(opts: { ms?: number } = {}): Promise<RuntimeSection> {
  const ms = opts.ms ?? 3000;
  return {
    bare: measureBare(ms),
    random: measure(() => new RandomStrategy(1), ms),
    pct: measure(() => new PctStrategy(1, 3, Infinity, 183), ms),
    dfs: measure(() => new DfsStrategy({ preemptionBound: 2 }), ms),
  };
}
