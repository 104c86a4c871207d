/**
 * Page contents as user space sees them, and the user fault path's VMA lookup with stack
 * expansion (arch/x86/mm/fault.c: lock_mm_and_find_vma → expand_stack; mm/mmap.c:
 * expand_downwards).
 */
import {
  MMAP_MIN_ADDR,
  PAGE_SIZE,
  STACK_RLIMIT,
  STACK_GUARD_GAP,
  ZERO_PAGE,
  filePageIndex,
  findVma,
  pageOf,
  type MmState,
  type Vma,
  type ProcessData,
  type VmaData,
} from './state.js';

/** Whether accesses to the VMA go straight to the file/device (no private copies). */
export const direct = (v: Vma): boolean => v.file !== null && (v.shared || v.driver);

export type PageView =
  | { readonly kind: 'page'; readonly value: number; readonly present: boolean; readonly fileIdx: number | null }
  | { readonly kind: 'sigbus' };

/**
 * What a process sees at virtual page `page` of VMA v. `present` is the userfaultfd notion:
 * a PTE (or, for shmem, a page-cache page) exists, so a missing-mode fault would not fire and
 * UFFDIO_COPY gives -EEXIST.
 */
export function viewPage(s: { readonly files: MmState['files'] }, v: Vma, page: number): PageView {
  if (!direct(v)) {
    const own = v.pages[page];
    if (own !== undefined) return { kind: 'page', value: own === ZERO_PAGE ? 0 : own, present: true, fileIdx: null };
  }
  if (v.file === null) return { kind: 'page', value: 0, present: false, fileIdx: null };
  const f = s.files[v.file];
  const idx = filePageIndex(v, page);
  if (!f || idx >= f.size) return { kind: 'sigbus' };
  const val = f.pages[idx];
  return { kind: 'page', value: val ?? 0, present: val !== undefined, fileIdx: idx };
}

/** A page fault on a missing page of a missing-mode registered range waits for the monitor. */
export const waitsForUffd = (v: Vma, view: PageView): boolean =>
  v.uffd === 'missing' && view.kind === 'page' && !view.present;

/**
 * The VMA a user fault at addr lands in, growing a VM_GROWSDOWN VMA when addr is at most
 * the grown VMA stays within STACK_RLIMIT (acct_stack_growth) and the new start keeps
 * stack_guard_gap from an accessible, non-growsdown previous VMA (expand_downwards). Returns
 * undefined for SIGSEGV.
 */
export function vmaForUserFault(proc: ProcessData, addr: number): VmaData | undefined {
  const hit = findVma(proc.vmas, addr);
  if (hit) return hit;
  const i = proc.vmas.findIndex((v) => v.start > addr);
  if (i < 0) return undefined;
  const v = proc.vmas[i]!;
  if (!v.growsdown) return undefined;
  const newStart = pageOf(addr) * PAGE_SIZE;
  if (v.end - newStart > STACK_RLIMIT) return undefined;
  if (newStart < MMAP_MIN_ADDR) return undefined;
  const prev = proc.vmas[i - 1];
  if (prev) {
    if (prev.end > newStart) return undefined;
    const accessible = prev.prot.read || prev.prot.write || prev.prot.exec;
    if (!prev.growsdown && accessible && newStart - prev.end < STACK_GUARD_GAP) return undefined;
  }
  v.pgoff -= (v.start - newStart) / PAGE_SIZE;
  v.start = newStart;
  return v;
}
