/**
 * bench section `timeToBug`: for every mutant of the zoo (impl/bugs MUTANTS, read at run time) and
 * every strategy (random, pct, dfs, portfolio), how long the checker takes to find the bug:
 * runCampaign on the mutant's own scenario family with stopAtFirst and no shrinking, for 10 seeds;
 * the median executions and milliseconds to the first violation.
 *
 *   [{ mutant, strategy, seeds, found, medianExecutions, medianMs, property, capped }]
 *
 * `found` counts the seeds that found a violation within their cap. A seed that did not counts as
 * +∞ in the medians, so a median is null when half the seeds or more missed. Each campaign is
 * capped at MAX_EXECUTIONS executions and a time limit that shares the section's budget among
 * the campaigns still to run (between MIN_CAMPAIGN_MS and MAX_CAMPAIGN_MS): the whole section
 * stays within BUDGET_MS on one core however many mutants the zoo has. `capped` counts the seeds
 * that stopped at their time limit, not at MAX_EXECUTIONS; notes() says which caps applied.
 */
import { performance } from 'node:perf_hooks';
import { MUTANTS } from '../impl/bugs/index.js';
import type { Variant } from '../impl/sim/variant.js';
import { generationVariant } from '../impl/sim/variant.js';
import type { StrategyName } from '../properties/api.js';
import { runCampaign } from '../properties/campaign.js';
import { FAMILIES } from '../properties/scenarios/index.js';

export const STRATEGIES: readonly StrategyName[] = ['random', 'pct', 'dfs', 'portfolio'];
export const SEEDS = 10;
export const MAX_EXECUTIONS = 5000;
/** The whole section's wall-clock budget (one core). */
export const BUDGET_MS = 240_000;
export const MIN_CAMPAIGN_MS = 250;
export const MAX_CAMPAIGN_MS = 10_000;

export interface TimeToBugRow {
  mutant: string;
  strategy: StrategyName;
  /** The scenario family the campaigns drew from (the mutant's own). */
  family: string;
  seeds: number;
  /** Seeds that found a violation within their cap. */
  found: number;
  medianExecutions: number | null;
  medianMs: number | null;
  /** The property most seeds reported (null if none found it). */
  property: string | null;
  /** Seeds stopped by their time limit (not by MAX_EXECUTIONS) without finding the bug. */
  capped: number;
}

export interface TimeToBugOptions {
  readonly mutants?: readonly Variant[];
  readonly strategies?: readonly StrategyName[];
  readonly seeds?: number;
  readonly budgetMs?: number;
  readonly maxExecutions?: number;
  readonly maxCampaignMs?: number;
  readonly minCampaignMs?: number;
}

let lastNotes: string | undefined;

/** What the last run capped (bench/index.ts prints it under notes.timeToBug). */
export function notes(): string | undefined {
  return lastNotes;
}

/** The family a mutant is found with: its own (variant.scenario), else 'random'. */
export function familyOf(v: Variant): string {
  return v.scenario !== undefined && FAMILIES.has(v.scenario) ? v.scenario : 'random';
}

function median(xs: readonly number[]): number | null {
  const s = [...xs].sort((a, b) => a - b);
  const m = s[(s.length - 1) >> 1];
  return m === undefined || !Number.isFinite(m) ? null : Math.round(m * 10) / 10;
}

export async function benchTimeToBug(opts: TimeToBugOptions = {}): Promise<TimeToBugRow[]> {
  const mutants = opts.mutants ?? MUTANTS;
  const strategies = opts.strategies ?? STRATEGIES;
  const seeds = opts.seeds ?? SEEDS;
  const budgetMs = opts.budgetMs ?? BUDGET_MS;
  const maxExecutions = opts.maxExecutions ?? MAX_EXECUTIONS;
  const maxCampaignMs = opts.maxCampaignMs ?? MAX_CAMPAIGN_MS;
  const minCampaignMs = Math.min(opts.minCampaignMs ?? MIN_CAMPAIGN_MS, maxCampaignMs);

  // Warm the JIT on the base configuration first, so the first mutant's milliseconds are not
  // the compiler's.
  runCampaign({ variant: generationVariant('v6.6'), family: 'random', strategy: 'portfolio', runs: 300, seed: 1, timeLimitMs: 1500, stopAtFirst: false, shrink: false });

  const t0 = performance.now();
  const total = mutants.length * strategies.length * seeds;
  let done = 0;
  let minCap = Infinity;
  let maxCap = 0;
  let cappedTotal = 0;
  const rows: TimeToBugRow[] = [];
  for (const variant of mutants) {
    const family = familyOf(variant);
    for (const strategy of strategies) {
      const execs: number[] = [];
      const ms: number[] = [];
      const props = new Map<string, number>();
      let found = 0;
      let capped = 0;
      for (let seed = 1; seed <= seeds; seed++) {
        const remaining = budgetMs - (performance.now() - t0);
        const cap = Math.max(minCampaignMs, Math.min(maxCampaignMs, remaining / (total - done)));
        minCap = Math.min(minCap, cap);
        maxCap = Math.max(maxCap, cap);
        const r = runCampaign({
          variant, family, strategy, seed, runs: maxExecutions, timeLimitMs: cap, stopAtFirst: true, shrink: false,
        });
        done++;
        const v = r.violations[0];
        if (v) {
          found++;
          execs.push(v.executionsToFind);
          ms.push(r.elapsedMs);
          props.set(v.property, (props.get(v.property) ?? 0) + 1);
        } else {
          execs.push(Infinity);
          ms.push(Infinity);
          // A DFS campaign that covered its space stops early; anything else below the
          // execution cap stopped at its time limit.
          if (r.executions < maxExecutions && r.complete !== true) capped++;
        }
      }
      cappedTotal += capped;
      const property = [...props].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
      rows.push({ mutant: variant.name, strategy, family, seeds, found, medianExecutions: median(execs), medianMs: median(ms), property, capped });
    }
  }
  const elapsed = Math.round((performance.now() - t0) / 1000);
  const capText = minCap === Infinity ? '' : minCap === maxCap ? `${Math.round(minCap)} ms` : `${Math.round(minCap)}–${Math.round(maxCap)} ms`;
  lastNotes = `${mutants.length} mutants × ${strategies.length} strategies × ${seeds} seeds in ${elapsed} s; each campaign capped at ` +
    `${maxExecutions} executions or ${capText} (the ${Math.round(budgetMs / 1000)} s budget shared among the campaigns left)` +
    (cappedTotal > 0 ? `; ${cappedTotal} campaign(s) stopped at their time limit without finding the bug` : '');
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchTimeToBug().then((r) => console.log(JSON.stringify({ timeToBug: r, notes: notes() })));
}
