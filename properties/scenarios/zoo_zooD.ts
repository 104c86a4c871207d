/**
 * Targeted families of the zoo (zooD): swapoff racing swap-in faults (kernel.md I15, the
 * swapoff-race mutant). One race, small enough to shrink to a story.
 */
import type { ModelOp } from '../../model/ops.js';
import type { DaemonSpec } from '../../impl/sim/scenario.js';
import type { Family } from './families.js';
import { anon, fork, load, page, Src, store } from './build.js';

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

export const ZOO_ZOOD_FAMILIES: readonly Family[] = [swapoff];
