/**
 * bench section `explore`: the exhaustive explorer (properties/explore.ts) on unmap-during-io
 * (v6.7, the family's instance for seed 1, as `faultline explore --config v6.7 --scenario
 * unmap-during-io --seed 1` explores it) with partial-order reduction, at preemption bounds 1 and
 * 2: executions, distinct states, executions cut short by the reduction, whether the space was
 * covered, and seconds (wall clock, one core). Each bound has a time limit (default 120 s): a
 * search stopped by it reports `complete: false` and the figures it reached. `steps` and
 * `cpuSeconds` (CPU time of the process during the search) give the cost of a tracked step on a
 * shared machine, where the wall clock shows the neighbours' load (as standard's
 * executionsPerCpuSec does).
 */
import { findConfig } from '../properties/configs.js';
import { exploreScenario } from '../properties/explore.js';
import { FAMILIES } from '../properties/scenarios/index.js';
import { mixSeed } from '../impl/rt/schedulers/random.js';

export interface ExploreFigures {
  executions: number;
  /** Steps executed over all executions. */
  steps: number;
  states: number | null;
  prunedByReduction: number;
  complete: boolean;
  seconds: number;
  /** CPU seconds of the process during the search (user + system). */
  cpuSeconds: number;
}

export interface ExploreSection {
  scenario: string;
  config: string;
  bounds: Record<string, ExploreFigures>;
}

export const EXPLORE_FAMILY = 'unmap-during-io';
export const EXPLORE_CONFIG = 'v6.7';

export async function benchExplore(opts: { bounds?: readonly number[]; timeLimitMs?: number } = {}): Promise<ExploreSection> {
  const fam = FAMILIES.get(EXPLORE_FAMILY);
  if (fam === undefined) throw new Error(`no scenario family ${EXPLORE_FAMILY}`);
  const variant = findConfig(EXPLORE_CONFIG);
  if (variant === undefined) throw new Error(`no configuration ${EXPLORE_CONFIG}`);
  const scenario = fam.generate(mixSeed(1, 0)); // cli/explore.ts scenarioSeed(1)
  const bounds: Record<string, ExploreFigures> = {};
  for (const b of opts.bounds ?? [1, 2]) {
    const c0 = process.cpuUsage();
    const r = exploreScenario({ variant, scenario, preemptions: b, reduction: 'dpor', timeLimitMs: opts.timeLimitMs ?? 120_000, traceViolations: false });
    const cpu = process.cpuUsage(c0);
    if (r.violations.length > 0) throw new Error(`explore found ${r.violations[0]!.property} on ${EXPLORE_CONFIG} ${scenario.name}: a false alarm to triage`);
    bounds[String(b)] = {
      executions: r.executions, steps: r.steps, states: r.states, prunedByReduction: r.prunedByReduction, complete: r.complete,
      seconds: Math.round(r.elapsedMs / 100) / 10, cpuSeconds: Math.round((cpu.user + cpu.system) / 1000) / 1000,
    };
  }
  return { scenario: scenario.name, config: EXPLORE_CONFIG, bounds };
}
