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

/**
 * A flattened call (see `flatten`): the runtime pushes the caller and runs `gen` as the task's
 * innermost frame; when `gen` returns, the caller resumes with its value. Not a scheduling point.
 */
export interface CallOp {
  readonly k: 'call';
  readonly gen: Task<unknown>;
}

export type Op = string | StepOp | BlockOp | ChooseOp | CallOp;

/** A task body: a generator that yields Ops. Kernel functions are generators called with yield*. */
export type Task<R = unknown> = Generator<Op, R, unknown>;
export type TaskFn<R = unknown> = () => Task<R>;

/**
 * The prototype of every op object: ops are values (never written after creation), and the
 * footprint tracker (track.ts) leaves objects with this prototype alone.
 */
export const OP_PROTO: object = Object.freeze(Object.create(null) as object);

export function step(label: string, obj?: unknown): StepOp {
  return { __proto__: OP_PROTO, k: 'step', label, obj } as StepOp;
}

export function block(
  label: string,
  until: () => boolean,
  obj?: unknown,
  holders?: () => readonly number[],
): BlockOp {
  return { __proto__: OP_PROTO, k: 'block', label, until, obj, holders } as BlockOp;
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

/**
 * A flattened call, as `yield*` sees it: the first `next()` hands the callee to the runtime (a
 * CallOp); the runtime runs the callee as the task's innermost frame and, when it returns,
 * resumes the caller, whose `yield*` then calls `next(value)` here and gets `done` with the
 * callee's return value. A callee's exception reaches the caller through `throw`.
 */
class FlatCall implements CallOp, Iterator<Op, unknown, unknown> {
  readonly k = 'call';
  private started = false;
  private readonly res: { value: unknown; done: boolean } = { value: undefined, done: false };
  constructor(readonly gen: Task<unknown>) {}
  [Symbol.iterator](): this {
    return this;
  }
  next(v?: unknown): IteratorResult<Op, unknown> {
    const res = this.res;
    if (!this.started) {
      this.started = true;
      res.value = this;
      res.done = false;
    } else {
      res.value = v;
      res.done = true;
    }
    return res as IteratorResult<Op, unknown>;
  }
  throw(e?: unknown): IteratorResult<Op, unknown> {
    throw e;
  }
  return(v?: unknown): IteratorResult<Op, unknown> {
    return { value: v, done: true };
  }
}

const FLAT = new WeakMap<object, unknown>();
const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor as unknown;

/**
 * `fn` (a generator function) as a flattened call: `yield* flatten(fn)(args)` behaves like
 * `yield* fn(args)`, but the callee runs as its own frame of the task's call stack instead of
 * nested inside the caller's generator. Each step then resumes one generator, not every
 * generator of the call chain (V8 resumes each level of a `yield*` chain on every step: ~25 ns per
 * level). Other functions are returned as they are. Cached per function.
 */
export function flatten<F>(fn: F): F {
  if (typeof fn !== 'function' || !(fn instanceof (GeneratorFunction as new () => object))) return fn;
  let w = FLAT.get(fn) as F | undefined;
  if (w === undefined) {
    const g = fn as unknown as (...a: unknown[]) => Task<unknown>;
    const wrapped = function (this: unknown, ...a: unknown[]): Task<unknown> {
      return new FlatCall(g.apply(this, a)) as unknown as Task<unknown>;
    };
    Object.defineProperty(wrapped, 'name', { value: (fn as { name: string }).name });
    w = wrapped as unknown as F;
    FLAT.set(fn as object, w);
  }
  return w;
}
