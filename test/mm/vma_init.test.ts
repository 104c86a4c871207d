/**
 * impl/mm/vma_init.ts: vm_area_alloc / vm_area_dup / vm_area_free per era — immediate free
 * (≤6.3), call_rcu (6.4–6.14), SLAB_TYPESAFE_BY_RCU with reuse by any mm (6.15+).
 *
 * Task ids in schedules: 0 rcu_gp_kthread, 1 setup, 2… the test's tasks in order.
 */
import { describe, expect, it } from 'vitest';
import { defineVariant, generationVariant } from '../../impl/sim/variant.js';
import { k } from '../../impl/sim/kernel.js';
import type { Task } from '../../impl/rt/task.js';
import { anon_vma, type vm_area_struct } from '../../impl/include/linux/mm_types.js';
import { kasan_check_read, kasan_generation, kasan_object_alive, rcu_read_lock, rcu_read_unlock } from '../../impl/sync/index.js';
import { sim_vma_lock_state } from '../../impl/mm/mmap_lock.js';
import { dfs, expectSane, run, RW, sim_test_map, sim_test_unmap, T, type LockTest, type LockWorld } from './vma_lock_harness.js';

const gen = generationVariant;

/*
 * P1:  0x10000 |------anon A------| 0x20000
 */
function* oneVma(w: LockWorld): Task<void> {
  yield* sim_test_map(w, 'A', w.mm(), { start: 0x10000, end: 0x20000 });
}

describe('vm_area_alloc', () => {
  for (const [g, detached] of [['v6.3', false], ['v6.4', false], ['v6.6', false], ['v6.15', true]] as const) {
    it(`${g}: a zeroed, unlocked VMA of the mm, ${detached ? 'detached until vma_iter_store' : 'attached from vma_init'}`, () => {
      const { outcome, w } = run({
        variant: gen(g),
        tasks: [['t', function* (w) {
          const v = yield* k.fn.vm_area_alloc(w.mm());
          w.out.set('v', v);
          w.out.set('state', sim_vma_lock_state(v));
        }]],
      });
      expect(outcome.status).toBe('ok');
      const v = w.out.get('v') as vm_area_struct;
      expect(v.vm_mm).toBe(w.mm());
      expect([v.vm_start, v.vm_end, v.vm_flags, v.vm_pgoff, v.anon_vma, v.vm_file, v.vm_ops]).toEqual([0, 0, 0, 0, null, null, null]);
      expect(v.vm_lock_seq).toBe(-1);
      expect(v.vm_refcnt).toBe(0);
      expect(w.out.get('state')).toEqual({ readers: 0, writeLocked: false, detached });
      expect(kasan_object_alive(v)).toBe(true);
    });
  }
});

describe('vm_area_dup', () => {
  for (const g of ['v6.4', 'v6.15']) {
    it(`${g}: copies the VMA's fields, not its lock state nor its anon_vma_chain`, () => {
      const { outcome, w } = run({
        variant: gen(g), setup: oneVma,
        tasks: [['t', function* (w) {
          const A = w.vma('A');
          yield* k.fn.mmap_write_lock(w.mm());
          yield* k.fn.vma_start_write(A);
          const d = yield* k.fn.vm_area_dup(A);
          w.out.set('d', d);
          w.out.set('state', sim_vma_lock_state(d));
          k.fn.mmap_write_unlock(w.mm());
        }]],
      });
      expect(outcome.status).toBe('ok');
      const A = w.vma('A');
      const d = w.out.get('d') as vm_area_struct;
      expect(d).not.toBe(A);
      expect([d.vm_mm, d.vm_start, d.vm_end, d.vm_flags, d.vm_pgoff, d.anon_vma]).toEqual([A.vm_mm, A.vm_start, A.vm_end, A.vm_flags, A.vm_pgoff, A.anon_vma]);
      expect(d.anon_vma_chain).toEqual([]);
      expect(d.vm_lock_seq).toBe(-1);
      expect(w.out.get('state')).toEqual({ readers: 0, writeLocked: false, detached: g === 'v6.15' });
      expect(d.vm_refcnt).toBe(0);
    });
  }
});

describe('vm_area_free', () => {
  it('v6.3: freed at once — any later access is a use-after-free', () => {
    const { outcome } = run({
      variant: gen('v6.3'), setup: oneVma,
      tasks: [['t', function* (w) {
        const A = w.vma('A');
        yield* sim_test_unmap(w.mm(), A);
        yield 'later';
        kasan_check_read(A, 'test_read_after_munmap');
      }]],
    });
    expect(outcome.status).toBe('violation');
    expect(outcome.violation!.property).toBe('kasan');
    expect(outcome.violation!.message).toMatch(/slab-use-after-free in test_read_after_munmap.*vm_area_struct object freed at vm_area_free/);
  });

  /*
   *   reader:  rcu_read_lock; mas_walk → A ........................ read A; rcu_read_unlock
   *   munmap:                        detach A, clear, unlock, vm_area_free(A)
   *   rcu:                                                                     vm_area_free_rcu_cb(A)
   */
  const readerVsMunmap = (variant = gen('v6.6')): LockTest => ({
    variant, setup: oneVma,
    tasks: [
      ['reader', function* (w) {
        rcu_read_lock();
        const v = yield* k.fn.mas_walk(w.mm(), 0x10000);
        w.set('found');
        yield* w.wait('freed');
        if (v) kasan_check_read(v, 'test_rcu_reader');
        w.out.set('aliveInSection', v ? kasan_object_alive(v) : null);
        rcu_read_unlock();
      }],
      ['munmap', function* (w) {
        yield* w.wait('found');
        yield* sim_test_unmap(w.mm(), w.vma('A'));
        w.set('freed');
      }],
    ],
  });

  it('v6.4–6.14: freed by call_rcu — alive for an RCU reader until its section ends, freed after the grace period', () => {
    const { outcome, w } = run(readerVsMunmap());
    expect(outcome.status).toBe('ok');
    expect(w.out.get('aliveInSection')).toBe(true);
    expect(kasan_object_alive(w.vma('A'))).toBe(false);
  });

  it('a per-VMA-lock kernel that freed VMAs at once (no call_rcu) would let lock_vma_under_rcu touch freed memory', () => {
    const immediate = defineVariant({ name: 'vma-free-immediate', base: 'v6.6', description: 'vm_area_free without call_rcu', config: { vma_free: 'immediate' } });
    const spec: LockTest = {
      variant: immediate, setup: oneVma,
      tasks: [
        ['fault', function* (w) {
          const v = yield* k.fn.lock_vma_under_rcu(w.mm(), 0x10000);
          if (v) yield* k.fn.vma_end_read(v);
        }],
        ['munmap', function* (w) { yield* sim_test_unmap(w.mm(), w.vma('A')); }],
      ],
    };
    const r = dfs(spec, 1, (o) => expectSane(o));
    const bad = r.outcomes.filter(({ outcome }) => outcome.status === 'violation');
    expect(bad.length).toBeGreaterThan(0);
    for (const { outcome } of bad) {
      expect(outcome.violation!.property).toBe('kasan');
      expect(outcome.violation!.task).toBe(T(0));
    }
    // The same interleavings are clean with call_rcu (v6.6 as released).
    const good = dfs({ ...spec, variant: gen('v6.6') }, 1, (o) => {
      expectSane(o);
      expect(o.status, o.violation?.message).toBe('ok');
    });
    expect(good.complete).toBe(true);
  });

  it('v6.4–6.14: vm_area_free_rcu_cb finds a VMA still read-locked (freed without write-lock + detach): VM_BUG_ON_VMA', () => {
    const { outcome } = run({
      variant: gen('v6.6'), setup: oneVma,
      tasks: [
        ['fault', function* (w) {
          const v = (yield* k.fn.lock_vma_under_rcu(w.mm(), 0x10000))!;
          w.set('locked');
          yield* w.wait('never');
          yield* k.fn.vma_end_read(v);
        }],
        ['broken_munmap', function* (w) {
          yield* w.wait('locked');
          const mm = w.mm();
          const A = w.vma('A');
          yield* k.fn.mmap_write_lock(mm);
          yield* k.fn.vma_iter_clear(mm, A.vm_start, A.vm_end); // no vma_start_write / vma_mark_detached
          k.fn.mmap_write_unlock(mm);
          k.fn.vm_area_free(A);
        }],
      ],
    });
    expect(outcome.status).toBe('violation');
    expect(outcome.violation!.property).toBe('VM_BUG_ON');
    expect(outcome.violation!.message).toMatch(/vm_area_free_rcu_cb/);
    expect(outcome.violation!.taskName).toBe('rcu_gp_kthread');
  });

  it('v6.15: asserts the VMA is detached (vma_assert_detached)', () => {
    const { outcome } = run({
      variant: gen('v6.15'), setup: oneVma,
      tasks: [['broken', function* (w) { k.fn.vm_area_free(w.vma('A')); yield 'x'; }]],
    });
    expect(outcome.status).toBe('violation');
    expect(outcome.violation!.property).toBe('WARN_ON');
    expect(outcome.violation!.message).toMatch(/vma_assert_detached/);
  });

  /*
   * 6.15: P1 unmaps A; P2's vm_area_alloc may get A's object back (the scheduler chooses).
   *   P1: 0x10000 |---A---| 0x20000   →  freed into the SLAB_TYPESAFE_BY_RCU cache
   *   P2: vm_area_alloc → fresh object (choice 0) or A's object (choice 1), re-initialised for P2
   */
  const reuse: LockTest = {
    variant: gen('v6.15'), pids: [1, 2], setup: oneVma,
    tasks: [['t', function* (w) {
      const A = w.vma('A');
      w.out.set('gen0', kasan_generation(A));
      yield* sim_test_unmap(w.mm(1), A);
      w.out.set('freedRcu', (() => { rcu_read_lock(); kasan_check_read(A, 'test_rcu_reader'); rcu_read_unlock(); return true; })());
      yield* k.fn.mmap_write_lock(w.mm(2));
      const v = yield* k.fn.vm_area_alloc(w.mm(2));
      v.anon_vma = new anon_vma();
      v.vm_start = 0x30000;
      v.vm_end = 0x40000;
      v.vm_flags = RW;
      w.out.set('v', v);
      w.out.set('fields', [v.vm_mm, v.vm_start, v.anon_vma === A.anon_vma, v.vm_lock_seq, v.vm_refcnt, v.detached]);
      k.fn.mmap_write_unlock(w.mm(2));
    }]],
  };

  it('v6.15: a freed VMA may be handed straight to another mm\'s vm_area_alloc (scheduler choice)', () => {
    const fresh = run(reuse);
    expect(fresh.outcome.status).toBe('ok');
    expect(fresh.w.out.get('v')).not.toBe(fresh.w.vma('A'));
    // The allocation's choice is made in the step that takes mmap_write_lock(mm2) (step 13).
    const { outcome, w } = run(reuse, 'v1:13c1');
    expect(outcome.status, outcome.error).toBe('ok');
    const A = w.vma('A');
    expect(w.out.get('v')).toBe(A);
    expect(A.vm_mm).toBe(w.mm(2));
    expect(kasan_generation(A)).toBe((w.out.get('gen0') as number) + 1);
    // Re-initialised (vma_init's memset): P2's fields, unlocked, detached, refcount 0.
    expect((w.out.get('fields') as unknown[]).slice(3)).toEqual([-1, 0, true]);
    expect(w.out.get('freedRcu')).toBe(true);
  });

  it('v6.15: a freed VMA may be read inside an RCU section (typesafe), not outside one', () => {
    const { outcome } = run({
      variant: gen('v6.15'), setup: oneVma,
      tasks: [['t', function* (w) {
        const A = w.vma('A');
        yield* sim_test_unmap(w.mm(), A);
        yield 'later';
        kasan_check_read(A, 'test_read_outside_rcu');
      }]],
    });
    expect(outcome.status).toBe('violation');
    expect(outcome.violation!.property).toBe('kasan');
    expect(outcome.violation!.report.join('\n')).toMatch(/SLAB_TYPESAFE_BY_RCU/);
  });
});
