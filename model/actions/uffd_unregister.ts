/**
 * UFFDIO_UNREGISTER — fs/userfaultfd.c: userfaultfd_unregister. Like register: split at the
 * range ends, clear the registration, merge; no VMA → -ENOMEM. Faults waiting in the range are
 * woken and retry without userfaultfd (in the model: the op becomes enabled again). No context
 * (the process never opened a userfaultfd) → -EBADF, as the other ioctls.
 */
import { EBADF, EINVAL, ESRCH, OK, errno, type UffdUnregisterOp } from '../ops.js';
import { transition, type Action } from '../action.js';
import { isolate, mergeAround } from '../vma.js';
import { canUserfault, intersecting, validateRange } from './uffd_common.js';

export const uffd_unregister: Action<UffdUnregisterOp> = {
  apply(s, op) {
    const proc = s.processes[op.pid];
    if (!proc) return { state: s, result: errno(ESRCH) };
    if (!s.uffd[op.pid]) return { state: s, result: errno(EBADF) };
    const bad = validateRange(op.addr, op.len);
    if (bad !== null) return { state: s, result: errno(bad) };
    const end = op.addr + op.len;
    const hit = intersecting(proc.vmas, op.addr, end);
    if (typeof hit === 'number') return { state: s, result: errno(hit) };
    if (!hit.every((v) => canUserfault(v, s.files, null))) return { state: s, result: errno(EINVAL) };
    return transition(s, (d) => {
      const vmas = d.processes[op.pid]!.vmas;
      const [i, j] = isolate(vmas, op.addr, end);
      for (let k = i; k < j; k++) vmas[k]!.uffd = null;
      mergeAround(vmas, op.addr, end);
      return OK;
    });
  },
};
