/**
 * Every correct configuration passes every scenario family: fixed seeds, a few hundred random and
 * PCT executions each (the long campaigns are `npm run test:deep` and `faultline verify`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GENERATIONS } from '../../impl/sim/config.js';
import { generationVariant } from '../../impl/sim/variant.js';
import { runCampaign } from '../../properties/campaign.js';
import { FAMILIES } from '../../properties/scenarios/index.js';
import { deepPool, pooledCampaign } from './deep_pool.js';

const DEEP = !!process.env.FAULTLINE_DEEP;
const RUNS = DEEP ? 20_000 : 120;
// Deep: the campaigns on every core (a pool of worker threads shared by the file).
const pool = DEEP ? deepPool() : undefined;
afterAll(async () => pool?.close());

describe('correct configurations pass every family', () => {
  for (const g of GENERATIONS) {
    describe(g.name, () => {
      for (const fam of FAMILIES.keys()) {
        it(`${fam}: ${RUNS} random + ${RUNS} PCT executions, no violation`, async () => {
          const variant = generationVariant(g.name);
          for (const strategy of ['random', 'pct'] as const) {
            if (pool !== undefined) {
              const r = await pooledCampaign(pool, g.name, fam, strategy, RUNS, 7);
              expect(r.violation).toBeNull();
              expect(r.unknown).toBe(0);
              expect(r.executions).toBe(RUNS);
              continue;
            }
            const r = runCampaign({ variant, family: fam, strategy, runs: RUNS, seed: 7 });
            const v = r.violations[0];
            expect(v ? `${v.property}: ${v.message} (schedule ${v.report.schedule})` : null).toBeNull();
            expect(r.unknown).toBe(0);
            expect(r.executions).toBe(RUNS);
          }
        });
      }
    });
  }
});
