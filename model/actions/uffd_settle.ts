/**
 * The end of a non-cooperative event's raising syscall (a pseudo-operation the history checker
 * adds, model/ops.ts UffdSettleOp) — fs/userfaultfd.c: userfaultfd_event_wait_completion. The
 * task that raised the event sleeps until the monitor reads it, then lowers ctx->mmap_changing
 * (atomic_dec) and returns; a UFFD_EVENT_REMOVE's madvise then re-takes mmap_read_lock and zaps
 * the range (mm/madvise.c: madvise_dontneed_free after userfaultfd_remove returned false). Only
 * enabled once an event has been read (unsettled > 0).
 */
import { ESRCH, OK, errno, type UffdSettleOp } from '../ops.js';
import { blocked, transition, type Action } from '../action.js';
import { PAGE_SIZE } from '../state.js';

export const uffd_settle: Action<UffdSettleOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    const ctx = s.uffd[op.pid];
    if (!ctx || ctx.unsettled === 0) return blocked(`no event of P${op.pid}'s userfaultfd has been read yet`);
    return transition(s, (d) => {
      d.uffd[op.pid]!.unsettled--;
      const ev = op.event;
      if (ev.type === 'remove') {
        // The deferred zap of the registered part of an madvise(MADV_DONTNEED) range: the VMAs
        // madvise_dontneed_free finds there when it looks again, registered or not any more (a
        // racing UFFDIO_UNREGISTER does not stop the zap); a driver VMA is not zapped (-EINVAL).
        for (const v of d.processes[op.pid]!.vmas) {
          if (v.driver || v.end <= ev.start || v.start >= ev.end) continue;
          for (const k of Object.keys(v.pages)) {
            const pg = Number(k);
            if (pg >= ev.start / PAGE_SIZE && pg < ev.end / PAGE_SIZE) delete v.pages[pg];
          }
        }
      }
      return OK;
    });
  },
};
