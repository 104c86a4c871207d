/**
 * PCT — probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS
 * 2010), as in the paper's Algorithm 1:
 *  1. the n tasks get the priorities d, d+1, …, d+n−1 in a random order;
 *  2. d−1 change points k_1 … k_{d−1} are drawn uniformly (distinct) over the k steps of a run,
 *     change point k_i carrying the priority value i (below every initial priority); the pairing is
 *     random with respect to time — the earliest change point does not always get the same value;
 *  3. at every step the highest-priority runnable task runs; when step k_i comes, the task that
 *     would run it first drops to priority i (and the highest-priority runnable task runs).
 * A bug of depth d is then found with probability at least 1/(n·k^(d−1)) per run. Steps are
 * global steps (0-based), counted also where a single task is runnable (the scheduler asks for
 * `everyStep`), as the paper counts them — from `offset` on: the change points fall in
 * [offset, offset + k). A scenario's setup runs alone before its threads start (they wait for it),
 * and a change point there changes nothing; the campaign passes the setup's length as the offset
 * and the rest of the run's length as k.
 *
 * Nondeterministic values are drawn uniformly, as by the random strategy. Tasks spawned during the
 * run get a fresh random priority above the initial ones.
 */
import { Prng } from '../prng.js';
import type { Scheduler, Strategy } from '../scheduler.js';
import { mixSeed } from './random.js';

export class PctScheduler implements Scheduler {
  readonly name = 'pct';
  readonly everyStep = true;
  private readonly rng: Prng;
  private prio: number[] = [];
  /** Change points in time order, and the priority each one gives. */
  private changeAt: number[] = [];
  private changeTo: number[] = [];
  private nextChange = 0;

  constructor(seed: number, private readonly depth: number, private readonly k: number, private readonly offset = 0) {
    if (!(depth >= 1)) throw new RangeError(`PCT depth must be ≥ 1, got ${depth}`);
    this.rng = new Prng(seed);
  }

  begin(taskCount: number): void {
    const n = taskCount;
    const d = this.depth;
    const ps = Array.from({ length: n }, (_, i) => d + i);
    shuffle(ps, this.rng);
    this.prio = ps;
    // d−1 change points over [0, k); distinct while k allows it.
    const k = Math.max(1, Math.floor(this.k));
    const points: number[] = [];
    while (points.length < d - 1) {
      const p = this.rng.below(k);
      if (points.length < k && points.includes(p)) continue;
      points.push(p);
    }
    // points[i] carries priority value i+1; order them by time.
    const order = points.map((_, i) => i).sort((a, b) => points[a]! - points[b]! || a - b);
    this.changeAt = order.map((i) => points[i]! + this.offset);
    this.changeTo = order.map((i) => i + 1);
    this.nextChange = 0;
  }

  pick(runnable: Int32Array, n: number, _dflt: number, _current: number, step: number): number {
    let best = this.highest(runnable, n);
    while (this.nextChange < this.changeAt.length && this.changeAt[this.nextChange]! <= step) {
      this.prio[best] = this.changeTo[this.nextChange]!;
      this.nextChange++;
      best = this.highest(runnable, n);
    }
    return best;
  }

  choose(n: number): number {
    return this.rng.below(n);
  }

  /** The steps of the change points drawn by `begin`, in time order (offset included). */
  get changePoints(): readonly number[] {
    return this.changeAt;
  }

  /** The current priority of every task known so far (for tests and the timeline). */
  get priorities(): readonly number[] {
    return this.prio;
  }

  private highest(runnable: Int32Array, n: number): number {
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
      p = this.depth + this.prio.length + this.rng.below(1 << 16);
      this.prio[t] = p;
    }
    return p;
  }
}

/** Fisher–Yates, drawing from rng (PCT's initial priorities and its value/time pairing; guided.ts too). */
export function shuffle(a: number[], rng: Prng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const x = a[i]!;
    a[i] = a[j]!;
    a[j] = x;
  }
}

/**
 * PCT campaign: one PctScheduler per run with derived seeds; k (the expected run length) starts
 * at `initialK` and adapts to the longest run seen.
 */
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
  /** The k the next run's change points are drawn over. */
  get expectedLength(): number {
    return this.k;
  }
}
