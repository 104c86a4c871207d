/**
 * A user-space store — do_user_addr_fault → handle_mm_fault → do_anonymous_page / do_cow_fault /
 * do_shared_fault / do_wp_page. Nothing mapped → SIGSEGV (or stack growth); no PROT_WRITE →
 * SIGSEGV; a file page beyond EOF → SIGBUS; a missing page of a missing-mode uffd range waits
 * (not enabled). Private mappings get the process's own copy (COW); shared ones write the
 * file/shmem page every mapper sees; a driver mapping writes the device page.
 *
 * Failure contract (state.mayFail), as for load: VM_FAULT_OOM is retried by the CPU (invisible);
 * a read error while the fault reads the page in gives SIGBUS (filemap_fault, do_swap_page). A
 * store to a private file page not yet copied goes through mm/memory.c do_cow_fault, which calls
 * anon_vma_prepare before it reads the file page (__do_fault), so that SIGBUS may leave the VMA
 * with its anon_vma (it decides later merges); nothing else changes. A store just below a
 * VM_GROWSDOWN stack whose growth fails for want of memory gets SIGSEGV (failure.ts
 * stackGrowthFailed, as for load).
 */
import { ESRCH, OK, errno, signal, type StoreOp } from '../ops.js';
import { blocked, transition, type Action } from '../action.js';
import { maybeAnonVma, stackGrowthFailed } from '../failure.js';
import { readsPage } from './load.js';
import { pageOf } from '../state.js';
import { direct, vmaForUserFault, viewPage, waitsForUffd } from '../memory.js';
import { anonVmaPrepare } from '../vma.js';

export const store: Action<StoreOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    return transition(s, (d) => {
      const proc = d.processes[op.pid]!;
      const v = vmaForUserFault(proc, op.addr);
      if (!v || !v.prot.write) return signal('SIGSEGV');
      const page = pageOf(op.addr);
      const view = viewPage(d, v, page);
      if (view.kind === 'sigbus') return signal('SIGBUS');
      if (waitsForUffd(v, view)) return blocked(`P${op.pid}'s fault at 0x${op.addr.toString(16)} waits for UFFDIO_COPY`);
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
    if (r.kind === 'signal' && r.sig === 'SIGSEGV') return stackGrowthFailed(s, op.pid, op.addr);
    if (r.kind !== 'signal' || r.sig !== 'SIGBUS' || !readsPage(s, op.pid, op.addr)) return [];
    return maybeAnonVma(s, op.pid, op.addr);
  },
};
