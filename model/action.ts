/**
 * The shape of one action (model/actions/<syscall>.ts): a canonical deterministic step, and for
 * operations where the kernel may choose (an address, a pid, Rss), a check that accepts every
 * allowed result and returns the state of the branch the observed result selects.
 */
import { produce } from 'immer';
import type { ModelOp, ModelResult } from './ops.js';
import type { MmState, MmStateData } from './state.js';

/** The op cannot complete in this state (e.g. a fault waiting for UFFDIO_COPY). */
export interface Blocked {
  readonly blocked: string;
}

export type Outcome = { readonly state: MmState; readonly result: ModelResult } | Blocked;

export type Verdict = { readonly ok: true; readonly state: MmState } | { readonly ok: false; readonly why: string };

export interface Action<O extends ModelOp> {
  apply(s: MmState, op: O): Outcome;
  /** Omitted when the result is determined by the state (then check = apply + compare). */
  check?(s: MmState, op: O, r: ModelResult): Verdict;
}

export const blocked = (why: string): Blocked => ({ blocked: why });
export const isBlocked = (o: Outcome | ModelResult | Blocked): o is Blocked => 'blocked' in o;

/**
 * Run a mutation on a draft of the state (immer): the body returns the result, or Blocked to
 * discard its changes.
 */
export function transition(s: MmState, body: (d: MmStateData) => ModelResult | Blocked): Outcome {
  let out: ModelResult | Blocked = { kind: 'ok' };
  const next = produce(s, (d) => {
    out = body(d as MmStateData);
  });
  const o = out as ModelResult | Blocked;
  if (isBlocked(o)) return o;
  return { state: next, result: o };
}
