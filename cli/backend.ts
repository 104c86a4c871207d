/**
 * What the CLI runs: the checker (properties/runner.ts, campaign.ts), the scenario families, the
 * property registry and the zoo (impl/bugs). Loaded lazily (so `faultline list configs` does not
 * load the kernel) and injectable (tests run the commands against a fake checker).
 */
import type { CampaignResult, CampaignSpec, FoundViolation, RunReport } from '../properties/api.js';
import type { Scheduler } from '../impl/rt/scheduler.js';
import type { ScenarioSpec } from '../impl/sim/scenario.js';
import type { Family } from '../properties/scenarios/family.js';
import type { Variant } from '../impl/sim/variant.js';

/** A scenario family (properties/scenarios/family.ts): `--scenario NAME[:OPTION=VALUE,…]`. */
export type FamilyInfo = Family;

export interface PropertyInfo {
  readonly name: string;
  readonly kind: 'step' | 'end' | 'history' | 'builtin';
  readonly description: string;
  readonly kernelRef: string;
}

export interface RunScenarioOptions {
  readonly variant: Variant;
  readonly scenario: ScenarioSpec;
  readonly schedule?: string;
  readonly scheduler?: Scheduler;
  readonly trace?: boolean;
  readonly strict?: boolean;
}

export interface ExploreSpec {
  readonly variant: Variant;
  /** The one scenario whose interleavings are searched. */
  readonly scenario: ScenarioSpec;
  readonly preemptions: number;
  readonly maxExecutions: number;
  readonly timeLimitMs?: number;
  /**
   * 'dpor' (default): partial-order reduction; 'cache': every schedule, cut at states reached
   * before; 'none': every schedule (the plain DFS). See properties/explore.ts.
   */
  readonly reduction?: 'dpor' | 'cache' | 'none';
  readonly onProgress?: (executions: number, more?: ExploreProgressInfo) => void;
}

/** What a progress line shows besides the executions. */
export interface ExploreProgressInfo {
  readonly states: number;
  readonly prunedByReduction: number;
  readonly prunedByCache: number;
  readonly elapsedMs: number;
}

export interface ExploreResult {
  readonly executions: number;
  readonly elapsedMs: number;
  /** Every interleaving (every trace, with reduction) within the preemption bound was run. */
  readonly complete: boolean;
  readonly unknown: number;
  /** The first violation of each property, traced. */
  readonly violations: readonly FoundViolation[];
  readonly reduction?: 'dpor' | 'cache' | 'none';
  /** Distinct states reached (kernel state, each task's position), over all executions (null: not tracked). */
  readonly states?: number | null;
  /** The state cache's memory per state, in bytes (reduction 'cache'). */
  readonly cacheBytesPerState?: number | null;
  /** Executions stopped early because the reduction showed them redundant. */
  readonly prunedByReduction?: number;
  /** Executions stopped early at a state already explored (the state cache). */
  readonly prunedByCache?: number;
  /** Steps over all executions. */
  readonly steps?: number;
}

export interface Backend {
  families(): Promise<ReadonlyMap<string, FamilyInfo>>;
  properties(): Promise<readonly PropertyInfo[]>;
  /** The zoo mutants (an empty list while impl/bugs does not exist). */
  mutants(): Promise<readonly Variant[]>;
  runScenario(opts: RunScenarioOptions): Promise<RunReport>;
  runCampaign(spec: CampaignSpec): Promise<CampaignResult>;
  /** A user's variant module; throws VariantError (one line) when it is not usable. */
  loadVariantFile(path: string): Promise<Variant>;
  /** Exhaustive DFS over one scenario's interleavings within a preemption bound. */
  explore(spec: ExploreSpec): Promise<ExploreResult>;
}

/** Exhaustive exploration of one scenario (properties/explore.ts): DPOR, or plain DFS. */
export async function exploreWithReduction(spec: ExploreSpec): Promise<ExploreResult> {
  const { exploreScenario: explore } = await import('../properties/explore.js');
  try {
    const r = explore({
      variant: spec.variant, scenario: spec.scenario, preemptions: spec.preemptions, reduction: spec.reduction ?? 'dpor',
      maxExecutions: spec.maxExecutions, ...(spec.timeLimitMs !== undefined ? { timeLimitMs: spec.timeLimitMs } : {}),
      onProgress: (p) => spec.onProgress?.(p.executions, p),
    });
    return {
      executions: r.executions, elapsedMs: r.elapsedMs, complete: r.complete, unknown: r.unknown, violations: r.violations,
      reduction: r.reduction, states: r.states, cacheBytesPerState: r.cacheBytesPerState, prunedByReduction: r.prunedByReduction, prunedByCache: r.prunedByCache, steps: r.steps,
    };
  } catch (e) {
    if (e instanceof Error && /internal error|not deterministic/.test(e.message)) throw new BackendError(e.message.split('\n')[0]!);
    throw e;
  }
}

/** DFS over one scenario with the runner (a backend without the explorer of properties/). */
export async function exploreScenario(runScenario: Backend['runScenario'], spec: ExploreSpec): Promise<ExploreResult> {
  const { DfsStrategy } = await import('../impl/rt/schedulers/dfs.js');
  const t0 = performance.now();
  const deadline = spec.timeLimitMs !== undefined ? t0 + spec.timeLimitMs : Infinity;
  const dfs = new DfsStrategy({ preemptionBound: spec.preemptions, maxExecutions: spec.maxExecutions });
  const violations: FoundViolation[] = [];
  const seen = new Set<string>();
  let executions = 0;
  let unknown = 0;
  let stopped = false;
  for (let s = dfs.next(); s; s = dfs.next()) {
    const r = await runScenario({ variant: spec.variant, scenario: spec.scenario, scheduler: s });
    dfs.done?.(r.steps);
    executions++;
    spec.onProgress?.(executions);
    if (r.status === 'unknown') unknown++;
    if (r.status === 'crash' || r.status === 'bad-schedule') {
      throw new BackendError(`internal error in scenario ${spec.scenario.name}: ${(r.error ?? r.status).split('\n')[0]}`);
    }
    if (r.status === 'violation' && r.violation && !seen.has(r.violation.property)) {
      seen.add(r.violation.property);
      const traced = await runScenario({ variant: spec.variant, scenario: spec.scenario, schedule: r.schedule, trace: true, strict: true });
      const report = traced.status === 'violation' && traced.violation?.property === r.violation.property ? traced : r;
      violations.push({
        property: r.violation.property, message: r.violation.message, executionsToFind: executions, report, scenario: spec.scenario,
        tasks: spec.scenario.threads.length + (spec.scenario.daemons?.length ?? 0),
      });
    }
    if (executions >= spec.maxExecutions || performance.now() >= deadline) {
      stopped = true;
      break;
    }
  }
  // Stopped by a limit: covered only if nothing was left to try.
  const complete = stopped ? dfs.next() === null && dfs.complete : dfs.complete;
  return { executions, elapsedMs: performance.now() - t0, complete, unknown, violations };
}

/** The checker itself is missing or broken: an internal error, not bad input. */
export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

function isMissingModule(e: unknown, what: string): boolean {
  const code = (e as { code?: string } | null)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  return (code === 'ERR_MODULE_NOT_FOUND' || /Cannot find module|Failed to load url|Does the file exist/i.test(msg)) && msg.includes(what);
}

/** Import a module that may not exist yet (a variable specifier: the type checker does not resolve it). */
async function importOptional(spec: string, what: string): Promise<Record<string, unknown> | null> {
  try {
    return (await import(spec)) as Record<string, unknown>;
  } catch (e) {
    if (isMissingModule(e, what)) return null;
    throw e;
  }
}

type CampaignModule = typeof import('../properties/campaign.js');

let campaignModule: Promise<CampaignModule> | null = null;
function campaign(): Promise<CampaignModule> {
  campaignModule ??= import('../properties/campaign.js');
  return campaignModule;
}

export const defaultBackend: Backend = {
  async families() {
    return (await import('../properties/scenarios/index.js')).FAMILIES as ReadonlyMap<string, FamilyInfo>;
  },
  async properties() {
    return (await import('../properties/registry.js')).PROPERTIES;
  },
  async mutants() {
    const m = await importOptional('../impl/bugs/index.js', 'bugs');
    if (!m || m.MUTANTS === undefined) return [];
    if (!Array.isArray(m.MUTANTS)) throw new BackendError('impl/bugs/index.ts: MUTANTS is not a list');
    return m.MUTANTS as readonly Variant[];
  },
  async runScenario(opts) {
    return (await import('../properties/runner.js')).runScenario(opts);
  },
  async runCampaign(spec) {
    return (await campaign()).runCampaign(spec);
  },
  async loadVariantFile(path) {
    return (await campaign()).loadVariantFile(path);
  },
  explore(spec) {
    return exploreWithReduction(spec);
  },
};
