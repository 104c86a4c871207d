/**
 * Kernel: arch/x86/mm/tlb.c (flush_tlb_mm_range, flush_tlb_page, flush_tlb_mm) — and the hardware
 * TLB they flush, which the kernel cannot see but has to reason about (kernel.md I16: "TLB before
 * reuse"; B8's stale writable TLB entry).
 *
 * The TLB is per CPU; here per user thread (a thread is a CPU while it runs). A successful
 * page-table walk of the simulated MMU (impl/sim/user.ts) fills the thread's entry for that page
 * with the folio and the PTE's write permission; later accesses use the entry without walking
 * while it permits the access. Entries leave only through the flushes below (no capacity
 * evictions: the adversarial choice, since a stale entry is what a missing flush leaves behind).
 * A flush is an IPI to every CPU that may hold entries of the mm: all of its threads' entries go.
 *
 * Left out: PCIDs and lazy TLB mode, ranges (a flush of any range of an mm drops all of the mm's
 * entries — never fewer than the kernel would), paging-structure caches (page-table pages are
 * freed only after a flush, which is all that matters here), huge pages.
 */
import { k } from '../../../sim/kernel.js';
import type { folio, mm_struct, vm_area_struct } from '../../../include/linux/mm_types.js';

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

/** flush_tlb_mm_range(mm, start, end, stride_shift, freed_tables): shoot down mm's entries on every CPU. */
export function flush_tlb_mm_range(mm: mm_struct, _start: number, _end: number): void {
  for (const per of tlbs().values()) per.delete(mm);
}

/** flush_tlb_page(vma, addr). */
export function flush_tlb_page(vma: vm_area_struct, addr: number): void {
  k.fn.flush_tlb_mm_range(vma.vm_mm, addr, addr + 1);
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
