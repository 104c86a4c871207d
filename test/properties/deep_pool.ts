/**
 * The long campaigns of `npm run test:deep` on every core: the same campaign (the same units, folded
 * in order: cli/units.ts) on a pool of worker threads shared by a test file, instead of
 * runCampaign in the test's own thread. The plain `npm test` budgets stay in-thread.
 */
import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultBackend } from '../../cli/backend.js';
import { runCheck } from '../../cli/check.js';
import type { CliIO } from '../../cli/io.js';
import { WorkerPool } from '../../cli/pool.js';
import { resolveTarget } from '../../cli/target.js';
import type { StrategyName } from '../../properties/api.js';

export interface PooledResult {
  /** The first violation, as `property: message (counterexample file)`, or null. */
  readonly violation: string | null;
  readonly executions: number;
  readonly unknown: number;
  readonly injected: number;
}

export function deepPool(): WorkerPool {
  return new WorkerPool(availableParallelism(), process.cwd());
}

/** A campaign of configuration `config` on one family, on the pool; stops at the first violation. */
export async function pooledCampaign(pool: WorkerPool, config: string, family: string, strategy: StrategyName, runs: number, seed: number, faultInjection = 0): Promise<PooledResult> {
  const out = mkdtempSync(join(tmpdir(), 'faultline-deep-'));
  const io: CliIO = { stdout: () => {}, stderr: () => {}, stderrIsTTY: false, cwd: out };
  const target = await resolveTarget('check', defaultBackend, io, { config, scenario: family }, false);
  const r = await runCheck(defaultBackend, io, {
    target, strategy, runs, seed, out: 'cx', createdBy: 'test:deep', pool, ...(faultInjection > 0 ? { faultInjection } : {}),
  });
  const v = r.violations[0];
  return { violation: v ? `${v.property}: ${v.message} (${join(out, v.file)})` : null, executions: r.executions, unknown: r.unknown, injected: r.injected };
}
