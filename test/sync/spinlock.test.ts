import { describe, expect, it } from 'vitest';
import { block, current, Violation, type Task } from '../../impl/rt/index.js';
import {
  assert_spin_locked, rcu_read_lock, rcu_read_unlock, spin_lock, spin_lock_nested, spin_trylock,
  spin_unlock, spinlock_t, SINGLE_DEPTH_NESTING, down_read, rw_semaphore, up_read,
} from '../../impl/sync/index.js';
import { dfs, noCrash, runOnce } from './helpers.js';

/** A critical section that fails the run if two tasks are ever inside together. */
function* cs(inside: { n: number }, steps = 2): Task<void> {
  if (++inside.n > 1) throw new Violation('mutual-exclusion', `${inside.n} tasks in the critical section`);
  for (let i = 0; i < steps; i++) yield 'cs';
  inside.n--;
}

/** A broken spin_lock: test, yield, then set (a TOCTOU race between check and take). */
function* broken_spin_lock(l: spinlock_t): Task<void> {
  yield block('broken_spin_lock', () => l.owner === -1, l);
  yield 'broken_spin_lock:cmpxchg-missing';
  l.owner = current().id;
}

describe('spin_lock', () => {
  it('mutual exclusion over every schedule of 3 tasks', () => {
    const r = dfs((e) => {
      const l = new spinlock_t('L');
      const inside = { n: 0 };
      for (const n of ['A', 'B', 'C']) e.spawn(n, function* () { yield* spin_lock(l); yield* cs(inside); spin_unlock(l); });
    });
    noCrash(r.outcomes);
    expect(r.complete).toBe(true);
    expect(r.executions).toBeGreaterThan(10);
    expect(r.failures).toEqual([]);
  });

  it('the check catches a broken lock (test-then-set race)', () => {
    const r = dfs((e) => {
      const l = new spinlock_t('L');
      const inside = { n: 0 };
      for (const n of ['A', 'B']) e.spawn(n, function* () { yield* broken_spin_lock(l); yield* cs(inside); l.owner = -1; });
    }, { hooks: {} });
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.failures[0]!.violation!.property).toBe('mutual-exclusion');
  });

  it('spin_trylock fails while held and succeeds once free', () => {
    const got: boolean[] = [];
    const r = dfs((e) => {
      const l = new spinlock_t('L');
      e.spawn('A', function* () { yield* spin_lock(l); yield 'cs'; spin_unlock(l); });
      e.spawn('B', function* () { const ok = yield* spin_trylock(l); got.push(ok); if (ok) spin_unlock(l); });
    });
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
    expect(new Set(got)).toEqual(new Set([true, false]));
  });

  it('spin_lock_nested: two ptl instances in subclass order are fine', () => {
    const { outcome } = runOnce((e) => {
      const a = new spinlock_t('ptl#1', 'ptl');
      const b = new spinlock_t('ptl#2', 'ptl');
      e.spawn('mremap', function* () {
        yield* spin_lock(a);
        yield* spin_lock_nested(b, SINGLE_DEPTH_NESTING);
        spin_unlock(b);
        spin_unlock(a);
      });
    });
    expect(outcome.status).toBe('ok');
  });

  it('two instances of one class without nesting annotation: possible recursive locking', () => {
    const { outcome } = runOnce((e) => {
      const a = new spinlock_t('ptl#1', 'ptl');
      const b = new spinlock_t('ptl#2', 'ptl');
      e.spawn('mremap', function* () { yield* spin_lock(a); yield* spin_lock(b); spin_unlock(b); spin_unlock(a); });
    });
    expect(outcome.violation?.property).toBe('lockdep');
    expect(outcome.violation?.report).toContain('WARNING: possible recursive locking detected');
  });

  it('spin_unlock of an unheld lock: bad unlock balance', () => {
    for (const lockdep of [true, false]) {
      const { outcome } = runOnce((e) => {
        const l = new spinlock_t('L');
        e.spawn('A', function* () { yield 'x'; spin_unlock(l); });
      }, { lockdep });
      expect(outcome.violation?.property).toBe('lockdep');
      expect(outcome.violation?.report).toContain('WARNING: bad unlock balance detected!');
    }
  });

  it('a task ending with a spinlock held is reported', () => {
    const { outcome } = runOnce((e) => {
      const l = new spinlock_t('L');
      e.spawn('A', function* () { yield* spin_lock(l); });
    });
    expect(outcome.violation?.property).toBe('lockdep');
    expect(outcome.violation?.report).toContain('WARNING: lock held when returning to user space!');
    expect(outcome.violation?.report.join('\n')).toMatch(/#0: L/);
  });

  it('sleeping under a spinlock: might_sleep', () => {
    const { outcome } = runOnce((e) => {
      const l = new spinlock_t('ptl');
      const sem = new rw_semaphore('mmap_lock');
      e.spawn('A', function* () { yield* spin_lock(l); yield* down_read(sem); up_read(sem); spin_unlock(l); });
    });
    expect(outcome.violation?.property).toBe('might_sleep');
    expect(outcome.violation?.report[0]).toBe('BUG: sleeping function called from invalid context at down_read');
    expect(outcome.violation?.report).toContain('preempt_count: 1, expected: 0');
  });

  it('spinlocks may be taken inside an RCU read-side section (they do not sleep)', () => {
    const { outcome } = runOnce((e) => {
      const l = new spinlock_t('ptl');
      e.spawn('A', function* () { rcu_read_lock(); yield* spin_lock(l); spin_unlock(l); rcu_read_unlock(); });
    });
    expect(outcome.status).toBe('ok');
  });

  it('assert_spin_locked', () => {
    const { outcome } = runOnce((e) => {
      const l = new spinlock_t('ptl');
      e.spawn('A', function* () { yield* spin_lock(l); assert_spin_locked(l); spin_unlock(l); yield 'x'; assert_spin_locked(l); });
    });
    expect(outcome.violation?.message).toMatch(/assert_spin_locked\(ptl\) failed/);
  });

  it('AA on one spinlock with lockdep off: the deadlock detector reports the self-wait', () => {
    const { outcome } = runOnce((e) => {
      const l = new spinlock_t('L');
      e.spawn('A', function* () { yield* spin_lock(l); yield* spin_lock(l); });
    }, { lockdep: false });
    expect(outcome.violation?.property).toBe('deadlock');
    expect(outcome.violation?.message).toMatch(/wait-for cycle A#0 -> A#0/);
  });
});
