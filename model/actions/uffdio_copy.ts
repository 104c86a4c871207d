/**
 * UFFDIO_COPY of one page — fs/userfaultfd.c: userfaultfd_copy → mm/userfaultfd.c: mfill_atomic.
 * -EAGAIN while a non-cooperative event is unread (ctx->mmap_changing, checked first, commit
 * df2cc96e7701); -ENOENT when dst is not in a VMA registered with this context; -EEXIST when a
 * page is already there (a PTE, even the zero page; for shmem a page-cache page); else the page
 * is installed and faults waiting for it complete. No context → -EBADF.
 */
import { EAGAIN, EBADF, EEXIST, EFAULT, EINVAL, ENOENT, ESRCH, OK, errno, type UffdioCopyOp } from '../ops.js';
import { transition, type Action } from '../action.js';
import { PAGE_SIZE, findVma, pageOf } from '../state.js';
import { viewPage } from '../memory.js';
import { anonVmaPrepare } from '../vma.js';

export const uffdio_copy: Action<UffdioCopyOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    const ctx = s.uffd[op.pid];
    if (!ctx) return { state: s, result: errno(EBADF) };
    if (op.dst % PAGE_SIZE !== 0) return { state: s, result: errno(EINVAL) };
    if (ctx.events.length > 0) return { state: s, result: errno(EAGAIN) };
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
};
