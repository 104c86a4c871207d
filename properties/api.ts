/**
 * The checker's public API, used by cli/, bench/ and test/. Implementations: runner.ts (one run),
 * campaign.ts (many runs under a strategy), shrink.ts, scenarios/ (named families), registry.ts
 * (the named properties).
 */
import type { ViolationRecord } from '../impl/rt/execution.js';
import type { TraceEvent } from '../impl/rt/trace.js';
import type { ScenarioSpec } from '../impl/sim/scenario.js';
import type { SimStats } from '../impl/sim/kernel.js';
import type { ModelOp, ModelResult } from '../model/ops.js';

export type RunStatus = 'pass' | 'violation' | 'unknown' | 'crash' | 'bad-schedule';

/** One operation of the history, for reports. */
export interface ReportedOp {
  readonly task: number;
  readonly op: ModelOp;
  readonly result?: ModelResult;
  readonly invoke: number;
  readonly response: number;
}

export interface RunReport {
  readonly status: RunStatus;
  /** The property that broke (status 'violation'), or the unknown/crash reason. */
  readonly violation?: ViolationRecord;
  readonly error?: string;
  /** The normalised schedule: replays this run byte-for-byte. */
  readonly schedule: string;
  readonly steps: number;
  /** Steps until the scenario's setup was done (the threads wait for it; −1: it never finished). */
  readonly setupSteps?: number;
  readonly preemptions: number;
  /** Names of every task of the run (user threads, daemons, setup), by task id. */
  readonly taskNames: readonly string[];
  /** Task ids of the user threads. */
  readonly threads: readonly number[];
  /** Present when the run was traced. */
  readonly trace?: readonly TraceEvent[];
  readonly history: readonly ReportedOp[];
  readonly stats: SimStats;
}

export type StrategyName = 'random' | 'pct' | 'dfs' | 'portfolio' | 'guided';

export interface CampaignSpec {
  /** The variant to check: a configuration, a mutant or a user's variant (see campaign.ts resolveVariant). */
  readonly variant: import('../impl/sim/variant.js').Variant;
  /** A scenario family name (see scenarios/index.ts). */
  readonly family: string;
  readonly strategy: StrategyName;
  readonly runs: number;
  readonly seed: number;
  readonly timeLimitMs?: number;
  /** DFS preemption bound. */
  readonly preemptions?: number;
  /** Stop at the first violation (default true). */
  readonly stopAtFirst?: boolean;
  /**
   * Shrink each violation and re-run it traced (default true). false: report the failing run as
   * found, untraced (bench/time_to_bug.ts measures finding, not shrinking).
   */
  readonly shrink?: boolean;
  /**
   * The share (0..1) of the family's scenarios run with fault injection on (scenario.faultInjection:
   * the scheduler may fail allocations and reads at the kernel's failure points), chosen per
   * scenario from the seed and its index (campaign.ts faultInjectionFor). Default 0.
   */
  readonly faultInjection?: number;
  readonly onProgress?: (executions: number) => void;
  /**
   * 'corpus': for a family with mutable workloads (the general generator), draw from a
   * coverage-guided corpus (properties/corpus.ts) instead of fresh draws only. Default 'none'.
   */
  readonly guidance?: 'none' | 'corpus';
  /** The corpus's coverage signal (default campaign.ts CORPUS_SIGNAL). */
  readonly corpusSignal?: 'steps' | 'coverage' | 'both';
  /** Record what the campaign's runs reach (properties/coverage.ts). */
  readonly coverage?: import('./coverage.js').CoverageCollector;
}

export interface FoundViolation {
  readonly property: string;
  readonly message: string;
  /** Executions run until this one was found (1-based). */
  readonly executionsToFind: number;
  /** The (shrunk) failing run, traced. */
  readonly report: RunReport;
  readonly scenario: ScenarioSpec;
  readonly tasks: number;
}

export interface CampaignResult {
  readonly executions: number;
  readonly elapsedMs: number;
  readonly violations: readonly FoundViolation[];
  /** DFS only: the whole space within the bound was covered. */
  readonly complete?: boolean;
  /** Runs that ended 'unknown' (e.g. the linearizability budget ran out): never a pass. */
  readonly unknown: number;
  /** Runs in which at least one failure was injected (CampaignSpec.faultInjection). */
  readonly injectedRuns?: number;
}
