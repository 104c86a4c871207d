/**
 * Why a kernel function or a step label of impl/ is not reached by the default v6.6 campaign
 * (`faultline coverage --config v6.6`): the short reason `faultline coverage` and verify print beside
 * it, and the README's list repeats. Keys: `fn:<name>` for a function of the table, `label:<label>`
 * for a step label. A test checks that every key still names a function or a label; an entry whose
 * function becomes reachable should leave this list (the reason is printed only while it is
 * unreached).
 *
 * Measured on main at 0431c05 (the general generator, GUP-fast and MMU-notifier operations and
 * khugepaged in scenarios are being added: their entries below say so).
 */

const V615_REFCNT = 'v6.15 only: the refcounted VMA lock (vm_refcnt)';
const V615_SWAPIN = 'v6.15 only: synchronous swap-in that skips the swap cache';
const V615_UFFD = 'v6.15 only: UFFDIO_COPY under the VMA lock';
const V615 = 'v6.15 only (and the lockless-fault proposal)';
const LOCKLESS = 'the lockless-fault proposal only';
const SMAPS_RCU = 'the smaps-rcu proposal only';
const V64 = 'v6.4 only';
const PREAD = 'pread/pwrite: no scenario family issues them yet (the general generator will)';
const PROC_MEM = '/proc/pid/mem writes (GUP slow path): no family issues them yet (the general generator will)';
const GUP_FAST = 'GUP-fast pinning: no operation yet (being added)';
const UFFD_MOVE = 'UFFDIO_MOVE: no family issues it yet (the general generator will)';
const KHUGEPAGED = 'khugepaged: no family runs the daemon yet (being added to scenarios)';
const MMU_NOTIFIER = 'MMU-notifier registration (mm_take_all_locks): no operation yet (being added)';
const EXIT = 'process exit: no family has a process exit yet (the general generator will)';
const SHMEM = 'shared anonymous mmap (shmem): no family maps one yet (the general generator will)';
const WRITE_NOTIFY = 'a write fault on a read-only PTE of a shared file or PFN mapping (write-notify): no family does it';
const MREMAP = 'an mremap shape no family draws yet (grow in place, whole-PMD move, moving a VMA rmap walkers can see): the general generator will';
const MADVISE_VMA = 'MADV_DONTNEED under the VMA lock: the flag madvise_dontneed_vma_lock is off in every configuration (a variant can turn it on)';
const MAPS_VMA = '/proc/pid/maps under per-VMA locks (6.17): the flag maps_under_vma_lock is off in every configuration (a variant can turn it on)';
const FAILPATH = 'a failure path: reached only with fault injection (faultline check --fault-injection)';
const PAGE_CACHE = 'page-cache setup actions: no family starts with page-cache-only or evicted file pages yet';
const PFNMAP = 'a PFN-map device (remap_pfn_range at mmap): the driver family maps only fault-based devices';
const RECLAIM_FILE = 'writeback of a dirty file page by reclaim: no family dirties a shared file page that reclaim then picks';
const DEAD = 'no caller in impl/ (callers test the entry inline): dead code';
const NO_MIGRATION = 'no operation makes migration entries (page migration is not modelled)';
const UNUSED_PRIMITIVE = 'a primitive no simulated kernel path calls';
const UFFD_WP = 'userfaultfd write-protect mode (VM_UFFD_WP): no family registers a range in WP mode';
const GAP = 'mmap without MAP_FIXED next to an existing VMA (the gap search): no family lays it out yet';

export const UNREACHED_REASONS: Readonly<Record<string, string>> = {
  // Another generation or a proposal.
  'fn:__vma_exclude_readers_for_detach': V615_REFCNT,
  'fn:__vma_refcount_put_return': V615_REFCNT,
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
  'fn:mmap_lock_speculate_retry': LOCKLESS,
  'fn:mmap_lock_speculate_try_begin': LOCKLESS,
  'fn:sim_vma_next_rcu': SMAPS_RCU,
  'label:mas_find:ma_root': SMAPS_RCU,
  'fn:userfaultfd_armed': V64,
  'label:lock_vma_under_rcu:vma': V64,
  'fn:try_vma_read_lock': MADVISE_VMA,
  'fn:lock_next_vma': MAPS_VMA,
  'fn:lock_next_vma_under_mmap_lock': MAPS_VMA,
  'fn:sim_show_maps_vma_locked': MAPS_VMA,

  // Operations and daemons no family draws yet.
  'fn:filemap_read': PREAD,
  'fn:generic_perform_write': PREAD,
  'fn:sim_sys_pread': PREAD,
  'fn:sim_sys_pwrite': PREAD,
  'label:filemap_read:i_size_read': PREAD,
  'label:filemap_read:copy_folio_to_iter': PREAD,
  'label:generic_perform_write:copy_page_from_iter_atomic': PREAD,
  'fn:__get_user_pages': PROC_MEM,
  'fn:__get_user_pages_locked': PROC_MEM,
  'fn:access_remote_vm': PROC_MEM,
  'fn:can_follow_write_common': PROC_MEM,
  'fn:can_follow_write_pte': PROC_MEM,
  'fn:check_vma_flags': PROC_MEM,
  'fn:faultin_page': PROC_MEM,
  'fn:follow_page_mask': PROC_MEM,
  'fn:follow_page_pte': PROC_MEM,
  'fn:get_user_pages_remote': PROC_MEM,
  'fn:gup_must_unshare': PROC_MEM,
  'fn:sim_sys_proc_mem_write': PROC_MEM,
  'fn:try_grab_folio': PROC_MEM,
  'fn:vm_fault_to_errno': PROC_MEM,
  'fn:folio_ref_add': PROC_MEM,
  'fn:pte_dirty': PROC_MEM,
  'label:follow_page_pte:ptep_get': PROC_MEM,
  'label:follow_pmd_mask:pmdp_get_lockless': PROC_MEM,
  'label:__access_remote_vm:copy_to_user_page': PROC_MEM,
  'label:proc_mem_open:mm_access': PROC_MEM,
  'fn:gup_fast': GUP_FAST,
  'fn:gup_fast_pte_range': GUP_FAST,
  'fn:try_grab_folio_fast': GUP_FAST,
  'label:gup_fast_pte_range:recheck': GUP_FAST,
  'label:gup_fast_pmd_range:pmdp_get_lockless': GUP_FAST,
  'label:gup_fast:raw_read_seqcount(write_protect_seq)': GUP_FAST,
  'label:gup_fast:read_seqcount_retry(write_protect_seq)': GUP_FAST,
  'fn:double_pt_lock': UFFD_MOVE,
  'fn:double_pt_unlock': UFFD_MOVE,
  'fn:move_pages': UFFD_MOVE,
  'fn:move_pages_pte': UFFD_MOVE,
  'fn:move_present_pte': UFFD_MOVE,
  'fn:move_swap_pte': UFFD_MOVE,
  'fn:sim_sys_uffdio_move': UFFD_MOVE,
  'fn:uffd_move_lock': UFFD_MOVE,
  'fn:uffd_move_unlock': UFFD_MOVE,
  'fn:userfaultfd_move': UFFD_MOVE,
  'fn:validate_move_areas': UFFD_MOVE,
  'fn:folio_move_anon_rmap': 'reusing an anonymous page another anon_vma owns (after fork and exit) or UFFDIO_MOVE: no family does either yet',
  'label:move_pages:atomic_read(mmap_changing)': UFFD_MOVE,
  'label:move_pages:mm_find_pmd': UFFD_MOVE,
  'label:userfaultfd_move:atomic_read(mmap_changing)': UFFD_MOVE,
  'fn:collapse_huge_page': KHUGEPAGED,
  'fn:find_pmd_or_thp_or_none': KHUGEPAGED,
  'fn:hpage_collapse_scan_pmd': KHUGEPAGED,
  'fn:hugepage_vma_revalidate': KHUGEPAGED,
  'fn:khugepaged_scan_pmd': KHUGEPAGED,
  'fn:pmdp_collapse_flush': KHUGEPAGED,
  'fn:retract_page_tables': KHUGEPAGED,
  'fn:sim_daemon_khugepaged': KHUGEPAGED,
  'fn:mmap_write_trylock': KHUGEPAGED,
  'fn:folio_mapcount': KHUGEPAGED,
  'fn:pte_free_defer': KHUGEPAGED,
  'fn:tlb_remove_table_sync_one': KHUGEPAGED,
  'label:find_pmd_or_thp_or_none:pmdp_get_lockless': KHUGEPAGED,
  'label:hpage_collapse_scan_pmd:scan': KHUGEPAGED,
  'label:collapse_huge_page:alloc_charge_folio': KHUGEPAGED,
  'label:collapse_huge_page:pmdp_collapse_flush': KHUGEPAGED,
  'label:collapse_huge_page:set_pmd_at': KHUGEPAGED,
  'label:retract_page_tables:pmdp_collapse_flush': KHUGEPAGED,
  'label:retract_page_tables:vma_interval_tree_foreach': KHUGEPAGED,
  'label:khugepaged_do_scan': KHUGEPAGED,
  'label:tlb_remove_table_sync_one': KHUGEPAGED,
  'label:down_write_trylock': KHUGEPAGED,
  'fn:__mmu_notifier_register': MMU_NOTIFIER,
  'fn:mm_drop_all_locks': MMU_NOTIFIER,
  'fn:mm_take_all_locks': MMU_NOTIFIER,
  'label:mm_take_all_locks:for_each_vma': MMU_NOTIFIER,
  'label:__mmu_notifier_register:hlist_add_head_rcu': MMU_NOTIFIER,
  'label:mutex_lock': MMU_NOTIFIER,
  'fn:exit_mmap': EXIT,
  'fn:sim_exit_mm': EXIT,
  'fn:tlb_gather_mmu_fullmm': EXIT,
  'fn:__mmdrop': EXIT,
  'fn:check_mm': EXIT,
  'fn:sim_tlb_destroy_context': EXIT,
  'fn:shmem_fault': SHMEM,
  'fn:shmem_zero_setup': SHMEM,
  'label:shmem_fault:i_size_read': SHMEM,
  'fn:finish_mkwrite_fault': WRITE_NOTIFY,
  'fn:wp_page_shared': WRITE_NOTIFY,
  'fn:wp_pfn_shared': WRITE_NOTIFY,
  'label:finish_mkwrite_fault:wp_page_reuse': WRITE_NOTIFY,
  'label:wp_pfn_shared:wp_page_reuse': WRITE_NOTIFY,
  'label:wp_page_shared:wp_page_reuse': WRITE_NOTIFY,
  'fn:vma_expandable': MREMAP,
  'fn:move_normal_pmd': MREMAP,
  'fn:take_rmap_locks': MREMAP,
  'fn:drop_rmap_locks': MREMAP,
  'fn:vm_start_gap': GAP,
  'fn:sim_setup_cache': PAGE_CACHE,
  'fn:sim_setup_evict': PAGE_CACHE,
  'fn:remap_pfn_range': PFNMAP,
  'fn:vm_flags_set': PFNMAP,
  'label:remap_pte_range:set_pte_at': PFNMAP,
  'fn:block_write_full_folio': RECLAIM_FILE,
  'fn:dup_userfaultfd_fail': FAILPATH,
  'fn:mremap_userfaultfd_fail': FAILPATH,
  'fn:pagefault_out_of_memory': FAILPATH,
  'label:migration_entry_wait': NO_MIGRATION,
  'fn:mpol_get': 'a shared (shmem) mempolicy taken by reference: no family mbinds a shared anonymous mapping',
  'fn:sim_uffd_monitors': 'called only to name the waiting fault\'s wakers in a deadlock report',
  'fn:pte_uffd_wp': UFFD_WP,
  'fn:pte_mkuffd_wp': UFFD_WP,
  'fn:pte_mkclean': 'fork copying the PTEs of a shared mapping (a PFN map or uffd-wp): no family forks one',
  'fn:ptep_test_and_clear_young': 'only folio_referenced calls it, and nothing calls folio_referenced',
  'label:spin_trylock': UNUSED_PRIMITIVE,
  'label:down_read_nested': UNUSED_PRIMITIVE,
  'label:read_seqcount_begin': UNUSED_PRIMITIVE,
  'label:rcu_barrier': UNUSED_PRIMITIVE,
  'label:wait_event': UNUSED_PRIMITIVE,
  'label:wait_for_completion': UNUSED_PRIMITIVE,
  'label:wait_for_completion_killable': UNUSED_PRIMITIVE,
  'label:mutex_trylock': UNUSED_PRIMITIVE,
  'label:mutex_lock_killable': UNUSED_PRIMITIVE,

  // Dead code: exported, never called.
  'fn:vma_start_write_killable': DEAD,
  'fn:mt_clear_in_rcu': DEAD,
  'fn:mt_in_rcu': DEAD,
  'fn:mt_set_in_rcu': DEAD,
  'fn:get_mm_counter': DEAD,
  'fn:pmd_none': DEAD,
  'fn:pte_clear': DEAD,
  'fn:pte_none': DEAD,
  'fn:pte_offset_map_ro_nolock': DEAD,
  'fn:pte_present': DEAD,
  'fn:pte_special': DEAD,
  'fn:pte_swp_exclusive': DEAD,
  'fn:pte_to_swp_entry': DEAD,
  'fn:pte_young': DEAD,
  'fn:folio_anon_vma': DEAD,
  'fn:folio_referenced': DEAD,
  'fn:generic_file_mmap': 'no caller: mmap_region sets generic_file_vm_ops itself (dead code)',
  'fn:swap_free_nr': DEAD,
  'fn:shrink_folio_list': 'no caller: reclaim calls sim_shrink_folio per folio (dead code)',
  'fn:expand_stack': 'no caller: the fault and GUP paths call expand_stack_locked (dead code)',
  'fn:mmget': DEAD,
  'fn:mmget_not_zero': DEAD,
  'fn:vma_policy': DEAD,
  'fn:get_user_pages': GUP_FAST,
  'fn:get_user_pages_fast': GUP_FAST,
  'fn:get_user_pages_unlocked': GUP_FAST,
  'fn:gup_put_folio': GUP_FAST,
  'fn:mmu_notifier_register': MMU_NOTIFIER,
};

export function unreachedReason(kind: 'fn' | 'label', name: string): string | undefined {
  return UNREACHED_REASONS[`${kind}:${name}`];
}
