/**
 * madvise(2) MADV_DONTNEED — mm/madvise.c: madvise_dontneed_free → zap_page_range_single.
 * Private pages in the range are dropped: anonymous memory reads 0 again, private file pages
 * re-read the file; shared pages keep their contents (only PTEs go). VM_PFNMAP (driver) VMAs
 * give -EINVAL. Holes: the mapped parts are still zapped and the call returns -ENOMEM. A
 * registered VMA queues UFFD_EVENT_REMOVE for its part of the range (userfaultfd_remove), and
 * that part is zapped only after the monitor has read the event: userfaultfd_remove drops
 * mmap_read_lock and waits for the read, then madvise_dontneed_free re-takes the lock and zaps
 * (the model does it in uffd_settle, which the history checker adds after the read).
 *
 * While it waits for that read the madvise holds no lock; it then looks the VMA up again and gives
 * up if it went away (-ENOMEM) or became one it may not zap (-EINVAL: e.g. a VM_PFNMAP mapping put
 * there by a racing mmap) — mm/madvise.c madvise_dontneed_free. So a range with a registered VMA
 * may also end in those errors: its earlier (unregistered) VMAs zapped, the event raised, nothing
 * after it done.
 */
import { EINVAL, ENOMEM, ESRCH, OK, describeResult, errno, resultsEqual, type MadviseOp, type ModelResult } from '../ops.js';
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
  check(s, op, r: ModelResult): Verdict {
    const canon = madvise.apply(s, op);
    if ('blocked' in canon) return { ok: false, why: canon.blocked };
    if (resultsEqual(canon.result, r)) return { ok: true, state: canon.state };
    if (r.kind === 'errno' && (r.errno === EINVAL || r.errno === ENOMEM)) {
      const gaveUp = afterRemoveWait(s, op, r);
      if (gaveUp) return { ok: true, state: gaveUp };
    }
    return { ok: false, why: `the model returns ${describeResult(canon.result)}` };
  },
};

/**
 * The madvise gave up after waiting for its first UFFD_EVENT_REMOVE to be read (see the header):
 * the VMAs before the first registered one zapped, that one's event raised, nothing else; or null
 * when no registered VMA is in the range.
 */
function afterRemoveWait(s: Parameters<typeof madvise.apply>[0], op: MadviseOp, r: ModelResult) {
  const proc = s.processes[op.pid];
  if (!proc || !s.uffd[op.pid] || op.addr % PAGE_SIZE !== 0 || op.len < 0) return null;
  const start = op.addr;
  const end = start + pageAlignUp(op.len);
  if (!proc.vmas.some((v) => v.end > start && v.start < end && v.uffd !== null)) return null;
  const o = transition(s, (d) => {
    const p = d.processes[op.pid]!;
    for (const v of p.vmas) {
      if (v.end <= start || v.start >= end) continue;
      if (v.driver) return errno(EINVAL);
      const lo = Math.max(start, v.start);
      const hi = Math.min(end, v.end);
      if (v.uffd !== null) {
        queueEvent(d, op.pid, { type: 'remove', start: lo, end: hi });
        return r;
      }
      for (const k of Object.keys(v.pages)) {
        const pg = Number(k);
        if (pg >= lo / PAGE_SIZE && pg < hi / PAGE_SIZE) delete v.pages[pg];
      }
    }
    return errno(ESRCH);
  });
  return 'blocked' in o || !resultsEqual(o.result, r) ? null : o.state;
}
