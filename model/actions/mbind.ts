/**
 * mbind(2) — mm/mempolicy.c: do_mbind → mbind_range → vma_modify_policy. Splits at the range
 * ends, sets vma->vm_policy, merges neighbours with equal policy. An unmapped hole gives -EFAULT
 * before anything changes (queue_pages_range runs first).
 *
 * Deviation: shmem's shared policy (vm_ops->set_policy) is kept per VMA here.
 *
 * Failure contract (state.mayFail): -ENOMEM. do_mbind allocates the policy first (mpol_new →
 * -ENOMEM, nothing changed — before the range is checked, so also over a hole); then, under mmap_write_lock, mbind_range per VMA: vma_modify_policy
 * (the merge, or split_vma at the range's start / end) and vma_replace_policy, whose mpol_dup
 * fails after both splits. The loop breaks at the failing VMA: the VMAs before have the policy,
 * that one is unchanged but maybe split at start, or at start and end (failure.ts
 * walkFailureStates).
 */
import { EFAULT, EINVAL, ESRCH, OK, errno, type MbindOp } from '../ops.js';
import { transition, type Action } from '../action.js';
import { PAGE_SIZE, TASK_SIZE, pageAlignUp } from '../state.js';
import { modifyRange, rangeFullyMapped } from '../vma.js';
import { isENOMEM, walkFailureStates } from '../failure.js';

const POLICY = /^(default|local|interleave(:\d+(,\d+)*)?|weighted_interleave(:\d+(,\d+)*)?|bind:\d+(,\d+)*|preferred(:\d+)?|preferred_many:\d+(,\d+)*)$/;

export const isValidPolicy = (p: string): boolean => POLICY.test(p);

export const mbind: Action<MbindOp> = {
  apply(s, op) {
    const proc = s.processes[op.pid];
    if (!proc) return { state: s, result: errno(ESRCH) };
    if (op.addr % PAGE_SIZE !== 0 || !isValidPolicy(op.policy) || op.len < 0) return { state: s, result: errno(EINVAL) };
    const len = pageAlignUp(op.len);
    if (len === 0) return { state: s, result: OK };
    const end = op.addr + len;
    if (end > TASK_SIZE) return { state: s, result: errno(EINVAL) };
    if (!rangeFullyMapped(proc.vmas, op.addr, end)) return { state: s, result: errno(EFAULT) };
    return transition(s, (d) => {
      const vmas = d.processes[op.pid]!.vmas;
      modifyRange(vmas, op.addr, end, (v) => v.policy === op.policy, (v) => {
        v.policy = op.policy;
      });
      return OK;
    });
  },
  onFailure(s, op, r) {
    const proc = s.processes[op.pid];
    const len = pageAlignUp(op.len);
    if (!proc || !isENOMEM(r) || op.addr % PAGE_SIZE !== 0 || !isValidPolicy(op.policy) || op.len < 0 || len === 0) return [];
    const end = op.addr + len;
    if (end > TASK_SIZE) return [];
    // mpol_new comes before the range is looked at (MPOL_DEFAULT allocates nothing).
    if (!rangeFullyMapped(proc.vmas, op.addr, end)) return op.policy !== 'default' ? [s] : [];
    return walkFailureStates(s, op.pid, op.addr, end, end, true, (v) => v.policy === op.policy, (v) => {
      v.policy = op.policy;
    });
  },
};
