/**
 * The simulated kernel instance of one execution: its configuration, its function table (with a
 * variant's overrides applied), and its global state (processes, files, the swap device, the
 * history of user-visible operations, lock statistics).
 *
 * `k` is the kernel of the execution that is running, like the kernel's globals: kernel code reads
 * `k.cfg` and calls `k.fn.<function>`. Only one execution runs at a time; sim_run_execution sets it.
 */
import type { KernelConfig } from './config.js';
import type { KernelFns } from './table.js';
import type { file, mm_struct, userfaultfd_ctx } from '../include/linux/mm_types.js';
import type { VmaLockEvent } from '../include/linux/mm_flags.js';
import type { Execution } from '../rt/execution.js';
import type { ScenarioSpec } from './scenario.js';
import type { HistoryEntry } from './user.js';
import { current } from '../rt/execution.js';

const currentTaskId = (): number => current().id;

/** A simulated process (the parts of task_struct/signal_struct the mm paths use). */
export interface sim_process {
  readonly pid: number;
  /**
   * The thread-group leader's task->mm (the task that ran the process's setup; /proc and
   * fork look the process up through it). It holds the mm_users reference the mm was created
   * with; the process's user threads hold one each (sim_thread.mm).
   */
  mm: mm_struct | null;
  /** The userfaultfd contexts this process opened. */
  readonly uffds: userfaultfd_ctx[];
  /** SIGNAL_GROUP_EXIT: exit_group(2) ran (do_group_exit). */
  exited: boolean;
  /**
   * The descriptor table (files_struct), by the scenario file's name: a reference on each open
   * file (impl/fs/file_table.ts). Absent for a test's hand-built process: it sees every file.
   */
  files?: Map<string, file>;
}

/** Per-task kernel context (task_struct bits): which process a simulated thread belongs to. */
export interface sim_thread {
  readonly tid: number;
  readonly pid: number;
  readonly comm: string;
  /** PF_EXITING */
  exiting: boolean;
  /**
   * task->mm of a user thread: set when the thread starts (sim_clone_thread: clone(CLONE_VM)
   * from its process, an mm_users reference of its own), cleared by its exit_mm. Undefined for
   * the tasks that act for a process without being one of its threads (the setup task, the
   * userfaultfd monitor, test tasks bound to a process): they use the process's mm.
   */
  mm?: mm_struct | null;
  /** task->task_works: the final fputs queued to run on the way back to user space (task_work_add). */
  task_works?: file[];
  /** exit_task_work has run: task_work_add fails (the fput goes to delayed_fput). */
  sim_task_work_exited?: boolean;
}

/** Logical-time contention figures (for the design comparisons). */
export interface SimStats {
  readonly vma_lock: Record<VmaLockEvent, number>;
  /** Faults that ended up taking mmap_lock (fallbacks and mmap-only kernels). */
  mmap_lock_faults: number;
  /** Faults that completed under the VMA lock. */
  vma_lock_faults: number;
  /** Retries (VM_FAULT_RETRY) seen by the arch fault handler. */
  fault_retries: number;
  /** Failures injected (impl/include/linux/fault_inject.ts should_fail), when any. */
  injected_failures?: number;
}

export class Kernel {
  readonly fn: KernelFns;
  readonly procs = new Map<number, sim_process>();
  readonly threads = new Map<number, sim_thread>();
  readonly files = new Map<string, file>();
  nextPid = 1;
  /** Orders history events (invocations and responses) in real time; see HistoryEntry. */
  historySeq = 0;
  /**
   * The history of user-visible operations: the user threads' and those of user-space daemons
   * (the userfaultfd monitor) that the model judges (sim_user_op).
   */
  readonly history: HistoryEntry[] = [];
  readonly stats: SimStats = {
    vma_lock: { VMA_LOCK_SUCCESS: 0, VMA_LOCK_ABORT: 0, VMA_LOCK_RETRY: 0, VMA_LOCK_MISS: 0 },
    mmap_lock_faults: 0,
    vma_lock_faults: 0,
    fault_retries: 0,
  };
  /** The scenario this kernel runs (set by sim_prepare). */
  scenario: ScenarioSpec = { name: '', family: '', processes: [], threads: [] };
  /**
   * Let allocations and reads fail (scenario.faultInjection, from the end of the setup): -ENOMEM,
   * VM_FAULT_OOM and I/O-error paths, decided by the scheduler (impl/include/linux/fault_inject.ts).
   */
  faultInjection = false;
  /** Failures still allowed in this run (fault_inject.ts FAULT_INJECTION_TIMES). */
  faultInjectionLeft = 0;
  /** Steps the setup task took to finish (the run's concurrent part starts after them; −1: not done). */
  setupSteps = -1;
  /** Free-form state of the swap device, block device, etc., owned by their modules. */
  readonly ext = new Map<string, unknown>();

  constructor(
    readonly cfg: KernelConfig,
    fn: KernelFns,
    readonly variant: string,
    readonly exec: Execution,
  ) {
    this.fn = fn;
  }

  /** Module-owned state, created on first use (e.g. the swap device). */
  state<T>(key: string, init: () => T): T {
    let v = this.ext.get(key) as T | undefined;
    if (v === undefined) {
      v = init();
      this.ext.set(key, v);
    }
    return v;
  }
}

/** The kernel of the running execution. */
export let k: Kernel = undefined as unknown as Kernel;

export function sim_set_kernel(kernel: Kernel): void {
  k = kernel;
}

/** count_vm_vma_lock_event (CONFIG_PER_VMA_LOCK_STATS). */
export function count_vm_vma_lock_event(ev: VmaLockEvent): void {
  k.stats.vma_lock[ev]++;
}

/** The simulated thread that is running (task_struct of `current`). */
export function current_thread(): sim_thread {
  const t = k.threads.get(currentTaskId());
  if (!t) throw new Error(`task ${currentTaskId()} is not a simulated user thread (no current->mm)`);
  return t;
}

/**
 * current->mm: the mm of the running user thread (null for kernel threads, and for a thread
 * after its exit_mm).
 */
export function current_mm(): mm_struct | null {
  const t = k.threads.get(currentTaskId());
  if (!t) return null;
  if (t.mm !== undefined) return t.mm;
  return k.procs.get(t.pid)?.mm ?? null;
}
