/**
 * runStepChecks (the runner's per-step pass) gives the verdict of STEP_CHECKS run one by one, in
 * order: its one-pass fast path for I1/I11/I12 (epochAliveTreeClean) is clean exactly when the
 * three checks are, and a planted violation is reported as the sequential checks report it.
 *
 *   |--vma A [0x10000000,0x10002000)--|   |--vma B [0x10004000,0x10005000)--|
 */
import { describe, expect, it } from 'vitest';
import { Execution } from '../../impl/rt/execution.js';
import { ReplayScheduler } from '../../impl/rt/schedulers/replay.js';
import { Kernel } from '../../impl/sim/kernel.js';
import { findGeneration } from '../../impl/sim/config.js';
import { baseTable } from '../../impl/sim/table.js';
import { maple_node, mm_struct, pmd_t, pte_table, sim_reset_ids, vm_area_struct } from '../../impl/include/linux/mm_types.js';
import { PAGE_SIZE, PMD_SHIFT, VM_READ, VM_WRITE } from '../../impl/include/linux/mm_flags.js';
import { sim_set_kernel } from '../../impl/sim/kernel.js';
import { runStepChecks, STEP_CHECKS } from '../../properties/invariants/index.js';
import { checkPmdTablesAlive, checkTreeWellFormed, checkWriteLockEpoch, epochAliveTreeClean, liveMms } from '../../properties/invariants/kernel_state.js';

const BASE = 0x10000000;

function world(gen: string) {
  sim_reset_ids();
  const exec = new Execution({ scheduler: new ReplayScheduler('v1:') });
  const k = new Kernel(findGeneration(gen)!, baseTable(), gen, exec);
  sim_set_kernel(k);
  const mm = new mm_struct(1);
  k.procs.set(1, { pid: 1, mm, uffds: [], exited: false });
  const a = new vm_area_struct(mm, BASE, BASE + 2 * PAGE_SIZE, VM_READ | VM_WRITE, BASE / PAGE_SIZE);
  const b = new vm_area_struct(mm, BASE + 4 * PAGE_SIZE, BASE + 5 * PAGE_SIZE, VM_READ | VM_WRITE, 0);
  a.vm_lock_seq = -1;
  b.vm_lock_seq = -1;
  mm.mm_mt.ma_root = new maple_node([a, b]);
  const pmd = new pmd_t(BASE / 2 ** PMD_SHIFT);
  pmd.table = new pte_table();
  mm.pgd.set(pmd.index, pmd);
  return { k, mm, a, b, pmd };
}

function sequential(k: Kernel) {
  for (const c of STEP_CHECKS) {
    const v = c(k);
    if (v) return v;
  }
  return null;
}

type World = ReturnType<typeof world>;
const PLANTS: ReadonlyArray<readonly [string, (w: World) => void]> = [
  ['nothing', () => {}],
  ['a VMA left write-locked (I1)', (w) => { w.a.vm_lock_seq = w.mm.mm_lock_seq; }],
  ['a freed table still linked (I11)', (w) => { w.pmd.table!.freed = true; }],
  ['overlapping VMAs (I12)', (w) => { w.a.vm_end = BASE + 5 * PAGE_SIZE; }],
  ['an unaligned VMA (I12)', (w) => { w.b.vm_end = BASE + 5 * PAGE_SIZE + 8; }],
  ['an empty VMA (I12)', (w) => { w.b.vm_start = w.b.vm_end; }],
  ['another mm\'s VMA in the tree (I12)', (w) => { (w.b as { vm_mm: mm_struct }).vm_mm = new mm_struct(2); }],
  ['I1 and I12 at once', (w) => { w.b.vm_lock_seq = w.mm.mm_lock_seq; w.a.vm_end = BASE + 5 * PAGE_SIZE; }],
  ['I12 under the write lock (not judged)', (w) => { w.a.vm_end = BASE + 5 * PAGE_SIZE; w.mm.mmap_lock.owner = 3; }],
];

describe('runStepChecks', () => {
  for (const gen of ['v6.3', 'v6.6', 'v6.15']) {
    for (const [name, plant] of PLANTS) {
      it(`${gen}: ${name}: the fast path agrees with the checks one by one`, () => {
        const w = world(gen);
        plant(w);
        const clean = [checkWriteLockEpoch, checkPmdTablesAlive, checkTreeWellFormed].every((c) => c(w.k) === null);
        expect(epochAliveTreeClean(w.k, liveMms(w.k))).toBe(clean);
        const want = sequential(w.k);
        const got = runStepChecks(w.k);
        expect(got?.property).toBe(want?.property);
        expect(got?.message).toBe(want?.message);
      });
    }
  }
});
