/**
 * Scenario families about VMA changes racing faults: mmap, mprotect (split and merge), mremap, munmap.
 */
import type { ModelOp } from '../../model/ops.js';
import type { Family } from './family.js';
import { FILE, RO, RW, Src, anon, fileMap, load, mprotect, mremapDontUnmap, munmap, page, store } from './build.js';

/**
 *   |--anon rw (3 pages)--|
 * T0 mprotects part of the range read-only (splitting the VMA) and maybe back; T1 writes and reads.
 * A store must fail with SIGSEGV exactly when the model's protection says so.
 */
const mprotectVsFault: Family = {
  name: 'mprotect-vs-fault',
  description: 'mprotect splitting and merging a VMA while another thread faults in it',
  generate(seed) {
    const s = new Src(seed);
    const first = s.int(0, 2);
    const n = s.int(1, 3 - first);
    const t0: ModelOp[] = [mprotect(1, first, n, RO)];
    if (s.bool(0.5)) t0.push(mprotect(1, first, n, RW));
    const i = s.int(0, 2);
    return {
      name: `mprotect-vs-fault#${seed}`,
      family: 'mprotect-vs-fault',
      processes: [{ pid: 1, setup: [anon(1, 0, 3), ...(s.bool() ? [store(1, i, 3)] : [])] }],
      threads: [
        { name: 'mprotector', pid: 1, program: t0 },
        { name: 'writer', pid: 1, program: [store(1, i, 9), load(1, s.int(0, 2))] },
      ],
    };
  },
};

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

/**
 *   |--anon rw (4 pages; page 0 populated, so the PTE table exists)--|
 * first-touch-vs-unmap: a thread touches pages for the first time (do_anonymous_page) while
 * another unmaps, remaps or write-protects them. A fault that found the VMA before the change
 * must not install a page the change has already taken away: into an unmapped range (I10), a
 * writable PTE into a VMA made read-only, or over the new mapping's page.
 */
const firstTouchVsUnmap: Family = {
  name: 'first-touch-vs-unmap',
  description: 'first-touch anonymous faults racing munmap / mmap / mprotect of the same pages',
  generate(seed) {
    const s = new Src(seed);
    const i = s.int(1, 3);
    const faulter: ModelOp[] = [s.bool(0.75) ? store(1, i, 40 + s.int(0, 9)) : load(1, i)];
    if (s.bool(0.5)) faulter.push(load(1, i));
    const first = s.int(1, i);
    const n = s.int(i - first + 1, 4 - first);
    let other: ModelOp[];
    switch (s.int(0, 3)) {
      case 0: other = [munmap(1, first, n)]; break;
      case 1: other = [munmap(1, first, n), anon(1, first, n), store(1, i, 7)]; break;
      case 2: other = [mprotect(1, first, n, RO)]; break;
      default: other = [anon(1, first, n)]; break; // MAP_FIXED over: unmap + new VMA
    }
    if (s.bool(0.3)) other.push(load(1, i));
    return {
      name: `first-touch-vs-unmap#${seed}`,
      family: 'first-touch-vs-unmap',
      processes: [{ pid: 1, setup: [anon(1, 0, 4), store(1, 0, 1)] }],
      threads: [
        { name: 'faulter', pid: 1, program: faulter },
        { name: 'changer', pid: 1, program: other },
      ],
    };
  },
};

export const VMA_FAMILIES: readonly Family[] = [mprotectVsFault, mmapVsFault, mremapDontUnmapVsFault, firstTouchVsUnmap];
