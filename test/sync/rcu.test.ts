import { describe, expect, it } from 'vitest';
import { Violation, type Execution, type Task } from '../../impl/rt/index.js';
import {
  call_rcu, kasan_check_read, kfree, kfree_rcu, kmem_cache_create, local_irq_disable, local_irq_enable, rcu_barrier, rcu_init,
  rcu_read_lock, rcu_read_lock_held, rcu_read_unlock, sim_kmem_cache_alloc_fresh, spin_lock, spin_unlock, spinlock_t,
  synchronize_irqs_off, synchronize_rcu,
} from '../../impl/sync/index.js';
import { dfs, noCrash, runOnce } from './helpers.js';

interface Obj { readonly name: string; value: number }
const obj_cache = kmem_cache_create<Obj>('test_obj', () => ({ name: 'obj', value: 1 }));

/** A reader section that the updater can observe: `inside`, and a section number. */
class ReaderState {
  inside = false;
  section = 0;
}

function* reader(st: ReaderState, sections = 1, gap = false): Task<void> {
  for (let i = 0; i < sections; i++) {
    if (gap) yield 'before';
    rcu_read_lock();
    st.inside = true;
    st.section++;
    yield 'read';
    yield 'read';
    st.inside = false;
    rcu_read_unlock();
  }
}

/** The updater's check: no reader section that was open at the call is still open at return. */
function* updater(st: ReaderState, sync: () => Task<void>, onLater?: () => void): Task<void> {
  yield 'update';
  const open = st.inside ? st.section : -1;
  yield* sync();
  if (open !== -1 && st.inside && st.section === open) throw new Violation('rcu-gp', 'synchronize_rcu returned while a pre-existing reader is inside');
  if (st.inside) onLater?.();
}

describe('synchronize_rcu', () => {
  it('never returns while a reader that began before it is inside; does not wait for later readers', () => {
    let later = 0;
    const r = dfs((e) => {
      const st = new ReaderState();
      e.spawn('reader', () => reader(st, 2, true));
      e.spawn('updater', () => updater(st, synchronize_rcu, () => later++));
    });
    noCrash(r.outcomes);
    expect(r.complete).toBe(true);
    expect(r.failures).toEqual([]);
    expect(later).toBeGreaterThan(0);
  });

  it('the check catches a synchronize_rcu that does not wait', () => {
    function* broken_synchronize_rcu(): Task<void> { yield 'synchronize_rcu'; }
    const r = dfs((e) => {
      const st = new ReaderState();
      e.spawn('reader', () => reader(st));
      e.spawn('updater', () => updater(st, broken_synchronize_rcu));
    });
    expect(r.failures.some((o) => o.violation?.property === 'rcu-gp')).toBe(true);
  });

  it('waits for preempt-disabled (spinlock) and IRQs-off sections too (consolidated RCU)', () => {
    for (const kind of ['spin', 'irq'] as const) {
      const r = dfs((e) => {
        const st = new ReaderState();
        const l = new spinlock_t('L');
        e.spawn('reader', function* () {
          if (kind === 'spin') yield* spin_lock(l); else local_irq_disable();
          st.inside = true;
          st.section++;
          yield 'read';
          st.inside = false;
          if (kind === 'spin') spin_unlock(l); else local_irq_enable();
        });
        e.spawn('updater', () => updater(st, synchronize_rcu));
      });
      noCrash(r.outcomes);
      expect(r.failures).toEqual([]);
    }
  });

  it('rcu_read_lock nests; rcu_read_unlock without rcu_read_lock is a violation', () => {
    const ok = runOnce((e) => {
      e.spawn('T', function* () {
        rcu_read_lock(); rcu_read_lock(); rcu_read_unlock();
        if (!rcu_read_lock_held()) throw new Error('nesting lost');
        rcu_read_unlock();
        if (rcu_read_lock_held()) throw new Error('still held');
        yield 'x';
      });
    });
    expect(ok.outcome.status).toBe('ok');
    const { outcome } = runOnce((e) => {
      e.spawn('T', function* () { rcu_read_lock(); rcu_read_unlock(); yield 'x'; rcu_read_unlock(); });
    });
    expect(outcome.violation?.property).toBe('rcu');
    expect(outcome.violation?.report).toContain('T/0 is trying to release lock (rcu_read_lock) at:');
  });
});

/*
 * The classic RCU-protected pointer: readers load gp under rcu_read_lock and read the object;
 * the updater unpublishes it and frees it (after a grace period, or — broken — at once).
 */
function published(e: Execution, free: (o: Obj) => void | Task<void>) {
  const gp: { p: Obj | null } = { p: sim_kmem_cache_alloc_fresh(obj_cache, 'setup_alloc', e) };
  for (const n of ['reader1', 'reader2']) {
    e.spawn(n, function* () {
      rcu_read_lock();
      yield 'rcu_dereference';
      const p = gp.p;
      yield 'load';
      if (p !== null) kasan_check_read(p, `${n}:load`);
      rcu_read_unlock();
    });
  }
  e.spawn('updater', function* () {
    yield 'rcu_assign_pointer';
    const old = gp.p!;
    gp.p = null;
    const r = free(old);
    if (r) yield* r;
  });
}

describe('call_rcu', () => {
  it('kfree_rcu: the object is never freed while a reader that could see it is inside', () => {
    let ranAfter = 0;
    const r = dfs((e) => published(e, (o) => kfree_rcu(o, 'updater:kfree_rcu')), {}, (_o, exec) => {
      if (exec.tasks.some((t) => t.name === 'rcu_gp_kthread')) ranAfter++;
    });
    noCrash(r.outcomes);
    expect(r.complete).toBe(true);
    expect(r.failures).toEqual([]);
    expect(ranAfter).toBe(r.executions);
  });

  it('a callback queued by call_rcu runs on the RCU kthread after the grace period', () => {
    const r = dfs((e) => {
      const st = new ReaderState();
      e.spawn('reader', () => reader(st, 1, true));
      e.spawn('updater', function* () {
        yield 'update';
        const open = st.inside ? st.section : -1;
        call_rcu(open, (sec) => {
          if (sec !== -1 && st.inside && st.section === sec) throw new Violation('rcu-gp', 'callback ran inside a pre-existing reader');
        });
      });
    });
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
  });

  it('the check catches an immediate kfree: KASAN use-after-free naming both sites', () => {
    const r = dfs((e) => published(e, (o) => kfree(o, 'updater:kfree')));
    const uaf = r.failures.find((o) => o.violation?.property === 'kasan');
    expect(uaf).toBeDefined();
    const text = uaf!.violation!.report.join('\n');
    expect(text).toMatch(/BUG: KASAN: slab-use-after-free in reader\d:load/);
    expect(text).toMatch(/Read of size 8 at addr ffff8880[0-9a-f]+ by task reader\d\/\d/);
    expect(text).toContain('Allocated by task setup:\n setup_alloc (step -1)');
    expect(text).toMatch(/Freed by task updater\/2:\n updater:kfree \(step \d+\)/);
  });

  it('rcu_barrier waits for the callbacks queued before it; rcu_init spawns the kthread up front', () => {
    const r = dfs((e) => {
      const kt = rcu_init(e);
      if (kt !== 0) throw new Error('kthread id');
      const done: number[] = [];
      e.spawn('reader', function* () { rcu_read_lock(); yield 'read'; rcu_read_unlock(); });
      e.spawn('T', function* () {
        call_rcu(1, (x) => done.push(x));
        call_rcu(2, (x) => done.push(x));
        yield* rcu_barrier();
        if (done.join() !== '1,2') throw new Violation('rcu_barrier', `callbacks after barrier: ${done.join()}`);
      });
    });
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
  });
});

describe('synchronize_irqs_off', () => {
  // GUP-fast walks page tables with IRQs off; the table is freed after the IPI (tlb_remove_table_sync_one).
  function gup(e: Execution, sync: boolean) {
    const pmd: { table: Obj | null } = { table: sim_kmem_cache_alloc_fresh(obj_cache, 'pte_alloc_one', e) };
    e.spawn('gup_fast', function* () {
      local_irq_disable();
      yield 'pmdp_get_lockless';
      const t = pmd.table;
      yield 'pte_offset_map';
      if (t !== null) kasan_check_read(t, 'gup_fast_pte_range');
      local_irq_enable();
    });
    e.spawn('khugepaged', function* () {
      yield 'pmdp_collapse_flush';
      const t = pmd.table!;
      pmd.table = null;
      if (sync) yield* synchronize_irqs_off();
      kfree(t, 'pte_free');
    });
  }
  it('the table is never freed under a walker that had IRQs off at the IPI', () => {
    const r = dfs((e) => gup(e, true));
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
  });
  it('without the IPI, KASAN catches the walker', () => {
    const r = dfs((e) => gup(e, false));
    expect(r.failures.some((o) => o.violation?.message.includes('gup_fast_pte_range'))).toBe(true);
  });
  it('does not wait for plain rcu_read_lock sections', () => {
    let passed = 0;
    dfs((e) => {
      const st = new ReaderState();
      e.spawn('reader', () => reader(st));
      e.spawn('T', function* () { yield 'x'; const open = st.inside; yield* synchronize_irqs_off(); if (open && st.inside) passed++; });
    });
    expect(passed).toBeGreaterThan(0);
  });
  it('called with IRQs disabled: reported', () => {
    const { outcome } = runOnce((e) => {
      e.spawn('T', function* () { local_irq_disable(); yield* synchronize_irqs_off(); });
    });
    expect(outcome.violation?.message).toMatch(/synchronize_irqs_off\(\) with IRQs disabled/);
  });
});
