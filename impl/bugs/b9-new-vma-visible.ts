/**
 * B9 — "mm: lock newly mapped VMA which can be modified after it becomes visible" (33313a747e81,
 * 6.5-rc1 / 6.4.x, Suren Baghdasaryan; with Hugh Dickins' corrected ordering and 6.6's "mm: always
 * lock new vma before inserting into vma tree").
 *
 * The override is impl/mm/mmap.ts mmap_region with the fix removed: the
 * `yield* k.fn.vma_start_write(vma);` right before `vma_iter_store` is gone, so the new VMA is
 * visible in the tree, unlocked, while mmap_region goes on linking it into i_mmap and setting
 * its final vm_page_prot (vma_set_page_prot, which asserts the VMA write lock: I2). Everything
 * else is the current function, unchanged (the driver ->mmap branch still write-locks first, as
 * the vm_flags_* helpers ->mmap uses did in 6.4).
 */
import type { Task } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import { defineVariant } from '../sim/variant.js';
import type { file, mm_struct } from '../include/linux/mm_types.js';
import { VM_ACCOUNT, VM_NORESERVE, VM_SHARED, VM_WRITE } from '../include/linux/mm_flags.js';
import { ENOMEM } from '../include/linux/errno.js';
import { refcount_dec_and_test, refcount_inc } from '../sync/refcount.js';
import { generic_file_vm_ops } from '../mm/filemap.js';
import { sim_vmg_new_range } from '../mm/vma.js';
import { shmem_zero_setup, vm_get_page_prot, vma_set_page_prot } from '../mm/mmap.js';

/** accountable_mapping(file, vm_flags): private writable memory is charged (VM_ACCOUNT). */
function accountable_mapping(vm_flags: number): boolean {
  return (vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) === VM_WRITE;
}

/**
 * mmap_region(file, addr, len, vm_flags, pgoff) before 33313a747e81: the new VMA is stored in
 * the tree without being write-locked. Locks: mmap_write_lock held. Returns addr or -errno.
 */
function* mmap_region(mm: mm_struct, f: file | null, addr: number, len: number, vm_flags: number, pgoff: number): Task<number> {
  const end = addr + len;
  k.fn.mmap_assert_write_locked(mm);
  // Unmap any existing mapping in the area (6.4: do_vmi_munmap(&vmi, mm, addr, len, uf, false)).
  if ((yield* k.fn.do_vmi_munmap(mm, addr, len, false)) !== 0) return -ENOMEM;
  // Private writable mapping: check memory availability.
  if (accountable_mapping(vm_flags)) vm_flags |= VM_ACCOUNT;

  // Can we just expand an old mapping?
  const { vma: next, prev } = yield* k.fn.find_vma_prev(mm, addr);
  if (!(f === null && vm_flags & VM_SHARED)) {
    const vmg = sim_vmg_new_range(mm, prev, next, addr, end, pgoff, vm_flags, f);
    const merged = yield* k.fn.vma_merge_new_range(vmg);
    if (merged) {
      // expanded: the merged VMA covers the range (it was write-locked by vma_expand)
      vma_set_page_prot(merged);
      return addr;
    }
  }

  // Determine the object being mapped and call the appropriate specific mapper.
  const vma = yield* k.fn.vm_area_alloc(mm);
  vma.vm_start = addr;
  vma.vm_end = end;
  vma.vm_pgoff = pgoff;
  k.fn.vm_flags_init(vma, vm_flags);
  vma.vm_page_prot = vm_get_page_prot(vm_flags);
  if (f) {
    refcount_inc(f.f_count); // vma->vm_file = get_file(file)
    vma.vm_file = f;
    if (f.f_op?.mmap) {
      yield* k.fn.vma_start_write(vma);
      const error = yield* f.f_op.mmap(f, vma);
      if (error) {
        refcount_dec_and_test(f.f_count); // fput
        k.fn.vm_area_free(vma);
        return error;
      }
    } else {
      // generic_file_mmap: vma->vm_ops = &generic_file_vm_ops
      vma.vm_ops = generic_file_vm_ops;
    }
  } else if (vm_flags & VM_SHARED) {
    shmem_zero_setup(vma);
  } else {
    // vma_set_anonymous(vma)
    vma.vm_ops = null;
  }

  // (the fix's vma_start_write(vma) is missing here: the VMA becomes visible unlocked)
  yield* k.fn.vma_iter_store(mm, vma);
  mm.map_count++;
  yield* k.fn.vma_link_file(vma);

  // Written after insertion: needs the write lock the fix takes.
  vma_set_page_prot(vma);
  return addr;
}

export default defineVariant({
  name: 'b9-new-vma-visible',
  base: 'v6.6',
  reverts: '33313a747e81',
  scenario: 'mmap-vs-fault',
  description:
    'mmap_region stores the new VMA in the maple tree (vma_iter_store) before write-locking it and ' +
    'then keeps modifying it: it links it into the file\'s i_mmap and sets its final vm_page_prot ' +
    '(vma_set_page_prot). From the store on, a fault on another thread finds the VMA with ' +
    'lock_vma_under_rcu, vma_start_read succeeds (nothing write-locked it) and the fault runs under ' +
    'the VMA lock alone on a half-initialised VMA — in 6.6 also for file VMAs (fault-around). The ' +
    'checker catches the unlocked modification itself: vma_set_page_prot\'s vma_assert_write_locked ' +
    '(I2: a VMA is write-locked before it becomes reachable and before any fault-visible field of a ' +
    'visible VMA changes), so the counterexample needs no second thread.',
  overrides: { mmap_region },
});
