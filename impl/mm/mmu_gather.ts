/**
 * Kernel: mm/mmu_gather.c, include/asm-generic/tlb.h — the mmu_gather: batching of the TLB
 * flush, of the folios a zap releases and of the page tables free_pgtables releases, so that
 * nothing is freed before the TLB entries that could still reach it are gone.
 *
 * - tlb_remove_folio queues a folio; the references are dropped (folio_put) only in
 *   tlb_batch_pages_flush, after tlb_flush_mmu_tlbonly (I16).
 * - pte_free_tlb → tlb_remove_table. With CONFIG_MMU_GATHER_RCU_TABLE_FREE
 *   (k.cfg.mmu_gather_rcu_table_free) the tables are batched and tlb_table_flush hands the batch
 *   to call_rcu (tlb_remove_table_rcu): a lockless walker — GUP-fast with IRQs off, or a
 *   pte_offset_map() under rcu_read_lock — keeps them alive (I11). Without it the kernel frees
 *   them with the pages after the flush, once the flush IPI has reached every CPU: modelled as
 *   tlb_remove_table_sync_one (synchronize_irqs_off: wait for every IRQs-off section) then free.
 *
 * The flushes shoot down the simulated TLBs (arch/x86/mm/tlb.ts). Left out: range tracking for
 * partial flushes, delayed rmap removal (delay_rmap), the batch page allocation failing (the
 * tlb_remove_table_one fallback), hugetlb/PMD tables.
 */
import type { Task } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import type { folio, mm_struct, pte_table } from '../include/linux/mm_types.js';
import { call_rcu, synchronize_irqs_off } from '../sync/rcu.js';
import { TASK_SIZE } from '../include/linux/mm_flags.js';

/** MAX_GATHER_BATCH: folios queued before the gather must flush (small, to exercise flushing). */
export const MAX_GATHER_BATCH = 8;

/** struct mmu_gather (include/asm-generic/tlb.h), the fields the simulation uses. */
export interface mmu_gather {
  readonly mm: mm_struct;
  /** tlb_gather_mmu_fullmm: the whole address space goes away (exit_mmap). */
  readonly fullmm: boolean;
  /** Page tables were queued: the flush must also invalidate paging-structure caches. */
  freed_tables: boolean;
  /** PTEs were cleared since the last flush (tlb->end > tlb->start). */
  need_flush: boolean;
  /** The batch of folios whose references drop after the flush (struct mmu_gather_batch). */
  readonly pages: folio[];
  /** struct mmu_table_batch: page tables freed after the flush (and a grace period). */
  readonly tables: pte_table[];
  /** Number of TLB flushes issued (for tests). */
  flushes: number;
}

/**
 * tlb_gather_mmu(tlb, mm): start a gather. The kernel fills a caller-provided struct; here the
 * function returns it.
 */
export function tlb_gather_mmu(mm: mm_struct): mmu_gather {
  return { mm, fullmm: false, freed_tables: false, need_flush: false, pages: [], tables: [], flushes: 0 };
}

/** tlb_gather_mmu_fullmm(tlb, mm): a gather for tearing down the whole address space. */
export function tlb_gather_mmu_fullmm(mm: mm_struct): mmu_gather {
  return { mm, fullmm: true, freed_tables: false, need_flush: false, pages: [], tables: [], flushes: 0 };
}

/** tlb_remove_tlb_entry(tlb, ptep, address): a PTE was cleared; the range needs a flush. */
export function tlb_remove_tlb_entry(tlb: mmu_gather, _address: number): void {
  tlb.need_flush = true;
}

/**
 * __tlb_remove_folio / tlb_remove_folio(tlb, folio): queue a folio reference to drop after the
 * flush. Returns true when the batch is full: the caller (zap_pte_range) must force a flush.
 */
export function __tlb_remove_folio(tlb: mmu_gather, f: folio): boolean {
  tlb.pages.push(f);
  tlb.need_flush = true;
  return tlb.pages.length >= MAX_GATHER_BATCH;
}

/** tlb_flush_mmu_tlbonly(tlb): flush the TLB for the gathered range (a scheduling point). */
export function* tlb_flush_mmu_tlbonly(tlb: mmu_gather): Task<void> {
  if (!tlb.need_flush && !tlb.freed_tables) return;
  yield 'tlb_flush_mmu_tlbonly:flush_tlb_range';
  k.fn.flush_tlb_mm_range(tlb.mm, 0, TASK_SIZE);
  tlb.flushes++;
  tlb.need_flush = false;
}

/** tlb_batch_pages_flush(tlb): drop the queued folio references (free_pages_and_swap_cache). */
function* tlb_batch_pages_flush(tlb: mmu_gather): Task<void> {
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
function tlb_remove_table_rcu(batch: pte_table[]): void {
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
function* tlb_table_flush(tlb: mmu_gather): Task<void> {
  if (tlb.tables.length === 0) return;
  const batch = tlb.tables.splice(0);
  if (k.cfg.mmu_gather_rcu_table_free) {
    // tlb_remove_table_free → call_rcu(&batch->rcu, tlb_remove_table_rcu)
    yield 'tlb_table_flush:call_rcu';
    call_rcu(batch, tlb_remove_table_rcu);
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
  tlb.freed_tables = true;
}

/** pte_free_tlb(tlb, ptep, address) → ___pte_free_tlb → tlb_remove_table (x86 paravirt). */
export function pte_free_tlb(tlb: mmu_gather, table: pte_table, _address: number): void {
  tlb.need_flush = true;
  k.fn.tlb_remove_table(tlb, table);
}

/** tlb_flush_mmu_free(tlb): free what the last flush made unreachable: tables, then pages. */
function* tlb_flush_mmu_free(tlb: mmu_gather): Task<void> {
  yield* tlb_table_flush(tlb);
  yield* tlb_batch_pages_flush(tlb);
}

/** tlb_flush_mmu(tlb): flush the TLB, then free the gathered pages and tables. */
export function* tlb_flush_mmu(tlb: mmu_gather): Task<void> {
  yield* k.fn.tlb_flush_mmu_tlbonly(tlb);
  yield* tlb_flush_mmu_free(tlb);
}

/** tlb_finish_mmu(tlb): the final flush and free of a gather. */
export function* tlb_finish_mmu(tlb: mmu_gather): Task<void> {
  yield* k.fn.tlb_flush_mmu(tlb);
  tlb.freed_tables = false;
}

/** flush_tlb_mm(mm): flush every TLB entry of mm (dup_mmap's parent flush after COW). */
export function* flush_tlb_mm(mm: mm_struct): Task<void> {
  yield 'flush_tlb_mm';
  k.fn.flush_tlb_mm_range(mm, 0, TASK_SIZE);
}
