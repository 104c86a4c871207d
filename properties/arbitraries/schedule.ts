/**
 * fast-check arbitraries for schedules. A generated schedule is a list of switches — "after `gap`
 * more steps, run task `task`" (and, optionally, "give the next choice the value `choice`") —
 * replayed leniently: a switch that does not fit the run (task not runnable there, no decision
 * asked at that step) is skipped and the current task keeps running. fast-check shrinks the list
 * toward fewer switches (fewer preemptions), smaller gaps and lower task ids, so a counterexample
 * shrinks toward the simplest story; the default schedule `v1:` is the limit.
 *
 * The value is the schedule string (`v1:…`), printable in a counterexample and replayable:
 *   new ReplayScheduler(schedule, false)    // lenient, as generated
 * and the run's own `outcome.schedule` replays it strictly, byte for byte.
 */
import fc from 'fast-check';
import { decisionsFromSwitches, encodeSchedule, type ScheduleSwitch } from '../../impl/rt/index.js';

export interface ScheduleArbOptions {
  /** Most switches in one schedule (default 8). */
  readonly maxSwitches?: number;
  /** Largest gap between two switches, in steps (default 20). */
  readonly maxGap?: number;
  /** Number of tasks: switches name tasks 0 … tasks−1. */
  readonly tasks: number;
  /** Also generate choice values 0 … maxChoice (default: no choices; every choice takes 0). */
  readonly maxChoice?: number;
}

/** The raw switches (for properties that want to inspect or combine them). */
export function switchesArb(opts: ScheduleArbOptions): fc.Arbitrary<ScheduleSwitch[]> {
  const { maxSwitches = 8, maxGap = 20, tasks, maxChoice = 0 } = opts;
  if (!(tasks >= 1)) throw new RangeError(`scheduleArb: tasks must be ≥ 1, got ${tasks}`);
  const gap = fc.nat({ max: maxGap });
  const sw: fc.Arbitrary<ScheduleSwitch> = fc.record({ gap, task: fc.nat({ max: tasks - 1 }) });
  const item: fc.Arbitrary<ScheduleSwitch> = maxChoice > 0
    ? fc.oneof({ weight: 3, arbitrary: sw }, { weight: 1, arbitrary: fc.record({ gap, choice: fc.nat({ max: maxChoice }) }) })
    : sw;
  return fc.array(item, { maxLength: maxSwitches });
}

/** Shrinkable schedule strings; shorter = fewer preemptions. */
export function scheduleArb(opts: ScheduleArbOptions): fc.Arbitrary<string> {
  return switchesArb(opts).map((s) => encodeSchedule(decisionsFromSwitches(s)));
}
