/**
 * Kernel: include/linux/spinlock.h, kernel/locking/spinlock.c — spinlock_t.
 *
 * spin_lock is one scheduling point that is also the wait: the task is runnable only while the
 * lock is free, and takes it in the step it is picked (a spinning CPU and a blocked task are the
 * same thing to the interleaving; no fairness is modelled, so any waiter may win — a superset of
 * the queued spinlock's FIFO behaviours). Holding a spinlock disables preemption: sleeping is
 * illegal (might_sleep) and the section is an RCU-sched reader.
 *
 * Lockdep runs at the call (before the wait), as the kernel's spin_acquire precedes the spin.
 * Unlocking a lock the task does not hold is reported ("bad unlock balance") with lockdep on or off.
 */
import { sim_fp_held_begin, sim_fp_held_end, sim_fp_hold } from '../rt/track.js';
import { current, currentExecution, inTask } from '../rt/execution.js';
import { block, step, Violation, type BlockOp, type StepOp, type Task } from '../rt/task.js';
import { sim_preempt_dec, sim_preempt_inc, local_irq_disable, local_irq_enable } from './irqflags.js';
import {
  sim_bad_unlock, sim_lockdep_acquire_check, sim_lockdep_acquired, sim_lockdep_release, sim_resolve_class,
  type lock_class, type lock_class_ref, type sim_owned_lock,
} from './lockdep.js';
import { sim_current_sync, sim_task_label } from './sched.js';
import { kasan_check_write } from './kasan.js';

export class spinlock_t implements sim_owned_lock {
  readonly lock_class: lock_class;
  /** Holder task id, -1 when unlocked. */
  owner = -1;
  /**
   * The KASAN object this lock lives in (null: a lock in memory that is never freed). Taking or
   * releasing it is an instrumented atomic write to that object, so locking the PTL of a page
   * table that was freed is a KASAN report (with lockdep, ALLOC_SPLIT_PTLOCKS allocates the
   * split PTL from a slab and frees it with the table: ptlock_free).
   */
  sim_kasan_obj: object | null = null;
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

  /** The cached wait of spin_lock (no allocation per acquisition). */
  sim_wait_op(): BlockOp {
    let op = this.waitOp;
    if (op === undefined) {
      op = block('spin_lock', () => this.owner === -1, this, () => (this.owner >= 0 ? [this.owner] : []));
      this.waitOp = op;
    }
    return op;
  }

  sim_try_op(): StepOp {
    let op = this.tryOp;
    if (op === undefined) {
      op = step('spin_trylock', this);
      this.tryOp = op;
    }
    return op;
  }
}

function take(l: spinlock_t, cls: lock_class, trylock: boolean, label: string): void {
  if (l.sim_kasan_obj !== null) kasan_check_write(l.sim_kasan_obj, `${label}(${l.name})`, 4, false);
  const s = sim_current_sync();
  l.owner = current().id;
  sim_fp_hold(l, l.owner);
  sim_preempt_inc(s);
  sim_lockdep_acquired(l, cls, 0, trylock, label);
}

/** spin_lock(): a scheduling point, then the lock (waiting while another task holds it). */
export function* spin_lock(l: spinlock_t): Task<void> {
  sim_lockdep_acquire_check(l, l.lock_class, 'spin_lock');
  yield l.sim_wait_op();
  take(l, l.lock_class, false, 'spin_lock');
}

/** spin_lock_nested(): as spin_lock, in lockdep subclass `subclass` (e.g. SINGLE_DEPTH_NESTING). */
export function* spin_lock_nested(l: spinlock_t, subclass: number): Task<void> {
  const cls = l.lock_class.sub(subclass);
  sim_lockdep_acquire_check(l, cls, 'spin_lock_nested');
  yield l.sim_wait_op();
  take(l, cls, false, 'spin_lock_nested');
}

/** spin_trylock(): a scheduling point, then one attempt; true when taken. */
export function* spin_trylock(l: spinlock_t): Task<boolean> {
  yield l.sim_try_op();
  if (l.owner !== -1) return false;
  take(l, l.lock_class, true, 'spin_trylock');
  return true;
}

/** spin_unlock(): release (atomic with the caller's step). */
export function spin_unlock(l: spinlock_t): void {
  if (!inTask()) {
    if (l.owner !== -1) sim_fp_hold(l, l.owner);
    l.owner = -1;
    return;
  }
  if (l.owner !== current().id) throw sim_bad_unlock(l, 'spin_unlock');
  if (l.sim_kasan_obj !== null) kasan_check_write(l.sim_kasan_obj, `spin_unlock(${l.name})`, 4, false);
  sim_lockdep_release(l, l.lock_class, 'spin_unlock');
  sim_fp_hold(l, l.owner);
  l.owner = -1;
  sim_preempt_dec(sim_current_sync());
}

/** spin_lock_irq(): disable IRQs, then spin_lock. */
export function* spin_lock_irq(l: spinlock_t): Task<void> {
  local_irq_disable();
  yield* spin_lock(l);
}

/** spin_unlock_irq(): spin_unlock, then enable IRQs. */
export function spin_unlock_irq(l: spinlock_t): void {
  spin_unlock(l);
  local_irq_enable();
}

/** spin_is_locked(): held by anyone. */
export function spin_is_locked(l: spinlock_t): boolean {
  return l.owner !== -1;
}

/** assert_spin_locked(): BUG unless the lock is held (by anyone, as the kernel checks). */
export function assert_spin_locked(l: spinlock_t): void {
  if (l.owner !== -1) return;
  const who = inTask() ? sim_task_label(current()) : '(setup)';
  const step = inTask() ? currentExecution().step : -1;
  throw new Violation('lockdep', `assert_spin_locked(${l.name}) failed in ${who}`, [
    `kernel BUG: assert_spin_locked(${l.name}): lock not held (step ${step}, ${who})`,
  ]);
}
