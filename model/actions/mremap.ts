/**
 * mremap(2) — mm/mremap.c. Shrinking unmaps the tail; growing extends in place when the old
 * range ends its VMA and the space after it is free (vma_expandable), else moves with
 * MREMAP_MAYMOVE (move_vma: the moved VMA keeps its anon_vma and file offset; contents move),
 * else -ENOMEM. MREMAP_FIXED unmaps the target first; MREMAP_DONTUNMAP leaves the old range
 * mapped but empty (anonymous reads 0, private file pages re-read the file) and unlinks its
 * anon_vma. A registered VMA that moves queues UFFD_EVENT_REMAP (then UNMAP for unmapped parts).
 * With MREMAP_FIXED or MREMAP_DONTUNMAP (mremap_to) the target and the old range's tail are
 * unmapped before vma_to_resize checks the old range, so a call that then fails (-EFAULT,
 * -EINVAL) has still unmapped them — as the kernel does.
 *
 * Deviation: old_len == 0 (duplicating a shared mapping) is answered -EINVAL.
 */
import { EFAULT, EINVAL, ENOMEM, ESRCH, addrResult, describeResult, errno, resultsEqual, type MremapOp, type ModelResult } from '../ops.js';
import { transition, type Action, type Outcome, type Verdict } from '../action.js';
import { PAGE_SIZE, TASK_SIZE, findVma, pageAlignUp, type MmState, type MmStateData, type ProcessData, type VmaData } from '../state.js';
import { carve, cloneVma, insertVma, isolate, mergeAround, placeable, rangeFree, topDown, unmapRange, queueEvent } from '../vma.js';

type Plan =
  | { kind: 'error'; errno: number }
  | { kind: 'shrink' }
  | { kind: 'grow' }
  /** Move to an address the kernel picks (null: canonical) or to new_addr with MREMAP_FIXED. */
  | { kind: 'move'; fixedAt: number | null };

function plan(s: MmState, op: MremapOp): Plan {
  const proc = s.processes[op.pid];
  if (!proc) return { kind: 'error', errno: ESRCH };
  const { maymove, fixed, dontunmap } = op.flags;
  if (op.oldAddr % PAGE_SIZE !== 0) return { kind: 'error', errno: EINVAL };
  if ((fixed || dontunmap) && !maymove) return { kind: 'error', errno: EINVAL };
  const oldLen = pageAlignUp(op.oldLen);
  const newLen = pageAlignUp(op.newLen);
  if (newLen === 0 || oldLen === 0) return { kind: 'error', errno: EINVAL };
  if (dontunmap && oldLen !== newLen) return { kind: 'error', errno: EINVAL };
  const vma = findVma(proc.vmas, op.oldAddr);
  if (!vma) return { kind: 'error', errno: EFAULT };
  if (fixed) {
    const na = op.newAddr ?? -1;
    if (na < 0 || na % PAGE_SIZE !== 0 || na + newLen > TASK_SIZE) return { kind: 'error', errno: EINVAL };
    if (op.oldAddr + oldLen > na && na + newLen > op.oldAddr) return { kind: 'error', errno: EINVAL };
  }
  // mremap_to: unmaps first, then vma_to_resize (in moveTo).
  if (fixed) return { kind: 'move', fixedAt: op.newAddr! };
  if (dontunmap) return { kind: 'move', fixedAt: null };
  if (oldLen >= newLen) return { kind: 'shrink' };
  const err = resizeError(vma, op, oldLen, newLen);
  if (err !== null) return { kind: 'error', errno: err };
  const delta = newLen - oldLen;
  if (op.oldAddr + oldLen === vma.end && vma.end + delta <= TASK_SIZE && rangeFree(proc.vmas, vma.end, vma.end + delta)) {
    return { kind: 'grow' };
  }
  if (maymove) return { kind: 'move', fixedAt: null };
  return { kind: 'error', errno: ENOMEM };
}

/** vma_to_resize's checks of the old range (the VMA found at oldAddr, or none: -EFAULT). */
function resizeError(vma: { end: number; driver: boolean } | undefined, op: MremapOp, oldLen: number, newLen: number): number | null {
  if (!vma) return EFAULT;
  if (op.flags.dontunmap && vma.driver) return EINVAL;
  if (op.oldAddr + oldLen > vma.end) return EFAULT;
  if (newLen > oldLen && vma.driver) return EFAULT;
  return null;
}

/** The range the VMA lands in must be placeable (unless fixed): the space left after unmaps. */
function moveTo(s: MmState, op: MremapOp, target: number | null): Outcome {
  const oldLen = pageAlignUp(op.oldLen);
  const newLen = pageAlignUp(op.newLen);
  return transition(s, (d: MmStateData) => {
    const proc: ProcessData = d.processes[op.pid]!;
    const ctx = d.uffd[op.pid];
    let len = oldLen;
    // Event order as sys_mremap delivers them: the target's unmap (uf_unmap_early, MREMAP_FIXED),
    // UFFD_EVENT_REMAP, then the old range's unmaps (uf_unmap) — mm/mremap.c.
    if (op.flags.fixed) unmapRange(d, proc, target!, target! + newLen);
    const mark = ctx ? ctx.events.length : 0;
    if (op.flags.fixed) {
      if (oldLen > newLen) {
        unmapRange(d, proc, op.oldAddr + newLen, op.oldAddr + oldLen);
        len = newLen;
      }
    }
    // vma_to_resize, on what the unmaps left (a failure keeps them).
    const err = resizeError(findVma(proc.vmas, op.oldAddr), op, len, newLen);
    if (err !== null) return errno(err);
    const to = target ?? topDown(proc.vmas, newLen);
    if (to === null) return errno(ENOMEM);
    const deltaPages = (to - op.oldAddr) / PAGE_SIZE;
    let piece: VmaData;
    let moved: VmaData;
    if (op.flags.dontunmap) {
      // move_vma with MREMAP_DONTUNMAP neither splits nor unmaps the old VMA: its pages in the
      // range move out, and its anon_vma is unlinked only if the range was all of it.
      piece = findVma(proc.vmas, op.oldAddr)!;
      moved = cloneVma(piece, { start: to, end: to + newLen, pgoff: piece.pgoff + (op.oldAddr - piece.start) / PAGE_SIZE, pages: {} });
      const lo = op.oldAddr / PAGE_SIZE;
      const hi = lo + len / PAGE_SIZE;
      for (const [k, val] of Object.entries(piece.pages)) {
        const p = Number(k);
        if (p < lo || p >= hi) continue;
        moved.pages[p + deltaPages] = val;
        delete piece.pages[p];
      }
    } else {
      const [i, j] = isolate(proc.vmas, op.oldAddr, op.oldAddr + len);
      piece = proc.vmas[i]!;
      if (j - i !== 1) throw new Error('mremap: old range not within one VMA');
      moved = cloneVma(piece, { start: to, end: to + newLen, pages: {} });
      for (const [k, val] of Object.entries(piece.pages)) moved.pages[Number(k) + deltaPages] = val;
    }
    // copy_vma: an anonymous VMA never faulted takes the pgoff of its new address.
    if (piece.file === null && piece.anonVma === null) moved.pgoff = to / PAGE_SIZE;
    const registered = piece.uffd !== null;
    if (op.flags.dontunmap) {
      if (piece.start === op.oldAddr && piece.end === op.oldAddr + len) piece.anonVma = null;
    } else {
      carve(proc.vmas, op.oldAddr, op.oldAddr + len);
      if (registered) queueEvent(d, op.pid, { type: 'unmap', start: op.oldAddr, end: op.oldAddr + len });
    }
    insertVma(proc.vmas, moved);
    if (!moved.driver) mergeAround(proc.vmas, to, to + newLen);
    if (registered && ctx) ctx.events.splice(mark, 0, { type: 'remap', from: op.oldAddr, to, len });
    return addrResult(to);
  });
}

export const mremap: Action<MremapOp> = {
  apply(s, op) {
    const p = plan(s, op);
    const oldLen = pageAlignUp(op.oldLen);
    const newLen = pageAlignUp(op.newLen);
    switch (p.kind) {
      case 'error':
        return { state: s, result: errno(p.errno) };
      case 'shrink':
        return transition(s, (d) => {
          if (oldLen > newLen) unmapRange(d, d.processes[op.pid]!, op.oldAddr + newLen, op.oldAddr + oldLen);
          return addrResult(op.oldAddr);
        });
      case 'grow':
        return transition(s, (d) => {
          const vmas = d.processes[op.pid]!.vmas;
          const v = findVma(vmas, op.oldAddr)!;
          v.end += newLen - oldLen;
          mergeAround(vmas, v.end, v.end);
          return addrResult(op.oldAddr);
        });
      case 'move':
        return moveTo(s, op, p.fixedAt);
    }
  },
  check(s, op, r: ModelResult): Verdict {
    const canon = mremap.apply(s, op);
    if ('blocked' in canon) return { ok: false, why: canon.blocked };
    if (resultsEqual(canon.result, r)) return { ok: true, state: canon.state };
    const p = plan(s, op);
    if (p.kind !== 'move' || p.fixedAt !== null || r.kind !== 'addr') {
      return { ok: false, why: `mremap must return ${describeResult(canon.result)}` };
    }
    // The kernel may place the moved VMA in any free range (get_unmapped_area).
    const vmas = s.processes[op.pid]!.vmas as VmaData[];
    if (!placeable(vmas, r.addr, pageAlignUp(op.newLen))) {
      return { ok: false, why: `${describeResult(r)} is not a free range for the moved mapping` };
    }
    const o = moveTo(s, op, r.addr);
    return 'blocked' in o ? { ok: false, why: o.blocked } : { ok: true, state: o.state };
  },
};
