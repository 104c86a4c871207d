/**
 * VMA-list surgery on an immer draft: split, carve out a range, merge neighbours, find free
 * space — the user-visible effect of mm/vma.c (__split_vma, vma_merge_*, do_vmi_munmap) and of
 * the unmapped-area search (mm/mmap.c: generic_get_unmapped_area_topdown).
 */
import type { UffdEvent } from './ops.js';
import {
  MMAP_BASE,
  MMAP_MIN_ADDR,
  PAGE_SIZE,
  STACK_GUARD_GAP,
  TASK_SIZE,
  type MmStateData,
  type ProcessData,
  type VmaData,
} from './state.js';

export const npages = (v: { start: number; end: number }): number => (v.end - v.start) / PAGE_SIZE;

/**
 * Which kernel's anon_vma merge rule canMerge applies (see there): canonically the newest (6.16+,
 * as the kernels a reproducer meets); model/spec.ts check also accepts 6.3–6.15's.
 */
let anonMergeRule: '6.3' | '6.16' = '6.16';

/** Run f under the given anon_vma merge rule (model/spec.ts judges merging operations under both). */
export function withAnonMergeRule<T>(rule: '6.3' | '6.16', f: () => T): T {
  const saved = anonMergeRule;
  anonMergeRule = rule;
  try {
    return f();
  } finally {
    anonMergeRule = saved;
  }
}

/** A deep copy of a VMA (never alias draft children), with overrides. */
export function cloneVma(v: VmaData, over: Partial<VmaData> = {}): VmaData {
  const pages: Record<number, number> = {};
  for (const [k, val] of Object.entries(v.pages)) pages[Number(k)] = val;
  return { ...v, prot: { read: v.prot.read, write: v.prot.write, exec: v.prot.exec }, pages, ...over };
}

function pagesIn(pages: Record<number, number>, start: number, end: number): Record<number, number> {
  const out: Record<number, number> = {};
  const lo = start / PAGE_SIZE;
  const hi = end / PAGE_SIZE;
  for (const [k, val] of Object.entries(pages)) {
    const p = Number(k);
    if (p >= lo && p < hi) out[p] = val;
  }
  return out;
}

/** __split_vma: if addr falls strictly inside a VMA, make it two. */
export function splitAt(vmas: VmaData[], addr: number): void {
  const i = vmas.findIndex((v) => v.start < addr && addr < v.end);
  if (i < 0) return;
  const v = vmas[i]!;
  const lo = cloneVma(v, { end: addr });
  lo.pages = pagesIn(v.pages, v.start, addr);
  const hi = cloneVma(v, { start: addr, pgoff: v.pgoff + (addr - v.start) / PAGE_SIZE });
  hi.pages = pagesIn(v.pages, addr, v.end);
  vmas.splice(i, 1, lo, hi);
}

/** Split at both ends and return the indices [i, j) of the VMAs inside [start, end). */
export function isolate(vmas: VmaData[], start: number, end: number): [number, number] {
  splitAt(vmas, start);
  splitAt(vmas, end);
  let i = 0;
  while (i < vmas.length && vmas[i]!.end <= start) i++;
  let j = i;
  while (j < vmas.length && vmas[j]!.start < end) j++;
  return [i, j];
}

/** Remove [start, end) from the list (splitting partial VMAs); returns the removed pieces. */
export function carve(vmas: VmaData[], start: number, end: number): VmaData[] {
  const [i, j] = isolate(vmas, start, end);
  return vmas.splice(i, j - i);
}

export function insertVma(vmas: VmaData[], v: VmaData): void {
  let i = 0;
  while (i < vmas.length && vmas[i]!.start < v.start) i++;
  vmas.splice(i, 0, v);
}

/** Whether [start, end) overlaps no VMA. */
export function rangeFree(vmas: readonly { start: number; end: number }[], start: number, end: number): boolean {
  return vmas.every((v) => v.end <= start || v.start >= end);
}

/** Whether the range has no VMA and no hole: every byte of [start, end) is mapped. */
export function rangeFullyMapped(vmas: readonly { start: number; end: number }[], start: number, end: number): boolean {
  let at = start;
  for (const v of vmas) {
    if (v.end <= at) continue;
    if (v.start > at) return false;
    at = v.end;
    if (at >= end) return true;
  }
  return at >= end;
}

const protEq = (a: VmaData['prot'], b: VmaData['prot']): boolean =>
  a.read === b.read && a.write === b.write && a.exec === b.exec;

/**
 * is_mergeable_vma + is_mergeable_anon_vma + the vm_pgoff continuity check (mm/vma.c):
 * contiguous, same flags (protection, shared, growsdown, uffd, VM_ACCOUNT), same file with contiguous
 * offsets (anonymous VMAs compare their creation-time pgoff too), same policy, compatible
 * anon_vma; VM_PFNMAP (driver) never merges (VM_SPECIAL).
 *
 * The anon_vma rule, mm/vma.c is_mergeable_anon_vma: 6.3–6.15 (and the simulation) — equal, or
 * the range has none and the neighbour's anon_vma_chain is singular (assumed: the model does not
 * track forked chains), so a range with an anon_vma never merges into a neighbour without one;
 * 6.16+ (vma_had_uncowed_parents) — either may lack one (dup_anon_vma copies it over). `range`
 * says which of a, b is the range being mapped or changed (the other being the existing
 * neighbour); canonically the 6.16+ rule, and spec.ts check accepts both (withAnonMergeRule).
 */
export function canMerge(a: VmaData, b: VmaData, range?: VmaData): boolean {
  const either = a.anonVma === null || b.anonVma === null || a.anonVma === b.anonVma;
  const anonOk = anonMergeRule === '6.16' ? either
    : range === a ? a.anonVma === null || a.anonVma === b.anonVma
    : range === b ? b.anonVma === null || a.anonVma === b.anonVma
    : either;
  return (
    a.end === b.start &&
    !a.driver &&
    !b.driver &&
    a.shared === b.shared &&
    a.growsdown === b.growsdown &&
    a.file === b.file &&
    protEq(a.prot, b.prot) &&
    a.uffd === b.uffd &&
    a.policy === b.policy &&
    a.account === b.account &&
    a.pgoff + npages(a) === b.pgoff &&
    anonOk
  );
}

/**
 * Merge adjacent compatible VMAs whose common boundary lies within [lo, hi]; `range`, when given,
 * is the VMA just mapped or moved there (vma_merge_new_range: it merges into its neighbours).
 */
export function mergeAround(vmas: VmaData[], lo: number, hi: number, range?: VmaData): void {
  let r = range;
  for (let i = 0; i + 1 < vmas.length; ) {
    const a = vmas[i]!;
    const b = vmas[i + 1]!;
    if (a.end >= lo && a.end <= hi && canMerge(a, b, r)) {
      const m = cloneVma(a, { end: b.end, anonVma: a.anonVma ?? b.anonVma });
      for (const [k, val] of Object.entries(b.pages)) m.pages[Number(k)] = val;
      vmas.splice(i, 2, m);
      if (r === a || r === b) r = m;
    } else {
      i++;
    }
  }
}

/**
 * The VMA walk of mprotect, mbind and UFFDIO_(UN)REGISTER over [start, end) — mm/vma.c
 * vma_modify per VMA: a VMA that already has what the call sets is skipped (no split, no merge:
 * mprotect_fixup's newflags == oldflags, mbind_range's mpol_equal, userfaultfd_register's
 * "skip"); one that changes is split at the range's ends and may merge with a compatible
 * neighbour (vma_merge_existing_range). Boundaries between two unchanged VMAs are left alone.
 */
export function modifyRange(vmas: VmaData[], start: number, end: number, same: (v: VmaData) => boolean, change: (v: VmaData) => void): void {
  const straddling = (a: number) => vmas.find((v) => v.start < a && a < v.end);
  const first = straddling(start);
  if (first && !same(first)) splitAt(vmas, start);
  const last = straddling(end);
  if (last && !same(last)) splitAt(vmas, end);
  const changed = new Set<VmaData>();
  for (const v of vmas) {
    if (v.start >= start && v.end <= end && !same(v)) {
      change(v);
      changed.add(v);
    }
  }
  for (let i = 0; i + 1 < vmas.length; ) {
    const a = vmas[i]!;
    const b = vmas[i + 1]!;
    // The range is the VMA the walk changed (the later one when both changed: it merges into its
    // already-changed predecessor).
    if (a.end >= start && a.end <= end && (changed.has(a) || changed.has(b)) && canMerge(a, b, changed.has(b) ? b : a)) {
      const m = cloneVma(a, { end: b.end, anonVma: a.anonVma ?? b.anonVma });
      for (const [k, val] of Object.entries(b.pages)) m.pages[Number(k)] = val;
      vmas.splice(i, 2, m);
      changed.add(m);
    } else {
      i++;
    }
  }
}

/**
 * anon_vma_prepare (mm/rmap.c): give the VMA an anon_vma, reusing an adjacent VMA's when
 * find_mergeable_anon_vma would (same file, policy and flags except protection, contiguous
 * pgoff), so that VMAs split only by protection still merge later.
 */
export function anonVmaPrepare(s: MmStateData, proc: ProcessData, v: VmaData): void {
  if (v.anonVma !== null) return;
  const i = proc.vmas.indexOf(v);
  const compatible = (a: VmaData, b: VmaData): boolean =>
    a.end === b.start &&
    a.file === b.file &&
    a.policy === b.policy &&
    a.shared === b.shared &&
    a.growsdown === b.growsdown &&
    a.uffd === b.uffd &&
    a.account === b.account &&
    !a.driver &&
    !b.driver &&
    a.pgoff + npages(a) === b.pgoff;
  const next = i >= 0 ? proc.vmas[i + 1] : undefined;
  const prev = i > 0 ? proc.vmas[i - 1] : undefined;
  if (next && next.anonVma !== null && compatible(v, next)) v.anonVma = next.anonVma;
  else if (prev && prev.anonVma !== null && compatible(prev, v)) v.anonVma = prev.anonVma;
  else v.anonVma = s.nextAnonVma++;
}

/** vm_start_gap: a growsdown VMA keeps the stack guard gap free below it. */
const startGap = (v: VmaData | { start: number; growsdown: boolean }): number =>
  v.growsdown ? Math.max(0, v.start - STACK_GUARD_GAP) : v.start;

/** Whether the kernel's unmapped-area search may return [addr, addr+len). */
export function placeable(vmas: readonly VmaData[], addr: number, len: number): boolean {
  if (addr % PAGE_SIZE !== 0 || addr < MMAP_MIN_ADDR || addr + len > TASK_SIZE) return false;
  return vmas.every((v) => v.end <= addr || startGap(v) >= addr + len);
}

/** generic_get_unmapped_area_topdown: the highest free gap below mmap_base (or null). */
export function topDown(vmas: readonly VmaData[], len: number): number | null {
  let hi = MMAP_BASE;
  for (let i = vmas.length - 1; i >= -1; i--) {
    const v = vmas[i];
    const lo = v ? v.end : MMAP_MIN_ADDR;
    if (v && v.start >= MMAP_BASE) continue;
    const top = Math.min(hi, MMAP_BASE);
    if (top - len >= lo && top - len >= MMAP_MIN_ADDR) return top - len;
    if (v) hi = startGap(v);
  }
  return null;
}

/** The kernel's choice for a non-fixed mapping: the hint if usable, else top-down. */
export function chooseAddr(vmas: readonly VmaData[], hint: number, len: number): number | null {
  if (hint !== 0 && placeable(vmas, hint, len)) return hint;
  return topDown(vmas, len);
}

export function queueEvent(s: MmStateData, pid: number, ev: UffdEvent): void {
  const ctx = s.uffd[pid];
  if (ctx) ctx.events.push(ev);
}

/**
 * Remove [start, end) from a process (munmap, MAP_FIXED, mremap), queueing UFFD_EVENT_UNMAP
 * (userfaultfd_unmap_prep) if a removed VMA was registered.
 */
export function unmapRange(s: MmStateData, proc: ProcessData, start: number, end: number): VmaData[] {
  const removed = carve(proc.vmas, start, end);
  if (removed.some((v) => v.uffd !== null)) queueEvent(s, proc.pid, { type: 'unmap', start, end });
  return removed;
}
