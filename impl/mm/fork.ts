/**
 * Kernel: kernel/fork.c — copy_mm → dup_mm → dup_mmap (moved to mm/mmap.c in 6.16), the
 * process creation around it (copy_process: the pid, the task), and the mm_struct's lifetime:
 * allocate_mm / mm_init, mmget_not_zero / mmput (mm_users, the address space) and
 * mmgrab / mmdrop / __mmdrop (mm_count, the struct itself).
 *
 * mm_struct lifetime: an mm is a KASAN object of the "mm_struct" cache (mm_cachep). The users
 * (mm_users) collectively hold one mm_count reference; the last mmput runs __mmput → exit_mmap
 * and then mmdrop; the last mmdrop frees the struct at once (__mmdrop → check_mm → free_mm: no
 * RCU delay on x86 — only PREEMPT_RT's mmdrop_sched defers through call_rcu, not modelled). Anyone
 * who keeps an mm pointer across a sleep without being one of its users holds mmgrab (a
 * userfaultfd context, /proc readers, khugepaged's mm_slot, vma_start_read's recycled-VMA path);
 * an access through any other pointer after the free is a KASAN use-after-free, reported where the
 * simulation dereferences the mm (the mmap_lock wrappers, the VMA-lock rcuwait, mmget/mmgrab).
 *
 * dup_mmap in its fixed form (6.4.3+ / 6.5, fb49c455323f "fork: lock VMAs of the parent process
 * when forking"): mmap_write_lock_killable(oldmm), mmap_write_lock_nested(child,
 * SINGLE_DEPTH_NESTING); for each parent VMA: vma_start_write(mpnt) — so no fault under the VMA
 * lock changes its anon_vma or PTEs while it is copied (I17, B8) — VM_DONTCOPY skip,
 * vm_area_dup, vma_dup_policy, anon_vma_fork (or a clean slate with VM_WIPEONFORK), i_mmap link,
 * store in the child's tree, copy_page_range (COW); then mmap_write_unlock(child),
 * flush_tlb_mm(oldmm), mmap_write_unlock(oldmm). The child's tree (k.cfg.fork_mt_dup): ≤6.7 built
 * VMA by VMA (vma_iter_bulk_store), so a failure leaves exactly the VMAs copied so far; 6.8+
 * (d24062914837) a copy of the parent's (__mt_dup) whose slots are replaced one by one, the
 * failing VMA's range then overwritten with XA_ZERO_ENTRY — the parent's VMAs after it stay in
 * the child's tree, and exit_mmap's walks stop at the marker (mmput → exit_mmap frees the rest).
 *
 * userfaultfd: dup_userfaultfd gives each child VMA a new context (the parent's mmap_changing
 * raised); after both locks are dropped dup_userfaultfd_complete delivers UFFD_EVENT_FORK and waits
 * for the monitor to read it (dup_userfaultfd_fail undoes it when the copy failed).
 *
 * Left out: uprobes, ksm/khugepaged registration, accounting (VM_ACCOUNT charge), the child's
 * threads and signals (the child process has no thread until the scenario gives it one).
 */
import type { Task } from '../rt/task.js';
import { k, current_thread } from '../sim/kernel.js';
import { mm_struct, XA_ZERO_ENTRY, type folio, type vm_area_struct } from '../include/linux/mm_types.js';
import { Violation } from '../rt/task.js';
import { PAGE_SIZE, PMD_SIZE, PTRS_PER_PTE, VM_DONTCOPY, VM_LOCKED, VM_WIPEONFORK } from '../include/linux/mm_flags.js';
import { EINTR, ENOMEM, ESRCH } from '../include/linux/errno.js';
import { SINGLE_DEPTH_NESTING } from '../sync/lockdep.js';
import { refcount_dec_and_test, refcount_inc, refcount_inc_not_zero } from '../sync/refcount.js';
import { kasan_check_write, kmem_cache_alloc, kmem_cache_create, kmem_cache_free, sim_kasan_track, type kmem_cache } from '../sync/kasan.js';
import type { Execution } from '../rt/execution.js';
import { BUG_ON } from '../include/linux/mmdebug.js';
import { down_write, up_write } from '../sync/rwsem.js';
import type { userfaultfd_fork_ctx } from './userfaultfd.js';

/**
 * dup_mmap(mm, oldmm): copy the parent's VMAs and page tables into the new mm.
 * Locks: takes mmap_write_lock(oldmm) (killable) and the child's (nested); both released on
 * return. Returns 0 or -errno.
 */
export function* dup_mmap(mm: mm_struct, oldmm: mm_struct): Task<number> {
  if ((yield* k.fn.mmap_write_lock_killable(oldmm)) !== 0) return -EINTR;
  // Not linked in yet - no deadlock potential:
  yield* k.fn.mmap_write_lock_nested(mm, SINGLE_DEPTH_NESTING);
  let retval = 0;
  // LIST_HEAD(uf): the userfaultfd contexts the child gets (dup_userfaultfd), one per parent ctx.
  const uf: userfaultfd_fork_ctx[] = [];
  const mt_dup = k.cfg.fork_mt_dup;
  // 6.8+: use __mt_dup() to efficiently build an identical maple tree — its slots are the
  // parent's VMAs until each is replaced by the child's copy below.
  if (mt_dup) retval = yield* k.fn.__mt_dup(oldmm, mm);
  const parent = k.fn.sim_vmas(oldmm);
  /** loop_out's mpnt: the parent VMA the copy stopped at (6.8+: marked XA_ZERO_ENTRY). */
  let stopped: vm_area_struct | null = null;
  if (!retval) {
    k.fn.mt_clear_in_rcu(mm.mm_mt); // mt_clear_in_rcu(vmi.mas.tree)
    for (let i = 0; i < parent.length; i++) {
      const mpnt = parent[i]!;
      // Parent VMA write lock: no page fault may change it while it is copied (fb49c455323f).
      yield* k.fn.vma_start_write(mpnt);
      if (mpnt.vm_flags & VM_DONTCOPY) {
        // 6.8+: vma_iter_clear_gfp(&vmi, mpnt->vm_start, mpnt->vm_end): not the child's.
        if (mt_dup) yield* k.fn.vma_iter_clear(mm, mpnt.vm_start, mpnt.vm_end);
        continue;
      }
      const tmp = yield* k.fn.vm_area_dup(mpnt);
      retval = yield* k.fn.vma_dup_policy(mpnt, tmp);
      if (retval) {
        k.fn.vm_area_free(tmp);
        retval = -ENOMEM;
        stopped = mpnt;
        break;
      }
      tmp.vm_mm = mm;
      retval = yield* k.fn.dup_userfaultfd(tmp, uf);
      if (retval) {
        // fail_nomem_anon_vma_fork: mpol_put(vma_policy(tmp)); fail_nomem_policy: vm_area_free(tmp)
        sim_mpol_put(tmp);
        k.fn.vm_area_free(tmp);
        stopped = mpnt;
        break;
      }
      if (tmp.vm_flags & VM_WIPEONFORK) {
        // VM_WIPEONFORK gets a clean slate in the child. Don't prepare anon_vma until fault since
        // we don't copy page for current vma.
        tmp.anon_vma = null;
      } else if ((yield* k.fn.anon_vma_fork(tmp, mpnt)) !== 0) {
        // fail_nomem_anon_vma_fork: mpol_put(vma_policy(tmp)); fail_nomem_policy: vm_area_free(tmp)
        sim_mpol_put(tmp);
        k.fn.vm_area_free(tmp);
        retval = -ENOMEM;
        stopped = mpnt;
        break;
      }
      tmp.vm_flags &= ~VM_LOCKED; // vm_flags_clear(tmp, VM_LOCKED_MASK): tmp is not visible yet
      const file = tmp.vm_file;
      if (file) {
        refcount_inc(file.f_count); // get_file(file)
        yield* down_write(file.f_mapping.i_mmap_rwsem); // i_mmap_lock_write(mapping)
        // insert tmp into the share list, just after mpnt
        file.f_mapping.i_mmap.add(tmp);
        up_write(file.f_mapping.i_mmap_rwsem);
      }
      // Link the vma into the MT (6.8+: over the parent's slot; after __mt_dup it cannot fail).
      // 6.15+: storing attaches it (vma_mark_attached), which asserts the VMA write lock; the
      // child mm is write-locked by us and invisible, so this is free.
      if (k.cfg.per_vma_lock && k.cfg.vma_lock_impl === 'refcount') yield* k.fn.vma_start_write(tmp);
      yield* k.fn.vma_iter_store(mm, tmp);
      mm.map_count++;
      const snap = k.fn.sim_fork_snapshot(mpnt);
      if (mt_dup) {
        // 6.8+: ->open before copy_page_range; a failed copy stops at the next VMA.
        if (tmp.vm_ops?.open) yield* tmp.vm_ops.open(tmp);
        retval = yield* k.fn.copy_page_range(tmp, mpnt);
        k.fn.sim_fork_snapshot_check(mpnt, snap);
        if (retval) {
          stopped = parent[i + 1] ?? null; // mpnt = vma_next(&vmi)
          break;
        }
      } else {
        if (!(tmp.vm_flags & VM_WIPEONFORK)) retval = yield* k.fn.copy_page_range(tmp, mpnt);
        k.fn.sim_fork_snapshot_check(mpnt, snap);
        if (tmp.vm_ops?.open) yield* tmp.vm_ops.open(tmp);
        if (retval) break;
      }
    }
  }
  // loop_out:
  if (!retval) {
    k.fn.mt_set_in_rcu(mm.mm_mt);
  } else if (mt_dup) {
    // The entire maple tree has already been duplicated. If the mmap duplication fails, mark
    // the failure point with XA_ZERO_ENTRY. In exit_mmap(), if this marker is encountered, stop
    // releasing VMAs that have not been duplicated after this point.
    if (stopped) yield* k.fn.mas_store_prealloc(mm, stopped.vm_start, stopped.vm_end - 1, XA_ZERO_ENTRY);
    // The mm_struct is going to exit, but the locks will be dropped first (MMF_UNSTABLE).
    mm.mmf_unstable = true;
  }
  k.fn.mmap_write_unlock(mm);
  yield* k.fn.flush_tlb_mm(oldmm);
  k.fn.mmap_write_unlock(oldmm);
  // UFFD_EVENT_FORK: deliver and wait for the monitor to read it (the parent's mmap_changing
  // stays raised until then), or undo the contexts on failure.
  if (!retval) yield* k.fn.dup_userfaultfd_complete(uf);
  else k.fn.dup_userfaultfd_fail(uf);
  return retval;
}

/** What dup_mmap relies on staying put while it copies a parent VMA (I17). */
export interface sim_fork_snap {
  readonly anon_vma: vm_area_struct['anon_vma'];
  /** Page address → the folio mapped there when the copy began. */
  readonly mapped: ReadonlyMap<number, folio>;
}

/**
 * I17 — fork snapshot (kernel.md §3; the B8 commit text: "anon_vma_fork() expects the parents
 * vma->anon_vma to not change during the vma copy"). While dup_mmap copies a parent VMA, no page
 * fault may change its anon_vma or map a page into it: the child would get PTEs its rmap does not
 * cover, or miss pages the parent then has. Reclaim turning a present PTE into a swap entry is
 * allowed (it holds the PTL per entry, as copy_pte_range does). A sim_ check, not kernel code: it
 * states the contract dup_mmap's locking must guarantee.
 */
export function sim_fork_snapshot(vma: vm_area_struct): sim_fork_snap {
  return { anon_vma: vma.anon_vma, mapped: sim_mapped_pages(vma) };
}

export function sim_fork_snapshot_check(vma: vm_area_struct, snap: sim_fork_snap): void {
  if (vma.anon_vma !== snap.anon_vma) {
    throw new Violation('fork-snapshot', `${vma}: anon_vma changed from ${snap.anon_vma?.name ?? 'NULL'} to ${vma.anon_vma?.name ?? 'NULL'} while dup_mmap copied it`,
      ['I17: while dup_mmap copies a parent VMA no fault may change its anon_vma (anon_vma_prepare under the VMA lock)']);
  }
  for (const [addr, f] of sim_mapped_pages(vma)) {
    if (snap.mapped.get(addr) !== f) {
      throw new Violation('fork-snapshot', `${vma}: ${f.name} was mapped at 0x${addr.toString(16)} while dup_mmap copied the VMA`,
        ['I17: while dup_mmap copies a parent VMA no fault may change its PTEs (the parent VMA must be write-locked: fb49c455323f)']);
    }
  }
}

function sim_mapped_pages(vma: vm_area_struct): Map<number, folio> {
  const out = new Map<number, folio>();
  const mm = vma.vm_mm;
  for (let a = vma.vm_start; a < vma.vm_end; a += PAGE_SIZE) {
    const pmd = mm.pgd.get(Math.floor(a / PMD_SIZE));
    const huge = pmd?.huge ?? null;
    if (huge !== null) {
      // A THP maps each of its pages (the same page objects a split maps by PTEs).
      if (huge.folio.pages !== null) out.set(a, huge.folio.pages[Math.floor(a / PAGE_SIZE) % PTRS_PER_PTE]!);
      continue;
    }
    const t = pmd?.table;
    if (!t || t.freed) continue;
    const pte = t.entries[Math.floor(a / PAGE_SIZE) % PTRS_PER_PTE]!;
    if (pte.kind === 'present') out.set(a, pte.folio);
  }
  return out;
}

/** mpol_put(vma_policy(vma)) on a failure path. */
function sim_mpol_put(vma: vm_area_struct): void {
  const pol = vma.vm_policy;
  if (!pol) return;
  const f = (k.fn as unknown as Record<string, ((p: typeof pol) => void) | undefined>)['mpol_put'];
  if (f) f(pol);
  else refcount_dec_and_test(pol.refcnt);
}

// ---------------------------------------------------------------------------------------------
// The mm_struct's lifetime

/**
 * mm_cachep: the slab cache of mm_structs (an ordinary cache: freed mms are never reused). The
 * constructor gets the pid from kmem_cache_alloc (no module state: a variant's copy of this
 * module shares the cache and its constructor).
 */
export const mm_cachep: kmem_cache<mm_struct> = kmem_cache_create<mm_struct>('mm_struct', (pid) => new mm_struct(pid as number), 0, null, 1408);

/**
 * sim_mm_alloc_setup(pid, exec): a scenario's initial mm (the exec'd process's mm_alloc), built
 * outside any task. mm_users 1, mm_count 1 (held by the users).
 */
export function sim_mm_alloc_setup(pid: number, exec?: Execution): mm_struct {
  return sim_kasan_track(new mm_struct(pid), mm_cachep, 'mm_alloc', exec);
}

/**
 * allocate_mm() + mm_init(mm, tsk): a fresh mm for the child (dup_mm's memcpy of the parent's
 * fields is left out: the child's fields start empty and dup_mmap fills them). mm_users 1,
 * mm_count 1. Not a scheduling point.
 */
export function* allocate_mm(pid: number): Task<mm_struct> {
  return yield* kmem_cache_alloc(mm_cachep, 'dup_mm: allocate_mm', pid);
}

/** mmgrab(mm): pin the struct (mm_count), not the address space. */
export function mmgrab(mm: mm_struct): void {
  kasan_check_write(mm, 'mmgrab');
  refcount_inc(mm.mm_count);
}

/**
 * mmdrop(mm): drop an mm_count reference; the last one frees the struct (__mmdrop). Anything
 * read through the pointer afterwards is a use-after-free.
 */
export function mmdrop(mm: mm_struct): void {
  kasan_check_write(mm, 'mmdrop');
  if (refcount_dec_and_test(mm.mm_count)) k.fn.__mmdrop(mm);
}

/**
 * check_mm(mm) (kernel/fork.c): "BUG: Bad rss-counter state" for a counter left non-zero,
 * "non-zero pgtables_bytes on freeing mm" for a page table exit_mmap left behind.
 */
export function check_mm(mm: mm_struct): void {
  for (const [type, n] of Object.entries(mm.rss_stat)) {
    BUG_ON(n !== 0, `BUG: Bad rss-counter state mm:${mm.name} type:${type} val:${n}`);
  }
  for (const pmd of mm.pgd.values()) {
    BUG_ON(pmd.table !== null && !pmd.table.freed, `BUG: non-zero pgtables_bytes on freeing mm: ${mm.name} still maps ${pmd.table?.name ?? ''}`);
  }
}

/**
 * __mmdrop(mm): the last mm_count reference is gone — free the page-table root (mm_free_pgd),
 * the arch context (here: the simulated TLBs' record of the mm), check_mm, free_mm.
 */
export function __mmdrop(mm: mm_struct): void {
  k.fn.check_mm(mm);
  mm.pgd.clear(); // mm_free_pgd
  k.fn.sim_tlb_destroy_context(mm); // destroy_context
  kmem_cache_free(mm_cachep, mm, '__mmdrop: free_mm');
}

/** mmget_not_zero(mm): a user of an address space that may be exiting (false: it is). */
export function mmget_not_zero(mm: mm_struct): boolean {
  kasan_check_write(mm, 'mmget_not_zero');
  return refcount_inc_not_zero(mm.mm_users);
}

/**
 * mmput(mm): drop an mm_users reference; the last one tears the address space down (__mmput →
 * exit_mmap) and drops the users' mm_count reference (mmdrop), which frees the struct unless
 * someone holds mmgrab. Might sleep.
 */
export function* mmput(mm: mm_struct): Task<void> {
  yield 'mmput:atomic_dec_and_test';
  kasan_check_write(mm, 'mmput');
  if (!refcount_dec_and_test(mm.mm_users)) return;
  // __mmput: uprobes, aio, ksm and khugepaged exits left out.
  yield* k.fn.exit_mmap(mm);
  k.fn.mmdrop(mm);
}

/**
 * dup_mm(tsk, oldmm): allocate the child's mm and copy the parent's address space into it.
 * Returns the new mm, or null (the half-built mm is released with mmput, which frees what
 * dup_mmap managed to copy, then the struct).
 */
export function* dup_mm(pid: number, oldmm: mm_struct): Task<mm_struct | null> {
  yield 'dup_mm:allocate_mm';
  const mm = yield* k.fn.allocate_mm(pid); // allocate_mm + memcpy + mm_init
  const err = yield* k.fn.dup_mmap(mm, oldmm);
  if (err) {
    yield* k.fn.mmput(mm); // free_pt
    return null;
  }
  return mm;
}

/**
 * copy_mm(clone_flags, tsk): without CLONE_VM the child gets a copy of the parent's mm.
 */
export function* copy_mm(pid: number, oldmm: mm_struct): Task<mm_struct | null> {
  return yield* k.fn.dup_mm(pid, oldmm);
}

/**
 * sim_fork(): fork(2) from the current thread — copy_process: copy_mm, then the new process is
 * registered (alloc_pid; the pid comes from k.nextPid). Returns the child's pid or -errno.
 */
export function* sim_fork(): Task<number> {
  const th = current_thread();
  const parent = k.procs.get(th.pid);
  if (!parent || parent.exited || !parent.mm) return -ESRCH;
  const pid = k.nextPid++;
  const mm = yield* k.fn.copy_mm(pid, parent.mm);
  if (!mm) return -ENOMEM;
  k.procs.set(pid, { pid, mm, uffds: [], exited: false });
  return pid;
}
