/**
 * mm/gup.c: the slow path (FOLL_FORCE write through /proc/pid/mem breaking COW, the retry when a
 * fault drops the lock) and GUP-fast racing munmap's page-table free (IPI / RCU / neither).
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../impl/rt/task.js';
import { k, type Kernel } from '../../impl/sim/kernel.js';
import { baseTable } from '../../impl/sim/table.js';
import type { folio, mm_struct } from '../../impl/include/linux/mm_types.js';
import { PMD_SIZE, PTRS_PER_PTE } from '../../impl/include/linux/mm_flags.js';
import { FOLL_FORCE, FOLL_WRITE, type gup_locked } from '../../impl/mm/gup.js';
import type { ModelOp } from '../../model/ops.js';
import {
  PAGE, RO, RW, load, mmapAnon, mmapFile, munmap, store, sysDfs, sysRun, why,
} from './syscalls_harness.js';

const H = 0x10000000;
const F = 'data.bin';
const memWrite = (pid: number, target: number, addr: number, value: number): ModelOp =>
  ({ op: 'proc_mem_write', pid, target, addr, value });

function pteAt(mm: mm_struct, addr: number) {
  const t = mm.pgd.get(Math.floor(addr / PMD_SIZE))?.table;
  return t ? t.entries[Math.floor(addr / PAGE) % PTRS_PER_PTE]! : null;
}

/** Spawn a kernel task bound to process `pid` (its current->mm) from a scenario setup hook. */
function* spawn(kernel: Kernel, name: string, pid: number, body: () => Task<unknown>, out: Map<string, unknown>): Task<void> {
  const tid = kernel.exec.spawn(name, function* (): Task<void> {
    out.set(name, yield* body());
  });
  kernel.threads.set(tid, { tid, pid, comm: name, exiting: false });
}

describe('/proc/pid/mem write (access_remote_vm → get_user_pages_remote, FOLL_FORCE|FOLL_WRITE)', () => {
  for (const gen of ['v6.3', 'v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: a write to a read-only private file mapping breaks COW and never touches the file`, () => {
      //   P1: |--data.bin p0 (r--p)--|      P2 writes /proc/1/mem at H
      const r = sysRun({
        gen,
        files: [{ name: F, pages: [7, 8] }],
        processes: [{ pid: 1, setup: [mmapFile(1, H, 2 * PAGE, F, 0, RO, { fixed: true }), load(1, H)] }, { pid: 2, setup: [] }],
        threads: [
          { name: 'P2', pid: 2, program: [memWrite(2, 1, H, 42), memWrite(2, 1, H + PAGE, 43)] },
          { name: 'P1', pid: 1, program: [] },
        ],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.of('P2')).toEqual([{ kind: 'ok' }, { kind: 'ok' }]);
      const mm = r.kernel.procs.get(1)!.mm!;
      for (const [a, v] of [[H, 42], [H + PAGE, 43]] as const) {
        const pte = pteAt(mm, a)!;
        expect(pte.kind).toBe('present');
        if (pte.kind !== 'present') return;
        // the process now maps its own exclusive anonymous copy, still read-only
        expect(pte.folio.data).toBe(v);
        expect(pte.write).toBe(false);
        expect(pte.folio.anon_exclusive).toBe(true);
      }
      // the page cache and the disk keep the file's contents
      const f = r.kernel.files.get(F)!;
      expect(f.f_inode.disk).toEqual([7, 8]);
      for (const [idx, fo] of f.f_mapping.i_pages) expect(fo.data).toBe([7, 8][idx]);
    });
  }

  it('v6.15: a shared mapping without PROT_WRITE, an unmapped address and a missing process give -EIO / -ESRCH', () => {
    const r = sysRun({
      gen: 'v6.15',
      files: [{ name: F, pages: [7] }],
      processes: [{ pid: 1, setup: [mmapFile(1, H, PAGE, F, 0, RO, { fixed: true, shared: true })] }, { pid: 2, setup: [] }],
      threads: [{ name: 'P2', pid: 2, program: [memWrite(2, 1, H, 1), memWrite(2, 1, H + 8 * PAGE, 1), memWrite(2, 9, H, 1)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('P2')).toEqual([{ kind: 'errno', errno: -5 }, { kind: 'errno', errno: -5 }, { kind: 'errno', errno: -3 }]);
    expect(r.kernel.files.get(F)!.f_inode.disk).toEqual([7]);
  });

  it('v6.6: an anonymous page shared with a child after fork is copied, the child keeps the old value', () => {
    //   P1 |--anon rw--| value 5, fork → P2; then P1 mprotect r--, and /proc/1/mem writes 9
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE), store(1, H, 5), { op: 'fork', pid: 1 }, { op: 'mprotect', pid: 1, addr: H, len: PAGE, prot: RO }] }],
      threads: [
        { name: 'W', pid: 1, program: [memWrite(1, 1, H, 9), load(1, H)] },
      ],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('W')).toEqual([{ kind: 'ok' }, { kind: 'value', value: 9 }]);
    const child = [...r.kernel.procs.values()].find((p) => p.pid !== 1)!;
    expect((pteAt(child.mm!, H) as { folio: folio }).folio.data).toBe(5);
  });

  for (const gen of ['v6.6', 'v6.15']) {
    it(`${gen}: every interleaving of the /proc/pid/mem write with the owner's loads and munmap is consistent (DFS)`, () => {
      //   P1 |--data.bin (r--p)--|   P2: write /proc/1/mem;  P1: load, munmap
      const res = sysDfs(
        {
          gen,
          files: [{ name: F, pages: [7] }],
          processes: [{ pid: 1, setup: [mmapFile(1, H, PAGE, F, 0, RO, { fixed: true })] }, { pid: 2, setup: [] }],
          threads: [
            { name: 'P2', pid: 2, program: [memWrite(2, 1, H, 42)] },
            { name: 'P1', pid: 1, program: [load(1, H), munmap(1, H, PAGE)] },
          ],
        },
        2,
        (o, kernel, history) => {
          if (o.status !== 'ok') return;
          expect(kernel.files.get(F)!.f_inode.disk).toEqual([7]);
          for (const fo of kernel.files.get(F)!.f_mapping.i_pages.values()) expect(fo.data).toBe(7);
          const w = history.find((h) => h.op.op === 'proc_mem_write')!.result!;
          const l = history.find((h) => h.op.op === 'load')!.result!;
          expect([{ kind: 'ok' }, { kind: 'errno', errno: -5 }]).toContainEqual(w);
          if (w.kind === 'errno') return; // after the munmap
          expect([{ kind: 'value', value: 7 }, { kind: 'value', value: 42 }]).toContainEqual(l);
        },
        1500,
      );
      expect(res.bad.map(why)).toEqual([]);
    });
  }
});

describe('__get_user_pages_locked', () => {
  it('v6.6: a fault that drops the lock for I/O (VM_FAULT_RETRY) sets *locked = 0; the retry with FOLL_TRIED finishes', () => {
    //   |--data.bin p0 (not cached: the first try drops mmap_lock for the read)--|
    const out = new Map<string, unknown>();
    const r = sysRun({
      gen: 'v6.6',
      files: [{ name: F, pages: [7] }],
      processes: [{ pid: 1, setup: [mmapFile(1, H, PAGE, F, 0, RW, { fixed: true })] }],
      setup: function* (kernel: Kernel): Task<void> {
        yield* spawn(kernel, 'gup', 1, function* (): Task<unknown> {
          const mm = kernel.procs.get(1)!.mm!;
          const pages: folio[] = [];
          const locked: gup_locked = { locked: 0 };
          const n = yield* k.fn.__get_user_pages_locked(mm, H, 1, pages, locked, FOLL_WRITE | FOLL_FORCE | (1 << 21));
          const held = mm.mmap_lock.readers + (mm.mmap_lock.owner >= 0 ? 1 : 0);
          const v = pages[0]?.data;
          for (const p of pages) k.fn.folio_put(p);
          return { n, locked: locked.locked, held, v };
        }, out);
      },
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(out.get('gup')).toEqual({ n: 1, locked: 0, held: 0, v: 7 });
    expect(r.kernel.stats.fault_retries).toBeGreaterThanOrEqual(0);
  });
});

describe('gup_fast racing munmap (page-table freeing waits for IRQs-off walkers)', () => {
  //   |--anon rw (2 pages, PTE table T)--|   A: get_user_pages_fast(H)   B: munmap(H, 2 pages) frees T
  const scenario = (config: Record<string, boolean>, overrides?: Record<string, unknown>) => ({
    gen: 'v6.6',
    config,
    overrides: overrides as never,
    processes: [{ pid: 1, setup: [mmapAnon(1, H, 2 * PAGE), store(1, H, 1), store(1, H + PAGE, 2)] }],
    threads: [{ name: 'B', pid: 1, program: [munmap(1, H, 2 * PAGE)] }],
    setup: function* (kernel: Kernel): Task<void> {
      yield* spawn(kernel, 'gup', 1, function* (): Task<unknown> {
        const pages: folio[] = [];
        const n = yield* k.fn.get_user_pages_fast(H, 2, 0, pages);
        const vals = pages.map((p) => p.data);
        for (const p of pages) k.fn.folio_put(p);
        return { n, vals };
      }, new Map());
    },
  });

  it('IPI (no MMU_GATHER_RCU_TABLE_FREE): tlb_remove_table_sync_one waits for the walk — safe in every schedule', () => {
    const res = sysDfs(scenario({ mmu_gather_rcu_table_free: false }), 2, () => {}, 2000);
    expect(res.bad.map(why)).toEqual([]);
    expect(res.executions).toBeGreaterThan(10);
  });

  it('MMU_GATHER_RCU_TABLE_FREE: the table is freed after a grace period — safe in every schedule', () => {
    const res = sysDfs(scenario({ mmu_gather_rcu_table_free: true }), 2, () => {}, 2000);
    expect(res.bad.map(why)).toEqual([]);
  });

  it('neither (tables freed at tlb_finish_mmu without waiting): KASAN use-after-free in the lockless walk', () => {
    const base = baseTable();
    const broken = {
      *tlb_finish_mmu(tlb: Parameters<typeof base.tlb_finish_mmu>[0]): Task<void> {
        for (const t of tlb.tables.splice(0)) k.fn.pte_free(null, t);
        yield* base.tlb_finish_mmu(tlb);
      },
    };
    const res = sysDfs(scenario({ mmu_gather_rcu_table_free: false }, broken), 2, () => {}, 2000);
    expect(res.bad.length).toBeGreaterThan(0);
    const v = res.bad[0]!.violation!;
    expect(v.property).toBe('kasan');
    expect(v.message).toMatch(/use-after-free in (ptep_get_lockless|gup_fast)/);
  });
});

void RW;
