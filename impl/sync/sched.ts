/**
 * Kernel: include/linux/sched.h, kernel/sched/core.c, include/linux/sched/signal.h — the part of
 * a task's state the sync primitives need: its run state (TASK_RUNNING / sleeping, the "wake
 * token" a lost wake-up loses), a pending fatal signal, and the contexts that make sleeping
 * illegal (preempt count from spinlocks, RCU read-side nesting, IRQs disabled), plus lockdep's
 * held-lock stack.
 *
 * Everything lives in one per-task slot (TaskState.slots), created lazily, so a fresh Execution
 * starts with fresh state. The held-lock stack is a struct of arrays that grows once per task
 * and is then reused: acquiring and releasing locks allocates nothing.
 */
import { current, currentExecution, inTask, registerTaskSlot, type Execution, type TaskState } from '../rt/execution.js';
import type { BlockOp } from '../rt/task.js';
import type { lock_class } from './lockdep.js';
import { sim_fp_write_task, sim_hash_mix, sim_track_state_part } from '../rt/track.js';

/** Task run states (include/linux/sched.h). */
export const TASK_RUNNING = 0x0000;
export const TASK_INTERRUPTIBLE = 0x0001;
export const TASK_UNINTERRUPTIBLE = 0x0002;
export const TASK_WAKEKILL = 0x0100;
export const TASK_KILLABLE = TASK_WAKEKILL | TASK_UNINTERRUPTIBLE;
export const TASK_NORMAL = TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE;

/** -EINTR is returned by killable waits (same value as impl/include/linux/errno.ts). */
export const EINTR = 4;

/** A lock instance as lockdep sees it: something with a name (spinlock_t, rw_semaphore, folio …). */
export interface lockdep_instance {
  readonly name: string;
}

/** The sync-related state of one task (sim_ helper: the kernel spreads this over task_struct). */
export class sim_task_sync {
  /** set_current_state(): TASK_RUNNING, or a sleeping state until someone wakes the task. */
  state = TASK_RUNNING;
  /** schedule()'s cached wait (created on first sleep). */
  sleepOp: BlockOp | null = null;
  /** A SIGKILL is pending (send_sig_kill). */
  fatal = false;
  /** preempt_count: spinlocks held and preempt_disable() nesting. */
  preempt = 0;
  /** Global step at which the preempt-disabled section began (-1: none): an RCU-sched reader. */
  preemptStart = -1;
  /** rcu_read_lock() nesting. */
  rcu = 0;
  /** Global step at which the outermost RCU read-side section began (-1: none). */
  rcuStart = -1;
  /** IRQs disabled (local_irq_disable/local_irq_save). */
  irqsOff = 0;
  /** Global step at which IRQs were disabled (-1: enabled). */
  irqStart = -1;
  /** Locks held that must be released by this task before it ends (counted even with lockdep off). */
  heldCount = 0;
  // lockdep's held-lock stack (struct of arrays, `depth` entries valid).
  depth = 0;
  readonly hLock: lockdep_instance[] = [];
  readonly hClass: lock_class[] = [];
  /** 0: exclusive (write), 1: shared (read). */
  readonly hRead: number[] = [];
  readonly hTry: boolean[] = [];
  readonly hStep: number[] = [];
  readonly hLabel: string[] = [];
}

const SLOT = registerTaskSlot();

// A state's hash (impl/rt/track.ts) includes every task's sync state: sleeping, signals, the
// atomic contexts (whether they are open: when they began matters only against grace periods,
// which rcu.ts hashes), and the lockdep stack of held locks.
sim_track_state_part((exec, h) => {
  for (const t of (exec as Execution).tasks) {
    const s = t.slots[SLOT] as sim_task_sync | undefined;
    if (s === undefined) { sim_hash_mix(h, 0); continue; }
    sim_hash_mix(h, s.state);
    sim_hash_mix(h, s.fatal);
    sim_hash_mix(h, s.preempt);
    sim_hash_mix(h, s.rcu);
    sim_hash_mix(h, s.irqsOff);
    sim_hash_mix(h, s.heldCount);
    sim_hash_mix(h, s.depth);
    for (let i = 0; i < s.depth; i++) {
      sim_hash_mix(h, s.hLock[i]);
      sim_hash_mix(h, s.hClass[i]!.id);
      sim_hash_mix(h, s.hRead[i]);
      sim_hash_mix(h, s.hTry[i]);
    }
  }
});

/** The sync state of a task (created on first use). */
export function sim_task_sync_of(t: TaskState): sim_task_sync {
  let s = t.slots[SLOT] as sim_task_sync | undefined;
  if (s === undefined) {
    s = new sim_task_sync();
    t.slots[SLOT] = s;
  }
  return s;
}

/** The sync state of a task, or undefined when it never used a primitive (no allocation). */
export function sim_task_sync_peek(t: TaskState): sim_task_sync | undefined {
  return t.slots[SLOT] as sim_task_sync | undefined;
}

/** The running task's sync state. Only inside a task. */
export function sim_current_sync(): sim_task_sync {
  return sim_task_sync_of(current());
}

/** `name/id`, as the kernel prints `comm/pid`. */
export function sim_task_label(t: TaskState): string {
  return `${t.name}/${t.id}`;
}

function taskById(id: number, exec: Execution | undefined): TaskState {
  const e = exec ?? (inTask() ? currentExecution() : undefined);
  const t = e?.tasks[id];
  if (t === undefined) throw new Error(`no task ${id} in this execution`);
  return t;
}

/**
 * Deliver SIGKILL to a task (kernel: send_sig(SIGKILL, p, 0)): killable and interruptible waits
 * give up with -EINTR, and a sleeping task in such a state is woken. Outside a running task
 * (scenario setup) pass the Execution.
 */
export function send_sig_kill(taskId: number, exec?: Execution): void {
  const s = sim_task_sync_of(taskById(taskId, exec));
  sim_fp_write_task(taskId);
  s.fatal = true;
  if ((s.state & (TASK_WAKEKILL | TASK_INTERRUPTIBLE)) !== 0) s.state = TASK_RUNNING;
}

/** The running task has SIGKILL pending (include/linux/sched/signal.h). */
export function fatal_signal_pending(): boolean {
  if (!inTask()) return false;
  const s = sim_task_sync_peek(current());
  return s !== undefined && s.fatal;
}

/** signal_pending_state(): would a pending signal interrupt a sleep in `state`? Only SIGKILL exists here. */
export function signal_pending_state(state: number, s: sim_task_sync): boolean {
  return s.fatal && (state & (TASK_INTERRUPTIBLE | TASK_WAKEKILL)) !== 0;
}

/** set_current_state(): announce a sleep; a wake-up from now on sets TASK_RUNNING again. */
export function set_current_state(state: number): void {
  if (!inTask()) return;
  sim_current_sync().state = state;
}

/** __set_current_state() (no barrier; the same here). */
export const __set_current_state = set_current_state;

/**
 * wake_up_process() / try_to_wake_up(): make a sleeping task runnable. Returns true when the task
 * was sleeping (the wake token was consumed), false when it was running already.
 */
export function wake_up_process(taskId: number, exec?: Execution): boolean {
  const s = sim_task_sync_of(taskById(taskId, exec));
  sim_fp_write_task(taskId);
  if (s.state === TASK_RUNNING) return false;
  s.state = TASK_RUNNING;
  return true;
}
