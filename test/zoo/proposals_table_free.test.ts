/**
 * The proposals judged with and without MMU_GATHER_RCU_TABLE_FREE (issue [fidelity] item 5): on
 * x86 the kernel selects it only with PARAVIRT (v6.3–v6.7 here: off; v6.15, where PT_RECLAIM
 * selects it on x86_64: on), and both the smaps-rcu and the lockless-fault designs read page
 * tables with no lock that keeps them: only an RCU grace period before the free does.
 *
 *   |--anon rw, 2 pages: p0 written (the PTE table exists), p1 untouched--|
 *   F: store to p1 — the lockless fault finds p1's PTE none through __pte_offset_map
 *   W: munmap of both pages: free_pgtables frees the PTE table (IPI: at once; RCU: after a grace period)
 *
 * A lockless fault paused at ptep_get_lockless while the munmap frees the table: with RCU-freed
 * tables it reads the table (still allocated, its RCU read-side section holds the grace period),
 * sees the sequence changed and takes the locked path (SIGSEGV); with IPI-freed tables the read is
 * a KASAN use-after-free (the IPI waits only for IRQ-disabled walkers, GUP-fast). The campaign
 * figures of both proposals on both settings are in the README ("The article's proposals").
 * smaps-rcu's own on/off schedule is in test/mm/task_mmu_smaps.test.ts; here its campaign.
 */
import { describe, expect, it } from 'vitest';
import { PROPOSALS } from '../../impl/bugs/proposals.js';
import { locklessFaultOverrides, type LocklessFaultStats } from '../../impl/bugs/lockless_fault.js';
import { defineVariant, type Variant } from '../../impl/sim/variant.js';
import { PAGE, mmapAnon, munmap, load, store, sysDfs, sysRun, why } from '../mm/syscalls_harness.js';
import { campaign } from './harness.js';

const H = 0x10000000;
const P = (name: string): Variant => PROPOSALS.find((p) => p.name === name)!;

/** The proposal with MMU_GATHER_RCU_TABLE_FREE set as given. */
function withTableFree(p: Variant, rcu: boolean): Variant {
  return defineVariant({
    name: `${p.name}${rcu ? '' : '-ipi'}`, base: p.base, description: p.description,
    config: { ...(p.config ?? {}), mmu_gather_rcu_table_free: rcu },
    ...(p.overrides ? { overrides: p.overrides } : {}),
  });
}

describe('lockless-fault with and without RCU table freeing', () => {
  const sys = (rcu: boolean) => ({
    gen: 'v6.15',
    config: { lockless_fault: true, mmu_gather_rcu_table_free: rcu },
    overrides: locklessFaultOverrides(true),
    processes: [{ pid: 1, setup: [mmapAnon(1, H, 2 * PAGE), store(1, H, 1)] }],
    threads: [
      { name: 'F', pid: 1, program: [store(1, H + PAGE, 9)] },
      { name: 'W', pid: 1, program: [munmap(1, H, 2 * PAGE), load(1, H + 64 * PAGE)] },
    ],
  });

  for (const rcu of [true, false]) {
    it(`the fault paused at ptep_get_lockless while munmap frees the table: ${rcu ? 'safe (RCU-freed tables)' : 'KASAN use-after-free (IPI-freed tables)'}`, () => {
      const r = sysRun({ ...sys(rcu), script: [{ task: 'F', until: 'ptep_get_lockless' }, { task: 'W', until: 'user:load' }] });
      expect(r.scriptDone).toBe(true);
      if (rcu) {
        expect(r.outcome.status, why(r.outcome)).toBe('ok');
        // The sequence changed (abort_seq): the locked path found no VMA.
        expect(r.kernel.state<LocklessFaultStats>('lockless_fault', () => { throw new Error('no lockless fault ran'); }))
          .toMatchObject({ success: 0, abort_seq: 1 });
        expect(r.of('F')).toEqual([{ kind: 'signal', sig: 'SIGSEGV' }]);
      } else {
        expect(r.outcome.status).toBe('violation');
        expect(r.outcome.violation!.property).toBe('kasan');
        expect(r.outcome.violation!.message).toMatch(/use-after-free in ptep_get_lockless.*pgtable/);
      }
    });
  }

  it('with RCU-freed tables no schedule of the same pair is unsafe (DFS, 2 preemptions)', () => {
    const res = sysDfs(sys(true), 2, () => {}, 800);
    expect(res.bad.map(why)).toEqual([]);
  });
});

describe('the proposals\' campaigns on both settings', () => {
  it('smaps-rcu: with RCU-freed tables smaps-vs-munmap finds the refinement finding (no KASAN); with IPI-freed tables a page-table use-after-free', () => {
    const on = campaign(withTableFree(P('smaps-rcu'), true), 'smaps-vs-munmap', 400);
    expect(on.violations[0]?.property).toBe('linearizability');
    const off = campaign(withTableFree(P('smaps-rcu'), false), 'smaps-vs-munmap', 400);
    expect(off.violations[0]?.property).toBe('kasan');
    expect(off.violations[0]?.message).toMatch(/pgtable/);
  }, 60_000);
});
