/**
 * fork(2) — kernel/fork.c: dup_mmap. The child gets a copy of every VMA; private pages are
 * copy-on-write (modelled as copies: later stores in either process are private), MAP_SHARED
 * pages stay shared through their file/shmem object. Each child VMA with an anon_vma gets a new
 * one (anon_vma_fork). With UFFD_FEATURE_EVENT_FORK the child keeps its registrations on a new
 * context and the parent's context queues UFFD_EVENT_FORK (dup_userfaultfd). The kernel picks
 * any free pid: the model accepts any unused positive pid, canonically nextPid.
 *
 * Failure contract (state.mayFail): -ENOMEM, and the parent as it was. kernel/fork.c dup_mmap
 * fails at vm_area_dup, vma_dup_policy (mpol_dup), dup_userfaultfd (kmalloc), anon_vma_fork or
 * copy_page_range (page-table or page allocation); the half-built child mm is torn down (dup_mm →
 * mmput) and no child appears. What it did to the parent is invisible to user space: its PTEs
 * write-protected for COW, its VMAs write-locked for the duration. Its userfaultfd context's
 * mmap_changing was raised by dup_userfaultfd and is dropped again by dup_userfaultfd_fail with
 * no event ("fork: do not invoke uffd on fork if error occurs", 6.12, backported to stable; the
 * original 6.3–6.11 releases delivered UFFD_EVENT_FORK for the dead child — not accepted here).
 * While it was raised a UFFDIO_COPY/MOVE of that process may have got -EAGAIN: the history
 * checker leaves such an -EAGAIN overlapping a failed fork out (properties/refinement.ts).
 */
import { ENOMEM, ESRCH, describeResult, errno, type ForkOp, type ModelResult } from '../ops.js';
import { transition, type Action, type Outcome, type Verdict } from '../action.js';
import { newUffdCtx, type MmState } from '../state.js';
import { cloneVma, queueEvent } from '../vma.js';

function forkAs(s: MmState, op: ForkOp, child: number): Outcome {
  return transition(s, (d) => {
    const parent = d.processes[op.pid]!;
    const vmas = parent.vmas.map((v) => cloneVma(v, { anonVma: v.anonVma === null ? null : d.nextAnonVma++ }));
    d.processes[child] = { pid: child, vmas, ...(parent.closed !== undefined ? { closed: [...parent.closed] } : {}) };
    d.nextPid = Math.max(d.nextPid, child + 1);
    if (d.uffd[op.pid] && parent.vmas.some((v) => v.uffd !== null)) {
      d.uffd[child] = newUffdCtx();
      queueEvent(d, op.pid, { type: 'fork', child });
    } else {
      for (const v of vmas) v.uffd = null;
    }
    return { kind: 'pid', pid: child };
  });
}

export const fork: Action<ForkOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    let child = s.nextPid;
    while (s.processes[child]) child++;
    return forkAs(s, op, child);
  },
  check(s, op, r: ModelResult): Verdict {
    if (!s.processes[op.pid]) {
      return r.kind === 'errno' && r.errno === ESRCH ? { ok: true, state: s } : { ok: false, why: 'no such process: -ESRCH' };
    }
    if (r.kind !== 'pid') return { ok: false, why: `fork must return a child pid, not ${describeResult(r)}` };
    if (!Number.isInteger(r.pid) || r.pid <= 0 || s.processes[r.pid]) {
      return { ok: false, why: `P${r.pid} is not a free pid` };
    }
    const o = forkAs(s, op, r.pid);
    return 'blocked' in o ? { ok: false, why: o.blocked } : { ok: true, state: o.state };
  },
  onFailure(s, op, r) {
    return s.processes[op.pid] && r.kind === 'errno' && r.errno === ENOMEM ? [s] : [];
  },
};
