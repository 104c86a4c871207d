/**
 * Kernel: mm/memory.c (unmap_vmas, zap_*, free_pgtables, copy_page_range) — tearing page tables
 * down and copying them at fork.
 *
 * - Zap (unmap_vmas → unmap_single_vma → unmap_page_range → zap_pmd_range → zap_pte_range):
 *   under the PTL of each table, ptep_get_and_clear every entry; present pages lose their rmap
 *   (folio_remove_rmap_pte) and their reference goes to the mmu_gather, dropped after the TLB
 *   flush; swap entries are released with free_swap_and_cache. A zap needs only a stable VMA
 *   (mmap lock or VMA lock) plus the PTL (kernel.md §1.7).
 * - free_pgtables / free_pgd_range: once the VMAs are unreachable (write-locked and detached,
 *   unlinked from anon_vma and i_mmap), clear the PMD entries WITHOUT the PTL and hand the tables
 *   to pte_free_tlb (I11). floor/ceiling keep tables shared with neighbouring VMAs.
 * - copy_page_range / copy_pte_range / copy_present_pte / copy_nonpresent_pte (fork): dst PTL,
 *   then src PTL nested; COW mappings write-protect the parent's PTE and the child's copy,
 *   folio_try_dup_anon_rmap_pte, folio_get — a maybe-pinned exclusive anonymous page is copied for
 *   the child at once instead (copy_present_page, after dropping the PTLs to allocate: 70e806e4e645,
 *   "mm: Do early cow for pinned pages during fork() for ptes"); swap entries are duplicated (swap_duplicate) and lose
 *   their exclusive bit in the parent; src_mm->write_protect_seq is bumped around the copy for
 *   GUP-fast.
 *
 * The page table has one level above the PTE tables (mm->pgd: PMD index → pmd_t); p4d/pud are
 * left out. Huge PMDs (khugepaged's THPs) are zapped whole or split (zap_huge_pmd,
 * __split_huge_pmd: huge_memory.ts) and split at fork (copy_huge_pmd). Left out: mmu notifiers, userfaultfd-wp markers on zap, device/migration
 * entries on copy (copied as they are), and
 * the rss counters' per-CPU caching.
 */
import type { Task } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import {
  folio_test_anon, type folio, type mm_struct, type pmd_t, type pte_t, type pte_table, type vm_area_struct,
} from '../include/linux/mm_types.js';
import { PAGE_SIZE, PMD_SIZE, VM_MAYWRITE, VM_MIXEDMAP, VM_PFNMAP, VM_SHARED, VM_UFFD_WP } from '../include/linux/mm_flags.js';
import { kasan_check_read } from '../sync/kasan.js';
import { GFP_HIGHUSER_MOVABLE } from './page_alloc.js';
import { VM_BUG_ON, VM_BUG_ON_VMA } from '../include/linux/mmdebug.js';
import { spin_lock_nested, spin_unlock } from '../sync/spinlock.js';
import { SINGLE_DEPTH_NESTING } from '../sync/lockdep.js';
import {
  __tlb_remove_folio, pte_free_tlb, tlb_finish_mmu, tlb_flush_mmu, tlb_flush_mmu_tlbonly, tlb_gather_mmu,
  tlb_remove_tlb_entry, type mmu_gather,
} from './mmu_gather.js';

/** FIRST_USER_ADDRESS and USER_PGTABLES_CEILING (x86: 0 and 0 meaning "top of the space"). */
export const FIRST_USER_ADDRESS = 0;
export const USER_PGTABLES_CEILING = 0;

const pmd_index_of = (addr: number): number => Math.floor(addr / PMD_SIZE);
/** pmd_addr_end(addr, end): the end of addr's PMD range, clamped to end. */
const pmd_addr_end = (addr: number, end: number): number => Math.min((pmd_index_of(addr) + 1) * PMD_SIZE, end);

/** is_cow_mapping(flags): private and may become writable. */
export function is_cow_mapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/** The PMD entry covering addr, if the slot exists (pmd_offset without allocation). */
function pmd_lookup(mm: mm_struct, addr: number): pmd_t | null {
  return mm.pgd.get(pmd_index_of(addr)) ?? null;
}

// ---------------------------------------------------------------------------------------------
// Zap

/**
 * zap_pte_range(tlb, vma, pmd, addr, end): clear the PTEs of [addr, end) in one table.
 * Locks: the VMA is stable (mmap lock or VMA lock held by the caller); takes and drops the PTL.
 * Returns the address it got to (end, or earlier when the gather forced a flush mid-table:
 * the caller loops).
 */
export function* zap_pte_range(tlb: mmu_gather, vma: vm_area_struct, pmd: pmd_t, addr: number, end: number): Task<number> {
  const mm = tlb.mm;
  let force_flush = false;
  const table = yield* k.fn.pte_offset_map_lock(mm, pmd, addr);
  if (!table) return end; // the table went away (khugepaged retract): nothing to zap
  for (; addr < end; addr += PAGE_SIZE) {
    yield 'zap_pte_range:ptep_get';
    const ptent = k.fn.ptep_get(table, addr);
    if (ptent.kind === 'none') continue;
    k.fn.ptep_get_and_clear(mm, addr, table); // ptep_get_and_clear_full
    k.fn.tlb_remove_tlb_entry(tlb, addr);
    if (ptent.kind === 'present') {
      const f = ptent.folio;
      if (ptent.special) continue; // vm_normal_page() == NULL: a PFN mapping, not refcounted
      if (!folio_test_anon(f) && ptent.dirty) f.dirty = true; // folio_mark_dirty
      k.fn.dec_mm_counter(mm, k.fn.mm_counter(f));
      k.fn.folio_remove_rmap_pte(f, vma);
      if (k.fn.__tlb_remove_folio(tlb, f)) {
        force_flush = true;
        addr += PAGE_SIZE;
        break;
      }
    } else if (ptent.kind === 'swap') {
      k.fn.dec_mm_counter(mm, 'MM_SWAPENTS');
      yield* k.fn.free_swap_and_cache(ptent.entry);
    } else if (ptent.kind === 'migration') {
      // A migration entry holds no reference of its own here (the migrating folio does).
      k.fn.dec_mm_counter(mm, k.fn.mm_counter(ptent.folio));
    }
    // pte markers (uffd-wp, guard, poison) are simply cleared
  }
  // The TLB must be flushed before the PTL is dropped when the batch filled up, so the folios
  // cannot be freed while a stale TLB entry still maps them (force_flush in the kernel).
  if (force_flush) yield* k.fn.tlb_flush_mmu_tlbonly(tlb);
  k.fn.pte_unmap_unlock(table);
  if (force_flush) yield* k.fn.tlb_flush_mmu(tlb);
  return addr;
}

/**
 * zap_pmd_range(tlb, vma, addr, end): every PMD of the range — a huge entry is zapped whole
 * (zap_huge_pmd) when the range covers it, else split first; then the PTE tables.
 */
function* zap_pmd_range(tlb: mmu_gather, vma: vm_area_struct, addr: number, end: number): Task<void> {
  while (addr < end) {
    const next = pmd_addr_end(addr, end);
    yield 'zap_pmd_range:pmd_none_or_clear_bad';
    const pmd = pmd_lookup(tlb.mm, addr);
    if (pmd && k.fn.pmd_trans_huge(pmd)) {
      if (next - addr !== PMD_SIZE) {
        yield* k.fn.__split_huge_pmd(vma, pmd, addr);
      } else if (yield* k.fn.zap_huge_pmd(tlb, vma, pmd, addr)) {
        addr = next;
        continue;
      }
      // fall through
    }
    if (pmd && pmd.table) {
      let a = addr;
      while (a < next) a = yield* k.fn.zap_pte_range(tlb, vma, pmd, a, next);
    }
    addr = next;
  }
}

/** unmap_page_range(tlb, vma, addr, end, details). */
export function* unmap_page_range(tlb: mmu_gather, vma: vm_area_struct, addr: number, end: number): Task<void> {
  VM_BUG_ON_VMA(addr >= end, vma, 'unmap_page_range: addr >= end');
  yield* zap_pmd_range(tlb, vma, addr, end);
}

/** unmap_single_vma(tlb, vma, start_addr, end_addr, details, mm_wr_locked). */
export function* unmap_single_vma(tlb: mmu_gather, vma: vm_area_struct, start_addr: number, end_addr: number): Task<void> {
  const start = Math.max(vma.vm_start, start_addr);
  if (start >= vma.vm_end) return;
  const end = Math.min(vma.vm_end, end_addr);
  if (end <= vma.vm_start) return;
  if (start !== end) yield* k.fn.unmap_page_range(tlb, vma, start, end);
}

/**
 * unmap_vmas(tlb, vmas, start_addr, end_addr, mm_wr_locked): zap the PTEs of every VMA of the
 * list in [start_addr, end_addr). The kernel walks a maple-tree state (the detached tree of a
 * munmap, or the mm's tree in exit_mmap); here the caller passes the VMAs in address order.
 * Locks: mmap_lock held (read or write); the VMAs are detached or the mm is exiting.
 */
export function* unmap_vmas(
  tlb: mmu_gather, vmas: readonly vm_area_struct[], start_addr: number, end_addr: number, _mm_wr_locked: boolean,
): Task<void> {
  // mmu_notifier_invalidate_range_start(&range): left out
  for (const vma of vmas) yield* k.fn.unmap_single_vma(tlb, vma, start_addr, end_addr);
}

/**
 * zap_page_range_single(vma, address, size, details): zap one VMA's range with its own gather
 * (MADV_DONTNEED, truncation). Locks: the VMA is stable (mmap lock or VMA lock).
 */
export function* zap_page_range_single(vma: vm_area_struct, address: number, size: number): Task<void> {
  const end = address + size;
  const tlb = k.fn.tlb_gather_mmu(vma.vm_mm);
  // update_hiwater_rss, mmu_notifier_invalidate_range_start: left out
  yield* k.fn.unmap_single_vma(tlb, vma, address, end);
  yield* k.fn.tlb_finish_mmu(tlb);
}

// ---------------------------------------------------------------------------------------------
// Freeing page tables

/**
 * free_pte_range(tlb, pmd, addr): clear the PMD entry and queue the table. No PTL: nothing can
 * reach the table through a VMA any more (I11).
 */
function free_pte_range(tlb: mmu_gather, pmd: pmd_t, addr: number): void {
  const token = pmd.table;
  if (!token) return;
  pmd.table = null; // pmd_clear(pmd)
  k.fn.pte_free_tlb(tlb, token, addr);
  // mm_dec_nr_ptes(tlb->mm)
}

/**
 * free_pgd_range(tlb, addr, end, floor, ceiling): free the page tables of [addr, end), keeping
 * any table that also maps something below floor or at/above ceiling (ceiling 0 = the top).
 * The kernel's trimming at PMD granularity, then every PMD of the trimmed range.
 */
export function* free_pgd_range(tlb: mmu_gather, addr: number, end: number, floor: number, ceiling: number): Task<void> {
  addr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  if (addr < floor) {
    addr += PMD_SIZE;
    if (!addr) return;
  }
  if (ceiling) {
    ceiling = Math.floor(ceiling / PMD_SIZE) * PMD_SIZE;
    if (!ceiling) return;
  }
  // if (end - 1 > ceiling - 1) end -= PMD_SIZE;  (ceiling 0 wraps to the top)
  if (ceiling && end - 1 > ceiling - 1) end -= PMD_SIZE;
  if (addr > end - 1) return;
  for (let a = addr; a < end; a = (pmd_index_of(a) + 1) * PMD_SIZE) {
    yield 'free_pmd_range:pmd_none_or_clear_bad';
    const pmd = pmd_lookup(tlb.mm, a);
    // pmd_none_or_clear_bad: a huge entry here was never zapped (pmd_clear_bad reports it).
    VM_BUG_ON(pmd !== null && pmd.huge !== null, `free_pgd_range: bad pmd ${pmd?.name}: a huge entry left over`);
    if (!pmd || !pmd.table) continue;
    free_pte_range(tlb, pmd, a);
  }
}

/**
 * free_pgtables(tlb, vmas, floor, ceiling, mm_wr_locked): make every VMA of the list unreachable
 * through rmap (unlink_anon_vmas, unlink_file_vma), write-locking it first when the mmap_lock is
 * held for write, then free the page tables under consecutive VMAs.
 * Locks: mmap_lock held; the VMAs already removed from the tree and zapped.
 */
export function* free_pgtables(
  tlb: mmu_gather, vmas: readonly vm_area_struct[], floor: number, ceiling: number, mm_wr_locked: boolean,
): Task<void> {
  let i = 0;
  while (i < vmas.length) {
    let vma = vmas[i]!;
    const addr = vma.vm_start;
    let next = vmas[i + 1] ?? null;
    const group = [vma];
    // Hide vma from rmap and truncate_pagecache before freeing its page tables.
    if (mm_wr_locked) yield* k.fn.vma_start_write(vma);
    yield* k.fn.unlink_anon_vmas(vma);
    // Optimization: gather nearby vmas into one call down.
    while (next && next.vm_start <= vma.vm_end + PMD_SIZE) {
      vma = next;
      group.push(vma);
      i++;
      next = vmas[i + 1] ?? null;
      if (mm_wr_locked) yield* k.fn.vma_start_write(vma);
      yield* k.fn.unlink_anon_vmas(vma);
    }
    // unlink_file_vma_batch_add / _final
    for (const v of group) yield* k.fn.unlink_file_vma(v);
    yield* k.fn.free_pgd_range(tlb, addr, vma.vm_end, floor, next ? next.vm_start : ceiling);
    i++;
  }
}

// ---------------------------------------------------------------------------------------------
// Copying page tables (fork)

/** vma_needs_copy(dst_vma, src_vma): only mappings whose PTEs cannot be refaulted are copied. */
function vma_needs_copy(dst_vma: vm_area_struct, src_vma: vm_area_struct): boolean {
  if (dst_vma.vm_flags & VM_UFFD_WP) return true;
  if (src_vma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP)) return true;
  if (src_vma.anon_vma) return true;
  return false;
}

/**
 * folio_try_dup_anon_rmap_pte(folio, page, dst_vma, src_vma) (include/linux/rmap.h): share an
 * anonymous page with the child — it is no longer exclusive to the parent. Fails (-EBUSY) for an
 * exclusive page that may be pinned (folio_needs_cow_for_dma): the child must get a copy.
 */
function folio_try_dup_anon_rmap_pte(f: folio, src_vma: vm_area_struct): number {
  if (f.anon_exclusive) {
    if (k.fn.folio_needs_cow_for_dma(src_vma, f)) return -16; // -EBUSY
    f.anon_exclusive = false; // ClearPageAnonExclusive
  }
  f._mapcount++;
  return 0;
}

/** folio_dup_file_rmap_pte(folio, page, dst_vma). */
function folio_dup_file_rmap_pte(f: folio): void {
  f._mapcount++;
}

/**
 * copy_present_page(dst_vma, src_vma, dst_pte, src_pte, addr, rss, prealloc, page): the child
 * gets its own copy of a maybe-pinned anonymous page, at once (the parent keeps the pinned page
 * exclusive and writable). Needs the preallocated folio: -EAGAIN without one (the caller drops the
 * PTLs, allocates, and comes back). Locks: both PTLs.
 */
function copy_present_page(
  dst_vma: vm_area_struct, src_vma: vm_area_struct, dst: pte_table, addr: number, page: folio,
  orig: Extract<pte_t, { kind: 'present' }>, prealloc: { folio: folio | null },
): number {
  const new_folio = prealloc.folio;
  if (new_folio === null) return -11; // -EAGAIN
  // We have a prealloc page, all good! Take it over and copy the page & arm it.
  kasan_check_read(page, 'copy_present_page (copy_mc_user_highpage)');
  new_folio.data = page.data;
  prealloc.folio = null;
  k.fn.__folio_mark_uptodate(new_folio);
  k.fn.folio_add_new_anon_rmap(new_folio, dst_vma, addr, true);
  k.fn.folio_add_lru_vma(new_folio, dst_vma);
  k.fn.inc_mm_counter(dst_vma.vm_mm, 'MM_ANONPAGES');
  // All done, just insert the new page copy in the child
  let pte = k.fn.maybe_mkwrite(k.fn.pte_mkdirty(k.fn.folio_mk_pte(new_folio)), dst_vma);
  // Uffd-wp needs to be delivered to dest pte as well
  if ((dst_vma.vm_flags & VM_UFFD_WP) && orig.uffd_wp) pte = k.fn.pte_mkuffd_wp(pte);
  void src_vma;
  k.fn.set_pte_at(dst_vma.vm_mm, addr, dst, pte);
  return 0;
}

/**
 * copy_present_pte(dst_vma, src_vma, dst_pte, src_pte, addr, rss, prealloc): copy one present
 * PTE; a private writable mapping is write-protected in BOTH parent and child (COW) — unless the
 * page may be pinned (copy_present_page). Returns 0, or -EAGAIN for "allocate and retry".
 * Locks: both PTLs held.
 */
function copy_present_pte(
  dst_vma: vm_area_struct, src_vma: vm_area_struct, dst: pte_table, src: pte_table, addr: number,
  orig: Extract<pte_t, { kind: 'present' }>, prealloc: { folio: folio | null },
): number {
  let pte: pte_t = orig;
  const f = orig.folio;
  if (!orig.special) {
    k.fn.folio_get(f);
    if (folio_test_anon(f)) {
      // If this page may have been pinned by the parent process, copy the page immediately for
      // the child so that we'll always guarantee the pinned page won't be randomly replaced.
      if (folio_try_dup_anon_rmap_pte(f, src_vma)) {
        // Page may be pinned, we have to copy.
        k.fn.folio_put(f);
        return copy_present_page(dst_vma, src_vma, dst, addr, f, orig, prealloc);
      }
    } else {
      folio_dup_file_rmap_pte(f);
    }
    k.fn.inc_mm_counter(dst_vma.vm_mm, k.fn.mm_counter(f));
  }
  // If it's a COW mapping, write protect it both in the parent and the child.
  if (k.fn.is_cow_mapping(src_vma.vm_flags) && k.fn.pte_write(pte)) {
    k.fn.ptep_set_wrprotect(src_vma.vm_mm, addr, src);
    pte = k.fn.pte_wrprotect(pte);
  }
  // If it's a shared mapping, mark it clean in the child.
  if (src_vma.vm_flags & VM_SHARED) pte = k.fn.pte_mkclean(pte);
  pte = k.fn.pte_mkold(pte);
  if (!(dst_vma.vm_flags & VM_UFFD_WP)) pte = k.fn.pte_clear_uffd_wp(pte);
  k.fn.set_pte_at(dst_vma.vm_mm, addr, dst, pte);
  return 0;
}

/**
 * copy_nonpresent_pte(dst_mm, src_mm, dst_pte, src_pte, dst_vma, src_vma, addr, rss): swap
 * entries are duplicated (swap_duplicate) and the parent's loses its exclusive bit; other
 * non-present entries are copied as they are. Returns 0 or -EIO (swap_duplicate failed).
 */
function* copy_nonpresent_pte(
  dst_vma: vm_area_struct, src_vma: vm_area_struct, src: pte_table, dst: pte_table, addr: number, orig: pte_t,
): Task<number> {
  let pte = orig;
  if (orig.kind === 'swap') {
    const r = yield* k.fn.swap_duplicate(orig.entry);
    if (r < 0) return r;
    if (orig.exclusive) {
      // pte_swp_clear_exclusive in the parent: the swapped page is shared now.
      pte = { ...orig, exclusive: false };
      k.fn.set_pte_at(src_vma.vm_mm, addr, src, pte);
    }
    k.fn.inc_mm_counter(dst_vma.vm_mm, 'MM_SWAPENTS');
  } else if (orig.kind === 'marker') {
    // A uffd-wp marker only survives fork into a uffd-wp registered child.
    if (orig.marker === 'uffd_wp' && !(dst_vma.vm_flags & VM_UFFD_WP)) return 0;
  }
  if (!(dst_vma.vm_flags & VM_UFFD_WP) && pte.kind === 'swap') pte = { ...pte, uffd_wp: false };
  k.fn.set_pte_at(dst_vma.vm_mm, addr, dst, pte);
  return 0;
}

/**
 * copy_pte_range(dst_vma, src_vma, dst_pmd, src_pmd, addr, end): allocate the child's table, take
 * its PTL, then the parent's PTL nested, and copy each entry.
 */
function* copy_pte_range(
  dst_vma: vm_area_struct, src_vma: vm_area_struct, dst_pmd: pmd_t, src_pmd: pmd_t, addr: number, end: number,
): Task<number> {
  const dst_mm = dst_vma.vm_mm;
  const prealloc: { folio: folio | null } = { folio: null };
  let ret = 0;
  for (;;) { // again:
    // pte_alloc_map_lock(dst_mm, dst_pmd, addr, &dst_ptl)
    if (yield* k.fn.pte_alloc(dst_mm, dst_pmd)) {
      ret = -12; // -ENOMEM
      break;
    }
    const dst = yield* k.fn.pte_offset_map_lock(dst_mm, dst_pmd, addr);
    if (!dst) {
      ret = -11; // -EAGAIN: the kernel retries; cannot happen on a fresh child table
      break;
    }
    // pte_offset_map_rw_nolock(src_mm, src_pmd, addr, &dummy, &src_ptl); spin_lock_nested(src_ptl)
    const src = yield* k.fn.__pte_offset_map(src_pmd, addr);
    if (!src) {
      k.fn.pte_unmap_unlock(dst);
      break;
    }
    yield* spin_lock_nested(src.ptl, SINGLE_DEPTH_NESTING);
    for (; addr < end; addr += PAGE_SIZE) {
      yield 'copy_pte_range:ptep_get';
      const ptent = k.fn.ptep_get(src, addr);
      if (ptent.kind === 'none') continue;
      if (ptent.kind !== 'present') {
        ret = yield* copy_nonpresent_pte(dst_vma, src_vma, src, dst, addr, ptent);
        if (ret) break;
        continue;
      }
      ret = copy_present_pte(dst_vma, src_vma, dst, src, addr, ptent, prealloc);
      // Device exclusive entry restored, continue by copying the next entry; -EAGAIN: allocate.
      if (ret) break;
    }
    spin_unlock(src.ptl);
    k.fn.pte_unmap(src);
    k.fn.pte_unmap_unlock(dst);
    if (ret === -11) {
      // folio_prealloc(src_mm, src_vma, addr, false)
      prealloc.folio = yield* k.fn.vma_alloc_folio(GFP_HIGHUSER_MOVABLE, 0, src_vma, addr);
      if (prealloc.folio === null) {
        ret = -12;
        break;
      }
      ret = 0;
    }
    if (ret || addr === end) break;
  }
  if (prealloc.folio !== null) k.fn.folio_put(prealloc.folio);
  return ret;
}

/**
 * copy_page_range(dst_vma, src_vma): copy the parent's page tables for one VMA at fork.
 * Locks: mmap_write_lock of both mms; src_vma write-locked (dup_mmap, fb49c455323f) so no fault
 * changes its PTEs or anon_vma meanwhile (I17). Returns 0 or -errno.
 */
export function* copy_page_range(dst_vma: vm_area_struct, src_vma: vm_area_struct): Task<number> {
  const src_mm = src_vma.vm_mm;
  if (!vma_needs_copy(dst_vma, src_vma)) return 0;
  const is_cow = k.fn.is_cow_mapping(src_vma.vm_flags);
  if (is_cow) {
    // mmu_notifier_invalidate_range_start; then, for GUP-fast:
    k.fn.mmap_assert_write_locked(src_mm);
    src_mm.write_protect_seq++; // raw_write_seqcount_begin(&src_mm->write_protect_seq)
  }
  let ret = 0;
  let addr = src_vma.vm_start;
  const end = src_vma.vm_end;
  while (addr < end) {
    const next = pmd_addr_end(addr, end);
    yield 'copy_pmd_range:pmd_none_or_clear_bad';
    const src_pmd = pmd_lookup(src_mm, addr);
    if (src_pmd && k.fn.pmd_trans_huge(src_pmd)) {
      VM_BUG_ON_VMA(next - addr !== PMD_SIZE, src_vma, 'copy_pmd_range: partial huge pmd');
      const dst_pmd = k.fn.pmd_off(dst_vma.vm_mm, addr);
      const err = yield* k.fn.copy_huge_pmd(dst_vma.vm_mm, src_mm, dst_pmd, src_pmd, addr, dst_vma, src_vma);
      if (err === -12) {
        ret = err;
        break;
      }
      if (!err) {
        addr = next;
        continue;
      }
      // fall through: the parent's entry was split
    }
    if (src_pmd && src_pmd.table) {
      const dst_pmd = k.fn.pmd_off(dst_vma.vm_mm, addr);
      ret = yield* copy_pte_range(dst_vma, src_vma, dst_pmd, src_pmd, addr, next);
      if (ret) break;
    }
    addr = next;
  }
  if (is_cow) src_mm.write_protect_seq++; // raw_write_seqcount_end
  return ret;
}

