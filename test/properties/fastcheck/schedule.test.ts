/**
 * properties/fastcheck/schedule.ts: the public schedule arbitrary places PCT's change points after
 * each scenario's setup (as `check`'s campaigns do), read from the run itself — on a scenario
 * whose setup is longer than most k drawn, every change point falls in the concurrent part, where
 * draws counted from step 0 (`from: 'start'`) mostly fall in the setup; and a known finding
 * (io-no-revalidate on unmap-during-io) takes no more runs than with change points from step 0.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PctScheduler } from '../../../impl/rt/schedulers/pct.js';
import { family, pctSchedules, scenarioOf, schedulerOf, schedules, SetupRelativePct, type LayoutDraw, type Schedule } from '../../../properties/fastcheck/index.js';
import { resolveVariant } from '../../../properties/campaign.js';
import { runScenario } from '../../../properties/runner.js';
import { load, munmap, store } from '../../../properties/scenarios/build.js';

const region = (r: Partial<LayoutDraw['regions'][number]> & Pick<LayoutDraw['regions'][number], 'kind' | 'pages'>): LayoutDraw['regions'][number] => ({
  place: 'adjacent', gap: 1, prot: 'rw', shared: false, file: 0, offset: 0, populated: 0, swapped: 0, cached: 0, policy: null, uffd: false, ...r,
});

/** A long setup: 2 × 24 anonymous pages written and 8 file pages read into the page cache before the threads start. */
const LONG_SETUP: LayoutDraw = {
  regions: [
    region({ kind: 'anon', pages: 24, populated: 0xffffff }),
    region({ kind: 'anon', pages: 24, populated: 0xffffff }),
    region({ kind: 'file', pages: 8, place: 'gap', cached: 0xff }),
  ],
  fileSizes: [8, 2],
};
// Anonymous pages from 8 on, the file after them (scenarioOf's placement: the runs below must pass).
const longSetup = scenarioOf(LONG_SETUP, [[load(1, 10), store(1, 40, 3)], [munmap(1, 30, 8), load(1, 12)]], 'long-setup');

describe('schedules(): PCT change points after the setup', () => {
  const v66 = resolveVariant('v6.6');
  const drawn = fc.sample(schedules('pct'), { seed: 5, numRuns: 30 }).filter((s): s is Extract<Schedule, { strategy: 'pct' }> => s.strategy === 'pct');

  it('on a scenario with a long setup, every drawn change point falls in the k steps after it', () => {
    expect(drawn.length).toBe(30);
    for (const s of drawn) {
      const sched = schedulerOf(s);
      expect(sched).toBeInstanceOf(SetupRelativePct);
      const r = runScenario({ variant: v66, scenario: longSetup, scheduler: sched });
      expect(r.status, r.error ?? r.violation?.message).toBe('pass');
      // The setup is longer than most k drawn (64–256): counted from step 0 it would hold most change points.
      expect(r.setupSteps!).toBeGreaterThan(200);
      const pct = sched as SetupRelativePct;
      expect(pct.setupEnd).toBe(r.setupSteps);
      const points = pct.changePoints!;
      expect(points.length).toBe(s.depth - 1);
      for (const p of points) {
        expect(p).toBeGreaterThanOrEqual(r.setupSteps!);
        expect(p).toBeLessThan(r.setupSteps! + s.k);
      }
    }
  }, 60_000);

  it("the same draws from step 0 (from: 'start') spend their change points in the setup", () => {
    const starts = fc.sample(pctSchedules(3, { from: 'start' }), { seed: 5, numRuns: 10 });
    let inSetup = 0;
    for (const s of starts) {
      const sched = schedulerOf(s);
      expect(sched).toBeInstanceOf(PctScheduler);
      const r = runScenario({ variant: v66, scenario: longSetup, scheduler: sched, skipHistory: true });
      const points = (sched as PctScheduler).changePoints;
      expect(points.length).toBe(2);
      inSetup += points.filter((p) => p < r.setupSteps!).length;
    }
    expect(inSetup).toBeGreaterThanOrEqual(12);
  }, 60_000);

  it('io-no-revalidate on unmap-during-io: found in no more runs than with change points from step 0', () => {
    const v = resolveVariant('io-no-revalidate');
    const cap = 400;
    const runsToFind = (from: 'setup' | 'start', seed: number): number => {
      const draws = fc.sample(fc.tuple(family('unmap-during-io'), fc.array(schedules('pct', { from }), { minLength: 16, maxLength: 16 })), { seed, numRuns: cap / 16 });
      let n = 0;
      for (const [scenario, list] of draws) {
        for (const s of list) {
          n++;
          if (runScenario({ variant: v, scenario, scheduler: schedulerOf(s), skipHistory: true }).status === 'violation') return n;
        }
      }
      return cap;
    };
    const seeds = [1, 2, 3, 4, 5, 6];
    const after = seeds.map((s) => runsToFind('setup', s));
    const before = seeds.map((s) => runsToFind('start', s));
    expect(after.every((n) => n < cap), `after the setup: ${after.join(', ')}`).toBe(true);
    expect(after.reduce((a, b) => a + b, 0), `after the setup ${after.join(', ')}; from step 0 ${before.join(', ')}`).toBeLessThanOrEqual(before.reduce((a, b) => a + b, 0));
  }, 120_000);
});
