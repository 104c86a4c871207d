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

/**
 * The model allows the result: the state after it, and `also` other states the call may have left
 * (a failure's partial effects: the observed result does not say how far the kernel got).
 */
export type Verdict =
  | { readonly ok: true; readonly state: MmState; readonly also?: readonly MmState[] }
  | { readonly ok: false; readonly why: string };

export interface Action<O extends ModelOp> {
  apply(s: MmState, op: O): Outcome;
  /** Omitted when the result is determined by the state (then check = apply + compare). */
  check?(s: MmState, op: O, r: ModelResult): Verdict;
  /**
   * The failure contract, consulted when allocations and reads may fail (s.mayFail): the states
   * the call may leave when it returns r because the kernel could not allocate memory or read a
   * page — beyond what `check` allows for r (an error the call cannot otherwise return, or a
   * partial effect of an otherwise normal result). Empty: r is no such result. Each action's file
   * says which kernel code its contract follows.
   */
  onFailure?(s: MmState, op: O, r: ModelResult): readonly MmState[];
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
