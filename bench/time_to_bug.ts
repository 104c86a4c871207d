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
 *
 * Beside each mutant's directed family, the general generator (family 'random', no scenario
 * written for any bug) under the portfolio, also for 10 seeds: rows with family 'random', capped
 * at GENERAL_MAX_EXECUTIONS (the 20,000) and a budget of their own (GENERAL_BUDGET_MS),
 * shared the same way. `guidance` says whether the coverage-guided corpus drew the workloads.
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
/** The general generator's rows: the family, its execution cap, and their own budget. */
export const GENERAL_FAMILY = 'random';
export const GENERAL_MAX_EXECUTIONS = 20_000;
export const GENERAL_BUDGET_MS = 600_000;
export const GENERAL_MAX_CAMPAIGN_MS = 60_000;
/** Whether the general rows draw from the coverage-guided corpus (properties/corpus.ts). */
export const GENERAL_GUIDANCE: 'none' | 'corpus' = 'none';

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
  /** The general family's rows: 'corpus' when a coverage-guided corpus drew the workloads. */
  guidance?: 'none' | 'corpus';
}

export interface TimeToBugOptions {
  readonly mutants?: readonly Variant[];
  readonly strategies?: readonly StrategyName[];
  readonly seeds?: number;
  readonly budgetMs?: number;
  readonly maxExecutions?: number;
  readonly maxCampaignMs?: number;
  readonly minCampaignMs?: number;
  /** Also time the general generator on every mutant (default true), within its own budget. */
  readonly general?: boolean;
  readonly generalBudgetMs?: number;
  readonly generalMaxExecutions?: number;
  readonly generalMaxCampaignMs?: number;
  readonly generalGuidance?: 'none' | 'corpus';
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

interface Caps {
  readonly budgetMs: number;
  readonly maxExecutions: number;
  readonly minCampaignMs: number;
  readonly maxCampaignMs: number;
}

/** One row: `seeds` campaigns of one mutant × strategy × family, sharing `caps.budgetMs` with `left()` more to come. */
function timeRow(
  variant: Variant, strategy: StrategyName, family: string, seeds: number, caps: Caps, t0: number, left: () => number,
  stats: { minCap: number; maxCap: number; capped: number }, guidance?: 'none' | 'corpus',
): TimeToBugRow {
  const execs: number[] = [];
  const ms: number[] = [];
  const props = new Map<string, number>();
  let found = 0;
  let capped = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const remaining = caps.budgetMs - (performance.now() - t0);
    const cap = Math.max(caps.minCampaignMs, Math.min(caps.maxCampaignMs, remaining / left()));
    stats.minCap = Math.min(stats.minCap, cap);
    stats.maxCap = Math.max(stats.maxCap, cap);
    const r = runCampaign({
      variant, family, strategy, seed, runs: caps.maxExecutions, timeLimitMs: cap, stopAtFirst: true, shrink: false,
      ...(guidance ? { guidance } : {}),
    });
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
      if (r.executions < caps.maxExecutions && r.complete !== true) capped++;
    }
  }
  stats.capped += capped;
  const property = [...props].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  return {
    mutant: variant.name, strategy, family, seeds, found, medianExecutions: median(execs), medianMs: median(ms), property, capped,
    ...(guidance ? { guidance } : {}),
  };
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
  const stats = { minCap: Infinity, maxCap: 0, capped: 0 };
  const rows: TimeToBugRow[] = [];
  const caps: Caps = { budgetMs, maxExecutions, minCampaignMs, maxCampaignMs };
  for (const variant of mutants) {
    const family = familyOf(variant);
    for (const strategy of strategies) {
      rows.push(timeRow(variant, strategy, family, seeds, caps, t0, () => total - done++, stats));
    }
  }
  const elapsed = Math.round((performance.now() - t0) / 1000);
  const capText = (st: { minCap: number; maxCap: number }): string =>
    st.minCap === Infinity ? '' : st.minCap === st.maxCap ? `${Math.round(st.minCap)} ms` : `${Math.round(st.minCap)}–${Math.round(st.maxCap)} ms`;
  lastNotes = `${mutants.length} mutants × ${strategies.length} strategies × ${seeds} seeds in ${elapsed} s; each campaign capped at ` +
    `${maxExecutions} executions or ${capText(stats)} (the ${Math.round(budgetMs / 1000)} s budget shared among the campaigns left)` +
    (stats.capped > 0 ? `; ${stats.capped} campaign(s) stopped at their time limit without finding the bug` : '');

  if (opts.general ?? true) {
    // The general generator on every mutant, beside its directed family.
    const g0 = performance.now();
    const gcaps: Caps = {
      budgetMs: opts.generalBudgetMs ?? GENERAL_BUDGET_MS,
      maxExecutions: opts.generalMaxExecutions ?? GENERAL_MAX_EXECUTIONS,
      minCampaignMs: minCampaignMs,
      maxCampaignMs: Math.max(minCampaignMs, opts.generalMaxCampaignMs ?? GENERAL_MAX_CAMPAIGN_MS),
    };
    const guidance = opts.generalGuidance ?? GENERAL_GUIDANCE;
    const gtotal = mutants.length * seeds;
    let gdone = 0;
    const gstats = { minCap: Infinity, maxCap: 0, capped: 0 };
    for (const variant of mutants) {
      rows.push(timeRow(variant, 'portfolio', GENERAL_FAMILY, seeds, gcaps, g0, () => gtotal - gdone++, gstats, guidance));
    }
    const gel = Math.round((performance.now() - g0) / 1000);
    lastNotes += `; general generator (${GENERAL_FAMILY}, portfolio, guidance ${guidance}): ${mutants.length} mutants × ${seeds} seeds in ${gel} s, ` +
      `each capped at ${gcaps.maxExecutions} executions or ${capText(gstats)} (the ${Math.round(gcaps.budgetMs / 1000)} s budget shared)` +
      (gstats.capped > 0 ? `; ${gstats.capped} stopped at their time limit without finding the bug` : '');
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchTimeToBug().then((r) => console.log(JSON.stringify({ timeToBug: r, notes: notes() })));
}
