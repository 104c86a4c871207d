/**
 * Kernel: mm/pgtable-generic.c (__pte_offset_map, pte_offset_map_lock, pte_offset_map_rw_nolock,
 * pte_free_defer, ptep_clear_flush), include/linux/pgtable.h (ptep_get, ptep_get_lockless,
 * pte_same, set_pte_at, ptep_get_and_clear, pte_index, pmd_off), include/asm-generic/pgalloc.h
 * (pte_alloc_one, pte_free), arch/x86/include/asm/pgtable.h (pte_mk* constructors, pte_write …),
 * include/linux/swapops.h (swap PTEs), include/linux/mm.h (mm->rss_stat counters).
 *
 * Page tables are PMD slots (mm->pgd, one per PMD_SIZE region) pointing at PTE tables; every PTE
 * table is a KASAN-tracked object with its own PTL (split PTE locks). A PTE is an immutable pte_t
 * value, so pte_same() is value equality: a swap entry freed and reallocated to the same slot
 * compares equal (the ABA of B17).
 *
 * Lock contract of the mapping helpers, per generation (k.cfg.pte_offset_map_can_fail):
 *  - 6.5+ ("mm/pgtable: allow pte_offset_map[_lock]() to fail", 0d940a9b270b): __pte_offset_map()
 *    returns the table with rcu_read_lock() held (released by pte_unmap()), or null with nothing
 *    held when the PMD is none; pte_offset_map_lock() additionally takes the table's PTL and
 *    re-checks pmd_same(), retrying when the table was replaced meanwhile.
 *  - ≤6.4 (include/linux/mm.h's pte_offset_map_lock macro): the PMD is read, the PTL of the table
 *    it points to is taken, and the table returned — no RCU, no re-check. The kernel's callers
 *    checked the PMD just before (pmd_none_or_trans_huge_or_clear_bad, pmd_trans_unstable); the
 *    simulation folds that check into the same lockless read (a none PMD gives null, as the
 *    caller's check would have bailed out). Nothing but the caller's locks keeps the table there.
 * Either way the PTL lives in the table (ALLOC_SPLIT_PTLOCKS under lockdep: a slab object freed
 * with it), so taking or releasing the PTL of a freed table is a KASAN use-after-free (the
 * spinlock's sim_kasan_obj).
 *
 * Left out: the pgd/p4d/pud levels (the mm's pgd maps PMD-sized regions straight to PMD slots),
 * huge PMDs (THP), HIGHPTE kmap, pmdp_get_lockless's torn-read handling (a PMD read is atomic),
 * soft-dirty bits, the TLB itself (arch/x86/mm/tlb.ts models it; ptep_clear_flush flushes there).
 */
import { k } from '../sim/kernel.js';
import { step, type Task } from '../rt/task.js';
import { spin_lock, spin_unlock } from '../sync/spinlock.js';
import { rcu_read_lock, rcu_read_unlock, call_rcu } from '../sync/rcu.js';
import {
  kasan_check_read, kasan_check_write, kmem_cache_create, kmem_cache_free, sim_kasan_track, type kmem_cache,
} from '../sync/kasan.js';
import {
  __pmd_none, __pte_none, folio_test_anon, pmd_ptdesc, pmd_t, pte_table, type folio, type mm_struct, type pmd_huge_t,
  type pmdval_t, type pte_t, type swp_entry_t, type vm_area_struct,
} from '../include/linux/mm_types.js';
import { PAGE_SIZE, PMD_SIZE, PTRS_PER_PTE, VM_ACCESS_FLAGS, VM_WRITE } from '../include/linux/mm_flags.js';
import { BUG_ON, VM_BUG_ON } from '../include/linux/mmdebug.js';
import { should_fail } from '../include/linux/fault_inject.js';
import type { spinlock_t } from '../sync/spinlock.js';
import { lockdep_assert_held } from '../sync/lockdep.js';

/** PTRS_PER_PMD: PMD entries per PMD table page (x86-64). */
export const PTRS_PER_PMD = 512;

// ---------------------------------------------------------------------------------------------
// Indexing (include/linux/pgtable.h). Addresses reach 2^40: no 32-bit bit operations.

/** pte_index(): the PTE's slot in its table. */
export function pte_index(address: number): number {
  return Math.floor(address / PAGE_SIZE) % PTRS_PER_PTE;
}

/** pmd_index() of the simulation's folded pgd: the PMD slot number of an address. */
export function sim_pmd_index(address: number): number {
  return Math.floor(address / PMD_SIZE);
}

/**
 * pmd_off(mm, address): the PMD entry for an address. The upper levels are folded into mm->pgd,
 * so this is pgd_offset+p4d_alloc+pud_alloc+pmd_alloc in one: the slot is created if missing (a
 * PMD slot is not a table and is never freed, so creating it needs no lock).
 */
export function pmd_off(mm: mm_struct, address: number): pmd_t {
  const i = k.fn.sim_pmd_index(address);
  let pmd = mm.pgd.get(i);
  if (pmd === undefined) {
    pmd = new pmd_t(i);
    mm.pgd.set(i, pmd);
  }
  return pmd;
}

/**
 * pmd_none(*pmd): no PTE table and no huge mapping (a racy read unless under the PMD lock:
 * callers yield first).
 */
export function pmd_none(pmd: pmd_t): boolean {
  return pmd.table === null && pmd.huge === null;
}

/** pmd_trans_huge(*pmd): a huge entry, present or invalidated (x86: _PAGE_PSE set). */
export function pmd_trans_huge(pmd: pmd_t): boolean {
  return pmd.huge !== null;
}

/** The entry's current value (what READ_ONCE(*pmd) reads; no scheduling point). */
export function pmdp_get(pmd: pmd_t): pmdval_t {
  if (pmd.huge !== null) return pmd.huge;
  if (pmd.table !== null) return { kind: 'table', table: pmd.table };
  return __pmd_none;
}

/** pmd_same(a, b): value equality (pmd_val(a) == pmd_val(b)). */
export function pmd_same(a: pmdval_t, b: pmdval_t): boolean {
  if (a === b) return true;
  switch (a.kind) {
    case 'none':
      return b.kind === 'none';
    case 'table':
      return b.kind === 'table' && a.table === b.table;
    case 'huge':
      return b.kind === 'huge' && a.folio === b.folio && a.write === b.write && a.dirty === b.dirty &&
        a.young === b.young && a.present === b.present && (a.protnone ?? false) === (b.protnone ?? false);
  }
}

/**
 * pmd_ptdesc(mm, pmd): the descriptor of the PMD table page holding the entry (x86-64: one page
 * of 512 PMD entries, 1 GiB), created on first use (the upper levels are folded: pud_alloc).
 */
export function sim_pmd_ptdesc(mm: mm_struct, pmd: pmd_t): pmd_ptdesc {
  const i = Math.floor(pmd.index / PTRS_PER_PMD);
  let d = mm.pmd_ptdescs.get(i);
  if (d === undefined) {
    d = new pmd_ptdesc(mm.name, i);
    mm.pmd_ptdescs.set(i, d);
  }
  return d;
}

/**
 * pmd_lockptr(mm, pmd) (include/linux/mm.h): the split PMD lock of the PMD table page
 * (USE_SPLIT_PMD_PTLOCKS, as x86-64 builds have it), of the same lock class as the PTE locks.
 */
export function pmd_lockptr(mm: mm_struct, pmd: pmd_t): spinlock_t {
  return k.fn.sim_pmd_ptdesc(mm, pmd).ptl;
}

/** pmd_lock(mm, pmd): take the PMD lock; returns it (spin_unlock releases it). */
export function* pmd_lock(mm: mm_struct, pmd: pmd_t): Task<spinlock_t> {
  const ptl = k.fn.pmd_lockptr(mm, pmd);
  yield* spin_lock(ptl);
  return ptl;
}

/** pmd_populate(mm, pmd, pte): point an empty entry at a PTE table (the PMD lock held, or no walker can see it). */
export function pmd_populate(mm: mm_struct, pmd: pmd_t, table: pte_table): void {
  void mm;
  VM_BUG_ON(pmd.huge !== null, `pmd_populate: ${pmd.name} is huge`);
  pmd.table = table;
}

/** pmd_clear(pmd). */
export function pmd_clear(pmd: pmd_t): void {
  pmd.table = null;
  pmd.huge = null;
}

/** set_pmd_at(mm, addr, pmdp, pmd): store a huge entry (the PMD lock held). */
export function set_pmd_at(mm: mm_struct, addr: number, pmd: pmd_t, val: pmd_huge_t): void {
  VM_BUG_ON(pmd.table !== null, `set_pmd_at: ${pmd.name} maps a PTE table (set_pmd_at is for huge entries, pmd_populate for tables)`);
  kasan_check_read(val.folio, 'set_pmd_at');
  // As set_pte_at: the PROT_NONE state mk_huge_pmd(page, vma->vm_page_prot) would give.
  const protnone = sim_vma_protnone(mm, addr);
  if (protnone !== null && protnone !== (val.protnone ?? false)) val = { ...val, protnone };
  pmd.huge = val;
}

/** pmdp_huge_get_and_clear(mm, addr, pmdp): atomic exchange with none. */
export function pmdp_huge_get_and_clear(mm: mm_struct, addr: number, pmd: pmd_t): pmd_huge_t {
  void mm;
  void addr;
  const old = pmd.huge;
  VM_BUG_ON(old === null, `pmdp_huge_get_and_clear: ${pmd.name} is not huge`);
  pmd.huge = null;
  return old!;
}

/** flush_pmd_tlb_range(vma, start, end) → flush_tlb_range. */
export function flush_pmd_tlb_range(vma: vm_area_struct, start: number, end: number): void {
  k.fn.flush_tlb_mm_range(vma.vm_mm, start, end);
}

/**
 * pmdp_invalidate(vma, address, pmdp) (mm/pgtable-generic.c): make a huge entry not present
 * (pmd_mkinvalid keeps it pmd_trans_huge, so the splitter still owns it) and flush its range, so
 * no CPU or lockless walker uses the huge mapping while it is being split. PMD lock held.
 */
export function pmdp_invalidate(vma: vm_area_struct, address: number, pmd: pmd_t): pmd_huge_t {
  const old = pmd.huge;
  VM_BUG_ON(old === null || !old.present, `pmdp_invalidate: ${pmd.name} is not a present huge entry`);
  pmd.huge = { ...old!, present: false };
  k.fn.flush_pmd_tlb_range(vma, address, address + PMD_SIZE);
  return old!;
}

/**
 * pmdp_collapse_flush(vma, address, pmdp) (mm/pgtable-generic.c): clear an entry that maps a PTE
 * table and flush the TLB for its range (flush_tlb_range: a stale translation through the table
 * is gone once this returns). The PMD lock held. Returns the old value (the detached table).
 */
export function pmdp_collapse_flush(vma: vm_area_struct, address: number, pmd: pmd_t): pte_table {
  VM_BUG_ON(pmd.huge !== null, `pmdp_collapse_flush: ${pmd.name} is huge`);
  const old = pmd.table;
  VM_BUG_ON(old === null, `pmdp_collapse_flush: ${pmd.name} is none`);
  kasan_check_read(old!, 'pmdp_collapse_flush');
  pmd.table = null; // pmdp_huge_get_and_clear
  k.fn.flush_tlb_mm_range(vma.vm_mm, address, address + PMD_SIZE);
  return old!;
}

/**
 * pgtable_trans_huge_deposit(mm, pmdp, pgtable) (mm/pgtable-generic.c): keep a PTE table with a
 * huge entry, for splitting it later without allocating. The PMD lock held (the list lives in the
 * PMD table page's ptdesc).
 */
export function pgtable_trans_huge_deposit(mm: mm_struct, pmd: pmd_t, pgtable: pte_table): void {
  lockdep_assert_held(k.fn.pmd_lockptr(mm, pmd));
  k.fn.sim_pmd_ptdesc(mm, pmd).pmd_huge_pte.push(pgtable);
}

/** pgtable_trans_huge_withdraw(mm, pmdp): take a deposited table back (the PMD lock held). */
export function pgtable_trans_huge_withdraw(mm: mm_struct, pmd: pmd_t): pte_table {
  lockdep_assert_held(k.fn.pmd_lockptr(mm, pmd));
  const t = k.fn.sim_pmd_ptdesc(mm, pmd).pmd_huge_pte.pop();
  BUG_ON(t === undefined, `pgtable_trans_huge_withdraw: no table deposited under ${pmd.name}`);
  // The deposited table's entries may have been left behind: the kernel zeroes them on withdraw.
  t!.entries.fill(__pte_none);
  return t!;
}

// ---------------------------------------------------------------------------------------------
// PTE tables: allocation and freeing (include/asm-generic/pgalloc.h)

/** The page-table page allocator, as a KASAN cache: a freed table read through a stale pointer is a UAF. */
export const pte_cachep: kmem_cache<pte_table> = kmem_cache_create('pgtable', () => new pte_table(), 0, null, 4096);

/**
 * pte_alloc_one(mm): a fresh, empty PTE table (may fail under fault injection). It does not know
 * the address it will map: that is whichever PMD entry it is installed in (pmd_populate), which
 * move_normal_pmd may change later.
 */
export function* pte_alloc_one(mm: mm_struct): Task<pte_table | null> {
  void mm;
  if (yield* should_fail('pte_alloc_one:fail')) return null;
  return sim_kasan_track(new pte_table(), pte_cachep, 'pte_alloc_one');
}

/** pte_free(mm, table): back to the page allocator at once (no walker may still see it). */
export function pte_free(mm: mm_struct | null, table: pte_table): void {
  void mm;
  kmem_cache_free(pte_cachep, table, 'pte_free');
  table.freed = true;
}

/**
 * pte_free_defer(mm, table) (mm/pgtable-generic.c, 6.6): free after an RCU grace period, for
 * tables retracted while lockless __pte_offset_map() walkers may still map them.
 */
export function pte_free_defer(mm: mm_struct, table: pte_table): void {
  call_rcu(table, (t) => k.fn.pte_free(mm, t));
}

// ---------------------------------------------------------------------------------------------
// Mapping a PTE table (mm/pgtable-generic.c)

/**
 * __pte_offset_map(pmd, addr): read the PMD locklessly. 6.5+: under rcu_read_lock(); returns the
 * PTE table with RCU held (until pte_unmap), or null with RCU released when the PMD is none (the
 * caller must cope: the table may have been freed by khugepaged retraction or zap). ≤6.4
 * (pte_offset_map): no RCU; null stands for the caller's own pmd_none check.
 */
export function* __pte_offset_map(pmd: pmd_t, addr: number): Task<pte_table | null> {
  void addr;
  yield step('__pte_offset_map:pmdp_get_lockless', pmd);
  if (!k.cfg.pte_offset_map_can_fail) return pmd.table;
  rcu_read_lock();
  const table = pmd.table;
  if (table === null) {
    rcu_read_unlock();
    return null;
  }
  return table;
}

/**
 * pte_offset_map_lock(mm, pmd, addr): map the table and take its PTL. 6.5+: then re-check that
 * the PMD still points to this table (pmd_same); if it was replaced or cleared meanwhile, drop
 * both and start again; returns the table with RCU and table.ptl held, or null (nothing held).
 * ≤6.4: no re-check — the table the PMD pointed to when read, locked (null for a none PMD).
 */
export function* pte_offset_map_lock(mm: mm_struct, pmd: pmd_t, addr: number): Task<pte_table | null> {
  for (;;) {
    const table = yield* k.fn.__pte_offset_map(pmd, addr);
    if (table === null) return null;
    const ptl = k.fn.pte_lockptr(mm, table);
    yield* spin_lock(ptl);
    if (!k.cfg.pte_offset_map_can_fail) return table;
    if (pmd.table === table) return table; // pmd_same(pmdval, pmdp_get_lockless(pmd))
    k.fn.pte_unmap_unlock(table);
  }
}

/**
 * pte_offset_map_rw_nolock(mm, pmd, addr, &pmdval, &ptl): map without taking the PTL; the caller
 * takes table.ptl later and must then re-validate (pmd_same, or pte_same on a !pte_none entry).
 * RCU held on success.
 */
export function* pte_offset_map_rw_nolock(mm: mm_struct, pmd: pmd_t, addr: number): Task<pte_table | null> {
  void mm;
  return yield* k.fn.__pte_offset_map(pmd, addr);
}

/** pte_lockptr(mm, pmd): the split PTE lock of the table. */
export function pte_lockptr(mm: mm_struct, table: pte_table): pte_table['ptl'] {
  void mm;
  return table.ptl;
}

/** pte_unmap(pte): end the RCU section __pte_offset_map began (6.5+; ≤6.4 a no-op kunmap). */
export function pte_unmap(table: pte_table): void {
  void table;
  if (k.cfg.pte_offset_map_can_fail) rcu_read_unlock();
}

/** pte_unmap_unlock(pte, ptl). */
export function pte_unmap_unlock(table: pte_table): void {
  spin_unlock(table.ptl);
  k.fn.pte_unmap(table);
}

// ---------------------------------------------------------------------------------------------
// Reading and writing PTEs

/** ptep_get(ptep): a plain read of the entry (caller holds the PTL or re-validates). */
export function ptep_get(table: pte_table, addr: number): pte_t {
  kasan_check_read(table, 'ptep_get');
  return table.entries[k.fn.pte_index(addr)]!;
}

/** ptep_get_lockless(ptep): a racy snapshot (a scheduling point: other CPUs may write it). */
export function* ptep_get_lockless(table: pte_table, addr: number): Task<pte_t> {
  yield step('ptep_get_lockless', table);
  kasan_check_read(table, 'ptep_get_lockless');
  return table.entries[k.fn.pte_index(addr)]!;
}

/** set_pte_at(mm, addr, ptep, pte): store an entry (the caller yields before it; under the PTL). */
export function set_pte_at(mm: mm_struct, addr: number, table: pte_table, pte: pte_t): void {
  kasan_check_write(table, 'set_pte_at');
  if (pte.kind === 'present') {
    // pte_t keeps no protection bits but the write bit: the PROT_NONE state every caller's
    // mk_pte(page, vma->vm_page_prot) would give is taken from the VMA's vm_page_prot here (the
    // caller holds the lock that keeps it stable). A VMA not in the tree yet (a driver's ->mmap
    // prefaulting it) keeps what the caller made.
    const protnone = sim_vma_protnone(mm, addr);
    if (protnone !== null && protnone !== (pte.protnone ?? false)) pte = { ...pte, protnone };
  }
  table.entries[k.fn.pte_index(addr)] = pte;
}

/**
 * Whether the VMA mapping addr has a vm_page_prot without access (PROT_NONE): _PAGE_PROTNONE.
 * null when no VMA in the tree maps it (a driver's ->mmap prefaulting a VMA not inserted yet:
 * remap_pfn_range builds its entries from vma->vm_page_prot itself).
 */
function sim_vma_protnone(mm: mm_struct, addr: number): boolean | null {
  for (const v of mm.mm_mt.ma_root.slots) {
    if (v.vm_start <= addr && addr < v.vm_end) return (v.vm_page_prot & VM_ACCESS_FLAGS) === 0;
  }
  return null;
}


/** set_ptes(mm, addr, ptep, pte, nr) with nr == 1 (no large folios). */
export function set_ptes(mm: mm_struct, addr: number, table: pte_table, pte: pte_t, nr: number): void {
  VM_BUG_ON(nr !== 1, 'set_ptes: nr != 1 (large folios are left out)');
  k.fn.set_pte_at(mm, addr, table, pte);
}

/** pte_clear(mm, addr, ptep). */
export function pte_clear(mm: mm_struct, addr: number, table: pte_table): void {
  k.fn.set_pte_at(mm, addr, table, __pte_none);
}

/** ptep_get_and_clear(mm, addr, ptep): atomic exchange with none. */
export function ptep_get_and_clear(mm: mm_struct, addr: number, table: pte_table): pte_t {
  kasan_check_write(table, 'ptep_get_and_clear');
  const i = k.fn.pte_index(addr);
  const old = table.entries[i]!;
  table.entries[i] = __pte_none;
  void mm;
  return old;
}

/**
 * ptep_clear_flush(vma, addr, ptep): clear the entry and flush the TLB, so no CPU can still use
 * the old translation once this returns (the caller holds the PTL).
 */
export function ptep_clear_flush(vma: vm_area_struct, addr: number, table: pte_table): pte_t {
  const pte = k.fn.ptep_get_and_clear(vma.vm_mm, addr, table);
  if (pte.kind === 'present') k.fn.flush_tlb_page(vma, addr); // if (pte_accessible(mm, pte))
  return pte;
}

/**
 * ptep_set_access_flags(vma, addr, ptep, entry, dirty): relax the entry (young/dirty/write) in
 * place; true when it changed. Only ever makes an entry more permissive (x86 semantics).
 */
export function ptep_set_access_flags(vma: vm_area_struct, addr: number, table: pte_table, entry: pte_t, dirty: boolean): boolean {
  void dirty;
  const cur = k.fn.ptep_get(table, addr);
  if (k.fn.pte_same(cur, entry)) return false;
  k.fn.set_pte_at(vma.vm_mm, addr, table, entry);
  return true;
}

/** ptep_set_wrprotect(mm, addr, ptep) (fork's COW write-protection). */
export function ptep_set_wrprotect(mm: mm_struct, addr: number, table: pte_table): void {
  const cur = k.fn.ptep_get(table, addr);
  if (cur.kind === 'present') k.fn.set_pte_at(mm, addr, table, k.fn.pte_wrprotect(cur));
}

// ---------------------------------------------------------------------------------------------
// pte_t values (arch/x86/include/asm/pgtable.h, include/linux/swapops.h)

type present_pte = Extract<pte_t, { kind: 'present' }>;

/** pte_same(a, b): value equality (pte_val(a) == pte_val(b)). */
export function pte_same(a: pte_t, b: pte_t): boolean {
  if (a === b) return true;
  switch (a.kind) {
    case 'none':
      return b.kind === 'none';
    case 'present':
      return b.kind === 'present' && a.folio === b.folio && a.write === b.write && a.dirty === b.dirty &&
        a.young === b.young && a.special === b.special && a.uffd_wp === b.uffd_wp && (a.protnone ?? false) === (b.protnone ?? false);
    case 'swap':
      return b.kind === 'swap' && a.entry === b.entry && a.exclusive === b.exclusive && a.uffd_wp === b.uffd_wp;
    case 'marker':
      return b.kind === 'marker' && a.marker === b.marker;
    case 'migration':
      return b.kind === 'migration' && a.folio === b.folio && a.write === b.write;
  }
}

export function pte_write(p: pte_t): boolean {
  return p.kind === 'present' && p.write;
}
export function pte_dirty(p: pte_t): boolean {
  return p.kind === 'present' && p.dirty;
}
export function pte_uffd_wp(p: pte_t): boolean {
  return (p.kind === 'present' || p.kind === 'swap') && p.uffd_wp;
}

/** pte_protnone(pte): a PROT_NONE entry (present to the kernel, not to the MMU). */
export function pte_protnone(p: pte_t): boolean {
  return p.kind === 'present' && p.protnone === true;
}

/** mk_pte(folio, prot) / folio_mk_pte(): a present, read-only, clean, old entry. */
export function folio_mk_pte(f: folio, writable = false): pte_t {
  return { kind: 'present', folio: f, write: writable, dirty: false, young: false, special: false, uffd_wp: false };
}

function present(p: pte_t, what: string): present_pte {
  if (p.kind !== 'present') throw new Error(`${what} on a non-present pte (${p.kind})`);
  return p;
}

export function pte_mkwrite(p: pte_t, vma: vm_area_struct | null = null): pte_t {
  void vma;
  return { ...present(p, 'pte_mkwrite'), write: true };
}
export function pte_wrprotect(p: pte_t): pte_t {
  return { ...present(p, 'pte_wrprotect'), write: false };
}
export function pte_mkdirty(p: pte_t): pte_t {
  return { ...present(p, 'pte_mkdirty'), dirty: true };
}
export function pte_mkclean(p: pte_t): pte_t {
  return { ...present(p, 'pte_mkclean'), dirty: false };
}
export function pte_mkyoung(p: pte_t): pte_t {
  return { ...present(p, 'pte_mkyoung'), young: true };
}
export function pte_mkold(p: pte_t): pte_t {
  return { ...present(p, 'pte_mkold'), young: false };
}
export function pte_mkspecial(p: pte_t): pte_t {
  return { ...present(p, 'pte_mkspecial'), special: true };
}
export function pte_mkuffd_wp(p: pte_t): pte_t {
  if (p.kind === 'swap') return { ...p, uffd_wp: true };
  return { ...present(p, 'pte_mkuffd_wp'), uffd_wp: true, write: false };
}
export function pte_clear_uffd_wp(p: pte_t): pte_t {
  if (p.kind === 'swap') return { ...p, uffd_wp: false };
  return { ...present(p, 'pte_clear_uffd_wp'), uffd_wp: false };
}

/** maybe_mkwrite(pte, vma) (include/linux/mm.h): writable only where the VMA allows writes. */
export function maybe_mkwrite(p: pte_t, vma: vm_area_struct): pte_t {
  return (vma.vm_flags & VM_WRITE) !== 0 ? k.fn.pte_mkwrite(p, vma) : p;
}

/** swp_entry_to_pte(entry): a non-present swap PTE. */
export function swp_entry_to_pte(entry: swp_entry_t): pte_t {
  return { kind: 'swap', entry, exclusive: false, uffd_wp: false };
}
export function pte_swp_mkexclusive(p: pte_t): pte_t {
  if (p.kind !== 'swap') throw new Error(`pte_swp_mkexclusive on a ${p.kind} pte`);
  return { ...p, exclusive: true };
}

// ---------------------------------------------------------------------------------------------
// mm->rss_stat (include/linux/mm.h)

export type mm_counter_type = keyof mm_struct['rss_stat'];

export function add_mm_counter(mm: mm_struct, member: mm_counter_type, value: number): void {
  mm.rss_stat[member] += value;
}
export function inc_mm_counter(mm: mm_struct, member: mm_counter_type): void {
  mm.rss_stat[member]++;
}
export function dec_mm_counter(mm: mm_struct, member: mm_counter_type): void {
  mm.rss_stat[member]--;
}
/** mm_counter_file(folio): MM_FILEPAGES (shmem's MM_SHMEMPAGES is left out). */
export function mm_counter_file(f: folio): mm_counter_type {
  void f;
  return 'MM_FILEPAGES';
}
/** mm_counter(folio): anon or file. */
export function mm_counter(f: folio): mm_counter_type {
  return folio_test_anon(f) ? 'MM_ANONPAGES' : k.fn.mm_counter_file(f);
}
