/**
 * Targeted scenario families for the zoo's B6, B7, B9 and B10 (kernel.md §2): each draws one race
 * — stack growth against a tree walk, stack growth against a fault inside the stack, a fault on a
 * VMA that mmap is still building, a fault racing mremap(MREMAP_DONTUNMAP) — with small variations
 * per seed, so the correct generation must pass them all and the mutant must fail.
 */
import type { ModelOp } from '../../model/ops.js';
import type { Family } from './families.js';
import { anon, fileMap, load, page, PAGE, RW, Src, store } from './build.js';

/** A stack: private anonymous, MAP_GROWSDOWN, at page(first). */
const stack = (first: number, pages: number): ModelOp => anon(1, first, pages, RW, true);

/** mremap(old, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP): move the pages, keep the old VMA empty. */
const mremapDontUnmap = (first: number, pages: number): ModelOp => ({
  op: 'mremap', pid: 1, oldAddr: page(first), oldLen: pages * PAGE, newLen: pages * PAGE,
  flags: { maymove: true, fixed: false, dontunmap: true },
});

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

const FILE = 'data.bin';

/**
 *   (empty)   |--new mapping (pages 4..5): anon, or data.bin private/shared--|
 * T0 maps pages 4..5 (mmap_region: the new VMA goes into the tree, then is linked into i_mmap
 * and gets its final vm_page_prot); T1 touches the range meanwhile (SIGSEGV before the mmap).
 * The new VMA must be write-locked before it becomes visible (33313a747e81, B9, I2): a fault
 * under the VMA lock must never use a VMA mmap is still writing. The address space starts
 * empty, so the only mmap_region of the run is the racing one (setup maps nothing).
 */
const mmapVsFault: Family = {
  name: 'mmap-vs-fault',
  description: 'a fault on a VMA that mmap_region has just made visible and is still initialising',
  generate(seed) {
    const s = new Src(seed);
    const useFile = s.bool(0.5);
    const i = s.int(4, 5);
    return {
      name: `mmap-vs-fault#${seed}`,
      family: 'mmap-vs-fault',
      files: [{ name: FILE, pages: [100, 101] }],
      processes: [{ pid: 1, setup: [] }],
      threads: [
        { name: 'mapper', pid: 1, program: [useFile ? fileMap(1, 4, 2, FILE, 0, s.bool()) : anon(1, 4, 2)] },
        { name: 'faulter', pid: 1, program: [s.bool() ? load(1, i) : store(1, i, 50 + s.int(0, 9)), load(1, i)] },
      ],
    };
  },
};

/**
 *   |--anon A (pages 0..1, page 0 populated: A has an anon_vma)--|
 * T0 writes the empty page 1 of A (a fault under A's VMA lock); T1 moves A elsewhere with
 * mremap(MREMAP_DONTUNMAP), which keeps A mapped but empty and unlinks its anon_vma. The fault's
 * "has an anon_vma" check must come after vma_start_read (657b5146955e, B10, I5): otherwise it
 * goes on to anon_vma_prepare → find_mergeable_anon_vma, which walks unlocked neighbours
 * without mmap_lock.
 */
const mremapDontUnmapVsFault: Family = {
  name: 'mremap-dontunmap-vs-fault',
  description: 'a fault in an anonymous VMA while mremap(MREMAP_DONTUNMAP) moves its pages and drops its anon_vma',
  generate(seed) {
    const s = new Src(seed);
    const t0: ModelOp[] = [store(1, s.int(0, 1), 60 + s.int(0, 9))];
    if (s.bool(0.4)) t0.push(load(1, s.int(0, 1)));
    return {
      name: `mremap-dontunmap-vs-fault#${seed}`,
      family: 'mremap-dontunmap-vs-fault',
      processes: [{ pid: 1, setup: [anon(1, 0, 2), store(1, 0, 1)] }],
      threads: [
        { name: 'faulter', pid: 1, program: t0 },
        { name: 'mover', pid: 1, program: [mremapDontUnmap(0, 2)] },
      ],
    };
  },
};

export const ZOO_ZOOA_FAMILIES: readonly Family[] = [stackRot, stackExpansionVsFault, mmapVsFault, mremapDontUnmapVsFault];
