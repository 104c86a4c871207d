import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  choose, Execution, explore, PctScheduler, RandomScheduler, RandomStrategy, ReplayScheduler, Violation,
  type Outcome, type Scheduler, type Task, type TraceEvent,
} from '../../impl/rt/index.js';
import { scheduleArb } from '../../properties/arbitraries/schedule.js';
import { labels, Lock, lock, runOnce, unlock } from './helpers.js';

/** A random little program: per task, a list of ops over two locks and a shared counter. */
type Op =
  | { k: 'yield' }
  | { k: 'cs'; a: number; b: number } // lock a, lock b (if b ≠ a), unlock both: AB-BA possible
  | { k: 'add'; n: number } // x += choose(n)
  | { k: 'check'; m: number }; // Violation when x % m === m − 1

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ k: 'yield' }),
  fc.record({ k: fc.constant('cs' as const), a: fc.nat({ max: 1 }), b: fc.nat({ max: 1 }) }),
  fc.record({ k: fc.constant('add' as const), n: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ k: fc.constant('check' as const), m: fc.integer({ min: 3, max: 5 }) }),
);
const programArb = fc.array(fc.array(opArb, { maxLength: 8 }), { minLength: 1, maxLength: 4 });

function build(program: Op[][]): (e: Execution) => void {
  return (e) => {
    const locks = [new Lock('L0'), new Lock('L1')];
    const s = { x: 0 };
    program.forEach((ops, i) => e.spawn(`T${i}`, function* (): Task<void> {
      for (const op of ops) {
        switch (op.k) {
          case 'yield': yield 'y'; break;
          case 'cs':
            yield* lock(locks[op.a]!);
            if (op.b !== op.a) { yield* lock(locks[op.b]!); yield* unlock(locks[op.b]!); }
            yield* unlock(locks[op.a]!);
            break;
          case 'add': { yield 'add'; s.x += yield* choose(op.n, 'add'); break; }
          case 'check': yield 'check'; if (s.x % op.m === op.m - 1) throw new Violation('check', `x = ${s.x}`); break;
        }
      }
    }));
  };
}

function runWith(scheduler: Scheduler, b: (e: Execution) => void): { outcome: Outcome; trace: TraceEvent[] } {
  const exec = runOnce(scheduler, b, { maxSteps: 1000 });
  return { outcome: exec.run(), trace: exec.trace };
}

describe('ReplayScheduler', () => {
  it('round-trips a failing run: schedule string → replay → same trace, same verdict', () => {
    // AB-BA under random scheduling until it deadlocks.
    const abba = (e: Execution) => {
      const l1 = new Lock('L1');
      const l2 = new Lock('L2');
      e.spawn('A', function* () { yield 'a'; yield* lock(l1); yield* lock(l2); yield* unlock(l2); yield* unlock(l1); });
      e.spawn('B', function* () { yield 'b'; yield* lock(l2); yield* lock(l1); yield* unlock(l1); yield* unlock(l2); });
    };
    let failing: Execution | null = null;
    const r = explore(new RandomStrategy(2024), (sched) => {
      const e = new Execution({ scheduler: sched, trace: true });
      abba(e);
      return (failing = e);
    }, { maxExecutions: 1000 });
    expect(r.failure?.violation?.property).toBe('deadlock');
    const original = failing!;
    const schedule = r.failure!.schedule;
    expect(schedule).toMatch(/^v1:\d+t\d/);

    const again = runOnce(new ReplayScheduler(schedule), abba);
    expect(again.trace).toEqual(original.trace);
    expect(again.run()).toEqual(r.failure);
  });

  it('property: replaying outcome.schedule reproduces the trace of any run exactly', () => {
    fc.assert(fc.property(programArb, fc.nat(), fc.boolean(), (program, seed, pct) => {
      const b = build(program);
      const sched = pct ? new PctScheduler(seed, 2, 30) : new RandomScheduler(seed);
      const first = runWith(sched, b);
      const replay = runWith(new ReplayScheduler(first.outcome.schedule), b);
      expect(replay.trace).toEqual(first.trace);
      expect(replay.outcome).toEqual(first.outcome);
    }), { numRuns: 300 });
  });

  it('property: a generated schedule replays leniently, and what ran replays strictly', () => {
    fc.assert(fc.property(programArb, scheduleArb({ tasks: 4, maxSwitches: 8, maxGap: 6, maxChoice: 2 }), (program, schedule) => {
      const b = build(program);
      const first = runWith(new ReplayScheduler(schedule, false), b);
      expect(first.outcome.status).not.toBe('bad-schedule');
      const replay = runWith(new ReplayScheduler(first.outcome.schedule), b);
      expect(replay.trace).toEqual(first.trace);
      expect(replay.outcome).toEqual(first.outcome);
    }), { numRuns: 300 });
  });

  it('the default schedule keeps the current task running: generated "v1:" has no preemption', () => {
    const r = runWith(new ReplayScheduler('v1:', false), (e) => { e.spawn('A', () => labels(3)); e.spawn('B', () => labels(3)); });
    expect(r.outcome).toMatchObject({ status: 'ok', preemptions: 0, schedule: 'v1:' });
    expect(r.trace.map((t) => t.task)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
  });

  describe('strict replay of a schedule that does not fit → bad-schedule', () => {
    const two = (e: Execution) => {
      e.spawn('A', function* () { yield 'a'; yield* choose(3, 'c'); yield 'a2'; });
      e.spawn('B', () => labels(1));
    };
    // A: step 0 'start', step 1 'a' (chooses), step 2 'a2'; then B: steps 3, 4. 5 steps in all.
    it.each([
      ['v1:1t5', /asks for task 5 at step 1, but it is not runnable there \(runnable: 0, 1\)/],
      ['v1:1c7', /gives choice 7 at step 1, but only 0\.\.2 are possible/],
      ['v1:0c1', /decision 0c1 does not fit this run \(never reached; now at step 1\)/],
      ['v1:1t1.1c1', /decision 1c1 does not fit this run \(never reached; now at step 2\)/],
      ['v1:9t1', /decision 9t1 does not fit this run \(the run ended at step 5\)/],
      ['v1:4t0', /decision 4t0 does not fit this run \(the run ended at step 5\)/],
    ])('%s', (schedule, msg) => {
      const strict = runWith(new ReplayScheduler(schedule), two).outcome;
      expect(strict.status).toBe('bad-schedule');
      expect(strict.error).toMatch(msg);
      const lenient = runWith(new ReplayScheduler(schedule, false), two).outcome;
      expect(lenient.status).toBe('ok');
    });
  });
});
