/**
 * Systematic exploration: depth-first over every scheduling decision and nondeterministic choice,
 * by re-execution (each run starts from the scenario and follows a prefix of decisions), with a
 * preemption bound (Musuvathi & Qadeer, PLDI 2007: most concurrency bugs need few preemptions).
 * Switching away from a task that could have continued costs one preemption; switching when the
 * current task blocked or ended is free.
 */
import type { Scheduler, Strategy } from '../scheduler.js';

interface Point {
  /** Options at this point, default first: task ids for a pick, values for a choice. */
  readonly options: number[];
  /** Index of the option taken on the current path. */
  idx: number;
  /** For picks: the task that would continue without preempting (-1 if none could). */
  readonly cont: number;
  /** Preemptions used before this point. */
  readonly pre: number;
  readonly kind: 't' | 'c';
}

export interface DfsOptions {
  /** Maximum preemptions per execution (Infinity: every interleaving). */
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

  constructor(opts: DfsOptions = {}) {
    this.bound = opts.preemptionBound ?? Infinity;
    this.maxExecutions = opts.maxExecutions ?? Infinity;
  }

  /** True when every schedule within the preemption bound was run. */
  get complete(): boolean {
    return this.exhausted && !this.truncated;
  }

  get executions(): number {
    return this.runs;
  }

  next(): Scheduler | null {
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
    return new DfsRun(this.stack, this.bound);
  }

  /** Move to the next unexplored path: bump the deepest point that has an admissible option left. */
  private advance(): boolean {
    while (this.stack.length > 0) {
      const p = this.stack[this.stack.length - 1]!;
      while (++p.idx < p.options.length) {
        if (p.kind === 'c') return true;
        const t = p.options[p.idx]!;
        const cost = p.cont >= 0 && t !== p.cont ? 1 : 0;
        if (p.pre + cost <= this.bound) return true;
      }
      this.stack.pop();
    }
    return false;
  }
}

/** The scheduler of one DFS execution: replays the stack's prefix, then extends it with defaults. */
class DfsRun implements Scheduler {
  readonly name = 'dfs';
  private depth = 0;
  private pre = 0;
  constructor(private readonly stack: Point[], private readonly bound: number) {}

  pick(runnable: Int32Array, n: number, dflt: number, current: number): number {
    const cont = runnable.subarray(0, n).includes(current) ? current : -1;
    const p = this.point('t', () => {
      const options = [dflt];
      for (let i = 0; i < n; i++) if (runnable[i] !== dflt) options.push(runnable[i]!);
      return { options, idx: 0, cont, pre: this.pre, kind: 't' };
    });
    const t = p.options[p.idx]!;
    if (cont >= 0 && t !== cont) this.pre++;
    return t;
  }

  choose(n: number): number {
    const p = this.point('c', () => ({
      options: Array.from({ length: n }, (_, i) => i), idx: 0, cont: -1, pre: this.pre, kind: 'c',
    }));
    return p.options[p.idx]!;
  }

  private point(kind: 't' | 'c', make: () => Point): Point {
    let p = this.stack[this.depth];
    if (p === undefined) {
      p = make();
      this.stack.push(p);
    } else if (p.kind !== kind) {
      throw new Error('DFS: the scenario is not deterministic (a re-execution diverged from its prefix)');
    }
    this.depth++;
    void this.bound;
    return p;
  }
}
