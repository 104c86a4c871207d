/**
 * The campaign loop shared by tests, the CLI and the benchmarks: ask a Strategy for a scheduler,
 * build a fresh Execution of the scenario with it, run, feed back, until a failure, the strategy
 * runs dry or the budget is spent. Re-execution, not snapshots: `setup` must rebuild the whole
 * scenario each time.
 */
import type { Execution, Outcome } from './execution.js';
import type { Scheduler, Strategy } from './scheduler.js';

export interface ExploreOptions {
  /** Stop at the first run whose outcome is not 'ok' (default true). */
  readonly stopOnFailure?: boolean;
  /** Run at most this many executions. */
  readonly maxExecutions?: number;
  /** Called after every run; return false to stop. */
  readonly onRun?: (outcome: Outcome, exec: Execution, index: number) => boolean | void;
}

export interface ExploreResult {
  readonly executions: number;
  /** Total steps over all runs. */
  readonly steps: number;
  /** The first run that did not end 'ok', or null. */
  readonly failure: Outcome | null;
  /** Its 1-based index among the runs (0 when none failed). */
  readonly failureAt: number;
  /** Failing runs seen (more than one only with stopOnFailure: false). */
  readonly failures: number;
  /** The strategy covered its whole space (DFS within its bounds) and no run failed early. */
  readonly complete: boolean;
}

export function explore(
  strategy: Strategy,
  setup: (scheduler: Scheduler) => Execution,
  opts: ExploreOptions = {},
): ExploreResult {
  const stopOnFailure = opts.stopOnFailure ?? true;
  const max = opts.maxExecutions ?? Infinity;
  let executions = 0;
  let steps = 0;
  let failure: Outcome | null = null;
  let failureAt = 0;
  let failures = 0;
  let stopped = false;
  while (executions < max) {
    const sched = strategy.next();
    if (sched === null) break;
    const exec = setup(sched);
    const outcome = exec.run();
    executions++;
    steps += outcome.steps;
    strategy.done?.(outcome.steps);
    if (outcome.status !== 'ok') {
      failures++;
      if (failure === null) { failure = outcome; failureAt = executions; }
    }
    if (opts.onRun?.(outcome, exec, executions) === false) { stopped = true; break; }
    if (outcome.status !== 'ok' && stopOnFailure) { stopped = true; break; }
  }
  const complete = !stopped && strategy.complete === true;
  return { executions, steps, failure, failureAt, failures, complete };
}
