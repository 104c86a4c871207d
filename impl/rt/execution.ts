/**
 * The Execution: runs tasks step by step, asking a Scheduler who runs next. It records the
 * decisions that differ from the default (so every run can be replayed from its schedule string),
 * optionally a full Trace, and detects deadlock (no runnable task while a user task is blocked:
 * the wait-for cycle is reported) and livelock (the step limit: the tasks that kept running are
 * reported).
 *
 * Kernel-agnostic: what a step means is up to the tasks. Checks hook in through ExecutionHooks.
 */
import { OP_PROTO, type BlockOp, type ChooseOp, type Op, type Task, type TaskFn } from './task.js';
import { Violation } from './task.js';
import type { Scheduler } from './scheduler.js';
import { SCHEDULE_VERSION, ScheduleError, type Decision } from './schedule.js';
import type { TraceEvent } from './trace.js';
import { sim_track_footprint, sim_track_immutable_proto, sim_track_record, sim_track_recorder, sim_track_static, type Footprint } from './track.js';

/** Returned by Scheduler.pick to stop the run: what follows is already covered ('pruned'). */
export const PICK_PRUNE = -1;

const EMPTY_FP: Footprint = Object.freeze({ reads: Object.freeze([]) as readonly number[], writes: Object.freeze([]) as readonly number[] });

sim_track_immutable_proto(OP_PROTO);

export interface TaskState {
  readonly id: number;
  readonly name: string;
  /** Kernel threads (RCU, I/O completion, reclaim …) do not keep the run alive and are not deadlocked when idle. */
  readonly daemon: boolean;
  /** The generator that runs next: the innermost frame of the task's flattened call stack. */
  gen: Task<unknown>;
  /** Its callers (flattened calls, see task.ts CallOp), outermost first. */
  readonly stack: Task<unknown>[];
  done: boolean;
  block: BlockOp | null;
  /** The label of the yield the task is paused at: what its next step does. */
  label: string;
  obj: unknown;
  result: unknown;
  steps: number;
  /** The task's wait condition failed at the last scheduling point (it really waited). */
  waited: boolean;
  /** Per-task storage for primitives (lockdep held stack, RCU nesting …); see registerTaskSlot. */
  readonly slots: unknown[];
  /**
   * Tracked runs: the hash (two lanes) of every value the task has read (impl/rt/track.ts), which
   * stands for what its generator's locals hold.
   */
  obs1: number;
  obs2: number;
  /** The last step ended a wait (the task had yielded a BlockOp). */
  woke: boolean;
}

export interface ViolationRecord {
  readonly property: string;
  readonly message: string;
  readonly report: readonly string[];
  /** The global step during which it was detected (-1: at the end of the run). */
  readonly step: number;
  readonly task: number;
  readonly taskName: string;
  readonly label: string;
}

/**
 * 'pruned': the scheduler stopped the run early because what follows was already covered (partial-
 * order reduction's sleep sets, the state cache): it says nothing about the run's verdict.
 */
export type OutcomeStatus = 'ok' | 'violation' | 'crash' | 'bad-schedule' | 'pruned';

export interface Outcome {
  readonly status: OutcomeStatus;
  readonly violation?: ViolationRecord;
  /** For 'crash' and 'bad-schedule': what went wrong in the simulation or the schedule. */
  readonly error?: string;
  readonly steps: number;
  readonly preemptions: number;
  /** The schedule string that replays this run byte-for-byte. */
  readonly schedule: string;
}

export interface ExecutionHooks {
  /** Per-step invariants, called after every step. */
  afterStep?(exec: Execution, task: TaskState): Violation | null;
  /** Called when a task returns (lockdep: a lock still held). */
  onTaskExit?(exec: Execution, task: TaskState): Violation | null;
  /** End-of-run checks, after every task finished or went idle. */
  atEnd?(exec: Execution): Violation | null;
  /** What the trace shows of a task besides its label (locks held). */
  describe?(task: TaskState): string;
}

/**
 * Told the footprint of every step (impl/rt/track.ts): what it read and wrote of the tracked heap.
 * Setting one makes the run record footprints (the heap must have been put under tracking by
 * sim_track_begin). Called after the step, before the hooks' afterStep.
 */
export interface StepObserver {
  stepDone(exec: Execution, task: TaskState, step: number, fp: Footprint): void;
  /**
   * false: the next step's footprint is not needed (a reducer replaying a prefix it knows): the
   * step runs unrecorded and stepDone gets an empty footprint. Read before each step.
   */
  readonly recording?: boolean;
}

export interface ExecutionOptions {
  readonly scheduler: Scheduler;
  readonly maxSteps?: number;
  readonly trace?: boolean;
  readonly hooks?: ExecutionHooks;
  readonly observer?: StepObserver;
}

let CURRENT: TaskState | null = null;
let CURRENT_EXEC: Execution | null = null;

/** The running task, as the kernel's `current`. Only valid while a task runs. */
export function current(): TaskState {
  return CURRENT!;
}
export function currentExecution(): Execution {
  return CURRENT_EXEC!;
}
/** True while some execution is running a task (primitives used outside a run skip bookkeeping). */
export function inTask(): boolean {
  return CURRENT !== null;
}

let slotCount = 0;
/** Reserve a per-task slot index for a primitive's bookkeeping. */
export function registerTaskSlot(): number {
  return slotCount++;
}

let execSlotCount = 0;
/** Reserve a per-execution slot index (Execution.slots) for a primitive's per-run state. */
export function registerExecSlot(): number {
  return execSlotCount++;
}

export const DEFAULT_MAX_STEPS = 100_000;

export class Execution {
  readonly tasks: TaskState[] = [];
  readonly trace: TraceEvent[] = [];
  readonly tracing: boolean;
  readonly maxSteps: number;
  step = 0;
  preemptions = 0;
  private readonly scheduler: Scheduler;
  private readonly hooks: ExecutionHooks;
  private readonly observer: StepObserver | null;
  /**
   * Decisions made so far, packed two numbers each (no object per step): the step, then the task
   * id for a pick or −1 − value for a choice. `decisionList` unpacks them.
   */
  private readonly packed: number[] = [];
  private runnable = new Int32Array(8);
  private cur = -1;
  private choiceStep = -1;
  private zeroChoices = 0;
  private outcome: Outcome | null = null;
  /** Per-run storage for primitives (lockdep graph, RCU state, object store); see registerExecSlot. */
  readonly slots: unknown[] = [];
  /** Free-form per-run storage for the layer above (the kernel under simulation). */
  world: unknown = undefined;

  constructor(opts: ExecutionOptions) {
    this.scheduler = opts.scheduler;
    this.maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
    this.tracing = opts.trace ?? false;
    this.hooks = opts.hooks ?? {};
    this.observer = opts.observer ?? null;
    sim_track_static(this);
  }

  /**
   * Add a task; allowed before and during the run. Returns its id. In hot campaigns prefer a
   * module-level generator function (`() => worker(args)`) to a `function*` literal per spawn:
   * each generator function closure has its own prototype, so its generators get their own hidden
   * class, which costs V8 a little per run and keeps garbage alive until a full GC.
   */
  spawn(name: string, fn: TaskFn<unknown>, opts: { daemon?: boolean; start?: BlockOp } = {}): number {
    const id = this.tasks.length;
    // `start`: the task begins blocked on this wait (no step is spent reaching it): e.g. user
    // threads waiting for the scenario's setup, which no interleaving should run during.
    const t: TaskState = {
      id, name, daemon: opts.daemon ?? false, gen: undefined as unknown as Task<unknown>, stack: [],
      done: false, block: opts.start ?? null, label: opts.start?.label ?? 'start', obj: opts.start?.obj, result: undefined, steps: 0, waited: false, slots: [], obs1: 0, obs2: 0, woke: false,
    };
    this.tasks.push(t);
    sim_track_static(t);
    // Creating a generator runs no code, so this is safe mid-step.
    t.gen = fn();
    if (this.runnable.length < this.tasks.length) {
      const r = new Int32Array(this.tasks.length * 2);
      r.set(this.runnable);
      this.runnable = r;
    }
    return id;
  }

  /** Run to completion (or to the first violation). */
  run(): Outcome {
    if (this.outcome) return this.outcome;
    const outerTask = CURRENT;
    const outerExec = CURRENT_EXEC;
    CURRENT_EXEC = this;
    try {
      this.scheduler.begin?.(this.tasks.length);
      this.outcome = this.loop();
    } catch (e) {
      // A scheduler's begin()/end() or a hook threw outside any task step.
      const t = this.tasks[this.cur] ?? null;
      this.outcome = e instanceof Violation ? this.finish(this.record(e, this.step - 1, t)) : this.finish(null, e);
    } finally {
      CURRENT = outerTask;
      CURRENT_EXEC = outerExec;
    }
    return this.outcome;
  }

  /**
   * The hot loop: one iteration per step. Kept free of per-step allocation (besides the
   * generator's own result object): the runnable set is rebuilt in a reused Int32Array, a
   * string yield is the fast path, decisions are packed into a number array, and the trace,
   * hooks and the schedule string cost nothing unless used.
   */
  private loop(): Outcome {
    const tasks = this.tasks;
    const sched = this.scheduler;
    const hooks = this.hooks;
    const everyStep = sched.everyStep === true;
    const tracing = this.tracing;
    const maxSteps = this.maxSteps;
    const afterStep = hooks.afterStep;
    const onTaskExit = hooks.onTaskExit;
    const packed = this.packed;
    const observer = this.observer;
    const rec = observer !== null ? sim_track_recorder(true) : null;
    let t: TaskState | null = null;
    try {
      for (;;) {
        // Collect the runnable tasks (ascending ids) and the default pick: the current task if it
        // can go on, else the first runnable task after it, cyclically.
        const runnable = this.runnable;
        const cur = this.cur;
        const count = tasks.length;
        let n = 0;
        let live = false;
        let dflt = -1;
        let after = -1;
        for (let i = 0; i < count; i++) {
          const u = tasks[i]!;
          if (u.done) continue;
          if (!u.daemon) live = true;
          const b = u.block;
          if (b !== null && !b.until()) {
            u.waited = true;
            continue;
          }
          if (i === cur) dflt = i;
          else if (after < 0 && i > cur) after = i;
          runnable[n++] = i;
        }
        const step = this.step;
        if (n === 0) {
          sched.end?.(step);
          if (live) return this.finish(this.deadlock());
          const v = hooks.atEnd?.(this) ?? null;
          return v ? this.finish(this.record(v, -1, null)) : this.finish(null);
        }
        if (step >= maxSteps) return this.finish(this.livelock());
        const curRunnable = dflt >= 0;
        if (!curRunnable) dflt = after >= 0 ? after : runnable[0]!;

        // Pick.
        let pick = dflt;
        if (n > 1 || everyStep) {
          pick = sched.pick(runnable, n, dflt, cur, step);
          if (pick === PICK_PRUNE) {
            sched.end?.(step);
            return this.finish(null, undefined, true);
          }
          if (pick !== dflt) {
            let ok = false;
            for (let j = 0; j < n; j++) if (runnable[j] === pick) { ok = true; break; }
            if (!ok) throw new Error(`scheduler ${sched.name} picked task ${pick} at step ${step}, which is not runnable`);
            packed.push(step, pick);
            if (curRunnable) this.preemptions++;
          }
        }
        const task = tasks[pick]!;
        this.cur = pick;

        // Resume it for one step.
        if (tracing) this.traceStep(task);
        const woke = task.block;
        task.block = null;
        task.waited = false;
        task.steps++;
        t = CURRENT = task;
        const recording = rec !== null && observer!.recording !== false;
        if (recording) {
          rec.o1 = task.obs1;
          rec.o2 = task.obs2;
          sim_track_record(rec);
          // A step that ends a wait: what the wait's condition reads is part of it (evaluated
          // again, recorded; a condition is a pure read of shared state).
          if (woke !== null) {
            woke.until();
            rec.u = rec.r.slice();
          }
        }
        task.woke = woke !== null;
        // The task's innermost generator runs; a CallOp pushes its caller (see task.ts: flattened
        // calls), a return pops back to it, and an exception propagates to it as a throw.
        let gen = task.gen;
        const stack = task.stack;
        let send: unknown = undefined;
        let thrown: unknown = undefined;
        let throwing = false;
        for (;;) {
          let r: IteratorResult<Op, unknown>;
          try {
            if (throwing) {
              throwing = false;
              r = gen.throw(thrown);
            } else {
              r = gen.next(send);
            }
          } catch (e) {
            if (stack.length === 0) throw e;
            gen = task.gen = stack.pop()!;
            thrown = e;
            throwing = true;
            continue;
          }
          if (r.done === true) {
            if (stack.length !== 0) {
              gen = task.gen = stack.pop()!;
              send = r.value;
              continue;
            }
            task.done = true;
            task.result = r.value;
            task.label = 'exit';
            task.obj = undefined;
            break;
          }
          const op: Op = r.value;
          if (typeof op === 'string') {
            task.label = op;
            task.obj = undefined;
            break;
          }
          const kind = op.k;
          if (kind === 'call') {
            stack.push(gen);
            gen = task.gen = op.gen;
            send = undefined;
            continue;
          }
          if (kind === 'choose') {
            send = this.choose(task, op);
            continue;
          }
          task.label = op.label;
          task.obj = op.obj;
          if (kind === 'block') task.block = op;
          break;
        }
        t = CURRENT = null;
        this.step = step + 1;
        if (rec !== null) {
          if (recording) {
            sim_track_record(null);
            task.obs1 = rec.o1;
            task.obs2 = rec.o2;
          }
          observer!.stepDone(this, task, step, recording ? sim_track_footprint(rec) : EMPTY_FP);
        }
        if (onTaskExit !== undefined && task.done) {
          const v = onTaskExit(this, task);
          if (v) return this.finish(this.record(v, step, task));
        }
        if (afterStep !== undefined) {
          const v = afterStep(this, task);
          if (v) return this.finish(this.record(v, step, task));
        }
      }
    } catch (e) {
      // Thrown by the task during its step (t set), or by the scheduler or a hook (t null).
      CURRENT = null;
      if (rec !== null) {
        sim_track_record(null);
        if (t !== null) observer!.stepDone(this, t, this.step, sim_track_footprint(rec));
      }
      if (e instanceof Violation) {
        return t !== null ? this.finish(this.record(e, this.step, t)) : this.finish(this.record(e, this.step - 1, this.tasks[this.cur] ?? null));
      }
      return this.finish(null, e);
    }
  }

  /**
   * A nondeterministic value. Only non-default (non-zero) values are recorded, but a step may make
   * several choices and replay matches them by position within the step, so the zeros that precede
   * a recorded value in the same step are recorded too (trailing zeros are left out).
   */
  private choose(t: TaskState, op: ChooseOp): number {
    if (op.n <= 1) return 0;
    const v = this.scheduler.choose(op.n, this.step, t.id, op.label);
    if (!Number.isInteger(v) || v < 0 || v >= op.n) {
      throw new Error(`scheduler ${this.scheduler.name} chose ${v} for ${op.label} at step ${this.step}, outside 0..${op.n - 1}`);
    }
    if (this.choiceStep !== this.step) {
      this.choiceStep = this.step;
      this.zeroChoices = 0;
    }
    if (v === 0) {
      this.zeroChoices++;
    } else {
      for (; this.zeroChoices > 0; this.zeroChoices--) this.packed.push(this.step, -1);
      this.packed.push(this.step, -1 - v);
    }
    return v;
  }

  private traceStep(t: TaskState): void {
    this.trace.push({
      step: this.step,
      task: t.id,
      label: t.label,
      obj: describeObj(t.obj),
      held: this.hooks.describe ? this.hooks.describe(t) : '',
      blocked: t.waited,
    });
  }

  private record(v: Violation, step: number, t: TaskState | null): ViolationRecord {
    return {
      property: v.property,
      message: v.message,
      report: v.report,
      step,
      task: t ? t.id : -1,
      taskName: t ? t.name : '',
      label: t ? t.label : 'end of run',
    };
  }

  /** No task can run while a user task is blocked: report the wait-for cycle (from `holders`). */
  private deadlock(): ViolationRecord {
    const blocked = this.tasks.filter((t) => !t.done && t.block !== null);
    const edges = new Map<number, readonly number[]>();
    for (const t of blocked) edges.set(t.id, t.block!.holders?.() ?? []);
    const cycle = findCycle(edges);
    const name = (id: number) => `${this.tasks[id]?.name ?? '?'}#${id}`;
    const report = blocked.map((t) => {
      const b = t.block!;
      const on = b.obj !== undefined ? ` on ${describeObj(b.obj)}` : '';
      const by = edges.get(t.id)!;
      return `  ${name(t.id)} blocked in ${b.label}${on}${by.length ? ` (held by ${by.map(name).join(', ')})` : ''}`;
    });
    const msg = cycle
      ? `deadlock: wait-for cycle ${cycle.map(name).join(' -> ')} -> ${name(cycle[0]!)}`
      : `deadlock: no runnable task, ${blocked.length} blocked: ${blocked.map((t) => `${name(t.id)}@${t.label}`).join(', ')}`;
    const first = this.tasks[cycle ? cycle[0]! : blocked.find((t) => !t.daemon)?.id ?? blocked[0]!.id]!;
    return {
      property: 'deadlock', message: msg, report: ['INFO: task blocked forever (deadlock):', ...report],
      step: this.step, task: first.id, taskName: first.name, label: first.label,
    };
  }

  /**
   * The step limit was reached: name the tasks that could still run (most steps first) — the
   * ones spinning — and list the blocked ones below them in the report.
   */
  private livelock(): ViolationRecord {
    const live = this.tasks.filter((t) => !t.done);
    const spinning = live.filter((t) => t.block === null || t.block.until()).sort((a, b) => b.steps - a.steps || a.id - b.id);
    const waiting = live.filter((t) => !spinning.includes(t));
    const msg = `livelock: step limit ${this.maxSteps} reached; still running: ` +
      spinning.map((t) => `${t.name}#${t.id}@${t.label} (${t.steps} steps)`).join(', ');
    const first = spinning[0] ?? live[0] ?? this.tasks[0]!;
    return {
      property: 'livelock', message: msg,
      report: [
        ...spinning.map((t) => `  ${t.name}#${t.id}: running, ${t.steps} steps, at ${t.label}`),
        ...waiting.map((t) => `  ${t.name}#${t.id}: blocked in ${t.label}, ${t.steps} steps`),
      ],
      step: this.step, task: first.id, taskName: first.name, label: first.label,
    };
  }

  private finish(v: ViolationRecord | null, err?: unknown, pruned = false): Outcome {
    let status: OutcomeStatus = pruned ? 'pruned' : 'ok';
    let error: string | undefined;
    if (err !== undefined) {
      if (err instanceof ScheduleError) {
        status = 'bad-schedule';
        error = err.message;
      } else {
        status = 'crash';
        error = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
      }
    } else if (v) {
      status = 'violation';
    }
    const o = {
      status,
      ...(v ? { violation: v } : {}),
      ...(error !== undefined ? { error } : {}),
      steps: this.step,
      preemptions: this.preemptions,
    };
    return lazySchedule(o, this.packed);
  }

  /** The schedule string of the decisions made so far: encodeSchedule(decisionList), but faster. */
  scheduleString(): string {
    return encodePacked(this.packed);
  }

  /** Decisions made so far (differences from the default policy). */
  get decisionList(): readonly Decision[] {
    const p = this.packed;
    const len = p.length;
    const out: Decision[] = new Array(len >> 1);
    for (let i = 0; i < len; i += 2) {
      const v = p[i + 1]!;
      out[i >> 1] = v >= 0 ? { step: p[i]!, kind: 't', value: v } : { step: p[i]!, kind: 'c', value: -1 - v };
    }
    return out;
  }
}

const SOURCE = Symbol('faultline.outcome.source');

/**
 * Give an outcome its `schedule` as an own, enumerable property that is encoded on first read
 * (it prints, spreads, serialises and compares as a plain field), so a campaign that never looks
 * at its passing runs' schedules does not pay for encoding them. The getter is one shared
 * function, not a closure per outcome: V8 then shares one hidden class among all outcomes
 * (per-object accessor closures each got a fresh map, which kept every finished run alive until
 * the next full GC).
 */
function lazySchedule<T extends object>(o: T, packed: readonly number[]): T & { readonly schedule: string } {
  Object.defineProperty(o, SOURCE, { value: packed, writable: true, enumerable: false, configurable: false });
  Object.defineProperty(o, 'schedule', { get: scheduleGetter, enumerable: true, configurable: false });
  return o as T & { readonly schedule: string };
}

/**
 * Give `o` the outcome's `schedule` the same lazy way (a report built from an outcome: the string
 * is encoded only if someone reads it).
 */
export function withOutcomeSchedule<T extends object>(o: T, from: Outcome): T & { readonly schedule: string } {
  const src = (from as unknown as { [SOURCE]?: readonly number[] | string })[SOURCE];
  if (src === undefined) return Object.assign(o, { schedule: from.schedule });
  Object.defineProperty(o, SOURCE, { value: src, writable: true, enumerable: false, configurable: false });
  Object.defineProperty(o, 'schedule', { get: scheduleGetter, enumerable: true, configurable: false });
  return o as T & { readonly schedule: string };
}

function scheduleGetter(this: { [SOURCE]: readonly number[] | string }): string {
  const src = this[SOURCE];
  if (typeof src === 'string') return src;
  const s = encodePacked(src);
  this[SOURCE] = s;
  return s;
}

/** Packed decisions (step, then task id or −1 − choice value) to a schedule string. */
function encodePacked(p: readonly number[]): string {
  const len = p.length;
  const parts: string[] = new Array(len >> 1);
  for (let i = 0; i < len; i += 2) {
    const c = p[i + 1]!;
    parts[i >> 1] = c >= 0 ? `${p[i]}t${c}` : `${p[i]}c${-1 - c}`;
  }
  return SCHEDULE_VERSION + ':' + parts.join('.');
}

function findCycle(edges: Map<number, readonly number[]>): number[] | null {
  const color = new Map<number, number>();
  const stack: number[] = [];
  const dfs = (u: number): number[] | null => {
    color.set(u, 1);
    stack.push(u);
    for (const v of edges.get(u) ?? []) {
      const c = color.get(v) ?? 0;
      if (c === 1) return stack.slice(stack.indexOf(v));
      if (c === 0 && edges.has(v)) {
        const r = dfs(v);
        if (r) return r;
      }
    }
    stack.pop();
    color.set(u, 2);
    return null;
  };
  for (const u of edges.keys()) if (!color.has(u)) {
    const r = dfs(u);
    if (r) return r;
  }
  return null;
}

/** A short printable name for a traced object: its `name` field, or its String(). */
export function describeObj(obj: unknown): string {
  if (obj === undefined || obj === null) return '';
  if (typeof obj === 'string') return obj;
  if (typeof obj === 'object' && 'name' in obj && typeof (obj as { name: unknown }).name === 'string') {
    return (obj as { name: string }).name;
  }
  return String(obj);
}
