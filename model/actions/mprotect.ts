/**
 * mprotect(2) — mm/mprotect.c: do_mprotect_pkey → mprotect_fixup → vma_modify_flags. Splits at
 * the range ends and merges with compatible neighbours (VM_ACCOUNT is charged or given back as
 * mprotect_fixup does: it decides what merges). A hole gives -ENOMEM, after the VMAs
 * before the hole were changed (the kernel's loop breaks at the hole; earlier changes stay).
 */
import { EINVAL, ENOMEM, ESRCH, OK, errno, type MprotectOp } from '../ops.js';
import { transition, type Action } from '../action.js';
import { PAGE_SIZE, TASK_SIZE, findVma, pageAlignUp } from '../state.js';
import { isolate, mergeAround } from '../vma.js';

export const mprotect: Action<MprotectOp> = {
  apply(s, op) {
    const proc = s.processes[op.pid];
    if (!proc) return { state: s, result: errno(ESRCH) };
    if (op.addr % PAGE_SIZE !== 0) return { state: s, result: errno(EINVAL) };
    const len = pageAlignUp(op.len);
    if (len === 0) return { state: s, result: OK };
    const end = op.addr + len;
    if (end > TASK_SIZE) return { state: s, result: errno(ENOMEM) };
    if (!findVma(proc.vmas, op.addr)) return { state: s, result: errno(ENOMEM) };
    // The contiguously mapped prefix of [addr, end).
    let covered = op.addr;
    for (const v of proc.vmas) {
      if (v.end <= covered) continue;
      if (v.start > covered) break;
      covered = Math.min(v.end, end);
      if (covered >= end) break;
    }
    return transition(s, (d) => {
      const vmas = d.processes[op.pid]!.vmas;
      const [i, j] = isolate(vmas, op.addr, covered);
      for (let k = i; k < j; k++) {
        const v = vmas[k]!;
        // mprotect_fixup's accounting: a private mapping gaining write is charged; an anonymous
        // one losing write before it had an anon_vma is not any more (VM_ACCOUNT decides merging).
        if (op.prot.write && !v.account && !v.prot.write && !v.shared) v.account = true;
        else if (!op.prot.write && v.account && v.file === null && v.anonVma === null) v.account = false;
        v.prot = { read: op.prot.read, write: op.prot.write, exec: op.prot.exec };
      }
      mergeAround(vmas, op.addr, covered);
      return covered >= end ? OK : errno(ENOMEM);
    });
  },
};
