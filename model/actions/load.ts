/**
 * A user-space load — arch/x86/mm/fault.c: do_user_addr_fault → handle_mm_fault.
 * Nothing mapped → SIGSEGV, unless just below a VM_GROWSDOWN VMA (the stack grows); PROT_NONE →
 * SIGSEGV (x86: any of read/write/exec makes a VMA readable, access_error); a file page at or
 * beyond EOF → SIGBUS. A missing page of a missing-mode uffd range is not enabled: the fault
 * waits in handle_userfault until UFFDIO_COPY/MOVE fills it. Reading a fresh anonymous page maps
 * the zero page (do_anonymous_page); reading shmem allocates its page (shmem_fault).
 *
 * Failure contract (state.mayFail):
 * - A fault that runs out of memory ends in VM_FAULT_OOM; arch/x86/mm/fault.c do_user_addr_fault
 *   then calls pagefault_out_of_memory() and returns, and the CPU re-executes the access: user
 *   space sees nothing but the eventual result (the OOM killer, which may SIGKILL the task
 *   instead, is not modelled). So no new result.
 * - A fault that must read the page from a file or from swap and gets a read error ends in
 *   VM_FAULT_SIGBUS (mm/filemap.c filemap_fault, page_not_uptodate after its one re-read;
 *   mm/memory.c do_swap_page, the folio not uptodate after swap_read_folio) → SIGBUS (do_sigbus),
 *   with no effect. Only where a read can be needed (failure.ts faultMayRead): a file or shmem
 *   page read through the mapping, or a private page with contents, which may be on swap.
 * - An access just below a VM_GROWSDOWN stack whose growth fails for want of memory gets SIGSEGV,
 *   the stack not grown (failure.ts stackGrowthFailed: expand_downwards -ENOMEM → bad_area).
 */
import { ESRCH, errno, signal, value, type LoadOp } from '../ops.js';
import { blocked, transition, type Action } from '../action.js';
import { faultMayRead, stackGrowthFailed } from '../failure.js';
import { ZERO_PAGE, findVma, pageOf, type MmState } from '../state.js';
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
  onFailure(s, op, r) {
    if (r.kind === 'signal' && r.sig === 'SIGSEGV') return stackGrowthFailed(s, op.pid, op.addr);
    return r.kind === 'signal' && r.sig === 'SIGBUS' && readsPage(s, op.pid, op.addr) ? [s] : [];
  },
};

/** Whether a user fault at addr may read its page from a file or swap (failure.ts faultMayRead). */
export function readsPage(s: MmState, pid: number, addr: number): boolean {
  const proc = s.processes[pid];
  const v = proc ? findVma(proc.vmas, addr) : undefined;
  return v !== undefined && (v.prot.read || v.prot.write || v.prot.exec) && faultMayRead(s, v, pageOf(addr));
}
