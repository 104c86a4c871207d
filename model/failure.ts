/**
 * Pieces shared by the actions' failure contracts (Action.onFailure): what the kernel may leave
 * behind when an allocation or a read fails part-way through a call. Each action's file states its
 * own contract and the kernel code it follows; this file holds the partial effects several share.
 *
 * Kernel versions read: mm/vma.c, mm/mmap.c, mm/mremap.c, mm/mprotect.c, mm/mempolicy.c,
 * mm/userfaultfd.c, fs/userfaultfd.c, kernel/fork.c of 6.3, 6.6, 6.12 and 6.15 (where the
 * generations differ, a contract accepts each generation's behaviour and says so).
 */
import { produce } from 'immer';
import { ENOMEM, type ModelResult } from './ops.js';
import { ZERO_PAGE, findVma, type MmState, type MmStateData, type ProcessData, type Vma, type VmaData } from './state.js';
import { direct, viewPage, vmaForUserFault } from './memory.js';
import { anonVmaPrepare, modifyRange, queueEvent, splitAt, unmapRange } from './vma.js';

export const isErrno = (r: ModelResult, e: number): boolean => r.kind === 'errno' && r.errno === e;
export const isENOMEM = (r: ModelResult): boolean => isErrno(r, ENOMEM);

/** A state derived by a mutation of a draft. */
export function derive(s: MmState, body: (d: MmStateData) => void): MmState {
  return produce(s, (d) => {
    body(d as MmStateData);
  });
}

/**
 * Whether a page fault on virtual page `page` of v may have to read the page from a file or from
 * swap — so that a read error (bio status != 0) ends it in VM_FAULT_SIGBUS: mm/filemap.c
 * filemap_fault ("page_not_uptodate": the re-read failed → VM_FAULT_SIGBUS), mm/memory.c
 * do_swap_page (the swapped-in folio is not uptodate → VM_FAULT_SIGBUS). That is a file page the
 * mapping reads through (a shared mapping, or a private one not yet copied; for shmem only a page
 * the object has, which may be swapped out), or a private page with contents (reclaim may have
 * swapped it out). Not the zero page, a fresh anonymous or shmem page, or device memory.
 */
export function faultMayRead(s: MmState, v: Vma, page: number): boolean {
  if (v.driver) return false;
  if (!direct(v)) {
    const own = v.pages[page];
    if (own !== undefined) return own !== ZERO_PAGE;
  }
  if (v.file === null) return false;
  const view = viewPage(s, v, page);
  // shmem: only a page the object has may be on swap; a missing one is allocated, not read.
  if (s.files[v.file]?.shmem) return view.kind === 'page' && view.present;
  return view.kind === 'page';
}

/**
 * The state after anon_vma_prepare on the private VMA containing addr (mm/rmap.c: it succeeded,
 * and what followed it failed), or null when there is nothing it would change (shared or device
 * memory, no VMA, an anon_vma already there).
 */
export function withAnonVma(s: MmState, pid: number, addr: number): MmState | null {
  const v = s.processes[pid] ? findVma(s.processes[pid]!.vmas, addr) : undefined;
  if (!v || v.shared || v.driver || v.anonVma !== null) return null;
  return derive(s, (d) => {
    const proc = d.processes[pid]!;
    anonVmaPrepare(d, proc, findVma(proc.vmas, addr)!);
  });
}

/**
 * What a user fault at addr that had to grow a VM_GROWSDOWN stack and failed for want of memory
 * leaves (the access gets SIGSEGV: the fault path's expand_stack failing goes to bad_area —
 * arch/x86/mm/fault.c, 6.3–6.4 directly, 6.5+ through lock_mm_and_find_vma → expand_stack_locked):
 * mm/mmap.c expand_downwards returns -ENOMEM from mas_preallocate, anon_vma_prepare or
 * acct_stack_growth (security_vm_enough_memory_mm), the last after the anon_vma was prepared; the
 * stack does not grow. [] when the access would not grow a stack (it hits a VMA, or no stack may
 * grow to it: that SIGSEGV is apply's).
 */
export function stackGrowthFailed(s: MmState, pid: number, addr: number): MmState[] {
  const proc = s.processes[pid];
  if (!proc || findVma(proc.vmas, addr)) return [];
  let inStack: number | undefined;
  produce(s, (d) => {
    const v = vmaForUserFault((d as MmStateData).processes[pid]!, addr);
    if (v) inStack = v.end - 1;
  });
  return inStack === undefined ? [] : maybeAnonVma(s, pid, inStack);
}

/** The states s and, where it differs, s with the anon_vma of the VMA at addr prepared. */
export function maybeAnonVma(s: MmState, pid: number, addr: number): MmState[] {
  const w = withAnonVma(s, pid, addr);
  return w ? [s, w] : [s];
}

/**
 * What a do_vmi_munmap(start, end) that failed may have left (mm/vma.c vms_gather_munmap_vmas and
 * do_vmi_align_munmap, 6.12+; mm/mmap.c do_vmi_align_munmap, 6.3–6.11): nothing is unmapped —
 * "If userfaultfd_unmap_prep returns an error the vmas will remain split" — but the splits done
 * before the failing step stay: none (the first __split_vma failed: vm_area_dup,
 * vma_iter_prealloc, vma_dup_policy or anon_vma_clone), the one at start (the split at end
 * failed), or both (a later step failed: mas_store_gfp of the detached tree,
 * userfaultfd_unmap_prep's kzalloc, vma_iter_clear_gfp). The caller delivers its UFFD_EVENT_UNMAP
 * list whatever the result (__vm_munmap → userfaultfd_unmap_complete), so when a registered VMA
 * was gathered before the failing step its event is queued although nothing was unmapped.
 *
 * Loosely: the event is accepted with either split outcome whenever a VMA of the range is
 * registered (the exact condition depends on which VMA's step failed).
 */
export function failedMunmapStates(s: MmState, pid: number, start: number, end: number): MmState[] {
  const proc = s.processes[pid];
  if (!proc) return [s];
  const hit = proc.vmas.filter((v) => v.end > start && v.start < end);
  if (hit.length === 0) return [s];
  const registered = hit.some((v) => v.uffd !== null);
  const out: MmState[] = [s];
  const splitStart = derive(s, (d) => splitAt(d.processes[pid]!.vmas, start));
  const splitBoth = derive(splitStart, (d) => splitAt(d.processes[pid]!.vmas, end));
  out.push(splitStart, splitBoth);
  if (registered) {
    for (const st of [s, splitStart, splitBoth]) out.push(derive(st, (d) => queueEvent(d, pid, { type: 'unmap', start, end })));
  }
  return out;
}

/** [start, end) unmapped as munmap does it (with UFFD_EVENT_UNMAP for registered VMAs). */
export function unmapped(s: MmState, pid: number, start: number, end: number): MmState {
  return derive(s, (d) => {
    unmapRange(d, d.processes[pid]!, start, end);
  });
}

/**
 * The partial effects of a syscall that walks the VMAs of [start, end) in address order and
 * changes each (mprotect_fixup, mbind_range, userfaultfd_register/unregister), when the change of
 * one VMA fails with -ENOMEM (vma_modify: the merge, or split_vma at the range's start (first VMA
 * only) or end (last VMA only); mbind: vma_replace_policy's mpol_dup after the splits). The loop
 * breaks there and returns the error; the VMAs before it stay changed. So: the change applied to
 * [start, b) for every VMA boundary b the walk reaches (b = start: nothing changed), and the VMA
 * at b possibly split at start (its first split succeeded) and, with `splitBothThenFail`, at end
 * too (a step after both splits failed) — unchanged itself.
 *
 * `covered`: where the walk stops anyway (the first hole for mprotect, end otherwise).
 * `change`: the per-VMA change on a draft (the VMAs of [from, to) after isolate).
 */
export function walkFailureStates(
  s: MmState, pid: number, start: number, end: number, covered: number, splitBothThenFail: boolean,
  same: (v: VmaData) => boolean, change: (v: VmaData) => void,
): MmState[] {
  const proc = s.processes[pid] as ProcessData | undefined;
  if (!proc) return [s];
  const bounds = [start];
  for (const v of proc.vmas) if (v.start > start && v.start < covered) bounds.push(v.start);
  const out: MmState[] = [];
  for (const b of bounds) {
    const done = b === start ? s : derive(s, (d) => {
      modifyRange(d.processes[pid]!.vmas, start, b, same, change);
    });
    out.push(done);
    // The VMA the walk failed on (one that changes: an unchanged one is skipped, nothing can fail
    // there): split at start (only the first VMA can need it) and at end (only the last).
    const failing = findVma(done.processes[pid]!.vmas, b);
    if (!failing || same(failing as VmaData)) continue;
    const needStart = failing.start < start && b === start;
    const needEnd = failing.end > end;
    if (needStart) out.push(derive(done, (d) => splitAt(d.processes[pid]!.vmas, start)));
    if (splitBothThenFail && (needStart || needEnd)) {
      out.push(derive(done, (d) => {
        splitAt(d.processes[pid]!.vmas, start);
        splitAt(d.processes[pid]!.vmas, end);
      }));
    }
  }
  return out;
}
