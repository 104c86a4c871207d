/** A worker thread of cli/pool.ts: runs the tasks posted to it, one at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import { runUnitTask, workerHooks, type UnitTask } from './units.js';
import type { PoolTask } from './pool.js';

const ctrl = new Int32Array((workerData as { ctrl: SharedArrayBuffer }).ctrl);

async function handle(task: PoolTask): Promise<unknown> {
  const seq = task.seq ?? 0;
  const hooks = workerHooks(ctrl, seq);
  switch (task.kind) {
    case 'unit':
      return runUnitTask(task as UnitTask, hooks);
    case 'explore-unit': {
      const { runExploreUnitTask } = await import('./explore_units.js');
      return runExploreUnitTask(task as import('./explore_units.js').ExploreUnitTask, hooks);
    }
    case 'cell': {
      const { runCellTask } = await import('./verify.js');
      return runCellTask(task as PoolTask & { cell: unknown; cwd: string }, hooks);
    }
    case 'standard': {
      // bench/scale.ts: a batch of the standard scenario's runs.
      const { runStandardBatch } = await import('../bench/scale_worker.js');
      return runStandardBatch(task as PoolTask & { from: number; to: number }, hooks);
    }
    default:
      throw new Error(`unknown task kind ${task.kind}`);
  }
}

// Load the checker before saying ready (the pool's time limits count from then).
await import('../properties/campaign.js');
parentPort!.postMessage({ ready: true });

parentPort!.on('message', (task: PoolTask) => {
  handle(task).then(
    (result) => parentPort!.postMessage({ ok: true, result }),
    (e: unknown) => parentPort!.postMessage({ ok: false, error: e instanceof Error ? e.message.split('\n')[0] : String(e) }),
  );
});
