/**
 * mm/memory.c (unmap_vmas, zap_pte_range, free_pgtables, copy_page_range) and mm/mmu_gather.c,
 * seen through exit_mmap and munmap: everything freed, nothing leaked, tables freed per
 * MMU_GATHER_RCU_TABLE_FREE.
 */
import { describe, expect, it } from 'vitest';
import { GENERATIONS } from '../../impl/sim/config.js';
import { PAGE, exit, fork, mmapAnon, mmapFile, munmap, store, load, sysRun, why } from './syscalls_harness.js';
import { kasan_end_of_run_leaks } from '../../impl/sync/kasan.js';
import type { ExecutionHooks } from '../../impl/rt/execution.js';
import { waitUntil, type Task } from '../../impl/rt/task.js';
import { k, type Kernel } from '../../impl/sim/kernel.js';
import { PMD_SIZE } from '../../impl/include/linux/mm_flags.js';
import type { pte_table } from '../../impl/include/linux/mm_types.js';

const H = 0x10000000;

/** kmemleak at the end of the run, for the caches the syscalls allocate and free. */
const noLeaks: ExecutionHooks = {
  atEnd: (e) => kasan_end_of_run_leaks(e, (c) => c === 'anon_vma' || c === 'vm_area_struct' || c === 'pgtable' || c === 'anon_vma_chain'),
};

/** The child has no thread of its own: exit its mm from a kernel task once it exists. */
function* childExit(kern: Kernel): Task<void> {
  yield* waitUntil('test:wait-child', () => kern.procs.has(2));
  const child = kern.procs.get(2)!;
  const mm = child.mm!;
  child.mm = null;
  child.exited = true;
  yield* k.fn.mmput(mm);
}

describe('exit_mmap', () => {
  for (const g of GENERATIONS) {
    it(`${g.name}: parent and child exit: every VMA, anon_vma, anon_vma_chain and page table is freed (kmemleak clean)`, () => {
      //   |--anon (faulted)--|   |--file--|   |--anon after fork--|   then both processes exit
      const r = sysRun({
        gen: g.name,
        files: [{ name: 'f', pages: [1, 2] }],
        hooks: noLeaks,
        threads: [{
          name: 'P', pid: 1,
          program: [
            mmapAnon(1, H, 2 * PAGE), store(1, H, 1), store(1, H + PAGE, 2),
            mmapFile(1, H + 0x400000, 2 * PAGE, 'f', 0), load(1, H + 0x400000),
            fork(1), store(1, H, 3), exit(1),
          ],
        }],
        tasks: [['child-exit', 0, childExit]],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.kernel.procs.get(1)!.exited).toBe(true);
      expect(r.kernel.procs.get(2)!.exited).toBe(true);
    });
  }

  it('kmemleak notices an address space that was not torn down (the check can fail)', () => {
    const r = sysRun({
      gen: 'v6.6',
      hooks: noLeaks,
      processes: [{ pid: 1, setup: [mmapAnon(1, H, 2 * PAGE), store(1, H, 1)] }],
      threads: [{ name: 'P', pid: 1, program: [fork(1), exit(1)] }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.property).toBe('kmemleak');
  });
});

describe('free_pgtables / mmu_gather', () => {
  for (const rcu of [true, false]) {
    it(`munmap of a whole PMD range frees its PTE table (${rcu ? 'after an RCU grace period' : 'after the flush IPI'})`, () => {
      let table: pte_table | null = null;
      const r = sysRun({
        gen: 'v6.6',
        config: { mmu_gather_rcu_table_free: rcu },
        processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE), store(1, H, 1)] }],
        setup: function* (kern: Kernel): Task<void> {
          table = kern.procs.get(1)!.mm!.pgd.get(Math.floor(H / PMD_SIZE))!.table;
          yield 'test:setup';
        },
        threads: [{ name: 'P', pid: 1, program: [munmap(1, H, PAGE)] }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(table).not.toBeNull();
      expect(table!.freed).toBe(true);
      expect(r.kernel.procs.get(1)!.mm!.pgd.get(Math.floor(H / PMD_SIZE))!.table).toBeNull();
    });
  }

  it('a PTE table shared with a neighbouring VMA is kept (floor/ceiling)', () => {
    //   |--A--|--B--| in one PMD range: munmap(B) keeps the table A uses
    const r = sysRun({
      gen: 'v6.15',
      processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE), mmapAnon(1, H + 2 * PAGE, PAGE, { read: true, write: true, exec: true }, { fixed: true }), store(1, H, 1), store(1, H + 2 * PAGE, 2)] }],
      threads: [{ name: 'P', pid: 1, program: [munmap(1, H + 2 * PAGE, PAGE), load(1, H)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('P')[1]).toEqual({ kind: 'value', value: 1 });
    expect(r.kernel.procs.get(1)!.mm!.pgd.get(Math.floor(H / PMD_SIZE))!.table).not.toBeNull();
  });
});
