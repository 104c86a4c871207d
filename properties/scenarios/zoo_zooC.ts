/**
 * Targeted families of the zoo (zooC): mbind racing faults that allocate (B14), faults on driver
 * VMAs whose ->fault needs mmap_lock (the article's driver question), and userfaultfd — missing
 * faults resolved by a monitor while another thread changes the registered range (B22, B26, the
 * article's "block in handle_userfault holding the VMA lock").
 */
import type { ModelOp } from '../../model/ops.js';
import type { Family } from './families.js';
import { anon, fork, load, munmap, page, PAGE, RW, Src, store } from './build.js';

const mbind = (pid: number, first: number, pages: number, policy: string): ModelOp =>
  ({ op: 'mbind', pid, addr: page(first), len: pages * PAGE, policy });
const getPolicy = (pid: number, i: number): ModelOp => ({ op: 'get_mempolicy', pid, addr: page(i) });

/**
 *   |--anon rw (4 pages; page 0 written: the VMA has an anon_vma; policy bind:0)--|
 * mbind-vs-fault (B14, 6c21e066f925): one thread mbinds the whole VMA to a new policy (so no
 * split write-locks it on the way) while another first-touches pages with stores —
 * do_anonymous_page → vma_alloc_folio reads vma->vm_policy under the VMA lock. The old policy
 * must not be freed while a fault may still use it (I2).
 */
const mbindVsFault: Family = {
  name: 'mbind-vs-fault',
  description: 'mbind replacing a VMA\'s policy while faults allocate pages under that policy',
  generate(seed) {
    const s = new Src(seed);
    const i = s.int(1, 3);
    const faulter: ModelOp[] = [store(1, i, 40 + s.int(0, 9))];
    if (s.bool(0.4)) faulter.push(load(1, s.int(1, 3)));
    const binder: ModelOp[] = [mbind(1, 0, 4, s.pick(['interleave:0,1', 'local', 'preferred:1']))];
    if (s.bool(0.3)) binder.push(getPolicy(1, i));
    return {
      name: `mbind-vs-fault#${seed}`,
      family: 'mbind-vs-fault',
      processes: [{ pid: 1, setup: [anon(1, 0, 4), store(1, 0, 1), mbind(1, 0, 4, 'bind:0')] }],
      threads: [
        { name: 'binder', pid: 1, program: binder },
        { name: 'faulter', pid: 1, program: faulter },
      ],
    };
  },
};

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

const uffdRegister = (pid: number, first: number, pages: number): ModelOp =>
  ({ op: 'uffd_register', pid, addr: page(first), len: pages * PAGE, mode: 'missing' });
const madvise = (pid: number, first: number, pages: number): ModelOp =>
  ({ op: 'madvise', pid, addr: page(first), len: pages * PAGE, advice: 'dontneed' });
const mremapTo = (pid: number, first: number, pages: number, to: number, dontunmap = false): ModelOp => ({
  op: 'mremap', pid, oldAddr: page(first), oldLen: pages * PAGE, newLen: pages * PAGE,
  flags: { maymove: true, fixed: true, dontunmap }, newAddr: page(to),
});
/** The value the monitor fills missing pages with. */
const UFFD_VALUE = 77;

/**
 *   |--anon rw (4 pages; page 0 written: anon_vma), registered MISSING--|   …   (page 16: free)
 * uffd: the userfaultfd monitor (a daemon: read(2), UFFDIO_COPY, retry on -EAGAIN after reading
 * the events, UFFDIO_WAKE of ranges that went away) resolves missing faults of one or two
 * faulting threads while another thread changes the registered range — munmap, mremap to a free
 * place (with MREMAP_DONTUNMAP the old range stays registered, empty), fork, madvise(MADV_DONTNEED) — raising a non-cooperative event (mmap_changing) the
 * monitor has to read first (I18, B22), or (un)registers it under the faults (B26).
 */
const uffd: Family = {
  name: 'uffd',
  description: 'missing userfaults resolved by a monitor while another thread unmaps, moves, forks, madvises or unregisters the range',
  generate(seed) {
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
      daemons: [{ kind: 'uffd_handler', pid: 1, count: 8, value: UFFD_VALUE }],
    };
  },
};

export const ZOO_ZOOC_FAMILIES: readonly Family[] = [mbindVsFault, driverFault, uffd];
