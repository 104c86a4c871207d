/**
 * driver-needs-mmap-lock — the article's design question "can every ->fault run under the VMA
 * lock?", answered with an unsafe design: 6.7's vmf_can_call_fault() without its proxy check
 * (vma->vm_ops->map_pages: "all vm_ops that have a ->map_pages have been audited and don't need
 * the mmap_lock", Matthew Wilcox, "Handle more faults under the VMA lock", e.g. 4ed4379881aa).
 *
 * The story: a driver's VMA (/dev/mmaplock…, impl/drivers/misc_device.ts) has a ->fault that
 * relies on mmap_lock — it walks state only mmap_lock serialises, and asserts it
 * (mmap_assert_locked). A fault on it takes the per-VMA lock (lock_vma_under_rcu accepts
 * file-backed VMAs since 6.6), do_read_fault finds no ->map_pages for fault-around, and the
 * unsafe vmf_can_call_fault lets ->fault run holding only the VMA read lock: the driver's
 * assertion fires. The kernel keeps such drivers off the VMA-lock path (VM_FAULT_RETRY, then
 * the fault is retried under mmap_read_lock).
 *
 * The override is impl/mm/memory.ts's vmf_can_call_fault with the ->map_pages condition removed
 * (marked); no kernel shipped it (no commit reverted).
 */
import { k } from '../sim/kernel.js';
import { defineVariant } from '../sim/variant.js';
import type { vm_fault } from '../include/linux/mm_types.js';
import type { Task } from '../rt/task.js';
import { FAULT_FLAG_VMA_LOCK, VM_FAULT_RETRY } from '../include/linux/mm_flags.js';

/** vmf_can_call_fault trusting every driver's ->fault under the VMA lock. */
function* vmf_can_call_fault_any_driver(vmf: vm_fault): Task<number> {
  if (!(vmf.flags & FAULT_FLAG_VMA_LOCK)) return 0;
  // 6.7: `if (vma->vm_ops->map_pages) return 0;` — here any ->fault may run under the VMA lock.
  if (k.cfg.file_fault_under_vma_lock) return 0;
  // before 6.7 (as in memory.ts): drop the VMA lock and retry under mmap_lock.
  if (k.cfg.vma_lock_released_by_handler) yield* k.fn.vma_end_read(vmf.vma);
  return VM_FAULT_RETRY;
}

export default defineVariant({
  name: 'driver-needs-mmap-lock',
  base: 'v6.7',
  description:
    'vmf_can_call_fault lets a driver\'s ->fault run under the per-VMA lock even without ' +
    '->map_pages (the 6.7 proxy for "audited not to need mmap_lock"): a fault on a driver VMA ' +
    'whose ->fault relies on mmap_lock runs holding only the VMA read lock, and the driver\'s ' +
    'mmap_assert_locked fires.',
  scenario: 'driver-fault',
  overrides: { vmf_can_call_fault: vmf_can_call_fault_any_driver },
});
