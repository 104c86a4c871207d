/**
 * b8-fork — "fork: lock VMAs of the parent process when forking", fb49c455323f (6.5-rc1, 6.4.3),
 * reverted: dup_mmap() of 6.4.0 copied the parent's VMAs holding mmap_write_lock(oldmm) only, which
 * no longer excluded page faults once they ran under per-VMA locks.
 *
 * The story (kernel.md B8 a, Suren Baghdasaryan's v1/v2 text): copy_present_pte() write-protects
 * the parent's PTE for page P and shares P with the child; the parent's TLBs are flushed only by
 * flush_tlb_mm() at the end of dup_mmap. Parent thread A still has a writable TLB entry for P.
 * Parent thread B write-faults on P under the VMA lock: do_wp_page → wp_page_copy copies P to P'.
 * A stores through its stale TLB entry into P — after the copy. B installs P' (ptep_clear_flush,
 * set_pte_at). A's store is lost for the parent (and visible to the child): A reads back the old
 * value.
 *
 * The override below is impl/mm/fork.ts dup_mmap with the one fixed line removed (marked).
 */
import type { Task } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import { defineVariant } from '../sim/variant.js';
import type { mm_struct } from '../include/linux/mm_types.js';
import { VM_DONTCOPY, VM_LOCKED, VM_WIPEONFORK } from '../include/linux/mm_flags.js';
import { EINTR, ENOMEM } from '../include/linux/errno.js';
import { SINGLE_DEPTH_NESTING } from '../sync/lockdep.js';
import { refcount_inc } from '../sync/refcount.js';
import { down_write, up_write } from '../sync/rwsem.js';
import type { userfaultfd_fork_ctx } from '../mm/userfaultfd.js';

/** dup_mmap as in Linux 6.4.0 (kernel/fork.c). */
function* dup_mmap_6_4_0(mm: mm_struct, oldmm: mm_struct): Task<number> {
  if ((yield* k.fn.mmap_write_lock_killable(oldmm)) !== 0) return -EINTR;
  // Not linked in yet - no deadlock potential:
  yield* k.fn.mmap_write_lock_nested(mm, SINGLE_DEPTH_NESTING);
  let retval = 0;
  // LIST_HEAD(uf): the userfaultfd contexts the child gets (dup_userfaultfd), one per parent ctx.
  const uf: userfaultfd_fork_ctx[] = [];
  mm.mm_mt.in_rcu = false; // mt_clear_in_rcu(vmi.mas.tree)
  for (const mpnt of k.fn.sim_vmas(oldmm)) {
    // 6.4.0: no vma_start_write(mpnt) here — faults under the VMA lock go on in the parent
    // while its VMAs are copied. (fb49c455323f added it.)
    if (mpnt.vm_flags & VM_DONTCOPY) continue;
    const tmp = yield* k.fn.vm_area_dup(mpnt);
    retval = yield* k.fn.vma_dup_policy(mpnt, tmp);
    if (retval) {
      k.fn.vm_area_free(tmp);
      retval = -ENOMEM;
      break;
    }
    tmp.vm_mm = mm;
    retval = yield* k.fn.dup_userfaultfd(tmp, uf);
    if (retval) {
      // fail_nomem_anon_vma_fork: mpol_put(vma_policy(tmp)); fail_nomem_policy: vm_area_free(tmp)
      if (tmp.vm_policy) k.fn.mpol_put(tmp.vm_policy);
      k.fn.vm_area_free(tmp);
      break;
    }
    if (tmp.vm_flags & VM_WIPEONFORK) {
      // VM_WIPEONFORK gets a clean slate in the child. Don't prepare anon_vma until fault since
      // we don't copy page for current vma.
      tmp.anon_vma = null;
    } else if ((yield* k.fn.anon_vma_fork(tmp, mpnt)) !== 0) {
      // fail_nomem_anon_vma_fork: mpol_put(vma_policy(tmp)); fail_nomem_policy: vm_area_free(tmp)
      if (tmp.vm_policy) k.fn.mpol_put(tmp.vm_policy);
      k.fn.vm_area_free(tmp);
      retval = -ENOMEM;
      break;
    }
    tmp.vm_flags &= ~VM_LOCKED; // vm_flags_clear(tmp, VM_LOCKED_MASK): tmp is not visible yet
    const file = tmp.vm_file;
    if (file) {
      refcount_inc(file.f_count); // get_file(file)
      yield* down_write(file.f_mapping.i_mmap_rwsem); // i_mmap_lock_write(mapping)
      // insert tmp into the share list, just after mpnt
      file.f_mapping.i_mmap.add(tmp);
      up_write(file.f_mapping.i_mmap_rwsem);
    }
    // Link the vma into the MT. 6.15+: storing attaches it (vma_mark_attached), which asserts
    // the VMA write lock; the child mm is write-locked by us and invisible, so this is free.
    if (k.cfg.per_vma_lock && k.cfg.vma_lock_impl === 'refcount') yield* k.fn.vma_start_write(tmp);
    yield* k.fn.vma_iter_store(mm, tmp);
    mm.map_count++;
    const snap = k.fn.sim_fork_snapshot(mpnt);
    if (!(tmp.vm_flags & VM_WIPEONFORK)) retval = yield* k.fn.copy_page_range(tmp, mpnt);
    k.fn.sim_fork_snapshot_check(mpnt, snap);
    if (tmp.vm_ops?.open) yield* tmp.vm_ops.open(tmp);
    if (retval) break;
  }
  if (!retval) mm.mm_mt.in_rcu = true; // mt_set_in_rcu
  k.fn.mmap_write_unlock(mm);
  yield* k.fn.flush_tlb_mm(oldmm);
  k.fn.mmap_write_unlock(oldmm);
  // UFFD_EVENT_FORK: deliver and wait for the monitor to read it (the parent's mmap_changing
  // stays raised until then), or undo the contexts on failure.
  if (!retval) yield* k.fn.dup_userfaultfd_complete(uf);
  else k.fn.dup_userfaultfd_fail(uf);
  return retval;
}

export default defineVariant({
  name: 'b8-fork',
  base: 'v6.4',
  description:
    'dup_mmap without vma_start_write on the parent VMAs (6.4.0): a COW fault under the VMA lock ' +
    'copies a page that another parent thread still writes through a TLB entry fork has not flushed ' +
    'yet; the write is lost for the parent.',
  reverts: 'fb49c455323f fork: lock VMAs of the parent process when forking',
  scenario: 'fork-vs-fault',
  overrides: { dup_mmap: dup_mmap_6_4_0 },
});
