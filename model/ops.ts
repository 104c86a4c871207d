/**
 * The operations user space can perform on its address spaces, and their results.
 *
 * This is the contract between the kernel simulation (impl/, which records a history of
 * `ModelOp` invocations and `ModelResult` responses) and the abstract model (model/spec.ts,
 * which says which results are allowed). Keep it stable.
 *
 * Conventions:
 * - Addresses and lengths are plain numbers in bytes (PAGE_SIZE = 4096); the kernel's alignment
 *   rules apply (an unaligned `addr` where the kernel demands alignment gives -EINVAL).
 * - Memory holds one non-negative integer per page: `load(addr)` returns the value of addr's
 *   page, `store(addr, v)` sets it.
 * - Errors are negative errno values, as the kernel returns them.
 * - Kernel-internal work (reclaim, swap-out/in, page-cache eviction, khugepaged's collapse of a
 *   regular file, swapoff, RCU callbacks) has no op: it is a stutter step of the model and must
 *   change nothing an op here can observe (only smaps Rss may vary, within the allowed range). The
 *   one exception is khugepaged's collapse of anonymous memory or shmem, which populates every page
 *   of a PMD range (KhugepagedCollapseOp): the daemon records it in the history.
 */

export const PAGE_SIZE = 4096;

// --- errno (negative, as the kernel returns them) ---
export const EPERM = -1;
export const ENOENT = -2;
export const ESRCH = -3;
export const EIO = -5;
export const EBADF = -9;
export const EAGAIN = -11;
export const ENOMEM = -12;
export const EACCES = -13;
export const EFAULT = -14;
export const EBUSY = -16;
export const EEXIST = -17;
export const EINVAL = -22;
export const ENOTTY = -25;

export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  [EPERM]: 'EPERM',
  [ENOENT]: 'ENOENT',
  [ESRCH]: 'ESRCH',
  [EIO]: 'EIO',
  [EBADF]: 'EBADF',
  [EAGAIN]: 'EAGAIN',
  [ENOMEM]: 'ENOMEM',
  [EACCES]: 'EACCES',
  [EFAULT]: 'EFAULT',
  [EBUSY]: 'EBUSY',
  [EEXIST]: 'EEXIST',
  [EINVAL]: 'EINVAL',
  [ENOTTY]: 'ENOTTY',
};

export interface Prot {
  readonly read: boolean;
  readonly write: boolean;
  readonly exec: boolean;
}

export interface MmapFlags {
  /** MAP_SHARED (true) or MAP_PRIVATE (false). */
  readonly shared: boolean;
  /** MAP_ANONYMOUS; a shared anonymous mapping is backed by a fresh shmem object. */
  readonly anonymous: boolean;
  /** MAP_FIXED: replace whatever is mapped at addr. */
  readonly fixed: boolean;
  /** MAP_GROWSDOWN: a stack that an access just below it grows. */
  readonly growsdown: boolean;
  /** MAP_FIXED_NOREPLACE: like MAP_FIXED but -EEXIST if anything is mapped there. */
  readonly noreplace?: boolean;
}

export interface MremapFlags {
  readonly maymove: boolean;
  readonly fixed: boolean;
  readonly dontunmap: boolean;
}

export type UffdMode = 'missing' | 'wp';

/**
 * A memory policy as mbind(2) names it: 'default', 'local', 'interleave', 'interleave:0,1',
 * 'bind:0', 'bind:0,1', 'preferred:1'.
 */
export type MemPolicy = string;

/** Messages read from a userfaultfd (struct uffd_msg). */
export type UffdEvent =
  | { readonly type: 'pagefault'; readonly addr: number; readonly write: boolean }
  | { readonly type: 'fork'; readonly child: number }
  | { readonly type: 'remap'; readonly from: number; readonly to: number; readonly len: number }
  | { readonly type: 'remove'; readonly start: number; readonly end: number }
  | { readonly type: 'unmap'; readonly start: number; readonly end: number };

interface OpBase {
  /** The process performing the operation (its mm, for the memory ops). */
  readonly pid: number;
}

export interface MmapOp extends OpBase {
  readonly op: 'mmap';
  /** Hint (or the exact address with MAP_FIXED / MAP_FIXED_NOREPLACE); 0 = no hint. */
  readonly addr: number;
  readonly len: number;
  readonly prot: Prot;
  readonly flags: MmapFlags;
  /** File name for a file-backed mapping (absent with MAP_ANONYMOUS). */
  readonly file?: string;
  /** File offset in bytes (page aligned). */
  readonly offset?: number;
}
export interface MunmapOp extends OpBase { readonly op: 'munmap'; readonly addr: number; readonly len: number }
export interface MprotectOp extends OpBase {
  readonly op: 'mprotect';
  readonly addr: number;
  readonly len: number;
  readonly prot: Prot;
}
export interface MremapOp extends OpBase {
  readonly op: 'mremap';
  readonly oldAddr: number;
  readonly oldLen: number;
  readonly newLen: number;
  readonly flags: MremapFlags;
  /** Required with MREMAP_FIXED. */
  readonly newAddr?: number;
}
export interface MadviseOp extends OpBase {
  readonly op: 'madvise';
  readonly addr: number;
  readonly len: number;
  readonly advice: 'dontneed';
}
export interface MbindOp extends OpBase {
  readonly op: 'mbind';
  readonly addr: number;
  readonly len: number;
  readonly policy: MemPolicy;
}
/** get_mempolicy(..., addr, MPOL_F_ADDR). */
export interface GetMempolicyOp extends OpBase { readonly op: 'get_mempolicy'; readonly addr: number }
/** fork(): the child's pid is the result ({kind:'pid'}). */
export interface ForkOp extends OpBase { readonly op: 'fork' }
export interface ExitOp extends OpBase { readonly op: 'exit' }
/**
 * close(2) of the process's descriptor of `file` (every process starts with each scenario file
 * open; fork's child inherits the parent's table): ok, or -EBADF when it is not open. A mapping
 * of the file keeps working after the close.
 */
export interface CloseOp extends OpBase { readonly op: 'close'; readonly file: string }
/** A user-space read of one word at addr (a page fault if nothing is mapped yet). */
export interface LoadOp extends OpBase { readonly op: 'load'; readonly addr: number }
export interface StoreOp extends OpBase { readonly op: 'store'; readonly addr: number; readonly value: number }
/** pread(2) of one page of a file, by page index. */
export interface PreadOp extends OpBase { readonly op: 'pread'; readonly file: string; readonly page: number }
/** pwrite(2) of one page of a file, by page index (extends the file if beyond its end). */
export interface PwriteOp extends OpBase {
  readonly op: 'pwrite';
  readonly file: string;
  readonly page: number;
  readonly value: number;
}
/**
 * A write to /proc/<target>/mem at addr (FOLL_FORCE): may write a private read-only mapping by
 * breaking COW, never the file behind it.
 */
export interface ProcMemWriteOp extends OpBase {
  readonly op: 'proc_mem_write';
  readonly target: number;
  readonly addr: number;
  readonly value: number;
}
/**
 * read(2) of file page `page` into user memory at addr through an O_DIRECT descriptor: the page is
 * pinned (FOLL_PIN | FOLL_WRITE, as a store would fault it in) and the device writes the file's
 * contents into it. The result is the number of bytes read (PAGE_SIZE; 0 at or beyond EOF);
 * -EFAULT when the buffer is not writable user memory (no VMA — GUP does not grow stacks —, a
 * driver mapping, no PROT_WRITE, beyond the end of a file mapping).
 */
export interface DioReadOp extends OpBase {
  readonly op: 'dio_read'; readonly file: string; readonly page: number; readonly addr: number;
  /**
   * Set by the refinement only (never in a workload): the call completed while a racing mprotect
   * of its page ran, so its pin (the permission check: GUP's FOLL_WRITE) may have come before the
   * mprotect and the device's write after it — judged without the protection check.
   */
  readonly pinned?: boolean;
}
/**
 * write(2) of the user memory at addr to file page `page` through an O_DIRECT descriptor: the
 * page is pinned (FOLL_PIN, read only) and the device reads it. PAGE_SIZE, or -EFAULT when the
 * buffer is not readable user memory (no PROT_READ: GUP checks VM_READ).
 */
export interface DioWriteOp extends OpBase {
  readonly op: 'dio_write'; readonly file: string; readonly page: number; readonly addr: number;
  /** As DioReadOp.pinned (VM_READ checked at the pin, the device reads the page later). */
  readonly pinned?: boolean;
}
/**
 * ioctl(2) on a device file. 'KVM_CREATE_VM' on /dev/kvm…: a VM bound to the caller's address
 * space, which registers an MMU notifier on it (mmu_notifier_register: every VMA and rmap lock of
 * the mm taken at once); ok (the VM's descriptor is not modelled). -ENOTTY on a device without
 * that ioctl, -EBADF for a file that is not there.
 */
export interface DevIoctlOp extends OpBase { readonly op: 'dev_ioctl'; readonly file: string; readonly cmd: 'KVM_CREATE_VM' }
/** Read all of /proc/<target>/maps. */
export interface ReadMapsOp extends OpBase { readonly op: 'read_maps'; readonly target: number }
/** Read all of /proc/<target>/smaps. */
export interface ReadSmapsOp extends OpBase { readonly op: 'read_smaps'; readonly target: number }
/** UFFDIO_REGISTER on the process's userfaultfd (all non-cooperative features enabled). */
export interface UffdRegisterOp extends OpBase {
  readonly op: 'uffd_register';
  readonly addr: number;
  readonly len: number;
  readonly mode: UffdMode;
}
export interface UffdUnregisterOp extends OpBase {
  readonly op: 'uffd_unregister';
  readonly addr: number;
  readonly len: number;
}
/** UFFDIO_COPY of one page holding `value` to dst. */
export interface UffdioCopyOp extends OpBase { readonly op: 'uffdio_copy'; readonly dst: number; readonly value: number }
/** UFFDIO_MOVE of one page from src to dst. */
export interface UffdioMoveOp extends OpBase { readonly op: 'uffdio_move'; readonly src: number; readonly dst: number }
/** A non-blocking read(2) of one uffd_msg. */
export interface UffdReadEventOp extends OpBase { readonly op: 'uffd_read_event' }
/**
 * Not a system call: the history checker adds one for each non-cooperative event a read(2)
 * returned, spanning from that read to the return of the syscall that raised the event. It marks
 * where the raising task, woken by the read, lowered ctx->mmap_changing — and, for
 * UFFD_EVENT_REMOVE, zapped the range (madvise_dontneed_free zaps only after userfaultfd_remove
 * has waited for the read).
 */
export interface UffdSettleOp extends OpBase { readonly op: 'uffd_settle'; readonly event: UffdEvent }

/**
 * Not a system call: khugepaged's attempt to collapse the PMD-sized, PMD-aligned range at addr of
 * process pid's anonymous memory or shmem mapping into a THP (mm/khugepaged.c: collapse_huge_page,
 * collapse_file), recorded by the daemon. 'ok': collapsed — every page of the range is now
 * populated (a page that was never touched is a zeroed page of the THP: smaps counts it,
 * userfaultfd no longer sees it missing; for shmem, every hole of the object's file range);
 * -EAGAIN: not collapsed, nothing changed.
 */
export interface KhugepagedCollapseOp extends OpBase { readonly op: 'khugepaged_collapse'; readonly addr: number }

export type ModelOp =
  | KhugepagedCollapseOp
  | DioReadOp
  | DioWriteOp
  | DevIoctlOp
  | MmapOp
  | MunmapOp
  | MprotectOp
  | MremapOp
  | MadviseOp
  | MbindOp
  | GetMempolicyOp
  | ForkOp
  | ExitOp
  | CloseOp
  | LoadOp
  | StoreOp
  | PreadOp
  | PwriteOp
  | ProcMemWriteOp
  | ReadMapsOp
  | ReadSmapsOp
  | UffdRegisterOp
  | UffdUnregisterOp
  | UffdioCopyOp
  | UffdioMoveOp
  | UffdReadEventOp
  | UffdSettleOp;

export type OpName = ModelOp['op'];

/** One line of /proc/pid/maps. */
export interface MapsLine {
  readonly start: number;
  readonly end: number;
  /** 'rw-p', 'r-xs', … */
  readonly perms: string;
  /** File offset in bytes (0 for anonymous memory). */
  readonly offset: number;
  /** File name, '/dev/zero (deleted)' for shared anonymous memory, '' for private anonymous. */
  readonly name: string;
}

/** One entry of /proc/pid/smaps: the maps line and its resident set size in bytes. */
export interface SmapsEntry extends MapsLine {
  readonly rss: number;
}

export type Signal = 'SIGSEGV' | 'SIGBUS';

export type ModelResult =
  | { readonly kind: 'ok' }
  | { readonly kind: 'value'; readonly value: number }
  | { readonly kind: 'addr'; readonly addr: number }
  | { readonly kind: 'errno'; readonly errno: number }
  | { readonly kind: 'signal'; readonly sig: Signal }
  | { readonly kind: 'maps'; readonly lines: readonly MapsLine[] }
  | { readonly kind: 'smaps'; readonly entries: readonly SmapsEntry[] }
  | { readonly kind: 'pid'; readonly pid: number }
  | { readonly kind: 'event'; readonly event: UffdEvent }
  | { readonly kind: 'policy'; readonly policy: MemPolicy };

// --- result constructors ---
export const OK: ModelResult = Object.freeze({ kind: 'ok' });
export const value = (v: number): ModelResult => ({ kind: 'value', value: v });
export const addrResult = (a: number): ModelResult => ({ kind: 'addr', addr: a });
export const errno = (e: number): ModelResult => ({ kind: 'errno', errno: e });
export const signal = (sig: Signal): ModelResult => ({ kind: 'signal', sig });

// --- readable text ---

export const hex = (n: number): string => '0x' + n.toString(16);

export function size(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}K`;
  return String(n);
}

export function protString(p: Prot): string {
  return (p.read ? 'r' : '-') + (p.write ? 'w' : '-') + (p.exec ? 'x' : '-');
}

export function errnoName(e: number): string {
  return '-' + (ERRNO_NAMES[e] ?? String(-e));
}

function mmapFlagsString(f: MmapFlags): string {
  const parts = [f.anonymous ? 'anon' : 'file', f.shared ? 'shared' : 'private'];
  if (f.fixed) parts.push('fixed');
  if (f.noreplace) parts.push('noreplace');
  if (f.growsdown) parts.push('growsdown');
  return parts.join('|');
}

export function describeEvent(e: UffdEvent): string {
  switch (e.type) {
    case 'pagefault':
      return `pagefault(${hex(e.addr)}${e.write ? ', write' : ''})`;
    case 'fork':
      return `fork(P${e.child})`;
    case 'remap':
      return `remap(${hex(e.from)} -> ${hex(e.to)}, ${size(e.len)})`;
    case 'remove':
      return `remove(${hex(e.start)}-${hex(e.end)})`;
    case 'unmap':
      return `unmap(${hex(e.start)}-${hex(e.end)})`;
  }
}

/** "P1 mmap(0x10000, 8K, rw-, anon|private)" */
export function describeOp(op: ModelOp): string {
  const p = `P${op.pid} `;
  switch (op.op) {
    case 'mmap': {
      const file = op.file !== undefined ? `, ${op.file}@${hex(op.offset ?? 0)}` : '';
      return `${p}mmap(${hex(op.addr)}, ${size(op.len)}, ${protString(op.prot)}, ${mmapFlagsString(op.flags)}${file})`;
    }
    case 'munmap':
      return `${p}munmap(${hex(op.addr)}, ${size(op.len)})`;
    case 'mprotect':
      return `${p}mprotect(${hex(op.addr)}, ${size(op.len)}, ${protString(op.prot)})`;
    case 'mremap': {
      const fl = [op.flags.maymove && 'maymove', op.flags.fixed && 'fixed', op.flags.dontunmap && 'dontunmap']
        .filter(Boolean)
        .join('|');
      const na = op.newAddr !== undefined ? `, ${hex(op.newAddr)}` : '';
      return `${p}mremap(${hex(op.oldAddr)}, ${size(op.oldLen)}, ${size(op.newLen)}, ${fl || '0'}${na})`;
    }
    case 'madvise':
      return `${p}madvise(${hex(op.addr)}, ${size(op.len)}, ${op.advice})`;
    case 'mbind':
      return `${p}mbind(${hex(op.addr)}, ${size(op.len)}, ${op.policy})`;
    case 'get_mempolicy':
      return `${p}get_mempolicy(${hex(op.addr)})`;
    case 'fork':
      return `${p}fork()`;
    case 'exit':
      return `${p}exit()`;
    case 'close':
      return `${p}close(${op.file})`;
    case 'load':
      return `${p}load(${hex(op.addr)})`;
    case 'store':
      return `${p}store(${hex(op.addr)}, ${op.value})`;
    case 'pread':
      return `${p}pread(${op.file}, page ${op.page})`;
    case 'pwrite':
      return `${p}pwrite(${op.file}, page ${op.page}, ${op.value})`;
    case 'proc_mem_write':
      return `${p}write(/proc/${op.target}/mem @${hex(op.addr)}, ${op.value})`;
    case 'read_maps':
      return `${p}read(/proc/${op.target}/maps)`;
    case 'read_smaps':
      return `${p}read(/proc/${op.target}/smaps)`;
    case 'uffd_register':
      return `${p}uffd_register(${hex(op.addr)}, ${size(op.len)}, ${op.mode})`;
    case 'uffd_unregister':
      return `${p}uffd_unregister(${hex(op.addr)}, ${size(op.len)})`;
    case 'uffdio_copy':
      return `${p}UFFDIO_COPY(${hex(op.dst)}, ${op.value})`;
    case 'uffdio_move':
      return `${p}UFFDIO_MOVE(${hex(op.src)} -> ${hex(op.dst)})`;
    case 'uffd_read_event':
      return `${p}uffd_read_event()`;
    case 'uffd_settle':
      return `${p}(the syscall that raised ${describeEvent(op.event)} returns)`;
    case 'dev_ioctl':
      return `${p}ioctl(${op.file}, ${op.cmd})`;
    case 'dio_read':
      return `${p}read(O_DIRECT ${op.file}, page ${op.page} → ${hex(op.addr)})`;
    case 'dio_write':
      return `${p}write(O_DIRECT ${op.file}, page ${op.page} ← ${hex(op.addr)})`;
    case 'khugepaged_collapse':
      return `${p}(khugepaged collapses ${hex(op.addr)}, 2M)`;
  }
}

export function mapsLineString(l: MapsLine): string {
  const name = l.name ? ` ${l.name}` : '';
  return `${l.start.toString(16)}-${l.end.toString(16)} ${l.perms} ${l.offset.toString(16).padStart(8, '0')}${name}`;
}

export function describeResult(r: ModelResult): string {
  switch (r.kind) {
    case 'ok':
      return 'ok';
    case 'value':
      return String(r.value);
    case 'addr':
      return hex(r.addr);
    case 'errno':
      return errnoName(r.errno);
    case 'signal':
      return r.sig;
    case 'maps':
      return `[${r.lines.map(mapsLineString).join('; ')}]`;
    case 'smaps':
      return `[${r.entries.map((e) => `${mapsLineString(e)} Rss:${e.rss / 1024}kB`).join('; ')}]`;
    case 'pid':
      return `P${r.pid}`;
    case 'event':
      return describeEvent(r.event);
    case 'policy':
      return r.policy;
  }
}

/** "P1 mmap(0x10000, 8K, rw-, anon|private) = 0x10000"; "… = ?" while pending. */
export function describeCall(op: ModelOp, result?: ModelResult): string {
  return `${describeOp(op)} = ${result === undefined ? '?' : describeResult(result)}`;
}

/** The processes an operation reads or changes (for partitioning a history). */
export function opPids(op: ModelOp): readonly number[] {
  if (op.op === 'proc_mem_write' || op.op === 'read_maps' || op.op === 'read_smaps') {
    return op.target === op.pid ? [op.pid] : [op.pid, op.target];
  }
  return [op.pid];
}

/** Structural equality of results (maps lines compared field by field). */
export function resultsEqual(a: ModelResult, b: ModelResult): boolean {
  return deepEqual(a, b);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
