/**
 * Kernel: mm/huge_memory.c (6.6–6.15 form: __pmd_trans_huge_lock, zap_huge_pmd,
 * zap_deposited_table, __split_huge_pmd, __split_huge_pmd_locked, split_huge_pmd_address,
 * vma_adjust_trans_huge / split_huge_pmd_if_needed, move_huge_pmd, change_huge_pmd,
 * can_change_pmd_writable, copy_huge_pmd, do_huge_pmd_wp_page, huge_pmd_set_accessed,
 * touch_pmd), include/linux/huge_mm.h (split_huge_pmd, pmd_trans_huge_lock).
 *
 * The THP this simulation has: a PMD-sized anonymous folio (HPAGE_PMD_NR pages) mapped by one
 * huge PMD entry, made only by khugepaged's collapse_huge_page (mm/khugepaged.ts), with the PTE
 * table it replaced deposited under the PMD (pgtable_trans_huge_deposit) until a split takes it
 * back or a zap frees it. Every walker that can meet a huge PMD takes the PMD lock and re-checks
 * pmd_trans_huge / pmd_same under it (__pmd_trans_huge_lock, do_huge_pmd_wp_page,
 * huge_pmd_set_accessed), as the kernel does; lockless walkers (GUP-fast, the MMU) read the entry
 * once. A split (__split_huge_pmd_locked) invalidates the entry (pmdp_invalidate: not present,
 * TLB flushed), withdraws the deposited table, fills it with one PTE per page and populates the
 * PMD with it.
 *
 * Left out, and what stands in for it:
 *  - PTE-mapped THPs and deferred split: a split of the PMD also splits the folio at once into
 *    small folios (each page keeps its contents, mapping, index, PageAnonExclusive and its own
 *    share of the references, so a GUP pin taken through a page stays with it). The kernel keeps
 *    the large folio PTE-mapped and splits it later (deferred_split, split_huge_page, which fails
 *    while pinned); whatever needs a large folio mapped by PTEs (partial mapcounts, folio-level
 *    COW reuse of a PTE-mapped THP) is not modelled.
 *  - Sharing a THP at fork: copy_huge_pmd always takes its "maybe pinned" branch (split the
 *    parent's PMD, -EAGAIN, copy the PTEs), so no THP is ever mapped by two mms. The kernel shares
 *    it write-protected in both and COWs on the PTE level after do_huge_pmd_wp_page's fallback.
 *  - THP faults (do_huge_pmd_anonymous_page: a fault on an empty PMD behaves as if the huge page
 *    allocation failed, VM_FAULT_FALLBACK), the huge zero page, file/shmem/DAX PMD mappings
 *    (do_set_pmd, file THPs in the page cache), PUD mappings, hugetlb, THP swap and migration
 *    entries (is_swap_pmd), NUMA hinting (do_huge_pmd_numa_page: a protnone entry exists only in a
 *    PROT_NONE VMA, which access_error refuses first), soft-dirty, uffd-wp on huge PMDs,
 *    split_huge_page of a folio outside a PMD split, reclaim of THPs (vmscan finds no PTE to
 *    unmap behind a huge PMD and skips it: the kernel would split the folio first), mTHP.
 *  - mmu notifiers (no callbacks are simulated).
 */
import { step, type Task } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import { folio_test_anon, type folio, type mm_struct, type pmd_huge_t, type pmd_t, type pte_t, type vm_area_struct, type vm_fault } from '../include/linux/mm_types.js';
import {
  FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, HPAGE_PMD_NR, HPAGE_PMD_SIZE, PAGE_SIZE, PMD_SIZE, VM_ACCESS_FLAGS, VM_FAULT_FALLBACK,
  VM_SHARED, VM_WRITE,
} from '../include/linux/mm_flags.js';
import { BUG_ON, VM_BUG_ON, VM_BUG_ON_VMA, WARN_ON_ONCE } from '../include/linux/mmdebug.js';
import { spin_lock, spin_lock_nested, spin_unlock, type spinlock_t } from '../sync/spinlock.js';
import { SINGLE_DEPTH_NESTING, lockdep_assert_held } from '../sync/lockdep.js';
import { folio_trylock, folio_unlock, folio_lock } from '../sync/bitlock.js';
import { refcount_read, refcount_set } from '../sync/refcount.js';
import { kasan_check_read, kasan_check_write } from '../sync/kasan.js';
import type { mmu_gather } from './mmu_gather.js';

const EAGAIN = 11;
const HPAGE_PMD_MASK = (a: number): number => Math.floor(a / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;

/** The PMD entry of an address if its slot exists (pmd_offset, no allocation). */
function pmd_lookup(mm: mm_struct, addr: number): pmd_t | null {
  return mm.pgd.get(k.fn.sim_pmd_index(addr)) ?? null;
}

// ---------------------------------------------------------------------------------------------
// Locking a huge PMD

/**
 * __pmd_trans_huge_lock(pmd, vma): take the PMD lock and re-check, under it, that the entry is
 * still huge (it may have been split or zapped since the caller's lockless look). Returns the
 * lock held, or null (nothing held).
 */
export function* __pmd_trans_huge_lock(pmd: pmd_t, vma: vm_area_struct): Task<spinlock_t | null> {
  const ptl = yield* k.fn.pmd_lock(vma.vm_mm, pmd);
  if (k.fn.pmd_trans_huge(pmd)) return ptl; // is_swap_pmd || pmd_trans_huge || pmd_devmap
  spin_unlock(ptl);
  return null;
}

/** pmd_trans_huge_lock(pmd, vma): a lockless look first, then __pmd_trans_huge_lock. */
export function* pmd_trans_huge_lock(pmd: pmd_t, vma: vm_area_struct): Task<spinlock_t | null> {
  yield step('pmd_trans_huge_lock:pmd_trans_huge', pmd);
  if (!k.fn.pmd_trans_huge(pmd)) return null;
  return yield* k.fn.__pmd_trans_huge_lock(pmd, vma);
}

// ---------------------------------------------------------------------------------------------
// Zap

/**
 * tlb_remove_pmd_tlb_entry(tlb, pmdp, address): the gather must flush the whole PMD range
 * (tlb_flush_pmd_range): its first and last page are recorded, which any range tracking of the
 * gather widens to the whole 2 MiB.
 */
export function tlb_remove_pmd_tlb_entry(tlb: mmu_gather, pmd: pmd_t, address: number): void {
  void pmd;
  k.fn.tlb_remove_tlb_entry(tlb, address);
  k.fn.tlb_remove_tlb_entry(tlb, address + HPAGE_PMD_SIZE - PAGE_SIZE);
}

/**
 * zap_deposited_table(mm, pmd): free the PTE table deposited with the huge entry — at once
 * (pte_free, not through the gather): nothing can reach it since collapse_huge_page's
 * pmdp_collapse_flush and tlb_remove_table_sync_one. Locks: the PMD lock.
 */
export function zap_deposited_table(mm: mm_struct, pmd: pmd_t): void {
  const pgtable = k.fn.pgtable_trans_huge_withdraw(mm, pmd);
  k.fn.pte_free(mm, pgtable);
  // mm_dec_nr_ptes(mm)
}

/**
 * zap_huge_pmd(tlb, vma, pmd, addr): unmap a whole huge PMD — under the PMD lock (re-checked:
 * __pmd_trans_huge_lock) clear it, drop the rmap, free the deposited table; the folio's
 * reference goes to the gather (dropped after the TLB flush, I16). Returns false if the entry
 * was no longer huge (split meanwhile: the caller zaps the PTEs).
 * Locks: the VMA stable (mmap lock or VMA lock), as for zap_pte_range.
 */
export function* zap_huge_pmd(tlb: mmu_gather, vma: vm_area_struct, pmd: pmd_t, addr: number): Task<boolean> {
  const ptl = yield* k.fn.__pmd_trans_huge_lock(pmd, vma);
  if (!ptl) return false;
  // For architectures like ppc64 we look at deposited pgtable when calling pmdp_huge_get_and_clear:
  // x86 does not.
  yield step('zap_huge_pmd:pmdp_huge_get_and_clear_full', pmd);
  const orig = k.fn.pmdp_huge_get_and_clear(tlb.mm, addr, pmd);
  k.fn.tlb_remove_pmd_tlb_entry(tlb, pmd, addr);
  const f = orig.folio;
  k.fn.folio_remove_rmap_pmd(f, vma);
  WARN_ON_ONCE(f._entire_mapcount < 0, `zap_huge_pmd: ${f.name} entire_mapcount < 0`);
  // An anonymous THP: its deposited table goes with it.
  k.fn.zap_deposited_table(tlb.mm, pmd);
  k.fn.add_mm_counter(tlb.mm, 'MM_ANONPAGES', -HPAGE_PMD_NR);
  spin_unlock(ptl);
  // tlb_remove_page_size(tlb, &folio->page, HPAGE_PMD_SIZE): flush when the batch is full.
  if (k.fn.__tlb_remove_folio(tlb, f)) yield* k.fn.tlb_flush_mmu(tlb);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Split

/**
 * The stand-in for the THP's later split_huge_page (see the header): every page becomes a small
 * folio mapped by its PTE. The head's share of the references keeps the PMD mapping's reference
 * as its PTE's; each tail gains its PTE's (folio_ref_add(folio, HPAGE_PMD_NR - 1)).
 * Locks: the PMD lock (the THP is mapped by this PMD only).
 */
function sim_split_folio(head: folio, anon_exclusive: boolean, vma: vm_area_struct): void {
  const pages = head.pages!;
  BUG_ON(head._entire_mapcount !== 0, `__split_huge_pmd_locked: ${head.name} still PMD-mapped elsewhere (entire_mapcount ${head._entire_mapcount})`);
  kasan_check_write(head, '__split_huge_pmd_locked');
  for (let i = 0; i < pages.length; i++) {
    const p = pages[i]!;
    kasan_check_write(p, '__split_huge_pmd_locked');
    if (i > 0) {
      refcount_set(p._refcount, refcount_read(p._refcount) + 1);
      p.compound_head = null;
      p.lru = head.lru;
      p.uptodate = head.uptodate;
      p.dirty = head.dirty;
      p.swapbacked = head.swapbacked;
    }
    p.anon_exclusive = anon_exclusive;
    p._mapcount = 1; // folio_add_anon_rmap_ptes(folio, page, HPAGE_PMD_NR, vma, haddr, …)
  }
  head.pages = null;
  void vma;
}

/**
 * __split_huge_pmd_locked(vma, pmd, haddr, freeze): replace the huge entry by the deposited PTE
 * table mapping the same pages with the same permissions. Locks: the PMD lock held; the VMA
 * stable. Between pmdp_invalidate and pmd_populate the entry is huge but not present: lockless
 * walkers (the MMU, GUP-fast) see no mapping, faults wait for the PMD lock and find the table.
 */
export function* __split_huge_pmd_locked(vma: vm_area_struct, pmd: pmd_t, haddr: number): Task<void> {
  const mm = vma.vm_mm;
  lockdep_assert_held(k.fn.pmd_lockptr(mm, pmd));
  VM_BUG_ON(haddr % HPAGE_PMD_SIZE !== 0, '__split_huge_pmd_locked: unaligned');
  VM_BUG_ON_VMA(vma.vm_start > haddr || vma.vm_end < haddr + HPAGE_PMD_SIZE, vma, '__split_huge_pmd_locked: range outside the VMA');
  VM_BUG_ON(!k.fn.vma_is_anonymous(vma), '__split_huge_pmd_locked: file THPs are left out');
  // Up to this point the pmd is present and huge and userland has the whole access to the
  // hugepage during the split (which happens in place). pmdp_invalidate makes it not present and
  // flushes the TLB before the PTEs go in.
  const old = k.fn.pmdp_invalidate(vma, haddr, pmd);
  yield step('__split_huge_pmd_locked:pmdp_invalidate', pmd);
  const f = old.folio;
  kasan_check_read(f, '__split_huge_pmd_locked');
  const anon_exclusive = f.anon_exclusive; // PageAnonExclusive(page)
  // Withdraw the table deposited at collapse time and fill it.
  const pgtable = k.fn.pgtable_trans_huge_withdraw(mm, pmd);
  const pages = f.pages!;
  for (let i = 0, addr = haddr; i < HPAGE_PMD_NR; i++, addr += PAGE_SIZE) {
    let entry: pte_t = k.fn.folio_mk_pte(pages[i]!, false);
    if (old.write) entry = k.fn.pte_mkwrite(entry, vma);
    if (old.young) entry = k.fn.pte_mkyoung(entry);
    if (old.dirty) entry = k.fn.pte_mkdirty(entry);
    k.fn.set_pte_at(mm, addr, pgtable, entry);
  }
  k.fn.folio_remove_rmap_pmd(f, vma);
  sim_split_folio(f, anon_exclusive, vma);
  // smp_wmb(): make the PTEs visible before the pmd.
  yield step('__split_huge_pmd_locked:pmd_populate', pmd);
  pmd.huge = null;
  k.fn.pmd_populate(mm, pmd, pgtable);
}

/**
 * __split_huge_pmd(vma, pmd, address, freeze, folio): split a huge entry into PTEs, re-checking
 * under the PMD lock that it still is one. Locks: the VMA stable (mmap lock, or the VMA lock of
 * a fault); takes the PMD lock.
 */
export function* __split_huge_pmd(vma: vm_area_struct, pmd: pmd_t, address: number): Task<void> {
  // mmu_notifier_invalidate_range_start: left out
  const ptl = yield* k.fn.pmd_lock(vma.vm_mm, pmd);
  if (k.fn.pmd_trans_huge(pmd)) yield* k.fn.__split_huge_pmd_locked(vma, pmd, HPAGE_PMD_MASK(address));
  spin_unlock(ptl);
}

/** split_huge_pmd(vma, pmd, address) (include/linux/huge_mm.h): split if huge (a lockless look first). */
export function* split_huge_pmd(vma: vm_area_struct, pmd: pmd_t, address: number): Task<void> {
  yield step('split_huge_pmd:pmd_trans_huge', pmd);
  if (k.fn.pmd_trans_huge(pmd)) yield* k.fn.__split_huge_pmd(vma, pmd, address);
}

/** split_huge_pmd_address(vma, address, freeze, folio): the PMD covering address, if any, split. */
export function* split_huge_pmd_address(vma: vm_area_struct, address: number): Task<void> {
  const pmd = pmd_lookup(vma.vm_mm, address);
  if (pmd === null) return;
  yield* k.fn.split_huge_pmd(vma, pmd, address);
}

/**
 * split_huge_pmd_if_needed(vma, address): a VMA boundary moves to an address inside a PMD range
 * the VMA covered whole: a huge PMD there must be split first.
 */
function* split_huge_pmd_if_needed(vma: vm_area_struct, address: number): Task<void> {
  const lo = HPAGE_PMD_MASK(address);
  if (address % HPAGE_PMD_SIZE !== 0 && vma.vm_start <= lo && lo + HPAGE_PMD_SIZE <= vma.vm_end) {
    yield* k.fn.split_huge_pmd_address(vma, address);
  }
}

/**
 * vma_adjust_trans_huge(vma, start, end, next, adjust_next): before a VMA's bounds change
 * (__split_vma, vma_shrink, commit_merge), split the huge PMDs the new bounds would cut.
 * Locks: mmap_write_lock, the VMA write-locked.
 */
export function* vma_adjust_trans_huge(vma: vm_area_struct, start: number, end: number, next: vm_area_struct | null, adjust_next: number): Task<void> {
  yield* split_huge_pmd_if_needed(vma, start);
  yield* split_huge_pmd_if_needed(vma, end);
  if (next !== null && adjust_next > 0) yield* split_huge_pmd_if_needed(next, next.vm_start + adjust_next);
}

// ---------------------------------------------------------------------------------------------
// mremap, mprotect, fork

/**
 * move_huge_pmd(vma, old_addr, new_addr, old_pmd, new_pmd): move a whole huge entry (mremap).
 * The old PMD lock, re-checked (__pmd_trans_huge_lock), then the new one nested if it is another
 * lock ("exclusive mmap_lock prevents deadlock"); the deposited table moves with the entry when
 * the two PMDs are in different PMD table pages (pmd_move_must_withdraw).
 * Locks: mmap_write_lock, the VMA write-locked, rmap locks (move_pgt_entry). True when moved.
 */
export function* move_huge_pmd(vma: vm_area_struct, old_addr: number, new_addr: number, old_pmd: pmd_t, new_pmd: pmd_t): Task<boolean> {
  const mm = vma.vm_mm;
  // The destination pmd shouldn't be established, free_pgtables() should have released it.
  if (WARN_ON_ONCE(!k.fn.pmd_none(new_pmd), 'move_huge_pmd: destination pmd populated')) {
    VM_BUG_ON(k.fn.pmd_trans_huge(new_pmd), 'move_huge_pmd: destination pmd huge');
    return false;
  }
  const old_ptl = yield* k.fn.__pmd_trans_huge_lock(old_pmd, vma);
  if (!old_ptl) return false;
  const new_ptl = k.fn.pmd_lockptr(mm, new_pmd);
  if (new_ptl !== old_ptl) yield* spin_lock_nested(new_ptl, SINGLE_DEPTH_NESTING);
  yield step('move_huge_pmd:pmdp_huge_get_and_clear', old_pmd);
  const pmd = k.fn.pmdp_huge_get_and_clear(mm, old_addr, old_pmd);
  const force_flush = pmd.present;
  VM_BUG_ON(!k.fn.pmd_none(new_pmd), 'move_huge_pmd: !pmd_none(*new_pmd)');
  if (new_ptl !== old_ptl && k.fn.vma_is_anonymous(vma)) {
    // pmd_move_must_withdraw: the deposit list lives in the PMD table page.
    const pgtable = k.fn.pgtable_trans_huge_withdraw(mm, old_pmd);
    k.fn.pgtable_trans_huge_deposit(mm, new_pmd, pgtable);
  }
  k.fn.set_pmd_at(mm, new_addr, new_pmd, pmd);
  if (force_flush) k.fn.flush_pmd_tlb_range(vma, old_addr, old_addr + PMD_SIZE);
  if (new_ptl !== old_ptl) spin_unlock(new_ptl);
  spin_unlock(old_ptl);
  return true;
}

/**
 * can_change_pmd_writable(vma, addr, pmd): as can_change_pte_writable — a private VMA's exclusive
 * anonymous THP (or a dirty shared one) may be made writable without a write fault.
 */
export function can_change_pmd_writable(vma: vm_area_struct, addr: number, pmd: pmd_huge_t): boolean {
  void addr;
  if (WARN_ON_ONCE(!(vma.vm_flags & VM_WRITE), 'can_change_pmd_writable: VMA not writable')) return false;
  if (!(vma.vm_flags & VM_SHARED)) return folio_test_anon(pmd.folio) && pmd.folio.anon_exclusive;
  return pmd.dirty;
}

/**
 * change_huge_pmd(tlb, vma, pmd, addr, newprot, cp_flags): mprotect of a whole huge entry, under
 * the PMD lock (re-checked). Returns 0 if it was no longer huge (split under us: the caller goes
 * on with the PTEs), 1 if nothing changed, HPAGE_PMD_NR if the entry was rewritten.
 * Locks: mmap_write_lock, the VMA write-locked.
 */
export function* change_huge_pmd(tlb: mmu_gather, vma: vm_area_struct, pmd: pmd_t, addr: number, try_change_writable: boolean): Task<number> {
  const ptl = yield* k.fn.__pmd_trans_huge_lock(pmd, vma);
  if (!ptl) return 0;
  yield step('change_huge_pmd:pmdp_invalidate_ad', pmd);
  const oldpmd = pmd.huge!;
  if (!oldpmd.present) {
    spin_unlock(ptl);
    return 1;
  }
  // pmd_modify(oldpmd, newprot): the write bit and PROT_NONE (_PAGE_PROTNONE) from vm_page_prot.
  let entry: pmd_huge_t = {
    ...oldpmd, write: (vma.vm_page_prot & VM_WRITE) !== 0, protnone: (vma.vm_page_prot & VM_ACCESS_FLAGS) === 0,
  };
  if (try_change_writable && !entry.write && (vma.vm_flags & VM_WRITE) && k.fn.can_change_pmd_writable(vma, addr, entry)) {
    entry = { ...entry, write: true };
  }
  let ret = 1;
  if (entry.write !== oldpmd.write || (entry.protnone ?? false) !== (oldpmd.protnone ?? false)) {
    pmd.huge = null; // pmdp_invalidate_ad: the old entry is replaced, not modified in place
    k.fn.set_pmd_at(vma.vm_mm, addr, pmd, entry);
    // huge_pmd_needs_flush → tlb_flush_pmd_range(tlb, addr, HPAGE_PMD_SIZE)
    if ((oldpmd.write && !entry.write) || (entry.protnone && !oldpmd.protnone)) k.fn.tlb_remove_pmd_tlb_entry(tlb, pmd, addr);
    ret = HPAGE_PMD_NR;
  }
  spin_unlock(ptl);
  return ret;
}

/**
 * copy_huge_pmd(dst_mm, src_mm, dst_pmd, src_pmd, addr, dst_vma, src_vma) (fork): here always
 * the branch the kernel takes for a THP that may be pinned — split the parent's entry and return
 * -EAGAIN, so copy_pmd_range copies the PTEs (see the header: THPs are not shared at fork).
 * Locks: mmap_write_lock of both mms, src_vma write-locked.
 */
export function* copy_huge_pmd(dst_mm: mm_struct, src_mm: mm_struct, dst_pmd: pmd_t, src_pmd: pmd_t, addr: number,
  dst_vma: vm_area_struct, src_vma: vm_area_struct): Task<number> {
  void dst_mm;
  void src_mm;
  void dst_pmd;
  void dst_vma;
  // Page maybe pinned: split and retry the fault on PTEs.
  yield* k.fn.__split_huge_pmd(src_vma, src_pmd, addr);
  return -EAGAIN;
}

// ---------------------------------------------------------------------------------------------
// Faults on a huge PMD

/** touch_pmd(vma, addr, pmd, write): mark the entry young (and dirty for a write). PMD lock held. */
export function touch_pmd(vma: vm_area_struct, addr: number, pmd: pmd_t, write: boolean): void {
  void vma;
  void addr;
  const cur = pmd.huge;
  if (cur === null || !cur.present) return;
  const _pmd: pmd_huge_t = { ...cur, young: true, dirty: cur.dirty || write };
  if (_pmd.young !== cur.young || _pmd.dirty !== cur.dirty) pmd.huge = _pmd; // pmdp_set_access_flags
}

/**
 * huge_pmd_set_accessed(vmf): a read (or a write to a writable entry) faulted on a huge PMD — the
 * entry was invalidated for a split, or the access bit: under the PMD lock, if pmd_same with the
 * fault's snapshot, touch it; the access is retried either way. Locks: the fault lock.
 */
export function* huge_pmd_set_accessed(vmf: vm_fault): Task<void> {
  const write = (vmf.flags & FAULT_FLAG_WRITE) !== 0;
  const ptl = yield* k.fn.pmd_lock(vmf.vma.vm_mm, vmf.pmd!);
  vmf.ptl = ptl;
  if (k.fn.pmd_same(k.fn.pmdp_get(vmf.pmd!), vmf.orig_pmd)) k.fn.touch_pmd(vmf.vma, vmf.address, vmf.pmd!, write);
  spin_unlock(ptl);
}

/**
 * do_huge_pmd_wp_page(vmf): a write (or unshare) fault on a read-only huge entry of an anonymous
 * VMA. Under the PMD lock, re-checked (pmd_same): an exclusive THP is reused (made writable in
 * place); one that is not is locked (folio_trylock, else drop the PMD lock, folio_lock, retake it
 * and re-check pmd_same) and reused if this mapping holds the only reference; otherwise fall back:
 * split the PMD and let the PTE level COW (VM_FAULT_FALLBACK). Locks: the fault lock.
 */
export function* do_huge_pmd_wp_page(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  const unshare = (vmf.flags & FAULT_FLAG_UNSHARE) !== 0;
  const orig_pmd = vmf.orig_pmd;
  const haddr = HPAGE_PMD_MASK(vmf.address);
  const ptl = k.fn.pmd_lockptr(vma.vm_mm, vmf.pmd!);
  vmf.ptl = ptl;
  VM_BUG_ON_VMA(vma.anon_vma === null, vma, 'do_huge_pmd_wp_page: no anon_vma');
  yield* spin_lock(ptl);
  if (!k.fn.pmd_same(k.fn.pmdp_get(vmf.pmd!), orig_pmd) || orig_pmd.kind !== 'huge') {
    spin_unlock(ptl);
    return 0;
  }
  const f = orig_pmd.folio;
  let reuse = f.anon_exclusive; // Early check when only holding the PT lock.
  if (!reuse) {
    if (!(yield* folio_trylock(f))) {
      k.fn.folio_get(f);
      spin_unlock(ptl);
      yield* folio_lock(f);
      yield* spin_lock(ptl);
      if (!k.fn.pmd_same(k.fn.pmdp_get(vmf.pmd!), orig_pmd)) {
        spin_unlock(ptl);
        folio_unlock(f);
        k.fn.folio_put(f);
        return 0;
      }
      k.fn.folio_put(f);
    }
    // Recheck after temporarily dropping the PT lock.
    if (f.anon_exclusive) {
      reuse = true;
    } else if (k.fn.folio_ref_count(f) === 1) {
      k.fn.folio_move_anon_rmap(f, vma);
      for (const p of f.pages ?? [f]) p.anon_exclusive = true; // SetPageAnonExclusive(page)
      reuse = true;
    }
    folio_unlock(f);
  }
  if (reuse) {
    if (unshare) {
      spin_unlock(ptl);
      return 0;
    }
    // entry = maybe_pmd_mkwrite(pmd_mkdirty(pmd_mkyoung(orig_pmd)), vma); pmdp_set_access_flags
    yield step('do_huge_pmd_wp_page:pmdp_set_access_flags', vmf.pmd);
    vmf.pmd!.huge = { ...orig_pmd, young: true, dirty: true, write: orig_pmd.write || (vma.vm_flags & VM_WRITE) !== 0 };
    spin_unlock(ptl);
    return 0;
  }
  spin_unlock(ptl);
  // fallback: COW on the PTE level.
  yield* k.fn.__split_huge_pmd(vma, vmf.pmd!, haddr);
  return VM_FAULT_FALLBACK;
}

