/**
 * The `random` family: a random mix of memory operations over a small region.
 */
import type { ModelOp } from '../../model/ops.js';
import type { Family } from './family.js';
import { RO, RW, Src, anon, fork, load, mprotect, munmap, store } from './build.js';

/** A random mix of mmap, munmap, mprotect, fork, loads and stores over a small region. */
const random: Family = {
  name: 'random',
  description: 'a random mix of memory operations from 2–3 threads over a small region',
  generate(seed) {
    const s = new Src(seed);
    const op = (): ModelOp => {
      const i = s.int(0, 3);
      switch (s.int(0, 9)) {
        case 0: return munmap(1, i, s.int(1, 2));
        case 1: return anon(1, i, s.int(1, 2));
        case 2: return mprotect(1, i, 1, s.bool() ? RO : RW);
        case 3: return s.bool(0.3) ? fork(1) : load(1, i);
        case 4: case 5: case 6: return store(1, i, s.int(1, 99));
        default: return load(1, i);
      }
    };
    const nThreads = s.int(2, 3);
    const threads = Array.from({ length: nThreads }, (_, t) => ({
      name: `t${t}`, pid: 1, program: Array.from({ length: s.int(1, 3) }, op),
    }));
    return { name: `random#${seed}`, family: 'random', processes: [{ pid: 1, setup: [anon(1, 0, 4), store(1, 0, 1)] }], threads };
  },
};

export const RANDOM_FAMILIES: readonly Family[] = [random];
