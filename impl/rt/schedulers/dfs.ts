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
 * Re-execution must retrace the same prefix: each point remembers its step, its kind and its
 * options, and a run that reaches a point with different ones (a scenario that is not
 * deterministic: Math.random, state leaking between runs …) stops the exploration with a
 * ScheduleError, outcome 'bad-schedule'; `diverged` says where, and `complete` stays false.
 */
import type { Scheduler, Strategy } from '../scheduler.js';
import { ScheduleError } from '../schedule.js';

interface Point {
  readonly kind: 't' | 'c';
  readonly step: number;
  /** Picks: task ids, the default first. Choices: unused (option i is the value i). */
  readonly options: readonly number[];
  /** Number of options. */
  readonly n: number;
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
}

export class DfsStrategy implements Strategy {
  readonly name = 'dfs';
  private readonly stack: Point[] = [];
  private started = false;
  private exhausted = false;
  private runs = 0;
  private readonly bound: number;
  private readonly maxExecutions: number;
  private truncated = false;
  /** Why exploration stopped early because a re-execution diverged from its prefix, or null. */
  diverged: string | null = null;

  constructor(opts: DfsOptions = {}) {
    this.bound = opts.preemptionBound ?? Infinity;
    this.maxExecutions = opts.maxExecutions ?? Infinity;
    if (!(this.bound >= 0)) throw new RangeError(`DFS preemption bound must be ≥ 0, got ${this.bound}`);
  }

  /** True when every schedule within the preemption bound was run. */
  get complete(): boolean {
    return this.exhausted && !this.truncated && this.diverged === null;
  }

  get executions(): number {
    return this.runs;
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
    return new DfsRun(this.stack, (msg) => { this.diverged = msg; });
  }

  /** Strategy feedback: DFS needs none (the path is rebuilt from the runs' own picks). */
  done(_steps: number): void {}

  /** Move to the next unexplored path: bump the deepest point that has an admissible option left. */
  private advance(): boolean {
    const stack = this.stack;
    while (stack.length > 0) {
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

/** The scheduler of one DFS execution: replays the stack's prefix, then extends it with defaults. */
class DfsRun implements Scheduler {
  readonly name = 'dfs';
  private depth = 0;
  private pre = 0;
  constructor(private readonly stack: Point[], private readonly onDiverge: (msg: string) => void) {}

  pick(runnable: Int32Array, n: number, dflt: number, current: number, step: number): number {
    const cont = dflt === current ? current : -1;
    const stack = this.stack;
    let p = stack[this.depth];
    if (p === undefined) {
      const options = [dflt];
      for (let i = 0; i < n; i++) if (runnable[i] !== dflt) options.push(runnable[i]!);
      p = { kind: 't', step, options, n, idx: 0, cont, pre: this.pre };
      stack.push(p);
    } else if (p.kind !== 't' || p.step !== step || p.n !== n || p.options[0] !== dflt || !sameSet(p.options, runnable, n)) {
      this.diverge(p, `a pick at step ${step} among [${Array.from(runnable.subarray(0, n)).join(',')}] (default ${dflt})`);
    }
    this.depth++;
    const t = p.options[p.idx]!;
    if (cont >= 0 && t !== cont) this.pre++;
    return t;
  }

  choose(n: number, step: number): number {
    const stack = this.stack;
    let p = stack[this.depth];
    if (p === undefined) {
      p = { kind: 'c', step, options: EMPTY, n, idx: 0, cont: -1, pre: this.pre };
      stack.push(p);
    } else if (p.kind !== 'c' || p.step !== step || p.n !== n) {
      this.diverge(p, `a choice among ${n} at step ${step}`);
    }
    this.depth++;
    return p.idx;
  }

  private diverge(p: Point, now: string): never {
    const was = p.kind === 't' ? `a pick at step ${p.step} among [${[...p.options].sort((a, b) => a - b).join(',')}] (default ${p.options[0]})` : `a choice among ${p.n} at step ${p.step}`;
    const msg = `DFS: the scenario is not deterministic: re-execution reached ${now} where the explored prefix had ${was}`;
    this.onDiverge(msg);
    throw new ScheduleError(msg);
  }
}

const EMPTY: readonly number[] = [];

function sameSet(options: readonly number[], runnable: Int32Array, n: number): boolean {
  // options = [dflt, the other runnable ids ascending]; runnable is ascending.
  const dflt = options[0]!;
  let j = 1;
  for (let i = 0; i < n; i++) {
    const r = runnable[i]!;
    if (r === dflt) continue;
    if (options[j++] !== r) return false;
  }
  return j === n;
}
