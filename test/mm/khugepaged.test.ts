/**
 * mm/khugepaged.c: retract_page_tables over a file range racing a fault (pmd_same retry), per era;
 * collapse_huge_page over an anonymous range (mmap_write_lock, vma_start_write, anon_vma lock,
 * pmdp_collapse_flush, GUP pins block it); the daemon.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../impl/rt/task.js';
import { k, type Kernel } from '../../impl/sim/kernel.js';
import type { folio, mm_struct, pte_table } from '../../impl/include/linux/mm_types.js';
import { PMD_SIZE, PTRS_PER_PTE } from '../../impl/include/linux/mm_flags.js';
import { SCAN_PAGE_COUNT, SCAN_SUCCEED } from '../../impl/mm/khugepaged.js';
import { PAGE, RO, Script, load, mmapAnon, mmapFile, store, sysDfs, sysRun, why } from './syscalls_harness.js';

const HP = 0x40000000; // PMD-aligned
const tableOf = (mm: mm_struct, addr: number): pte_table | null => mm.pgd.get(Math.floor(addr / PMD_SIZE))?.table ?? null;
const entry = (t: pte_table, addr: number) => t.entries[Math.floor(addr / PAGE) % PTRS_PER_PTE]!;

function* spawn(kernel: Kernel, name: string, pid: number, body: () => Task<unknown>, out: Map<string, unknown>): Task<void> {
  const tid = kernel.exec.spawn(name, function* (): Task<void> {
    out.set(name, yield* body());
  });
  kernel.threads.set(tid, { tid, pid, comm: name, exiting: false });
}

//   |------------------ data.bin mapped r--p over one whole PMD [HP, HP + 2M) ------------------|
//    p0 read (the PTE table exists)   A: load p1 (a fault)   khugepaged: retract_page_tables
function fileScenario(gen: string, out: Map<string, unknown>) {
  return {
    gen,
    files: [{ name: 'data.bin', pages: [1, 2, 3, 4] }],
    processes: [{ pid: 1, setup: [mmapFile(1, HP, PMD_SIZE, 'data.bin', 0, RO, { fixed: true }), load(1, HP)] }],
    threads: [{ name: 'A', pid: 1, program: [load(1, HP + PAGE), load(1, HP)] }],
    setup: function* (kernel: Kernel): Task<void> {
      const mm = kernel.procs.get(1)!.mm!;
      out.set('old', tableOf(mm, HP));
      yield* spawn(kernel, 'khugepaged', 0, () => k.fn.khugepaged_scan_pmd(mm, HP), out);
    },
  };
}

describe('retract_page_tables (file range)', () => {
  for (const gen of ['v6.6', 'v6.15']) {
    it(`${gen}: a fault that mapped the old table waits for its PTL, sees the PMD changed (pmd_same) and retries on the new table`, () => {
      const out = new Map<string, unknown>();
      const r = sysRun({
        ...fileScenario(gen, out),
        script: [
          { task: 'A', until: 'user:load' },
          { task: 'khugepaged', until: 'retract_page_tables:pmdp_collapse_flush' }, // holds pml + the PTE lock
          { task: 'A', until: 'spin_lock' }, // pte_offset_map_lock: waiting for the old table's PTL
        ],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.scriptDone).toBe(true);
      expect(out.get('khugepaged')).toBe(SCAN_SUCCEED);
      expect(r.of('A')).toEqual([{ kind: 'value', value: 2 }, { kind: 'value', value: 1 }]);
      const mm = r.kernel.procs.get(1)!.mm!;
      const now = tableOf(mm, HP)!;
      const old = out.get('old') as pte_table;
      expect(now).not.toBe(old);
      expect(entry(now, HP + PAGE).kind).toBe('present'); // installed in the new table, not the old one
      expect(old.entries.every((e) => e.kind === 'none')).toBe(true);
    });
  }

  for (const gen of ['v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: every interleaving of the fault and the retract is consistent (DFS, bounded)`, () => {
      const res = sysDfs({ ...fileScenario(gen, new Map()) }, 2, (o, kernel, h) => {
        if (o.status !== 'ok') return;
        expect(h.map((e) => e.result)).toEqual([{ kind: 'value', value: 2 }, { kind: 'value', value: 1 }]);
        const t = tableOf(kernel.procs.get(1)!.mm!, HP);
        if (t) expect(t.freed).toBe(false);
      }, 1500);
      expect(res.bad.map(why)).toEqual([]);
    });
  }

  it('v6.6: a private mapping that was written (anon_vma) is not retracted', () => {
    const out = new Map<string, unknown>();
    const r = sysRun({
      gen: 'v6.6',
      files: [{ name: 'data.bin', pages: [1, 2] }],
      processes: [{ pid: 1, setup: [mmapFile(1, HP, PMD_SIZE, 'data.bin', 0, { read: true, write: true, exec: false }, { fixed: true }), store(1, HP, 9)] }],
      setup: function* (kernel: Kernel): Task<void> {
        const mm = kernel.procs.get(1)!.mm!;
        out.set('old', tableOf(mm, HP));
        yield* spawn(kernel, 'khugepaged', 0, () => k.fn.khugepaged_scan_pmd(mm, HP), out);
      },
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(out.get('khugepaged')).not.toBe(SCAN_SUCCEED);
    expect(tableOf(r.kernel.procs.get(1)!.mm!, HP)).toBe(out.get('old'));
  });
});

describe('collapse_huge_page (anonymous range)', () => {
  //   |------------- anon rw over one whole PMD: p0 = 5, p3 = 6 -------------|
  const anonSetup = [mmapAnon(1, HP, PMD_SIZE, { read: true, write: true, exec: false }, { fixed: true }), store(1, HP, 5), store(1, HP + 3 * PAGE, 6)];

  for (const gen of ['v6.3', 'v6.4', 'v6.15']) {
    it(`${gen}: the table is replaced under mmap_write_lock; the contents stay; a racing store waits`, () => {
      const out = new Map<string, unknown>();
      const r = sysRun({
        gen,
        processes: [{ pid: 1, setup: anonSetup }],
        threads: [{ name: 'A', pid: 1, program: [store(1, HP + 8 * PAGE, 7), load(1, HP), load(1, HP + 3 * PAGE), load(1, HP + 8 * PAGE)] }],
        setup: function* (kernel: Kernel): Task<void> {
          const mm = kernel.procs.get(1)!.mm!;
          out.set('old', tableOf(mm, HP));
          yield* spawn(kernel, 'khugepaged', 0, () => k.fn.khugepaged_scan_pmd(mm, HP), out);
        },
        script: [{ task: 'A', until: 'user:store' }, { task: 'khugepaged', until: 'collapse_huge_page:pmdp_collapse_flush' }, { task: 'A', until: 'sim:never' }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(out.get('khugepaged')).toBe(SCAN_SUCCEED);
      expect(r.of('A')).toEqual([{ kind: 'ok' }, { kind: 'value', value: 5 }, { kind: 'value', value: 6 }, { kind: 'value', value: 7 }]);
      expect(tableOf(r.kernel.procs.get(1)!.mm!, HP)).not.toBe(out.get('old'));
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

  it('v6.15: GUP-fast racing the collapse is safe in every schedule (PMD re-check + tlb_remove_table_sync_one)', () => {
    const res = sysDfs({
      gen: 'v6.15',
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
    }, 2, () => {}, 1500);
    expect(res.bad.map(why)).toEqual([]);
  });
});

describe('sim_daemon_khugepaged', () => {
  it('v6.6: the daemon picks a candidate PMD (scheduler choice) and collapses it', () => {
    class PickFirst extends Script {
      override choose(): number {
        return 1;
      }
    }
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: [mmapAnon(1, HP, PMD_SIZE, { read: true, write: true, exec: false }, { fixed: true }), store(1, HP, 5)] }],
      threads: [{ name: 'A', pid: 1, program: [load(1, HP)] }],
      scheduler: new PickFirst([]),
      setup: function* (kernel: Kernel): Task<void> {
        kernel.exec.spawn('khugepaged', () => k.fn.sim_daemon_khugepaged({ rounds: 1 }));
      },
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')).toEqual([{ kind: 'value', value: 5 }]);
  });
});
