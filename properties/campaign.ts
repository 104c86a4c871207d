/**
 * Campaigns: many runs of a scenario family on one variant under a strategy — seeded random, PCT,
 * bounded DFS, the portfolio (PCT depth 2 and 3 and random interleaved, over fresh scenarios), or
 * communication-guided PCT (guided.ts).
 * The first violation of each property is shrunk and re-run traced for its counterexample.
 */
import { DfsStrategy } from '../impl/rt/schedulers/dfs.js';
import { PctScheduler } from '../impl/rt/schedulers/pct.js';
import { RandomScheduler, mixSeed } from '../impl/rt/schedulers/random.js';
import type { Scheduler } from '../impl/rt/scheduler.js';
import { defineVariant, VariantError, type Variant } from '../impl/sim/variant.js';
import type { ScenarioSpec } from '../impl/sim/scenario.js';
import type { CampaignResult, CampaignSpec, FoundViolation, RunReport } from './api.js';
import { runScenario } from './runner.js';
import { FAMILIES } from './scenarios/index.js';
import { bindFamily, type Family } from './scenarios/family.js';
import { shrinkCounterexample } from './shrink.js';
import { shrinkWorkload } from './arbitraries/shrink.js';
import { Corpus, makeSignal, type SignalName } from './corpus.js';
import { guidedScenario } from './guided.js';
import { CampaignFold, SCHEDULES_PER_SCENARIO, unitCount, unitRuns } from './campaign_fold.js';
import { MUTANTS } from '../impl/bugs/index.js';
import { configNames, findConfig } from './configs.js';

export { CampaignFold, SCHEDULES_PER_SCENARIO, unitCount, unitRuns };

/** The corpus's coverage signal by default (properties/corpus.ts). */
export const CORPUS_SIGNAL: SignalName = 'steps';

/** A family by name, or by `NAME:OPTION=VALUE,…` with its options bound (scenarios/family.ts). */
export function familyOrThrow(name: string): Family {
  const f = bindFamily(name, FAMILIES);
  if (typeof f === 'string') throw new VariantError(f);
  return f;
}

/** A configuration (generation or proposal) or a zoo mutant, by name. */
export function resolveVariant(name: string): Variant {
  const v = findConfig(name) ?? MUTANTS.find((m) => m.name === name);
  if (v) return v;
  throw new VariantError(`unknown configuration or mutant "${name}" (configurations: ${configNames()}; see faultline list mutants)`);
}

/** A user's variant file: its default export must be a defineVariant(...) result (or its spec). */
export async function loadVariantFile(path: string): Promise<Variant> {
  const { pathToFileURL } = await import('node:url');
  const { resolve } = await import('node:path');
  const { existsSync } = await import('node:fs');
  const abs = resolve(path);
  if (!existsSync(abs)) throw new VariantError(`variant file ${path} does not exist`);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new VariantError(`variant file ${path} failed to load: ${msg}`);
  }
  const v = mod.default;
  if (v === undefined || v === null || typeof v !== 'object') throw new VariantError(`variant file ${path} has no default export (export default defineVariant({...}))`);
  const spec = v as Variant;
  if (typeof (spec as Partial<Variant>).table === 'function' && (spec as Partial<Variant>).cfg) return spec;
  return defineVariant(spec);
}

function schedulerFor(strategy: string, seed: number, i: number, k: number, offset = 0): Scheduler {
  switch (strategy) {
    case 'random':
      return new RandomScheduler(mixSeed(seed, i));
    case 'pct':
      return new PctScheduler(mixSeed(seed ^ 0x5bd1e995, i), 3, k, offset);
    default: {
      // portfolio: PCT depth 2, PCT depth 3, random, in turn.
      const m = i % 3;
      if (m === 0) return new PctScheduler(mixSeed(seed ^ 0x2545f491, i), 2, k, offset);
      if (m === 1) return new PctScheduler(mixSeed(seed ^ 0x5bd1e995, i), 3, k, offset);
      return new RandomScheduler(mixSeed(seed, i));
    }
  }
}

function found(spec: CampaignSpec, family: Family, scenario: ScenarioSpec, r: RunReport, at: number, seed: number | undefined): FoundViolation {
  const prop = r.violation!.property;
  if (spec.shrink === false) {
    // Time-to-bug measurements: the run as found, untraced.
    return {
      property: prop, message: r.violation!.message, executionsToFind: at, report: r, scenario,
      tasks: scenario.threads.length + (scenario.daemons?.length ?? 0),
    };
  }
  // A workload drawn from a fast-check arbitrary is shrunk by fast-check first; then the
  // scenario and the schedule together.
  let start = scenario;
  let startSchedule = r.schedule;
  if (seed !== undefined && family.arbitrary) {
    const w = shrinkWorkload(spec.variant, family.arbitrary, seed, r.schedule, prop, scenario.name, 300,
      scenario.faultInjection ? { faultInjection: true } : {});
    if (w) {
      start = w.scenario;
      startSchedule = w.schedule;
    }
  }
  const shrunk = shrinkCounterexample(spec.variant, start, startSchedule, prop);
  let final = runScenario({ variant: spec.variant, scenario: shrunk.scenario, schedule: shrunk.schedule, trace: true });
  let sc = shrunk.scenario;
  if (final.status !== 'violation' || final.violation?.property !== prop) {
    // Shrinking must never lose the bug: fall back to the original run.
    final = runScenario({ variant: spec.variant, scenario, schedule: r.schedule, trace: true });
    sc = scenario;
  }
  return {
    property: prop,
    message: final.violation?.message ?? r.violation!.message,
    executionsToFind: at,
    report: final,
    scenario: sc,
    tasks: sc.threads.length + (sc.daemons?.length ?? 0),
  };
}

/**
 * Whether the campaign's scenario number sIdx runs with fault injection (allocation failures and
 * I/O errors the scheduler may choose, scenario.faultInjection): a share spec.faultInjection of the
 * scenarios, decided by the seed and the index alone (so a campaign repeats exactly). A family
 * that switches it on itself keeps it on.
 */
export function faultInjectionFor(spec: Pick<CampaignSpec, 'seed' | 'faultInjection'>, sIdx: number): boolean {
  const share = spec.faultInjection ?? 0;
  return share > 0 && mixSeed(spec.seed ^ 0x6a09e667, sIdx) < share * 2 ** 32;
}

/**
 * A campaign is a sequence of units, each depending on the seed and its own index alone: unit u is
 * the runs of generated scenario u (executions u·16 … u·16+15 of the campaign: the scenario, each
 * run's scheduler and seed, and PCT's guess k of a run's length, which starts afresh with each
 * scenario), or for the dfs strategy the whole family (each scenario's DFS budget is what the
 * scenarios before it left). So the units can run in any order, on any worker thread or machine
 * (cli/pool.ts, --shard), and folded in unit order (CampaignFold) give what one process running
 * them in turn gives: the same executions, the same first violation.
 */
export interface UnitOptions {
  /** Stop before a run (never before the first) once Date.now() reaches it (epoch ms: same on every thread). */
  readonly deadline?: number;
  /** Asked before each run but the first: true stops the unit (a violation earlier in the campaign). */
  readonly stop?: () => boolean;
  /** Properties already found earlier in the campaign (not shrunk again when stopAtFirst is false). */
  readonly seen?: ReadonlySet<string>;
  /** Called after each run with the unit's executions so far. */
  readonly onRun?: (executions: number) => void;
}

export interface UnitResult {
  readonly unit: number;
  readonly executions: number;
  readonly unknown: number;
  readonly injectedRuns: number;
  /** The first violation of each property in the unit; executionsToFind counts from the unit's start. */
  readonly violations: readonly FoundViolation[];
  /** DFS only: every scenario's space within the bound was covered. */
  readonly complete?: boolean;
  /** Stopped before its last run (deadline or stop()); a unit stopped by its own violation is not cut. */
  readonly cut: boolean;
}

/** Run one unit of the campaign. */
export function runUnit(spec: CampaignSpec, u: number, opts: UnitOptions = {}): UnitResult {
  const fam = familyOrThrow(spec.family);
  const family = {
    generate(seed: number, sIdx: number): ScenarioSpec {
      const sc = fam.generate(seed);
      return !sc.faultInjection && faultInjectionFor(spec, sIdx) ? { ...sc, faultInjection: true } : sc;
    },
  };
  const deadline = opts.deadline ?? Infinity;
  const stopAtFirst = spec.stopAtFirst ?? true;
  const violations: FoundViolation[] = [];
  const seen = new Set<string>(opts.seen ?? []);
  const budget = unitRuns(spec, u);
  let executions = 0;
  let unknown = 0;
  let injectedRuns = 0;
  let complete: boolean | undefined;
  let cut = false;
  let k = 64;
  // Coverage of the campaign's own runs (not of shrinking and replays).
  const cov = spec.coverage !== undefined ? { coverage: spec.coverage } : {};

  const onResult = (scenario: ScenarioSpec, r: RunReport, seed?: number): boolean => {
    executions++;
    opts.onRun?.(executions);
    if (r.status === 'unknown') unknown++;
    if ((r.stats.injected_failures ?? 0) > 0) injectedRuns++;
    if (r.status === 'crash' || r.status === 'bad-schedule') {
      throw new Error(`internal error in scenario ${scenario.name}: ${r.error?.split('\n')[0] ?? r.status}`);
    }
    if (r.status === 'violation' && !seen.has(r.violation!.property)) {
      seen.add(r.violation!.property);
      violations.push(found(spec, fam, scenario, r, executions, seed));
      if (stopAtFirst) return false;
    }
    if (executions >= budget) return false;
    if (Date.now() >= deadline || opts.stop?.() === true) {
      cut = true;
      return false;
    }
    return true;
  };

  if (spec.strategy === 'dfs') {
    complete = true;
    let go = true;
    for (let sIdx = 0; go; sIdx++) {
      const scenario = family.generate(mixSeed(spec.seed, sIdx), sIdx);
      const dfs = new DfsStrategy({ preemptionBound: spec.preemptions ?? 2, maxExecutions: Math.max(1, budget - executions) });
      for (let s = dfs.next(); s && go; s = dfs.next()) {
        const r = runScenario({ variant: spec.variant, scenario, scheduler: s, ...cov });
        dfs.done?.(r.steps);
        go = onResult(scenario, r);
      }
      if (!dfs.complete) complete = false;
      if (executions >= budget) go = false;
    }
  } else if (spec.guidance === 'corpus' && spec.strategy !== 'guided') {
    // Guided: a coverage-guided corpus of the family's workloads (properties/corpus.ts). The corpus
    // learns from every scenario before: one unit, the whole family (campaign_fold.ts unitCount).
    const corpus = fam.mutable ? new Corpus(fam.mutable, spec.seed) : null;
    const signal = corpus ? makeSignal(spec.corpusSignal ?? CORPUS_SIGNAL) : null;
    const onStep = signal?.onStep;
    // The signal's collector records the campaign's runs (a caller's own collector wins).
    const runCov = spec.coverage !== undefined ? cov : signal?.collector ? { coverage: signal.collector } : {};
    const pickAt = (idx: number): { scenario: ScenarioSpec; seed?: number; draw?: unknown } => {
      const s = mixSeed(spec.seed, idx);
      const p = corpus ? corpus.next(s, `${fam.name}#${s}`) : { scenario: fam.generate(s), seed: s };
      return !p.scenario.faultInjection && faultInjectionFor(spec, idx) ? { ...p, scenario: { ...p.scenario, faultInjection: true } } : p;
    };
    let pick = pickAt(0);
    signal?.begin();
    // PCT's change points fall in the scenario's concurrent part: after its setup (which runs
    // alone: the offset, from the last run) and over the longest concurrent part of its runs so
    // far (k). Workloads of one family can differ in length a hundredfold (the general
    // generator's): a k carried over from a long one would put the change points past a short
    // one's end. A new scenario's first run starts from the last scenario's k and offset (the corpus
    // is one unit: the scenarios run in turn).
    let spanned = false;
    let offset = 0;
    for (let i = 0; ; i++) {
      if (i > 0 && i % SCHEDULES_PER_SCENARIO === 0) {
        if (corpus) corpus.feedback(pick.draw, signal!.novel());
        pick = pickAt(i / SCHEDULES_PER_SCENARIO);
        signal?.begin();
        spanned = false;
      }
      const scheduler = schedulerFor(spec.strategy, spec.seed, i, k, offset);
      const r = runScenario({
        variant: spec.variant, scenario: pick.scenario, scheduler, ...runCov, ...(onStep ? { onStep } : {}),
      });
      if (r.setupSteps !== undefined && r.setupSteps >= 0 && r.status !== 'violation') {
        const span = Math.max(1, r.steps - r.setupSteps);
        k = spanned ? Math.max(k, span) : Math.max(8, span);
        offset = r.setupSteps;
        spanned = true;
      }
      if (!onResult(pick.scenario, r, pick.seed)) break;
    }
  } else if (budget > 0) {
    const seed = mixSeed(spec.seed, u);
    const scenario = family.generate(seed, u);
    if (spec.strategy === 'guided') {
      // Communication-guided: the scenario's first runs are its solo profiles (guided.ts).
      guidedScenario(spec, scenario, u, SCHEDULES_PER_SCENARIO, budget, onResult);
    } else {
      // PCT's change points over the scenario's concurrent part, as in the corpus loop above: k and
      // the setup's offset from this scenario's runs so far. The unit's first run starts from the
      // campaign's first guess (k 64, offset 0), not from the scenario before: a unit depends on
      // the seed and its index alone.
      let spanned = false;
      let offset = 0;
      for (let j = 0; j < budget; j++) {
        const i = u * SCHEDULES_PER_SCENARIO + j;
        const r = runScenario({ variant: spec.variant, scenario, scheduler: schedulerFor(spec.strategy, spec.seed, i, k, offset), ...cov });
        if (r.setupSteps !== undefined && r.setupSteps >= 0 && r.status !== 'violation') {
          const span = Math.max(1, r.steps - r.setupSteps);
          k = spanned ? Math.max(k, span) : Math.max(8, span);
          offset = r.setupSteps;
          spanned = true;
        }
        if (!onResult(scenario, r, seed)) break;
      }
    }
  }
  return { unit: u, executions, unknown, injectedRuns, violations, ...(complete !== undefined ? { complete } : {}), cut };
}

export function runCampaign(spec: CampaignSpec): CampaignResult {
  familyOrThrow(spec.family);
  const t0 = performance.now();
  const deadline = spec.timeLimitMs !== undefined ? Date.now() + spec.timeLimitMs : undefined;
  const fold = new CampaignFold<FoundViolation>(spec.stopAtFirst ?? true, (v, executionsToFind) => ({ ...v, executionsToFind }));
  const n = unitCount(spec);
  for (let u = 0; u < n; u++) {
    const before = fold.executions;
    const r = runUnit(spec, u, {
      ...(deadline !== undefined ? { deadline } : {}),
      seen: fold.seen,
      ...(spec.onProgress ? { onRun: (e: number) => spec.onProgress!(before + e) } : {}),
    });
    if (!fold.add(r)) break;
    if (deadline !== undefined && Date.now() >= deadline) break;
  }
  return {
    executions: fold.executions, elapsedMs: performance.now() - t0, violations: fold.violations,
    ...(fold.complete !== undefined ? { complete: fold.complete } : {}), unknown: fold.unknown, injectedRuns: fold.injectedRuns,
  };
}
