import { describe, expect, it } from 'vitest';
import { ReplayScheduler, type Execution, type Task } from '../../impl/rt/index.js';
import {
  completion, down_read, down_write, folio_lock, local_irq_disable, local_irq_enable, lockdep_assert_held, lockdep_assert_held_read,
  lockdep_assert_held_write, lockdep_assert_not_held, lockdep_describe_held, lockdep_map, lockdepHooks, mutex, mutex_lock,
  mutex_unlock, rcu_read_lock, rcu_read_unlock, rw_semaphore, rwsem_acquire, rwsem_acquire_read, rwsem_release, spin_lock,
  spin_trylock, spin_unlock, spinlock_t, synchronize_rcu, up_read, up_write, wait_event, wait_for_completion, wait_queue_head_t,
} from '../../impl/sync/index.js';
import { dfs, makeExec, noCrash, runOnce } from './helpers.js';

/** Two tasks taking A and B in opposite orders (AB-BA). */
function abba(e: Execution): void {
  const a = new spinlock_t('A');
  const b = new spinlock_t('B');
  e.spawn('T1', function* () { yield* spin_lock(a); yield* spin_lock(b); spin_unlock(b); spin_unlock(a); });
  e.spawn('T2', function* () { yield* spin_lock(b); yield* spin_lock(a); spin_unlock(a); spin_unlock(b); });
}

describe('lockdep', () => {
  it('reports an AB-BA inversion on a schedule that did not deadlock (T1 runs to completion first)', () => {
    const { outcome, exec } = runOnce(abba);
    expect(outcome.status).toBe('violation');
    const v = outcome.violation!;
    expect(v.property).toBe('lockdep');
    expect(v.taskName).toBe('T2');
    // T1 finished: no deadlock happened in this schedule.
    expect(exec.tasks[0]!.done).toBe(true);
    const text = v.report.join('\n');
    expect(v.report).toContain('WARNING: possible circular locking dependency detected');
    expect(text).toContain('T2/1 is trying to acquire lock:\n (A) A, at: spin_lock');
    expect(text).toContain('but task is already holding lock:\n (B) B');
    // The existing chain: T1 took B while holding A.
    expect(text).toMatch(/-> #1 \(B\):\n {7}T1\/0: spin_lock B \(step \d+\) while holding A/);
    expect(text).toMatch(/-> #0 \(A\):\n {7}T2\/1: spin_lock A/);
    expect(text).toContain('*** DEADLOCK ***');
    expect(v.message).toMatch(/existing chain A -> B -> A/);
  });

  it('every schedule of AB-BA is flagged by lockdep before it can deadlock', () => {
    const r = dfs(abba);
    noCrash(r.outcomes);
    expect(r.complete).toBe(true);
    expect(r.outcomes.every((o) => o.violation?.property === 'lockdep')).toBe(true);
  });

  it('with lockdep off, the deadlock detector reports the AB-BA wait-for cycle; the schedule replays', () => {
    const r = dfs(abba, { lockdep: false });
    noCrash(r.outcomes);
    const dead = r.failures.filter((o) => o.violation?.property === 'deadlock');
    expect(dead.length).toBeGreaterThan(0);
    expect(r.outcomes.some((o) => o.status === 'ok')).toBe(true);
    const d = dead[0]!;
    expect(d.violation!.message).toMatch(/wait-for cycle (T1#0 -> T2#1 -> T1#0|T2#1 -> T1#0 -> T2#1)/);
    expect(d.violation!.report.join('\n')).toMatch(/T1#0 blocked in spin_lock on B \(held by T2#1\)/);
    // Replay round-trip: schedule string → replay → same verdict and same trace.
    const run = (sched: string) => {
      const exec = makeExec(new ReplayScheduler(sched, true), abba, { lockdep: false, trace: true });
      return { o: exec.run(), trace: exec.trace };
    };
    const a = run(d.schedule);
    const b = run(a.o.schedule);
    expect(a.o.violation?.message).toBe(d.violation!.message);
    expect(b.o.schedule).toBe(d.schedule);
    expect(b.trace).toEqual(a.trace);
  });

  it('a trylock adds no dependency', () => {
    const r = dfs((e) => {
      const a = new spinlock_t('A');
      const b = new spinlock_t('B');
      e.spawn('T1', function* () { yield* spin_lock(a); if (yield* spin_trylock(b)) spin_unlock(b); spin_unlock(a); });
      e.spawn('T2', function* () { yield* spin_lock(b); yield* spin_lock(a); spin_unlock(a); spin_unlock(b); });
    });
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
  });

  it('finds a three-lock cycle across three tasks that never overlap', () => {
    const { outcome } = runOnce((e) => {
      const [a, b, c] = [new mutex('A'), new mutex('B'), new mutex('C')];
      const pair = (x: mutex, y: mutex) => function* (): Task<void> {
        yield* mutex_lock(x); yield* mutex_lock(y); mutex_unlock(y); mutex_unlock(x);
      };
      e.spawn('T1', pair(a, b));
      e.spawn('T2', pair(b, c));
      e.spawn('T3', pair(c, a));
    });
    const text = outcome.violation!.report.join('\n');
    expect(outcome.violation!.taskName).toBe('T3');
    expect(text).toContain('Chain exists of:\n  A --> B --> C --> A');
    expect(text).toMatch(/-> #2 \(C\):\n {7}T2\/1: mutex_lock C/);
    expect(text).toMatch(/-> #1 \(B\):\n {7}T1\/0: mutex_lock B/);
  });

  it('mmap_lock vs vma lock order across read and write acquisitions', () => {
    const { outcome } = runOnce((e) => {
      const mm = new rw_semaphore('mm->mmap_lock', 'mmap_lock');
      const vma = new rw_semaphore('vma->vm_lock', 'vma_lock');
      e.spawn('munmap', function* () { yield* down_write(mm); yield* down_write(vma); up_write(vma); up_write(mm); });
      e.spawn('fault', function* () { yield* down_read(vma); yield* down_read(mm); up_read(mm); up_read(vma); });
    });
    expect(outcome.violation?.message).toMatch(/possible circular locking dependency detected: fault\/1 acquires mmap_lock/);
  });

  it('lockdep_map: a read trylock (vma_start_read) adds no edge, rwsem_acquire_read does', () => {
    // writer: vm_lock then mmap_lock; reader: mmap_lock then the vma read lock (try or not).
    const build = (tryRead: boolean) => (e: Execution) => {
      const mm = new rw_semaphore('mm->mmap_lock', 'mmap_lock');
      const map = new lockdep_map('vma#1->vm_lock', 'vm_lock');
      e.spawn('writer', function* () {
        yield 'x';
        rwsem_acquire(map, 0, false, 'vma_start_write');
        yield* down_write(mm);
        up_write(mm);
        rwsem_release(map, 'vma_end_write');
      });
      e.spawn('reader', function* () {
        yield* down_read(mm);
        rwsem_acquire_read(map, 0, tryRead, 'vma_start_read');
        rwsem_release(map, 'vma_end_read');
        up_read(mm);
      });
    };
    expect(runOnce(build(true)).outcome.status).toBe('ok');
    expect(runOnce(build(false)).outcome.violation?.message).toMatch(/circular locking dependency detected: reader\/1 acquires vm_lock/);
  });

  it('bad unlock balance of a lockdep map', () => {
    const { outcome } = runOnce((e) => {
      const map = new lockdep_map('vm_lock');
      e.spawn('T', function* () { yield 'x'; rwsem_release(map, 'vma_end_read'); });
    });
    expect(outcome.violation?.report).toContain('WARNING: bad unlock balance detected!');
    expect(outcome.violation?.report).toContain('T/0 is trying to release lock (vm_lock) at:');
  });

  it('lock held when returning to user space, with lockdep on and off', () => {
    for (const lockdep of [true, false]) {
      const { outcome } = runOnce((e) => {
        const mm = new rw_semaphore('mmap_lock');
        e.spawn('T', function* () { yield* down_read(mm); });
      }, { lockdep });
      expect(outcome.violation?.report).toContain('WARNING: lock held when returning to user space!');
      expect(outcome.violation?.report).toContain('T/0 is leaving the kernel with locks still held!');
    }
    const { outcome } = runOnce((e) => {
      e.spawn('T', function* () { rcu_read_lock(); yield 'x'; });
    });
    expect(outcome.violation?.report.join('\n')).toMatch(/rcu_read_lock \(nesting 1\)/);
  });

  describe('might_sleep', () => {
    const sleepers: [string, (sem: rw_semaphore) => Task<void>][] = [
      ['down_read', (s) => down_read(s)],
      ['down_write', (s) => down_write(s)],
      ['mutex_lock', () => mutex_lock(new mutex('M'))],
      ['wait_for_completion', () => (function* () { const c = new completion(); c.done = 1; yield* wait_for_completion(c); })()],
      ['synchronize_rcu', () => synchronize_rcu()],
      ['wait_event', () => wait_event(new wait_queue_head_t(), () => true)],
      ['folio_lock', () => folio_lock({ name: 'folio#1', lockOwner: -1 })],
    ];
    for (const [name, sleep] of sleepers) {
      it(`${name} inside rcu_read_lock is a sleeping-in-atomic bug`, () => {
        const { outcome } = runOnce((e) => {
          const s = new rw_semaphore('mmap_lock');
          e.spawn('T', function* () { rcu_read_lock(); yield 'x'; yield* sleep(s); });
        });
        expect(outcome.violation?.property).toBe('might_sleep');
        expect(outcome.violation?.report[0]).toBe(`BUG: sleeping function called from invalid context at ${name}`);
        expect(outcome.violation?.report).toContain('RCU nest depth: 1, expected: 0');
      });
    }
    it('with IRQs disabled', () => {
      const { outcome } = runOnce((e) => {
        const s = new rw_semaphore('mmap_lock');
        e.spawn('T', function* () { local_irq_disable(); yield* down_read(s); up_read(s); local_irq_enable(); });
      });
      expect(outcome.violation?.report.join('\n')).toMatch(/irqs_disabled\(\): 1/);
    });
    it('no report for a sleeping lock outside atomic context', () => {
      const { outcome } = runOnce((e) => {
        const s = new rw_semaphore('mmap_lock');
        e.spawn('T', function* () { rcu_read_lock(); yield 'x'; rcu_read_unlock(); yield* down_read(s); up_read(s); });
      });
      expect(outcome.status).toBe('ok');
    });
  });

  it('lockdep_assert_held* use the locks themselves, so they stay on with lockdep off', () => {
    for (const lockdep of [true, false]) {
      const ok = runOnce((e) => {
        const mm = new rw_semaphore('mmap_lock');
        const ptl = new spinlock_t('ptl');
        const map = new lockdep_map('vm_lock');
        e.spawn('T', function* () {
          lockdep_assert_not_held(mm);
          yield* down_read(mm);
          lockdep_assert_held(mm);
          lockdep_assert_held_read(mm);
          yield* spin_lock(ptl);
          lockdep_assert_held_write(ptl);
          rwsem_acquire_read(map, 0, true, 'vma_start_read');
          lockdep_assert_held_read(map);
          rwsem_release(map, 'vma_end_read');
          spin_unlock(ptl);
          up_read(mm);
        });
      }, { lockdep });
      expect(ok.outcome.status).toBe('ok');
      const bad = runOnce((e) => {
        const mm = new rw_semaphore('mmap_lock');
        e.spawn('T', function* () { yield* down_read(mm); lockdep_assert_held_write(mm); });
      }, { lockdep });
      expect(bad.outcome.violation?.message).toMatch(/lockdep_assert_held_write\(mmap_lock\) failed in T\/0/);
    }
  });

  it('lockdep_describe_held feeds the trace held column', () => {
    let seen = '';
    const exec = makeExec(new ReplayScheduler('v1:'), (e) => {
      const mm = new rw_semaphore('mmap_lock');
      const ptl = new spinlock_t('ptl');
      e.spawn('T', function* () {
        yield* down_read(mm);
        rcu_read_lock();
        yield* spin_lock(ptl);
        seen = lockdep_describe_held(e.tasks[0]!);
        yield 'do_anonymous_page:set_pte_at';
        spin_unlock(ptl);
        rcu_read_unlock();
        up_read(mm);
      });
    }, { trace: true, hooks: lockdepHooks });
    expect(exec.run().status).toBe('ok');
    expect(seen).toBe('mmap_lock(R) ptl rcu');
    expect(exec.trace.find((t) => t.label === 'do_anonymous_page:set_pte_at')?.held).toBe('mmap_lock(R) ptl rcu');
  });
});
