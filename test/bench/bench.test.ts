/**
 * bench/: the standard scenario runs clean on every generation (the throughput figure is only
 * meaningful for a passing run), the bench modules import and return their shapes. No timing is
 * asserted here.
 *
 *   P1:  |--anon rw (pages 0-2)--|   |--file std.bin (pages 4-5)--|
 *   loader / remapper (munmap+mmap page 1) / forker (mprotect page 2, fork)
 */
import { describe, expect, it } from 'vitest';
import { GENERATIONS } from '../../impl/sim/config.js';
import { generationVariant } from '../../impl/sim/variant.js';
import { PctScheduler } from '../../impl/rt/schedulers/pct.js';
import { MUTANTS } from '../../impl/bugs/index.js';
import { runScenario } from '../../properties/runner.js';
import { runCampaign } from '../../properties/campaign.js';
import { runStandard, STANDARD_SCENARIO } from '../../bench/standard.js';
import { benchTimeToBug, familyOf, notes } from '../../bench/time_to_bug.js';
import * as runtime from '../../bench/runtime.js';
import * as linearizability from '../../bench/linearizability.js';
import * as standard from '../../bench/standard.js';
import * as time_to_bug from '../../bench/time_to_bug.js';
import { benchExplore } from '../../bench/explore.js';
import { benchMemory } from '../../bench/memory.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

describe('bench/standard: the standard 3-task scenario', () => {
  it('has one process, an anonymous 3-page VMA, a 2-page file mapping and 3 user threads', () => {
    expect(STANDARD_SCENARIO.processes).toHaveLength(1);
    expect(STANDARD_SCENARIO.threads).toHaveLength(3);
    const maps = STANDARD_SCENARIO.processes[0]!.setup.filter((o) => o.op === 'mmap');
    expect(maps.map((o) => (o.op === 'mmap' ? [o.len / 4096, o.flags.anonymous] : null))).toEqual([[3, true], [2, false]]);
  });

  for (const g of GENERATIONS) {
    it(`runs clean on ${g.name} under random and PCT schedules, history checked`, () => {
      const variant = generationVariant(g.name);
      for (let i = 0; i < 60; i++) {
        const r = runStandard(variant, 7, i);
        expect(r.status, `${g.name} random #${i}: ${r.violation?.property} ${r.violation?.message ?? r.error ?? ''}`).toBe('pass');
        expect(r.steps).toBeGreaterThan(50);
      }
      for (let i = 0; i < 30; i++) {
        const r = runScenario({ variant, scenario: STANDARD_SCENARIO, scheduler: new PctScheduler(1000 + i, 3, 400) });
        expect(r.status, `${g.name} pct #${i}: ${r.violation?.property} ${r.violation?.message ?? r.error ?? ''}`).toBe('pass');
      }
    });
  }
});

describe('bench modules', () => {
  it('export their section functions, registered in bench/index.ts', () => {
    const mods: Record<string, Record<string, unknown>> = { runtime, linearizability, standard, time_to_bug };
    for (const [mod, fn] of [['runtime', 'benchRuntime'], ['linearizability', 'benchLinearizability'], ['standard', 'benchStandard'], ['time_to_bug', 'benchTimeToBug']] as const) {
      expect(typeof mods[mod]![fn], `bench/${mod}.ts ${fn}`).toBe('function');
    }
    // bench/index.ts runs on import; its registrations are read from the source instead.
    const index = readFileSync(join(import.meta.dirname, '../../bench/index.ts'), 'utf8');
    expect(index).toMatch(/\['standard', section\('standard', 'benchStandard'\)\]/);
    expect(index).toMatch(/\['timeToBug', section\('time_to_bug', 'benchTimeToBug'\)\]/);
    expect(index).toMatch(/\['memory', section\('memory', 'benchMemory'\)\]/);
  });

  it('memory: a short campaign gives its heap checkpoints', async () => {
    const m = await benchMemory({ runs: 200 });
    expect(m.runs).toBe(200);
    expect(m.checkpoints.map((c) => c.executions)).toEqual([200]);
    const c = m.checkpoints[0]!;
    expect(c.keptHeapMB).toBeGreaterThan(0);
    expect(c.peakHeapUsedMB).toBeGreaterThanOrEqual(c.keptHeapMB);
    expect(c.peakRssMB).toBeGreaterThan(c.peakHeapUsedMB);
    expect(m.cache.states).toBeGreaterThan(0);
  });

  it('explore reports, per preemption bound, the executions, states and whether the space was covered', async () => {
    const index = readFileSync(join(import.meta.dirname, '../../bench/index.ts'), 'utf8');
    expect(index).toMatch(/\['explore', section\('explore', 'benchExplore'\)\]/);
    const r = await benchExplore({ bounds: [0] });
    expect(r.config).toBe('v6.7');
    const b0 = r.bounds['0']!;
    expect(b0.complete).toBe(true);
    expect(b0.executions).toBeGreaterThan(0);
    expect(b0.states).toBeGreaterThan(b0.executions);
    expect(b0.steps).toBeGreaterThan(b0.executions);
    expect(b0.cpuSeconds).toBeGreaterThan(0);
    const cut = await benchExplore({ bounds: [1], timeLimitMs: 1 });
    expect(cut.bounds['1']!.complete).toBe(false);
  });

  it('timeToBug returns one row per mutant × strategy, and one for the general generator, with its notes', async () => {
    const m = MUTANTS.find((v) => v.name === 'b9-new-vma-visible') ?? MUTANTS[0]!;
    const rows = await benchTimeToBug({
      mutants: [m], strategies: ['random', 'pct'], seeds: 2, budgetMs: 2000, maxExecutions: 50, minCampaignMs: 50, maxCampaignMs: 500,
      generalBudgetMs: 2000, generalMaxExecutions: 50, generalMaxCampaignMs: 500,
    });
    expect(rows.map((r) => [r.mutant, r.strategy, r.seeds, r.family])).toEqual([
      [m.name, 'random', 2, familyOf(m)], [m.name, 'pct', 2, familyOf(m)], [m.name, 'portfolio', 2, 'random'],
    ]);
    expect(rows[2]!.guidance).toBeDefined();
    for (const r of rows) {
      expect(r.found).toBeGreaterThanOrEqual(0);
      expect(r.found).toBeLessThanOrEqual(2);
      if (r.found === 2) expect(r.medianExecutions).toBeGreaterThan(0);
    }
    expect(notes()).toMatch(/1 mutants × 2 strategies × 2 seeds/);
    expect(notes()).toMatch(/general generator \(random, portfolio/);
  });
});

describe('runCampaign shrink: false', () => {
  it('reports the failing run as found, untraced and unshrunk', () => {
    const m = MUTANTS.find((v) => v.name === 'b9-new-vma-visible') ?? MUTANTS[0]!;
    const r = runCampaign({ variant: m, family: familyOf(m), strategy: 'portfolio', runs: 300, seed: 1, stopAtFirst: true, shrink: false });
    expect(r.violations.length).toBeGreaterThan(0);
    const v = r.violations[0]!;
    expect(v.report.trace).toBeUndefined();
    expect(v.executionsToFind).toBe(r.executions);
    const again = runScenario({ variant: m, scenario: v.scenario, schedule: v.report.schedule });
    expect(again.violation?.property).toBe(v.property);
  });
});
