/** Seeded uniform random scheduling: at every point, any runnable task with equal probability. */
import { Prng } from '../prng.js';
import type { Scheduler, Strategy } from '../scheduler.js';

export class RandomScheduler implements Scheduler {
  readonly name = 'random';
  private readonly rng: Prng;
  constructor(seed: number) {
    this.rng = new Prng(seed);
  }
  pick(runnable: Int32Array, n: number): number {
    return runnable[this.rng.below(n)]!;
  }
  choose(n: number): number {
    return this.rng.below(n);
  }
}

/** One RandomScheduler per execution, seeds derived from the campaign seed. */
export class RandomStrategy implements Strategy {
  readonly name = 'random';
  private i = 0;
  constructor(private readonly seed: number, private readonly runs = Infinity) {}
  next(): RandomScheduler | null {
    if (this.i >= this.runs) return null;
    return new RandomScheduler(mixSeed(this.seed, this.i++));
  }
}

/** Derive the seed of run i from a campaign seed (splitmix-style). */
export function mixSeed(seed: number, i: number): number {
  let z = (seed ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
