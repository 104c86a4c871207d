/**
 * Shrinking keeps the userfaultfd monitor of a process that registers a range: without it a
 * registered fault (or a fork's UFFD_EVENT_FORK) sleeps forever — a hang of the test program that
 * the deadlock check reports too ("no runnable task"), so a shrinker free to drop the daemon
 * swapped the kernel's deadlock for the program's. Seen with the general family (seed 1) on
 * uffd-block-holding-vma-lock: the shrunk counterexample, one fork and no monitor, "deadlocked" on
 * plain v6.6 as well.
 */
import { describe, expect, it } from 'vitest';
import { shrinkCounterexample } from '../../properties/shrink.js';
import { runScenario } from '../../properties/runner.js';
import { resolveVariant } from '../../properties/campaign.js';
import { generationVariant } from '../../impl/sim/variant.js';
import { ReplayScheduler } from '../../impl/rt/index.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';

// The mutant's deadlock, found by the general family (seed 1, execution 8), partly shrunk: t1's
// fault on the registered range waits for the monitor holding the VMA read lock; t0's mremap
// waits for mmap_lock for write; the monitor waits behind it for mmap_lock for read.
const scenario: ScenarioSpec = {"name": "random#920564995", "family": "random", "files": [{"name": "data0.bin", "pages": [100]}], "swapSlots": 10, "processes": [{"pid": 1, "setup": [{"op": "mmap", "pid": 1, "addr": 268468224, "len": 4096, "prot": {"read": true, "write": true, "exec": false}, "flags": {"shared": false, "anonymous": true, "fixed": true, "growsdown": false}}, {"op": "store", "pid": 1, "addr": 268468224, "value": 1}, {"op": "mbind", "pid": 1, "addr": 268468224, "len": 4096, "policy": "interleave:0,1"}, {"op": "mmap", "pid": 1, "addr": 270532608, "len": 8192, "prot": {"read": true, "write": false, "exec": false}, "flags": {"shared": false, "anonymous": true, "fixed": true, "growsdown": false}}, {"op": "mmap", "pid": 1, "addr": 270544896, "len": 12288, "prot": {"read": true, "write": true, "exec": false}, "flags": {"shared": false, "anonymous": true, "fixed": true, "growsdown": false}}, {"op": "store", "pid": 1, "addr": 270544896, "value": 11}, {"op": "store", "pid": 1, "addr": 270548992, "value": 22}, {"op": "mbind", "pid": 1, "addr": 270544896, "len": 12288, "policy": "preferred:1"}, {"op": "mmap", "pid": 1, "addr": 272629760, "len": 2097152, "prot": {"read": true, "write": true, "exec": false}, "flags": {"shared": true, "anonymous": true, "fixed": true, "growsdown": false}}, {"op": "store", "pid": 1, "addr": 272637952, "value": 33}, {"op": "store", "pid": 1, "addr": 272642048, "value": 44}, {"op": "mbind", "pid": 1, "addr": 272629760, "len": 2097152, "policy": "interleave:0,1"}, {"op": "fork", "pid": 1}, {"op": "uffd_register", "pid": 1, "addr": 272629760, "len": 2097152, "mode": "missing"}]}], "kernelSetup": [{"do": "swap_out", "pid": 1, "addr": 268468224}, {"do": "swap_out", "pid": 1, "addr": 270548992}], "threads": [{"name": "t0", "pid": 1, "program": [{"op": "mremap", "pid": 1, "oldAddr": 272629760, "oldLen": 2097152, "newLen": 2097152, "flags": {"maymove": true, "fixed": true, "dontunmap": true}, "newAddr": 272629760}]}, {"name": "t1", "pid": 1, "program": [{"op": "uffdio_move", "pid": 1, "src": 268468224, "dst": 272629760}, {"op": "fork", "pid": 1}, {"op": "store", "pid": 1, "addr": 272633856, "value": 499}]}], "daemons": [{"kind": "khugepaged", "rounds": 1}, {"kind": "uffd_handler", "pid": 1, "count": 64, "value": 16}]};
// Schedule re-pinned when khugepaged's shmem collapse became faithful (collapse_file scans the
// whole range before its userfaultfd check, and the daemon records the attempt): found by PCT
// (depth 3, seed 321) on the same scenario; the same three-way wait (khugepaged starts last).
// Re-pinned again when UFFDIO_COPY/MOVE took an mm_users reference (mmget_not_zero … mmput: new
// steps shift the schedule): PCT depth 3, seed 128, k 512 on the same scenario and mutant.
const schedule = "v1:1t5.12t6.68t6.78t6.93t3.94t2.96t1.153t6.322t3.324t2.379t2.392t1.403t4";

describe('shrinking a counterexample', () => {
  it('keeps the userfaultfd monitor of a registering process (dropping it would hang the program)', () => {
    const v = resolveVariant('uffd-block-holding-vma-lock');
    const r = runScenario({ variant: v, scenario, scheduler: new ReplayScheduler(schedule, false) });
    expect(r.violation?.property).toBe('deadlock');
    const s = shrinkCounterexample(v, scenario, schedule, 'deadlock');
    expect(s.scenario.daemons?.some((d) => d.kind === 'uffd_handler')).toBe(true);
    // The shrunk counterexample is the mutant's: plain v6.6 passes it.
    const base = runScenario({ variant: generationVariant('v6.6'), scenario: s.scenario, scheduler: new ReplayScheduler(s.schedule, false) });
    expect(base.status).toBe('pass');
  });
});
