/**
 * Kernel: mm/mmu_gather.c, include/asm-generic/tlb.h, arch/x86/include/asm/tlb.h (tlb_flush),
 * include/linux/mm_types.h (inc/dec_tlb_flush_pending, mm_tlb_flush_nested) — the
 * mmu_gather: batching of the TLB flush, of the folios a zap releases and of the page tables
 * free_pgtables releases, so that nothing is freed before the TLB entries that could still reach
 * it are gone.
 *
 * - The gather tracks the range it must flush (tlb->start/end, __tlb_adjust_range) from the PTEs
 *   cleared (tlb_remove_tlb_entry → tlb_flush_pte_range) and the tables freed (pte_free_tlb →
 *   tlb_flush_pmd_range); tlb_flush_mmu_tlbonly flushes only that range (x86 tlb_flush:
 *   flush_tlb_mm_range(mm, start, end, …), everything for a fullmm gather) and resets it.
 *   Entries of pages outside the range stay in every CPU's TLB (arch/x86/mm/tlb.ts).
 * - tlb_remove_folio queues a folio; the references are dropped (folio_put) only in
 *   tlb_batch_pages_flush, after tlb_flush_mmu_tlbonly (I16).
 * - The flush is deferred: between a PTE clear and tlb_finish_mmu (or a forced flush when the
 *   batch is full) other CPUs keep their entries. mm->tlb_flush_pending counts the gathers in
 *   flight (tlb_gather_mmu increments, tlb_finish_mmu decrements); tlb_finish_mmu flushes the
 *   whole mm when another gather of the mm is in flight (mm_tlb_flush_nested: a parallel zap under
 *   mmap_read_lock may have found the PTE already clear and skipped its flush, 7a30df49f63a).
 * - pte_free_tlb → tlb_remove_table. With CONFIG_MMU_GATHER_RCU_TABLE_FREE
 *   (k.cfg.mmu_gather_rcu_table_free) the tables are batched and tlb_table_flush hands the batch
 *   to call_rcu (tlb_remove_table_rcu): a lockless walker — GUP-fast with IRQs off, or a
 *   pte_offset_map() under rcu_read_lock — keeps them alive (I11). Without it (x86 without
 *   PARAVIRT) the kernel frees them with the pages after the flush, once the flush IPI has reached
 *   every CPU: modelled as tlb_remove_table_sync_one (synchronize_irqs_off: wait for every
 *   IRQs-off section) then free.
 *
 * Left out: delayed rmap removal (delay_rmap), the batch page allocation failing (the
 * tlb_remove_table_one fallback), hugetlb/PMD tables, the cleared_p4ds/puds levels, reclaim's
 * batched unmap flush (TTU_BATCH_FLUSH / flush_tlb_batched_pending: reclaim flushes per page
 * here, ptep_clear_flush).
 */
import type { Task } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import type { folio, mm_struct, pte_table } from '../include/linux/mm_types.js';
import { call_rcu, synchronize_irqs_off } from '../sync/rcu.js';
import { PAGE_SHIFT, PAGE_SIZE, TASK_SIZE } from '../include/linux/mm_flags.js';
import { TLB_FLUSH_ALL } from '../arch/x86/mm/tlb.js';

/** MAX_GATHER_BATCH: folios queued before the gather must flush (small, to exercise flushing). */
export const MAX_GATHER_BATCH = 8;

/** struct mmu_gather (include/asm-generic/tlb.h), the fields the simulation uses. */
export interface mmu_gather {
  readonly mm: mm_struct;
  /** tlb_gather_mmu_fullmm: the whole address space goes away (exit_mmap); set by tlb_finish_mmu when nested. */
  fullmm: boolean;
  /** The range to flush: [start, end) (empty: start TASK_SIZE, end 0; fullmm: both ~0). */
  start: number;
  end: number;
  /** Page tables were queued: the flush must also invalidate paging-structure caches. */
  freed_tables: boolean;
  /** PTEs were cleared since the last flush (tlb_flush_pte_range). */
  cleared_ptes: boolean;
  /** A PMD entry was cleared since the last flush (tlb_flush_pmd_range). */
  cleared_pmds: boolean;
  /** The batch of folios whose references drop after the flush (struct mmu_gather_batch). */
  readonly pages: folio[];
  /** struct mmu_table_batch: page tables freed after the flush (and a grace period). */
  readonly tables: pte_table[];
  /** Number of TLB flushes issued (for tests). */
  flushes: number;
}

// ---------------------------------------------------------------------------------------------
// mm->tlb_flush_pending (include/linux/mm_types.h)

/** inc_tlb_flush_pending(mm): a batched flush of mm is in flight (before the first PTE change). */
export function inc_tlb_flush_pending(mm: mm_struct): void {
  mm.tlb_flush_pending++;
}

/** dec_tlb_flush_pending(mm): after the flush. */
export function dec_tlb_flush_pending(mm: mm_struct): void {
  mm.tlb_flush_pending--;
}

/** mm_tlb_flush_nested(mm): more than one batched flush of mm is in flight. */
export function mm_tlb_flush_nested(mm: mm_struct): boolean {
  return mm.tlb_flush_pending > 1;
}

// ---------------------------------------------------------------------------------------------
// The gather

/** __tlb_reset_range(tlb): nothing left to flush. */
export function __tlb_reset_range(tlb: mmu_gather): void {
  if (tlb.fullmm) {
    tlb.start = tlb.end = Number.MAX_SAFE_INTEGER; // ~0
  } else {
    tlb.start = TASK_SIZE;
    tlb.end = 0;
  }
  tlb.freed_tables = false;
  tlb.cleared_ptes = false;
  tlb.cleared_pmds = false;
}

/** __tlb_adjust_range(tlb, address, range_size): widen the range to flush. */
export function __tlb_adjust_range(tlb: mmu_gather, address: number, range_size: number): void {
  tlb.start = Math.min(tlb.start, address);
  tlb.end = Math.max(tlb.end, address + range_size);
}

/** __tlb_gather_mmu(tlb, mm, fullmm): an empty gather; mm->tlb_flush_pending raised. */
export function __tlb_gather_mmu(mm: mm_struct, fullmm: boolean): mmu_gather {
  const tlb: mmu_gather = {
    mm, fullmm, start: 0, end: 0, freed_tables: false, cleared_ptes: false, cleared_pmds: false,
    pages: [], tables: [], flushes: 0,
  };
  k.fn.__tlb_reset_range(tlb);
  k.fn.inc_tlb_flush_pending(mm);
  return tlb;
}

/**
 * tlb_gather_mmu(tlb, mm): start a gather. The kernel fills a caller-provided struct; here the
 * function returns it.
 */
export function tlb_gather_mmu(mm: mm_struct): mmu_gather {
  return k.fn.__tlb_gather_mmu(mm, false);
}

/** tlb_gather_mmu_fullmm(tlb, mm): a gather for tearing down the whole address space. */
export function tlb_gather_mmu_fullmm(mm: mm_struct): mmu_gather {
  return k.fn.__tlb_gather_mmu(mm, true);
}

/** tlb_flush_pte_range(tlb, address, size): PTEs of the range were cleared or changed. */
export function tlb_flush_pte_range(tlb: mmu_gather, address: number, size: number): void {
  k.fn.__tlb_adjust_range(tlb, address, size);
  tlb.cleared_ptes = true;
}

/** tlb_flush_pmd_range(tlb, address, size): a PMD entry of the range was cleared. */
export function tlb_flush_pmd_range(tlb: mmu_gather, address: number, size: number): void {
  k.fn.__tlb_adjust_range(tlb, address, size);
  tlb.cleared_pmds = true;
}

/**
 * tlb_remove_tlb_entry(tlb, ptep, address): the PTE of address was cleared or changed; its page
 * joins the range to flush.
 */
export function tlb_remove_tlb_entry(tlb: mmu_gather, address: number): void {
  k.fn.tlb_flush_pte_range(tlb, address, PAGE_SIZE);
}

/**
 * __tlb_remove_folio / tlb_remove_folio(tlb, folio): queue a folio reference to drop after the
 * flush. Returns true when the batch is full: the caller (zap_pte_range) must force a flush.
 */
export function __tlb_remove_folio(tlb: mmu_gather, f: folio): boolean {
  tlb.pages.push(f);
  return tlb.pages.length >= MAX_GATHER_BATCH;
}

/**
 * tlb_flush(tlb) (arch/x86/include/asm/tlb.h): flush the gathered range of tlb->mm on every CPU,
 * or all of it for a fullmm gather.
 */
export function tlb_flush(tlb: mmu_gather): void {
  let start = 0;
  let end = TLB_FLUSH_ALL;
  if (!tlb.fullmm) {
    start = tlb.start;
    end = tlb.end;
  }
  k.fn.flush_tlb_mm_range(tlb.mm, start, end, PAGE_SHIFT, tlb.freed_tables);
}

/**
 * tlb_flush_mmu_tlbonly(tlb): flush the TLB for the gathered range (a scheduling point: the IPI),
 * then start a new range. Nothing to do when nothing was cleared.
 */
export function* tlb_flush_mmu_tlbonly(tlb: mmu_gather): Task<void> {
  // Anything calling __tlb_adjust_range() also sets at least one of these bits.
  if (!(tlb.freed_tables || tlb.cleared_ptes || tlb.cleared_pmds)) return;
  yield 'tlb_flush_mmu_tlbonly:flush_tlb_range';
  k.fn.tlb_flush(tlb);
  tlb.flushes++;
  k.fn.__tlb_reset_range(tlb);
}

/** tlb_batch_pages_flush(tlb): drop the queued folio references (free_pages_and_swap_cache). */
export function* tlb_batch_pages_flush(tlb: mmu_gather): Task<void> {
  if (tlb.pages.length === 0) return;
  yield 'tlb_batch_pages_flush:free_pages_and_swap_cache';
  const batch = tlb.pages.splice(0);
  for (const f of batch) k.fn.folio_put(f);
}

/**
 * __tlb_remove_table(table): give a page table back to the page allocator
 * (pagetable_dtor_free). Freed tables are poisoned (pte_table.freed) so a walker that reaches
 * one reports a use-after-free.
 */
export function __tlb_remove_table(table: pte_table): void {
  k.fn.pte_free(null, table);
}

/** tlb_remove_table_rcu: the RCU callback freeing a batch of tables. */
export function tlb_remove_table_rcu(batch: pte_table[]): void {
  for (const t of batch) k.fn.__tlb_remove_table(t);
}

/**
 * tlb_remove_table_sync_one(): IPI every CPU and wait; returns once no CPU is still in an
 * IRQs-off section that began before (GUP-fast).
 */
export function* tlb_remove_table_sync_one(): Task<void> {
  yield* synchronize_irqs_off();
}

/**
 * tlb_table_flush(tlb): hand the batch of tables to RCU (MMU_GATHER_RCU_TABLE_FREE), or free them
 * after the flush IPI.
 */
export function* tlb_table_flush(tlb: mmu_gather): Task<void> {
  if (tlb.tables.length === 0) return;
  const batch = tlb.tables.splice(0);
  if (k.cfg.mmu_gather_rcu_table_free) {
    // tlb_remove_table_free → call_rcu(&batch->rcu, tlb_remove_table_rcu)
    yield 'tlb_table_flush:call_rcu';
    call_rcu(batch, (b) => k.fn.tlb_remove_table_rcu(b));
  } else {
    // Without RCU table freeing the tables go with the pages, after the flush has been seen by
    // every CPU: the IPI waits for IRQs-off walkers.
    yield* k.fn.tlb_remove_table_sync_one();
    for (const t of batch) k.fn.__tlb_remove_table(t);
  }
}

/**
 * tlb_remove_table(tlb, table): queue a page table to free once no TLB entry, paging-structure
 * cache or lockless walker can reach it. Called without the PTL, after the PMD entry was cleared.
 */
export function tlb_remove_table(tlb: mmu_gather, table: pte_table): void {
  tlb.tables.push(table);
}

/**
 * pte_free_tlb(tlb, ptep, address): tlb_flush_pmd_range(tlb, address, PAGE_SIZE),
 * tlb->freed_tables = 1, then ___pte_free_tlb → tlb_remove_table (x86).
 */
export function pte_free_tlb(tlb: mmu_gather, table: pte_table, address: number): void {
  k.fn.tlb_flush_pmd_range(tlb, address, PAGE_SIZE);
  tlb.freed_tables = true;
  k.fn.tlb_remove_table(tlb, table);
}

/** tlb_flush_mmu_free(tlb): free what the last flush made unreachable: tables, then pages. */
export function* tlb_flush_mmu_free(tlb: mmu_gather): Task<void> {
  yield* k.fn.tlb_table_flush(tlb);
  yield* k.fn.tlb_batch_pages_flush(tlb);
}

/** tlb_flush_mmu(tlb): flush the TLB, then free the gathered pages and tables. */
export function* tlb_flush_mmu(tlb: mmu_gather): Task<void> {
  yield* k.fn.tlb_flush_mmu_tlbonly(tlb);
  yield* k.fn.tlb_flush_mmu_free(tlb);
}

/**
 * tlb_finish_mmu(tlb): the final flush and free of a gather. When another gather of the mm is in
 * flight (mm_tlb_flush_nested) — parallel PTE changes under a non-exclusive lock, one of which may
 * have found a PTE already cleared by the other and left its flush to it — flush the whole mm.
 * Then mm->tlb_flush_pending drops.
 */
export function* tlb_finish_mmu(tlb: mmu_gather): Task<void> {
  if (k.fn.mm_tlb_flush_nested(tlb.mm)) {
    tlb.fullmm = true;
    k.fn.__tlb_reset_range(tlb);
    tlb.freed_tables = true;
  }
  yield* k.fn.tlb_flush_mmu(tlb);
  k.fn.dec_tlb_flush_pending(tlb.mm);
}
