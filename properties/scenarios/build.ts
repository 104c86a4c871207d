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
