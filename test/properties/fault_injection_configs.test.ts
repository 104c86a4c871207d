/**
 * Every correct configuration passes every scenario family with fault injection on in half of the
 * scenarios (CampaignSpec.faultInjection): allocation failures and read errors at the kernel's
 * failure points, judged by the model's failure contracts. A small fixed-seed budget here; `npm
 * run test:deep` runs 5,000 portfolio executions per configuration and family.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GENERATIONS } from '../../impl/sim/config.js';
import { generationVariant } from '../../impl/sim/variant.js';
import { runCampaign } from '../../properties/campaign.js';
import { FAMILIES } from '../../properties/scenarios/index.js';
import { deepPool, pooledCampaign } from './deep_pool.js';

const DEEP = !!process.env.FAULTLINE_DEEP;
const RUNS = DEEP ? 5_000 : 24;
const SHARE = 0.5;
// Deep: the campaigns on every core (a pool of worker threads shared by the file).
const pool = DEEP ? deepPool() : undefined;
afterAll(async () => pool?.close());

describe('correct configurations pass every family with fault injection', () => {
  for (const g of GENERATIONS) {
    it(`${g.name}: every family, ${RUNS} portfolio executions each, fault injection in ${SHARE * 100}% of the scenarios`, async () => {
      const variant = generationVariant(g.name);
      let injected = 0;
      for (const fam of FAMILIES.keys()) {
        if (pool !== undefined) {
          const r = await pooledCampaign(pool, g.name, fam, 'portfolio', RUNS, 11, SHARE);
          expect(r.violation).toBeNull();
          expect(r.unknown).toBe(0);
          expect(r.executions).toBe(RUNS);
          injected += r.injected;
          continue;
        }
        const r = runCampaign({ variant, family: fam, strategy: 'portfolio', runs: RUNS, seed: 11, faultInjection: SHARE, stopAtFirst: true });
        const v = r.violations[0];
        expect(v ? `${fam}: ${v.property}: ${v.message} (schedule ${v.report.schedule})` : null).toBeNull();
        expect(r.unknown).toBe(0);
        expect(r.executions).toBe(RUNS);
        injected += r.injectedRuns ?? 0;
      }
      // The failures were really injected (not a campaign that never failed anything).
      expect(injected).toBeGreaterThan(FAMILIES.size);
    });
  }
});
