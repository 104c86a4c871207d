/**
 * Scenario families about driver VMAs: faults on character-device mappings.
 */
import type { ModelOp } from '../../model/ops.js';
import type { Family } from './family.js';
import { PAGE, RW, Src, anon, load, munmap, page, store } from './build.js';

const DEV_MMAPLOCK = '/dev/mmaplock0';
const DEV_FAULT = '/dev/fault0';
const mapDev = (pid: number, first: number, pages: number, dev: string): ModelOp => ({
  op: 'mmap', pid, addr: page(first), len: pages * PAGE, prot: RW, file: dev, offset: 0,
  flags: { shared: true, anonymous: false, fixed: true, growsdown: false },
});

/**
 *   |--/dev/mmaplock0 shared (2 pages)--|   |--/dev/fault0 shared (2 pages)--|   |--anon--|
 *   page 0                                  page 4                               page 8
 * driver-fault: threads fault on driver VMAs whose ->fault has no ->map_pages — one relies on
 * mmap_lock (asserts it), one does not — while another thread may unmap one of them. A driver
 * ->fault must run only under the lock it was audited for: the kernel retries such faults under
 * mmap_read_lock (vmf_can_call_fault).
 */
const driverFault: Family = {
  name: 'driver-fault',
  description: 'faults on driver VMAs whose ->fault has no ->map_pages (one relies on mmap_lock), racing munmap',
  generate(seed) {
    const s = new Src(seed);
    const first = s.bool(0.6) ? s.int(0, 1) : 4 + s.int(0, 1);
    const t0: ModelOp[] = [s.bool(0.6) ? load(1, first) : store(1, first, 60 + s.int(0, 9))];
    if (s.bool(0.5)) t0.push(load(1, s.bool() ? s.int(0, 1) : 4 + s.int(0, 1)));
    const t1: ModelOp[] = [];
    switch (s.int(0, 2)) {
      case 0: t1.push(load(1, s.int(0, 1)), store(1, 8, 5)); break;
      case 1: t1.push(munmap(1, 4, 2)); break;
      default: t1.push(store(1, 8, 5), load(1, 4 + s.int(0, 1))); break;
    }
    return {
      name: `driver-fault#${seed}`,
      family: 'driver-fault',
      files: [{ name: DEV_MMAPLOCK, pages: [31, 32] }, { name: DEV_FAULT, pages: [41, 42] }],
      processes: [{ pid: 1, setup: [mapDev(1, 0, 2, DEV_MMAPLOCK), mapDev(1, 4, 2, DEV_FAULT), anon(1, 8, 1)] }],
      threads: [
        { name: 'faulter', pid: 1, program: t0 },
        { name: 'other', pid: 1, program: t1 },
      ],
    };
  },
};

export const DRIVER_FAMILIES: readonly Family[] = [driverFault];
