/**
 * Shrinking a generated workload the fast-check way: the failing scenario is the value a family's
 * arbitrary drew for a seed, so the arbitrary's own shrinker (fast-check's Value and context)
 * proposes simpler workloads — fewer threads, processes, operations, regions and daemons; region
 * 0, the first pages, one page, plainer flags — and each is kept when it still breaks the same
 * property. The schedule is what changes under a workload: a candidate is tried with the current
 * schedule replayed leniently, then anchored to each task's progress (properties/shrink.ts), then
 * under a few seeded random and PCT schedules; the first run that breaks the property gives the
 * new schedule. The interleaving itself is shrunk afterwards by shrinkCounterexample.
 *
 * Greedy, first improvement (fast-check's own strategy: the first failing shrink is taken and its
 * shrinks tried next), bounded by a run budget; deterministic.
 */
import type fc from 'fast-check';
import { ReplayScheduler } from '../../impl/rt/schedulers/replay.js';
import { RandomScheduler } from '../../impl/rt/schedulers/random.js';
import { PctScheduler } from '../../impl/rt/schedulers/pct.js';
import type { Scheduler } from '../../impl/rt/scheduler.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import type { Variant } from '../../impl/sim/variant.js';
import type { RunReport } from '../api.js';
import { runScenario } from '../runner.js';
import { AnchorRecorder, AnchoredScheduler } from '../shrink.js';
import { drawValue } from './draw.js';

export interface WorkloadShrinkResult {
  readonly scenario: ScenarioSpec;
  readonly schedule: string;
  /** Runs spent. */
  readonly runs: number;
  /** Candidates accepted. */
  readonly steps: number;
}

/** Seeded schedules tried on a candidate whose replayed schedules no longer break the property. */
const EXTRA_SCHEDULES = 6;

export function shrinkWorkload(
  variant: Variant,
  arb: fc.Arbitrary<ScenarioSpec>,
  seed: number,
  schedule: string,
  property: string,
  name: string,
  budget = 300,
  /** Fields every candidate carries besides the workload (the campaign's fault injection). */
  extra: Partial<ScenarioSpec> = {},
): WorkloadShrinkResult | null {
  let runs = 0;
  const run = (sc: ScenarioSpec, s: Scheduler): RunReport | null => {
    if (runs >= budget) return null;
    runs++;
    const r = runScenario({ variant, scenario: sc, scheduler: s });
    return r.status === 'violation' && r.violation?.property === property ? r : null;
  };
  let cur = drawValue(arb, seed);
  const named = (sc: ScenarioSpec): ScenarioSpec => ({ ...sc, ...extra, name });
  // The drawn workload must fail under the schedule (else there is nothing to shrink from).
  const first = run(named(cur.value), new ReplayScheduler(schedule, false));
  if (!first) return null;
  let sched = first.schedule;
  let accepted = 0;

  /** Does this workload break the property, under which schedule? */
  const tryCandidate = (sc: ScenarioSpec): string | null => {
    const lenient = run(sc, new ReplayScheduler(sched, false));
    if (lenient) return lenient.schedule;
    if (runs >= budget) return null;
    const rec = new AnchorRecorder(sched);
    runs++;
    runScenario({ variant, scenario: named(cur.value), scheduler: rec });
    const anchored = run(sc, new AnchoredScheduler(rec.anchors));
    if (anchored) return anchored.schedule;
    for (let i = 0; i < EXTRA_SCHEDULES && runs < budget; i++) {
      const s = i % 2 === 0 ? new RandomScheduler(0x5eed + i) : new PctScheduler(0x5eed + i, 2 + (i % 3), 256);
      const r = run(sc, s);
      if (r) return r.schedule;
    }
    return null;
  };

  let progress = true;
  while (progress && runs < budget) {
    progress = false;
    for (const cand of arb.shrink(cur.value_, cur.context)) {
      if (runs >= budget) break;
      const sc = named(cand.value);
      const s = tryCandidate(sc);
      if (s !== null) {
        cur = cand;
        sched = s;
        accepted++;
        progress = true;
        break;
      }
    }
  }
  return { scenario: named(cur.value), schedule: sched, runs, steps: accepted };
}
