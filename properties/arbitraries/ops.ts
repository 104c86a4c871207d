/**
 * The operations of the general generator: a table of weighted operation arbitraries, one entry
 * per operation the model knows (model/ops.ts), each with every flag the kernel distinguishes.
 * An entry draws a small plain descriptor (which region, which page of it, how many pages, which
 * flags) and resolves it against the workload's layout into a ModelOp — so operations of
 * different threads land on the same few pages and VMAs (races need shared objects), near each
 * other's addresses (edges of regions, just below a stack, just past a file's end), with small
 * counts, and fast-check shrinks the descriptor (region 0, offset 0, one page, simpler flags).
 *
 * A new operation (an ioctl, O_DIRECT I/O, …) is one more entry: `opKind({ name, weight, draw,
 * resolve })` appended to OP_TABLE (or passed to workloadArb's `ops`).
 *
 * Left out on purpose: uffd_read_event from a user thread — the workload's monitor (the
 * uffd_handler daemon) must see every fault message, or a fault it never hears of sleeps forever:
 * a hang of the test program, not of the kernel. uffd_settle is not a system call.
 */
import fc from 'fast-check';
import type { MmapFlags, ModelOp, Prot } from '../../model/ops.js';
import { PAGE, page } from '../scenarios/build.js';
import { chance, weighted, weightedInt } from './draw.js';
import { DATA_FILES, DEVICES, KVM_DEVICE, PMD_PAGES, POLICIES, STATE_PAGES, isPfnmap, protOf, regionFile, type Placed, type ProtName } from './layout.js';

/** Where an operation lands: region r (of the layout), page o of it, n pages. */
export interface Target {
  /** Region index (taken modulo the number of regions; 0, the focus region, most often). */
  readonly r: number;
  /**
   * Page within the region: −2, −1 (just below it), 0..3 (its first pages), 4, 5 (its last two
   * pages), 6, 7 (just past its end).
   */
  readonly o: number;
  /** Length in pages (span 'pages'). */
  readonly n: number;
  /** 'pages': n pages from o; 'region': the whole region; 'rest': from o to the region's end; 'pmd': the 2 MiB around it. */
  readonly span: 'pages' | 'region' | 'rest' | 'pmd';
  /**
   * 0: the target as drawn; 1: the workload's focus page (its region and offset replace r and
   * o); 2, 3: the page just below or above the focus; 4: the first page of the focus region the
   * setup left untouched (a first touch beside touched pages: the fault that runs under the VMA
   * lock alone once the VMA has an anon_vma), the focus page if there is none. Races need shared
   * objects: the threads' operations meet at the focus often, whatever it is.
   */
  readonly near: number;
}

/** What a descriptor is resolved against. */
export interface ResolveCtx {
  readonly regions: readonly Placed[];
  /** First page after the layout (free space starts 2 pages after it). */
  readonly end: number;
  /** The pid of the thread that runs the operation. */
  readonly pid: number;
  /** Every process of the scenario at the start. */
  readonly pids: readonly number[];
  readonly fileSizes: readonly number[];
  /** The workload's focus page (Target.near). */
  readonly focus: Focus;
}

/**
 * The workload's focus: region r, page o of it — or, by `at`, the first page of the layout the
 * setup left in a state with a fault path of its own, where there is one (else r and o):
 * 1 a swapped-out page (do_swap_page: swap-in racing swap-in, reclaim reusing the slot, swapoff),
 * 2 a page in the page cache only (filemap_fault finding it, fault-around mapping it),
 * 3 the page just below a stack with room to grow (expand_downwards under the fault).
 * Absent or 0: r and o as drawn.
 */
export interface Focus {
  readonly r: number;
  readonly o: number;
  readonly at?: number;
}

export interface OpKind<D> {
  readonly name: string;
  readonly weight: number;
  readonly draw: fc.Arbitrary<D>;
  resolve(d: D, ctx: ResolveCtx): ModelOp;
}

/** An entry of the table (its descriptor type erased). */
export type AnyOpKind = OpKind<unknown>;

export function opKind<D>(k: OpKind<D>): AnyOpKind {
  return k as unknown as AnyOpKind;
}

/** A drawn operation: the entry's name and its descriptor. */
export interface OpDraw {
  readonly kind: string;
  readonly d: unknown;
}

// --- targets -------------------------------------------------------------------------------

const regionIndexArb = weightedInt(0, [6, 3, 2, 1]);
const offsetArb = weightedInt(-2, [1, 2, 6, 5, 3, 2, 1, 2, 2, 1]);
const nearArb = weightedInt(0, [5, 3, 1, 1, 2]);

export const targetArb: fc.Arbitrary<Target> = fc.record({
  r: regionIndexArb,
  o: offsetArb,
  n: weightedInt(1, [6, 3, 1, 1]),
  span: weighted<Target['span']>([['pages', 6], ['region', 6], ['rest', 1], ['pmd', 1]]),
  near: nearArb,
});

/** A target that is a single page (loads, stores, copies). */
export const pageTargetArb: fc.Arbitrary<Target> = fc.record({
  r: regionIndexArb,
  o: offsetArb,
  n: fc.constant(1),
  span: fc.constant<Target['span']>('pages'),
  near: nearArb,
});

/**
 * The workload's focus (see Focus): as drawn most often; a swapped-out page, a page-cache-only
 * page or the page below a stack otherwise (the layouts' start states are drawn for their fault
 * paths, and a race on such a path needs two threads meeting at that page). Shrinks to as drawn.
 */
export const focusArb: fc.Arbitrary<Focus> = fc.record({ r: regionIndexArb, o: offsetArb, at: weightedInt(0, [5, 2, 1, 1]) });

const bitOf = (mask: number, i: number): boolean => ((mask >> i) & 1) === 1;

/** The focus page as region index and offset (Focus.at resolved against the layout). */
export function focusPage(ctx: ResolveCtx): { r: number; o: number } {
  const { r, o, at } = ctx.focus;
  if (!at) return { r, o };
  for (let ri = 0; ri < ctx.regions.length; ri++) {
    const p = ctx.regions[ri]!;
    const d = p.draw;
    if (at === 3) {
      // A stack with room below it: the first region, or one not placed adjacent to the previous.
      if (d.kind === 'stack' && (ri === 0 || d.place !== 'adjacent')) return { r: ri, o: -1 };
      continue;
    }
    for (let i = 0; i < Math.min(p.pages, STATE_PAGES); i++) {
      if (at === 1 && (d.kind === 'anon' || d.kind === 'stack') && d.prot === 'rw' && bitOf(d.populated, i) && bitOf(d.swapped, i)) return { r: ri, o: i };
      if (at === 2 && d.kind === 'file' && !(bitOf(d.populated, i) && d.prot !== 'none') && bitOf(d.cached, i) &&
        d.offset + i < ctx.fileSizes[d.file % DATA_FILES.length]!) return { r: ri, o: i };
    }
  }
  return { r, o };
}

/** The target with the focus applied (near 1: the focus page; 2, 3: the page below, above it). */
function focused(t: Target, ctx: ResolveCtx): Target {
  if (t.near === 0) return t;
  const { r, o } = focusPage(ctx);
  if (t.near === 1) return { ...t, r, o };
  if (t.near === 4) {
    const p = ctx.regions[r % ctx.regions.length]!;
    const n = Math.min(p.pages, STATE_PAGES);
    for (let i = 0; i < n; i++) if (((p.draw.populated >> i) & 1) === 0) return { ...t, r, o: i };
    return { ...t, r, o };
  }
  // o within [-2, 3] counts from the region's start, [4, 7] from its end: step inside each scale.
  const d = t.near === 2 ? -1 : 1;
  const lo = o <= 3 ? -2 : 4;
  const hi = o <= 3 ? 3 : 7;
  return { ...t, r, o: Math.max(lo, Math.min(hi, o + d)) };
}

function regionOf(t: Target, ctx: ResolveCtx): Placed {
  return ctx.regions[focused(t, ctx).r % ctx.regions.length]!;
}

/** The page index a target's offset names. */
export function pageIndex(t0: Target, ctx: ResolveCtx): number {
  const t = focused(t0, ctx);
  const p = regionOf(t, ctx);
  return t.o <= 3 ? p.at + t.o : p.at + p.pages + (t.o - 6);
}

/** The byte range [addr, addr + len) a target names. */
export function rangeOf(t0: Target, ctx: ResolveCtx): { addr: number; len: number } {
  const t = focused(t0, ctx);
  const p = regionOf(t, ctx);
  switch (t.span) {
    case 'region':
      return { addr: page(p.at), len: p.pages * PAGE };
    case 'rest': {
      const first = pageIndex(t, ctx);
      return { addr: page(first), len: Math.max(1, p.at + p.pages - first) * PAGE };
    }
    case 'pmd': {
      const first = Math.floor(pageIndex(t, ctx) / PMD_PAGES) * PMD_PAGES;
      return { addr: page(first), len: PMD_PAGES * PAGE };
    }
    default:
      return { addr: page(pageIndex(t, ctx)), len: t.n * PAGE };
  }
}

/** Free space after the layout: slot i (a few pages each), or a free 2 MiB-aligned PMD. */
function freeAddr(ctx: ResolveCtx, slot: number, pmd: boolean): number {
  if (pmd) return page((Math.ceil((ctx.end + 1) / PMD_PAGES) + slot) * PMD_PAGES);
  return page(ctx.end + 2 + 6 * slot);
}

const valueArb = fc.integer({ min: 1, max: 999 });
const protArb = weighted<ProtName>([['rw', 4], ['r', 3], ['none', 1]]);
const pidArb = weightedInt(0, [4, 2, 1]);
const pidOf = (i: number, ctx: ResolveCtx): number => ctx.pids[i % ctx.pids.length]!;

// --- the table -------------------------------------------------------------------------------

const load = opKind<{ t: Target }>({
  name: 'load', weight: 14,
  draw: fc.record({ t: pageTargetArb }),
  resolve: ({ t }, ctx) => ({ op: 'load', pid: ctx.pid, addr: page(pageIndex(t, ctx)) }),
});

const store = opKind<{ t: Target; v: number }>({
  name: 'store', weight: 14,
  draw: fc.record({ t: pageTargetArb, v: valueArb }),
  resolve: ({ t, v }, ctx) => ({ op: 'store', pid: ctx.pid, addr: page(pageIndex(t, ctx)), value: v }),
});

type MapKind = 'anon' | 'shmem' | 'file' | 'stack' | 'dev';
interface MmapDraw {
  t: Target; free: boolean; slot: number; kind: MapKind; shared: boolean; prot: ProtName;
  how: 'fixed' | 'noreplace' | 'hint'; file: number; offset: number;
}
const mmap = opKind<MmapDraw>({
  name: 'mmap', weight: 5,
  draw: fc.record({
    t: targetArb, free: chance(0.3), slot: weightedInt(0, [3, 1]),
    kind: weighted<MapKind>([['anon', 6], ['file', 3], ['stack', 1], ['shmem', 1], ['dev', 1]]),
    shared: chance(0.4), prot: weighted<ProtName>([['rw', 6], ['r', 2], ['none', 1]]),
    how: weighted<MmapDraw['how']>([['fixed', 6], ['noreplace', 2], ['hint', 1]]),
    file: fc.integer({ min: 0, max: 7 }), offset: weightedInt(0, [4, 1, 1]),
  }),
  resolve(d, ctx) {
    const { addr, len } = d.free ? { addr: freeAddr(ctx, d.slot, d.t.span === 'pmd'), len: (d.t.span === 'pmd' ? PMD_PAGES : d.t.n) * PAGE } : rangeOf(d.t, ctx);
    const anonymous = d.kind === 'anon' || d.kind === 'shmem' || d.kind === 'stack';
    const file = d.kind === 'file' ? DATA_FILES[d.file % DATA_FILES.length] : d.kind === 'dev' ? DEVICES[d.file % DEVICES.length] : undefined;
    const shared = d.kind === 'shmem' || (!anonymous && d.shared) || isPfnmap(file);
    const flags: MmapFlags = {
      shared, anonymous, fixed: d.how === 'fixed', growsdown: d.kind === 'stack',
      ...(d.how === 'noreplace' ? { noreplace: true } : {}),
    };
    return {
      op: 'mmap', pid: ctx.pid, addr, len, prot: protOf(d.prot), flags,
      ...(file !== undefined ? { file, offset: (d.kind === 'dev' ? 0 : d.offset) * PAGE } : {}),
    };
  },
});

const munmap = opKind<{ t: Target }>({
  name: 'munmap', weight: 5,
  draw: fc.record({ t: targetArb }),
  resolve: ({ t }, ctx) => ({ op: 'munmap', pid: ctx.pid, ...rangeOf(t, ctx) }),
});

const mprotect = opKind<{ t: Target; prot: ProtName }>({
  name: 'mprotect', weight: 4,
  draw: fc.record({ t: targetArb, prot: protArb }),
  resolve: ({ t, prot }, ctx) => ({ op: 'mprotect', pid: ctx.pid, ...rangeOf(t, ctx), prot: protOf(prot) as Prot }),
});

type RemapMode = 'shrink' | 'grow' | 'grow-maymove' | 'move' | 'move-fixed' | 'dontunmap' | 'dontunmap-fixed';
interface MremapDraw { t: Target; mode: RemapMode; delta: number; dst: Target; free: boolean; slot: number }
const mremap = opKind<MremapDraw>({
  name: 'mremap', weight: 5,
  draw: fc.record({
    t: targetArb,
    mode: weighted<RemapMode>([['move-fixed', 3], ['dontunmap', 3], ['shrink', 2], ['grow', 2], ['grow-maymove', 2], ['move', 1], ['dontunmap-fixed', 2]]),
    delta: weightedInt(1, [3, 1]), dst: targetArb, free: chance(0.5), slot: weightedInt(0, [3, 1]),
  }),
  resolve(d, ctx) {
    const { addr, len } = rangeOf(d.t, ctx);
    const pmd = d.t.span === 'pmd';
    const dst = (): number => (d.free ? freeAddr(ctx, d.slot, pmd) : pmd ? rangeOf({ ...d.dst, span: 'pmd' }, ctx).addr : rangeOf(d.dst, ctx).addr);
    const base = { op: 'mremap' as const, pid: ctx.pid, oldAddr: addr, oldLen: len };
    switch (d.mode) {
      case 'shrink':
        return { ...base, newLen: Math.max(PAGE, len - d.delta * PAGE), flags: { maymove: false, fixed: false, dontunmap: false } };
      case 'grow':
        return { ...base, newLen: len + d.delta * PAGE, flags: { maymove: false, fixed: false, dontunmap: false } };
      case 'grow-maymove':
        return { ...base, newLen: len + d.delta * PAGE, flags: { maymove: true, fixed: false, dontunmap: false } };
      case 'move':
        return { ...base, newLen: len, flags: { maymove: true, fixed: false, dontunmap: false } };
      case 'move-fixed':
        return { ...base, newLen: len, flags: { maymove: true, fixed: true, dontunmap: false }, newAddr: dst() };
      case 'dontunmap':
        return { ...base, newLen: len, flags: { maymove: true, fixed: false, dontunmap: true } };
      case 'dontunmap-fixed':
        return { ...base, newLen: len, flags: { maymove: true, fixed: true, dontunmap: true }, newAddr: dst() };
    }
  },
});

const madvise = opKind<{ t: Target }>({
  name: 'madvise', weight: 3,
  draw: fc.record({ t: targetArb }),
  resolve: ({ t }, ctx) => ({ op: 'madvise', pid: ctx.pid, ...rangeOf(t, ctx), advice: 'dontneed' }),
});

const mbind = opKind<{ t: Target; policy: number }>({
  name: 'mbind', weight: 2,
  draw: fc.record({ t: targetArb, policy: fc.integer({ min: 0, max: POLICIES.length - 1 }) }),
  resolve: ({ t, policy }, ctx) => ({ op: 'mbind', pid: ctx.pid, ...rangeOf(t, ctx), policy: POLICIES[policy]! }),
});

const getMempolicy = opKind<{ t: Target }>({
  name: 'get_mempolicy', weight: 1,
  draw: fc.record({ t: pageTargetArb }),
  resolve: ({ t }, ctx) => ({ op: 'get_mempolicy', pid: ctx.pid, addr: page(pageIndex(t, ctx)) }),
});

const fork = opKind<Record<string, never>>({
  name: 'fork', weight: 3,
  draw: fc.constant({}),
  resolve: (_d, ctx) => ({ op: 'fork', pid: ctx.pid }),
});

/** exit(): kept only as the last operation of a thread (workload.ts). */
const exit = opKind<Record<string, never>>({
  name: 'exit', weight: 1,
  draw: fc.constant({}),
  resolve: (_d, ctx) => ({ op: 'exit', pid: ctx.pid }),
});

const filePageArb = weightedInt(0, [3, 3, 2, 2, 1, 1, 1]);
const pread = opKind<{ file: number; page: number }>({
  name: 'pread', weight: 2,
  draw: fc.record({ file: fc.integer({ min: 0, max: DATA_FILES.length - 1 }), page: filePageArb }),
  resolve: ({ file, page: p }, ctx) => ({ op: 'pread', pid: ctx.pid, file: DATA_FILES[file]!, page: p }),
});

const pwrite = opKind<{ file: number; page: number; v: number }>({
  name: 'pwrite', weight: 2,
  draw: fc.record({ file: fc.integer({ min: 0, max: DATA_FILES.length - 1 }), page: filePageArb, v: valueArb }),
  resolve: ({ file, page: p, v }, ctx) => ({ op: 'pwrite', pid: ctx.pid, file: DATA_FILES[file]!, page: p, value: v }),
});

/**
 * close(2) of a descriptor: the file (or device) that region r maps, or a data file when region r
 * maps none. The mappings keep their own references (vma->vm_file), so the struct file lives on
 * until the last of them goes (munmap, exit, a split's copy dropped): the last fput then comes from
 * that path, not from close — the lifetime a fault that pins the file for I/O has to respect. Later
 * calls on the descriptor (pread, pwrite, O_DIRECT, ioctl, a second close) get -EBADF.
 */
export const CLOSE_OP = opKind<{ r: number; file: number }>({
  name: 'close', weight: 1,
  draw: fc.record({ r: regionIndexArb, file: fc.integer({ min: 0, max: DATA_FILES.length - 1 }) }),
  resolve: ({ r, file }, ctx) => {
    const p = ctx.regions[r % ctx.regions.length]!;
    return { op: 'close', pid: ctx.pid, file: regionFile(p.draw) ?? DATA_FILES[file]! };
  },
});

const procMemWrite = opKind<{ target: number; t: Target; v: number }>({
  name: 'proc_mem_write', weight: 2,
  draw: fc.record({ target: pidArb, t: pageTargetArb, v: valueArb }),
  resolve: ({ target, t, v }, ctx) => ({ op: 'proc_mem_write', pid: ctx.pid, target: pidOf(target, ctx), addr: page(pageIndex(t, ctx)), value: v }),
});

const readMaps = opKind<{ target: number }>({
  name: 'read_maps', weight: 1,
  draw: fc.record({ target: pidArb }),
  resolve: ({ target }, ctx) => ({ op: 'read_maps', pid: ctx.pid, target: pidOf(target, ctx) }),
});

const readSmaps = opKind<{ target: number }>({
  name: 'read_smaps', weight: 2,
  draw: fc.record({ target: pidArb }),
  resolve: ({ target }, ctx) => ({ op: 'read_smaps', pid: ctx.pid, target: pidOf(target, ctx) }),
});

const uffdRegister = opKind<{ t: Target; wp: boolean }>({
  name: 'uffd_register', weight: 1,
  draw: fc.record({ t: targetArb, wp: chance(0.25) }),
  resolve: ({ t, wp }, ctx) => ({ op: 'uffd_register', pid: ctx.pid, ...rangeOf(t, ctx), mode: wp ? 'wp' : 'missing' }),
});

const uffdUnregister = opKind<{ t: Target }>({
  name: 'uffd_unregister', weight: 2,
  draw: fc.record({ t: targetArb }),
  resolve: ({ t }, ctx) => ({ op: 'uffd_unregister', pid: ctx.pid, ...rangeOf(t, ctx) }),
});

const uffdioCopy = opKind<{ t: Target; v: number }>({
  name: 'uffdio_copy', weight: 1,
  draw: fc.record({ t: pageTargetArb, v: valueArb }),
  resolve: ({ t, v }, ctx) => ({ op: 'uffdio_copy', pid: ctx.pid, dst: page(pageIndex(t, ctx)), value: v }),
});

const uffdioMove = opKind<{ src: Target; dst: Target }>({
  name: 'uffdio_move', weight: 1,
  draw: fc.record({ src: pageTargetArb, dst: pageTargetArb }),
  resolve: ({ src, dst }, ctx) => ({ op: 'uffdio_move', pid: ctx.pid, src: page(pageIndex(src, ctx)), dst: page(pageIndex(dst, ctx)) }),
});

/** read(2)/write(2) of one file page through O_DIRECT into/from user memory: GUP-fast pins the page across the I/O. */
const dioRead = opKind<{ file: number; page: number; t: Target }>({
  name: 'dio_read', weight: 2,
  draw: fc.record({ file: fc.integer({ min: 0, max: DATA_FILES.length - 1 }), page: filePageArb, t: pageTargetArb }),
  resolve: ({ file, page: p, t }, ctx) => ({ op: 'dio_read', pid: ctx.pid, file: DATA_FILES[file]!, page: p, addr: page(pageIndex(t, ctx)) }),
});

const dioWrite = opKind<{ file: number; page: number; t: Target }>({
  name: 'dio_write', weight: 2,
  draw: fc.record({ file: fc.integer({ min: 0, max: DATA_FILES.length - 1 }), page: filePageArb, t: pageTargetArb }),
  resolve: ({ file, page: p, t }, ctx) => ({ op: 'dio_write', pid: ctx.pid, file: DATA_FILES[file]!, page: p, addr: page(pageIndex(t, ctx)) }),
});

/** ioctl(KVM_CREATE_VM) on the KVM device (an MMU notifier registered on the caller's mm); on another device, -ENOTTY. */
const IOCTL_FILES = [KVM_DEVICE, KVM_DEVICE, KVM_DEVICE, ...DEVICES] as const;
const devIoctl = opKind<{ file: number }>({
  name: 'dev_ioctl', weight: 1,
  draw: fc.record({ file: fc.integer({ min: 0, max: IOCTL_FILES.length - 1 }) }),
  resolve: ({ file }, ctx) => ({ op: 'dev_ioctl', pid: ctx.pid, file: IOCTL_FILES[file]!, cmd: 'KVM_CREATE_VM' }),
});

/**
 * Every operation with its weight. Loads and stores (page faults: the subject) most; the
 * syscalls that change VMAs and page tables under a fault next; the rest less often. load is
 * first: shrinking an operation across kinds goes toward it.
 */
export const OP_TABLE: readonly AnyOpKind[] = [
  load, store, mmap, munmap, mprotect, mremap, madvise, mbind, getMempolicy, fork, exit,
  pread, pwrite, procMemWrite, readMaps, readSmaps, uffdRegister, uffdUnregister, uffdioCopy, uffdioMove,
  dioRead, dioWrite, devIoctl, CLOSE_OP,
];

/** One operation drawn from a table by weight. */
export function opArb(table: readonly AnyOpKind[] = OP_TABLE): fc.Arbitrary<OpDraw> {
  return fc.oneof(
    { withCrossShrink: true },
    ...table.map((k) => ({ weight: k.weight, arbitrary: k.draw.map((d): OpDraw => ({ kind: k.name, d })) })),
  );
}

/** Resolve a drawn operation (its entry looked up by name in the table). */
export function resolveOp(o: OpDraw, ctx: ResolveCtx, table: readonly AnyOpKind[] = OP_TABLE): ModelOp {
  const k = table.find((x) => x.name === o.kind);
  if (!k) throw new Error(`no operation "${o.kind}" in the table`);
  return k.resolve(o.d, ctx);
}
