/**
 * Scenario families about reclaim and swap: swap-out, swap-in, the swap cache and swapoff racing loads and stores.
 */
import type { DaemonSpec } from '../../impl/sim/scenario.js';
import type { ModelOp } from '../../model/ops.js';
import type { Family } from './family.js';
import { FILE, RO, Src, anon, fileMap, filePages, fork, load, mprotect, munmap, page, store } from './build.js';

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

/**
 *   |--anon rw (1–3 pages; 1–2 of them swapped out at setup)--|      (P2: a fork of P1, sometimes)
 * swapoff: one or two threads load and store the swapped-out pages (swap-in faults: do_swap_page) while the
 * swapoff daemon brings every page back (try_to_unuse → unuse_pte) and tears the device down,
 * maybe with kswapd swapping pages out again meanwhile. A fault that read a swap PTE must hold
 * get_swap_device() across its use of the device (I15): swapoff then waits for it, or the fault
 * finds the device gone and refaults — either way every load sees the last store, and no swap
 * metadata is used after swapoff freed it.
 */
const swapoff: Family = {
  name: 'swapoff',
  description: 'swap-in faults (and maybe reclaim) racing swapoff of the swap device',
  generate(seed) {
    const s = new Src(seed);
    const pages = s.int(1, 3);
    const values = Array.from({ length: pages }, (_, i) => 10 + i + 10 * s.int(0, 8));
    const setup: ModelOp[] = [anon(1, 0, pages)];
    for (let i = 0; i < pages; i++) setup.push(store(1, i, values[i]!));
    const forked = s.bool(0.2);
    if (forked) setup.push(fork(1));
    // The swapped-out pages: the first one always, another one sometimes.
    const swapped = [s.int(0, pages - 1)];
    if (pages > 1 && s.bool(0.4)) {
      const other = (swapped[0]! + s.int(1, pages - 1)) % pages;
      swapped.push(other);
    }
    const target = (): number => (s.bool(0.8) ? s.pick(swapped) : s.int(0, pages - 1));
    const op = (pid: number): ModelOp => (s.bool(0.6) ? load(pid, target()) : store(pid, target(), 50 + s.int(0, 49)));
    const t0: ModelOp[] = [load(1, swapped[0]!)];
    const more = s.int(0, 2);
    for (let i = 0; i < more; i++) t0.push(op(1));
    // At most three tasks: the faulter and swapoff, and maybe a second faulter or reclaim.
    const extra = s.int(0, 9);
    const threads = [{ name: 'faulter', pid: 1, program: t0 }];
    if (extra >= 4 && extra <= 6) {
      const pid = forked && s.bool(0.5) ? 2 : 1;
      threads.push({ name: 'faulter2', pid, program: Array.from({ length: s.int(1, 2) }, () => op(pid)) });
    }
    const daemons: DaemonSpec[] = [];
    if (extra >= 7) {
      const targets = Array.from({ length: pages }, (_, i) => ({ pid: 1, addr: page(i) }));
      daemons.push({ kind: 'reclaim', rounds: s.int(1, 2), targets });
    }
    daemons.push({ kind: 'swapoff' });
    return {
      name: `swapoff#${seed}`,
      family: 'swapoff',
      swapSlots: 4,
      processes: [{ pid: 1, setup }],
      kernelSetup: swapped.map((i) => ({ do: 'swap_out' as const, pid: 1, addr: page(i) })),
      threads,
      daemons,
    };
  },
};

export const SWAP_FAMILIES: readonly Family[] = [reclaim, swapinAba, swapinVsWriter, swapoff];
