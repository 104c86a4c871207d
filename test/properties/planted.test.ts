/**
 * Every named property can fail: for each entry of properties/registry.ts a planted bug — a
 * variant that breaks one kernel function, or a small broken program of primitives — makes the
 * real checker report exactly that property. A property added to the registry without a planted
 * case here fails the first test.
 *
 * Address space of the kernel-level plants:   |--anon rw 0x10000000 (2 pages)--|
 */
import { describe, expect, it } from 'vitest';
import { Execution } from '../../impl/rt/execution.js';
import { ReplayScheduler } from '../../impl/rt/schedulers/replay.js';
import { type Task } from '../../impl/rt/task.js';
import { lockdepHooks, sim_lockdep_set_enabled } from '../../impl/sync/lockdep.js';
import { rcu_read_lock, rcu_read_unlock } from '../../impl/sync/rcu.js';
import { rw_semaphore, down_read, down_write, up_read, up_write } from '../../impl/sync/rwsem.js';
import { seqcount_t, write_seqcount_end } from '../../impl/sync/seqcount.js';
import { refcount_dec } from '../../impl/sync/refcount.js';
import { DfsStrategy } from '../../impl/rt/schedulers/dfs.js';
import { defineVariant, type VariantSpec } from '../../impl/sim/variant.js';
import { k } from '../../impl/sim/kernel.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import type { ModelOp } from '../../model/ops.js';
import { PROPERTIES } from '../../properties/registry.js';
import { runScenario } from '../../properties/runner.js';
import { runCampaign } from '../../properties/campaign.js';
import { anon, load, store, munmap, fork, mprotect, RO, page, PAGE, uffdRegister } from '../../properties/scenarios/build.js';
import { mprotect_fixup } from '../../impl/mm/mprotect.js';
import { folio_add_new_anon_rmap, folio_remove_rmap_pte } from '../../impl/mm/rmap.js';
import { folio_put, my_zero_folio } from '../../impl/mm/page_alloc.js';
import { remove_vma, __split_vma } from '../../impl/mm/vma.js';
import { mm_take_all_locks } from '../../impl/mm/mmu_notifier.js';
import b8 from '../../impl/bugs/b8-fork.js';

type Overrides = NonNullable<VariantSpec['overrides']>;

function scenario(program: ModelOp[], setup: ModelOp[] = [anon(1, 0, 2)], more: ModelOp[][] = []): ScenarioSpec {
  return {
    name: 'planted', family: 'planted',
    processes: [{ pid: 1, setup }],
    threads: [{ name: 'T1', pid: 1, program }, ...more.map((p, i) => ({ name: `T${i + 2}`, pid: 1, program: p }))],
  };
}

/** Run a planted kernel variant on a one-thread scenario; return the property reported. */
function plant(base: string, overrides: Overrides, sc: ScenarioSpec): string | undefined {
  const variant = defineVariant({ name: 'planted', base, description: 'planted bug', overrides });
  const r = runScenario({ variant, scenario: sc });
  if (r.status === 'crash') throw new Error(r.error);
  if (process.env.PLANTED_DEBUG) console.log(r.violation?.property, r.violation?.message);
  return r.violation?.property;
}

/** Run a small program of primitives; return the property reported. */
function program(tasks: (() => Task<unknown>)[], lockdep = true, maxSteps?: number): string | undefined {
  const exec = new Execution({ scheduler: new ReplayScheduler('v1:'), hooks: lockdepHooks, maxSteps });
  sim_lockdep_set_enabled(exec, lockdep);
  tasks.forEach((t, i) => exec.spawn(`t${i}`, t));
  const o = exec.run();
  if (o.status === 'crash') throw new Error(o.error);
  return o.violation?.property;
}

const CASES: Record<string, () => string | undefined> = {
  // vma_end_read forgets up_read: the VMA read lock is still held when the thread returns.
  lockdep: () => plant('v6.6', { vma_end_read: function* () {} }, scenario([store(1, 0, 5)], [anon(1, 0, 2), store(1, 1, 1)])),
  might_sleep: () => program([function* () { rcu_read_lock(); yield* down_read(new rw_semaphore('sem')); }]),
  // remove_vma frees the VMA twice.
  kasan: () => plant('v6.6', { remove_vma: function* (vma) { yield* remove_vma(vma); yield* remove_vma(vma); } }, scenario([munmap(1, 0, 2)])),
  // folio_put drops a reference twice without freeing: "decrement hit 0; leaking memory".
  refcount: () => plant('v6.6', { folio_put: (f) => { refcount_dec(f._refcount); folio_put(f); } }, scenario([store(1, 0, 5), munmap(1, 0, 2)])),
  // folio_remove_rmap_pte runs twice per zapped PTE: mapcount underflow.
  VM_BUG_ON: () => plant('v6.6', { folio_remove_rmap_pte: (f, vma) => { folio_remove_rmap_pte(f, vma); folio_remove_rmap_pte(f, vma); } }, scenario([store(1, 0, 5), munmap(1, 0, 2)])),
  // vma_start_write does nothing: mmap_region's vm_flags updates assert the VMA write lock.
  VM_WARN_ON: () => plant('v6.15', { vma_start_write: function* () {} }, scenario([anon(1, 4, 1)])),
  // A zapped PTE's rmap is never removed: the folio is freed while still mapped.
  bad_page: () => plant('v6.6', { folio_remove_rmap_pte: () => {} }, scenario([store(1, 0, 5), munmap(1, 0, 2)])),
  seqcount: () => program([function* () { yield 'x'; write_seqcount_end(new seqcount_t('s')); }]),
  rcu: () => program([function* () { yield 'x'; rcu_read_unlock(); }]),
  // vmf_anon_prepare "succeeds" without an anon_vma: __folio_set_anon BUGs.
  BUG: () => plant('v6.6', { vmf_anon_prepare: function* () { return 0; } }, scenario([store(1, 0, 5)])),
  // __split_vma asked to split at vm_start.
  WARN_ON: () => plant('v6.6', { __split_vma: function* (vma, _addr, new_below) { return yield* __split_vma(vma, vma.vm_start, new_below); } }, scenario([munmap(1, 1, 1)])),
  // AB-BA with lockdep off (with it on, lockdep reports the inversion first): DFS finds the hang.
  deadlock: () => {
    const dfs = new DfsStrategy();
    for (let s = dfs.next(); s; s = dfs.next()) {
      const a = new rw_semaphore('A');
      const b = new rw_semaphore('B');
      const exec = new Execution({ scheduler: s, hooks: lockdepHooks });
      sim_lockdep_set_enabled(exec, false);
      exec.spawn('t0', function* () { yield* down_write(a); yield* down_write(b); up_write(b); up_write(a); });
      exec.spawn('t1', function* () { yield* down_write(b); yield* down_write(a); up_write(a); up_write(b); });
      const o = exec.run();
      if (o.violation) return o.violation.property;
    }
    return undefined;
  },
  livelock: () => program([function* () { for (;;) yield 'spin'; }], true, 500),
  // handle_mm_fault reports success without mapping anything: the access retries forever.
  'fault-livelock': () => plant('v6.6', { handle_mm_fault: function* () { return 0; } }, scenario([load(1, 0)])),
  // b8-fork (dup_mmap without vma_start_write) with a store racing the copy.
  // mm_take_all_locks lets a page-table change through: here, a PTE rewritten right after it took
  // every lock (what a fault not waited for would do) while KVM_CREATE_VM registers its notifier.
  'mm-all-locks': () => plant('v6.6', {
    mm_take_all_locks: function* (mm) {
      const r = yield* mm_take_all_locks(mm);
      const t = mm.pgd.get(Math.floor(page(0) / (512 * PAGE)))!.table!;
      k.fn.set_pte_at(mm, page(0), t, k.fn.ptep_get(t, page(0)));
      return r;
    },
  }, { ...scenario([{ op: 'dev_ioctl', pid: 1, file: '/dev/kvm0', cmd: 'KVM_CREATE_VM' }], [anon(1, 0, 2), store(1, 0, 1)]), files: [{ name: '/dev/kvm0', pages: [1] }] }),
  'fork-snapshot': () => runCampaign({ variant: b8, family: 'fork-vs-fault', strategy: 'pct', runs: 400, seed: 1 }).violations[0]?.property,
  // vma_start_write marks the VMA locked without waiting for its readers (no down_write).
  'vma-lock-exclusion': () => runCampaign({
    variant: defineVariant({
      name: 'planted', base: 'v6.6', description: 'vma_start_write does not wait for readers',
      overrides: { vma_start_write: function* (vma) { yield 'vma_start_write'; vma.vm_lock_seq = vma.vm_mm.mm_lock_seq; } },
    }),
    family: 'mprotect-vs-fault', strategy: 'random', runs: 500, seed: 1,
  }).violations[0]?.property,
  // vma_end_write_all forgets to end the epoch: VMAs stay write-locked after mmap_write_unlock.
  'vma-write-lock-epoch': () => plant('v6.6', { vma_end_write_all: () => {} }, scenario([mprotect(1, 0, 1, RO)])),
  // free_pgd_range frees the PTE table but leaves the PMD pointing at it.
  'pgtable-freed-while-linked': () => plant('v6.6', {
    free_pgd_range: function* (tlb) { for (const pmd of tlb.mm.pgd.values()) if (pmd.table && !pmd.table.freed) k.fn.pte_free(tlb.mm, pmd.table); },
  }, scenario([store(1, 0, 5), munmap(1, 0, 2)])),
  // mprotect_fixup leaves the VMA's end past its neighbour's start.
  'vma-tree-well-formed': () => plant('v6.6', {
    mprotect_fixup: function* (tlb, vma, pprev, start, end, newflags) {
      const r = yield* mprotect_fixup(tlb, vma, pprev, start, end, newflags);
      const v = pprev.vma ?? vma;
      v.vm_end += PAGE;
      return r;
    },
  }, scenario([mprotect(1, 0, 1, RO)])),
  // munmap's zap does nothing: the page stays mapped after the VMA is gone.
  'pte-outside-vma': () => plant('v6.6', { unmap_vmas: function* () {}, free_pgtables: function* () {} }, scenario([store(1, 0, 5), munmap(1, 0, 2)])),
  // anon_vma_fork links nothing: the child's anon pages are not in its rmap.
  'rmap-incomplete': () => plant('v6.6', { anon_vma_fork: function* () { return 0; } }, scenario([fork(1)], [anon(1, 0, 2), store(1, 0, 1)])),
  // wake_userfault wakes nobody: the fault UFFDIO_UNREGISTER should have woken sleeps on the
  // unregistered range (v6.4: the fault queued under mmap_read_lock before the unregister ran).
  'uffd-lost-wakeup': () => plant('v6.4', { __wake_userfault: function* () {} },
    scenario([load(1, 1)], [anon(1, 0, 2), store(1, 0, 1), uffdRegister(1, 0, 2)], [[{ op: 'uffd_unregister', pid: 1, addr: page(0), len: 2 * PAGE }]])),
  // folio_add_new_anon_rmap forgets the mapcount.
  leak: () => plant('v6.6', { folio_add_new_anon_rmap: (f, vma, addr) => { folio_add_new_anon_rmap(f, vma, addr); f._mapcount--; } }, scenario([store(1, 0, 5)])),
  // The zero page is not zero: a read fault on fresh anonymous memory sees garbage.
  linearizability: () => plant('v6.6', {
    my_zero_folio: () => { const z = my_zero_folio(); z.data = 42; return z; },
  }, scenario([load(1, 1)])),
  // MADV_DONTNEED's zap does nothing: no load sees it, the final memory does.
  'final-state': () => plant('v6.6', { zap_page_range_single: function* () {} },
    scenario([store(1, 0, 5), { op: 'madvise', pid: 1, addr: page(0), len: 2 * PAGE, advice: 'dontneed' }])),
};

describe('planted bugs, one per property', () => {
  it('every registered property has a planted case', () => {
    const missing = PROPERTIES.map((p) => p.name).filter((n) => !(n in CASES));
    expect(missing).toEqual([]);
  });
  for (const p of PROPERTIES) {
    it(`${p.name}: ${p.description.slice(0, 60)}…`, () => {
      const run = CASES[p.name];
      expect(run, `no planted case for ${p.name}`).toBeDefined();
      expect(run!()).toBe(p.name);
    });
  }
});
