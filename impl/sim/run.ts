/**
 * Running a scenario on a kernel variant under a scheduler: build the Execution, the Kernel, the
 * setup task, the user threads and the daemons; run; return the outcome and the history.
 */
import { FAULT_INJECTION_TIMES } from '../include/linux/fault_inject.js';
import { Execution, type ExecutionHooks, type Outcome } from '../rt/execution.js';
import type { Scheduler } from '../rt/scheduler.js';
import { block, type Task, type Violation } from '../rt/task.js';
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

/** Build a run without starting it. */
export function sim_prepare(opts: SimOptions): Omit<SimRun, 'outcome'> {
  sim_reset_ids();
  const hooks = mergeHooks(baseHooks, opts.hooks);
  const exec = new Execution({
    scheduler: opts.scheduler,
    trace: opts.trace ?? false,
    hooks,
    maxSteps: opts.maxSteps ?? opts.scenario.maxSteps,
  });
  const kernel = new Kernel(opts.variant.cfg, opts.variant.table(), opts.variant.name, exec);
  exec.world = kernel;
  kernel.scenario = opts.scenario;
  // Fault injection starts when the setup is done: the setup builds the scenario's starting state.
  kernel.faultInjection = false;
  const history: HistoryEntry[] = kernel.history;
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

  state.setupTid = exec.spawn('setup', () => sim_setup_task(kernel, opts, state, setupHistory));

  const threads: number[] = [];
  for (const t of sc.threads) {
    const tid = exec.spawn(t.name, () => sim_user_thread(t.program, history, ready));
    kernel.threads.set(tid, { tid, pid: t.pid, comm: t.name, exiting: false });
    threads.push(tid);
  }
  for (const d of sc.daemons ?? []) spawnDaemon(kernel, d, ready);
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
}

function* runSetupAction(kernel: Kernel, a: SetupAction): Task<void> {
  const f = kfn(kernel, `sim_setup_${a.do}`);
  if (!f) throw new Error(`scenario setup action ${a.do} is not implemented by this kernel`);
  yield* f(a);
}

function spawnDaemon(kernel: Kernel, d: DaemonSpec, ready: () => boolean): void {
  const name = `sim_daemon_${d.kind}`;
  const f = kfn(kernel, name);
  if (!f) throw new Error(`daemon ${d.kind} is not implemented by this kernel`);
  kernel.exec.spawn(d.kind, () => sim_daemon_task(f, d, ready), { daemon: true });
}

function* sim_daemon_task(f: (...a: unknown[]) => Task<unknown>, d: DaemonSpec, ready: () => boolean): Task<void> {
  if (!ready()) yield block('wait for setup', ready);
  yield* f(d);
}

/** Build and run. */
export function sim_run(opts: SimOptions): SimRun {
  const r = sim_prepare(opts);
  sim_set_kernel(r.kernel);
  const outcome = r.exec.run();
  return { ...r, outcome };
}
