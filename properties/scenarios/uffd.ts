/**
 * Scenario families about userfaultfd: missing faults resolved by a monitor while the range changes.
 */
import type { ModelOp } from '../../model/ops.js';
import { optionValue, type Family } from './family.js';
import { PAGE, Src, anon, fork, load, madvise, mremapTo, munmap, page, store, uffdRegister } from './build.js';

/** The value the monitor fills missing pages with. */
const UFFD_VALUE = 77;

/**
 *   |--anon rw (4 pages; page 0 written: anon_vma), registered MISSING--|   …   (page 16: free)
 * uffd: the userfaultfd monitor (a daemon: read(2), UFFDIO_COPY, retry on -EAGAIN after reading
 * the events, UFFDIO_WAKE of ranges that went away) resolves missing faults of one or two
 * faulting threads while another thread changes the registered range — munmap, mremap to a free
 * place (with MREMAP_DONTUNMAP the old range stays registered, empty), fork, madvise(MADV_DONTNEED) — raising a non-cooperative event (mmap_changing) the
 * monitor has to read first (I18, B22), or (un)registers it under the faults (B26).
 *
 * Option `monitor` (`--scenario uffd:monitor=contract`): how the monitor treats a failed
 * UFFDIO_COPY. 'defensive' (the default) wakes the page after any failure; 'contract' relies on
 * UFFDIO_UNREGISTER's documented wake and does not UFFDIO_WAKE a page of a range its process has
 * unregistered — as a monitor written to the documentation may (impl/mm/userfaultfd.ts,
 * sim_daemon_uffd_handler). The option changes only the daemon's `monitor` field: the same seed
 * draws the same operations either way, and a counterexample carries the field and replays.
 */
const uffd: Family = {
  name: 'uffd',
  description: 'missing userfaults resolved by a monitor while another thread unmaps, moves, forks, madvises or unregisters the range',
  options: [{
    name: 'monitor',
    values: ['defensive', 'contract'],
    description: 'defensive: UFFDIO_WAKE after any failed UFFDIO_COPY; contract: no UFFDIO_WAKE of a range the process unregistered (relies on UFFDIO_UNREGISTER waking it)',
  }],
  generate(seed, options) {
    const monitor = optionValue(uffd, options, 'monitor');
    const s = new Src(seed);
    const i = s.int(1, 3);
    const faulter: ModelOp[] = [s.bool(0.6) ? load(1, i) : store(1, i, 40 + s.int(0, 9))];
    if (s.bool(0.3)) faulter.push(load(1, s.int(1, 3)));
    let changer: ModelOp[];
    switch (s.int(0, 5)) {
      case 0: changer = [munmap(1, s.int(1, 3), 1)]; break;
      case 1: changer = [madvise(1, s.int(0, 3), 1)]; break;
      case 2: changer = [fork(1)]; break;
      case 3: changer = [mremapTo(1, 0, 4, 16)]; break;
      case 4: changer = [mremapTo(1, 0, 4, 16, true)]; break;
      default: changer = [{ op: 'uffd_unregister', pid: 1, addr: page(0), len: 4 * PAGE }]; break;
    }
    if (s.bool(0.3)) changer.push(load(1, s.int(0, 3)));
    const threads = [
      { name: 'faulter', pid: 1, program: faulter },
      { name: 'changer', pid: 1, program: changer },
    ];
    return {
      name: `uffd#${seed}`,
      family: 'uffd',
      processes: [{ pid: 1, setup: [anon(1, 0, 4), store(1, 0, 1), uffdRegister(1, 0, 4)] }],
      threads,
      daemons: [{ kind: 'uffd_handler', pid: 1, count: 8, value: UFFD_VALUE, ...(monitor === 'contract' ? { monitor: 'contract' as const } : {}) }],
    };
  },
};

export const UFFD_FAMILIES: readonly Family[] = [uffd];
