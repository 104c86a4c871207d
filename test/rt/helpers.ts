/** Small programs for the runtime tests: a lock built from block(), and run helpers. */
import {
  block, current, Execution, explore, type ExecutionOptions, type ExploreResult, type Scheduler,
  type Strategy, type Task,
} from '../../impl/rt/index.js';

/** A test lock: `owner` is the holding task id, -1 when free. */
export class Lock {
  owner = -1;
  constructor(readonly name: string) {}
}

/** Take `l`: one step, runnable only while `l` is free (the step takes it). */
export function* lock(l: Lock): Task<void> {
  yield block(`lock ${l.name}`, () => l.owner < 0, l, () => (l.owner >= 0 ? [l.owner] : []));
  l.owner = current().id;
}

/** Release `l`: one step. */
export function* unlock(l: Lock): Task<void> {
  yield `unlock ${l.name}`;
  l.owner = -1;
}

/** A task of k plain yields: k + 1 steps (the first runs from the start to the first yield). */
export function* labels(k: number, prefix = 's'): Task<void> {
  for (let i = 0; i < k; i++) yield `${prefix}${i}`;
}

export type Build = (exec: Execution) => void;

export function runOnce(scheduler: Scheduler, build: Build, opts: Partial<ExecutionOptions> = {}): Execution {
  const exec = new Execution({ trace: true, ...opts, scheduler });
  build(exec);
  exec.run();
  return exec;
}

export function exploreAll(strategy: Strategy, build: Build, opts: Partial<ExecutionOptions> = {}): ExploreResult & { schedules: string[] } {
  const schedules: string[] = [];
  const r = explore(strategy, (scheduler) => {
    const exec = new Execution({ ...opts, scheduler });
    build(exec);
    return exec;
  }, { stopOnFailure: false, onRun: (o) => { schedules.push(o.schedule); } });
  return { ...r, schedules };
}

/** n choose k. */
export function binom(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}
