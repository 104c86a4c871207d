import { describe, expect, it } from 'vitest';
import { Violation, type Task } from '../../impl/rt/index.js';
import {
  complete, complete_all, completion, DEFINE_WAIT, ERESTARTSYS, finish_wait, prepare_to_wait, prepare_to_wait_exclusive, rcuwait,
  rcuwait_wait_event, rcuwait_wake_up, schedule, send_sig_kill, TASK_UNINTERRUPTIBLE, wait_event, wait_event_killable,
  wait_for_completion, wait_queue_head_t, wake_up, wake_up_all, spin_lock, spin_unlock, spinlock_t, TASK_KILLABLE, EINTR,
} from '../../impl/sync/index.js';
import { dfs, noCrash, runOnce } from './helpers.js';

describe('completion', () => {
  it('wait_for_completion never passes before complete()', () => {
    const r = dfs((e) => {
      const c = new completion('done');
      let completed = false;
      e.spawn('waiter', function* () {
        yield* wait_for_completion(c);
        if (!completed) throw new Violation('completion', 'passed before complete()');
      });
      e.spawn('completer', function* () { yield 'work'; yield 'work'; completed = true; complete(c); });
    });
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
  });

  it('complete() releases one waiter (the other hangs: deadlock), complete_all() releases all', () => {
    const one = dfs((e) => {
      const c = new completion();
      for (const n of ['W1', 'W2']) e.spawn(n, () => wait_for_completion(c));
      e.spawn('C', function* () { yield 'x'; complete(c); });
    });
    expect(one.outcomes.every((o) => o.violation?.property === 'deadlock')).toBe(true);
    const all = dfs((e) => {
      const c = new completion();
      for (const n of ['W1', 'W2']) e.spawn(n, () => wait_for_completion(c));
      e.spawn('C', function* () { yield 'x'; complete_all(c); });
    });
    expect(all.failures).toEqual([]);
  });
});

/** A waker sets the condition and wakes the queue. */
function* waker(wq: wait_queue_head_t, flag: { set: boolean }): Task<void> {
  yield 'set condition';
  flag.set = true;
  wake_up(wq);
}

describe('wait_event', () => {
  it('never loses a wake-up: every schedule terminates', () => {
    const r = dfs((e) => {
      const wq = new wait_queue_head_t('wq');
      const flag = { set: false };
      e.spawn('sleeper', () => wait_event(wq, () => flag.set));
      e.spawn('waker', () => waker(wq, flag));
    });
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
  });

  it('prepare_to_wait / re-check / schedule / finish_wait never hangs either', () => {
    const r = dfs((e) => {
      const wq = new wait_queue_head_t('wq');
      const flag = { set: false };
      e.spawn('sleeper', function* () {
        yield 'check';
        const w = DEFINE_WAIT();
        for (;;) {
          prepare_to_wait(wq, w, TASK_UNINTERRUPTIBLE);
          if (flag.set) break;
          yield* schedule();
        }
        finish_wait(wq, w);
      });
      e.spawn('waker', () => waker(wq, flag));
    });
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
  });

  it('a lost wake-up (check, then enqueue and sleep without re-checking) really hangs', () => {
    const r = dfs((e) => {
      const wq = new wait_queue_head_t('wq');
      const flag = { set: false };
      e.spawn('sleeper', function* () {
        yield 'check';
        if (flag.set) return;
        yield 'about to sleep';
        const w = DEFINE_WAIT();
        prepare_to_wait(wq, w, TASK_UNINTERRUPTIBLE);
        yield* schedule();
        finish_wait(wq, w);
      });
      e.spawn('waker', () => waker(wq, flag));
    });
    noCrash(r.outcomes);
    const hang = r.failures.find((o) => o.violation?.property === 'deadlock');
    expect(hang?.violation?.message).toMatch(/no runnable task, 1 blocked: sleeper#0@schedule/);
    expect(r.outcomes.some((o) => o.status === 'ok')).toBe(true);
  });

  it('schedule() with a spinlock held: scheduling while atomic', () => {
    const { outcome } = runOnce((e) => {
      const l = new spinlock_t('L');
      e.spawn('T', function* () { yield* spin_lock(l); yield* schedule(); spin_unlock(l); });
    });
    expect(outcome.violation?.report[0]).toBe('BUG: scheduling while atomic at schedule');
  });

  it('wake_up wakes one exclusive waiter, wake_up_all all of them', () => {
    const build = (all: boolean) => (e: import('../../impl/rt/index.js').Execution) => {
      const wq = new wait_queue_head_t('wq');
      for (const n of ['A', 'B']) {
        e.spawn(n, function* () {
          const w = DEFINE_WAIT();
          prepare_to_wait_exclusive(wq, w, TASK_UNINTERRUPTIBLE);
          yield* schedule();
          finish_wait(wq, w);
        });
      }
      e.spawn('waker', function* () { yield 'x'; yield 'x'; if (all) wake_up_all(wq); else wake_up(wq); });
    };
    const one = runOnce(build(false));
    expect(one.outcome.violation?.message).toMatch(/1 blocked: B#1@schedule/);
    expect(runOnce(build(true)).outcome.status).toBe('ok');
  });

  it('wait_event_killable returns -ERESTARTSYS on SIGKILL', () => {
    let ret = 0;
    const { outcome } = runOnce((e) => {
      const wq = new wait_queue_head_t('wq');
      const t = e.spawn('sleeper', function* () { ret = yield* wait_event_killable(wq, () => false); });
      e.spawn('killer', function* () { yield 'x'; send_sig_kill(t); });
    });
    expect(outcome.status).toBe('ok');
    expect(ret).toBe(-ERESTARTSYS);
  });
});

describe('rcuwait', () => {
  // vma_start_write (6.15) waits for readers to drain; each reader's put wakes it.
  function drain(wake: boolean) {
    return dfs((e) => {
      const w = new rcuwait('mm->vma_writer_wait');
      const readers = { n: 2 };
      e.spawn('writer', function* () {
        const ret = yield* rcuwait_wait_event(w, () => readers.n === 0, TASK_UNINTERRUPTIBLE);
        if (ret !== 0 || readers.n !== 0) throw new Violation('rcuwait', 'woke with readers left');
      });
      for (const n of ['R1', 'R2']) e.spawn(n, function* () { yield 'vma_end_read'; readers.n--; if (wake) rcuwait_wake_up(w); });
    });
  }
  it('rcuwait_wait_event / rcuwait_wake_up: the writer always wakes once readers drained', () => {
    const r = drain(true);
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
  });
  it('a reader that forgets rcuwait_wake_up leaves the writer asleep', () => {
    const r = drain(false);
    expect(r.failures.some((o) => o.violation?.message.includes('writer#0@schedule'))).toBe(true);
  });
  it('killable: -EINTR', () => {
    let ret = 0;
    runOnce((e) => {
      const w = new rcuwait();
      const t = e.spawn('writer', function* () { ret = yield* rcuwait_wait_event(w, () => false, TASK_KILLABLE); });
      e.spawn('killer', function* () { yield 'x'; send_sig_kill(t); });
    });
    expect(ret).toBe(-EINTR);
  });
});
