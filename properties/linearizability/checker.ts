/**
 * Is a concurrent history linearizable against the model?
 *
 * Wing & Gong's search with Lowe's memoisation (G. Lowe, "Testing for linearizability", CCPE
 * 2017; the algorithm of porcupine): depth-first, repeatedly pick an op that may take effect next
 * — one that no other not-yet-linearized op strictly precedes in real time (responded before it
 * was invoked) — and ask the model whether it can return the observed result in the current
 * state. The pair (set of linearized ops as a bitset, model state fingerprint) is memoised: the
 * future of the search depends on nothing else. Pending ops (no response) may take effect —
 * with the model's canonical outcome — or never.
 *
 * Verdicts: ok (with a linearization order), illegal (the shortest illegal prefix and the op
 * whose result no order can produce, with the model's reasons), unknown (the step budget ran
 * out — never a pass).
 */
import { describeCall } from '../../model/ops.js';
import type { MmState } from '../../model/state.js';
import { describeHistoryOp, prefixAt, validateHistory, type HistoryOp } from './history.js';
import { partitionHistory } from './partition.js';
import {
  cacheVerdict, cachedVerdict, clearModelCache, clearVerdicts, intern, opKey, transition, trimModelCache, type ModelNode,
} from './model_cache.js';

export interface LinearizabilityOptions {
  /** Search nodes allowed over the whole check (default 1e6). */
  maxSteps?: number;
  /** Split into independent sub-histories where sound (default true). */
  partition?: boolean;
}

export type LinearizabilityResult =
  | { verdict: 'ok'; order: number[]; steps: number }
  | {
      verdict: 'illegal';
      /** The shortest illegal prefix of the history (ops responding later shown pending). */
      prefix: HistoryOp[];
      /** The op whose result no order can produce. */
      culprit: HistoryOp;
      explanation: string;
      /** The model's reasons for refusing the culprit's result. */
      reasons: string[];
      /** The longest partial linearization found (op ids, in order). */
      longest: number[];
      steps: number;
    }
  | { verdict: 'unknown'; reason: string; steps: number };

class BudgetExhausted extends Error {}

interface Budget {
  used: number;
  readonly max: number;
}

interface SearchResult {
  readonly ok: boolean;
  readonly order: number[];
  /** Per op id: distinct reasons the model refused its observed result. */
  readonly refusals: Map<number, Set<string>>;
  /** The longest partial linearization found (ids). */
  readonly longest: number[];
}

/**
 * Search one (sub-)history. Throws BudgetExhausted. The model is asked through the transition
 * cache (model_cache.ts), and the memo key is the linearized set plus the canonical state's id.
 */
function search(initial: MmState, ops: readonly HistoryOp[], budget: Budget): SearchResult {
  const sorted = [...ops].sort((a, b) => a.invoke - b.invoke || a.id - b.id);
  const n = sorted.length;
  const keys = sorted.map((h) => opKey(h.op, h.result));
  const required = sorted.filter((h) => h.result !== undefined).length;
  const done = new Uint8Array(n);
  const memo = new Set<string>();
  const path: number[] = [];
  let longest: number[] = [];
  const refusals = new Map<number, Set<string>>();
  const words = new Uint32Array(Math.ceil(n / 32) || 1);
  const key = (id: number): string => {
    let k = String(id);
    for (let i = 0; i < words.length; i++) k += '.' + words[i]!.toString(36);
    return k;
  };

  const refuse = (h: HistoryOp, why: string): void => {
    const set = refusals.get(h.id) ?? new Set<string>();
    if (set.size < 8) set.add(why);
    refusals.set(h.id, set);
  };

  const dfs = (node: ModelNode, completed: number): boolean => {
    if (completed === required) return true;
    const k = key(node.id);
    if (memo.has(k)) return false;
    memo.add(k);
    if (++budget.used > budget.max) throw new BudgetExhausted();
    let minResp = Infinity;
    for (let i = 0; i < n; i++) if (!done[i] && sorted[i]!.response < minResp) minResp = sorted[i]!.response;
    for (let i = 0; i < n; i++) {
      const h = sorted[i]!;
      if (h.invoke > minResp) break;
      if (done[i]) continue;
      const next = transition(node, keys[i]!, h.op, h.result);
      if (typeof next === 'string') {
        if (h.result !== undefined) refuse(h, next);
        continue;
      }
      done[i] = 1;
      words[i >> 5]! |= 1 << (i & 31);
      path.push(h.id);
      if (path.length > longest.length) longest = [...path];
      const c = completed + (h.result !== undefined ? 1 : 0);
      // Several next states (a failure's possible partial effects): each is a branch.
      if (isNode(next)) {
        if (dfs(next, c)) return true;
      } else {
        for (const alt of next) if (dfs(alt, c)) return true;
      }
      path.pop();
      words[i >> 5]! &= ~(1 << (i & 31));
      done[i] = 0;
    }
    return false;
  };

  const ok = dfs(intern(initial), 0);
  return { ok, order: ok ? [...path] : [], refusals, longest };
}

const isNode = (e: ModelNode | readonly ModelNode[]): e is ModelNode => !Array.isArray(e);

/** Merge per-partition orders into one respecting real time (exists by locality). */
function mergeOrders(orders: readonly number[][], byId: ReadonlyMap<number, HistoryOp>): number[] {
  const heads = orders.map(() => 0);
  const out: number[] = [];
  const total = orders.reduce((a, o) => a + o.length, 0);
  while (out.length < total) {
    let minResp = Infinity;
    orders.forEach((o, k) => {
      for (let i = heads[k]!; i < o.length; i++) minResp = Math.min(minResp, byId.get(o[i]!)!.response);
    });
    let pick = -1;
    for (let k = 0; k < orders.length; k++) {
      const o = orders[k]!;
      if (heads[k]! < o.length && byId.get(o[heads[k]!]!)!.invoke <= minResp) {
        pick = k;
        break;
      }
    }
    if (pick < 0) pick = orders.findIndex((o, k) => heads[k]! < o.length);
    out.push(orders[pick]![heads[pick]!]!);
    heads[pick]!++;
  }
  return out;
}

function checkGroups(initial: MmState, history: readonly HistoryOp[], budget: Budget, partition: boolean) {
  const groups = partition ? partitionHistory(initial, history) : [{ pids: [], ops: history }];
  const results: Array<{ g: (typeof groups)[number]; r: SearchResult }> = [];
  let exhausted = false;
  for (const g of groups) {
    try {
      results.push({ g, r: search(initial, g.ops, budget) });
    } catch (e) {
      if (!(e instanceof BudgetExhausted)) throw e;
      exhausted = true;
    }
  }
  // An illegal group decides the verdict even when another ran out of budget.
  if (exhausted && results.every((x) => x.r.ok)) throw new BudgetExhausted();
  return results;
}

/** Forget every cached answer (verdicts, interned states, transitions): for tests and measurements. */
export function clearLinearizabilityCaches(): void {
  clearVerdicts();
  clearModelCache();
}

/**
 * Everything checkLinearizability's answer depends on: the initial state (its canonical node),
 * the budget and partitioning, and every op of the history with its id, task, call, result,
 * invocation and response, in order.
 */
function verdictKey(initial: MmState, history: readonly HistoryOp[], max: number, partition: boolean): string {
  // Joined, not concatenated: a key built with += is a rope of a node per piece, kept as such by
  // the cache (several times the bytes of the flat string).
  const parts: string[] = [`${intern(initial).id}/${max}/${partition ? 1 : 0}`];
  for (let i = 0; i < history.length; i++) {
    const h = history[i]!;
    parts.push(`;${h.id},${h.task},${h.invoke},${h.response},`, opKey(h.op, h.result));
  }
  return parts.join('');
}

/**
 * Decide whether `history` is linearizable starting from `initial`.
 */
export function checkLinearizability(
  initial: MmState,
  history: readonly HistoryOp[],
  options: LinearizabilityOptions = {},
): LinearizabilityResult {
  const budget: Budget = { used: 0, max: options.maxSteps ?? 1_000_000 };
  trimModelCache();
  const partition = options.partition ?? true;
  // The same question again (a campaign's schedules often produce identical histories): the
  // answer is a pure function of its inputs, so a linearizable history's verdict is replayed.
  const memoKey = verdictKey(initial, history, budget.max, partition);
  const hit = cachedVerdict(memoKey);
  if (hit !== undefined) return { verdict: 'ok', order: [...hit.order], steps: hit.steps };
  const bad = validateHistory(history);
  if (bad) throw new Error(`malformed history: ${bad}`);
  const byId = new Map(history.map((h) => [h.id, h] as const));
  let results;
  try {
    results = checkGroups(initial, history, budget, partition);
  } catch (e) {
    if (e instanceof BudgetExhausted) {
      return { verdict: 'unknown', reason: `step budget of ${budget.max} search nodes exhausted`, steps: budget.used };
    }
    throw e;
  }
  if (results.every((x) => x.r.ok)) {
    const order = mergeOrders(results.map((x) => x.r.order), byId);
    cacheVerdict(memoKey, { order: [...order], steps: budget.used });
    return { verdict: 'ok', order, steps: budget.used };
  }
  // Illegal. Find the shortest illegal prefix: linearizability is prefix-closed (a pending op may
  // take any effect or none), so binary-search the response steps of the failing sub-history.
  const failing = results.filter((x) => !x.r.ok).map((x) => x.g.ops);
  let best: { t: number; ops: readonly HistoryOp[]; r: SearchResult } | null = null;
  for (const ops of failing) {
    const times = [...new Set(ops.filter((h) => h.response !== Infinity).map((h) => h.response))].sort((a, b) => a - b);
    let lo = 0;
    let hi = times.length - 1; // prefixAt(times[hi]) is illegal (the whole sub-history)
    let hiResult: SearchResult | null = null;
    try {
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const r = search(initial, prefixAt(ops, times[mid]!), budget);
        if (r.ok) lo = mid + 1;
        else {
          hi = mid;
          hiResult = r;
        }
      }
      hiResult ??= search(initial, prefixAt(ops, times[hi]!), budget);
    } catch (e) {
      if (!(e instanceof BudgetExhausted)) throw e;
      hiResult = null;
    }
    const t = hiResult ? times[hi]! : times[times.length - 1]!;
    const r = hiResult ?? results.find((x) => x.g.ops === ops)!.r;
    if (!best || t < best.t) best = { t, ops, r };
  }
  const { t, r } = best!;
  const culprit = history.find((h) => h.response === t && best!.ops.includes(h))!;
  const prefix = prefixAt(history, t).sort((a, b) => a.invoke - b.invoke);
  const reasons = [...(r.refusals.get(culprit.id) ?? [])];
  const partial = r.longest.map((id) => `#${id}`).join(' ');
  const explanation =
    `${describeHistoryOp(culprit)}: no order of the operations up to step ${t} lets ` +
    `${describeCall(culprit.op, culprit.result)} return this result` +
    (reasons.length
      ? `; the model says: ${reasons.join(' | ')}`
      : '; it can never be ordered (an op that must precede it cannot be linearized or is blocked)') +
    `. Longest partial linearization: ${partial || '(none)'}.`;
  return { verdict: 'illegal', prefix, culprit, explanation, reasons, longest: [...r.longest], steps: budget.used };
}
