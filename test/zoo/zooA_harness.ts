/**
 * Shared steps of zooA's zoo tests (b6, b7, b9, b10): a portfolio campaign on the mutant over its
 * family (found, shrunk to few tasks and preemptions), the base configuration clean on the same
 * family and budget, and the strict replay of the kept counterexample.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { runCampaign } from '../../properties/campaign.js';
import { runScenario } from '../../properties/runner.js';
import { parseCounterexample } from '../../properties/counterexample.js';
import type { FoundViolation, RunReport } from '../../properties/api.js';
import { MUTANTS } from '../../impl/bugs/index.js';
import { generationVariant, type Variant } from '../../impl/sim/variant.js';

export function zooMutant(name: string): Variant {
  const m = MUTANTS.find((v) => v.name === name);
  if (!m) throw new Error(`no mutant ${name} in impl/bugs/index.ts`);
  return m;
}

/** Found by the default portfolio (fixed seed) on its family; shrunk to ≤ maxTasks tasks and ≤ maxPreemptions. */
export function expectFoundShrunk(m: Variant, runs: number, property: string, maxTasks: number, maxPreemptions: number): FoundViolation {
  const r = runCampaign({ variant: m, family: m.scenario!, strategy: 'portfolio', runs, seed: 1 });
  expect(r.violations.length, `no violation in ${r.executions} executions`).toBeGreaterThan(0);
  const v = r.violations[0]!;
  expect(v.property, v.message).toBe(property);
  expect(v.tasks).toBeLessThanOrEqual(maxTasks);
  expect(v.report.preemptions).toBeLessThanOrEqual(maxPreemptions);
  return v;
}

/** The correct base configuration passes the family with the same budget (nothing unknown). */
export function expectBaseClean(m: Variant, runs: number): void {
  const r = runCampaign({ variant: generationVariant(m.base), family: m.scenario!, strategy: 'portfolio', runs, seed: 1 });
  expect(r.violations.map((v) => `${v.property}: ${v.message}`)).toEqual([]);
  expect(r.unknown).toBe(0);
  expect(r.executions).toBe(runs);
}

/** The kept counterexample replays strictly and breaks the same property with the same message. */
export function expectReplays(file: string, m: Variant): RunReport {
  const cx = parseCounterexample(readFileSync(file, 'utf8'), {}, file);
  expect(cx.mutant).toBe(m.name);
  expect(cx.scenario.family).toBe(m.scenario);
  const r = runScenario({ variant: m, scenario: cx.scenario, schedule: cx.schedule });
  expect(r.status).toBe('violation');
  expect(r.violation!.property).toBe(cx.violation.property);
  expect(r.violation!.message).toBe(cx.violation.message);
  return r;
}
