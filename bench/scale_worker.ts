/** The worker side of bench/scale.ts: a batch of the standard scenario's runs (bench/standard.ts). */
import { generationVariant, type Variant } from '../impl/sim/variant.js';
import { runStandard, STANDARD_CONFIG } from './standard.js';

let variant: Variant | null = null;

/** Runs from..to-1 of seed 1; every one must pass. */
export function runStandardBatch(t: { readonly from: number; readonly to: number }, hooks: { onRun: () => void }): { runs: number; steps: number } {
  variant ??= generationVariant(STANDARD_CONFIG);
  let steps = 0;
  for (let i = t.from; i < t.to; i++) {
    const r = runStandard(variant, 1, i);
    if (r.status !== 'pass') throw new Error(`standard scenario run ${i}: ${r.status} ${r.violation?.property ?? ''}`);
    steps += r.steps;
    hooks.onRun();
  }
  return { runs: t.to - t.from, steps };
}
