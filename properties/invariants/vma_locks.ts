/**
 * I3 — reader/writer exclusion of per-VMA locks (kernel.md §3): a VMA is never read-locked by a
 * fault and write-locked at once. vma_start_write waits for the readers that got in (down_write
 * on vm_lock, or draining vm_refcnt under VMA_LOCK_OFFSET); readers that come later fail the seq
 * check and fall back. A reader's transient hold inside vma_start_read, before its own re-checks,
 * is not a read lock (sim_vma_lock_state leaves it out). Checked after every step.
 */
import { Violation } from '../../impl/rt/task.js';
import type { Kernel } from '../../impl/sim/kernel.js';
import type { mm_struct } from '../../impl/include/linux/mm_types.js';

export function vmaLockExclusionIn(kernel: Kernel, mms: readonly mm_struct[]): Violation | null {
  if (!kernel.cfg.per_vma_lock) return null;
  const lockState = kernel.fn.sim_vma_lock_state;
  for (let m = 0; m < mms.length; m++) {
    const slots = mms[m]!.mm_mt.ma_root.slots;
    for (let i = 0; i < slots.length; i++) {
      const vma = slots[i]!;
      const s = lockState(vma);
      if (s.readers > 0 && s.writeLocked) {
        return new Violation('vma-lock-exclusion',
          `${vma} is write-locked (vm_lock_seq == mm_lock_seq) while ${s.readers} reader(s) hold its VMA lock`,
          ['I3: vma_start_write waits for every reader; a reader never keeps the lock across a writer']);
      }
    }
  }
  return null;
}

export function checkVmaLockExclusion(kernel: Kernel): Violation | null {
  const mms: mm_struct[] = [];
  for (const p of kernel.procs.values()) if (p.mm && !p.mm.dead) mms.push(p.mm);
  return vmaLockExclusionIn(kernel, mms);
}
