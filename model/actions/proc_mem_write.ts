/**
 * write(2) to /proc/<pid>/mem — fs/proc/base.c: mem_rw → access_remote_vm → GUP with
 * FOLL_FORCE | FOLL_WRITE (mm/gup.c: check_vma_flags). A private mapping is written even without
 * PROT_WRITE, by breaking COW: the target gets its own copy, the file is never written. A shared
 * mapping without PROT_WRITE, a VM_PFNMAP (driver) mapping, an unmapped address or a page beyond
 * EOF give -EIO (GUP does not expand stacks). A missing page of a missing-mode uffd range is -EIO
 * too: mem_rw → access_remote_vm → get_user_pages_remote(..., locked = NULL) faults without
 * FAULT_FLAG_ALLOW_RETRY, so handle_userfault returns VM_FAULT_SIGBUS (fs/userfaultfd.c: "Check
 * that we can return VM_FAULT_RETRY"), GUP -EFAULT, and mem_rw -EIO when nothing was copied.
 *
 * Failure contract (state.mayFail): mem_rw's buffer (__get_free_page) fails → -ENOMEM, nothing
 * done. GUP's fault (mm/gup.c faultin_page → handle_mm_fault) ending in VM_FAULT_OOM gives -ENOMEM
 * and VM_FAULT_SIGBUS (a read error) -EFAULT (vm_fault_to_errno); __access_remote_vm then copies
 * nothing and mem_rw returns -EIO. The write fault may have prepared the VMA's anon_vma before
 * its allocation failed (do_anonymous_page / do_cow_fault / wp_page_copy call anon_vma_prepare
 * first): -EIO leaves that, nothing else.
 */
import { EIO, ESRCH, OK, errno, type ProcMemWriteOp } from '../ops.js';
import { transition, type Action } from '../action.js';
import { isENOMEM, maybeAnonVma } from '../failure.js';
import { findVma, pageOf } from '../state.js';
import { direct, viewPage, waitsForUffd } from '../memory.js';
import { anonVmaPrepare } from '../vma.js';

export const proc_mem_write: Action<ProcMemWriteOp> = {
  apply(s, op) {
    if (!s.processes[op.target]) return { state: s, result: errno(ESRCH) };
    return transition(s, (d) => {
      const proc = d.processes[op.target]!;
      const v = findVma(proc.vmas, op.addr);
      if (!v || v.driver) return errno(EIO);
      if (v.shared && !v.prot.write) return errno(EIO);
      const page = pageOf(op.addr);
      const view = viewPage(d, v, page);
      if (view.kind === 'sigbus') return errno(EIO);
      if (waitsForUffd(v, view)) return errno(EIO);
      if (direct(v)) {
        d.files[v.file!]!.pages[view.fileIdx!] = op.value;
      } else {
        anonVmaPrepare(d, proc, v);
        v.pages[page] = op.value;
      }
      return OK;
    });
  },
  onFailure(s, op, r) {
    if (!s.processes[op.target]) return [];
    if (isENOMEM(r)) return [s];
    if (r.kind !== 'errno' || r.errno !== EIO) return [];
    return maybeAnonVma(s, op.target, op.addr);
  },
};
