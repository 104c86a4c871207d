/**
 * Scenario families about /proc/pid/maps and smaps readers racing faults and VMA changes.
 */
import type { ModelOp } from '../../model/ops.js';
import type { Family } from './family.js';
import { FILE, RO, RW, Src, anon, fileMap, filePages, load, mprotect, munmap, page, readMaps, readSmaps, store } from './build.js';

/** B sits in the next PMD, so unmapping A frees A's PTE table. */
const SMAPS_B = 512;

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
 *   |--anon rw A (2 pages, populated)--|  …  |--anon rw B (1 page)--|   (B in the next PMD)
 * smaps-vs-munmap: a monitor reads /proc/1/smaps while another thread unmaps all of A — so
 * free_pgtables frees A's PTE table — and maybe maps it again and writes; a third thread may
 * fault in B. The page-table walk must never touch a freed table (I11): under mmap_read_lock
 * that is given; a walk under RCU alone needs page tables freed after a grace period.
 */
const smapsVsMunmap: Family = {
  name: 'smaps-vs-munmap',
  description: '/proc/pid/smaps (page-table walk) racing a munmap that frees the page table',
  generate(seed) {
    const s = new Src(seed);
    const t1: ModelOp[] = [munmap(1, 0, 2)];
    if (s.bool(0.4)) t1.push(anon(1, 0, 2), store(1, 0, 7));
    const threads = [
      { name: 'monitor', pid: 1, program: [readSmaps(1)] },
      { name: 'unmapper', pid: 1, program: t1 },
    ];
    if (s.bool(0.3)) threads.push({ name: 'faulter', pid: 1, program: [store(1, SMAPS_B, 5)] });
    return {
      name: `smaps-vs-munmap#${seed}`,
      family: 'smaps-vs-munmap',
      processes: [{ pid: 1, setup: [anon(1, 0, 2), store(1, 0, 1), store(1, 1, 2), anon(1, SMAPS_B, 1)] }],
      threads,
    };
  },
};

/**
 *   |--anon rw A (2 pages, populated)--|  …  |--anon rw B (1 page)--|
 * smaps-vs-split: a monitor reads /proc/1/smaps while another thread splits A — munmap of one
 * page, or mprotect of one page read-only (and maybe back). Each smaps line must be a VMA that
 * existed, and the file one snapshot of the address space (I21; the pre-6.17 reader holds
 * mmap_read_lock across the read, which the model takes as one atomic read).
 */
const smapsVsSplit: Family = {
  name: 'smaps-vs-split',
  description: '/proc/pid/smaps racing munmap / mprotect that split a VMA',
  generate(seed) {
    const s = new Src(seed);
    const p = s.int(0, 1);
    const t1: ModelOp[] = s.bool(0.5) ? [munmap(1, p, 1)] : [mprotect(1, p, 1, RO)];
    if (s.bool(0.3)) t1.push(mprotect(1, 0, 2, RW));
    return {
      name: `smaps-vs-split#${seed}`,
      family: 'smaps-vs-split',
      processes: [{ pid: 1, setup: [anon(1, 0, 2), store(1, 0, 1), store(1, 1, 2), anon(1, SMAPS_B, 1)] }],
      threads: [
        { name: 'monitor', pid: 1, program: [readSmaps(1)] },
        { name: 'splitter', pid: 1, program: t1 },
      ],
    };
  },
};

export const PROC_FAMILIES: readonly Family[] = [smapsVsFault, smapsVsMunmap, smapsVsSplit];
