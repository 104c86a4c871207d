/**
 * khugepaged's collapse of an anonymous PMD range into a THP — mm/khugepaged.c:
 * khugepaged_scan_mm_slot → hpage_collapse_scan_pmd → collapse_huge_page. Not a system call: the
 * daemon's attempt, recorded in the history (model/ops.ts KhugepagedCollapseOp), because the
 * collapse populates the whole 2 MiB: a page that was never touched (or maps the zero page) is
 * now a zeroed page of the THP — smaps counts it, UFFDIO_COPY onto it is -EEXIST, a fault on it
 * no longer reaches userfaultfd. Contents do not change.
 *
 * The kernel may always fail (-EAGAIN here: a busy or pinned page, an allocation failure, a
 * racing fault…): nothing changes. It may succeed only on a range it is allowed to collapse: a
 * PMD-aligned 2 MiB inside one private anonymous VMA with an anon_vma (hugepage_vma_revalidate),
 * writable (a writable PTE is required: SCAN_PAGE_RO), with at least one page of its own
 * (hpage_collapse_scan_pmd needs a present anonymous page), and — in a userfaultfd-registered
 * VMA — no missing page at all (the scan refuses none or zero-page PTEs of a uffd-armed VMA:
 * populating them would hide faults from the monitor).
 */
import { EAGAIN, describeResult, errno, type KhugepagedCollapseOp, type ModelResult } from '../ops.js';
import { transition, type Action, type Verdict } from '../action.js';
import { PAGE_SIZE, ZERO_PAGE, findVma, type MmState, type VmaData } from '../state.js';

/** PMD_SIZE: 2 MiB. */
export const PMD_SIZE = 512 * PAGE_SIZE;

/** Why the kernel may not collapse op's range in s (null: it may). */
export function collapseRefused(s: MmState, op: KhugepagedCollapseOp): string | null {
  const proc = s.processes[op.pid];
  if (!proc) return `P${op.pid} does not exist`;
  if (op.addr % PMD_SIZE !== 0) return `${op.addr} is not PMD-aligned`;
  const v = findVma(proc.vmas, op.addr) as VmaData | undefined;
  if (!v || v.end < op.addr + PMD_SIZE) return 'the range is not inside one VMA';
  if (v.file !== null || v.shared || v.driver) return 'the VMA is not private anonymous memory';
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
