/**
 * The abstract state of user-visible memory management: what user space can observe of its
 * address spaces. Pure data, frozen by immer; every transition is a pure function in actions/.
 *
 * Deliberately absent: page tables, locks, swap, the page cache as a cache. Reclaim, swap-out,
 * page-cache eviction, khugepaged's collapse of a regular file, swapoff and RCU callbacks are
 * stutter steps — they change nothing here (only smaps Rss, which the model allows to be anything
 * in a range); khugepaged's anonymous and shmem collapses are operations (khugepaged_collapse).
 */
import { freeze, produce, type Immutable } from 'immer';
import { PAGE_SIZE, type MemPolicy, type Prot, type UffdEvent, type UffdMode } from './ops.js';

export { PAGE_SIZE };

/** mmap_min_addr (kernel default 65536): no mapping is placed below it. */
export const MMAP_MIN_ADDR = 0x10000;
/** TASK_SIZE for x86-64 with 4-level paging. */
export const TASK_SIZE = 0x7ffffffff000;
/** Where the top-down allocator starts (the kernel's mmap_base, randomisation off). */
export const MMAP_BASE = 0x7f0000000000;
/** stack_guard_gap (mm/mmap.c): 256 pages kept free below a VM_GROWSDOWN VMA. */
export const STACK_GUARD_GAP = 256 * PAGE_SIZE;
/**
 * RLIMIT_STACK, scaled down to 256 pages (1 MiB): a VM_GROWSDOWN VMA grows only while its whole
 * size stays within it (mm/mmap.c acct_stack_growth); impl/ uses the same stand-in
 * (SIM_RLIMIT_STACK). The kernel has no other distance check below a stack.
 */
export const STACK_RLIMIT = 256 * PAGE_SIZE;

/**
 * A private anonymous page mapped to the shared zero page by a read fault: reads 0, is not
 * counted in Rss, but its PTE is not none (UFFDIO_COPY onto it gives -EEXIST).
 */
export const ZERO_PAGE = -1;

export interface VmaData {
  /** First byte, page aligned. */
  start: number;
  /** One past the last byte (exclusive), page aligned. */
  end: number;
  prot: Prot;
  /** VM_SHARED (MAP_SHARED) vs private (copy-on-write). */
  shared: boolean;
  /** VM_GROWSDOWN. */
  growsdown: boolean;
  /** Backing file (a shmem object for shared anonymous memory), or null for anonymous. */
  file: string | null;
  /**
   * vm_pgoff: the file page mapped at `start`. For anonymous VMAs, as in the kernel, the
   * virtual page number at creation (it decides whether neighbours merge after mremap).
   */
  pgoff: number;
  /** Userfaultfd registration of this VMA (VM_UFFD_MISSING / VM_UFFD_WP), or null. */
  uffd: UffdMode | null;
  /** A device mapping (VM_IO | VM_PFNMAP): pages come from the driver; never merges. */
  driver: boolean;
  /** vma->vm_policy; 'default' when none. */
  policy: MemPolicy;
  /** Identity of vma->anon_vma (null until the first COW/anonymous page); decides merging. */
  anonVma: number | null;
  /**
   * VM_ACCOUNT: private writable memory is charged at mmap (accountable_mapping), mprotect adds
   * it to a private mapping gaining write and takes it back from an anonymous one losing write
   * before it ever had an anon_vma. Part of vm_flags: it decides merging.
   */
  account: boolean;
  /**
   * Private pages of this VMA, keyed by virtual page number (addr / PAGE_SIZE): the process's
   * own copy (anonymous, or a COW-broken file page), or ZERO_PAGE.
   */
  pages: Record<number, number>;
}

export interface ProcessData {
  pid: number;
  /** Sorted by start, non-overlapping. */
  vmas: VmaData[];
  /**
   * The files this process has closed (close(2)); every other file of the state is open in it
   * (each process starts with all of them open, a forked child inherits its parent's table).
   * Absent: none closed.
   */
  closed?: string[];
}

export interface FileData {
  /** Written page contents by page index; a missing page within `size` reads 0. */
  pages: Record<number, number>;
  /** Size in pages (i_size rounded up): a mapped page at or beyond it gives SIGBUS. */
  size: number;
  /** A device whose pages come from its driver (mapping it gives a VM_PFNMAP VMA). */
  driver: boolean;
  /** The shmem object behind a shared anonymous mapping (shown as '/dev/zero (deleted)'). */
  shmem: boolean;
}

/**
 * A userfaultfd context, one per process (the monitor's fd). Registered ranges and their modes
 * live on the VMAs (vma->vm_userfaultfd_ctx, as in the kernel). Faults waiting for a page are
 * not state: a load/store on a missing page of a missing-mode range is simply not enabled until
 * UFFDIO_COPY/UFFDIO_MOVE fills it. All non-cooperative features (EVENT_FORK, EVENT_REMAP,
 * EVENT_REMOVE, EVENT_UNMAP) are on.
 */
export interface UffdCtxData {
  /** Unread non-cooperative events; while non-empty, ctx->mmap_changing is set (-EAGAIN). */
  events: UffdEvent[];
  /**
   * Events already read whose raising syscall has not returned yet: the kernel drops
   * ctx->mmap_changing only when the raising task runs again after the read woke it
   * (fs/userfaultfd.c: userfaultfd_event_wait_completion, atomic_dec after the wait), so
   * UFFDIO_COPY / MOVE may still return -EAGAIN meanwhile. Lowered by uffd_settle.
   */
  unsettled: number;
  /**
   * Per event (parallel to `events`), the syscall that raised it: events of one syscall are read in
   * the order it queued them; events of different syscalls in any order. A raising syscall waits
   * until its events are read (userfaultfd_event_wait_completion), so two unread events of
   * different syscalls come from calls both still in flight, which queue them on event_wqh only
   * after dropping mmap_lock (userfaultfd_unmap_complete, mremap_userfaultfd_complete, …) — in
   * an order that need not be the one in which they took effect. Filled in by spec.ts.
   */
  batches: number[];
  /** The last batch number given out. */
  lastBatch: number;
}

export interface MmStateData {
  processes: Record<number, ProcessData>;
  files: Record<string, FileData>;
  uffd: Record<number, UffdCtxData>;
  /** The pid fork picks canonically (the kernel may pick any free pid). */
  nextPid: number;
  nextAnonVma: number;
  nextShmem: number;
  /**
   * The kernel may fail allocations and reads (the scenario runs with fault injection, as under
   * memory pressure or a failing disk): each action's failure contract (Action.onFailure) applies —
   * the errors the kernel may then return and the partial effects it may leave. Without it the
   * model demands the success of every call that only an allocation or a read could fail.
   */
  mayFail: boolean;
}

export type Vma = Immutable<VmaData>;
export type Process = Immutable<ProcessData>;
export type FileState = Immutable<FileData>;
export type UffdCtx = Immutable<UffdCtxData>;
export type MmState = Immutable<MmStateData>;

// --- building an initial state ---

export interface VmaSpec {
  start: number;
  end: number;
  /** A Prot or a string like 'rw-' / 'r-x'; default 'rw-'. */
  prot?: Prot | string;
  shared?: boolean;
  growsdown?: boolean;
  file?: string;
  /** File page offset (default 0; for anonymous VMAs, start / PAGE_SIZE). */
  pgoff?: number;
  uffd?: UffdMode;
  policy?: MemPolicy;
  /** VM_ACCOUNT (default: private and writable, as mmap sets it). */
  account?: boolean;
  /** Private page contents keyed by page address (byte address of the page). */
  pages?: Record<number, number>;
}

export interface FileSpec {
  /** Page contents by page index (an array, or a sparse record). */
  pages?: readonly number[] | Record<number, number>;
  /** Size in pages; default: one past the highest page given, or 0. */
  size?: number;
  driver?: boolean;
}

export interface InitialSpec {
  processes?: ReadonlyArray<{ pid: number; vmas?: readonly VmaSpec[] }>;
  files?: Record<string, FileSpec>;
  /** MmStateData.mayFail (default false). */
  mayFail?: boolean;
}

export function parseProt(p: Prot | string): Prot {
  if (typeof p !== 'string') return { read: p.read, write: p.write, exec: p.exec };
  return { read: p.includes('r'), write: p.includes('w'), exec: p.includes('x') };
}

/** Build a starting state: processes with VMAs (merged only if given merged), files. */
export function initialState(spec: InitialSpec = {}): MmState {
  const files: Record<string, FileData> = {};
  for (const [name, f] of Object.entries(spec.files ?? {})) {
    const pages: Record<number, number> = {};
    let top = 0;
    if (f.pages) {
      const entries: Array<[string, number]> = Array.isArray(f.pages)
        ? (f.pages as readonly number[]).map((v, i) => [String(i), v])
        : Object.entries(f.pages as Record<number, number>);
      for (const [k, v] of entries) {
        pages[Number(k)] = v;
        top = Math.max(top, Number(k) + 1);
      }
    }
    files[name] = { pages, size: f.size ?? top, driver: f.driver ?? false, shmem: false };
  }
  const processes: Record<number, ProcessData> = {};
  let nextPid = 1;
  let nextAnonVma = 1;
  for (const p of spec.processes ?? []) {
    const vmas: VmaData[] = (p.vmas ?? []).map((v) => {
      const pages: Record<number, number> = {};
      for (const [a, val] of Object.entries(v.pages ?? {})) pages[Math.floor(Number(a) / PAGE_SIZE)] = val;
      const file = v.file ?? null;
      const hasPages = Object.keys(pages).length > 0;
      return {
        start: v.start,
        end: v.end,
        prot: parseProt(v.prot ?? 'rw-'),
        shared: v.shared ?? false,
        growsdown: v.growsdown ?? false,
        file,
        pgoff: v.pgoff ?? (file === null ? v.start / PAGE_SIZE : 0),
        uffd: v.uffd ?? null,
        driver: file !== null && (files[file]?.driver ?? false),
        policy: v.policy ?? 'default',
        anonVma: hasPages ? nextAnonVma++ : null,
        account: v.account ?? (!(v.shared ?? false) && parseProt(v.prot ?? 'rw-').write),
        pages,
      };
    });
    vmas.sort((a, b) => a.start - b.start);
    processes[p.pid] = { pid: p.pid, vmas };
    nextPid = Math.max(nextPid, p.pid + 1);
  }
  const uffd: Record<number, UffdCtxData> = {};
  for (const p of Object.values(processes)) {
    if (p.vmas.some((v) => v.uffd !== null)) uffd[p.pid] = newUffdCtx();
  }
  return freeze({ processes, files, uffd, nextPid, nextAnonVma, nextShmem: 1, mayFail: spec.mayFail ?? false }, true);
}

/** A fresh userfaultfd context (no events). */
export const newUffdCtx = (): UffdCtxData => ({ events: [], unsettled: 0, batches: [], lastBatch: 0 });

/** The state with mayFail set (a scenario's fault injection starts after its setup). */
export function withMayFail(s: MmState, mayFail: boolean): MmState {
  if (s.mayFail === mayFail) return s;
  return produce(s, (d) => {
    (d as MmStateData).mayFail = mayFail;
  });
}

// --- queries ---

export const pageOf = (addr: number): number => Math.floor(addr / PAGE_SIZE);
export const isAligned = (addr: number): boolean => addr % PAGE_SIZE === 0;
export const pageAlignUp = (n: number): number => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

export function findVma<V extends { start: number; end: number }>(vmas: readonly V[], addr: number): V | undefined {
  for (const v of vmas) {
    if (v.start <= addr && addr < v.end) return v;
    if (v.start > addr) return undefined;
  }
  return undefined;
}

export function findVmaIndex(vmas: ReadonlyArray<{ start: number; end: number }>, addr: number): number {
  return vmas.findIndex((v) => v.start <= addr && addr < v.end);
}

/** The file page index backing virtual page `page` of a file VMA. */
export const filePageIndex = (v: { start: number; pgoff: number }, page: number): number =>
  v.pgoff + page - v.start / PAGE_SIZE;

/** The shmem object name shown in /proc/pid/maps. */
export const SHMEM_MAPS_NAME = '/dev/zero (deleted)';

/**
 * Whether `file` is open in process `pid`'s descriptor table: a file of the state the process
 * has not closed (what fget finds; otherwise a call on the descriptor gives -EBADF).
 */
export function fdOpen(s: MmState | MmStateData, pid: number, file: string): boolean {
  if (!s.files[file]) return false;
  const p = s.processes[pid];
  return p === undefined || !(p.closed ?? []).includes(file);
}
