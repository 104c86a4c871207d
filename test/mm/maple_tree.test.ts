/**
 * impl/mm/maple_tree.ts: the VMA tree — stores under mmap_write_lock, lookups under RCU or
 * mmap_lock, replaced nodes freed by RCU (KASAN-tracked), dead-node restarts, StackRot.
 *
 * Task ids in schedules: 0 rcu_gp_kthread, 1 setup, 2… the test's tasks in order.
 */
import { describe, expect, it } from 'vitest';
import { generationVariant } from '../../impl/sim/variant.js';
import { k } from '../../impl/sim/kernel.js';
import type { Task } from '../../impl/rt/task.js';
import type { maple_node } from '../../impl/include/linux/mm_types.js';
import { sim_mt_entries, sim_mt_validate, sim_vmas } from '../../impl/mm/maple_tree.js';
import { KASAN_FREE_PENDING, KASAN_FREED, rcu_read_lock, rcu_read_unlock, sim_kasan_meta } from '../../impl/sync/index.js';
import { dfs, expectSane, run, RW, sim_test_map, T, type LockTest, type LockWorld } from './vma_lock_harness.js';

const gen = generationVariant;

/*
 * P1:
 *   0x10000          0x20000  0x30000          0x40000
 *   |------anon A------|       |------file F------|
 */
function* twoVmas(w: LockWorld): Task<void> {
  yield* sim_test_map(w, 'A', w.mm(), { start: 0x10000, end: 0x20000 });
  yield* sim_test_map(w, 'F', w.mm(), { start: 0x30000, end: 0x40000, file: true });
}

/** Run `body` in one task of a v6.6 kernel over twoVmas. */
function one(body: (w: LockWorld) => Task<void>, g = 'v6.6') {
  return run({ variant: gen(g), setup: twoVmas, tasks: [['t', body]] });
}

describe('find_vma, vma_lookup, find_vma_intersection, find_vma_prev', () => {
  it('look up by the tree ranges', () => {
    const { outcome, w } = one(function* (w) {
      const mm = w.mm();
      yield* k.fn.mmap_read_lock(mm);
      const r = new Map<string, unknown>();
      r.set('find 0x5000', yield* k.fn.find_vma(mm, 0x5000));
      r.set('find 0x1ffff', yield* k.fn.find_vma(mm, 0x1ffff));
      r.set('find 0x20000', yield* k.fn.find_vma(mm, 0x20000));
      r.set('find 0x40000', yield* k.fn.find_vma(mm, 0x40000));
      r.set('lookup 0x25000', yield* k.fn.vma_lookup(mm, 0x25000));
      r.set('lookup 0x30000', yield* k.fn.vma_lookup(mm, 0x30000));
      r.set('isect 0x18000-0x31000', yield* k.fn.find_vma_intersection(mm, 0x18000, 0x31000));
      r.set('isect 0x20000-0x30000', yield* k.fn.find_vma_intersection(mm, 0x20000, 0x30000));
      r.set('isect 0x20000-0x30001', yield* k.fn.find_vma_intersection(mm, 0x20000, 0x30001));
      r.set('prev 0x25000', yield* k.fn.find_vma_prev(mm, 0x25000));
      r.set('prev 0x10000', yield* k.fn.find_vma_prev(mm, 0x10000));
      r.set('prev 0x38000', yield* k.fn.find_vma_prev(mm, 0x38000));
      r.set('prev 0x48000', yield* k.fn.find_vma_prev(mm, 0x48000));
      k.fn.mmap_read_unlock(mm);
      w.out.set('r', r);
    });
    expect(outcome.status).toBe('ok');
    const r = w.out.get('r') as Map<string, unknown>;
    const A = w.vma('A');
    const F = w.vma('F');
    expect(r.get('find 0x5000')).toBe(A);
    expect(r.get('find 0x1ffff')).toBe(A);
    expect(r.get('find 0x20000')).toBe(F);
    expect(r.get('find 0x40000')).toBeNull();
    expect(r.get('lookup 0x25000')).toBeNull();
    expect(r.get('lookup 0x30000')).toBe(F);
    expect(r.get('isect 0x18000-0x31000')).toBe(A);
    expect(r.get('isect 0x20000-0x30000')).toBeNull();
    expect(r.get('isect 0x20000-0x30001')).toBe(F);
    expect(r.get('prev 0x25000')).toEqual({ vma: F, prev: A });
    expect(r.get('prev 0x10000')).toEqual({ vma: A, prev: null });
    expect(r.get('prev 0x38000')).toEqual({ vma: F, prev: A });
    expect(r.get('prev 0x48000')).toEqual({ vma: null, prev: F });
  });

  it('find_vma asserts mmap_lock (mmap_assert_locked)', () => {
    const { outcome } = one(function* (w) { yield* k.fn.find_vma(w.mm(), 0x10000); });
    expect(outcome.status).toBe('violation');
    expect(outcome.violation!.property).toBe('lockdep');
    expect(outcome.violation!.message).toMatch(/mmap_assert_locked/);
  });

  it('vma_lookup takes RCU itself (mtree_load): no lock needed to walk', () => {
    const { outcome, w } = one(function* (w) { w.out.set('v', yield* k.fn.vma_lookup(w.mm(), 0x10000)); });
    expect(outcome.status).toBe('ok');
    expect(w.out.get('v')).toBe(w.vma('A'));
  });
});

describe('vma_iter_store', () => {
  it('stores by range; an overlapping store splits the old entry as the maple tree does', () => {
    /*
     *   before:  0x10000 |-------------V-------------| 0x30000
     *   store W:              0x18000 |--W--| 0x20000
     *   after:   |---V---|--W--|---V---|     (tree ranges; V's own fields unchanged)
     *   clear [0x18000, 0x20000):  |---V---|     |---V---|
     */
    const { outcome, w } = run({
      variant: gen('v6.6'),
      setup: function* (w) { yield* sim_test_map(w, 'V', w.mm(), { start: 0x10000, end: 0x30000 }); },
      tasks: [['t', function* (w) {
        const mm = w.mm();
        yield* k.fn.mmap_write_lock(mm);
        const W = yield* k.fn.vm_area_alloc(mm);
        W.vm_start = 0x18000;
        W.vm_end = 0x20000;
        W.vm_flags = RW;
        yield* k.fn.vma_start_write(W);
        yield* k.fn.vma_iter_store(mm, W);
        w.vmas.set('W', W);
        w.out.set('split', sim_mt_entries(mm).map((e) => [e.index, e.last, e.vma.name]));
        w.out.set('validate', sim_mt_validate(mm));
        yield* k.fn.vma_iter_clear(mm, 0x18000, 0x20000);
        w.out.set('cleared', sim_mt_entries(mm).map((e) => [e.index, e.last, e.vma.name]));
        k.fn.mmap_write_unlock(mm);
      }]],
    });
    expect(outcome.status).toBe('ok');
    const V = w.vma('V').name;
    const W = w.vma('W').name;
    expect(w.out.get('split')).toEqual([[0x10000, 0x17fff, V], [0x18000, 0x1ffff, W], [0x20000, 0x2ffff, V]]);
    expect(w.out.get('validate')).toMatch(/tree range/);
    expect(w.out.get('cleared')).toEqual([[0x10000, 0x17fff, V], [0x20000, 0x2ffff, V]]);
    expect(sim_vmas(w.mm())).toEqual([w.vma('V')]);
  });

  it('asserts mmap_write_lock (I12): a store under the read lock', () => {
    for (const g of ['v6.3', 'v6.4', 'v6.15']) {
      const { outcome } = one(function* (w) {
        yield* k.fn.mmap_read_lock(w.mm());
        yield* k.fn.vma_iter_store(w.mm(), w.vma('A'));
      }, g);
      expect(outcome.status, g).toBe('violation');
      expect(outcome.violation!.message).toMatch(/mmap_assert_write_locked/);
    }
  });

  it('6.15: marks a new VMA attached, and a new VMA must be write-locked first (B9: vma_mark_attached asserts it)', () => {
    const store = (lockFirst: boolean) => one(function* (w) {
      const mm = w.mm();
      yield* k.fn.mmap_write_lock(mm);
      const N = yield* k.fn.vm_area_alloc(mm);
      N.vm_start = 0x50000;
      N.vm_end = 0x60000;
      w.out.set('before', N.vm_refcnt);
      if (lockFirst) yield* k.fn.vma_start_write(N);
      yield* k.fn.vma_iter_store(mm, N);
      w.out.set('after', N.vm_refcnt);
      k.fn.mmap_write_unlock(mm);
    }, 'v6.15');
    const ok = store(true);
    expect(ok.outcome.status).toBe('ok');
    expect(ok.w.out.get('before')).toBe(0);
    expect(ok.w.out.get('after')).toBe(1);
    const broken = store(false);
    expect(broken.outcome.status).toBe('violation');
    expect(broken.outcome.violation!.property).toBe('VM_WARN_ON');
    expect(broken.outcome.violation!.message).toMatch(/vma_assert_write_locked/);
  });

  it('the replaced node is freed after a grace period (RCU mode), or at once after mt_clear_in_rcu', () => {
    for (const rcuMode of [true, false]) {
      const { outcome, w } = one(function* (w) {
        const mm = w.mm();
        if (!rcuMode) k.fn.mt_clear_in_rcu(mm.mm_mt);
        yield* k.fn.mmap_write_lock(mm);
        const old = mm.mm_mt.ma_root;
        yield* k.fn.vma_iter_clear(mm, 0x30000, 0x40000);
        w.out.set('state', sim_kasan_meta(old)!.state);
        w.out.set('old', old);
        k.fn.mmap_write_unlock(mm);
      });
      expect(outcome.status).toBe('ok');
      expect(w.out.get('state')).toBe(rcuMode ? KASAN_FREE_PENDING : KASAN_FREED);
      expect(sim_kasan_meta(w.out.get('old') as maple_node)!.state).toBe(KASAN_FREED);
      expect(sim_vmas(w.mm())).toEqual([w.vma('A')]);
    }
  });
});

describe('mas_walk', () => {
  it('lockdep: walking the tree with neither rcu_read_lock nor mmap_lock is suspicious RCU usage', () => {
    const { outcome } = one(function* (w) { yield* k.fn.mas_walk(w.mm(), 0x10000); });
    expect(outcome.status).toBe('violation');
    expect(outcome.violation!.property).toBe('lockdep');
    expect(outcome.violation!.message).toMatch(/suspicious RCU usage/);
    expect(outcome.violation!.report).toContain('WARNING: suspicious RCU usage');
  });

  /*
   *   walker (RCU only): load root ......................... read node: dead → walk again → N
   *   writer:                 mmap_write_lock; vma_iter_store(N); mmap_write_unlock
   *   0x10000 |--A--|   0x30000 |--F--|   0x50000 |--N (new)--| 0x60000
   */
  const storeUnderWalker: LockTest = {
    variant: gen('v6.6'), setup: twoVmas,
    tasks: [
      ['walker', function* (w) {
        rcu_read_lock();
        w.out.set('got', yield* k.fn.mas_walk(w.mm(), 0x50000));
        rcu_read_unlock();
      }],
      ['writer', function* (w) {
        const mm = w.mm();
        yield* k.fn.mmap_write_lock(mm);
        const N = yield* k.fn.vm_area_alloc(mm);
        N.vm_start = 0x50000;
        N.vm_end = 0x60000;
        yield* k.fn.vma_start_write(N);
        yield* k.fn.vma_iter_store(mm, N);
        w.vmas.set('N', N);
        k.fn.mmap_write_unlock(mm);
      }],
    ],
  };

  it('an RCU walker whose node was replaced under it restarts (ma_dead_node) and never touches freed memory', () => {
    const seen = new Set<string>();
    const r = dfs(storeUnderWalker, 2, (o, w) => {
      expectSane(o);
      expect(o.status, o.violation?.message).toBe('ok');
      seen.add(w.out.get('got') === null ? 'before' : 'after');
    });
    expect(r.complete).toBe(true);
    expect([...seen].sort()).toEqual(['after', 'before']);
    // The walker (task 2) loaded the root at step 12 and is preempted before reading the node;
    // the writer (task 3) stores N and unlocks; the walker reads the dead node and walks again.
    const { outcome, w } = run(storeUnderWalker, 'v1:13t3', true);
    expect(outcome.status).toBe('ok');
    expect(w.out.get('got')).toBe(w.vma('N'));
    const rootLoads = w.exec.trace.filter((e) => e.task === T(0) && e.label === 'mas_walk:ma_root').length;
    expect(rootLoads).toBe(2);
  });

  /*
   * StackRot (CVE-2023-3269, B6): before 6.5 the stack grew under mmap_read_lock, replacing a
   * tree node (expand_downwards → mas_store_prealloc). A find_vma_prev under the read lock — no
   * RCU — walks the old node; after the grace period (it does not wait for mmap_lock holders)
   * the node is freed and mas_prev reads it.
   *
   *   reader: mmap_read_lock; find_vma_prev: walk(node#k) ........................ mas_prev(node#k) → KASAN
   *   grower: mmap_read_lock; mas_store_prealloc → node#k freed by RCU; mmap_read_unlock
   *   rcu:                                                                  ma_free_rcu(node#k)
   */
  function stackRot(writeLocked: boolean): LockTest {
    return {
      variant: gen('v6.4'), setup: twoVmas,
      tasks: [
        ['reader', function* (w) {
          yield* k.fn.mmap_read_lock(w.mm());
          w.out.set('r', yield* k.fn.find_vma_prev(w.mm(), 0x38000));
          k.fn.mmap_read_unlock(w.mm());
        }],
        ['grower', function* (w) {
          const mm = w.mm();
          const F = w.vma('F');
          if (writeLocked) {
            yield* k.fn.mmap_write_lock(mm);
            yield* k.fn.vma_start_write(F);
          } else {
            yield* k.fn.mmap_read_lock(mm);
          }
          F.vm_start = 0x2f000; // grow down
          if (writeLocked) yield* k.fn.vma_iter_store(mm, F);
          else yield* k.fn.mas_store_prealloc(mm, F.vm_start, F.vm_end - 1, F);
          if (writeLocked) k.fn.mmap_write_unlock(mm);
          else k.fn.mmap_read_unlock(mm);
        }],
      ],
    };
  }

  it('StackRot: a tree store under the read lock frees a node a read-locked walker still uses (KASAN in mas_prev)', () => {
    const r = dfs(stackRot(false), 1, (o) => expectSane(o));
    const bad = r.outcomes.filter(({ outcome }) => outcome.status === 'violation');
    expect(bad.length).toBeGreaterThan(0);
    for (const { outcome } of bad) {
      expect(outcome.violation!.property).toBe('kasan');
      // In mas_prev, or in the walk itself when the node went between root load and read.
      expect(outcome.violation!.message).toMatch(/slab-use-after-free in (mas_prev|find_vma_prev)/);
    }
    // The reader (task 2) walked node#k (step 14) and is preempted before mas_prev; the grower
    // (task 3) stores and unlocks; the RCU kthread (task 0) frees node#k (step 18): nothing
    // waits for a reader that holds only mmap_read_lock; mas_prev reads it (step 19).
    const { outcome } = run(stackRot(false), 'v1:15t3');
    expect(outcome.status).toBe('violation');
    expect(outcome.violation!.task).toBe(T(0));
    expect(outcome.violation!.step).toBe(19);
    expect(outcome.violation!.message).toMatch(/slab-use-after-free in mas_prev/);
    expect(outcome.violation!.report.join('\n')).toMatch(/call_rcu from ma_free_rcu/);
  });

  it('the same growth under mmap_write_lock (6.5+) never frees a node under a reader', () => {
    const r = dfs(stackRot(true), 2, (o) => {
      expectSane(o);
      expect(o.status, o.violation?.message).toBe('ok');
    });
    expect(r.complete).toBe(true);
  });

  it('a walker holding neither RCU nor mmap_lock (lockdep off, so no splat) reads a freed node: KASAN at that step', () => {
    const spec: LockTest = {
      ...storeUnderWalker,
      lockdep: false,
      tasks: [
        ['walker', function* (w) { w.out.set('got', yield* k.fn.mas_walk(w.mm(), 0x50000)); }],
        storeUnderWalker.tasks[1]!,
      ],
    };
    const r = dfs(spec, 1, (o) => expectSane(o));
    const bad = r.outcomes.filter(({ outcome }) => outcome.status === 'violation');
    expect(bad.length).toBeGreaterThan(0);
    for (const { outcome } of bad) {
      expect(outcome.violation!.property).toBe('kasan');
      expect(outcome.violation!.message).toMatch(/slab-use-after-free in mas_walk/);
      expect(outcome.violation!.label).toBe('mas_walk:maple_node');
    }
  });
});
