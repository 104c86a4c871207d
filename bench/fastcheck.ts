/**
 * bench section `fastcheck`: the cost of running faultline through fast-check. The same workloads
 * and the same schedule portfolio on v6.6, executed by `check`'s campaign loop
 * (properties/campaign.ts runCampaign, portfolio, no stop) and by `fc.check` of the public property
 * (properties/fastcheck: `mmProperty` over `family(name)`, `schedules()`), which adds fast-check's
 * generation, a fresh scenario per run (a campaign reuses one for 16 schedules) and the property
 * wrapper. Per family: executions per second and per CPU second each way (the best of ROUNDS
 * alternating rounds, after a warm-up), and `ratio` = fast-check's / campaign's executions per CPU
 * second (1 = no overhead; the target is ≥ 0.8).
 *
 *   [{ family, runs, checkExecPerSec, fcExecPerSec, checkExecPerCpuSec, fcExecPerCpuSec, ratio }]
 *
 * Families: `random` (the general generator, drawn unbiased by seed on both sides) and
 * `fork-vs-fault` (a small directed family: the per-run overhead shows most there).
 */
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { generationVariant } from '../impl/sim/variant.js';
import { runCampaign } from '../properties/campaign.js';
import { family, mmProperty, schedules, SCHEDULES_PER_WORKLOAD } from '../properties/fastcheck/index.js';

export const FAMILIES: readonly (readonly [name: string, runs: number])[] = [['random', 160], ['fork-vs-fault', 640]];
export const ROUNDS = 3;
export const CONFIG = 'v6.6';

export interface FastcheckRow {
  family: string;
  runs: number;
  checkExecPerSec: number;
  fcExecPerSec: number;
  checkExecPerCpuSec: number;
  fcExecPerCpuSec: number;
  ratio: number;
}

function timed(f: () => number): { wall: number; cpu: number; n: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const n = f();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6, n };
}

export async function benchFastcheck(opts: { rounds?: number; scale?: number } = {}): Promise<FastcheckRow[]> {
  const rounds = opts.rounds ?? ROUNDS;
  const variant = generationVariant(CONFIG);
  const rows: FastcheckRow[] = [];
  for (const [name, runs0] of FAMILIES) {
    const runs = Math.max(1, Math.round(runs0 * (opts.scale ?? 1)));
    const camp = (seed: number): number => {
      const r = runCampaign({ variant, family: name, strategy: 'portfolio', runs, seed, stopAtFirst: false, shrink: false });
      if (r.violations.length > 0) throw new Error(`${CONFIG} ${name}: ${r.violations[0]!.property} (a correct generation must pass)`);
      return r.executions;
    };
    const prop = mmProperty({ variant: CONFIG, workload: family(name), schedule: schedules('portfolio') });
    const viaFc = (seed: number): number => {
      const r = fc.check(prop, { seed, numRuns: Math.max(1, Math.round(runs / SCHEDULES_PER_WORKLOAD)) });
      if (r.failed) throw new Error(`${CONFIG} ${name} through fast-check: ${String((r.errorInstance as Error).message).split('\n')[0]}`);
      return r.numRuns * SCHEDULES_PER_WORKLOAD;
    };
    // Warm-up both paths (JIT).
    camp(99);
    viaFc(99);
    let best = { cw: 0, cc: 0, fw: 0, fcpu: 0 };
    for (let i = 0; i < rounds; i++) {
      const a = i % 2 === 0 ? timed(() => camp(i + 1)) : null;
      const b = timed(() => viaFc(i + 1));
      const c = a ?? timed(() => camp(i + 1));
      best = {
        cw: Math.max(best.cw, c.n / c.wall), cc: Math.max(best.cc, c.n / c.cpu),
        fw: Math.max(best.fw, b.n / b.wall), fcpu: Math.max(best.fcpu, b.n / b.cpu),
      };
    }
    rows.push({
      family: name, runs,
      checkExecPerSec: Math.round(best.cw), fcExecPerSec: Math.round(best.fw),
      checkExecPerCpuSec: Math.round(best.cc), fcExecPerCpuSec: Math.round(best.fcpu),
      ratio: Math.round((best.fcpu / best.cc) * 100) / 100,
    });
  }
  return rows;
}
