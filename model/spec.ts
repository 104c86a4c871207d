/**
 * The specification's central API: which results the kernel may return for an operation in a
 * state, and the state after.
 *
 * The model is a nondeterministic state machine: where the kernel may choose (mmap/mremap
 * placement without MAP_FIXED, fork's child pid, smaps Rss while reclaim runs, which uffd message
 * a read returns first), `check` accepts every allowed choice and the observed result selects the
 * branch. `apply` gives one canonical deterministic result for sequential use.
 *
 * Kernel-internal work — reclaim and swap-out/in, page-cache eviction, khugepaged's collapse of
 * a regular file, swapoff, RCU callbacks — has no operation here: it is a stutter step of this
 * model, and nothing an operation can observe may change because of it. khugepaged's collapse of
 * anonymous memory or shmem populates pages, so the daemon records it (khugepaged_collapse).
 */
import { describeResult, resultsEqual, type ModelOp, type ModelResult, type OpName } from './ops.js';
import type { Action, Outcome, Verdict } from './action.js';
import { produce } from 'immer';
import { initialState, type MmState, type MmStateData } from './state.js';
import { withAnonMergeRule } from './vma.js';
import { mmap } from './actions/mmap.js';
import { munmap } from './actions/munmap.js';
import { mprotect } from './actions/mprotect.js';
import { mremap } from './actions/mremap.js';
import { madvise } from './actions/madvise.js';
import { mbind } from './actions/mbind.js';
import { get_mempolicy } from './actions/get_mempolicy.js';
import { fork } from './actions/fork.js';
import { exit } from './actions/exit.js';
import { close } from './actions/close.js';
import { load } from './actions/load.js';
import { store } from './actions/store.js';
import { pread } from './actions/pread.js';
import { pwrite } from './actions/pwrite.js';
import { proc_mem_write } from './actions/proc_mem_write.js';
import { read_maps } from './actions/read_maps.js';
import { read_smaps } from './actions/read_smaps.js';
import { uffd_register } from './actions/uffd_register.js';
import { uffd_unregister } from './actions/uffd_unregister.js';
import { uffdio_copy } from './actions/uffdio_copy.js';
import { uffdio_move } from './actions/uffdio_move.js';
import { uffd_read_event } from './actions/uffd_read_event.js';
import { uffd_settle } from './actions/uffd_settle.js';
import { khugepaged_collapse } from './actions/khugepaged_collapse.js';
import { dio_read } from './actions/dio_read.js';
import { dio_write } from './actions/dio_write.js';
import { dev_ioctl } from './actions/dev_ioctl.js';

export { initialState };
export type { Outcome, Verdict };

type ActionTable = { [K in OpName]: Action<Extract<ModelOp, { op: K }>> };

const ACTIONS: ActionTable = {
  mmap,
  munmap,
  mprotect,
  mremap,
  madvise,
  mbind,
  get_mempolicy,
  fork,
  exit,
  close,
  load,
  store,
  pread,
  pwrite,
  proc_mem_write,
  read_maps,
  read_smaps,
  uffd_register,
  uffd_unregister,
  uffdio_copy,
  uffdio_move,
  uffd_read_event,
  uffd_settle,
  khugepaged_collapse,
  dio_read,
  dio_write,
  dev_ioctl,
};

function actionFor(op: ModelOp): Action<ModelOp> {
  return ACTIONS[op.op] as Action<ModelOp>;
}

/** The canonical outcome: a result and the next state, or { blocked } when not enabled. */
export function step(state: MmState, op: ModelOp): Outcome {
  const o = actionFor(op).apply(state, op);
  return 'blocked' in o ? o : { state: batchEvents(o.state), result: o.result };
}

/**
 * Give the events an operation queued (those without a batch yet: UffdCtxData.batches) one new
 * batch number per context: one syscall's events form a batch.
 */
function batchEvents(s: MmState): MmState {
  let needed = false;
  for (const c of Object.values(s.uffd)) if (c.batches.length < c.events.length) needed = true;
  if (!needed) return s;
  return produce(s, (d) => {
    for (const c of Object.values((d as MmStateData).uffd)) {
      if (c.batches.length >= c.events.length) continue;
      const b = ++c.lastBatch;
      while (c.batches.length < c.events.length) c.batches.push(b);
    }
  });
}

/** Why op cannot complete in this state (a fault waiting for userfaultfd), or null. */
export function enabled(state: MmState, op: ModelOp): string | null {
  const o = step(state, op);
  return 'blocked' in o ? o.blocked : null;
}

export class NotEnabledError extends Error {
  constructor(readonly why: string) {
    super(`operation not enabled: ${why}`);
  }
}

/** One canonical deterministic result and the state after. Throws NotEnabledError if blocked. */
export function apply(state: MmState, op: ModelOp): { state: MmState; result: ModelResult } {
  const o = step(state, op);
  if ('blocked' in o) throw new NotEnabledError(o.blocked);
  return { state: o.state, result: o.result };
}

/**
 * Is `result` a result the kernel may return for op in state, and if so the state after — and in
 * `also` the other states it may leave (the partial effects of a failure when state.mayFail: see
 * Action.onFailure). Every state listed is allowed; the history checker tries each.
 */
export function check(
  state: MmState,
  op: ModelOp,
  result: ModelResult,
): { ok: true; state: MmState; also?: readonly MmState[] } | { ok: false; why: string } {
  const loose = checkUnderRule(state, op, result);
  if (!MERGING.has(op.op)) return loose;
  // Operations that may merge VMAs: also 6.3–6.15's anon_vma merge rule (model/vma.ts canMerge).
  const strict = withAnonMergeRule('6.3', () => checkUnderRule(state, op, result));
  if (!loose.ok) return strict;
  if (!strict.ok) return loose;
  return union([strict.state, ...(strict.also ?? []), loose.state, ...(loose.also ?? [])]);
}

/** The operations whose effect may include a VMA merge. */
const MERGING: ReadonlySet<OpName> = new Set<OpName>(['mmap', 'mprotect', 'mbind', 'mremap', 'uffd_register', 'uffd_unregister']);

function union(states: readonly MmState[]): { ok: true; state: MmState; also?: readonly MmState[] } {
  const seen = new Set<string>();
  const distinct = states.filter((st) => {
    const f = fingerprint(st);
    if (seen.has(f)) return false;
    seen.add(f);
    return true;
  });
  return distinct.length === 1 ? { ok: true, state: distinct[0]! } : { ok: true, state: distinct[0]!, also: distinct.slice(1) };
}

function checkUnderRule(
  state: MmState,
  op: ModelOp,
  result: ModelResult,
): { ok: true; state: MmState; also?: readonly MmState[] } | { ok: false; why: string } {
  const a = actionFor(op);
  const v = checkNormal(a, state, op, result);
  const failed = state.mayFail && a.onFailure ? a.onFailure(state, op, result) : [];
  if (failed.length === 0) {
    if (!v.ok) return v;
    return v.also === undefined ? { ok: true, state: batchEvents(v.state) } : { ok: true, state: batchEvents(v.state), also: v.also.map(batchEvents) };
  }
  return union((v.ok ? [v.state, ...(v.also ?? []), ...failed] : [...failed]).map(batchEvents));
}

function checkNormal(a: Action<ModelOp>, state: MmState, op: ModelOp, result: ModelResult): Verdict {
  if (a.check) return a.check(state, op, result);
  const o = a.apply(state, op);
  if ('blocked' in o) return { ok: false, why: `not enabled: ${o.blocked}` };
  if (resultsEqual(o.result, result)) return { ok: true, state: o.state };
  return { ok: false, why: `the model returns ${describeResult(o.result)}` };
}

/**
 * A string identifying the state for memoisation. Two states with the same fingerprint behave
 * identically (it is the full state, serialised with keys in a stable order).
 */
export function fingerprint(state: MmState): string {
  return JSON.stringify(state);
}
