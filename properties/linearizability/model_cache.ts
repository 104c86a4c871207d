/**
 * Interned model states and a cache of the model's transitions, shared by every search of the
 * process (across runs: a campaign runs the same scenario under many schedules, so its searches
 * ask the model the same questions again and again), and the verdicts of linearizable histories
 * already decided (checker.ts).
 *
 * Soundness. The search memoises on fingerprint(state) already: two states with the same
 * fingerprint behave identically (model/spec.ts). Interning keeps one canonical state per
 * fingerprint, and `check`/`step` are pure functions of (state, op, result), so replaying a cached
 * answer — the canonical next state, or the model's refusal with its reason — is the answer the
 * model would give again. Nothing about the verdict changes; only the number of immer
 * productions and JSON fingerprints does.
 *
 * Memory: a campaign of any length must run in a fixed heap (a million executions in 64 MB), so
 * both caches are bounded by an estimate of the bytes they hold — mostly their strings: the
 * state fingerprints, the op keys of the transitions, the verdict keys (a history spelled out) —
 * not by a count (a family with longer histories or bigger address spaces has bigger entries).
 * Between searches, a cache over its budget is dropped wholesale: a dropped state's node stays
 * valid for whoever still holds it, ids are never reused, and nothing of the old generation
 * stays reachable from the cache (a partial eviction would not do that: surviving nodes' edges
 * would keep the evicted ones alive). test/properties/memory_bound.test.ts holds them to it.
 */
import { check, fingerprint, step } from '../../model/spec.js';
import type { ModelOp, ModelResult } from '../../model/ops.js';
import type { MmState } from '../../model/state.js';

/** A canonical model state. `id` is unique for the life of the process. */
export interface ModelNode {
  readonly id: number;
  readonly state: MmState;
  /** Answers given in this state, by op key (see opKey). */
  readonly edges: Map<string, Edge>;
}

/**
 * A cached answer: the canonical next state, the next states (a failure that may have left one of
 * several partial effects: Action.onFailure), or why the model refused (or blocked).
 */
export type Edge = ModelNode | readonly ModelNode[] | string;

/**
 * Budget (estimated bytes) of the interned states and their transitions. The estimate per state
 * is its fingerprint (one byte a character) three times — the key, and the immer state it spells out,
 * of which successive states share most — plus a node's fixed cost; per transition, its key and
 * a Map entry. Calibrated against heap snapshots (see the test).
 */
export const MODEL_CACHE_BYTES = 12_000_000;
/** Budget (estimated bytes) of the verdicts of linearizable histories. */
export const VERDICT_CACHE_BYTES = 6_000_000;
const NODE_BYTES = 160;
const EDGE_BYTES = 64;
const VERDICT_BYTES = 120;

let nextId = 0;
let byFingerprint = new Map<string, ModelNode>();
let byState = new WeakMap<object, ModelNode>();
let roots = new Map<string, ModelNode>();
/** Estimated bytes held by byFingerprint, roots and every node's edges. */
let modelBytes = 0;
/** Times the model cache and the verdict cache were dropped for their budget (for the bench). */
let modelDrops = 0;
let verdictDrops = 0;

/** The canonical node of a state. */
export function intern(state: MmState): ModelNode {
  const hit = byState.get(state);
  if (hit !== undefined) return hit;
  const f = fingerprint(state);
  let n = byFingerprint.get(f);
  if (n === undefined) {
    n = { id: nextId++, state, edges: new Map() };
    byFingerprint.set(f, n);
    modelBytes += NODE_BYTES + 3 * f.length;
  }
  byState.set(state, n);
  return n;
}

/** Called between searches: bound the memory the caches hold (each to its budget). */
export function trimModelCache(): void {
  if (modelBytes >= MODEL_CACHE_BYTES) {
    modelDrops++;
    clearModelCache();
  }
  if (verdictBytes >= VERDICT_CACHE_BYTES) {
    verdictDrops++;
    clearVerdicts();
  }
}

/** Forget every state and transition (tests, or after model code changed in a long-lived process). */
export function clearModelCache(): void {
  byFingerprint = new Map();
  byState = new WeakMap();
  roots = new Map();
  modelBytes = 0;
  // The op keys' JSON goes too: the edges that shared those strings are gone.
  opJson = new Map();
}

/** What the caches hold now, and how often they were dropped (tests and the bench). */
export interface ModelCacheStats {
  readonly states: number;
  readonly estimatedBytes: number;
  readonly verdicts: number;
  readonly verdictBytes: number;
  readonly drops: number;
  readonly verdictDrops: number;
}

export function modelCacheStats(): ModelCacheStats {
  return { states: byFingerprint.size, estimatedBytes: modelBytes, verdicts: verdicts.size, verdictBytes, drops: modelDrops, verdictDrops };
}

/** A root state (e.g. a scenario's initial state) by a caller's key: built once, then interned. */
export function internRoot(key: string, build: () => MmState): ModelNode {
  let n = roots.get(key);
  if (n === undefined) {
    n = intern(build());
    roots.set(key, n);
    modelBytes += EDGE_BYTES + key.length;
  }
  return n;
}

/**
 * JSON of an op, by object identity (a scenario's ops are the same objects in every run). A plain
 * Map, emptied when full, rather than a WeakMap: the final observations' ops are fresh objects in
 * every run, and WeakMap entries are costly to collect.
 */
let opJson = new Map<object, string>();
const MAX_OPS = 4096;

function opString(op: ModelOp): string {
  let s = opJson.get(op);
  if (s === undefined) {
    s = JSON.stringify(op);
    if (opJson.size >= MAX_OPS) opJson = new Map();
    opJson.set(op, s);
  }
  return s;
}

/** The key of a (op, observed result) question; `undefined` result: a pending op (canonical step). */
export function opKey(op: ModelOp, result: ModelResult | undefined): string {
  return result === undefined ? opString(op) + '|pending' : opString(op) + '|' + JSON.stringify(result);
}

/**
 * check(state, op, result) — or, for a pending op (result undefined), the canonical step(state, op)
 * — through the cache: the next node (or nodes: each is allowed), or a string (the model's refusal;
 * for a pending op, why it is blocked).
 */
export function transition(from: ModelNode, key: string, op: ModelOp, result: ModelResult | undefined): Edge {
  const hit = from.edges.get(key);
  if (hit !== undefined) return hit;
  let e: Edge;
  if (result !== undefined) {
    const c = check(from.state, op, result);
    e = !c.ok ? c.why : c.also === undefined ? intern(c.state) : [intern(c.state), ...c.also.map(intern)];
  } else {
    const o = step(from.state, op);
    e = 'blocked' in o ? o.blocked : intern(o.state);
  }
  from.edges.set(key, e);
  modelBytes += EDGE_BYTES + key.length + (typeof e === 'string' ? e.length : 0);
  return e;
}

// ---------------------------------------------------------------------------------------------
// Verdicts of linearizable histories (checker.ts: the same question again, the same answer)

/** A linearizable history's answer: its order and the search nodes it took. */
export interface CachedVerdict {
  readonly order: readonly number[];
  readonly steps: number;
}

let verdicts = new Map<string, CachedVerdict>();
let verdictBytes = 0;

/** The cached verdict of a history, by checker.ts's verdict key. */
export function cachedVerdict(key: string): CachedVerdict | undefined {
  return verdicts.get(key);
}

/** Remember a linearizable history's verdict (bounded: see VERDICT_CACHE_BYTES). */
export function cacheVerdict(key: string, v: CachedVerdict): void {
  verdicts.set(key, v);
  verdictBytes += VERDICT_BYTES + key.length + 8 * v.order.length;
}

/** Forget every verdict. */
export function clearVerdicts(): void {
  verdicts = new Map();
  verdictBytes = 0;
}
