/**
 * Address-space layouts for the general generator: the regions a workload's processes map at the
 * start, and the state their pages start in — the corner cases the kernel's mm has to get right,
 * drawn rather than hand-placed:
 *
 *   |--stack (GROWSDOWN)--|   |--anon--||--anon--|  |--file (ends inside)--|   …   |==== 2 MiB anon ====|
 *   ^ room to grow below     adjacent: may merge      page cache / evicted         PMD-aligned, own PTE table
 *
 * - kinds: private anonymous, shared anonymous (shmem), file private/shared (a file that may end
 *   inside the mapping: SIGBUS beyond EOF), MAP_GROWSDOWN stacks, character devices (PFN maps,
 *   a legacy ->fault driver, a driver whose ->fault relies on mmap_lock);
 * - placement: adjacent to the previous region (compatible neighbours merge into one VMA), a gap
 *   of a page or a few, or the next 2 MiB boundary — a region alone in its PMD has a PTE table of
 *   its own, which unmapping it frees (free_pgtables), and a PMD-sized, PMD-aligned region is what
 *   khugepaged collapses and mremap moves whole (move_normal_pmd); a stack's neighbour below is
 *   close (adjacent: the guard gap refuses growth) or more than the guard gap away (the stack grows);
 * - page state at the start: written (an anonymous folio and an anon_vma), read (the zero page, or
 *   a mapped page-cache page), swapped out (a swap PTE), in the page cache only (not mapped),
 *   untouched — often the first page touched and the rest not (populatedArb); a memory policy
 *   (mbind) and a userfaultfd registration (MISSING) per region; a PMD-sized private anonymous
 *   region with a written page may start as a huge page (see startsHuge: khugepaged collapsed it
 *   before the workload), which every operation that meets it must then handle by its huge-PMD
 *   path (zap, split, mprotect, mremap, fork, GUP, smaps).
 *
 * Pages are indices from BASE (properties/scenarios/build.ts: 2 MiB aligned). Regions are placed
 * left to right from FIRST_PAGE, so the first region has free room below it.
 */
import fc from 'fast-check';
import type { SetupAction } from '../../impl/sim/scenario.js';
import type { ModelOp, Prot } from '../../model/ops.js';
import { BASE, PAGE, page } from '../scenarios/build.js';
import { chance, weighted, weightedInt } from './draw.js';

/** Pages per PMD (2 MiB / 4 KiB). */
export const PMD_PAGES = 512;
/** Where the first region starts: room below it for a stack to grow into. */
export const FIRST_PAGE = 8;
/**
 * The free room below a stack that is not placed right after its neighbour: more than the
 * stack guard gap (256 pages), so it can grow — as a process's stack normally can. A stack placed
 * adjacent has its neighbour within the guard gap, and growing into it is refused.
 */
export const STACK_ROOM = 264;
/** How many leading pages of a region the per-page state (populated, swapped, cached) covers. */
export const STATE_PAGES = 4;

export type RegionKind = 'anon' | 'shmem' | 'file' | 'stack' | 'dev';
export type Placement = 'adjacent' | 'gap' | 'pmd';
export type ProtName = 'rw' | 'r' | 'none';

/** The devices a workload may map (impl/drivers/misc_device.ts picks the driver by name). */
export const DEVICES = ['/dev/pfnmap0', '/dev/fault0', '/dev/mmaplock0'] as const;
/** The KVM device: ioctl(KVM_CREATE_VM) registers an MMU notifier on the caller's mm (impl/drivers/kvm.ts). */
export const KVM_DEVICE = '/dev/kvm0';
/** The data files (their sizes are drawn). */
export const DATA_FILES = ['data0.bin', 'data1.bin'] as const;

export interface RegionDraw {
  readonly kind: RegionKind;
  /** Size in pages (PMD_PAGES for a 2 MiB region). */
  readonly pages: number;
  readonly place: Placement;
  /** Pages of gap when place is 'gap'. */
  readonly gap: number;
  readonly prot: ProtName;
  /** MAP_SHARED (file and device regions). */
  readonly shared: boolean;
  /** Which data file or device. */
  readonly file: number;
  /** File offset in pages. */
  readonly offset: number;
  /** Bitmasks over the first STATE_PAGES pages. */
  readonly populated: number;
  readonly swapped: number;
  /**
   * File regions: the pages in the page cache only. A PMD-sized private anonymous region (which
   * has no page cache): bit 0 set = it starts as a huge page (startsHuge).
   */
  readonly cached: number;
  readonly policy: string | null;
  readonly uffd: boolean;
}

export interface LayoutDraw {
  readonly regions: readonly RegionDraw[];
  /** Sizes in pages of DATA_FILES, as drawn (fileSizesOf: as the workload has them). */
  readonly fileSizes: readonly number[];
}

/** A region placed: its draw and first page index. */
export interface Placed {
  readonly draw: RegionDraw;
  readonly at: number;
  readonly pages: number;
}

export const POLICIES = ['bind:0', 'interleave:0,1', 'preferred:1', 'local', 'default'] as const;

/**
 * Which of the first STATE_PAGES pages the setup touches: none (2 in 10), the first page only
 * (4 in 10), any subset (4 in 10). A region with some pages touched and others not is the
 * kernel's common case and the per-VMA-lock fault path's: lock_vma_under_rcu takes an anonymous
 * VMA only once it has an anon_vma (a page was written), and the fault that then runs under the
 * VMA lock alone is a first touch of another page of it (do_anonymous_page: a new folio, rmap,
 * the PTE table). A uniform subset of a 1–4 page region leaves that mix rarely. Shrinks to none.
 */
const populatedArb: fc.Arbitrary<number> = fc.tuple(weightedInt(0, [2, 4, 4]), fc.integer({ min: 0, max: (1 << STATE_PAGES) - 1 }))
  .map(([how, mask]) => (how === 0 ? 0 : how === 1 ? 1 : mask));

const regionArb: fc.Arbitrary<RegionDraw> = fc.record({
  kind: weighted<RegionKind>([['anon', 8], ['file', 4], ['stack', 2], ['shmem', 2], ['dev', 1]]),
  pages: weighted<number>([[2, 4], [1, 3], [3, 2], [4, 2], [PMD_PAGES, 3]]),
  place: weighted<Placement>([['adjacent', 4], ['gap', 3], ['pmd', 2]]),
  gap: weightedInt(1, [3, 1, 1]),
  prot: weighted<ProtName>([['rw', 10], ['r', 2], ['none', 1]]),
  shared: chance(0.4),
  file: fc.integer({ min: 0, max: 7 }),
  offset: weightedInt(0, [4, 1, 1]),
  populated: populatedArb,
  swapped: fc.integer({ min: 0, max: (1 << STATE_PAGES) - 1 }),
  cached: fc.integer({ min: 0, max: (1 << STATE_PAGES) - 1 }),
  policy: weighted<string | null>([[null, 6], ['bind:0', 2], ['interleave:0,1', 1], ['preferred:1', 1]]),
  uffd: chance(0.15),
});

/** One to four regions (two most often), and the data files' sizes. */
export const layoutArb: fc.Arbitrary<LayoutDraw> = fc.record({
  regions: fc.tuple(weightedInt(1, [3, 4, 2, 1]), fc.array(regionArb, { minLength: 4, maxLength: 4 }))
    .map(([n, rs]) => rs.slice(0, n)),
  fileSizes: fc.array(weightedInt(1, [2, 3, 2, 2, 1, 1]), { minLength: DATA_FILES.length, maxLength: DATA_FILES.length }),
});

/**
 * The data files' sizes in pages: as drawn, except that a file a PMD-sized file region maps is
 * at least as long as that mapping (offset + 2 MiB) — a 2 MiB mapping of a file is of a file
 * that fills it, which is what khugepaged's file collapse (hpage_collapse_scan_file,
 * collapse_file, retract_page_tables) needs; files that end inside a mapping (SIGBUS beyond EOF)
 * come from the smaller regions and the operations' mappings.
 */
export function fileSizesOf(l: LayoutDraw): number[] {
  const sizes = [...l.fileSizes];
  for (const r of l.regions) {
    if (r.kind !== 'file' || r.pages !== PMD_PAGES) continue;
    const i = r.file % DATA_FILES.length;
    sizes[i] = Math.max(sizes[i]!, r.offset + PMD_PAGES);
  }
  return sizes;
}

/** Place the regions left to right; returns them and the first free page after the last. */
export function place(l: LayoutDraw): { regions: Placed[]; end: number } {
  let cursor = FIRST_PAGE;
  const regions: Placed[] = [];
  l.regions.forEach((r, i) => {
    let at = cursor;
    if (i > 0) {
      if (r.kind === 'stack' && r.place !== 'adjacent') at = cursor + STACK_ROOM; // room to grow
      else if (r.place === 'gap') at = cursor + r.gap;
      else if (r.place === 'pmd') at = Math.ceil((cursor + 1) / PMD_PAGES) * PMD_PAGES;
    }
    // A 2 MiB region is PMD-aligned (khugepaged collapses and mremap moves whole PMDs only).
    if (r.pages === PMD_PAGES) at = Math.ceil(at / PMD_PAGES) * PMD_PAGES;
    regions.push({ draw: r, at, pages: r.pages });
    cursor = at + r.pages;
  });
  return { regions, end: cursor };
}

export const protOf = (p: ProtName): Prot => ({ read: p !== 'none', write: p === 'rw', exec: false });

/** The file (data file or device) a file or device region maps. */
export function regionFile(r: RegionDraw): string | undefined {
  if (r.kind === 'file') return DATA_FILES[r.file % DATA_FILES.length];
  if (r.kind === 'dev') return DEVICES[r.file % DEVICES.length];
  return undefined;
}

/**
 * A PFN-map device (VM_PFNMAP). Mapped MAP_SHARED only: the model takes a PFN map's pages as the
 * device's (direct) while the kernel copies a private one on write after fork has write-protected
 * it (copy_present_pte, then wp_page_copy of the PFN) — private PFN maps are a gap of the model.
 */
export const isPfnmap = (file: string | undefined): boolean => file !== undefined && file.startsWith('/dev/pfnmap');

/** Device size in pages (devices are small and fixed). */
export const DEVICE_PAGES = 4;

/** The mmap that creates a placed region. */
export function mapRegion(pid: number, p: Placed): ModelOp {
  const r = p.draw;
  const anonymous = r.kind === 'anon' || r.kind === 'shmem' || r.kind === 'stack';
  const file = regionFile(r);
  const shared = r.kind === 'shmem' || (r.kind === 'file' && r.shared) || (r.kind === 'dev' && (r.shared || isPfnmap(file)));
  return {
    op: 'mmap', pid, addr: page(p.at), len: p.pages * PAGE, prot: protOf(r.prot),
    flags: { shared, anonymous, fixed: true, growsdown: r.kind === 'stack' },
    ...(file !== undefined ? { file, offset: (r.kind === 'dev' ? 0 : r.offset) * PAGE } : {}),
  };
}

const bit = (mask: number, i: number): boolean => ((mask >> i) & 1) === 1;

/**
 * Whether a region starts as a huge page: a PMD-sized (so PMD-aligned, place) private anonymous
 * region, writable, with a page written at the start, whose `cached` bit 0 is set — the state a
 * process's THP-backed heap is in once khugepaged has collapsed it (the setup runs khugepaged's
 * collapse, hpage_collapse_scan_pmd → collapse_huge_page, on the range after the first writes; one
 * written, young, writable page suffices: max_ptes_none is 511). Its pages are not swapped out at
 * the start (reclaim does not split large folios: impl/mm/vmscan.ts).
 */
export function startsHuge(r: RegionDraw): boolean {
  return r.kind === 'anon' && r.pages === PMD_PAGES && r.prot === 'rw' && (r.populated & ((1 << STATE_PAGES) - 1)) !== 0 && bit(r.cached, 0);
}

/** File pages (index into the file) a region's page i maps, or null if beyond the file's end. */
function filePage(r: RegionDraw, i: number, fileSizes: readonly number[]): number | null {
  if (r.kind !== 'file') return null;
  const idx = r.offset + i;
  return idx < fileSizes[r.file % DATA_FILES.length]! ? idx : null;
}

export interface RegionSetup {
  /** User-space setup operations of the process (mmap, first touches, mbind, uffd register). */
  readonly ops: ModelOp[];
  /** Registrations, done last (after a fork in setup: a fork of a registered mm waits for the monitor). */
  readonly late: ModelOp[];
  readonly kernel: SetupAction[];
  /** Values written, for readable scenarios. */
  readonly touched: number;
}

/**
 * The setup of one process mapping the layout: each region mapped, its pages touched as drawn,
 * its policy set; swap-outs and page-cache reads as kernel setup. `salt` varies the values
 * written per process.
 */
export function setupRegions(pid: number, regions: readonly Placed[], fileSizes: readonly number[], salt: number): RegionSetup {
  const ops: ModelOp[] = [];
  const late: ModelOp[] = [];
  const kernel: SetupAction[] = [];
  let touched = 0;
  for (const p of regions) {
    const r = p.draw;
    ops.push(mapRegion(pid, p));
    const n = Math.min(p.pages, STATE_PAGES);
    const writable = r.prot === 'rw';
    const huge = startsHuge(r);
    for (let i = 0; i < n; i++) {
      const addr = page(p.at + i);
      if (r.kind === 'file' && filePage(r, i, fileSizes) === null) continue; // beyond EOF: SIGBUS
      if (r.kind === 'dev' && i >= DEVICE_PAGES) continue; // beyond the device: SIGBUS
      if (bit(r.populated, i) && r.prot !== 'none') {
        if (writable) ops.push({ op: 'store', pid, addr, value: salt + 10 * touched + i + 1 });
        else ops.push({ op: 'load', pid, addr });
        touched++;
        // Swap out written private anonymous pages (a swap PTE at the start).
        if (writable && bit(r.swapped, i) && (r.kind === 'anon' || r.kind === 'stack') && !huge) {
          kernel.push({ do: 'swap_out', pid, addr });
        }
      } else if (r.kind === 'file' && bit(r.cached, i)) {
        // In the page cache, not mapped: a fault finds it (fault-around maps it too).
        const idx = filePage(r, i, fileSizes)!;
        kernel.push({ do: 'cache', file: DATA_FILES[r.file % DATA_FILES.length]!, page: idx });
      }
    }
    const anonLike = r.kind === 'anon' || r.kind === 'stack' || r.kind === 'shmem';
    if (r.policy !== null && anonLike) ops.push({ op: 'mbind', pid, addr: page(p.at), len: p.pages * PAGE, policy: r.policy });
    // Before any registration (a uffd-armed VMA with missing pages is not collapsed).
    if (huge) ops.push({ op: 'khugepaged_collapse', pid, addr: page(p.at) });
    if (r.uffd && anonLike) late.push({ op: 'uffd_register', pid, addr: page(p.at), len: p.pages * PAGE, mode: 'missing' });
  }
  return { ops, late, kernel, touched };
}

/** Readable: the layout as one line ("stack@8+2 anon@10+2 file:data0.bin@16+4 …"). */
export function describeLayout(regions: readonly Placed[]): string {
  return regions.map((p) => `${p.draw.kind}${regionFile(p.draw) ? ':' + regionFile(p.draw) : ''}@${p.at}+${p.pages}`).join(' ');
}

export { BASE };
