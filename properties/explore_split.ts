/**
 * The exhaustive search (properties/explore.ts) split into subtrees, for explore --split D with
 * --jobs N and --shard i/n (cli/explore_units.ts): the prefixes of the first D decisions
 * (impl/rt/schedulers/subtrees.ts), each subtree searched on its own, the results folded in prefix
 * order. The fold is a function of the subtrees' results alone, so it does not depend on which
 * thread or machine searched which subtree.
 *
 * Why the union covers the space. Every execution within the preemption bound starts with exactly
 * one of the prefixes (they are every sequence of the first D decisions within the bound; an
 * execution shorter than that is a prefix itself). Each subtree's search explores, from the state
 * its prefix reaches, what the unsplit search explores from the root:
 *  - reduction none: every schedule of the subtree. The union is every schedule, each once, and,
 *    prefix after prefix, in the unsplit DFS's order: the same executions and violations, in the
 *    same order, as the unsplit search;
 *  - dpor: every Mazurkiewicz trace of the executions that start with the prefix (with a bound:
 *    an equivalent execution within it, BPOR). Races between the prefix's events and later ones
 *    would add alternatives at the prefix's points: those alternatives start with another prefix,
 *    which is another subtree, searched in full. Races among the subtree's own events are the
 *    same as in the unsplit search (no prefix event lies between two of them). So every trace is
 *    explored, some more than once: a trace whose first independent steps can come in either
 *    order is a member of several subtrees, each of which explores it. The split search runs more
 *    executions than the unsplit one — the price of searching the subtrees apart;
 *  - cache: every schedule of the subtree, each stopped at a state its own subtree reached before.
 *
 * What the subtrees do not share, and why. The state cache and the distinct-state count: a
 * subtree's cache holds only its own states (the cache's soundness needs the earlier visit's whole
 * subtree to have been explored by the same search; across subtrees it may be running at the same
 * time on another machine), so `states` is the sum of the subtrees' distinct states (a state
 * reached in two subtrees counts twice). Sleep sets and DPOR's alternatives: a subtree starts with
 * an empty sleep set (in the unsplit search, the earlier siblings of the root's choice sleep) and
 * never adds alternatives to the prefix's points (they are other subtrees). Sharing any of these
 * would make a subtree's result depend on which subtrees ran before it on the same thread — on N.
 * `--runs N` is per subtree, for the same reason.
 */
import { enumerateSubtrees, type ForcedChoice, type Subtree } from '../impl/rt/schedulers/subtrees.js';
import type { ScenarioSpec } from '../impl/sim/scenario.js';
import type { Variant } from '../impl/sim/variant.js';
import type { FoundViolation } from './api.js';
import { exploreScenario, type ExploreOptions, type ExploreOutcome, type ExploreReduction } from './explore.js';
import { runScenario } from './runner.js';
import { sim_run } from '../impl/sim/run.js';
import { sim_track_new_exploration } from '../impl/rt/track.js';
import type { Execution, ExecutionHooks, StepObserver } from '../impl/rt/execution.js';
import type { Kernel } from '../impl/sim/kernel.js';
import { END_CHECKS, STEP_CHECKS_STATELESS } from './invariants/index.js';

export type { ForcedChoice, Subtree };

/** The per-step and end-of-run checks the tracked search runs (properties/explore.ts runTracked), all after every step. */
const PROBE_HOOKS: ExecutionHooks = {
  afterStep(exec: Execution) {
    const k = exec.world as Kernel;
    for (const c of STEP_CHECKS_STATELESS) {
      const v = c(k);
      if (v) return v;
    }
    return null;
  },
  atEnd(exec: Execution) {
    const k = exec.world as Kernel;
    for (const c of END_CHECKS) {
      const v = c(k);
      if (v) return v;
    }
    return null;
  },
};
const NO_RECORDING: StepObserver = { stepDone() {}, recording: false };

/**
 * The subtrees of depth `depth` of the scenario's search within the preemption bound, in order.
 * The prefixes are those of the search's own runs: untracked for reduction none (runScenario, as
 * the plain DFS), tracked for dpor and cache (threads start blocked on the setup there:
 * impl/sim/run.ts), judged as the search judges, so that a prefix ends where the search's runs end.
 */
export function exploreSubtrees(variant: Variant, scenario: ScenarioSpec, preemptions: number, depth: number, reduction: ExploreReduction = 'dpor'): Subtree[] {
  if (reduction === 'none') return enumerateSubtrees((scheduler) => void runScenario({ variant, scenario, scheduler }), depth, preemptions);
  const subtrees = enumerateSubtrees((scheduler) => {
    sim_run({ variant, scenario, scheduler, hooks: PROBE_HOOKS, observer: NO_RECORDING });
  }, depth, preemptions);
  sim_track_new_exploration();
  return subtrees;
}

/** One subtree's result: what the fold needs. */
export interface SubtreePart<V extends { readonly property: string; readonly executionsToFind: number }> {
  readonly executions: number;
  readonly judged: number;
  readonly steps: number;
  readonly prunedByReduction: number;
  readonly prunedByBound: number;
  readonly prunedByCache: number;
  readonly states: number | null;
  readonly complete: boolean;
  readonly unknown: number;
  /** The first violation of each property in the subtree, executionsToFind from its start. */
  readonly violations: readonly V[];
}

export interface SubtreeFold<V> {
  readonly executions: number;
  readonly judged: number;
  readonly steps: number;
  readonly prunedByReduction: number;
  readonly prunedByBound: number;
  readonly prunedByCache: number;
  /** The sum of the subtrees' distinct states (null: not tracked). */
  readonly states: number | null;
  /** Every subtree was searched and covered. */
  readonly complete: boolean;
  readonly unknown: number;
  /** The first violation of each property in subtree order, executionsToFind from the search's start. */
  readonly violations: readonly V[];
}

/**
 * Fold the subtrees' results in prefix order (`parts[k]` undefined: subtree k was not searched, a
 * time limit ran out): the first violation of each property is the one of the earliest subtree,
 * its executionsToFind counted over the subtrees before it.
 */
export function foldSubtrees<V extends { readonly property: string; readonly executionsToFind: number }>(
  parts: readonly (SubtreePart<V> | undefined)[], relabel: (v: V, executionsToFind: number) => V,
): SubtreeFold<V> {
  let executions = 0, judged = 0, steps = 0, prunedByReduction = 0, prunedByBound = 0, prunedByCache = 0, unknown = 0;
  let states: number | null = null;
  let complete = true;
  const seen = new Map<string, V>();
  for (const p of parts) {
    if (p === undefined) {
      complete = false;
      continue;
    }
    for (const v of p.violations) if (!seen.has(v.property)) seen.set(v.property, relabel(v, executions + v.executionsToFind));
    executions += p.executions;
    judged += p.judged;
    steps += p.steps;
    prunedByReduction += p.prunedByReduction;
    prunedByBound += p.prunedByBound;
    prunedByCache += p.prunedByCache;
    unknown += p.unknown;
    if (p.states !== null) states = (states ?? 0) + p.states;
    if (!p.complete) complete = false;
  }
  return { executions, judged, steps, prunedByReduction, prunedByBound, prunedByCache, states, complete, unknown, violations: [...seen.values()] };
}

export interface SplitExploreOptions extends Omit<ExploreOptions, 'prefix' | 'onProgress'> {
  /** The depth of the prefixes (0: one subtree, the whole search). */
  readonly depth: number;
}

/** The split search in this thread, subtree after subtree (tests; the CLI runs them on threads). */
export function exploreSplit(opts: SplitExploreOptions): SubtreeFold<FoundViolation> & { readonly reduction: ExploreReduction; readonly subtrees: number } {
  const subtrees = exploreSubtrees(opts.variant, opts.scenario, opts.preemptions, opts.depth, opts.reduction ?? 'dpor');
  const parts: ExploreOutcome[] = subtrees.map((s) => exploreScenario({ ...opts, prefix: s.prefix }));
  const fold = foldSubtrees(parts, (v, executionsToFind) => ({ ...v, executionsToFind }));
  return { ...fold, reduction: opts.reduction ?? 'dpor', subtrees: subtrees.length };
}
