/**
 * The property constructor: a variant, an arbitrary workload and an arbitrary schedule → a
 * fast-check property that runs the simulation under every per-step invariant, the end-of-run
 * checks, liveness and refinement against the model (properties/runner.ts, as `check` runs it):
 * each workload under SCHEDULES_PER_WORKLOAD schedules, as `check` runs each scenario.
 *
 * A failing run throws a FaultlineViolation. fast-check then shrinks the workload (and an explicit
 * switch schedule) the usual way, calling the predicate on each candidate; the error of the last
 * failing call — the counterexample fast-check reports — is the only one whose message is ever
 * read, and reading it finishes the job: faultline's schedule shrinker (properties/shrink.ts)
 * shrinks that interleaving, the shrunk run is re-run traced, its counterexample file is written
 * (it replays with `faultline replay`), and the message is the kernel-style report with the file's
 * path. Deterministic: the same failing input gives the same file, so `fc.assert(p, { seed, path })`
 * with the printed seed and path re-runs exactly it and writes the same file again.
 */
import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import type { RunReport } from '../api.js';
import { makeCounterexample, serializeCounterexample, counterexampleFileName, type Counterexample } from '../counterexample.js';
import { runScenario } from '../runner.js';
import { SCHEDULES_PER_SCENARIO } from '../campaign.js';
import { shrinkCounterexample } from '../shrink.js';
import { renderHistory } from '../timeline.js';
import { schedulerOf, schedules, type Schedule } from './schedule.js';
import { toVariant, type ResolvedVariant, type VariantLike } from './variant.js';
import { workload } from './arbitraries.js';

export interface CheckOptions {
  /** Where counterexample files are written (default `counterexamples`, relative to the working directory). */
  readonly counterexamples?: string;
  /** The variant's module path, recorded in the counterexample (so `faultline replay` loads it). */
  readonly variantFile?: string;
  /** Shrink the final counterexample's interleaving (default true). */
  readonly shrinkSchedule?: boolean;
}

export interface PropertyOptions extends CheckOptions {
  /** A configuration ('v6.6', a proposal), a zoo mutant, a variant object or a variant module. */
  readonly variant: VariantLike;
  /** The workloads (default: the general generator, `workload()`). */
  readonly workload?: fc.Arbitrary<ScenarioSpec>;
  /** The schedules (default: `schedules()`, check's portfolio). */
  readonly schedule?: fc.Arbitrary<Schedule>;
  /** Schedules each workload runs under, in order (default SCHEDULES_PER_WORKLOAD). */
  readonly schedulesPerWorkload?: number;
}

const DEFAULT_DIR = 'counterexamples';

/** How a finished counterexample reads. */
export interface FinishedViolation {
  readonly property: string;
  /** The counterexample file written (absolute path). */
  readonly file: string;
  readonly counterexample: Counterexample;
  /** The shrunk, traced run. */
  readonly report: RunReport;
}

/**
 * A property broke. Its message (computed on first read) is the kernel-style report of the run
 * after faultline's schedule shrinker, and the path of the counterexample file it wrote.
 */
export class FaultlineViolation extends Error {
  /** The property that broke ('kasan', 'pte-outside-vma', 'linearizability', …). */
  readonly property: string;
  // Private (not own properties): a test runner that prints an error's fields prints `property`.
  readonly #target: ResolvedVariant;
  readonly #scenario: ScenarioSpec;
  readonly #run: RunReport;
  readonly #opts: CheckOptions;
  #done: FinishedViolation | null = null;
  #text: string | null = null;

  constructor(target: ResolvedVariant, scenario: ScenarioSpec, run: RunReport, opts: CheckOptions) {
    super('');
    this.name = 'FaultlineViolation';
    this.#target = target;
    this.#scenario = scenario;
    this.#run = run;
    this.#opts = opts;
    this.property = run.violation?.property ?? 'unknown';
    const frames = (this.stack ?? '').split('\n').slice(1).join('\n');
    Object.defineProperty(this, 'message', { get: () => this.describe(), enumerable: false, configurable: true });
    Object.defineProperty(this, 'stack', { get: () => `${this.name}: ${this.describe()}\n${frames}`, enumerable: false, configurable: true });
  }

  /**
   * The failing scenario as fast-check's input gave it, and the failing run (its schedule replays
   * it strictly) — before faultline's schedule shrinker (a method, so a runner that prints the
   * error's fields does not print the whole run).
   */
  found(): { readonly scenario: ScenarioSpec; readonly run: RunReport } {
    return { scenario: this.#scenario, run: this.#run };
  }

  /** Shrink the interleaving, re-run traced, write the counterexample (once). */
  finish(): FinishedViolation {
    if (this.#done) return this.#done;
    const { variant } = this.#target;
    const prop = this.property;
    let scenario = this.#scenario;
    let final: RunReport | null = null;
    if (this.#opts.shrinkSchedule ?? true) {
      const s = shrinkCounterexample(variant, this.#scenario, this.#run.schedule, prop);
      const r = runScenario({ variant, scenario: s.scenario, schedule: s.schedule, trace: true });
      if (r.status === 'violation' && r.violation?.property === prop) {
        final = r;
        scenario = s.scenario;
      }
    }
    // Shrinking must never lose the bug: else the run as fast-check found it.
    if (final === null) {
      final = runScenario({ variant, scenario: this.#scenario, schedule: this.#run.schedule, trace: true });
      scenario = this.#scenario;
    }
    const v = final.violation ?? this.#run.violation!;
    const dir = resolve(this.#opts.counterexamples ?? DEFAULT_DIR);
    const cx = makeCounterexample({
      config: this.#target.config,
      ...(this.#target.mutant !== undefined ? { mutant: this.#target.mutant } : {}),
      ...(this.#target.variantFile !== undefined ? { variantFile: this.#target.variantFile } : {}),
      scenario,
      schedule: final.schedule,
      violation: { property: v.property, message: v.message, step: v.step, task: v.task, taskName: v.taskName, report: v.report },
      steps: final.steps,
      preemptions: final.preemptions,
      tasks: scenario.threads.length + (scenario.daemons?.length ?? 0),
      createdBy: 'faultline fast-check property',
    }, (name) => `npx faultline replay ${join(dir, name)}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, counterexampleFileName(cx));
    writeFileSync(file, serializeCounterexample(cx));
    this.#done = { property: prop, file, counterexample: cx, report: final };
    return this.#done;
  }

  private describe(): string {
    if (this.#text !== null) return this.#text;
    const f = this.finish();
    const v = f.counterexample.violation;
    const what = this.#target.mutant ? `mutant ${this.#target.mutant} on ${this.#target.config}` : this.#target.variant.name === this.#target.config ? this.#target.config : `variant ${this.#target.variant.name} on ${this.#target.config}`;
    this.#text = [
      `${v.property}: ${v.message}`,
      `  ${what}, scenario ${f.counterexample.scenario.name} (${f.counterexample.scenario.family}): ${f.counterexample.tasks} tasks, ${f.report.steps} steps, ${f.report.preemptions} preemption(s)`,
      ...v.report.map((l) => `    ${l}`),
      ...renderHistory(f.report).map((l) => `  ${l}`),
      `  schedule: ${f.counterexample.schedule}`,
      `  counterexample: ${f.file}`,
      `  replay: ${f.counterexample.command}`,
    ].join('\n');
    return this.#text;
  }
}

/** The run ended neither pass nor violation (an internal error, or a verdict the budget did not reach: never a pass). */
export class FaultlineRunError extends Error {
  constructor(message: string, readonly run: RunReport) {
    super(message);
    this.name = 'FaultlineRunError';
  }
}

/**
 * The check a property runs, as a plain predicate `(scenario, schedule) => void` (for
 * `fc.property`, `test.prop` of @fast-check/vitest, or a loop of your own): runs the scenario
 * under the schedule and throws a FaultlineViolation if any property breaks.
 */
export function checkRun(variant: VariantLike, opts: CheckOptions = {}): (scenario: ScenarioSpec, schedule: Schedule | readonly Schedule[]) => void {
  const target = toVariant(variant, opts.variantFile);
  const one = (scenario: ScenarioSpec, schedule: Schedule): void => {
    checkOne(target, scenario, schedule, opts);
  };
  return (scenario, schedule) => {
    if (isScheduleList(schedule)) for (const s of schedule) one(scenario, s);
    else one(scenario, schedule);
  };
}

/**
 * One run of the check (checkRun's, scheduledModelRun's): `scenario` under `schedule` with every
 * per-step invariant, the end-of-run checks, liveness and refinement; the passing run, or a
 * FaultlineViolation / FaultlineRunError thrown.
 */
export function checkOne(target: ResolvedVariant, scenario: ScenarioSpec, schedule: Schedule, opts: CheckOptions): RunReport {
  const r = runScenario({ variant: target.variant, scenario, scheduler: schedulerOf(schedule) });
  switch (r.status) {
    case 'pass': return r;
    case 'violation': throw new FaultlineViolation(target, scenario, r, opts);
    case 'unknown': throw new FaultlineRunError(`unknown verdict (not a pass) in ${scenario.name}: ${r.error ?? ''} (schedule ${r.schedule})`, r);
    default: throw new FaultlineRunError(`internal error in ${scenario.name}: ${r.error?.split('\n')[0] ?? r.status} (schedule ${r.schedule})`, r);
  }
}

function isScheduleList(s: Schedule | readonly Schedule[]): s is readonly Schedule[] {
  return Array.isArray(s);
}

/**
 * Schedules run per workload by mmProperty (as check's campaigns do, SCHEDULES_PER_SCENARIO): a
 * workload's setup, its model states and their transitions are built once and reused by the runs
 * after the first (the model's transition cache), so several interleavings of one workload cost
 * less than as many workloads.
 */
export const SCHEDULES_PER_WORKLOAD = SCHEDULES_PER_SCENARIO;

/**
 * The property: for every workload and schedule drawn, the simulation of `variant` breaks no
 * invariant and refines the model. `fc.assert(mmProperty({ variant: 'v6.6' }))`.
 */
export function mmProperty(opts: PropertyOptions): fc.IPropertyWithHooks<[ScenarioSpec, Schedule[]]> {
  const n = opts.schedulesPerWorkload ?? SCHEDULES_PER_WORKLOAD;
  const scheds = fc.array(opts.schedule ?? schedules(), { minLength: n, maxLength: n });
  const run = checkRun(opts.variant, opts);
  return fc.property(opts.workload ?? workload(), scheds, (scenario: ScenarioSpec, list: Schedule[]) => run(scenario, list));
}
