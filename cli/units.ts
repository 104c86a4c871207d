/**
 * check's campaign as units (properties/campaign.ts runUnit): the families × units of a check, run
 * in order over worker threads (--jobs N, cli/pool.ts) or in this process, and folded in unit
 * order, so that the executions, the first violation and its counterexample file are those of one
 * process running the families in turn (runCampaign). A shard (--shard i/n) runs every n-th unit of
 * that order, from the i-th; faultline merge folds the shards' units (cli/merge.ts).
 */
import { availableParallelism } from 'node:os';
import type { FoundViolation, StrategyName } from '../properties/api.js';
import type { CoverageJson } from '../properties/coverage.js';
import type { CounterexampleInput } from '../properties/counterexample.js';
import { defaultBackend } from './backend.js';
import type { CliIO } from './io.js';
import { CTRL_CUTOFF, CTRL_EXECUTIONS, CTRL_VIOLATIONS, runOrdered, WorkerPool, type PoolTask } from './pool.js';
import { resolveTarget, type Target, type TargetFlags } from './target.js';

/** The default of --jobs: the machine's cores. */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/** A violation as it crosses threads and machines: what the counterexample file is made of. */
export interface ViolationWire {
  readonly property: string;
  readonly message: string;
  /** Executions until it was found: from the unit's start in a UnitWire, from the family's start once folded. */
  readonly executionsToFind: number;
  readonly tasks: number;
  readonly steps: number;
  readonly preemptions: number;
  readonly cx: CounterexampleInput;
}

/** A unit's result (properties/campaign.ts UnitResult) as plain data. */
export interface UnitWire {
  /** Index of the family in the check's list. */
  readonly fam: number;
  readonly unit: number;
  readonly executions: number;
  readonly unknown: number;
  readonly injectedRuns: number;
  readonly cut: boolean;
  readonly complete?: boolean;
  readonly violations: readonly ViolationWire[];
  readonly coverage?: CoverageJson;
}

/** What a worker needs to run one unit of a check. */
export interface UnitTask extends PoolTask {
  readonly kind: 'unit';
  readonly cwd: string;
  readonly target: TargetFlags;
  readonly fam: number;
  readonly family: string;
  readonly unit: number;
  readonly strategy: StrategyName;
  readonly runs: number;
  readonly seed: number;
  readonly faultInjection: number;
  /** Epoch ms, or null. */
  readonly deadline: number | null;
  readonly coverage: boolean;
  readonly createdBy: string;
}

/** The counterexample's content of a found violation (everything but the replay command). */
export function counterexampleInput(target: Pick<Target, 'config' | 'mutant' | 'variantFile'>, fv: FoundViolation, createdBy: string): CounterexampleInput {
  const r = fv.report;
  const v = r.violation;
  return {
    config: target.config,
    ...(target.mutant !== undefined ? { mutant: target.mutant } : {}),
    ...(target.variantFile !== undefined ? { variantFile: target.variantFile } : {}),
    scenario: fv.scenario,
    schedule: r.schedule,
    violation: v
      ? { property: v.property, message: v.message, step: v.step, task: v.task, taskName: v.taskName, report: v.report }
      : { property: fv.property, message: fv.message, step: -1, task: -1, taskName: '', report: r.error ? r.error.split('\n') : [] },
    steps: r.steps,
    preemptions: r.preemptions,
    tasks: fv.tasks,
    createdBy,
  };
}

const targets = new Map<string, Promise<Target>>();
const QUIET = (cwd: string): CliIO => ({ stdout: () => {}, stderr: () => {}, stderrIsTTY: false, cwd });

/** Run one unit in this thread (a worker's, or the main one for --jobs 1). */
export async function runUnitTask(t: UnitTask, hooks: { stop: () => boolean; onRun: () => void; onViolation: () => void }): Promise<UnitWire> {
  const key = JSON.stringify([t.cwd, t.target]);
  let tp = targets.get(key);
  if (tp === undefined) targets.set(key, (tp = resolveTarget('check', defaultBackend, QUIET(t.cwd), t.target, false)));
  const target = await tp;
  const { runUnit } = await import('../properties/campaign.js');
  const cov = t.coverage ? new (await import('../properties/coverage.js')).CoverageCollector() : undefined;
  const r = runUnit({
    variant: target.variant, family: t.family, strategy: t.strategy, runs: t.runs, seed: t.seed, stopAtFirst: true,
    ...(t.faultInjection > 0 ? { faultInjection: t.faultInjection } : {}),
    ...(cov !== undefined ? { coverage: cov } : {}),
  }, t.unit, { ...(t.deadline !== null ? { deadline: t.deadline } : {}), stop: hooks.stop, onRun: hooks.onRun });
  if (r.violations.length > 0) hooks.onViolation();
  return {
    fam: t.fam, unit: t.unit, executions: r.executions, unknown: r.unknown, injectedRuns: r.injectedRuns, cut: r.cut,
    ...(r.complete !== undefined ? { complete: r.complete } : {}),
    violations: r.violations.map((fv) => ({
      property: fv.property, message: fv.message, executionsToFind: fv.executionsToFind, tasks: fv.tasks,
      steps: fv.report.steps, preemptions: fv.report.preemptions, cx: counterexampleInput(target, fv, t.createdBy),
    })),
    ...(cov !== undefined ? { coverage: cov.toJSON() } : {}),
  };
}

/** A check's campaign as the worker threads see it. */
export interface UnitCampaign {
  readonly target: Target;
  readonly strategy: StrategyName;
  readonly runs: number;
  readonly seed: number;
  readonly faultInjection: number;
  readonly timeLimitSec?: number;
  readonly coverage: boolean;
  readonly createdBy: string;
}

/** Live counts for the progress line. */
export interface Counters {
  executions(): number;
  violations(): number;
}

export interface ExecuteOptions {
  readonly jobs: number;
  /** Global unit indices (families × units in order) this run takes: every one, or a shard's. */
  readonly select: (g: number) => boolean;
  /** Units' results in order; false stops. */
  readonly consume: (w: UnitWire) => boolean;
  /** Called once the counters exist. */
  readonly started?: (c: Counters) => void;
  /** A pool to use (and leave open) instead of one of `jobs` threads made for this run. */
  readonly pool?: WorkerPool;
}

/**
 * Run the campaign's units in order (families × units, family by family), on `jobs` worker threads
 * or in this thread, handing the results to consume in order. A family whose time slot ended (the
 * time limit split evenly over the families) gets no more units.
 */
export async function executeUnits(cwd: string, c: UnitCampaign, o: ExecuteOptions): Promise<void> {
  const { unitCount } = await import('../properties/campaign.js');
  const fams = c.target.families;
  const perFam = unitCount({ strategy: c.strategy, runs: c.runs });
  let deadlines: (number | null)[] = [];
  // The time limit counts from when the threads have loaded the checker.
  const startClock = () => {
    const t0 = Date.now();
    deadlines = fams.map((_, i) => (c.timeLimitSec !== undefined ? t0 + ((i + 1) * c.timeLimitSec * 1000) / fams.length : null));
  };
  let fi = 0;
  let u = 0;
  let g = 0;
  const familyOver = new Set<number>();
  const next = (): UnitTask | null => {
    for (;;) {
      if (fi >= fams.length) return null;
      const dl = deadlines[fi] ?? null;
      if (u >= perFam || familyOver.has(fi) || (dl !== null && Date.now() >= dl)) {
        g += perFam - u;
        fi++;
        u = 0;
        continue;
      }
      const mine = o.select(g);
      g++;
      u++;
      if (!mine) continue;
      return {
        kind: 'unit', cwd, target: c.target.flags ?? {}, fam: fi, family: fams[fi]!.name, unit: u - 1, strategy: c.strategy, runs: c.runs,
        seed: c.seed, faultInjection: c.faultInjection, deadline: dl, coverage: c.coverage, createdBy: c.createdBy,
      };
    }
  };
  const consume = (w: UnitWire): boolean => {
    if (w.cut) familyOver.add(w.fam);
    return o.consume(w);
  };
  const jobs = Math.max(1, Math.min(o.jobs, fams.length * perFam));
  if (o.pool !== undefined) {
    const pool = o.pool;
    const e0 = pool.executions;
    const v0 = pool.violations;
    o.started?.({ executions: () => pool.executions - e0, violations: () => pool.violations - v0 });
    await pool.ready();
    startClock();
    await runOrdered<UnitWire>(pool, next, (_t, w) => consume(w));
    return;
  }
  if (jobs <= 1) {
    let executions = 0;
    let violations = 0;
    o.started?.({ executions: () => executions, violations: () => violations });
    startClock();
    for (let t = next(); t !== null; t = next()) {
      const w = await runUnitTask(t, { stop: () => false, onRun: () => void executions++, onViolation: () => void violations++ });
      if (!consume(w)) break;
    }
    return;
  }
  const pool = new WorkerPool(jobs, cwd);
  o.started?.({ executions: () => pool.executions, violations: () => pool.violations });
  try {
    await pool.ready();
    startClock();
    await runOrdered<UnitWire>(pool, next, (_t, w) => consume(w));
  } finally {
    await pool.close();
  }
}

/** The worker's side of the control array (pool_worker_main.ts). */
export function workerHooks(ctrl: Int32Array, seq: number): { stop: () => boolean; onRun: () => void; onViolation: () => void } {
  return {
    stop: () => Atomics.load(ctrl, CTRL_CUTOFF) < seq,
    onRun: () => void Atomics.add(ctrl, CTRL_EXECUTIONS, 1),
    onViolation: () => void Atomics.add(ctrl, CTRL_VIOLATIONS, 1),
  };
}
