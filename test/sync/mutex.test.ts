import { describe, expect, it } from 'vitest';
import { Violation } from '../../impl/rt/index.js';
import { EINTR, mutex, mutex_lock, mutex_lock_killable, mutex_trylock, mutex_unlock, send_sig_kill } from '../../impl/sync/index.js';
import { dfs, noCrash, runOnce } from './helpers.js';

describe('mutex', () => {
  it('mutual exclusion over every schedule (3 tasks, lock and trylock)', () => {
    const r = dfs((e) => {
      const m = new mutex('uffd_mutex');
      let inside = 0;
      for (const n of ['A', 'B']) {
        e.spawn(n, function* () {
          yield* mutex_lock(m);
          if (++inside > 1) throw new Violation('mutual-exclusion', 'two owners');
          yield 'cs';
          inside--;
          mutex_unlock(m);
        });
      }
      e.spawn('T', function* () {
        if (!(yield* mutex_trylock(m))) return;
        if (++inside > 1) throw new Violation('mutual-exclusion', 'two owners');
        yield 'cs';
        inside--;
        mutex_unlock(m);
      });
    });
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
  });

  it('mutex_unlock by a non-owner: bad unlock balance', () => {
    const { outcome } = runOnce((e) => {
      const m = new mutex('M');
      e.spawn('A', function* () { yield* mutex_lock(m); yield 'x'; yield 'x'; });
      e.spawn('B', function* () { yield 'x'; mutex_unlock(m); });
    }, {}, 'v1:2t1');
    expect(outcome.violation?.report).toContain('B/1 is trying to release lock (M) at:');
  });

  it('mutex_lock_killable: -EINTR on SIGKILL while waiting', () => {
    let ret = 1;
    runOnce((e) => {
      const m = new mutex('M');
      e.spawn('A', function* () { yield* mutex_lock(m); yield 'x'; yield 'x'; yield 'x'; mutex_unlock(m); });
      const b = e.spawn('B', function* () { ret = yield* mutex_lock_killable(m); if (ret === 0) mutex_unlock(m); });
      e.spawn('K', function* () { yield 'x'; send_sig_kill(b); });
    }, {}, 'v1:2t1.6t1');
    expect(ret).toBe(-EINTR);
  });
});
