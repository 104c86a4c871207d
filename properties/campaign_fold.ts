/**
 * The fold of a campaign's units (properties/campaign.ts runUnit) in unit order: what one process
 * running them in turn reports. Kept apart from campaign.ts so that the CLI can fold results from
 * worker threads and shard files without loading the kernel.
 */
import type { CampaignSpec, FoundViolation } from './api.js';

/** Schedules tried per generated scenario before drawing a new one. */
export const SCHEDULES_PER_SCENARIO = 16;

export function unitCount(spec: Pick<CampaignSpec, 'strategy' | 'runs' | 'guidance'>): number {
  return spec.strategy === 'dfs' || (spec.guidance === 'corpus' && spec.strategy !== 'guided') ? 1 : Math.ceil(spec.runs / SCHEDULES_PER_SCENARIO);
}

/** The executions of unit u (≤ SCHEDULES_PER_SCENARIO; the last unit may be shorter). */
export function unitRuns(spec: Pick<CampaignSpec, 'strategy' | 'runs' | 'guidance'>, u: number): number {
  return spec.strategy === 'dfs' || (spec.guidance === 'corpus' && spec.strategy !== 'guided') ? spec.runs : Math.max(0, Math.min(SCHEDULES_PER_SCENARIO, spec.runs - u * SCHEDULES_PER_SCENARIO));
}


/**
 * Units' results folded in unit order into the campaign's: executions summed up to the first
 * violation (stopAtFirst) or through the last unit, the first violation of each property with its
 * executionsToFind counted from the campaign's start. add() returns false once nothing after that
 * unit can count (a violation with stopAtFirst, or a unit cut short by the deadline).
 */
export class CampaignFold<V extends { readonly property: string; readonly executionsToFind: number } = FoundViolation> {
  executions = 0;
  unknown = 0;
  injectedRuns = 0;
  complete: boolean | undefined;
  readonly violations: V[] = [];
  readonly seen = new Set<string>();
  done = false;
  constructor(private readonly stopAtFirst: boolean, private readonly shift: (v: V, executionsToFind: number) => V) {}

  add(r: { readonly executions: number; readonly unknown: number; readonly injectedRuns: number; readonly violations: readonly V[]; readonly complete?: boolean; readonly cut: boolean }): boolean {
    if (this.done) return false;
    for (const v of r.violations) {
      if (this.seen.has(v.property)) continue;
      this.seen.add(v.property);
      this.violations.push(this.shift(v, this.executions + v.executionsToFind));
    }
    this.executions += r.executions;
    this.unknown += r.unknown;
    this.injectedRuns += r.injectedRuns;
    if (r.complete !== undefined) this.complete = (this.complete ?? true) && r.complete;
    if ((this.stopAtFirst && this.violations.length > 0) || r.cut) this.done = true;
    return !this.done;
  }
}

