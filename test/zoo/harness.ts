/**
 * Shared steps of the zoo tests: a portfolio campaign on a mutant (or a configuration) over a
 * family (found, shrunk to few tasks and preemptions), the base configuration clean on the same
 * family and budget, and the strict replay of the kept counterexample.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { runCampaign } from '../../properties/campaign.js';
import { runScenario } from '../../properties/runner.js';
import { parseCounterexample } from '../../properties/counterexample.js';
import type { CampaignResult, FoundViolation, RunReport } from '../../properties/api.js';
import { MUTANTS } from '../../impl/bugs/index.js';
import { generationVariant, type Variant } from '../../impl/sim/variant.js';

export function mutant(name: string): Variant {
  const m = MUTANTS.find((v) => v.name === name);
  if (!m) throw new Error(`no mutant ${name} in impl/bugs/index.ts`);
  return m;
}

export function campaign(variant: Variant, family: string, runs: number, seed = 1): CampaignResult {
  return runCampaign({ variant, family, strategy: 'portfolio', runs, seed });
}

/** The mutant is found on its family with the default strategy, and shrinks to ≤ 3 tasks. */
export function expectFound(variant: Variant, runs: number, properties: readonly string[], seed = 1): CampaignResult {
  const r = campaign(variant, variant.scenario!, runs, seed);
  expect(r.violations.length, `no violation in ${r.executions} executions`).toBeGreaterThan(0);
  const v = r.violations[0]!;
  expect(properties).toContain(v.property);
  expect(v.tasks).toBeLessThanOrEqual(3);
  return r;
}

/** Found by the default portfolio (seed 1) on its family; shrunk to ≤ maxTasks tasks and ≤ maxPreemptions. */
export function expectFoundShrunk(m: Variant, runs: number, property: string, maxTasks: number, maxPreemptions: number): FoundViolation {
  const r = campaign(m, m.scenario!, runs);
  expect(r.violations.length, `no violation in ${r.executions} executions`).toBeGreaterThan(0);
  const v = r.violations[0]!;
  expect(v.property, v.message).toBe(property);
  expect(v.tasks).toBeLessThanOrEqual(maxTasks);
  expect(v.report.preemptions).toBeLessThanOrEqual(maxPreemptions);
  return v;
}

/** The correct base configuration passes the same family with the same budget (nothing unknown). */
export function expectBaseClean(variant: Variant, runs: number, seed = 1): void {
  const r = campaign(generationVariant(variant.base), variant.scenario!, runs, seed);
  expect(r.violations.map((v) => `${v.property}: ${v.message}`)).toEqual([]);
  expect(r.unknown).toBe(0);
  expect(r.executions).toBe(runs);
}

/** The kept counterexample replays strictly and breaks the same property with the same message. */
export function expectReplays(file: string, variant: Variant): RunReport {
  const cx = parseCounterexample(readFileSync(file, 'utf8'), {}, file);
  expect(cx.mutant ?? cx.config).toBe(variant.name);
  if (cx.mutant !== undefined) expect(cx.scenario.family).toBe(variant.scenario);
  const r = runScenario({ variant, scenario: cx.scenario, schedule: cx.schedule });
  expect(r.status).toBe('violation');
  expect(r.violation!.property).toBe(cx.violation.property);
  expect(r.violation!.message).toBe(cx.violation.message);
  return r;
}
