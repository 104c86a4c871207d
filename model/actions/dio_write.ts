/**
 * write(2) of user memory to one file page through an O_DIRECT descriptor — fs/iomap/direct-io.c:
 * iomap_dio_rw → bio_iov_iter_get_pages → pin_user_pages_fast(FOLL_PIN), the device reads the
 * page, bio_release_pages. The file page gets what a load at addr would read (a never-touched
 * anonymous page is faulted in as the zero page; shmem allocates its page); it extends the file as
 * pwrite does. GUP's rules: no VMA (stacks do not grow), a driver mapping, no PROT_READ (GUP checks
 * VM_READ), or a page beyond the end of a file mapping → -EFAULT. A missing page of a missing-mode
 * uffd range waits. Result: the bytes written.
 *
 * Failure contract (state.mayFail): mm/gup.c faultin_page → vm_fault_to_errno: the pinning fault
 * failed to allocate (VM_FAULT_OOM → -ENOMEM, anon_vma_prepare maybe done) or to read the page in
 * (VM_FAULT_SIGBUS → -EFAULT, where the fault reads a file or swap page); or the page was pinned
 * (faulted in for read: a missing anonymous page maps the zero page, a shmem page is allocated)
 * and the page cache allocation of the write failed (generic_perform_write →
 * __filemap_get_folio: -ENOMEM): the file is unchanged. -ENOMEM with nothing done: the dio's own
 * allocation (fs/iomap/direct-io.c __iomap_dio_rw: kmalloc of the iomap_dio, before the pin), or,
 * where a successful call waits for UFFDIO_COPY (a missing page of a missing-mode uffd range), the
 * read fault's page-table allocation before handle_userfault (mm/memory.c __handle_mm_fault
 * pud/pmd_alloc, do_anonymous_page pte_alloc → VM_FAULT_OOM → faultin_page → -ENOMEM).
 */
import { EBADF, EFAULT, EINVAL, ESRCH, errno, value, PAGE_SIZE, type DioWriteOp } from '../ops.js';
import { produce } from 'immer';
import { blocked, isBlocked, transition, type Action } from '../action.js';
import { ZERO_PAGE, fdOpen, findVma, pageOf } from '../state.js';
import { viewPage, waitsForUffd } from '../memory.js';
import { faultMayRead, isENOMEM, isErrno, maybeAnonVma } from '../failure.js';

export const dio_write: Action<DioWriteOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    const f = s.files[op.file];
    if (!f || !fdOpen(s, op.pid, op.file)) return { state: s, result: errno(EBADF) };
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
  onFailure(s, op, r) {
    const proc = s.processes[op.pid];
    const f = s.files[op.file];
    if (!proc || !f || f.driver || f.shmem || op.file.startsWith('/dev/')) return [];
    if (!Number.isInteger(op.page) || op.page < 0) return [];
    // __iomap_dio_rw's kmalloc of the dio, before the pin: nothing done.
    const none = isENOMEM(r) ? [s] : [];
    const v = findVma(proc.vmas, op.addr);
    if (!v || v.driver || !v.prot.read) return none;
    const view = viewPage(s, v, pageOf(op.addr));
    if (view.kind === 'sigbus') return none;
    // A read fault's page tables (__handle_mm_fault, do_anonymous_page's pte_alloc) are
    // allocated before handle_userfault; no anon_vma on that path.
    if (waitsForUffd(v, view)) return none;
    if (isErrno(r, EFAULT)) return faultMayRead(s, v, pageOf(op.addr)) ? maybeAnonVma(s, op.pid, op.addr) : [];
    if (!isENOMEM(r)) return [];
    // Pinned, then the write's page cache allocation failed: the success state with the file
    // page and size as they were.
    const o = dio_write.apply(s, op);
    if (isBlocked(o)) return [];
    const pinned = produce(o.state, (d) => {
      const file = d.files[op.file]!;
      const old = s.files[op.file]!;
      file.size = old.size;
      if (old.pages[op.page] === undefined) delete file.pages[op.page];
      else file.pages[op.page] = old.pages[op.page]!;
    });
    return [...maybeAnonVma(s, op.pid, op.addr), pinned];
  },
};
