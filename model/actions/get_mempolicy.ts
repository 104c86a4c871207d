/**
 * get_mempolicy(2) with MPOL_F_ADDR — mm/mempolicy.c: do_get_mempolicy. The policy of the VMA
 * containing addr ('default' when it has none); -EFAULT when nothing is mapped there.
 */
import { EFAULT, ESRCH, errno, type GetMempolicyOp } from '../ops.js';
import type { Action } from '../action.js';
import { findVma } from '../state.js';

export const get_mempolicy: Action<GetMempolicyOp> = {
  apply(s, op) {
    const proc = s.processes[op.pid];
    if (!proc) return { state: s, result: errno(ESRCH) };
    const v = findVma(proc.vmas, op.addr);
    if (!v) return { state: s, result: errno(EFAULT) };
    return { state: s, result: { kind: 'policy', policy: v.policy } };
  },
};
