/**
 * The scenario families by name (`faultline list scenarios`), one file per area of the mm they
 * exercise. A new family: a file (or an entry in its area's file) and one line here.
 */
import type { Family } from './family.js';
import { IO_FAMILIES } from './io.js';
import { FORK_FAMILIES } from './fork.js';
import { VMA_FAMILIES } from './vma.js';
import { PROC_FAMILIES } from './proc.js';
import { SWAP_FAMILIES } from './swap.js';
import { STACK_FAMILIES } from './stack.js';
import { MEMPOLICY_FAMILIES } from './mempolicy.js';
import { DRIVER_FAMILIES } from './driver.js';
import { UFFD_FAMILIES } from './uffd.js';
import { RANDOM_FAMILIES } from './random.js';

export type { Family };

/** Every family: the general one first (what `check` runs first), then the directed ones by area. */
const ALL: readonly Family[] = [
  ...RANDOM_FAMILIES, ...IO_FAMILIES, ...VMA_FAMILIES, ...FORK_FAMILIES, ...STACK_FAMILIES, ...SWAP_FAMILIES,
  ...PROC_FAMILIES, ...MEMPOLICY_FAMILIES, ...DRIVER_FAMILIES, ...UFFD_FAMILIES,
];

export const FAMILIES: ReadonlyMap<string, Family> = new Map(ALL.map((f) => [f.name, f]));
