/**
 * khugepaged's collapse of a PMD range into a THP — mm/khugepaged.c: khugepaged_scan_mm_slot →
 * hpage_collapse_scan_pmd → collapse_huge_page (anonymous memory), or → hpage_collapse_scan_file →
 * collapse_file (shmem). Not a system call: the daemon's attempt, recorded in the history
 * (model/ops.ts KhugepagedCollapseOp), because the collapse populates the whole 2 MiB: a page that
 * was never touched (or maps the zero page) is now a zeroed page of the THP — smaps counts it,
 * UFFDIO_COPY onto it is -EEXIST, a fault on it no longer reaches userfaultfd. Contents do not
 * change. A regular file's collapse is not recorded (nothing user-visible changes: a missing page
 * is read from the file, as a fault would).
 *
 * Failure contract (always, not only under state.mayFail): the kernel may fail at any point
 * (-EAGAIN here: a busy, locked or pinned page, an allocation or charge failure, a racing fault
 * or UFFDIO_COPY that filled a hole — SCAN_PAGE_FILLED —, a rollback…), and then nothing has
 * changed: collapse_huge_page puts the old table back (pmd_populate) before anything is copied;
 * collapse_file stores nothing in a shmem hole before its commit point and its rollback empties
 * the retry entries again (12904d953364). No other result.
 *
 * It may succeed ('ok') only on a range it is allowed to collapse:
 * - anonymous (collapse_huge_page): a PMD-aligned 2 MiB inside one private anonymous VMA with an
 *   anon_vma (hugepage_vma_revalidate), writable (a writable PTE is required: SCAN_PAGE_RO), with
 *   at least one page of its own (hpage_collapse_scan_pmd needs a present anonymous page), and —
 *   in a userfaultfd-registered VMA — no missing page at all (the scan refuses none or zero-page
 *   PTEs of a uffd-armed VMA, userfaultfd_armed: populating them would hide faults from the
 *   monitor). Effect: every missing or zero page of the range becomes a page of 0.
 * - shmem (collapse_file, 6.4+ form): a PMD-aligned 2 MiB inside one shared mapping of a shmem
 *   object whose file offset is PMD-aligned too (transhuge_vma_suitable; collapse_file's
 *   VM_BUG_ON(start & (HPAGE_PMD_NR - 1))), the file range [pgoff, pgoff + 512) within i_size
 *   (hpage_collapse_scan_file / the impl: nothing is collapsed across EOF), and no VMA of any
 *   process that maps a page of that file range registered in missing mode at the linearization
 *   point — collapse_file fills the holes with XA_RETRY_ENTRY under the xa_lock and
 *   i_mmap_lock_read and then rolls back (SCAN_EXCEED_NONE_PTE) if vma_interval_tree_foreach finds
 *   a userfaultfd_missing VMA; "any userfaultfds registered after this point will not be able to
 *   observe any missing pages due to the previously inserted retry entries", so a registration
 *   after it sees the holes filled. wp-only registrations do not matter (the kernel comment: they
 *   give no guarantee that a missing page stays missing). Effect: every hole of the file range (a
 *   page the object does not have) becomes a page of 0, seen by every mapper. The model does not
 *   demand a page present in the range (the kernel's scan does: present ≥ 512 − max_ptes_none):
 *   a page can be in the page cache from a fault whose load has not returned.
 *   The kernel's interval query is inclusive of start + 512: a VMA mapping only the next file page
 *   also makes it roll back — a refusal the model does not demand (it allows -EAGAIN always).
 */
import { EAGAIN, describeResult, errno, type KhugepagedCollapseOp, type ModelResult } from '../ops.js';
import { transition, type Action, type Verdict } from '../action.js';
import { PAGE_SIZE, ZERO_PAGE, filePageIndex, findVma, type MmState, type Vma, type VmaData } from '../state.js';

/** PMD_SIZE: 2 MiB. */
export const PMD_SIZE = 512 * PAGE_SIZE;
/** HPAGE_PMD_NR: pages in a PMD range. */
export const HPAGE_PMD_NR = 512;

/** Whether v maps the file pages [first, first + n) of `file` in part. */
function mapsFileRange(v: Vma, file: string, first: number, n: number): boolean {
  if (v.file !== file) return false;
  const lo = v.pgoff;
  const hi = v.pgoff + (v.end - v.start) / PAGE_SIZE; // exclusive
  return lo < first + n && first < hi;
}

/** The shmem file range a collapse of op's range covers (null: op's range is not shmem). */
function shmemRange(s: MmState, v: Vma, addr: number): { file: string; start: number } | null {
  if (v.file === null || !v.shared || v.driver || !s.files[v.file]?.shmem) return null;
  return { file: v.file, start: filePageIndex(v, addr / PAGE_SIZE) };
}

/** Why the kernel may not collapse op's range in s (null: it may). */
export function collapseRefused(s: MmState, op: KhugepagedCollapseOp): string | null {
  const proc = s.processes[op.pid];
  if (!proc) return `P${op.pid} does not exist`;
  if (op.addr % PMD_SIZE !== 0) return `${op.addr} is not PMD-aligned`;
  const v = findVma(proc.vmas, op.addr) as VmaData | undefined;
  if (!v || v.end < op.addr + PMD_SIZE) return 'the range is not inside one VMA';
  const sh = shmemRange(s, v, op.addr);
  if (sh !== null) {
    if (sh.start % HPAGE_PMD_NR !== 0) return `the file offset ${sh.start} of the range is not PMD-aligned (transhuge_vma_suitable)`;
    if (sh.start + HPAGE_PMD_NR > s.files[sh.file]!.size) return 'the file range goes beyond i_size';
    for (const p of Object.values(s.processes)) {
      for (const w of p.vmas) {
        if (w.uffd === 'missing' && mapsFileRange(w, sh.file, sh.start, HPAGE_PMD_NR)) {
          return `P${p.pid}'s VMA at ${w.start.toString(16)} maps the file range with a missing-mode userfaultfd (collapse_file: SCAN_EXCEED_NONE_PTE)`;
        }
      }
    }
    return null;
  }
  if (v.file !== null || v.shared || v.driver) return 'the VMA is neither private anonymous memory nor a shared shmem mapping';
  if (v.anonVma === null) return 'the VMA has no anon_vma';
  if (!v.prot.write) return 'the VMA is not writable (no writable PTE: SCAN_PAGE_RO)';
  let own = 0;
  let missing = 0;
  for (let pg = op.addr / PAGE_SIZE; pg < (op.addr + PMD_SIZE) / PAGE_SIZE; pg++) {
    const val = v.pages[pg];
    if (val === undefined || val === ZERO_PAGE) missing++;
    else own++;
  }
  if (own === 0) return 'no page of the range is populated';
  if (v.uffd !== null && missing > 0) return 'a userfaultfd-armed VMA with missing pages (SCAN_EXCEED_NONE_PTE)';
  return null;
}

export const khugepaged_collapse: Action<KhugepagedCollapseOp> = {
  apply(s) {
    // Canonically khugepaged does nothing (a stutter step).
    return { state: s, result: errno(EAGAIN) };
  },
  check(s, op, r: ModelResult): Verdict {
    if (r.kind === 'errno' && r.errno === EAGAIN) return { ok: true, state: s };
    if (r.kind !== 'ok') return { ok: false, why: `khugepaged_collapse gives ok or -EAGAIN, not ${describeResult(r)}` };
    const why = collapseRefused(s, op);
    if (why !== null) return { ok: false, why: `khugepaged must not collapse this range: ${why}` };
    const out = transition(s, (d) => {
      const v = findVma(d.processes[op.pid]!.vmas, op.addr)!;
      const sh = shmemRange(d, v, op.addr);
      if (sh !== null) {
        // collapse_file: every hole of the file range is now a zeroed subpage of the THP.
        const f = d.files[sh.file]!;
        for (let idx = sh.start; idx < sh.start + HPAGE_PMD_NR; idx++) if (f.pages[idx] === undefined) f.pages[idx] = 0;
        return { kind: 'ok' };
      }
      for (let pg = op.addr / PAGE_SIZE; pg < (op.addr + PMD_SIZE) / PAGE_SIZE; pg++) {
        const val = v.pages[pg];
        if (val === undefined || val === ZERO_PAGE) v.pages[pg] = 0;
      }
      return { kind: 'ok' };
    });
    if ('blocked' in out) return { ok: false, why: out.blocked };
    return { ok: true, state: out.state };
  },
};
