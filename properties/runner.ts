/**
 * One run: a scenario on a kernel variant under one scheduler (or replaying one schedule), with
 * every per-step invariant on, the end-of-run checks, and refinement of the history against the
 * model. The result is a RunReport (api.ts) that a counterexample file and a timeline are made of.
 */
import { ReplayScheduler } from '../impl/rt/schedulers/replay.js';
import type { Scheduler } from '../impl/rt/scheduler.js';
import { withOutcomeSchedule, type Execution, type ExecutionHooks, type TaskState, type ViolationRecord } from '../impl/rt/execution.js';
import { Violation } from '../impl/rt/task.js';
import type { Kernel } from '../impl/sim/kernel.js';
import { sim_run, sim_set_base_hooks } from '../impl/sim/run.js';
import type { ScenarioSpec } from '../impl/sim/scenario.js';
import type { Variant } from '../impl/sim/variant.js';
import { lockdepHooks } from '../impl/sync/lockdep.js';
import type { RunReport, RunStatus } from './api.js';
import { END_CHECKS, runStepChecks } from './invariants/index.js';
import { judgeHistory } from './refinement.js';
import { judgeQuiescence } from './liveness.js';
import type { CoverageCollector } from './coverage.js';

sim_set_base_hooks(lockdepHooks);

export interface RunOptions {
  readonly variant: Variant;
  readonly scenario: ScenarioSpec;
  /** Replay this schedule (strictly unless `strict: false`). */
  readonly schedule?: string;
  readonly scheduler?: Scheduler;
  readonly trace?: boolean;
  readonly strict?: boolean;
  /** Skip the history checks (linearizability, final state): for raw-throughput measurements. */
  readonly skipHistory?: boolean;
  /** Record what the run reaches (functions, labels, lock pairs) into this collector (coverage.ts). */
  readonly coverage?: CoverageCollector;
  /**
   * Called after every step with the task that stepped (its `label` is where it now stands):
   * the step-label signal of the coverage-guided corpus (properties/corpus.ts).
   */
  readonly onStep?: (task: TaskState) => void;
}

function stepHooks(cov?: CoverageCollector, onStep?: (task: TaskState) => void): ExecutionHooks {
  if (cov !== undefined) {
    const plain = stepHooks(undefined, onStep);
    const record = cov.hooks.afterStep!;
    const after = plain.afterStep!;
    return {
      ...plain,
      afterStep(exec: Execution, t: TaskState): Violation | null {
        record(exec, t);
        return after(exec, t);
      },
    };
  }
  return {
    afterStep: onStep
      ? (exec: Execution, t: TaskState): Violation | null => {
        onStep(t);
        return runStepChecks(exec.world as Kernel);
      }
      : (exec: Execution, _t: TaskState): Violation | null => runStepChecks(exec.world as Kernel),
    atEnd(exec: Execution): Violation | null {
      const kernel = exec.world as Kernel;
      for (const c of END_CHECKS) {
        const v = c(kernel);
        if (v) return v;
      }
      return null;
    },
  };
}

export function runScenario(opts: RunOptions): RunReport {
  const scheduler = opts.scheduler ?? new ReplayScheduler(opts.schedule ?? 'v1:', opts.strict ?? true);
  const cov = opts.coverage;
  const run = sim_run({
    variant: cov !== undefined ? cov.wrap(opts.variant) : opts.variant,
    scenario: opts.scenario,
    scheduler,
    trace: opts.trace ?? false,
    hooks: stepHooks(cov, opts.onStep),
  });
  const { outcome, exec, kernel } = run;
  cov?.endRun(exec);
  let status: RunStatus;
  let violation: ViolationRecord | undefined = outcome.violation;
  let error = outcome.error;
  switch (outcome.status) {
    case 'ok': status = 'pass'; break;
    case 'violation':
      status = 'violation';
      // No task can run: a fault asleep on a range that is no longer registered is the more
      // precise property (liveness.ts).
      if (violation?.property === 'deadlock') violation = judgeQuiescence(kernel, exec, violation) ?? violation;
      break;
    case 'crash': status = 'crash'; break;
    case 'bad-schedule': status = 'bad-schedule'; break;
    // Only a reducing explorer prunes runs (properties/explore.ts drives those itself).
    case 'pruned': status = 'crash'; error = 'the scheduler pruned a run that runScenario was asked to judge'; break;
  }
  if (status === 'pass' && !opts.skipHistory) {
    const h = judgeHistory(run);
    if (h.status === 'violation') {
      status = 'violation';
      violation = h.violation;
    } else if (h.status === 'unknown') {
      status = 'unknown';
      error = h.reason;
    }
  }
  return withOutcomeSchedule({
    status,
    violation,
    error,
    steps: outcome.steps,
    setupSteps: kernel.setupSteps,
    preemptions: outcome.preemptions,
    taskNames: exec.tasks.map((t) => t.name),
    threads: run.threads,
    trace: exec.tracing ? exec.trace : undefined,
    history: run.history.map((e) => ({ task: e.task, op: e.op, result: e.result, invoke: e.invoke, response: e.response })),
    stats: kernel.stats,
  }, outcome);
}
