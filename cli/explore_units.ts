/**
 * explore's search as units (explore --split D): the subtrees of the first D branching decisions
 * (properties/explore_split.ts), each searched on its own, on worker threads (--jobs N,
 * cli/pool.ts) or in this thread, and folded in prefix order; a shard (--shard i/n) searches every
 * n-th subtree from the i-th, and faultline merge folds the shards' subtrees (cli/merge.ts). A
 * subtree's result is a function of the subtree alone, so the fold — executions, the first
 * violation of each property, its counterexample file — does not depend on N or n.
 */
import type { ExploreReduction } from '../properties/explore.js';
import type { SubtreePart } from '../properties/explore_split.js';
import { mixSeed } from '../impl/rt/schedulers/random.js';
import { defaultBackend } from './backend.js';
import type { CliIO } from './io.js';
import { runOrdered, WorkerPool, type PoolTask } from './pool.js';
import { resolveTarget, type Target, type TargetFlags } from './target.js';
import { counterexampleInput, type Counters, type ViolationWire } from './units.js';

/** The family instance explored for --seed S: the first scenario a campaign with seed S runs. */
export function scenarioSeed(seed: number): number {
  return mixSeed(seed, 0);
}

/** A subtree's result as plain data. */
export interface ExploreUnitWire extends SubtreePart<ViolationWire> {
  readonly unit: number;
  /** Its prefix (impl/rt/schedulers/subtrees.ts formatPrefix). */
  readonly prefix: string;
  readonly cacheBytesPerState: number | null;
  /** Not searched: the time limit had run out before it started. */
  readonly skipped?: boolean;
}

/** What a worker needs to search one subtree. */
export interface ExploreUnitTask extends PoolTask {
  readonly kind: 'explore-unit';
  readonly cwd: string;
  readonly target: TargetFlags;
  readonly seed: number;
  readonly preemptions: number;
  readonly reduction: ExploreReduction;
  /** At most this many executions in the subtree. */
  readonly runs: number;
  /** Epoch ms, or null. */
  readonly deadline: number | null;
  readonly unit: number;
  readonly prefix: string;
  readonly createdBy: string;
}

const targets = new Map<string, Promise<Target>>();
const QUIET = (cwd: string): CliIO => ({ stdout: () => {}, stderr: () => {}, stderrIsTTY: false, cwd });

/** Search one subtree in this thread (a worker's, or the main one for --jobs 1). */
export async function runExploreUnitTask(t: ExploreUnitTask, hooks: { onRun: () => void; onViolation: () => void }): Promise<ExploreUnitWire> {
  const key = JSON.stringify([t.cwd, t.target]);
  let tp = targets.get(key);
  if (tp === undefined) targets.set(key, (tp = resolveTarget('explore', defaultBackend, QUIET(t.cwd), t.target, true)));
  const target = await tp;
  const skipped = (): ExploreUnitWire => ({
    unit: t.unit, prefix: t.prefix, executions: 0, judged: 0, steps: 0, prunedByReduction: 0, prunedByBound: 0, prunedByCache: 0,
    states: null, complete: false, unknown: 0, violations: [], cacheBytesPerState: null, skipped: true,
  });
  if (t.deadline !== null && Date.now() >= t.deadline) return skipped();
  const { exploreScenario } = await import('../properties/explore.js');
  const { parsePrefix } = await import('../impl/rt/schedulers/subtrees.js');
  const fam = target.families[0]!;
  const scenario = fam.generate(scenarioSeed(t.seed));
  const r = exploreScenario({
    variant: target.variant, scenario, preemptions: t.preemptions, reduction: t.reduction, maxExecutions: t.runs, prefix: parsePrefix(t.prefix),
    ...(t.deadline !== null ? { timeLimitMs: Math.max(1, t.deadline - Date.now()) } : {}),
    onProgress: () => hooks.onRun(),
  });
  for (let i = 0; i < r.violations.length; i++) hooks.onViolation();
  return {
    unit: t.unit, prefix: t.prefix, executions: r.executions, judged: r.judged, steps: r.steps, prunedByReduction: r.prunedByReduction,
    prunedByBound: r.prunedByBound, prunedByCache: r.prunedByCache, states: r.states, complete: r.complete, unknown: r.unknown,
    cacheBytesPerState: r.cacheBytesPerState,
    violations: r.violations.map((fv) => ({
      property: fv.property, message: fv.message, executionsToFind: fv.executionsToFind, tasks: fv.tasks,
      steps: fv.report.steps, preemptions: fv.report.preemptions, cx: counterexampleInput(target, fv, t.createdBy),
    })),
  };
}

/** An explore search split into subtrees, as the worker threads see it. */
export interface ExploreUnits {
  readonly target: Target;
  readonly seed: number;
  readonly preemptions: number;
  readonly reduction: ExploreReduction;
  readonly runs: number;
  readonly timeLimitSec?: number;
  /** The subtrees' prefixes, in order. */
  readonly prefixes: readonly string[];
  readonly createdBy: string;
}

export interface ExecuteExploreOptions {
  readonly jobs: number;
  /** Subtree indices this run takes: every one, or a shard's. */
  readonly select: (k: number) => boolean;
  /** Subtrees' results, in order. */
  readonly consume: (w: ExploreUnitWire) => void;
  readonly started?: (c: Counters) => void;
}

/** Search the selected subtrees in order, on `jobs` worker threads or in this thread; results to consume in order. */
export async function executeExploreUnits(cwd: string, c: ExploreUnits, o: ExecuteExploreOptions): Promise<void> {
  let deadline: number | null = null;
  const startClock = () => {
    if (c.timeLimitSec !== undefined) deadline = Date.now() + c.timeLimitSec * 1000;
  };
  let k = 0;
  const next = (): ExploreUnitTask | null => {
    while (k < c.prefixes.length && !o.select(k)) k++;
    if (k >= c.prefixes.length) return null;
    const unit = k++;
    return {
      kind: 'explore-unit', cwd, target: c.target.flags ?? {}, seed: c.seed, preemptions: c.preemptions, reduction: c.reduction, runs: c.runs,
      deadline, unit, prefix: c.prefixes[unit]!, createdBy: c.createdBy,
    };
  };
  let mine = 0;
  for (let i = 0; i < c.prefixes.length; i++) if (o.select(i)) mine++;
  const jobs = Math.max(1, Math.min(o.jobs, mine));
  if (jobs <= 1) {
    let executions = 0;
    let violations = 0;
    o.started?.({ executions: () => executions, violations: () => violations });
    startClock();
    for (let t = next(); t !== null; t = next()) {
      o.consume(await runExploreUnitTask(t, { onRun: () => void executions++, onViolation: () => void violations++ }));
    }
    return;
  }
  const pool = new WorkerPool(jobs, cwd);
  o.started?.({ executions: () => pool.executions, violations: () => pool.violations });
  try {
    await pool.ready();
    startClock();
    await runOrdered<ExploreUnitWire>(pool, next, (_t, w) => {
      o.consume(w);
      return true;
    });
  } finally {
    await pool.close();
  }
}
