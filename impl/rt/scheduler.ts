/**
 * The Scheduler: the single source of nondeterminism of a run. It decides which runnable task
 * runs at each scheduling point and the value of every nondeterministic choice.
 */
export interface Scheduler {
  readonly name: string;
  /**
   * Pick the task to run at global step `step`. `runnable[0..n)` are the runnable task ids in
   * ascending order (n ≥ 2: with one runnable task there is nothing to decide and pick is not
   * called, unless `everyStep` is set). The array is reused: copy what you keep. `dflt` is the runtime's default (the current task if runnable, else the next one).
   */
  pick(runnable: Int32Array, n: number, dflt: number, current: number, step: number): number;
  /** A value in [0, n) for a nondeterministic choice made by task `task` during step `step`. */
  choose(n: number, step: number, task: number, label: string): number;
  /** Called once when the run starts, with the number of tasks spawned so far. */
  begin?(taskCount: number): void;
  /**
   * Called when the run ends because no task is left to run (before deadlock and end-of-run
   * checks). A strict replay throws a ScheduleError here when decisions were left unused.
   */
  end?(step: number): void;
  /**
   * Ask for `pick` at every step, also when a single task is runnable (n = 1). PCT needs it: a
   * priority change point may fall on such a step. Other schedulers leave it unset (faster).
   */
  readonly everyStep?: boolean;
}

/** A way of producing schedulers, one per execution (random seeds, PCT draws, DFS paths). */
export interface Strategy {
  readonly name: string;
  /** The scheduler for the next execution, or null when the strategy has nothing left to try. */
  next(): Scheduler | null;
  /** Feedback after each execution (DFS backtracks, PCT learns the run length). */
  done?(steps: number): void;
  /** True when the strategy covered its whole space (DFS within its bounds). */
  readonly complete?: boolean;
}
