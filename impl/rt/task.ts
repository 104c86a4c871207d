/**
 * The yield protocol between a task (a generator) and the Execution.
 *
 * Every step another task could observe is a labelled yield. A task yields:
 *  - a string: a scheduling point with that label (the fast path; no allocation);
 *  - a StepOp: a scheduling point that also names the object touched (for the trace);
 *  - a BlockOp: "I cannot go on until `until()` holds". The task is not runnable until then; when
 *    the scheduler picks it, `until()` held at that instant and the code after the yield runs
 *    atomically up to the next yield (so it can take the lock it waited for);
 *  - a ChooseOp: a nondeterministic value in [0, n) (e.g. an allocation that may fail). The
 *    scheduler decides; the same task resumes at once with the value. Not a scheduling point.
 *
 * Labels follow the kernel: `'mmap_read_lock'`, `'do_anonymous_page:pte_offset_map_lock'`.
 */

export interface StepOp {
  readonly k: 'step';
  readonly label: string;
  /** The object the step touches, for the trace (a lock, a VMA, a page table …). */
  readonly obj?: unknown;
}

export interface BlockOp {
  readonly k: 'block';
  readonly label: string;
  /** The resource waited on, for the trace and the wait-for graph. */
  readonly obj?: unknown;
  /** Runnable again once this holds. Must be a pure read of shared state. */
  readonly until: () => boolean;
  /** Task ids this wait depends on (lock owners), for the wait-for cycle of a deadlock report. */
  readonly holders?: () => readonly number[];
}

export interface ChooseOp {
  readonly k: 'choose';
  readonly label: string;
  readonly n: number;
}

export type Op = string | StepOp | BlockOp | ChooseOp;

/** A task body: a generator that yields Ops. Kernel functions are generators called with yield*. */
export type Task<R = unknown> = Generator<Op, R, unknown>;
export type TaskFn<R = unknown> = () => Task<R>;

export function step(label: string, obj?: unknown): StepOp {
  return { k: 'step', label, obj };
}

export function block(
  label: string,
  until: () => boolean,
  obj?: unknown,
  holders?: () => readonly number[],
): BlockOp {
  return { k: 'block', label, until, obj, holders };
}

/** A nondeterministic value in [0, n), decided by the scheduler (0 is the default). */
export function* choose(n: number, label: string): Task<number> {
  const v = yield { k: 'choose', label, n } as ChooseOp;
  return v as number;
}

/**
 * Wait until `until()` holds. Always a scheduling point: the step after the yield runs only when
 * the scheduler picks the task and `until()` holds at that instant, so the caller may act on the
 * condition (take the lock it waited for) without re-checking. (Yielding a plain label when the
 * condition already held would be unsound: another task could falsify it before this one resumes.)
 */
export function* waitUntil(
  label: string,
  until: () => boolean,
  obj?: unknown,
  holders?: () => readonly number[],
): Task<void> {
  yield block(label, until, obj, holders);
}

/**
 * A property violation raised from inside a task or a primitive, at the step where it happens.
 * `report` holds the lines of a kernel-style report (lockdep splat, KASAN report, BUG: …).
 */
export class Violation extends Error {
  constructor(
    readonly property: string,
    message: string,
    readonly report: readonly string[] = [],
  ) {
    super(message);
    this.name = 'Violation';
  }
}
