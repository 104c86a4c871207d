/**
 * The scenario families by name (`faultline list scenarios`). The general families live in
 * families.ts; the zoo's targeted families (one race each) in zoo_*.ts — add a file and one line.
 */
import { FAMILY_LIST, type Family } from './families.js';
import { ZOO_ZOOA_FAMILIES } from './zoo_zooA.js';
import { LEAD_FAMILIES } from './zoo_lead.js';
import { ZOO_ZOOB_FAMILIES } from './zoo_zooB.js';
import { ZOO_ZOOC_FAMILIES } from './zoo_zooC.js';
import { ZOO_ZOOD_FAMILIES } from './zoo_zooD.js';

export type { Family };

const ALL: readonly Family[] = [...FAMILY_LIST, ...ZOO_ZOOA_FAMILIES, ...LEAD_FAMILIES, ...ZOO_ZOOB_FAMILIES, ...ZOO_ZOOC_FAMILIES, ...ZOO_ZOOD_FAMILIES];

export const FAMILIES: ReadonlyMap<string, Family> = new Map(ALL.map((f) => [f.name, f]));
