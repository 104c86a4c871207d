/**
 * Kernel: mm/filemap.c (folio_lock, __folio_lock, folio_unlock, folio_wait_locked),
 * include/linux/pagemap.h — the folio lock, a sleeping bit lock (PG_locked).
 *
 * It works over any object with a name and a `lockOwner` word (-1 unlocked, else the holder's
 * task id): impl/mm's folio implements it. The lock is not owner-checked, as in the kernel: I/O
 * completion unlocks folios the submitter locked, so folio_unlock by another task is legal (the
 * lockdep entry moves off the holder's stack) and a task may end with a folio lock held (async
 * read-ahead). Lockdep still sees it: class 'folio_lock' (nestable: folios are ordered by index,
 * not by class), in the lock-order graph and under might_sleep. folio_unlock of an unlocked
 * folio is VM_BUG_ON_FOLIO(!folio_test_locked(folio)).
 */
import { current, currentExecution, inTask } from '../rt/execution.js';
import { block, step, Violation, type Task } from '../rt/task.js';
import { lockdep_class, might_sleep, sim_lockdep_acquire_check, sim_lockdep_acquired, sim_lockdep_release } from './lockdep.js';
import { EINTR, sim_current_sync, sim_task_label } from './sched.js';

/** What the folio lock needs of a folio. */
export interface sim_lockable_folio {
  readonly name: string;
  /** -1 when unlocked, else the task id that locked it. */
  lockOwner: number;
}

/** The lockdep class of every folio lock. */
export const folio_lock_class = lockdep_class('folio_lock', { nestable: true, ownerless: true });

function holders(folio: sim_lockable_folio): () => readonly number[] {
  return () => (folio.lockOwner >= 0 ? [folio.lockOwner] : []);
}

function take(folio: sim_lockable_folio, trylock: boolean, label: string): void {
  folio.lockOwner = current().id;
  sim_lockdep_acquired(folio, folio_lock_class, 0, trylock, label);
}

/** folio_test_locked(). */
export function folio_test_locked(folio: sim_lockable_folio): boolean {
  return folio.lockOwner !== -1;
}

/** folio_lock(): may sleep until the folio is unlocked, then lock it. */
export function* folio_lock(folio: sim_lockable_folio): Task<void> {
  might_sleep('folio_lock');
  sim_lockdep_acquire_check(folio, folio_lock_class, 'folio_lock');
  yield block('folio_lock', () => folio.lockOwner === -1, folio, holders(folio));
  take(folio, false, 'folio_lock');
}

/** folio_lock_killable(): 0, or -EINTR when SIGKILL is pending while waiting. */
export function* folio_lock_killable(folio: sim_lockable_folio): Task<number> {
  might_sleep('folio_lock_killable');
  sim_lockdep_acquire_check(folio, folio_lock_class, 'folio_lock_killable');
  const s = sim_current_sync();
  yield block('folio_lock_killable', () => folio.lockOwner === -1 || s.fatal, folio, holders(folio));
  if (folio.lockOwner !== -1) return -EINTR;
  take(folio, false, 'folio_lock_killable');
  return 0;
}

/**
 * __folio_set_locked(): the non-atomic lock of a new folio nobody else can see yet (khugepaged's
 * new THP, a folio about to be added to the page cache); no wait, no scheduling point.
 */
export function __folio_set_locked(folio: sim_lockable_folio): void {
  if (folio.lockOwner !== -1) throw new Violation('VM_BUG_ON', `__folio_set_locked of locked ${folio.name}`, [`page: ${folio.name} locked: 1`]);
  take(folio, true, '__folio_set_locked');
}

/** folio_trylock(): one attempt; true when locked. */
export function* folio_trylock(folio: sim_lockable_folio): Task<boolean> {
  yield step('folio_trylock', folio);
  if (folio.lockOwner !== -1) return false;
  take(folio, true, 'folio_trylock');
  return true;
}

/** folio_unlock(): unlock (any task may: I/O completion does). */
export function folio_unlock(folio: sim_lockable_folio): void {
  if (folio.lockOwner === -1) {
    const who = inTask() ? sim_task_label(current()) : '(setup)';
    const stp = inTask() ? currentExecution().step : -1;
    throw new Violation('VM_BUG_ON', `VM_BUG_ON_FOLIO(!folio_test_locked(folio)): folio_unlock of unlocked ${folio.name} by ${who}`, [
      `page: ${folio.name} locked: 0`,
      `kernel BUG at mm/filemap.c: folio_unlock (VM_BUG_ON_FOLIO(!folio_test_locked(folio))) by ${who}, step ${stp}`,
    ]);
  }
  sim_lockdep_release(folio, folio_lock_class, 'folio_unlock', folio.lockOwner);
  folio.lockOwner = -1;
}

/** folio_wait_locked(): sleep until the folio is unlocked (without taking the lock). */
export function* folio_wait_locked(folio: sim_lockable_folio): Task<void> {
  might_sleep('folio_wait_locked');
  yield block('folio_wait_locked', () => folio.lockOwner === -1, folio, holders(folio));
}
