/**
 * UFFDIO_MOVE of one page — mm/userfaultfd.c: move_pages (6.8+). Both VMAs private anonymous,
 * same protection, src writable, dst registered with this context (else -EINVAL); no VMA at src
 * or dst, or no page at src → -ENOENT; a page at dst → -EEXIST; -EAGAIN while an event is unread
 * (checked first, before the range checks: fs/userfaultfd.c userfaultfd_move), and possibly until
 * the raising syscall of a read event has returned (unsettled, see uffdio_copy).
 * The page (or the zero page) moves: dst shows the value, src becomes missing. A page at dst and
 * none at src may also be -ENOENT: move_pages gives -ENOENT when src has no page table at all
 * (mm_find_pmd fails) before it looks at dst; the model does not track page tables.
 *
 * Deviation: the kernel refuses (-EBUSY) to move a page still COW-shared with a forked child
 * (not PageAnonExclusive); the model does not track exclusivity, so the check accepts -EBUSY
 * (with no change) wherever it would accept a successful move.
 *
 * Failure contract (state.mayFail): -ENOMEM, nothing moved, when a VMA contains dst.
 * mm/userfaultfd.c move_pages → uffd_move_lock → uffd_lock_vma / find_vma_and_prepare_anon:
 * anon_vma_prepare of dst's VMA (→ -ENOMEM before src is even looked up, and before the
 * mmap_changing check), then of src's;
 * then per page mm_alloc_pmd / __pte_alloc for dst → -ENOMEM. The anon_vmas prepared before the
 * failing allocation stay.
 */
import { EAGAIN, EBADF, EBUSY, EEXIST, EINVAL, ENOENT, ESRCH, OK, errno, resultsEqual, describeResult, type ModelResult, type UffdioMoveOp } from '../ops.js';
import { transition, type Action, type Verdict } from '../action.js';
import { PAGE_SIZE, findVma, pageOf } from '../state.js';
import { anonVmaPrepare } from '../vma.js';
import { isENOMEM, maybeAnonVma } from '../failure.js';

export const uffdio_move: Action<UffdioMoveOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    const ctx = s.uffd[op.pid];
    if (!ctx) return { state: s, result: errno(EBADF) };
    if (ctx.events.length > 0) return { state: s, result: errno(EAGAIN) };
    if (op.src % PAGE_SIZE !== 0 || op.dst % PAGE_SIZE !== 0) return { state: s, result: errno(EINVAL) };
    return transition(s, (d) => {
      const proc = d.processes[op.pid]!;
      const sv = findVma(proc.vmas, op.src);
      const dv = findVma(proc.vmas, op.dst);
      if (!sv || !dv) return errno(ENOENT);
      const sameProt = sv.prot.read === dv.prot.read && sv.prot.write === dv.prot.write && sv.prot.exec === dv.prot.exec;
      if (!sameProt || !sv.prot.write) return errno(EINVAL);
      if (sv.file !== null || dv.file !== null || sv.shared || dv.shared || sv.driver || dv.driver) return errno(EINVAL);
      if (dv.uffd === null) return errno(EINVAL);
      const sp = pageOf(op.src);
      const dp = pageOf(op.dst);
      if (dv.pages[dp] !== undefined) return errno(EEXIST);
      const val = sv.pages[sp];
      if (val === undefined) return errno(ENOENT);
      delete sv.pages[sp];
      anonVmaPrepare(d, proc, dv);
      dv.pages[dp] = val;
      return OK;
    });
  },
  check(s, op, r: ModelResult): Verdict {
    const canon = uffdio_move.apply(s, op);
    if ('blocked' in canon) return { ok: false, why: canon.blocked };
    if (resultsEqual(canon.result, r)) return { ok: true, state: canon.state };
    if (canon.result.kind === 'ok' && r.kind === 'errno' && r.errno === EBUSY) return { ok: true, state: s };
    if (r.kind === 'errno' && r.errno === EAGAIN && (s.uffd[op.pid]?.unsettled ?? 0) > 0) return { ok: true, state: s };
    // move_pages looks both VMAs up (uffd_move_lock → uffd_lock_vma / find_vma_and_prepare_anon:
    // -ENOENT when either is gone) before it re-checks mmap_changing under map_changing_lock, so
    // a move that passed userfaultfd_move's early check gets -ENOENT when a racing munmap/mremap
    // removed a VMA and raised its event meanwhile (as UFFDIO_COPY's mfill_atomic, 6.8+).
    const ctx = s.uffd[op.pid];
    if (r.kind === 'errno' && r.errno === ENOENT && ctx && ctx.events.length > 0) {
      const vmas = s.processes[op.pid]!.vmas;
      if (!findVma(vmas, op.src) || !findVma(vmas, op.dst)) return { ok: true, state: s };
    }
    if (canon.result.kind === 'errno' && canon.result.errno === EEXIST && r.kind === 'errno' && r.errno === ENOENT) {
      const sv = findVma(s.processes[op.pid]!.vmas, op.src);
      if (sv && sv.pages[pageOf(op.src)] === undefined) return { ok: true, state: s };
    }
    return { ok: false, why: `UFFDIO_MOVE must return ${describeResult(canon.result)}` };
  },
  onFailure(s, op, r) {
    const proc = s.processes[op.pid];
    if (!proc || !s.uffd[op.pid] || !isENOMEM(r)) return [];
    if (!findVma(proc.vmas, op.dst)) return [];
    return maybeAnonVma(s, op.pid, op.dst).flatMap((st) => maybeAnonVma(st, op.pid, op.src));
  },
};
