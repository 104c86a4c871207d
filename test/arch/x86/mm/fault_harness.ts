/**
 * Test harness for the fault path (test/arch/**, test/mm/{memory,pgtable_generic,rmap,page_alloc}):
 * a full run (impl/sim/run.ts sim_prepare: user threads through the user layer and
 * do_user_addr_fault) whose address space is built in the setup task by hand with the kernel's
 * own functions (vm_area_alloc, vma_start_write, vma_iter_store under mmap_write_lock), plus
 * kernel tasks of the test (writers holding locks, direct handle_mm_fault calls).
 *
 * Schedules are written by hand as label scripts (ScriptScheduler): "run task X until its next
 * step is labelled L, then task Y until …", which stays valid when other files add scheduling
 * points; the run's `outcome.schedule` is the v1 string that replays it byte for byte.
 */
import { block, type Task } from '../../../../impl/rt/task.js';
import type { Scheduler } from '../../../../impl/rt/scheduler.js';
import type { Execution, ExecutionHooks, Outcome } from '../../../../impl/rt/execution.js';
import { ReplayScheduler } from '../../../../impl/rt/index.js';
import { sim_prepare } from '../../../../impl/sim/run.js';
import { k, sim_set_kernel, type Kernel } from '../../../../impl/sim/kernel.js';
import { generationVariant, type Variant } from '../../../../impl/sim/variant.js';
import type { HistoryEntry } from '../../../../impl/sim/user.js';
import type { ModelOp } from '../../../../model/ops.js';
import type { mm_struct, vm_area_struct, vm_operations_struct, file } from '../../../../impl/include/linux/mm_types.js';
import { VM_MAYREAD, VM_MAYWRITE, VM_READ, VM_WRITE, VM_SHARED, VM_MAYSHARE } from '../../../../impl/include/linux/mm_flags.js';
import { lockdepHooks } from '../../../../impl/sync/lockdep.js';

export const PAGE = 0x1000;
/** The test address spaces live here (a PMD-aligned base, so one PTE table covers them). */
export const BASE = 0x40000000;

/** One script entry: run `task` (by name) until its next step's label contains `until`. */
export interface ScriptStep {
  readonly run: string;
  /** Stop before the step whose label contains this; omitted: run until it ends or blocks. */
  readonly until?: string;
}

/**
 * A scheduler that follows a label script, then the runtime's default; choices by label
 * (e.g. { 'folio_alloc:fail': 1 }), 0 otherwise.
 */
export class ScriptScheduler implements Scheduler {
  readonly name = 'script';
  exec: Execution | null = null;
  private i = 0;
  private readonly used = new Map<string, number>();
  constructor(private readonly script: readonly ScriptStep[], private readonly choices: Readonly<Record<string, number | readonly number[]>> = {}) {}

  pick(runnable: Int32Array, n: number, dflt: number): number {
    const exec = this.exec!;
    while (this.i < this.script.length) {
      const s = this.script[this.i]!;
      const t = exec.tasks.find((x) => x.name === s.run);
      if (t === undefined) throw new Error(`script: no task named ${s.run}`);
      const ok = Array.from(runnable.subarray(0, n)).includes(t.id);
      const reached = s.until !== undefined && t.label.includes(s.until);
      if (!t.done && ok && !reached) return t.id;
      if (!t.done && !ok && !reached && s.until !== undefined) {
        // Blocked before reaching its mark: let the others run (default) until it can go on.
        return dflt === t.id ? runnable[0]! : dflt;
      }
      this.i++;
    }
    return dflt;
  }

  /** A number answers every matching choice; a list answers the first ones in order, then 0. */
  choose(n: number, _step: number, _task: number, label: string): number {
    for (const [l, v] of Object.entries(this.choices)) {
      if (!label.includes(l)) continue;
      let x: number;
      if (typeof v === 'number') x = v;
      else {
        const i = this.used.get(l) ?? 0;
        this.used.set(l, i + 1);
        x = v[i] ?? 0;
      }
      return x < n ? x : 0;
    }
    return 0;
  }

  /** Script entries not reached (a test asserts the script was followed to its end). */
  get remaining(): number {
    return this.script.length - this.i;
  }
}

export interface KTask {
  readonly name: string;
  /** The process whose mm `current` has (for do_user_addr_fault from a kernel task). */
  readonly pid?: number;
  readonly body: (w: FaultWorld) => Task<unknown>;
}

export interface FaultTest {
  readonly gen?: string;
  readonly variant?: Variant;
  readonly pids?: readonly number[];
  readonly files?: readonly { readonly name: string; readonly pages: readonly number[] }[];
  /** Builds the address spaces (a kernel context with the mms; no user thread runs yet). */
  readonly setup?: (w: FaultWorld) => Task<void>;
  readonly threads?: readonly { readonly name: string; readonly pid?: number; readonly program: readonly ModelOp[] }[];
  readonly tasks?: readonly KTask[];
  readonly script?: readonly ScriptStep[];
  readonly choices?: Readonly<Record<string, number | readonly number[]>>;
  /** A strict v1 schedule instead of a script. */
  readonly schedule?: string;
  readonly faultInjection?: boolean;
  readonly hooks?: ExecutionHooks;
  readonly maxSteps?: number;
  readonly trace?: boolean;
}

/** What tasks share: the kernel, named VMAs and results. */
export class FaultWorld {
  readonly vmas = new Map<string, vm_area_struct>();
  readonly out = new Map<string, unknown>();
  readonly flags = new Set<string>();
  constructor(readonly kernel: Kernel, readonly exec: Execution) {}
  mm(pid = 1): mm_struct {
    return this.kernel.procs.get(pid)!.mm!;
  }
  vma(name: string): vm_area_struct {
    const v = this.vmas.get(name);
    if (!v) throw new Error(`no VMA named ${name}`);
    return v;
  }
  *wait(flag: string): Task<void> {
    yield block(`test: wait ${flag}`, () => this.flags.has(flag));
  }
  set(flag: string): void {
    this.flags.add(flag);
  }
}

export interface FaultRun {
  readonly outcome: Outcome;
  readonly w: FaultWorld;
  readonly history: HistoryEntry[];
  readonly scheduler: Scheduler;
}

export interface FaultBuild {
  readonly exec: Execution;
  readonly w: FaultWorld;
  readonly history: HistoryEntry[];
  readonly scheduler: Scheduler;
}

export function runFault(spec: FaultTest): FaultRun {
  const b = buildFault(spec);
  sim_set_kernel(b.w.kernel);
  const outcome = b.exec.run();
  return { outcome, w: b.w, history: b.history, scheduler: b.scheduler };
}

/** Build a run without starting it (for explore() with DFS / PCT strategies). */
export function buildFault(spec: FaultTest, given?: Scheduler): FaultBuild {
  const variant = spec.variant ?? generationVariant(spec.gen ?? 'v6.6');
  const scheduler: Scheduler = given ?? (spec.schedule !== undefined
    ? new ReplayScheduler(spec.schedule, true)
    : new ScriptScheduler(spec.script ?? [], spec.choices ?? {}));
  const pids = spec.pids ?? [1];
  let world: FaultWorld | null = null;
  let ready = false;
  const hooks: ExecutionHooks = mergeHooks(lockdepHooks, spec.hooks);
  const r = sim_prepare({
    variant,
    scheduler,
    trace: spec.trace,
    hooks,
    maxSteps: spec.maxSteps ?? 20_000,
    scenario: {
      name: 'fault-test',
      family: 'fault-test',
      files: spec.files,
      faultInjection: spec.faultInjection,
      processes: pids.map((pid) => ({ pid, setup: [] })),
      threads: (spec.threads ?? []).map((t) => ({ name: t.name, pid: t.pid ?? 1, program: t.program })),
    },
    setup: function* (kernel: Kernel): Task<void> {
      if (spec.setup) yield* spec.setup(world!);
      void kernel;
      ready = true;
    },
  });
  world = new FaultWorld(r.kernel, r.exec);
  if (scheduler instanceof ScriptScheduler) scheduler.exec = r.exec;
  for (const t of spec.tasks ?? []) {
    const w = world;
    const tid = r.exec.spawn(t.name, function* (): Task<unknown> {
      if (!ready) yield block('wait for setup', () => ready);
      return yield* t.body(w);
    });
    r.kernel.threads.set(tid, { tid, pid: t.pid ?? 1, comm: t.name, exiting: false });
  }
  sim_set_kernel(r.kernel);
  return { exec: r.exec, w: world, history: r.history, scheduler };
}

function mergeHooks(a: ExecutionHooks, b: ExecutionHooks | undefined): ExecutionHooks {
  if (!b) return a;
  return {
    afterStep: (e, t) => a.afterStep?.(e, t) ?? b.afterStep?.(e, t) ?? null,
    onTaskExit: (e, t) => a.onTaskExit?.(e, t) ?? b.onTaskExit?.(e, t) ?? null,
    atEnd: (e) => a.atEnd?.(e) ?? b.atEnd?.(e) ?? null,
    describe: a.describe ?? b.describe,
  };
}

/** Fail loudly on a crash or a schedule that does not fit; return the outcome. */
export function expectOk(r: FaultRun): FaultRun {
  const o = r.outcome;
  if (o.status !== 'ok') {
    const v = o.violation;
    throw new Error(`${o.status}: ${o.error ?? ''}${v ? `${v.property}: ${v.message}\n${v.report.join('\n')}` : ''}`);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Building VMAs (the setup task; the syscalls' mmap is not used so these tests stand alone)

export interface VmaSpec {
  readonly name: string;
  readonly start: number;
  readonly pages: number;
  readonly flags?: number;
  readonly pgoff?: number;
  readonly pid?: number;
  /** Give it an anon_vma up front (anon_vma_prepare under mmap_lock). */
  readonly anon_vma?: boolean;
  readonly file?: file;
  readonly ops?: vm_operations_struct;
}

export const RW = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE;
export const RO = VM_READ | VM_MAYREAD | VM_MAYWRITE;
export const SHARED = VM_SHARED | VM_MAYSHARE;

/** Insert a VMA the way mmap_region does: write-locked before it becomes visible. */
export function* addVma(w: FaultWorld, s: VmaSpec): Task<vm_area_struct> {
  const mm = w.mm(s.pid ?? 1);
  yield* k.fn.mmap_write_lock(mm);
  const vma = yield* k.fn.vm_area_alloc(mm);
  vma.vm_start = s.start;
  vma.vm_end = s.start + s.pages * PAGE;
  vma.vm_flags = s.flags ?? RW;
  vma.vm_page_prot = vma.vm_flags;
  vma.vm_pgoff = s.pgoff ?? s.start / PAGE;
  if (s.file) {
    vma.vm_file = s.file;
    s.file.f_count.refs++;
  }
  if (s.ops) vma.vm_ops = s.ops;
  yield* k.fn.vma_start_write(vma);
  yield* k.fn.vma_iter_store(mm, vma);
  mm.map_count++;
  if (s.file) s.file.f_mapping.i_mmap.add(vma);
  if (s.anon_vma) {
    const err = yield* k.fn.anon_vma_prepare(vma);
    if (err) throw new Error('anon_vma_prepare failed in setup');
  }
  k.fn.mmap_write_unlock(mm);
  w.vmas.set(s.name, vma);
  return vma;
}

/** A user load / store op. */
export const load = (addr: number): ModelOp => ({ op: 'load', addr }) as ModelOp;
export const store = (addr: number, value: number): ModelOp => ({ op: 'store', addr, value }) as ModelOp;

/** The PTE at addr (no step), for assertions. */
export function pteAt(mm: mm_struct, addr: number) {
  const pmd = mm.pgd.get(Math.floor(addr / 2 ** 21));
  return pmd?.table?.entries[Math.floor(addr / PAGE) % 512] ?? null;
}
