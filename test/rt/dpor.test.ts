/**
 * DPOR (impl/rt/schedulers/dpor.ts) against the plain DFS on random small programs: tasks that
 * read and write shared variables of a tracked heap, take a lock, and record what they read. For
 * every program and preemption bound the reduced search must reach exactly the outcomes (final
 * variables, what each task read, deadlock or not) the unreduced one reaches, in fewer or as many
 * executions; and a footprint that misses a write must make it fail (the comparison can fail).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Execution } from '../../impl/rt/execution.js';
import { block, type Task } from '../../impl/rt/task.js';
import { DfsStrategy } from '../../impl/rt/schedulers/dfs.js';
import { DporStrategy } from '../../impl/rt/schedulers/dpor.js';
import type { Scheduler } from '../../impl/rt/scheduler.js';
import { enumerateSubtrees, type ForcedChoice } from '../../impl/rt/schedulers/subtrees.js';
import { sim_track_begin, sim_track_end, sim_track_new_exploration, sim_track_static } from '../../impl/rt/track.js';

type Op = { k: 'r'; v: number } | { k: 'w'; v: number; x: number } | { k: 'lock' } | { k: 'unlock' } | { k: 'wait'; v: number };

interface World {
  vars: number[];
  lock: { owner: number };
  seen: number[][];
}

function* taskBody(w: World, id: number, ops: readonly Op[]): Task<void> {
  let acc = id + 1;
  let held = false;
  for (const op of ops) {
    if (op.k === 'lock') {
      if (held) continue;
      yield block('lock', () => w.lock.owner === -1);
      w.lock.owner = id;
      held = true;
    } else if (op.k === 'unlock') {
      if (!held) continue;
      w.lock.owner = -1;
      held = false;
      yield 'unlock';
    } else if (op.k === 'wait') {
      // A wait on a flag another task sets (an I/O completion, a queued callback): not a lock.
      yield block('wait', () => w.vars[op.v]! !== 0);
      acc = acc * 5 + w.vars[op.v]!;
    } else if (op.k === 'r') {
      const x = w.vars[op.v]!;
      w.seen[id]!.push(x);
      acc = acc * 3 + x;
      yield 'read';
    } else {
      w.vars[op.v] = (acc + op.x) % 7;
      yield 'write';
    }
  }
  if (held) w.lock.owner = -1;
}

/** One run; its outcome as a string. */
function runOnce(program: readonly (readonly Op[])[], sched: Scheduler, tracked: boolean, untracked?: (w: World) => void): string {
  const w: World = { vars: [0, 0, 0], lock: { owner: -1 }, seen: program.map(() => []) };
  if (untracked) untracked(w);
  const run = sched as Scheduler & { stepDone?: unknown };
  if (tracked) sim_track_begin(w);
  let outcome;
  try {
    const exec = new Execution({ scheduler: sched, ...(tracked ? { observer: run as never } : {}) });
    program.forEach((ops, id) => exec.spawn(`T${id}`, () => taskBody(w, id, ops)));
    outcome = exec.run();
  } finally {
    if (tracked) sim_track_end();
  }
  if (outcome.status === 'pruned') return '';
  return JSON.stringify({ s: outcome.status, v: w.vars, seen: w.seen, d: outcome.violation?.property ?? null });
}

function outcomesDfs(program: readonly (readonly Op[])[], bound: number): { set: Set<string>; runs: number } {
  const dfs = new DfsStrategy({ preemptionBound: bound });
  const set = new Set<string>();
  let runs = 0;
  for (let s = dfs.next(); s; s = dfs.next()) {
    set.add(runOnce(program, s, false));
    runs++;
  }
  expect(dfs.complete).toBe(true);
  return { set, runs };
}

function outcomesDpor(program: readonly (readonly Op[])[], bound: number, untracked?: (w: World) => void, forced?: readonly ForcedChoice[]): { set: Set<string>; runs: number } {
  sim_track_new_exploration();
  const dpor = new DporStrategy({ preemptionBound: bound, ...(forced !== undefined ? { forced } : {}) });
  const set = new Set<string>();
  let runs = 0;
  for (let run = dpor.next(); run; run = dpor.next()) {
    const sched = run;
    let o = '';
    const w: World = { vars: [0, 0, 0], lock: { owner: -1 }, seen: program.map(() => []) };
    if (untracked) untracked(w);
    sim_track_begin(w);
    let outcome;
    try {
      const exec = new Execution({ scheduler: sched, observer: sched });
      program.forEach((ops, id) => exec.spawn(`T${id}`, () => taskBody(w, id, ops)));
      outcome = exec.run();
    } finally {
      sim_track_end();
    }
    dpor.finish(outcome);
    if (outcome.status !== 'pruned') o = JSON.stringify({ s: outcome.status, v: w.vars, seen: w.seen, d: outcome.violation?.property ?? null });
    if (o !== '') set.add(o);
    runs++;
  }
  expect(dpor.complete).toBe(true);
  return { set, runs };
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('r' as const), v: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ k: fc.constant('w' as const), v: fc.integer({ min: 0, max: 2 }), x: fc.integer({ min: 0, max: 6 }) }),
  fc.constant({ k: 'lock' } as const),
  fc.constant({ k: 'unlock' } as const),
);

const sorted = (s: Set<string>) => [...s].sort();

/** Programs that also wait for flags (a variable becoming non-zero), which only another task's write ends. */
const waitOpArb: fc.Arbitrary<Op> = fc.oneof(
  opArb,
  fc.record({ k: fc.constant('wait' as const), v: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ k: fc.constant('w' as const), v: fc.integer({ min: 0, max: 2 }), x: fc.integer({ min: 1, max: 6 }) }),
);

describe('DporStrategy', () => {
  it('reaches the outcomes the plain DFS reaches (unbounded, 2 tasks)', () => {
    fc.assert(fc.property(fc.array(fc.array(opArb, { minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 2 }), (program) => {
      const a = outcomesDfs(program, Infinity);
      const b = outcomesDpor(program, Infinity);
      expect(sorted(b.set)).toEqual(sorted(a.set));
      expect(b.runs).toBeLessThanOrEqual(a.runs);
    }), { numRuns: 60, seed: 11 });
  });

  it('reaches the outcomes the plain DFS reaches within preemption bounds 0, 1, 2 (3 tasks)', () => {
    fc.assert(fc.property(fc.array(fc.array(opArb, { minLength: 1, maxLength: 3 }), { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 2 }), (program, bound) => {
      const a = outcomesDfs(program, bound);
      const b = outcomesDpor(program, bound);
      expect(sorted(b.set)).toEqual(sorted(a.set));
    }), { numRuns: 60, seed: 12 });
  });

  it('reaches the outcomes the plain DFS reaches with flag waits (unbounded, 2 and 3 tasks)', () => {
    fc.assert(fc.property(fc.array(fc.array(waitOpArb, { minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 3 }), (program) => {
      const a = outcomesDfs(program, Infinity);
      const b = outcomesDpor(program, Infinity);
      expect(sorted(b.set)).toEqual(sorted(a.set));
      expect(b.runs).toBeLessThanOrEqual(a.runs);
    }), { numRuns: 80, seed: 21 });
  });

  it('reaches the outcomes the plain DFS reaches with flag waits within preemption bounds 0, 1, 2 (3 tasks)', () => {
    fc.assert(fc.property(fc.array(fc.array(waitOpArb, { minLength: 1, maxLength: 4 }), { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 2 }), (program, bound) => {
      const a = outcomesDfs(program, bound);
      const b = outcomesDpor(program, bound);
      expect(sorted(b.set)).toEqual(sorted(a.set));
    }), { numRuns: 80, seed: 22 });
  });

  it('runs one execution for tasks that touch nothing in common', () => {
    const program: Op[][] = [[{ k: 'w', v: 0, x: 1 }, { k: 'r', v: 0 }], [{ k: 'w', v: 1, x: 2 }, { k: 'r', v: 1 }], [{ k: 'w', v: 2, x: 3 }]];
    expect(outcomesDfs(program, Infinity).runs).toBeGreaterThan(100);
    expect(outcomesDpor(program, Infinity).runs).toBe(1);
  });

  it('misses outcomes when a footprint misses a write (the comparison can fail)', () => {
    // T0 writes v0, T1 reads it: two outcomes. With the variables left out of the tracked heap,
    // nothing conflicts and the reduction wrongly runs one order only.
    const program: Op[][] = [[{ k: 'w', v: 0, x: 4 }], [{ k: 'r', v: 0 }]];
    expect(outcomesDfs(program, Infinity).set.size).toBe(2);
    expect(outcomesDpor(program, Infinity).set.size).toBe(2);
    expect(outcomesDpor(program, Infinity, (w) => sim_track_static(w.vars)).set.size).toBe(1);
  });
});

describe('DporStrategy on subtrees (forced prefixes: explore --split)', () => {
  /** The union of the subtrees' outcomes, each subtree searched by its own DPOR. */
  function outcomesSplit(program: readonly (readonly Op[])[], bound: number, depth: number): { set: Set<string>; subtrees: number } {
    const subs = enumerateSubtrees((s) => void runOnce(program, s, false), depth, bound);
    const set = new Set<string>();
    for (const st of subs) for (const o of outcomesDpor(program, bound, undefined, st.prefix).set) set.add(o);
    return { set, subtrees: subs.length };
  }

  it('the subtrees together reach the outcomes the plain DFS reaches, within preemption bounds 0, 1, 2 (3 tasks, depth 1–3)', () => {
    let split = 0;
    fc.assert(fc.property(fc.array(fc.array(opArb, { minLength: 1, maxLength: 3 }), { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 3 }), (program, bound, depth) => {
      const a = outcomesDfs(program, bound);
      const b = outcomesSplit(program, bound, depth);
      if (b.subtrees > 1) split++;
      expect(sorted(b.set)).toEqual(sorted(a.set));
    }), { numRuns: 60, seed: 13 });
    expect(split).toBeGreaterThan(30);
  });

  it('one subtree alone misses outcomes the others reach (the union is needed)', () => {
    const program: Op[][] = [[{ k: 'w', v: 0, x: 4 }], [{ k: 'r', v: 0 }]];
    const subs = enumerateSubtrees((s) => void runOnce(program, s, false), 1, Infinity);
    expect(subs.length).toBe(2);
    const each = subs.map((st) => outcomesDpor(program, Infinity, undefined, st.prefix).set.size);
    expect(each).toEqual([1, 1]);
    expect(outcomesSplit(program, Infinity, 1).set.size).toBe(2);
  });
});
