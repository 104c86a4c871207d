/**
 * Random linearizable histories for tests and benchmarks: each task runs a program of ops; a
 * seeded scheduler interleaves invocations, the moment each op takes effect in the model
 * (its linearization point, between invoke and response) and responses.
 */
import { step } from '../../model/spec.js';
import type { ModelOp, ModelResult } from '../../model/ops.js';
import type { MmState } from '../../model/state.js';
import type { HistoryOp } from './history.js';

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Generated {
  history: HistoryOp[];
  /** The order ops took effect in (ids): a witness linearization. */
  witness: number[];
}

/**
 * Interleave the tasks' programs. An op that is not enabled when it would take effect (a fault
 * waiting for userfaultfd) stays pending until enabled; ops still open at the end are pending.
 */
export function interleave(initial: MmState, programs: readonly (readonly ModelOp[])[], seed: number): Generated {
  const rnd = prng(seed);
  let state = initial;
  let clock = 0;
  let nextId = 1;
  const history: HistoryOp[] = [];
  const witness: number[] = [];
  const pc = programs.map(() => 0);
  const open: Array<{ h: HistoryOp; result?: ModelResult } | null> = programs.map(() => null);
  for (let guard = 0; guard < 100_000; guard++) {
    const live = programs.map((p, t) => t).filter((t) => open[t] !== null || pc[t]! < programs[t]!.length);
    if (live.length === 0) break;
    const t = live[Math.floor(rnd() * live.length)]!;
    const cur = open[t];
    if (cur === null || cur === undefined) {
      const op = programs[t]![pc[t]!++]!;
      const h: HistoryOp = { id: nextId++, task: t + 1, op, invoke: ++clock, response: Infinity };
      history.push(h);
      open[t] = { h };
    } else if (cur.result === undefined) {
      const o = step(state, cur.h.op);
      if ('blocked' in o) {
        if (live.every((u) => open[u]?.result === undefined && open[u] !== null && 'blocked' in step(state, open[u]!.h.op))) break;
        continue;
      }
      state = o.state;
      cur.result = o.result;
      witness.push(cur.h.id);
    } else {
      cur.h.result = cur.result;
      cur.h.response = ++clock;
      open[t] = null;
    }
  }
  return { history, witness };
}
