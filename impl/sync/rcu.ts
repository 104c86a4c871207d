/**
 * Kernel: kernel/rcu/tree.c, include/linux/rcupdate.h — RCU, the consolidated flavour.
 *
 * Read-side sections: rcu_read_lock/rcu_read_unlock (per-task nesting; plain functions, atomic
 * with the caller's step) and, as in the kernel since 4.20, every preempt-disabled (spinlock
 * held) or IRQs-off region. Each task records the global step at which its outermost section of
 * each kind began.
 *
 * Grace periods by snapshot: synchronize_rcu() notes the current step and waits until no task is
 * inside a section that began at or before it — sections begun later do not delay it (they cannot
 * see what the updater removed). call_rcu(head, fn) queues fn with the same snapshot; the
 * callbacks run in FIFO order, each in a step of its own, on the RCU kthread `rcu_gp_kthread`, a
 * daemon task (it neither keeps a run alive nor counts as deadlocked when idle). The kthread is
 * spawned lazily by the first call_rcu of a run (deterministic, so schedules replay), or up front
 * by rcu_init(exec) at scenario setup when stable task ids are wanted. rcu_barrier() waits for
 * every callback queued before it.
 *
 * synchronize_irqs_off() is the tlb_remove_table_sync_one() IPI: it returns once every task that
 * had IRQs disabled when it was called has enabled them (a task with IRQs on takes the IPI at
 * once), which is what GUP-fast's lockless page-table walk relies on.
 */
import { current, currentExecution, inTask, registerExecSlot, type Execution, type TaskState } from '../rt/execution.js';
import { block, Violation, type BlockOp, type Task } from '../rt/task.js';
import { might_sleep } from './lockdep.js';
import { sim_current_sync, sim_task_label, sim_task_sync_peek } from './sched.js';
import { sim_fp_read, sim_fp_write, sim_hash_code, sim_hash_mix, sim_track_state_part } from '../rt/track.js';

/**
 * Footprints (impl/rt/track.ts) of the RCU state, which lives in per-task and per-run slots the
 * tracked heap does not reach. Grace periods compare the step at which a reader's section began
 * with the step of the updater's snapshot, so what matters is the order of each reader's section
 * beginning and each snapshot: a beginning reads RCU_GP, a snapshot writes it (beginnings of two
 * readers commute; a snapshot is ordered against every beginning). The end of a section commutes
 * with an adjacent snapshot: either way the grace period is over once both happened, and
 * nothing can run in between. Whether a waiter may go on
 * (its wait condition reads every task's sections) is seen by the reducer as enabling and
 * disabling. The callback queue is RCU_CBS, as a queue: call_rcu reads and writes its tail and
 * writes the slot it fills; the kthread reads the slot at its head and writes the head. So two
 * call_rcu are ordered, and an invocation is ordered only against the call_rcu of the callback it
 * runs.
 */
export const RCU_GP = Object.freeze({ resource: 'rcu grace-period clock' });
const RCU_CBS = Object.freeze({ resource: 'rcu callbacks' });

// ---------------------------------------------------------------------------------------------
// Read side

/** rcu_read_lock(): enter (or nest) a read-side critical section. */
export function rcu_read_lock(): void {
  if (!inTask()) return;
  const s = sim_current_sync();
  if (s.rcu++ === 0) {
    s.rcuStart = currentExecution().step;
    sim_fp_read(RCU_GP);
  }
}

/** rcu_read_unlock(): leave one nesting level; unbalanced unlock is a violation. */
export function rcu_read_unlock(): void {
  if (!inTask()) return;
  const s = sim_current_sync();
  if (s.rcu === 0) {
    const t = current();
    throw new Violation('rcu', `rcu_read_unlock() without rcu_read_lock() in ${sim_task_label(t)}`, [
      '=====================================',
      'WARNING: bad unlock balance detected!',
      '-------------------------------------',
      `${sim_task_label(t)} is trying to release lock (rcu_read_lock) at:`,
      `rcu_read_unlock (step ${currentExecution().step})`,
      'but there are no more locks to release!',
    ]);
  }
  if (--s.rcu === 0) s.rcuStart = -1;
}

/** rcu_read_lock_held(): inside rcu_read_lock(). */
export function rcu_read_lock_held(): boolean {
  if (!inTask()) return false;
  const s = sim_task_sync_peek(current());
  return s !== undefined && s.rcu > 0;
}

/** rcu_read_lock_any_held(): inside any read-side section (rcu_read_lock, preempt or IRQs off). */
export function rcu_read_lock_any_held(): boolean {
  if (!inTask()) return false;
  const s = sim_task_sync_peek(current());
  return s !== undefined && (s.rcu > 0 || s.preempt > 0 || s.irqsOff > 0);
}

// ---------------------------------------------------------------------------------------------
// Grace periods

/** A task inside a read-side section that began at or before `snap`. */
function preexisting(t: TaskState, snap: number, irqsOnly: boolean): boolean {
  if (t.done) return false;
  const s = sim_task_sync_peek(t);
  if (s === undefined) return false;
  if (s.irqStart !== -1 && s.irqStart <= snap) return true;
  if (irqsOnly) return false;
  return (s.rcuStart !== -1 && s.rcuStart <= snap) || (s.preemptStart !== -1 && s.preemptStart <= snap);
}

/** True when every reader that began at or before `snap` has finished. */
export function sim_rcu_gp_done(exec: Execution, snap: number, irqsOnly = false): boolean {
  const ts = exec.tasks;
  for (let i = 0; i < ts.length; i++) if (preexisting(ts[i]!, snap, irqsOnly)) return false;
  return true;
}

function blockers(exec: Execution, snap: number, irqsOnly: boolean): number[] {
  return exec.tasks.filter((t) => preexisting(t, snap, irqsOnly)).map((t) => t.id);
}

/** synchronize_rcu(): sleep until every pre-existing reader has left its section. */
export function* synchronize_rcu(): Task<void> {
  might_sleep('synchronize_rcu');
  const exec = currentExecution();
  const snap = exec.step;
  sim_fp_write(RCU_GP);
  const w = { snap, irqsOnly: false };
  runOf(exec).waits.push(w);
  yield block('synchronize_rcu', () => sim_rcu_gp_done(exec, snap), undefined, () => blockers(exec, snap, false));
  dropWait(exec, w);
}

/**
 * synchronize_irqs_off(): the tlb_remove_table_sync_one() IPI — wait until every task that had
 * IRQs disabled at the call has enabled them. Calling it with IRQs off would deadlock the IPI
 * (smp_call_function's WARN_ON(irqs_disabled())): reported as a violation.
 */
export function* synchronize_irqs_off(): Task<void> {
  const s = sim_current_sync();
  if (s.irqsOff > 0) {
    throw new Violation('might_sleep', `synchronize_irqs_off() with IRQs disabled in ${sim_task_label(current())}`, [
      `WARNING: smp_call_function_many_cond called with IRQs disabled by ${sim_task_label(current())} (step ${currentExecution().step})`,
    ]);
  }
  const exec = currentExecution();
  const snap = exec.step;
  sim_fp_write(RCU_GP);
  const w = { snap, irqsOnly: true };
  runOf(exec).waits.push(w);
  yield block('tlb_remove_table_sync_one', () => sim_rcu_gp_done(exec, snap, true), undefined, () => blockers(exec, snap, true));
  dropWait(exec, w);
}

// ---------------------------------------------------------------------------------------------
// Callbacks and the RCU kthread

interface rcu_cb {
  readonly head: unknown;
  readonly fn: (head: unknown) => void;
  readonly snap: number;
}

class rcu_run {
  readonly cbs: (rcu_cb | undefined)[] = [];
  /** Grace periods being waited for by synchronize_rcu / synchronize_irqs_off (for the state hash). */
  readonly waits: { snap: number; irqsOnly: boolean }[] = [];
  /** Index of the next callback to invoke (callbacks before it ran). */
  next = 0;
  kthread = -1;
  readonly waitOp: BlockOp;
  constructor(readonly exec: Execution) {
    this.waitOp = block('rcu_do_batch', () => this.ready(), undefined);
  }
  ready(): boolean {
    const cb = this.cbs[this.next];
    return cb !== undefined && sim_rcu_gp_done(this.exec, cb.snap);
  }
}

const RUN = registerExecSlot();

function dropWait(exec: Execution, w: { snap: number; irqsOnly: boolean }): void {
  const ws = runOf(exec).waits;
  const i = ws.indexOf(w);
  if (i >= 0) ws.splice(i, 1);
}

/**
 * A state's hash (impl/rt/track.ts): the callbacks still queued (their objects and functions) and,
 * for each grace period still awaited (queued callbacks, synchronize_rcu waiters), which tasks'
 * read-side sections began before it — what decides when it ends. Absolute step numbers are left
 * out: only this order matters.
 */
sim_track_state_part((execU, h) => {
  const exec = execU as Execution;
  const r = exec.slots[RUN] as rcu_run | undefined;
  if (r === undefined) { sim_hash_mix(h, 0); return; }
  sim_hash_mix(h, r.kthread);
  const snaps: [number, boolean][] = [];
  for (let i = r.next; i < r.cbs.length; i++) {
    const cb = r.cbs[i]!;
    sim_hash_mix(h, cb.head);
    // The callback by its code: its closure holds the object (hashed above) and the site name.
    sim_hash_mix(h, sim_hash_code(cb.fn));
    snaps.push([cb.snap, false]);
  }
  for (const w of r.waits) snaps.push([w.snap, w.irqsOnly]);
  for (const [snap, irqsOnly] of snaps) {
    for (const t of exec.tasks) sim_hash_mix(h, preexisting(t, snap, irqsOnly));
  }
});

function runOf(exec: Execution): rcu_run {
  let r = exec.slots[RUN] as rcu_run | undefined;
  if (r === undefined) {
    r = new rcu_run(exec);
    exec.slots[RUN] = r;
  }
  return r;
}

function* rcu_gp_kthread(r: rcu_run): Task<void> {
  for (;;) {
    yield r.waitOp;
    sim_fp_read(RCU_CBS, r.next);
    sim_fp_write(RCU_CBS, 'head');
    const cb = r.cbs[r.next]!;
    r.cbs[r.next] = undefined;
    r.next++;
    cb.fn(cb.head);
  }
}

function ensureKthread(exec: Execution): rcu_run {
  const r = runOf(exec);
  if (r.kthread < 0) r.kthread = exec.spawn('rcu_gp_kthread', () => rcu_gp_kthread(r), { daemon: true });
  return r;
}

/** Spawn the RCU kthread at scenario setup (optional: call_rcu spawns it on first use). */
export function rcu_init(exec: Execution): number {
  return ensureKthread(exec).kthread;
}

/**
 * call_rcu(): run `func(head)` on the RCU kthread after a grace period (after every reader that
 * began at or before this call has finished). `func` runs in softirq context: a plain function.
 * Must be called from a task (or after rcu_init at setup, passing `exec`).
 */
export function call_rcu<T>(head: T, func: (head: T) => void, exec?: Execution): void {
  const e = exec ?? (inTask() ? currentExecution() : undefined);
  if (e === undefined) throw new Error('call_rcu outside a running task: pass the Execution');
  const r = ensureKthread(e);
  sim_fp_write(RCU_GP);
  sim_fp_write(RCU_CBS, 'tail');
  sim_fp_write(RCU_CBS, r.cbs.length);
  r.cbs.push({ head, fn: func as (head: unknown) => void, snap: e.step });
}

/** rcu_barrier(): sleep until every callback queued before the call has run. */
export function* rcu_barrier(): Task<void> {
  might_sleep('rcu_barrier');
  const exec = currentExecution();
  const r = runOf(exec);
  sim_fp_read(RCU_CBS, 'tail');
  const target = r.cbs.length;
  yield block('rcu_barrier', () => r.next >= target, undefined, () => (r.kthread >= 0 ? [r.kthread] : []));
}

/** Callbacks queued and not yet invoked in this run (for end-of-run checks). */
export function sim_rcu_pending_callbacks(exec: Execution): number {
  const r = exec.slots[RUN] as rcu_run | undefined;
  return r === undefined ? 0 : r.cbs.length - r.next;
}
