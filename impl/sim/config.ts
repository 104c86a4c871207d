/**
 * Kernel configurations: what differs between kernel generations (and what a user's design
 * proposal changes), as data the shared code paths read. The functions themselves differ through
 * variant overrides (variant.ts); most era differences are a flag read at the spot where the
 * kernel's code differs, so one code path shows every era side by side.
 */
export interface KernelConfig {
  /** 'v6.4' … */
  readonly name: string;
  /** One paragraph: which kernels and commits this configuration follows. */
  readonly follows: string;
  /** CONFIG_PER_VMA_LOCK: faults try lock_vma_under_rcu first (6.4+). */
  readonly per_vma_lock: boolean;
  /** The VMA lock's implementation: a vm_lock rwsem (6.4–6.14) or vm_refcnt (6.15+). */
  readonly vma_lock_impl: 'rwsem' | 'refcount';
  /** mm->mm_lock_seq: a plain int bumped at write-unlock (≤6.12) or a seqcount (6.13+). */
  readonly mm_lock_seq: 'int' | 'seqcount';
  /**
   * How a VMA's memory is freed: immediately (≤6.3: no RCU readers), through call_rcu
   * (6.4–6.14), or into a SLAB_TYPESAFE_BY_RCU cache that may hand it to another mm at once (6.15+).
   */
  readonly vma_free: 'immediate' | 'rcu' | 'typesafe_rcu';
  /** 6.4: lock_vma_under_rcu only takes anonymous VMAs (vma_is_anonymous). */
  readonly vma_lock_anon_only: boolean;
  /**
   * Where lock_vma_under_rcu looks at vma->anon_vma: 'before-lock' (6.4.0, bug B10),
   * 'after-lock' (657b5146955e, 6.5-rc4 … 6.9), or 'none' (6.10+: vmf_anon_prepare handles it).
   */
  readonly vma_lock_anon_vma_check: 'before-lock' | 'after-lock' | 'none';
  /** 6.4/6.5: lock_vma_under_rcu refuses userfaultfd-armed VMAs. */
  readonly vma_lock_refuse_uffd: boolean;
  /**
   * 6.6+: a handler returning VM_FAULT_RETRY/COMPLETED has released the VMA lock itself
   * (release_fault_lock); 6.4: the arch code always calls vma_end_read after handle_mm_fault.
   */
  readonly vma_lock_released_by_handler: boolean;
  /**
   * The VMA-lock attempt only for user-mode faults (FAULT_FLAG_USER). x86's do_user_addr_fault
   * has had `if (!(flags & FAULT_FLAG_USER)) goto lock_mmap;` since it first tried the VMA lock
   * (0bff0aaea03e, 6.4) in every generation; other architectures (arm64, 6.4+) try it for kernel
   * faults too. On in every named generation (x86).
   */
  readonly vma_lock_user_only: boolean;
  /**
   * 6.7+ (46e714c729c8, "arch/mm/fault: fix major fault accounting when retrying under per-VMA
   * lock"): a VM_FAULT_RETRY under the VMA lock that was a major fault retries under mmap_lock
   * with FAULT_FLAG_TRIED. Before (6.6), the mmap_lock attempt is a first try again: a handler
   * that must wait for I/O drops mmap_lock too and the fault is tried a third time.
   */
  readonly vma_lock_retry_tried_on_major: boolean;
  /** 6.6+: do_swap_page runs under the VMA lock (6.4: returns VM_FAULT_RETRY at once). */
  readonly swap_under_vma_lock: boolean;
  /** 6.6+: handle_userfault under the VMA lock. */
  readonly uffd_under_vma_lock: boolean;
  /** 6.6+: do_fault_around (->map_pages) under the VMA lock. */
  readonly fault_around_under_vma_lock: boolean;
  /** 6.7+: ->fault / ->page_mkwrite under the VMA lock when vma->vm_ops->map_pages exists. */
  readonly file_fault_under_vma_lock: boolean;
  /** Stack growth: under the mmap read lock (≤6.4, StackRot) or the write lock (6.5+). */
  readonly expand_stack_lock: 'read' | 'write';
  /**
   * ≤6.4 (246c320a8cfe, 5.8): munmap does not downgrade mmap_lock next to a VM_GROWSDOWN VMA (it
   * could grow into the range under the read lock). Removed in 6.5 by "mm: Always downgrade
   * mmap_lock if requested" (Matthew Wilcox), not backported: 6.3.y and 6.4.y kept it with the
   * StackRot fix backported (the stack then grows under the write lock anyway).
   */
  readonly munmap_no_downgrade_next_to_stack: boolean;
  /**
   * 6.4: vma_prepare write-locks the VMAs a split/merge/expand changes (vp->vma, adj_next,
   * remove, remove2 — not vp->insert: "vp->insert is always a newly created VMA, no need for
   * locking") and dup_anon_vma write-locks dst itself (Jann Horn, "mm: lock a vma in dup_anon_vma
   * before setting ->anon_vma", 6.4.y stable). 6.6 ("mm: always lock new vma before inserting into
   * vma tree" and "mm: move vma locking out of vma_prepare and dup_anon_vma", Suren Baghdasaryan):
   * the callers write-lock every VMA, the new piece of a split included, before vma_prepare, and
   * dup_anon_vma asserts it.
   */
  readonly vma_lock_in_vma_prepare: boolean;
  /**
   * 6.12+ (Liam R. Howlett, "Avoid MAP_FIXED gap exposure", f8d112a4e657 "mm/mmap: avoid zeroing
   * vma tree in mmap_region()"; __mmap_region since 6.13): mmap_region gathers the VMAs it
   * replaces (split, write-locked, detached, still in the tree), clears their PTEs and closes
   * them, maps the new VMA over them, and only then frees them; an error after the gather
   * reattaches them (vms_abort_munmap_vmas), or leaves a gap once their PTEs are gone. Before, it
   * unmapped the range first (do_vmi_munmap) and the tree showed a hole until the new VMA was in.
   */
  readonly mmap_region_gather_first: boolean;
  /**
   * 6.8+ (d24062914837, "fork: use __mt_dup() to duplicate maple tree in dup_mmap()"): the
   * child's tree starts as a copy of the parent's (its slots the parent's VMAs), each slot
   * replaced by the child's copy in turn; on failure the failing VMA's range is overwritten with
   * XA_ZERO_ENTRY, which exit_mmap's walks stop at (the parent's VMAs after it are not the
   * child's). Before, the child's tree was built VMA by VMA.
   */
  readonly fork_mt_dup: boolean;
  /**
   * CONFIG_MMU_GATHER_RCU_TABLE_FREE: page tables freed after an RCU(-sched) grace period. x86
   * selects it only with PARAVIRT up to 6.13 (a native build frees page tables with the pages,
   * right after the TLB-flush IPI has been acknowledged); from 6.14 x86_64 selects
   * ARCH_SUPPORTS_PT_RECLAIM (4817f70c25b6) and PT_RECLAIM (default y) selects it. Each
   * generation takes the kernel's default (PARAVIRT is default n): off ≤6.7, on in 6.15. A
   * variant may flip it (`config: { mmu_gather_rcu_table_free: true }` for a PARAVIRT build).
   */
  readonly mmu_gather_rcu_table_free: boolean;
  /** 6.8+: the SWP_SYNCHRONOUS_IO swap-in that skips the swap cache pins the entry with swapcache_prepare. */
  readonly swapcache_prepare_on_skip: boolean;
  /** The swap device is SWP_SYNCHRONOUS_IO (zram/pmem): swap-in may skip the swap cache. */
  readonly swap_synchronous_io: boolean;
  /** 6.17: /proc/pid/maps reads VMAs under per-VMA locks (lock_next_vma). */
  readonly maps_under_vma_lock: boolean;
  /** 6.17: MADV_DONTNEED zaps under the per-VMA lock instead of mmap_read_lock. */
  readonly madvise_dontneed_vma_lock: boolean;
  /** Design proposals (the article): hold the VMA read lock across swap I/O instead of retrying. */
  readonly io_hold_vma_lock: boolean;
  /** Design proposal: smaps walks page tables under RCU only (needs RCU-freed page tables). */
  readonly smaps_rcu: boolean;
  /** Design proposal: faults with no VMA lock, validated by the mm_lock_seq sequence count. */
  readonly lockless_fault: boolean;
  /**
   * Design proposal: vmf_can_call_fault lets a driver's ->fault run under the VMA lock when its
   * vm_operations_struct declares fault_safe_under_vma_lock (not only when ->map_pages exists).
   * No kernel has it (default false); a driver that wrongly declares itself safe while its
   * ->fault relies on mmap_lock trips mmap_assert_locked there.
   */
  readonly driver_fault_opt_in: boolean;
  /**
   * 6.6+ (Hugh Dickins, "mm/khugepaged: retract_page_tables() without mmap or vma lock",
   * 1d65b771bc08): khugepaged retracts file page tables under i_mmap_lock_read + the PMD/PTE
   * locks only, freeing the table with pte_free_defer (RCU); collapse_pte_mapped_thp under
   * mmap_read_lock. Before: mmap_write_trylock + vma_start_write per mm, i_mmap_lock_write,
   * collapse_and_free_pmd (pmdp_collapse_flush, tlb_remove_table_sync_one, pte_free at once).
   */
  readonly khugepaged_retract_lockless: boolean;
  /**
   * 6.8+ (Lokesh Gidra, "userfaultfd: use per-vma locks in userfaultfd operations" and
   * "userfaultfd: protect mmap_changing with rw_sem in userfaulfd_ctx"): UFFDIO_COPY / MOVE lock
   * the destination (and source) VMA with per-VMA locks (uffd_mfill_lock / uffd_move_lock) and
   * check ctx->mmap_changing under ctx->map_changing_lock, which the event-raising paths take for
   * writing; before, the ioctls run under mmap_read_lock. Of the generations only v6.15 has it.
   */
  readonly uffd_ops_vma_lock: boolean;
}

const G0: KernelConfig = {
  name: 'v6.3',
  follows:
    'Linux 6.3: page faults take mmap_read_lock only (no per-VMA locks); maple tree in RCU mode ' +
    '(3dd443254941); stack expansion under the mmap read lock (pre-StackRot-fix, but only ' +
    'reachable with the B6 mutant since the 6.3.11 backport); lock_mm_and_find_vma (6.3.11 stable).',
  per_vma_lock: false,
  vma_lock_impl: 'rwsem',
  mm_lock_seq: 'int',
  vma_free: 'immediate',
  vma_lock_anon_only: true,
  vma_lock_anon_vma_check: 'after-lock',
  vma_lock_refuse_uffd: true,
  vma_lock_released_by_handler: false,
  vma_lock_user_only: true,
  swap_under_vma_lock: false,
  uffd_under_vma_lock: false,
  fault_around_under_vma_lock: false,
  file_fault_under_vma_lock: false,
  vma_lock_retry_tried_on_major: false,
  expand_stack_lock: 'write',
  munmap_no_downgrade_next_to_stack: true,
  vma_lock_in_vma_prepare: true,
  mmap_region_gather_first: false,
  fork_mt_dup: false,
  mmu_gather_rcu_table_free: false,
  swapcache_prepare_on_skip: true,
  swap_synchronous_io: false,
  maps_under_vma_lock: false,
  madvise_dontneed_vma_lock: false,
  io_hold_vma_lock: false,
  smaps_rcu: false,
  lockless_fault: false,
  driver_fault_opt_in: false,
  khugepaged_retract_lockless: false,
  uffd_ops_vma_lock: false,
};

const G1_64: KernelConfig = {
  ...G0,
  name: 'v6.4',
  follows:
    'Linux 6.4.y with its stable fixes: per-VMA locks (5e31275cc997) for anonymous VMAs only; ' +
    'vm_lock rwsem + vm_lock_seq + detached; VMAs freed by call_rcu; the arch code always calls ' +
    'vma_end_read; swap faults return VM_FAULT_RETRY under the VMA lock; fixes B6 (9471f1f2f502), ' +
    'B7 (c137381f71ae), B8 (fb49c455323f), B9 (33313a747e81), B10 (657b5146955e), B14 (6c21e066f925); ' +
    'vma_prepare write-locks the VMAs it changes but not a split\'s new piece, dup_anon_vma locks dst; ' +
    'munmap keeps the write lock next to a VM_GROWSDOWN VMA; x86 tries the VMA lock for user faults only.',
  per_vma_lock: true,
  vma_free: 'rcu',
};

const G1_66: KernelConfig = {
  ...G1_64,
  name: 'v6.6',
  follows:
    'Linux 6.6: swap faults (do_swap_page), userfaultfd and fault-around under the VMA lock ' +
    '(Suren Baghdasaryan, "Per-VMA lock support for swap and userfaults"; Matthew Wilcox, "Handle ' +
    'most file-backed faults under the VMA lock"); handlers drop the VMA lock on ' +
    'VM_FAULT_RETRY/COMPLETED (the mmap_lock retry is a first try again: no FAULT_FLAG_TRIED before ' +
    '46e714c729c8); file-backed VMAs allowed in lock_vma_under_rcu; vm_flags changes write-lock ' +
    'the VMA (B26 fix); callers write-lock every VMA before vma_prepare, a split\'s new piece ' +
    'included; munmap always downgrades.',
  vma_lock_anon_only: false,
  vma_lock_refuse_uffd: false,
  vma_lock_released_by_handler: true,
  munmap_no_downgrade_next_to_stack: false,
  vma_lock_in_vma_prepare: false,
  swap_under_vma_lock: true,
  uffd_under_vma_lock: true,
  fault_around_under_vma_lock: true,
  khugepaged_retract_lockless: true,
};

const G1_67: KernelConfig = {
  ...G1_66,
  name: 'v6.7',
  follows:
    'Linux 6.7: ->fault, ->page_mkwrite and wp_page_copy under the VMA lock when ' +
    'vma->vm_ops->map_pages exists (Matthew Wilcox, "Handle more faults under the VMA lock", e.g. ' +
    '4ed4379881aa); drivers without ->map_pages retry under mmap_lock (vmf_can_call_fault); a major ' +
    'fault retried after the VMA lock carries FAULT_FLAG_TRIED (46e714c729c8).',
  file_fault_under_vma_lock: true,
  vma_lock_retry_tried_on_major: true,
};

const G3_615: KernelConfig = {
  ...G1_67,
  name: 'v6.15',
  follows:
    'Linux 6.15+: vm_refcnt VMA locks with VMA_LOCK_OFFSET writer exclusion (no vm_lock rwsem), ' +
    'mm_lock_seq a seqcount (6.13), VMAs in a SLAB_TYPESAFE_BY_RCU cache (3104138517fc) so ' +
    'lock_vma_under_rcu re-checks vm_mm (9bbffee67ffd), attachment and range after taking the ' +
    'reference; no anon_vma check in lock_vma_under_rcu (6.10, vmf_anon_prepare); SWP_SYNCHRONOUS_IO ' +
    'swap-in pins the entry with swapcache_prepare (13ddaf26be32); mmap_region gathers the VMAs it ' +
    'replaces before mapping over them (6.12, f8d112a4e657); fork copies the tree with __mt_dup ' +
    '(6.8, d24062914837); page tables freed by RCU (x86_64 PT_RECLAIM, 6.14).',
  vma_lock_impl: 'refcount',
  mm_lock_seq: 'seqcount',
  vma_free: 'typesafe_rcu',
  vma_lock_anon_vma_check: 'none',
  swap_synchronous_io: true,
  uffd_ops_vma_lock: true,
  mmap_region_gather_first: true,
  fork_mt_dup: true,
  mmu_gather_rcu_table_free: true,
};

/** The named kernel generations, oldest first. */
export const GENERATIONS: readonly KernelConfig[] = [G0, G1_64, G1_66, G1_67, G3_615];

export function findGeneration(name: string): KernelConfig | undefined {
  return GENERATIONS.find((g) => g.name === name);
}
