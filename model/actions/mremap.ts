/**
 * mremap(2) — mm/mremap.c. Shrinking unmaps the tail; growing extends in place when the old
 * range ends its VMA and the space after it is free (vma_expandable), else moves with
 * MREMAP_MAYMOVE (move_vma: the moved VMA keeps its anon_vma and file offset; contents move),
 * else -ENOMEM. MREMAP_FIXED unmaps the target first; MREMAP_DONTUNMAP leaves the old range
 * mapped but empty (anonymous reads 0, private file pages re-read the file) and unlinks its
 * anon_vma. A registered VMA that moves queues UFFD_EVENT_REMAP (then UNMAP for unmapped parts).
 * With MREMAP_FIXED or MREMAP_DONTUNMAP (mremap_to) the target and the old range's tail are
 * unmapped before vma_to_resize checks the old range, so a call that then fails (-EFAULT,
 * -EINVAL) has still unmapped them — as the kernel does. MREMAP_DONTUNMAP neither splits nor
 * unmaps the old VMA: the range's pages move out, its anon_vma goes only if the range was all of it.
 *
 * Deviation: old_len == 0 (duplicating a shared mapping) is answered -EINVAL.
 *
 * Failure contract (state.mayFail), mm/mremap.c:
 * - Shrinking: do_vmi_munmap of the tail fails → -ENOMEM with its partial effects (failure.ts
 *   failedMunmapStates). Growing in place: the expansion (vma_merge / vma_merge_extend: the
 *   tree's preallocation, dup_anon_vma) fails → -ENOMEM, unchanged (no fallback to a move).
 * - Moving (move_vma, mremap_to): MREMAP_FIXED first unmaps the target and then a shrunk source's
 *   tail, each of which may fail with its partial effects or leave the range unmapped before a
 *   later step fails. copy_vma fails (vm_area_dup, vma_dup_policy, anon_vma_clone, vma_link) →
 *   -ENOMEM. move_page_tables stops short (a page table for the destination) → the entries moved
 *   so far are moved back and the *new* range is unmapped instead ("proceed to unmap new area
 *   instead of old"): -ENOMEM, the old range as it was; that unmap raises UFFD_EVENT_UNMAP for the
 *   new range when the VMA was registered (its copy carries the context), and if it fails in turn
 *   the new VMA stays, empty. Loosely: that leftover is accepted only where the kernel's canonical
 *   choice (or MREMAP_FIXED) put it.
 * - The move succeeded but the unmap of the old range failed ("OOM: unable to split vma, just get
 *   accounts right"): mremap still returns the new address, and the old range stays mapped — empty
 *   (its PTEs moved away: anonymous memory reads 0, private file pages the file), still
 *   registered, no UFFD_EVENT_UNMAP for it (or one, if the failing step came after
 *   userfaultfd_unmap_prep), its VMA maybe split at the range's ends. Not with MREMAP_DONTUNMAP,
 *   which does not unmap.
 */
import { EFAULT, EINVAL, ENOMEM, ESRCH, addrResult, describeResult, errno, resultsEqual, type MremapOp, type ModelResult } from '../ops.js';
import { transition, type Action, type Outcome, type Verdict } from '../action.js';
import { PAGE_SIZE, TASK_SIZE, findVma, pageAlignUp, type MmState, type MmStateData, type ProcessData, type VmaData } from '../state.js';
import { carve, cloneVma, insertVma, isolate, mergeAround, placeable, rangeFree, topDown, unmapRange, queueEvent } from '../vma.js';
import { derive, failedMunmapStates, isENOMEM, unmapped } from '../failure.js';

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

/**
 * How the old range ended when its unmap failed after a successful move (failure contract): its
 * VMA unsplit ('whole'), split only at the range's start ('start'), or at both ends ('both');
 * with or without UFFD_EVENT_UNMAP queued.
 */
interface OldStays {
  readonly split: 'whole' | 'start' | 'both';
  readonly unmapEvent: boolean;
}

/** The range the VMA lands in must be placeable (unless fixed): the space left after unmaps. */
function moveTo(s: MmState, op: MremapOp, target: number | null, oldStays?: OldStays, shrunkRemapLen = false): Outcome {
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
    const inside = (a: number) => proc.vmas.some((v) => v.start < a && a < v.end);
    const splitLo = inside(op.oldAddr);
    const splitHi = inside(op.oldAddr + len);
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
    } else if (oldStays) {
      // Its PTEs moved away, the VMA left in place (its unmap failed).
      piece.pages = {};
      if (registered && oldStays.unmapEvent) queueEvent(d, op.pid, { type: 'unmap', start: op.oldAddr, end: op.oldAddr + len });
    } else {
      carve(proc.vmas, op.oldAddr, op.oldAddr + len);
      if (registered) queueEvent(d, op.pid, { type: 'unmap', start: op.oldAddr, end: op.oldAddr + len });
    }
    insertVma(proc.vmas, moved);
    if (!moved.driver) mergeAround(proc.vmas, to, to + newLen, moved);
    if (oldStays) {
      // Undo the model's isolate where the kernel did not split.
      if (oldStays.split !== 'both' && splitHi) mergeAround(proc.vmas, op.oldAddr + len, op.oldAddr + len);
      if (oldStays.split === 'whole' && splitLo) mergeAround(proc.vmas, op.oldAddr, op.oldAddr);
    }
    // mremap_userfaultfd_complete(uf, addr, ret, old_len): 6.3–6.14 pass the syscall's old_len;
    // 6.15+ (vma_remap_struct) the length after MREMAP_FIXED shrank the source (vrm->old_len =
    // vrm->new_len). Canonically the former; check() accepts both.
    const remapLen = shrunkRemapLen ? len : oldLen;
    if (registered && ctx) ctx.events.splice(mark, 0, { type: 'remap', from: op.oldAddr, to, len: remapLen });
    return addrResult(to);
  });
}

/** 6.15+'s shrunk UFFD_EVENT_REMAP length as an alternative state (see moveTo), or none. */
function shrunkRemap(s: MmState, op: MremapOp, target: number | null, oldStays?: OldStays): MmState[] {
  if (!op.flags.fixed || pageAlignUp(op.oldLen) <= pageAlignUp(op.newLen)) return [];
  if ((findVma(s.processes[op.pid]?.vmas ?? [], op.oldAddr)?.uffd ?? null) === null) return [];
  const o = moveTo(s, op, target, oldStays, true);
  return 'blocked' in o ? [] : [o.state];
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
          mergeAround(vmas, v.end, v.end, v);
          return addrResult(op.oldAddr);
        });
      case 'move':
        return moveTo(s, op, p.fixedAt);
    }
  },
  check(s, op, r: ModelResult): Verdict {
    const canon = mremap.apply(s, op);
    if ('blocked' in canon) return { ok: false, why: canon.blocked };
    if (resultsEqual(canon.result, r)) {
      const p0 = plan(s, op);
      const alt = p0.kind === 'move' ? shrunkRemap(s, op, p0.fixedAt).filter((st) => JSON.stringify(st) !== JSON.stringify(canon.state)) : [];
      return alt.length ? { ok: true, state: canon.state, also: alt } : { ok: true, state: canon.state };
    }
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
    if ('blocked' in o) return { ok: false, why: o.blocked };
    const alt = shrunkRemap(s, op, r.addr);
    return alt.length ? { ok: true, state: o.state, also: alt } : { ok: true, state: o.state };
  },
  onFailure(s, op, r) {
    const p = plan(s, op);
    const oldLen = pageAlignUp(op.oldLen);
    const newLen = pageAlignUp(op.newLen);
    switch (p.kind) {
      case 'error':
        return [];
      case 'shrink':
        return isENOMEM(r) && oldLen > newLen ? failedMunmapStates(s, op.pid, op.oldAddr + newLen, op.oldAddr + oldLen) : [];
      case 'grow':
        return isENOMEM(r) ? [s] : [];
      case 'move':
        if (isENOMEM(r)) return failedMoveStates(s, op, p.fixedAt);
        if (r.kind === 'addr' && !op.flags.dontunmap) return oldStaysStates(s, op, r.addr);
        return [];
    }
  },
};

/** A successful move whose unmap of the old range failed (see the header). */
function oldStaysStates(s: MmState, op: MremapOp, to: number): MmState[] {
  if (!mremap.check!(s, op, addrResult(to)).ok) return [];
  const out: MmState[] = [];
  for (const split of ['whole', 'start', 'both'] as const) {
    for (const unmapEvent of [false, true]) {
      const o = moveTo(s, op, op.flags.fixed ? op.newAddr! : to, { split, unmapEvent });
      if (!('blocked' in o) && resultsEqual(o.result, addrResult(to))) out.push(o.state);
      out.push(...shrunkRemap(s, op, op.flags.fixed ? op.newAddr! : to, { split, unmapEvent }));
    }
  }
  return out;
}

/** mremap's move returning -ENOMEM (see the header). */
function failedMoveStates(s: MmState, op: MremapOp, fixedAt: number | null): MmState[] {
  const oldLen = pageAlignUp(op.oldLen);
  const newLen = pageAlignUp(op.newLen);
  const out: MmState[] = [];
  // The states once the preliminary unmaps are done, from which copy_vma / the move may fail.
  let bases: MmState[] = [s];
  if (op.flags.fixed && fixedAt !== null) {
    out.push(...failedMunmapStates(s, op.pid, fixedAt, fixedAt + newLen));
    const t = unmapped(s, op.pid, fixedAt, fixedAt + newLen);
    bases = [t];
    if (oldLen > newLen) {
      out.push(...failedMunmapStates(t, op.pid, op.oldAddr + newLen, op.oldAddr + oldLen));
      bases = [unmapped(t, op.pid, op.oldAddr + newLen, op.oldAddr + oldLen)];
    }
  }
  for (const b of bases) {
    out.push(b); // copy_vma failed, or the move was undone and the new range unmapped
    const proc = b.processes[op.pid]!;
    const to = fixedAt ?? topDown(proc.vmas as VmaData[], newLen);
    const piece = findVma(proc.vmas, op.oldAddr);
    if (to === null || !piece) continue;
    if (piece.uffd !== null) out.push(derive(b, (d) => queueEvent(d, op.pid, { type: 'unmap', start: to, end: to + newLen })));
    // The unmap of the new range failed: the new VMA stays, empty.
    out.push(derive(b, (d) => {
      const vmas = d.processes[op.pid]!.vmas;
      const src = findVma(vmas, op.oldAddr)!;
      const pgoff = src.file === null && src.anonVma === null ? to / PAGE_SIZE : src.pgoff + (op.oldAddr - src.start) / PAGE_SIZE;
      const left = cloneVma(src, { start: to, end: to + newLen, pgoff, pages: {} });
      insertVma(vmas, left);
      if (!src.driver) mergeAround(vmas, to, to + newLen, left);
    }));
  }
  return out;
}
