/**
 * Kernel: fs/userfaultfd.c (userfaultfd_unregister) — a proposed fix, not a kernel commit: wake
 * the pending userfaults of each VMA *after* its userfaultfd flags are cleared under its write
 * lock, instead of before. Left out: the same as impl/mm/userfaultfd.ts (hugetlb alignment, wp
 * ranges: uffd_wp_range); only the position of the wake differs from it.
 *
 * The finding (README "Findings", test/regressions/uffd-unregister-wake.json): since 6.6
 * ("mm: handle userfaults under VMA lock", 29a22b9e08d7) a missing fault runs handle_userfault
 * holding only the VMA read lock. userfaultfd_unregister, under mmap_write_lock, calls
 * wake_userfault for the range and only then write-locks the VMA (vma_modify_flags_uffd /
 * userfaultfd_set_ctx → vma_start_write; 6.12+: userfaultfd_clear_vma). A fault that passed
 * userfaultfd_missing(vma) under its read lock but had not yet queued itself is not woken; it
 * queues while vma_start_write waits for its read lock, drops the lock and sleeps — on a range
 * that is no longer registered, until a UFFDIO_WAKE the documentation tells the monitor it need not
 * send, or the close of the userfaultfd. Under mmap_lock (≤ 6.5) the fault held mmap_read_lock
 * while queueing and the write lock ordered it before the wake.
 *
 * The fix moves the wake after the VMA is write-locked and cleared: vma_start_write waits for
 * every reader, so a fault that passed userfaultfd_missing under the VMA lock has queued by then
 * (it queues before release_fault_lock), and a fault that takes the lock afterwards sees the
 * flags cleared and never queues. Faults under mmap_read_lock are excluded by mmap_write_lock as
 * before. In the kernel it is a move of one block (the VMA's ctx and missing flag read before
 * userfaultfd_clear_vma, the wake after it):
 *
 *   -		if (userfaultfd_missing(vma)) {
 *   -			...
 *   -			wake_userfault(vma->vm_userfaultfd_ctx.ctx, &range);
 *   -		}
 *   +		vma_ctx = vma->vm_userfaultfd_ctx.ctx;
 *   +		missing = userfaultfd_missing(vma);
 *   		vma = userfaultfd_clear_vma(&vmi, prev, vma, start, vma_end);
 *   		if (IS_ERR(vma)) { ret = PTR_ERR(vma); break; }
 *   +		if (missing) {
 *   +			// VMA write-locked and cleared: every fault that saw it registered has queued
 *   +			range.start = start; range.len = vma_end - start;
 *   +			wake_userfault(vma_ctx, &range);
 *   +		}
 *
 * The other fix the finding suggests — re-check the registration in handle_userfault after
 * queueing — cannot close the window on its own: while the fault holds the VMA read lock the
 * unregister is still waiting in vma_start_write (the flags are unchanged, so the re-check passes),
 * and after release_fault_lock the fault may no longer look at the VMA. It would need a new wake
 * from the unregister anyway, i.e. this fix. userfaultfd_release already does it in this order
 * (ctx->released set first, all faults woken after the VMAs are cleared).
 *
 * A fix, not a bug: it is not in the zoo (impl/bugs/index.ts). Check it as a variant file:
 *   faultline check --variant impl/fixes/uffd-unregister-wake.ts --config v6.6 [--scenario uffd:monitor=contract]
 */
import type { Task } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import { defineVariant } from '../sim/variant.js';
import type { vm_area_struct, userfaultfd_ctx } from '../include/linux/mm_types.js';
import { MMAP_MIN_ADDR, PAGE_SIZE, TASK_SIZE, VM_UFFD_FLAGS } from '../include/linux/mm_flags.js';
import { EINVAL, ENOMEM } from '../include/linux/errno.js';
import { VM_WARN_ON_ONCE } from '../include/linux/mmdebug.js';

/** validate_range(mm, start, len) (as impl/mm/userfaultfd.ts). */
function validate_range(start: number, len: number): number {
  if (start % PAGE_SIZE !== 0 || len % PAGE_SIZE !== 0 || len <= 0) return -EINVAL;
  if (start < MMAP_MIN_ADDR) return -EINVAL;
  if (start >= TASK_SIZE || len > TASK_SIZE - start) return -EINVAL;
  return 0;
}

/**
 * userfaultfd_unregister(ctx, start, len) with the wake after userfaultfd_clear_vma (marked).
 * Locks: takes and releases mmap_write_lock; each VMA write-locked before its flags change.
 */
export function* userfaultfd_unregister_wake_after_clear(ctx: userfaultfd_ctx, start0: number, len: number): Task<number> {
  const mm = ctx.mm;
  let ret = validate_range(start0, len);
  if (ret) return ret;
  let start = start0;
  const end = start + len;
  if (mm.dead) return -ENOMEM;
  yield* k.fn.mmap_write_lock(mm);
  ret = -ENOMEM;
  let vma = yield* k.fn.find_vma_intersection(mm, start, end);
  out: {
    if (!vma) break out;
    ret = -EINVAL;
    let cur: vm_area_struct | null = vma;
    while (cur && cur.vm_start < end) {
      VM_WARN_ON_ONCE(!!cur.vm_userfaultfd_ctx !== !!(cur.vm_flags & VM_UFFD_FLAGS), 'userfaultfd_unregister: ctx and flags disagree');
      if (cur.vm_userfaultfd_ctx && cur.vm_userfaultfd_ctx !== ctx) break out;
      if (!k.fn.vma_can_userfault(cur, cur.vm_flags)) break out;
      cur = yield* k.fn.find_vma(mm, cur.vm_end);
    }
    let prev = (yield* k.fn.find_vma_prev(mm, start)).prev;
    if (vma.vm_start < start) prev = vma;
    ret = 0;
    while (vma && vma.vm_start < end) {
      if (!vma.vm_userfaultfd_ctx) {
        prev = vma;
        start = vma.vm_end;
        vma = yield* k.fn.find_vma(mm, vma.vm_end);
        continue;
      }
      if (vma.vm_start > start) start = vma.vm_start;
      const vma_end = Math.min(end, vma.vm_end);
      // FIX: remember what to wake; wake only once the VMA is write-locked and cleared.
      const vma_ctx = vma.vm_userfaultfd_ctx;
      const missing = k.fn.userfaultfd_missing(vma);
      // userfaultfd_clear_vma
      const r = yield* k.fn.vma_modify_flags_uffd(prev, vma, start, vma_end, vma.vm_flags & ~VM_UFFD_FLAGS, null);
      if (typeof r === 'number') {
        ret = r;
        break;
      }
      vma = r;
      yield* k.fn.userfaultfd_reset_ctx(vma);
      if (missing) {
        // FIX: vma_start_write waited for every VMA-lock reader, so a fault that saw the range
        // registered has queued itself by now; later faults see it unregistered.
        yield* k.fn.wake_userfault(vma_ctx, { start, len: vma_end - start });
      }
      prev = vma;
      start = vma.vm_end;
      vma = yield* k.fn.find_vma(mm, vma.vm_end);
    }
  }
  k.fn.mmap_write_unlock(mm);
  return ret;
}

export default defineVariant({
  name: 'uffd-unregister-wake-after-clear',
  base: 'v6.6',
  description:
    'userfaultfd_unregister wakes the pending userfaults of each VMA after clearing its uffd flags ' +
    'under the VMA write lock (not before), so a fault that passed userfaultfd_missing under the VMA ' +
    'lock cannot queue itself after the wake and sleep on an unregistered range.',
  overrides: { userfaultfd_unregister: userfaultfd_unregister_wake_after_clear },
});
