/**
 * Interned model states and a cache of the model's transitions, shared by every search of the
 * process (across runs: a campaign runs the same scenario under many schedules, so its searches
 * ask the model the same questions again and again).
 *
 * Soundness. The search memoises on fingerprint(state) already: two states with the same
 * fingerprint behave identically (model/spec.ts). Interning keeps one canonical state per
 * fingerprint, and `check`/`step` are pure functions of (state, op, result), so replaying a cached
 * answer — the canonical next state, or the model's refusal with its reason — is the answer the
 * model would give again. Nothing about the verdict changes; only the number of immer
 * productions and JSON fingerprints does.
 *
 * Memory: the caches are dropped wholesale (between searches) once they hold MAX_NODES states; a
 * dropped state's node stays valid for whoever still holds it, and ids are never reused.
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

/** Drop the caches once they hold this many states. */
export const MAX_NODES = 50_000;

let nextId = 0;
let byFingerprint = new Map<string, ModelNode>();
let byState = new WeakMap<object, ModelNode>();
let roots = new Map<string, ModelNode>();

/** The canonical node of a state. */
export function intern(state: MmState): ModelNode {
  const hit = byState.get(state);
  if (hit !== undefined) return hit;
  const f = fingerprint(state);
  let n = byFingerprint.get(f);
  if (n === undefined) {
    n = { id: nextId++, state, edges: new Map() };
    byFingerprint.set(f, n);
  }
  byState.set(state, n);
  return n;
}

/** Called between searches: bound the memory the caches hold. */
export function trimModelCache(): void {
  if (byFingerprint.size < MAX_NODES) return;
  clearModelCache();
}

/** Forget everything (tests, or after model code changed in a long-lived process). */
export function clearModelCache(): void {
  byFingerprint = new Map();
  byState = new WeakMap();
  roots = new Map();
}

/** A root state (e.g. a scenario's initial state) by a caller's key: built once, then interned. */
export function internRoot(key: string, build: () => MmState): ModelNode {
  let n = roots.get(key);
  if (n === undefined) {
    n = intern(build());
    roots.set(key, n);
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
  return e;
}
