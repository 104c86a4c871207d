/**
 * bench section `guided` (run it with `npm run bench -- --only=guided`: it is not part of the
 * default run): communication-guided scheduling (properties/guided.ts, Snowboard's idea on PCT's
 * change points) against plain random, PCT and the portfolio on the same budget:
 *
 * - timeToBug: every zoo mutant × its own (directed) scenario family and the general `random`
 *   family × each strategy, SEEDS seeds; the median executions to the first violation (a seed that
 *   missed within MAX_EXECUTIONS counts as +∞; the median is null when half missed). Guided
 *   campaigns count their solo profiling runs as executions.
 *     [{ mutant, family, strategy, seeds, found, medianExecutions }]
 * - coverage: v6.6, every scenario family, RUNS executions each, seed 1, per strategy: step labels
 *   reached, lock-class pairs held together, and context switches seen as label pairs (`label the
 *   last task ran → label the next task ran`, summed over families: how many distinct
 *   interleavings at label granularity the budget bought).
 *     [{ strategy, labels, lockPairs, switchPairs }]
 *
 * The section shares BUDGET_MS among its campaigns like timeToBug does (a campaign is capped at
 * its share of what is left, at least MIN_CAMPAIGN_MS); `capped` counts the seeds a time cap
 * stopped before MAX_EXECUTIONS.
 */
import { performance } from 'node:perf_hooks';
import { MUTANTS } from '../impl/bugs/index.js';
import type { Variant } from '../impl/sim/variant.js';
import { generationVariant } from '../impl/sim/variant.js';
import type { StrategyName } from '../properties/api.js';
import { runCampaign } from '../properties/campaign.js';
import { CoverageCollector, coverageReport } from '../properties/coverage.js';
import { FAMILIES } from '../properties/scenarios/index.js';
import { familyOf } from './time_to_bug.js';

export const STRATEGIES: readonly StrategyName[] = ['random', 'pct', 'guided', 'portfolio'];
export const SEEDS = 10;
export const MAX_EXECUTIONS = 3000;
export const RUNS = 300;
export const BUDGET_MS = 420_000;
export const MIN_CAMPAIGN_MS = 200;
export const MAX_CAMPAIGN_MS = 10_000;

export interface GuidedTimeToBugRow {
  mutant: string;
  family: string;
  strategy: StrategyName;
  seeds: number;
  found: number;
  medianExecutions: number | null;
  capped: number;
}

export interface GuidedCoverageRow {
  strategy: StrategyName;
  runs: number;
  labels: number;
  lockPairs: number;
  switchPairs: number;
}

export interface GuidedSection {
  timeToBug: GuidedTimeToBugRow[];
  coverage: GuidedCoverageRow[];
}

export interface GuidedOptions {
  readonly mutants?: readonly Variant[];
  readonly strategies?: readonly StrategyName[];
  readonly seeds?: number;
  readonly runs?: number;
  readonly budgetMs?: number;
  readonly maxExecutions?: number;
  /** Also the general `random` family for each mutant (default true). */
  readonly general?: boolean;
}

let lastNotes: string | undefined;
export function notes(): string | undefined {
  return lastNotes;
}

function median(xs: readonly number[]): number | null {
  const s = [...xs].sort((a, b) => a - b);
  const m = s[(s.length - 1) >> 1];
  return m === undefined || !Number.isFinite(m) ? null : m;
}

export async function benchGuided(opts: GuidedOptions = {}): Promise<GuidedSection> {
  const mutants = opts.mutants ?? MUTANTS;
  const strategies = opts.strategies ?? STRATEGIES;
  const seeds = opts.seeds ?? SEEDS;
  const runs = opts.runs ?? RUNS;
  const budgetMs = opts.budgetMs ?? BUDGET_MS;
  const maxExecutions = opts.maxExecutions ?? MAX_EXECUTIONS;
  const general = opts.general ?? true;
  const t0 = performance.now();

  // Coverage on the same budget first (executions, not time: the figures do not depend on the machine).
  const coverage: GuidedCoverageRow[] = [];
  const v66 = generationVariant('v6.6');
  for (const strategy of strategies) {
    const all = new CoverageCollector();
    let switchPairs = 0;
    for (const family of FAMILIES.keys()) {
      const cov = new CoverageCollector({ switches: true });
      runCampaign({ variant: v66, family, strategy, runs, seed: 1, coverage: cov, stopAtFirst: false, shrink: false });
      switchPairs += cov.switches.size;
      all.merge(cov.toJSON());
    }
    const r = coverageReport(all.toJSON());
    coverage.push({ strategy, runs: r.runs, labels: r.labels.reached, lockPairs: r.lockPairs.reached, switchPairs });
  }

  const cells: { variant: Variant; family: string }[] = [];
  for (const variant of mutants) {
    cells.push({ variant, family: familyOf(variant) });
    if (general && familyOf(variant) !== 'random') cells.push({ variant, family: 'random' });
  }
  const total = cells.length * strategies.length * seeds;
  let done = 0;
  let cappedTotal = 0;
  const timeToBug: GuidedTimeToBugRow[] = [];
  for (const { variant, family } of cells) {
    for (const strategy of strategies) {
      const execs: number[] = [];
      let found = 0;
      let capped = 0;
      for (let seed = 1; seed <= seeds; seed++) {
        const left = budgetMs - (performance.now() - t0);
        const cap = Math.max(MIN_CAMPAIGN_MS, Math.min(MAX_CAMPAIGN_MS, left / (total - done)));
        const r = runCampaign({ variant, family, strategy, seed, runs: maxExecutions, timeLimitMs: cap, stopAtFirst: true, shrink: false });
        done++;
        const v = r.violations[0];
        if (v) {
          found++;
          execs.push(v.executionsToFind);
        } else {
          execs.push(Infinity);
          if (r.executions < maxExecutions) capped++;
        }
      }
      cappedTotal += capped;
      timeToBug.push({ mutant: variant.name, family, strategy, seeds, found, medianExecutions: median(execs), capped });
    }
  }
  lastNotes = cappedTotal > 0 ? `${cappedTotal} campaign(s) stopped by their time cap before ${maxExecutions} executions` : undefined;
  return { timeToBug, coverage };
}
