/** A scenario family: draws one small scenario per seed (`faultline list scenarios`). */
import type fc from 'fast-check';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import type { MutableFamily } from '../corpus.js';

export interface Family {
  readonly name: string;
  readonly description: string;
  generate(seed: number): ScenarioSpec;
  /**
   * A family drawn from a fast-check arbitrary (the general generator): generate(seed) is the
   * arbitrary's value for that seed (properties/arbitraries/draw.ts), so a counterexample's
   * workload can be shrunk by fast-check's own shrinker before its schedule is.
   */
  readonly arbitrary?: fc.Arbitrary<ScenarioSpec>;
  /** Its workloads as plain draws a coverage-guided corpus can mutate (properties/corpus.ts). */
  readonly mutable?: MutableFamily<unknown>;
}
