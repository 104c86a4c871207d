/** The per-step and end-of-run checks the runner applies, in order. */
import type { Violation } from '../../impl/rt/task.js';
import type { Kernel } from '../../impl/sim/kernel.js';
import { checkPmdTablesAlive, checkPtesInsideVmas, checkPtesInsideVmasAtEnd, checkTreeWellFormed, checkWriteLockEpoch } from './kernel_state.js';
import { checkNoLeaks, checkRmapComplete } from './end_of_run.js';

export type KernelCheck = (kernel: Kernel) => Violation | null;

export const STEP_CHECKS: readonly KernelCheck[] = [
  checkWriteLockEpoch,
  checkPmdTablesAlive,
  checkTreeWellFormed,
  checkPtesInsideVmas,
];

export const END_CHECKS: readonly KernelCheck[] = [
  checkPtesInsideVmasAtEnd,
  checkRmapComplete,
  checkNoLeaks,
];
