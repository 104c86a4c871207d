/** The per-step and end-of-run checks the runner applies, in order. */
import type { Violation } from '../../impl/rt/task.js';
import type { Kernel } from '../../impl/sim/kernel.js';
import {
  checkPmdTablesAlive, checkPtesInsideVmas, checkPtesInsideVmasAtEnd, checkTreeWellFormed, checkWriteLockEpoch,
  epochAliveTreeClean, liveMms, pmdTablesAliveIn, ptesInsideVmasIn, treeWellFormedIn, writeLockEpochIn,
} from './kernel_state.js';
import type { mm_struct } from '../../impl/include/linux/mm_types.js';
import { checkNoLeaks, checkRmapComplete } from './end_of_run.js';
import { checkVmaLockExclusion, vmaLockExclusionIn } from './vma_locks.js';

export type KernelCheck = (kernel: Kernel) => Violation | null;

export const STEP_CHECKS: readonly KernelCheck[] = [
  checkWriteLockEpoch,
  checkPmdTablesAlive,
  checkTreeWellFormed,
  checkPtesInsideVmas,
  checkVmaLockExclusion,
];

export const END_CHECKS: readonly KernelCheck[] = [
  checkPtesInsideVmasAtEnd,
  checkRmapComplete,
  checkNoLeaks,
];

/** The same check over a list of live mms computed once for the step. */
type MmsCheck = (kernel: Kernel, mms: readonly mm_struct[]) => Violation | null;
const OVER_MMS: ReadonlyMap<KernelCheck, MmsCheck> = new Map<KernelCheck, MmsCheck>([
  [checkWriteLockEpoch, writeLockEpochIn],
  [checkPmdTablesAlive, (_k, mms) => pmdTablesAliveIn(mms)],
  [checkTreeWellFormed, (_k, mms) => treeWellFormedIn(mms)],
  [checkPtesInsideVmas, ptesInsideVmasIn],
  [checkVmaLockExclusion, vmaLockExclusionIn],
]);

/**
 * Every STEP_CHECKS entry, in order, as the runner applies them after each step: the same verdicts
 * as calling each check, with the live mms listed once per step instead of once per check.
 */
export function runStepChecks(kernel: Kernel): Violation | null {
  const mms = liveMms(kernel);
  // I1, I11, I12 are judged in one pass; only when one of them fires are they run one by one, in
  // order, for the report.
  const skipFused = epochAliveTreeClean(kernel, mms);
  for (let i = 0; i < STEP_CHECKS.length; i++) {
    const c = STEP_CHECKS[i]!;
    if (skipFused && FUSED.has(c)) continue;
    const fast = OVER_MMS.get(c);
    const v = fast !== undefined ? fast(kernel, mms) : c(kernel);
    if (v) return v;
  }
  return null;
}

/** The checks epochAliveTreeClean decides at once. */
const FUSED: ReadonlySet<KernelCheck> = new Set<KernelCheck>([checkWriteLockEpoch, checkPmdTablesAlive, checkTreeWellFormed]);
