/**
 * smaps-no-mmap-lock — the article's monitoring question answered the unsafe way ("Improving
 * page-fault scalability", LWN 2023: "the smaps file is more complicated; to collect its
 * information, it must be able to keep page tables from being freed, and that requires taking
 * the mmap_lock"): /proc/pid/smaps walks the VMAs and their page tables under rcu_read_lock()
 * alone (the smaps-rcu proposal, k.cfg.smaps_rcu, implemented in impl/mm/task_mmu.ts), on a
 * kernel whose page tables are NOT freed by RCU (k.cfg.mmu_gather_rcu_table_free off: x86 frees
 * them once the TLB-flush IPI has been acknowledged by every CPU, which holds off only walkers
 * running with interrupts disabled, such as GUP-fast).
 *
 * The story (kernel.md §1.5, I11, I21): the reader finds VMA A under RCU, maps A's PTE table
 * (__pte_offset_map) and is preempted between two ptep_get_lockless reads. Another thread
 * munmaps A: detach, zap, free_pgtables → tlb_remove_table → tlb_remove_table_sync_one (the IPI
 * waits for IRQs-off sections only) → the table is freed. The reader's next PTE read is a
 * use-after-free of the page table.
 *
 * Relative to the smaps-rcu proposal this is exactly one change: the proposal's prerequisite
 * (RCU-freed page tables, Rapoport's "feasible", Wilcox's "there might be demons") is left out.
 */
import { defineVariant } from '../sim/variant.js';

export default defineVariant({
  name: 'smaps-no-mmap-lock',
  base: 'v6.6',
  description:
    'smaps walks VMAs and page tables under rcu_read_lock only (no mmap_lock, no PTL) while page ' +
    'tables are freed after the TLB-flush IPI rather than an RCU grace period: a munmap frees the ' +
    'PTE table the walker is reading — a page-table use-after-free.',
  reverts: 'design: smaps under RCU without CONFIG_MMU_GATHER_RCU_TABLE_FREE (the smaps-rcu proposal minus RCU table freeing)',
  scenario: 'smaps-vs-munmap',
  config: { smaps_rcu: true, mmu_gather_rcu_table_free: false },
});
