/**
 * read(2) of one file page through an O_DIRECT descriptor into user memory — fs/iomap/direct-io.c:
 * iomap_dio_rw → bio_iov_iter_get_pages → pin_user_pages_fast(FOLL_WRITE | FOLL_PIN), the device
 * writes the page, bio_release_pages. The user page gets the file's contents as a store would put
 * them there (faulting it in, breaking COW of a private mapping, writing the file page of a
 * shared one). GUP's rules, not a user fault's: no VMA (stacks do not grow), a driver mapping
 * (VM_IO | VM_PFNMAP), no PROT_WRITE, or a page beyond the end of a file mapping → -EFAULT. A
 * missing page of a missing-mode uffd range waits (the slow path faults with
 * FAULT_FLAG_ALLOW_RETRY). At or beyond EOF: 0 bytes, nothing pinned. Result: the bytes read.
 *
 * Failure contract (state.mayFail): mm/gup.c faultin_page → vm_fault_to_errno: the pinning fault
 * failed to allocate (VM_FAULT_OOM → -ENOMEM; anon_vma_prepare may have run first, as for a
 * store) or failed to read the page in (VM_FAULT_SIGBUS → -EFAULT, where the fault reads a file
 * or swap page); or the page was pinned — so faulted in for write (FOLL_WRITE: a private page
 * COW-copied with what it showed, a missing anonymous page zero-filled, a shared file page read
 * into the page cache) — and the read of the file page then failed (filemap_read: the page cache
 * allocation -ENOMEM, the device read -EIO): the user page keeps what it showed, the pin is
 * dropped. The data is never partly written (one page, one bio). -ENOMEM with nothing done: the
 * dio's own allocation (fs/iomap/direct-io.c __iomap_dio_rw: kmalloc of the iomap_dio, before
 * the EOF check and the pin — so even a read at EOF). A missing page of a missing-mode uffd
 * range, where a successful call waits for UFFDIO_COPY, may still end in -ENOMEM: the pinning
 * fault allocates before it reaches handle_userfault (mm/memory.c 6.3–6.15: __handle_mm_fault's
 * pud/pmd_alloc, do_anonymous_page's pte_alloc, then for a write fault vmf_anon_prepare /
 * anon_vma_prepare and the zeroed folio, all before the userfaultfd_missing check under the PTL;
 * do_cow_fault's anon_vma_prepare and cow_page before shmem_fault's) — VM_FAULT_OOM →
 * faultin_page → -ENOMEM, leaving at most the anon_vma.
 */
import { EBADF, EFAULT, EINVAL, ESRCH, errno, value, PAGE_SIZE, type DioReadOp } from '../ops.js';
import { blocked, isBlocked, transition, type Action } from '../action.js';
import { fdOpen, findVma, pageOf } from '../state.js';
import { direct, viewPage, waitsForUffd } from '../memory.js';
import { anonVmaPrepare } from '../vma.js';
import { EIO, type ModelResult } from '../ops.js';
import { faultMayRead, isENOMEM, isErrno, maybeAnonVma } from '../failure.js';
import { store } from './store.js';
import type { MmState } from '../state.js';

export const dio_read: Action<DioReadOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    const f = s.files[op.file];
    if (!f || !fdOpen(s, op.pid, op.file)) return { state: s, result: errno(EBADF) };
    // Device files (drivers: impl/drivers/misc_device.ts registers every /dev/… file) have no O_DIRECT.
    if (f.driver || f.shmem || op.file.startsWith('/dev/')) return { state: s, result: errno(EINVAL) };
    if (op.page >= f.size) return { state: s, result: value(0) };
    return transition(s, (d) => {
      const proc = d.processes[op.pid]!;
      const v = findVma(proc.vmas, op.addr);
      if (!v || v.driver || !v.prot.write) return errno(EFAULT);
      const page = pageOf(op.addr);
      const view = viewPage(d, v, page);
      if (view.kind === 'sigbus') return errno(EFAULT);
      if (waitsForUffd(v, view)) return blocked(`P${op.pid}'s O_DIRECT read into 0x${op.addr.toString(16)} waits for UFFDIO_COPY`);
      const data = d.files[op.file]!.pages[op.page] ?? 0;
      if (direct(v)) {
        d.files[v.file!]!.pages[view.fileIdx!] = data;
      } else {
        anonVmaPrepare(d, proc, v);
        v.pages[page] = data;
      }
      return value(PAGE_SIZE);
    });
  },
  onFailure(s, op, r) {
    const proc = s.processes[op.pid];
    const f = s.files[op.file];
    if (!proc || !f || f.driver || f.shmem || op.file.startsWith('/dev/')) return [];
    // __iomap_dio_rw's kmalloc of the dio, before the EOF check and the pin: nothing done.
    const none = isENOMEM(r) ? [s] : [];
    if (op.page >= f.size) return none;
    const v = findVma(proc.vmas, op.addr);
    if (!v || v.driver || !v.prot.write) return none;
    const view = viewPage(s, v, pageOf(op.addr));
    if (view.kind === 'sigbus') return none;
    // The pinning fault allocates before it reaches handle_userfault: a write fault's
    // anon_vma_prepare and folio (do_anonymous_page; do_cow_fault for a private shmem mapping)
    // and the page tables (__handle_mm_fault, pte_alloc) — any may fail with VM_FAULT_OOM.
    if (waitsForUffd(v, view)) return isENOMEM(r) ? maybeAnonVma(s, op.pid, op.addr) : [];
    if (isErrno(r, EFAULT)) return faultMayRead(s, v, pageOf(op.addr)) ? maybeAnonVma(s, op.pid, op.addr) : [];
    const pinned = faultedForWrite(s, op.pid, op.addr, view.value);
    if (isErrno(r, EIO)) return [pinned];
    if (isENOMEM(r)) return [...maybeAnonVma(s, op.pid, op.addr), pinned];
    return [];
  },
};

/** The state after a write fault at addr that left the page showing `value` (what it showed). */
function faultedForWrite(s: MmState, pid: number, addr: number, value: number): MmState {
  const o = store.apply(s, { op: 'store', pid, addr, value });
  return isBlocked(o) ? s : o.state;
}
