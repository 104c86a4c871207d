/**
 * Schedules as fast-check values, for properties over the simulation. A schedule is one of
 * - `{ strategy: 'pct', seed, depth, k }`: a PCT run (impl/rt/schedulers/pct.ts) — depth d finds a
 *   bug that needs d−1 ordered preemptions with probability ≥ 1/(n·k^(d−1)) per run;
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
import { RandomScheduler } from '../../impl/rt/schedulers/random.js';
import { ReplayScheduler } from '../../impl/rt/schedulers/replay.js';
import type { Scheduler } from '../../impl/rt/scheduler.js';
import { scheduleArb, type ScheduleArbOptions } from '../arbitraries/schedule.js';
import { weighted } from '../arbitraries/draw.js';

export type Schedule =
  | { readonly strategy: 'pct'; readonly seed: number; readonly depth: number; readonly k: number }
  | { readonly strategy: 'random'; readonly seed: number }
  | { readonly strategy: 'replay'; readonly schedule: string };

export type StrategyChoice = 'pct' | 'random' | 'portfolio';

const seedArb = fc.noShrink(fc.integer({ min: 0, max: 0xffffffff }));
/** PCT's k (the steps change points are drawn over): the scenarios run ~100–500 steps. */
const kArb = fc.noShrink(weighted<number>([[128, 1], [256, 2], [512, 1]]));

/** PCT schedules of one depth. */
export function pctSchedules(depth = 3): fc.Arbitrary<Schedule> {
  return fc.record({ seed: seedArb, k: kArb }).map(({ seed, k }): Schedule => ({ strategy: 'pct', seed, depth, k }));
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
export function schedules(strategy: StrategyChoice = 'portfolio'): fc.Arbitrary<Schedule> {
  switch (strategy) {
    case 'pct': return pctSchedules(3);
    case 'random': return randomSchedules();
    default: return fc.oneof(pctSchedules(2), pctSchedules(3), randomSchedules());
  }
}

/** The scheduler a schedule value runs under. */
export function schedulerOf(s: Schedule): Scheduler {
  switch (s.strategy) {
    case 'pct': return new PctScheduler(s.seed >>> 0, s.depth, s.k);
    case 'random': return new RandomScheduler(s.seed >>> 0);
    case 'replay': return new ReplayScheduler(s.schedule, false);
  }
}
