/**
 * Kernel: include/linux/seqlock.h — seqcount_t.
 *
 * The sequence is odd while a write section is open. Readers sample it (read_seqcount_begin
 * waits, spinning, while it is odd; raw_read_seqcount does not) and retry when
 * read_seqcount_retry sees it changed. Writers must be serialised by a lock of their own: a
 * seqcount created with an associated lock (seqcount_spinlock_t / seqcount_mutex_t style) asserts
 * it is held at write_seqcount_begin, and write_seqcount_begin/end report a write section opened
 * twice or closed when not open (property 'seqcount'). The raw_ variants check nothing.
 *
 * Writes and raw reads are plain functions, atomic with the caller's step; read_seqcount_begin is
 * a generator (a scheduling point, then the read, waiting while odd).
 */
import { current, currentExecution, inTask } from '../rt/execution.js';
import { block, Violation, type BlockOp, type Task } from '../rt/task.js';
import { lockdep_assert_held, type sim_owned_lock } from './lockdep.js';
import { sim_task_label } from './sched.js';

export class seqcount_t {
  sequence = 0;
  /** The task inside the write section (-1: none), for deadlock reports. */
  writer = -1;
  private readOp: BlockOp | undefined = undefined;
  constructor(readonly name: string, readonly assoc: sim_owned_lock | null = null) {}

  sim_read_op(): BlockOp {
    let op = this.readOp;
    if (op === undefined) {
      op = block('read_seqcount_begin', () => (this.sequence & 1) === 0, this, () => (this.writer >= 0 ? [this.writer] : []));
      this.readOp = op;
    }
    return op;
  }
}

function seqViolation(s: seqcount_t, what: string): Violation {
  const who = inTask() ? sim_task_label(current()) : '(setup)';
  const step = inTask() ? currentExecution().step : -1;
  return new Violation('seqcount', `${what} on ${s.name} (sequence ${s.sequence}) in ${who}`, [
    `WARNING: ${what}: seqcount ${s.name}, sequence ${s.sequence}, writer ${s.writer}, at step ${step} by ${who}`,
  ]);
}

/** raw_write_seqcount_begin(): open a write section (sequence becomes odd); no checks. */
export function raw_write_seqcount_begin(s: seqcount_t): void {
  s.sequence++;
  s.writer = inTask() ? current().id : -1;
}

/** raw_write_seqcount_end(): close the write section (sequence becomes even); no checks. */
export function raw_write_seqcount_end(s: seqcount_t): void {
  s.sequence++;
  s.writer = -1;
}

/** write_seqcount_begin(): as raw, asserting the associated lock and that no write section is open. */
export function write_seqcount_begin(s: seqcount_t): void {
  if (s.assoc !== null) lockdep_assert_held(s.assoc);
  if ((s.sequence & 1) !== 0) throw seqViolation(s, 'write_seqcount_begin with a write section already open (concurrent writers)');
  raw_write_seqcount_begin(s);
}

/** write_seqcount_end(): as raw, asserting a write section was open. */
export function write_seqcount_end(s: seqcount_t): void {
  if ((s.sequence & 1) === 0) throw seqViolation(s, 'write_seqcount_end without write_seqcount_begin');
  raw_write_seqcount_end(s);
}

/** read_seqcount_begin(): a scheduling point, then the sequence once it is even (waits while odd). */
export function* read_seqcount_begin(s: seqcount_t): Task<number> {
  yield s.sim_read_op();
  return s.sequence;
}

/** raw_read_seqcount(): the current sequence, possibly odd (no wait). */
export function raw_read_seqcount(s: seqcount_t): number {
  return s.sequence;
}

/** read_seqcount_retry(): true when a writer ran since `start` (or was running then): retry. */
export function read_seqcount_retry(s: seqcount_t, start: number): boolean {
  return s.sequence !== start;
}
