/**
 * The article's proposals that may be safe ("Improving page-fault scalability", LWN, LSFMM+BPF
 * 2023), as configurations: a generation with the proposal's flag on (and, for the lockless
 * fault, the path that implements it). `faultline list configs` lists them beside the
 * generations; each is checked like a generation, and a counterexample is a finding about the
 * proposal (kept in test/regressions/).
 */
import { defineVariant, type Variant } from '../sim/variant.js';
import { locklessFaultOverrides } from './lockless_fault.js';

/** Hocko: "This problem could be avoided by simply holding the VMA lock while waiting." */
const ioHoldVmaLock = defineVariant({
  name: 'io-hold-vma-lock',
  base: 'v6.6',
  description:
    'do_swap_page under the VMA lock waits for the swap read holding the VMA read lock (folio_lock) ' +
    'instead of dropping it and retrying (Michal Hocko\'s suggestion): munmap of the range waits ' +
    'in vma_start_write for the read to finish.',
  config: { io_hold_vma_lock: true },
});

/**
 * smaps under RCU (impl/mm/task_mmu.ts, k.cfg.smaps_rcu): VMAs from the maple tree and page
 * tables through __pte_offset_map/ptep_get_lockless, no mmap_lock and no PTL; page tables freed
 * after a grace period (mmu_gather_rcu_table_free, which v6.6 — an x86 build without PARAVIRT —
 * does not have: the proposal turns it on). Without it the same design is the zoo mutant
 * smaps-no-mmap-lock (a page-table use-after-free).
 */
const smapsRcu = defineVariant({
  name: 'smaps-rcu',
  base: 'v6.6',
  description:
    '/proc/pid/smaps walks VMAs and page tables under rcu_read_lock only, relying on page tables ' +
    'freed by RCU (CONFIG_MMU_GATHER_RCU_TABLE_FREE) instead of mmap_read_lock.',
  config: { smaps_rcu: true, mmu_gather_rcu_table_free: true },
});

/** A first-touch anonymous fault with no VMA lock, validated by mm_lock_seq (lockless_fault.ts). */
const locklessFault = defineVariant({
  name: 'lockless-fault',
  base: 'v6.15',
  description:
    'first-touch anonymous faults take no VMA lock and no reference: a copy of the VMA found under ' +
    'RCU, validated against the mm_lock_seq seqcount after the copy and again under the PTL before ' +
    'the PTE is installed (speculative page faults on today\'s mmap_lock_speculate_try_begin/retry); ' +
    'anything else, or a changed sequence, takes the VMA-lock path.',
  config: { lockless_fault: true },
  overrides: locklessFaultOverrides(true),
});

export const PROPOSALS: readonly Variant[] = [ioHoldVmaLock, smapsRcu, locklessFault];
