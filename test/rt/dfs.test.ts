import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { choose, DfsStrategy, Execution, Violation, type PendingStep, type Task } from '../../impl/rt/index.js';
import { binom, exploreAll, labels, Lock, lock, unlock } from './helpers.js';
import { explore } from '../../impl/rt/index.js';

/*
 * Step convention: a task's first step runs from its start to its first yield, and every yield
 * ends a step, so a task with k yields runs k + 1 steps. DFS enumerates pick sequences, i.e. the
 * interleavings of the tasks' step sequences that the blocking conditions allow.
 */

describe('DfsStrategy', () => {
  it('enumerates C(2(k+1), k+1) interleavings of 2 tasks of k plain yields', () => {
    for (const k of [0, 1, 2, 3, 4]) {
      const r = exploreAll(new DfsStrategy(), (e) => {
        e.spawn('A', () => labels(k, 'a'));
        e.spawn('B', () => labels(k, 'b'));
      });
      // Two sequences of k+1 steps: choose which k+1 of the 2(k+1) slots are A's.
      expect(r.executions).toBe(binom(2 * (k + 1), k + 1)); // 2, 6, 20, 70, 252
      expect(new Set(r.schedules).size).toBe(r.executions);
      expect(r.complete).toBe(true);
    }
  });

  it('enumerates the multinomial 6!/(2!·2!·2!) = 90 interleavings of 3 tasks of 1 yield', () => {
    const r = exploreAll(new DfsStrategy(), (e) => {
      for (const n of ['A', 'B', 'C']) e.spawn(n, () => labels(1));
    });
    expect(r.executions).toBe(90);
    expect(r.complete).toBe(true);
  });

  it('counts preemption-bounded interleavings by hand (2 tasks × 4 steps)', () => {
    /*
     * Each task has m = 4 steps (3 yields). Write an interleaving as b alternating blocks of A and
     * B steps. The first pick is free, and the switch into the last block is free too (the task of
     * the block before it has no steps left: it ended), every other switch preempts: b − 2
     * preemptions. A composition of m into j positive parts: C(m−1, j−1) ways.
     *   b = 2: AB or BA                                   = 2
     *   b = 3: ABA: A in 2 parts × B in 1 part = 3·1, ×2  = 6
     *   b = 4: ABAB: 3·3, ×2                               = 18
     * bound 0 → 2, bound 1 → 2 + 6 = 8 (= 2m), bound 2 → 2 + 6 + 18 = 26.
     * (b = 5..8 add 18 + 18 + 6 + 2: 70 = C(8, 4) in all, the unbounded count.)
     */
    const build = (e: Execution) => {
      e.spawn('A', () => labels(3, 'a'));
      e.spawn('B', () => labels(3, 'b'));
    };
    const counts = [0, 1, 2, 3, 6].map((bound) => exploreAll(new DfsStrategy({ preemptionBound: bound }), build));
    expect(counts.map((r) => r.executions)).toEqual([2, 8, 26, 44, 70]);
    for (const [i, r] of counts.entries()) {
      expect(r.complete).toBe(true);
      expect(new Set(r.schedules).size).toBe(r.executions);
      void i;
    }
  });

  it('explores 2 tasks × 3 lock/unlock rounds: exactly the 100 interleavings counted by hand', () => {
    /*
     * Each task: S (its first step, from the start to the first yield: local), then three rounds
     * of L (lock: runnable only while the lock is free) and U (unlock): S L1 U1 L2 U2 L3 U3, 7
     * steps. A critical section is L..U; mutual exclusion orders the 6 critical sections totally:
     * C(6, 3) = 20 orders, and any step sequence with those sections not overlapping is a run.
     * The S steps are local, so they may fall anywhere before their task's L1, even inside the
     * other task's critical section.
     *
     * Say A's section comes first, and j of A's sections (j = 1, 2, 3) come before B's first one:
     * the remaining 6 − j sections start with B's, C(5 − j, 3 − j) orders: 6, 3, 1 (sum 10).
     * Among the 12 lock steps, L_A1 is the very first, so S_A goes before it: 1 place. L_B1 is the
     * lock step at index 2j, so S_B goes into one of the 2j + 1 gaps before it, and when it shares
     * gap 0 with S_A it goes before or after S_A: 2j + 2 ways.
     *   j = 1: 6 · 4 = 24;  j = 2: 3 · 6 = 18;  j = 3: 1 · 8 = 8;  A first: 50.
     * B first is symmetric: 2 · 50 = 100.
     */
    let overlaps = 0;
    const r = exploreAll(new DfsStrategy(), (e) => {
      const l = new Lock('L');
      let inside = 0;
      const body = function* (): Task<void> {
        for (let i = 0; i < 3; i++) {
          yield* lock(l);
          if (++inside > 1) overlaps++;
          yield* unlock(l);
          inside--;
        }
      };
      e.spawn('A', body);
      e.spawn('B', body);
    });
    expect(r.executions).toBe(100);
    expect(new Set(r.schedules).size).toBe(100);
    expect(r.failures).toBe(0);
    expect(overlaps).toBe(0);
    expect(r.complete).toBe(true);
  });

  it('enumerates choice points: every value of every choose(n), times the interleavings', () => {
    const seen = new Set<string>();
    const single = exploreAll(new DfsStrategy(), (e) => {
      e.spawn('A', function* () {
        const a = yield* choose(3, 'a');
        const b = yield* choose(2, 'b');
        const c = yield* choose(1, 'c'); // one option: not a choice point
        seen.add(`${a}${b}${c}`);
      });
    });
    expect(single.executions).toBe(6);
    expect([...seen].sort()).toEqual(['000', '010', '100', '110', '200', '210']);

    // 2 tasks × 2 steps (C(4, 2) = 6 interleavings), A chooses among 3, B among 2: 6 · 3 · 2 = 36.
    const both = exploreAll(new DfsStrategy(), (e) => {
      e.spawn('A', function* () { yield* choose(3, 'x'); yield 'a'; });
      e.spawn('B', function* () { yield 'b'; yield* choose(2, 'y'); });
    });
    expect(both.executions).toBe(36);
    expect(new Set(both.schedules).size).toBe(36);
  });

  it('choices do not cost preemptions: bound 0 still tries every value', () => {
    const r = exploreAll(new DfsStrategy({ preemptionBound: 0 }), (e) => {
      e.spawn('A', function* () { yield* choose(2, 'x'); yield 'a'; });
      e.spawn('B', function* () { yield* choose(3, 'y'); yield 'b'; });
    });
    // 2 non-preemptive orders (A first or B first), each with 2 · 3 choice combinations.
    expect(r.executions).toBe(12);
  });

  it('finds a lost update with one preemption and not with none', () => {
    const build = (e: Execution) => {
      const shared = { x: 0 };
      let finished = 0;
      const inc = function* (): Task<void> {
        yield 'read';
        const v = shared.x;
        yield 'write';
        shared.x = v + 1;
        if (++finished === 2 && shared.x !== 2) throw new Violation('lost-update', `x = ${shared.x}`);
      };
      e.spawn('A', inc);
      e.spawn('B', inc);
    };
    const none = exploreAll(new DfsStrategy({ preemptionBound: 0 }), build);
    expect(none.failures).toBe(0);
    expect(none.complete).toBe(true);
    const one = exploreAll(new DfsStrategy({ preemptionBound: 1 }), build);
    expect(one.failures).toBeGreaterThan(0);
  });

  it('stops and says so when a re-execution diverges (a nondeterministic scenario)', () => {
    let leak = 0; // state leaking between runs: the scenario is not a function of the schedule
    const dfs = new DfsStrategy();
    const r = exploreAll(dfs, (e) => {
      const tasks = 2 + (leak++ % 2);
      for (let i = 0; i < tasks; i++) e.spawn(`T${i}`, () => labels(1));
    });
    expect(dfs.diverged).toMatch(/not deterministic/);
    expect(r.complete).toBe(false);
    expect(r.failures).toBe(1);
  });

  it('reports truncation by maxExecutions as incomplete', () => {
    const dfs = new DfsStrategy({ maxExecutions: 5 });
    const r = exploreAll(dfs, (e) => {
      e.spawn('A', () => labels(3));
      e.spawn('B', () => labels(3));
    });
    expect(r.executions).toBe(5);
    expect(dfs.complete).toBe(false);
    expect(r.complete).toBe(false);
  });

  describe('sleep sets', () => {
    /** The shared object a step of these programs touches: named by its label (null: local). */
    const resource = (p: PendingStep): string | null => {
      const m = /^(?:lock|unlock) (\w+)$/.exec(p.label);
      if (m) return m[1]!;
      if (p.label === 'add' || p.label === 'check' || p.label === 'read' || p.label === 'write') return 'x';
      return null; // 'start', plain labels: local work
    };
    const independent = (a: PendingStep, b: PendingStep): boolean => {
      const ra = resource(a);
      const rb = resource(b);
      return ra === null || rb === null || ra !== rb;
    };

    it('runs one trace when every step is independent, and says the rest were redundant', () => {
      const dfs = new DfsStrategy({ independent: () => true });
      const r = exploreAll(dfs, (e) => {
        e.spawn('A', () => labels(3, 'a'));
        e.spawn('B', () => labels(3, 'b'));
      });
      expect(r.executions - dfs.redundant).toBe(1);
      expect(r.executions).toBeLessThan(70);
      expect(r.complete).toBe(true);
    });

    it('runs the 20 traces of the 2 × 3 lock program (its 100 interleavings up to the local start steps)', () => {
      // Only the start steps are local; every lock/unlock step touches L, so the traces are the
      // C(6, 3) = 20 orders of the critical sections.
      const dfs = new DfsStrategy({ independent });
      const r = exploreAll(dfs, (e) => {
        const l = new Lock('L');
        const body = function* (): Task<void> {
          for (let i = 0; i < 3; i++) { yield* lock(l); yield* unlock(l); }
        };
        e.spawn('A', body);
        e.spawn('B', body);
      });
      expect(r.executions - dfs.redundant).toBe(20);
      expect(r.complete).toBe(true);
    });

    it('refuses to combine with a preemption bound', () => {
      expect(() => new DfsStrategy({ independent, preemptionBound: 2 })).toThrow(/unbounded/);
    });

    it('property: reaches the same set of verdicts as plain DFS', () => {
      type Op = { k: 'y' } | { k: 'cs'; a: number; b: number } | { k: 'add'; n: number } | { k: 'check'; m: number };
      const opArb: fc.Arbitrary<Op> = fc.oneof(
        fc.constant<Op>({ k: 'y' }),
        fc.record({ k: fc.constant('cs' as const), a: fc.nat({ max: 1 }), b: fc.nat({ max: 1 }) }),
        fc.record({ k: fc.constant('add' as const), n: fc.integer({ min: 1, max: 2 }) }),
        fc.record({ k: fc.constant('check' as const), m: fc.integer({ min: 2, max: 3 }) }),
      );
      const programArb = fc.array(fc.array(opArb, { maxLength: 3 }), { minLength: 1, maxLength: 3 });
      const build = (program: Op[][]) => (e: Execution) => {
        const locks = [new Lock('L0'), new Lock('L1')];
        const s = { x: 0 };
        let finished = 0;
        program.forEach((ops, i) => e.spawn(`T${i}`, function* (): Task<void> {
          for (const op of ops) {
            if (op.k === 'y') yield 'y';
            else if (op.k === 'cs') {
              yield* lock(locks[op.a]!);
              if (op.b !== op.a) { yield* lock(locks[op.b]!); yield* unlock(locks[op.b]!); }
              yield* unlock(locks[op.a]!);
            } else if (op.k === 'add') { yield 'add'; s.x += 1 + (yield* choose(op.n, 'v')); }
            else { yield 'check'; if (s.x % op.m === op.m - 1) throw new Violation('check', `x = ${s.x}`); }
          }
          // The last step of the last task to finish reads x: make it part of the verdict.
          if (++finished === program.length) { yield 'read'; if (s.x === 4) throw new Violation('four', 'x = 4'); }
        }));
      };
      const verdicts = (dfs: DfsStrategy, program: Op[][]): string[] | null => {
        const seen = new Set<string>();
        const r = explore(dfs, (sched) => { const e = new Execution({ scheduler: sched }); build(program)(e); return e; }, {
          stopOnFailure: false, maxExecutions: 3000,
          onRun: (o) => { seen.add(`${o.status}:${o.violation?.property ?? ''}:${o.violation?.message ?? ''}`); },
        });
        return r.complete ? [...seen].sort() : null;
      };
      let compared = 0;
      let saved = 0;
      fc.assert(fc.property(programArb, (program) => {
        const plain = new DfsStrategy();
        const expected = verdicts(plain, program);
        fc.pre(expected !== null); // plain DFS over budget: skip
        const reduced = new DfsStrategy({ independent });
        expect(verdicts(reduced, program)).toEqual(expected);
        expect(reduced.executions - reduced.redundant).toBeLessThanOrEqual(plain.executions);
        compared++;
        saved += plain.executions - (reduced.executions - reduced.redundant);
      }), { numRuns: 150 });
      expect(compared).toBeGreaterThan(100);
      expect(saved).toBeGreaterThan(0);
    });
  });
});
