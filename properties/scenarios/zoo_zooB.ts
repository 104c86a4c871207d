/**
 * Targeted families of the zoo (zooB): swap-in ABA (B17), /proc/pid/smaps against munmap (the
 * article's smaps-under-RCU question), and first-touch faults racing address-space changes (the
 * article's lockless-fault question). One race each, small enough to shrink to a story.
 */
import type { ModelOp } from '../../model/ops.js';
import type { Family } from './families.js';
import { anon, load, mprotect, munmap, page, RO, RW, Src, store } from './build.js';

/** B sits in the next PMD, so unmapping A frees A's PTE table. */
const SMAPS_B = 512;
const readSmaps = (pid: number, target = pid): ModelOp => ({ op: 'read_smaps', pid, target });

/**
 *   |--anon rw (1–2 pages; the target page swapped out to a SWP_SYNCHRONOUS_IO device)--|
 * swapin-aba (B17, 13ddaf26be32): two threads fault on the same swap PTE; both may skip the swap
 * cache (swap count 1, zram-like device) and read the slot into private folios. The winner maps
 * its folio, frees the slot and writes; kswapd swaps that page out again — the lowest free slot
 * is the one just freed — so the loser's pte_same(orig_pte) passes on the reused entry and maps
 * its stale copy (I14). Without the race every load sees the last store.
 */
const swapinAba: Family = {
  name: 'swapin-aba',
  description: 'two faults on one swap PTE (synchronous swap device) while kswapd swaps the page out again',
  generate(seed) {
    const s = new Src(seed);
    const pages = s.int(1, 2);
    const t = s.int(0, pages - 1);
    const v0 = 1 + s.int(0, 9);
    const v1 = 20 + s.int(0, 9);
    const setup: ModelOp[] = [anon(1, 0, pages)];
    for (let i = 0; i < pages; i++) setup.push(store(1, i, i === t ? v0 : 90 + i));
    const loader: ModelOp[] = [load(1, t)];
    if (s.bool(0.5)) loader.push(load(1, t));
    const writer: ModelOp[] = s.bool(0.3) ? [load(1, t), store(1, t, v1)] : [store(1, t, v1)];
    const targets = Array.from({ length: pages }, (_, i) => ({ pid: 1, addr: page(i) }));
    return {
      name: `swapin-aba#${seed}`,
      family: 'swapin-aba',
      swapSlots: 4,
      processes: [{ pid: 1, setup }],
      kernelSetup: [{ do: 'swap_out', pid: 1, addr: page(t) }],
      threads: [
        { name: 'loader', pid: 1, program: loader },
        { name: 'writer', pid: 1, program: writer },
      ],
      daemons: [{ kind: 'reclaim', rounds: s.int(1, 2), targets }],
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

/**
 *   |--anon rw (4 pages; page 0 populated, so the PTE table exists)--|
 * first-touch-vs-unmap: a thread touches pages for the first time (do_anonymous_page) while
 * another unmaps, remaps or write-protects them. A fault that found the VMA before the change
 * must not install a page the change has already taken away: into an unmapped range (I10), a
 * writable PTE into a VMA made read-only, or over the new mapping's page.
 */
const firstTouchVsUnmap: Family = {
  name: 'first-touch-vs-unmap',
  description: 'first-touch anonymous faults racing munmap / mmap / mprotect of the same pages',
  generate(seed) {
    const s = new Src(seed);
    const i = s.int(1, 3);
    const faulter: ModelOp[] = [s.bool(0.75) ? store(1, i, 40 + s.int(0, 9)) : load(1, i)];
    if (s.bool(0.5)) faulter.push(load(1, i));
    const first = s.int(1, i);
    const n = s.int(i - first + 1, 4 - first);
    let other: ModelOp[];
    switch (s.int(0, 3)) {
      case 0: other = [munmap(1, first, n)]; break;
      case 1: other = [munmap(1, first, n), anon(1, first, n), store(1, i, 7)]; break;
      case 2: other = [mprotect(1, first, n, RO)]; break;
      default: other = [anon(1, first, n)]; break; // MAP_FIXED over: unmap + new VMA
    }
    if (s.bool(0.3)) other.push(load(1, i));
    return {
      name: `first-touch-vs-unmap#${seed}`,
      family: 'first-touch-vs-unmap',
      processes: [{ pid: 1, setup: [anon(1, 0, 4), store(1, 0, 1)] }],
      threads: [
        { name: 'faulter', pid: 1, program: faulter },
        { name: 'changer', pid: 1, program: other },
      ],
    };
  },
};

/**
 *   |--anon rw (2 pages, both swapped out; async swap device)--|   |--anon rw (1 page)--|
 *   page 8                                                           page 12
 * swapin-vs-writer: one or two threads swap pages in (the read takes a while) while a third
 * takes mmap_lock for write — to unmap the swapped range, to mprotect the other VMA, or to map
 * something new. The correctness question is unmap-during-io's; this family is for the cost of
 * where the swap-in waits: dropping the VMA lock and retrying (6.6+) versus holding it across
 * the read (io-hold-vma-lock), seen in fallbacks, retries and how long the writer waits.
 */
const swapinVsWriter: Family = {
  name: 'swapin-vs-writer',
  description: 'swap-ins waiting for the read while another thread takes mmap_lock for write',
  generate(seed) {
    const s = new Src(seed);
    const threads = [{ name: 'faulter', pid: 1, program: [load(1, 8)] as ModelOp[] }];
    if (s.bool(0.5)) threads.push({ name: 'faulter2', pid: 1, program: [load(1, 9)] });
    const w = s.int(0, 2);
    const writer: ModelOp[] = w === 0 ? [munmap(1, 8, 2)] : w === 1 ? [mprotect(1, 12, 1, RO)] : [anon(1, 14, 1)];
    threads.push({ name: 'writer', pid: 1, program: writer });
    return {
      name: `swapin-vs-writer#${seed}`,
      family: 'swapin-vs-writer',
      swapSlots: 4,
      processes: [{ pid: 1, setup: [anon(1, 8, 2), store(1, 8, 11), store(1, 9, 12), anon(1, 12, 1), store(1, 12, 13)] }],
      kernelSetup: [{ do: 'swap_out', pid: 1, addr: page(8) }, { do: 'swap_out', pid: 1, addr: page(9) }],
      threads,
    };
  },
};

export const ZOO_ZOOB_FAMILIES: readonly Family[] = [swapinAba, smapsVsMunmap, smapsVsSplit, firstTouchVsUnmap, swapinVsWriter];
