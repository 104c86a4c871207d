/**
 * A non-blocking read(2) of one uffd_msg — fs/userfaultfd.c: userfaultfd_ctx_read. Pending
 * page-fault messages come first, then non-cooperative events in order (reading one clears
 * mmap_changing for it). Nothing to read → -EAGAIN.
 *
 * Faults waiting for a page are not model state (a blocked load/store is simply not enabled),
 * so the check over-approximates: it accepts a pagefault message for any address whose page is
 * missing in a missing-mode registered VMA (state unchanged). apply() never produces one.
 */
import { EAGAIN, EBADF, ESRCH, describeEvent, describeResult, errno, resultsEqual, type ModelResult, type UffdReadEventOp } from '../ops.js';
import { transition, type Action, type Verdict } from '../action.js';
import { findVma, pageOf } from '../state.js';
import { viewPage, waitsForUffd } from '../memory.js';

export const uffd_read_event: Action<UffdReadEventOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    const ctx = s.uffd[op.pid];
    if (!ctx) return { state: s, result: errno(EBADF) };
    if (ctx.events.length === 0) return { state: s, result: errno(EAGAIN) };
    return transition(s, (d) => {
      const ev = { ...d.uffd[op.pid]!.events.shift()! }; // a plain copy, not a draft
      return { kind: 'event', event: ev };
    });
  },
  check(s, op, r: ModelResult): Verdict {
    const canon = uffd_read_event.apply(s, op);
    if ('blocked' in canon) return { ok: false, why: canon.blocked };
    if (resultsEqual(canon.result, r)) return { ok: true, state: canon.state };
    if (r.kind === 'event' && r.event.type === 'pagefault' && s.processes[op.pid] && s.uffd[op.pid]) {
      const v = findVma(s.processes[op.pid]!.vmas, r.event.addr);
      if (v && waitsForUffd(v, viewPage(s, v, pageOf(r.event.addr)))) {
        return { ok: true, state: s };
      }
      return { ok: false, why: `no fault can be waiting at ${describeEvent(r.event)}` };
    }
    return { ok: false, why: `the next uffd message is ${describeResult(canon.result)}` };
  },
};
