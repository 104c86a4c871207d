/** The per-step and end-of-run checks the runner applies, in order. */
import type { Violation } from '../../impl/rt/task.js';
import type { Kernel } from '../../impl/sim/kernel.js';
import {
  checkPmdTablesAlive, checkPtesInsideVmas, checkPtesInsideVmasAtEnd, checkPtesInsideVmasNoMemo, checkTreeWellFormed, checkWriteLockEpoch,
  epochAliveTreeClean, pmdTablesAliveIn, ptesInsideVmasIn, treeWellFormedIn, writeLockEpochIn,
} from './kernel_state.js';
import type { mm_struct } from '../../impl/include/linux/mm_types.js';
import { sim_vma_lock_state } from '../../impl/mm/mmap_lock.js';
import { registerExecSlot } from '../../impl/rt/execution.js';
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

/**
 * STEP_CHECKS for the reducing explorer: the same checks, in the same order, with I10 without its
 * memo (properties/explore.ts needs each check's reads to be a function of the state).
 */
export const STEP_CHECKS_STATELESS: readonly KernelCheck[] = STEP_CHECKS.map((c) => (c === checkPtesInsideVmas ? checkPtesInsideVmasNoMemo : c));

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

/** The checks epochAliveTreeClean decides at once. */
const FUSED: ReadonlySet<KernelCheck> = new Set<KernelCheck>([checkWriteLockEpoch, checkPmdTablesAlive, checkTreeWellFormed]);

/**
 * STEP_CHECKS as the runner runs them, built once per list (the list is a module constant, but a
 * test may pass its own): each entry's list-of-mms form, and whether epochAliveTreeClean decides it.
 */
interface Plan {
  readonly fns: readonly MmsCheck[];
  readonly fused: readonly boolean[];
  /** Index of checkVmaLockExclusion, whose clean mms epochAliveTreeClean also decides (see below). */
  readonly i3: number;
}

function planOf(checks: readonly KernelCheck[]): Plan {
  return {
    fns: checks.map((c) => OVER_MMS.get(c) ?? ((k: Kernel) => c(k))),
    fused: checks.map((c) => FUSED.has(c)),
    i3: checks.indexOf(checkVmaLockExclusion),
  };
}

const PLAN = planOf(STEP_CHECKS);

/** The run's list of live mms, reused from step to step (an exec slot: no allocation per step). */
const MMS = registerExecSlot();

function liveMmsInto(kernel: Kernel): mm_struct[] {
  const slots = kernel.exec.slots;
  let out = slots[MMS] as mm_struct[] | undefined;
  if (out === undefined) {
    out = [];
    slots[MMS] = out;
  }
  out.length = 0;
  for (const p of kernel.procs.values()) {
    const mm = p.mm;
    if (mm && !mm.dead) out.push(mm);
  }
  return out;
}

/**
 * Every STEP_CHECKS entry, in order, as the runner applies them after each step: the same verdicts
 * as calling each check. Faster than calling them one by one, with the same answer:
 * - the live mms are listed once per step (into a reused array);
 * - I1, I11 and I12 are judged in one pass (epochAliveTreeClean); only when one of them fires are
 *   they run one by one, in order, for the report;
 * - I3 (vma-lock-exclusion) is judged only on mms whose mmap_lock has a writer: on the others the
 *   clean fused pass has just shown that no VMA of the tree is write-locked (I1: vm_lock_seq !=
 *   mm_lock_seq) and that every VMA of the tree belongs to the mm (I12), and a VMA that is not
 *   write-locked cannot break I3. That holds for the kernel's sim_vma_lock_state; a variant that
 *   replaces it gets every mm judged.
 */
export function runStepChecks(kernel: Kernel): Violation | null {
  const mms = liveMmsInto(kernel);
  const plan = PLAN;
  const skipFused = epochAliveTreeClean(kernel, mms);
  const fns = plan.fns;
  for (let i = 0; i < fns.length; i++) {
    if (skipFused && plan.fused[i]) continue;
    if (i === plan.i3 && skipFused && kernel.fn.sim_vma_lock_state === sim_vma_lock_state) {
      const v = vmaLockExclusionOnWriters(kernel, mms);
      if (v) return v;
      continue;
    }
    const v = fns[i]!(kernel, mms);
    if (v) return v;
  }
  return null;
}

/** I3 over the mms whose mmap_lock is write-held (see runStepChecks). */
function vmaLockExclusionOnWriters(kernel: Kernel, mms: readonly mm_struct[]): Violation | null {
  if (!kernel.cfg.per_vma_lock) return null;
  for (let m = 0; m < mms.length; m++) {
    const mm = mms[m]!;
    if (mm.mmap_lock.owner === -1) continue;
    const v = vmaLockExclusionIn(kernel, [mm]);
    if (v) return v;
  }
  return null;
}
