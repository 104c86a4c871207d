/** Exhaustive-DFS helpers for the impl/sync tests. */
import {
  DfsStrategy, Execution, explore, ReplayScheduler, type ExecutionHooks, type Outcome, type Scheduler,
} from '../../impl/rt/index.js';
import { lockdepHooks, sim_lockdep_set_enabled } from '../../impl/sync/index.js';

export interface RunOpts {
  readonly hooks?: ExecutionHooks;
  /** Lockdep's graph on (default true). */
  readonly lockdep?: boolean;
  readonly preemptionBound?: number;
  readonly maxSteps?: number;
  readonly trace?: boolean;
}

export type Build = (exec: Execution) => void;

export function makeExec(scheduler: Scheduler, build: Build, opts: RunOpts = {}): Execution {
  const exec = new Execution({ scheduler, hooks: opts.hooks ?? lockdepHooks, maxSteps: opts.maxSteps ?? 10_000, trace: opts.trace ?? false });
  if (opts.lockdep === false) sim_lockdep_set_enabled(exec, false);
  build(exec);
  return exec;
}

export interface DfsResult {
  readonly executions: number;
  readonly complete: boolean;
  readonly outcomes: Outcome[];
  readonly failures: Outcome[];
}

/**
 * Every schedule (within the preemption bound) of a fresh scenario. `check` runs after each
 * execution (for properties over the final state).
 */
export function dfs(build: Build, opts: RunOpts = {}, check?: (o: Outcome, exec: Execution) => void): DfsResult {
  const outcomes: Outcome[] = [];
  const r = explore(
    new DfsStrategy({ preemptionBound: opts.preemptionBound ?? Infinity }),
    (s) => makeExec(s, build, opts),
    { stopOnFailure: false, onRun: (o, exec) => { outcomes.push(o); check?.(o, exec); } },
  );
  return { executions: r.executions, complete: r.complete, outcomes, failures: outcomes.filter((o) => o.status !== 'ok') };
}

/** One run under the default schedule (or a given schedule string). */
export function runOnce(build: Build, opts: RunOpts = {}, schedule = 'v1:'): { outcome: Outcome; exec: Execution } {
  const exec = makeExec(new ReplayScheduler(schedule, true), build, opts);
  return { outcome: exec.run(), exec };
}

/** Statuses other than ok/violation mean the simulation itself crashed: fail loudly. */
export function noCrash(outcomes: readonly Outcome[]): void {
  for (const o of outcomes) if (o.status === 'crash' || o.status === 'bad-schedule') throw new Error(`${o.status}: ${o.error}`);
}
