/**
 * The model's failure contracts (Action.onFailure, model/actions/*), tested against the kernel:
 * hand-scheduled runs (test/properties/fault_injection_harness.ts) in which the simulated kernel
 * fails exactly one allocation or read and so gives the error — or the partial effect — that the
 * contract describes, on v6.6. Each run must pass with the real model; and with the contract
 * broken (a model that forgets the partial effect, or knows no such failure) the same run must be
 * caught. Then the campaign option: a share of the scenarios runs with fault injection.
 *
 * Address spaces (page(i) = 0x10000000 + i·4K):
 *   |--anon 0..2, registered--|          munmap(1) splits, then userfaultfd_unmap_prep fails
 *   |--anon 0..1--|--data.bin private 2..3--|   mprotect(0..2) fails at the second VMA's split
 *   |--anon 0..1 registered--|  …  (16: free)   mremap to 16 whose unmap of 0..1 fails
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import { describeCall, type ModelOp, type ModelResult } from '../../model/ops.js';
import type { Action } from '../../model/action.js';
import type { MmState } from '../../model/state.js';
import { munmap } from '../../model/actions/munmap.js';
import { mprotect as mprotectAction } from '../../model/actions/mprotect.js';
import { mremap } from '../../model/actions/mremap.js';
import { load as loadAction } from '../../model/actions/load.js';
import { uffdio_copy } from '../../model/actions/uffdio_copy.js';
import { fork as forkAction } from '../../model/actions/fork.js';
import { mbind as mbindAction } from '../../model/actions/mbind.js';
import { uffd_register } from '../../model/actions/uffd_register.js';
import { uffd_unregister } from '../../model/actions/uffd_unregister.js';
import { uffdio_move } from '../../model/actions/uffdio_move.js';
import { store as storeAction } from '../../model/actions/store.js';
import { pread } from '../../model/actions/pread.js';
import { pwrite } from '../../model/actions/pwrite.js';
import { proc_mem_write } from '../../model/actions/proc_mem_write.js';
import { mmap as mmapAction } from '../../model/actions/mmap.js';
import { failedMunmapStates } from '../../model/failure.js';
import {
  anon, fileMap, fork, load, mbind, mprotect, mremapTo, munmap as munmapOp, page, readMaps, store, uffdRegister, PAGE, RW,
} from '../../properties/scenarios/build.js';
import { faultInjectionFor, runCampaign, resolveVariant } from '../../properties/campaign.js';
import { runFailing } from './fault_injection_harness.js';

const NONE = { read: false, write: false, exec: false };
const FILE = [{ name: 'data.bin', pages: [100, 101, 102, 103] }];

function sc(setup: ModelOp[], program: ModelOp[], extra: Partial<ScenarioSpec> = {}): ScenarioSpec {
  return { name: 'fi', family: 'fault-injection', processes: [{ pid: 1, setup }], threads: [{ name: 'T1', pid: 1, program }], ...extra };
}

type OnFailure = NonNullable<Action<ModelOp>['onFailure']>;
interface Case {
  /** What the kernel does and what the contract must allow. */
  readonly name: string;
  readonly scenario: ScenarioSpec;
  /** should_fail label → the calls that fail. */
  readonly fail: Record<string, number[]>;
  /** Lines the run's history must contain (describeCall), in order. */
  readonly history: string[];
  /** The action whose contract this run exercises, and a broken contract the run must expose. */
  readonly action: Action<never>;
  readonly broken: OnFailure;
}

const none: OnFailure = () => [];
// The real contracts, for broken ones built on them (the test swaps the action's onFailure).
const munmapContract = munmap.onFailure!;
const mremapContract = mremap.onFailure!;
const noPartialEffect: OnFailure = (s: MmState, _op: ModelOp, r: ModelResult) => (r.kind === 'errno' ? [s] : []);

const CASES: Case[] = [
  {
    name: 'munmap: -ENOMEM from userfaultfd_unmap_prep after both splits; the VMAs stay split',
    scenario: sc([anon(1, 0, 3), store(1, 0, 5), uffdRegister(1, 0, 3)], [munmapOp(1, 1, 1), readMaps(1)]),
    fail: { 'userfaultfd_unmap_prep:kzalloc_fail': [1] },
    history: ['P1 munmap(0x10001000, 4K) = -ENOMEM', 'P1 read(/proc/1/maps) = [10000000-10001000 rw-p 00000000; 10001000-10002000 rw-p 00000000; 10002000-10003000 rw-p 00000000]'],
    action: munmap, broken: noPartialEffect,
  },
  {
    name: 'munmap: the split at the end fails after the one at the start; a later mprotect that changes nothing leaves the split (no merge)',
    scenario: sc([anon(1, 0, 4), store(1, 0, 5)], [munmapOp(1, 1, 2), mprotect(1, 0, 4, RW), readMaps(1)]),
    fail: { 'anon_vma_chain:alloc_fail': [2] },
    history: ['P1 munmap(0x10001000, 8K) = -ENOMEM', 'P1 mprotect(0x10000000, 16K, rw-) = ok', 'P1 read(/proc/1/maps) = [10000000-10001000 rw-p 00000000; 10001000-10004000 rw-p 00000000]'],
    action: munmap, broken: noPartialEffect,
  },
  {
    name: 'mprotect: the second VMA\'s split fails; the first keeps its new protection',
    scenario: sc([anon(1, 0, 2), store(1, 0, 1), fileMap(1, 2, 2, 'data.bin'), store(1, 2, 7)], [mprotect(1, 0, 3, NONE), readMaps(1)], { files: FILE }),
    fail: { 'anon_vma_chain:alloc_fail': [1] },
    history: ['P1 mprotect(0x10000000, 12K, ---) = -ENOMEM', 'P1 read(/proc/1/maps) = [10000000-10002000 ---p 00000000; 10002000-10004000 rw-p 00000000 data.bin]'],
    action: mprotectAction, broken: noPartialEffect,
  },
  {
    name: 'mbind: vma_replace_policy\'s mpol_dup fails after both splits; the VMA stays split, its policy unchanged',
    scenario: sc([anon(1, 0, 4)], [mbind(1, 1, 2, 'interleave'), readMaps(1), { op: 'get_mempolicy', pid: 1, addr: page(1) }]),
    fail: { 'mpol_dup:kmem_cache_alloc_fail': [1] },
    history: ['P1 mbind(0x10001000, 8K, interleave) = -ENOMEM', 'P1 read(/proc/1/maps) = [10000000-10001000 rw-p 00000000; 10001000-10003000 rw-p 00000000; 10003000-10004000 rw-p 00000000]', 'P1 get_mempolicy(0x10001000) = default'],
    action: mbindAction, broken: noPartialEffect,
  },
  {
    name: 'munmap over two VMAs: the first (registered) is gathered, the second\'s split fails; -ENOMEM, yet UFFD_EVENT_UNMAP is delivered',
    scenario: sc([anon(1, 0, 4), store(1, 0, 1), uffdRegister(1, 0, 2), mbind(1, 2, 2, 'interleave')], [munmapOp(1, 0, 3), readMaps(1)], {
      daemons: [{ kind: 'uffd_handler', pid: 1, count: 2, value: 77 }],
    }),
    fail: { 'mpol_dup:kmem_cache_alloc_fail': [1] },
    history: ['P1 munmap(0x10000000, 12K) = -ENOMEM', 'P1 uffd_read_event() = unmap(0x10000000-0x10003000)', 'P1 read(/proc/1/maps) = [10000000-10002000 rw-p 00000000; 10002000-10004000 rw-p 00000000]'],
    action: munmap,
    broken: (s, op, r) => (munmapContract(s, op as never, r) as MmState[]).filter((st) => st.uffd[1]?.events.length === s.uffd[1]?.events.length),
  },
  {
    name: 'mremap: the move succeeded but the unmap of the old range failed; the old range stays mapped, registered and empty (a UFFDIO_COPY fills it)',
    scenario: sc([anon(1, 0, 2), store(1, 0, 5), uffdRegister(1, 0, 2)], [mremapTo(1, 0, 2, 16), load(1, 0), readMaps(1)], {
      daemons: [{ kind: 'uffd_handler', pid: 1, count: 4, value: 77 }],
    }),
    fail: { 'userfaultfd_unmap_prep:kzalloc_fail': [1] },
    history: ['P1 mremap(0x10000000, 8K, 8K, maymove|fixed, 0x10010000) = 0x10010000', 'P1 load(0x10000000) = 77', 'P1 UFFDIO_COPY(0x10000000, 77) = ok', 'P1 read(/proc/1/maps) = [10000000-10002000 rw-p 00000000; 10010000-10012000 rw-p 00000000]'],
    action: mremap, broken: (s, op, r) => (r.kind === 'addr' ? [] : (mremapContract(s, op as never, r) as MmState[])),
  },
  {
    name: 'mremap: move_page_tables cannot allocate the destination\'s page table; the entries go back, -ENOMEM',
    scenario: sc([anon(1, 0, 2), store(1, 0, 5)], [mremapTo(1, 0, 2, 1024), load(1, 0), readMaps(1)]),
    fail: { 'pte_alloc_one:fail': [1] },
    history: ['P1 mremap(0x10000000, 8K, 8K, maymove|fixed, 0x10400000) = -ENOMEM', 'P1 load(0x10000000) = 5', 'P1 read(/proc/1/maps) = [10000000-10002000 rw-p 00000000]'],
    action: mremap, broken: none,
  },
  {
    name: 'load: both reads of a file page fail; the fault gives SIGBUS, the next load reads the page',
    scenario: sc([fileMap(1, 0, 2, 'data.bin', 0, true)], [load(1, 1), load(1, 1)], { files: FILE }),
    fail: { 'bio:ioerr': [1, 2, 3] },
    history: ['P1 load(0x10001000) = SIGBUS', 'P1 load(0x10001000) = 101'],
    action: loadAction, broken: none,
  },
  {
    name: 'UFFDIO_COPY: the page cannot be allocated; -ENOMEM, the monitor copies again',
    scenario: sc([anon(1, 0, 2), store(1, 0, 5), uffdRegister(1, 0, 2)], [load(1, 1)], {
      daemons: [{ kind: 'uffd_handler', pid: 1, count: 4, value: 77 }],
    }),
    fail: { 'folio_alloc:fail': [1] },
    history: ['P1 load(0x10001000) = 77', 'P1 UFFDIO_COPY(0x10001000, 77) = -ENOMEM', 'P1 UFFDIO_COPY(0x10001000, 77) = ok'],
    action: uffdio_copy, broken: none,
  },
  {
    name: 'fork: anon_vma_fork cannot allocate; -ENOMEM and no child, the next fork succeeds',
    scenario: sc([anon(1, 0, 2), store(1, 0, 5)], [fork(1), fork(1)]),
    fail: { 'anon_vma:alloc_fail': [1] },
    history: ['P1 fork() = -ENOMEM', 'P1 fork() = P3'],
    action: forkAction, broken: none,
  },
  {
    name: 'UFFDIO_REGISTER: the second VMA\'s split fails; the first VMA is registered (a UFFDIO_COPY there succeeds)',
    scenario: sc([anon(1, 0, 4), store(1, 0, 1), store(1, 2, 2), mprotect(1, 2, 2, { read: true, write: false, exec: false })], [
      uffdRegister(1, 0, 3), { op: 'uffdio_copy', pid: 1, dst: page(1), value: 9 }, load(1, 1),
    ]),
    fail: { 'anon_vma_chain:alloc_fail': [1] },
    history: ['P1 uffd_register(0x10000000, 12K, missing) = -ENOMEM', 'P1 UFFDIO_COPY(0x10001000, 9) = ok', 'P1 load(0x10001000) = 9'],
    action: uffd_register, broken: none,
  },
  {
    name: 'UFFDIO_UNREGISTER: the second VMA\'s split fails; the first VMA is unregistered (a load there no longer waits)',
    scenario: sc([anon(1, 0, 4), store(1, 0, 1), store(1, 2, 2), mprotect(1, 2, 2, { read: true, write: false, exec: false }), uffdRegister(1, 0, 4)], [
      { op: 'uffd_unregister', pid: 1, addr: page(0), len: 3 * PAGE }, load(1, 1), readMaps(1),
    ]),
    fail: { 'anon_vma_chain:alloc_fail': [1] },
    history: ['P1 uffd_unregister(0x10000000, 12K) = -ENOMEM', 'P1 load(0x10001000) = 0', 'P1 read(/proc/1/maps) = [10000000-10002000 rw-p 00000000; 10002000-10004000 r--p 00000000]'],
    action: uffd_unregister, broken: noPartialEffect,
  },
  {
    name: 'UFFDIO_MOVE: the destination\'s page table cannot be allocated; -ENOMEM, the next move succeeds',
    scenario: sc([anon(1, 0, 2), store(1, 0, 5), anon(1, 1024, 2), uffdRegister(1, 1024, 2)], [
      { op: 'uffdio_move', pid: 1, src: page(0), dst: page(1024) }, { op: 'uffdio_move', pid: 1, src: page(0), dst: page(1024) }, load(1, 1024),
    ]),
    fail: { 'pte_alloc_one:fail': [1] },
    history: ['P1 UFFDIO_MOVE(0x10000000 -> 0x10400000) = -ENOMEM', 'P1 UFFDIO_MOVE(0x10000000 -> 0x10400000) = ok', 'P1 load(0x10400000) = 5'],
    action: uffdio_move, broken: none,
  },
  {
    name: 'store to a private file page: do_cow_fault\'s read of the file page fails; SIGBUS, the next store succeeds',
    scenario: sc([fileMap(1, 0, 2, 'data.bin')], [store(1, 1, 9), store(1, 1, 9), load(1, 1)], { files: FILE }),
    fail: { 'bio:ioerr': [1, 2, 3] },
    history: ['P1 store(0x10001000, 9) = SIGBUS', 'P1 store(0x10001000, 9) = ok', 'P1 load(0x10001000) = 9'],
    action: storeAction, broken: none,
  },
  {
    name: 'mbind over a hole: mpol_new fails before the range is checked; -ENOMEM (then -EFAULT)',
    scenario: sc([anon(1, 0, 1)], [mbind(1, 0, 2, 'interleave'), mbind(1, 0, 2, 'interleave')]),
    fail: { 'mpol_new:kmem_cache_alloc_fail': [1] },
    history: ['P1 mbind(0x10000000, 8K, interleave) = -ENOMEM', 'P1 mbind(0x10000000, 8K, interleave) = -EFAULT'],
    action: mbindAction, broken: none,
  },
  {
    name: 'UFFDIO_MOVE from nowhere: dst\'s anon_vma_prepare fails before src is looked up; -ENOMEM (then -ENOENT)',
    scenario: sc([anon(1, 0, 2), uffdRegister(1, 0, 2)], [
      { op: 'uffdio_move', pid: 1, src: page(8), dst: page(0) }, { op: 'uffdio_move', pid: 1, src: page(8), dst: page(0) },
    ]),
    fail: { 'anon_vma:alloc_fail': [1] },
    history: ['P1 UFFDIO_MOVE(0x10008000 -> 0x10000000) = -ENOMEM', 'P1 UFFDIO_MOVE(0x10008000 -> 0x10000000) = -ENOENT'],
    action: uffdio_move, broken: none,
  },
  {
    name: 'pread: the read of the page fails; -EIO',
    scenario: sc([], [{ op: 'pread', pid: 1, file: 'data.bin', page: 2 }, { op: 'pread', pid: 1, file: 'data.bin', page: 2 }], { files: FILE }),
    fail: { 'bio:ioerr': [1, 2] }, // readahead's read of page 2, then filemap_read_folio's
    history: ['P1 pread(data.bin, page 2) = -EIO', 'P1 pread(data.bin, page 2) = 102'],
    action: pread, broken: none,
  },
  {
    name: 'pwrite: the page-cache folio cannot be allocated; -ENOMEM, nothing written',
    scenario: sc([], [{ op: 'pwrite', pid: 1, file: 'data.bin', page: 1, value: 9 }, { op: 'pread', pid: 1, file: 'data.bin', page: 1 }], { files: FILE }),
    fail: { 'folio_alloc:fail': [1] },
    history: ['P1 pwrite(data.bin, page 1, 9) = -ENOMEM', 'P1 pread(data.bin, page 1) = 101'],
    action: pwrite, broken: none,
  },
  {
    name: 'write to /proc/pid/mem: GUP\'s fault cannot allocate the page (VM_FAULT_OOM → -ENOMEM); mem_rw gives -EIO',
    scenario: sc([anon(1, 0, 2)], [{ op: 'proc_mem_write', pid: 1, target: 1, addr: page(1), value: 9 }, load(1, 1)]),
    fail: { 'folio_alloc:fail': [1] },
    history: ['P1 write(/proc/1/mem @0x10001000, 9) = -EIO', 'P1 load(0x10001000) = 0'],
    action: proc_mem_write, broken: none,
  },
  {
    name: 'mmap(MAP_FIXED) of a PFN-map device over a mapping: the old mapping is gone, remap_pfn_range fails; a hole',
    scenario: sc([anon(1, 0, 2)], [{ op: 'mmap', pid: 1, addr: page(0), len: 2 * PAGE, prot: RW, flags: { shared: true, anonymous: false, fixed: true, growsdown: false }, file: '/dev/pfnmap0', offset: 0 }, readMaps(1)], {
      files: [{ name: '/dev/pfnmap0', pages: [9, 8] }],
    }),
    fail: { 'pte_alloc_one:fail': [1] },
    history: ['P1 mmap(0x10000000, 8K, rw-, file|shared|fixed, /dev/pfnmap0@0x0) = -ENOMEM', 'P1 read(/proc/1/maps) = []'],
    action: mmapAction, broken: (s, op, r) => (r.kind === 'errno' ? failedMunmapStates(s, 1, (op as { addr: number }).addr, (op as { addr: number }).addr + 2 * PAGE) : []),
  },
];

describe('failure contracts: the kernel fails, the model accepts what it leaves', () => {
  let restore: (() => void) | null = null;
  afterEach(() => {
    restore?.();
    restore = null;
  });
  for (const c of CASES) {
    it(c.name, () => {
      const r = runFailing(c.scenario, c.fail);
      const lines = r.history.map((h) => describeCall(h.op, h.result));
      let at = 0;
      for (const want of c.history) {
        const i = lines.indexOf(want, at);
        expect(i, `history lacks "${want}":\n  ${lines.join('\n  ')}`).toBeGreaterThanOrEqual(0);
        at = i + 1;
      }
      expect(r.status, r.violation?.message ?? r.error).toBe('pass');
      // The same run judged by a model whose contract is broken is caught.
      const a = c.action as Action<ModelOp>;
      const real = a.onFailure;
      a.onFailure = c.broken;
      restore = () => {
        a.onFailure = real;
      };
      const b = runFailing(c.scenario, c.fail);
      expect(b.status).toBe('violation');
      expect(['linearizability', 'final-state']).toContain(b.violation!.property);
    });
  }
});

describe('fault injection where the kernel has no failure point', () => {
  it('a fresh shmem page is allocated zeroed, not read: no read error, no SIGBUS, even when every read fails', () => {
    const shmem = { op: 'mmap' as const, pid: 1, addr: page(0), len: 2 * PAGE, prot: RW, flags: { shared: true, anonymous: true, fixed: true, growsdown: false } };
    const r = runFailing(sc([shmem], [load(1, 1), store(1, 0, 4), load(1, 0)]), { 'bio:ioerr': [1, 2, 3, 4, 5, 6] });
    expect(r.history.map((h) => describeCall(h.op, h.result))).toEqual(['P1 load(0x10001000) = 0', 'P1 store(0x10000000, 4) = ok', 'P1 load(0x10000000) = 4']);
    expect(r.status).toBe('pass');
  });
});

describe('campaigns with fault injection in a share of the scenarios', () => {
  it('faultInjectionFor picks about the share asked, the same scenarios every time', () => {
    const pick = (share: number) => Array.from({ length: 2000 }, (_, i) => faultInjectionFor({ seed: 7, faultInjection: share }, i));
    const n = pick(0.3).filter(Boolean).length;
    expect(n).toBeGreaterThan(500);
    expect(n).toBeLessThan(700);
    expect(pick(0.3)).toEqual(pick(0.3));
    expect(pick(0).some(Boolean)).toBe(false);
    expect(pick(1).every(Boolean)).toBe(true);
  });
  it('a campaign injects failures only in the share asked, and judges them (v6.15, uffd)', () => {
    const run = (share: number) => runCampaign({
      variant: resolveVariant('v6.15'), family: 'uffd', strategy: 'random', runs: 48, seed: 3, stopAtFirst: false, faultInjection: share,
    });
    expect(run(0).injectedRuns).toBe(0);
    const all = run(1);
    expect(all.injectedRuns).toBeGreaterThan(24);
    expect(all.violations.map((v) => v.message)).toEqual([]);
    const half = run(0.5);
    // 3 scenarios of 16 schedules each: only the runs of the scenarios picked can fail anything.
    const picked = [0, 1, 2].filter((i) => faultInjectionFor({ seed: 3, faultInjection: 0.5 }, i)).length;
    expect(half.injectedRuns).toBeLessThanOrEqual(16 * picked);
    expect(half.violations.map((v) => v.message)).toEqual([]);
  });
});
