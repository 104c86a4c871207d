/**
 * write(2) of user memory to one file page through an O_DIRECT descriptor — fs/iomap/direct-io.c:
 * iomap_dio_rw → bio_iov_iter_get_pages → pin_user_pages_fast(FOLL_PIN), the device reads the
 * page, bio_release_pages. The file page gets what a load at addr would read (a never-touched
 * anonymous page is faulted in as the zero page; shmem allocates its page); it extends the file as
 * pwrite does. GUP's rules: no VMA (stacks do not grow), a driver mapping, no PROT_READ (GUP checks
 * VM_READ), or a page beyond the end of a file mapping → -EFAULT. A missing page of a missing-mode
 * uffd range waits. Result: the bytes written.
 */
import { EBADF, EFAULT, EINVAL, ESRCH, errno, value, PAGE_SIZE, type DioWriteOp } from '../ops.js';
import { blocked, transition, type Action } from '../action.js';
import { ZERO_PAGE, findVma, pageOf } from '../state.js';
import { viewPage, waitsForUffd } from '../memory.js';

export const dio_write: Action<DioWriteOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    const f = s.files[op.file];
    if (!f) return { state: s, result: errno(EBADF) };
    // Device files (drivers: impl/drivers/misc_device.ts registers every /dev/… file) have no O_DIRECT.
    if (f.driver || f.shmem || op.file.startsWith('/dev/')) return { state: s, result: errno(EINVAL) };
    if (!Number.isInteger(op.page) || op.page < 0) return { state: s, result: errno(EINVAL) };
    return transition(s, (d) => {
      const proc = d.processes[op.pid]!;
      const v = findVma(proc.vmas, op.addr);
      if (!v || v.driver || !v.prot.read) return errno(EFAULT);
      const page = pageOf(op.addr);
      const view = viewPage(d, v, page);
      if (view.kind === 'sigbus') return errno(EFAULT);
      if (waitsForUffd(v, view)) return blocked(`P${op.pid}'s O_DIRECT write from 0x${op.addr.toString(16)} waits for UFFDIO_COPY`);
      if (!view.present) {
        if (v.file === null) v.pages[page] = ZERO_PAGE;
        else if (d.files[v.file]!.shmem && view.fileIdx !== null) d.files[v.file]!.pages[view.fileIdx] = 0;
      }
      const file = d.files[op.file]!;
      file.pages[op.page] = view.value;
      file.size = Math.max(file.size, op.page + 1);
      return value(PAGE_SIZE);
    });
  },
};
