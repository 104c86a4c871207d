import { describe, expect, it } from 'vitest';
import { Violation, type Task } from '../../impl/rt/index.js';
import {
  raw_read_seqcount, raw_write_seqcount_begin, raw_write_seqcount_end, read_seqcount_begin, read_seqcount_retry, seqcount_t,
  spin_lock, spin_unlock, spinlock_t, write_seqcount_begin, write_seqcount_end,
} from '../../impl/sync/index.js';
import { dfs, noCrash, runOnce } from './helpers.js';

/** A pair written under a seqcount: readers must never see a torn pair. */
class Pair {
  a = 0;
  b = 0;
}

function* writer(s: seqcount_t, l: spinlock_t, p: Pair, v: number): Task<void> {
  yield* spin_lock(l);
  write_seqcount_begin(s);
  p.a = v;
  yield 'write a';
  p.b = v;
  write_seqcount_end(s);
  spin_unlock(l);
}

describe('seqcount_t', () => {
  it('readers retry on a concurrent write and never keep a torn pair', () => {
    let retries = 0;
    const r = dfs((e) => {
      const l = new spinlock_t('lock');
      const s = new seqcount_t('seq', l);
      const p = new Pair();
      e.spawn('W1', () => writer(s, l, p, 1));
      e.spawn('W2', () => writer(s, l, p, 2));
      e.spawn('R', function* () {
        for (;;) {
          const seq = yield* read_seqcount_begin(s);
          if ((seq & 1) !== 0) throw new Violation('seqcount', 'read_seqcount_begin returned an odd sequence');
          const x = p.a;
          yield 'read b';
          const y = p.b;
          if (!read_seqcount_retry(s, seq)) {
            if (x !== y) throw new Violation('torn-read', `a=${x} b=${y}`);
            return;
          }
          retries++;
        }
      });
    }, { preemptionBound: 3 });
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
    expect(retries).toBeGreaterThan(0);
  });

  it('the check catches a reader that does not retry', () => {
    const r = dfs((e) => {
      const l = new spinlock_t('lock');
      const s = new seqcount_t('seq', l);
      const p = new Pair();
      e.spawn('W', () => writer(s, l, p, 1));
      e.spawn('R', function* () {
        yield* read_seqcount_begin(s);
        const x = p.a;
        yield 'read b';
        if (x !== p.b) throw new Violation('torn-read', `a=${x} b=${p.b}`);
      });
    });
    expect(r.failures.some((o) => o.violation?.property === 'torn-read')).toBe(true);
  });

  it('write_seqcount_begin asserts the associated lock and catches concurrent writers', () => {
    const nolock = runOnce((e) => {
      const s = new seqcount_t('seq', new spinlock_t('lock'));
      e.spawn('W', function* () { yield 'x'; write_seqcount_begin(s); write_seqcount_end(s); });
    });
    expect(nolock.outcome.violation?.message).toMatch(/lockdep_assert_held\(lock\) failed/);
    const r = dfs((e) => {
      const s = new seqcount_t('seq');
      for (const n of ['W1', 'W2']) e.spawn(n, function* () { yield 'x'; write_seqcount_begin(s); yield 'w'; write_seqcount_end(s); });
    });
    expect(r.failures.some((o) => o.violation?.property === 'seqcount')).toBe(true);
  });

  it('raw variants: raw_read_seqcount may see an odd value', () => {
    const odd: number[] = [];
    dfs((e) => {
      const s = new seqcount_t('mm_lock_seq');
      e.spawn('W', function* () { yield 'x'; raw_write_seqcount_begin(s); yield 'w'; raw_write_seqcount_end(s); });
      e.spawn('R', function* () { yield 'x'; odd.push(raw_read_seqcount(s) & 1); });
    });
    expect(new Set(odd)).toEqual(new Set([0, 1]));
  });
});
