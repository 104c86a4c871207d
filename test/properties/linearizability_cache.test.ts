/**
 * The linearizability caches (properties/linearizability/model_cache.ts: interned states and the
 * model's transitions; checker.ts: verdicts of identical histories) change no answer: campaigns
 * that find bugs through the history check find the same violation at the same execution with
 * every cache dropped before each run, and a clean configuration stays clean.
 */
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../../impl/bugs/index.js';
import { generationVariant, type Variant } from '../../impl/sim/variant.js';
import { runCampaign } from '../../properties/campaign.js';
import { clearLinearizabilityCaches } from '../../properties/linearizability/checker.js';
import type { CampaignResult } from '../../properties/api.js';

function campaign(variant: Variant, family: string, cold: boolean, runs: number, stopAtFirst = true): CampaignResult {
  clearLinearizabilityCaches();
  return runCampaign({
    variant, family, strategy: 'portfolio', runs, seed: 11, stopAtFirst, shrink: false,
    ...(cold ? { onProgress: () => clearLinearizabilityCaches() } : {}),
  });
}

const summary = (r: CampaignResult) => ({
  executions: r.executions,
  unknown: r.unknown,
  violations: r.violations.map((v) => [v.property, v.executionsToFind, v.message, v.report.schedule]),
});

describe('linearizability caches', () => {
  for (const name of ['b17-swapin-aba', 'b26-uffd-vm-flags', 'b22-uffd-copy-events']) {
    const m = MUTANTS.find((v) => v.name === name);
    it.skipIf(!m)(`${name}: the same first violation, warm or cold`, () => {
      const family = m!.scenario ?? 'random';
      const warm = campaign(m!, family, false, 2000);
      const cold = campaign(m!, family, true, 2000);
      expect(warm.violations.length).toBeGreaterThan(0);
      expect(summary(warm)).toEqual(summary(cold));
    });
  }

  it('v6.6 random family: the same verdicts warm or cold (no violation)', () => {
    const v = generationVariant('v6.6');
    const warm = campaign(v, 'random', false, 150, false);
    const cold = campaign(v, 'random', true, 150, false);
    expect(summary(warm)).toEqual(summary(cold));
    expect(warm.violations).toEqual([]);
  });
});
