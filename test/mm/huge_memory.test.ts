/**
 * mm/huge_memory.c: what meets a huge PMD (a THP from khugepaged's collapse) — zap_huge_pmd,
 * the split of a PMD a VMA boundary or a partial operation cuts (__split_huge_pmd), mprotect
 * (change_huge_pmd), mremap (move_huge_pmd), fork (copy_huge_pmd splits), faults
 * (huge_pmd_set_accessed, do_huge_pmd_wp_page), GUP (follow_huge_pmd, gup_fast_pmd_leaf), smaps,
 * userfaultfd (-EEXIST onto a THP), and the re-checks under the PMD lock.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../impl/rt/task.js';
import { k, type Kernel } from '../../impl/sim/kernel.js';
import type { folio, mm_struct, pmd_t } from '../../impl/include/linux/mm_types.js';
import { FAULT_FLAG_WRITE, HPAGE_PMD_NR, PMD_SIZE, PTRS_PER_PTE } from '../../impl/include/linux/mm_flags.js';
import { SCAN_SUCCEED } from '../../impl/mm/khugepaged.js';
import { FOLL_PIN, FOLL_WRITE } from '../../impl/mm/gup.js';
import type { ModelOp } from '../../model/ops.js';
import { PAGE, RO, RW, fork, load, mmapAnon, mprotect, munmap, store, sysRun, why } from './syscalls_harness.js';

const HP = 0x40000000; // PMD-aligned
const pmdOf = (mm: mm_struct, addr: number): pmd_t => mm.pgd.get(Math.floor(addr / PMD_SIZE))!;
const pteAt = (mm: mm_struct, addr: number) => pmdOf(mm, addr).table?.entries[Math.floor(addr / PAGE) % PTRS_PER_PTE] ?? null;
const smaps = (pid: number): ModelOp => ({ op: 'read_smaps', pid, target: pid });
const mremap = (pid: number, oldAddr: number, len: number, newAddr: number): ModelOp =>
  ({ op: 'mremap', pid, oldAddr, oldLen: len, newLen: len, flags: { maymove: true, fixed: true, dontunmap: false }, newAddr });

//   |------------- anon rw over one whole PMD [HP, HP + 2M): p0 = 5, p3 = 6, collapsed -------------|
const thpSetup = [mmapAnon(1, HP, PMD_SIZE, RW, { fixed: true }), store(1, HP, 5), store(1, HP + 3 * PAGE, 6)];

/** Collapse [HP, HP + 2M) of P1 in the setup (khugepaged's path, no race). */
function* collapseInSetup(kernel: Kernel, out: Map<string, unknown>): Task<void> {
  const mm = kernel.procs.get(1)!.mm!;
  const r = yield* k.fn.khugepaged_scan_pmd(mm, HP);
  if (r !== SCAN_SUCCEED) throw new Error(`setup: collapse failed (${r})`);
  out.set('thp', pmdOf(mm, HP).huge!.folio);
}

function spawnIn(kernel: Kernel, name: string, pid: number, body: () => Task<unknown>, out: Map<string, unknown>): void {
  const tid = kernel.exec.spawn(name, function* (): Task<void> {
    out.set(name, yield* body());
  });
  kernel.threads.set(tid, { tid, pid, comm: name, exiting: false });
}

describe('a PMD-mapped THP', () => {
  for (const gen of ['v6.3', 'v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: loads and stores go through the huge PMD; smaps counts 2M; munmap zaps it whole (THP, deposit and rss gone)`, () => {
      const out = new Map<string, unknown>();
      const r = sysRun({
        gen,
        processes: [{ pid: 1, setup: thpSetup }],
        threads: [{ name: 'A', pid: 1, program: [load(1, HP + 3 * PAGE), store(1, HP + 9 * PAGE, 7), load(1, HP + 9 * PAGE), smaps(1), munmap(1, HP, PMD_SIZE)] }],
        setup: (kernel) => collapseInSetup(kernel, out),
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      const res = r.of('A');
      expect(res.slice(0, 3)).toEqual([{ kind: 'value', value: 6 }, { kind: 'ok' }, { kind: 'value', value: 7 }]);
      expect(res[3]?.kind === 'smaps' && res[3].entries[0]!.rss).toBe(PMD_SIZE);
      expect(res[4]).toEqual({ kind: 'ok' });
      const mm = r.kernel.procs.get(1)!.mm!;
      expect(pmdOf(mm, HP).huge).toBeNull();
      expect(mm.rss_stat.MM_ANONPAGES).toBe(0);
      const thp = out.get('thp') as folio;
      expect(() => k.fn.folio_get(thp)).toThrow(/use-after-free/); // freed after the TLB flush
      for (const d of mm.pmd_ptdescs.values()) expect(d.pmd_huge_pte).toEqual([]);
    });
  }

  it('v6.6: munmap of half splits the PMD (vma_adjust_trans_huge); the other half keeps its contents as small pages', () => {
    const out = new Map<string, unknown>();
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: thpSetup }],
      threads: [{ name: 'A', pid: 1, program: [munmap(1, HP + PMD_SIZE / 2, PMD_SIZE / 2), load(1, HP), load(1, HP + 3 * PAGE), load(1, HP + 4 * PAGE)] }],
      setup: (kernel) => collapseInSetup(kernel, out),
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')).toEqual([{ kind: 'ok' }, { kind: 'value', value: 5 }, { kind: 'value', value: 6 }, { kind: 'value', value: 0 }]);
    const mm = r.kernel.procs.get(1)!.mm!;
    const pmd = pmdOf(mm, HP);
    expect(pmd.huge).toBeNull();
    const p3 = pteAt(mm, HP + 3 * PAGE)!;
    expect(p3.kind === 'present' && p3.folio.pages === null && p3.folio.compound_head === null).toBe(true);
    expect(pteAt(mm, HP + PMD_SIZE / 2)!.kind).toBe('none');
    expect(mm.rss_stat.MM_ANONPAGES).toBe(HPAGE_PMD_NR / 2);
  });

  it('v6.15: mprotect of the whole PMD changes it in place (change_huge_pmd); of a part, splits it', () => {
    const out = new Map<string, unknown>();
    const r = sysRun({
      gen: 'v6.15',
      processes: [{ pid: 1, setup: thpSetup }],
      threads: [{ name: 'A', pid: 1, program: [
        mprotect(1, HP, PMD_SIZE, RO), store(1, HP, 1), mprotect(1, HP, PMD_SIZE, RW), store(1, HP, 2),
        mprotect(1, HP, PAGE, RO), load(1, HP), store(1, HP + PAGE, 3),
      ] }],
      setup: (kernel) => collapseInSetup(kernel, out),
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')).toEqual([
      { kind: 'ok' }, { kind: 'signal', sig: 'SIGSEGV' }, { kind: 'ok' }, { kind: 'ok' },
      { kind: 'ok' }, { kind: 'value', value: 2 }, { kind: 'ok' },
    ]);
    const mm = r.kernel.procs.get(1)!.mm!;
    expect(pmdOf(mm, HP).huge).toBeNull();
    const p0 = pteAt(mm, HP)!;
    expect(p0.kind === 'present' && !p0.write).toBe(true);
  });

  it('v6.6: mremap of the whole PMD to a PMD-aligned address moves the huge entry (move_huge_pmd); to another, splits', () => {
    const out = new Map<string, unknown>();
    const NEW = HP + 4 * PMD_SIZE;
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: thpSetup }],
      threads: [{ name: 'A', pid: 1, program: [
        mremap(1, HP, PMD_SIZE, NEW), load(1, NEW + 3 * PAGE),
        mremap(1, NEW, PMD_SIZE, HP + PAGE), load(1, HP + PAGE + 3 * PAGE), load(1, HP + PAGE),
      ] }],
      setup: (kernel) => collapseInSetup(kernel, out),
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')).toEqual([
      { kind: 'addr', addr: NEW }, { kind: 'value', value: 6 },
      { kind: 'addr', addr: HP + PAGE }, { kind: 'value', value: 6 }, { kind: 'value', value: 5 },
    ]);
    const mm = r.kernel.procs.get(1)!.mm!;
    expect(pmdOf(mm, NEW).huge).toBeNull();
    expect(pmdOf(mm, HP).huge).toBeNull();
  });

  it('v6.6: fork splits the parent\'s THP (copy_huge_pmd\'s maybe-pinned branch) and both sides COW as usual', () => {
    const out = new Map<string, unknown>();
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: thpSetup }],
      threads: [{ name: 'A', pid: 1, program: [fork(1), store(1, HP, 8), load(1, HP + 3 * PAGE)] }],
      setup: (kernel) => collapseInSetup(kernel, out),
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const [f] = r.of('A');
    expect(f?.kind).toBe('pid');
    const child = r.kernel.procs.get((f as { pid: number }).pid)!.mm!;
    const c0 = pteAt(child, HP)!;
    expect(c0.kind === 'present' && c0.folio.data).toBe(5);
    const parent = r.kernel.procs.get(1)!.mm!;
    expect(pmdOf(parent, HP).huge).toBeNull();
    const p0 = pteAt(parent, HP)!;
    expect(p0.kind === 'present' && p0.folio.data).toBe(8);
  });

  it('v6.6: GUP-fast pins pages through the huge PMD (gup_fast_pmd_leaf): the references are the folio\'s, taken through each page', () => {
    const out = new Map<string, unknown>();
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: thpSetup }],
      setup: function* (kernel) {
        yield* collapseInSetup(kernel, out);
        spawnIn(kernel, 'pin', 1, function* () {
          const pages: folio[] = [];
          const n = yield* k.fn.get_user_pages_fast(HP + 3 * PAGE, 2, FOLL_PIN | FOLL_WRITE, pages);
          out.set('pinned', pages.slice());
          return n;
        }, out);
      },
      threads: [{ name: 'A', pid: 1, program: [] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(out.get('pin')).toBe(2);
    const pinned = out.get('pinned') as folio[];
    const thp = out.get('thp') as folio;
    expect(pinned[0]).toBe(thp.pages![3]);
    expect(k.fn.folio_ref_count(thp)).toBe(3); // the mapping and two pins
  });

  it('v6.6: UFFDIO_COPY onto a THP is -EEXIST (mfill_atomic: the dst PMD is huge)', () => {
    const out = new Map<string, unknown>();
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: thpSetup }],
      threads: [{ name: 'A', pid: 1, program: [
        { op: 'uffd_register', pid: 1, addr: HP, len: PMD_SIZE, mode: 'missing' },
        { op: 'uffdio_copy', pid: 1, dst: HP + 100 * PAGE, value: 9 },
        load(1, HP + 100 * PAGE),
      ] }],
      setup: (kernel) => collapseInSetup(kernel, out),
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')).toEqual([{ kind: 'ok' }, { kind: 'errno', errno: -17 }, { kind: 'value', value: 0 }]);
  });

  it('v6.6: do_huge_pmd_wp_page — a write fault on a read-only huge entry of an exclusive THP reuses it in place', () => {
    const out = new Map<string, unknown>();
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: thpSetup }],
      setup: function* (kernel) {
        yield* collapseInSetup(kernel, out);
        const mm = kernel.procs.get(1)!.mm!;
        const pmd = pmdOf(mm, HP);
        pmd.huge = { ...pmd.huge!, write: false }; // as a write-protecting fork or uffd-wp would leave it
        spawnIn(kernel, 'F', 1, function* () {
          yield* k.fn.mmap_read_lock(mm);
          const vma = (yield* k.fn.vma_lookup(mm, HP))!;
          const ret = yield* k.fn.handle_mm_fault(vma, HP + 5 * PAGE, FAULT_FLAG_WRITE, null);
          k.fn.mmap_read_unlock(mm);
          return ret;
        }, out);
      },
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(out.get('F')).toBe(0);
    const pmd = pmdOf(r.kernel.procs.get(1)!.mm!, HP);
    expect(pmd.huge?.write).toBe(true);
    expect(pmd.huge?.folio).toBe(out.get('thp'));
  });

  it('v6.6: do_huge_pmd_wp_page — a THP that is not exclusive and has another reference falls back: split, then COW on the PTE', () => {
    const out = new Map<string, unknown>();
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: thpSetup }],
      setup: function* (kernel) {
        yield* collapseInSetup(kernel, out);
        const mm = kernel.procs.get(1)!.mm!;
        const pmd = pmdOf(mm, HP);
        const thp = pmd.huge!.folio;
        pmd.huge = { ...pmd.huge!, write: false };
        for (const p of thp.pages!) p.anon_exclusive = false;
        k.fn.folio_get(thp.pages![7]!); // someone else holds page 7 (a GUP reference)
        spawnIn(kernel, 'F', 1, function* () {
          yield* k.fn.mmap_read_lock(mm);
          const vma = (yield* k.fn.vma_lookup(mm, HP))!;
          const ret = yield* k.fn.handle_mm_fault(vma, HP + 3 * PAGE, FAULT_FLAG_WRITE, null);
          k.fn.mmap_read_unlock(mm);
          return ret;
        }, out);
      },
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const mm = r.kernel.procs.get(1)!.mm!;
    expect(pmdOf(mm, HP).huge).toBeNull();
    const p3 = pteAt(mm, HP + 3 * PAGE)!;
    const thp = out.get('thp') as folio;
    // the faulting page was copied (wp_page_copy): a new page with the old contents, writable
    expect(p3.kind === 'present' && p3.write && p3.folio.data === 6 && p3.folio !== thp).toBe(true);
    expect(out.get('F')).toBe(0);
  });
});
