/**
 * Kernel: kernel/locking/mutex.c, include/linux/mutex.h — struct mutex.
 *
 * A sleeping lock with a single owner. As for spinlocks, mutex_lock is one scheduling point that
 * is also the wait (runnable only while the mutex is free) and any waiter may win: the kernel's
 * optimistic spinning lets a newcomer steal the lock from woken waiters, so no FIFO order is
 * promised (the starvation handoff is not modelled). mutex_lock may sleep: might_sleep applies.
 * Unlock by a non-owner is reported ("bad unlock balance"), as DEBUG_MUTEXES does.
 */
import { sim_fp_held_begin, sim_fp_held_end, sim_fp_hold } from '../rt/track.js';
import { current, inTask } from '../rt/execution.js';
import { block, step, type BlockOp, type StepOp, type Task } from '../rt/task.js';
import {
  might_sleep, sim_bad_unlock, sim_lockdep_acquire_check, sim_lockdep_acquired, sim_lockdep_release, sim_resolve_class,
  type lock_class, type lock_class_ref, type sim_owned_lock,
} from './lockdep.js';
import { EINTR, sim_current_sync } from './sched.js';

export class mutex implements sim_owned_lock {
  readonly lock_class: lock_class;
  /** Owner task id, -1 when unlocked. */
  owner = -1;
  private waitOp: BlockOp | undefined = undefined;
  private tryOp: StepOp | undefined = undefined;

  constructor(readonly name: string, cls: lock_class_ref = name) {
    this.lock_class = sim_resolve_class(cls);
  }

  sim_held_by(task: number): number {
    sim_fp_held_begin(this, task);
    const m = this.owner === task ? 2 : 0;
    sim_fp_held_end(m);
    return m;
  }

  sim_wait_op(): BlockOp {
    let op = this.waitOp;
    if (op === undefined) {
      op = block('mutex_lock', () => this.owner === -1, this, () => (this.owner >= 0 ? [this.owner] : []));
      this.waitOp = op;
    }
    return op;
  }

  sim_try_op(): StepOp {
    let op = this.tryOp;
    if (op === undefined) {
      op = step('mutex_trylock', this);
      this.tryOp = op;
    }
    return op;
  }
}

/** mutex_lock(): may sleep until the mutex is free. */
export function* mutex_lock(lock: mutex): Task<void> {
  might_sleep('mutex_lock');
  sim_lockdep_acquire_check(lock, lock.lock_class, 'mutex_lock');
  yield lock.sim_wait_op();
  lock.owner = current().id;
  sim_fp_hold(lock, lock.owner);
  sim_lockdep_acquired(lock, lock.lock_class, 0, false, 'mutex_lock');
}

/** mutex_lock_nested(): mutex_lock in lockdep subclass `subclass`. */
export function* mutex_lock_nested(lock: mutex, subclass: number): Task<void> {
  const cls = lock.lock_class.sub(subclass);
  might_sleep('mutex_lock_nested');
  sim_lockdep_acquire_check(lock, cls, 'mutex_lock_nested');
  yield lock.sim_wait_op();
  lock.owner = current().id;
  sim_fp_hold(lock, lock.owner);
  sim_lockdep_acquired(lock, cls, 0, false, 'mutex_lock_nested');
}

/** mutex_lock_killable(): 0, or -EINTR when SIGKILL is pending while waiting. */
export function* mutex_lock_killable(lock: mutex): Task<number> {
  might_sleep('mutex_lock_killable');
  sim_lockdep_acquire_check(lock, lock.lock_class, 'mutex_lock_killable');
  yield step('mutex_lock_killable', lock);
  if (lock.owner !== -1) {
    const s = sim_current_sync();
    yield block('mutex_lock_killable', () => lock.owner === -1 || s.fatal, lock, () => (lock.owner >= 0 ? [lock.owner] : []));
    if (lock.owner !== -1) return -EINTR;
  }
  lock.owner = current().id;
  sim_fp_hold(lock, lock.owner);
  sim_lockdep_acquired(lock, lock.lock_class, 0, false, 'mutex_lock_killable');
  return 0;
}

/** mutex_trylock(): one attempt; true when taken. */
export function* mutex_trylock(lock: mutex): Task<boolean> {
  yield lock.sim_try_op();
  if (lock.owner !== -1) return false;
  lock.owner = current().id;
  sim_fp_hold(lock, lock.owner);
  sim_lockdep_acquired(lock, lock.lock_class, 0, true, 'mutex_trylock');
  return true;
}

/** mutex_unlock(): release; only the owner may. */
export function mutex_unlock(lock: mutex): void {
  if (!inTask()) {
    if (lock.owner !== -1) sim_fp_hold(lock, lock.owner);
    lock.owner = -1;
    return;
  }
  if (lock.owner !== current().id) throw sim_bad_unlock(lock, 'mutex_unlock');
  sim_lockdep_release(lock, lock.lock_class, 'mutex_unlock');
  sim_fp_hold(lock, lock.owner);
  lock.owner = -1;
}

/** mutex_is_locked(). */
export function mutex_is_locked(lock: mutex): boolean {
  return lock.owner !== -1;
}
