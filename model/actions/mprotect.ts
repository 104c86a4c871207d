/**
 * mprotect(2) — mm/mprotect.c: do_mprotect_pkey → mprotect_fixup → vma_modify_flags. Splits at
 * the range ends and merges with compatible neighbours (VM_ACCOUNT is charged or given back as
 * mprotect_fixup does: it decides what merges). A hole gives -ENOMEM, after the VMAs
 * before the hole were changed (the kernel's loop breaks at the hole; earlier changes stay).
 *
 * Failure contract (state.mayFail): -ENOMEM part-way. do_mprotect_pkey's loop calls mprotect_fixup
 * on each VMA in turn; vma_modify_flags (mm/vma.c vma_modify: the merge — which 6.12+ can fail
 * with -ENOMEM — or split_vma at the range's start for the first VMA, at its end for the last)
 * fails and the loop breaks: the VMAs before keep their new protection, the one it failed on is
 * unchanged, maybe split at start (failure.ts walkFailureStates). (Making private memory writable
 * also charges it, security_vm_enough_memory_mm → -ENOMEM before any split: the same states.)
 */
import { EINVAL, ENOMEM, ESRCH, OK, errno, type MprotectOp } from '../ops.js';
import { transition, type Action } from '../action.js';
import { PAGE_SIZE, TASK_SIZE, findVma, pageAlignUp } from '../state.js';
import { modifyRange } from '../vma.js';
import { isENOMEM, walkFailureStates } from '../failure.js';

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
    const covered = mappedPrefix(proc.vmas, op.addr, end);
    return transition(s, (d) => {
      const vmas = d.processes[op.pid]!.vmas;
      const p = op.prot;
      // mprotect_fixup: a VMA whose flags do not change is skipped (no split, no merge).
      modifyRange(vmas, op.addr, covered, (v) => v.prot.read === p.read && v.prot.write === p.write && v.prot.exec === p.exec, (v) => {
        // mprotect_fixup's accounting: a private mapping gaining write is charged; an anonymous
        // one losing write before it had an anon_vma is not any more (VM_ACCOUNT decides merging).
        if (p.write && !v.account && !v.prot.write && !v.shared) v.account = true;
        else if (!p.write && v.account && v.file === null && v.anonVma === null) v.account = false;
        v.prot = { read: p.read, write: p.write, exec: p.exec };
      });
      return covered >= end ? OK : errno(ENOMEM);
    });
  },
  onFailure(s, op, r) {
    const proc = s.processes[op.pid];
    const len = pageAlignUp(op.len);
    if (!proc || !isENOMEM(r) || op.addr % PAGE_SIZE !== 0 || len === 0 || op.addr + len > TASK_SIZE) return [];
    if (!findVma(proc.vmas, op.addr)) return [];
    const end = op.addr + len;
    const prot = { read: op.prot.read, write: op.prot.write, exec: op.prot.exec };
    return walkFailureStates(s, op.pid, op.addr, end, mappedPrefix(proc.vmas, op.addr, end), false,
      (v) => v.prot.read === prot.read && v.prot.write === prot.write && v.prot.exec === prot.exec, (v) => {
        v.prot = { ...prot };
      });
  },
};

/** The end of the contiguously mapped prefix of [addr, end) (the walk stops at the first hole). */
function mappedPrefix(vmas: readonly { start: number; end: number }[], addr: number, end: number): number {
  let covered = addr;
  for (const v of vmas) {
    if (v.end <= covered) continue;
    if (v.start > covered) break;
    covered = Math.min(v.end, end);
    if (covered >= end) break;
  }
  return covered;
}
