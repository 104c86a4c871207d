/**
 * Every named property faultline checks, where it is checked, and the kernel rule it stands for
 * (kernel.md §3). 'builtin' properties are raised by the primitives and kernel assertions at the
 * step where they break; 'step' invariants are judged after every step by the runner; 'end'
 * checks after the run; 'history' is refinement against the model.
 */
/**
 * The invariants of kernel.md §3 and the properties that check them:
 *   I1 vma-write-lock-epoch (+ mmap_assert_write_locked in vma_start_write)   I2 VM_BUG_ON/VM_WARN_ON
 *   (vma_assert_write_locked in vm_flags_*, vma_set_page_prot, dup_anon_vma, vma_replace_policy)
 *   I3 vma-lock-exclusion   I4 lockdep (order graph, mmap_read_trylock only under a VMA lock)
 *   I5 lockdep/VM_BUG_ON (mmap_assert_locked where lock_vma_under_rcu's promises are relied on)
 *   I6 lockdep (bad unlock / lock held at exit: the RETRY/COMPLETED hand-off), kasan after RETRY
 *   I7 kasan (typesafe reuse, vm_mm re-check)   I8 VM_BUG_ON/VM_WARN_ON (vma_mark_detached asserts)
 *   I9 lockdep_assert_held(ptl) in set_pte_range, pte-outside-vma   I10 pte-outside-vma, rmap-incomplete
 *   I11 pgtable-freed-while-linked, kasan   I12 vma-tree-well-formed, kasan (maple nodes)
 *   I14 final-state, linearizability   I15 kasan (swap metadata freed by swapoff)
 *   I16 final-state/linearizability through the per-thread TLB   I17 fork-snapshot
 *   I18 leak (mmap_changing), linearizability (-EAGAIN)   I19 fault-livelock, might_sleep
 *   I21 linearizability of /proc reads   I22 seqcount, vma-write-lock-epoch
 * Not checked: I13 (no transient none PTE under a shared lock: no lockless "is none?" reader of
 * present entries is modelled) and I20 (publication ordering: the simulation is sequentially
 * consistent, so reordering cannot happen).
 */
export type PropertyKind = 'builtin' | 'step' | 'end' | 'history';

export interface PropertyInfo {
  readonly name: string;
  readonly kind: PropertyKind;
  readonly description: string;
  readonly kernelRef: string;
}

export const PROPERTIES: readonly PropertyInfo[] = [
  { name: 'lockdep', kind: 'builtin', description: 'lock-order inversion (even without a deadlock in this run), bad unlock balance, lock held at task exit, lockdep_assert_held* failures', kernelRef: 'I4; kernel/locking/lockdep.c' },
  { name: 'might_sleep', kind: 'builtin', description: 'a sleeping primitive called inside an RCU read-side section, with a spinlock held or irqs off', kernelRef: 'I4, I19; kernel/sched/core.c __might_sleep' },
  { name: 'kasan', kind: 'builtin', description: 'use-after-free / double free of a VMA, anon_vma, mempolicy, page table, maple node, folio, file or uffd ctx, at the access, naming the alloc and free sites', kernelRef: 'I7, I11, I12; mm/kasan' },
  { name: 'refcount', kind: 'builtin', description: 'refcount_t addition on 0 or underflow', kernelRef: 'lib/refcount.c' },
  { name: 'VM_BUG_ON', kind: 'builtin', description: 'a kernel assertion (mmap_assert_locked, mmap_assert_write_locked, vma_assert_write_locked, VM_BUG_ON_VMA, …) failed', kernelRef: 'I1, I2, I5, I6, I8; include/linux/mmdebug.h' },
  { name: 'VM_WARN_ON', kind: 'builtin', description: 'VM_WARN_ON_ONCE, and vma_assert_write_locked / vma_assert_locked failing (the kernel warns)', kernelRef: 'I2; include/linux/mmap_lock.h' },
  { name: 'bad_page', kind: 'builtin', description: 'a folio freed while still mapped, locked, in the swap cache or under writeback', kernelRef: 'mm/page_alloc.c bad_page' },
  { name: 'seqcount', kind: 'builtin', description: 'a seqcount write section opened twice or closed without opening (concurrent writers)', kernelRef: 'I20, I22; include/linux/seqlock.h' },
  { name: 'rcu', kind: 'builtin', description: 'rcu_read_unlock without rcu_read_lock', kernelRef: 'kernel/rcu' },
  { name: 'BUG', kind: 'builtin', description: 'BUG_ON in kernel code', kernelRef: 'include/asm-generic/bug.h' },
  { name: 'WARN_ON', kind: 'builtin', description: 'WARN_ON_ONCE / VM_WARN_ON_ONCE fired', kernelRef: 'include/asm-generic/bug.h' },
  { name: 'deadlock', kind: 'builtin', description: 'no runnable task while a user thread is blocked; the wait-for cycle is reported (rwsem writer preference included)', kernelRef: 'H1, H2, I4' },
  { name: 'livelock', kind: 'builtin', description: 'the step limit was reached: some task kept running without the run ending', kernelRef: 'liveness' },
  { name: 'fault-livelock', kind: 'builtin', description: 'one user access faulted and retried without bound', kernelRef: 'I19 (FAULT_FLAG_TRIED progress guarantee)' },
  { name: 'mm-all-locks', kind: 'builtin', description: 'no page table of an mm changes while mm_take_all_locks holds all its locks to register an MMU notifier', kernelRef: 'mm/vma.c mm_take_all_locks; eeff9a5d47f8' },
  { name: 'fork-snapshot', kind: 'builtin', description: 'while dup_mmap copies a parent VMA, no fault changed its anon_vma or mapped a page into it', kernelRef: 'I17 (B8)' },
  { name: 'vma-lock-exclusion', kind: 'step', description: 'a VMA is never read-locked by a fault and write-locked at once', kernelRef: 'I3' },
  { name: 'vma-write-lock-epoch', kind: 'step', description: 'a VMA is write-locked only while mmap_lock is write-held', kernelRef: 'I1, I22' },
  { name: 'pgtable-freed-while-linked', kind: 'step', description: 'no PMD entry points to a freed PTE table', kernelRef: 'I11' },
  { name: 'vma-tree-well-formed', kind: 'step', description: 'the published VMA tree is sorted, non-overlapping, page aligned, and holds only its own mm\'s VMAs', kernelRef: 'I12; model NoOverlappingVmas' },
  { name: 'pte-outside-vma', kind: 'step', description: 'every PTE lies inside a VMA of its mm at the right file offset (judged while mmap_lock is free)', kernelRef: 'I10' },
  { name: 'rmap-incomplete', kind: 'end', description: 'every mapped anon folio is reachable through its VMA\'s anon_vma chain, every file page through i_mmap', kernelRef: 'I10, I17' },
  { name: 'uffd-lost-wakeup', kind: 'end', description: 'when no task can run, no fault sleeps in handle_userfault on a range that is no longer registered with its userfaultfd (nothing will wake it)', kernelRef: 'liveness; fs/userfaultfd.c userfaultfd_unregister ("so they will not hang")' },
  { name: 'leak', kind: 'end', description: 'no lock held and every counter back to zero at the end (mmap_lock free, ctx->mmap_changing 0, swap device users 0, mapcounts match PTEs)', kernelRef: 'I18; liveness' },
  { name: 'linearizability', kind: 'history', description: 'the history of user-visible operations is linearizable against model/ (unknown is reported, never a pass)', kernelRef: 'refinement' },
  { name: 'final-state', kind: 'history', description: 'after the run, what user space could observe (maps, every page\'s value) equals the model state after the linearization', kernelRef: 'refinement (lost writes, stale data: I14, I16)' },
];

export function findProperty(name: string): PropertyInfo | undefined {
  return PROPERTIES.find((p) => p.name === name);
}
