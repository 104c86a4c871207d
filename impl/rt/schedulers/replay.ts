/**
 * Replay: follow a schedule's decisions; everything else takes the default. Strict replay (of a
 * counterexample file) fails with a ScheduleError — outcome 'bad-schedule' — when a decision does
 * not fit the run: a task that is not runnable at that step, a choice value out of range, a
 * decision that is never reached (its step passed without a scheduling point or choice there, or
 * the run ended before it). Lenient replay (fast-check generated schedules) skips such decisions;
 * the Execution records what really happened, so `outcome.schedule` replays strictly.
 */
import type { Scheduler } from '../scheduler.js';
import { ScheduleError, decodeSchedule, type Decision } from '../schedule.js';

export class ReplayScheduler implements Scheduler {
  readonly name = 'replay';
  private i = 0;
  private readonly decisions: readonly Decision[];

  constructor(schedule: string | readonly Decision[], private readonly strict = true) {
    this.decisions = typeof schedule === 'string' ? decodeSchedule(schedule) : schedule;
  }

  pick(runnable: Int32Array, n: number, dflt: number, _current: number, step: number): number {
    this.skipStale(step, 't');
    const d = this.decisions[this.i];
    if (d === undefined || d.kind !== 't' || d.step !== step) return dflt;
    this.i++;
    for (let j = 0; j < n; j++) if (runnable[j] === d.value) return d.value;
    if (this.strict) {
      const r = Array.from(runnable.subarray(0, n)).join(', ');
      throw new ScheduleError(`schedule asks for task ${d.value} at step ${step}, but it is not runnable there (runnable: ${r})`);
    }
    return dflt;
  }

  choose(n: number, step: number): number {
    this.skipStale(step, 'c');
    const d = this.decisions[this.i];
    if (d === undefined || d.kind !== 'c' || d.step !== step) return 0;
    this.i++;
    if (d.value < n) return d.value;
    if (this.strict) throw new ScheduleError(`schedule gives choice ${d.value} at step ${step}, but only 0..${n - 1} are possible`);
    return 0;
  }

  /** The run ended: in strict mode, a decision left over was never reached. */
  end(step: number): void {
    const d = this.decisions[this.i];
    if (this.strict && d !== undefined) {
      throw new ScheduleError(`schedule decision ${d.step}${d.kind}${d.value} does not fit this run (the run ended at step ${step})`);
    }
  }

  /** Decisions left unused so far. */
  get unused(): number {
    return this.decisions.length - this.i;
  }

  private skipStale(step: number, kind: 't' | 'c'): void {
    for (;;) {
      const d = this.decisions[this.i];
      if (d === undefined) return;
      // A decision for an earlier step, or a task decision at this step when a choice is asked
      // (a step's pick comes before its choices), was never reached.
      const stale = d.step < step || (kind === 'c' && d.kind === 't' && d.step === step);
      if (!stale) return;
      if (this.strict) throw new ScheduleError(`schedule decision ${d.step}${d.kind}${d.value} does not fit this run (never reached; now at step ${step})`);
      this.i++;
    }
  }
}
