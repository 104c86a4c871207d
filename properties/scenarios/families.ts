/**
 * The named scenario families. Each draws a small scenario from a seed: an initial address space,
 * 2–3 user threads with short programs, and the kernel daemons the race needs. Small on purpose:
 * interleavings, not sizes, find locking bugs, and small scenarios shrink to readable stories.
 */
import type { ModelOp } from '../../model/ops.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import { anon, fileMap, fork, load, mprotect, munmap, page, readMaps, RO, RW, Src, store } from './build.js';

export interface Family {
  readonly name: string;
  readonly description: string;
  generate(seed: number): ScenarioSpec;
}

const FILE = 'data.bin';
const filePages = (n: number) => Array.from({ length: n }, (_, i) => 100 + i);

/**
 *   |--file data.bin (4 pages, not cached)--|    |--anon (2 pages, swapped out)--|
 *   page 0                                        page 8
 * T0 faults on a page whose contents must be read from disk or swap; T1 unmaps it meanwhile (and
 * maybe maps fresh anonymous memory there and writes it). The fault must retry and never install
 * the old page into the new range (kernel.md I19, the article's "munmap while a fault waits").
 */
const unmapDuringIo: Family = {
  name: 'unmap-during-io',
  description: 'a fault waiting for file or swap I/O while another thread unmaps (and remaps) the range',
  generate(seed) {
    const s = new Src(seed);
    const useSwap = s.bool();
    const target = useSwap ? s.int(8, 9) : s.int(0, 3);
    const remap = s.bool(0.6);
    const t1: ModelOp[] = useSwap ? [munmap(1, 8, 2)] : [munmap(1, 0, 4)];
    if (remap) t1.push(useSwap ? anon(1, 8, 2) : anon(1, 0, 4), store(1, target, 7));
    const t0: ModelOp[] = [load(1, target)];
    if (s.bool(0.3)) t0.push(load(1, target));
    return {
      name: `unmap-during-io#${seed}`,
      family: 'unmap-during-io',
      files: [{ name: FILE, pages: filePages(4) }],
      swapSlots: 8,
      processes: [{ pid: 1, setup: [fileMap(1, 0, 4, FILE), anon(1, 8, 2), store(1, 8, 11), store(1, 9, 12)] }],
      kernelSetup: useSwap ? [{ do: 'swap_out', pid: 1, addr: page(8) }, { do: 'swap_out', pid: 1, addr: page(9) }] : [],
      threads: [
        { name: 'faulter', pid: 1, program: t0 },
        { name: 'unmapper', pid: 1, program: t1 },
      ],
    };
  },
};

/**
 *   |--anon rw (3 pages; pages 0,1 populated)--|
 * T0 forks while T1 (and maybe T2) store and load in the parent. dup_mmap must write-lock each
 * parent VMA so no fault changes its anon_vma or PTEs mid-copy (B8, I17); the child must see the
 * pre-fork values, the parent its own writes.
 */
const forkVsFault: Family = {
  name: 'fork-vs-fault',
  description: 'fork (dup_mmap) racing page faults of other threads of the parent',
  generate(seed) {
    const s = new Src(seed);
    const populate = s.bool(0.5);
    const setup: ModelOp[] = [anon(1, 0, 3)];
    if (populate) setup.push(store(1, 0, 1), store(1, 1, 2));
    const threads = [
      { name: 'forker', pid: 1, program: [fork(1)] },
      { name: 'writer', pid: 1, program: [store(1, s.int(0, 2), 40 + s.int(0, 9)), load(1, s.int(0, 2))] },
    ];
    if (s.bool(0.5)) threads.push({ name: 'writer2', pid: 1, program: [store(1, s.int(0, 2), 50 + s.int(0, 9))] });
    return { name: `fork-vs-fault#${seed}`, family: 'fork-vs-fault', processes: [{ pid: 1, setup }], threads };
  },
};

/**
 *   |--anon rw (3 pages)--|
 * T0 mprotects part of the range read-only (splitting the VMA) and maybe back; T1 writes and reads.
 * A store must fail with SIGSEGV exactly when the model's protection says so.
 */
const mprotectVsFault: Family = {
  name: 'mprotect-vs-fault',
  description: 'mprotect splitting and merging a VMA while another thread faults in it',
  generate(seed) {
    const s = new Src(seed);
    const first = s.int(0, 2);
    const n = s.int(1, 3 - first);
    const t0: ModelOp[] = [mprotect(1, first, n, RO)];
    if (s.bool(0.5)) t0.push(mprotect(1, first, n, RW));
    const i = s.int(0, 2);
    return {
      name: `mprotect-vs-fault#${seed}`,
      family: 'mprotect-vs-fault',
      processes: [{ pid: 1, setup: [anon(1, 0, 3), ...(s.bool() ? [store(1, i, 3)] : [])] }],
      threads: [
        { name: 'mprotector', pid: 1, program: t0 },
        { name: 'writer', pid: 1, program: [store(1, i, 9), load(1, s.int(0, 2))] },
      ],
    };
  },
};

/**
 *   |--anon rw (2 pages)--|   |--file data.bin (2 pages)--|
 * A monitor reads /proc/pid/maps (and smaps once the kernel has it) while threads fault and unmap:
 * each line must be a VMA that existed, never torn (I21).
 */
const smapsVsFault: Family = {
  name: 'smaps-vs-fault',
  description: '/proc/pid/maps readers against faults and munmap',
  generate(seed) {
    const s = new Src(seed);
    return {
      name: `smaps-vs-fault#${seed}`,
      family: 'smaps-vs-fault',
      files: [{ name: FILE, pages: filePages(2) }],
      processes: [{ pid: 1, setup: [anon(1, 0, 2), fileMap(1, 4, 2, FILE)] }],
      threads: [
        { name: 'monitor', pid: 1, program: [readMaps(1)] },
        { name: 'faulter', pid: 1, program: [store(1, s.int(0, 1), 5), load(1, s.int(4, 5))] },
        ...(s.bool(0.6) ? [{ name: 'unmapper', pid: 1, program: [s.bool() ? munmap(1, 0, 1) : munmap(1, 4, 2)] }] : []),
      ],
    };
  },
};

/**
 *   |--anon rw (2 pages, populated)--|   |--file data.bin (2 pages, cached)--|
 * kswapd-like reclaim swaps out anonymous pages and evicts clean file pages through rmap while
 * threads read and write them: nothing observable may change (reclaim is a stutter step).
 */
const reclaim: Family = {
  name: 'reclaim',
  description: 'reclaim (swap-out, page-cache eviction via rmap) racing loads and stores',
  generate(seed) {
    const s = new Src(seed);
    const targets = [{ pid: 1, addr: page(0) }, { pid: 1, addr: page(1) }, { pid: 1, addr: page(4) }];
    return {
      name: `reclaim#${seed}`,
      family: 'reclaim',
      files: [{ name: FILE, pages: filePages(2) }],
      swapSlots: 4,
      processes: [{ pid: 1, setup: [anon(1, 0, 2), store(1, 0, 21), store(1, 1, 22), fileMap(1, 4, 2, FILE, 0, false, RO), load(1, 4)] }],
      threads: [
        { name: 'user', pid: 1, program: [load(1, s.int(0, 1)), store(1, s.int(0, 1), 30 + s.int(0, 9)), load(1, 4)] },
        ...(s.bool(0.5) ? [{ name: 'user2', pid: 1, program: [load(1, s.int(0, 1))] }] : []),
      ],
      daemons: [{ kind: 'reclaim', rounds: s.int(1, 2), targets }],
    };
  },
};

/** A random mix of mmap, munmap, mprotect, fork, loads and stores over a small region. */
const random: Family = {
  name: 'random',
  description: 'a random mix of memory operations from 2–3 threads over a small region',
  generate(seed) {
    const s = new Src(seed);
    const op = (): ModelOp => {
      const i = s.int(0, 3);
      switch (s.int(0, 9)) {
        case 0: return munmap(1, i, s.int(1, 2));
        case 1: return anon(1, i, s.int(1, 2));
        case 2: return mprotect(1, i, 1, s.bool() ? RO : RW);
        case 3: return s.bool(0.3) ? fork(1) : load(1, i);
        case 4: case 5: case 6: return store(1, i, s.int(1, 99));
        default: return load(1, i);
      }
    };
    const nThreads = s.int(2, 3);
    const threads = Array.from({ length: nThreads }, (_, t) => ({
      name: `t${t}`, pid: 1, program: Array.from({ length: s.int(1, 3) }, op),
    }));
    return { name: `random#${seed}`, family: 'random', processes: [{ pid: 1, setup: [anon(1, 0, 4), store(1, 0, 1)] }], threads };
  },
};

export const FAMILY_LIST: readonly Family[] = [unmapDuringIo, forkVsFault, mprotectVsFault, smapsVsFault, reclaim, random];
