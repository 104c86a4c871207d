/**
 * GuidedScheduler (impl/rt/schedulers/guided.ts): PCT whose change points fall on communication
 * steps. Its preemptions happen only there, and a bug whose preemption is a communication point
 * is found in far fewer runs than by PCT, which spreads its change points over every step.
 */
import { describe, expect, it } from 'vitest';
import { Execution, explore, PctStrategy, step, Violation, type Scheduler, type Strategy, type Task } from '../../impl/rt/index.js';
import { mixSeed } from '../../impl/rt/schedulers/random.js';
import { GuidedScheduler, objectKind, stepKey } from '../../impl/rt/schedulers/guided.js';
import { labels } from './helpers.js';

const X = { name: 'X#1' };

/**
 * 4 tasks × 30 steps. T0 writes X (a half-done value) at its 15th step and completes it at its
 * 16th; T1 reads X at its 15th. The bug: T1 reads the half-done value — T0 must be preempted right
 * after its write and T1 must get to its read before T0 runs again.
 */
function planted(e: Execution, bug = true): void {
  const x = { v: 0 };
  e.spawn('T0', function* (): Task<void> {
    for (let i = 1; i < 15; i++) yield `t0:${i}`;
    yield step('t0:write', X);
    x.v = 1;
    yield step('t0:fix', X);
    x.v = 2;
    for (let i = 17; i < 30; i++) yield `t0:${i}`;
  });
  e.spawn('T1', function* (): Task<void> {
    for (let i = 1; i < 15; i++) yield `t1:${i}`;
    yield step('t1:read', X);
    if (bug && x.v === 1) throw new Violation('torn-read', 'T1 read X between T0\'s write and its fix');
    for (let i = 16; i < 30; i++) yield `t1:${i}`;
  });
  e.spawn('T2', () => labels(29, 't2:'));
  e.spawn('T3', () => labels(29, 't3:'));
}

const HOT = new Set(['t0:write@X#', 't0:fix@X#', 't1:read@X#']);
const CAP = 50_000;

class GuidedStrategy implements Strategy {
  readonly name = 'guided';
  private i = 0;
  constructor(private readonly seed: number, private readonly uniform = 0) {}
  next(): Scheduler {
    return new GuidedScheduler(mixSeed(this.seed, this.i++), { depth: 2, h: 8, k: 120, hot: HOT, uniform: this.uniform });
  }
}

function runsToBug(strategy: Strategy): number {
  const r = explore(strategy, (sched) => {
    const e = new Execution({ scheduler: sched });
    planted(e);
    return e;
  }, { maxExecutions: CAP });
  if (r.failure) expect(r.failure.violation?.property).toBe('torn-read');
  return r.failure ? r.failureAt : CAP;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
}

describe('GuidedScheduler', () => {
  it('keys steps by label and object kind (ids dropped), objectless steps by label', () => {
    expect(objectKind('vma#12')).toBe('vma#');
    expect(objectKind('mm(1)->mmap_lock')).toBe('mm()->mmap_lock');
    expect(stepKey('vma_start_read:vm_lock_seq', 'vma#2')).toBe('vma_start_read:vm_lock_seq@vma#');
    expect(stepKey('move_ptes:ptep_get', '')).toBe('move_ptes:ptep_get@');
  });

  it('preempts only at communication points when every change point is guided', () => {
    let preemptions = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const e = new Execution({ trace: true, scheduler: new GuidedScheduler(seed, { depth: 3, h: 8, k: 120, hot: HOT, uniform: 0 }) });
      planted(e, false);
      expect(e.run().status).toBe('ok');
      // A preemption: the task that ran the previous step could have gone on, another ran.
      const tr = e.trace;
      for (let i = 1; i < tr.length; i++) {
        const prev = tr[i - 1]!;
        if (tr[i]!.task === prev.task) continue;
        const next = tr.slice(i).find((ev) => ev.task === prev.task);
        if (next === undefined) continue; // prev's task had finished
        preemptions++;
        // Right after a communication step of the preempted task, or right before one.
        const at = [prev.label, next.label];
        expect(at.some((l) => l === 't0:write' || l === 't0:fix' || l === 't1:read'), `preempted ${prev.label} → ${next.label} (seed ${seed})`).toBe(true);
      }
    }
    expect(preemptions).toBeGreaterThan(50);
  });

  it('PCT, with the same depth, preempts elsewhere (the check above can fail)', () => {
    let elsewhere = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const e = new Execution({ trace: true, scheduler: new PctStrategy(seed, 3, Infinity, 120).next()! });
      planted(e, false);
      e.run();
      const tr = e.trace;
      for (let i = 1; i < tr.length; i++) {
        const prev = tr[i - 1]!;
        if (tr[i]!.task === prev.task) continue;
        const next = tr.slice(i).find((ev) => ev.task === prev.task);
        if (next !== undefined && ![prev.label, next.label].some((l) => l === 't0:write' || l === 't0:fix' || l === 't1:read')) elsewhere++;
      }
    }
    expect(elsewhere).toBeGreaterThan(10);
  });

  it('finds a bug whose preemption is a communication point in fewer runs than PCT (10 seeds)', () => {
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const guided = seeds.map((seed) => runsToBug(new GuidedStrategy(seed)));
    const hybrid = seeds.map((seed) => runsToBug(new GuidedStrategy(seed, 0.5)));
    const pct = seeds.map((seed) => runsToBug(new PctStrategy(seed, 2, Infinity, 120)));
    console.log(`[guided-vs-pct] planted communication bug, 4 tasks × 30 steps, 10 seeds: runs to bug guided median ${median(guided)}, guided with half the change points uniform ${median(hybrid)}, PCT(d=2) ${median(pct)}`);
    expect(guided.every((n) => n < CAP)).toBe(true);
    expect(hybrid.every((n) => n < CAP)).toBe(true);
    expect(median(guided)).toBeLessThan(median(pct) / 4);
    expect(median(hybrid)).toBeLessThan(median(pct));
  });

  it('with no communication step it is PCT over the steps (uniform change points)', () => {
    const seeds = [1, 2, 3, 4, 5];
    const none = seeds.map((seed) => runsToBug({
      name: 'guided-empty', next: (() => { let i = 0; return () => new GuidedScheduler(mixSeed(seed, i++), { depth: 2, h: 8, k: 120, hot: new Set() }); })(),
    }));
    expect(none.every((n) => n < CAP)).toBe(true);
  });
});
