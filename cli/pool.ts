/**
 * A pool of worker threads (node:worker_threads) for --jobs N: each worker loads the checker once
 * (cli/pool_worker.js registers tsx, then pool_worker_main.ts) and runs tasks — a campaign unit
 * (properties/campaign.ts runUnit), a verify cell, a batch of the bench's standard scenario — one at
 * a time, in the order they are given.
 *
 * node:worker_threads directly rather than a pool library (piscina, tinypool): the coordinator needs
 * (1) speculative tasks stopped between two runs when an earlier unit found a violation — a shared
 * Int32Array the worker reads before each run (CTRL_CUTOFF); a library's cancellation terminates the
 * thread, and its restart costs a second of loading the kernel again; (2) executions and violations
 * counted live for the progress line (CTRL_EXECUTIONS, CTRL_VIOLATIONS, Atomics.add per run, no
 * message per run); (3) nothing else: a FIFO queue and one task per idle thread are 100 lines, and no
 * new dependency.
 */
import { Worker } from 'node:worker_threads';
import { BackendError } from './backend.js';

/** Slots of the shared control array. */
export const CTRL_CUTOFF = 0;
export const CTRL_EXECUTIONS = 1;
export const CTRL_VIOLATIONS = 2;
const CTRL_SLOTS = 4;

export interface PoolTask {
  readonly kind: string;
  /** Dispatch number: a unit with seq > the cutoff stops before its next run. */
  readonly seq?: number;
  readonly [key: string]: unknown;
}

interface Pending {
  readonly task: PoolTask;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  current: Pending | null;
  dead: boolean;
}

export class WorkerPool {
  readonly ctrl: Int32Array;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private closed = false;
  private readyCount = 0;
  private readonly readyWaiters: (() => void)[] = [];

  constructor(readonly size: number, cwd: string) {
    this.ctrl = new Int32Array(new SharedArrayBuffer(CTRL_SLOTS * 4));
    this.ctrl[CTRL_CUTOFF] = 0x7fffffff;
    const entry = new URL('./pool_worker.js', import.meta.url);
    for (let i = 0; i < size; i++) {
      // execArgv []: the entry registers tsx itself (a parent started by `tsx` would register it twice).
      const worker = new Worker(entry, { workerData: { ctrl: this.ctrl.buffer, cwd }, execArgv: [], stdout: false, stderr: false });
      const slot: Slot = { worker, current: null, dead: false };
      worker.on('message', (m: { ready?: true; ok: boolean; result?: unknown; error?: string }) => {
        if (m.ready === true) {
          this.readyCount++;
          this.wakeReady();
          return;
        }
        const p = slot.current;
        slot.current = null;
        if (p) {
          if (m.ok) p.resolve(m.result);
          else p.reject(new BackendError(m.error ?? 'worker task failed'));
        }
        this.pump();
      });
      const die = (why: string) => {
        if (slot.dead) return;
        slot.dead = true;
        const p = slot.current;
        slot.current = null;
        if (p) p.reject(new BackendError(`worker thread ${why}`));
        if (this.slots.every((s) => s.dead)) for (const q of this.queue.splice(0)) q.reject(new BackendError(`no worker thread left (${why})`));
        this.wakeReady();
        this.pump();
      };
      worker.on('error', (e) => die(`failed: ${e.message.split('\n')[0]}`));
      worker.on('exit', (code) => die(`exited with code ${code}`));
      this.slots.push(slot);
    }
  }

  /** Resolves once every worker has loaded the checker (or died): time limits count from then. */
  ready(): Promise<void> {
    return new Promise((resolve) => {
      this.readyWaiters.push(resolve);
      this.wakeReady();
    });
  }

  private wakeReady(): void {
    if (this.readyCount + this.slots.filter((s) => s.dead).length < this.size) return;
    for (const w of this.readyWaiters.splice(0)) w();
  }

  /** Run a task on the first idle worker (FIFO). */
  run<T>(task: PoolTask): Promise<T> {
    if (this.closed) return Promise.reject(new BackendError('worker pool is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ task, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** A new ordered run: nothing is cut off. */
  resetCutoff(): void {
    Atomics.store(this.ctrl, CTRL_CUTOFF, 0x7fffffff);
  }

  /** Units dispatched after `seq` stop before their next run. */
  cutoff(seq: number): void {
    if (seq < Atomics.load(this.ctrl, CTRL_CUTOFF)) Atomics.store(this.ctrl, CTRL_CUTOFF, seq);
  }

  get executions(): number {
    return Atomics.load(this.ctrl, CTRL_EXECUTIONS);
  }

  get violations(): number {
    return Atomics.load(this.ctrl, CTRL_VIOLATIONS);
  }

  private pump(): void {
    for (const s of this.slots) {
      if (this.queue.length === 0) return;
      if (s.dead || s.current !== null) continue;
      const p = this.queue.shift()!;
      s.current = p;
      s.worker.postMessage(p.task);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new BackendError('worker pool closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

/**
 * Run tasks in order over the pool, `pool.size` at a time, and hand their results to `consume` in
 * the same order; consume returns false to stop (later tasks are not dispatched, and those running
 * stop before their next run). The next task is asked for only when a worker is free (`next`
 * returns null at the end), so an unbounded campaign is generated lazily.
 */
export async function runOrdered<R>(pool: WorkerPool, next: () => PoolTask | null, consume: (task: PoolTask, result: R) => boolean): Promise<void> {
  const results = new Map<number, { task: PoolTask; result: R }>();
  const running = new Map<number, Promise<void>>();
  let seq = 0;
  let consumed = 0;
  let stopped = false;
  let exhausted = false;
  let failure: Error | null = null;
  pool.resetCutoff();
  const drain = () => {
    while (!stopped && results.has(consumed)) {
      const { task, result } = results.get(consumed)!;
      results.delete(consumed);
      let go: boolean;
      try {
        go = consume(task, result);
      } catch (e) {
        failure ??= e instanceof Error ? e : new Error(String(e));
        go = false;
      }
      if (!go) {
        stopped = true;
        pool.cutoff(consumed);
      }
      consumed++;
    }
  };
  for (;;) {
    while (!stopped && !exhausted && failure === null && running.size < pool.size) {
      const t = next();
      if (t === null) {
        exhausted = true;
        break;
      }
      const s = seq++;
      const task = { ...t, seq: s };
      running.set(s, pool.run<R>(task).then(
        (result) => {
          running.delete(s);
          results.set(s, { task, result });
          drain();
        },
        (e: Error) => {
          running.delete(s);
          if (failure === null) failure = e;
          stopped = true;
          pool.cutoff(-1);
        },
      ));
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  if (failure !== null) throw failure;
}
