/**
 * The search tree of a systematic exploration cut into subtrees (explore --split D, for --jobs and
 * --shard): a subtree is a prefix of the first D decisions — the decision points are those of the
 * DFS (impl/rt/schedulers/dfs.ts): a pick among ≥ 2 runnable tasks, a choose(n) with n ≥ 2 — and
 * holds every execution that starts with them. The prefixes are enumerated depth-first in the
 * DFS's own order (at a pick the default first, then the other runnable tasks ascending; at a
 * choice 0 … n−1), each within the preemption bound, so that:
 *  - every execution within the bound starts with exactly one of them (an execution that ends
 *    before its D-th decision is a prefix of its own: a subtree of one execution);
 *  - the plain DFS's executions, subtree after subtree in this order, are the unsplit DFS's
 *    executions in its own order (the DFS's order is lexicographic in the decisions).
 * DfsStrategy and DporStrategy take a prefix (`forced`) and explore the subtree below it: its
 * decisions are taken as given and never backtracked.
 */
import { PICK_PRUNE, type Outcome } from '../execution.js';
import type { Scheduler } from '../scheduler.js';
import { ScheduleError } from '../schedule.js';

/** One decision of a prefix: the task picked ('t') or the value chosen ('c'). */
export interface ForcedChoice {
  readonly kind: 't' | 'c';
  readonly value: number;
}

/** What the run found at the first branching point after a prefix. */
type Point =
  | { readonly kind: 't'; readonly options: readonly number[]; readonly cont: number }
  | { readonly kind: 'c'; readonly n: number };

/**
 * Follows a prefix, then goes on through the decision points that offer one option within the
 * preemption bound (recording them), and stops the run at the first that offers two or more.
 */
class ProbeScheduler implements Scheduler {
  readonly name = 'subtree-probe';
  private k = 0;
  private pre: number;
  point: Point | null = null;
  /** The single-option decisions taken after the prefix. */
  readonly extension: ForcedChoice[] = [];
  constructor(private readonly prefix: readonly ForcedChoice[], prePrefix: number, private readonly bound: number) {
    this.pre = prePrefix;
  }

  pick(runnable: Int32Array, n: number, dflt: number, current: number, step: number): number {
    if (this.point !== null) return PICK_PRUNE;
    if (this.k < this.prefix.length) return forcedPick(this.prefix[this.k++]!, runnable, n, step, 'subtree prefix');
    const cont = dflt === current ? current : -1;
    const options = [dflt];
    // Another task costs a preemption when the current one could go on.
    if (cont < 0 || this.pre + 1 <= this.bound) for (let i = 0; i < n; i++) if (runnable[i] !== dflt) options.push(runnable[i]!);
    if (options.length === 1) {
      this.extension.push({ kind: 't', value: dflt });
      return dflt;
    }
    this.point = { kind: 't', options, cont };
    return PICK_PRUNE;
  }

  choose(n: number, step: number): number {
    if (this.point !== null) return 0;
    if (this.k < this.prefix.length) return forcedChoose(this.prefix[this.k++]!, n, step, 'subtree prefix');
    this.point = { kind: 'c', n };
    return 0;
  }
}

/** The forced pick `d` at a pick among runnable[0..n): its task, or a ScheduleError. */
export function forcedPick(d: ForcedChoice, runnable: Int32Array | readonly number[], n: number, step: number, what: string): number {
  if (d.kind === 't') for (let i = 0; i < n; i++) if (runnable[i] === d.value) return d.value;
  throw new ScheduleError(`${what}: ${formatChoice(d)} does not fit the pick at step ${step} among [${Array.from(runnable).slice(0, n).join(',')}]`);
}

/** The forced value `d` at a choice among n: its value, or a ScheduleError. */
export function forcedChoose(d: ForcedChoice, n: number, step: number, what: string): number {
  if (d.kind === 'c' && d.value >= 0 && d.value < n) return d.value;
  throw new ScheduleError(`${what}: ${formatChoice(d)} does not fit the choice among ${n} at step ${step}`);
}

export function formatChoice(d: ForcedChoice): string {
  return d.kind === 't' ? `t${d.value}` : `c${d.value}`;
}

/** A prefix as text: "t0 t2 c1" ("" for the whole tree). */
export function formatPrefix(p: readonly ForcedChoice[]): string {
  return p.map(formatChoice).join(' ');
}

export function parsePrefix(s: string): ForcedChoice[] {
  if (s.trim() === '') return [];
  return s.trim().split(/\s+/).map((w) => {
    const m = /^([tc])(\d+)$/.exec(w);
    if (!m) throw new Error(`not a subtree prefix: "${s}"`);
    return { kind: m[1] as 't' | 'c', value: Number(m[2]) };
  });
}

export interface Subtree {
  readonly prefix: readonly ForcedChoice[];
  /** Preemptions the prefix uses. */
  readonly preemptions: number;
}

/**
 * The subtrees of depth `depth` within `preemptionBound`, in DFS order: the prefixes up to the
 * `depth`-th branching decision (a decision point with two options or more within the bound; the
 * points with one option in between are part of the prefix, and do not count). `run` runs the
 * scenario with a scheduler (and judges it as the search does, so that a run that stops at a
 * violation stops here too). Costs one partial run per inner node of the prefix tree.
 */
export function enumerateSubtrees(run: (s: Scheduler) => Outcome | void, depth: number, preemptionBound: number): Subtree[] {
  if (!(depth >= 0)) throw new RangeError(`subtree depth must be ≥ 0, got ${depth}`);
  const out: Subtree[] = [];
  const visit = (prefix: ForcedChoice[], pre: number, branches: number): void => {
    if (branches >= depth) {
      out.push({ prefix, preemptions: pre });
      return;
    }
    const probe = new ProbeScheduler(prefix, pre, preemptionBound);
    run(probe);
    const p = probe.point;
    const base = [...prefix, ...probe.extension];
    if (p === null) {
      // The run ended without another branching point: one subtree, the prefix as given.
      out.push({ prefix, preemptions: pre });
      return;
    }
    if (p.kind === 'c') {
      for (let v = 0; v < p.n; v++) visit([...base, { kind: 'c', value: v }], pre, branches + 1);
      return;
    }
    for (const t of p.options) {
      const cost = p.cont >= 0 && t !== p.cont ? 1 : 0;
      visit([...base, { kind: 't', value: t }], pre + cost, branches + 1);
    }
  };
  visit([], 0, 0);
  return out;
}
