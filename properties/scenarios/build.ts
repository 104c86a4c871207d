/** Small constructors for scenario operations, so families read like the programs they are. */
import type { ModelOp, Prot } from '../../model/ops.js';
import { Prng } from '../../impl/rt/prng.js';

export const PAGE = 4096;
/** Where scenarios map things: 2 MiB aligned, so one PTE table covers a scenario's region. */
export const BASE = 0x10000000;
export const page = (i: number): number => BASE + i * PAGE;

export const RW: Prot = { read: true, write: true, exec: false };
export const RO: Prot = { read: true, write: false, exec: false };

export function anon(pid: number, first: number, pages: number, prot: Prot = RW, growsdown = false): ModelOp {
  return { op: 'mmap', pid, addr: page(first), len: pages * PAGE, prot, flags: { shared: false, anonymous: true, fixed: true, growsdown } };
}
export function fileMap(pid: number, first: number, pages: number, file: string, offsetPages = 0, shared = false, prot: Prot = RW): ModelOp {
  return { op: 'mmap', pid, addr: page(first), len: pages * PAGE, prot, flags: { shared, anonymous: false, fixed: true, growsdown: false }, file, offset: offsetPages * PAGE };
}
export const load = (pid: number, i: number): ModelOp => ({ op: 'load', pid, addr: page(i) });
export const store = (pid: number, i: number, value: number): ModelOp => ({ op: 'store', pid, addr: page(i), value });
export const munmap = (pid: number, first: number, pages: number): ModelOp => ({ op: 'munmap', pid, addr: page(first), len: pages * PAGE });
export const mprotect = (pid: number, first: number, pages: number, prot: Prot): ModelOp => ({ op: 'mprotect', pid, addr: page(first), len: pages * PAGE, prot });
export const fork = (pid: number): ModelOp => ({ op: 'fork', pid });
export const readMaps = (pid: number, target = pid): ModelOp => ({ op: 'read_maps', pid, target });

/** The randomness a family draws from (a seeded PRNG; deterministic per seed). */
export class Src {
  private readonly rng: Prng;
  constructor(seed: number) {
    this.rng = new Prng(seed);
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + this.rng.below(hi - lo + 1);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.rng.below(xs.length)]!;
  }
  bool(p = 0.5): boolean {
    return this.rng.next() / 2 ** 32 < p;
  }
}

/** The data file most families map. */
export const FILE = 'data.bin';
/** The contents of an n-page file: page i holds 100 + i. */
export const filePages = (n: number): number[] => Array.from({ length: n }, (_, i) => 100 + i);
/** A stack: private anonymous, MAP_GROWSDOWN, at page(first). */
export const stack = (first: number, pages: number): ModelOp => anon(1, first, pages, RW, true);
/** mremap(old, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP): move the pages, keep the old VMA empty. */
export const mremapDontUnmap = (first: number, pages: number): ModelOp => ({
  op: 'mremap', pid: 1, oldAddr: page(first), oldLen: pages * PAGE, newLen: pages * PAGE,
  flags: { maymove: true, fixed: false, dontunmap: true },
});
/** mremap(old, len, len, MREMAP_MAYMOVE | MREMAP_FIXED [| MREMAP_DONTUNMAP], page(to)). */
export const mremapTo = (pid: number, first: number, pages: number, to: number, dontunmap = false): ModelOp => ({
  op: 'mremap', pid, oldAddr: page(first), oldLen: pages * PAGE, newLen: pages * PAGE,
  flags: { maymove: true, fixed: true, dontunmap }, newAddr: page(to),
});
export const readSmaps = (pid: number, target = pid): ModelOp => ({ op: 'read_smaps', pid, target });
export const mbind = (pid: number, first: number, pages: number, policy: string): ModelOp =>
  ({ op: 'mbind', pid, addr: page(first), len: pages * PAGE, policy });
export const getPolicy = (pid: number, i: number): ModelOp => ({ op: 'get_mempolicy', pid, addr: page(i) });
export const uffdRegister = (pid: number, first: number, pages: number): ModelOp =>
  ({ op: 'uffd_register', pid, addr: page(first), len: pages * PAGE, mode: 'missing' });
export const madvise = (pid: number, first: number, pages: number): ModelOp =>
  ({ op: 'madvise', pid, addr: page(first), len: pages * PAGE, advice: 'dontneed' });
