/**
 * The `random` family: the general generator (properties/arbitraries/workload.ts) — every
 * operation the model knows with its flags, 1–3 processes, 2–4 threads of 1–5 operations, layouts
 * with the kernel's corner cases, the kernel daemons drawn where they have work. No scenario in
 * it was written for a particular bug.
 */
import type { Family } from './family.js';
import type { MutableFamily } from '../corpus.js';
import { draw } from '../arbitraries/draw.js';
import { buildWorkload, mutateWorkload, workloadArb, workloadDrawArb, type WorkloadDraw } from '../arbitraries/workload.js';

const arbitrary = workloadArb();

const mutable: MutableFamily<WorkloadDraw> = {
  draw: workloadDrawArb(),
  build: (d, name) => buildWorkload(d, {}, name),
  mutate: (d, rnd, others) => mutateWorkload(d, rnd, others),
};

const random: Family = {
  name: 'random',
  description: 'the general generator: every operation with its flags, 1–3 processes, 2–4 threads, corner-case layouts, daemons',
  arbitrary,
  mutable: mutable as MutableFamily<unknown>,
  generate(seed) {
    return { ...draw(arbitrary, seed), name: `random#${seed}` };
  },
};

export const RANDOM_FAMILIES: readonly Family[] = [random];
