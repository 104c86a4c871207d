/**
 * Kernel: include/linux/refcount.h, lib/refcount.c — refcount_t.
 *
 * Atomic operations: plain functions, atomic with the caller's step. Where the kernel WARNs and
 * saturates (refcount_warn_saturate) the simulation raises a Violation('refcount') with the
 * kernel's message at that step:
 *   - "refcount_t: addition on 0; use-after-free."  (refcount_inc / refcount_add on 0)
 *   - "refcount_t: underflow; use-after-free."      (dec / sub below 0)
 *   - "refcount_t: decrement hit 0; leaking memory." (refcount_dec to 0)
 */
import { current, currentExecution, inTask } from '../rt/execution.js';
import { Violation } from '../rt/task.js';
import { sim_task_label } from './sched.js';

export class refcount_t {
  refs: number;
  constructor(n = 1, readonly name = 'refcount') {
    this.refs = n;
  }
}

function warn(r: refcount_t, msg: string, op: string): Violation {
  const who = inTask() ? sim_task_label(current()) : '(setup)';
  const step = inTask() ? currentExecution().step : -1;
  return new Violation('refcount', `${msg} (${op} on ${r.name}, count ${r.refs}, ${who})`, [
    '------------[ cut here ]------------',
    msg,
    `WARNING: at ${op} on ${r.name} (count ${r.refs}) by ${who}, step ${step}`,
  ]);
}

const ADD_ON_0 = 'refcount_t: addition on 0; use-after-free.';
const UNDERFLOW = 'refcount_t: underflow; use-after-free.';
const DEC_TO_0 = 'refcount_t: decrement hit 0; leaking memory.';

export function refcount_set(r: refcount_t, n: number): void {
  r.refs = n;
}

export function refcount_read(r: refcount_t): number {
  return r.refs;
}

/** refcount_inc(): the caller must already hold a reference; on 0 it is a use-after-free. */
export function refcount_inc(r: refcount_t): void {
  if (r.refs <= 0) throw warn(r, ADD_ON_0, 'refcount_inc');
  r.refs++;
}

/** refcount_add(). */
export function refcount_add(i: number, r: refcount_t): void {
  if (r.refs <= 0) throw warn(r, ADD_ON_0, 'refcount_add');
  r.refs += i;
}

/** refcount_inc_not_zero(): take a reference unless the object is already dying. */
export function refcount_inc_not_zero(r: refcount_t): boolean {
  if (r.refs === 0) return false;
  if (r.refs < 0) throw warn(r, UNDERFLOW, 'refcount_inc_not_zero');
  r.refs++;
  return true;
}

/** refcount_add_not_zero(). */
export function refcount_add_not_zero(i: number, r: refcount_t): boolean {
  if (r.refs === 0) return false;
  if (r.refs < 0) throw warn(r, UNDERFLOW, 'refcount_add_not_zero');
  r.refs += i;
  return true;
}

/** The old value and whether the increment happened (the kernel's `*oldp` out-parameter). */
export interface refcount_result {
  readonly ok: boolean;
  readonly old: number;
}

/**
 * __refcount_inc_not_zero_limited_acquire(r, &old, limit) (6.15, for vm_refcnt): increment
 * unless the count is 0 or the result would exceed `limit`.
 */
export function __refcount_inc_not_zero_limited_acquire(r: refcount_t, limit: number): refcount_result {
  return __refcount_add_not_zero_limited_acquire(1, r, limit);
}

/** __refcount_add_not_zero_limited_acquire(i, r, &old, limit). */
export function __refcount_add_not_zero_limited_acquire(i: number, r: refcount_t, limit: number): refcount_result {
  const old = r.refs;
  if (old === 0 || i > limit - old) return { ok: false, old };
  if (old < 0) throw warn(r, UNDERFLOW, '__refcount_add_not_zero_limited_acquire');
  r.refs = old + i;
  return { ok: true, old };
}

/** refcount_dec(): must not reach 0 (that would leak the object). */
export function refcount_dec(r: refcount_t): void {
  if (r.refs <= 0) throw warn(r, UNDERFLOW, 'refcount_dec');
  if (r.refs === 1) throw warn(r, DEC_TO_0, 'refcount_dec');
  r.refs--;
}

/** refcount_dec_and_test(): drop a reference; true when it was the last. */
export function refcount_dec_and_test(r: refcount_t): boolean {
  if (r.refs <= 0) throw warn(r, UNDERFLOW, 'refcount_dec_and_test');
  return --r.refs === 0;
}

/** __refcount_dec_and_test(r, &old): as refcount_dec_and_test, also giving the old value. */
export function __refcount_dec_and_test(r: refcount_t): { readonly zero: boolean; readonly old: number } {
  const old = r.refs;
  return { zero: refcount_dec_and_test(r), old };
}

/** refcount_sub_and_test(i, r): drop i references; true when none is left. */
export function refcount_sub_and_test(i: number, r: refcount_t): boolean {
  if (r.refs - i < 0) throw warn(r, UNDERFLOW, 'refcount_sub_and_test');
  r.refs -= i;
  return r.refs === 0;
}

/** refcount_dec_not_one(): decrement unless the count is 1; true when decremented. */
export function refcount_dec_not_one(r: refcount_t): boolean {
  if (r.refs <= 0) throw warn(r, UNDERFLOW, 'refcount_dec_not_one');
  if (r.refs === 1) return false;
  r.refs--;
  return true;
}
