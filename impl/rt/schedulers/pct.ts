/**
 * PCT — probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
 * ASPLOS 2010). Each task gets a distinct random priority ≥ d; d−1 change points are drawn
 * uniformly over the expected run length k; at the i-th change point the running task's priority
 * drops to i (below every initial priority). The highest-priority runnable task always runs. A bug
 * of depth d is found with probability ≥ 1/(n·k^(d−1)) per run.
 *
 * Nondeterministic values are drawn uniformly, as by the random strategy.
 */
import { Prng } from '../prng.js';
import type { Scheduler, Strategy } from '../scheduler.js';
import { mixSeed } from './random.js';

export class PctScheduler implements Scheduler {
  readonly name = 'pct';
  private readonly rng: Prng;
  private prio: number[] = [];
  private readonly changeSteps: number[] = [];
  private nextChange = 0;

  constructor(seed: number, private readonly depth: number, private readonly k: number) {
    this.rng = new Prng(seed);
  }

  begin(taskCount: number): void {
    const n = taskCount;
    // Distinct initial priorities d .. d+n-1 in random order.
    const ps = Array.from({ length: n }, (_, i) => this.depth + i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.rng.below(i + 1);
      [ps[i], ps[j]] = [ps[j]!, ps[i]!];
    }
    this.prio = ps;
    for (let i = 0; i < this.depth - 1; i++) this.changeSteps.push(this.rng.below(Math.max(1, this.k)));
    this.changeSteps.sort((a, b) => a - b);
  }

  pick(runnable: Int32Array, n: number, _dflt: number, current: number, step: number): number {
    // Apply every change point reached so far to the task that was running then.
    while (this.nextChange < this.changeSteps.length && this.changeSteps[this.nextChange]! <= step) {
      if (current >= 0) this.prio[current] = this.depth - 1 - this.nextChange;
      this.nextChange++;
    }
    let best = runnable[0]!;
    let bestP = this.prioOf(best);
    for (let i = 1; i < n; i++) {
      const t = runnable[i]!;
      const p = this.prioOf(t);
      if (p > bestP) { best = t; bestP = p; }
    }
    return best;
  }

  private prioOf(t: number): number {
    let p = this.prio[t];
    if (p === undefined) {
      // A task spawned during the run gets a fresh random priority above the change-point range.
      p = this.depth + this.prio.length + this.rng.below(1 << 16);
      this.prio[t] = p;
    }
    return p;
  }

  choose(n: number): number {
    return this.rng.below(n);
  }
}

/** PCT campaign: k adapts to the longest run seen (starting from `initialK`). */
export class PctStrategy implements Strategy {
  readonly name = 'pct';
  private i = 0;
  private k: number;
  constructor(
    private readonly seed: number,
    private readonly depth = 3,
    private readonly runs = Infinity,
    initialK = 64,
  ) {
    this.k = initialK;
  }
  next(): PctScheduler | null {
    if (this.i >= this.runs) return null;
    return new PctScheduler(mixSeed(this.seed ^ 0x5bd1e995, this.i++), this.depth, this.k);
  }
  done(steps: number): void {
    if (steps > this.k) this.k = steps;
  }
}
