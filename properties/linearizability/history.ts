/**
 * A concurrent history of user-visible operations: each op has an invocation and a response at
 * global steps of the execution (the kernel simulation's trace), by a task (user thread).
 */
import { describeCall, type ModelOp, type ModelResult } from '../../model/ops.js';

export interface HistoryOp {
  /** Unique within the history. */
  id: number;
  /** The user task (thread) that performed it; a task's ops do not overlap. */
  task: number;
  op: ModelOp;
  /** undefined: still pending at the end of the history (it may or may not have taken effect). */
  result?: ModelResult;
  /** Global step of the invocation. */
  invoke: number;
  /** Global step of the response; Infinity when pending. */
  response: number;
}

export type History = readonly HistoryOp[];

export const isPending = (h: HistoryOp): boolean => h.result === undefined;

/** Well-formedness: unique ids, invoke < response, pending ⇔ response = Infinity, tasks sequential. */
export function validateHistory(history: History): string | null {
  const ids = new Set<number>();
  const byTask = new Map<number, HistoryOp[]>();
  for (const h of history) {
    if (ids.has(h.id)) return `duplicate op id ${h.id}`;
    ids.add(h.id);
    if (!(h.invoke < h.response)) return `op ${h.id} responds (${h.response}) before it is invoked (${h.invoke})`;
    if ((h.result === undefined) !== (h.response === Infinity)) {
      return `op ${h.id}: a pending op has response Infinity and no result, and only it`;
    }
    const list = byTask.get(h.task) ?? [];
    list.push(h);
    byTask.set(h.task, list);
  }
  for (const [task, list] of byTask) {
    list.sort((a, b) => a.invoke - b.invoke);
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.invoke < list[i - 1]!.response) return `task ${task}: op ${list[i]!.id} starts before op ${list[i - 1]!.id} returns`;
    }
  }
  return null;
}

/** "#3 T1 [4,9] P1 load(0x10000) = 5" */
export function describeHistoryOp(h: HistoryOp): string {
  const resp = h.response === Infinity ? '…' : String(h.response);
  return `#${h.id} T${h.task} [${h.invoke},${resp}] ${describeCall(h.op, h.result)}`;
}

export function describeHistory(history: History): string {
  return [...history].sort((a, b) => a.invoke - b.invoke).map(describeHistoryOp).join('\n');
}

/**
 * The prefix of the history up to global step t: ops invoked at or before t; those that respond
 * after t become pending.
 */
export function prefixAt(history: History, t: number): HistoryOp[] {
  return history
    .filter((h) => h.invoke <= t)
    .map((h) => (h.response <= t ? h : { ...h, result: undefined, response: Infinity }));
}

/** A builder for hand-written histories: ops get ids and global steps in call order. */
export class HistoryBuilder {
  private clock = 0;
  private nextId = 1;
  private readonly ops: HistoryOp[] = [];
  private readonly open = new Map<number, HistoryOp>();

  /** Invoke op on task; returns the op id. */
  invoke(task: number, op: ModelOp): number {
    const h: HistoryOp = { id: this.nextId++, task, op, invoke: ++this.clock, response: Infinity };
    this.ops.push(h);
    this.open.set(h.id, h);
    return h.id;
  }

  /** Respond to an open op. */
  respond(id: number, result: ModelResult): this {
    const h = this.open.get(id);
    if (!h) throw new Error(`op ${id} is not open`);
    h.result = result;
    h.response = ++this.clock;
    this.open.delete(id);
    return this;
  }

  /** Invoke and respond at once (no overlap with anything invoked later). */
  call(task: number, op: ModelOp, result: ModelResult): number {
    const id = this.invoke(task, op);
    this.respond(id, result);
    return id;
  }

  build(): HistoryOp[] {
    return this.ops.map((h) => ({ ...h }));
  }
}
