/** The scenario families by name (`faultline list scenarios`). */
import { FAMILY_LIST, type Family } from './families.js';

export type { Family };
export const FAMILIES: ReadonlyMap<string, Family> = new Map(FAMILY_LIST.map((f) => [f.name, f]));
