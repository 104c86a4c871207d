/**
 * Shrinking a counterexample: fewer threads, shorter programs, fewer daemons, fewer preemptions —
 * while the same property still breaks. Scenario and schedule shrink together: a scenario
 * candidate runs under the current schedule replayed leniently (decisions that no longer fit are
 * skipped), and the run's own normalised schedule becomes the new current one. Greedy, first
 * improvement, bounded by a run budget; deterministic.
 */
import { decodeSchedule, encodeSchedule, type Decision } from '../impl/rt/schedule.js';
import { ReplayScheduler } from '../impl/rt/schedulers/replay.js';
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
  const fails = (sc: ScenarioSpec, s: string): RunReport | null => {
    if (runs >= budget) return null;
    runs++;
    const r = runScenario({ variant, scenario: sc, scheduler: new ReplayScheduler(decodeSchedule(s), false) });
    return r.status === 'violation' && r.violation?.property === property ? r : null;
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
    // 3. Drop daemons.
    for (let i = (cur.daemons?.length ?? 0) - 1; i >= 0; i--) {
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
  }
  return { scenario: cur, schedule: sched, runs };
}
