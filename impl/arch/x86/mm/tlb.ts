/**
 * Kernel: arch/x86/mm/tlb.c (flush_tlb_mm_range, flush_tlb_page), arch/x86/include/asm/tlbflush.h
 * (flush_tlb_mm, flush_tlb_range) — and the hardware TLB they flush, which the kernel cannot see
 * but has to reason about (kernel.md I16: "TLB before reuse"; B8's stale writable TLB entry).
 *
 * The TLB is per CPU; here per user thread (a thread is a CPU while it runs). A successful
 * page-table walk of the simulated MMU (impl/sim/user.ts) fills the thread's entry for that page
 * with the folio and the PTE's write permission; later accesses use the entry without walking
 * while it permits the access. Entries leave only through the flushes below (no capacity
 * evictions: the adversarial choice, since a stale entry is what a missing flush leaves behind).
 * A flush is an IPI to every CPU that may hold entries of the mm (mm_cpumask): on each, only the
 * entries of that mm in the flushed range go — flush_tlb_range / flush_tlb_page / a gather's
 * tlb_flush flush [start, end), flush_tlb_mm (TLB_FLUSH_ALL) everything of the mm. An entry of a
 * page outside the range survives, stale or not, and stays usable: a wrong range or a late flush
 * shows up as a load or store through it (a freed folio: KASAN; a replaced one: what the model
 * says the access must see).
 *
 * Left out: PCIDs and lazy TLB mode, x86's tlb_single_page_flush_ceiling (a range of more than 33
 * pages is flushed whole: deliberately not modelled — other architectures flush far larger ranges
 * exactly, so a generic-mm range bug must not hide behind x86's rounding), paging-structure caches
 * (page-table pages are freed only after a flush, which is all that matters here; freed_tables is
 * recorded, not acted on), huge pages (stride_shift).
 */
import { k } from '../../../sim/kernel.js';
import type { folio, mm_struct, vm_area_struct } from '../../../include/linux/mm_types.js';
import { PAGE_SHIFT, PAGE_SIZE } from '../../../include/linux/mm_flags.js';
import type { Task } from '../../../rt/task.js';

/** TLB_FLUSH_ALL (arch/x86/include/asm/tlbflush.h): -1UL. */
export const TLB_FLUSH_ALL = -1;

/** One cached translation. */
export interface sim_tlb_entry {
  readonly folio: folio;
  readonly write: boolean;
}

/** Every thread's TLB: task id → (mm → page address → entry). */
type TlbState = Map<number, Map<mm_struct, Map<number, sim_tlb_entry>>>;

function tlbs(): TlbState {
  return k.state<TlbState>('tlb', () => new Map());
}

/** The MMU's lookup: the cached translation of addr's page for this thread, if any. */
export function sim_tlb_lookup(tid: number, mm: mm_struct, page: number): sim_tlb_entry | undefined {
  return tlbs().get(tid)?.get(mm)?.get(page);
}

/** The MMU's fill after a successful walk. */
export function sim_tlb_fill(tid: number, mm: mm_struct, page: number, e: sim_tlb_entry): void {
  const all = tlbs();
  let per = all.get(tid);
  if (!per) all.set(tid, (per = new Map()));
  let m = per.get(mm);
  if (!m) per.set(mm, (m = new Map()));
  m.set(page, e);
}

/**
 * flush_tlb_mm_range(mm, start, end, stride_shift, freed_tables): shoot down mm's entries of
 * [start, end) on every CPU (end TLB_FLUSH_ALL: all of mm's entries). Atomic (the initiator waits
 * for every CPU's acknowledgement; the scheduling point is the caller's).
 */
export function flush_tlb_mm_range(mm: mm_struct, start: number, end: number, stride_shift = PAGE_SHIFT, freed_tables = false): void {
  void stride_shift;
  void freed_tables;
  for (const per of tlbs().values()) {
    if (end === TLB_FLUSH_ALL) {
      per.delete(mm);
      continue;
    }
    const m = per.get(mm);
    if (!m) continue;
    for (const page of m.keys()) if (page + PAGE_SIZE > start && page < end) m.delete(page);
  }
}

/** flush_tlb_page(vma, addr): the page of addr in vma's mm. */
export function flush_tlb_page(vma: vm_area_struct, addr: number): void {
  const page = addr - (addr % PAGE_SIZE);
  k.fn.flush_tlb_mm_range(vma.vm_mm, page, page + PAGE_SIZE, PAGE_SHIFT, false);
}

/** flush_tlb_range(vma, start, end): [start, end) of vma's mm (a scheduling point: the IPI). */
export function* flush_tlb_range(vma: vm_area_struct, start: number, end: number): Task<void> {
  yield 'flush_tlb_range';
  k.fn.flush_tlb_mm_range(vma.vm_mm, start, end, PAGE_SHIFT, false);
}

/** flush_tlb_mm(mm): every TLB entry of mm (dup_mmap's parent flush after COW). */
export function* flush_tlb_mm(mm: mm_struct): Task<void> {
  yield 'flush_tlb_mm';
  k.fn.flush_tlb_mm_range(mm, 0, TLB_FLUSH_ALL, 0, true);
}

/**
 * destroy_context(mm) (the simulated TLBs' part): forget every thread's entries of an mm being
 * freed (__mmdrop). exit_mmap's full flush has already dropped them; this only lets the TLB
 * state hold no reference to a freed mm.
 */
export function sim_tlb_destroy_context(mm: mm_struct): void {
  for (const per of tlbs().values()) per.delete(mm);
}

/** The number of cached translations of mm across all threads (for tests). */
export function sim_tlb_entries(mm: mm_struct): number {
  let n = 0;
  for (const per of tlbs().values()) n += per.get(mm)?.size ?? 0;
  return n;
}
