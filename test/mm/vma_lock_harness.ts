/**
 * Test harness for the mmap_lock / VMA-lock / VMA-tree unit tests: a Kernel and an Execution
 * built directly (no user layer), a setup task that builds the address spaces with the kernel's
 * own functions, and the test's tasks.
 *
 * Task ids are fixed, so hand-written schedules stay valid: 0 rcu_gp_kthread (spawned up front),
 * 1 setup, 2… the test's tasks in order (spawned when setup finishes, after an rcu_barrier, so
 * no RCU callback of the setup is left pending).
 */
import {
  DfsStrategy, Execution, explore, ReplayScheduler, type ExecutionHooks, type Outcome, type Scheduler,
} from '../../impl/rt/index.js';
import { waitUntil, type Task } from '../../impl/rt/task.js';
import { Kernel, sim_set_kernel, k } from '../../impl/sim/kernel.js';
import type { Variant } from '../../impl/sim/variant.js';
import { anon_vma, mm_struct, sim_reset_ids, type vm_area_struct } from '../../impl/include/linux/mm_types.js';
import { VM_READ, VM_WRITE, VM_MAYREAD, VM_MAYWRITE } from '../../impl/include/linux/mm_flags.js';
import { lockdepHooks, rcu_barrier, rcu_init, sim_lockdep_set_enabled } from '../../impl/sync/index.js';
import { sim_vma_lock_state } from '../../impl/mm/mmap_lock.js';
import { Violation } from '../../impl/rt/task.js';

export const RCU_KTHREAD = 0;
export const SETUP = 1;
/** Id of the test's i-th task. */
export const T = (i: number): number => 2 + i;

/** The per-run world the tasks share. */
export class LockWorld {
  readonly mms = new Map<number, mm_struct>();
  /** Named VMAs built by the setup. */
  readonly vmas = new Map<string, vm_area_struct>();
  /** Results recorded by the tasks. */
  readonly out = new Map<string, unknown>();
  /** Flags the tasks synchronise on. */
  readonly flags = new Set<string>();
  constructor(readonly kernel: Kernel, readonly exec: Execution) {}
  mm(pid = 1): mm_struct {
    return this.mms.get(pid)!;
  }
  vma(name: string): vm_area_struct {
    const v = this.vmas.get(name);
    if (!v) throw new Error(`no VMA named ${name}`);
    return v;
  }
  /** Wait (a scheduling point) until `flag` is set. */
  *wait(flag: string): Task<void> {
    yield* waitUntil(`test: wait ${flag}`, () => this.flags.has(flag));
  }
  set(flag: string): void {
    this.flags.add(flag);
  }
  /** The id a task runs as, by its name. */
  tid(name: string): number {
    return this.exec.tasks.findIndex((t) => t.name === name);
  }
}

export interface LockTest {
  readonly variant: Variant;
  readonly pids?: readonly number[];
  /** Builds the address spaces (runs in the setup task, a kernel context). */
  readonly setup?: (w: LockWorld) => Task<void>;
  readonly tasks: readonly (readonly [string, (w: LockWorld) => Task<unknown>])[];
  readonly hooks?: ExecutionHooks;
  readonly maxSteps?: number;
  readonly lockdep?: boolean;
  /** Check the VMA-lock invariant I3 (never read- and write-locked at once) after every step. */
  readonly checkI3?: boolean;
  /** Called after every step (observations for the test). */
  readonly observe?: (w: LockWorld) => void;
}

/** I3 over every VMA of every mm (sim_vma_lock_state), as a per-step hook. */
export function i3Hook(w: () => LockWorld): ExecutionHooks {
  return {
    afterStep: () => {
      const world = w();
      for (const vma of world.vmas.values()) {
        const s = sim_vma_lock_state(vma);
        if (s.readers > 0 && s.writeLocked) {
          return new Violation('I3', `${vma} is read-locked (${s.readers}) and write-locked at once`, []);
        }
      }
      return null;
    },
  };
}

function merge(a: ExecutionHooks, b: ExecutionHooks | undefined): ExecutionHooks {
  if (!b) return a;
  return {
    afterStep: (e, t) => a.afterStep?.(e, t) ?? b.afterStep?.(e, t) ?? null,
    onTaskExit: (e, t) => a.onTaskExit?.(e, t) ?? b.onTaskExit?.(e, t) ?? null,
    atEnd: (e) => a.atEnd?.(e) ?? b.atEnd?.(e) ?? null,
    describe: a.describe ?? b.describe,
  };
}

export function build(spec: LockTest, scheduler: Scheduler, trace = false): LockWorld {
  sim_reset_ids();
  let world: LockWorld | null = null;
  let hooks = merge(lockdepHooks, spec.hooks);
  if (spec.checkI3) hooks = merge(hooks, i3Hook(() => world!));
  const observe = spec.observe;
  if (observe) hooks = merge(hooks, { afterStep: () => { observe(world!); return null; } });
  const exec = new Execution({ scheduler, hooks, trace, maxSteps: spec.maxSteps ?? 20_000 });
  if (spec.lockdep === false) sim_lockdep_set_enabled(exec, false);
  const kernel = new Kernel(spec.variant.cfg, spec.variant.table(), spec.variant.name, exec);
  exec.world = kernel;
  sim_set_kernel(kernel);
  const w = new LockWorld(kernel, exec);
  world = w;
  for (const pid of spec.pids ?? [1]) {
    const mm = new mm_struct(pid);
    w.mms.set(pid, mm);
    kernel.procs.set(pid, { pid, mm, uffds: [], exited: false });
  }
  rcu_init(exec);
  exec.spawn('setup', function* setup(): Task<void> {
    if (spec.setup) yield* spec.setup(w);
    yield* rcu_barrier();
    for (const [name, body] of spec.tasks) exec.spawn(name, () => body(w));
  });
  return w;
}

/** One run (default schedule, or `schedule`, strict). */
export function run(spec: LockTest, schedule = 'v1:', trace = false): { outcome: Outcome; w: LockWorld } {
  const w = build(spec, new ReplayScheduler(schedule, true), trace);
  sim_set_kernel(w.kernel);
  return { outcome: w.exec.run(), w };
}

/** Every schedule within the preemption bound; `check` sees each finished run. */
export function dfs(
  spec: LockTest, preemptionBound: number, check?: (o: Outcome, w: LockWorld) => void, maxExecutions = 200_000,
): { executions: number; complete: boolean; outcomes: { outcome: Outcome; w: LockWorld }[] } {
  const outcomes: { outcome: Outcome; w: LockWorld }[] = [];
  let cur: LockWorld | null = null;
  const r = explore(
    new DfsStrategy({ preemptionBound, maxExecutions }),
    (s) => {
      cur = build(spec, s);
      return cur.exec;
    },
    { stopOnFailure: false, onRun: (o) => { outcomes.push({ outcome: o, w: cur! }); check?.(o, cur!); } },
  );
  return { executions: r.executions, complete: r.complete, outcomes };
}

/** Fail loudly on a simulation crash or a schedule that does not fit. */
export function expectSane(o: Outcome): void {
  if (o.status === 'crash' || o.status === 'bad-schedule') throw new Error(`${o.status}: ${o.error}`);
}

// ---------------------------------------------------------------------------------------------
// Setup helpers (kernel context: call from LockTest.setup)

export interface VmaSpec {
  readonly start: number;
  readonly end: number;
  readonly flags?: number;
  /** Give it an anon_vma (as after its first anonymous fault). */
  readonly anon_vma?: boolean;
  /** A file-like VMA: vm_ops set (not vma_is_anonymous). */
  readonly file?: boolean;
}

export const RW = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE;

/**
 * Insert a VMA the way mmap_region does: mmap_write_lock, vm_area_alloc, fields,
 * vma_start_write (a new VMA is locked before it becomes visible), vma_iter_store,
 * mmap_write_unlock.
 */
export function* sim_test_map(w: LockWorld, name: string, mm: mm_struct, s: VmaSpec): Task<vm_area_struct> {
  yield* k.fn.mmap_write_lock(mm);
  const vma = yield* k.fn.vm_area_alloc(mm);
  vma.vm_start = s.start;
  vma.vm_end = s.end;
  vma.vm_flags = s.flags ?? RW;
  vma.vm_page_prot = vma.vm_flags;
  vma.vm_pgoff = s.start >> 12;
  if (s.anon_vma ?? true) vma.anon_vma = new anon_vma();
  if (s.file) vma.vm_ops = { name: 'test_file_vm_ops' };
  yield* k.fn.vma_start_write(vma);
  yield* k.fn.vma_iter_store(mm, vma);
  mm.map_count++;
  k.fn.mmap_write_unlock(mm);
  w.vmas.set(name, vma);
  return vma;
}

/**
 * Remove a VMA the way munmap does (vms_gather_munmap_vmas … remove_vma): under
 * mmap_write_lock, vma_start_write, vma_mark_detached, vma_iter_clear; then mmap_write_unlock and
 * vm_area_free.
 */
export function* sim_test_unmap(mm: mm_struct, vma: vm_area_struct): Task<void> {
  yield* k.fn.mmap_write_lock(mm);
  yield* k.fn.vma_start_write(vma);
  yield* k.fn.vma_mark_detached(vma);
  yield* k.fn.vma_iter_clear(mm, vma.vm_start, vma.vm_end);
  mm.map_count--;
  k.fn.mmap_write_unlock(mm);
  k.fn.vm_area_free(vma);
}
