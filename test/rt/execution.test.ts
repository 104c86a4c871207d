import { describe, expect, it } from 'vitest';
import {
  choose, current, DfsStrategy, Execution, explore, RandomScheduler, ReplayScheduler, step, Violation,
  waitUntil, type Task,
} from '../../impl/rt/index.js';
import { labels, Lock, lock, runOnce, unlock } from './helpers.js';

/** AB-BA: A takes L1 then L2, B takes L2 then L1. */
function abba(e: Execution): void {
  const l1 = new Lock('L1');
  const l2 = new Lock('L2');
  e.spawn('A', function* () { yield* lock(l1); yield* lock(l2); yield* unlock(l2); yield* unlock(l1); });
  e.spawn('B', function* () { yield* lock(l2); yield* lock(l1); yield* unlock(l1); yield* unlock(l2); });
}

describe('Execution', () => {
  it('runs a task of k yields in k + 1 steps, keeping the current task by default', () => {
    const exec = runOnce(new ReplayScheduler('v1:'), (e) => {
      e.spawn('A', () => labels(2, 'a'));
      e.spawn('B', () => labels(1, 'b'));
    });
    const o = exec.run();
    expect(o).toMatchObject({ status: 'ok', steps: 5, preemptions: 0, schedule: 'v1:' });
    expect(exec.trace.map((t) => `${t.task}:${t.label}`)).toEqual(['0:start', '0:a0', '0:a1', '1:start', '1:b0']);
  });

  it('reports an AB-BA deadlock with its wait-for cycle', () => {
    // A takes L1 (steps 0-1), B preempts and takes L2 (steps 2-3): both block on the other's lock.
    const exec = runOnce(new ReplayScheduler('v1:2t1'), abba);
    const o = exec.run();
    expect(o.status).toBe('violation');
    expect(o.violation).toMatchObject({ property: 'deadlock', message: 'deadlock: wait-for cycle A#0 -> B#1 -> A#0' });
    expect(o.violation!.report).toEqual([
      'INFO: task blocked forever (deadlock):',
      '  A#0 blocked in lock L2 on L2 (held by B#1)',
      '  B#1 blocked in lock L1 on L1 (held by A#0)',
    ]);
    // DFS finds it too, and every deadlocking run names the same cycle.
    const r = explore(new DfsStrategy(), (s) => { const e = new Execution({ scheduler: s }); abba(e); return e; });
    expect(r.failure?.violation?.message).toMatch(/wait-for cycle (A#0 -> B#1 -> A#0|B#1 -> A#0 -> B#1)/);
  });

  it('a daemon blocked forever does not deadlock the run; a user task blocked forever does', () => {
    const never = () => false;
    const ok = runOnce(new RandomScheduler(1), (e) => {
      e.spawn('user', () => labels(2));
      e.spawn('rcu_gp', function* () { yield* waitUntil('rcu_gp_wait', never); }, { daemon: true });
    }).run();
    expect(ok.status).toBe('ok');
    const dead = runOnce(new RandomScheduler(1), (e) => {
      e.spawn('user', function* () { yield* waitUntil('wait_for_completion', never, 'done'); });
    }).run();
    expect(dead.violation?.message).toBe('deadlock: no runnable task, 1 blocked: user#0@wait_for_completion');
  });

  it('reports a livelock at the step limit, naming the task that kept running', () => {
    const flag = { set: false };
    const o = runOnce(new RandomScheduler(7), (e) => {
      e.spawn('worker', () => labels(3));
      e.spawn('spinner', function* () { while (!flag.set) yield 'cpu_relax'; });
      e.spawn('waiter', function* () { yield* waitUntil('wait_event', () => flag.set); });
    }, { maxSteps: 500 }).run();
    expect(o.status).toBe('violation');
    expect(o.steps).toBe(500);
    expect(o.violation).toMatchObject({ property: 'livelock', taskName: 'spinner', task: 1, label: 'cpu_relax' });
    expect(o.violation!.message).toMatch(/^livelock: step limit 500 reached; still running: spinner#1@cpu_relax \(\d+ steps\)$/);
    expect(o.violation!.report.some((l) => l.includes('waiter#2: blocked in wait_event'))).toBe(true);
  });

  it('stops the run at the step where a task throws a Violation', () => {
    let after = 0;
    const exec = runOnce(new ReplayScheduler('v1:'), (e) => {
      e.spawn('A', function* () {
        yield 'one';
        yield 'two';
        throw new Violation('VM_BUG_ON', 'vma->vm_start >= vma->vm_end', ['kernel BUG at mm/mmap.c']);
      });
      e.spawn('B', function* () { after++; yield 'b'; after++; });
    });
    const o = exec.run();
    expect(o.status).toBe('violation');
    expect(o.violation).toEqual({
      property: 'VM_BUG_ON', message: 'vma->vm_start >= vma->vm_end', report: ['kernel BUG at mm/mmap.c'],
      step: 2, task: 0, taskName: 'A', label: 'two',
    });
    expect(o.steps).toBe(2); // the violating step does not count as completed
    expect(exec.trace.at(-1)).toMatchObject({ step: 2, task: 0, label: 'two' });
    expect(after).toBe(0); // nothing ran after it
  });

  it('reports a plain Error from a task as a crash, not a violation', () => {
    const o = runOnce(new RandomScheduler(3), (e) => {
      e.spawn('A', function* () { yield 'x'; throw new TypeError('cannot read vm_mm of undefined'); });
    }).run();
    expect(o.status).toBe('crash');
    expect(o.violation).toBeUndefined();
    expect(o.error).toMatch(/^cannot read vm_mm of undefined\n/);
  });

  it('runs hooks: afterStep and onTaskExit violations are recorded at their step', () => {
    const l = new Lock('ptl');
    const o = runOnce(new ReplayScheduler('v1:'), (e) => {
      e.spawn('A', function* () { yield* lock(l); yield 'work'; });
    }, {
      hooks: { onTaskExit: (_e, t) => (l.owner === t.id ? new Violation('lockdep', `${t.name} exited holding ptl`) : null) },
    }).run();
    expect(o.violation).toMatchObject({ property: 'lockdep', step: 2, taskName: 'A', label: 'exit' });

    let calls = 0;
    const o2 = runOnce(new ReplayScheduler('v1:'), (e) => { e.spawn('A', () => labels(5)); }, {
      hooks: { afterStep: () => (++calls === 3 ? new Violation('inv', 'broken') : null) },
    }).run();
    expect(o2.violation).toMatchObject({ property: 'inv', step: 2 });
  });

  it('waitUntil is sound: the step after it runs only while the condition holds', () => {
    // Both tasks wait for a free flag and then take it; whatever the schedule, never both.
    const r = explore(new DfsStrategy(), (s) => {
      const e = new Execution({ scheduler: s });
      const f = { taken: -1 };
      const body = function* (): Task<void> {
        yield* waitUntil('take', () => f.taken < 0);
        if (f.taken >= 0) throw new Violation('mutex', 'taken twice');
        f.taken = current().id;
        yield 'release';
        f.taken = -1;
      };
      e.spawn('A', body);
      e.spawn('B', body);
      return e;
    });
    expect(r.failure).toBeNull();
    expect(r.complete).toBe(true);
  });

  it('traces labels, objects, held locks and wake-ups', () => {
    const l = new Lock('mmap_lock');
    const exec = runOnce(new ReplayScheduler('v1:1t1'), (e) => {
      e.spawn('A', function* () { yield* lock(l); yield step('set_pte_at', { name: 'pte#3' }); yield* unlock(l); });
      e.spawn('B', function* () { yield* lock(l); yield* unlock(l); });
    }, { hooks: { describe: (t) => (l.owner === t.id ? 'mmap_lock' : '') } });
    const o = exec.run();
    expect(o.status).toBe('ok');
    expect(exec.trace.map((t) => [t.step, t.task, t.label, t.obj, t.held, t.blocked])).toEqual([
      [0, 0, 'start', '', '', false],
      [1, 1, 'start', '', '', false],
      [2, 1, 'lock mmap_lock', 'mmap_lock', '', false],
      [3, 1, 'unlock mmap_lock', '', 'mmap_lock', false],
      [4, 0, 'lock mmap_lock', 'mmap_lock', '', true],
      [5, 0, 'set_pte_at', 'pte#3', 'mmap_lock', false],
      [6, 0, 'unlock mmap_lock', '', 'mmap_lock', false],
    ]);
  });

  it('records the zero choices before a non-zero one in the same step, so replay matches by position', () => {
    const exec = runOnce(new ReplayScheduler('v1:0c0.0c2'), (e) => {
      e.spawn('A', function* () {
        const a = yield* choose(3, 'alloc_pages');
        const b = yield* choose(3, 'alloc_pages');
        const c = yield* choose(3, 'alloc_pages');
        yield `got ${a}${b}${c}`;
      });
    });
    expect(exec.run().schedule).toBe('v1:0c0.0c2');
    expect(exec.trace.at(-1)!.label).toBe('got 020');
  });

  it('gives outcome.schedule as a plain field: printed, spread, serialised and compared', () => {
    const o = runOnce(new ReplayScheduler('v1:1t1.2c2'), (e) => {
      e.spawn('A', () => labels(3));
      e.spawn('B', function* () { yield 'b'; yield* choose(3, 'x'); });
    }).run();
    expect(Object.keys(o)).toEqual(['status', 'steps', 'preemptions', 'schedule']);
    expect(o.schedule).toBe('v1:1t1.2c2');
    expect({ ...o }).toEqual({ status: 'ok', steps: 6, preemptions: 1, schedule: 'v1:1t1.2c2' });
    expect(JSON.parse(JSON.stringify(o))).toEqual({ status: 'ok', steps: 6, preemptions: 1, schedule: 'v1:1t1.2c2' });
    expect(o.schedule).toBe(o.schedule);
  });

  it('tasks may spawn tasks during the run', () => {
    const exec = runOnce(new RandomScheduler(5), (e) => {
      e.spawn('parent', function* () {
        yield 'fork';
        e.spawn('child', () => labels(2, 'c'));
        yield 'after fork';
      });
    });
    expect(exec.run().status).toBe('ok');
    expect(exec.tasks.map((t) => [t.name, t.done, t.steps])).toEqual([['parent', true, 3], ['child', true, 3]]);
  });

  it('rejects a scheduler that picks a task that cannot run', () => {
    const o = runOnce({ name: 'broken', pick: () => 7, choose: () => 0 }, (e) => {
      e.spawn('A', () => labels(1));
      e.spawn('B', () => labels(1));
    }).run();
    expect(o.status).toBe('crash');
    expect(o.error).toMatch(/scheduler broken picked task 7 at step 0, which is not runnable/);
  });
});
