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
 * may also end in those errors: the VMAs before the registered one where it gave up zapped (and
 * the earlier registered ones' events raised), that one's event raised, nothing after it done; or,
 * as the history checker may not see the racing change, the whole walk done.
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
    // After userfaultfd_remove has waited for the monitor, madvise_dontneed_free looks the VMA up
    // again under a new mmap_read_lock: gone → -ENOMEM, no longer zappable → -EINVAL. A call
    // that queued UFFD_EVENT_REMOVE may return either, having given up at any registered VMA.
    const queued = (canon.state.uffd[op.pid]?.events.length ?? 0) > (s.uffd[op.pid]?.events.length ?? 0);
    if (queued && r.kind === 'errno' && (r.errno === ENOMEM || r.errno === EINVAL)) {
      return { ok: true, state: canon.state, also: afterRemoveWait(s, op, r) };
    }
    return { ok: false, why: `madvise must return ${describeResult(canon.result)}` };
  },
};

/**
 * The madvise gave up after waiting for the UFFD_EVENT_REMOVE of one of the registered VMAs in its
 * range to be read (see the header): for each such VMA, the state with the VMAs before it done
 * (unregistered ones zapped, registered ones' events raised — their zaps follow in uffd_settle),
 * its event raised, nothing after it.
 */
function afterRemoveWait(s: Parameters<typeof madvise.apply>[0], op: MadviseOp, r: ModelResult) {
  const proc = s.processes[op.pid];
  if (!proc || !s.uffd[op.pid] || op.addr % PAGE_SIZE !== 0 || op.len < 0) return [];
  const start = op.addr;
  const end = start + pageAlignUp(op.len);
  const registered = proc.vmas.filter((v) => v.end > start && v.start < end && v.uffd !== null).length;
  const out = [];
  for (let stopAt = 0; stopAt < registered; stopAt++) {
    const o = transition(s, (d) => {
      const p = d.processes[op.pid]!;
      let seen = 0;
      for (const v of p.vmas) {
        if (v.end <= start || v.start >= end) continue;
        if (v.driver) return errno(EINVAL);
        const lo = Math.max(start, v.start);
        const hi = Math.min(end, v.end);
        if (v.uffd !== null) {
          queueEvent(d, op.pid, { type: 'remove', start: lo, end: hi });
          if (seen++ === stopAt) return r;
          continue;
        }
        for (const k of Object.keys(v.pages)) {
          const pg = Number(k);
          if (pg >= lo / PAGE_SIZE && pg < hi / PAGE_SIZE) delete v.pages[pg];
        }
      }
      return errno(ESRCH);
    });
    if (!('blocked' in o) && resultsEqual(o.result, r)) out.push(o.state);
  }
  return out;
}
