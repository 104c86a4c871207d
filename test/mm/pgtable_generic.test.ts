/**
 * mm/pgtable-generic.c: mapping PTE tables that may vanish (RCU), pte_offset_map_lock's
 * pmd_same re-check, pte_same value equality, KASAN on freed tables.
 */
import { describe, expect, it } from 'vitest';
import { runFault, expectOk, BASE, PAGE, type FaultWorld } from '../arch/x86/mm/fault_harness.js';
import { k } from '../../impl/sim/kernel.js';
import { block, type Task } from '../../impl/rt/task.js';
import { spin_lock, spin_unlock } from '../../impl/sync/spinlock.js';
import { rcu_read_lock_held } from '../../impl/sync/rcu.js';
import { folio } from '../../impl/include/linux/mm_types.js';
import {
  pte_same, swp_entry_to_pte, pte_swp_mkexclusive, folio_mk_pte, pte_mkdirty, pte_index, pmd_off, sim_pmd_index,
} from '../../impl/mm/pgtable_generic.js';

describe('pte_same', () => {
  it('is value equality: the same swap slot reused compares equal (the ABA of B17)', () => {
    expect(pte_same(swp_entry_to_pte(5), swp_entry_to_pte(5))).toBe(true);
    expect(pte_same(swp_entry_to_pte(5), swp_entry_to_pte(6))).toBe(false);
    expect(pte_same(swp_entry_to_pte(5), pte_swp_mkexclusive(swp_entry_to_pte(5)))).toBe(false);
    const f = new folio();
    expect(pte_same(folio_mk_pte(f), folio_mk_pte(f))).toBe(true);
    expect(pte_same(folio_mk_pte(f), pte_mkdirty(folio_mk_pte(f)))).toBe(false);
    expect(pte_same(folio_mk_pte(f), folio_mk_pte(new folio()))).toBe(false);
  });

  it('indexes addresses above 2^32 without 32-bit truncation', () => {
    const a = 2 ** 39 + 3 * PAGE;
    expect(pte_index(a)).toBe(3);
    expect(sim_pmd_index(a)).toBe(2 ** 18);
  });
});

describe('__pte_offset_map / pte_offset_map_lock', () => {
  it('returns null with nothing held for a none PMD, the table with RCU held otherwise', () => {
    const r = expectOk(runFault({
      tasks: [{
        name: 'K',
        body: function* (w: FaultWorld): Task<void> {
          const mm = w.mm();
          const pmd = pmd_off(mm, BASE);
          w.out.set('none', yield* k.fn.__pte_offset_map(pmd, BASE));
          w.out.set('rcu after none', rcu_read_lock_held());
          expect(yield* k.fn.pte_alloc(mm, pmd)).toBe(0);
          const t = yield* k.fn.__pte_offset_map(pmd, BASE);
          w.out.set('rcu after map', rcu_read_lock_held());
          k.fn.pte_unmap(t!);
          w.out.set('rcu after unmap', rcu_read_lock_held());
        },
      }],
    }));
    expect(r.w.out.get('none')).toBeNull();
    expect(r.w.out.get('rcu after none')).toBe(false);
    expect(r.w.out.get('rcu after map')).toBe(true);
    expect(r.w.out.get('rcu after unmap')).toBe(false);
  });

  //   R (retract): holds old->ptl, replaces pmd's table by a new one, frees old by RCU (or at once)
  //   L (locker):  pte_offset_map_lock → maps old, waits for old->ptl
  //     6.5+ form: pmd_same fails → retry → new;  ≤6.4 form: no re-check → old
  function replaceUnderLocker(gen: string, free: 'defer' | 'now' | 'after L') {
    return runFault({
      gen,
      setup: function* (w) {
        const mm = w.mm();
        const pmd = pmd_off(mm, BASE);
        yield* k.fn.pte_alloc(mm, pmd);
        w.out.set('old', pmd.table);
      },
      tasks: [
        {
          name: 'R',
          body: function* (w) {
            const mm = w.mm();
            const pmd = pmd_off(mm, BASE);
            const old = pmd.table!;
            yield* spin_lock(old.ptl);
            w.set('R holds old ptl');
            // Wait until L mapped the old table and waits for its PTL.
            yield block('test: L waits for the old PTL', () => {
              const l = w.exec.tasks.find((t) => t.name === 'L')!;
              return l.block !== null && l.obj === old.ptl;
            });
            const fresh = (yield* k.fn.pte_alloc_one(mm))!;
            pmd.table = fresh; // pmdp_collapse_flush + pmd_populate, under the PMD lock
            w.out.set('new', fresh);
            spin_unlock(old.ptl);
            if (free === 'defer') k.fn.pte_free_defer(mm, old);
            else if (free === 'now') k.fn.pte_free(mm, old);
            else {
              yield* w.wait('L done');
              k.fn.pte_free(mm, old);
            }
          },
        },
        {
          name: 'L',
          body: function* (w) {
            yield* w.wait('R holds old ptl');
            const mm = w.mm();
            const t = yield* k.fn.pte_offset_map_lock(mm, pmd_off(mm, BASE), BASE);
            w.out.set('got', t);
            w.out.set('rcu held', rcu_read_lock_held());
            k.fn.pte_unmap_unlock(t!);
            w.set('L done');
          },
        },
      ],
      script: [{ run: 'R', until: 'test: L waits' }],
      trace: true,
    });
  }

  for (const gen of ['v6.6', 'v6.15']) {
    it(`${gen} (6.5+ form): retries when the table was replaced while it waited for the PTL (pmd_same)`, () => {
      const r = expectOk(replaceUnderLocker(gen, 'defer'));
      const L = r.w.exec.tasks.find((t) => t.name === 'L')!.id;
      const maps = r.w.exec.trace.filter((e) => e.task === L && e.label === '__pte_offset_map:pmdp_get_lockless');
      expect(maps.length).toBe(2); // mapped the old table, then (pmd_same failed) the new one
      expect(r.w.out.get('got')).toBe(r.w.out.get('new'));
      expect(r.w.out.get('got')).not.toBe(r.w.out.get('old'));
      expect(r.w.out.get('rcu held')).toBe(true);
    });
  }

  for (const gen of ['v6.3', 'v6.4']) {
    it(`${gen} (≤6.4 macro): no re-check and no RCU — the locker gets the table it read, replaced or not`, () => {
      const r = expectOk(replaceUnderLocker(gen, 'after L'));
      const L = r.w.exec.tasks.find((t) => t.name === 'L')!.id;
      const maps = r.w.exec.trace.filter((e) => e.task === L && e.label === '__pte_offset_map:pmdp_get_lockless');
      expect(maps.length).toBe(1);
      expect(r.w.out.get('got')).toBe(r.w.out.get('old'));
      expect(r.w.out.get('rcu held')).toBe(false);
    });
  }

  // A planted bug: the replacer frees the old table at once (no RCU deferral, no exclusion of the
  // locker). Only the PTL access shows it: L's spin_lock lands in the freed table.
  for (const gen of ['v6.4', 'v6.6']) {
    it(`${gen}: taking the PTL of a table freed meanwhile is a KASAN use-after-free (ALLOC_SPLIT_PTLOCKS)`, () => {
      const r = replaceUnderLocker(gen, 'now');
      expect(r.outcome.status).toBe('violation');
      expect(r.outcome.violation!.property).toBe('kasan');
      expect(r.outcome.violation!.message).toMatch(/use-after-free in spin_lock\(ptl\(pte_table#\d+\)\)/);
    });
  }

  it('v6.6: the same replacement with pte_free_defer (RCU) is safe: the waiting locker holds RCU', () => {
    const r = expectOk(replaceUnderLocker('v6.6', 'defer'));
    expect(r.w.out.get('got')).toBe(r.w.out.get('new'));
  });

  it('a PTE read through a stale pointer to a freed table is a KASAN use-after-free', () => {
    const r = runFault({
      tasks: [{
        name: 'K',
        body: function* (w) {
          const mm = w.mm();
          const pmd = pmd_off(mm, BASE);
          yield* k.fn.pte_alloc(mm, pmd);
          const t = pmd.table!;
          pmd.table = null;
          k.fn.pte_free(mm, t); // freed at once (no RCU deferral)
          k.fn.ptep_get(t, BASE);
        },
      }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.property).toBe('kasan');
    expect(r.outcome.violation!.message).toMatch(/use-after-free in ptep_get/);
  });
});
