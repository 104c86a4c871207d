/**
 * The configurations `faultline` checks: the kernel generations (impl/sim/config.ts), which must
 * pass, and the article's design proposals (impl/bugs/proposals.ts), which may or may not — a
 * violation in a proposal is a finding about the proposal, not a failure of the kernel model.
 */
import { findGeneration, GENERATIONS } from '../impl/sim/config.js';
import { generationVariant, type Variant } from '../impl/sim/variant.js';
import { PROPOSALS } from '../impl/bugs/proposals.js';

export interface ConfigInfo {
  readonly name: string;
  readonly kind: 'generation' | 'proposal';
  /** The generation it starts from (itself for a generation). */
  readonly base: string;
  readonly description: string;
}

export const CONFIGURATIONS: readonly ConfigInfo[] = [
  ...GENERATIONS.map((g) => ({ name: g.name, kind: 'generation' as const, base: g.name, description: g.follows })),
  ...PROPOSALS.map((p) => ({ name: p.name, kind: 'proposal' as const, base: p.base, description: p.description })),
];

/** The variant a configuration name stands for, or undefined. */
export function findConfig(name: string): Variant | undefined {
  if (findGeneration(name)) return generationVariant(name);
  return PROPOSALS.find((p) => p.name === name);
}

export function isProposal(name: string): boolean {
  return PROPOSALS.some((p) => p.name === name);
}

/** The configuration name a run of this variant reports: a proposal's own name, else its generation. */
export function configNameOf(v: Variant): string {
  return PROPOSALS.includes(v) ? v.name : v.cfg.name;
}

export function configNames(): string {
  return CONFIGURATIONS.map((c) => c.name).join(', ');
}
