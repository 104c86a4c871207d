/** What a command checks: a configuration, a zoo mutant or a user's variant file, and the scenario families. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { configNameOf, configNames, findConfig } from '../properties/configs.js';
import { defineVariant, generationVariant, VariantError, type Variant } from '../impl/sim/variant.js';
import type { Backend, FamilyInfo } from './backend.js';
import { oneLine, UsageError, type CliIO } from './io.js';
import { bindFamily } from '../properties/scenarios/family.js';

export interface Target {
  readonly variant: Variant;
  /** The configuration the variant runs on. */
  readonly config: string;
  readonly mutant?: string;
  /** The variant file as given on the command line. */
  readonly variantFile?: string;
  /** The variant's own name (for --variant). */
  readonly variantName?: string;
  /** The scenario families to run, in order. */
  readonly families: readonly FamilyInfo[];
  /** The flags it was resolved from (a worker thread resolves the same target from them). */
  readonly flags?: TargetFlags;
}

export { configNames };

/** The same variant on another configuration (a mutant reverting a fix, run on a later kernel). */
export function rebase(v: Variant, config: string): Variant {
  if (v.base === config) return v;
  return defineVariant({
    name: v.name, base: config, description: v.description,
    ...(v.overrides ? { overrides: v.overrides } : {}),
    ...(v.config ? { config: v.config } : {}),
    ...(v.reverts ? { reverts: v.reverts } : {}),
    ...(v.scenario ? { scenario: v.scenario } : {}),
  });
}

export function checkConfig(cmd: string, name: string): void {
  if (!findConfig(name)) throw new UsageError(`${cmd}: unknown configuration "${name}" (one of ${configNames()})`);
}

export async function findMutant(cmd: string, backend: Backend, name: string): Promise<Variant> {
  const mutants = await backend.mutants();
  const m = mutants.find((x) => x.name === name);
  if (!m) {
    throw new UsageError(`${cmd}: unknown mutant "${name}"${mutants.length ? ` (see faultline list mutants)` : ' (no mutants are built yet)'}`);
  }
  return m;
}

/** Load a user's variant module (path relative to the working directory). */
export async function loadVariant(cmd: string, backend: Backend, io: CliIO, file: string): Promise<Variant> {
  const abs = resolve(io.cwd, file);
  let st;
  try {
    st = await stat(abs);
  } catch {
    throw new UsageError(`${cmd}: variant file ${file} does not exist`);
  }
  if (!st.isFile()) throw new UsageError(`${cmd}: variant file ${file} is not a file`);
  try {
    return await backend.loadVariantFile(abs);
  } catch (e) {
    const msg = oneLine((e instanceof Error ? e.message : String(e)).split(abs).join(file));
    if (msg.includes(file)) throw new UsageError(`${cmd}: ${msg}`);
    if (e instanceof VariantError) throw new UsageError(`${cmd}: variant file ${file}: ${msg}`);
    throw new UsageError(`${cmd}: variant file ${file} could not be loaded: ${msg}`);
  }
}

export interface TargetFlags {
  readonly config?: string;
  readonly mutant?: string;
  readonly variant?: string;
  readonly scenario?: string;
}

export async function resolveTarget(cmd: string, backend: Backend, io: CliIO, f: TargetFlags, scenarioRequired: boolean): Promise<Target> {
  if (f.mutant !== undefined && f.variant !== undefined) throw new UsageError(`${cmd}: --mutant and --variant cannot be used together`);
  if (f.config !== undefined) checkConfig(cmd, f.config);
  if (f.config === undefined && f.mutant === undefined && f.variant === undefined) {
    throw new UsageError(`${cmd}: missing --config C (one of ${configNames()}), or --mutant M / --variant FILE`);
  }
  if (scenarioRequired && f.scenario === undefined) throw new UsageError(`${cmd}: missing --scenario S (see faultline list scenarios)`);
  const families = await backend.families();
  const bound = f.scenario !== undefined ? bindFamily(f.scenario, families) : undefined;
  if (typeof bound === 'string') throw new UsageError(`${cmd}: ${bound}`);
  let variant: Variant;
  let mutant: string | undefined;
  let variantFile: string | undefined;
  let variantName: string | undefined;
  if (f.mutant !== undefined) {
    const m = await findMutant(cmd, backend, f.mutant);
    variant = f.config !== undefined ? rebase(m, f.config) : m;
    mutant = m.name;
  } else if (f.variant !== undefined) {
    const v = await loadVariant(cmd, backend, io, f.variant);
    variant = f.config !== undefined ? rebase(v, f.config) : v;
    variantFile = f.variant;
    variantName = v.name;
  } else {
    variant = findConfig(f.config!)!;
  }
  let fams: FamilyInfo[];
  if (bound !== undefined) fams = [bound];
  else if (variant.scenario !== undefined && families.has(variant.scenario)) fams = [families.get(variant.scenario)!];
  else fams = [...families.values()];
  return {
    variant, config: configNameOf(variant), families: fams, flags: { ...f },
    ...(mutant !== undefined ? { mutant } : {}),
    ...(variantFile !== undefined ? { variantFile } : {}),
    ...(variantName !== undefined ? { variantName } : {}),
  };
}
