/**
 * Shrinking a counterexample: fewer threads, shorter programs, fewer daemons, fewer preemptions —
 * while the same property still breaks. Scenario and schedule shrink together: a scenario
 * candidate runs under the current schedule replayed leniently (decisions that no longer fit are
 * skipped), and the run's own normalised schedule becomes the new current one. Decisions are
 * dropped both as global-step decisions and anchored to points of each task's program (so the
 * others keep their place: a zig-zag of switches collapses to the one or two that matter), and
 * neighbouring threads are tried in swapped order (the default order favours lower task ids, so
 * the mirror-image story may need fewer switches). Greedy, first improvement, bounded by a run
 * budget; deterministic.
 */
import { decodeSchedule, encodeSchedule, type Decision } from '../impl/rt/schedule.js';
import { ReplayScheduler } from '../impl/rt/schedulers/replay.js';
import type { Scheduler } from '../impl/rt/scheduler.js';
import type { ScenarioSpec } from '../impl/sim/scenario.js';
import type { Variant } from '../impl/sim/variant.js';
import type { RunReport } from './api.js';
import { runScenario } from './runner.js';

export interface ShrinkResult {
  readonly scenario: ScenarioSpec;
  readonly schedule: string;
  readonly runs: number;
}

/** Task ids: setup is 0, the threads 1..n in order, daemons after. */
function removeThreadFromSchedule(decisions: readonly Decision[], threadIndex: number): Decision[] {
  const tid = 1 + threadIndex;
  return decisions
    .filter((d) => d.kind !== 't' || d.value !== tid)
    .map((d) => (d.kind === 't' && d.value > tid ? { ...d, value: d.value - 1 } : d));
}

/**
 * A decision anchored to a point of one task's program rather than to a global step: "right after
 * task `task` has run its `count`-th step, switch to task `value`" ('t'), or "the `nth` choice
 * task `task` makes during its `count`-th step gets `value`" ('c'). Dropping one decision of an
 * absolute schedule shifts the global steps of every later one, so they land on other
 * instructions and the story falls apart; anchored, every other decision keeps its place in its
 * task's program, and dropping a switch just lets that task run on to its next one.
 */
export interface AnchoredDecision {
  readonly task: number;
  readonly count: number;
  readonly kind: 't' | 'c';
  readonly nth: number;
  readonly value: number;
}

const anchorKey = (kind: 't' | 'c', task: number, count: number, nth: number): string => `${kind}${task}:${count}:${nth}`;

/** Per-task step counts and the choices made in the current step, as both schedulers below need. */
class TaskProgress {
  private readonly counts = new Map<number, number>();
  private choiceTask = -1;
  private choiceCount = -1;
  private choiceNth = 0;
  count(task: number): number {
    return this.counts.get(task) ?? 0;
  }
  ran(task: number): void {
    this.counts.set(task, this.count(task) + 1);
  }
  /** The index of this choice among those `task` makes in its current step. */
  nthChoice(task: number): number {
    const c = this.count(task);
    if (task !== this.choiceTask || c !== this.choiceCount) {
      this.choiceTask = task;
      this.choiceCount = c;
      this.choiceNth = 0;
    }
    return this.choiceNth++;
  }
}

/** Replays a schedule (leniently) and records its decisions as anchored ones. */
export class AnchorRecorder implements Scheduler {
  readonly name = 'anchor-recorder';
  readonly everyStep = true;
  readonly anchors: AnchoredDecision[] = [];
  private readonly progress = new TaskProgress();
  private readonly inner: ReplayScheduler;
  constructor(schedule: string) {
    this.inner = new ReplayScheduler(decodeSchedule(schedule), false);
  }
  pick(runnable: Int32Array, n: number, dflt: number, current: number, step: number): number {
    const p = this.inner.pick(runnable, n, dflt, current, step);
    if (p !== dflt) this.anchors.push({ task: current, count: this.progress.count(current), kind: 't', nth: 0, value: p });
    this.progress.ran(p);
    return p;
  }
  choose(n: number, step: number, task: number): number {
    const v = this.inner.choose(n, step);
    const nth = this.progress.nthChoice(task);
    if (v !== 0) this.anchors.push({ task, count: this.progress.count(task), kind: 'c', nth, value: v });
    return v;
  }
}

/** Applies each anchored decision when its task reaches its point (a switch to a task that is not runnable there is skipped). */
export class AnchoredScheduler implements Scheduler {
  readonly name = 'anchored-replay';
  readonly everyStep = true;
  private readonly progress = new TaskProgress();
  private readonly byKey = new Map<string, number>();
  constructor(anchors: readonly AnchoredDecision[]) {
    for (const a of anchors) this.byKey.set(anchorKey(a.kind, a.task, a.count, a.nth), a.value);
  }
  pick(runnable: Int32Array, n: number, dflt: number, current: number): number {
    let p = dflt;
    const want = this.byKey.get(anchorKey('t', current, this.progress.count(current), 0));
    if (want !== undefined) for (let j = 0; j < n; j++) if (runnable[j] === want) p = want;
    this.progress.ran(p);
    return p;
  }
  choose(n: number, _step: number, task: number): number {
    const nth = this.progress.nthChoice(task);
    const v = this.byKey.get(anchorKey('c', task, this.progress.count(task), nth));
    return v !== undefined && v < n ? v : 0;
  }
}

export function shrinkCounterexample(
  variant: Variant,
  scenario: ScenarioSpec,
  schedule: string,
  property: string,
  budget = 400,
): ShrinkResult {
  let runs = 0;
  let cur = scenario;
  let sched = schedule;
  // A deadlock with a wait-for cycle must stay one: dropping the task that would have woken a
  // sleeper (a userfaultfd monitor, say) also deadlocks, but tells another story.
  const kind = (r: RunReport): string =>
    r.violation?.property === 'deadlock' && r.violation.message.includes('wait-for cycle') ? 'deadlock (cycle)' : r.violation?.property ?? '';
  const first = runScenario({ variant, scenario, scheduler: new ReplayScheduler(decodeSchedule(schedule), false) });
  const want = first.status === 'violation' && first.violation?.property === property ? kind(first) : property;
  const same = (r: RunReport): boolean => r.status === 'violation' && r.violation?.property === property && kind(r) === want;
  const fails = (sc: ScenarioSpec, s: string): RunReport | null => {
    if (runs >= budget) return null;
    runs++;
    const r = runScenario({ variant, scenario: sc, scheduler: new ReplayScheduler(decodeSchedule(s), false) });
    return same(r) ? r : null;
  };

  const preemptionsOf = (sc: ScenarioSpec, s: string): number | null => {
    const r = fails(sc, s);
    return r ? r.preemptions : null;
  };
  /** Pass 5 on (sc, s): drop anchored decisions, alone or in there-and-back pairs; null if nothing went. */
  const anchoredShrink = (sc: ScenarioSpec, s: string): { schedule: string; preemptions: number } | null => {
    if (runs >= budget) return null;
    const rec = new AnchorRecorder(s);
    runs++;
    const base = runScenario({ variant, scenario: sc, scheduler: rec });
    if (!same(base)) return null;
    let anchors = rec.anchors;
    let pre = base.preemptions;
    let best = s;
    let improved = false;
    // Two tasks that alternate hand over to each other in a chain: dropping one switch of the
    // chain re-pairs every later slice, dropping a consecutive pair (there and back) does not.
    const tryDrop = (drop: readonly number[]): boolean => {
      if (runs >= budget) return false;
      runs++;
      const cand = anchors.filter((_, j) => !drop.includes(j));
      const r = runScenario({ variant, scenario: sc, scheduler: new AnchoredScheduler(cand) });
      if (!same(r)) return false;
      const fewer = r.preemptions < pre || (r.preemptions === pre && decodeSchedule(r.schedule).length < decodeSchedule(best).length);
      if (!fewer) return false;
      // Re-anchor on the new run (a replay of its normalised schedule).
      const again = new AnchorRecorder(r.schedule);
      runs++;
      const check = runScenario({ variant, scenario: sc, scheduler: again });
      if (!same(check)) return false;
      best = r.schedule;
      anchors = again.anchors;
      pre = check.preemptions;
      improved = true;
      return true;
    };
    for (let i = anchors.length - 1; i >= 0 && runs < budget; i--) {
      if ((i > 0 && tryDrop([i - 1, i])) || tryDrop([i])) i = Math.min(i, anchors.length);
    }
    return improved ? { schedule: best, preemptions: pre } : null;
  };

  let progress = true;
  while (progress && runs < budget) {
    progress = false;
    // 1. Drop whole threads.
    for (let i = cur.threads.length - 1; i >= 0 && cur.threads.length > 1; i--) {
      const cand: ScenarioSpec = { ...cur, threads: cur.threads.filter((_, j) => j !== i) };
      const s = encodeSchedule(removeThreadFromSchedule(decodeSchedule(sched), i));
      const r = fails(cand, s);
      if (r) { cur = cand; sched = r.schedule; progress = true; }
    }
    // 2. Drop single operations (from the end of each program).
    for (let i = 0; i < cur.threads.length; i++) {
      for (let j = cur.threads[i]!.program.length - 1; j >= 0; j--) {
        const t = cur.threads[i]!;
        if (t.program.length <= 1) break;
        const cand: ScenarioSpec = { ...cur, threads: cur.threads.map((x, k) => (k === i ? { ...x, program: x.program.filter((_, m) => m !== j) } : x)) };
        const r = fails(cand, sched);
        if (r) { cur = cand; sched = r.schedule; progress = true; }
      }
    }
    // 3. Drop daemons — but not the userfaultfd monitor of a process that registers a range: a
    // registered fault (or a fork's UFFD_EVENT_FORK) nobody reads sleeps forever, a hang of the
    // test program, not of the kernel (a "deadlock" the shrinker would otherwise swap in).
    for (let i = (cur.daemons?.length ?? 0) - 1; i >= 0; i--) {
      if (monitorNeeded(cur, cur.daemons![i]!)) continue;
      const cand: ScenarioSpec = { ...cur, daemons: cur.daemons!.filter((_, j) => j !== i) };
      const r = fails(cand, sched);
      if (r) { cur = cand; sched = r.schedule; progress = true; }
    }
    // 4. Drop schedule decisions (fewer preemptions), one at a time.
    let ds = decodeSchedule(sched);
    for (let i = ds.length - 1; i >= 0; i--) {
      const cand = encodeSchedule(ds.filter((_, j) => j !== i));
      const r = fails(cur, cand);
      if (r && decodeSchedule(r.schedule).length < ds.length) {
        sched = r.schedule;
        ds = decodeSchedule(sched);
        progress = true;
        i = Math.min(i, ds.length);
      }
    }
    // 5. Drop schedule decisions anchored to task progress (see AnchoredDecision): the others
    // keep their place in each task's program, so a detour that only shifted global steps goes.
    const anchored = anchoredShrink(cur, sched);
    if (anchored) {
      sched = anchored.schedule;
      progress = true;
    }
    // 6. Swap two neighbouring threads (task ids follow the order): the runtime's default order
    // favours lower ids, so the same story told with the roles swapped may need fewer switches.
    for (let i = 0; i + 1 < cur.threads.length && runs < budget; i++) {
      const before = preemptionsOf(cur, sched);
      if (before === null || before === 0) break;
      const threads = [...cur.threads];
      [threads[i], threads[i + 1]] = [threads[i + 1]!, threads[i]!];
      const cand: ScenarioSpec = { ...cur, threads };
      const swap = (t: number): number => (t === i + 1 ? i + 2 : t === i + 2 ? i + 1 : t);
      // Carry the decisions over anchored (global steps shift with the threads' order).
      const rec = new AnchorRecorder(sched);
      runs++;
      runScenario({ variant, scenario: cur, scheduler: rec });
      const mapped = rec.anchors.map((a) => ({ ...a, task: swap(a.task), value: a.kind === 't' ? swap(a.value) : a.value }));
      // The swap may turn one switch into the default order (and it then fires out of place):
      // try the decisions whole, then without each one in turn.
      let r: RunReport | null = null;
      for (let drop = -1; drop < Math.min(mapped.length, 8) && runs < budget; drop++) {
        runs++;
        const x = runScenario({ variant, scenario: cand, scheduler: new AnchoredScheduler(mapped.filter((_, j) => j !== drop)) });
        if (same(x)) {
          r = x;
          break;
        }
      }
      if (r === null) continue;
      const got = anchoredShrink(cand, r.schedule) ?? { schedule: r.schedule, preemptions: r.preemptions };
      if (got.preemptions < before) {
        cur = cand;
        sched = got.schedule;
        progress = true;
      }
    }
  }
  return { scenario: cur, schedule: sched, runs };
}

/** A uffd_handler daemon whose process registers a range (in its setup or a thread's program). */
function monitorNeeded(sc: ScenarioSpec, d: NonNullable<ScenarioSpec['daemons']>[number]): boolean {
  if (d.kind !== 'uffd_handler') return false;
  const ops = [...sc.processes.flatMap((p) => p.setup), ...sc.threads.flatMap((t) => t.program)];
  return ops.some((o) => o.op === 'uffd_register' && o.pid === d.pid);
}
