import { describe, expect, it } from 'vitest';
import { Violation, type Task } from '../../impl/rt/index.js';
import {
  down_read, EINTR, folio_lock, folio_lock_killable, folio_test_locked, folio_trylock, folio_unlock, folio_wait_locked,
  rw_semaphore, send_sig_kill, up_read, type sim_lockable_folio,
} from '../../impl/sync/index.js';
import { dfs, noCrash, runOnce } from './helpers.js';

const mkfolio = (name = 'folio#1'): sim_lockable_folio => ({ name, lockOwner: -1 });

describe('folio_lock', () => {
  it('mutual exclusion over every schedule', () => {
    const r = dfs((e) => {
      const f = mkfolio();
      let inside = 0;
      for (const n of ['A', 'B', 'C']) {
        e.spawn(n, function* () {
          yield* folio_lock(f);
          if (++inside > 1) throw new Violation('mutual-exclusion', 'two holders');
          yield 'locked';
          inside--;
          folio_unlock(f);
        });
      }
    });
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
  });

  it('I/O completion may unlock a folio the submitter locked; a task may return with it locked', () => {
    const r = dfs((e) => {
      const f = mkfolio();
      e.spawn('reader', function* () {
        yield* folio_lock(f);
        yield 'submit_bio';
      });
      e.spawn('end_io', function* () {
        yield 'bio_endio';
        if (folio_test_locked(f)) folio_unlock(f);
      });
      e.spawn('waiter', function* () { yield* folio_wait_locked(f); if (folio_test_locked(f)) throw new Violation('x', 'still locked'); });
    });
    noCrash(r.outcomes);
    expect(r.failures.filter((o) => o.violation?.property !== 'deadlock')).toEqual([]);
  });

  it('folio_unlock of an unlocked folio: VM_BUG_ON_FOLIO', () => {
    const { outcome } = runOnce((e) => {
      const f = mkfolio();
      e.spawn('T', function* () { yield* folio_lock(f); folio_unlock(f); yield 'x'; folio_unlock(f); });
    });
    expect(outcome.violation?.property).toBe('VM_BUG_ON');
    expect(outcome.violation?.message).toMatch(/VM_BUG_ON_FOLIO\(!folio_test_locked\(folio\)\)/);
  });

  it('folio_trylock and folio_lock_killable', () => {
    const got: (boolean | number)[] = [];
    runOnce((e) => {
      const f = mkfolio();
      e.spawn('holder', function* () { yield* folio_lock(f); yield 'hold'; yield 'hold'; yield 'hold'; folio_unlock(f); });
      const k = e.spawn('killable', function* (): Task<void> {
        got.push(yield* folio_trylock(f));
        got.push(yield* folio_lock_killable(f));
      });
      e.spawn('killer', function* () { yield 'kill'; send_sig_kill(k); });
    }, {}, 'v1:2t1.6t1');
    expect(got).toEqual([false, -EINTR]);
  });

  it('lockdep orders folio_lock against other classes (folio lock inside mmap_lock)', () => {
    const { outcome } = runOnce((e) => {
      const mm = new rw_semaphore('mmap_lock');
      const f = mkfolio();
      e.spawn('fault', function* () { yield* down_read(mm); yield* folio_lock(f); folio_unlock(f); up_read(mm); });
      e.spawn('bad', function* () { yield* folio_lock(f); yield* down_read(mm); up_read(mm); folio_unlock(f); });
    });
    expect(outcome.violation?.message).toMatch(/circular locking dependency detected: bad\/1 acquires mmap_lock .* while holding folio_lock/);
  });

  it('two folios locked together are not recursive locking (nestable class); the same folio twice is', () => {
    const two = runOnce((e) => {
      const [a, b] = [mkfolio('folio#1'), mkfolio('folio#2')];
      e.spawn('T', function* () { yield* folio_lock(a); yield* folio_lock(b); folio_unlock(b); folio_unlock(a); });
    });
    expect(two.outcome.status).toBe('ok');
    const same = runOnce((e) => {
      const a = mkfolio();
      e.spawn('T', function* () { yield* folio_lock(a); yield* folio_lock(a); });
    });
    expect(same.outcome.violation?.report).toContain('WARNING: possible recursive locking detected');
  });
});
