/**
 * UFFDIO_UNREGISTER — fs/userfaultfd.c: userfaultfd_unregister. Like register: split at the
 * range ends, clear the registration, merge; no VMA → -ENOMEM; no userfaultfd → -EBADF. Faults waiting in the range are
 * woken and retry without userfaultfd (in the model: the op becomes enabled again).
 *
 * Failure contract (state.mayFail): as uffd_register's — userfaultfd_unregister's loop breaks at
 * the VMA whose vma_modify_flags_uffd failed: -ENOMEM, the VMAs before unregistered, that one
 * unchanged, maybe split at start (failure.ts walkFailureStates).
 */
import { EBADF, EINVAL, ESRCH, OK, errno, type UffdUnregisterOp } from '../ops.js';
import { transition, type Action } from '../action.js';
import { modifyRange } from '../vma.js';
import { isENOMEM, walkFailureStates } from '../failure.js';
import { canUserfault, intersecting, validateRange } from './uffd_common.js';

export const uffd_unregister: Action<UffdUnregisterOp> = {
  apply(s, op) {
    const proc = s.processes[op.pid];
    if (!proc) return { state: s, result: errno(ESRCH) };
    // No userfaultfd open (never registered): the ioctl has no file, -EBADF.
    if (!s.uffd[op.pid]) return { state: s, result: errno(EBADF) };
    const bad = validateRange(op.addr, op.len);
    if (bad !== null) return { state: s, result: errno(bad) };
    const end = op.addr + op.len;
    const hit = intersecting(proc.vmas, op.addr, end);
    if (typeof hit === 'number') return { state: s, result: errno(hit) };
    if (!hit.every((v) => canUserfault(v, s.files, null))) return { state: s, result: errno(EINVAL) };
    return transition(s, (d) => {
      const vmas = d.processes[op.pid]!.vmas;
      modifyRange(vmas, op.addr, end, (v) => v.uffd === null, (v) => {
        v.uffd = null;
      });
      return OK;
    });
  },
  onFailure(s, op, r) {
    const proc = s.processes[op.pid];
    if (!proc || !s.uffd[op.pid] || !isENOMEM(r) || validateRange(op.addr, op.len) !== null) return [];
    const hit = intersecting(proc.vmas, op.addr, op.addr + op.len);
    if (typeof hit === 'number' || !hit.every((v) => canUserfault(v, s.files, null))) return [];
    return walkFailureStates(s, op.pid, op.addr, op.addr + op.len, op.addr + op.len, false, (v) => v.uffd === null, (v) => {
      v.uffd = null;
    });
  },
};
