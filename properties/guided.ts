/**
 * Communication-guided scheduling (Snowboard's idea; the scheduler is impl/rt/schedulers/guided.ts).
 *
 * 1. Learn: run each user thread of the scenario alone (with the daemons) from the initial state,
 *    without preemption, traced. Every step that names an object (`vma_start_read:vm_lock_seq
 *    vma#2`, `down_write mm(1)->mmap_lock`, `set_pte_at pte_table#3`) is an access to it; an object
 *    accessed by two or more actors (user threads, kernel daemons) is shared, and the keys
 *    (`label@kind`) of the steps that accessed it are the communication steps of the scenario.
 * 2. Exploit: the following runs of that scenario are GuidedScheduler runs — PCT whose change points
 *    fall only on communication steps.
 *
 * The trace names the object a step touches (for a step that names none, the innermost lock it
 * holds stands for it) but not whether it reads or writes it, so two reads of one object count as
 * communication too (Snowboard keeps write→read pairs only); per-step footprints with read/write
 * sets would sharpen this. A user-space access (`user:load`) names no object and holds no lock: the
 * page-table walk it stands for is never a communication step. When a scenario has no
 * communication step at all, its guided runs are plain PCT (change points over all steps).
 *
 * The solo runs are executions like any other: every check runs on them and they count in the
 * campaign's budget.
 */
import { GuidedScheduler, stepKey } from '../impl/rt/schedulers/guided.js';
import { mixSeed } from '../impl/rt/schedulers/random.js';
import type { TraceEvent } from '../impl/rt/trace.js';
import type { ScenarioSpec } from '../impl/sim/scenario.js';
import type { Variant } from '../impl/sim/variant.js';
import type { CampaignSpec, RunReport } from './api.js';
import { runScenario } from './runner.js';

/** PCT depth of the guided runs (the `pct` strategy's). */
export const GUIDED_DEPTH = 3;
/** Share of the change points drawn over all steps, as PCT draws them (see GuidedOptions.uniform). */
export const GUIDED_UNIFORM = 0.5;

export interface Profile {
  /** The communication steps' keys. */
  readonly hot: ReadonlySet<string>;
  /** Steps of the sequential run that were communication steps. */
  readonly hotSteps: number;
  readonly steps: number;
}

const ID = /#([0-9]+)/;

/** The innermost lock of a trace's held column (`mm(1)->mmap_lock(R) ptl(pte_table#4) rcu`), or ''. */
export function innermostLock(held: string): string {
  const parts = held.split(' ');
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i]!;
    if (p === '' || p === 'rcu' || p === 'irqs-off') continue;
    return p.endsWith('(R)') ? p.slice(0, -3) : p;
  }
  return '';
}

/**
 * The communication steps of a scenario from traced solo runs (one per user thread, each with the
 * scenario's daemons). An actor is a user thread or a daemon (by name); an object is shared when two
 * actors touch it. Objects that existed before the threads started (their id is no larger than any
 * the setup task named) have the same name in every solo run and are compared across runs; objects
 * created during a run are compared within that run only (another run's `vma#9` is another VMA).
 */
export function communicationSteps(runs: readonly { readonly trace: readonly TraceEvent[]; readonly taskNames: readonly string[] }[]): Profile {
  const touchedBy = new Map<string, Set<string>>();
  const events: { key: string; label: string; obj: string }[] = [];
  let steps = 0;
  runs.forEach((run, ri) => {
    let setupMax = 0;
    for (const ev of run.trace) {
      if (run.taskNames[ev.task] !== 'setup') continue;
      const m = ID.exec(ev.obj);
      if (m) setupMax = Math.max(setupMax, Number(m[1]));
    }
    for (const ev of run.trace) {
      const actor = run.taskNames[ev.task] ?? '';
      if (actor === 'setup') continue;
      steps++;
      // The object a step touches: the one it names, else the innermost lock it holds (what it
      // reads or writes under that lock is what the lock protects); neither: no communication.
      const obj = ev.obj !== '' ? ev.obj : innermostLock(ev.held);
      if (obj === '') continue;
      const m = ID.exec(obj);
      const key = m && Number(m[1]) > setupMax ? `${ri}:${obj}` : obj;
      let s = touchedBy.get(key);
      if (s === undefined) touchedBy.set(key, (s = new Set()));
      s.add(actor);
      events.push({ key, label: ev.label, obj: ev.obj });
    }
  });
  const hot = new Set<string>();
  let hotSteps = 0;
  for (const ev of events) {
    if ((touchedBy.get(ev.key)?.size ?? 0) < 2) continue;
    hot.add(stepKey(ev.label, ev.obj));
    hotSteps++;
  }
  return { hot, hotSteps, steps };
}

/** The scenario with only its user thread `i` (and all its daemons). */
export function soloScenario(scenario: ScenarioSpec, i: number): ScenarioSpec {
  return { ...scenario, name: `${scenario.name}/solo${i}`, threads: [scenario.threads[i]!] };
}

/**
 * Learn a scenario's communication steps: each user thread run alone from the initial state (with
 * the daemons), traced, with no preemption (Snowboard profiles each test on its own: run one after
 * another, the second would often find the work done). Each solo run is a checked execution.
 */
export function profileScenario(variant: Variant, scenario: ScenarioSpec, coverage?: CampaignSpec['coverage']): { runs: { scenario: ScenarioSpec; report: RunReport }[]; profile: Profile } {
  const runs = scenario.threads.map((_, i) => {
    const solo = soloScenario(scenario, i);
    const report = runScenario({ variant, scenario: solo, schedule: 'v1:', strict: false, trace: true, ...(coverage !== undefined ? { coverage } : {}) });
    return { scenario: solo, report };
  });
  return { runs, profile: communicationSteps(runs.map((r) => ({ trace: r.report.trace ?? [], taskNames: r.report.taskNames }))) };
}

/**
 * One scenario of the guided campaign (campaign unit `g`): the scenario profiled by its first
 * executions (one solo run per user thread), then guided runs, `runs` executions in all (at most
 * `perScenario`). The guesses h (communication points per run) and k (steps per run) start afresh
 * with each scenario, so a unit's runs depend on the seed and g alone (campaign.ts: units run in
 * any order, on any worker). `onResult` is the campaign's (false: stop).
 */
export function guidedScenario(
  spec: CampaignSpec,
  scenario: ScenarioSpec,
  g: number,
  perScenario: number,
  runs: number,
  onResult: (scenario: ScenarioSpec, r: RunReport) => boolean,
): void {
  const cov = spec.coverage !== undefined ? { coverage: spec.coverage } : {};
  let k = 64;
  const { runs: solo, profile } = profileScenario(spec.variant, scenario, spec.coverage);
  // The first guess of h: every communication step met before and after.
  let h = Math.max(2 * profile.hotSteps, 1);
  let n = 0;
  for (const r of solo) {
    if (n >= runs) return;
    n++;
    if (!onResult(r.scenario, { ...r.report, trace: undefined })) return;
  }
  for (let j = solo.length; j < perScenario && n < runs; j++) {
    const i = g * perScenario + j;
    const seed = mixSeed(spec.seed ^ 0x3c6ef372, i);
    const sched = new GuidedScheduler(seed, { depth: GUIDED_DEPTH, h, k, hot: profile.hot, uniform: GUIDED_UNIFORM });
    const r = runScenario({ variant: spec.variant, scenario, scheduler: sched, ...cov });
    if (sched.communicationPoints > h) h = sched.communicationPoints;
    if (r.steps > k) k = r.steps;
    n++;
    if (!onResult(scenario, r)) return;
  }
}
