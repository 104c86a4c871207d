/**
 * munmap(2) — mm/vma.c: do_vmi_munmap. Partial VMAs are split (__split_vma); unmapping a range
 * with nothing in it succeeds; a registered range queues UFFD_EVENT_UNMAP. Neighbours are not
 * merged afterwards.
 *
 * Failure contract (state.mayFail): -ENOMEM with nothing unmapped, the VMAs maybe left split at
 * the range's start and end, and UFFD_EVENT_UNMAP maybe queued — failure.ts failedMunmapStates
 * (mm/vma.c vms_gather_munmap_vmas / do_vmi_align_munmap; mm/mmap.c do_vmi_align_munmap ≤6.11).
 */
import { EINVAL, ESRCH, OK, errno, type MunmapOp } from '../ops.js';
import { transition, type Action } from '../action.js';
import { PAGE_SIZE, TASK_SIZE, pageAlignUp } from '../state.js';
import { unmapRange } from '../vma.js';
import { failedMunmapStates, isENOMEM } from '../failure.js';

export const munmap: Action<MunmapOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    const len = pageAlignUp(op.len);
    if (op.addr % PAGE_SIZE !== 0 || len === 0 || op.addr + len > TASK_SIZE) return { state: s, result: errno(EINVAL) };
    return transition(s, (d) => {
      unmapRange(d, d.processes[op.pid]!, op.addr, op.addr + len);
      return OK;
    });
  },
  onFailure(s, op, r) {
    const len = pageAlignUp(op.len);
    if (!s.processes[op.pid] || !isENOMEM(r) || op.addr % PAGE_SIZE !== 0 || len === 0 || op.addr + len > TASK_SIZE) return [];
    return failedMunmapStates(s, op.pid, op.addr, op.addr + len);
  },
};
