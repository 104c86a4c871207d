/**
 * Scenario families about fork: dup_mmap racing faults, COW and TLB entries of the parent.
 */
import type { ModelOp } from '../../model/ops.js';
import type { Family } from './family.js';
import { Src, anon, fork, load, page, store } from './build.js';

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
 *   |--anon rw (1 page, populated)--|
 * fork-vs-cow (B8 a, fb49c455323f): a parent thread keeps a writable TLB entry for the page while
 * fork write-protects it (flush_tlb_mm comes only at the end of dup_mmap); another parent thread
 * write-faults on it and wp_page_copy copies the page. If the fault may run while fork copies the
 * VMA (no vma_start_write in dup_mmap), a store through the stale TLB entry lands in the old page
 * after the copy was taken and is lost for the parent.
 */
const forkVsCow: Family = {
  name: 'fork-vs-cow',
  description: 'fork write-protecting a page that another parent thread still writes through its TLB, while a third COW-faults it',
  generate(seed) {
    const v = 1 + (seed % 5);
    return {
      name: `fork-vs-cow#${seed}`,
      family: 'fork-vs-cow',
      processes: [{ pid: 1, setup: [anon(1, 0, 1), store(1, 0, 1)] }],
      threads: [
        { name: 'forker', pid: 1, program: [fork(1)] },
        { name: 'cow-writer', pid: 1, program: [store(1, 0, 50 + v)] },
        { name: 'tlb-writer', pid: 1, program: [store(1, 0, 10 + v), store(1, 0, 20 + v), load(1, 0)] },
      ],
    };
  },
};

export const FORK_FAMILIES: readonly Family[] = [forkVsFault, forkVsCow];
