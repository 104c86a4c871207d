/**
 * What a fast-check property checks: a configuration or zoo mutant by name, a variant object
 * (defineVariant's result or its spec), or a variant module (its default export). The counterexample
 * file records it the way `faultline replay` finds it again: a configuration, a mutant by name, or
 * the variant's file when the caller names it.
 */
import { MUTANTS } from '../../impl/bugs/index.js';
import { defineVariant, VariantError, type Variant, type VariantSpec } from '../../impl/sim/variant.js';
import { configNameOf } from '../configs.js';
import { resolveVariant } from '../campaign.js';

/** A configuration or mutant name, a variant (or its spec), or a module whose default export is one. */
export type VariantLike = string | Variant | VariantSpec | { readonly default: Variant | VariantSpec };

export interface ResolvedVariant {
  readonly variant: Variant;
  /** The configuration the counterexample names. */
  readonly config: string;
  readonly mutant?: string;
  readonly variantFile?: string;
}

function isVariant(v: unknown): v is Variant {
  return typeof v === 'object' && v !== null && typeof (v as Partial<Variant>).table === 'function' && (v as Partial<Variant>).cfg !== undefined;
}

/** The variant `v` stands for; `variantFile` is recorded in counterexamples (replayed with it). */
export function toVariant(v: VariantLike, variantFile?: string): ResolvedVariant {
  let variant: Variant;
  if (typeof v === 'string') variant = resolveVariant(v);
  else if (typeof v !== 'object' || v === null) throw new VariantError('a variant must be a name, a variant object or a module');
  else if ('default' in v) return toVariant(v.default, variantFile);
  else variant = isVariant(v) ? v : defineVariant(v);
  const mutant = MUTANTS.find((m) => m === variant || (typeof v === 'string' && m.name === v));
  return {
    variant,
    config: configNameOf(variant),
    ...(mutant ? { mutant: mutant.name } : {}),
    ...(variantFile !== undefined ? { variantFile } : {}),
  };
}
