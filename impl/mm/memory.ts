/**
 * Kernel: mm/memory.c (handle_mm_fault, sanitize_fault_flags, __handle_mm_fault,
 * handle_pte_fault, do_pte_missing, do_anonymous_page, do_fault, do_read_fault, do_cow_fault,
 * do_shared_fault, do_fault_around, __do_fault, finish_fault, set_pte_range, do_wp_page,
 * wp_page_reuse, wp_page_copy, wp_page_shared, wp_pfn_shared, finish_mkwrite_fault,
 * do_page_mkwrite, fault_dirty_shared_page, vmf_can_call_fault, __vmf_anon_prepare,
 * __pte_alloc, pmd_install, vm_normal_page), mm/internal.h (vmf_anon_prepare),
 * include/linux/mm.h (release_fault_lock, assert_fault_locked, pte_alloc),
 * include/linux/oom.h (check_stable_address_space).
 *
 * The fault handlers run with the fault lock held — the VMA read lock when vmf->flags has
 * FAULT_FLAG_VMA_LOCK, else mmap_read_lock — and return a vm_fault_t. The per-era contract:
 *  - VM_FAULT_RETRY / VM_FAULT_COMPLETED: 6.6+ (k.cfg.vma_lock_released_by_handler) the handler
 *    has released the lock it was entered with (release_fault_lock) and nobody may touch the VMA
 *    afterwards; 6.4 the handler keeps the VMA lock (the arch code always calls vma_end_read),
 *    and only the mmap_lock is dropped by handlers (filemap, swap I/O).
 *  - Which faults may proceed under the VMA lock: 6.4 anonymous VMAs only (lock_vma_under_rcu
 *    refuses the others), do_swap_page bails out; 6.6 adds swap-in, userfaultfd and fault-around
 *    (->map_pages), while ->fault, COW and ->page_mkwrite bail out with VM_FAULT_RETRY; 6.7 runs
 *    them too when vma->vm_ops->map_pages exists (vmf_can_call_fault). An anon_vma is created
 *    under the VMA lock only in 6.10+, with a non-blocking mmap_read_trylock (__vmf_anon_prepare:
 *    never block on mmap_lock while holding a VMA lock, I4/H2); 6.6–6.9 retry instead; 6.4's
 *    do_anonymous_page calls anon_vma_prepare() directly (safe only because lock_vma_under_rcu
 *    refused VMAs without an anon_vma — checked before the lock in 6.4.0: B10).
 *  - Every installer re-takes the PTL through pte_offset_map_lock() and re-validates the entry
 *    (pte_same / vmf_pte_changed) before set_pte_at (I9); a lost race returns 0 or
 *    VM_FAULT_NOPAGE and user space re-executes the access.
 *
 * Scheduling points: every lockless PMD/PTE read, every PTE store (a labelled yield before it),
 * every lock (inside the primitive), every allocation (fault injection), every ->fault call.
 *
 * Left out: hugetlb, THP faults on an empty PMD (create_huge_pmd falls back), file THPs (do_set_pmd),
 * PUD faults (huge PMDs of khugepaged collapses are handled: __handle_mm_fault, wp_huge_pmd,
 * impl/mm/huge_memory.ts), NUMA hinting faults (do_numa_page), KSM,
 * device-private and device-exclusive entries, mmu notifiers, memcg charging and OOM, large
 * folios (mTHP: every folio is one page), uffd-wp async mode, soft-dirty, fault accounting
 * (mm_account_fault), the spurious-fault TLB flush. do_swap_page is mm/memory_swap.ts.
 */
import { k } from '../sim/kernel.js';
import { step, type Task } from '../rt/task.js';
import { spin_lock, spin_unlock } from '../sync/spinlock.js';
import { rcu_read_lock, rcu_read_unlock } from '../sync/rcu.js';
import { kasan_check_read, kasan_check_write } from '../sync/kasan.js';
import { lockdep_assert_held } from '../sync/lockdep.js';
import { folio_lock, folio_test_locked, folio_trylock, folio_unlock } from '../sync/bitlock.js';
import { refcount_dec_and_test } from '../sync/refcount.js';
import { set_current_state, TASK_RUNNING } from '../sync/sched.js';
import {
  folio_test_anon, vm_fault, type file, type folio, type mm_struct, type pmd_t, type pt_regs, type pte_t,
  type vm_area_struct,
} from '../include/linux/mm_types.js';
import {
  FAULT_FLAG_MKWRITE, FAULT_FLAG_ORIG_PTE_VALID, FAULT_FLAG_RETRY_NOWAIT, FAULT_FLAG_UNSHARE,
  FAULT_FLAG_VMA_LOCK, FAULT_FLAG_WRITE, PAGE_SIZE, PTRS_PER_PTE, VM_FAULT_COMPLETED, VM_FAULT_DONE_COW,
  VM_FAULT_ERROR, VM_FAULT_LOCKED, VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS,
  VM_ACCESS_FLAGS, VM_FAULT_SIGSEGV, VM_MAYSHARE, VM_MAYWRITE, VM_SHARED, VM_UFFD_MISSING, VM_UFFD_WP, VM_WRITE, VM_FAULT_FALLBACK,
} from '../include/linux/mm_flags.js';
import { VM_BUG_ON, WARN_ON_ONCE } from '../include/linux/mmdebug.js';
import { GFP_HIGHUSER_MOVABLE, __GFP_ZERO } from './page_alloc.js';

const ENOMEM = 12;

/** Kernel functions of modules that may not exist yet (a missing one fails loudly when reached). */
type vmf_handler = (vmf: vm_fault, ...rest: never[]) => Task<number>;
function optional_handler(name: string): vmf_handler | undefined {
  return (k.fn as unknown as Record<string, vmf_handler | undefined>)[name];
}

/** VM_UFFD_MINOR is not a flag of this simulation: fault-around is disabled by VM_UFFD_WP only. */
function userfaultfd_missing(vma: vm_area_struct): boolean {
  return (vma.vm_flags & VM_UFFD_MISSING) !== 0;
}
function userfaultfd_wp(vma: vm_area_struct): boolean {
  return (vma.vm_flags & VM_UFFD_WP) !== 0;
}
function userfaultfd_pte_wp(vma: vm_area_struct, pte: pte_t): boolean {
  return k.fn.userfaultfd_wp(vma) && k.fn.pte_uffd_wp(pte);
}

/**
 * handle_userfault(vmf, reason) (fs/userfaultfd.c, mm/userfaultfd.ts when present): without it
 * the kernel behaves as !CONFIG_USERFAULTFD, where handle_userfault returns VM_FAULT_SIGBUS.
 */
function* handle_userfault(vmf: vm_fault, reason: number): Task<number> {
  const h = optional_handler('handle_userfault');
  if (h === undefined) return VM_FAULT_SIGBUS;
  return yield* (h as (vmf: vm_fault, reason: number) => Task<number>)(vmf, reason);
}


// ---------------------------------------------------------------------------------------------
// The fault lock (include/linux/mm.h)

/**
 * release_fault_lock(vmf): drop whichever lock the fault holds: the VMA read lock
 * (FAULT_FLAG_VMA_LOCK) or mmap_read_lock.
 */
export function* release_fault_lock(vmf: vm_fault): Task<void> {
  if (vmf.flags & FAULT_FLAG_VMA_LOCK) yield* k.fn.vma_end_read(vmf.vma);
  else k.fn.mmap_read_unlock(vmf.vma.vm_mm);
}

/** assert_fault_locked(vmf): the fault lock is held (vma_assert_locked / mmap_assert_locked). */
export function assert_fault_locked(vmf: vm_fault): void {
  if (vmf.flags & FAULT_FLAG_VMA_LOCK) k.fn.vma_assert_locked(vmf.vma);
  else k.fn.mmap_assert_locked(vmf.vma.vm_mm);
}

/**
 * A handler running under the VMA lock that cannot go on there returns VM_FAULT_RETRY, to be
 * retried under mmap_lock. 6.6+ it releases the VMA lock first (vma_end_read); 6.4 the arch code
 * releases it after handle_mm_fault returns.
 */
function* vma_lock_bail_out(vmf: vm_fault): Task<number> {
  if (k.cfg.vma_lock_released_by_handler) yield* k.fn.vma_end_read(vmf.vma);
  return VM_FAULT_RETRY;
}

/**
 * check_stable_address_space(mm) (include/linux/oom.h): the OOM reaper may have torn down the
 * address space (MMF_UNSTABLE): a fault must not install a page then.
 */
export function check_stable_address_space(mm: mm_struct): number {
  return mm.mmf_unstable ? VM_FAULT_SIGBUS : 0;
}

/**
 * vmf_can_call_fault(vmf): may ->fault / ->page_mkwrite / ->pfn_mkwrite be called with the lock
 * this fault holds? Always under mmap_lock; under the VMA lock only 6.7+ and only when
 * vma->vm_ops->map_pages exists ("all vm_ops that have a ->map_pages have been audited and don't
 * need the mmap_lock"), or — the driver_fault_opt_in proposal — when the driver declares
 * fault_safe_under_vma_lock. Otherwise the VMA lock is dropped (per era) and VM_FAULT_RETRY returned.
 */
export function* vmf_can_call_fault(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  if (!(vmf.flags & FAULT_FLAG_VMA_LOCK)) return 0;
  if (k.cfg.file_fault_under_vma_lock && vma.vm_ops?.map_pages) return 0;
  // Design proposal (no kernel): a driver declares its ->fault safe under the VMA lock.
  if (k.cfg.driver_fault_opt_in && vma.vm_ops?.fault_safe_under_vma_lock) return 0;
  return yield* vma_lock_bail_out(vmf);
}

/**
 * __vmf_anon_prepare(vmf) (6.10+, "mm: Delay the check for a NULL anon_vma"): make sure the VMA
 * has an anon_vma before an anonymous page goes in. __anon_vma_prepare looks at neighbouring
 * VMAs, which only mmap_lock keeps stable: under the VMA lock it takes mmap_read_trylock — never
 * blocking, since a writer holding mmap_lock may be waiting for our VMA lock (I4) — and returns
 * VM_FAULT_RETRY if that fails (the VMA lock is still held: vmf_anon_prepare drops it).
 */
export function* __vmf_anon_prepare(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  let ret = 0;
  yield step('__vmf_anon_prepare:vma->anon_vma', vma);
  if (vma.anon_vma !== null) return 0;
  if (vmf.flags & FAULT_FLAG_VMA_LOCK) {
    if (!(yield* k.fn.mmap_read_trylock(vma.vm_mm))) return VM_FAULT_RETRY;
  }
  if (yield* k.fn.__anon_vma_prepare(vma)) ret = VM_FAULT_OOM;
  if (vmf.flags & FAULT_FLAG_VMA_LOCK) k.fn.mmap_read_unlock(vma.vm_mm);
  return ret;
}

/**
 * vmf_anon_prepare(vmf) (mm/internal.h), per era:
 *  - 6.10+: __vmf_anon_prepare; on VM_FAULT_RETRY under the VMA lock, vma_end_read.
 *  - 6.6–6.9 (6.7's vmf_anon_prepare; 6.6's do_wp_page check): no anon_vma under the VMA lock →
 *    release it and VM_FAULT_RETRY (creation needs mmap_lock).
 *  - ≤6.4 (no vmf_anon_prepare): anon_vma_prepare(vma) under whatever lock is held.
 */
export function* vmf_anon_prepare(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  if (k.cfg.vma_lock_anon_vma_check === 'none') {
    const ret = yield* k.fn.__vmf_anon_prepare(vmf);
    if (ret & VM_FAULT_RETRY) yield* k.fn.vma_end_read(vma);
    return ret;
  }
  if (!k.cfg.vma_lock_anon_only) {
    yield step('vmf_anon_prepare:vma->anon_vma', vma);
    if (vma.anon_vma !== null) return 0;
    if (vmf.flags & FAULT_FLAG_VMA_LOCK) return yield* vma_lock_bail_out(vmf);
    if (yield* k.fn.__anon_vma_prepare(vma)) return VM_FAULT_OOM;
    return 0;
  }
  return (yield* k.fn.anon_vma_prepare(vma)) ? VM_FAULT_OOM : 0;
}

// ---------------------------------------------------------------------------------------------
// Page-table allocation

/**
 * pmd_install(mm, pmd, &pte): publish a preallocated PTE table in an empty PMD under the PMD
 * lock (pmd_lock); if another thread populated it first (a table, or a huge entry), the table
 * stays with the caller (holder.prealloc_pte) to be freed.
 */
export function* pmd_install(mm: mm_struct, pmd: pmd_t, holder: { prealloc_pte: vm_fault['prealloc_pte'] }): Task<void> {
  const ptl = yield* k.fn.pmd_lock(mm, pmd);
  if (k.fn.pmd_none(pmd)) { // Has another populated it ?
    // smp_wmb(): the table's initialisation is visible before the PMD points to it.
    k.fn.pmd_populate(mm, pmd, holder.prealloc_pte!);
    holder.prealloc_pte = null;
  }
  spin_unlock(ptl);
}

/** __pte_alloc(mm, pmd): allocate and install a PTE table; 0 or -ENOMEM. */
export function* __pte_alloc(mm: mm_struct, pmd: pmd_t): Task<number> {
  const holder = { prealloc_pte: yield* k.fn.pte_alloc_one(mm) };
  if (holder.prealloc_pte === null) return -ENOMEM;
  yield* k.fn.pmd_install(mm, pmd, holder);
  if (holder.prealloc_pte !== null) k.fn.pte_free(mm, holder.prealloc_pte);
  return 0;
}

/** pte_alloc(mm, pmd) (include/linux/mm.h): __pte_alloc if the PMD is none; 0 or -ENOMEM. */
export function* pte_alloc(mm: mm_struct, pmd: pmd_t): Task<number> {
  yield step('pte_alloc:pmd_none', pmd);
  if (!k.fn.pmd_none(pmd)) return 0;
  return yield* k.fn.__pte_alloc(mm, pmd);
}

// ---------------------------------------------------------------------------------------------
// The entry point

/**
 * sanitize_fault_flags(vma, &flags): reject impossible combinations — a write fault on a VMA
 * without VM_MAYWRITE, and (CONFIG_PER_VMA_LOCK) FAULT_FLAG_RETRY_NOWAIT with FAULT_FLAG_VMA_LOCK,
 * since the VMA-lock contract assumes the lock is dropped on VM_FAULT_RETRY (I6).
 */
export function sanitize_fault_flags(vma: vm_area_struct, flags: number): { readonly ret: number; readonly flags: number } {
  if (flags & FAULT_FLAG_UNSHARE) {
    if (WARN_ON_ONCE((flags & FAULT_FLAG_WRITE) !== 0, 'sanitize_fault_flags: UNSHARE with WRITE')) return { ret: VM_FAULT_SIGSEGV, flags };
    // FAULT_FLAG_UNSHARE only applies to COW mappings.
    if (!k.fn.is_cow_mapping(vma.vm_flags)) flags &= ~FAULT_FLAG_UNSHARE;
  } else if (flags & FAULT_FLAG_WRITE) {
    // Write faults on read-only mappings are impossible ...
    if ((vma.vm_flags & VM_MAYWRITE) === 0) return { ret: VM_FAULT_SIGSEGV, flags };
    // ... and FOLL_FORCE only applies to COW mappings.
    if ((vma.vm_flags & VM_WRITE) === 0 && !k.fn.is_cow_mapping(vma.vm_flags)) return { ret: VM_FAULT_SIGSEGV, flags };
  }
  // Per-VMA locks can't be used with FAULT_FLAG_RETRY_NOWAIT because of the assumption that lock
  // is dropped on VM_FAULT_RETRY. (WARN_ON_ONCE in the kernel: a caller bug, reported as one.)
  if ((flags & (FAULT_FLAG_VMA_LOCK | FAULT_FLAG_RETRY_NOWAIT)) === (FAULT_FLAG_VMA_LOCK | FAULT_FLAG_RETRY_NOWAIT)) {
    return { ret: VM_FAULT_SIGSEGV, flags };
  }
  return { ret: 0, flags };
}

/** is_cow_mapping(flags): private and may be written. */
function is_cow_mapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/**
 * handle_mm_fault(vma, address, flags, regs): the generic fault entry. Locks: entered with the
 * VMA read lock (FAULT_FLAG_VMA_LOCK) or mmap_read_lock ("By the time we get here, we already
 * hold either the VMA lock or the mmap_lock" — asserted: assert_fault_locked); on VM_FAULT_RETRY
 * or VM_FAULT_COMPLETED the lock may have been released (per era, see the header), and then "It
 * is no longer safe to dereference vma-> after this point".
 */
export function* handle_mm_fault(vma: vm_area_struct, address: number, flags: number, regs: pt_regs | null): Task<number> {
  void regs;
  kasan_check_read(vma, 'handle_mm_fault');
  set_current_state(TASK_RUNNING);
  const s = k.fn.sanitize_fault_flags(vma, flags);
  if (s.ret) return s.ret;
  flags = s.flags;
  // assert_fault_locked() on the lock the flags say is held.
  if (flags & FAULT_FLAG_VMA_LOCK) k.fn.vma_assert_locked(vma);
  else k.fn.mmap_assert_locked(vma.vm_mm);
  // hugetlb_fault is left out (no hugetlb VMAs).
  return yield* k.fn.__handle_mm_fault(vma, address, flags);
}

/**
 * __handle_mm_fault(vma, address, flags): build the vm_fault and walk to the PMD (pgd/p4d/pud are
 * folded; pmd_off creates the slot). An empty PMD would try a THP fault (create_huge_pmd: left
 * out, it falls back as when the huge page allocation fails); a huge PMD (a khugepaged collapse)
 * is handled here — a write to a read-only one by wp_huge_pmd, anything else by
 * huge_pmd_set_accessed (the entry was invalidated by a split in progress, or the accessed bit) —
 * unless wp_huge_pmd fell back to PTEs; everything else goes to handle_pte_fault.
 */
export function* __handle_mm_fault(vma: vm_area_struct, address: number, flags: number): Task<number> {
  const vmf = new vm_fault(vma, address, flags);
  vmf.pmd = k.fn.pmd_off(vma.vm_mm, address);
  // pmdp_get_lockless: read in the step that took the fault lock (handle_pte_fault reads again).
  vmf.orig_pmd = k.fn.pmdp_get(vmf.pmd);
  if (vmf.orig_pmd.kind === 'none') {
    // if (thp_vma_allowable_order(...)) create_huge_pmd(&vmf): VM_FAULT_FALLBACK (left out)
  } else if (vmf.orig_pmd.kind === 'huge') { // pmd_trans_huge(vmf.orig_pmd)
    if ((flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) && !vmf.orig_pmd.write) {
      const ret = yield* k.fn.wp_huge_pmd(vmf);
      if (!(ret & VM_FAULT_FALLBACK)) return ret;
    } else {
      yield* k.fn.huge_pmd_set_accessed(vmf);
      return 0;
    }
  }
  return yield* k.fn.handle_pte_fault(vmf);
}

/**
 * wp_huge_pmd(vmf): a write or unshare fault on a read-only huge PMD. Anonymous VMAs (the only
 * THPs here): do_huge_pmd_wp_page (uffd-wp on a huge PMD is left out). Otherwise COW or
 * write-notify is handled on the PTE level: split and VM_FAULT_FALLBACK.
 */
export function* wp_huge_pmd(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  if (k.fn.vma_is_anonymous(vma)) return yield* k.fn.do_huge_pmd_wp_page(vmf);
  // split: COW or write-notify handled on pte level.
  yield* k.fn.__split_huge_pmd(vma, vmf.pmd!, vmf.address);
  return VM_FAULT_FALLBACK;
}

/**
 * handle_pte_fault(vmf): dispatch on a lockless snapshot of the PTE. The table is mapped with
 * pte_offset_map_rw_nolock (it may have vanished: return 0, the access refaults); the snapshot
 * orig_pte is only trusted after re-checking it under the PTL (pte_same).
 */
export function* handle_pte_fault(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  const mm = vma.vm_mm;
  yield step('handle_pte_fault:pmd_none', vmf.pmd);
  if (k.fn.pmd_none(vmf.pmd!)) {
    // Leave __pte_alloc() until later.
    vmf.pte = null;
    vmf.flags &= ~FAULT_FLAG_ORIG_PTE_VALID;
  } else {
    vmf.pte = yield* k.fn.pte_offset_map_rw_nolock(mm, vmf.pmd!, vmf.address);
    if (vmf.pte === null) return 0;
    vmf.ptl = vmf.pte.ptl;
    vmf.orig_pte = yield* k.fn.ptep_get_lockless(vmf.pte, vmf.address);
    vmf.flags |= FAULT_FLAG_ORIG_PTE_VALID;
    if (vmf.orig_pte.kind === 'none') {
      k.fn.pte_unmap(vmf.pte);
      vmf.pte = null;
    }
  }
  if (vmf.pte === null) return yield* k.fn.do_pte_missing(vmf);
  if (vmf.orig_pte.kind !== 'present') {
    // Swap entries and the other non-present entries (markers, migration) go to do_swap_page.
    const do_swap_page = optional_handler('do_swap_page');
    if (do_swap_page === undefined) throw new Error('kernel function do_swap_page is not implemented (mm/memory_swap.ts)');
    return yield* k.fn.do_swap_page(vmf);
  }
  // A PROT_NONE entry in a VMA that is accessible again (mprotect has changed vm_page_prot but not
  // yet this entry): do_numa_page restores it.
  if (k.fn.pte_protnone(vmf.orig_pte) && (vma.vm_flags & VM_ACCESS_FLAGS) !== 0) return yield* k.fn.do_numa_page(vmf);
  yield* spin_lock(vmf.ptl!);
  let entry: pte_t = vmf.orig_pte;
  if (!k.fn.pte_same(k.fn.ptep_get(vmf.pte, vmf.address), entry)) {
    // Someone else handled it: update_mmu_tlb.
    k.fn.pte_unmap_unlock(vmf.pte);
    return 0;
  }
  if (vmf.flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) {
    if (!k.fn.pte_write(entry)) return yield* k.fn.do_wp_page(vmf);
    else if (vmf.flags & FAULT_FLAG_WRITE) entry = k.fn.pte_mkdirty(entry);
  }
  entry = k.fn.pte_mkyoung(entry);
  yield step('handle_pte_fault:ptep_set_access_flags', vmf.pte);
  k.fn.ptep_set_access_flags(vma, vmf.address, vmf.pte, entry, (vmf.flags & FAULT_FLAG_WRITE) !== 0);
  k.fn.pte_unmap_unlock(vmf.pte);
  return 0;
}

/**
 * do_numa_page(vmf): a fault on a PROT_NONE entry (pte_protnone) of an accessible VMA: under the
 * PTL, if the entry is unchanged, rebuild it with the VMA's protection (numa_rebuild_single_mapping:
 * pte_modify(old_pte, vma->vm_page_prot), young, writable if vm_page_prot is). Here the only
 * PROT_NONE entries are mprotect's; NUMA hinting and the migration it exists for are left out.
 * Locks: the fault lock (either kind); the PTL taken and released.
 */
export function* do_numa_page(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  yield* spin_lock(vmf.ptl!);
  const old = k.fn.ptep_get(vmf.pte!, vmf.address);
  if (!k.fn.pte_same(old, vmf.orig_pte)) {
    k.fn.pte_unmap_unlock(vmf.pte!);
    return 0;
  }
  // pte_modify(old_pte, vma->vm_page_prot): set_pte_at takes the PROT_NONE state from the VMA.
  let pte = k.fn.pte_mkyoung(old);
  if (vma.vm_page_prot & VM_WRITE) pte = k.fn.pte_mkwrite(pte, vma);
  yield step('do_numa_page:ptep_modify_prot_commit', vmf.pte);
  k.fn.set_pte_at(vma.vm_mm, vmf.address, vmf.pte!, pte);
  k.fn.pte_unmap_unlock(vmf.pte!);
  return 0;
}

/** do_pte_missing(vmf): no PTE yet — an anonymous page or a file/driver fault. */
export function* do_pte_missing(vmf: vm_fault): Task<number> {
  if (k.fn.vma_is_anonymous(vmf.vma)) return yield* k.fn.do_anonymous_page(vmf);
  return yield* k.fn.do_fault(vmf);
}

/**
 * vmf_pte_changed(vmf): under the PTL, did the entry change since the lockless snapshot (or,
 * without a snapshot, is it no longer none)?
 */
export function vmf_pte_changed(vmf: vm_fault): boolean {
  const cur = k.fn.ptep_get(vmf.pte!, vmf.address);
  if (vmf.flags & FAULT_FLAG_ORIG_PTE_VALID) return !k.fn.pte_same(cur, vmf.orig_pte);
  return cur.kind !== 'none';
}

// ---------------------------------------------------------------------------------------------
// Anonymous memory

/**
 * do_anonymous_page(vmf): first touch of private anonymous memory. A read maps the shared zero
 * page (special, read-only); a write allocates a zeroed folio (vma_alloc_folio, which reads the
 * VMA's mempolicy), makes sure the VMA has an anon_vma (vmf_anon_prepare: may RETRY under the
 * VMA lock), then under the PTL re-validates the entry, checks MMF_UNSTABLE and userfaultfd
 * MISSING registration, adds the rmap and sets the PTE. Locks: the fault lock (either kind);
 * may return VM_FAULT_RETRY with it released (per era) from vmf_anon_prepare or handle_userfault.
 */
export function* do_anonymous_page(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  const mm = vma.vm_mm;
  let ret = 0;
  // File mapping without ->vm_ops ?
  if (vma.vm_flags & VM_SHARED) return VM_FAULT_SIGBUS;
  // Use pte_alloc() instead of pte_alloc_map(), so that OOM can be distinguished from a
  // transient failure of pte_offset_map().
  if (yield* k.fn.pte_alloc(mm, vmf.pmd!)) return VM_FAULT_OOM;

  let entry: pte_t;
  let f: folio | null = null;
  // Use the zero-page for reads
  if (!(vmf.flags & FAULT_FLAG_WRITE)) {
    entry = k.fn.pte_mkspecial(k.fn.folio_mk_pte(k.fn.my_zero_folio()));
    vmf.pte = yield* k.fn.pte_offset_map_lock(mm, vmf.pmd!, vmf.address);
    if (vmf.pte === null) return 0;
    vmf.ptl = vmf.pte.ptl;
    if (k.fn.vmf_pte_changed(vmf)) {
      k.fn.pte_unmap_unlock(vmf.pte);
      return 0;
    }
    ret = k.fn.check_stable_address_space(mm);
    if (ret) {
      k.fn.pte_unmap_unlock(vmf.pte);
      return ret;
    }
    // Deliver the page fault to userland, check inside PT lock
    if (k.fn.userfaultfd_missing(vma)) {
      k.fn.pte_unmap_unlock(vmf.pte);
      return yield* k.fn.handle_userfault(vmf, VM_UFFD_MISSING);
    }
  } else {
    // Allocate our own private page.
    ret = yield* k.fn.vmf_anon_prepare(vmf);
    if (ret) return ret;
    f = yield* k.fn.vma_alloc_folio(GFP_HIGHUSER_MOVABLE | __GFP_ZERO, 0, vma, vmf.address);
    if (f === null) return VM_FAULT_OOM;
    // The memory barrier inside __folio_mark_uptodate makes sure that preceding stores to the
    // page contents become visible before the set_pte_at() write.
    k.fn.__folio_mark_uptodate(f);
    entry = k.fn.folio_mk_pte(f);
    if (vma.vm_flags & VM_WRITE) entry = k.fn.pte_mkwrite(k.fn.pte_mkdirty(entry), vma);
    entry = k.fn.pte_mkyoung(entry);
    vmf.pte = yield* k.fn.pte_offset_map_lock(mm, vmf.pmd!, vmf.address);
    if (vmf.pte === null) {
      k.fn.folio_put(f);
      return 0;
    }
    vmf.ptl = vmf.pte.ptl;
    if (k.fn.vmf_pte_changed(vmf)) {
      k.fn.pte_unmap_unlock(vmf.pte);
      k.fn.folio_put(f);
      return 0;
    }
    ret = k.fn.check_stable_address_space(mm);
    if (ret) {
      k.fn.pte_unmap_unlock(vmf.pte);
      k.fn.folio_put(f);
      return ret;
    }
    // Deliver the page fault to userland, check inside PT lock
    if (k.fn.userfaultfd_missing(vma)) {
      k.fn.pte_unmap_unlock(vmf.pte);
      k.fn.folio_put(f);
      return yield* k.fn.handle_userfault(vmf, VM_UFFD_MISSING);
    }
    k.fn.add_mm_counter(mm, 'MM_ANONPAGES', 1);
    k.fn.folio_add_new_anon_rmap(f, vma, vmf.address);
    k.fn.folio_add_lru_vma(f, vma);
  }
  // setpte:
  yield step('do_anonymous_page:set_pte_at', vmf.pte);
  k.fn.set_ptes(mm, vmf.address, vmf.pte, entry, 1);
  k.fn.pte_unmap_unlock(vmf.pte);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// File and driver faults

/**
 * do_fault(vmf): a missing PTE in a VMA with vm_ops. A driver VMA without ->fault (VM_PFNMAP,
 * everything prefaulted in ->mmap by remap_pfn_range) only checks the PTE under the PTL:
 * VM_FAULT_NOPAGE if present now, VM_FAULT_SIGBUS if none. Otherwise read / COW / shared.
 * Locks: the fault lock; may return with it released (RETRY/COMPLETED), see the header.
 */
export function* do_fault(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  const vm_mm = vma.vm_mm;
  let ret: number;
  // The VMA was not fully populated on mmap() or missing VM_DONTEXPAND
  if (!vma.vm_ops?.fault) {
    vmf.pte = yield* k.fn.pte_offset_map_lock(vm_mm, vmf.pmd!, vmf.address);
    if (vmf.pte === null) {
      ret = VM_FAULT_SIGBUS;
    } else {
      // Make sure this is not a temporary clearing of pte by holding ptl and checking again.
      ret = k.fn.ptep_get(vmf.pte, vmf.address).kind === 'none' ? VM_FAULT_SIGBUS : VM_FAULT_NOPAGE;
      k.fn.pte_unmap_unlock(vmf.pte);
    }
  } else if (!(vmf.flags & FAULT_FLAG_WRITE)) {
    ret = yield* k.fn.do_read_fault(vmf);
  } else if (!(vma.vm_flags & VM_SHARED)) {
    ret = yield* k.fn.do_cow_fault(vmf);
  } else {
    ret = yield* k.fn.do_shared_fault(vmf);
  }
  // preallocated pagetable is unused: free it
  if (vmf.prealloc_pte !== null) {
    k.fn.pte_free(vm_mm, vmf.prealloc_pte);
    vmf.prealloc_pte = null;
  }
  return ret;
}

/** fault_around_pages: 64 KiB worth of pages (mm/memory.c default). */
const fault_around_pages = 65536 / PAGE_SIZE;

/** should_fault_around(vmf): ->map_pages exists and userfaultfd-wp does not forbid it. */
export function should_fault_around(vmf: vm_fault): boolean {
  // No ->map_pages?  No way to fault around...
  if (!vmf.vma.vm_ops?.map_pages) return false;
  if (k.fn.userfaultfd_wp(vmf.vma)) return false; // uffd_disable_fault_around
  return fault_around_pages > 1;
}

/**
 * do_fault_around(vmf): map the already-cached pages around the address with ->map_pages
 * (filemap_map_pages: trylocks, never sleeps), within the VMA and the PTE table. A PTE table is
 * preallocated for an empty PMD. 6.6+ calls ->map_pages under rcu_read_lock() here (it may run
 * under the VMA lock alone); before, filemap_map_pages took RCU itself.
 */
export function* do_fault_around(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  const nr_pages = fault_around_pages;
  const pte_off = k.fn.pte_index(vmf.address);
  // The page offset of vmf->address within the VMA.
  const vma_off = vmf.pgoff - vma.vm_pgoff;
  const vma_pages = (vma.vm_end - vma.vm_start) / PAGE_SIZE;
  // The PTE offset of the start address, clamped to the VMA.
  const from_pte = Math.max(pte_off - (pte_off % nr_pages), pte_off - Math.min(pte_off, vma_off));
  // The PTE offset of the end address, clamped to the VMA and PTE.
  const to_pte = Math.min(from_pte + nr_pages, PTRS_PER_PTE, pte_off + vma_pages - vma_off) - 1;
  yield step('do_fault_around:pmd_none', vmf.pmd);
  if (k.fn.pmd_none(vmf.pmd!)) {
    vmf.prealloc_pte = yield* k.fn.pte_alloc_one(vma.vm_mm);
    if (vmf.prealloc_pte === null) return VM_FAULT_OOM;
  }
  const rcu = k.cfg.fault_around_under_vma_lock;
  if (rcu) rcu_read_lock();
  const ret = yield* vma.vm_ops!.map_pages!(vmf, vmf.pgoff + from_pte - pte_off, vmf.pgoff + to_pte - pte_off);
  if (rcu) rcu_read_unlock();
  return ret;
}

/**
 * __do_fault(vmf): call vma->vm_ops->fault. Returns with vmf->page locked and referenced, or with
 * an error / NOPAGE / RETRY (then the fault lock may be gone: the VMA must not be touched).
 */
export function* __do_fault(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  // Preallocate pte before we take page_lock because this might lead to deadlocks for memcg
  // reclaim which waits for pages under writeback.
  yield step('__do_fault:pmd_none', vmf.pmd);
  if (k.fn.pmd_none(vmf.pmd!) && vmf.prealloc_pte === null) {
    vmf.prealloc_pte = yield* k.fn.pte_alloc_one(vma.vm_mm);
    if (vmf.prealloc_pte === null) return VM_FAULT_OOM;
  }
  const ret = yield* vma.vm_ops!.fault!(vmf);
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY | VM_FAULT_DONE_COW)) return ret;
  const f = vmf.page!;
  // PageHWPoison is left out.
  if (!(ret & VM_FAULT_LOCKED)) yield* folio_lock(f);
  else VM_BUG_ON(!folio_test_locked(f), `__do_fault: ->fault returned VM_FAULT_LOCKED but ${f.name} is not locked`);
  return ret;
}

/**
 * do_read_fault(vmf): fault-around first (6.6+ also under the VMA lock), then ->fault if allowed
 * under the lock held (vmf_can_call_fault), then finish_fault.
 */
export function* do_read_fault(vmf: vm_fault): Task<number> {
  let ret = 0;
  // Let's call ->map_pages() first and use ->fault() as fallback if page by the offset is not
  // ready to be mapped (cold cache or something).
  if (k.fn.should_fault_around(vmf)) {
    // ≤6.5 fault-around never ran under the VMA lock (unreachable there: file VMAs were refused).
    if ((vmf.flags & FAULT_FLAG_VMA_LOCK) && !k.cfg.fault_around_under_vma_lock) return yield* vma_lock_bail_out(vmf);
    ret = yield* k.fn.do_fault_around(vmf);
    if (ret) return ret;
  }
  ret = yield* k.fn.vmf_can_call_fault(vmf);
  if (ret) return ret;
  ret = yield* k.fn.__do_fault(vmf);
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)) return ret;
  ret |= yield* k.fn.finish_fault(vmf);
  const f = vmf.page!;
  folio_unlock(f);
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)) k.fn.folio_put(f);
  return ret;
}

/**
 * do_cow_fault(vmf): a write fault on a private file mapping: copy the file page into a new
 * anonymous folio (which needs the VMA's anon_vma) and map that.
 */
export function* do_cow_fault(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  let ret = yield* k.fn.vmf_can_call_fault(vmf);
  if (!ret) ret = yield* k.fn.vmf_anon_prepare(vmf);
  if (ret) return ret;
  const f = yield* k.fn.vma_alloc_folio(GFP_HIGHUSER_MOVABLE, 0, vma, vmf.address);
  if (f === null) return VM_FAULT_OOM;
  vmf.cow_page = f;
  ret = yield* k.fn.__do_fault(vmf);
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)) {
    k.fn.folio_put(f);
    return ret;
  }
  if (ret & VM_FAULT_DONE_COW) return ret;
  // copy_mc_user_highpage(vmf->cow_page, vmf->page, ...)
  const src = vmf.page!;
  kasan_check_read(src, 'do_cow_fault (copy_mc_user_highpage)');
  kasan_check_write(f, 'do_cow_fault (copy_mc_user_highpage)');
  f.data = src.data;
  k.fn.__folio_mark_uptodate(f);
  ret |= yield* k.fn.finish_fault(vmf);
  folio_unlock(src);
  k.fn.folio_put(src);
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)) k.fn.folio_put(f);
  return ret;
}

/**
 * do_shared_fault(vmf): a write fault on a shared file mapping: ->fault, ->page_mkwrite (the
 * file system makes the page writable: blocks allocated, folio dirty), finish_fault, then
 * fault_dirty_shared_page (which may drop the fault lock to throttle: VM_FAULT_COMPLETED).
 */
export function* do_shared_fault(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  let ret = yield* k.fn.vmf_can_call_fault(vmf);
  if (ret) return ret;
  ret = yield* k.fn.__do_fault(vmf);
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)) return ret;
  const f = vmf.page!;
  // Check if the backing address space wants to know that the page is about to become writable
  if (vma.vm_ops?.page_mkwrite) {
    folio_unlock(f);
    const tmp = yield* k.fn.do_page_mkwrite(vmf, f);
    if (!tmp || (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE))) {
      k.fn.folio_put(f);
      return tmp;
    }
  }
  ret |= yield* k.fn.finish_fault(vmf);
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)) {
    folio_unlock(f);
    k.fn.folio_put(f);
    return ret;
  }
  ret |= yield* k.fn.fault_dirty_shared_page(vmf);
  return ret;
}

/**
 * set_pte_range(vmf, folio, page, nr, addr): map the prepared folio. A write to a private
 * mapping installs the COW copy as a new anonymous folio; anything else adds a file rmap.
 * Locks: the PTL of vmf->pte (lockdep_assert_held: installing a PTE without it breaks I9).
 */
export function set_pte_range(vmf: vm_fault, f: folio, nr: number, addr: number): void {
  const vma = vmf.vma;
  const write = (vmf.flags & FAULT_FLAG_WRITE) !== 0;
  const prefault = addr !== vmf.address;
  lockdep_assert_held(vmf.pte!.ptl);
  VM_BUG_ON(nr !== 1, 'set_pte_range: nr != 1 (large folios are left out)');
  let entry = k.fn.folio_mk_pte(f, sim_pgprot_writable(vma));
  // arch_wants_old_prefaulted_pte() is false on x86: prefaulted entries are young too.
  void prefault;
  entry = k.fn.pte_mkyoung(entry);
  if (write) entry = k.fn.maybe_mkwrite(k.fn.pte_mkdirty(entry), vma);
  else if (k.fn.pte_write(entry) && f.dirty) entry = k.fn.pte_mkdirty(entry);
  // copy-on-write page
  if (write && !(vma.vm_flags & VM_SHARED)) {
    k.fn.folio_add_new_anon_rmap(f, vma, addr);
    k.fn.folio_add_lru_vma(f, vma);
  } else {
    k.fn.folio_add_file_rmap_pte(f, vma);
  }
  k.fn.set_ptes(vma.vm_mm, addr, vmf.pte!, entry, nr);
}

/**
 * vm_page_prot's write bit (vma_set_page_prot): only a shared mapping that does not need write
 * notification (no ->page_mkwrite / ->pfn_mkwrite) maps pages writable up front; private
 * mappings stay read-only for COW.
 */
function sim_pgprot_writable(vma: vm_area_struct): boolean {
  return (vma.vm_flags & VM_SHARED) !== 0 && (vma.vm_page_prot & VM_WRITE) !== 0 &&
    !(vma.vm_ops?.page_mkwrite || vma.vm_ops?.pfn_mkwrite);
}

/**
 * finish_fault(vmf): map vmf->page (or the COW copy vmf->cow_page): install a PTE table if the
 * PMD is empty (the preallocated one, or a new one), then under the PTL re-check the entry is
 * still none (else VM_FAULT_NOPAGE: someone else mapped it) and set_pte_range. Consumes the
 * folio reference on success.
 */
export function* finish_fault(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  const mm = vma.vm_mm;
  const is_cow = (vmf.flags & FAULT_FLAG_WRITE) !== 0 && (vma.vm_flags & VM_SHARED) === 0;
  const f = is_cow ? vmf.cow_page! : vmf.page!;
  // check even for read faults because we might have lost our CoWed page
  if (!(vma.vm_flags & VM_SHARED)) {
    const ret = k.fn.check_stable_address_space(mm);
    if (ret) return ret;
  }
  yield step('finish_fault:pmd_none', vmf.pmd);
  if (k.fn.pmd_none(vmf.pmd!)) {
    if (vmf.prealloc_pte !== null) yield* k.fn.pmd_install(mm, vmf.pmd!, vmf);
    else if (yield* k.fn.pte_alloc(mm, vmf.pmd!)) return VM_FAULT_OOM;
  }
  vmf.pte = yield* k.fn.pte_offset_map_lock(mm, vmf.pmd!, vmf.address);
  if (vmf.pte === null) return VM_FAULT_NOPAGE;
  vmf.ptl = vmf.pte.ptl;
  // Re-check under ptl
  if (k.fn.vmf_pte_changed(vmf)) {
    k.fn.pte_unmap_unlock(vmf.pte);
    return VM_FAULT_NOPAGE;
  }
  yield step('finish_fault:set_pte_range', vmf.pte);
  k.fn.set_pte_range(vmf, f, 1, vmf.address);
  k.fn.add_mm_counter(mm, is_cow ? 'MM_ANONPAGES' : k.fn.mm_counter_file(f), 1);
  k.fn.pte_unmap_unlock(vmf.pte);
  return 0;
}

/**
 * do_page_mkwrite(vmf, folio): ->page_mkwrite with vmf->flags = WRITE|MKWRITE; returns with the
 * folio locked (VM_FAULT_LOCKED), or 0 if it was truncated meanwhile (retry), or an error.
 */
export function* do_page_mkwrite(vmf: vm_fault, f: folio): Task<number> {
  const old_flags = vmf.flags;
  vmf.flags = FAULT_FLAG_WRITE | FAULT_FLAG_MKWRITE;
  let ret = yield* vmf.vma.vm_ops!.page_mkwrite!(vmf);
  // Restore original flags so that caller is not surprised
  vmf.flags = old_flags;
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) return ret;
  if (!(ret & VM_FAULT_LOCKED)) {
    yield* folio_lock(f);
    if (f.mapping === null) {
      folio_unlock(f);
      return 0; // retry
    }
    ret |= VM_FAULT_LOCKED;
  } else {
    VM_BUG_ON(!folio_test_locked(f), `do_page_mkwrite: ${f.name} not locked`);
  }
  return ret;
}

/**
 * fault_dirty_shared_page(vmf): the page of a shared write fault is dirty now; unlock it and
 * throttle to writeback speed (balance_dirty_pages_ratelimited) — dropping the fault lock first
 * on a first try (maybe_unlock_mmap_for_io), in which case the fault is VM_FAULT_COMPLETED with
 * the lock already released.
 */
export function* fault_dirty_shared_page(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  const f = vmf.page!;
  const page_mkwrite = vma.vm_ops?.page_mkwrite !== undefined;
  kasan_check_write(f, 'fault_dirty_shared_page');
  const dirtied = !f.dirty; // folio_mark_dirty
  f.dirty = true;
  VM_BUG_ON(folio_test_anon(f), `fault_dirty_shared_page: ${f.name} is anonymous`);
  // Take a local copy of the address_space - folio.mapping may be zeroed by truncate after folio_unlock().
  const mapping = f.mapping;
  folio_unlock(f);
  if ((dirtied || page_mkwrite) && mapping !== null) {
    const fpin = yield* k.fn.maybe_unlock_mmap_for_io(vmf, null);
    yield step('balance_dirty_pages_ratelimited', mapping);
    if (fpin !== null) {
      k.fn.fput(fpin);
      return VM_FAULT_COMPLETED;
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Write-protect faults

/** vm_normal_page(vma, addr, pte): the folio behind a PTE, or null for special mappings (zero page, PFN maps). */
export function vm_normal_page(vma: vm_area_struct, addr: number, pte: pte_t): folio | null {
  void vma;
  void addr;
  if (pte.kind !== 'present' || pte.special || pte.folio.special) return null;
  return pte.folio;
}

/**
 * wp_page_reuse(vmf, folio): the faulting thread may write to the page in place (shared mapping,
 * or an exclusive anonymous page): make the PTE young, dirty and writable. Releases the PTL.
 */
export function wp_page_reuse(vmf: vm_fault, f: folio | null): void {
  const vma = vmf.vma;
  VM_BUG_ON(!(vmf.flags & FAULT_FLAG_WRITE), 'wp_page_reuse: not a write fault');
  if (f !== null) VM_BUG_ON(folio_test_anon(f) && !f.anon_exclusive, `wp_page_reuse: anon ${f.name} not exclusive`);
  let entry = k.fn.pte_mkyoung(vmf.orig_pte);
  entry = k.fn.maybe_mkwrite(k.fn.pte_mkdirty(entry), vma);
  k.fn.ptep_set_access_flags(vma, vmf.address, vmf.pte!, entry, true);
  k.fn.pte_unmap_unlock(vmf.pte!);
}

/**
 * wp_can_reuse_anon_folio(folio, vma): the only reference is our mapping's (after freeing the
 * swap cache's), checked under the folio lock (trylock: the PTL is held). Moves the folio to
 * the VMA's anon_vma when reused.
 */
export function* wp_can_reuse_anon_folio(f: folio, vma: vm_area_struct): Task<boolean> {
  // We have to verify under folio lock: these early checks are just an optimization.
  if (k.fn.folio_ref_count(f) > 3) return false;
  if (k.fn.folio_ref_count(f) > 1 + (f.swapcache ? 1 : 0)) return false;
  if (!(yield* folio_trylock(f))) return false;
  if (f.swapcache) k.fn.folio_free_swap(f);
  if (k.fn.folio_ref_count(f) !== 1) {
    folio_unlock(f);
    return false;
  }
  // Ok, we've got the only folio reference from our mapping and the folio is locked.
  k.fn.folio_move_anon_rmap(f, vma);
  folio_unlock(f);
  return true;
}

/**
 * do_wp_page(vmf): a write (or unshare) fault on a present read-only PTE. Entered with the PTL
 * held and orig_pte re-validated; returns with it released. Shared mappings make the page
 * writable (->page_mkwrite first); private ones reuse an exclusive anonymous page or copy it
 * (wp_page_copy).
 */
export function* do_wp_page(vmf: vm_fault): Task<number> {
  const unshare = (vmf.flags & FAULT_FLAG_UNSHARE) !== 0;
  const vma = vmf.vma;
  lockdep_assert_held(vmf.ptl!);
  if (!unshare) {
    if (userfaultfd_pte_wp(vma, k.fn.ptep_get(vmf.pte!, vmf.address))) {
      k.fn.pte_unmap_unlock(vmf.pte!);
      return yield* k.fn.handle_userfault(vmf, VM_UFFD_WP);
    }
  }
  vmf.page = k.fn.vm_normal_page(vma, vmf.address, vmf.orig_pte);
  const f = vmf.page;
  // Shared mapping: we are guaranteed to have VM_WRITE and FAULT_FLAG_WRITE set at this point.
  if (vma.vm_flags & (VM_SHARED | VM_MAYSHARE)) {
    if (f === null) return yield* k.fn.wp_pfn_shared(vmf);
    return yield* k.fn.wp_page_shared(vmf, f);
  }
  // Private mapping: create an exclusive anonymous page copy if reuse is impossible. If we
  // encounter a page that is marked exclusive, we must reuse the page without further checks.
  if (f !== null && folio_test_anon(f) && (f.anon_exclusive || (yield* k.fn.wp_can_reuse_anon_folio(f, vma)))) {
    if (!f.anon_exclusive) f.anon_exclusive = true;
    if (unshare) {
      k.fn.pte_unmap_unlock(vmf.pte!);
      return 0;
    }
    yield step('do_wp_page:wp_page_reuse', vmf.pte);
    k.fn.wp_page_reuse(vmf, f);
    return 0;
  }
  // Ok, we need to copy. Oh, well..
  if (f !== null) k.fn.folio_get(f);
  k.fn.pte_unmap_unlock(vmf.pte!);
  return yield* k.fn.wp_page_copy(vmf);
}

/**
 * wp_page_copy(vmf): COW. Without the PTL: vmf_anon_prepare, allocate, copy. Then under the PTL,
 * if the PTE is unchanged: clear it and flush the TLB (ptep_clear_flush) *before* installing the
 * new PTE, add the new folio's rmap, set the PTE, and only then drop the old page's mapcount
 * (folio_remove_rmap_pte): otherwise another process could "reuse" the old page while our stale
 * PTE still points into it (I16). Entered with a reference on the old folio (if any).
 */
export function* wp_page_copy(vmf: vm_fault): Task<number> {
  const unshare = (vmf.flags & FAULT_FLAG_UNSHARE) !== 0;
  const vma = vmf.vma;
  const mm = vma.vm_mm;
  const old_folio = vmf.page;
  let new_folio: folio | null = null;
  let page_copied = false;

  let ret = yield* k.fn.vmf_anon_prepare(vmf);
  if (ret) {
    if (old_folio !== null) k.fn.folio_put(old_folio);
    return ret;
  }
  const orig = vmf.orig_pte;
  const pfn_is_zero = orig.kind === 'present' && k.fn.is_zero_folio(orig.folio);
  new_folio = yield* k.fn.vma_alloc_folio(GFP_HIGHUSER_MOVABLE | (pfn_is_zero ? __GFP_ZERO : 0), 0, vma, vmf.address);
  if (new_folio === null) {
    if (old_folio !== null) k.fn.folio_put(old_folio);
    return VM_FAULT_OOM;
  }
  if (!pfn_is_zero) {
    // __wp_page_copy_user: copy_mc_user_highpage, or for a PFN mapping a copy from the user address.
    const src = old_folio ?? (orig.kind === 'present' ? orig.folio : null);
    yield step('wp_page_copy:__wp_page_copy_user', src);
    if (src !== null) {
      kasan_check_read(src, '__wp_page_copy_user');
      new_folio.data = src.data;
    }
  }
  k.fn.__folio_mark_uptodate(new_folio);
  // Re-check the pte - we dropped the lock
  vmf.pte = yield* k.fn.pte_offset_map_lock(mm, vmf.pmd!, vmf.address);
  if (vmf.pte !== null && k.fn.pte_same(k.fn.ptep_get(vmf.pte, vmf.address), orig)) {
    vmf.ptl = vmf.pte.ptl;
    if (old_folio !== null) {
      if (!folio_test_anon(old_folio)) {
        k.fn.dec_mm_counter(mm, k.fn.mm_counter_file(old_folio));
        k.fn.inc_mm_counter(mm, 'MM_ANONPAGES');
      }
    } else {
      k.fn.inc_mm_counter(mm, 'MM_ANONPAGES');
    }
    let entry = k.fn.pte_mkyoung(k.fn.folio_mk_pte(new_folio));
    if (unshare) {
      if (k.fn.pte_uffd_wp(orig)) entry = k.fn.pte_mkuffd_wp(entry);
    } else {
      entry = k.fn.maybe_mkwrite(k.fn.pte_mkdirty(entry), vma);
    }
    // Clear the pte entry and flush it first, before updating the pte with the new entry, to
    // keep TLBs on different CPUs in sync.
    yield step('wp_page_copy:ptep_clear_flush', vmf.pte);
    k.fn.ptep_clear_flush(vma, vmf.address, vmf.pte);
    k.fn.folio_add_new_anon_rmap(new_folio, vma, vmf.address);
    k.fn.folio_add_lru_vma(new_folio, vma);
    yield step('wp_page_copy:set_pte_at', vmf.pte);
    k.fn.set_pte_at(mm, vmf.address, vmf.pte, entry);
    // Only after switching the pte to the new page may we remove the mapcount here.
    if (old_folio !== null) k.fn.folio_remove_rmap_pte(old_folio, vma);
    // Free the old page..
    new_folio = old_folio;
    page_copied = true;
    k.fn.pte_unmap_unlock(vmf.pte);
  } else if (vmf.pte !== null) {
    k.fn.pte_unmap_unlock(vmf.pte);
  }
  if (new_folio !== null) k.fn.folio_put(new_folio);
  if (old_folio !== null) {
    if (page_copied) yield* free_swap_cache(old_folio);
    k.fn.folio_put(old_folio);
  }
  ret = 0;
  return ret;
}

/** free_swap_cache(folio) (mm/swap_state.c): drop an unmapped folio's swap-cache copy if it can be locked. */
function* free_swap_cache(f: folio): Task<void> {
  if (f.swapcache && !k.fn.folio_mapped(f) && (yield* folio_trylock(f))) {
    k.fn.folio_free_swap(f);
    folio_unlock(f);
  }
}

/**
 * finish_mkwrite_fault(vmf, folio): after ->page_mkwrite / ->pfn_mkwrite (PTL dropped), retake
 * the PTL and, if the PTE is unchanged, make it writable (VM_FAULT_NOPAGE if it changed).
 */
export function* finish_mkwrite_fault(vmf: vm_fault, f: folio | null): Task<number> {
  WARN_ON_ONCE(!(vmf.vma.vm_flags & VM_SHARED), 'finish_mkwrite_fault: not a shared mapping');
  vmf.pte = yield* k.fn.pte_offset_map_lock(vmf.vma.vm_mm, vmf.pmd!, vmf.address);
  if (vmf.pte === null) return VM_FAULT_NOPAGE;
  vmf.ptl = vmf.pte.ptl;
  // We might have raced with another page fault while we released the pte_offset_map_lock.
  if (!k.fn.pte_same(k.fn.ptep_get(vmf.pte, vmf.address), vmf.orig_pte)) {
    k.fn.pte_unmap_unlock(vmf.pte);
    return VM_FAULT_NOPAGE;
  }
  yield step('finish_mkwrite_fault:wp_page_reuse', vmf.pte);
  k.fn.wp_page_reuse(vmf, f);
  return 0;
}

/**
 * wp_pfn_shared(vmf): write fault on a shared VM_PFNMAP/VM_MIXEDMAP page: ->pfn_mkwrite (gated
 * by vmf_can_call_fault) or just make it writable. Entered with the PTL held.
 */
export function* wp_pfn_shared(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  if (vma.vm_ops?.pfn_mkwrite) {
    k.fn.pte_unmap_unlock(vmf.pte!);
    let ret = yield* k.fn.vmf_can_call_fault(vmf);
    if (ret) return ret;
    vmf.flags |= FAULT_FLAG_MKWRITE;
    ret = yield* vma.vm_ops.pfn_mkwrite(vmf);
    if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) return ret;
    return yield* k.fn.finish_mkwrite_fault(vmf, null);
  }
  yield step('wp_pfn_shared:wp_page_reuse', vmf.pte);
  k.fn.wp_page_reuse(vmf, null);
  return 0;
}

/**
 * wp_page_shared(vmf, folio): write fault on a shared file page: ->page_mkwrite (gated by
 * vmf_can_call_fault: 6.6 under the VMA lock retries), finish_mkwrite_fault, then
 * fault_dirty_shared_page. Entered with the PTL held.
 */
export function* wp_page_shared(vmf: vm_fault, f: folio): Task<number> {
  const vma = vmf.vma;
  let ret = 0;
  k.fn.folio_get(f);
  if (vma.vm_ops?.page_mkwrite) {
    k.fn.pte_unmap_unlock(vmf.pte!);
    let tmp = yield* k.fn.vmf_can_call_fault(vmf);
    if (tmp) {
      k.fn.folio_put(f);
      return tmp;
    }
    tmp = yield* k.fn.do_page_mkwrite(vmf, f);
    if (!tmp || (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE))) {
      k.fn.folio_put(f);
      return tmp;
    }
    tmp = yield* k.fn.finish_mkwrite_fault(vmf, f);
    if (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) {
      folio_unlock(f);
      k.fn.folio_put(f);
      return tmp;
    }
  } else {
    yield step('wp_page_shared:wp_page_reuse', vmf.pte);
    k.fn.wp_page_reuse(vmf, f);
    yield* folio_lock(f);
  }
  ret |= yield* k.fn.fault_dirty_shared_page(vmf);
  k.fn.folio_put(f);
  return ret;
}
