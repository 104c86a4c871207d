/**
 * mm/khugepaged.c: collapse_huge_page over an anonymous range (mmap_write_lock, vma_start_write,
 * anon_vma lock, pmdp_collapse_flush, a THP mapped by one huge PMD with the old table deposited;
 * GUP pins block it; GUP-fast races it safely), collapse_file + retract_page_tables over a file
 * range per era (a page-table walker racing the retract: pmd_same retry 6.6+, exclusion by
 * mmap_write_trylock before; a planted bug freeing the table at once is a KASAN report at the
 * walker's PTL), and the daemon.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../impl/rt/task.js';
import { k, type Kernel } from '../../impl/sim/kernel.js';
import { baseTable } from '../../impl/sim/table.js';
import { folio_unlock } from '../../impl/sync/bitlock.js';
import type { folio, mm_struct, pmd_t, pte_table } from '../../impl/include/linux/mm_types.js';
import { HPAGE_PMD_NR, PMD_SIZE, PTRS_PER_PTE } from '../../impl/include/linux/mm_flags.js';
import {
  SCAN_EXCEED_NONE_PTE, SCAN_PAGE_COUNT, SCAN_PAGE_LOCK, SCAN_PMD_MAPPED, SCAN_SUCCEED,
} from '../../impl/mm/khugepaged.js';
import type { ModelOp } from '../../model/ops.js';
import { PAGE, RO, RW, Script, load, mmapAnon, mmapFile, store, sysDfs, sysRun, why } from './syscalls_harness.js';

const base = baseTable();
const HP = 0x40000000; // PMD-aligned
const pmdOf = (mm: mm_struct, addr: number): pmd_t | undefined => mm.pgd.get(Math.floor(addr / PMD_SIZE));
const tableOf = (mm: mm_struct, addr: number): pte_table | null => pmdOf(mm, addr)?.table ?? null;
const entry = (t: pte_table, addr: number) => t.entries[Math.floor(addr / PAGE) % PTRS_PER_PTE]!;
const smaps = (pid: number, target = pid): ModelOp => ({ op: 'read_smaps', pid, target });

function* spawn(kernel: Kernel, name: string, pid: number, body: () => Task<unknown>, out: Map<string, unknown>): Task<void> {
  const tid = kernel.exec.spawn(name, function* (): Task<void> {
    out.set(name, yield* body());
  });
  kernel.threads.set(tid, { tid, pid, comm: name, exiting: false });
}

// ---------------------------------------------------------------------------------------------

describe('collapse_huge_page (anonymous range)', () => {
  //   |------------- anon rw over one whole PMD: p0 = 5, p3 = 6 -------------|
  const anonSetup = [mmapAnon(1, HP, PMD_SIZE, RW, { fixed: true }), store(1, HP, 5), store(1, HP + 3 * PAGE, 6)];

  for (const gen of ['v6.3', 'v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: the PTEs become one huge PMD of a THP (old table deposited); contents stay; a racing store waits and lands in the THP`, () => {
      const out = new Map<string, unknown>();
      const r = sysRun({
        gen,
        processes: [{ pid: 1, setup: anonSetup }],
        threads: [{ name: 'A', pid: 1, program: [store(1, HP + 8 * PAGE, 7), load(1, HP), load(1, HP + 3 * PAGE), load(1, HP + 8 * PAGE), load(1, HP + 9 * PAGE)] }],
        setup: function* (kernel: Kernel): Task<void> {
          const mm = kernel.procs.get(1)!.mm!;
          out.set('old', tableOf(mm, HP));
          yield* spawn(kernel, 'khugepaged', 0, () => k.fn.khugepaged_scan_pmd(mm, HP), out);
        },
        script: [{ task: 'A', until: 'user:store' }, { task: 'khugepaged', until: 'collapse_huge_page:set_pmd_at' }, { task: 'A', until: 'sim:never' }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(out.get('khugepaged')).toBe(SCAN_SUCCEED);
      expect(r.of('A')).toEqual([{ kind: 'ok' }, { kind: 'value', value: 5 }, { kind: 'value', value: 6 }, { kind: 'value', value: 7 }, { kind: 'value', value: 0 }]);
      const mm = r.kernel.procs.get(1)!.mm!;
      const pmd = pmdOf(mm, HP)!;
      expect(pmd.table).toBeNull();
      expect(pmd.huge?.folio.pages?.length).toBe(HPAGE_PMD_NR);
      expect(pmd.huge?.write).toBe(true);
      // the old table is the deposit, not freed
      const old = out.get('old') as pte_table;
      expect(old.freed).toBe(false);
      expect(mm.pmd_ptdescs.get(Math.floor(pmd.index / 512))!.pmd_huge_pte).toEqual([old]);
      expect(mm.rss_stat.MM_ANONPAGES).toBe(HPAGE_PMD_NR);
    });
  }

  for (const gen of ['v6.3', 'v6.6', 'v6.15']) {
    //   |------------- anon rw over one whole PMD: p0 = 5, p3 = 6 (swapped out) -------------|
    it(`${gen}: a swapped-out page is brought back in (__collapse_huge_page_swapin: do_swap_page under mmap_read_lock) and collapsed with the rest`, () => {
      const out = new Map<string, unknown>();
      const r = sysRun({
        gen,
        swapSlots: 4,
        processes: [{ pid: 1, setup: anonSetup }],
        setup: function* (kernel: Kernel): Task<void> {
          yield* k.fn.sim_setup_swap_out({ do: 'swap_out', pid: 1, addr: HP + 3 * PAGE });
          const mm = kernel.procs.get(1)!.mm!;
          out.set('swapped', entry(tableOf(mm, HP)!, HP + 3 * PAGE).kind);
          // Two passes: with an asynchronous swap device the first one's do_swap_page waits for
          // the read with mmap_lock dropped (VM_FAULT_RETRY: SCAN_PAGE_LOCK), as the kernel's
          // does; the next pass finds the page in the swap cache.
          yield* spawn(kernel, 'khugepaged', 0, function* (): Task<unknown> {
            const first = yield* k.fn.khugepaged_scan_pmd(mm, HP);
            const second = first === SCAN_SUCCEED ? first : yield* k.fn.khugepaged_scan_pmd(mm, HP);
            return [first, second];
          }, out);
        },
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(out.get('swapped')).toBe('swap');
      const [first, second] = out.get('khugepaged') as number[];
      expect([SCAN_SUCCEED, SCAN_PAGE_LOCK]).toContain(first);
      expect(second).toBe(SCAN_SUCCEED);
      const mm = r.kernel.procs.get(1)!.mm!;
      const thp = pmdOf(mm, HP)!.huge!.folio;
      expect(thp.pages?.length).toBe(HPAGE_PMD_NR);
      expect([thp.pages![0]!.data, thp.pages![3]!.data, thp.pages![4]!.data]).toEqual([5, 6, 0]);
      expect(mm.rss_stat.MM_SWAPENTS).toBe(0);
    });
  }

  it('v6.15: a GUP reference on one page makes the collapse fail (is_refcount_suitable) and the table stays', () => {
    const out = new Map<string, unknown>();
    const r = sysRun({
      gen: 'v6.15',
      processes: [{ pid: 1, setup: anonSetup }],
      setup: function* (kernel: Kernel): Task<void> {
        const mm = kernel.procs.get(1)!.mm!;
        out.set('old', tableOf(mm, HP));
        yield* spawn(kernel, 'gup+khugepaged', 1, function* (): Task<unknown> {
          const pages: folio[] = [];
          expect(yield* k.fn.get_user_pages_fast(HP, 1, 0, pages)).toBe(1);
          const res = yield* k.fn.khugepaged_scan_pmd(mm, HP);
          for (const p of pages) k.fn.folio_put(p);
          return res;
        }, out);
      },
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(out.get('gup+khugepaged')).toBe(SCAN_PAGE_COUNT);
    expect(tableOf(r.kernel.procs.get(1)!.mm!, HP)).toBe(out.get('old'));
  });

  it('v6.6: a uffd-armed VMA with missing pages is not collapsed (SCAN_EXCEED_NONE_PTE)', () => {
    const out = new Map<string, unknown>();
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: [...anonSetup, { op: 'uffd_register', pid: 1, addr: HP, len: PMD_SIZE, mode: 'missing' }] }],
      setup: function* (kernel: Kernel): Task<void> {
        const mm = kernel.procs.get(1)!.mm!;
        yield* spawn(kernel, 'khugepaged', 0, () => k.fn.khugepaged_scan_pmd(mm, HP), out);
      },
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(out.get('khugepaged')).toBe(SCAN_EXCEED_NONE_PTE);
  });

  for (const gen of ['v6.4', 'v6.15']) {
    it(`${gen}: GUP-fast racing the collapse is safe in every schedule (PMD re-check + tlb_remove_table_sync_one)`, () => {
      const res = sysDfs({
        gen,
        processes: [{ pid: 1, setup: anonSetup }],
        setup: function* (kernel: Kernel): Task<void> {
          const mm = kernel.procs.get(1)!.mm!;
          yield* spawn(kernel, 'khugepaged', 0, () => k.fn.khugepaged_scan_pmd(mm, HP), new Map());
          yield* spawn(kernel, 'gup', 1, function* (): Task<unknown> {
            const pages: folio[] = [];
            const n = yield* k.fn.get_user_pages_fast(HP, 1, 0, pages);
            expect(pages.map((p) => p.data)).toEqual(n === 1 ? [5] : []);
            for (const p of pages) k.fn.folio_put(p);
            return n;
          }, new Map());
        },
      }, 2, () => {}, 400);
      expect(res.bad.map(why)).toEqual([]);
    });
  }

  // GUP-fast reads the PMD (IRQs off) just before pmdp_collapse_flush and is still walking the
  // table when the collapse wants to get rid of it: tlb_remove_table_sync_one waits for it; the
  // re-check of the PMD makes it drop what it got, and the slow path finds the THP.
  function gupRacesCollapse(gen: string, planted: boolean) {
    const out = new Map<string, unknown>();
    const r = sysRun({
      gen,
      // A planted bug: the collapse frees the old table at once instead of depositing it, and
      // skips tlb_remove_table_sync_one — visible only as GUP-fast's KASAN report on the table.
      overrides: planted ? {
        tlb_remove_table_sync_one: function* () { yield 'tlb_remove_table_sync_one (skipped)'; },
        pgtable_trans_huge_deposit: (mm, pmd, pgtable) => { void pmd; k.fn.pte_free(mm, pgtable); },
      } : undefined,
      processes: [{ pid: 1, setup: anonSetup }],
      setup: function* (kernel: Kernel): Task<void> {
        const mm = kernel.procs.get(1)!.mm!;
        yield* spawn(kernel, 'khugepaged', 0, () => k.fn.khugepaged_scan_pmd(mm, HP), out);
        yield* spawn(kernel, 'gup', 1, function* (): Task<unknown> {
          const pages: folio[] = [];
          const n = yield* k.fn.get_user_pages_fast(HP, 1, 0, pages);
          out.set('data', pages.map((p) => p.data));
          for (const p of pages) k.fn.folio_put(p);
          return n;
        }, out);
      },
      script: [{ task: 'gup', until: 'ptep_get_lockless' }, { task: 'khugepaged', until: 'collapse_huge_page:set_pmd_at' }, { task: 'gup', until: 'sim:never' }],
    });
    return { r, out };
  }

  for (const gen of ['v6.4', 'v6.15']) {
    it(`${gen}: GUP-fast walking the table being collapsed: the collapse waits for it (IPI), GUP falls back and finds the THP`, () => {
      const { r, out } = gupRacesCollapse(gen, false);
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(out.get('khugepaged')).toBe(SCAN_SUCCEED);
      expect(out.get('gup')).toBe(1);
      expect(out.get('data')).toEqual([5]);
    });
  }

  it('v6.15: planted — no IPI before freeing the collapsed table: GUP-fast reads a freed table (KASAN)', () => {
    const { r } = gupRacesCollapse('v6.15', true);
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.property).toBe('kasan');
    expect(r.outcome.violation!.message).toMatch(/use-after-free in (ptep_get_lockless|ptep_get)/);
  });
});

describe('sim_daemon_khugepaged', () => {
  class PickFirst extends Script {
    override choose(): number {
      return 1;
    }
  }
  it('v6.6: the daemon picks a candidate PMD (scheduler choice), collapses it and records it in the history', () => {
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: [mmapAnon(1, HP, PMD_SIZE, RW, { fixed: true }), store(1, HP, 5)] }],
      threads: [{ name: 'A', pid: 1, program: [load(1, HP)] }],
      scheduler: new PickFirst([]),
      setup: function* (kernel: Kernel): Task<void> {
        kernel.exec.spawn('khugepaged', () => k.fn.sim_daemon_khugepaged({ rounds: 1 }));
      },
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')).toEqual([{ kind: 'value', value: 5 }]);
    expect(r.of('khugepaged')).toEqual([{ kind: 'ok' }]);
    expect(r.history.find((h) => h.op.op === 'khugepaged_collapse')?.op).toEqual({ op: 'khugepaged_collapse', pid: 1, addr: HP });
    expect(pmdOf(r.kernel.procs.get(1)!.mm!, HP)!.huge).not.toBeNull();
  });

  it('v6.6: a second pass over a collapsed range finds it PMD-mapped', () => {
    const out = new Map<string, unknown>();
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: [mmapAnon(1, HP, PMD_SIZE, RW, { fixed: true }), store(1, HP, 5)] }],
      setup: function* (kernel: Kernel): Task<void> {
        const mm = kernel.procs.get(1)!.mm!;
        yield* spawn(kernel, 'khugepaged', 0, function* () {
          expect(yield* k.fn.khugepaged_scan_pmd(mm, HP)).toBe(SCAN_SUCCEED);
          yield* k.fn.mmap_read_lock(mm);
          const vma = (yield* k.fn.vma_lookup(mm, HP))!;
          const second = yield* k.fn.hpage_collapse_scan_pmd(mm, vma, HP);
          k.fn.mmap_read_unlock(mm);
          return second;
        }, out);
      },
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(out.get('khugepaged')).toBe(SCAN_PMD_MAPPED);
  });
});

// ---------------------------------------------------------------------------------------------
// File: collapse_file + retract_page_tables

//   |------------------ big.bin (512 pages) mapped r--p over one whole PMD [HP, HP + 2M) ------------------|
//    p0, p1 read (the PTE table exists)      S: read smaps (walks the table)     khugepaged: collapse_file
const BIG = Array.from({ length: HPAGE_PMD_NR }, (_, i) => i + 1);
function fileScenario(gen: string, out: Map<string, unknown>, extra: Partial<Parameters<typeof sysRun>[0]> = {}) {
  return {
    gen,
    files: [{ name: 'big.bin', pages: BIG }],
    processes: [{ pid: 1, setup: [mmapFile(1, HP, PMD_SIZE, 'big.bin', 0, RO, { fixed: true }), load(1, HP), load(1, HP + PAGE)] }],
    threads: [{ name: 'S', pid: 1, program: [smaps(1), load(1, HP + PAGE)] }],
    setup: function* (kernel: Kernel): Task<void> {
      const mm = kernel.procs.get(1)!.mm!;
      out.set('old', tableOf(mm, HP));
      yield* spawn(kernel, 'khugepaged', 0, () => k.fn.khugepaged_scan_pmd(mm, HP), out);
    },
    ...extra,
  };
}

describe('collapse_file + retract_page_tables (file range)', () => {
  for (const gen of ['v6.6', 'v6.15']) {
    it(`${gen}: a smaps walker that mapped the table waits for its PTL, finds the PMD none (pmd_same) and skips it; the pages refault`, () => {
      const out = new Map<string, unknown>();
      const r = sysRun({
        ...fileScenario(gen, out),
        script: [
          { task: 'S', until: '__pte_offset_map' },
          { task: 'khugepaged', until: 'retract_page_tables:pmdp_collapse_flush' }, // holds pml + the PTE lock
          { task: 'S', until: 'spin_lock' }, // pte_offset_map_lock: waiting for the old table's PTL
        ],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.scriptDone).toBe(true);
      expect(out.get('khugepaged')).toBe(SCAN_SUCCEED);
      const res = r.of('S');
      expect(res[1]).toEqual({ kind: 'value', value: 2 });
      // Rss: the walker saw the table gone (its pages were unmapped by collapse_file)
      expect(res[0]?.kind).toBe('smaps');
      const old = out.get('old') as pte_table;
      expect(old.freed).toBe(true); // pte_free_defer: freed after the grace period
      const now = tableOf(r.kernel.procs.get(1)!.mm!, HP);
      expect(now).not.toBe(old);
    });
  }

  for (const gen of ['v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: every interleaving of a walker, a fault and the collapse is consistent (DFS, bounded)`, () => {
      const res = sysDfs({ ...fileScenario(gen, new Map()) }, 1, (o, kernel) => {
        if (o.status !== 'ok') return;
        const t = tableOf(kernel.procs.get(1)!.mm!, HP);
        if (t) expect(t.freed).toBe(false);
      }, 600);
      expect(res.bad.map(why)).toEqual([]);
    });
  }

  // A planted bug: the 6.6 lockless retract frees the table at once (pte_free instead of
  // pte_free_defer). The smaps walker waiting for that table's PTL takes a lock in freed memory:
  // visible only through the KASAN'd PTL.
  it('v6.6: planted — the lockless retract frees the table without RCU: the waiting walker\'s PTL is a use-after-free', () => {
    const out = new Map<string, unknown>();
    const r = sysRun({
      ...fileScenario('v6.6', out, { overrides: { pte_free_defer: (mm, t) => k.fn.pte_free(mm, t) } }),
      script: [
        { task: 'S', until: '__pte_offset_map' },
        { task: 'khugepaged', until: 'retract_page_tables:pmdp_collapse_flush' },
        { task: 'S', until: 'spin_lock' },
      ],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.property).toBe('kasan');
    expect(r.outcome.violation!.message).toMatch(/use-after-free in spin_lock\(ptl\(pte_table#\d+\)\)/);
  });

  // ≤6.4: retract needs the mmap lock for write (trylock): a walker holding mmap_read_lock keeps
  // it out. Planted: the 6.6 lockless retract on a 6.4 kernel, whose pte_offset_map_lock does not
  // re-check the PMD — the walker takes the freed table's PTL.
  it('v6.4: planted — a lockless retract under the ≤6.4 pte_offset_map_lock: the walker locks the freed table', () => {
    const out = new Map<string, unknown>();
    const r = sysRun({
      ...fileScenario('v6.4', out, { config: { khugepaged_retract_lockless: true }, overrides: { pte_free_defer: (mm, t) => k.fn.pte_free(mm, t) } }),
      script: [
        { task: 'S', until: '__pte_offset_map' },
        { task: 'khugepaged', until: 'retract_page_tables:pmdp_collapse_flush' },
        { task: 'S', until: 'spin_lock' },
      ],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.property).toBe('kasan');
  });

  it('v6.6: a private mapping that was written (anon_vma) keeps its table', () => {
    const out = new Map<string, unknown>();
    const r = sysRun({
      gen: 'v6.6',
      files: [{ name: 'big.bin', pages: BIG }],
      processes: [{ pid: 1, setup: [mmapFile(1, HP, PMD_SIZE, 'big.bin', 0, RW, { fixed: true }), load(1, HP + PAGE), store(1, HP, 9)] }],
      setup: function* (kernel: Kernel): Task<void> {
        const mm = kernel.procs.get(1)!.mm!;
        out.set('old', tableOf(mm, HP));
        yield* spawn(kernel, 'khugepaged', 0, () => k.fn.khugepaged_scan_pmd(mm, HP), out);
      },
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(tableOf(r.kernel.procs.get(1)!.mm!, HP)).toBe(out.get('old'));
    expect(entry(out.get('old') as pte_table, HP).kind).toBe('present');
  });
  // collapse_file reads a missing page in and adds it to the page cache; a racing read may have
  // added it first (filemap_add_folio: -EEXIST, the folio unlocked again): look the index up again.
  it('v6.6: a page cached by a racing read while collapse_file reads it in (-EEXIST) is looked up again', () => {
    const out = new Map<string, unknown>();
    let raced = false;
    const r = sysRun({
      gen: 'v6.6',
      files: [{ name: 'big.bin', pages: BIG }],
      processes: [{ pid: 1, setup: [mmapFile(1, HP, PMD_SIZE, 'big.bin', 0, RO, { fixed: true }), load(1, HP)] }],
      overrides: {
        filemap_add_folio: function* (mapping, f, index, gfp) {
          if (!raced && index === 100) {
            raced = true;
            // the racing read(2): its own folio for index 100 goes in first
            const g = (yield* k.fn.folio_alloc(0, 0))!;
            g.data = 101;
            g.uptodate = true;
            expect(yield* base.filemap_add_folio(mapping, g, index, gfp)).toBe(0);
            folio_unlock(g);
            k.fn.folio_put(g);
          }
          return yield* base.filemap_add_folio(mapping, f, index, gfp);
        },
      },
      setup: function* (kernel: Kernel): Task<void> {
        const mm = kernel.procs.get(1)!.mm!;
        yield* spawn(kernel, 'khugepaged', 0, () => k.fn.khugepaged_scan_pmd(mm, HP), out);
      },
      threads: [{ name: 'A', pid: 1, program: [load(1, HP + 100 * PAGE)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(raced).toBe(true);
    expect(out.get('khugepaged')).toBe(SCAN_SUCCEED);
    expect(r.of('A')).toEqual([{ kind: 'value', value: 101 }]);
  });
});
