/**
 * Kernel: mm/khugepaged.c (khugepaged_scan_mm_slot, hpage_collapse_scan_pmd, collapse_huge_page,
 * __collapse_huge_page_isolate, hugepage_vma_revalidate, find_pmd_or_thp_or_none,
 * check_pmd_still_valid, retract_page_tables, collapse_pte_mapped_thp, collapse_and_free_pmd),
 * mm/pgtable-generic.c (pmdp_collapse_flush).
 *
 * THP PMD mappings are not simulated (a PMD maps a PTE table or nothing), so a "collapse" here
 * replaces the PMD's PTE table by a fresh table holding the same entries (the stand-in for the
 * huge PMD mapping the new THP), the old table's entries cleared and the table freed — what the
 * kernel's locks protect, and what racing faults (pte_offset_map_lock's pmd_same retry,
 * handle_pte_fault's pte_same re-check) and lockless walkers (GUP-fast's PMD re-check) see, is
 * exactly this: the PMD changes under them and the old table goes away.
 *
 * - Anonymous (collapse_huge_page): scan under mmap_read_lock (PTEs none/zero or present,
 *   anonymous, exclusive, with no extra reference: is_refcount_suitable — a GUP pin blocks the collapse),
 *   drop it, take mmap_write_lock, revalidate the VMA, vma_start_write (55fd6fccad31, 6.4),
 *   anon_vma_lock_write, pmd_lock + pmdp_collapse_flush (the PMD is cleared), then
 *   tlb_remove_table_sync_one (2ba99c5e0881: GUP-fast must not be walking the detached table),
 *   isolate under the old table's PTL, copy, and install the new table under pmd_lock.
 * - File (retract_page_tables): 6.6+ (k.cfg.khugepaged_retract_lockless, 1d65b771bc08) with no
 *   mmap or VMA lock: i_mmap_lock_read, per VMA mapping the range: pmd_lock, the PTE lock nested,
 *   the retractable checks repeated under them (no anon_vma, no uffd-wp), pmdp_collapse_flush,
 *   and the old table freed with pte_free_defer (RCU: a racing __pte_offset_map walker may still
 *   map it). Before 6.6: i_mmap_lock_write, mmap_write_trylock of each mm, vma_start_write,
 *   collapse_and_free_pmd (pmdp_collapse_flush, tlb_remove_table_sync_one, pte_free at once).
 *
 * Left out: the huge folio itself (allocation, copy, the page cache collapse of collapse_file —
 * the pages stay the same folios), swap-in of swapped PTEs (__collapse_huge_page_swapin: a swap
 * entry aborts), max_ptes_shared/swap (a shared or swapped entry aborts; max_ptes_none is the
 * default HPAGE_PMD_NR - 1), the
 * mm_slot lists and sysfs knobs (the daemon picks a candidate PMD with the scheduler),
 * mmu notifiers, MADV_COLLAPSE, memcg charging.
 */
import type { Task } from '../rt/task.js';
import { choose, step } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import {
  folio_test_anon, pte_table, type address_space, type mm_struct, type pmd_t, type vm_area_struct,
} from '../include/linux/mm_types.js';
import { PAGE_SIZE, PMD_SIZE, PTRS_PER_PTE, VM_UFFD_WP } from '../include/linux/mm_flags.js';
import { BUG_ON } from '../include/linux/mmdebug.js';
import { spin_lock, spin_lock_nested, spin_unlock } from '../sync/spinlock.js';
import { down_read, down_write, up_read, up_write } from '../sync/rwsem.js';
import { SINGLE_DEPTH_NESTING } from '../sync/lockdep.js';
import { refcount_read } from '../sync/refcount.js';
import { sim_kasan_track } from '../sync/kasan.js';
import { pte_cachep } from './pgtable_generic.js';

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

/** collapse_test_exit(mm) / hpage_collapse_test_exit: the mm has no users left. */
function collapse_test_exit(mm: mm_struct): boolean {
  return refcount_read(mm.mm_users) === 0 || mm.dead;
}

/** find_pmd_or_thp_or_none(mm, address, &pmd): the PMD with a PTE table, or SCAN_PMD_NULL. */
export function* find_pmd_or_thp_or_none(mm: mm_struct, address: number): Task<{ result: number; pmd: pmd_t | null }> {
  yield step('find_pmd_or_thp_or_none:pmdp_get_lockless', mm.pgd);
  const pmd = mm.pgd.get(Math.floor(address / PMD_SIZE)) ?? null;
  if (!pmd || pmd.table === null) return { result: SCAN_PMD_NULL, pmd };
  return { result: SCAN_SUCCEED, pmd };
}

/**
 * pmdp_collapse_flush(vma, address, pmdp): clear the PMD and flush the TLB for its range (the
 * IPI of flush_tlb_range is not modelled; tlb_remove_table_sync_one is the explicit wait).
 * Locks: pmd_lock held. Returns the old PMD value (the table).
 */
export function pmdp_collapse_flush(vma: vm_area_struct, address: number, pmdp: pmd_t): pte_table | null {
  void address;
  BUG_ON(pmdp.table !== null && pmdp.table.freed, `pmdp_collapse_flush: ${vma} PMD points to a freed table`);
  const old = pmdp.table;
  pmdp.table = null; // pmdp_huge_get_and_clear
  return old;
}

/**
 * The stand-in for the huge PMD: a fresh PTE table with the old table's entries, the old entries
 * cleared (so a walker still holding the old table sees none and re-faults). Locks: the old
 * table's PTL (the entries move under it).
 */
function sim_collapse_copy(old: pte_table): pte_table {
  const nt = sim_kasan_track(new pte_table(), pte_cachep, 'collapse (new table)');
  for (let i = 0; i < PTRS_PER_PTE; i++) {
    nt.entries[i] = old.entries[i]!;
    old.entries[i] = { kind: 'none' };
  }
  return nt;
}

// ---------------------------------------------------------------------------------------------
// Anonymous collapse

/** is_refcount_suitable(folio): only the mappings (and the swap cache) hold references. */
function is_refcount_suitable(f: import('../include/linux/mm_types.js').folio): boolean {
  return k.fn.folio_ref_count(f) === k.fn.folio_mapcount(f) + (f.swapcache ? 1 : 0);
}

/**
 * hugepage_vma_revalidate(mm, address, expect_anon, &vma): after retaking mmap_lock, the VMA
 * must still exist, cover the whole PMD range and be anonymous.
 */
export function* hugepage_vma_revalidate(mm: mm_struct, address: number, expect_anon: boolean): Task<vm_area_struct | null> {
  if (collapse_test_exit(mm)) return null;
  const vma = yield* k.fn.vma_lookup(mm, address);
  if (!vma) return null;
  if (address < vma.vm_start || address + PMD_SIZE > vma.vm_end) return null;
  if (expect_anon && (!k.fn.vma_is_anonymous(vma) || !vma.anon_vma)) return null;
  return vma;
}

/**
 * __collapse_huge_page_isolate(vma, address, pte): every entry present, anonymous, exclusive and
 * not pinned (is_refcount_suitable). Locks: the old table's PTL.
 */
function collapse_isolate(vma: vm_area_struct, address: number, table: pte_table): number {
  let none_or_zero = 0;
  for (let a = address; a < address + PMD_SIZE; a += PAGE_SIZE) {
    const pte = k.fn.ptep_get(table, a);
    if (pte.kind === 'none') {
      none_or_zero++; // ≤ khugepaged_max_ptes_none (HPAGE_PMD_NR - 1)
      continue;
    }
    if (pte.kind !== 'present') return SCAN_PTE_NON_PRESENT; // swap entries: swap-in left out
    if (pte.uffd_wp) return SCAN_PTE_UFFD_WP;
    const f = k.fn.vm_normal_page(vma, a, pte);
    if (!f) {
      if (k.fn.is_zero_folio(pte.folio)) {
        none_or_zero++;
        continue;
      }
      return SCAN_PAGE_ANON;
    }
    if (!folio_test_anon(f)) return SCAN_PAGE_ANON;
    if (!f.anon_exclusive) return SCAN_PAGE_COUNT; // max_ptes_shared: left out
    // Check if the folio has any GUP (or other external) pins.
    if (!is_refcount_suitable(f)) return SCAN_PAGE_COUNT;
  }
  return none_or_zero === PTRS_PER_PTE ? SCAN_PTE_NON_PRESENT : SCAN_SUCCEED;
}

/**
 * hpage_collapse_scan_pmd(mm, vma, address): under mmap_read_lock, look at the PTEs under the PTL;
 * SCAN_SUCCEED when collapse_huge_page may try.
 */
export function* hpage_collapse_scan_pmd(mm: mm_struct, vma: vm_area_struct, address: number): Task<number> {
  k.fn.mmap_assert_locked(mm);
  const { result, pmd } = yield* k.fn.find_pmd_or_thp_or_none(mm, address);
  if (result !== SCAN_SUCCEED) return result;
  const table = yield* k.fn.pte_offset_map_lock(mm, pmd!, address);
  if (!table) return SCAN_PMD_NULL;
  yield step('hpage_collapse_scan_pmd:scan', table);
  const ret = collapse_isolate(vma, address, table);
  k.fn.pte_unmap_unlock(table);
  return ret;
}

/**
 * collapse_huge_page(mm, address): entered with mmap_read_lock held, which it drops (alloc), then
 * mmap_write_lock + vma_start_write + anon_vma_lock_write: no fault (mmap or VMA lock) and no
 * anon rmap walk can touch the range; pmdp_collapse_flush under pmd_lock, then
 * tlb_remove_table_sync_one for GUP-fast, isolate under the old PTL, install the new table.
 * Returns SCAN_*; mmap_lock released on return.
 */
export function* collapse_huge_page(mm: mm_struct, address: number): Task<number> {
  // Before allocating the hugepage, release the mmap_lock read lock.
  k.fn.mmap_read_unlock(mm);
  yield step('collapse_huge_page:alloc_charge_folio', mm);
  yield* k.fn.mmap_write_lock(mm);
  let result = SCAN_FAIL;
  const vma = yield* k.fn.hugepage_vma_revalidate(mm, address, true);
  if (!vma) {
    k.fn.mmap_write_unlock(mm);
    return SCAN_VMA_CHECK;
  }
  yield* k.fn.vma_start_write(vma);
  const found = yield* k.fn.find_pmd_or_thp_or_none(mm, address); // check_pmd_still_valid
  if (found.result !== SCAN_SUCCEED) {
    k.fn.mmap_write_unlock(mm);
    return found.result;
  }
  const pmd = found.pmd!;
  const av = vma.anon_vma!;
  yield* k.fn.anon_vma_lock_write(av);
  // pmd_ptl = pmd_lock(mm, pmd): the PMD level is folded, its lock is mm->page_table_lock.
  yield* spin_lock(mm.page_table_lock);
  yield step('collapse_huge_page:pmdp_collapse_flush', pmd);
  const old = k.fn.pmdp_collapse_flush(vma, address, pmd);
  spin_unlock(mm.page_table_lock);
  // This IPI is needed for GUP-fast: it may be walking the table we just detached.
  yield* k.fn.tlb_remove_table_sync_one();
  BUG_ON(old === null, 'collapse_huge_page: PMD without a table');
  // pte = pte_offset_map_lock(mm, &_pmd, address, &pte_ptl): the detached table, by value.
  yield* spin_lock(old!.ptl);
  result = collapse_isolate(vma, address, old!);
  let nt: pte_table | null = null;
  if (result === SCAN_SUCCEED) nt = sim_collapse_copy(old!);
  spin_unlock(old!.ptl);
  if (result !== SCAN_SUCCEED) {
    // Put the old table back (pmd_populate) and give up.
    yield* spin_lock(mm.page_table_lock);
    BUG_ON(pmd.table !== null, 'collapse_huge_page: PMD repopulated while write-locked');
    pmd.table = old;
    spin_unlock(mm.page_table_lock);
    k.fn.anon_vma_unlock_write(av);
    k.fn.mmap_write_unlock(mm);
    return result;
  }
  k.fn.anon_vma_unlock_write(av);
  // set_pmd_at under pmd_lock: the "huge PMD" (the new table) goes in.
  yield* spin_lock(mm.page_table_lock);
  BUG_ON(pmd.table !== null, 'collapse_huge_page: !pmd_none(*pmd)');
  yield step('collapse_huge_page:set_pmd_at', pmd);
  pmd.table = nt;
  spin_unlock(mm.page_table_lock);
  k.fn.pte_free_defer(mm, old!); // (deposited as the THP's page table in the kernel)
  k.fn.mmap_write_unlock(mm);
  return SCAN_SUCCEED;
}

// ---------------------------------------------------------------------------------------------
// File: retract_page_tables

/** file_backed_vma_is_retractable(vma): no anon_vma (never written privately), no uffd-wp. */
function file_backed_vma_is_retractable(vma: vm_area_struct): boolean {
  if (vma.anon_vma) return false;
  if (vma.vm_flags & VM_UFFD_WP) return false;
  return true;
}

/** The replacement under pml and the PTE lock (common to both eras). */
function* retract_one(mm: mm_struct, vma: vm_area_struct, addr: number, pmd: pmd_t): Task<pte_table | null> {
  yield* spin_lock(mm.page_table_lock); // pml = pmd_lock(mm, pmd)
  // Recheck the state of the pmd entry (check_pmd_state), not pmd_same.
  const table = pmd.table;
  if (table === null) {
    spin_unlock(mm.page_table_lock);
    return null;
  }
  yield* spin_lock_nested(table.ptl, SINGLE_DEPTH_NESTING);
  let old: pte_table | null = null;
  // Repeating the retractable checks under the PTL protects from races against the earlier ones.
  if (file_backed_vma_is_retractable(vma)) {
    yield step('retract_page_tables:pmdp_collapse_flush', pmd);
    old = k.fn.pmdp_collapse_flush(vma, addr, pmd);
    // The stand-in for the refault as a huge PMD: the same pages in a fresh table.
    pmd.table = sim_collapse_copy(old!);
  }
  spin_unlock(table.ptl);
  spin_unlock(mm.page_table_lock);
  return old;
}

/**
 * retract_page_tables(mapping, pgoff): for every VMA mapping the PMD-aligned range at pgoff
 * (through i_mmap), replace its page table. 6.6+: no mmap or VMA lock — i_mmap_lock_read, the
 * locks inside retract_one, pte_free_defer. Before: i_mmap_lock_write, mmap_write_trylock,
 * vma_start_write, collapse_and_free_pmd (tlb_remove_table_sync_one, pte_free).
 */
export function* retract_page_tables(mapping: address_space, pgoff: number): Task<number> {
  const lockless = k.cfg.khugepaged_retract_lockless;
  if (lockless) yield* down_read(mapping.i_mmap_rwsem);
  else yield* down_write(mapping.i_mmap_rwsem);
  let n = 0;
  for (const vma of [...mapping.i_mmap]) {
    yield step('retract_page_tables:vma_interval_tree_foreach', vma);
    const addr = vma.vm_start + (pgoff - vma.vm_pgoff) * PAGE_SIZE;
    if (addr % PMD_SIZE !== 0 || addr < vma.vm_start || vma.vm_end < addr + PMD_SIZE) continue;
    const mm = vma.vm_mm;
    const { result, pmd } = yield* k.fn.find_pmd_or_thp_or_none(mm, addr);
    if (result !== SCAN_SUCCEED) continue;
    if (collapse_test_exit(mm)) continue;
    if (!file_backed_vma_is_retractable(vma)) continue;
    if (lockless) {
      const old = yield* retract_one(mm, vma, addr, pmd!);
      if (old) {
        k.fn.pte_free_defer(mm, old);
        n++;
      }
      continue;
    }
    // ≤6.5: only with the mmap lock for write (trylock: i_mmap_rwsem nests inside mmap_lock).
    if (!(yield* k.fn.mmap_write_trylock(mm))) continue;
    if (!collapse_test_exit(mm)) {
      yield* k.fn.vma_start_write(vma);
      // collapse_and_free_pmd(mm, vma, addr, pmd)
      k.fn.mmap_assert_write_locked(mm);
      const old = yield* retract_one(mm, vma, addr, pmd!);
      if (old) {
        yield* k.fn.tlb_remove_table_sync_one();
        k.fn.pte_free(mm, old);
        n++;
      }
    }
    k.fn.mmap_write_unlock(mm);
  }
  if (lockless) up_read(mapping.i_mmap_rwsem);
  else up_write(mapping.i_mmap_rwsem);
  return n;
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
 * khugepaged_scan_mm_slot for one candidate: anonymous VMAs through hpage_collapse_scan_pmd and
 * collapse_huge_page; file VMAs through retract_page_tables (collapse_file's last step).
 */
export function* khugepaged_scan_pmd(mm: mm_struct, haddr: number): Task<number> {
  yield* k.fn.mmap_read_lock(mm);
  const vma = yield* k.fn.vma_lookup(mm, haddr);
  if (!vma || haddr < vma.vm_start || haddr + PMD_SIZE > vma.vm_end || collapse_test_exit(mm)) {
    k.fn.mmap_read_unlock(mm);
    return SCAN_VMA_CHECK;
  }
  if (k.fn.vma_is_anonymous(vma)) {
    if (!vma.anon_vma) {
      k.fn.mmap_read_unlock(mm);
      return SCAN_VMA_CHECK;
    }
    const r = yield* k.fn.hpage_collapse_scan_pmd(mm, vma, haddr);
    if (r !== SCAN_SUCCEED) {
      k.fn.mmap_read_unlock(mm);
      return r;
    }
    return yield* k.fn.collapse_huge_page(mm, haddr); // releases the lock
  }
  const f = vma.vm_file;
  const pgoff = vma.vm_pgoff + (haddr - vma.vm_start) / PAGE_SIZE;
  // khugepaged_scan_file/collapse_file run without mmap_lock.
  k.fn.mmap_read_unlock(mm);
  if (!f) return SCAN_VMA_CHECK;
  const n = yield* k.fn.retract_page_tables(f.f_mapping, pgoff);
  return n > 0 ? SCAN_SUCCEED : SCAN_FAIL;
}

/**
 * sim_daemon_khugepaged(spec): khugepaged — `rounds` passes, each picking (scheduler choice) one
 * candidate PMD range, or none.
 */
export function* sim_daemon_khugepaged(spec: { readonly rounds: number }): Task<void> {
  for (let round = 0; round < spec.rounds; round++) {
    yield step('khugepaged_do_scan', null);
    const cands = sim_candidates();
    if (cands.length === 0) continue;
    const c = yield* choose(cands.length + 1, 'khugepaged:candidate');
    if (c === 0) continue;
    const cand = cands[c - 1]!;
    yield* k.fn.khugepaged_scan_pmd(cand.mm, cand.haddr);
  }
}
