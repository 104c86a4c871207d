/**
 * Kernel: mm/khugepaged.c (khugepaged_scan_mm_slot, hpage_collapse_scan_pmd, collapse_huge_page,
 * __collapse_huge_page_swapin, __collapse_huge_page_isolate, __collapse_huge_page_copy, hugepage_vma_revalidate,
 * find_pmd_or_thp_or_none, check_pmd_still_valid, hpage_collapse_scan_file, collapse_file,
 * retract_page_tables, collapse_and_free_pmd (≤6.5)) — the 6.6–6.15 form, with the ≤6.5
 * differences at the spots they differ.
 *
 * Anonymous collapse (collapse_huge_page): the scan under mmap_read_lock looks at the 512 PTEs
 * under the PTL (none/zero ≤ max_ptes_none = 511 and none at all in a uffd-armed VMA, no
 * uffd-wp, anonymous pages on the LRU, unlocked, ≤ max_ptes_shared = 256 shared, no
 * extra reference — is_refcount_suitable: a GUP pin blocks the collapse —, one writable, one
 * young, ≤ max_ptes_swap = 64 swap entries); then the THP is allocated with no lock held;
 * mmap_read_lock again to revalidate, and the swapped-out pages are brought back in
 * (__collapse_huge_page_swapin: do_swap_page under mmap_read_lock, which may drop it);
 * mmap_write_lock, revalidate, check_pmd_still_valid, vma_start_write (6.4+), anon_vma_lock_write;
 * pmdp_collapse_flush under the PMD lock (the PMD is none from here until set_pmd_at: a fault
 * finds it none and waits for the locks; GUP-fast sees it changed), tlb_remove_table_sync_one
 * (GUP-fast must not be walking the detached table), the old table's PTL for
 * __collapse_huge_page_isolate (trylock and isolate every page, re-check the references); on
 * failure the old table goes back (pmd_populate). Then __collapse_huge_page_copy copies each page
 * into the THP (none and zero pages: zeroed), clears the old PTEs and frees the old pages, and
 * under the PMD lock the THP is mapped by one huge entry (set_pmd_at) with the old table deposited
 * under it (pgtable_trans_huge_deposit). See impl/mm/huge_memory.ts for what meets a huge PMD.
 *
 * File collapse (collapse_file, retract_page_tables): hpage_collapse_scan_file checks the page
 * cache of the PMD-aligned range; collapse_file locks every page of it (trylock; a regular file's
 * missing page is read in and locked, a shmem hole only counted), checks it clean and not under writeback, isolates it, unmaps it from every mapping (try_to_unmap through
 * i_mmap), re-checks the references; shmem holes are filled only at the commit point, under
 * i_mmap_lock_read and the xa_lock, when no VMA of the range has a missing-mode userfaultfd
 * (12904d953364, 6.4+; the ≤6.3 form is left out, see collapse_file); then retract_page_tables removes the now empty page tables
 * of every VMA mapping the range — 6.6+ (k.cfg.khugepaged_retract_lockless, 1d65b771bc08) with
 * no mmap or VMA lock: i_mmap_lock_read, the PMD lock and the PTE lock nested, the retractable
 * checks repeated under them (no anon_vma, no uffd-wp), pmdp_collapse_flush, pte_free_defer (RCU:
 * a racing __pte_offset_map walker may still map it); ≤6.5: i_mmap_lock_write, mmap_write_trylock
 * of each mm, vma_start_write, collapse_and_free_pmd (no PMD lock: pmdp_collapse_flush,
 * tlb_remove_table_sync_one, pte_free at once). The pages are unlocked last: the next fault maps
 * them again (by PTEs: see below).
 *
 * Left out: the file THP itself — collapse_file's copy into a new PMD-sized page-cache folio and
 * its replacement in the XArray (large page-cache folios are not modelled: the same small folios
 * stay in the cache, so the refault maps them by PTEs where the kernel maps the THP with
 * do_set_pmd), collapse_pte_mapped_thp (reached only for large page-cache folios), the I/O of
 * the readahead that fills missing pages (read in at once, locked like the others), shmem's swap-in and
 * CONFIG_READ_ONLY_THP_FOR_FS's write-open check, the mm_slot lists, sysfs knobs and khugepaged_scan's pacing (the daemon picks a
 * candidate PMD with the scheduler), mmu notifiers, MADV_COLLAPSE, memcg charging, NUMA node
 * selection.
 */
import type { Task } from '../rt/task.js';
import { choose, step } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import {
  folio_test_anon, vm_fault, type address_space, type file, type folio, type mm_struct, type pmd_huge_t, type pmd_t,
  type pte_table, type vm_area_struct,
} from '../include/linux/mm_types.js';
import {
  FAULT_FLAG_ALLOW_RETRY, HPAGE_PMD_NR, HPAGE_PMD_ORDER, PAGE_SIZE, PMD_SIZE, VM_FAULT_ERROR, VM_FAULT_RETRY,
  VM_HUGETLB, VM_SPECIAL, VM_UFFD_WP, VM_WRITE,
} from '../include/linux/mm_flags.js';
import { BUG_ON } from '../include/linux/mmdebug.js';
import { spin_lock, spin_lock_nested, spin_unlock } from '../sync/spinlock.js';
import { down_read, down_write, up_read, up_write } from '../sync/rwsem.js';
import { SINGLE_DEPTH_NESTING } from '../sync/lockdep.js';
import { refcount_inc, refcount_read } from '../sync/refcount.js';
import { kasan_check_read, kasan_check_write } from '../sync/kasan.js';
import { __folio_set_locked, folio_test_locked, folio_trylock, folio_unlock } from '../sync/bitlock.js';
import { GFP_HIGHUSER_MOVABLE } from './page_alloc.js';
import type { KhugepagedCollapseOp, ModelResult } from '../../model/ops.js';
import { sim_user_op } from '../sim/user.js';
import { EAGAIN, EEXIST } from '../include/linux/errno.js';

/** enum scan_result (the values used). */
export const SCAN_FAIL = 0;
export const SCAN_SUCCEED = 1;
export const SCAN_PMD_NULL = 2;
export const SCAN_VMA_CHECK = 3;
export const SCAN_PTE_NON_PRESENT = 4;
export const SCAN_PAGE_COUNT = 5;
export const SCAN_PAGE_ANON = 6;
export const SCAN_ANY_PROCESS = 7;
export const SCAN_PTE_UFFD_WP = 8;
export const SCAN_PMD_MAPPED = 9;
export const SCAN_EXCEED_NONE_PTE = 10;
export const SCAN_EXCEED_SWAP_PTE = 11;
export const SCAN_EXCEED_SHARED_PTE = 12;
export const SCAN_PAGE_RO = 13;
export const SCAN_LACK_REFERENCED_PAGE = 14;
export const SCAN_PAGE_NULL = 15;
export const SCAN_PAGE_LRU = 16;
export const SCAN_PAGE_LOCK = 17;
export const SCAN_ALLOC_HUGE_PAGE_FAIL = 18;
export const SCAN_PMD_NONE = 19;
export const SCAN_TRUNCATED = 20;
export const SCAN_PAGE_FILLED = 21;

/** /sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_{none,shared} defaults. */
const khugepaged_max_ptes_none = HPAGE_PMD_NR - 1;
const khugepaged_max_ptes_shared = HPAGE_PMD_NR / 2;
const khugepaged_max_ptes_swap = HPAGE_PMD_NR / 8;
/** VM_NO_KHUGEPAGED (include/linux/mm.h). */
const VM_NO_KHUGEPAGED = VM_SPECIAL | VM_HUGETLB;

/** collapse_test_exit(mm) / hpage_collapse_test_exit: the mm has no users left. */
function collapse_test_exit(mm: mm_struct): boolean {
  return refcount_read(mm.mm_users) === 0 || mm.dead;
}

/**
 * find_pmd_or_thp_or_none(mm, address, &pmd): the PMD read once (pmdp_get_lockless):
 * SCAN_PMD_NULL (no slot), SCAN_PMD_NONE, SCAN_PMD_MAPPED (huge already), or SCAN_SUCCEED (a table).
 */
export function* find_pmd_or_thp_or_none(mm: mm_struct, address: number): Task<{ result: number; pmd: pmd_t | null }> {
  yield step('find_pmd_or_thp_or_none:pmdp_get_lockless', mm.pgd);
  const pmd = mm.pgd.get(k.fn.sim_pmd_index(address)) ?? null;
  if (!pmd) return { result: SCAN_PMD_NULL, pmd };
  const v = k.fn.pmdp_get(pmd);
  if (v.kind === 'none') return { result: SCAN_PMD_NONE, pmd };
  if (v.kind === 'huge') return { result: SCAN_PMD_MAPPED, pmd };
  return { result: SCAN_SUCCEED, pmd };
}

/** check_pmd_still_valid(mm, address, pmd): the same PMD still maps a table. */
function* check_pmd_still_valid(mm: mm_struct, address: number, pmd: pmd_t): Task<number> {
  const { result, pmd: new_pmd } = yield* k.fn.find_pmd_or_thp_or_none(mm, address);
  if (result !== SCAN_SUCCEED) return result;
  if (new_pmd !== pmd) return SCAN_FAIL;
  return SCAN_SUCCEED;
}

/**
 * hugepage_vma_check / thp_vma_allowable_order for khugepaged: a PMD range of an eligible VMA
 * (transhuge_vma_suitable, include/linux/huge_mm.h: a file VMA's virtual and file offsets must be
 * congruent modulo HPAGE_PMD_NR, so that the range is a PMD-aligned file range — collapse_file's
 * VM_BUG_ON(start & (HPAGE_PMD_NR - 1))).
 */
function thp_vma_suitable(vma: vm_area_struct, haddr: number): boolean {
  if (vma.vm_flags & VM_NO_KHUGEPAGED) return false;
  if (!k.fn.vma_is_anonymous(vma) && ((vma.vm_start / PAGE_SIZE - vma.vm_pgoff) % HPAGE_PMD_NR + HPAGE_PMD_NR) % HPAGE_PMD_NR !== 0) return false;
  return haddr >= vma.vm_start && haddr + PMD_SIZE <= vma.vm_end;
}

// ---------------------------------------------------------------------------------------------
// Anonymous collapse

/**
 * is_refcount_suitable(folio): only the mappings (and the swap cache) hold references — no GUP
 * pin, no other external reference.
 */
function is_refcount_suitable(f: folio): boolean {
  return k.fn.folio_ref_count(f) === k.fn.folio_mapcount(f) + (f.swapcache ? 1 : 0);
}

/**
 * hugepage_vma_revalidate(mm, address, expect_anon, &vma): after retaking mmap_lock, the VMA
 * must still exist, cover the whole PMD range and (anon) be anonymous with an anon_vma.
 */
export function* hugepage_vma_revalidate(mm: mm_struct, address: number, expect_anon: boolean): Task<vm_area_struct | null> {
  if (collapse_test_exit(mm)) return null;
  const vma = yield* k.fn.vma_lookup(mm, address);
  if (!vma) return null;
  if (!thp_vma_suitable(vma, address)) return null;
  if (expect_anon && (!k.fn.vma_is_anonymous(vma) || !vma.anon_vma)) return null;
  return vma;
}

/**
 * hpage_collapse_scan_pmd(mm, vma, address): under mmap_read_lock, look at the PTEs under the PTL;
 * SCAN_SUCCEED when collapse_huge_page may try. `cc.unmapped` (the kernel passes it on to
 * collapse_huge_page): the swap entries seen, ≤ khugepaged_max_ptes_swap. Locks: mmap_read_lock
 * held (kept).
 */
export function* hpage_collapse_scan_pmd(mm: mm_struct, vma: vm_area_struct, address: number, cc: { unmapped: number } = { unmapped: 0 }): Task<number> {
  k.fn.mmap_assert_locked(mm);
  const { result, pmd } = yield* k.fn.find_pmd_or_thp_or_none(mm, address);
  if (result !== SCAN_SUCCEED) return result;
  const table = yield* k.fn.pte_offset_map_lock(mm, pmd!, address);
  if (!table) return SCAN_PMD_NULL;
  yield step('hpage_collapse_scan_pmd:scan', table);
  let none_or_zero = 0;
  let shared = 0;
  let referenced = 0;
  let writable = false;
  let ret = SCAN_FAIL;
  scan: {
    for (let a = address; a < address + PMD_SIZE; a += PAGE_SIZE) {
      const pteval = k.fn.ptep_get(table, a);
      if (pteval.kind === 'swap') {
        // is_swap_pte: brought back in by __collapse_huge_page_swapin, up to max_ptes_swap.
        if (++cc.unmapped <= khugepaged_max_ptes_swap) {
          // Always be strict with uffd-wp enabled swap entries.
          if (pteval.uffd_wp) {
            ret = SCAN_PTE_UFFD_WP;
            break scan;
          }
          continue;
        }
        ret = SCAN_EXCEED_SWAP_PTE;
        break scan;
      }
      if (pteval.kind === 'none' || (pteval.kind === 'present' && k.fn.is_zero_folio(pteval.folio))) {
        ++none_or_zero;
        if (!k.fn.userfaultfd_armed(vma) && none_or_zero <= khugepaged_max_ptes_none) continue;
        ret = SCAN_EXCEED_NONE_PTE;
        break scan;
      }
      if (pteval.kind !== 'present') {
        ret = SCAN_PTE_NON_PRESENT; // markers, migration entries
        break scan;
      }
      // Don't collapse the page if any of the small PTEs are armed with uffd write protection.
      if (pteval.uffd_wp) {
        ret = SCAN_PTE_UFFD_WP;
        break scan;
      }
      if (pteval.write) writable = true;
      const f = k.fn.vm_normal_page(vma, a, pteval);
      if (!f) {
        ret = SCAN_PAGE_NULL;
        break scan;
      }
      if (!folio_test_anon(f)) {
        ret = SCAN_PAGE_ANON;
        break scan;
      }
      if (k.fn.folio_mapcount(f) > 1 && ++shared > khugepaged_max_ptes_shared) {
        ret = SCAN_EXCEED_SHARED_PTE;
        break scan;
      }
      if (!f.lru) {
        ret = SCAN_PAGE_LRU;
        break scan;
      }
      if (folio_test_locked(f)) {
        ret = SCAN_PAGE_LOCK;
        break scan;
      }
      // Check if the page has any GUP (or other external) pins.
      if (!is_refcount_suitable(f)) {
        ret = SCAN_PAGE_COUNT;
        break scan;
      }
      if (pteval.young) referenced++;
    }
    if (!writable) ret = SCAN_PAGE_RO;
    else if (!referenced) ret = SCAN_LACK_REFERENCED_PAGE;
    else ret = SCAN_SUCCEED;
  }
  k.fn.pte_unmap_unlock(table);
  return ret;
}

/** release_pte_folio(folio): back on the LRU, unlocked, the isolation reference dropped. */
function release_pte_folio(f: folio): void {
  f.lru = true; // folio_putback_lru
  folio_unlock(f);
  k.fn.folio_put(f);
}

/**
 * __collapse_huge_page_isolate(vma, address, pte, cc, &compound_pagelist): every page locked
 * (trylock) and isolated from the LRU, with no reference but its mappings' (re-checked now that
 * the PMD is cleared: no new GUP can start). On failure the pages isolated so far are released.
 * Locks: the old table's PTL. Returns SCAN_* and, on success, the isolated folios.
 */
function* __collapse_huge_page_isolate(vma: vm_area_struct, address: number, table: pte_table): Task<{ result: number; isolated: folio[] }> {
  let none_or_zero = 0;
  let shared = 0;
  let referenced = 0;
  let writable = false;
  const isolated: folio[] = [];
  let result = SCAN_FAIL;
  out: {
    for (let a = address; a < address + PMD_SIZE; a += PAGE_SIZE) {
      const pteval = k.fn.ptep_get(table, a);
      if (pteval.kind === 'none' || (pteval.kind === 'present' && k.fn.is_zero_folio(pteval.folio))) {
        ++none_or_zero;
        if (!k.fn.userfaultfd_armed(vma) && none_or_zero <= khugepaged_max_ptes_none) continue;
        result = SCAN_EXCEED_NONE_PTE;
        break out;
      }
      if (pteval.kind !== 'present') {
        result = SCAN_PTE_NON_PRESENT;
        break out;
      }
      if (pteval.uffd_wp) {
        result = SCAN_PTE_UFFD_WP;
        break out;
      }
      const f = k.fn.vm_normal_page(vma, a, pteval);
      if (!f || !folio_test_anon(f)) {
        result = f ? SCAN_PAGE_ANON : SCAN_PAGE_NULL;
        break out;
      }
      if (k.fn.folio_mapcount(f) > 1 && ++shared > khugepaged_max_ptes_shared) {
        result = SCAN_EXCEED_SHARED_PTE;
        break out;
      }
      // We can do it before folio_isolate_lru because the folio can't be freed from under us
      // (we hold the PTL).
      if (!(yield* folio_trylock(f))) {
        result = SCAN_PAGE_LOCK;
        break out;
      }
      // Check if the page has any GUP (or other external) pins.
      if (!is_refcount_suitable(f)) {
        folio_unlock(f);
        result = SCAN_PAGE_COUNT;
        break out;
      }
      // folio_isolate_lru: off the LRU, with a reference of its own.
      if (!f.lru) {
        folio_unlock(f);
        result = SCAN_PAGE_LRU;
        break out;
      }
      f.lru = false;
      k.fn.folio_get(f);
      isolated.push(f);
      if (pteval.write) writable = true;
      if (pteval.young) referenced++;
    }
    if (!writable) result = SCAN_PAGE_RO;
    else if (!referenced) result = SCAN_LACK_REFERENCED_PAGE;
    else return { result: SCAN_SUCCEED, isolated };
  }
  for (const f of isolated) release_pte_folio(f); // release_pte_pages
  return { result, isolated: [] };
}

/**
 * __collapse_huge_page_copy(pte, folio, pmd, orig_pmd, vma, address, ptl, compound_pagelist):
 * copy every page into the THP (none and zero entries: a zeroed page), then
 * __collapse_huge_page_copy_succeeded: clear each old PTE (under the PTL), drop its rmap, release
 * the isolated page and free it. Locks: mmap_write_lock; the old table is detached.
 */
function* __collapse_huge_page_copy(table: pte_table, thp: folio, vma: vm_area_struct, address: number): Task<void> {
  const mm = vma.vm_mm;
  const pages = thp.pages!;
  for (let i = 0, a = address; i < HPAGE_PMD_NR; i++, a += PAGE_SIZE) {
    const pteval = k.fn.ptep_get(table, a);
    const dst = pages[i]!;
    kasan_check_write(dst, '__collapse_huge_page_copy');
    if (pteval.kind === 'none' || (pteval.kind === 'present' && k.fn.is_zero_folio(pteval.folio))) {
      dst.data = 0; // clear_user_highpage
      continue;
    }
    if (pteval.kind !== 'present') continue;
    kasan_check_read(pteval.folio, '__collapse_huge_page_copy (copy_mc_user_highpage)');
    dst.data = pteval.folio.data;
  }
  yield step('__collapse_huge_page_copy:copied', table);
  // __collapse_huge_page_copy_succeeded
  for (let a = address; a < address + PMD_SIZE; a += PAGE_SIZE) {
    const pteval = k.fn.ptep_get(table, a);
    if (pteval.kind === 'none' || (pteval.kind === 'present' && k.fn.is_zero_folio(pteval.folio))) {
      k.fn.add_mm_counter(mm, 'MM_ANONPAGES', 1);
      if (pteval.kind === 'present') k.fn.pte_clear(mm, a, table); // ptep_clear
      continue;
    }
    if (pteval.kind !== 'present') continue;
    const src = pteval.folio;
    release_pte_folio(src);
    // ptl mostly unnecessary, but preempt has to be disabled to update the per-cpu stats inside
    // folio_remove_rmap_pte().
    yield* spin_lock(table.ptl);
    k.fn.pte_clear(mm, a, table);
    k.fn.folio_remove_rmap_pte(src, vma);
    spin_unlock(table.ptl);
    k.fn.folio_put(src); // free_page_and_swap_cache
  }
}

/**
 * __collapse_huge_page_swapin(mm, vma, haddr, pmd, referenced): bring the range's swapped-out
 * pages back in before the collapse — for each swap PTE, do_swap_page with FAULT_FLAG_ALLOW_RETRY
 * (not a user fault, no VMA lock) under the mmap_read_lock the caller holds. The table is mapped
 * without its lock (pte_offset_map_nolock, which may find it gone: SCAN_PMD_NULL) and each entry
 * read once; do_swap_page re-checks it under the PTL and unmaps it. do_swap_page returns
 * VM_FAULT_RETRY with mmap_lock released (SCAN_PAGE_LOCK: the entry stays, and the collapse would
 * fail on it); on an error the lock is released here (SCAN_FAIL). Returns with mmap_read_lock held
 * only on SCAN_SUCCEED. (6.6 form; ≤6.4 maps the table with pte_offset_map, which cannot fail
 * there: k.cfg.pte_offset_map_can_fail.)
 */
export function* __collapse_huge_page_swapin(mm: mm_struct, vma: vm_area_struct, haddr: number, pmd: pmd_t): Task<number> {
  let table: pte_table | null = null;
  for (let address = haddr; address < haddr + PMD_SIZE; address += PAGE_SIZE) {
    const vmf = new vm_fault(vma, address, FAULT_FLAG_ALLOW_RETRY);
    vmf.pmd = pmd;
    if (table === null) {
      table = yield* k.fn.pte_offset_map_rw_nolock(mm, pmd, address);
      if (table === null) {
        k.fn.mmap_read_unlock(mm);
        return SCAN_PMD_NULL;
      }
    }
    vmf.orig_pte = yield* k.fn.ptep_get_lockless(table, address);
    if (vmf.orig_pte.kind === 'none' || vmf.orig_pte.kind === 'present') continue; // !is_swap_pte
    vmf.pte = table;
    vmf.ptl = table.ptl;
    const ret = yield* k.fn.do_swap_page(vmf);
    // Which unmaps pte (after perhaps re-checking the entry)
    table = null;
    // do_swap_page returns VM_FAULT_RETRY with released mmap_lock. Note we treat VM_FAULT_RETRY
    // as VM_FAULT_ERROR here because we do not retry here and swap entry will remain in
    // pagetable resulting in later failure.
    if (ret & VM_FAULT_RETRY) return SCAN_PAGE_LOCK; // Likely, but not guaranteed, that page lock failed
    if (ret & VM_FAULT_ERROR) {
      k.fn.mmap_read_unlock(mm);
      return SCAN_FAIL;
    }
  }
  if (table !== null) k.fn.pte_unmap(table);
  // (lru_add_drain: the swapped-in folios are on the LRU at once here.)
  return SCAN_SUCCEED;
}

/**
 * collapse_huge_page(mm, address, referenced, unmapped, cc): entered with mmap_read_lock held,
 * which it drops to allocate the THP; returns SCAN_* with mmap_lock released. See the header.
 */
export function* collapse_huge_page(mm: mm_struct, address: number, unmapped = 0): Task<number> {
  // Before allocating the hugepage, release the mmap_lock read lock.
  k.fn.mmap_read_unlock(mm);
  // alloc_charge_folio
  let thp: folio | null = yield* k.fn.folio_alloc(GFP_HIGHUSER_MOVABLE, HPAGE_PMD_ORDER);
  if (thp === null) return SCAN_ALLOC_HUGE_PAGE_FAIL;
  let result: number;
  out_nolock: {
    yield* k.fn.mmap_read_lock(mm);
    let vma = yield* k.fn.hugepage_vma_revalidate(mm, address, true);
    if (!vma) {
      k.fn.mmap_read_unlock(mm);
      result = SCAN_VMA_CHECK;
      break out_nolock;
    }
    const found = yield* k.fn.find_pmd_or_thp_or_none(mm, address);
    if (found.result !== SCAN_SUCCEED) {
      k.fn.mmap_read_unlock(mm);
      result = found.result;
      break out_nolock;
    }
    const pmd = found.pmd!;
    if (unmapped) {
      // __collapse_huge_page_swapin will return with mmap_lock released when it fails. So we
      // jump out_nolock directly in that case. Continuing to collapse causes inconsistency.
      result = yield* k.fn.__collapse_huge_page_swapin(mm, vma, address, pmd);
      if (result !== SCAN_SUCCEED) break out_nolock;
    }
    k.fn.mmap_read_unlock(mm);
    // Prevent all access to pagetables with the exception of gup_fast later handled by the
    // ptep_clear_flush and the VM handled by the anon_vma lock + PG_lock.
    yield* k.fn.mmap_write_lock(mm);
    out_up_write: {
      vma = yield* k.fn.hugepage_vma_revalidate(mm, address, true);
      if (!vma) {
        result = SCAN_VMA_CHECK;
        break out_up_write;
      }
      // check if the pmd is still valid
      result = yield* check_pmd_still_valid(mm, address, pmd);
      if (result !== SCAN_SUCCEED) break out_up_write;
      yield* k.fn.vma_start_write(vma);
      const av = vma.anon_vma!;
      yield* k.fn.anon_vma_lock_write(av);
      const pmd_ptl = yield* k.fn.pmd_lock(mm, pmd); // probably unnecessary
      // This removes any huge TLB entry from the CPU so we won't allow huge and small TLB
      // entries for the same virtual address. Parallel GUP-fast is fine since GUP-fast will back
      // off when it detects PMD is changed.
      yield step('collapse_huge_page:pmdp_collapse_flush', pmd);
      const old = k.fn.pmdp_collapse_flush(vma, address, pmd);
      spin_unlock(pmd_ptl);
      // GUP-fast may be walking the table just detached: wait for it (IRQs-off walkers).
      yield* k.fn.tlb_remove_table_sync_one();
      // pte = pte_offset_map_lock(mm, &_pmd, address, &pte_ptl): the detached table, by value.
      yield* spin_lock(old.ptl);
      const iso = yield* __collapse_huge_page_isolate(vma, address, old);
      spin_unlock(old.ptl);
      result = iso.result;
      if (result !== SCAN_SUCCEED) {
        yield* spin_lock(pmd_ptl);
        BUG_ON(!k.fn.pmd_none(pmd), 'collapse_huge_page: !pmd_none(*pmd) while write-locked');
        // We can only use set_pmd_at when establishing hugepmds and never for establishing
        // regular pmds that points to regular pagetables. Use pmd_populate for that.
        k.fn.pmd_populate(mm, pmd, old);
        spin_unlock(pmd_ptl);
        k.fn.anon_vma_unlock_write(av);
        break out_up_write;
      }
      // All pages are isolated and locked so anon_vma rmap can't run anymore.
      k.fn.anon_vma_unlock_write(av);
      yield* __collapse_huge_page_copy(old, thp, vma, address);
      // The smp_wmb() inside __folio_mark_uptodate() ensures the copy_huge_page writes become
      // visible before the set_pmd_at() write.
      k.fn.__folio_mark_uptodate(thp);
      const pgtable = old;
      // mk_huge_pmd + maybe_pmd_mkwrite(pmd_mkdirty(_pmd), vma)
      const _pmd: pmd_huge_t = {
        kind: 'huge', folio: thp, write: (vma.vm_flags & VM_WRITE) !== 0, dirty: true, young: true, present: true,
      };
      yield* spin_lock(pmd_ptl);
      BUG_ON(!k.fn.pmd_none(pmd), 'collapse_huge_page: !pmd_none(*pmd)');
      k.fn.folio_add_new_anon_rmap(thp, vma, address, true);
      k.fn.folio_add_lru_vma(thp, vma);
      k.fn.pgtable_trans_huge_deposit(mm, pmd, pgtable);
      yield step('collapse_huge_page:set_pmd_at', pmd);
      k.fn.set_pmd_at(mm, address, pmd, _pmd);
      spin_unlock(pmd_ptl);
      thp = null;
      result = SCAN_SUCCEED;
    }
    k.fn.mmap_write_unlock(mm);
  }
  if (thp !== null) k.fn.folio_put(thp);
  return result;
}

// ---------------------------------------------------------------------------------------------
// File collapse: collapse_file and retract_page_tables

/** file_backed_vma_is_retractable(vma): no anon_vma (never written privately), no uffd-wp. */
function file_backed_vma_is_retractable(vma: vm_area_struct): boolean {
  if (vma.anon_vma) return false;
  if (vma.vm_flags & VM_UFFD_WP) return false;
  return true;
}

/**
 * 6.6+: one VMA's table removed under the PMD lock and the PTE lock nested, the retractable
 * checks repeated under them ("since the mmap_lock is not held, it is still possible for a racing
 * userfaultfd_ioctl() to have inserted ptes or markers"). Returns the detached table or null.
 */
function* retract_one(mm: mm_struct, vma: vm_area_struct, addr: number, pmd: pmd_t): Task<pte_table | null> {
  const pml = yield* k.fn.pmd_lock(mm, pmd);
  // find_pmd_or_thp_or_none looked without the lock: the table is the one to remove only if it
  // is still there (pte_lockptr(mm, pmd) of the current entry).
  const table = pmd.table;
  if (table === null) {
    spin_unlock(pml);
    return null;
  }
  const ptl = k.fn.pte_lockptr(mm, table);
  if (ptl !== pml) yield* spin_lock_nested(ptl, SINGLE_DEPTH_NESTING);
  let old: pte_table | null = null;
  if (file_backed_vma_is_retractable(vma)) {
    yield step('retract_page_tables:pmdp_collapse_flush', pmd);
    old = k.fn.pmdp_collapse_flush(vma, addr, pmd);
    // pmdp_get_lockless_sync()
  }
  if (ptl !== pml) spin_unlock(ptl);
  spin_unlock(pml);
  return old;
}

/**
 * collapse_and_free_pmd(mm, vma, addr, pmdp) (≤6.5): with mmap_write_lock, the i_mmap_rwsem
 * (and any anon_vma) write-locked, no PMD lock: clear the PMD, wait for GUP-fast
 * (tlb_remove_table_sync_one), free the table at once.
 */
export function* collapse_and_free_pmd(mm: mm_struct, vma: vm_area_struct, addr: number, pmd: pmd_t): Task<void> {
  k.fn.mmap_assert_write_locked(mm);
  yield step('collapse_and_free_pmd:pmdp_collapse_flush', pmd);
  const old = k.fn.pmdp_collapse_flush(vma, addr, pmd);
  yield* k.fn.tlb_remove_table_sync_one();
  // mm_dec_nr_ptes(mm)
  k.fn.pte_free(mm, old);
}

/**
 * retract_page_tables(mapping, pgoff): for every VMA mapping the PMD-aligned range at pgoff
 * (through i_mmap), remove its page table (emptied by collapse_file's unmapping; the pages are
 * locked, so no fault can fill it again). 6.6+ lockless (see retract_one); ≤6.5 under
 * i_mmap_lock_write and each mm's mmap_write_trylock. Returns the number of tables removed.
 */
export function* retract_page_tables(mapping: address_space, pgoff: number): Task<number> {
  const lockless = k.cfg.khugepaged_retract_lockless;
  if (lockless) yield* down_read(mapping.i_mmap_rwsem);
  else yield* down_write(mapping.i_mmap_rwsem);
  let n = 0;
  for (const vma of [...mapping.i_mmap]) {
    yield step('retract_page_tables:vma_interval_tree_foreach', vma);
    kasan_check_read(vma, 'retract_page_tables');
    // Check vma->anon_vma to exclude MAP_PRIVATE mappings that got written to.
    if (vma.anon_vma) continue;
    const addr = vma.vm_start + (pgoff - vma.vm_pgoff) * PAGE_SIZE;
    if (addr % PMD_SIZE !== 0 || addr < vma.vm_start || vma.vm_end < addr + PMD_SIZE) continue;
    const mm = vma.vm_mm;
    const { result, pmd } = yield* k.fn.find_pmd_or_thp_or_none(mm, addr);
    if (result !== SCAN_SUCCEED) continue;
    if (collapse_test_exit(mm)) continue;
    // When a vma is registered with uffd-wp, we cannot recycle the page table because there may
    // be pte markers installed.
    if (vma.vm_flags & VM_UFFD_WP) continue;
    if (lockless) {
      const old = yield* retract_one(mm, vma, addr, pmd!);
      if (old) {
        k.fn.pte_free_defer(mm, old);
        n++;
      }
      continue;
    }
    // ≤6.5: We need exclusive mmap_lock to retract page table (trylock: i_mmap_rwsem nests
    // inside mmap_lock). If it fails we end up with the PTE table staying.
    if (!(yield* k.fn.mmap_write_trylock(mm))) continue;
    if (!collapse_test_exit(mm) && !(vma.vm_flags & VM_UFFD_WP)) {
      yield* k.fn.vma_start_write(vma);
      if (pmd!.table !== null) {
        yield* k.fn.collapse_and_free_pmd(mm, vma, addr, pmd!);
        n++;
      }
    }
    k.fn.mmap_write_unlock(mm);
  }
  if (lockless) up_read(mapping.i_mmap_rwsem);
  else up_write(mapping.i_mmap_rwsem);
  return n;
}

/**
 * collapse_file(mm, addr, file, start, cc) — the 6.4+ form (12904d953364, "mm/khugepaged: skip
 * shmem with userfaultfd", v6.4-rc1; followed here in every generation, see below). Lock every page
 * of [start, start + HPAGE_PMD_NR) (trylock: SCAN_PAGE_LOCK), each uptodate, clean and not under
 * writeback (regular files), isolate it, unmap it from every mapping (try_to_unmap), and check that
 * only the page cache and our isolation hold it. A regular file's missing page is read in
 * (page_cache_sync_readahead) and locked like the others; a shmem hole is only counted (nr_none):
 * nothing is stored in it during the scan, since the xa_lock is dropped in the loop and user space
 * must not see a hole become present before the userfaultfd check. Then, for nr_none > 0, the
 * commit point: i_mmap_lock_read, xas_lock_irq, every hole is filled (XA_RETRY_ENTRY, then the
 * THP), the holes re-counted (a racing fault or UFFDIO_COPY filled one: SCAN_PAGE_FILLED) and
 * every VMA of the file range (vma_interval_tree_foreach(vma, &mapping->i_mmap, start, end), end
 * inclusive) checked: one with a missing-mode userfaultfd → SCAN_EXCEED_NONE_PTE, the holes
 * emptied again — "Any userfaultfds registered after this point will not be able to observe any
 * missing pages due to the previously inserted retry entries". Only after that do the holes
 * become present (zeroed subpages of the THP). Then retract_page_tables; then unlock and put back.
 * On any failure nothing has been stored in a hole. Locks: none on entry (khugepaged dropped
 * mmap_lock).
 *
 * Stand-ins: the THP itself is not modelled (header), so a hole is filled with a new zeroed small
 * folio, allocated at shmem_charge(nr_none) (a failure there: SCAN_FAIL, as a failed charge); the
 * retry entries and the store of the THP happen in one step under the xa_lock (the kernel holds it
 * across both: a lockless reader only ever retries on XA_RETRY_ENTRY). ≤6.3 filled each hole with
 * the locked THP during the scan and never looked for a userfaultfd (the bug 12904d953364 fixed:
 * khugepaged could fill a missing page of an armed range, and a collapse that failed later emptied
 * the hole again); that form is left out: every generation follows 6.4's.
 */
export function* collapse_file(mm: mm_struct, addr: number, f: file, start: number): Task<number> {
  void mm;
  void addr;
  const mapping = f.f_mapping;
  const shmem_present = mapping.host.sim_shmem_present;
  const is_shmem = shmem_present !== null;
  const end = start + HPAGE_PMD_NR;
  // A shmem index with nothing in it: no folio in the page cache and no swap entry.
  const is_hole = (index: number): boolean => !mapping.i_pages.has(index) && !shmem_present!.has(index);
  const locked: folio[] = [];
  const fills: folio[] = [];
  let nr_none = 0;
  let result = SCAN_SUCCEED;
  out: {
    for (let index = start; index < end; index++) {
      let page = yield* k.fn.filemap_get_entry(mapping, index);
      if (is_shmem && page === null && !shmem_present.has(index)) {
        // Stop if extent has been truncated or hole-punched, and is now completely empty.
        if (index === start) {
          let any = false;
          for (let i = start; i < end && !any; i++) any = !is_hole(i);
          if (!any) {
            result = SCAN_TRUNCATED;
            break out;
          }
        }
        nr_none++;
        continue;
      }
      if (page === null) {
        // Regular file: page_cache_sync_readahead + filemap_lock_folio: the missing page is read
        // in and locked, so no racing fault or read can cache and map it behind our back. shmem:
        // a swapped-out page (shmem_get_folio(SGP_NOALLOC) swaps it in). The I/O is left out: the
        // contents come from the backing store at once.
        const nf = yield* k.fn.folio_alloc(GFP_HIGHUSER_MOVABLE, 0);
        if (nf === null) {
          result = SCAN_FAIL;
          break out;
        }
        const err = yield* k.fn.filemap_add_folio(mapping, nf, index, GFP_HIGHUSER_MOVABLE); // locked
        if (err) {
          // (filemap_add_folio unlocked it again on failure)
          k.fn.folio_put(nf);
          if (err === -EEXIST) {
            index--; // another task cached it first: look again
            continue;
          }
          result = SCAN_FAIL;
          break out;
        }
        kasan_check_write(nf, 'collapse_file (readahead)');
        nf.data = mapping.host.disk[index] ?? 0;
        k.fn.__folio_mark_uptodate(nf);
        page = nf; // the allocation's reference is ours
      } else {
        // Present: khugepaged only works on read-only fd, so a dirty page has not been flushed
        // since its first write (filemap_flush): give up for now; likewise under writeback.
        // (shmem pages are dirty by nature: not checked.)
        if (!is_shmem && (page.dirty || page.writeback)) {
          k.fn.folio_put(page);
          result = SCAN_FAIL;
          break out;
        }
        if (!(yield* folio_trylock(page))) {
          k.fn.folio_put(page);
          result = SCAN_PAGE_LOCK;
          break out;
        }
        // The folio must be locked, so we can drop the reference; has it been truncated?
        if (page.mapping !== mapping || !page.uptodate) {
          folio_unlock(page);
          k.fn.folio_put(page);
          result = SCAN_FAIL;
          break out;
        }
      }
      // folio_isolate_lru: the lookup's reference is the isolation's.
      page.lru = false;
      locked.push(page);
      if (k.fn.folio_mapped(page)) yield* k.fn.try_to_unmap(page); // TTU_IGNORE_MLOCK | TTU_BATCH_FLUSH
      // The page cache's reference and ours only (folio_ref_freeze(folio, 3) with the xa_lock).
      if (k.fn.folio_ref_count(page) !== 2 || k.fn.folio_mapped(page)) {
        // (kept on `locked`: released below)
        result = SCAN_PAGE_COUNT;
        break out;
      }
    }
    if (nr_none > 0) {
      // shmem_charge(mapping->host, nr_none), with the stand-in pages of the THP's subpages that
      // fill the holes: zeroed (clear_highpage), locked like the new THP until the end.
      for (let i = 0; i < nr_none; i++) {
        const nf = yield* k.fn.folio_alloc(GFP_HIGHUSER_MOVABLE, 0);
        if (nf === null) {
          result = SCAN_FAIL;
          break out;
        }
        fills.push(nf);
        __folio_set_locked(nf); // nobody else can see it yet
      }
      yield* down_read(mapping.i_mmap_rwsem); // i_mmap_lock_read
      yield* spin_lock(mapping.i_pages_lock); // xas_lock_irq
      // From here to the store of the THP the xa_lock is held: one step.
      const holes: number[] = [];
      for (let index = start; index < end; index++) if (is_hole(index)) holes.push(index);
      if (holes.length !== nr_none) {
        result = SCAN_PAGE_FILLED;
      } else {
        // If userspace observed a missing page in a VMA with a MODE_MISSING userfaultfd, then it
        // might expect a UFFD_EVENT_PAGEFAULT for that page: roll back. (The interval query is
        // inclusive of `end`, as vma_interval_tree_foreach(vma, &mapping->i_mmap, start, end).)
        for (const vma of mapping.i_mmap) {
          kasan_check_read(vma, 'collapse_file (vma_interval_tree_foreach)');
          const first = vma.vm_pgoff;
          const last = vma.vm_pgoff + (vma.vm_end - vma.vm_start) / PAGE_SIZE - 1;
          if (last < start || first > end) continue;
          if (k.fn.userfaultfd_missing(vma)) {
            result = SCAN_EXCEED_NONE_PTE;
            break;
          }
        }
      }
      up_read(mapping.i_mmap_rwsem); // immap_locked: i_mmap_unlock_read
      if (result !== SCAN_SUCCEED) {
        // The retry entries are removed again: every hole stays a hole.
        spin_unlock(mapping.i_pages_lock);
        break out;
      }
      // xas_store(&xas, new_folio): the holes are the THP's zeroed subpages (folio_mark_uptodate,
      // folio_mark_dirty for shmem, folio_add_lru).
      for (let i = 0; i < holes.length; i++) {
        const nf = fills[i]!;
        kasan_check_write(nf, 'collapse_file (clear_highpage)');
        nf.data = 0;
        k.fn.__folio_mark_uptodate(nf);
        nf.mapping = mapping;
        nf.index = holes[i]!;
        nf.swapbacked = true;
        nf.dirty = true;
        k.fn.folio_get(nf); // the page cache's reference
        mapping.i_pages.set(holes[i]!, nf);
        shmem_present!.add(holes[i]!);
        nf.lru = true;
      }
      spin_unlock(mapping.i_pages_lock);
    }
    // (The copy into the new THP and its replacement in the page cache: left out.)
    // Remove pte page tables, so we can re-fault the page as huge.
    yield* k.fn.retract_page_tables(mapping, start);
    // folio_unlock(new_folio)
    for (const nf of fills) folio_unlock(nf);
  }
  if (result !== SCAN_SUCCEED) for (const nf of fills) folio_unlock(nf);
  for (const nf of fills) k.fn.folio_put(nf); // the allocation's reference (freed on rollback)
  for (const page of locked) release_pte_folio(page);
  return result;
}

/**
 * hpage_collapse_scan_file(mm, addr, file, start, cc): the page cache of the range: every page
 * in the file (i_size), at least one cached, none locked, with no reference but the cache's and
 * its mappings' (folio_ref_count == 1 + folio_mapcount); then collapse_file.
 */
export function* hpage_collapse_scan_file(mm: mm_struct, addr: number, f: file, start: number): Task<number> {
  const mapping = f.f_mapping;
  yield step('hpage_collapse_scan_file:xas_for_each', mapping);
  // Beyond EOF nothing can be read in: collapse_file would fail (filemap_lock_folio).
  if (start + HPAGE_PMD_NR > f.f_inode.i_size) return SCAN_FAIL;
  let present = 0;
  for (let index = start; index < start + HPAGE_PMD_NR; index++) {
    const page = mapping.i_pages.get(index);
    if (page === undefined) continue;
    kasan_check_read(page, 'hpage_collapse_scan_file');
    if (folio_test_locked(page)) return SCAN_PAGE_LOCK;
    if (k.fn.folio_ref_count(page) !== 1 + k.fn.folio_mapcount(page)) return SCAN_PAGE_COUNT;
    present++;
  }
  if (present < HPAGE_PMD_NR - khugepaged_max_ptes_none) return SCAN_EXCEED_NONE_PTE;
  return yield* k.fn.collapse_file(mm, addr, f, start);
}

// ---------------------------------------------------------------------------------------------
// The daemon

interface candidate {
  readonly mm: mm_struct;
  readonly vma: vm_area_struct;
  readonly haddr: number;
}

/** The PMD ranges fully inside one VMA with a PTE table (the mm_slot scan, snapshot). */
function sim_candidates(): candidate[] {
  const out: candidate[] = [];
  for (const p of k.procs.values()) {
    const mm = p.mm;
    if (!mm || p.exited || mm.dead) continue;
    for (const vma of k.fn.sim_vmas(mm)) {
      for (let h = Math.ceil(vma.vm_start / PMD_SIZE) * PMD_SIZE; h + PMD_SIZE <= vma.vm_end; h += PMD_SIZE) {
        if (mm.pgd.get(h / PMD_SIZE)?.table) out.push({ mm, vma, haddr: h });
      }
    }
  }
  return out;
}

/**
 * khugepaged_scan_mm_slot for one candidate PMD range: anonymous VMAs through
 * hpage_collapse_scan_pmd and collapse_huge_page (mmap_read_lock, released by the collapse);
 * file VMAs through hpage_collapse_scan_file (mmap_read_lock dropped first, the file pinned).
 */
export function* khugepaged_scan_pmd(mm: mm_struct, haddr: number): Task<number> {
  yield* k.fn.mmap_read_lock(mm);
  const vma = yield* k.fn.vma_lookup(mm, haddr);
  if (!vma || !thp_vma_suitable(vma, haddr) || collapse_test_exit(mm)) {
    k.fn.mmap_read_unlock(mm);
    return SCAN_VMA_CHECK;
  }
  if (k.fn.vma_is_anonymous(vma)) {
    if (!vma.anon_vma) {
      k.fn.mmap_read_unlock(mm);
      return SCAN_VMA_CHECK;
    }
    const cc = { unmapped: 0 };
    const r = yield* k.fn.hpage_collapse_scan_pmd(mm, vma, haddr, cc);
    if (r !== SCAN_SUCCEED) {
      k.fn.mmap_read_unlock(mm);
      return r;
    }
    return yield* k.fn.collapse_huge_page(mm, haddr, cc.unmapped); // releases the lock
  }
  const f = vma.vm_file;
  if (!f) {
    k.fn.mmap_read_unlock(mm);
    return SCAN_VMA_CHECK;
  }
  const pgoff = vma.vm_pgoff + (haddr - vma.vm_start) / PAGE_SIZE;
  f.f_count.refs++; // get_file
  k.fn.mmap_read_unlock(mm);
  const r = yield* k.fn.hpage_collapse_scan_file(mm, haddr, f, pgoff);
  f.f_count.refs--; // fput (the VMA still holds the file)
  return r;
}

/**
 * sim_sys_khugepaged_collapse(op): not a system call — khugepaged's attempt at the anonymous or
 * shmem PMD range op.addr of process op.pid, recorded in the history because a collapse populates
 * every page of the range (what was none is now a zeroed page of the THP: visible to smaps' Rss
 * and to userfaultfd, which no longer sees those pages missing; for shmem, every hole of the file
 * range). 'ok' when it collapsed, -EAGAIN when it did not (nothing changed).
 */
export function* sim_sys_khugepaged_collapse(op: KhugepagedCollapseOp): Task<ModelResult> {
  const p = k.procs.get(op.pid);
  const mm = p?.mm ?? null;
  if (!mm || p!.exited || mm.dead) return { kind: 'errno', errno: -EAGAIN };
  const r = yield* k.fn.khugepaged_scan_pmd(mm, op.addr);
  return r === SCAN_SUCCEED ? { kind: 'ok' } : { kind: 'errno', errno: -EAGAIN };
}

/** A shared mapping of a shmem object (its page cache is the memory: holes are user-visible). */
function sim_vma_is_shmem(vma: vm_area_struct): boolean {
  return vma.vm_file !== null && vma.vm_file.f_mapping.host.sim_shmem_present !== null;
}

/**
 * sim_daemon_khugepaged(spec): khugepaged — `rounds` passes, each picking (scheduler choice) one
 * candidate PMD range, or none. An anonymous or shmem range's attempt is recorded in the history
 * (khugepaged_collapse: it can populate pages — a shmem collapse fills the object's holes, which
 * UFFDIO_COPY (-EEXIST) and a missing-mode fault then see); a regular file's collapse changes
 * nothing user space can observe (the same pages refault, the missing ones read from the file)
 * and is not.
 */
export function* sim_daemon_khugepaged(spec: { readonly rounds: number }): Task<void> {
  for (let round = 0; round < spec.rounds; round++) {
    yield step('khugepaged_do_scan', null);
    const cands = sim_candidates();
    if (cands.length === 0) continue;
    const c = yield* choose(cands.length + 1, 'khugepaged:candidate');
    if (c === 0) continue;
    const cand = cands[c - 1]!;
    // The mm_slot pins the mm (__khugepaged_enter: mmgrab) while khugepaged may look at it.
    k.fn.mmgrab(cand.mm);
    if (k.fn.vma_is_anonymous(cand.vma) || sim_vma_is_shmem(cand.vma)) {
      yield* sim_user_op({ op: 'khugepaged_collapse', pid: cand.mm.pid, addr: cand.haddr });
    } else {
      yield* k.fn.khugepaged_scan_pmd(cand.mm, cand.haddr);
    }
    k.fn.mmdrop(cand.mm);
  }
}
