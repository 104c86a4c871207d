/**
 * A user-space load — arch/x86/mm/fault.c: do_user_addr_fault → handle_mm_fault.
 * Nothing mapped → SIGSEGV, unless just below a VM_GROWSDOWN VMA (the stack grows); PROT_NONE →
 * SIGSEGV (x86: any of read/write/exec makes a VMA readable, access_error); a file page at or
 * beyond EOF → SIGBUS. A missing page of a missing-mode uffd range is not enabled: the fault
 * waits in handle_userfault until UFFDIO_COPY/MOVE fills it. Reading a fresh anonymous page maps
 * the zero page (do_anonymous_page); reading shmem allocates its page (shmem_fault).
 */
import { ESRCH, errno, signal, value, type LoadOp } from '../ops.js';
import { blocked, transition, type Action } from '../action.js';
import { ZERO_PAGE, pageOf } from '../state.js';
import { vmaForUserFault, viewPage, waitsForUffd } from '../memory.js';

export const load: Action<LoadOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    return transition(s, (d) => {
      const v = vmaForUserFault(d.processes[op.pid]!, op.addr);
      if (!v || !(v.prot.read || v.prot.write || v.prot.exec)) return signal('SIGSEGV');
      const page = pageOf(op.addr);
      const view = viewPage(d, v, page);
      if (view.kind === 'sigbus') return signal('SIGBUS');
      if (waitsForUffd(v, view)) return blocked(`P${op.pid}'s fault at 0x${op.addr.toString(16)} waits for UFFDIO_COPY`);
      if (!view.present) {
        if (v.file === null) v.pages[page] = ZERO_PAGE;
        else if (d.files[v.file]!.shmem && view.fileIdx !== null) d.files[v.file]!.pages[view.fileIdx] = 0;
      }
      return value(view.value);
    });
  },
};
