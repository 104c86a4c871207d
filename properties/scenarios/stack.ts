/**
 * Scenario families about MAP_GROWSDOWN stacks: stack growth racing tree walks and faults.
 */
import type { ModelOp } from '../../model/ops.js';
import type { Family } from './family.js';
import { Src, load, page, stack, store } from './build.js';

/**
 *   |  grow here (pages 5..7)  |--stack S (GROWSDOWN, page 8, populated)--|
 * Two threads fault just below S, each growing it (expand_stack → expand_downwards: find_vma_prev,
 * then the tree store). Before 6.5 the growth ran under mmap_read_lock: one thread's
 * find_vma_prev walks the tree node the other's mas_store_prealloc replaces and RCU-frees; the
 * walker holds no rcu_read_lock, so the grace period ends and mas_prev reads the freed node
 * (StackRot, B6, I12).
 */
const stackRot: Family = {
  name: 'stack-rot',
  description: 'two threads grow a MAP_GROWSDOWN stack at once (find_vma_prev racing the tree store)',
  generate(seed) {
    const s = new Src(seed);
    const a = s.int(5, 7);
    const b = s.int(5, 7);
    const access = (i: number, v: number): ModelOp => (s.bool(0.7) ? store(1, i, v) : load(1, i));
    return {
      name: `stack-rot#${seed}`,
      family: 'stack-rot',
      processes: [{ pid: 1, setup: [stack(8, 1), store(1, 8, 1)] }],
      threads: [
        { name: 'grower1', pid: 1, program: [access(a, 10 + s.int(0, 9))] },
        { name: 'grower2', pid: 1, program: [access(b, 20 + s.int(0, 9))] },
      ],
    };
  },
};

/**
 *   |  grow here (page 5 or 6)  |--stack S (GROWSDOWN, pages 7..9; page 7 populated)--|
 * T0 writes a fresh page inside S (a fault under S's VMA read lock: do_anonymous_page computes
 * the folio's index from vm_start and vm_pgoff); T1 writes below S, growing it under
 * mmap_write_lock (expand_downwards changes vm_start and vm_pgoff). The growth must write-lock S
 * first (c137381f71ae, B7, I2), else the fault reads a half-updated range and maps the page at
 * the wrong index (rmap can no longer find it).
 */
const stackExpansionVsFault: Family = {
  name: 'stack-expansion-vs-fault',
  description: 'a fault inside a stack VMA (VMA lock) while another thread grows that stack',
  generate(seed) {
    const s = new Src(seed);
    const inside = s.int(8, 9);
    const below = s.int(5, 6);
    const t0: ModelOp[] = [store(1, inside, 30 + s.int(0, 9))];
    if (s.bool(0.3)) t0.push(load(1, inside));
    return {
      name: `stack-expansion-vs-fault#${seed}`,
      family: 'stack-expansion-vs-fault',
      processes: [{ pid: 1, setup: [stack(7, 3), store(1, 7, 1)] }],
      threads: [
        { name: 'faulter', pid: 1, program: t0 },
        { name: 'grower', pid: 1, program: [store(1, below, 40 + s.int(0, 9))] },
      ],
    };
  },
};

export const STACK_FAMILIES: readonly Family[] = [stackRot, stackExpansionVsFault];
