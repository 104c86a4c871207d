/**
 * The general generator (properties/arbitraries/, the `random` family): deterministic per seed,
 * drawing the whole surface (every operation of the table, 1–3 processes, 2–4 threads of 1–5
 * operations, the layouts and the daemons), valid programs (setups that run), fast-check shrinking
 * of a failing workload, and the coverage-guided corpus (properties/corpus.ts).
 */
import { describe, expect, it } from 'vitest';
import { FAMILIES } from '../../properties/scenarios/index.js';
import { OP_TABLE } from '../../properties/arbitraries/ops.js';
import { PMD_PAGES } from '../../properties/arbitraries/layout.js';
import { buildWorkload, mutateWorkload, workloadArb, workloadDrawArb } from '../../properties/arbitraries/workload.js';
import { draw, drawValue, seededRandom } from '../../properties/arbitraries/draw.js';
import { shrinkWorkload } from '../../properties/arbitraries/shrink.js';
import { CollectorSignal, Corpus, StepSignal } from '../../properties/corpus.js';
import { runCampaign } from '../../properties/campaign.js';
import { runScenario } from '../../properties/runner.js';
import { generationVariant } from '../../impl/sim/variant.js';
import { RandomScheduler } from '../../impl/rt/schedulers/random.js';
import { MUTANTS } from '../../impl/bugs/index.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import type { ModelOp } from '../../model/ops.js';

const random = FAMILIES.get('random')!;
const seeds = Array.from({ length: 800 }, (_, i) => i + 1);
const scenarios = seeds.map((s) => random.generate(s));
const ops = (sc: ScenarioSpec): ModelOp[] => sc.threads.flatMap((t) => t.program);

describe('random family: the general generator', () => {
  it('a run reports how long its setup ran (the campaign puts PCT change points after it)', () => {
    const v = generationVariant('v6.6');
    for (const sc of scenarios.slice(0, 20)) {
      const r = runScenario({ variant: v, scenario: sc, scheduler: new RandomScheduler(3) });
      expect(r.setupSteps, sc.name).toBeGreaterThan(0);
      expect(r.setupSteps!, sc.name).toBeLessThan(r.steps);
      // Nothing of the threads' programs is in the history before the setup is done.
      expect(r.history.every((h) => h.invoke >= r.setupSteps!), sc.name).toBe(true);
    }
  });

  it('is deterministic per seed and names each scenario by it', () => {
    for (const s of [1, 2, 77]) {
      expect(random.generate(s)).toEqual(random.generate(s));
      expect(random.generate(s).name).toBe(`random#${s}`);
    }
    expect(random.generate(1)).not.toEqual(random.generate(2));
    expect(draw(workloadArb(), 5)).toEqual(drawValue(workloadArb(), 5).value);
  });

  it('draws every operation of the table, with the flags the kernel distinguishes', () => {
    const seen = new Set(scenarios.flatMap((sc) => [...ops(sc), ...sc.processes.flatMap((p) => p.setup)].map((o) => o.op)));
    for (const k of OP_TABLE) expect(seen, k.name).toContain(k.name);
    const all = scenarios.flatMap(ops);
    const mmaps = all.filter((o) => o.op === 'mmap');
    expect(mmaps.some((o) => o.op === 'mmap' && o.flags.fixed)).toBe(true);
    expect(mmaps.some((o) => o.op === 'mmap' && o.flags.noreplace)).toBe(true);
    expect(mmaps.some((o) => o.op === 'mmap' && o.flags.growsdown)).toBe(true);
    expect(mmaps.some((o) => o.op === 'mmap' && o.flags.shared && o.flags.anonymous)).toBe(true);
    expect(mmaps.some((o) => o.op === 'mmap' && !o.flags.anonymous && !o.flags.shared)).toBe(true);
    const remaps = all.filter((o) => o.op === 'mremap');
    for (const f of [{ maymove: false, fixed: false, dontunmap: false }, { maymove: true, fixed: true, dontunmap: false }, { maymove: true, fixed: false, dontunmap: true }, { maymove: true, fixed: true, dontunmap: true }]) {
      expect(remaps.some((o) => o.op === 'mremap' && JSON.stringify(o.flags) === JSON.stringify(f)), JSON.stringify(f)).toBe(true);
    }
    expect(remaps.some((o) => o.op === 'mremap' && o.newLen < o.oldLen)).toBe(true);
    expect(remaps.some((o) => o.op === 'mremap' && o.newLen > o.oldLen)).toBe(true);
    expect(remaps.some((o) => o.op === 'mremap' && o.oldLen === PMD_PAGES * 4096 && o.oldAddr % (2 << 20) === 0)).toBe(true);
    expect(all.some((o) => o.op === 'uffd_register' && o.mode === 'wp')).toBe(true);
    // KVM_CREATE_VM on the KVM device (its file is in the scenario), O_DIRECT into and out of the layout
    const kvm = scenarios.filter((sc) => ops(sc).some((o) => o.op === 'dev_ioctl' && o.file === '/dev/kvm0'));
    expect(kvm.length).toBeGreaterThan(0);
    for (const sc of kvm) expect(sc.files?.map((f) => f.name)).toContain('/dev/kvm0');
    for (const sc of scenarios) {
      for (const o of ops(sc)) if (o.op === 'dio_read' || o.op === 'dio_write') expect(sc.files?.map((f) => f.name)).toContain(o.file);
    }
  });

  it('1–3 processes (forked children and unrelated ones), 2–4 threads of 1–5 operations, threads in children', () => {
    const procs = new Set<number>();
    const threads = new Set<number>();
    const lens = new Set<number>();
    let childThreads = 0;
    let setupForks = 0;
    for (const sc of scenarios) {
      const forks = sc.processes[0]!.setup.filter((o) => o.op === 'fork').length;
      setupForks += forks;
      procs.add(sc.processes.length + forks);
      threads.add(sc.threads.length);
      for (const t of sc.threads) {
        lens.add(t.program.length);
        if (t.pid !== 1) childThreads++;
      }
    }
    expect([...procs].sort()).toEqual([1, 2, 3]);
    expect([...threads].sort()).toEqual([2, 3, 4]);
    expect([...lens].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(childThreads).toBeGreaterThan(0);
    expect(setupForks).toBeGreaterThan(0);
  });

  it('layouts: PMD-sized regions, stacks, shmem, files and devices, swapped-out and page-cache-only pages; daemons where they have work', () => {
    const setups = scenarios.flatMap((sc) => sc.processes.flatMap((p) => p.setup));
    expect(setups.some((o) => o.op === 'mmap' && o.len === PMD_PAGES * 4096 && o.addr % (2 << 20) === 0)).toBe(true);
    expect(setups.some((o) => o.op === 'mmap' && o.flags.growsdown)).toBe(true);
    expect(setups.some((o) => o.op === 'mmap' && o.file?.startsWith('/dev/'))).toBe(true);
    expect(setups.some((o) => o.op === 'mbind')).toBe(true);
    expect(setups.some((o) => o.op === 'uffd_register')).toBe(true);
    const kernel = scenarios.flatMap((sc) => sc.kernelSetup ?? []);
    expect(kernel.some((a) => a.do === 'swap_out')).toBe(true);
    expect(kernel.some((a) => a.do === 'cache')).toBe(true);
    const kinds = new Set(scenarios.flatMap((sc) => (sc.daemons ?? []).map((d) => d.kind)));
    expect([...kinds].sort()).toEqual(['khugepaged', 'reclaim', 'swapoff', 'uffd_handler']);
    for (const sc of scenarios) {
      // swapoff only with a swap device; a monitor for every process that registers a range.
      if ((sc.daemons ?? []).some((d) => d.kind === 'swapoff')) expect(sc.swapSlots).toBeGreaterThan(0);
      // A slot for every page swapped out at the start (and room for reclaim).
      expect((sc.kernelSetup ?? []).filter((a) => a.do === 'swap_out').length).toBeLessThanOrEqual(Math.max(0, (sc.swapSlots ?? 0) - 8));
      const registering = new Set([...sc.processes.flatMap((p) => p.setup), ...ops(sc)].filter((o) => o.op === 'uffd_register').map((o) => o.pid));
      for (const pid of registering) expect((sc.daemons ?? []).some((d) => d.kind === 'uffd_handler' && d.pid === pid), sc.name).toBe(true);
    }
  });

  it('keeps programs valid: exit last in its thread (siblings are killed: some workloads have them); no registration where a stack may grow; PFN maps shared', () => {
    let siblings = 0;
    for (const sc of scenarios) {
      for (const t of sc.threads) {
        t.program.forEach((o, j) => {
          if (o.op !== 'exit') return;
          expect(j, sc.name).toBe(t.program.length - 1);
          if (sc.threads.filter((x) => x.pid === t.pid).length > 1) siblings++;
        });
      }
      const all = [...sc.processes.flatMap((p) => p.setup), ...ops(sc)];
      if (all.some((o) => o.op === 'mmap' && o.flags.growsdown)) expect(all.some((o) => o.op === 'uffd_register'), sc.name).toBe(false);
      for (const o of all) if (o.op === 'mmap' && o.file?.startsWith('/dev/pfnmap')) expect(o.flags.shared).toBe(true);
    }
    expect(siblings).toBeGreaterThan(0);
  });

  it('every drawn setup runs (the first 60 seeds on v6.6)', () => {
    const v = generationVariant('v6.6');
    for (const sc of scenarios.slice(0, 60)) {
      const r = runScenario({ variant: v, scenario: sc, scheduler: new RandomScheduler(1), skipHistory: true });
      expect(r.status, `${sc.name}: ${r.error ?? r.violation?.message}`).not.toBe('crash');
    }
  });
});

describe('shrinkWorkload (fast-check shrinking of a generated workload)', () => {
  it('shrinks a found workload to fewer tasks and operations that still break the property', () => {
    const m = MUTANTS.find((x) => x.name === 'b9-new-vma-visible')!;
    const r = runCampaign({ variant: m, family: 'random', strategy: 'random', runs: 50, seed: 3, stopAtFirst: true, shrink: false });
    const v = r.violations[0]!;
    expect(v).toBeDefined();
    const seed = Number(v.scenario.name.split('#')[1]);
    const w = shrinkWorkload(m, random.arbitrary!, seed, v.report.schedule, v.property, v.scenario.name, 200)!;
    expect(w).not.toBeNull();
    expect(w.steps).toBeGreaterThan(0);
    const size = (sc: ScenarioSpec): number => sc.threads.length + ops(sc).length + sc.processes.reduce((n, p) => n + p.setup.length, 0);
    expect(size(w.scenario)).toBeLessThan(size(v.scenario));
    const again = runScenario({ variant: m, scenario: w.scenario, schedule: w.schedule });
    expect(again.violation?.property).toBe(v.property);
  });
});

describe('Corpus (coverage-guided)', () => {
  const fam = random.mutable!;

  it('keeps a workload whose runs reached something new, not one that reached nothing new', () => {
    const c = new Corpus(fam, 1, { mutateShare: 0 });
    const p = c.next(11, 'random#11');
    const sig = new StepSignal();
    const run = (): boolean => {
      sig.begin();
      runScenario({ variant: generationVariant('v6.6'), scenario: p.scenario, scheduler: new RandomScheduler(1), onStep: sig.onStep });
      return sig.novel();
    };
    expect(c.feedback(p.draw, run())).toBe(true);
    expect(c.feedback(p.draw, run())).toBe(false); // the same run again: nothing new
    expect(c.kept).toBe(1);
    expect(sig.size).toBeGreaterThan(10);
  });

  it('CollectorSignal: new when the coverage collector grew', () => {
    const sig = new CollectorSignal();
    sig.begin();
    expect(sig.novel()).toBe(false);
    runScenario({ variant: generationVariant('v6.6'), scenario: random.generate(3), scheduler: new RandomScheduler(1), coverage: sig.collector });
    expect(sig.novel()).toBe(true);
    sig.begin();
    runScenario({ variant: generationVariant('v6.6'), scenario: random.generate(3), scheduler: new RandomScheduler(1), coverage: sig.collector });
    expect(sig.novel()).toBe(false);
  });

  it('fresh draws are the family\'s scenarios for the seed; mutations build valid scenarios, deterministically', () => {
    const c = new Corpus(fam, 1, { mutateShare: 0 });
    expect(c.next(11, 'random#11').scenario).toEqual(random.generate(11));
    const a = new Corpus(fam, 9, { mutateShare: 1 });
    const b = new Corpus(fam, 9, { mutateShare: 1 });
    for (const x of [a, b]) x.feedback(x.next(5, 'random#5').draw, true);
    const ma = Array.from({ length: 10 }, (_, i) => a.next(100 + i, 'm').scenario);
    const mb = Array.from({ length: 10 }, (_, i) => b.next(100 + i, 'm').scenario);
    expect(ma).toEqual(mb);
    expect(a.mutations).toBe(10);
    const v = generationVariant('v6.6');
    for (const sc of ma) {
      expect(sc.threads.length).toBeGreaterThanOrEqual(2);
      expect(sc.threads.length).toBeLessThanOrEqual(4);
      const r = runScenario({ variant: v, scenario: sc, scheduler: new RandomScheduler(2), skipHistory: true });
      expect(r.status, `${r.error ?? ''}`).not.toBe('crash');
    }
  });

  it('mutateWorkload changes the workload', () => {
    const w = drawValue(workloadDrawArb(), 3).value;
    const rnd = seededRandom(4);
    const changed = Array.from({ length: 20 }, () => mutateWorkload(w, rnd, [])).filter((x) => JSON.stringify(buildWorkload(x)) !== JSON.stringify(buildWorkload(w)));
    expect(changed.length).toBeGreaterThan(10);
  });

  it('StepSignal: labels, per-task label pairs and switch pairs of a run', () => {
    const sig = new StepSignal();
    sig.begin();
    runScenario({ variant: generationVariant('v6.6'), scenario: random.generate(1), scheduler: new RandomScheduler(1), onStep: sig.onStep });
    const n = sig.features().size;
    expect(n).toBeGreaterThan(10);
    sig.begin();
    expect(sig.features().size).toBe(0);
  });

  it('a guided campaign is deterministic per seed and runs its budget', () => {
    const v = generationVariant('v6.6');
    const a = runCampaign({ variant: v, family: 'random', strategy: 'random', runs: 48, seed: 2, guidance: 'corpus', corpusSignal: 'both' });
    const b = runCampaign({ variant: v, family: 'random', strategy: 'random', runs: 48, seed: 2, guidance: 'corpus', corpusSignal: 'both' });
    expect(a.executions).toBe(48);
    expect(a.violations.map((x) => x.message)).toEqual(b.violations.map((x) => x.message));
    expect(a.violations).toEqual([]);
  });
});

describe('check with no --scenario', () => {
  it('runs the general generator first, then the directed families', async () => {
    const { resolveTarget } = await import('../../cli/target.js');
    const { defaultBackend } = await import('../../cli/backend.js');
    const t = await resolveTarget('check', defaultBackend, { cwd: process.cwd(), stdout: () => {}, stderr: () => {} } as never, { config: 'v6.6' }, false);
    expect(t.families[0]!.name).toBe('random');
    expect(t.families.length).toBe(FAMILIES.size);
  });
});
