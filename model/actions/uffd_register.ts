/**
 * UFFDIO_REGISTER — fs/userfaultfd.c: userfaultfd_register. Every VMA intersecting the range
 * must be able to userfault (else -EINVAL, nothing changes); holes are allowed; no VMA at all →
 * -ENOMEM. The intersecting VMAs are split at the range ends, get the mode, and merge with
 * compatible neighbours. The process's context (the monitor's userfaultfd) is opened by the first
 * UFFDIO_REGISTER, whatever it returns (the simulation's stand-in for userfaultfd(2)).
 *
 * Failure contract (state.mayFail): -ENOMEM part-way. After checking every VMA, userfaultfd_register
 * changes them in turn: vma_modify_flags_uffd (mm/vma.c vma_modify: the merge, or split_vma at
 * the range's start / end) fails and the loop breaks; the VMAs before are registered, the one it
 * failed on is unchanged, maybe split at start (failure.ts walkFailureStates). The context exists
 * (the userfaultfd was opened before the ioctl).
 */
import { EINVAL, ESRCH, OK, errno, type UffdRegisterOp } from '../ops.js';
import { transition, type Action } from '../action.js';
import { newUffdCtx } from '../state.js';
import { modifyRange } from '../vma.js';
import { derive, isENOMEM, walkFailureStates } from '../failure.js';
import { canUserfault, intersecting, validateRange } from './uffd_common.js';

export const uffd_register: Action<UffdRegisterOp> = {
  apply(s, op) {
    const proc = s.processes[op.pid];
    if (!proc) return { state: s, result: errno(ESRCH) };
    const bad = validateRange(op.addr, op.len);
    const end = op.addr + op.len;
    const hit = bad !== null ? bad : intersecting(proc.vmas, op.addr, end);
    return transition(s, (d) => {
      // The monitor's userfaultfd is opened with the first UFFDIO_REGISTER, whatever it returns.
      d.uffd[op.pid] ??= newUffdCtx();
      if (typeof hit === 'number') return errno(hit);
      if (!hit.every((v) => canUserfault(v, s.files, op.mode))) return errno(EINVAL);
      const vmas = d.processes[op.pid]!.vmas;
      modifyRange(vmas, op.addr, end, (v) => v.uffd === op.mode, (v) => {
        v.uffd = op.mode;
      });
      return OK;
    });
  },
  onFailure(s, op, r) {
    const proc = s.processes[op.pid];
    if (!proc || !isENOMEM(r) || validateRange(op.addr, op.len) !== null) return [];
    const hit = intersecting(proc.vmas, op.addr, op.addr + op.len);
    if (typeof hit === 'number' || !hit.every((v) => canUserfault(v, s.files, op.mode))) return [];
    const withCtx = derive(s, (d) => {
      d.uffd[op.pid] ??= newUffdCtx();
    });
    return walkFailureStates(withCtx, op.pid, op.addr, op.addr + op.len, op.addr + op.len, false, (v) => v.uffd === op.mode, (v) => {
      v.uffd = op.mode;
    });
  },
};
