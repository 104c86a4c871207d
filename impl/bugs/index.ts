/**
 * The bug zoo: one mutant per file, each a variant that reverts one real kernel fix (or builds one
 * unsafe design from the article), in the generation where the bug lived.
 */
import type { Variant } from '../sim/variant.js';

export const MUTANTS: readonly Variant[] = [];
