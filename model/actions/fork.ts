/**
 * fork(2) — kernel/fork.c: dup_mmap. The child gets a copy of every VMA; private pages are
 * copy-on-write (modelled as copies: later stores in either process are private), MAP_SHARED
 * pages stay shared through their file/shmem object. Each child VMA with an anon_vma gets a new
 * one (anon_vma_fork). With UFFD_FEATURE_EVENT_FORK the child keeps its registrations on a new
 * context and the parent's context queues UFFD_EVENT_FORK (dup_userfaultfd). The kernel picks
 * any free pid: the model accepts any unused positive pid, canonically nextPid.
 */
import { ESRCH, describeResult, errno, type ForkOp, type ModelResult } from '../ops.js';
import { transition, type Action, type Outcome, type Verdict } from '../action.js';
import type { MmState } from '../state.js';
import { cloneVma, queueEvent } from '../vma.js';

function forkAs(s: MmState, op: ForkOp, child: number): Outcome {
  return transition(s, (d) => {
    const parent = d.processes[op.pid]!;
    const vmas = parent.vmas.map((v) => cloneVma(v, { anonVma: v.anonVma === null ? null : d.nextAnonVma++ }));
    d.processes[child] = { pid: child, vmas };
    d.nextPid = Math.max(d.nextPid, child + 1);
    if (d.uffd[op.pid] && parent.vmas.some((v) => v.uffd !== null)) {
      d.uffd[child] = { events: [], unsettled: 0 };
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
};
