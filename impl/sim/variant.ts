/**
 * Variants: a kernel generation plus replaced functions and changed configuration. A zoo mutant is
 * a variant that reverts one fix; a user's own locking idea is a variant in a file of their own:
 *
 *   // my-idea.ts
 *   import { defineVariant } from 'faultline/impl/sim/variant.js';
 *   export default defineVariant({
 *     name: 'hold-vma-lock-across-io', base: 'v6.6',
 *     description: 'do_swap_page waits for the read with the VMA lock held',
 *     config: { io_hold_vma_lock: true },
 *     overrides: { do_swap_page: function* (vmf) { … } },
 *   });
 */
import type { KernelConfig } from './config.js';
import { findGeneration, GENERATIONS } from './config.js';
import { baseTable, FUNCTION_HOME, type KernelFns } from './table.js';

export interface VariantSpec {
  readonly name: string;
  /** The generation it starts from ('v6.4', …). */
  readonly base: string;
  readonly description: string;
  /** Replaced kernel functions, by kernel name. */
  readonly overrides?: Partial<KernelFns>;
  /** Changed configuration flags. */
  readonly config?: Partial<Omit<KernelConfig, 'name' | 'follows'>>;
  /** For the zoo: the kernel commit whose fix this variant reverts. */
  readonly reverts?: string;
  /** For the zoo: the scenario family that exposes it. */
  readonly scenario?: string;
}

export interface Variant extends VariantSpec {
  readonly cfg: KernelConfig;
  /** Build a fresh function table for one execution. */
  table(): KernelFns;
}

/** An error in a variant definition (unknown base, unknown function name): a one-line message. */
export class VariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VariantError';
  }
}

export function defineVariant(spec: VariantSpec): Variant {
  if (!spec || typeof spec !== 'object') throw new VariantError('a variant must be an object');
  if (typeof spec.name !== 'string' || spec.name === '') throw new VariantError('a variant needs a name');
  const gen = findGeneration(spec.base);
  if (!gen) {
    throw new VariantError(`variant ${spec.name}: unknown base "${String(spec.base)}" (one of ${GENERATIONS.map((g) => g.name).join(', ')})`);
  }
  const overrides = spec.overrides ?? {};
  for (const [name, fn] of Object.entries(overrides)) {
    if (!FUNCTION_HOME.has(name)) throw new VariantError(`variant ${spec.name}: no kernel function named ${name}`);
    if (typeof fn !== 'function') throw new VariantError(`variant ${spec.name}: override ${name} is not a function`);
  }
  for (const key of Object.keys(spec.config ?? {})) {
    if (!(key in gen) || key === 'name' || key === 'follows') throw new VariantError(`variant ${spec.name}: no configuration flag named ${key}`);
  }
  const cfg: KernelConfig = { ...gen, ...(spec.config ?? {}), name: gen.name };
  // The merged table is built once per variant; each execution gets its own copy (cheap).
  let template: KernelFns | null = null;
  return {
    ...spec,
    cfg,
    table(): KernelFns {
      template ??= { ...baseTable(), ...overrides } as KernelFns;
      return { ...template };
    },
  };
}

/** The plain generation, as a variant with no overrides. */
export function generationVariant(name: string): Variant {
  return defineVariant({ name, base: name, description: `Linux ${name} as configured` });
}
