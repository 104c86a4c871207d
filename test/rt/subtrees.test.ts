/**
 * Subtrees of the search (impl/rt/schedulers/subtrees.ts): the prefixes of the first D branching
 * decisions, and DfsStrategy / DporStrategy restricted to one (`forced`). The DFS's subtrees, in
 * order, run exactly the unsplit DFS's schedules in its order; the unreduced DPOR's ('full') give
 * the same set; every run of a subtree starts with its prefix.
 */
import { describe, expect, it } from 'vitest';
import { choose, DfsStrategy, Execution, type Task } from '../../impl/rt/index.js';
import { DporStrategy } from '../../impl/rt/schedulers/dpor.js';
import { enumerateSubtrees, formatPrefix, type ForcedChoice } from '../../impl/rt/schedulers/subtrees.js';
import { exploreAll, labels, Lock, lock, unlock, type Build } from './helpers.js';

function* locker(l: Lock, k: number): Task<void> {
  yield* lock(l);
  yield* labels(k, 'in');
  yield* unlock(l);
}

function* chooser(): Task<void> {
  const v = yield* choose(3, "pick one");
  yield* labels(v, 'c');
}

const BUILDS: readonly [string, Build][] = [
  ['3 tasks of 2 yields', (e) => {
    for (const n of ['A', 'B', 'C']) e.spawn(n, () => labels(2, n));
  }],
  ['2 lockers and a task that chooses', (e) => {
    const l = new Lock('L');
    e.spawn('A', () => locker(l, 1));
    e.spawn('B', () => locker(l, 2));
    e.spawn('C', () => chooser());
  }],
];

function subtreesOf(build: Build, depth: number, bound: number) {
  return enumerateSubtrees((scheduler) => {
    const e = new Execution({ scheduler });
    build(e);
    return e.run();
  }, depth, bound);
}

/** The first decisions of a run, as its scheduler saw them: wraps a scheduler to log them. */
function logged(s: import('../../impl/rt/index.js').Scheduler, log: ForcedChoice[]): import('../../impl/rt/index.js').Scheduler {
  return {
    name: s.name,
    ...(s.everyStep ? { everyStep: true } : {}),
    pick(r, n, d, c, step) {
      const t = s.pick(r, n, d, c, step);
      if (n >= 2 && t >= 0) log.push({ kind: 't', value: t });
      return t;
    },
    choose(n, step, task, label) {
      const v = s.choose(n, step, task, label);
      log.push({ kind: 'c', value: v });
      return v;
    },
  };
}

describe('subtrees of the DFS', () => {
  for (const [name, build] of BUILDS) {
    for (const bound of [0, 1, 2, Infinity]) {
      for (const depth of [1, 2, 4]) {
        it(`${name}, bound ${bound}, depth ${depth}: the subtrees in order are the unsplit DFS`, () => {
          const whole = exploreAll(new DfsStrategy({ preemptionBound: bound }), build);
          const subs = subtreesOf(build, depth, bound);
          const pieces: string[] = [];
          for (const s of subs) {
            const r = exploreAll(new DfsStrategy({ preemptionBound: bound, forced: s.prefix }), build);
            expect(r.complete).toBe(true);
            pieces.push(...r.schedules);
          }
          expect(pieces).toEqual(whole.schedules);
          if (depth > 1 && bound > 0) expect(subs.length).toBeGreaterThan(2);
        });
      }
    }
  }
});

describe('subtrees of the unreduced DPOR (mode full)', () => {
  for (const [name, build] of BUILDS) {
    for (const bound of [0, 1, Infinity]) {
      it(`${name}, bound ${bound}, depth 2: the same schedules as unsplit, each run starting with its prefix`, () => {
        const run = (forced?: readonly ForcedChoice[]) => {
          const d = new DporStrategy({ mode: 'full', preemptionBound: bound, ...(forced ? { forced } : {}) });
          const schedules: string[] = [];
          for (let s = d.next(); s !== null; s = d.next()) {
            const log: ForcedChoice[] = [];
            const e = new Execution({ scheduler: logged(s, log), observer: s });
            build(e);
            const o = e.run();
            d.finish(o);
            schedules.push(o.schedule);
            if (forced) expect(formatPrefix(log.slice(0, forced.length))).toBe(formatPrefix(forced));
          }
          expect(d.complete).toBe(true);
          return schedules;
        };
        const whole = run();
        const subs = subtreesOf(build, 2, bound);
        const pieces = subs.flatMap((s) => run(s.prefix));
        expect([...pieces].sort()).toEqual([...whole].sort());
        expect(new Set(pieces).size).toBe(pieces.length);
      });
    }
  }
});

describe('a forced prefix that does not fit the run', () => {
  it('is an error, not a silent search of another subtree', () => {
    const d = new DfsStrategy({ forced: [{ kind: 't', value: 7 }] });
    const s = d.next()!;
    const e = new Execution({ scheduler: s });
    BUILDS[0]![1](e);
    expect(e.run().status).toBe('bad-schedule');
  });
});
