/**
 * Schedules as fast-check values, for properties over the simulation. A schedule is one of
 * - `{ strategy: 'pct', seed, depth, k }`: a PCT run (impl/rt/schedulers/pct.ts) — depth d finds a
 *   bug that needs d−1 ordered preemptions with probability ≥ 1/(n·k^(d−1)) per run. Its d−1
 *   change points fall in the k steps after the scenario's setup, as in `check`'s campaigns: the
 *   setup runs alone (the threads wait for it), so a change point there spends one of the run's
 *   few preemptions on nothing. The setup's end is read from the run itself (the kernel's
 *   setupSteps, set by the setup's last step), not guessed from an earlier run; `from: 'start'`
 *   draws them over the first k steps of the run instead (PCT as the paper counts steps);
 * - `{ strategy: 'random', seed }`: the uniformly random scheduler;
 * - `{ strategy: 'replay', schedule: 'v1:…' }`: an explicit list of switches, replayed leniently
 *   (properties/arbitraries/schedule.ts; shrinks toward fewer preemptions).
 * The default arbitrary is `check`'s portfolio (PCT depth 2 and 3, random, in equal shares). A
 * strategy's seed does not shrink — a smaller seed is not a simpler interleaving; fast-check
 * shrinks the workload under it, and faultline's own schedule shrinker (properties/shrink.ts)
 * shrinks the interleaving of the final counterexample.
 *
 * Whatever the strategy, a run's `schedule` string replays it byte for byte.
 */
import fc from 'fast-check';
import { PctScheduler } from '../../impl/rt/schedulers/pct.js';
import { k as runningKernel } from '../../impl/sim/kernel.js';
import { RandomScheduler } from '../../impl/rt/schedulers/random.js';
import { ReplayScheduler } from '../../impl/rt/schedulers/replay.js';
import type { Scheduler } from '../../impl/rt/scheduler.js';
import { scheduleArb, type ScheduleArbOptions } from '../arbitraries/schedule.js';
import { weighted } from '../arbitraries/draw.js';

export type Schedule =
  | {
    readonly strategy: 'pct'; readonly seed: number; readonly depth: number; readonly k: number;
    /** Where the k steps the change points are drawn over start: after the setup (the default), or at step 0. */
    readonly from?: 'setup' | 'start';
  }
  | { readonly strategy: 'random'; readonly seed: number }
  | { readonly strategy: 'replay'; readonly schedule: string };

export type StrategyChoice = 'pct' | 'random' | 'portfolio';

const seedArb = fc.noShrink(fc.integer({ min: 0, max: 0xffffffff }));
/**
 * PCT's k: the steps after the setup that the change points are drawn over. The scenarios' concurrent
 * parts run ~40–250 steps (the general generator's up to a few thousand); k near a run's length
 * gives PCT its bound. Measured against 128/256/512 (runs to the bug, 8 seeds, PCT depth 3, change
 * points after the setup): b10 832 → 377, b17 1678 → 1079, b6 251 → 109, b8 283 → 203, b14
 * 1710 → 1106; 32/64/128/256 was no better.
 */
const kArb = fc.noShrink(weighted<number>([[64, 1], [128, 2], [256, 1]]));

export interface PctOptions {
  /** Change points over the k steps after the scenario's setup (default), or over the run's first k steps. */
  readonly from?: 'setup' | 'start';
  /** The k drawn (default: 64, 128 or 256 steps, 128 twice as often). */
  readonly k?: fc.Arbitrary<number>;
}

/** PCT schedules of one depth. */
export function pctSchedules(depth = 3, opts: PctOptions = {}): fc.Arbitrary<Schedule> {
  const start = opts.from === 'start';
  return fc.record({ seed: seedArb, k: opts.k ?? kArb }).map(({ seed, k }): Schedule => (start ? { strategy: 'pct', seed, depth, k, from: 'start' } : { strategy: 'pct', seed, depth, k }));
}

/** Uniformly random schedules. */
export function randomSchedules(): fc.Arbitrary<Schedule> {
  return seedArb.map((seed): Schedule => ({ strategy: 'random', seed }));
}

/** Explicit switch lists (shrinkable: fewer switches, smaller gaps, lower task ids). */
export function switchSchedules(opts: Partial<ScheduleArbOptions> = {}): fc.Arbitrary<Schedule> {
  return scheduleArb({ tasks: 12, maxSwitches: 8, maxGap: 20, ...opts }).map((schedule): Schedule => ({ strategy: 'replay', schedule }));
}

/** Schedules by strategy; 'portfolio' (the default) is check's: PCT depth 2, PCT depth 3, random. */
export function schedules(strategy: StrategyChoice = 'portfolio', opts: PctOptions = {}): fc.Arbitrary<Schedule> {
  switch (strategy) {
    case 'pct': return pctSchedules(3, opts);
    case 'random': return randomSchedules();
    default: return fc.oneof(pctSchedules(2, opts), pctSchedules(3, opts), randomSchedules());
  }
}

/**
 * PCT over the steps after the scenario's setup: PctScheduler's change points are drawn over
 * [0, k) and this scheduler shows it the run's steps counted from the setup's end (−1 until then,
 * before any change point). The setup's end is the running kernel's setupSteps (impl/sim/run.ts:
 * the step after the setup task's last one), known from the first pick after it — exact for every
 * run, where `check`'s campaigns take it from the scenario's previous run.
 */
export class SetupRelativePct implements Scheduler {
  readonly name = 'pct';
  readonly everyStep = true;
  readonly pct: PctScheduler;
  #base = -1;

  constructor(seed: number, depth: number, k: number) {
    this.pct = new PctScheduler(seed, depth, k);
  }

  begin(taskCount: number): void {
    this.#base = -1;
    this.pct.begin(taskCount);
  }

  pick(runnable: Int32Array, n: number, dflt: number, current: number, step: number): number {
    if (this.#base < 0) {
      const s = runningKernel?.setupSteps ?? -1;
      if (s >= 0 && step >= s) this.#base = s;
    }
    return this.pct.pick(runnable, n, dflt, current, this.#base < 0 ? -1 : step - this.#base);
  }

  choose(n: number): number {
    return this.pct.choose(n);
  }

  /** The step the change points are counted from (the setup's end), once the run has reached it; else −1. */
  get setupEnd(): number {
    return this.#base;
  }

  /** The change points as steps of the run, once the setup has ended (else null). */
  get changePoints(): readonly number[] | null {
    return this.#base < 0 ? null : this.pct.changePoints.map((p) => p + this.#base);
  }
}

/** The scheduler a schedule value runs under. */
export function schedulerOf(s: Schedule): Scheduler {
  switch (s.strategy) {
    case 'pct': return s.from === 'start' ? new PctScheduler(s.seed >>> 0, s.depth, s.k) : new SetupRelativePct(s.seed >>> 0, s.depth, s.k);
    case 'random': return new RandomScheduler(s.seed >>> 0);
    case 'replay': return new ReplayScheduler(s.schedule, false);
  }
}
