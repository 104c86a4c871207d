/**
 * madvise(2) MADV_DONTNEED — mm/madvise.c: madvise_dontneed_free → zap_page_range_single.
 * Private pages in the range are dropped: anonymous memory reads 0 again, private file pages
 * re-read the file; shared pages keep their contents (only PTEs go). VM_PFNMAP (driver) VMAs
 * give -EINVAL. Holes: the mapped parts are still zapped and the call returns -ENOMEM. A
 * registered VMA queues UFFD_EVENT_REMOVE for its part of the range (userfaultfd_remove), and
 * that part is zapped only after the monitor has read the event: userfaultfd_remove drops
 * mmap_read_lock and waits for the read, then madvise_dontneed_free re-takes the lock and zaps
 * (the model does it in uffd_settle, which the history checker adds after the read). Then it
 * looks the VMA up again: a call that raised the event may return -ENOMEM or -EINVAL (check).
 */
import { EINVAL, ENOMEM, ESRCH, OK, describeResult, errno, resultsEqual, type MadviseOp } from '../ops.js';
import { transition, type Action, type Verdict } from '../action.js';
import { PAGE_SIZE, pageAlignUp } from '../state.js';
import { queueEvent, rangeFullyMapped } from '../vma.js';

export const madvise: Action<MadviseOp> = {
  apply(s, op) {
    const proc = s.processes[op.pid];
    if (!proc) return { state: s, result: errno(ESRCH) };
    if (op.addr % PAGE_SIZE !== 0 || op.len < 0) return { state: s, result: errno(EINVAL) };
    const len = pageAlignUp(op.len);
    if (len === 0) return { state: s, result: OK };
    const start = op.addr;
    const end = start + len;
    const hit = proc.vmas.filter((v) => v.end > start && v.start < end);
    if (hit.length === 0) return { state: s, result: errno(ENOMEM) };
    return transition(s, (d) => {
      const p = d.processes[op.pid]!;
      for (const v of p.vmas) {
        if (v.end <= start || v.start >= end) continue;
        if (v.driver) return errno(EINVAL);
        const lo = Math.max(start, v.start);
        const hi = Math.min(end, v.end);
        if (v.uffd !== null && d.uffd[op.pid]) {
          queueEvent(d, op.pid, { type: 'remove', start: lo, end: hi });
          continue;
        }
        for (const k of Object.keys(v.pages)) {
          const pg = Number(k);
          if (pg >= lo / PAGE_SIZE && pg < hi / PAGE_SIZE) delete v.pages[pg];
        }
      }
      return rangeFullyMapped(p.vmas, start, end) ? OK : errno(ENOMEM);
    });
  },
  check(s, op, r): Verdict {
    const canon = madvise.apply(s, op);
    if ('blocked' in canon) return { ok: false, why: canon.blocked };
    if (resultsEqual(canon.result, r)) return { ok: true, state: canon.state };
    // After userfaultfd_remove has waited for the monitor, madvise_dontneed_free looks the VMA up
    // again under a new mmap_read_lock: gone → -ENOMEM, no longer zappable → -EINVAL. A call
    // that queued UFFD_EVENT_REMOVE may return either, whatever the range looked like before.
    const queued = (canon.state.uffd[op.pid]?.events.length ?? 0) > (s.uffd[op.pid]?.events.length ?? 0);
    if (queued && r.kind === 'errno' && (r.errno === ENOMEM || r.errno === EINVAL)) return { ok: true, state: canon.state };
    return { ok: false, why: `madvise must return ${describeResult(canon.result)}` };
  },
};
