import { describe, expect, it } from 'vitest';
import { Violation, type Execution } from '../../impl/rt/index.js';
import {
  kasan_check_read, kasan_check_write, kasan_end_of_run_leaks, kasan_generation, kasan_object_alive, kfree, kfree_rcu,
  kmem_cache_alloc, kmem_cache_alloc_may_fail, kmem_cache_create, kmem_cache_free, rcu_read_lock, rcu_read_unlock,
  refcount_dec_and_test, refcount_inc_not_zero, refcount_set, refcount_t, sim_kasan_track, sim_kmem_cache_alloc_fresh,
  SLAB_TYPESAFE_BY_RCU,
} from '../../impl/sync/index.js';
import { dfs, noCrash, runOnce } from './helpers.js';

interface vma { readonly name: string; vm_refcnt: refcount_t; vm_start: number }
let vmaId = 0;
const plain_cache = kmem_cache_create<vma>('vm_area_struct', () => ({ name: `vma#${++vmaId}`, vm_refcnt: new refcount_t(1), vm_start: 0 }));
const typesafe_cache = kmem_cache_create<vma>('vm_area_struct', () => ({ name: `vma#${++vmaId}`, vm_refcnt: new refcount_t(1), vm_start: 0 }),
  SLAB_TYPESAFE_BY_RCU);

describe('kasan', () => {
  it('use-after-free: the report names the access, allocation and free sites', () => {
    const { outcome } = runOnce((e) => {
      e.spawn('munmap', function* () {
        const v = yield* kmem_cache_alloc(plain_cache, 'vm_area_alloc');
        yield 'x';
        kmem_cache_free(plain_cache, v, 'vm_area_free');
        yield 'y';
        kasan_check_write(v, 'vma_start_write');
      });
    });
    const v = outcome.violation!;
    expect(v.property).toBe('kasan');
    expect(v.report[1]).toBe('BUG: KASAN: slab-use-after-free in vma_start_write');
    expect(v.report[2]).toMatch(/^Write of size 8 at addr ffff8880[0-9a-f]{8} by task munmap\/0 \(step 2\)$/);
    const text = v.report.join('\n');
    expect(text).toContain('Allocated by task munmap/0:\n vm_area_alloc (step 0)');
    expect(text).toContain('Freed by task munmap/0:\n vm_area_free (step 1)');
    expect(text).toMatch(/belongs to the cache vm_area_struct of size 8, generation 1/);
  });

  it('double free, also through kfree_rcu', () => {
    const a = runOnce((e) => {
      e.spawn('T', function* () { const v = yield* kmem_cache_alloc(plain_cache, 'alloc'); kfree(v, 'free1'); yield 'x'; kfree(v, 'free2'); });
    });
    expect(a.outcome.violation?.report[1]).toBe('BUG: KASAN: double-free in free2');
    expect(a.outcome.violation?.report.join('\n')).toContain('Freed by task T/0:\n free1 (step 0)');
    const b = runOnce((e) => {
      e.spawn('T', function* () { const v = yield* kmem_cache_alloc(plain_cache, 'alloc'); kfree_rcu(v, 'rcu1'); yield 'x'; kfree_rcu(v, 'rcu2'); });
    });
    expect(b.outcome.violation?.report[1]).toBe('BUG: KASAN: double-free in rcu2');
    expect(b.outcome.violation?.report.join('\n')).toContain('call_rcu from rcu1');
  });

  it('kfree_rcu: accessible until the grace period, freed by the RCU kthread after it', () => {
    const { outcome, exec } = runOnce((e) => {
      e.spawn('T', function* () {
        const v = yield* kmem_cache_alloc(plain_cache, 'alloc');
        kfree_rcu(v, 'vm_area_free_rcu');
        kasan_check_read(v, 'still fine');
        yield 'x';
      });
    });
    expect(outcome.status).toBe('ok');
    expect(exec.tasks.map((t) => t.name)).toEqual(['T', 'rcu_gp_kthread']);
  });

  it('SLAB_TYPESAFE_BY_RCU: the scheduler chooses fresh or reused objects; a reuse bumps the generation', () => {
    const seen = new Set<string>();
    const r = dfs((e) => {
      e.spawn('T', function* () {
        const a = yield* kmem_cache_alloc(typesafe_cache, 'vm_area_alloc');
        const b = yield* kmem_cache_alloc(typesafe_cache, 'vm_area_alloc');
        kmem_cache_free(typesafe_cache, a, 'vm_area_free');
        kmem_cache_free(typesafe_cache, b, 'vm_area_free');
        yield 'x';
        const c = yield* kmem_cache_alloc(typesafe_cache, 'vm_area_alloc');
        seen.add(c === a ? 'a' : c === b ? 'b' : 'fresh');
        if ((c === a || c === b) && kasan_generation(c) !== 2) throw new Violation('kasan-test', 'generation not bumped');
        if (!kasan_object_alive(c)) throw new Violation('kasan-test', 'reused object not alive');
      });
    });
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
    expect(seen).toEqual(new Set(['a', 'b', 'fresh']));
  });

  /*
   * lock_vma_under_rcu (6.15): find the vma under RCU, take vm_refcnt with inc_not_zero, then
   * check it is still the vma we looked up (it may have been freed and reused meanwhile).
   */
  function lookup(e: Execution, recheck: boolean, rcu: boolean) {
    const tree: { v: vma | null } = { v: sim_kmem_cache_alloc_fresh(typesafe_cache, 'mmap_region', e) };
    tree.v!.vm_start = 0x1000;
    e.spawn('fault', function* () {
      if (rcu) rcu_read_lock();
      yield 'mas_walk';
      const v = tree.v;
      if (v === null) { if (rcu) rcu_read_unlock(); return; }
      yield 'vma_start_read';
      kasan_check_read(v, 'vma_start_read');
      const ok = refcount_inc_not_zero(v.vm_refcnt);
      if (rcu) rcu_read_unlock();
      if (!ok) return;
      yield 'check';
      if (recheck && v.vm_start !== 0x1000) { refcount_dec_and_test(v.vm_refcnt); return; }
      if (v.vm_start !== 0x1000) throw new Violation('vma-identity', `fault uses a recycled vma (start ${v.vm_start.toString(16)})`);
      refcount_dec_and_test(v.vm_refcnt);
    });
    e.spawn('munmap+mmap', function* () {
      yield 'vma_iter_clear';
      const old = tree.v!;
      tree.v = null;
      yield 'vma_mark_detached';
      if (refcount_dec_and_test(old.vm_refcnt)) kmem_cache_free(typesafe_cache, old, 'vm_area_free');
      else return;
      yield 'mmap';
      const n = yield* kmem_cache_alloc(typesafe_cache, 'vm_area_alloc');
      refcount_set(n.vm_refcnt, 1);
      n.vm_start = 0x5000;
    });
  }

  it('typesafe: reading a freed object under RCU is legal; a reader that rechecks identity is safe', () => {
    const r = dfs((e) => lookup(e, true, true));
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
  });

  it('typesafe: without the identity recheck the reuse is caught', () => {
    const r = dfs((e) => lookup(e, false, true));
    expect(r.failures.some((o) => o.violation?.property === 'vma-identity')).toBe(true);
  });

  it('typesafe: touching a freed object outside an RCU read-side section is a KASAN report', () => {
    const r = dfs((e) => lookup(e, true, false));
    const v = r.failures.find((o) => o.violation?.property === 'kasan')?.violation;
    expect(v?.report.join('\n')).toContain('SLAB_TYPESAFE_BY_RCU object accessed outside an RCU read-side section');
    expect(v?.report.join('\n')).toContain('Freed by task munmap+mmap/1:\n vm_area_free');
  });

  it('kmem_cache_alloc_may_fail: the scheduler explores the failure', () => {
    const results = new Set<string>();
    dfs((e) => { e.spawn('T', function* () { const v = yield* kmem_cache_alloc_may_fail(plain_cache, 'alloc'); results.add(v === null ? 'null' : 'obj'); yield 'x'; }); });
    expect(results).toEqual(new Set(['null', 'obj']));
  });

  it('objects made with new join the store; kfree of an untracked object marks it freed', () => {
    const { outcome } = runOnce((e) => {
      const table = { name: 'pte_table#1' };
      const folio = sim_kasan_track({ name: 'folio#1' }, 'folio', 'folio_alloc', e);
      e.spawn('T', function* () {
        kfree(table, 'pte_free');
        kfree(folio, 'folio_put');
        yield 'x';
        kasan_check_read(folio, 'user load (through a PTE)');
      });
    });
    expect(outcome.violation?.report.join('\n')).toContain('Allocated by task setup:\n folio_alloc (step -1)');
  });

  it('kasan_end_of_run_leaks lists what was never freed', () => {
    const { exec } = runOnce((e) => {
      e.spawn('T', function* () { yield* kmem_cache_alloc(plain_cache, 'leaky_alloc'); const b = yield* kmem_cache_alloc(plain_cache, 'x'); kfree(b, 'f'); });
    });
    const v = kasan_end_of_run_leaks(exec);
    expect(v?.property).toBe('kmemleak');
    expect(v?.report.join('\n')).toContain('backtrace: leaky_alloc');
    expect(v?.message).toMatch(/1 new suspected memory leak/);
  });
});
