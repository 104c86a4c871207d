/**
 * Exhaustive exploration of one scenario: every interleaving within a preemption bound, judged as
 * runScenario judges a run (per-step invariants, end-of-run checks, history), with
 *  - reduction (default): DPOR with sleep sets over the tracked heap's footprints
 *    (impl/rt/schedulers/dpor.ts, impl/rt/track.ts);
 *  - or none: the plain preemption-bounded DFS (impl/rt/schedulers/dfs.ts), every schedule.
 *
 * Per-step checks under reduction. A state property checked after every step can tell apart two
 * orders of independent steps (each order passes through a different intermediate state). So a
 * step that writes a location a check read when it last ran is "visible" to that check: it also
 * writes the check's own location (VISIBLE[c]), which orders the steps visible to one check among
 * themselves in every trace. What each check reads then changes in the same sequence in every
 * execution of a trace, so each check passes through the same verdicts in each. A check only
 * re-runs after a step visible to it: after any other step nothing it read changed, and its
 * verdict is the one it gave before (clean). Reads of arrays by the checks are recorded per array,
 * not per element (sim_track_record coarse).
 */
import { sim_track_footprint, sim_track_new_exploration, sim_track_persistent_seen, sim_track_record, sim_track_recorder, sim_fp_loc, sim_fp_whole, type Footprint } from '../impl/rt/track.js';
import type { Execution, ExecutionHooks, Outcome, StepObserver, TaskState } from '../impl/rt/execution.js';
import { Violation } from '../impl/rt/task.js';
import { DporStrategy, type DporRun, type DporStats } from '../impl/rt/schedulers/dpor.js';
import { DfsStrategy } from '../impl/rt/schedulers/dfs.js';
import type { ForcedChoice } from '../impl/rt/schedulers/subtrees.js';
import type { Kernel } from '../impl/sim/kernel.js';
import { sim_run } from '../impl/sim/run.js';
import type { ScenarioSpec } from '../impl/sim/scenario.js';
import type { Variant } from '../impl/sim/variant.js';
import { END_CHECKS, STEP_CHECKS_STATELESS } from './invariants/index.js';
import { judgeHistory } from './refinement.js';
import { runScenario } from './runner.js';
import type { FoundViolation, RunReport } from './api.js';

export type ExploreReduction = 'dpor' | 'cache' | 'none';

export interface ExploreOptions {
  readonly variant: Variant;
  readonly scenario: ScenarioSpec;
  /** Preemption bound (Infinity: unbounded). */
  readonly preemptions: number;
  /**
   * 'dpor' (default): partial-order reduction. 'cache': every schedule, but an execution that
   * reaches a state reached before stops (a state cache, as SPIN's). 'none': every schedule, the
   * plain DFS (no tracking at all: the reference the others are checked against).
   */
  readonly reduction?: ExploreReduction;
  readonly maxExecutions?: number;
  readonly timeLimitMs?: number;
  /** Called after every execution. */
  readonly onProgress?: (p: ExploreProgress) => void;
  /** Re-run each property's first violation traced, for its report (default true). */
  readonly traceViolations?: boolean;
  /** DPOR's sleep sets (default on; off for testing). */
  readonly sleepSets?: boolean;
  /**
   * Search only the subtree of the executions that start with these decisions (explore --split:
   * properties/explore_split.ts). Its own state cache, its own sleep sets, no backtracking into
   * the prefix.
   */
  readonly prefix?: readonly ForcedChoice[];
}

export interface ExploreProgress {
  readonly executions: number;
  readonly steps: number;
  readonly states: number;
  readonly prunedByReduction: number;
  readonly prunedByCache: number;
  readonly elapsedMs: number;
}

export interface ExploreOutcome {
  readonly reduction: ExploreReduction;
  readonly executions: number;
  /** Executions that ran to their end and were judged. */
  readonly judged: number;
  /** Steps executed over all executions. */
  readonly steps: number;
  /** Executions stopped early because the reduction showed them redundant (sleep sets). */
  readonly prunedByReduction: number;
  /** Executions stopped because going on needed a preemption over the bound. */
  readonly prunedByBound: number;
  /** Executions stopped at a state reached before (reduction 'cache'). */
  readonly prunedByCache: number;
  /** Distinct states reached (null without tracking: reduction 'none'). */
  readonly states: number | null;
  /** Memory of the state cache, per state (bytes; reduction 'cache'). */
  readonly cacheBytesPerState: number | null;
  /** The whole space (every trace, or every schedule without reduction) within the bound was covered. */
  readonly complete: boolean;
  readonly elapsedMs: number;
  readonly unknown: number;
  /** The first violation of each property. */
  readonly violations: readonly FoundViolation[];
  readonly dpor?: DporStats;
}

/** The location a step visible to STEP_CHECKS_STATELESS[c] writes (see the file header). */
const VISIBLE: readonly number[] = STEP_CHECKS_STATELESS.map((_c, i) => sim_fp_loc('visible to a per-step check', i));

export function exploreScenario(opts: ExploreOptions): ExploreOutcome {
  return (opts.reduction ?? 'dpor') === 'none' ? exploreDfs(opts) : exploreDpor(opts);
}

function exploreDpor(opts: ExploreOptions): ExploreOutcome {
  // An object that outlives a run shifts the object ids of the runs after the first that met it
  // (impl/rt/track.ts): when one shows up, start over (it is then left alone by every run).
  for (let attempt = 0; ; attempt++) {
    sim_track_new_exploration();
    const r = exploreDporOnce(opts);
    if (r !== null) return r;
    if (attempt >= 20) throw new Error('explore: objects outliving their run keep appearing (impl/rt/track.ts)');
  }
}

function exploreDporOnce(opts: ExploreOptions): ExploreOutcome | null {
  const t0 = performance.now();
  const deadline = opts.timeLimitMs !== undefined ? t0 + opts.timeLimitMs : Infinity;
  const max = opts.maxExecutions ?? Infinity;
  const cache = opts.reduction === 'cache';
  const dpor = new DporStrategy({
    preemptionBound: opts.preemptions, mode: cache ? 'full' : 'dpor', cache,
    ...(opts.sleepSets !== undefined ? { sleepSets: opts.sleepSets } : {}),
    ...(opts.prefix !== undefined ? { forced: opts.prefix } : {}),
  });
  const found = new Found(opts);
  let executions = 0;
  let judged = 0;
  let steps = 0;
  let stopped = false;
  for (let run = dpor.next(); run !== null; run = dpor.next()) {
    const outcome = runTracked(opts, run);
    if (sim_track_persistent_seen()) return null;
    if (process.env.DPOR_DEBUG) process.stderr.write(`exec ${executions + 1}: ${outcome.outcome.status} ${run.prunedBy ?? ''} ${outcome.outcome.schedule}\n`);
    dpor.finish(outcome.outcome);
    executions++;
    steps += outcome.outcome.steps;
    if (outcome.outcome.status !== 'pruned') judged++;
    found.add(outcome.report, outcome.outcome, executions);
    if (opts.onProgress !== undefined) {
      const st = dpor.stats;
      opts.onProgress({ executions, steps, states: st.states, prunedByReduction: st.sleepPruned, prunedByCache: st.cachePruned, elapsedMs: performance.now() - t0 });
    }
    if (executions >= max || performance.now() >= deadline) {
      stopped = true;
      break;
    }
  }
  if (dpor.diverged !== null) throw new Error(dpor.diverged);
  const st = dpor.stats;
  return {
    reduction: cache ? 'cache' : 'dpor', executions, judged, steps, prunedByReduction: st.sleepPruned, prunedByBound: st.boundPruned,
    prunedByCache: st.cachePruned, states: st.states, cacheBytesPerState: cache ? bytesPerState() : null,
    complete: !stopped && dpor.complete, elapsedMs: performance.now() - t0, unknown: found.unknown,
    violations: found.list(), dpor: st,
  };
}

function exploreDfs(opts: ExploreOptions): ExploreOutcome {
  const t0 = performance.now();
  const deadline = opts.timeLimitMs !== undefined ? t0 + opts.timeLimitMs : Infinity;
  const max = opts.maxExecutions ?? Infinity;
  const dfs = new DfsStrategy({ preemptionBound: opts.preemptions, ...(opts.prefix !== undefined ? { forced: opts.prefix } : {}) });
  const found = new Found(opts);
  let executions = 0;
  let steps = 0;
  let stopped = false;
  for (let s = dfs.next(); s !== null; s = dfs.next()) {
    const r = runScenario({ variant: opts.variant, scenario: opts.scenario, scheduler: s });
    executions++;
    steps += r.steps;
    found.addReport(r, executions);
    opts.onProgress?.({ executions, steps, states: 0, prunedByReduction: 0, prunedByCache: 0, elapsedMs: performance.now() - t0 });
    if (executions >= max || performance.now() >= deadline) {
      stopped = true;
      break;
    }
  }
  if (dfs.diverged !== null) throw new Error(dfs.diverged);
  return {
    reduction: 'none', executions, judged: executions, steps, prunedByReduction: 0, prunedByBound: 0, prunedByCache: 0, states: null, cacheBytesPerState: null,
    complete: !stopped && dfs.complete, elapsedMs: performance.now() - t0, unknown: found.unknown, violations: found.list(),
  };
}

interface TrackedRun {
  readonly outcome: Outcome;
  /** The verdict as runScenario would give it (null for a pruned run). */
  readonly report: Pick<RunReport, 'status' | 'violation' | 'error' | 'schedule' | 'steps' | 'preemptions'> | null;
}

/**
 * One DPOR execution: tracked; each per-step check re-runs only after a step that wrote something
 * it read last time (and that step is then visible to it: see the file header).
 */
function runTracked(opts: ExploreOptions, run: DporRun): TrackedRun {
  const checkRec = sim_track_recorder();
  const checkReads: (Set<number> | null)[] = STEP_CHECKS_STATELESS.map(() => null);
  let lastFp: Footprint | null = null;
  const observer: StepObserver = {
    stepDone(exec: Execution, task: TaskState, step: number, fp: Footprint): void {
      lastFp = fp;
      run.stepDone(exec, task, step, fp);
    },
    get recording(): boolean {
      return run.recording;
    },
  };
  const hooks: ExecutionHooks = {
    afterStep(exec: Execution): Violation | null {
      // Replaying the prefix the last run already checked: the same states, the same verdicts.
      // When it ends, every check runs once (clean) to learn what it reads.
      const replay = run.replaying;
      if (replay > 0) return null;
      const writes = replay === 0 && checkReads[0] === null ? [] : lastFp!.writes;
      const kernel = exec.world as Kernel;
      for (let c = 0; c < STEP_CHECKS_STATELESS.length; c++) {
        const before = checkReads[c]!;
        if (before !== null) {
          let changed = false;
          for (let i = 0; i < writes.length; i++) {
            const w = writes[i]!;
            if (before.has(w) || before.has(sim_fp_whole(w))) { changed = true; break; }
          }
          if (!changed) continue;
          run.addWrite(VISIBLE[c]!);
        }
        sim_track_record(checkRec, true);
        let v: Violation | null;
        try {
          v = STEP_CHECKS_STATELESS[c]!(kernel);
        } finally {
          sim_track_record(null);
        }
        checkReads[c] = new Set(sim_track_footprint(checkRec).reads);
        if (v) return v;
      }
      return null;
    },
    atEnd(exec: Execution): Violation | null {
      const kernel = exec.world as Kernel;
      for (const c of END_CHECKS) {
        const v = c(kernel);
        if (v) return v;
      }
      return null;
    },
  };
  const sim = sim_run({ variant: opts.variant, scenario: opts.scenario, scheduler: run, hooks, observer });
  const outcome = sim.outcome;
  if (outcome.status === 'pruned') return { outcome, report: null };
  let status: RunReport['status'] = outcome.status === 'ok' ? 'pass' : outcome.status === 'violation' ? 'violation' : outcome.status === 'crash' ? 'crash' : 'bad-schedule';
  let violation = outcome.violation;
  let error = outcome.error;
  if (status === 'pass') {
    const h = judgeHistory(sim);
    if (h.status === 'violation') {
      status = 'violation';
      violation = h.violation;
    } else if (h.status === 'unknown') {
      status = 'unknown';
      error = h.reason;
    }
  }
  return { outcome, report: { status, violation, error, schedule: outcome.schedule, steps: outcome.steps, preemptions: outcome.preemptions } };
}

/**
 * What one state costs the cache: it keeps a Set of 52-bit numbers (stateKey); the bytes per
 * entry are measured once, on a set of 50,000.
 */
let measuredBytes: number | null = null;
function bytesPerState(): number {
  if (measuredBytes === null) {
    const before = process.memoryUsage().heapUsed;
    const s = new Set<number>();
    for (let i = 0; i < 50_000; i++) s.add(((i * 2654435761) % 4294967296) * 1048576 + (i & 0xfffff));
    const after = process.memoryUsage().heapUsed;
    measuredBytes = s.size > 0 ? Math.max(1, Math.round((after - before) / s.size)) : 0;
  }
  return measuredBytes;
}

/** The first violation of each property, traced by an untracked strict replay. */
class Found {
  private readonly seen = new Map<string, FoundViolation>();
  unknown = 0;
  constructor(private readonly opts: ExploreOptions) {}

  add(r: TrackedRun['report'], _o: Outcome, executions: number): void {
    if (r === null) return;
    this.addReport(r, executions);
  }

  addReport(r: NonNullable<TrackedRun['report']>, executions: number): void {
    if (r.status === 'unknown') this.unknown++;
    if (r.status === 'crash' || r.status === 'bad-schedule') {
      throw new Error(`internal error in scenario ${this.opts.scenario.name}: ${(r.error ?? r.status).split('\n')[0]}`);
    }
    if (r.status !== 'violation' || r.violation === undefined || this.seen.has(r.violation.property)) return;
    const traced = this.opts.traceViolations === false ? null
      : runScenario({ variant: this.opts.variant, scenario: this.opts.scenario, schedule: r.schedule, trace: true, strict: true });
    const report = traced !== null && traced.status === 'violation' && traced.violation?.property === r.violation.property
      ? traced : traced ?? ({ ...r, taskNames: [], threads: [], history: [], stats: undefined } as unknown as RunReport);
    this.seen.set(r.violation.property, {
      property: r.violation.property, message: r.violation.message, executionsToFind: executions, report, scenario: this.opts.scenario,
      tasks: this.opts.scenario.threads.length + (this.opts.scenario.daemons?.length ?? 0),
    });
  }

  list(): FoundViolation[] {
    return [...this.seen.values()];
  }
}
