/**
 * Kernel: mm/gup.c (get_user_pages_remote, get_user_pages_fast, __get_user_pages_locked, __get_user_pages, faultin_page,
 * follow_page_pte, check_vma_flags, can_follow_write_pte/common, gup_must_unshare,
 * gup_fast, gup_fast_pmd_range, gup_fast_pte_range), mm/memory.c (__access_remote_vm),
 * fs/proc/base.c (mem_rw: a write(2) to /proc/pid/mem).
 *
 * The slow path runs with mmap_read_lock held: follow_page_pte looks the PTE up under the PTL;
 * when there is no usable entry it faults (faultin_page → handle_mm_fault, FAULT_FLAG_REMOTE for
 * another mm) and looks again. The newest kernel's FOLL_FORCE rule (no FOLL_COW since
 * 5535be309971, "mm/gup: fix FOLL_FORCE COW security issue"): a FOLL_FORCE write to a private
 * mapping without VM_WRITE breaks COW like a write fault would (do_wp_page / do_cow_fault leave
 * the PTE read-only, the VMA not being writable), and GUP then may write the page only if it is
 * an exclusive anonymous page (can_follow_write_common) — never the page-cache page behind it.
 * With FOLL_UNLOCKABLE (the GUP-fast fallback) a fault may drop the lock
 * (VM_FAULT_RETRY / COMPLETED: *locked = 0) and __get_user_pages_locked retakes it and retries
 * that page with FOLL_TRIED. Without it (get_user_pages_remote with locked == NULL, as
 * __access_remote_vm calls it) faults run without FAULT_FLAG_ALLOW_RETRY.
 *
 * GUP-fast walks the page tables with no lock at all, IRQs disabled: the PMD and each PTE are
 * read once (READ_ONCE), the folio is grabbed speculatively (folio_try_get), and then the PMD and
 * the PTE are re-read — if either changed (zap, khugepaged's pmdp_collapse_flush) the reference
 * is dropped and GUP-fast stops. What keeps the page table itself alive is that freeing it waits
 * for IRQs-off walkers: tlb_remove_table_sync_one (IPI) or an RCU grace period
 * (k.cfg.mmu_gather_rcu_table_free, mm/mmu_gather.ts). FOLL_PIN also checks
 * mm->write_protect_seq (fork's COW write-protection) before and after.
 *
 * Huge PMDs (khugepaged's THPs): follow_huge_pmd under the PMD lock (slow path), gup_fast_pmd_leaf
 * (GUP-fast: references through each page, then the entry re-read).
 *
 * Pins (FOLL_PIN: pin_user_pages_fast for O_DIRECT, impl/fs/direct_io.ts) are references counted
 * in the page's _pincount; folio_maybe_dma_pinned reads it (fork copies a maybe-pinned anonymous
 * page at once, reclaim and khugepaged leave it alone).
 *
 * Left out: hugetlb and PUD leaves, devmap, FOLL_LONGTERM migration, memfd/secretmem
 * checks, the gate area, ->access of VM_IO mappings (generic_access_phys: /proc/pid/mem on a
 * driver mapping is -EIO), FOLL_PIN's GUP_PIN_COUNTING_BIAS (a pin is one reference here),
 * FOLL_NUMA/protnone, and __access_remote_vm's stack expansion (6.5+ calls expand_stack for an
 * address below a VM_GROWSDOWN VMA; the model's /proc/pid/mem contract says GUP does not grow
 * stacks, model/actions/proc_mem_write.ts).
 */
import type { ModelResult, ProcMemWriteOp } from '../../model/ops.js';
import { step, type Task } from '../rt/task.js';
import { k, current_mm } from '../sim/kernel.js';
import {
  folio_test_anon, type folio, type mm_struct, type pmd_huge_t, type pmd_t, type pte_t, type pte_table, type vm_area_struct,
} from '../include/linux/mm_types.js';
import { spin_unlock } from '../sync/spinlock.js';
import { lockdep_assert_held } from '../sync/lockdep.js';
import {
  FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_INTERRUPTIBLE, FAULT_FLAG_KILLABLE, FAULT_FLAG_REMOTE, FAULT_FLAG_RETRY_NOWAIT,
  FAULT_FLAG_TRIED, FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, PAGE_SIZE, PMD_SIZE, VM_FAULT_COMPLETED, VM_FAULT_ERROR,
  VM_FAULT_HWPOISON, VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV, VM_IO, VM_MAYREAD, VM_MAYSHARE,
  VM_MAYWRITE, VM_PFNMAP, VM_READ, VM_SHARED, VM_UFFD_WP, VM_WRITE,
} from '../include/linux/mm_flags.js';
import { EAGAIN, EBUSY, EFAULT, EINTR, EIO, ENOMEM, ESRCH } from '../include/linux/errno.js';
import { BUG_ON, VM_BUG_ON, WARN_ON_ONCE } from '../include/linux/mmdebug.js';
import { fatal_signal_pending } from '../sync/sched.js';
import { local_irq_restore, local_irq_save } from '../sync/irqflags.js';
import { rcu_read_lock, rcu_read_unlock } from '../sync/rcu.js';
import { kasan_check_write } from '../sync/kasan.js';
import { folio_lock, folio_unlock } from '../sync/bitlock.js';
import { refcount_inc, refcount_inc_not_zero } from '../sync/refcount.js';

// ---------------------------------------------------------------------------------------------
// FOLL_* flags (include/linux/mm_types.h enum, include/linux/mm.h)

export const FOLL_WRITE = 1 << 0;
export const FOLL_GET = 1 << 1;
export const FOLL_DUMP = 1 << 2;
export const FOLL_FORCE = 1 << 3;
export const FOLL_NOWAIT = 1 << 4;
export const FOLL_NOFAULT = 1 << 5;
export const FOLL_HWPOISON = 1 << 6;
export const FOLL_ANON = 1 << 7;
export const FOLL_LONGTERM = 1 << 8;
export const FOLL_PIN = 1 << 11;
export const FOLL_INTERRUPTIBLE = 1 << 13;
export const FOLL_TOUCH = 1 << 16;
export const FOLL_TRIED = 1 << 17;
export const FOLL_REMOTE = 1 << 18;
export const FOLL_UNLOCKABLE = 1 << 21;

/** `int *locked`: 1 while the caller holds mmap_read_lock; set to 0 when GUP dropped it. */
export interface gup_locked {
  locked: number;
}

/** -EMLINK: follow_page_pte wants an unshare fault (FOLL_PIN of a shared anon page). */
const EMLINK = 31;
/** -EEXIST: a PFN mapping without a struct page. */
const EEXIST = 17;

/** What follow_page_pte returns: the page, NULL (fault it in), or ERR_PTR. */
type follow_result = folio | null | { readonly err: number };
const is_err = (r: follow_result): r is { readonly err: number } => r !== null && 'err' in r;

// ---------------------------------------------------------------------------------------------
// Slow path

/** is_cow_mapping(flags): private and may become writable. */
function is_cow_mapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/**
 * can_follow_write_common(page, vma, flags): FOLL_FORCE may write a page whose PTE is not
 * writable only in a private, not writable, may-write mapping, and only once COW was broken:
 * the page is an exclusive anonymous page (otherwise it could be the page cache's or shared).
 */
export function can_follow_write_common(page: folio | null, vma: vm_area_struct, flags: number): boolean {
  // Maybe FOLL_FORCE is set to override it?
  if (!(flags & FOLL_FORCE)) return false;
  // But FOLL_FORCE has no effect on shared mappings
  if (vma.vm_flags & (VM_MAYSHARE | VM_SHARED)) return false;
  // ... or read-only private ones
  if (!(vma.vm_flags & VM_MAYWRITE)) return false;
  // ... or already writable ones that just need to take a write fault
  if (vma.vm_flags & VM_WRITE) return false;
  // See can_change_pte_writable(): we broke COW and could map the page writable if we have an
  // exclusive anonymous page ...
  return page !== null && folio_test_anon(page) && page.anon_exclusive;
}

/** can_follow_write_pte(pte, page, vma, flags): FOLL_FORCE can write to even unwritable PTEs in COW mappings. */
export function can_follow_write_pte(pte: pte_t, page: folio | null, vma: vm_area_struct, flags: number): boolean {
  // If the pte is writable, we can write to the page.
  if (k.fn.pte_write(pte)) return true;
  if (!k.fn.can_follow_write_common(page, vma, flags)) return false;
  // ... and a write-fault isn't required for other reasons (soft-dirty is left out).
  return !((vma.vm_flags & VM_UFFD_WP) !== 0 && k.fn.pte_uffd_wp(pte));
}

/**
 * gup_must_unshare(vma, flags, page): a read-only FOLL_PIN of an anonymous page that is not
 * exclusive must first unshare it (FAULT_FLAG_UNSHARE), or a later COW in the owner would leave
 * the pin on a page the process no longer maps.
 */
export function gup_must_unshare(vma: vm_area_struct | null, flags: number, page: folio): boolean {
  void vma;
  // FOLL_WRITE is implicitly handled correctly as the page table entry has to be writable -- and
  // has to be exclusive.
  if ((flags & (FOLL_WRITE | FOLL_PIN)) !== FOLL_PIN) return false;
  if (!folio_test_anon(page)) return false;
  return !page.anon_exclusive;
}

/**
 * try_grab_folio(folio, refs, flags): a reference for FOLL_GET / FOLL_PIN (0 or -ENOMEM); a pin
 * also counts in the page's _pincount (folio_maybe_dma_pinned). The zero page and PFN maps are
 * not refcounted.
 */
export function try_grab_folio(f: folio, refs: number, flags: number): number {
  if (!(flags & (FOLL_GET | FOLL_PIN))) return 0;
  if (f.special) return 0;
  // WARN_ON_ONCE(folio_ref_count(folio) <= 0): the caller holds the PTL, the folio is mapped.
  if (WARN_ON_ONCE(k.fn.folio_ref_count(f) <= 0, `try_grab_folio: ${f.name} has no reference`)) return -ENOMEM;
  k.fn.folio_ref_add(f, refs);
  if (flags & FOLL_PIN) f._pincount += refs;
  return 0;
}

/** gup_put_folio(folio, refs, flags): drop what try_grab_folio took. */
export function gup_put_folio(f: folio, refs: number, flags: number): void {
  if (!(flags & (FOLL_GET | FOLL_PIN))) return;
  if (f.special) return;
  if (flags & FOLL_PIN) {
    kasan_check_write(f, 'gup_put_folio');
    if (WARN_ON_ONCE(f._pincount < refs, `gup_put_folio: ${f.name} is not pinned`)) return;
    f._pincount -= refs;
  }
  for (let i = 0; i < refs; i++) k.fn.folio_put(f);
}

/**
 * folio_maybe_dma_pinned(folio) (include/linux/mm.h): some page of the folio is pinned
 * (FOLL_PIN). Exact here (see folio._pincount); the kernel's is a heuristic with false positives.
 */
export function folio_maybe_dma_pinned(f: folio): boolean {
  const head = f.compound_head ?? f;
  for (const p of head.pages ?? [head]) if (p._pincount > 0) return true;
  return false;
}

/**
 * folio_needs_cow_for_dma(vma, folio) (include/linux/mm.h): fork must copy an anonymous page at
 * once when it may be pinned (MMF_HAS_PINNED set on the mm and the folio maybe pinned), or the
 * pin would end up on a page the child shares and the parent COWs away from.
 */
export function folio_needs_cow_for_dma(vma: vm_area_struct, f: folio): boolean {
  if (!vma.vm_mm.has_pinned) return false;
  return k.fn.folio_maybe_dma_pinned(f);
}

/** unpin_user_page(page): drop one FOLL_PIN pin. */
export function unpin_user_page(page: folio): void {
  k.fn.gup_put_folio(page, 1, FOLL_PIN);
}

/**
 * unpin_user_pages_dirty_lock(pages, npages, make_dirty): after DMA into the pages, mark each
 * dirty (folio_mark_dirty under the folio lock: set_page_dirty_lock) and unpin it.
 */
export function* unpin_user_pages_dirty_lock(pages: readonly folio[], npages: number, make_dirty: boolean): Task<void> {
  for (let i = 0; i < npages; i++) {
    const page = pages[i]!;
    if (make_dirty && !page.special) {
      yield* folio_lock(page_head(page));
      kasan_check_write(page, 'unpin_user_pages_dirty_lock (folio_mark_dirty)');
      page.dirty = true;
      folio_unlock(page_head(page));
    }
    k.fn.unpin_user_page(page);
  }
}

function page_head(page: folio): folio {
  return page.compound_head ?? page;
}

/**
 * follow_page_pte(vma, address, pmd, flags): the page mapped at address, looked up under the PTL
 * (pte_offset_map_lock, which re-checks the PMD). NULL when it must be faulted in (none, not
 * present, or not writable enough for FOLL_WRITE), {err: -EMLINK} for an unshare fault,
 * {err: -EEXIST} for a PFN mapping. Locks: mmap_lock held (asserted by the caller).
 */
export function* follow_page_pte(vma: vm_area_struct, address: number, pmd: pmd_t, flags: number): Task<follow_result> {
  const mm = vma.vm_mm;
  // FOLL_GET and FOLL_PIN are mutually exclusive.
  if (WARN_ON_ONCE((flags & (FOLL_PIN | FOLL_GET)) === (FOLL_PIN | FOLL_GET), 'follow_page_pte: FOLL_PIN|FOLL_GET')) {
    return { err: -22 };
  }
  const ptep = yield* k.fn.pte_offset_map_lock(mm, pmd, address);
  if (ptep === null) return no_page_table(vma, flags);
  yield step('follow_page_pte:ptep_get', ptep);
  const pte = k.fn.ptep_get(ptep, address);
  if (pte.kind !== 'present') {
    k.fn.pte_unmap_unlock(ptep);
    if (pte.kind !== 'none') return null;
    return no_page_table(vma, flags);
  }
  let page = k.fn.vm_normal_page(vma, address, pte);
  // We only care about anon pages in can_follow_write_pte().
  if ((flags & FOLL_WRITE) && !k.fn.can_follow_write_pte(pte, page, vma, flags)) {
    k.fn.pte_unmap_unlock(ptep);
    return null;
  }
  if (page === null) {
    if (flags & FOLL_DUMP) {
      k.fn.pte_unmap_unlock(ptep);
      return { err: -EFAULT };
    }
    if (k.fn.is_zero_folio(pte.folio)) {
      page = pte.folio;
    } else {
      // follow_pfn_pte: proper page table entry exists, but no corresponding struct page.
      k.fn.pte_unmap_unlock(ptep);
      return { err: -EEXIST };
    }
  }
  if (!k.fn.pte_write(pte) && k.fn.gup_must_unshare(vma, flags, page)) {
    k.fn.pte_unmap_unlock(ptep);
    return { err: -EMLINK };
  }
  VM_BUG_ON((flags & FOLL_PIN) !== 0 && folio_test_anon(page) && !page.anon_exclusive,
    `follow_page_pte: FOLL_PIN of a shared anonymous page ${page.name}`);
  // try_grab_folio() does nothing unless FOLL_GET or FOLL_PIN is set.
  const ret = k.fn.try_grab_folio(page, 1, flags);
  if (ret) {
    k.fn.pte_unmap_unlock(ptep);
    return { err: ret };
  }
  if (flags & FOLL_TOUCH) {
    // folio_mark_dirty for a write through GUP; folio_mark_accessed.
    if ((flags & FOLL_WRITE) && !k.fn.pte_dirty(pte) && !page.dirty && !page.special) page.dirty = true;
  }
  k.fn.pte_unmap_unlock(ptep);
  return page;
}

/** no_page_table(vma, flags, address): NULL (fault it in), or -EFAULT for a core dump of a hole. */
function no_page_table(vma: vm_area_struct, flags: number): follow_result {
  if (!(flags & FOLL_DUMP)) return null;
  if (k.fn.vma_is_anonymous(vma) || !vma.vm_ops?.fault) return { err: -EFAULT };
  return null;
}

/**
 * can_follow_write_pmd(pmd, page, vma, flags): as can_follow_write_pte, for a huge entry.
 */
export function can_follow_write_pmd(pmd: pmd_huge_t, page: folio, vma: vm_area_struct, flags: number): boolean {
  // If the pmd is writable, we can write to the page.
  if (pmd.write) return true;
  return k.fn.can_follow_write_common(page, vma, flags);
}

/**
 * follow_huge_pmd(vma, addr, pmd, flags, ctx) (6.8+; follow_trans_huge_pmd before): the page at
 * addr of a PMD-mapped THP, under the PMD lock. NULL when it must be faulted (a write the entry
 * does not allow), -EMLINK for an unshare. The reference is taken through the page (try_grab_folio
 * of its folio). Locks: the PMD lock held (asserted), mmap_lock.
 */
export function follow_huge_pmd(vma: vm_area_struct, addr: number, pmd: pmd_t, flags: number): follow_result {
  const mm = vma.vm_mm;
  lockdep_assert_held(k.fn.pmd_lockptr(mm, pmd));
  const pmdval = pmd.huge!;
  const head = pmdval.folio;
  const page = k.fn.folio_page(head, Math.floor((addr % PMD_SIZE) / PAGE_SIZE));
  if ((flags & FOLL_WRITE) && !k.fn.can_follow_write_pmd(pmdval, head, vma, flags)) return null;
  if (!pmdval.write && k.fn.gup_must_unshare(vma, flags, head)) return { err: -EMLINK };
  VM_BUG_ON((flags & FOLL_PIN) !== 0 && folio_test_anon(head) && !head.anon_exclusive,
    `follow_huge_pmd: FOLL_PIN of a shared anonymous THP ${head.name}`);
  const ret = k.fn.try_grab_folio(page, 1, flags);
  if (ret) return { err: ret };
  if (flags & FOLL_TOUCH) k.fn.touch_pmd(vma, addr, pmd, (flags & FOLL_WRITE) !== 0);
  return page;
}

/**
 * follow_page_mask(vma, address, flags, ctx) → follow_pmd_mask: the PMD read once
 * (pmdp_get_lockless); none → no_page_table; a PTE table → follow_page_pte; a huge entry → under
 * the PMD lock, re-checked (not present: no_page_table; a table now: follow_page_pte), then
 * follow_huge_pmd.
 */
export function* follow_page_mask(vma: vm_area_struct, address: number, flags: number): Task<follow_result> {
  const mm = vma.vm_mm;
  yield step('follow_pmd_mask:pmdp_get_lockless', mm.pgd);
  const pmd = mm.pgd.get(Math.floor(address / PMD_SIZE));
  if (!pmd || k.fn.pmd_none(pmd)) return no_page_table(vma, flags);
  const pmdval = k.fn.pmdp_get(pmd);
  if (pmdval.kind === 'huge' && !pmdval.present) return no_page_table(vma, flags);
  // pmd_protnone && !gup_can_follow_protnone: no NUMA hinting here, so only a PROT_NONE VMA.
  if (pmdval.kind === 'huge' && pmdval.protnone) return no_page_table(vma, flags);
  if (pmdval.kind !== 'huge') return yield* k.fn.follow_page_pte(vma, address, pmd, flags);
  const ptl = yield* k.fn.pmd_lock(mm, pmd);
  const now = k.fn.pmdp_get(pmd);
  if (now.kind === 'none' || (now.kind === 'huge' && !now.present)) {
    spin_unlock(ptl);
    return no_page_table(vma, flags);
  }
  if (now.kind === 'table') {
    spin_unlock(ptl);
    return yield* k.fn.follow_page_pte(vma, address, pmd, flags);
  }
  const page = k.fn.follow_huge_pmd(vma, address, pmd, flags);
  spin_unlock(ptl);
  return page;
}

/** vm_fault_to_errno(vm_fault, foll_flags) (include/linux/mm.h). */
export function vm_fault_to_errno(vm_fault: number, foll_flags: number): number {
  if (vm_fault & VM_FAULT_OOM) return -ENOMEM;
  if (vm_fault & VM_FAULT_HWPOISON) return foll_flags & FOLL_HWPOISON ? -133 : -EFAULT;
  if (vm_fault & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)) return -EFAULT;
  return 0;
}

/**
 * faultin_page(vma, address, flags, unshare, locked): handle_mm_fault with the fault flags GUP's
 * flags ask for. Returns 0 (look again), -EBUSY (VM_FAULT_RETRY: the lock was dropped, *locked =
 * 0, unless RETRY_NOWAIT), -EAGAIN (VM_FAULT_COMPLETED: done, lock dropped), or -errno.
 * Locks: mmap_lock held on entry; with FOLL_UNLOCKABLE it may be released.
 */
export function* faultin_page(vma: vm_area_struct, address: number, flags: number, unshare: boolean, locked: gup_locked): Task<number> {
  let fault_flags = 0;
  if (flags & FOLL_NOFAULT) return -EFAULT;
  if (flags & FOLL_WRITE) fault_flags |= FAULT_FLAG_WRITE;
  if (flags & FOLL_REMOTE) fault_flags |= FAULT_FLAG_REMOTE;
  if (flags & FOLL_UNLOCKABLE) {
    fault_flags |= FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE;
    // FAULT_FLAG_INTERRUPTIBLE is opt-in.
    if (flags & FOLL_INTERRUPTIBLE) fault_flags |= FAULT_FLAG_INTERRUPTIBLE;
  }
  if (flags & FOLL_NOWAIT) fault_flags |= FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_RETRY_NOWAIT;
  // Note: FAULT_FLAG_ALLOW_RETRY and FAULT_FLAG_TRIED can co-exist
  if (flags & FOLL_TRIED) fault_flags |= FAULT_FLAG_TRIED;
  if (unshare) {
    fault_flags |= FAULT_FLAG_UNSHARE;
    // FAULT_FLAG_WRITE and FAULT_FLAG_UNSHARE are incompatible
    VM_BUG_ON((fault_flags & FAULT_FLAG_WRITE) !== 0, 'faultin_page: UNSHARE with WRITE');
  }
  const ret = yield* k.fn.handle_mm_fault(vma, address, fault_flags, null);
  if (ret & VM_FAULT_COMPLETED) {
    // With FAULT_FLAG_RETRY_NOWAIT we'll never release the mmap lock in the page fault handler.
    WARN_ON_ONCE((fault_flags & FAULT_FLAG_RETRY_NOWAIT) !== 0, 'faultin_page: COMPLETED with RETRY_NOWAIT');
    locked.locked = 0;
    // We've just fully completed a page fault, with the mmap lock released: take it _again_.
    return -EAGAIN;
  }
  if (ret & VM_FAULT_ERROR) {
    const err = k.fn.vm_fault_to_errno(ret, flags);
    BUG_ON(err === 0, 'faultin_page: VM_FAULT_ERROR without an errno');
    return err;
  }
  if (ret & VM_FAULT_RETRY) {
    if (!(fault_flags & FAULT_FLAG_RETRY_NOWAIT)) locked.locked = 0;
    return -EBUSY;
  }
  return 0;
}

/**
 * check_vma_flags(vma, gup_flags): may GUP access this VMA? VM_IO/VM_PFNMAP never; a write needs
 * VM_WRITE, or FOLL_FORCE on a COW mapping (a shared mapping without VM_WRITE is refused: "Anon
 * pages in shared mappings are surprising: now just reject it"); a read needs VM_READ, or
 * FOLL_FORCE with VM_MAYREAD.
 */
export function check_vma_flags(vma: vm_area_struct, gup_flags: number): number {
  const vm_flags = vma.vm_flags;
  const write = (gup_flags & FOLL_WRITE) !== 0;
  if (vm_flags & (VM_IO | VM_PFNMAP)) return -EFAULT;
  if ((gup_flags & FOLL_ANON) && !k.fn.vma_is_anonymous(vma)) return -EFAULT;
  if (write) {
    if (!(vm_flags & VM_WRITE)) {
      if (!(gup_flags & FOLL_FORCE)) return -EFAULT;
      if (!k.fn.is_cow_mapping(vm_flags)) return -EFAULT;
    }
  } else if (!(vm_flags & VM_READ)) {
    if (!(gup_flags & FOLL_FORCE)) return -EFAULT;
    if (!(vm_flags & VM_MAYREAD)) return -EFAULT;
  }
  return 0;
}

/**
 * __get_user_pages(mm, start, nr_pages, gup_flags, pages, locked): for each page, find the VMA
 * (gup_vma_lookup: no stack expansion), check it, follow the page, fault it in and follow again.
 * Returns the number of pages done, or -errno when none; 0 when a fault dropped the lock
 * (*locked = 0) before any page. Locks: mmap_lock held on entry (asserted by the callers); it
 * may be released only with FOLL_UNLOCKABLE.
 */
export function* __get_user_pages(
  mm: mm_struct, start: number, nr_pages: number, gup_flags: number, pages: folio[] | null, locked: gup_locked,
): Task<number> {
  let ret = 0;
  let i = 0;
  let vma: vm_area_struct | null = null;
  if (!nr_pages) return 0;
  VM_BUG_ON((pages !== null) !== ((gup_flags & (FOLL_GET | FOLL_PIN)) !== 0), '__get_user_pages: pages without FOLL_GET/FOLL_PIN');
  outer: do {
    // first iteration or cross vma bound
    if (!vma || start >= vma.vm_end) {
      vma = yield* k.fn.find_vma(mm, start);
      if (vma && start < vma.vm_start) vma = null; // gup_vma_lookup: GUP no longer grows the stack
      if (!vma) {
        ret = -EFAULT;
        break;
      }
      ret = k.fn.check_vma_flags(vma, gup_flags);
      if (ret) break;
    }
    for (;;) { // retry:
      // If we have a pending SIGKILL, don't keep faulting pages and potentially allocating memory.
      if (fatal_signal_pending()) {
        ret = -EINTR;
        break outer;
      }
      const page = yield* k.fn.follow_page_mask(vma, start, gup_flags);
      if (page === null || (is_err(page) && page.err === -EMLINK)) {
        ret = yield* k.fn.faultin_page(vma, start, gup_flags, page !== null, locked);
        if (ret === 0) continue; // goto retry
        if (ret === -EBUSY || ret === -EAGAIN) ret = 0;
        break outer;
      } else if (is_err(page)) {
        if (page.err === -EEXIST) {
          // Proper page table entry exists, but no corresponding struct page.
          if (pages) {
            ret = page.err;
            break outer;
          }
        } else {
          ret = page.err;
          break outer;
        }
      } else if (pages) {
        pages.push(page);
      }
      break;
    }
    // next_page:
    i++;
    start += PAGE_SIZE;
    nr_pages--;
  } while (nr_pages);
  return i ? i : ret;
}

/**
 * __get_user_pages_locked(mm, start, nr_pages, pages, locked, flags): take the mmap read lock if
 * the caller did not (*locked == 0), run __get_user_pages, and — with FOLL_UNLOCKABLE — when a
 * fault dropped the lock (VM_FAULT_RETRY / COMPLETED), retake it and retry that page with
 * FOLL_TRIED until it is done. Returns with the lock held iff the caller held it and it was never
 * dropped (*locked tells). Returns pages done or -errno.
 */
export function* __get_user_pages_locked(
  mm: mm_struct, start: number, nr_pages: number, pages: folio[] | null, locked: gup_locked, flags: number,
): Task<number> {
  let must_unlock = false;
  if (!nr_pages) return 0;
  // The internal caller expects GUP to manage the lock internally and the lock must be released
  // when this returns.
  if (!locked.locked) {
    if (yield* k.fn.mmap_read_lock_killable(mm)) return -EAGAIN;
    must_unlock = true;
    locked.locked = 1;
  } else {
    k.fn.mmap_assert_locked(mm);
  }
  if (pages && !(flags & FOLL_PIN)) flags |= FOLL_GET;
  let pages_done = 0;
  for (;;) {
    let ret = yield* k.fn.__get_user_pages(mm, start, nr_pages, flags, pages, locked);
    if (!(flags & FOLL_UNLOCKABLE)) {
      // VM_FAULT_RETRY couldn't trigger, bypass
      pages_done = ret;
      break;
    }
    // VM_FAULT_RETRY or VM_FAULT_COMPLETED cannot return errors
    if (!locked.locked) {
      BUG_ON(ret < 0, '__get_user_pages_locked: error with the lock dropped');
      BUG_ON(ret >= nr_pages, '__get_user_pages_locked: all pages done with the lock dropped');
    }
    if (ret > 0) {
      nr_pages -= ret;
      pages_done += ret;
      if (!nr_pages) break;
    }
    if (locked.locked) {
      // VM_FAULT_RETRY didn't trigger or it was a FOLL_NOWAIT.
      if (!pages_done) pages_done = ret;
      break;
    }
    // VM_FAULT_RETRY triggered, so seek to the faulting offset.
    start += Math.max(ret, 0) * PAGE_SIZE;
    // The lock was temporarily dropped, so we must unlock later
    must_unlock = true;
    let stop = false;
    for (;;) { // retry:
      // Repeat on the address that fired VM_FAULT_RETRY with both FAULT_FLAG_ALLOW_RETRY and
      // FAULT_FLAG_TRIED; check for a fatal signal first or it can loop forever.
      if (fatal_signal_pending()) {
        if (!pages_done) pages_done = -EINTR;
        stop = true;
        break;
      }
      ret = yield* k.fn.mmap_read_lock_killable(mm);
      if (ret) {
        if (!pages_done) pages_done = ret;
        stop = true;
        break;
      }
      locked.locked = 1;
      ret = yield* k.fn.__get_user_pages(mm, start, 1, flags | FOLL_TRIED, pages, locked);
      if (!locked.locked) {
        // Continue to retry until we succeeded
        BUG_ON(ret !== 0, '__get_user_pages_locked: FOLL_TRIED retry returned pages with the lock dropped');
        continue;
      }
      break;
    }
    if (stop) break;
    if (ret !== 1) {
      BUG_ON(ret > 1, '__get_user_pages_locked: more than one page');
      if (!pages_done) pages_done = ret;
      break;
    }
    nr_pages--;
    pages_done++;
    if (!nr_pages) break;
    start += PAGE_SIZE;
  }
  if (must_unlock && locked.locked) {
    // We either temporarily dropped the lock, or the caller requested that we both acquire and
    // drop the lock. Either way, we must now unlock, and notify the caller of that state.
    k.fn.mmap_read_unlock(mm);
    locked.locked = 0;
  }
  // Failing to pin anything implies something has gone wrong (except when FOLL_NOWAIT is specified).
  if (pages_done === 0 && !(flags & FOLL_NOWAIT)) {
    WARN_ON_ONCE(true, '__get_user_pages_locked: no page and no error');
  }
  return pages_done;
}

/**
 * get_user_pages_remote(mm, start, nr_pages, gup_flags, pages, locked): GUP on another mm
 * (ptrace, /proc/pid/mem). With locked == null the caller holds mmap_read_lock and it is never
 * dropped (no FOLL_UNLOCKABLE: faults run without FAULT_FLAG_ALLOW_RETRY); with locked, GUP may
 * drop it (*locked = 0).
 */
export function* get_user_pages_remote(
  mm: mm_struct, start: number, nr_pages: number, gup_flags: number, pages: folio[] | null, locked: gup_locked | null,
): Task<number> {
  // is_valid_gup_args: FOLL_UNLOCKABLE when the caller can tolerate the lock being dropped.
  if (locked) {
    if (WARN_ON_ONCE(locked.locked !== 1, 'get_user_pages_remote: *locked != 1')) return -22;
    gup_flags |= FOLL_UNLOCKABLE;
  }
  gup_flags |= FOLL_TOUCH | FOLL_REMOTE;
  return yield* k.fn.__get_user_pages_locked(mm, start, nr_pages, pages, locked ?? { locked: 1 }, gup_flags);
}

// ---------------------------------------------------------------------------------------------
// GUP-fast

/**
 * try_grab_folio_fast(page, refs, flags): a speculative reference on a folio found without any
 * lock (folio_try_get fails on a folio being freed). Touching a freed folio is a KASAN report.
 */
export function try_grab_folio_fast(f: folio, refs: number, flags: number): folio | null {
  if (f.special) return null;
  kasan_check_write(f, 'try_grab_folio_fast');
  void flags;
  if (!k.fn.folio_try_get(f)) return null;
  if (refs > 1) k.fn.folio_ref_add(f, refs - 1);
  if (flags & FOLL_PIN) f._pincount += refs;
  return f;
}

/**
 * pte_access_permitted(pte, write): present to the hardware (not _PAGE_PROTNONE:
 * gup_fast_pte_range leaves PROT_NONE entries to the slow path), and writable if a write is wanted.
 */
function pte_access_permitted(pte: pte_t, write: boolean): boolean {
  return pte.kind === 'present' && !pte.protnone && (!write || pte.write);
}

/**
 * gup_fast_pte_range(pmd, pmdp, addr, end, flags, pages): the lockless PTE walk of one table.
 * `table` is the PMD value read once by the caller (pmdp_get_lockless) — the walk maps it even if
 * the PMD has been cleared since (pte_offset_map(&pmd)): only IRQs-off keeps the table alive.
 * Each PTE is read once (ptep_get_lockless); after grabbing the folio both the PMD and the PTE
 * are re-read: a change means the page may be on its way out (zap, pmdp_collapse_flush), so the
 * reference is dropped and the walk stops. Returns false when it stopped early.
 */
export function* gup_fast_pte_range(table: pte_table, pmdp: pmd_t, addr: number, end: number, flags: number, pages: folio[]): Task<boolean> {
  let ret = false;
  // pte_offset_map(&pmd, addr): 6.5+ under RCU (IRQs are off anyway); ≤6.4 a plain map.
  const rcu = k.cfg.pte_offset_map_can_fail;
  if (rcu) rcu_read_lock();
  out: do {
    const pte = yield* k.fn.ptep_get_lockless(table, addr);
    if (!pte_access_permitted(pte, (flags & FOLL_WRITE) !== 0)) break;
    if (pte.kind !== 'present' || pte.special || pte.folio.special) break; // pte_special
    const f = k.fn.try_grab_folio_fast(pte.folio, 1, flags);
    if (!f) break;
    yield step('gup_fast_pte_range:recheck', table);
    if (pmdp.table !== table || !k.fn.pte_same(pte, k.fn.ptep_get(table, addr))) {
      k.fn.gup_put_folio(f, 1, flags);
      break out;
    }
    if (!k.fn.pte_write(pte) && k.fn.gup_must_unshare(null, flags, f)) {
      k.fn.gup_put_folio(f, 1, flags);
      break out;
    }
    pages.push(f);
    addr += PAGE_SIZE;
    if (addr === end) ret = true;
  } while (addr !== end);
  if (rcu) rcu_read_unlock(); // pte_unmap
  return ret;
}

/**
 * gup_fast_pmd_leaf(orig, pmdp, addr, end, flags, pages): the pages of [addr, end) of a huge
 * entry read once: references taken through each page (record_subpages + try_grab_folio_fast),
 * then the entry re-read — changed (zapped, split, moved) means drop them and stop.
 */
export function* gup_fast_pmd_leaf(orig: pmd_huge_t, pmdp: pmd_t, addr: number, end: number, flags: number, pages: folio[]): Task<boolean> {
  // pmd_access_permitted; pmd_protnone (a PROT_NONE VMA): see gup_fast_pte_range.
  if (!orig.present || orig.protnone || ((flags & FOLL_WRITE) && !orig.write)) return false;
  const got: folio[] = [];
  for (let a = addr; a < end; a += PAGE_SIZE) {
    const page = k.fn.folio_page(orig.folio, Math.floor((a % PMD_SIZE) / PAGE_SIZE));
    const f = k.fn.try_grab_folio_fast(page, 1, flags);
    if (!f) {
      for (const g of got) k.fn.gup_put_folio(g, 1, flags);
      return false;
    }
    got.push(f);
  }
  yield step('gup_fast_pmd_leaf:recheck', pmdp);
  if (!k.fn.pmd_same(orig, k.fn.pmdp_get(pmdp))) {
    for (const g of got) k.fn.gup_put_folio(g, 1, flags);
    return false;
  }
  if (!orig.write && k.fn.gup_must_unshare(null, flags, orig.folio)) {
    for (const g of got) k.fn.gup_put_folio(g, 1, flags);
    return false;
  }
  pages.push(...got);
  return true;
}

/** gup_fast_pmd_range: each PMD read once (pmdp_get_lockless); a none PMD stops the walk. */
function* gup_fast_pmd_range(mm: mm_struct, addr: number, end: number, flags: number, pages: folio[]): Task<void> {
  do {
    const next = Math.min((Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE, end);
    yield step('gup_fast_pmd_range:pmdp_get_lockless', mm.pgd);
    const pmdp = mm.pgd.get(Math.floor(addr / PMD_SIZE));
    if (!pmdp) return;
    const pmd = k.fn.pmdp_get(pmdp);
    if (pmd.kind === 'none') return;
    if (pmd.kind === 'huge') {
      if (!(yield* k.fn.gup_fast_pmd_leaf(pmd, pmdp, addr, next, flags, pages))) return;
    } else if (!(yield* k.fn.gup_fast_pte_range(pmd.table, pmdp, addr, next, flags, pages))) {
      return;
    }
    addr = next;
  } while (addr !== end);
}

/**
 * gup_fast(start, end, gup_flags, pages): the lockless walk of current->mm with IRQs disabled
 * (local_irq_save), which holds off the IPI of tlb_remove_table_sync_one and — in the consolidated
 * RCU flavour — the grace period of MMU_GATHER_RCU_TABLE_FREE, so no page table it walks is
 * freed under it. FOLL_PIN: give up when fork is write-protecting this mm (write_protect_seq odd
 * before, or changed after: unpin and let the slow path do it). Returns the number of pages.
 */
export function* gup_fast(start: number, end: number, gup_flags: number, pages: folio[]): Task<number> {
  const mm = current_mm();
  if (!mm) return 0;
  let seq = 0;
  if (gup_flags & FOLL_PIN) {
    yield step('gup_fast:raw_read_seqcount(write_protect_seq)', mm);
    seq = mm.write_protect_seq;
    if (seq & 1) return 0;
  }
  // Disable interrupts. The nested form is used, in order to allow full, general purpose use of
  // this routine.
  const flags = local_irq_save();
  const before = pages.length;
  yield* gup_fast_pmd_range(mm, start, end, gup_flags, pages);
  local_irq_restore(flags);
  const nr_pinned = pages.length - before;
  if (gup_flags & FOLL_PIN) {
    yield step('gup_fast:read_seqcount_retry(write_protect_seq)', mm);
    if (mm.write_protect_seq !== seq) {
      for (const f of pages.splice(before)) k.fn.gup_put_folio(f, 1, gup_flags); // gup_fast_unpin_user_pages
      return 0;
    }
  }
  return nr_pinned;
}

/**
 * get_user_pages_fast(start, nr_pages, gup_flags, pages) (gup_fast_fallback): GUP-fast, then the
 * slow path for the rest with the mmap lock taken and droppable (FOLL_UNLOCKABLE).
 */
export function* get_user_pages_fast(start: number, nr_pages: number, gup_flags: number, pages: folio[]): Task<number> {
  if (!(gup_flags & FOLL_PIN)) gup_flags |= FOLL_GET;
  else {
    const cur = current_mm();
    if (cur) cur.has_pinned = true; // mm_set_has_pinned_flag
  }
  const end = start + nr_pages * PAGE_SIZE;
  const nr_pinned = yield* k.fn.gup_fast(start, end, gup_flags, pages);
  if (nr_pinned === nr_pages) return nr_pinned;
  // Slow path: try to get the remaining pages with get_user_pages
  const mm = current_mm();
  if (!mm) return nr_pinned;
  const ret = yield* k.fn.__get_user_pages_locked(mm, start + nr_pinned * PAGE_SIZE, nr_pages - nr_pinned, pages,
    { locked: 0 }, gup_flags | FOLL_TOUCH | FOLL_UNLOCKABLE);
  if (ret < 0) {
    // Have to be a bit careful with return values
    return nr_pinned ? nr_pinned : ret;
  }
  return ret + nr_pinned;
}

/**
 * pin_user_pages_fast(start, nr_pages, gup_flags, pages): FOLL_PIN references for DMA into or
 * out of user memory (O_DIRECT's iov_iter_extract_pages, io_uring, vmsplice): GUP-fast, then the
 * slow path. Returns the number of pages pinned or -errno; the caller unpins them
 * (unpin_user_pages / unpin_user_pages_dirty_lock).
 */
export function* pin_user_pages_fast(start: number, nr_pages: number, gup_flags: number, pages: folio[]): Task<number> {
  if (WARN_ON_ONCE((gup_flags & FOLL_GET) !== 0, 'pin_user_pages_fast: FOLL_GET')) return -22;
  return yield* k.fn.get_user_pages_fast(start, nr_pages, gup_flags | FOLL_PIN, pages);
}

// ---------------------------------------------------------------------------------------------
// /proc/pid/mem

/**
 * __access_remote_vm(mm, addr, buf, len, gup_flags) (mm/memory.c) for one word written to one
 * page: under mmap_read_lock_killable, get_user_pages_remote(mm, addr, 1, flags, &page, NULL)
 * (locked == NULL: the lock is never dropped), then copy_to_user_page into the page and
 * set_page_dirty_lock. Returns the bytes done (0: nothing could be accessed).
 */
export function* access_remote_vm(mm: mm_struct, addr: number, value: number, gup_flags: number): Task<number> {
  if (yield* k.fn.mmap_read_lock_killable(mm)) return 0;
  const pages: folio[] = [];
  // get_user_page_vma_remote: one page with FOLL_GET.
  const got = yield* k.fn.get_user_pages_remote(mm, addr & ~(PAGE_SIZE - 1), 1, gup_flags | FOLL_GET, pages, null);
  let bytes = 0;
  if (got === 1) {
    const page = pages[0]!;
    if (gup_flags & FOLL_WRITE) {
      // copy_to_user_page(vma, page, addr, maddr + offset, buf, bytes); set_page_dirty_lock(page)
      yield step('__access_remote_vm:copy_to_user_page', page);
      kasan_check_write(page, '__access_remote_vm (copy_to_user_page)');
      page.data = value;
      if (!page.special) page.dirty = true;
    }
    k.fn.folio_put(page); // unmap_and_put_page
    bytes = 1;
  }
  // A failure to get the page would try vma->vm_ops->access (left out: -EIO for VM_IO maps).
  k.fn.mmap_read_unlock(mm);
  return bytes;
}

/**
 * sim_sys_proc_mem_write(op): write(2) of one value to /proc/<target>/mem at addr — mem_rw:
 * the mm pinned at open (proc_mem_open: mmgrab), mmget_not_zero for the access, then
 * access_remote_vm with FOLL_FORCE | FOLL_WRITE; nothing written is -EIO.
 */
export function* sim_sys_proc_mem_write(op: ProcMemWriteOp): Task<ModelResult> {
  yield 'proc_mem_open:mm_access';
  const proc = k.procs.get(op.target);
  if (!proc || proc.exited || !proc.mm) return { kind: 'errno', errno: -ESRCH };
  const mm = proc.mm;
  refcount_inc(mm.mm_count); // mmgrab
  let result: ModelResult;
  if (!refcount_inc_not_zero(mm.mm_users)) {
    result = { kind: 'errno', errno: -ESRCH };
  } else {
    const n = yield* k.fn.access_remote_vm(mm, op.addr, op.value, FOLL_FORCE | FOLL_WRITE);
    result = n > 0 ? { kind: 'ok' } : { kind: 'errno', errno: -EIO };
    yield* k.fn.mmput(mm);
  }
  k.fn.mmdrop(mm);
  return result;
}
