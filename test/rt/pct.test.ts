import { describe, expect, it } from 'vitest';
import {
  block, Execution, explore, PctScheduler, PctStrategy, RandomStrategy, Violation, type Strategy, type Task,
} from '../../impl/rt/index.js';
import { labels, runOnce } from './helpers.js';

/*
 * A planted depth-2 ordering bug (two ordering constraints) in a 4-task × 10-step program:
 *   T0's step 1 < T1's step 1, and T1's step 10 (its last) < T0's step 2.
 * That is, T1 runs start to finish inside the gap between T0's first two steps. PCT (d = 2) hits
 * it when T0 outranks T1 and the one change point falls on T0's second step: about
 * 1/2 · 1/k per run. Uniform random must instead win ten races in a row against T0.
 */
function planted(e: Execution): void {
  const s = { t0first: false, t1sawT0: false, t1done: false };
  e.spawn('T0', function* (): Task<void> {
    s.t0first = true;
    yield 't0:1';
    if (s.t1sawT0 && s.t1done) throw new Violation('ordering', 'T1 ran entirely between T0 steps 1 and 2');
    for (let i = 2; i < 10; i++) yield `t0:${i}`;
  });
  e.spawn('T1', function* (): Task<void> {
    s.t1sawT0 = s.t0first;
    for (let i = 1; i < 10; i++) yield `t1:${i}`;
    s.t1done = true;
  });
  e.spawn('T2', () => labels(9, 't2:'));
  e.spawn('T3', () => labels(9, 't3:'));
}

const CAP = 50_000;

function runsToBug(strategy: Strategy): number {
  const r = explore(strategy, (sched) => {
    const e = new Execution({ scheduler: sched });
    planted(e);
    return e;
  }, { maxExecutions: CAP });
  if (r.failure) expect(r.failure.violation?.property).toBe('ordering');
  return r.failure ? r.failureAt : CAP;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
}

describe('PctStrategy', () => {
  it('finds a planted depth-2 ordering bug in fewer runs than uniform random (10 seeds)', () => {
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const pct = seeds.map((seed) => runsToBug(new PctStrategy(seed, 2, Infinity, 40)));
    const random = seeds.map((seed) => runsToBug(new RandomStrategy(seed)));
    const pm = median(pct);
    const rm = median(random);
    console.log(`[pct-vs-random] planted depth-2 bug, 4 tasks × 10 steps, 10 seeds: runs to bug PCT(d=2) median ${pm} [${pct.join(', ')}]; uniform random median ${rm} [${random.join(', ')}]`);
    expect(pct.every((n) => n < CAP)).toBe(true);
    expect(pm).toBeLessThan(rm);
  });

  it('meets the paper\'s bound: a depth-2 bug is hit in at least 1/(n·k) of the runs', () => {
    // n = 4 tasks, k = 40 steps: at least 1/160 of the runs, i.e. ≥ 12.5 of 2000 on average.
    let hits = 0;
    for (let i = 0; i < 2000; i++) {
      const o = runOnce(new PctScheduler(i * 7919 + 1, 2, 40), planted, { trace: false }).run();
      if (o.status === 'violation') hits++;
    }
    console.log(`[pct-bound] depth-2 bug hit in ${hits} of 2000 PCT runs (bound: ≥ 1/160 → 12.5)`);
    expect(hits).toBeGreaterThanOrEqual(10);
  });

  it('with d = 1 runs tasks strictly by priority: one task at a time, to completion', () => {
    for (let seed = 0; seed < 20; seed++) {
      const exec = runOnce(new PctScheduler(seed, 1, 20), (e) => {
        for (const n of ['A', 'B', 'C']) e.spawn(n, () => labels(3));
      });
      expect(exec.run().status).toBe('ok');
      const order = exec.trace.map((t) => t.task);
      // Three blocks of 4 steps each, no preemption.
      expect(order.filter((t, i) => i > 0 && t !== order[i - 1]).length).toBe(2);
      expect(exec.run().preemptions).toBe(0);
    }
  });

  it('draws d − 1 change points: at most d − 1 preemptions per run, and every count is reached', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 300; seed++) {
      const o = runOnce(new PctScheduler(seed, 3, 12), (e) => {
        for (const n of ['A', 'B', 'C']) e.spawn(n, () => labels(3));
      }).run();
      expect(o.preemptions).toBeLessThanOrEqual(2);
      seen.add(o.preemptions);
    }
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });

  it('adapts k to the longest run seen, and stops after its number of runs', () => {
    const s = new PctStrategy(1, 2, 3, 8);
    s.next();
    s.done(50);
    expect(s.expectedLength).toBe(50);
    expect(s.next()).not.toBeNull();
    s.done(20);
    expect(s.expectedLength).toBe(50);
    s.next();
    expect(s.next()).toBeNull();
  });

  it('draws the change points after the offset: a setup that runs alone first takes none', () => {
    // A setup task runs 200 steps alone (the others wait for it; with the highest priority it runs
    // before they start), then the planted bug. With the offset at the setup's end and k = 40 the
    // bound holds as without the setup; with no offset every change point falls inside the setup.
    const withSetup = (e: Execution): void => {
      const st = { done: false };
      e.spawn('setup', function* (): Task<void> {
        for (let i = 0; i < 200; i++) yield `setup:${i}`;
        st.done = true;
      });
      const wrap = (name: string, body: () => Task<void>): void => {
        e.spawn(name, function* (): Task<void> {
          yield block('wait for setup', () => st.done);
          yield* body();
        });
      };
      const s = { t0first: false, t1sawT0: false, t1done: false };
      wrap('T0', function* () {
        s.t0first = true;
        yield 't0:1';
        if (s.t1sawT0 && s.t1done) throw new Violation('ordering', 'T1 ran entirely between T0 steps 1 and 2');
        for (let i = 2; i < 10; i++) yield `t0:${i}`;
      });
      wrap('T1', function* () {
        s.t1sawT0 = s.t0first;
        for (let i = 1; i < 10; i++) yield `t1:${i}`;
        s.t1done = true;
      });
      wrap('T2', () => labels(9, 't2:'));
      wrap('T3', () => labels(9, 't3:'));
    };
    const hits = (offset: number): number => {
      let n = 0;
      for (let i = 0; i < 2000; i++) {
        const e = new Execution({ scheduler: new PctScheduler(i * 7919 + 1, 2, 40, offset) });
        withSetup(e);
        if (e.run().status === 'violation') n++;
      }
      return n;
    };
    const at = hits(204);
    const none = hits(0);
    console.log(`[pct-offset] depth-2 bug after a 200-step setup: hit in ${at} of 2000 PCT runs with the offset at the setup's end (bound ≥ 12.5), ${none} with none`);
    expect(at).toBeGreaterThanOrEqual(10);
    expect(none).toBe(0);
  });
});
