/**
 * Scenario families about memory policies: mbind racing faults that allocate.
 */
import type { ModelOp } from '../../model/ops.js';
import type { Family } from './family.js';
import { Src, anon, getPolicy, load, mbind, page, store } from './build.js';

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

export const MEMPOLICY_FAMILIES: readonly Family[] = [mbindVsFault];
