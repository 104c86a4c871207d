import { describe, expect, it } from 'vitest';
import {
  choose, Execution, explore, mixSeed, Prng, RandomScheduler, RandomStrategy, Violation, type Task,
} from '../../impl/rt/index.js';
import { labels, runOnce } from './helpers.js';

const three = (e: Execution) => {
  for (const n of ['A', 'B', 'C']) e.spawn(n, () => labels(4));
  e.spawn('D', function* (): Task<void> { yield 'd'; yield* choose(5, 'v'); });
};

describe('RandomScheduler', () => {
  it('is a function of its seed: same seed, same schedule and trace', () => {
    for (let seed = 0; seed < 50; seed++) {
      const a = runOnce(new RandomScheduler(seed), three);
      const b = runOnce(new RandomScheduler(seed), three);
      expect(b.run().schedule).toBe(a.run().schedule);
      expect(b.trace).toEqual(a.trace);
    }
  });

  it('spreads over the interleavings: 200 seeds give (nearly) 200 different schedules', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 200; seed++) seen.add(runOnce(new RandomScheduler(seed), three).run().schedule);
    expect(seen.size).toBeGreaterThan(195);
  });

  it('picks each runnable task about equally often', () => {
    const rng = new RandomScheduler(99);
    const counts = [0, 0, 0];
    const runnable = Int32Array.of(0, 1, 2);
    for (let i = 0; i < 30_000; i++) counts[rng.pick(runnable, 3)]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });
});

describe('Prng', () => {
  it('draws below(n) in [0, n) and is seed-deterministic', () => {
    const a = new Prng(5);
    const b = new Prng(5);
    for (let i = 0; i < 1000; i++) {
      const n = 1 + (i % 17);
      const x = a.below(n);
      expect(x).toBe(b.below(n));
      expect(x >= 0 && x < n && Number.isInteger(x)).toBe(true);
    }
    expect(new Prng(1).next()).not.toBe(new Prng(2).next());
  });

  it('mixSeed derives distinct run seeds', () => {
    const s = new Set(Array.from({ length: 10_000 }, (_, i) => mixSeed(42, i)));
    expect(s.size).toBe(10_000);
  });
});

describe('explore', () => {
  const buggy = (e: Execution) => {
    const s = { x: 0 };
    for (const n of ['A', 'B']) e.spawn(n, function* (): Task<void> {
      yield 'read';
      const v = s.x;
      yield 'write';
      s.x = v + 1;
    });
    e.spawn('check', function* (): Task<void> {
      yield 'check';
      if (s.x === 1) throw new Violation('lost-update', 'x = 1');
    });
  };

  it('stops at the first failure and says which run it was', () => {
    const r = explore(new RandomStrategy(3), (s) => { const e = new Execution({ scheduler: s }); buggy(e); return e; });
    expect(r.failure?.violation?.property).toBe('lost-update');
    expect(r.failureAt).toBe(r.executions);
    expect(r.failures).toBe(1);
    expect(r.complete).toBe(false);
  });

  it('goes on past failures when asked, within maxExecutions, and onRun can stop it', () => {
    const r = explore(new RandomStrategy(3), (s) => { const e = new Execution({ scheduler: s }); buggy(e); return e; },
      { stopOnFailure: false, maxExecutions: 300 });
    expect(r.executions).toBe(300);
    expect(r.failures).toBeGreaterThan(1);
    let n = 0;
    const stopped = explore(new RandomStrategy(3), (s) => { const e = new Execution({ scheduler: s }); buggy(e); return e; },
      { stopOnFailure: false, onRun: () => ++n < 7 });
    expect(stopped.executions).toBe(7);
  });

  it('a finite strategy runs dry: RandomStrategy(seed, runs)', () => {
    const r = explore(new RandomStrategy(1, 25), (s) => { const e = new Execution({ scheduler: s }); e.spawn('A', () => labels(1)); return e; });
    expect(r.executions).toBe(25);
    expect(r.steps).toBe(50);
  });
});
