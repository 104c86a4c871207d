/**
 * Kernel: fs/userfaultfd.c + mm/userfaultfd.c — userfaultfd contexts, handle_userfault, the
 * UFFDIO_REGISTER / UNREGISTER / COPY / MOVE ioctls, read(2) of uffd_msgs, and the
 * non-cooperative events (fork, remap, remove, unmap) with ctx->mmap_changing.
 *
 * Each simulated process has at most one userfaultfd (k.procs.get(pid).uffds[0]), opened on the
 * first UFFDIO_REGISTER with UFFD_API and every non-cooperative feature (EVENT_FORK, EVENT_REMAP,
 * EVENT_REMOVE, EVENT_UNMAP), read non-blocking (O_NONBLOCK): the model's contract.
 *
 * Per generation (the kernel's code differs there):
 * - handle_userfault runs under the VMA lock from 6.6 ("mm: handle userfaults under VMA lock",
 *   k.cfg.uffd_under_vma_lock) and drops whichever lock the fault holds (release_fault_lock);
 *   before, lock_vma_under_rcu refused uffd-armed VMAs and it asserted mmap_lock.
 * - The ioctls (mfill_atomic, move_pages) lock the VMA with per-VMA locks and take
 *   ctx->map_changing_lock from 6.8 (Lokesh Gidra, "userfaultfd: use per-vma locks in userfaultfd
 *   operations", "userfaultfd: protect mmap_changing with rw_sem in userfaulfd_ctx"): see
 *   sim_uffd_ops_vma_lock(); before, they run under mmap_read_lock.
 * - UFFDIO_MOVE appeared in 6.8 (adef440691ba); older generations get its 6.8 form
 *   (mmap_read_lock) so that histories stay comparable with the model.
 *
 * Events: the task raising an event (fork, mremap, madvise, munmap) bumps mmap_changing while
 * it still holds mmap_lock (the *_prep functions), then — after dropping mmap_lock — queues the
 * message on event_wqh and sleeps until the monitor read(2)s it
 * (userfaultfd_event_wait_completion); mmap_changing drops when it wakes. While it is raised,
 * UFFDIO_COPY / MOVE return -EAGAIN (df2cc96e7701, B22, I18). madvise's userfaultfd_remove
 * drops mmap_read_lock itself and returns false.
 *
 * Left out: UFFDIO_ZEROPAGE / CONTINUE / POISON / WRITEPROTECT / WAKE, minor and wp faults (the
 * wp mode registers but never write-protects), hugetlb, UFFD_FEATURE_SIGBUS / THREAD_ID /
 * EXACT_ADDRESS, userfaultfd_release (the fd is never closed), poll, ctx->released (never
 * set), blocking read(2), the folio's large-folio / split paths and DMA pins of move_pages,
 * mmu notifiers, the MAP_PRIVATE-file-as-anon UFFDIO_COPY (private file VMAs cannot register).
 */
import { block, choose, step, type Task } from '../rt/task.js';
import { current } from '../rt/execution.js';
import { k, current_mm, type sim_process } from '../sim/kernel.js';
import {
  __pte_none, linear_page_index, folio_test_anon, userfaultfd_ctx,
  type folio, type mm_struct, type pmd_t, type pte_t, type pte_table, type uffd_msg, type vm_area_struct, type vm_fault,
} from '../include/linux/mm_types.js';
import {
  FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_INTERRUPTIBLE, FAULT_FLAG_KILLABLE, FAULT_FLAG_RETRY_NOWAIT, FAULT_FLAG_VMA_LOCK,
  FAULT_FLAG_WRITE, MMAP_MIN_ADDR, PAGE_SIZE, PMD_SIZE, TASK_SIZE, VM_ACCESS_FLAGS, VM_HUGETLB, VM_IO, VM_LOCKED,
  VM_MAYWRITE, VM_MIXEDMAP, VM_PFNMAP, VM_SHARED, VM_UFFD_FLAGS, VM_UFFD_MISSING, VM_UFFD_WP, VM_WRITE,
  VM_FAULT_NOPAGE, VM_FAULT_RETRY, VM_FAULT_SIGBUS,
} from '../include/linux/mm_flags.js';
import { EAGAIN, EBUSY, EEXIST, EFAULT, EINVAL, ENOENT, ENOMEM, EPERM, ESRCH } from '../include/linux/errno.js';
import { VM_BUG_ON, VM_WARN_ON_ONCE, WARN_ON_ONCE } from '../include/linux/mmdebug.js';
import { kasan_check_read, kasan_check_write, kmem_cache_create, kmem_cache_free, sim_kasan_track, type kmem_cache } from '../sync/kasan.js';
import { refcount_dec_and_test, refcount_inc, refcount_set } from '../sync/refcount.js';
import { spin_lock, spin_lock_irq, spin_lock_nested, spin_unlock, spin_unlock_irq } from '../sync/spinlock.js';
import { down_read, down_write, up_read, up_write } from '../sync/rwsem.js';
import { SINGLE_DEPTH_NESTING } from '../sync/lockdep.js';
import { fatal_signal_pending, set_current_state, wake_up_process, TASK_INTERRUPTIBLE, TASK_KILLABLE, TASK_RUNNING, TASK_UNINTERRUPTIBLE } from '../sync/sched.js';
import { schedule, waitqueue_active, wait_queue_entry, type wait_queue_head_t } from '../sync/wait.js';
import { folio_lock, folio_trylock, folio_unlock } from '../sync/bitlock.js';
import type { DaemonSpec } from '../sim/scenario.js';
import { sim_user_op } from '../sim/user.js';
import type { ModelResult, UffdEvent, UffdReadEventOp, UffdRegisterOp, UffdUnregisterOp, UffdioCopyOp, UffdioMoveOp } from '../../model/ops.js';
import { should_fail } from '../include/linux/fault_inject.js';

// ---------------------------------------------------------------------------------------------
// include/uapi/linux/userfaultfd.h

export const UFFD_FEATURE_EVENT_FORK = 1 << 1;
export const UFFD_FEATURE_EVENT_REMAP = 1 << 2;
export const UFFD_FEATURE_EVENT_REMOVE = 1 << 3;
export const UFFD_FEATURE_EVENT_UNMAP = 1 << 6;
export const UFFD_FEATURE_SIGBUS = 1 << 7;
/** What every simulated process's userfaultfd asks for at UFFDIO_API. */
export const SIM_UFFD_FEATURES = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP;
export const UFFDIO_REGISTER_MODE_MISSING = 1;
export const UFFDIO_REGISTER_MODE_WP = 2;
export const UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES = 2;
/** -ERESTARTSYS is never returned here (no signals but SIGKILL); -EBADF: no userfaultfd. */
const EBADF = 9;

/** userfaultfd_ctx_cachep. */
export const userfaultfd_ctx_cachep: kmem_cache<userfaultfd_ctx> = kmem_cache_create<userfaultfd_ctx>(
  'userfaultfd_ctx_cache', () => { throw new Error('userfaultfd_ctx is built by new_userfaultfd'); }, 0, null, 256);

/**
 * struct userfaultfd_wait_queue: a faulting task waiting in handle_userfault (msg.event
 * 'pagefault'), or a task waiting for the monitor to read its non-cooperative event (msg set to
 * null by userfaultfd_event_complete: the kernel's msg.event = 0).
 */
export class userfaultfd_wait_queue extends wait_queue_entry {
  msg: uffd_msg | null;
  ctx: userfaultfd_ctx;
  waken = false;
  /** UFFD_EVENT_FORK: the child's new context (msg.arg.reserved.reserved1). */
  fork_ctx: userfaultfd_ctx | null = null;
  constructor(task: number, msg: uffd_msg, ctx: userfaultfd_ctx) {
    super(task);
    this.msg = msg;
    this.ctx = ctx;
  }
}

/** struct userfaultfd_fork_ctx: dup_mmap's list entry (fcs). */
export interface userfaultfd_fork_ctx {
  readonly orig: userfaultfd_ctx;
  readonly new: userfaultfd_ctx;
}

/** struct userfaultfd_unmap_ctx: munmap's list entry (uf). */
export interface userfaultfd_unmap_ctx {
  readonly ctx: userfaultfd_ctx;
  readonly start: number;
  readonly end: number;
}

/** struct vm_userfaultfd_ctx as mremap carries it (prep → complete/fail). */
export interface vm_userfaultfd_ctx {
  ctx: userfaultfd_ctx | null;
}

/** struct userfaultfd_wake_range (len 0: wake all). */
export interface userfaultfd_wake_range {
  readonly start: number;
  readonly len: number;
}

// ---------------------------------------------------------------------------------------------
// Generation and simulation helpers

/**
 * The 6.8+ userfaultfd operations: uffd_mfill_lock / uffd_move_lock with per-VMA locks and
 * ctx->map_changing_lock (k.cfg.uffd_ops_vma_lock; only with CONFIG_PER_VMA_LOCK).
 */
export function sim_uffd_ops_vma_lock(): boolean {
  return k.cfg.uffd_ops_vma_lock && k.cfg.per_vma_lock;
}

/**
 * The monitor tasks reading the process's userfaultfd (uffd_handler daemons): who a fault
 * sleeping in handle_userfault waits for, in a deadlock report's wait-for graph.
 */
export function sim_uffd_monitors(ctx: userfaultfd_ctx): readonly number[] {
  return k.state('uffd_monitors', () => new Map<number, number[]>()).get(ctx.mm.pid) ?? [];
}

/** The process's userfaultfd, or null (its context, or a context dup_userfaultfd made for it). */
export function sim_uffd_ctx(pid: number): userfaultfd_ctx | null {
  const p = k.procs.get(pid);
  if (!p) return null;
  if (p.uffds.length > 0) return p.uffds[0]!;
  const pending = sim_fork_ctxs().get(pid);
  if (pending) {
    p.uffds.push(pending);
    sim_fork_ctxs().delete(pid);
    return pending;
  }
  return null;
}

/** Contexts created by dup_userfaultfd for a child whose process object did not exist yet. */
function sim_fork_ctxs(): Map<number, userfaultfd_ctx> {
  return k.state('uffd_fork_ctxs', () => new Map<number, userfaultfd_ctx>());
}

function sim_attach_child_ctx(ctx: userfaultfd_ctx): void {
  const pid = ctx.mm.pid;
  const p: sim_process | undefined = k.procs.get(pid);
  if (p && p.mm === ctx.mm) {
    if (!p.uffds.includes(ctx)) p.uffds.push(ctx);
  } else {
    sim_fork_ctxs().set(pid, ctx);
  }
}

/** The current task's implicit "uf" list (munmap callers that do not pass one). */
function sim_task_unmap_list(): userfaultfd_unmap_ctx[] {
  const lists = k.state('uffd_unmap_lists', () => new Map<number, userfaultfd_unmap_ctx[]>());
  const id = current().id;
  let l = lists.get(id);
  if (!l) {
    l = [];
    lists.set(id, l);
  }
  return l;
}

/**
 * The events userfaultfd_unmap_prep queued on the current task's implicit list, handed over
 * (the list is emptied): a syscall that keeps several lists (mremap) sorts them after each
 * do_vmi_munmap.
 */
export function sim_uffd_take_unmap_list(): userfaultfd_unmap_ctx[] {
  const l = sim_task_unmap_list();
  return l.splice(0, l.length);
}

/**
 * new_userfaultfd() + UFFDIO_API(features): the process's userfaultfd, created on first use.
 * (The simulation opens it implicitly at the first UFFDIO_REGISTER, as the model does.)
 */
export function sim_new_userfaultfd(pid: number): userfaultfd_ctx | null {
  const p = k.procs.get(pid);
  if (!p || !p.mm) return null;
  const have = k.fn.sim_uffd_ctx(pid);
  if (have) return have;
  const ctx = sim_kasan_track(new userfaultfd_ctx(p.mm, SIM_UFFD_FEATURES), userfaultfd_ctx_cachep, 'new_userfaultfd');
  refcount_set(ctx.refcount, 1);
  k.fn.mmgrab(ctx.mm); // the context pins the mm_struct (not the address space)
  p.uffds.push(ctx);
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// include/linux/userfaultfd_k.h

/** userfaultfd_missing(vma). */
export function userfaultfd_missing(vma: vm_area_struct): boolean {
  return (vma.vm_flags & VM_UFFD_MISSING) !== 0;
}

/** userfaultfd_wp(vma). */
export function userfaultfd_wp(vma: vm_area_struct): boolean {
  return (vma.vm_flags & VM_UFFD_WP) !== 0;
}

/** userfaultfd_armed(vma): any uffd mode registered. */
export function userfaultfd_armed(vma: vm_area_struct): boolean {
  return (vma.vm_flags & VM_UFFD_FLAGS) !== 0;
}

/** userfaultfd_ctx_get(ctx). */
export function userfaultfd_ctx_get(ctx: userfaultfd_ctx): void {
  kasan_check_write(ctx, 'userfaultfd_ctx_get');
  refcount_inc(ctx.refcount);
}

/** userfaultfd_ctx_put(ctx): the last reference frees the context (its queues must be empty). */
export function userfaultfd_ctx_put(ctx: userfaultfd_ctx): void {
  kasan_check_write(ctx, 'userfaultfd_ctx_put');
  if (refcount_dec_and_test(ctx.refcount)) {
    VM_WARN_ON_ONCE(waitqueue_active(ctx.fault_pending_wqh), 'userfaultfd_ctx_put: fault_pending_wqh active');
    VM_WARN_ON_ONCE(waitqueue_active(ctx.fault_wqh), 'userfaultfd_ctx_put: fault_wqh active');
    VM_WARN_ON_ONCE(waitqueue_active(ctx.event_wqh), 'userfaultfd_ctx_put: event_wqh active');
    k.fn.mmdrop(ctx.mm);
    kmem_cache_free(userfaultfd_ctx_cachep, ctx, 'userfaultfd_ctx_put');
  }
}

/** __add_wait_queue(wq_head, entry) (the caller holds the queue's lock). */
function __add_wait_queue(wq: wait_queue_head_t, e: wait_queue_entry): void {
  if (e.queued) return;
  e.queued = true;
  wq.head.push(e);
}

/** __remove_wait_queue / list_del(&entry): off whatever queue it is on. */
function __remove_wait_queue(wq: wait_queue_head_t, e: wait_queue_entry): void {
  const i = wq.head.indexOf(e);
  if (i >= 0) wq.head.splice(i, 1);
  e.queued = false;
}

/** wake_up_poll(&ctx->fd_wqh, EPOLLIN): nobody polls in the simulation (read is non-blocking). */
function wake_up_poll(_wq: wait_queue_head_t): void {}

// ---------------------------------------------------------------------------------------------
// handle_userfault (fs/userfaultfd.c)

/** assert_fault_locked(vmf) (include/linux/mm.h): the lock the fault holds. */
function assert_fault_locked(vmf: vm_fault): void {
  if (vmf.flags & FAULT_FLAG_VMA_LOCK) k.fn.vma_assert_locked(vmf.vma);
  else k.fn.mmap_assert_locked(vmf.vma.vm_mm);
}

/**
 * userfaultfd_must_wait(ctx, vmf, reason): after queueing, re-walk the page table locklessly — a
 * UFFDIO_COPY may have resolved the fault meanwhile (then no wake-up would come).
 * Locks: the fault lock (mmap or VMA read lock) held; RCU for the PTE map.
 */
export function* userfaultfd_must_wait(ctx: userfaultfd_ctx, vmf: vm_fault, reason: number): Task<boolean> {
  const mm = ctx.mm;
  const address = vmf.address;
  k.fn.assert_fault_locked(vmf);
  for (;;) {
    yield 'userfaultfd_must_wait:pmdp_get_lockless';
    const pmd = mm.pgd.get(Math.floor(address / PMD_SIZE));
    if (!pmd || k.fn.pmd_none(pmd)) return true;
    const _pmd = k.fn.pmdp_get(pmd);
    if (_pmd.kind === 'huge') {
      // A huge entry (khugepaged): not present (a split in progress) → no wait; else only a
      // write-protect fault on a read-only entry waits.
      return _pmd.present && !_pmd.write && (reason & VM_UFFD_WP) !== 0;
    }
    const pte = yield* k.fn.__pte_offset_map(pmd, address);
    if (!pte) continue;
    // Lockless access: we're in a wait_event so it's ok if it changes under us.
    const ptent = k.fn.ptep_get(pte, address);
    let ret = true;
    if (ptent.kind === 'none') ret = true;
    else if (ptent.kind === 'marker' && ptent.marker === 'uffd_wp') ret = true;
    else if (ptent.kind !== 'present') ret = false;
    else if (!ptent.write && (reason & VM_UFFD_WP)) ret = true;
    else ret = false;
    k.fn.pte_unmap(pte);
    return ret;
  }
}

/** userfaultfd_get_blocking_state(flags). */
function userfaultfd_get_blocking_state(flags: number): number {
  if (flags & FAULT_FLAG_INTERRUPTIBLE) return TASK_INTERRUPTIBLE;
  if (flags & FAULT_FLAG_KILLABLE) return TASK_KILLABLE;
  return TASK_UNINTERRUPTIBLE;
}

/**
 * handle_userfault(vmf, reason): deliver a missing (or wp) fault to the monitor and sleep until
 * a resolving ioctl wakes us; always returns VM_FAULT_RETRY having released the fault lock
 * (release_fault_lock: the VMA read lock in 6.6+, mmap_read_lock before), so the arch retries
 * the fault from scratch (I18: a task blocked here holds neither mmap_lock nor the VMA lock).
 * Locks: entered with the fault lock held (the PTL already dropped by the caller); on
 * VM_FAULT_RETRY it is released, on VM_FAULT_SIGBUS / NOPAGE still held.
 */
export function* handle_userfault(vmf: vm_fault, reason: number): Task<number> {
  const vma = vmf.vma;
  const mm = vma.vm_mm;
  let ret = VM_FAULT_SIGBUS;
  const me = k.threads.get(current().id);
  if (me?.exiting) return ret; // PF_EXITING
  if (k.cfg.uffd_under_vma_lock) k.fn.assert_fault_locked(vmf);
  else k.fn.mmap_assert_locked(mm); // before 6.6: only ever under mmap_lock

  kasan_check_read(vma, 'handle_userfault');
  // A plain load after the caller's userfaultfd_missing(vma): stable only because whoever
  // changes it holds the VMA write lock (userfaultfd_set_ctx, B26).
  yield step('handle_userfault:vm_userfaultfd_ctx', vma);
  const ctx = vma.vm_userfaultfd_ctx;
  if (!ctx) return ret;
  kasan_check_read(ctx, 'handle_userfault');
  VM_WARN_ON_ONCE(ctx.mm !== mm, 'handle_userfault: ctx->mm != mm');
  VM_WARN_ON_ONCE((reason & ~VM_UFFD_FLAGS) !== 0 || reason === 0 || (reason & (reason - 1)) !== 0, 'handle_userfault: bad reason');
  if (ctx.features & UFFD_FEATURE_SIGBUS) return ret;

  // Check that we can return VM_FAULT_RETRY.
  if (!(vmf.flags & FAULT_FLAG_ALLOW_RETRY)) {
    VM_WARN_ON_ONCE((vmf.flags & FAULT_FLAG_RETRY_NOWAIT) !== 0, 'handle_userfault: NOWAIT without ALLOW_RETRY');
    return ret;
  }
  // Handle nowait, not much to do other than tell it to retry and wait.
  ret = VM_FAULT_RETRY;
  if (vmf.flags & FAULT_FLAG_RETRY_NOWAIT) return ret;

  if (ctx.released) {
    if (k.cfg.uffd_under_vma_lock) {
      yield* k.fn.release_fault_lock(vmf);
      return ret;
    }
    return VM_FAULT_NOPAGE; // pre-6.x: "Don't return VM_FAULT_SIGBUS in this case"
  }

  // take the reference before dropping the mmap_lock
  k.fn.userfaultfd_ctx_get(ctx);
  const uwq = new userfaultfd_wait_queue(current().id, {
    event: 'pagefault', address: vmf.address, write: (vmf.flags & FAULT_FLAG_WRITE) !== 0,
  }, ctx);
  const blocking_state = userfaultfd_get_blocking_state(vmf.flags);

  yield* spin_lock_irq(ctx.wqh_lock);
  // After the __add_wait_queue the uwq is visible to userland through poll/read().
  __add_wait_queue(ctx.fault_pending_wqh, uwq);
  set_current_state(blocking_state);
  spin_unlock_irq(ctx.wqh_lock);

  const must_wait = yield* k.fn.userfaultfd_must_wait(ctx, vmf, reason);
  yield* k.fn.release_fault_lock(vmf);

  if (must_wait && !ctx.released) {
    wake_up_poll(ctx.fd_wqh);
    yield* schedule(() => k.fn.sim_uffd_monitors(ctx));
  }
  set_current_state(TASK_RUNNING);

  if (uwq.queued) {
    yield* spin_lock_irq(ctx.wqh_lock);
    // No need of list_del_init(), the uwq on the stack will be freed shortly anyway.
    __remove_wait_queue(ctx.fault_pending_wqh, uwq);
    __remove_wait_queue(ctx.fault_wqh, uwq);
    spin_unlock_irq(ctx.wqh_lock);
  }
  // ctx may go away after this if the userfault pseudo fd is already released.
  k.fn.userfaultfd_ctx_put(ctx);
  return ret;
}

// ---------------------------------------------------------------------------------------------
// Non-cooperative events (fs/userfaultfd.c)

/**
 * userfaultfd_event_wait_completion(ctx, ewq): queue the event on event_wqh and sleep until the
 * monitor reads it; then mmap_changing drops (the increment was made by the *_prep caller) and
 * the reference taken there is put. Locks: none held (mmap_lock already dropped).
 */
export function* userfaultfd_event_wait_completion(ctx: userfaultfd_ctx, ewq: userfaultfd_wait_queue): Task<void> {
  let release_new_ctx: userfaultfd_ctx | null = null;
  const me = k.threads.get(current().id);
  if (!WARN_ON_ONCE(me?.exiting === true, 'userfaultfd_event_wait_completion: PF_EXITING')) {
    ewq.ctx = ctx;
    yield* spin_lock_irq(ctx.wqh_lock);
    // After the __add_wait_queue the uwq is visible to userland through poll/read().
    __add_wait_queue(ctx.event_wqh, ewq);
    for (;;) {
      set_current_state(TASK_KILLABLE);
      if (ewq.msg === null) break;
      if (ctx.released || fatal_signal_pending()) {
        __remove_wait_queue(ctx.event_wqh, ewq);
        if (ewq.msg.event === 'fork') release_new_ctx = ewq.fork_ctx;
        break;
      }
      spin_unlock_irq(ctx.wqh_lock);
      wake_up_poll(ctx.fd_wqh);
      yield* schedule();
      yield* spin_lock_irq(ctx.wqh_lock);
    }
    set_current_state(TASK_RUNNING);
    spin_unlock_irq(ctx.wqh_lock);
    if (release_new_ctx) k.fn.userfaultfd_ctx_put(release_new_ctx);
  }
  // ctx may go away after this if the userfault pseudo fd is already released.
  yield 'userfaultfd_event_wait_completion:atomic_dec(mmap_changing)';
  kasan_check_write(ctx, 'userfaultfd_event_wait_completion');
  ctx.mmap_changing--;
  VM_WARN_ON_ONCE(ctx.mmap_changing < 0, 'userfaultfd_event_wait_completion: mmap_changing < 0');
  k.fn.userfaultfd_ctx_put(ctx);
}

/** userfaultfd_event_complete(ctx, ewq): the monitor read the event; wake its task. Locks: wqh lock. */
export function userfaultfd_event_complete(ctx: userfaultfd_ctx, ewq: userfaultfd_wait_queue): void {
  ewq.msg = null; // ewq->msg.event = 0
  wake_up_process(ewq.task); // wake_up_locked(&ctx->event_wqh)
  __remove_wait_queue(ctx.event_wqh, ewq);
}

/** atomic_inc(&ctx->mmap_changing), under map_changing_lock from 6.8. */
function* mmap_changing_inc(ctx: userfaultfd_ctx): Task<void> {
  kasan_check_write(ctx, 'mmap_changing_inc');
  if (k.fn.sim_uffd_ops_vma_lock()) {
    yield* down_write(ctx.map_changing_lock);
    ctx.mmap_changing++;
    up_write(ctx.map_changing_lock);
  } else {
    yield 'atomic_inc(mmap_changing)';
    ctx.mmap_changing++;
  }
}

/**
 * userfaultfd_set_ctx(vma, ctx, vm_flags): write-lock the VMA, then change its context and uffd
 * flags (B26: "mm: lock vma explicitly before doing vm_flags_reset", 6.6; vm_flags_reset asserts
 * the VMA write lock). Locks: mmap_write_lock held.
 */
export function* userfaultfd_set_ctx(vma: vm_area_struct, ctx: userfaultfd_ctx | null, vm_flags: number): Task<void> {
  yield* k.fn.vma_start_write(vma);
  vma.vm_userfaultfd_ctx = ctx;
  k.fn.vm_flags_reset(vma, (vma.vm_flags & ~VM_UFFD_FLAGS) | vm_flags);
}

/** userfaultfd_reset_ctx(vma). */
export function* userfaultfd_reset_ctx(vma: vm_area_struct): Task<void> {
  yield* k.fn.userfaultfd_set_ctx(vma, null, 0);
}

/**
 * dup_userfaultfd(vma, fcs): fork — the child's VMA gets a new context (one per parent context,
 * remembered in fcs) and the parent's mmap_changing is raised until the monitor reads
 * UFFD_EVENT_FORK. Without EVENT_FORK the child VMA is unregistered.
 * Locks: both mmap write locks (dup_mmap). Returns 0 or -ENOMEM.
 */
export function* dup_userfaultfd(vma: vm_area_struct, fcs: userfaultfd_fork_ctx[]): Task<number> {
  const octx = vma.vm_userfaultfd_ctx;
  if (!octx) return 0;
  kasan_check_read(octx, 'dup_userfaultfd');
  if (!(octx.features & UFFD_FEATURE_EVENT_FORK)) {
    yield* k.fn.userfaultfd_reset_ctx(vma);
    return 0;
  }
  let ctx: userfaultfd_ctx | null = null;
  for (const fctx of fcs) {
    if (fctx.orig === octx) {
      ctx = fctx.new;
      break;
    }
  }
  if (!ctx) {
    if (yield* should_fail('dup_userfaultfd:kmalloc_fail')) return -ENOMEM;
    ctx = sim_kasan_track(new userfaultfd_ctx(vma.vm_mm, octx.features), userfaultfd_ctx_cachep, 'dup_userfaultfd');
    refcount_set(ctx.refcount, 1);
    k.fn.mmgrab(ctx.mm);
    k.fn.userfaultfd_ctx_get(octx);
    yield* mmap_changing_inc(octx);
    fcs.push({ orig: octx, new: ctx });
  }
  vma.vm_userfaultfd_ctx = ctx;
  return 0;
}

/** dup_userfaultfd_complete(fcs): after fork, deliver UFFD_EVENT_FORK per context and wait. */
export function* dup_userfaultfd_complete(fcs: userfaultfd_fork_ctx[]): Task<void> {
  while (fcs.length > 0) {
    const fctx = fcs.shift()!;
    sim_attach_child_ctx(fctx.new);
    const ewq = new userfaultfd_wait_queue(current().id, { event: 'fork', address: 0, child_pid: fctx.new.mm.pid }, fctx.orig);
    ewq.fork_ctx = fctx.new;
    yield* k.fn.userfaultfd_event_wait_completion(fctx.orig, ewq);
  }
}

/** dup_userfaultfd_fail(fcs): fork failed — undo the increments and references. */
export function dup_userfaultfd_fail(fcs: userfaultfd_fork_ctx[]): void {
  while (fcs.length > 0) {
    const fctx = fcs.shift()!;
    fctx.orig.mmap_changing--;
    VM_WARN_ON_ONCE(fctx.orig.mmap_changing < 0, 'dup_userfaultfd_fail: mmap_changing < 0');
    k.fn.userfaultfd_ctx_put(fctx.orig);
    k.fn.userfaultfd_ctx_put(fctx.new);
  }
}

/**
 * mremap_userfaultfd_prep(vma, vm_ctx): the moved VMA's context is remembered and its
 * mmap_changing raised until UFFD_EVENT_REMAP is read. Locks: mmap_write_lock held.
 */
export function* mremap_userfaultfd_prep(vma: vm_area_struct, vm_ctx: vm_userfaultfd_ctx): Task<void> {
  const ctx = vma.vm_userfaultfd_ctx;
  if (!ctx) return;
  kasan_check_read(ctx, 'mremap_userfaultfd_prep');
  if (ctx.features & UFFD_FEATURE_EVENT_REMAP) {
    vm_ctx.ctx = ctx;
    k.fn.userfaultfd_ctx_get(ctx);
    yield* mmap_changing_inc(ctx);
  } else {
    // Drop uffd context if remap feature not enabled
    yield* k.fn.userfaultfd_reset_ctx(vma);
  }
}

/** mremap_userfaultfd_complete(vm_ctx, from, to, len): deliver UFFD_EVENT_REMAP and wait. */
export function* mremap_userfaultfd_complete(vm_ctx: vm_userfaultfd_ctx, from: number, to: number, len: number): Task<void> {
  const ctx = vm_ctx.ctx;
  if (!ctx) return;
  const ewq = new userfaultfd_wait_queue(current().id, { event: 'remap', address: from, from, to, len }, ctx);
  yield* k.fn.userfaultfd_event_wait_completion(ctx, ewq);
}

/**
 * mremap_userfaultfd_fail(vm_ctx): the move failed after prep — lower mmap_changing again
 * ("userfaultfd: ensure mremap_userfaultfd_fail() releases mmap_changing").
 */
export function mremap_userfaultfd_fail(vm_ctx: vm_userfaultfd_ctx): void {
  const ctx = vm_ctx.ctx;
  if (!ctx) return;
  ctx.mmap_changing--;
  VM_WARN_ON_ONCE(ctx.mmap_changing < 0, 'mremap_userfaultfd_fail: mmap_changing < 0');
  k.fn.userfaultfd_ctx_put(ctx);
}

/**
 * userfaultfd_remove(vma, start, end): MADV_DONTNEED/REMOVE on a registered VMA. Raises
 * mmap_changing, DROPS mmap_read_lock, delivers UFFD_EVENT_REMOVE and waits for it to be read;
 * returns false (the lock was dropped: the caller re-takes it and looks the VMA up again), or
 * true when nothing had to be delivered (lock still held).
 * Locks: mmap_read_lock held on entry.
 */
export function* userfaultfd_remove(vma: vm_area_struct, start: number, end: number): Task<boolean> {
  const mm = vma.vm_mm;
  const ctx = vma.vm_userfaultfd_ctx;
  if (!ctx || !(ctx.features & UFFD_FEATURE_EVENT_REMOVE)) return true;
  kasan_check_read(ctx, 'userfaultfd_remove');
  k.fn.userfaultfd_ctx_get(ctx);
  yield* mmap_changing_inc(ctx);
  k.fn.mmap_read_unlock(mm);
  const ewq = new userfaultfd_wait_queue(current().id, { event: 'remove', address: start, start, end }, ctx);
  yield* k.fn.userfaultfd_event_wait_completion(ctx, ewq);
  return false;
}

/**
 * userfaultfd_unmap_prep(vma, start, end, unmaps): munmap of a registered VMA — raise
 * mmap_changing and remember the event (one per context and range) for
 * userfaultfd_unmap_complete. Callers that pass no list use the task's own (the kernel's
 * on-stack LIST_HEAD(uf) of the syscall). Locks: mmap_write_lock held. Returns 0 or -ENOMEM.
 */
export function* userfaultfd_unmap_prep(vma: vm_area_struct, start: number, end: number, unmaps?: userfaultfd_unmap_ctx[]): Task<number> {
  const list = unmaps ?? sim_task_unmap_list();
  const ctx = vma.vm_userfaultfd_ctx;
  if (!ctx || !(ctx.features & UFFD_FEATURE_EVENT_UNMAP) || list.some((u) => u.ctx === ctx && u.start === start && u.end === end)) return 0;
  kasan_check_read(ctx, 'userfaultfd_unmap_prep');
  if (yield* should_fail('userfaultfd_unmap_prep:kzalloc_fail')) return -ENOMEM;
  k.fn.userfaultfd_ctx_get(ctx);
  yield* mmap_changing_inc(ctx);
  list.push({ ctx, start, end });
  return 0;
}

/**
 * userfaultfd_unmap_complete(mm, uf): after munmap dropped mmap_lock, deliver each
 * UFFD_EVENT_UNMAP and wait for it to be read. Without a list: the task's own.
 */
export function* userfaultfd_unmap_complete(mm: mm_struct, uf?: userfaultfd_unmap_ctx[]): Task<void> {
  void mm;
  const list = uf ?? sim_task_unmap_list();
  while (list.length > 0) {
    const u = list.shift()!;
    const ewq = new userfaultfd_wait_queue(current().id, { event: 'unmap', address: u.start, start: u.start, end: u.end }, u.ctx);
    yield* k.fn.userfaultfd_event_wait_completion(u.ctx, ewq);
  }
}

// ---------------------------------------------------------------------------------------------
// read(2) and wake-ups

/**
 * userfaultfd_ctx_read(ctx, no_wait): the oldest pending fault (refiled to fault_wqh: it is not
 * pending any more), else the oldest event (completed, waking its task; a fork event's new
 * context becomes the child's userfaultfd). -EAGAIN when there is nothing (O_NONBLOCK).
 */
export function* userfaultfd_ctx_read(ctx: userfaultfd_ctx, no_wait: boolean): Task<uffd_msg | number> {
  VM_BUG_ON(!no_wait, 'userfaultfd_ctx_read: blocking read is left out');
  kasan_check_read(ctx, 'userfaultfd_ctx_read');
  yield* spin_lock_irq(ctx.wqh_lock);
  const uwq = ctx.fault_pending_wqh.head[0] as userfaultfd_wait_queue | undefined;
  if (uwq) {
    // Refile this userfault from fault_pending_wqh to fault_wqh.
    __remove_wait_queue(ctx.fault_pending_wqh, uwq);
    __add_wait_queue(ctx.fault_wqh, uwq);
    const msg = uwq.msg!;
    spin_unlock_irq(ctx.wqh_lock);
    return msg;
  }
  const ewq = ctx.event_wqh.head[0] as userfaultfd_wait_queue | undefined;
  if (ewq && ewq.msg) {
    const msg = ewq.msg;
    if (msg.event === 'fork' && ewq.fork_ctx) sim_attach_child_ctx(ewq.fork_ctx); // resolve_userfault_fork
    k.fn.userfaultfd_event_complete(ctx, ewq);
    spin_unlock_irq(ctx.wqh_lock);
    return msg;
  }
  spin_unlock_irq(ctx.wqh_lock);
  return -EAGAIN;
}

/**
 * __wake_userfault(ctx, range): wake the faults waiting for addresses in range (pending or
 * already read), removing them from the queues (userfaultfd_wake_function autoremove).
 */
export function* __wake_userfault(ctx: userfaultfd_ctx, range: userfaultfd_wake_range): Task<void> {
  yield* spin_lock_irq(ctx.wqh_lock);
  for (const wq of [ctx.fault_pending_wqh, ctx.fault_wqh]) {
    for (const e of [...wq.head] as userfaultfd_wait_queue[]) {
      const addr = e.msg?.address ?? 0;
      if (range.len && (range.start > addr || range.start + range.len <= addr)) continue;
      e.waken = true;
      if (wake_up_process(e.task)) __remove_wait_queue(wq, e);
    }
  }
  spin_unlock_irq(ctx.wqh_lock);
}

/** wake_userfault(ctx, range): only take the lock when someone waits. */
export function* wake_userfault(ctx: userfaultfd_ctx, range: userfaultfd_wake_range): Task<void> {
  yield 'wake_userfault:waitqueue_active';
  if (waitqueue_active(ctx.fault_pending_wqh) || waitqueue_active(ctx.fault_wqh)) yield* k.fn.__wake_userfault(ctx, range);
}

// ---------------------------------------------------------------------------------------------
// UFFDIO_REGISTER / UFFDIO_UNREGISTER

/** validate_range(mm, start, len). */
function validate_range(start: number, len: number): number {
  if (start % PAGE_SIZE !== 0 || len % PAGE_SIZE !== 0 || len <= 0) return -EINVAL;
  if (start < MMAP_MIN_ADDR) return -EINVAL;
  if (start >= TASK_SIZE || len > TASK_SIZE - start) return -EINVAL;
  return 0;
}

/** vma_is_shmem(vma): shared anonymous memory (shmem_zero_setup). */
function vma_is_shmem(vma: vm_area_struct): boolean {
  return (vma.vm_flags & VM_SHARED) !== 0 && vma.vm_file !== null && vma.vm_file.f_inode.name === '/dev/zero (deleted)';
}

/** vma_can_userfault(vma, vm_flags): anonymous private memory or shmem (hugetlb left out). */
export function vma_can_userfault(vma: vm_area_struct, vm_flags: number): boolean {
  void vm_flags;
  if (vma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP | VM_IO)) return false;
  if (k.fn.vma_is_anonymous(vma)) return (vma.vm_flags & VM_SHARED) === 0;
  return vma_is_shmem(vma);
}

/**
 * userfaultfd_register(ctx, start, len, mode): under mmap_write_lock, check every VMA in the
 * range, then split/merge (vma_modify_flags_uffd) and set the context on each
 * (userfaultfd_set_ctx: vma_start_write first). Returns 0 or -errno.
 */
export function* userfaultfd_register(ctx: userfaultfd_ctx, start0: number, len: number, mode: number): Task<number> {
  const mm = ctx.mm;
  let vm_flags = 0;
  if (!mode) return -EINVAL;
  if (mode & UFFDIO_REGISTER_MODE_MISSING) vm_flags |= VM_UFFD_MISSING;
  if (mode & UFFDIO_REGISTER_MODE_WP) vm_flags |= VM_UFFD_WP;
  let ret = validate_range(start0, len);
  if (ret) return ret;
  let start = start0;
  const end = start + len;
  if (mm.dead) return -ENOMEM; // mmget_not_zero

  yield* k.fn.mmap_write_lock(mm);
  ret = -ENOMEM;
  let vma = yield* k.fn.find_vma_intersection(mm, start, end); // vma_find(&vmi, end)
  out: {
    if (!vma) break out;
    // Search for not compatible vmas.
    let cur: vm_area_struct | null = vma;
    while (cur && cur.vm_start < end) {
      VM_WARN_ON_ONCE(!!cur.vm_userfaultfd_ctx !== !!(cur.vm_flags & VM_UFFD_FLAGS), 'userfaultfd_register: ctx and flags disagree');
      ret = -EINVAL;
      if (!k.fn.vma_can_userfault(cur, vm_flags)) break out;
      ret = -EPERM;
      if (!(cur.vm_flags & VM_MAYWRITE)) break out;
      ret = -EBUSY;
      if (cur.vm_userfaultfd_ctx && cur.vm_userfaultfd_ctx !== ctx) break out;
      cur = yield* k.fn.find_vma(mm, cur.vm_end);
    }
    // userfaultfd_register_range
    ret = 0;
    let prev = (yield* k.fn.find_vma_prev(mm, start)).prev;
    if (vma.vm_start < start) prev = vma;
    while (vma && vma.vm_start < end) {
      if (vma.vm_userfaultfd_ctx === ctx && (vma.vm_flags & vm_flags) === vm_flags && (vma.vm_flags & VM_UFFD_FLAGS) === vm_flags) {
        prev = vma;
        start = vma.vm_end;
        vma = yield* k.fn.find_vma(mm, vma.vm_end);
        continue;
      }
      if (vma.vm_start > start) start = vma.vm_start;
      const vma_end = Math.min(end, vma.vm_end);
      const new_flags = (vma.vm_flags & ~VM_UFFD_FLAGS) | vm_flags;
      const r = yield* k.fn.vma_modify_flags_uffd(prev, vma, start, vma_end, new_flags, ctx);
      if (typeof r === 'number') {
        ret = r;
        break;
      }
      vma = r;
      // In the vma_merge() successful mprotect-like case 8: the next vma was merged into the
      // current one and the current one has not been updated yet.
      yield* k.fn.userfaultfd_set_ctx(vma, ctx, vm_flags);
      prev = vma;
      start = vma.vm_end;
      vma = yield* k.fn.find_vma(mm, vma.vm_end);
    }
  }
  k.fn.mmap_write_unlock(mm);
  return ret;
}

/**
 * userfaultfd_unregister(ctx, start, len): as register, clearing the context; faults waiting
 * in the range are woken so they retry without userfaultfd.
 */
export function* userfaultfd_unregister(ctx: userfaultfd_ctx, start0: number, len: number): Task<number> {
  const mm = ctx.mm;
  let ret = validate_range(start0, len);
  if (ret) return ret;
  let start = start0;
  const end = start + len;
  if (mm.dead) return -ENOMEM;
  yield* k.fn.mmap_write_lock(mm);
  ret = -ENOMEM;
  let vma = yield* k.fn.find_vma_intersection(mm, start, end);
  out: {
    if (!vma) break out;
    ret = -EINVAL;
    let cur: vm_area_struct | null = vma;
    while (cur && cur.vm_start < end) {
      VM_WARN_ON_ONCE(!!cur.vm_userfaultfd_ctx !== !!(cur.vm_flags & VM_UFFD_FLAGS), 'userfaultfd_unregister: ctx and flags disagree');
      if (cur.vm_userfaultfd_ctx && cur.vm_userfaultfd_ctx !== ctx) break out;
      if (!k.fn.vma_can_userfault(cur, cur.vm_flags)) break out;
      cur = yield* k.fn.find_vma(mm, cur.vm_end);
    }
    let prev = (yield* k.fn.find_vma_prev(mm, start)).prev;
    if (vma.vm_start < start) prev = vma;
    ret = 0;
    while (vma && vma.vm_start < end) {
      if (!vma.vm_userfaultfd_ctx) {
        prev = vma;
        start = vma.vm_end;
        vma = yield* k.fn.find_vma(mm, vma.vm_end);
        continue;
      }
      if (vma.vm_start > start) start = vma.vm_start;
      const vma_end = Math.min(end, vma.vm_end);
      if (k.fn.userfaultfd_missing(vma)) {
        // Wake any concurrent pending userfault while we unregister, so they will not hang.
        yield* k.fn.wake_userfault(vma.vm_userfaultfd_ctx, { start, len: vma_end - start });
      }
      // userfaultfd_clear_vma
      const r = yield* k.fn.vma_modify_flags_uffd(prev, vma, start, vma_end, vma.vm_flags & ~VM_UFFD_FLAGS, null);
      if (typeof r === 'number') {
        ret = r;
        break;
      }
      vma = r;
      yield* k.fn.userfaultfd_reset_ctx(vma);
      prev = vma;
      start = vma.vm_end;
      vma = yield* k.fn.find_vma(mm, vma.vm_end);
    }
  }
  k.fn.mmap_write_unlock(mm);
  return ret;
}

// ---------------------------------------------------------------------------------------------
// UFFDIO_COPY (mm/userfaultfd.c: mfill_atomic)

/**
 * uffd_lock_vma(mm, address) (6.8+): lock_vma_under_rcu, falling back to mmap_read_lock +
 * anon_vma_prepare + vma_start_read_locked when a private VMA has no anon_vma yet.
 * Returns the read-locked VMA or -ENOENT / -ENOMEM / -EAGAIN; no lock held on return but the VMA's.
 */
export function* uffd_lock_vma(mm: mm_struct, address: number): Task<vm_area_struct | number> {
  let vma: vm_area_struct | number | null = yield* k.fn.lock_vma_under_rcu(mm, address);
  if (vma) {
    // We know we're going to need to use anon_vma, so check that early.
    if (!(vma.vm_flags & VM_SHARED) && !vma.anon_vma) yield* k.fn.vma_end_read(vma);
    else return vma;
  }
  yield* k.fn.mmap_read_lock(mm);
  vma = yield* k.fn.vma_lookup(mm, address);
  if (!vma) vma = -ENOENT;
  else if (!(vma.vm_flags & VM_SHARED) && (yield* k.fn.anon_vma_prepare(vma))) vma = -ENOMEM;
  if (typeof vma !== 'number' && !k.fn.vma_start_read_locked(vma)) vma = -EAGAIN;
  k.fn.mmap_read_unlock(mm);
  return vma;
}

/** validate_dst_vma(dst_vma, dst_end). */
function validate_dst_vma(dst_vma: vm_area_struct, dst_end: number): boolean {
  if (dst_end > dst_vma.vm_end) return false;
  return dst_vma.vm_userfaultfd_ctx !== null;
}

/**
 * uffd_mfill_lock(dst_mm, dst_start, len): the destination VMA, read-locked (6.8+) or with
 * mmap_read_lock held (before). Returns the VMA or -errno (nothing held).
 */
export function* uffd_mfill_lock(dst_mm: mm_struct, dst_start: number, len: number): Task<vm_area_struct | number> {
  if (k.fn.sim_uffd_ops_vma_lock()) {
    const dst_vma = yield* k.fn.uffd_lock_vma(dst_mm, dst_start);
    if (typeof dst_vma === 'number' || validate_dst_vma(dst_vma, dst_start + len)) return dst_vma;
    yield* k.fn.vma_end_read(dst_vma);
    return -ENOENT;
  }
  yield* k.fn.mmap_read_lock(dst_mm);
  const dst_vma = yield* k.fn.vma_lookup(dst_mm, dst_start);
  if (dst_vma && validate_dst_vma(dst_vma, dst_start + len)) return dst_vma;
  k.fn.mmap_read_unlock(dst_mm);
  return -ENOENT;
}

/** uffd_mfill_unlock(vma). */
export function* uffd_mfill_unlock(vma: vm_area_struct): Task<void> {
  if (k.fn.sim_uffd_ops_vma_lock()) yield* k.fn.vma_end_read(vma);
  else k.fn.mmap_read_unlock(vma.vm_mm);
}

/**
 * mfill_atomic_install_pte(dst_pmd, dst_vma, dst_addr, folio, page_in_cache): map the folio at
 * dst_addr under the PTL iff the PTE is still none (-EEXIST otherwise: someone else resolved
 * the fault, I9). Locks: the VMA stable (mmap_read_lock or VMA read lock).
 */
export function* mfill_atomic_install_pte(dst_pmd: pmd_t, dst_vma: vm_area_struct, dst_addr: number, f: folio, page_in_cache: boolean): Task<number> {
  const dst_mm = dst_vma.vm_mm;
  const vm_shared = (dst_vma.vm_flags & VM_SHARED) !== 0;
  let writable = (dst_vma.vm_flags & VM_WRITE) !== 0;
  if (page_in_cache && !vm_shared) writable = false;
  let _dst_pte: pte_t = k.fn.pte_mkdirty(k.fn.folio_mk_pte(f, false));
  if (writable) _dst_pte = k.fn.pte_mkwrite(_dst_pte, dst_vma);

  const dst_pte = yield* k.fn.pte_offset_map_lock(dst_mm, dst_pmd, dst_addr);
  if (!dst_pte) return -EAGAIN;
  let ret = -EEXIST;
  yield 'mfill_atomic_install_pte:ptep_get';
  const dst_ptep = k.fn.ptep_get(dst_pte, dst_addr);
  if (dst_ptep.kind === 'none' || (dst_ptep.kind === 'marker' && dst_ptep.marker === 'uffd_wp')) {
    if (page_in_cache) {
      k.fn.folio_add_file_rmap_pte(f, dst_vma);
    } else {
      k.fn.folio_add_new_anon_rmap(f, dst_vma, dst_addr);
      k.fn.folio_add_lru_vma(f, dst_vma);
    }
    // Must happen after rmap, as mm_counter() checks mapping (via PageAnon()).
    k.fn.inc_mm_counter(dst_mm, k.fn.mm_counter(f));
    k.fn.set_pte_at(dst_mm, dst_addr, dst_pte, _dst_pte);
    if (page_in_cache) folio_unlock(f);
    ret = 0;
  }
  k.fn.pte_unmap_unlock(dst_pte);
  return ret;
}

/**
 * mfill_atomic_pte_copy(dst_pmd, dst_vma, dst_addr, value, foliop): allocate a folio and copy the
 * source page into it with page faults disabled (mmap/VMA lock held). The copy may fault (the
 * source page is not resident — the scheduler chooses): then return -ENOENT keeping the folio in
 * foliop; the caller drops the locks, copies, and retries (mfill_atomic).
 */
export function* mfill_atomic_pte_copy(dst_pmd: pmd_t, dst_vma: vm_area_struct, dst_addr: number, value: number, foliop: { folio: folio | null }): Task<number> {
  let f: folio | null;
  if (!foliop.folio) {
    f = yield* k.fn.vma_alloc_folio(0, 0, dst_vma, dst_addr);
    if (!f) return -ENOMEM;
    // copy_from_user with pagefault_disable(): the source page may not be mapped.
    const faulted = yield* choose(2, 'mfill_atomic_pte_copy:copy_from_user_fault');
    if (faulted) {
      foliop.folio = f;
      return -ENOENT;
    }
    f.data = value;
  } else {
    f = foliop.folio;
    foliop.folio = null;
  }
  // The memory barrier inside __folio_mark_uptodate makes sure that preceding stores to the
  // page contents become visible before the set_pte_at() write.
  k.fn.__folio_mark_uptodate(f);
  const page_in_cache = (dst_vma.vm_flags & VM_SHARED) !== 0;
  if (page_in_cache) {
    // shmem_mfill_atomic_pte: the folio goes into the shmem page cache first.
    const ret = yield* shmem_mfill_add_to_cache(dst_vma, dst_addr, f);
    if (ret) {
      k.fn.folio_put(f);
      return ret;
    }
  }
  const ret = yield* k.fn.mfill_atomic_install_pte(dst_pmd, dst_vma, dst_addr, f, page_in_cache);
  if (ret) {
    if (page_in_cache) shmem_mfill_remove_from_cache(dst_vma, dst_addr, f);
    k.fn.folio_put(f);
  }
  return ret;
}

/**
 * shmem_mfill_atomic_pte's page-cache part (mm/shmem.c): -EEXIST when the file already has a
 * page there; otherwise the locked folio is added to the page cache (it keeps a cache reference).
 */
function* shmem_mfill_add_to_cache(dst_vma: vm_area_struct, dst_addr: number, f: folio): Task<number> {
  const mapping = dst_vma.vm_file!.f_mapping;
  const pgoff = linear_page_index(dst_vma, dst_addr);
  if (pgoff >= mapping.host.i_size) return -EFAULT;
  yield* folio_lock(f);
  yield* spin_lock(mapping.i_pages_lock);
  // The slot holds a folio, or a swap entry (the page was swapped out): -EEXIST.
  if (mapping.i_pages.has(pgoff) || mapping.host.sim_shmem_present?.has(pgoff)) {
    spin_unlock(mapping.i_pages_lock);
    folio_unlock(f);
    return -EEXIST;
  }
  f.mapping = mapping;
  f.index = pgoff;
  f.swapbacked = true;
  k.fn.folio_get(f);
  mapping.i_pages.set(pgoff, f);
  mapping.host.sim_shmem_present?.add(pgoff);
  spin_unlock(mapping.i_pages_lock);
  return 0;
}

function shmem_mfill_remove_from_cache(dst_vma: vm_area_struct, dst_addr: number, f: folio): void {
  const mapping = dst_vma.vm_file!.f_mapping;
  const pgoff = linear_page_index(dst_vma, dst_addr);
  if (mapping.i_pages.get(pgoff) === f) {
    mapping.i_pages.delete(pgoff);
    mapping.host.sim_shmem_present?.delete(pgoff);
    f.mapping = null;
    folio_unlock(f);
    k.fn.folio_put(f);
  }
}

/**
 * mfill_atomic(ctx, dst_start, value, len): UFFDIO_COPY of `len` bytes (one page here).
 * Takes the destination's lock (uffd_mfill_lock), checks mmap_changing (→ -EAGAIN, B22) — and
 * again after every re-lock; installs PTEs; on a faulting source copy drops the locks, copies and
 * starts over. Returns the bytes copied or -errno.
 */
export function* mfill_atomic(ctx: userfaultfd_ctx, dst_start: number, value: number, len: number): Task<number> {
  const dst_mm = ctx.mm;
  const vma_locks = k.fn.sim_uffd_ops_vma_lock();
  const foliop: { folio: folio | null } = { folio: null };
  let copied = 0;
  let err = 0;
  let dst_addr = dst_start;
  VM_WARN_ON_ONCE(dst_start % PAGE_SIZE !== 0 || len % PAGE_SIZE !== 0, 'mfill_atomic: unaligned');
  retry: for (;;) {
    let dst_vma: vm_area_struct | number;
    if (vma_locks) {
      dst_vma = yield* k.fn.uffd_mfill_lock(dst_mm, dst_start, len);
      if (typeof dst_vma === 'number') {
        err = dst_vma;
        break retry;
      }
      yield* down_read(ctx.map_changing_lock);
      err = -EAGAIN;
      yield 'mfill_atomic:atomic_read(mmap_changing)';
      if (ctx.mmap_changing) {
        up_read(ctx.map_changing_lock);
        yield* k.fn.uffd_mfill_unlock(dst_vma);
        break retry;
      }
    } else {
      yield* k.fn.mmap_read_lock(dst_mm);
      // If memory mappings are changing because of non-cooperative operation (e.g. mremap)
      // running in parallel, bail out and request the user to retry later.
      err = -EAGAIN;
      yield 'mfill_atomic:atomic_read(mmap_changing)';
      if (ctx.mmap_changing) {
        k.fn.mmap_read_unlock(dst_mm);
        break retry;
      }
      err = -ENOENT;
      const v = yield* k.fn.vma_lookup(dst_mm, dst_start); // find_dst_vma
      if (!v || !validate_dst_vma(v, dst_start + len)) {
        k.fn.mmap_read_unlock(dst_mm);
        break retry;
      }
      dst_vma = v;
      // Ensure the dst_vma has a anon_vma or this page would get a NULL anon_vma when moved.
      if (!(dst_vma.vm_flags & VM_SHARED) && (yield* k.fn.anon_vma_prepare(dst_vma))) {
        err = -ENOMEM;
        k.fn.mmap_read_unlock(dst_mm);
        break retry;
      }
    }
    const unlock = function* (v: vm_area_struct): Task<void> {
      if (vma_locks) {
        up_read(ctx.map_changing_lock);
        yield* k.fn.uffd_mfill_unlock(v);
      } else {
        k.fn.mmap_read_unlock(dst_mm);
      }
    };
    err = -EINVAL;
    if (WARN_ON_ONCE(k.fn.vma_is_anonymous(dst_vma) && (dst_vma.vm_flags & VM_SHARED) !== 0, 'mfill_atomic: shared anonymous vma without shmem')) {
      yield* unlock(dst_vma);
      break retry;
    }
    err = 0;
    while (dst_addr < dst_start + len) {
      const dst_pmd = k.fn.pmd_off(dst_mm, dst_addr);
      yield 'mfill_atomic:pmdp_get_lockless';
      if (k.fn.pmd_none(dst_pmd) && (yield* k.fn.pte_alloc(dst_mm, dst_pmd))) {
        err = -ENOMEM;
        break;
      }
      // If the dst_pmd is THP don't override it and just be strict.
      if (k.fn.pmd_trans_huge(dst_pmd)) {
        err = -EEXIST;
        break;
      }
      err = yield* k.fn.mfill_atomic_pte_copy(dst_pmd, dst_vma, dst_addr, value, foliop);
      if (err === -ENOENT) {
        yield* unlock(dst_vma);
        VM_BUG_ON(!foliop.folio, 'mfill_atomic: -ENOENT without a folio');
        yield 'mfill_atomic:copy_from_user';
        kasan_check_write(foliop.folio!, 'mfill_atomic (copy_from_user)');
        foliop.folio!.data = value;
        continue retry;
      }
      VM_BUG_ON(foliop.folio !== null, 'mfill_atomic: folio left over');
      if (!err) {
        dst_addr += PAGE_SIZE;
        copied += PAGE_SIZE;
        if (fatal_signal_pending()) err = -4; // -EINTR
      }
      if (err) break;
    }
    yield* unlock(dst_vma);
    break;
  }
  if (foliop.folio) k.fn.folio_put(foliop.folio);
  VM_WARN_ON_ONCE(copied < 0 || err > 0 || (!copied && !err), 'mfill_atomic: bad result');
  return copied ? copied : err;
}

/**
 * userfaultfd_copy(ctx, dst, value): the UFFDIO_COPY ioctl of one page holding `value`.
 * -EAGAIN while mmap_changing; wakes the faults waiting in the range. Returns 0 or -errno.
 */
export function* userfaultfd_copy(ctx: userfaultfd_ctx, dst: number, value: number): Task<number> {
  const len = PAGE_SIZE;
  yield 'userfaultfd_copy:atomic_read(mmap_changing)';
  kasan_check_read(ctx, 'userfaultfd_copy');
  if (ctx.mmap_changing) return -EAGAIN;
  let ret = validate_range(dst, len);
  if (ret) return ret;
  // fs/userfaultfd.c (4.x–6.15): mfill_atomic_copy runs under an mm_users reference, so the
  // address space is not torn down (exit_mmap) under it; the last mmput may be this one.
  if (!k.fn.mmget_not_zero(ctx.mm)) return -ESRCH;
  ret = yield* k.fn.mfill_atomic(ctx, dst, value, len);
  yield* k.fn.mmput(ctx.mm);
  if (ret < 0) return ret;
  VM_WARN_ON_ONCE(!ret, 'userfaultfd_copy: nothing copied');
  yield* k.fn.wake_userfault(ctx, { start: dst, len: ret });
  return ret === len ? 0 : -EAGAIN;
}

// ---------------------------------------------------------------------------------------------
// UFFDIO_MOVE (mm/userfaultfd.c: move_pages, 6.8+)

/** double_pt_lock(ptl1, ptl2): in address order, the second nested; once if they are the same. */
export function* double_pt_lock(t1: pte_table, t2: pte_table): Task<void> {
  let a = t1;
  let b = t2;
  if (a.name > b.name) [a, b] = [b, a];
  yield* spin_lock(a.ptl);
  if (a !== b) yield* spin_lock_nested(b.ptl, SINGLE_DEPTH_NESTING);
}

/** double_pt_unlock(ptl1, ptl2). */
export function double_pt_unlock(t1: pte_table, t2: pte_table): void {
  spin_unlock(t1.ptl);
  if (t1 !== t2) spin_unlock(t2.ptl);
}

/** is_pte_pages_stable(): both entries unchanged and the destination table still installed. */
function is_pte_pages_stable(dst_pte: pte_table, src_pte: pte_table, dst_addr: number, src_addr: number,
  orig_dst_pte: pte_t, orig_src_pte: pte_t, dst_pmd: pmd_t): boolean {
  return k.fn.pte_same(k.fn.ptep_get(src_pte, src_addr), orig_src_pte) &&
    k.fn.pte_same(k.fn.ptep_get(dst_pte, dst_addr), orig_dst_pte) && dst_pmd.table === dst_pte;
}

/**
 * move_present_pte(): under both PTLs, re-validate, refuse a non-exclusive folio (-EBUSY), clear
 * the source PTE with a TLB flush, move the folio's anon rmap to dst_vma and install it at dst.
 * Locks: the VMAs stable; the source folio locked.
 */
export function* move_present_pte(mm: mm_struct, dst_vma: vm_area_struct, src_vma: vm_area_struct,
  dst_addr: number, src_addr: number, dst_pte: pte_table, src_pte: pte_table, orig_dst_pte: pte_t,
  orig_src_pte: pte_t, dst_pmd: pmd_t, src_folio: folio): Task<number> {
  let err = 0;
  yield* k.fn.double_pt_lock(dst_pte, src_pte);
  if (!is_pte_pages_stable(dst_pte, src_pte, dst_addr, src_addr, orig_dst_pte, orig_src_pte, dst_pmd)) {
    err = -EAGAIN;
  } else if (!src_folio.anon_exclusive) {
    err = -EBUSY;
  } else {
    const old = k.fn.ptep_clear_flush(src_vma, src_addr, src_pte);
    k.fn.folio_move_anon_rmap(src_folio, dst_vma);
    src_folio.index = linear_page_index(dst_vma, dst_addr);
    let nd = k.fn.folio_mk_pte(src_folio, false);
    if (old.kind === 'present' && old.dirty) nd = k.fn.pte_mkdirty(nd);
    nd = k.fn.pte_mkwrite(nd, dst_vma);
    k.fn.set_pte_at(mm, dst_addr, dst_pte, nd);
  }
  k.fn.double_pt_unlock(dst_pte, src_pte);
  return err;
}

/**
 * move_swap_pte(): move a swap entry; a swap-cache folio (locked by the caller) follows it to
 * dst_vma; without one, re-check the swap cache under the PTLs (-EAGAIN if a folio appeared).
 */
export function* move_swap_pte(mm: mm_struct, dst_vma: vm_area_struct, dst_addr: number, src_addr: number,
  dst_pte: pte_table, src_pte: pte_table, orig_dst_pte: pte_t, orig_src_pte: pte_t, dst_pmd: pmd_t,
  src_folio: folio | null, entry: number): Task<number> {
  // Check if the folio still belongs to the target swap entry after acquiring the lock.
  if (src_folio && (!src_folio.swapcache || src_folio.swap !== entry)) return -EAGAIN;
  yield* k.fn.double_pt_lock(dst_pte, src_pte);
  if (!is_pte_pages_stable(dst_pte, src_pte, dst_addr, src_addr, orig_dst_pte, orig_src_pte, dst_pmd)) {
    k.fn.double_pt_unlock(dst_pte, src_pte);
    return -EAGAIN;
  }
  if (src_folio) {
    k.fn.folio_move_anon_rmap(src_folio, dst_vma);
    src_folio.index = linear_page_index(dst_vma, dst_addr);
  } else {
    const cached = yield* k.fn.swap_cache_get_folio(entry, null, 0);
    if (cached) {
      k.fn.folio_put(cached);
      k.fn.double_pt_unlock(dst_pte, src_pte);
      return -EAGAIN;
    }
  }
  const moved = k.fn.ptep_get_and_clear(mm, src_addr, src_pte);
  k.fn.set_pte_at(mm, dst_addr, dst_pte, moved);
  k.fn.double_pt_unlock(dst_pte, src_pte);
  return 0;
}

/**
 * move_pages_pte(mm, dst_pmd, src_pmd, dst_vma, src_vma, dst_addr, src_addr, mode): move one
 * PTE. Locks: the VMAs stable (mmap_read_lock or both VMA read locks).
 * Returns PAGE_SIZE or -errno (-EAGAIN: the caller tries again).
 */
export function* move_pages_pte(mm: mm_struct, dst_pmd: pmd_t, src_pmd: pmd_t, dst_vma: vm_area_struct,
  src_vma: vm_area_struct, dst_addr: number, src_addr: number, mode: number): Task<number> {
  let src_folio: folio | null = null;
  let src_folio_pte: pte_t = __pte_none;
  let si: ReturnType<typeof k.fn.get_swap_device> = null;
  let ret = 0;
  for (;;) {
    let dst_pte: pte_table | null = null;
    let src_pte: pte_table | null = null;
    let again = false;
    body: {
      dst_pte = yield* k.fn.pte_offset_map_rw_nolock(mm, dst_pmd, dst_addr);
      if (!dst_pte) {
        ret = -EAGAIN;
        break body;
      }
      src_pte = yield* k.fn.pte_offset_map_rw_nolock(mm, src_pmd, src_addr);
      if (!src_pte) {
        ret = -EAGAIN;
        break body;
      }
      yield* spin_lock(dst_pte.ptl);
      const orig_dst_pte = k.fn.ptep_get(dst_pte, dst_addr);
      spin_unlock(dst_pte.ptl);
      if (orig_dst_pte.kind !== 'none') {
        ret = -EEXIST;
        break body;
      }
      yield* spin_lock(src_pte.ptl);
      const orig_src_pte = k.fn.ptep_get(src_pte, src_addr);
      spin_unlock(src_pte.ptl);
      if (orig_src_pte.kind === 'none') {
        ret = mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES ? PAGE_SIZE : -ENOENT;
        break body;
      }
      // If PTE changed after we locked the folio then start over
      if (src_folio && !k.fn.pte_same(src_folio_pte, orig_src_pte)) {
        ret = -EAGAIN;
        break body;
      }
      if (orig_src_pte.kind === 'present') {
        if (k.fn.is_zero_folio(orig_src_pte.folio)) {
          // move_zeropage_pte
          yield* k.fn.double_pt_lock(dst_pte, src_pte);
          if (!is_pte_pages_stable(dst_pte, src_pte, dst_addr, src_addr, orig_dst_pte, orig_src_pte, dst_pmd)) {
            k.fn.double_pt_unlock(dst_pte, src_pte);
            ret = -EAGAIN;
            break body;
          }
          k.fn.ptep_clear_flush(src_vma, src_addr, src_pte);
          k.fn.set_pte_at(mm, dst_addr, dst_pte, k.fn.pte_mkspecial(k.fn.folio_mk_pte(orig_src_pte.folio, false)));
          k.fn.double_pt_unlock(dst_pte, src_pte);
          ret = 0;
          break body;
        }
        // Pin and lock source folio. Since we are in RCU read section, we can't block.
        if (!src_folio) {
          yield* spin_lock(src_pte.ptl);
          if (!k.fn.pte_same(orig_src_pte, k.fn.ptep_get(src_pte, src_addr))) {
            spin_unlock(src_pte.ptl);
            ret = -EAGAIN;
            break body;
          }
          const f = orig_src_pte.special ? null : orig_src_pte.folio; // vm_normal_folio
          if (!f || !f.anon_exclusive) {
            spin_unlock(src_pte.ptl);
            ret = -EBUSY;
            break body;
          }
          const locked = yield* folio_trylock(f);
          k.fn.folio_get(f);
          src_folio = f;
          src_folio_pte = orig_src_pte;
          spin_unlock(src_pte.ptl);
          if (!locked) {
            k.fn.pte_unmap(src_pte);
            k.fn.pte_unmap(dst_pte);
            src_pte = dst_pte = null;
            // now we can block and wait
            yield* folio_lock(src_folio);
            again = true;
            break body;
          }
          if (WARN_ON_ONCE(!folio_test_anon(src_folio), 'move_pages_pte: not anon')) {
            ret = -EBUSY;
            break body;
          }
        }
        ret = yield* k.fn.move_present_pte(mm, dst_vma, src_vma, dst_addr, src_addr, dst_pte, src_pte,
          orig_dst_pte, orig_src_pte, dst_pmd, src_folio);
      } else if (orig_src_pte.kind === 'migration') {
        ret = -EAGAIN;
      } else if (orig_src_pte.kind !== 'swap') {
        ret = -EFAULT;
      } else {
        if (!orig_src_pte.exclusive) {
          ret = -EBUSY;
          break body;
        }
        const entry = orig_src_pte.entry;
        si = k.fn.get_swap_device(entry);
        if (!si) {
          ret = -EAGAIN;
          break body;
        }
        let f: folio | null = null;
        if (!src_folio) f = yield* k.fn.swap_cache_get_folio(entry, null, 0);
        if (f) {
          src_folio = f;
          src_folio_pte = orig_src_pte;
          if (!(yield* folio_trylock(src_folio))) {
            k.fn.pte_unmap(src_pte);
            k.fn.pte_unmap(dst_pte);
            src_pte = dst_pte = null;
            k.fn.put_swap_device(si);
            si = null;
            yield* folio_lock(src_folio);
            again = true;
            break body;
          }
        }
        ret = yield* k.fn.move_swap_pte(mm, dst_vma, dst_addr, src_addr, dst_pte, src_pte, orig_dst_pte,
          orig_src_pte, dst_pmd, src_folio, entry);
      }
    }
    if (again) continue;
    if (src_folio) {
      folio_unlock(src_folio);
      k.fn.folio_put(src_folio);
    }
    if (src_pte) k.fn.pte_unmap(src_pte);
    if (dst_pte) k.fn.pte_unmap(dst_pte);
    if (si) k.fn.put_swap_device(si);
    return ret === 0 ? PAGE_SIZE : ret;
  }
}

/** vma_move_compatible(vma). */
function vma_move_compatible(vma: vm_area_struct): boolean {
  return !(vma.vm_flags & (VM_PFNMAP | VM_IO | VM_HUGETLB | VM_MIXEDMAP));
}

/** validate_move_areas(ctx, src_vma, dst_vma). */
export function validate_move_areas(ctx: userfaultfd_ctx, src_vma: vm_area_struct, dst_vma: vm_area_struct): number {
  // Only allow moving if both have the same access and protection
  if ((src_vma.vm_flags & VM_ACCESS_FLAGS) !== (dst_vma.vm_flags & VM_ACCESS_FLAGS) ||
    src_vma.vm_page_prot !== dst_vma.vm_page_prot) return -EINVAL;
  // Only allow moving if both are mlocked or both aren't
  if ((src_vma.vm_flags & VM_LOCKED) !== (dst_vma.vm_flags & VM_LOCKED)) return -EINVAL;
  // For now, we keep it simple and only move between writable VMAs.
  if (!(src_vma.vm_flags & VM_WRITE)) return -EINVAL;
  if (!vma_move_compatible(src_vma) || !vma_move_compatible(dst_vma)) return -EINVAL;
  // Ensure dst_vma is registered in uffd we are operating on
  if (!dst_vma.vm_userfaultfd_ctx || dst_vma.vm_userfaultfd_ctx !== ctx) return -EINVAL;
  // Only allow moving across anonymous vmas
  if (!k.fn.vma_is_anonymous(src_vma) || !k.fn.vma_is_anonymous(dst_vma)) return -EINVAL;
  return 0;
}

/** The pair of VMAs move_pages works on. */
export interface sim_move_vmas {
  readonly dst: vm_area_struct;
  readonly src: vm_area_struct;
}

/**
 * uffd_move_lock(mm, dst_start, src_start): 6.8+ — read-lock dst (uffd_lock_vma), then src with
 * lock_vma_under_rcu (never uffd_lock_vma: that could deadlock against a writer, see the
 * kernel's comment), else both under mmap_read_lock with vma_start_read_locked. Before 6.8:
 * mmap_read_lock held on success. Returns the VMAs or -errno (nothing held).
 */
export function* uffd_move_lock(mm: mm_struct, dst_start: number, src_start: number): Task<sim_move_vmas | number> {
  if (!k.fn.sim_uffd_ops_vma_lock()) {
    yield* k.fn.mmap_read_lock(mm);
    const r = yield* find_vmas_mm_locked(mm, dst_start, src_start);
    if (typeof r === 'number') k.fn.mmap_read_unlock(mm);
    return r;
  }
  const dst = yield* k.fn.uffd_lock_vma(mm, dst_start);
  if (typeof dst === 'number') return dst;
  if (src_start >= dst.vm_start && src_start < dst.vm_end) return { dst, src: dst };
  const src = yield* k.fn.lock_vma_under_rcu(mm, src_start);
  if (src) return { dst, src };
  // Undo any locking and retry in mmap_lock critical section
  yield* k.fn.vma_end_read(dst);
  yield* k.fn.mmap_read_lock(mm);
  let r = yield* find_vmas_mm_locked(mm, dst_start, src_start);
  if (typeof r !== 'number') {
    if (!k.fn.vma_start_read_locked(r.dst)) r = -EAGAIN;
    else if (r.dst !== r.src && !k.fn.vma_start_read_locked(r.src)) {
      yield* k.fn.vma_end_read(r.dst);
      r = -EAGAIN;
    }
  }
  k.fn.mmap_read_unlock(mm);
  return r;
}

/** find_vmas_mm_locked(mm, dst_start, src_start): dst (with anon_vma_prepare) and src. */
function* find_vmas_mm_locked(mm: mm_struct, dst_start: number, src_start: number): Task<sim_move_vmas | number> {
  k.fn.mmap_assert_locked(mm);
  const dst = yield* k.fn.vma_lookup(mm, dst_start);
  if (!dst) return -ENOENT;
  if (!(dst.vm_flags & VM_SHARED) && (yield* k.fn.anon_vma_prepare(dst))) return -ENOMEM;
  if (src_start >= dst.vm_start && src_start < dst.vm_end) return { dst, src: dst };
  const src = yield* k.fn.vma_lookup(mm, src_start);
  if (!src) return -ENOENT;
  return { dst, src };
}

/** uffd_move_unlock(dst_vma, src_vma). */
export function* uffd_move_unlock(dst_vma: vm_area_struct, src_vma: vm_area_struct): Task<void> {
  if (!k.fn.sim_uffd_ops_vma_lock()) {
    k.fn.mmap_assert_locked(src_vma.vm_mm);
    k.fn.mmap_read_unlock(dst_vma.vm_mm);
    return;
  }
  yield* k.fn.vma_end_read(src_vma);
  if (src_vma !== dst_vma) yield* k.fn.vma_end_read(dst_vma);
}

/**
 * move_pages(ctx, dst_start, src_start, len, mode): UFFDIO_MOVE — remap anonymous pages between
 * (or within) registered VMAs PTE by PTE. Returns bytes moved or -errno.
 */
export function* move_pages(ctx: userfaultfd_ctx, dst_start: number, src_start: number, len: number, mode: number): Task<number> {
  const mm = ctx.mm;
  let moved = 0;
  let err = 0;
  const vmas = yield* k.fn.uffd_move_lock(mm, dst_start, src_start);
  if (typeof vmas === 'number') return vmas;
  const { dst: dst_vma, src: src_vma } = vmas;
  const vma_locks = k.fn.sim_uffd_ops_vma_lock();
  out_unlock: {
    // Re-check after taking map_changing_lock
    err = -EAGAIN;
    if (vma_locks) yield* down_read(ctx.map_changing_lock);
    yield 'move_pages:atomic_read(mmap_changing)';
    if (ctx.mmap_changing) break out_unlock;
    err = -EINVAL;
    if (src_vma.vm_flags & VM_SHARED || src_start + len > src_vma.vm_end) break out_unlock;
    if (dst_vma.vm_flags & VM_SHARED || dst_start + len > dst_vma.vm_end) break out_unlock;
    err = k.fn.validate_move_areas(ctx, src_vma, dst_vma);
    if (err) break out_unlock;
    let src_addr = src_start;
    let dst_addr = dst_start;
    while (src_addr < src_start + len) {
      yield 'move_pages:mm_find_pmd';
      let src_pmd = mm.pgd.get(Math.floor(src_addr / PMD_SIZE)) ?? null;
      const dst_pmd0 = k.fn.pmd_off(mm, dst_addr);
      // If the dst_pmd is mapped as THP don't override it and just be strict.
      if (k.fn.pmd_trans_huge(dst_pmd0)) {
        err = -EEXIST;
        break;
      }
      if (src_pmd && k.fn.pmd_trans_huge(src_pmd)) {
        const ptl = yield* k.fn.pmd_trans_huge_lock(src_pmd, src_vma);
        if (ptl) {
          // move_splits_huge_pmd: a one-page move always splits; an exclusive THP only.
          const f = src_pmd.huge!.folio;
          spin_unlock(ptl);
          if (!f.anon_exclusive) {
            err = -EBUSY;
            break;
          }
          yield* k.fn.split_huge_pmd(src_vma, src_pmd, src_addr);
          // The folio will be split by move_pages_pte()
          continue;
        }
      }
      if (!src_pmd || k.fn.pmd_none(src_pmd)) {
        if (!(mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES)) {
          err = -ENOENT;
          break;
        }
        src_pmd = k.fn.pmd_off(mm, src_addr);
        if ((yield* k.fn.pte_alloc(mm, src_pmd))) {
          err = -ENOMEM;
          break;
        }
      }
      const dst_pmd = dst_pmd0;
      if (k.fn.pmd_none(dst_pmd) && (yield* k.fn.pte_alloc(mm, dst_pmd))) {
        err = -ENOMEM;
        break;
      }
      const ret = yield* k.fn.move_pages_pte(mm, dst_pmd, src_pmd, dst_vma, src_vma, dst_addr, src_addr, mode);
      err = ret < 0 ? ret : 0;
      if (fatal_signal_pending()) {
        if (!err || err === -EAGAIN) err = -4;
        break;
      }
      if (err) {
        if (err === -EAGAIN) continue;
        break;
      }
      dst_addr += ret;
      src_addr += ret;
      moved += ret;
    }
  }
  if (vma_locks) up_read(ctx.map_changing_lock);
  yield* k.fn.uffd_move_unlock(dst_vma, src_vma);
  VM_WARN_ON_ONCE(moved < 0 || err > 0 || (!moved && !err), 'move_pages: bad result');
  return moved ? moved : err;
}

/** userfaultfd_move(ctx, dst, src, len): the UFFDIO_MOVE ioctl. Returns 0 or -errno. */
export function* userfaultfd_move(ctx: userfaultfd_ctx, dst: number, src: number, len: number): Task<number> {
  yield 'userfaultfd_move:atomic_read(mmap_changing)';
  kasan_check_read(ctx, 'userfaultfd_move');
  if (ctx.mmap_changing) return -EAGAIN;
  // Do not allow cross-mm moves.
  if (ctx.mm !== current_mm()) return -EINVAL;
  let ret = validate_range(dst, len);
  if (ret) return ret;
  ret = validate_range(src, len);
  if (ret) return ret;
  // fs/userfaultfd.c userfaultfd_move: move_pages under an mm_users reference (mmget_not_zero).
  if (!k.fn.mmget_not_zero(ctx.mm)) return -ESRCH;
  ret = yield* k.fn.move_pages(ctx, dst, src, len, 0);
  yield* k.fn.mmput(ctx.mm);
  if (ret < 0) return ret;
  yield* k.fn.wake_userfault(ctx, { start: dst, len: ret });
  return ret === len ? 0 : -EAGAIN;
}

// ---------------------------------------------------------------------------------------------
// The model's operations

function errOrOk(r: number): ModelResult {
  return r < 0 ? { kind: 'errno', errno: r } : { kind: 'ok' };
}

/**
 * What the program knows it has unregistered: per process, the ranges [start, end) of its
 * UFFDIO_UNREGISTERs that returned 0, minus what it registered again since. User-space knowledge
 * (a monitor that relies on the unregister contract consults it), recorded when the ioctl returns.
 */
function sim_uffd_unregistered(): Map<number, [number, number][]> {
  return k.state('uffd_unregistered', () => new Map<number, [number, number][]>());
}

/** [start, end) minus [a, b). */
function sim_range_minus(r: [number, number], a: number, b: number): [number, number][] {
  if (b <= r[0] || a >= r[1]) return [r];
  const out: [number, number][] = [];
  if (r[0] < a) out.push([r[0], a]);
  if (b < r[1]) out.push([b, r[1]]);
  return out;
}

/** UFFDIO_REGISTER on the process's userfaultfd (opened on first use). */
export function* sim_sys_uffd_register(op: UffdRegisterOp): Task<ModelResult> {
  if (!k.procs.get(op.pid)?.mm) return { kind: 'errno', errno: -ESRCH };
  const ctx = k.fn.sim_new_userfaultfd(op.pid)!;
  const mode = op.mode === 'missing' ? UFFDIO_REGISTER_MODE_MISSING : UFFDIO_REGISTER_MODE_WP;
  const r = yield* k.fn.userfaultfd_register(ctx, op.addr, op.len, mode);
  const known = sim_uffd_unregistered().get(op.pid);
  if (r === 0 && known) sim_uffd_unregistered().set(op.pid, known.flatMap((x) => sim_range_minus(x, op.addr, op.addr + op.len)));
  return errOrOk(r);
}

/** UFFDIO_UNREGISTER. */
export function* sim_sys_uffd_unregister(op: UffdUnregisterOp): Task<ModelResult> {
  if (!k.procs.get(op.pid)?.mm) return { kind: 'errno', errno: -ESRCH };
  const ctx = k.fn.sim_uffd_ctx(op.pid);
  if (!ctx) return { kind: 'errno', errno: -EBADF };
  const r = yield* k.fn.userfaultfd_unregister(ctx, op.addr, op.len);
  if (r === 0) {
    const m = sim_uffd_unregistered();
    m.set(op.pid, [...(m.get(op.pid) ?? []), [op.addr, op.addr + op.len]]);
  }
  return errOrOk(r);
}

/** UFFDIO_COPY of one page. */
export function* sim_sys_uffdio_copy(op: UffdioCopyOp): Task<ModelResult> {
  if (!k.procs.get(op.pid)?.mm) return { kind: 'errno', errno: -ESRCH };
  const ctx = k.fn.sim_uffd_ctx(op.pid);
  if (!ctx) return { kind: 'errno', errno: -EBADF };
  return errOrOk(yield* k.fn.userfaultfd_copy(ctx, op.dst, op.value));
}

/** UFFDIO_MOVE of one page. */
export function* sim_sys_uffdio_move(op: UffdioMoveOp): Task<ModelResult> {
  if (!k.procs.get(op.pid)?.mm) return { kind: 'errno', errno: -ESRCH };
  const ctx = k.fn.sim_uffd_ctx(op.pid);
  if (!ctx) return { kind: 'errno', errno: -EBADF };
  return errOrOk(yield* k.fn.userfaultfd_move(ctx, op.dst, op.src, PAGE_SIZE));
}

/** The model's view of a uffd_msg. */
export function sim_uffd_event(msg: uffd_msg): UffdEvent {
  switch (msg.event) {
    case 'pagefault':
      return { type: 'pagefault', addr: msg.address, write: msg.write ?? false };
    case 'fork':
      return { type: 'fork', child: msg.child_pid ?? 0 };
    case 'remap':
      return { type: 'remap', from: msg.from ?? 0, to: msg.to ?? 0, len: msg.len ?? 0 };
    case 'remove':
      return { type: 'remove', start: msg.start ?? 0, end: msg.end ?? 0 };
    case 'unmap':
      return { type: 'unmap', start: msg.start ?? 0, end: msg.end ?? 0 };
  }
}

/** A non-blocking read(2) of one uffd_msg. */
export function* sim_sys_uffd_read_event(op: UffdReadEventOp): Task<ModelResult> {
  if (!k.procs.get(op.pid)?.mm) return { kind: 'errno', errno: -ESRCH };
  const ctx = k.fn.sim_uffd_ctx(op.pid);
  if (!ctx) return { kind: 'errno', errno: -EBADF };
  const r = yield* k.fn.userfaultfd_ctx_read(ctx, true);
  if (typeof r === 'number') return { kind: 'errno', errno: r };
  return { kind: 'event', event: k.fn.sim_uffd_event(r) };
}

/**
 * The userfaultfd monitor thread of spec.pid (a user-space program, run as a daemon task): poll,
 * read(2) a message, resolve a page fault with UFFDIO_COPY of spec.value; on -EAGAIN read the
 * pending non-cooperative events and retry. Its read(2)s and UFFDIO_COPYs are user-visible
 * operations, recorded in the history like a user thread's (sim_user_op), so the model judges
 * them and the faults they resolve. Like a real non-cooperative monitor it wakes the faults of a
 * range that went away or changed (UFFD_EVENT_UNMAP / REMOVE / REMAP: UFFDIO_WAKE), and of a
 * copy that found nothing to fill (-ENOENT / -EEXIST: the faulting task retries on its own), and
 * retries a copy that got -ENOMEM (nothing was copied; the fault still waits). It
 * stops after spec.count faults (a daemon: the run ends when the user threads are done), or once
 * its process is gone (a read says -ESRCH after exit_group: see the poll loop).
 *
 * spec.monitor 'contract' is a monitor that relies on the documented contract of
 * UFFDIO_UNREGISTER ("wake any concurrent pending userfault while we unregister, so they will not
 * hang permanently and it avoids userland to call UFFDIO_WAKE explicitly", fs/userfaultfd.c): a
 * copy that fails with -ENOENT on a page of a range its process has unregistered (and not
 * registered again) is not followed by UFFDIO_WAKE. Everything else is as the default
 * ('defensive') monitor does.
 */
export function* sim_daemon_uffd_handler(spec: DaemonSpec): Task<void> {
  if (spec.kind !== 'uffd_handler') return;
  const { pid, value, count } = spec;
  const tid = current().id;
  if (!k.threads.has(tid)) k.threads.set(tid, { tid, pid, comm: 'uffd_handler', exiting: false });
  const monitors = k.state('uffd_monitors', () => new Map<number, number[]>());
  monitors.set(pid, [...(monitors.get(pid) ?? []), tid]);
  const faults: number[] = [];
  const trusts_unregister = spec.monitor === 'contract';
  /** The page at addr lies in a range this process unregistered (what the program knows). */
  const unregistered = (addr: number): boolean =>
    (sim_uffd_unregistered().get(pid) ?? []).some(([a, b]) => a <= addr && addr < b);
  /** UFFDIO_WAKE(range): validate_range, then wake_userfault (not a model operation: no state). */
  function* uffdio_wake(start: number, len: number): Task<void> {
    const ctx = k.fn.sim_uffd_ctx(pid);
    if (!ctx || validate_range(start, len)) return;
    yield* k.fn.wake_userfault(ctx, { start, len });
  }
  let gone = false;
  /**
   * One read(2): remember a fault, act on an event. Returns false when there was nothing, or when
   * the process is gone (-ESRCH: it exited — sets `gone`).
   */
  function* read_one(): Task<boolean> {
    const r = yield* sim_user_op({ op: 'uffd_read_event', pid });
    if (r.kind === 'errno' && r.errno === -ESRCH) gone = true;
    if (r.kind !== 'event') return false;
    const ev = r.event;
    switch (ev.type) {
      case 'pagefault': faults.push(ev.addr); break;
      case 'unmap': case 'remove': yield* uffdio_wake(ev.start, ev.end - ev.start); break;
      case 'remap': yield* uffdio_wake(ev.from, ev.len); break;
      case 'fork': break;
    }
    return true;
  }
  let resolved = 0;
  while (resolved < count) {
    if (faults.length === 0) {
      // poll(2): until the userfaultfd has something to read
      yield block('uffd_handler:poll', () => {
        const c = k.fn.sim_uffd_ctx(pid);
        return c !== null && (c.fault_pending_wqh.head.length > 0 || c.event_wqh.head.length > 0);
      });
      yield* read_one();
      // The process exited (exit_group): its threads die (a fault waiting in handle_userfault is
      // killable: the SIGKILL of zap_other_threads ends its wait) and nothing it does will need
      // the monitor again. A real monitor's read(2) would return a fault still queued until its
      // thread runs and dequeues it, then block in poll(2) for good; the simulation's read says
      // -ESRCH without consuming it, so a monitor that kept polling would spin on that queued
      // fault and, never blocking, starve the dying thread (a step-limit "livelock" the kernel
      // does not have). It stops instead: as good as blocked forever.
      if (gone) return;
      continue;
    }
    const address = faults.shift()!;
    const dst = address - (address % PAGE_SIZE);
    for (;;) {
      const r = yield* sim_user_op({ op: 'uffdio_copy', pid, dst, value });
      // -ENOMEM (fault injection: the kernel could not allocate the page or a page table):
      // nothing was copied and the fault still waits — a monitor tries again.
      if (r.kind === 'errno' && r.errno === -ENOMEM) continue;
      if (r.kind !== 'errno' || r.errno !== -EAGAIN) {
        if (r.kind === 'errno' && !(trusts_unregister && r.errno === -ENOENT && unregistered(dst))) yield* uffdio_wake(dst, PAGE_SIZE);
        break;
      }
      // Read the pending non-cooperative events, then retry — after a back-off: a real monitor
      // sleeps or polls before retrying; here it waits until the retry can get further (the
      // events' tasks lowered mmap_changing) or there is something new to read.
      while (yield* read_one());
      yield block('uffd_handler:retry', () => {
        const c = k.fn.sim_uffd_ctx(pid);
        return c === null || c.mmap_changing === 0 || c.event_wqh.head.length > 0;
      });
    }
    resolved++;
  }
}
