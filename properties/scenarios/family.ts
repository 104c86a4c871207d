/** A scenario family: draws one small scenario per seed (`faultline list scenarios`). */
import type { ScenarioSpec } from '../../impl/sim/scenario.js';

export interface Family {
  readonly name: string;
  readonly description: string;
  generate(seed: number): ScenarioSpec;
}
