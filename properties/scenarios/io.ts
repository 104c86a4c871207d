/**
 * Scenario families about faults that wait for I/O: a fault sleeping on file or swap I/O while the range changes under it.
 */
import type { ModelOp } from '../../model/ops.js';
import type { Family } from './family.js';
import { FILE, Src, anon, fileMap, filePages, load, munmap, page, store } from './build.js';

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

export const IO_FAMILIES: readonly Family[] = [unmapDuringIo];
