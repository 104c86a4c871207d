/**
 * What the CLI runs: the checker (properties/runner.ts, campaign.ts), the scenario families, the
 * property registry and the zoo (impl/bugs). Loaded lazily (so `faultline list configs` does not
 * load the kernel) and injectable (tests run the commands against a fake checker).
 */
import type { CampaignResult, CampaignSpec, RunReport } from '../properties/api.js';
import type { Scheduler } from '../impl/rt/scheduler.js';
import type { ScenarioSpec } from '../impl/sim/scenario.js';
import type { Variant } from '../impl/sim/variant.js';

export interface FamilyInfo {
  readonly name: string;
  readonly description: string;
  generate(seed: number): ScenarioSpec;
}

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

export interface Backend {
  families(): Promise<ReadonlyMap<string, FamilyInfo>>;
  properties(): Promise<readonly PropertyInfo[]>;
  /** The zoo mutants (an empty list while impl/bugs does not exist). */
  mutants(): Promise<readonly Variant[]>;
  runScenario(opts: RunScenarioOptions): Promise<RunReport>;
  runCampaign(spec: CampaignSpec): Promise<CampaignResult>;
  /** A user's variant module; throws VariantError (one line) when it is not usable. */
  loadVariantFile(path: string): Promise<Variant>;
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

interface CampaignModule {
  runCampaign(spec: CampaignSpec): CampaignResult;
  loadVariantFile(path: string): Promise<Variant>;
}

let campaignModule: Promise<CampaignModule> | null = null;
function campaign(): Promise<CampaignModule> {
  campaignModule ??= (async () => {
    const m = await importOptional('../properties/campaign.js', 'campaign');
    if (!m || typeof m.runCampaign !== 'function' || typeof m.loadVariantFile !== 'function') {
      throw new BackendError('the checker is incomplete: properties/campaign.ts (runCampaign, loadVariantFile) is missing');
    }
    return m as unknown as CampaignModule;
  })();
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
};
