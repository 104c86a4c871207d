/**
 * The general generator's PMD-sized layouts (properties/arbitraries/layout.ts): a PMD-sized
 * private anonymous region that starts as a huge page (startsHuge: khugepaged's collapse runs in
 * the setup), and a PMD-sized file region whose file fills it (fileSizesOf), which khugepaged's
 * file collapse needs. Each is checked on the kernel's state (a huge PMD after the setup) and on
 * what a run reaches (the huge-PMD paths; retract_page_tables), so that a generator that stops
 * drawing them, or a setup that stops collapsing, fails here.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../impl/rt/task.js';
import type { Kernel } from '../../impl/sim/kernel.js';
import { PMD_SIZE } from '../../impl/include/linux/mm_flags.js';
import { RandomScheduler, mixSeed } from '../../impl/rt/schedulers/random.js';
import {
  PMD_PAGES, fileSizesOf, place, setupRegions, startsHuge, type LayoutDraw, type RegionDraw,
} from '../../properties/arbitraries/layout.js';
import { buildWorkload, workloadDrawArb, type WorkloadDraw } from '../../properties/arbitraries/workload.js';
import { drawValue } from '../../properties/arbitraries/draw.js';
import { RANDOM_FAMILIES } from '../../properties/scenarios/random.js';
import { CoverageCollector } from '../../properties/coverage.js';
import { runScenario } from '../../properties/runner.js';
import { findConfig } from '../../properties/configs.js';
import { page } from '../../properties/scenarios/build.js';
import { sysRun } from '../mm/syscalls_harness.js';
import { CounterexampleError, makeCounterexample, parseCounterexample, serializeCounterexample } from '../../properties/counterexample.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';

const region = (over: Partial<RegionDraw>): RegionDraw => ({
  kind: 'anon', pages: PMD_PAGES, place: 'adjacent', gap: 1, prot: 'rw', shared: false, file: 0, offset: 0,
  populated: 0b0101, swapped: 0, cached: 0, policy: null, uffd: false, ...over,
});

/** Run P1's setup of a one-region layout; the PMD entry of the region after it. */
function pmdAfterSetup(r: RegionDraw): { kind: 'huge' | 'table' | 'none'; setup: string[] } {
  const l: LayoutDraw = { regions: [r], fileSizes: [2, 2] };
  const placed = place(l).regions;
  const s = setupRegions(1, placed, fileSizesOf(l), 0);
  let kind: 'huge' | 'table' | 'none' = 'none';
  const at = page(placed[0]!.at);
  const run = sysRun({
    gen: 'v6.6',
    processes: [{ pid: 1, setup: s.ops }],
    setup: function* (kernel: Kernel): Task<void> {
      const pmd = kernel.procs.get(1)!.mm!.pgd.get(Math.floor(at / PMD_SIZE));
      kind = pmd?.huge ? 'huge' : pmd?.table ? 'table' : 'none';
    },
  });
  expect(run.outcome.status).toBe('ok');
  return { kind, setup: s.ops.map((o) => o.op) };
}

describe('layouts: a PMD-sized anonymous region that starts as a huge page', () => {
  it('cached bit 0 of a writable, written PMD-sized anonymous region: khugepaged collapses it in the setup (a huge PMD)', () => {
    const huge = region({ cached: 1 });
    expect(startsHuge(huge)).toBe(true);
    const a = pmdAfterSetup(huge);
    expect(a.setup).toEqual(['mmap', 'store', 'store', 'khugepaged_collapse']);
    expect(a.kind).toBe('huge');
    // Not: bit 0 clear, read-only, nothing written, not PMD-sized, not anonymous.
    expect(pmdAfterSetup(region({ cached: 0 })).kind).toBe('table');
    for (const r of [region({ cached: 1, prot: 'r' }), region({ cached: 1, populated: 0 }), region({ cached: 1, pages: 4 }), region({ cached: 1, kind: 'shmem' })]) {
      expect(startsHuge(r)).toBe(false);
    }
  });

  it('a counterexample keeps the setup\'s collapse (it replays); a program may not hold one (khugepaged is a daemon)', () => {
    const l: LayoutDraw = { regions: [region({ cached: 1 })], fileSizes: [2, 2] };
    const setup = setupRegions(1, place(l).regions, fileSizesOf(l), 0).ops;
    const scenario: ScenarioSpec = { name: 'huge', family: 'random', processes: [{ pid: 1, setup }], threads: [{ name: 't0', pid: 1, program: [{ op: 'load', pid: 1, addr: setup[0]!.op === 'mmap' ? setup[0]!.addr : 0 }] }] };
    const text = (sc: ScenarioSpec): string => serializeCounterexample(makeCounterexample({
      config: 'v6.6', scenario: sc, schedule: 'v1:1t0', violation: { property: 'kasan', message: 'm', step: 1, task: 1, taskName: 't0', report: [] },
      steps: 1, preemptions: 0, tasks: 1, createdBy: 'test',
    }, (f) => f));
    expect(parseCounterexample(text(scenario), {}, 'x.json').scenario).toEqual(scenario);
    const inProgram = { ...scenario, threads: [{ name: 't0', pid: 1, program: [setup[setup.length - 1]!] }] };
    expect(() => parseCounterexample(text(inProgram), {}, 'x.json')).toThrow(CounterexampleError);
  });

  it('its pages are not swapped out at the start (reclaim does not split large folios)', () => {
    const l: LayoutDraw = { regions: [region({ cached: 1, swapped: 0b1111 })], fileSizes: [2, 2] };
    expect(setupRegions(1, place(l).regions, fileSizesOf(l), 0).kernel).toEqual([]);
    const l2: LayoutDraw = { regions: [region({ cached: 0, swapped: 0b1111 })], fileSizes: [2, 2] };
    expect(setupRegions(1, place(l2).regions, fileSizesOf(l2), 0).kernel.filter((a) => a.do === 'swap_out')).toHaveLength(2);
  });

  it('the random family draws such workloads, and their runs (the setup collapses, the programs meet the huge PMD) stay clean on v6.6', () => {
    const fam = RANDOM_FAMILIES[0]!;
    const variant = findConfig('v6.6')!;
    const cov = new CoverageCollector();
    let huge = 0;
    const bad: string[] = [];
    for (let s = 1; s <= 160 && huge < 8; s++) {
      const sc = fam.generate(s);
      if (!sc.processes.some((p) => p.setup.some((o) => o.op === 'khugepaged_collapse'))) continue;
      huge++;
      for (let i = 0; i < 3; i++) {
        const r = runScenario({ variant, scenario: sc, scheduler: new RandomScheduler(mixSeed(s, i)), coverage: cov });
        if (r.status !== 'pass') bad.push(`${sc.name} ${r.schedule}: ${r.violation?.property ?? r.status}: ${r.violation?.message ?? r.error}`);
      }
    }
    expect(bad).toEqual([]);
    expect(huge).toBe(8);
    // The setup's collapse ran (which operations then meet the huge PMD depends on the draws).
    for (const f of ['hpage_collapse_scan_pmd', 'collapse_huge_page']) {
      expect(cov.functions.has(f), f).toBe(true);
    }
  });
});

describe('layouts: a PMD-sized file region maps a file that fills it', () => {
  it('fileSizesOf: the mapped file is at least offset + 2 MiB; other files keep their drawn size', () => {
    const l: LayoutDraw = { regions: [region({ kind: 'file', file: 1, offset: 1 }), region({ kind: 'file', pages: 2, file: 0 })], fileSizes: [3, 2] };
    expect(fileSizesOf(l)).toEqual([3, 1 + PMD_PAGES]);
    expect(l.fileSizes).toEqual([3, 2]);
  });

  it('with khugepaged, a workload over one reaches the file collapse and retract_page_tables (v6.6, no violation)', () => {
    const base = drawValue(workloadDrawArb(), 1).value;
    const w: WorkloadDraw = {
      ...base,
      layout: { regions: [region({ kind: 'file', shared: false, prot: 'r', populated: 0b0011, file: 0 })], fileSizes: [2, 2] },
      procs: [],
      khugepaged: 999, khugepagedRounds: 2, reclaim: 0, swapoff: 0, fi: 0,
    };
    const sc = buildWorkload(w);
    expect(sc.files?.find((f) => f.name === 'data0.bin')?.pages.length).toBe(PMD_PAGES);
    expect(sc.daemons?.some((d) => d.kind === 'khugepaged')).toBe(true);
    const variant = findConfig('v6.6')!;
    const cov = new CoverageCollector();
    const bad: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = runScenario({ variant, scenario: sc, scheduler: new RandomScheduler(mixSeed(3, i)), coverage: cov });
      if (r.status !== 'pass') bad.push(`${r.schedule}: ${r.violation?.property ?? r.status}: ${r.violation?.message ?? r.error}`);
    }
    expect(bad).toEqual([]);
    expect(cov.functions.has('collapse_file')).toBe(true);
    expect(cov.functions.has('retract_page_tables')).toBe(true);
  });
});
