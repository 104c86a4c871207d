/**
 * Schedules: the list of decisions that fixes a whole run.
 *
 * The runtime's default policy is "keep running the current task; when it blocks or ends, the next
 * runnable task after it (by id, cyclically)"; and 0 for every nondeterministic value. A schedule
 * records only the decisions that differ from that default, so a shorter schedule means fewer
 * preemptions, and an empty schedule is the simplest story.
 *
 * Encoding (version 1): `v1:` followed by `.`-separated decisions, each `<step>t<task>` (at global
 * step <step>, run task <task>) or `<step>c<value>` (a nondeterministic choice made during step
 * <step> gets <value>). Steps are non-decreasing. Example: `v1:4t1.9t0.9c1`. `v1:` alone is the
 * default schedule.
 */

export interface Decision {
  readonly step: number;
  /** 't': run task `value` at `step`; 'c': a choice made during `step` returns `value`. */
  readonly kind: 't' | 'c';
  readonly value: number;
}

/** A schedule string that does not parse, or a schedule that does not fit the scenario. */
export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

export const SCHEDULE_VERSION = 'v1';

export function encodeSchedule(decisions: readonly Decision[]): string {
  let s = SCHEDULE_VERSION + ':';
  for (let i = 0; i < decisions.length; i++) {
    const d = decisions[i]!;
    if (i > 0) s += '.';
    s += `${d.step}${d.kind}${d.value}`;
  }
  return s;
}

const DECISION = /^(\d{1,9})([tc])(\d{1,9})$/;

export function decodeSchedule(text: string): Decision[] {
  if (typeof text !== 'string') throw new ScheduleError('schedule is not a string');
  const colon = text.indexOf(':');
  if (colon < 0) throw new ScheduleError(`schedule "${clip(text)}" has no version prefix (expected "v1:…")`);
  const version = text.slice(0, colon);
  if (version !== SCHEDULE_VERSION) {
    throw new ScheduleError(`schedule version "${clip(version)}" is not supported (expected "${SCHEDULE_VERSION}")`);
  }
  const body = text.slice(colon + 1);
  if (body === '') return [];
  const out: Decision[] = [];
  let last = -1;
  for (const part of body.split('.')) {
    const m = DECISION.exec(part);
    if (!m) throw new ScheduleError(`schedule decision "${clip(part)}" is malformed (expected <step>t<task> or <step>c<value>)`);
    const step = Number(m[1]);
    if (step < last) throw new ScheduleError(`schedule decision "${part}" goes back in time (step ${step} after ${last})`);
    last = step;
    out.push({ step, kind: m[2] as 't' | 'c', value: Number(m[3]) });
  }
  return out;
}

/** Number of task switches a schedule asks for. */
export function switchCount(decisions: readonly Decision[]): number {
  let n = 0;
  for (const d of decisions) if (d.kind === 't') n++;
  return n;
}

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

/**
 * One entry of a generated schedule: after `gap` more steps (counted from the previous entry's
 * step, from step 0 for the first), switch to task `task`, or give the next choice the value
 * `choice`. A gap of 0 means the same step as the previous entry.
 */
export type ScheduleSwitch =
  | { readonly gap: number; readonly task: number }
  | { readonly gap: number; readonly choice: number };

/**
 * Turn generated switches into decisions (step = running sum of the gaps), for a lenient
 * ReplayScheduler: a switch to a task that is not runnable at its step, or one that lands where no
 * decision is asked, is skipped and the current task keeps running. So fewer switches mean fewer
 * preemptions, and shrinking the list (or its gaps and task ids) moves toward the default schedule.
 * Within one step, task switches are ordered before choices (a step's pick comes first).
 */
export function decisionsFromSwitches(switches: readonly ScheduleSwitch[]): Decision[] {
  const out: Decision[] = [];
  let step = 0;
  let stepStart = 0;
  for (const sw of switches) {
    const gap = Math.max(0, Math.floor(sw.gap));
    if (gap > 0) stepStart = out.length;
    step += gap;
    if ('task' in sw) {
      // Keep "t before c" within the step: insert before this step's choices.
      let at = out.length;
      while (at > stepStart && out[at - 1]!.kind === 'c') at--;
      out.splice(at, 0, { step, kind: 't', value: Math.max(0, Math.floor(sw.task)) });
    } else {
      out.push({ step, kind: 'c', value: Math.max(0, Math.floor(sw.choice)) });
    }
  }
  return out;
}
