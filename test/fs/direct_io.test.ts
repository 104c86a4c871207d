/**
 * fs/iomap/direct-io.c: O_DIRECT read/write of one page — the user buffer pinned with FOLL_PIN
 * (pin_user_pages_fast) across the I/O, the data moved into or out of the pinned page at
 * completion, then unpinned. Checked whole (runScenario: invariants, linearizability against the
 * model, final state): a pin racing munmap, fork (the child gets a copy of a maybe-pinned page),
 * and GUP-fast racing munmap's page-table free (IPI / RCU); planted bugs visible only through the
 * pin: fork sharing a pinned page, a page table freed without the IPI or RCU delay.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../properties/runner.js';
import { defineVariant, type VariantSpec } from '../../impl/sim/variant.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import type { ModelOp } from '../../model/ops.js';
import { ScriptScheduler, type Phase } from '../mm/io_harness.js';
import { PAGE, RW, anon, fork, load, munmap, page, store } from '../../properties/scenarios/build.js';

const F = 'data.bin';
const dioRead = (pid: number, i: number, filePage = 0): ModelOp => ({ op: 'dio_read', pid, file: F, page: filePage, addr: page(i) });
const dioWrite = (pid: number, i: number, filePage = 0): ModelOp => ({ op: 'dio_write', pid, file: F, page: filePage, addr: page(i) });
const pwrite = (pid: number, filePage: number, value: number): ModelOp => ({ op: 'pwrite', pid, file: F, page: filePage, value });

function run(gen: string, sc: Omit<ScenarioSpec, 'name' | 'family'>, script: readonly Phase[], spec: Partial<VariantSpec> = {}) {
  const variant = defineVariant({ name: `dio-${gen}`, base: gen, description: 'direct I/O test', ...spec });
  return runScenario({ variant, scenario: { name: 'dio', family: 'dio', ...sc }, scheduler: new ScriptScheduler(script) });
}

describe('O_DIRECT read/write (pin_user_pages_fast across the I/O)', () => {
  //   |--anon rw (p0 = 5, p1 untouched)--|      data.bin = [40, 41]
  for (const gen of ['v6.3', 'v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: a read lands in the pinned user page, a write takes it from there; the model agrees`, () => {
      const r = run(gen, {
        files: [{ name: F, pages: [40, 41] }],
        processes: [{ pid: 1, setup: [anon(1, 0, 2), store(1, 0, 5)] }],
        threads: [{ name: 'T', pid: 1, program: [dioRead(1, 1, 1), load(1, 1), dioWrite(1, 0, 1), { op: 'pread', pid: 1, file: F, page: 1 }] }],
      }, []);
      expect(r.status, r.violation?.message).toBe('pass');
      expect(r.history.map((h) => h.result)).toEqual([
        { kind: 'value', value: PAGE }, { kind: 'value', value: 41 }, { kind: 'value', value: PAGE }, { kind: 'value', value: 5 },
      ]);
    });
  }

  it('v6.6: no writable buffer is -EFAULT (GUP does not grow stacks, honours PROT_WRITE); EOF reads 0 bytes', () => {
    const r = run('v6.6', {
      files: [{ name: F, pages: [40] }],
      processes: [{ pid: 1, setup: [anon(1, 0, 1, { read: true, write: false, exec: false })] }],
      threads: [{ name: 'T', pid: 1, program: [dioRead(1, 0), dioRead(1, 5), dioRead(1, 0, 3), dioWrite(1, 0)] }],
    }, []);
    expect(r.status, r.violation?.message).toBe('pass');
    expect(r.history.map((h) => h.result)).toEqual([
      { kind: 'errno', errno: -14 }, { kind: 'errno', errno: -14 }, { kind: 'value', value: 0 }, { kind: 'value', value: PAGE },
    ]);
  });

  // The read is in flight (the page pinned) when another thread unmaps the buffer: the DMA lands
  // in the unmapped page, which the pin keeps alive until the unpin frees it.
  it('v6.6: munmap of the buffer while the read is in flight: the data goes to the orphaned page, no use-after-free', () => {
    const r = run('v6.6', {
      files: [{ name: F, pages: [40] }],
      processes: [{ pid: 1, setup: [anon(1, 0, 1), store(1, 0, 5)] }],
      threads: [
        { name: 'R', pid: 1, program: [dioRead(1, 0)] },
        { name: 'M', pid: 1, program: [munmap(1, 0, 1), load(1, 0)] },
      ],
    }, [{ task: 'R', until: 'iomap_dio_bio_iter:submit_bio' }, { task: 'M', until: 'exit' }]);
    expect(r.status, r.violation?.message).toBe('pass');
  });

  //   |--anon rw p0 = 5--|   R: O_DIRECT read of data.bin page 0 into p0 (pinned, in flight)
  //   F: fork(), then store p0 = 6 (the parent writes its page)      W: pwrite(data.bin page 0 = 77)
  //   then the read completes with 77 (the device reads what the file holds now).
  const forkScenario = {
    files: [{ name: F, pages: [40] }],
    processes: [{ pid: 1, setup: [anon(1, 0, 1), store(1, 0, 5)] }],
    threads: [
      { name: 'R', pid: 1, program: [dioRead(1, 0)] },
      { name: 'F', pid: 1, program: [fork(1), store(1, 0, 6)] },
      { name: 'W', pid: 1, program: [pwrite(1, 0, 77)] },
    ],
  };
  const forkScript: Phase[] = [{ task: 'R', until: 'iomap_dio_bio_iter:submit_bio' }, { task: 'F', until: 'exit' }, { task: 'W', until: 'exit' }];

  for (const gen of ['v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: fork while the page is pinned copies it for the child (copy_present_page); the DMA stays with the parent`, () => {
      const r = run(gen, forkScenario, forkScript);
      expect(r.status, r.violation?.message).toBe('pass');
    });
  }

  // A planted bug: fork shares the pinned page (no folio_needs_cow_for_dma: 70e806e4e645
  // reverted). The parent's store then COWs away from it, and the DMA — carrying data written to
  // the file after the fork — lands in the child's page: visible only because the pin outlives
  // the fork. The model refuses the final state (nothing may write the child's page after fork).
  it('v6.6: planted — fork shares a pinned page: the DMA lands in the child (final-state)', () => {
    const r = run('v6.6', forkScenario, forkScript, { overrides: { folio_needs_cow_for_dma: () => false } });
    expect(r.status).toBe('violation');
    expect(['final-state', 'linearizability']).toContain(r.violation!.property);
  });

  // GUP-fast walks the buffer's page table with IRQs off while munmap frees it: freeing waits for
  // the walk (the IPI of tlb_remove_table_sync_one, or an RCU grace period).
  for (const rcu of [false, true]) {
    it(`v6.6 (MMU_GATHER_RCU_TABLE_FREE ${rcu ? 'on' : 'off'}): GUP-fast pinning while munmap frees the page table waits for the ${rcu ? 'grace period' : 'IPI'}`, () => {
      const r = run('v6.6', {
        files: [{ name: F, pages: [40] }],
        processes: [{ pid: 1, setup: [anon(1, 0, 1), store(1, 0, 5)] }],
        threads: [
          { name: 'R', pid: 1, program: [dioRead(1, 0)] },
          { name: 'M', pid: 1, program: [munmap(1, 0, 1)] },
        ],
      }, [{ task: 'R', until: 'ptep_get_lockless' }, { task: 'M', until: 'exit' }], { config: { mmu_gather_rcu_table_free: rcu } });
      expect(r.status, r.violation?.message).toBe('pass');
    });
  }

  // A planted bug: the table is freed with neither the IPI nor RCU (tlb_remove_table_sync_one
  // does nothing). The pinning GUP-fast walk reads the freed table: KASAN.
  it('v6.6: planted — a page table freed without the IPI or RCU delay under a pinning GUP-fast walk (KASAN)', () => {
    const r = run('v6.6', {
      files: [{ name: F, pages: [40] }],
      processes: [{ pid: 1, setup: [anon(1, 0, 1), store(1, 0, 5)] }],
      threads: [
        { name: 'R', pid: 1, program: [dioRead(1, 0)] },
        { name: 'M', pid: 1, program: [munmap(1, 0, 1)] },
      ],
    }, [{ task: 'R', until: 'ptep_get_lockless' }, { task: 'M', until: 'exit' }], {
      config: { mmu_gather_rcu_table_free: false },
      overrides: { tlb_remove_table_sync_one: function* () { yield 'tlb_remove_table_sync_one (skipped)'; } },
    });
    expect(r.status).toBe('violation');
    expect(r.violation!.property).toBe('kasan');
    expect(r.violation!.message).toMatch(/use-after-free in (ptep_get_lockless|ptep_get)/);
  });
});

void RW;
