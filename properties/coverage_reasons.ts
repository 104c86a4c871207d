/**
 * Why a kernel function or a step label of impl/ is not reached by the default v6.6 campaign
 * (`faultline coverage --config v6.6`): the short reason `faultline coverage` and verify print beside
 * it, and the README's list repeats. Keys: `fn:<name>` for a function of the table, `label:<label>`
 * for a step label. A test checks that every key still names a function or a label; an entry whose
 * function becomes reachable should leave this list (the reason is printed only while it is
 * unreached).
 *
 * Each reason starts with its class, which the README's figures group by:
 *   - "another generation" / "a proposal" / "a flag off": code a v6.6 kernel never runs (it is
 *     reached by `faultline coverage --config <that generation or variant>`);
 *   - "rare": a path the default campaign's workloads can take but did not in its 2,000 runs;
 *   - "left out": a kernel mechanism the simulation does not model, so nothing can drive it;
 *   - "not in the default campaign": reached only with a flag the default campaign leaves off.
 *
 * Measured on the default campaign (2,000 runs per family, portfolio, seed 1) of v6.6.
 */

const V615_REFCNT = 'another generation (v6.15): the refcounted VMA lock (vm_refcnt, 6.15+)';
const V615_MTDUP = 'another generation (v6.15): fork copies the maple tree with __mt_dup (6.8+)';
const V615_MMAP = 'another generation (v6.15): mmap_region maps over the gathered old VMAs (__mmap_region, 6.12+)';
const V615_SWAPIN = 'another generation (v6.15): synchronous swap-in that skips the swap cache';
const V615_UFFD = 'another generation (v6.15): UFFDIO_COPY under the VMA lock';
const V615 = 'another generation (v6.15) and the lockless-fault proposal: __vmf_anon_prepare';
const V64 = 'another generation (v6.4 only)';
const OLD_RETRACT = 'another generation (v6.3, v6.4): retract_page_tables under mmap_write_trylock with collapse_and_free_pmd (≤6.5)';
const RCU_TABLE = 'another generation (v6.15): page tables freed by RCU (MMU_GATHER_RCU_TABLE_FREE), off in v6.6 as on native x86';
const LOCKLESS = 'a proposal: lockless-fault only';
const SMAPS_RCU = 'a proposal: smaps-rcu only';
const MADVISE_VMA = 'a flag off: MADV_DONTNEED under the VMA lock (madvise_dontneed_vma_lock, off in every configuration; a variant can turn it on)';
const MAPS_VMA = 'a flag off: /proc/pid/maps under per-VMA locks (6.17; maps_under_vma_lock, off in every configuration; a variant can turn it on)';
const THP =
  'rare: an operation meeting a huge PMD in the one way this entry needs (the general generator starts a 2 MiB anonymous region ' +
  'huge in some workloads, layout.ts startsHuge; mprotect or mremap of the whole 2 MiB, O_DIRECT through GUP-fast, or a fault racing a collapse or a split)';
const THP_SHARE =
  'left out: sharing a THP at fork (copy_huge_pmd always takes its maybe-pinned branch and splits, impl/mm/huge_memory.ts) and uffd-wp, ' +
  'so no huge PMD is ever read-only in a writable VMA and the write fault on one has no trigger (test/mm/huge_memory.test.ts drives it by hand)';
const COLLAPSE = 'rare: khugepaged collapsing an anonymous 2 MiB range (see the huge-PMD entries)';
const COLLAPSE_SWAPIN = 'rare: khugepaged collapsing a 2 MiB anonymous range with swapped-out pages (a region that starts huge has none swapped out; reclaim does not split THPs)';
const FILE_COLLAPSE = 'rare: khugepaged\'s file collapse of a 2 MiB file region (layout.ts fileSizesOf: the file fills it) with a page mapped, while khugepaged runs';
const MOVE_PMD = 'rare: mremap moving a whole PMD-aligned 2 MiB range to an empty PMD (move_normal_pmd)';
const UFFD_MOVE =
  'rare: UFFDIO_MOVE that gets past its checks needs a userfaultfd context and both pages in private anonymous VMAs ' +
  '(in a sample of 2,000 general workloads, 157 issue it, 26 reach userfaultfd_move, 4 with both VMAs anonymous)';
const WRITE_NOTIFY = 'rare: a write fault on a read-only PTE of a shared file or PFN mapping (write-notify)';
const UFFD_WP = 'left out: userfaultfd write-protect mode (the model has no UFFDIO_WRITEPROTECT; registrations are MISSING mode)';
const NUMA = 'left out: NUMA balancing (change_prot_numa) makes the NUMA-hinting entries do_numa_page restores';
const NO_MIGRATION = 'left out: page migration (no operation makes migration entries)';
const FAILPATH = 'not in the default campaign: an allocation-failure path (faultline check/coverage --fault-injection P)';
const UNUSED_PRIMITIVE = 'a primitive of impl/sync no simulated kernel path calls (kept for variants and tests)';

export const UNREACHED_REASONS: Readonly<Record<string, string>> = {
  // Another generation, a proposal or a flag off.
  'fn:__vma_are_readers_excluded': V615_REFCNT,
  'fn:__vma_end_exclude_readers': V615_REFCNT,
  'fn:__vma_exclude_readers_for_detach': V615_REFCNT,
  'fn:__vma_refcount_put_return': V615_REFCNT,
  'fn:__vma_start_exclude_readers': V615_REFCNT,
  'fn:mm_lock_seqcount_end': V615_REFCNT,
  'fn:vma_assert_attached': V615_REFCNT,
  'fn:vma_assert_detached': V615_REFCNT,
  'fn:vma_is_attached': V615_REFCNT,
  'fn:vma_mark_attached': V615_REFCNT,
  'fn:vma_refcount_put': V615_REFCNT,
  'fn:vma_start_read_locked': V615_REFCNT,
  'label:vma_refcount_put:rcuwait_wake_up': V615_REFCNT,
  'label:vma_start_read:vm_refcnt': V615_REFCNT,
  'label:__vma_start_write:vm_refcnt': V615_REFCNT,
  'label:vma_mark_detached:vm_refcnt': V615_REFCNT,
  'label:rcuwait_wait_event': V615_REFCNT,
  'fn:__mt_dup': V615_MTDUP,
  'label:__mt_dup': V615_MTDUP,
  'fn:__mmap_complete': V615_MMAP,
  'fn:__mmap_new_vma': V615_MMAP,
  'fn:__mmap_prepare': V615_MMAP,
  'fn:__mmap_region': V615_MMAP,
  'fn:reattach_vmas': V615_MMAP,
  'fn:vms_abort_munmap_vmas': V615_MMAP,
  'fn:vms_clean_up_area': V615_MMAP,
  'fn:__vmf_anon_prepare': V615,
  'label:__vmf_anon_prepare:vma->anon_vma': V615,
  'fn:__swap_count': V615_SWAPIN,
  'fn:swapcache_clear': V615_SWAPIN,
  'fn:submit_bio_wait': V615_SWAPIN,
  'label:submit_bio_wait': V615_SWAPIN,
  'label:do_swap_page:swapcache_wq': V615_SWAPIN,
  'fn:uffd_lock_vma': V615_UFFD,
  'fn:uffd_mfill_lock': V615_UFFD,
  'fn:uffd_mfill_unlock': V615_UFFD,
  'fn:tlb_remove_table_rcu': RCU_TABLE,
  'label:tlb_table_flush:call_rcu': RCU_TABLE,
  'fn:collapse_and_free_pmd': OLD_RETRACT,
  'fn:mmap_write_trylock': OLD_RETRACT,
  'label:collapse_and_free_pmd:pmdp_collapse_flush': OLD_RETRACT,
  'label:down_write_trylock': OLD_RETRACT,
  'fn:userfaultfd_armed': V64,
  'label:lock_vma_under_rcu:vma': V64,
  'fn:mmap_lock_speculate_retry': LOCKLESS,
  'fn:mmap_lock_speculate_try_begin': LOCKLESS,
  'fn:sim_vma_next_rcu': SMAPS_RCU,
  'label:mas_find:ma_root': SMAPS_RCU,
  'fn:try_vma_read_lock': MADVISE_VMA,
  'fn:lock_next_vma': MAPS_VMA,
  'fn:lock_next_vma_under_mmap_lock': MAPS_VMA,
  'fn:sim_show_maps_vma_locked': MAPS_VMA,

  // Rare in the default campaign.
  'fn:wp_huge_pmd': THP_SHARE,
  'fn:do_huge_pmd_wp_page': THP_SHARE,
  'label:do_huge_pmd_wp_page:pmdp_set_access_flags': THP_SHARE,
  'fn:flush_pmd_tlb_range': THP,
  'fn:pgtable_trans_huge_deposit': THP,
  'fn:pgtable_trans_huge_withdraw': THP,
  'fn:pmd_same': THP,
  'fn:pmdp_huge_get_and_clear': THP,
  'fn:pmdp_invalidate': THP,
  'fn:set_pmd_at': THP,
  'fn:folio_page': THP,
  'fn:folio_remove_rmap_pmd': THP,
  'fn:can_follow_write_pmd': THP,
  'fn:follow_huge_pmd': THP,
  'fn:gup_fast_pmd_leaf': THP,
  'fn:smaps_pmd_entry': THP,
  'fn:__pmd_trans_huge_lock': THP,
  'fn:__split_huge_pmd': THP,
  'fn:__split_huge_pmd_locked': THP,
  'fn:can_change_pmd_writable': THP,
  'fn:change_huge_pmd': THP,
  'fn:copy_huge_pmd': THP,
  'fn:huge_pmd_set_accessed': THP,
  'fn:move_huge_pmd': THP,
  'fn:tlb_remove_pmd_tlb_entry': THP,
  'fn:touch_pmd': THP,
  'fn:zap_deposited_table': THP,
  'fn:zap_huge_pmd': THP,
  'label:gup_fast_pmd_leaf:recheck': THP,
  'label:zap_huge_pmd:pmdp_huge_get_and_clear_full': THP,
  'label:__split_huge_pmd_locked:pmdp_invalidate': THP,
  'label:__split_huge_pmd_locked:pmd_populate': THP,
  'label:move_huge_pmd:pmdp_huge_get_and_clear': THP,
  'label:change_huge_pmd:pmdp_invalidate_ad': THP,
  'fn:collapse_huge_page': COLLAPSE,
  'fn:__collapse_huge_page_swapin': COLLAPSE_SWAPIN,
  'fn:hpage_collapse_scan_pmd': COLLAPSE,
  'fn:pmdp_collapse_flush': COLLAPSE,
  'fn:pte_clear': COLLAPSE,
  'fn:tlb_remove_table_sync_one': COLLAPSE,
  'label:hpage_collapse_scan_pmd:scan': COLLAPSE,
  'label:__collapse_huge_page_copy:copied': COLLAPSE,
  'label:collapse_huge_page:pmdp_collapse_flush': COLLAPSE,
  'label:collapse_huge_page:set_pmd_at': COLLAPSE,
  'label:tlb_remove_table_sync_one': COLLAPSE,
  'fn:retract_page_tables': FILE_COLLAPSE,
  'fn:pte_free_defer': FILE_COLLAPSE,
  'label:retract_page_tables:pmdp_collapse_flush': FILE_COLLAPSE,
  'label:retract_page_tables:vma_interval_tree_foreach': FILE_COLLAPSE,
  'fn:move_normal_pmd': MOVE_PMD,
  'fn:pmd_clear': MOVE_PMD,
  'label:move_normal_pmd:pmd_clear': MOVE_PMD,
  'label:move_normal_pmd:pmd_populate': MOVE_PMD,
  'fn:double_pt_lock': UFFD_MOVE,
  'fn:double_pt_unlock': UFFD_MOVE,
  'fn:move_pages_pte': UFFD_MOVE,
  'fn:move_present_pte': UFFD_MOVE,
  'fn:move_swap_pte': UFFD_MOVE,
  'fn:validate_move_areas': UFFD_MOVE,
  'label:move_pages:mm_find_pmd': UFFD_MOVE,
  'fn:folio_move_anon_rmap': 'rare: UFFDIO_MOVE of a present page (move_present_pte), or a write fault reusing an anonymous page another anon_vma owns',
  'fn:finish_mkwrite_fault': WRITE_NOTIFY,
  'fn:wp_page_shared': WRITE_NOTIFY,
  'fn:wp_pfn_shared': WRITE_NOTIFY,
  'label:finish_mkwrite_fault:wp_page_reuse': WRITE_NOTIFY,
  'label:wp_pfn_shared:wp_page_reuse': WRITE_NOTIFY,
  'label:wp_page_shared:wp_page_reuse': WRITE_NOTIFY,

  // Left out of the simulation, or not in the default campaign.
  'fn:pte_mkuffd_wp': UFFD_WP,
  'fn:pte_uffd_wp': UFFD_WP,
  'fn:do_numa_page': NUMA,
  'label:do_numa_page:ptep_modify_prot_commit': NUMA,
  'label:migration_entry_wait': NO_MIGRATION,
  'fn:mpol_get': 'left out: shmem shared policies (MPOL_F_SHARED is never set, so mpol_needs_cond_ref is false)',
  'fn:sim_setup_evict': 'not in the default campaign: a setup action (a file page evicted at the start) only tests use; the generator\'s page states are written, read, swapped out, page cache only, untouched',
  'fn:dup_userfaultfd_fail': FAILPATH,
  'fn:mremap_userfaultfd_fail': FAILPATH,
  'fn:pagefault_out_of_memory': FAILPATH,
  'fn:sim_uffd_monitors': 'called only to name the waiting fault\'s wakers in a deadlock report (no deadlock on v6.6)',
  'label:spin_trylock': UNUSED_PRIMITIVE,
  'label:down_read_nested': UNUSED_PRIMITIVE,
  'label:read_seqcount_begin': UNUSED_PRIMITIVE,
  'label:rcu_barrier': UNUSED_PRIMITIVE,
  'label:wait_event': UNUSED_PRIMITIVE,
  'label:wait_for_completion': UNUSED_PRIMITIVE,
  'label:wait_for_completion_killable': UNUSED_PRIMITIVE,
  'label:mutex_trylock': UNUSED_PRIMITIVE,
  'label:mutex_lock_killable': UNUSED_PRIMITIVE,
};

export function unreachedReason(kind: 'fn' | 'label', name: string): string | undefined {
  return UNREACHED_REASONS[`${kind}:${name}`];
}
