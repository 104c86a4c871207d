/**
 * User space: threads that run programs of loads, stores and syscalls. A load or store is the
 * MMU's page-table walk (atomic, like the hardware walker); when it finds no usable PTE it raises a
 * page fault (do_user_addr_fault) and retries the access, as the CPU re-executes the instruction.
 * Every operation records an invocation and a response in the history, which properties/ judges
 * against the model.
 */
import type { ModelOp, ModelResult, MapsLine } from '../../model/ops.js';
import { block, type Task } from '../rt/task.js';
import { Violation } from '../rt/task.js';
import { current } from '../rt/execution.js';
import { k, current_mm } from './kernel.js';
import {
  PAGE_SHIFT, PMD_SHIFT, PTRS_PER_PTE, X86_PF_PROT, X86_PF_USER, X86_PF_WRITE,
  PROT_READ, PROT_WRITE, PROT_EXEC, MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS,
  MAP_GROWSDOWN, MAP_FIXED_NOREPLACE,
} from '../include/linux/mm_flags.js';
import type { folio, mm_struct, pte_t } from '../include/linux/mm_types.js';
import { kasan_check_read, kasan_check_write } from '../sync/kasan.js';
import { fatal_signal_pending, sim_task_sync_of } from '../sync/sched.js';

/** One user-visible operation of a history: invocation and response at global steps. */
export interface HistoryEntry {
  readonly id: number;
  readonly task: number;
  readonly op: ModelOp;
  result?: ModelResult;
  readonly invoke: number;
  response: number;
  /**
   * The real-time order of the invocation and the response among all history events (two events
   * can share a step: a thread's next call starts in the step its previous call returned in).
   */
  readonly invokeSeq: number;
  responseSeq: number;
}

export const SIGSEGV = 11;
export const SIGBUS = 7;

/** A fault that keeps retrying this often for one access is a liveness violation. */
export const MAX_FAULT_RETRIES = 64;

/** Loosely typed access to kernel functions the user layer calls by name. */
type KernelCall = (...args: never[]) => Task<unknown>;
function kfn(name: string): KernelCall {
  const f = (k.fn as unknown as Record<string, KernelCall | undefined>)[name];
  if (!f) throw new Error(`kernel function ${name} is not implemented`);
  return f;
}
/**
 * The kernel function's own generator (not a generator wrapping it): every step resumes each
 * generator of a task's call chain, so a wrapper level costs on every step below it.
 */
function call<R>(name: string, ...args: unknown[]): Task<R> {
  return (kfn(name) as (...a: unknown[]) => Task<unknown>)(...args) as Task<R>;
}

/**
 * The user thread body: wait until `ready()` (the scenario's setup is done), start as a thread
 * of its process (sim_clone_thread: its own reference on the process's mm, so a thread of a child
 * forked in the setup runs on the child's mm), then run each operation, recording it in the
 * history. The loop is sim_user_op's, inlined: one generator less on every step of the thread.
 *
 * Process exit (exit_group, do_group_exit) kills the process's other threads: a thread killed
 * during an operation finishes it in the kernel, and dies on the way back to user space
 * (sim_exit_to_user_mode): the operation's result never reaches user space, so it stays pending
 * in the history (it may or may not have taken effect), and the thread runs nothing more. A thread
 * whose process may still be exited by one of its siblings (a sibling's program has exit(2))
 * stays in user space when its program is done (pause()) until the SIGKILL comes, and exits then:
 * its mm reference keeps the address space alive until that point, as in the kernel.
 */
export function* sim_user_thread(program: readonly ModelOp[], history: HistoryEntry[], ready?: () => boolean): Task<void> {
  if (ready !== undefined && !ready()) yield block('wait for setup', ready);
  const th = k.threads.get(current().id);
  if (th !== undefined && k.fn.sim_clone_thread(th) < 0) return;
  for (const op of program) {
    const e = sim_history_invoke(op, history);
    const r = yield* sim_do_user_op(op);
    if (th !== undefined && fatal_signal_pending()) {
      yield* k.fn.sim_exit_to_user_mode(); // dies: e stays pending
      return;
    }
    sim_history_respond(e, r);
    if (op.op === 'exit') return;
  }
  if (th !== undefined && th.mm && sim_sibling_may_exit(th)) {
    const me = sim_task_sync_of(current());
    yield block('pause', () => me.fatal);
    yield* k.fn.sim_exit_to_user_mode();
  }
}

/** Whether another user thread of th's process has exit(2) in its program (the thread pauses for it). */
function sim_sibling_may_exit(th: { readonly pid: number; readonly comm: string }): boolean {
  return k.scenario.threads.some((t) => t.pid === th.pid && t.name !== th.comm && t.program.some((o) => o.op === 'exit'));
}

/**
 * One user-space operation of the running task, recorded in the history (k.history unless
 * given): user threads, and user-space daemons such as the userfaultfd monitor, whose reads and
 * UFFDIO_COPYs the model must see as much as the faults they resolve.
 */
export function* sim_user_op(op: ModelOp, history: HistoryEntry[] = k.history): Task<ModelResult> {
  const e = sim_history_invoke(op, history);
  return sim_history_respond(e, yield* sim_do_user_op(op));
}

/** The invocation of op by the running task, appended to the history. */
function sim_history_invoke(op: ModelOp, history: HistoryEntry[]): HistoryEntry {
  const e: HistoryEntry = {
    id: history.length, task: current().id, op, invoke: k.exec.step, response: Infinity,
    invokeSeq: k.historySeq++, responseSeq: Infinity,
  };
  history.push(e);
  return e;
}

/** Its response. */
function sim_history_respond(e: HistoryEntry, result: ModelResult): ModelResult {
  e.result = result;
  e.response = k.exec.step;
  e.responseSeq = k.historySeq++;
  return result;
}

/**
 * Dispatch one operation to the kernel: loads and stores go straight to the MMU's generator
 * (no dispatching generator in between on every step of a fault).
 */
export function sim_do_user_op(op: ModelOp): Task<ModelResult> {
  if (op.op === 'load') return sim_user_access(op.addr, false, 0);
  if (op.op === 'store') return sim_user_access(op.addr, true, op.value);
  return sim_do_syscall(op);
}

/**
 * One syscall, and on its way back to user space the task work it queued (task_work_run: a final
 * fput's release, impl/fs/file_table.ts).
 */
function* sim_do_syscall(op: ModelOp): Task<ModelResult> {
  const r = yield* sim_do_syscall_body(op);
  k.fn.task_work_run();
  return r;
}

function* sim_do_syscall_body(op: ModelOp): Task<ModelResult> {
  switch (op.op) {
    case 'mmap': {
      const prot = (op.prot.read ? PROT_READ : 0) | (op.prot.write ? PROT_WRITE : 0) | (op.prot.exec ? PROT_EXEC : 0);
      const flags = (op.flags.shared ? MAP_SHARED : MAP_PRIVATE) | (op.flags.anonymous ? MAP_ANONYMOUS : 0) |
        (op.flags.fixed ? MAP_FIXED : 0) | (op.flags.noreplace ? MAP_FIXED_NOREPLACE : 0) |
        (op.flags.growsdown ? MAP_GROWSDOWN : 0);
      // ksys_mmap_pgoff's fget(fd) / fput(file): the descriptor's file, with a reference for the call.
      const f = op.file !== undefined ? k.fn.fget(op.file) : null;
      if (op.file !== undefined && !f) return { kind: 'errno', errno: -9 };
      const r = yield* call<number>('ksys_mmap_pgoff', op.addr, op.len, prot, flags, f, (op.offset ?? 0) >> PAGE_SHIFT);
      if (f) k.fn.fput(f);
      return r < 0 ? { kind: 'errno', errno: r } : { kind: 'addr', addr: r };
    }
    case 'munmap':
      return errOrOk(yield* call<number>('__vm_munmap', op.addr, op.len, true));
    case 'mprotect': {
      const prot = (op.prot.read ? PROT_READ : 0) | (op.prot.write ? PROT_WRITE : 0) | (op.prot.exec ? PROT_EXEC : 0);
      return errOrOk(yield* call<number>('do_mprotect_pkey', op.addr, op.len, prot, -1));
    }
    case 'fork': {
      const r = yield* call<number>('sim_fork');
      return r < 0 ? { kind: 'errno', errno: r } : { kind: 'pid', pid: r };
    }
    case 'exit':
      yield* call<void>('sim_exit_mm');
      return { kind: 'ok' };
    case 'read_maps': {
      const lines = yield* call<readonly MapsLine[] | number>('sim_read_maps', op.target);
      return typeof lines === 'number' ? { kind: 'errno', errno: lines } : { kind: 'maps', lines };
    }
    default: {
      // Every other operation is implemented by a kernel module as sim_sys_<op>(op) → ModelResult.
      return yield* call<ModelResult>(`sim_sys_${op.op}`, op);
    }
  }
}

function errOrOk(r: number): ModelResult {
  return r < 0 ? { kind: 'errno', errno: r } : { kind: 'ok' };
}

/**
 * The CPU's access to user memory: walk the page tables (atomically, as the hardware walker does),
 * and on a missing or insufficient PTE raise a page fault and re-execute.
 */
export function* sim_user_access(addr: number, write: boolean, value: number): Task<ModelResult> {
  const mm = current_mm();
  // A thread after its exit_mm runs no user code (sim_user_thread stops it): this is a bug of the simulation.
  if (!mm) throw new Error('user access from a thread without an mm');
  const tid = current().id;
  const page = addr - (addr % 2 ** PAGE_SHIFT);
  for (let tries = 0; ; tries++) {
    yield write ? 'user:store' : 'user:load';
    // The TLB first (arch/x86/mm/tlb.ts): a cached translation is used without a walk.
    const hit = k.fn.sim_tlb_lookup(tid, mm, page);
    if (hit && (!write || hit.write)) return access(hit.folio, write, value, write ? 'user store (through a TLB entry)' : 'user load (through a TLB entry)');
    const pte = sim_mmu_walk(mm, addr);
    // A _PAGE_PROTNONE entry (PROT_NONE VMA) is not present to the MMU.
    if (pte && pte.kind === 'present' && !pte.protnone && (!write || pte.write)) {
      k.fn.sim_tlb_fill(tid, mm, page, { folio: pte.folio, write: pte.write });
      return access(pte.folio, write, value, write ? 'user store (through a PTE)' : 'user load (through a PTE)');
    }
    if (tries >= MAX_FAULT_RETRIES) {
      throw new Violation('fault-livelock', `a ${write ? 'store' : 'load'} at 0x${addr.toString(16)} faulted ${tries} times without making progress`);
    }
    const present = pte !== null && pte.kind === 'present' && !pte.protnone;
    const error_code = X86_PF_USER | (write ? X86_PF_WRITE : 0) | (present ? X86_PF_PROT : 0);
    const sig = yield* call<number>('do_user_addr_fault', { user: true }, error_code, addr);
    // exit_to_user_mode: the task work the fault queued (a final fput of the file it pinned).
    k.fn.task_work_run();
    if (sig === SIGSEGV) return { kind: 'signal', sig: 'SIGSEGV' };
    if (sig === SIGBUS) return { kind: 'signal', sig: 'SIGBUS' };
    // SIGKILL pending (a sibling's exit_group): the thread dies on its way back to user space and
    // never re-executes the access (the caller, sim_user_thread, runs its exit; no response).
    if (fatal_signal_pending()) return { kind: 'ok' };
  }
}

function access(f: folio, write: boolean, value: number, site: string): ModelResult {
  if (write) {
    kasan_check_write(f, site);
    f.data = value;
    return { kind: 'ok' };
  }
  kasan_check_read(f, site);
  return { kind: 'value', value: f.data };
}

/**
 * The hardware page-table walk: the PTE for addr, or null when no PTE table maps it. A present
 * huge PMD (a THP) maps addr's page of the folio directly: the walk returns the equivalent PTE
 * (that page, the entry's permissions); an invalidated one (a split in progress) maps nothing.
 */
export function sim_mmu_walk(mm: mm_struct, addr: number): pte_t | null {
  const pmd = mm.pgd.get(Math.floor(addr / 2 ** PMD_SHIFT));
  const huge = pmd?.huge ?? null;
  if (huge !== null) {
    if (!huge.present) return null;
    kasan_check_read(huge.folio, 'page-table walk (MMU, huge PMD)');
    const page = huge.folio.pages![Math.floor(addr / 2 ** PAGE_SHIFT) % PTRS_PER_PTE]!;
    return { kind: 'present', folio: page, write: huge.write, dirty: huge.dirty, young: huge.young, special: false, uffd_wp: false, protnone: huge.protnone ?? false };
  }
  const table = pmd?.table ?? null;
  if (!table) return null;
  kasan_check_read(table, 'page-table walk (MMU)');
  return table.entries[Math.floor(addr / 2 ** PAGE_SHIFT) % PTRS_PER_PTE]!;
}
