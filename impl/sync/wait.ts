/**
 * Kernel: kernel/sched/wait.c, include/linux/wait.h, kernel/sched/core.c (schedule,
 * try_to_wake_up), include/linux/rcuwait.h — sleeping and waking with real wake tokens.
 *
 * A task's run state (sched.ts) is the token: set_current_state(TASK_UNINTERRUPTIBLE) announces
 * a sleep, a wake-up (wake_up_process, wake_up on a queue the task is on) sets TASK_RUNNING, and
 * schedule() sleeps only while the state is still a sleeping one. So the kernel's protocol —
 * prepare_to_wait, re-check the condition, schedule — never loses a wake-up, while a waiter that
 * checks the condition before enqueueing and sleeps without re-checking really sleeps forever
 * when the wake-up came in between: the run ends in a deadlock report.
 *
 * schedule(), wait_event() and rcuwait_wait_event() are generators (scheduling points, and they
 * may sleep: might_sleep applies). prepare_to_wait, finish_wait and the wake functions are plain.
 */
import { current, inTask } from '../rt/execution.js';
import { block, step, type Task } from '../rt/task.js';
import { might_sleep, sim_sleep_violation } from './lockdep.js';
import {
  EINTR, TASK_RUNNING, TASK_UNINTERRUPTIBLE, TASK_KILLABLE, set_current_state, signal_pending_state, sim_current_sync,
  wake_up_process,
} from './sched.js';

/** -ERESTARTSYS (include/linux/errno.h): a killable wait_event interrupted by SIGKILL. */
export const ERESTARTSYS = 512;

/**
 * schedule(): give up the CPU. Returns at once (after a scheduling point) when the task's state
 * is TASK_RUNNING — it was woken after announcing the sleep — or a pending signal interrupts the
 * sleeping state; otherwise sleeps until woken. Leaves the state TASK_RUNNING. `wakers` (for
 * deadlock reports) names the tasks expected to wake this sleep, when the caller knows them.
 */
export function* schedule(wakers?: () => readonly number[]): Task<void> {
  const v = sim_sleep_violation('schedule', 'BUG: scheduling while atomic');
  if (v !== null) throw v;
  const s = sim_current_sync();
  let op = s.sleepOp;
  if (op === null) {
    op = block('schedule', () => s.state === TASK_RUNNING || signal_pending_state(s.state, s), undefined, wakers ?? (() => []));
    s.sleepOp = op;
  }
  yield op;
  s.state = TASK_RUNNING;
}

export const WQ_FLAG_EXCLUSIVE = 0x01;

/** struct wait_queue_entry (DEFINE_WAIT): a task's place on a wait queue. */
export class wait_queue_entry {
  flags = 0;
  /** On a queue (list_empty(&entry) is false). */
  queued = false;
  constructor(readonly task: number) {}
}

/** DEFINE_WAIT(): an entry for the running task (autoremove_wake_function semantics). */
export function DEFINE_WAIT(): wait_queue_entry {
  return new wait_queue_entry(current().id);
}

/** wait_queue_head_t. */
export class wait_queue_head_t {
  readonly head: wait_queue_entry[] = [];
  constructor(readonly name = 'wait_queue') {}
}

function enqueue(wq: wait_queue_head_t, e: wait_queue_entry): void {
  if (!e.queued) {
    e.queued = true;
    wq.head.push(e);
  }
}

function dequeue(wq: wait_queue_head_t, e: wait_queue_entry): void {
  if (!e.queued) return;
  e.queued = false;
  const i = wq.head.indexOf(e);
  if (i >= 0) wq.head.splice(i, 1);
}

/** prepare_to_wait(): enqueue (if not already) and set the sleeping state. */
export function prepare_to_wait(wq: wait_queue_head_t, e: wait_queue_entry, state: number): void {
  e.flags &= ~WQ_FLAG_EXCLUSIVE;
  enqueue(wq, e);
  set_current_state(state);
}

/** prepare_to_wait_exclusive(): as prepare_to_wait, woken one at a time. */
export function prepare_to_wait_exclusive(wq: wait_queue_head_t, e: wait_queue_entry, state: number): void {
  e.flags |= WQ_FLAG_EXCLUSIVE;
  enqueue(wq, e);
  set_current_state(state);
}

/** finish_wait(): back to TASK_RUNNING, off the queue. */
export function finish_wait(wq: wait_queue_head_t, e: wait_queue_entry): void {
  set_current_state(TASK_RUNNING);
  dequeue(wq, e);
}

/**
 * __wake_up(): wake every non-exclusive waiter and up to `nr_exclusive` exclusive ones (0: all).
 * An entry whose task was actually woken is removed (autoremove_wake_function).
 */
export function __wake_up(wq: wait_queue_head_t, nr_exclusive: number): void {
  let left = nr_exclusive;
  const q = wq.head;
  for (let i = 0; i < q.length; ) {
    const e = q[i]!;
    const woken = wake_up_process(e.task);
    if (woken) {
      e.queued = false;
      q.splice(i, 1);
    } else i++;
    if (woken && (e.flags & WQ_FLAG_EXCLUSIVE) !== 0 && --left === 0) break;
  }
}

/** wake_up(): wake the waiters (one exclusive). */
export function wake_up(wq: wait_queue_head_t): void {
  __wake_up(wq, 1);
}

/** wake_up_all(). */
export function wake_up_all(wq: wait_queue_head_t): void {
  __wake_up(wq, 0);
}

/** waitqueue_active(): someone is queued. */
export function waitqueue_active(wq: wait_queue_head_t): boolean {
  return wq.head.length > 0;
}

/**
 * wait_event(wq, condition): sleep until `condition()` holds (read after a scheduling point, and
 * re-checked after every enqueue, so no wake-up is lost).
 */
export function* wait_event(wq: wait_queue_head_t, condition: () => boolean): Task<void> {
  yield* waitEvent(wq, condition, TASK_UNINTERRUPTIBLE);
}

/** wait_event_killable(): 0, or -ERESTARTSYS when SIGKILL interrupts the sleep. */
export function wait_event_killable(wq: wait_queue_head_t, condition: () => boolean): Task<number> {
  return waitEvent(wq, condition, TASK_KILLABLE);
}

function* waitEvent(wq: wait_queue_head_t, condition: () => boolean, state: number): Task<number> {
  might_sleep('wait_event');
  yield step('wait_event', wq);
  if (condition()) return 0;
  const s = sim_current_sync();
  const w = new wait_queue_entry(current().id);
  let ret = 0;
  for (;;) {
    prepare_to_wait(wq, w, state);
    if (condition()) break;
    if (signal_pending_state(state, s)) {
      ret = -ERESTARTSYS;
      break;
    }
    yield* schedule();
  }
  finish_wait(wq, w);
  return ret;
}

// ---------------------------------------------------------------------------------------------
// rcuwait: a single waiter, woken by task id (include/linux/rcuwait.h, kernel/exit.c)

export class rcuwait {
  /** The waiting task, -1 when none. */
  task = -1;
  constructor(readonly name = 'rcuwait') {}
}

/**
 * rcuwait_wait_event(w, condition, state): 0 once `condition()` holds, -EINTR when a signal
 * interrupts a TASK_KILLABLE/INTERRUPTIBLE wait.
 */
export function* rcuwait_wait_event(w: rcuwait, condition: () => boolean, state: number): Task<number> {
  might_sleep('rcuwait_wait_event');
  yield step('rcuwait_wait_event', w);
  const s = sim_current_sync();
  w.task = current().id;
  let ret = 0;
  for (;;) {
    set_current_state(state);
    if (condition()) break;
    if (signal_pending_state(state, s)) {
      ret = -EINTR;
      break;
    }
    yield* schedule();
  }
  w.task = -1;
  set_current_state(TASK_RUNNING);
  return ret;
}

/** rcuwait_wake_up(): wake the waiter, if any; true when a sleeping task was woken. */
export function rcuwait_wake_up(w: rcuwait): boolean {
  if (w.task < 0 || !inTask()) return false;
  return wake_up_process(w.task);
}

/** rcuwait_active(). */
export function rcuwait_active(w: rcuwait): boolean {
  return w.task >= 0;
}
