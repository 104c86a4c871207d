/** Targeted families of the zoo (lead's): one race each, small enough to shrink to a story. */
import type { Family } from './families.js';
import { anon, fork, load, store } from './build.js';

/**
 *   |--anon rw (1 page, populated)--|
 * fork-vs-cow (B8 a, fb49c455323f): a parent thread keeps a writable TLB entry for the page while
 * fork write-protects it (flush_tlb_mm comes only at the end of dup_mmap); another parent thread
 * write-faults on it and wp_page_copy copies the page. If the fault may run while fork copies the
 * VMA (no vma_start_write in dup_mmap), a store through the stale TLB entry lands in the old page
 * after the copy was taken and is lost for the parent.
 */
export const forkVsCow: Family = {
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

export const LEAD_FAMILIES: readonly Family[] = [forkVsCow];
