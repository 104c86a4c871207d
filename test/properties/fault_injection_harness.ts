/**
 * Hand-scheduled fault injection for tests: a scheduler that keeps running the current task (the
 * runtime's default) and fails exactly the chosen calls of the chosen failure points
 * (impl/include/linux/fault_inject.ts should_fail labels), every other choice 0. The run it makes
 * replays from its recorded schedule like any other.
 */
import type { Scheduler } from '../../impl/rt/scheduler.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import { generationVariant, type Variant } from '../../impl/sim/variant.js';
import { runScenario } from '../../properties/runner.js';
import type { RunReport } from '../../properties/api.js';
import { clearLinearizabilityCaches } from '../../properties/linearizability/index.js';

export class FailAt implements Scheduler {
  readonly name = 'fail-at';
  private readonly counts = new Map<string, number>();
  /** label → the calls (1-based) of that failure point that fail. */
  constructor(private readonly fail: Readonly<Record<string, readonly number[]>>) {}
  pick(_runnable: Int32Array, _n: number, dflt: number): number {
    return dflt;
  }
  choose(_n: number, _step: number, _task: number, label: string): number {
    const c = (this.counts.get(label) ?? 0) + 1;
    this.counts.set(label, c);
    if (process.env.FAILAT_DEBUG) console.log(`choose ${label} #${c} at step ${_step}`);
    return this.fail[label]?.includes(c) ? 1 : 0;
  }
}

/** Run sc (fault injection on) failing the given calls; the model's caches are cleared first. */
export function runFailing(sc: ScenarioSpec, fail: Readonly<Record<string, readonly number[]>>, variant: Variant = generationVariant('v6.6')): RunReport {
  clearLinearizabilityCaches();
  return runScenario({ variant, scenario: { ...sc, faultInjection: true }, scheduler: new FailAt(fail) });
}
