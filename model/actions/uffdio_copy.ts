/**
 * UFFDIO_COPY of one page — fs/userfaultfd.c: userfaultfd_copy → mm/userfaultfd.c: mfill_atomic.
 * -EAGAIN while a non-cooperative event is unread (ctx->mmap_changing, checked first — before
 * validate_range's -EINVAL — commit df2cc96e7701); -ENOENT when dst is not in a VMA registered
 * with this context; -EEXIST when a page is already there (a PTE, even the zero page; for shmem a
 * page-cache page); else the page is installed and faults waiting for it complete. No context →
 * -EBADF. After an event was read but before its raising syscall returned (unsettled) the kernel
 * may still see mmap_changing raised: -EAGAIN (no change) is allowed there too.
 *
 * Failure contract (state.mayFail): -ENOMEM, nothing copied, whenever a VMA contains dst.
 * mm/userfaultfd.c mfill_atomic: anon_vma_prepare(dst_vma) (private) → -ENOMEM; mm_alloc_pmd /
 * __pte_alloc → -ENOMEM; mfill_atomic_pte_copy allocates the folio (vma_alloc_folio → -ENOMEM)
 * before mfill_atomic_install_pte looks at the PTE, so even a page already there may give -ENOMEM
 * rather than -EEXIST (shmem_mfill_atomic_pte likewise allocates before its i_size check). Before
 * 6.8 these come after the mmap_changing and registration checks; 6.8+ (uffd_mfill_lock →
 * uffd_lock_vma → find_vma_and_prepare_anon) prepares the anon_vma of whatever VMA is at dst
 * before both — so loosely, -ENOMEM is accepted with events pending and on unregistered VMAs. The
 * anon_vma prepared before a later allocation failed stays (decides later merges).
 */
import { EAGAIN, EBADF, EEXIST, EFAULT, EINVAL, ENOENT, ESRCH, OK, describeResult, errno, resultsEqual, type ModelResult, type UffdioCopyOp } from '../ops.js';
import { transition, type Action, type Verdict } from '../action.js';
import { PAGE_SIZE, findVma, pageOf } from '../state.js';
import { viewPage } from '../memory.js';
import { anonVmaPrepare } from '../vma.js';
import { isENOMEM, maybeAnonVma } from '../failure.js';

export const uffdio_copy: Action<UffdioCopyOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    const ctx = s.uffd[op.pid];
    if (!ctx) return { state: s, result: errno(EBADF) };
    if (ctx.events.length > 0) return { state: s, result: errno(EAGAIN) };
    if (op.dst % PAGE_SIZE !== 0) return { state: s, result: errno(EINVAL) };
    return transition(s, (d) => {
      const proc = d.processes[op.pid]!;
      const v = findVma(proc.vmas, op.dst);
      if (!v || v.uffd === null) return errno(ENOENT);
      const page = pageOf(op.dst);
      const view = viewPage(d, v, page);
      if (view.kind === 'sigbus') return errno(EFAULT);
      if (view.present) return errno(EEXIST);
      if (v.file !== null) {
        d.files[v.file]!.pages[view.fileIdx!] = op.value;
      } else {
        anonVmaPrepare(d, proc, v);
        v.pages[page] = op.value;
      }
      return OK;
    });
  },
  check(s, op, r: ModelResult): Verdict {
    const canon = uffdio_copy.apply(s, op);
    if ('blocked' in canon) return { ok: false, why: canon.blocked };
    if (resultsEqual(canon.result, r)) return { ok: true, state: canon.state };
    const ctx = s.uffd[op.pid];
    if (r.kind === 'errno' && r.errno === EAGAIN && (ctx?.unsettled ?? 0) > 0) return { ok: true, state: s };
    // 6.8+ (uffd_mfill_lock with per-VMA locks): mfill_atomic looks the destination VMA up
    // before it checks mmap_changing under map_changing_lock, so a copy that passed
    // userfaultfd_copy's early check gets -ENOENT when a racing munmap/mremap removed the VMA
    // and raised its event meanwhile (mm/userfaultfd.c: mfill_atomic).
    if (r.kind === 'errno' && r.errno === ENOENT && ctx && ctx.events.length > 0) {
      const v = findVma(s.processes[op.pid]!.vmas, op.dst);
      if (!v || v.uffd === null) return { ok: true, state: s };
    }
    return { ok: false, why: `UFFDIO_COPY must return ${describeResult(canon.result)}` };
  },
  onFailure(s, op, r) {
    const proc = s.processes[op.pid];
    if (!proc || !s.uffd[op.pid] || !isENOMEM(r) || !findVma(proc.vmas, op.dst)) return [];
    return maybeAnonVma(s, op.pid, op.dst);
  },
};
