/**
 * Kernel: kernel/locking/rwsem.c, include/linux/rwsem.h — struct rw_semaphore.
 *
 * The semantics the kernel's mm relies on, modelled exactly where they matter:
 * - Writer preference: a reader's fast path fails when a writer owns the lock or when anyone is
 *   waiting (RWSEM_READ_FAILED_MASK = WRITER_MASK | FLAG_WAITERS | FLAG_HANDOFF | FLAG_READFAIL):
 *   with a writer queued behind a reader, a second reader — even the same task, recursively —
 *   queues behind the writer. That is the mmap_lock recursive-read deadlock.
 * - A FIFO wait list with handoff: on release the lock goes straight to the first waiter (a
 *   writer once the lock is free; for a reader at the front, every reader in the queue, as
 *   rwsem_mark_wake wakes up to MAX_READERS_WAKEUP readers, skipping writers). The kernel's
 *   optimistic spinning and reader lock stealing only act in the window between a wake-up and
 *   the woken task running; handing the lock over closes that window (simplification).
 * - down_read_trylock fails when a writer owns the lock or waiters are queued; down_write_trylock
 *   succeeds only on an idle lock (count == 0, so no waiters).
 * - downgrade_write: W → R atomically, then the queued readers at the front are granted.
 * - _killable waits give up with -EINTR when SIGKILL is pending (send_sig_kill); a waiter that
 *   leaves the front of the queue wakes the next ones (rwsem_del_wake_waiter).
 *
 * Each acquisition is a scheduling point labelled with the function's name; a contended one then
 * waits (a second step, when granted). Releases are plain functions. Waits report their holders
 * (the owners and the waiters queued ahead) for the deadlock wait-for cycle.
 */
import { sim_fp_held_begin, sim_fp_held_end, sim_fp_hold } from '../rt/track.js';
import { current, inTask } from '../rt/execution.js';
import { block, step, type BlockOp, type StepOp, type Task } from '../rt/task.js';
import {
  might_sleep, sim_bad_unlock, sim_lockdep_acquire_check, sim_lockdep_acquired, sim_lockdep_downgrade, sim_lockdep_release,
  sim_resolve_class, type lock_class, type lock_class_ref, type sim_owned_lock,
} from './lockdep.js';
import { EINTR, sim_current_sync, type sim_task_sync } from './sched.js';

class rwsem_waiter {
  granted = false;
  readonly op: BlockOp;
  constructor(readonly sem: rw_semaphore, readonly task: number, readonly write: boolean, killer: sim_task_sync | null, label: string) {
    this.op = killer === null
      ? block(label, () => this.granted, sem, () => sem.sim_blockers(this))
      : block(label, () => this.granted || killer.fatal, sem, () => sem.sim_blockers(this));
  }
}

const OP_DOWN_READ = 0, OP_DOWN_WRITE = 1, OP_READ_TRY = 2, OP_WRITE_TRY = 3, OP_READ_KILL = 4, OP_WRITE_KILL = 5,
  OP_READ_NESTED = 6, OP_WRITE_NESTED = 7;
const LABELS = ['down_read', 'down_write', 'down_read_trylock', 'down_write_trylock', 'down_read_killable',
  'down_write_killable', 'down_read_nested', 'down_write_nested'];

export class rw_semaphore implements sim_owned_lock {
  readonly lock_class: lock_class;
  /** The writer's task id, -1 when not write-locked. */
  owner = -1;
  /** Number of read holds. */
  readers = 0;
  /** Task ids of the read holders (one entry per hold). */
  readonly readerIds: number[] = [];
  /** The FIFO wait list. */
  readonly wait_list: rwsem_waiter[] = [];
  private ops: StepOp[] | undefined = undefined;

  constructor(readonly name: string, cls: lock_class_ref = name) {
    this.lock_class = sim_resolve_class(cls);
  }

  sim_held_by(task: number): number {
    sim_fp_held_begin(this, task);
    const m = this.owner === task ? 2 : this.readerIds.includes(task) ? 1 : 0;
    sim_fp_held_end(m);
    return m;
  }

  sim_op(i: number): StepOp {
    if (this.ops === undefined) this.ops = [];
    let op = this.ops[i];
    if (op === undefined) {
      op = step(LABELS[i]!, this);
      this.ops[i] = op;
    }
    return op;
  }

  /**
   * Who a waiter waits for: the owners and every waiter queued ahead of it (its own read hold,
   * when it recursed, is left out: it waits on the writer queued ahead, which waits on it).
   */
  sim_blockers(w: rwsem_waiter): number[] {
    const out: number[] = [];
    const add = (id: number) => { if (id !== w.task && !out.includes(id)) out.push(id); };
    if (this.owner >= 0) add(this.owner);
    for (const r of this.readerIds) add(r);
    for (const q of this.wait_list) {
      if (q === w) break;
      add(q.task);
    }
    if (out.length === 0 && (this.owner === w.task || this.readerIds.includes(w.task))) out.push(w.task);
    return out;
  }
}

/** rwsem_mark_wake with handoff: grant the lock to the front waiter(s) if the state allows. */
function rwsem_wake(sem: rw_semaphore): void {
  const q = sem.wait_list;
  if (q.length === 0) return;
  const first = q[0]!;
  if (first.write) {
    if (sem.owner === -1 && sem.readers === 0) {
      q.shift();
      first.granted = true;
      sem.owner = first.task;
      sim_fp_hold(sem, first.task);
    }
    return;
  }
  if (sem.owner !== -1) return;
  let k = 0;
  for (let i = 0; i < q.length; i++) {
    const w = q[i]!;
    if (w.write) {
      q[k++] = w;
      continue;
    }
    w.granted = true;
    sem.readers++;
    sem.readerIds.push(w.task);
    sim_fp_hold(sem, w.task);
  }
  q.length = k;
}

function* down(sem: rw_semaphore, write: boolean, killable: boolean, cls: lock_class, opIdx: number): Task<number> {
  const label = LABELS[opIdx]!;
  might_sleep(label);
  sim_lockdep_acquire_check(sem, cls, label);
  yield sem.sim_op(opIdx);
  const tid = current().id;
  if (sem.owner === -1 && sem.wait_list.length === 0 && (!write || sem.readers === 0)) {
    if (write) sem.owner = tid;
    else {
      sem.readers++;
      sem.readerIds.push(tid);
    }
    sim_fp_hold(sem, tid);
  } else {
    const w = new rwsem_waiter(sem, tid, write, killable ? sim_current_sync() : null, label);
    sem.wait_list.push(w);
    yield w.op;
    if (!w.granted) {
      // Fatal signal: leave the queue; if we were first, the next waiters may now go.
      const i = sem.wait_list.indexOf(w);
      sem.wait_list.splice(i, 1);
      if (i === 0) rwsem_wake(sem);
      return -EINTR;
    }
  }
  sim_lockdep_acquired(sem, cls, write ? 0 : 1, false, label);
  return 0;
}

/** down_read(): shared; queues behind a writer owner or any waiter. */
export function* down_read(sem: rw_semaphore): Task<void> {
  yield* down(sem, false, false, sem.lock_class, OP_DOWN_READ);
}

/** down_read_nested(): down_read in lockdep subclass `subclass`. */
export function* down_read_nested(sem: rw_semaphore, subclass: number): Task<void> {
  yield* down(sem, false, false, sem.lock_class.sub(subclass), OP_READ_NESTED);
}

/** down_read_killable(): 0, or -EINTR when SIGKILL arrives while waiting. */
export function down_read_killable(sem: rw_semaphore): Task<number> {
  return down(sem, false, true, sem.lock_class, OP_READ_KILL);
}

/** down_write(): exclusive. */
export function* down_write(sem: rw_semaphore): Task<void> {
  yield* down(sem, true, false, sem.lock_class, OP_DOWN_WRITE);
}

/** down_write_nested(): down_write in lockdep subclass `subclass`. */
export function* down_write_nested(sem: rw_semaphore, subclass: number): Task<void> {
  yield* down(sem, true, false, sem.lock_class.sub(subclass), OP_WRITE_NESTED);
}

/** down_write_killable(): 0, or -EINTR when SIGKILL arrives while waiting. */
export function down_write_killable(sem: rw_semaphore): Task<number> {
  return down(sem, true, true, sem.lock_class, OP_WRITE_KILL);
}

/** down_read_trylock(): fails when a writer owns the lock or waiters are queued. */
export function* down_read_trylock(sem: rw_semaphore): Task<boolean> {
  yield sem.sim_op(OP_READ_TRY);
  if (sem.owner !== -1 || sem.wait_list.length !== 0) return false;
  sem.readers++;
  sem.readerIds.push(current().id);
  sim_fp_hold(sem, current().id);
  sim_lockdep_acquired(sem, sem.lock_class, 1, true, 'down_read_trylock');
  return true;
}

/** down_write_trylock(): succeeds only on an idle lock. */
export function* down_write_trylock(sem: rw_semaphore): Task<boolean> {
  yield sem.sim_op(OP_WRITE_TRY);
  if (sem.owner !== -1 || sem.readers !== 0 || sem.wait_list.length !== 0) return false;
  sem.owner = current().id;
  sim_fp_hold(sem, sem.owner);
  sim_lockdep_acquired(sem, sem.lock_class, 0, true, 'down_write_trylock');
  return true;
}

/** up_read(): drop a read hold; the last reader hands the lock to the front waiter. */
export function up_read(sem: rw_semaphore): void {
  if (!inTask()) {
    if (sem.readers > 0) {
      sem.readers--;
      const r = sem.readerIds.pop();
      if (r !== undefined) sim_fp_hold(sem, r);
    }
    rwsem_wake(sem);
    return;
  }
  const tid = current().id;
  const i = sem.readerIds.lastIndexOf(tid);
  if (i < 0) throw sim_bad_unlock(sem, 'up_read');
  sim_lockdep_release(sem, sem.lock_class, 'up_read');
  sem.readerIds.splice(i, 1);
  sim_fp_hold(sem, tid);
  sem.readers--;
  if (sem.readers === 0) rwsem_wake(sem);
}

/** up_write(): release the write lock and hand it to the front waiter(s). */
export function up_write(sem: rw_semaphore): void {
  if (!inTask()) {
    if (sem.owner !== -1) sim_fp_hold(sem, sem.owner);
    sem.owner = -1;
    rwsem_wake(sem);
    return;
  }
  if (sem.owner !== current().id) throw sim_bad_unlock(sem, 'up_write');
  sim_lockdep_release(sem, sem.lock_class, 'up_write');
  sim_fp_hold(sem, sem.owner);
  sem.owner = -1;
  rwsem_wake(sem);
}

/** downgrade_write(): W → R atomically; readers queued at the front are granted too. */
export function downgrade_write(sem: rw_semaphore): void {
  const tid = inTask() ? current().id : sem.owner;
  if (sem.owner !== tid || tid === -1) throw sim_bad_unlock(sem, 'downgrade_write');
  sem.owner = -1;
  sem.readers++;
  sem.readerIds.push(tid);
  sim_fp_hold(sem, tid);
  sim_lockdep_downgrade(sem);
  rwsem_wake(sem);
}

/** rwsem_is_locked(): held for read or write by anyone. */
export function rwsem_is_locked(sem: rw_semaphore): boolean {
  return sem.owner !== -1 || sem.readers > 0;
}

/** rwsem_is_contended(): tasks are queued. */
export function rwsem_is_contended(sem: rw_semaphore): boolean {
  return sem.wait_list.length > 0;
}
