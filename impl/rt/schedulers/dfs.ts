/**
 * Systematic exploration: depth-first over every scheduling decision and nondeterministic choice,
 * by re-execution (each run starts from the scenario and follows a prefix of decisions), with a
 * preemption bound (Musuvathi & Qadeer, PLDI 2007: most concurrency bugs need few preemptions).
 *
 * Choice points: a scheduling point with ≥ 2 runnable tasks (options: the default first, then the
 * other runnable tasks by id), and every `choose(n)` with n ≥ 2 (options 0 … n−1). Switching away
 * from a task that could have continued costs one preemption; switching when the current task
 * blocked or ended (and the first pick of the run) is free. Choices cost nothing.
 *
 * Re-execution must retrace the same prefix: each point remembers its step, its kind and the
 * runnable set, and a run that reaches a point with different ones (a scenario that is not
 * deterministic: Math.random, state leaking between runs …) stops the exploration with a
 * ScheduleError, outcome 'bad-schedule'; `diverged` says where, and `complete` stays false.
 *
 * Sleep sets (Godefroid, 1996), opt-in: given `independent(a, b)` — the pending steps a and b of
 * two tasks commute and neither enables or disables the other, whatever the choices made inside
 * them — a task whose step was already explored at an ancestor point sleeps until a step
 * dependent with it runs, and is not tried meanwhile. Every Mazurkiewicz trace (class of
 * interleavings equal up to swapping adjacent independent steps) is still run, once; a run in
 * which every runnable task sleeps is redundant (counted in `redundant`) and finishes with
 * defaults, creating no choice points. Sound only if the relation is: a step's label and object
 * must name everything it touches. Off by default, and only for unbounded DFS (with a preemption
 * bound, the representative of a trace may need more preemptions than the one pruned).
 */
import { currentExecution } from '../execution.js';
import type { Scheduler, Strategy } from '../scheduler.js';
import { ScheduleError } from '../schedule.js';
import { forcedChoose, forcedPick, type ForcedChoice } from './subtrees.js';

/** A task's pending step, for the independence relation of sleep sets. */
export interface PendingStep {
  readonly task: number;
  /** The label of the yield the task is paused at: what its next step does. */
  readonly label: string;
  /** The object named by that yield (StepOp/BlockOp `obj`), or undefined. */
  readonly obj: unknown;
}

interface Point {
  readonly kind: 't' | 'c';
  readonly step: number;
  /** Picks: the options, the default first when it is awake. Choices: unused (option i is i). */
  readonly options: readonly number[];
  /** Number of options. */
  readonly n: number;
  /**
   * Picks: the default task and, with sleep sets, the runnable ids ascending (to detect
   * divergence). Without sleep sets `options` is the runnable set itself and `runnable` is null.
   */
  readonly dflt: number;
  readonly runnable: readonly number[] | null;
  /** Index of the option taken on the current path. */
  idx: number;
  /** For picks: the task that would continue without preempting (-1 if none could). */
  readonly cont: number;
  /** Preemptions used before this point. */
  readonly pre: number;
}

export interface DfsOptions {
  /** Maximum preemptions per execution (Infinity, the default: every interleaving). */
  readonly preemptionBound?: number;
  /** Stop after this many executions (the space is then reported as not covered). */
  readonly maxExecutions?: number;
  /** Enables sleep-set reduction (unbounded DFS only): true when the two steps commute. */
  readonly independent?: (a: PendingStep, b: PendingStep) => boolean;
  /**
   * Explore only the subtree below these first decisions (impl/rt/schedulers/subtrees.ts): they
   * are taken as given and never backtracked. Not with sleep sets.
   */
  readonly forced?: readonly ForcedChoice[];
}

export class DfsStrategy implements Strategy {
  readonly name = 'dfs';
  private readonly stack: Point[] = [];
  private started = false;
  private exhausted = false;
  private runs = 0;
  private readonly bound: number;
  private readonly maxExecutions: number;
  private readonly independent: ((a: PendingStep, b: PendingStep) => boolean) | null;
  private truncated = false;
  private sleepBlocked = 0;
  private readonly forced: readonly ForcedChoice[];
  /** Why exploration stopped early because a re-execution diverged from its prefix, or null. */
  diverged: string | null = null;

  constructor(opts: DfsOptions = {}) {
    this.bound = opts.preemptionBound ?? Infinity;
    this.maxExecutions = opts.maxExecutions ?? Infinity;
    this.independent = opts.independent ?? null;
    this.forced = opts.forced ?? [];
    if (this.forced.length > 0 && this.independent) throw new RangeError('DFS: a forced prefix (subtree) with sleep sets is not supported');
    if (!(this.bound >= 0)) throw new RangeError(`DFS preemption bound must be ≥ 0, got ${this.bound}`);
    if (this.independent && this.bound !== Infinity) {
      throw new RangeError('DFS sleep sets (independent) need an unbounded DFS: with a preemption bound they are not sound');
    }
  }

  /** True when every schedule within the preemption bound was run (or, with sleep sets, every trace). */
  get complete(): boolean {
    return this.exhausted && !this.truncated && this.diverged === null;
  }

  get executions(): number {
    return this.runs;
  }

  /** Runs cut short by sleep sets (every runnable task asleep): they add no new trace. */
  get redundant(): number {
    return this.sleepBlocked;
  }

  /** Depth of the current path (number of choice points). */
  get depth(): number {
    return this.stack.length;
  }

  next(): Scheduler | null {
    if (this.diverged !== null) return null;
    if (this.started && !this.advance()) {
      this.exhausted = true;
      return null;
    }
    if (this.runs >= this.maxExecutions) {
      this.truncated = true;
      return null;
    }
    this.started = true;
    this.runs++;
    return new DfsRun(this.stack, this.independent, this.forced, {
      diverged: (msg) => { this.diverged = msg; },
      redundant: () => { this.sleepBlocked++; },
    });
  }

  /** Strategy feedback: DFS needs none (the path is rebuilt from the runs' own picks). */
  done(_steps: number): void {}

  /** Move to the next unexplored path: bump the deepest point that has an admissible option left. */
  private advance(): boolean {
    const stack = this.stack;
    // The forced prefix's points are never backtracked: the subtree is done when they are all that is left.
    while (stack.length > this.forced.length) {
      const p = stack[stack.length - 1]!;
      while (++p.idx < p.n) {
        if (p.kind === 'c') return true;
        const cost = p.cont >= 0 && p.options[p.idx] !== p.cont ? 1 : 0;
        if (p.pre + cost <= this.bound) return true;
      }
      stack.pop();
    }
    return false;
  }
}

interface RunEvents {
  diverged(msg: string): void;
  redundant(): void;
}

/** The scheduler of one DFS execution: replays the stack's prefix, then extends it with defaults. */
class DfsRun implements Scheduler {
  readonly name = 'dfs';
  /** Sleep sets must see every step, also those with a single runnable task. */
  readonly everyStep: boolean;
  private depth = 0;
  private pre = 0;
  /** Sleeping tasks and their pending steps (sleep sets only). */
  private sleep: PendingStep[] = [];
  /** Every runnable task slept: finish the run with defaults, creating no points. */
  private passive = false;

  constructor(
    private readonly stack: Point[],
    private readonly independent: ((a: PendingStep, b: PendingStep) => boolean) | null,
    private readonly forced: readonly ForcedChoice[],
    private readonly events: RunEvents,
  ) {
    this.everyStep = independent !== null;
  }

  pick(runnable: Int32Array, n: number, dflt: number, current: number, step: number): number {
    if (this.passive) return dflt;
    const indep = this.independent;
    if (n === 1) {
      // Only reached with sleep sets (everyStep): no choice, but the step may wake sleepers.
      if (this.asleep(dflt)) return this.becomePassive(dflt);
      this.sleep = this.wake(this.sleep, dflt);
      return dflt;
    }
    const cont = dflt === current ? current : -1;
    const stack = this.stack;
    let p = stack[this.depth];
    if (p === undefined) {
      const options: number[] = [];
      let all: number[] | null = null;
      if (this.sleep.length === 0) {
        options.push(dflt);
        for (let i = 0; i < n; i++) if (runnable[i] !== dflt) options.push(runnable[i]!);
      } else {
        all = [];
        if (!this.asleep(dflt)) options.push(dflt);
        for (let i = 0; i < n; i++) {
          const r = runnable[i]!;
          all.push(r);
          if (r !== dflt && !this.asleep(r)) options.push(r);
        }
        if (options.length === 0) return this.becomePassive(dflt);
      }
      let idx = 0;
      const f = this.forced[this.depth];
      if (f !== undefined) {
        idx = options.indexOf(forcedPick(f, runnable, n, step, 'DFS: subtree prefix'));
      }
      p = { kind: 't', step, options, n: options.length, dflt, runnable: all, idx, cont, pre: this.pre };
      stack.push(p);
    } else if (p.kind !== 't' || p.step !== step || p.dflt !== dflt || !sameRunnable(p, runnable, n)) {
      this.diverge(p, `a pick at step ${step} among [${Array.from(runnable.subarray(0, n)).join(',')}] (default ${dflt})`);
    }
    this.depth++;
    const t = p.options[p.idx]!;
    if (cont >= 0 && t !== cont) this.pre++;
    if (indep !== null) {
      // Sleep(child) = { u ∈ Sleep ∪ options explored before t here : u independent of t }.
      const tasks = currentExecution().tasks;
      const explored: PendingStep[] = [];
      for (let i = 0; i < p.idx; i++) {
        const u = tasks[p.options[i]!]!;
        explored.push({ task: u.id, label: u.label, obj: u.obj });
      }
      this.sleep = this.wake(this.sleep.concat(explored), t);
    }
    return t;
  }

  choose(n: number, step: number): number {
    if (this.passive) return 0;
    const stack = this.stack;
    let p = stack[this.depth];
    if (p === undefined) {
      const f = this.forced[this.depth];
      const idx = f !== undefined ? forcedChoose(f, n, step, 'DFS: subtree prefix') : 0;
      p = { kind: 'c', step, options: EMPTY, n, dflt: -1, runnable: null, idx, cont: -1, pre: this.pre };
      stack.push(p);
    } else if (p.kind !== 'c' || p.step !== step || p.n !== n) {
      this.diverge(p, `a choice among ${n} at step ${step}`);
    }
    this.depth++;
    return p.idx;
  }

  private asleep(task: number): boolean {
    for (const s of this.sleep) if (s.task === task) return true;
    return false;
  }

  /** The sleepers that stay asleep while task `t` runs its pending step. */
  private wake(sleep: readonly PendingStep[], t: number): PendingStep[] {
    if (sleep.length === 0) return [];
    const u = currentExecution().tasks[t]!;
    const step: PendingStep = { task: t, label: u.label, obj: u.obj };
    return sleep.filter((s) => this.independent!(s, step));
  }

  private becomePassive(dflt: number): number {
    this.passive = true;
    this.events.redundant();
    return dflt;
  }

  private diverge(p: Point, now: string): never {
    const was = p.kind === 't' ? `a pick at step ${p.step} among [${(p.runnable ?? [...p.options].sort((a, b) => a - b)).join(',')}] (default ${p.dflt})` : `a choice among ${p.n} at step ${p.step}`;
    const msg = `DFS: the scenario is not deterministic: re-execution reached ${now} where the explored prefix had ${was}`;
    this.events.diverged(msg);
    throw new ScheduleError(msg);
  }
}

const EMPTY: readonly number[] = [];

function sameRunnable(p: Point, runnable: Int32Array, n: number): boolean {
  const a = p.runnable;
  if (a !== null) {
    if (a.length !== n) return false;
    for (let i = 0; i < n; i++) if (a[i] !== runnable[i]) return false;
    return true;
  }
  // options = [dflt, the other runnable ids ascending]; runnable is ascending.
  const o = p.options;
  if (o.length !== n) return false;
  let j = 1;
  for (let i = 0; i < n; i++) {
    const r = runnable[i]!;
    if (r === p.dflt) continue;
    if (o[j++] !== r) return false;
  }
  return true;
}
