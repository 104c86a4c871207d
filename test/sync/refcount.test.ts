import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Violation, type Task } from '../../impl/rt/index.js';
import {
  __refcount_dec_and_test, __refcount_inc_not_zero_limited_acquire, kasan_check_read, kfree, kmem_cache_create, refcount_add,
  refcount_add_not_zero, refcount_dec, refcount_dec_and_test, refcount_inc, refcount_inc_not_zero, refcount_read, refcount_set,
  refcount_sub_and_test, refcount_t, sim_kmem_cache_alloc_fresh,
} from '../../impl/sync/index.js';
import { dfs, noCrash, runOnce } from './helpers.js';

interface Obj { readonly name: string; readonly ref: refcount_t }
const cache = kmem_cache_create<Obj>('refobj', () => ({ name: 'refobj', ref: new refcount_t(1, 'refobj->ref') }));

describe('refcount_t', () => {
  it('sequential laws against an integer model (fast-check)', () => {
    type Op = { k: 'inc' } | { k: 'inc_not_zero' } | { k: 'add_not_zero'; i: number } | { k: 'dec_and_test' } | { k: 'sub_and_test'; i: number };
    const op = fc.oneof(
      fc.constant<Op>({ k: 'inc' }), fc.constant<Op>({ k: 'inc_not_zero' }), fc.constant<Op>({ k: 'dec_and_test' }),
      fc.integer({ min: 1, max: 3 }).map<Op>((i) => ({ k: 'add_not_zero', i })),
      fc.integer({ min: 1, max: 3 }).map<Op>((i) => ({ k: 'sub_and_test', i })),
    );
    fc.assert(fc.property(fc.integer({ min: 0, max: 4 }), fc.array(op, { maxLength: 30 }), (n0, ops) => {
      const r = new refcount_t(n0);
      let m = n0;
      for (const o of ops) {
        const bad = (o.k === 'inc' && m === 0) || (o.k === 'dec_and_test' && m === 0) || (o.k === 'sub_and_test' && m - o.i < 0);
        if (bad) {
          expect(() => {
            if (o.k === 'inc') refcount_inc(r);
            else if (o.k === 'dec_and_test') refcount_dec_and_test(r);
            else if (o.k === 'sub_and_test') refcount_sub_and_test(o.i, r);
          }).toThrow(Violation);
          return;
        }
        switch (o.k) {
          case 'inc': refcount_inc(r); m++; break;
          case 'inc_not_zero': expect(refcount_inc_not_zero(r)).toBe(m !== 0); if (m !== 0) m++; break;
          case 'add_not_zero': expect(refcount_add_not_zero(o.i, r)).toBe(m !== 0); if (m !== 0) m += o.i; break;
          case 'dec_and_test': m--; expect(refcount_dec_and_test(r)).toBe(m === 0); break;
          case 'sub_and_test': m -= o.i; expect(refcount_sub_and_test(o.i, r)).toBe(m === 0); break;
        }
        expect(refcount_read(r)).toBe(m);
      }
    }), { seed: 42, numRuns: 300 });
  });

  it('refcount_dec_and_test: exactly one of the concurrent last puts sees zero', () => {
    const r = dfs((e) => {
      const ref = new refcount_t(3);
      let zeros = 0;
      let ended = 0;
      for (const n of ['A', 'B', 'C']) {
        e.spawn(n, function* () {
          yield 'put';
          if (refcount_dec_and_test(ref)) zeros++;
          if (++ended === 3 && zeros !== 1) throw new Violation('refcount-law', `${zeros} tasks saw zero`);
        });
      }
    });
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
  });

  /* A lookup takes a reference on an object whose owner may drop the last one concurrently. */
  function lookup(get: (r: refcount_t) => boolean) {
    return dfs((e) => {
      const o = sim_kmem_cache_alloc_fresh(cache, 'alloc', e);
      const put = (site: string) => { if (refcount_dec_and_test(o.ref)) kfree(o, site); };
      e.spawn('owner', function* () { yield 'put'; put('owner:put'); });
      e.spawn('lookup', function* (): Task<void> {
        yield 'get';
        if (!get(o.ref)) return;
        yield 'use';
        kasan_check_read(o, 'lookup:use');
        put('lookup:put');
      });
    });
  }

  it('refcount_inc_not_zero: a lookup never uses a dying object', () => {
    const r = lookup(refcount_inc_not_zero);
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
  });

  it('refcount_inc on 0 is caught: "refcount_t: addition on 0; use-after-free."', () => {
    const r = lookup((ref) => { refcount_inc(ref); return true; });
    const v = r.failures.find((o) => o.violation?.property === 'refcount')?.violation;
    expect(v?.report).toContain('refcount_t: addition on 0; use-after-free.');
  });

  it('underflow and decrement-to-zero are caught', () => {
    const under = runOnce((e) => { const r = new refcount_t(1); e.spawn('T', function* () { yield 'x'; refcount_dec_and_test(r); refcount_dec_and_test(r); }); });
    expect(under.outcome.violation?.report).toContain('refcount_t: underflow; use-after-free.');
    const leak = runOnce((e) => { const r = new refcount_t(1); e.spawn('T', function* () { yield 'x'; refcount_dec(r); }); });
    expect(leak.outcome.violation?.report).toContain('refcount_t: decrement hit 0; leaking memory.');
    const add = runOnce((e) => { const r = new refcount_t(0); e.spawn('T', function* () { yield 'x'; refcount_add(2, r); }); });
    expect(add.outcome.violation?.report).toContain('refcount_t: addition on 0; use-after-free.');
  });

  it('__refcount_inc_not_zero_limited_acquire and __refcount_dec_and_test', () => {
    const r = new refcount_t(0);
    expect(__refcount_inc_not_zero_limited_acquire(r, 5)).toEqual({ ok: false, old: 0 });
    refcount_set(r, 5);
    expect(__refcount_inc_not_zero_limited_acquire(r, 5)).toEqual({ ok: false, old: 5 });
    refcount_set(r, 4);
    expect(__refcount_inc_not_zero_limited_acquire(r, 5)).toEqual({ ok: true, old: 4 });
    expect(refcount_read(r)).toBe(5);
    refcount_set(r, 1);
    expect(__refcount_dec_and_test(r)).toEqual({ zero: true, old: 1 });
  });
});
