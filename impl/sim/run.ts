/**
 * Running a scenario on a kernel variant under a scheduler: build the Execution, the Kernel, the
 * setup task, the user threads and the daemons; run; return the outcome and the history.
 */
import { FAULT_INJECTION_TIMES } from '../include/linux/fault_inject.js';
import { Execution, type ExecutionHooks, type Outcome, type StepObserver } from '../rt/execution.js';
import { sim_track_adopt, sim_track_begin, sim_track_end, sim_track_static_deep } from '../rt/track.js';
import type { Scheduler } from '../rt/scheduler.js';
import { block, flatten, type BlockOp, type Task, type Violation } from '../rt/task.js';
import { Kernel, sim_set_kernel } from './kernel.js';
import type { ScenarioSpec, SetupAction, DaemonSpec } from './scenario.js';
import type { Variant } from './variant.js';
import { sim_user_thread, sim_do_user_op, type HistoryEntry } from './user.js';
import { address_space, file, inode, sim_reset_ids } from '../include/linux/mm_types.js';
import { sim_mm_alloc_setup } from '../mm/fork.js';

export interface SimOptions {
  readonly variant: Variant;
  readonly scenario: ScenarioSpec;
  readonly scheduler: Scheduler;
  readonly trace?: boolean;
  /** Extra checks (per-step invariants …), merged after the kernel's own hooks. */
  readonly hooks?: ExecutionHooks;
  /** Test-only: more kernel-side setup, run after the scenario's setup. */
  readonly setup?: (kernel: Kernel) => Task<void>;
  readonly maxSteps?: number;
  /**
   * Record every step's footprint (impl/rt/track.ts) and tell this observer: the kernel's state is
   * put under tracking for the run.
   */
  readonly observer?: StepObserver;
}

export interface SimRun {
  readonly exec: Execution;
  readonly kernel: Kernel;
  readonly history: HistoryEntry[];
  readonly outcome: Outcome;
  /** Task ids of the user threads, in scenario order. */
  readonly threads: readonly number[];
  /** The scenario's setup operations with the results the kernel gave (the model replays them). */
  readonly setupHistory: readonly { readonly op: import('../../model/ops.js').ModelOp; readonly result: import('../../model/ops.js').ModelResult }[];
}

type KernelCall = (...args: never[]) => Task<unknown>;
function kfn(kernel: Kernel, name: string): ((...a: unknown[]) => Task<unknown>) | undefined {
  return (kernel.fn as unknown as Record<string, KernelCall | undefined>)[name] as ((...a: unknown[]) => Task<unknown>) | undefined;
}

/** Kernel hooks every run carries (lockdep bookkeeping etc.), provided by the sync layer. */
let baseHooks: ExecutionHooks = {};
export function sim_set_base_hooks(h: ExecutionHooks): void {
  baseHooks = h;
}

/** One hook, or the first's verdict then the second's; a lone hook is used as it is (no wrapper per step). */
function either<A extends unknown[]>(f: ((...a: A) => Violation | null) | undefined, g: ((...a: A) => Violation | null) | undefined): ((...a: A) => Violation | null) | undefined {
  if (f === undefined) return g;
  if (g === undefined) return f;
  return (...a: A) => f(...a) ?? g(...a) ?? null;
}

function mergeHooks(a: ExecutionHooks, b: ExecutionHooks | undefined): ExecutionHooks {
  if (!b) return a;
  return {
    afterStep: either(a.afterStep?.bind(a), b.afterStep?.bind(b)),
    onTaskExit: a.onTaskExit || b.onTaskExit ? (e, t) => a.onTaskExit?.(e, t) ?? b.onTaskExit?.(e, t) ?? null : undefined,
    atEnd: a.atEnd || b.atEnd ? (e) => a.atEnd?.(e) ?? b.atEnd?.(e) ?? null : undefined,
    describe: a.describe ?? b.describe,
  };
}

const FLAT_TABLES = new WeakMap<Variant, Record<string, unknown>>();

/**
 * The variant's function table with every generator function flattened (impl/rt/task.ts
 * flatten): the template is built once per variant, each run gets its own copy.
 */
function flatTable(v: Variant): import('./table.js').KernelFns {
  let t = FLAT_TABLES.get(v);
  if (t === undefined) {
    t = {};
    for (const [name, f] of Object.entries(v.table())) t[name] = flatten(f);
    FLAT_TABLES.set(v, t);
  }
  return { ...t } as unknown as import('./table.js').KernelFns;
}

/** Build a run without starting it. */
export function sim_prepare(opts: SimOptions): Omit<SimRun, 'outcome'> {
  sim_reset_ids();
  const hooks = mergeHooks(baseHooks, opts.hooks);
  const exec = new Execution({
    scheduler: opts.scheduler,
    trace: opts.trace ?? false,
    hooks,
    maxSteps: opts.maxSteps ?? opts.scenario.maxSteps,
    ...(opts.observer !== undefined ? { observer: opts.observer } : {}),
  });
  const kernel = new Kernel(opts.variant.cfg, flatTable(opts.variant), opts.variant.name, exec);
  exec.world = kernel;
  kernel.scenario = opts.scenario;
  // Fault injection starts when the setup is done: the setup builds the scenario's starting state.
  kernel.faultInjection = false;
  const setupHistory: { op: import('../../model/ops.js').ModelOp; result: import('../../model/ops.js').ModelResult }[] = [];
  const sc = opts.scenario;
  const state = { setupTid: -1, setupDone: false };
  const ready = (): boolean => state.setupDone;

  // Files exist before anything runs.
  for (const f of sc.files ?? []) {
    const ino = new inode(f.name, [...f.pages]);
    kernel.files.set(f.name, new file(ino, new address_space(ino)));
  }
  for (const p of sc.processes) {
    kernel.procs.set(p.pid, { pid: p.pid, mm: sim_mm_alloc_setup(p.pid, exec), uffds: [], exited: false });
    kernel.nextPid = Math.max(kernel.nextPid, p.pid + 1);
  }

  if (opts.observer !== undefined) {
    // Every object the kernel can reach is converted (impl/rt/track.ts); the run's constant parts
    // stay as they are.
    sim_track_static_deep(opts.scenario);
    sim_track_begin(kernel, KERNEL_UNTRACKED);
    sim_track_adopt(state);
  }
  const history: HistoryEntry[] = kernel.history;
  // Under footprint tracking (a reducing explorer), user threads and daemons start blocked on the
  // setup: a step in which one finds the setup unfinished and waits changes nothing, but its read
  // of `ready` races with the setup's last step, so a reducer would explore it at every point of
  // the setup. Untracked runs keep them runnable (counterexample schedules may switch to a thread
  // at step 0); an execution that starts them after the setup is the same either way.
  const waitSetup = opts.observer !== undefined ? block('wait for setup', ready) : undefined;
  state.setupTid = exec.spawn('setup', () => sim_setup_task(kernel, opts, state, setupHistory));

  const threads: number[] = [];
  for (const t of sc.threads) {
    const tid = exec.spawn(t.name, () => sim_user_thread(t.program, history, ready), waitSetup !== undefined ? { start: waitSetup } : {});
    kernel.threads.set(tid, { tid, pid: t.pid, comm: t.name, exiting: false });
    threads.push(tid);
  }
  for (const d of sc.daemons ?? []) spawnDaemon(kernel, d, ready, waitSetup);
  return { exec, kernel, history, threads, setupHistory };
}

/**
 * The setup task: kernel init, devices, each process's setup operations (their results recorded
 * for the model), kernel-side setup actions. A module-level generator function, not a literal
 * per run (see Execution.spawn).
 */
function* sim_setup_task(
  kernel: Kernel, opts: SimOptions, state: { setupTid: number; setupDone: boolean },
  setupHistory: { op: import('../../model/ops.js').ModelOp; result: import('../../model/ops.js').ModelResult }[],
): Task<void> {
  const sc = opts.scenario;
  const init = kfn(kernel, 'sim_kernel_init');
  if (init) yield* init(sc);
  // Scenario files named /dev/… are character devices (impl/drivers/misc_device.ts).
  const devices = kfn(kernel, 'sim_register_devices');
  if (devices) yield* devices();
  const th = { tid: state.setupTid, pid: 0, comm: 'setup', exiting: false };
  kernel.threads.set(state.setupTid, th);
  for (const p of sc.processes) {
    (th as { pid: number }).pid = p.pid;
    for (const op of p.setup) {
      const r = yield* sim_do_user_op(op);
      setupHistory.push({ op, result: r });
      if (r.kind === 'errno' || r.kind === 'signal') {
        throw new Error(`scenario setup failed: P${p.pid} ${op.op} gave ${JSON.stringify(r)}`);
      }
    }
  }
  for (const a of sc.kernelSetup ?? []) yield* runSetupAction(kernel, a);
  if (opts.setup) yield* opts.setup(kernel);
  kernel.threads.delete(state.setupTid);
  kernel.faultInjection = sc.faultInjection ?? false;
  kernel.faultInjectionLeft = FAULT_INJECTION_TIMES;
  state.setupDone = true;
  kernel.setupSteps = kernel.exec.step + 1;
}

function* runSetupAction(kernel: Kernel, a: SetupAction): Task<void> {
  const f = kfn(kernel, `sim_setup_${a.do}`);
  if (!f) throw new Error(`scenario setup action ${a.do} is not implemented by this kernel`);
  yield* f(a);
}

function spawnDaemon(kernel: Kernel, d: DaemonSpec, ready: () => boolean, start: BlockOp | undefined): void {
  const name = `sim_daemon_${d.kind}`;
  const f = kfn(kernel, name);
  if (!f) throw new Error(`daemon ${d.kind} is not implemented by this kernel`);
  kernel.exec.spawn(d.kind, () => sim_daemon_task(f, d, ready), { daemon: true, ...(start !== undefined ? { start } : {}) });
}

function* sim_daemon_task(f: (...a: unknown[]) => Task<unknown>, d: DaemonSpec, ready: () => boolean): Task<void> {
  if (!ready()) yield block('wait for setup', ready);
  yield* f(d);
}

/** Build and run. */
export function sim_run(opts: SimOptions): SimRun {
  const r = sim_prepare(opts);
  sim_set_kernel(r.kernel);
  let outcome: Outcome;
  try {
    outcome = r.exec.run();
  } finally {
    if (opts.observer !== undefined) sim_track_end();
  }
  return { ...r, outcome };
}

/** The Kernel's fields that are the run's constants, not its state: left untracked. */
const KERNEL_UNTRACKED: readonly string[] = ['fn', 'cfg', 'exec', 'stats', 'scenario', 'variant'];
