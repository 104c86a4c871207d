/**
 * Kernel: include/linux/mm_types.h, include/linux/mm_types_task.h, include/linux/rmap.h,
 * include/linux/fs.h, include/linux/swap.h, include/linux/mempolicy.h,
 * include/linux/userfaultfd_k.h — the structures the simulated mm works on, with the kernel's
 * field names. Only fields the simulated paths read or write are present.
 *
 * Left out: struct page (folios are single pages), per-CPU counters, hugetlb, NUMA nodes (a
 * mempolicy is an opaque refcounted object the allocator reads), the p4d/pud levels (the pgd maps
 * PMD-sized regions straight to PMD entries), THP (a PMD entry is none or a PTE table).
 */
import type { Task } from '../../rt/task.js';
import { spinlock_t } from '../../sync/spinlock.js';
import { rw_semaphore } from '../../sync/rwsem.js';
import { refcount_t } from '../../sync/refcount.js';
import { rcuwait, wait_queue_head_t } from '../../sync/wait.js';
import type { lockdep_map } from '../../sync/lockdep.js';
import { PAGE_SHIFT, PTRS_PER_PTE } from './mm_flags.js';

let nextId = 1;
/** Simulation ids are per process, reset by sim_reset_ids() at the start of every run. */
export function sim_reset_ids(): void {
  nextId = 1;
}
export function sim_next_id(): number {
  return nextId++;
}

export const hex = (n: number): string => '0x' + n.toString(16);

// ---------------------------------------------------------------------------------------------
// Page-table entries (arch/x86/include/asm/pgtable_types.h, include/linux/swapops.h)

/** A swap entry (swp_entry_t): one swap device (type 0) — the slot offset is the value. */
export type swp_entry_t = number;

export type pte_t =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'present';
      readonly folio: folio;
      readonly write: boolean;
      readonly dirty: boolean;
      readonly young: boolean;
      /** pte_special: a driver PFN mapping (VM_PFNMAP), not refcounted. */
      readonly special: boolean;
      readonly uffd_wp: boolean;
      /**
       * _PAGE_PROTNONE: the entry of a VMA whose vm_page_prot grants no access (PROT_NONE):
       * pte_present() is true, but the MMU sees it not present and faults (set by set_pte_at
       * and change_pte_range from the VMA's vm_page_prot; absent = false).
       */
      readonly protnone?: boolean;
    }
  | { readonly kind: 'swap'; readonly entry: swp_entry_t; readonly exclusive: boolean; readonly uffd_wp: boolean }
  | { readonly kind: 'marker'; readonly marker: 'uffd_wp' | 'guard' | 'poison' }
  | { readonly kind: 'migration'; readonly folio: folio; readonly write: boolean };

export const __pte_none: pte_t = Object.freeze({ kind: 'none' });

/**
 * A PTE table (struct ptdesc): PTRS_PER_PTE entries and, with split PTE locks, its own PTL.
 * As in the kernel, a table does not know the address it maps: that is the PMD entry it is
 * installed in now (pmd_t.index), which changes when mremap's move_normal_pmd moves the whole
 * table to another PMD. Whoever needs a PTE's address starts from the PMD, never the table.
 */
export class pte_table {
  readonly name: string;
  readonly entries: pte_t[];
  /** The split page-table lock (USE_SPLIT_PTE_PTLOCKS). */
  readonly ptl: spinlock_t;
  /** Freed to the page allocator (directly or after an RCU grace period). */
  freed = false;
  constructor() {
    this.name = `pte_table#${sim_next_id()}`;
    this.entries = new Array<pte_t>(PTRS_PER_PTE).fill(__pte_none);
    this.ptl = new spinlock_t(`ptl(${this.name})`, 'ptl');
  }
}

/** A PMD entry slot: none, or a PTE table (THP PMD mappings are left out). */
export class pmd_t {
  table: pte_table | null = null;
  constructor(readonly index: number) {}
  get name(): string {
    return `pmd#${this.index}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Memory objects

/** struct folio: one page of memory, in the page cache, the swap cache, or anonymous. */
export class folio {
  readonly name: string;
  /** The page's contents: one value per page, as in the model. */
  data = 0;
  /** PG_locked: the folio lock (impl/sync/bitlock), -1 when unlocked, else the owner task id. */
  lockOwner = -1;
  uptodate = false;
  dirty = false;
  writeback = false;
  /** PG_swapbacked: anonymous or shmem. */
  swapbacked = false;
  /** PG_swapcache: in the swap cache at `swap`. */
  swapcache = false;
  /** PG_anon_exclusive of the (single) page. */
  anon_exclusive = false;
  /** folio->mapping: an anon_vma for anonymous folios, an address_space for file folios. */
  mapping: anon_vma | address_space | null = null;
  /** folio->index: page offset in the file, or the linear page index for anon. */
  index = 0;
  /** folio->swap (when swapcache). */
  swap: swp_entry_t = 0;
  readonly _refcount: refcount_t;
  /** Number of PTEs that map this folio (folio_mapcount). */
  _mapcount = 0;
  /** Driver memory (VM_PFNMAP): never freed, not refcounted through mappings. */
  readonly special: boolean;
  /** On an LRU list (reclaim can find it). */
  lru = false;
  constructor(special = false) {
    this.name = `folio#${sim_next_id()}`;
    this._refcount = new refcount_t(1);
    this.special = special;
  }
}

export function folio_test_anon(f: folio): boolean {
  return f.mapping instanceof anon_vma;
}

/** struct anon_vma (include/linux/rmap.h). */
export class anon_vma {
  readonly name: string;
  root: anon_vma;
  readonly rwsem: rw_semaphore;
  readonly refcount: refcount_t;
  /** Count of child anon_vmas and VMAs which point to this anon_vma (reuse heuristics). */
  degree = 1;
  num_children = 0;
  num_active_vmas = 0;
  parent: anon_vma;
  /** The interval tree: every anon_vma_chain linking a VMA to this anon_vma. */
  readonly rb_root = new Set<anon_vma_chain>();
  constructor() {
    this.name = `anon_vma#${sim_next_id()}`;
    this.root = this;
    this.parent = this;
    this.rwsem = new rw_semaphore(`${this.name}->rwsem`, 'anon_vma->rwsem');
    this.refcount = new refcount_t(1);
  }
}

/** struct anon_vma_chain: links a VMA to each anon_vma its pages may belong to. */
export class anon_vma_chain {
  constructor(readonly vma: vm_area_struct, readonly anon_vma: anon_vma) {}
}

/** struct inode (only what the page cache needs): the file's on-disk contents. */
export class inode {
  readonly name: string;
  /** i_size in pages. */
  i_size: number;
  /** The backing store: the file's contents per page (what a read from disk returns). */
  readonly disk: number[];
  /**
   * shmem only (null for other files): the pages the object has — in the page cache or swapped
   * out (its xarray holds a folio or a swap entry). A missing-mode userfault fires only for the
   * others (shmem_get_folio_gfp), and UFFDIO_COPY gives -EEXIST on these
   * (shmem_add_to_page_cache). Pages are never taken away (no hole punch here).
   */
  sim_shmem_present: Set<number> | null = null;
  readonly i_rwsem: rw_semaphore;
  constructor(name: string, pages: number[]) {
    this.name = name;
    this.disk = [...pages];
    this.i_size = pages.length;
    this.i_rwsem = new rw_semaphore(`${name}->i_rwsem`, 'i_rwsem');
  }
}

/** struct address_space: the page cache of a file and its reverse map (i_mmap). */
export class address_space {
  readonly name: string;
  readonly host: inode;
  /** i_pages (the XArray): page index → folio. */
  readonly i_pages = new Map<number, folio>();
  /** i_mmap: every VMA mapping this file. */
  readonly i_mmap = new Set<vm_area_struct>();
  readonly i_mmap_rwsem: rw_semaphore;
  readonly invalidate_lock: rw_semaphore;
  /** The i_pages xa_lock. */
  readonly i_pages_lock: spinlock_t;
  constructor(host: inode) {
    this.host = host;
    this.name = `${host.name}->i_mapping`;
    this.i_mmap_rwsem = new rw_semaphore(`${host.name}->i_mmap_rwsem`, 'i_mmap_rwsem');
    this.invalidate_lock = new rw_semaphore(`${host.name}->invalidate_lock`, 'invalidate_lock');
    this.i_pages_lock = new spinlock_t(`${host.name}->i_pages`, 'i_pages');
  }
}

/**
 * struct file_operations (include/linux/fs.h): only ->mmap. A file without one maps as a regular
 * file (generic_file_mmap: generic_file_vm_ops); a character device's ->mmap sets up its VMA
 * (impl/drivers/misc_device.ts). Locks: mmap_write_lock held, the new VMA write-locked.
 */
export interface file_operations {
  readonly name: string;
  mmap?: (f: file, vma: vm_area_struct) => Task<number>;
}

/** struct file. */
export class file {
  readonly name: string;
  readonly f_mapping: address_space;
  readonly f_count: refcount_t;
  /** file->f_op (null: a regular file, generic_file_mmap). */
  f_op: file_operations | null = null;
  constructor(readonly f_inode: inode, mapping: address_space) {
    this.name = `file(${f_inode.name})`;
    this.f_mapping = mapping;
    this.f_count = new refcount_t(1);
  }
}

/** struct mempolicy: refcounted; the fault path's allocator reads vma->vm_policy. */
export class mempolicy {
  readonly name: string;
  readonly refcnt: refcount_t;
  constructor(readonly mode: string) {
    this.name = `mempolicy#${sim_next_id()}(${mode})`;
    this.refcnt = new refcount_t(1);
  }
}

// ---------------------------------------------------------------------------------------------
// VMAs

/** struct vm_operations_struct: what a file system or driver provides. */
export interface vm_operations_struct {
  readonly name: string;
  fault?: (vmf: vm_fault) => Task<number>;
  /** ->map_pages: maps already-cached pages under RCU, never sleeps (fault-around). */
  map_pages?: (vmf: vm_fault, start_pgoff: number, end_pgoff: number) => Task<number>;
  page_mkwrite?: (vmf: vm_fault) => Task<number>;
  pfn_mkwrite?: (vmf: vm_fault) => Task<number>;
  open?: (vma: vm_area_struct) => void;
  close?: (vma: vm_area_struct) => void;
  /**
   * The driver declares its ->fault safe to run without the mmap_lock (under the VMA lock only).
   * The kernel's proxy for this is the existence of ->map_pages (vmf_can_call_fault).
   */
  readonly fault_safe_under_vma_lock?: boolean;
}

export class vm_area_struct {
  readonly name: string;
  vm_start: number;
  vm_end: number;
  /** Offset in PAGE_SIZE units (file offset, or the anon linear index base). */
  vm_pgoff: number;
  vm_flags: number;
  vm_page_prot: number;
  vm_mm: mm_struct;
  vm_file: file | null = null;
  vm_ops: vm_operations_struct | null = null;
  vm_private_data: unknown = null;
  anon_vma: anon_vma | null = null;
  readonly anon_vma_chain: anon_vma_chain[] = [];
  vm_policy: mempolicy | null = null;
  vm_userfaultfd_ctx: userfaultfd_ctx | null = null;
  anon_name: string | null = null;
  /** The VMA-lock sequence: write-locked iff vm_lock_seq == mm->mm_lock_seq. */
  vm_lock_seq = -1;
  /** 6.4–6.14: struct vma_lock { struct rw_semaphore lock; } */
  readonly vm_lock: rw_semaphore;
  /** 6.4–6.14: vma->detached. */
  detached = true;
  /** 6.15+: vm_refcnt (0 detached, 1 attached, 1+n readers, + VMA_LOCK_OFFSET while a writer excludes readers). */
  vm_refcnt = 0;
  /**
   * 6.15+ (CONFIG_DEBUG_LOCK_ALLOC): vma->vmlock_dep_map, lockdep's view of the refcount VMA
   * lock; made on first use (sim_vmlock_dep_map in impl/mm/mmap_lock.ts), kept for the object's
   * life (the same memory after SLAB_TYPESAFE_BY_RCU reuse).
   */
  vmlock_dep_map: lockdep_map | null = null;
  /**
   * Simulation bookkeeping, not a kernel field: holds taken inside vma_start_read and not yet
   * confirmed by its re-checks (they are not read locks; see sim_vma_lock_state). Kept on the
   * VMA, not in a module, so that a variant's copy of vma_start_read and the base's invariants
   * count the same holds.
   */
  sim_transient_readers = 0;
  constructor(mm: mm_struct, start: number, end: number, flags: number, pgoff: number) {
    this.vm_mm = mm;
    this.vm_start = start;
    this.vm_end = end;
    this.vm_flags = flags;
    this.vm_page_prot = flags;
    this.vm_pgoff = pgoff;
    const id = sim_next_id();
    this.name = `vma#${id}`;
    this.vm_lock = new rw_semaphore(`vma#${id}->vm_lock`, 'vma_lock');
  }
  toString(): string {
    return `${this.name}[${hex(this.vm_start)}-${hex(this.vm_end)}]`;
  }
}

/**
 * XA_ZERO_ENTRY (include/linux/xarray.h): a reserved entry. dup_mmap (6.8+) stores it over the
 * range of the VMA its copy failed at; the walks of exit_mmap stop there (xa_is_zero). A frozen
 * placeholder of no mm: writing to it throws, as dereferencing the kernel's (void *)0x406 oopses.
 */
export const XA_ZERO_ENTRY: vm_area_struct = ((): vm_area_struct => {
  const z = new vm_area_struct(null as unknown as mm_struct, 0, 0, 0, 0);
  (z as { name: string }).name = 'XA_ZERO_ENTRY';
  return Object.freeze(z) as vm_area_struct;
})();

/** VM_REFCNT_EXCLUDE_READERS_FLAG / VMA_LOCK_OFFSET (6.15+, include/linux/mm_types.h). */
export const VMA_LOCK_OFFSET = 0x40000000;
export const VMA_REF_LIMIT = VMA_LOCK_OFFSET - 1;

// ---------------------------------------------------------------------------------------------
// The address space

/** A maple-tree range [index, last] (inclusive, the node's pivots), as the tree stores it. */
export interface maple_range {
  readonly index: number;
  readonly last: number;
}

/**
 * A node of the VMA tree (maple_node): an immutable sorted array of VMAs and the range each
 * covers in the tree (the pivots: the tree's ranges, which may differ from vm_start/vm_end while
 * a writer is between changing a VMA and storing it).
 */
export class maple_node {
  readonly name: string;
  readonly ranges: readonly maple_range[];
  /**
   * Replaced by a writer (mte_set_node_dead: the node's parent points to itself): an RCU walker
   * that reads it restarts (ma_dead_node).
   */
  dead = false;
  constructor(readonly slots: readonly vm_area_struct[], ranges?: readonly maple_range[]) {
    this.name = `maple_node#${sim_next_id()}`;
    this.ranges = ranges ?? slots.map((v) => ({ index: v.vm_start, last: v.vm_end - 1 }));
  }
}

/** struct maple_tree (mm->mm_mt): the root pointer readers load with rcu_dereference. */
export class maple_tree {
  ma_root: maple_node;
  /** MT_FLAGS_USE_RCU: replaced nodes are freed through RCU (6.3+), else immediately. */
  in_rcu = true;
  constructor(readonly mm: mm_struct) {
    this.ma_root = new maple_node([]);
  }
}

export class mm_struct {
  readonly name: string;
  readonly mm_mt: maple_tree;
  readonly mmap_lock: rw_semaphore;
  /**
   * mm->mm_lock_seq: 6.4–6.12 an int bumped at write-unlock; 6.13+ a seqcount that is odd while
   * mmap_lock is write-locked. Either way vma->vm_lock_seq == mm_lock_seq means write-locked.
   */
  mm_lock_seq = 0;
  /** mm->page_table_lock: protects pmd population and anon_vma installation. */
  readonly page_table_lock: spinlock_t;
  /** The page tables: PMD index → PMD entry (upper levels left out). */
  readonly pgd = new Map<number, pmd_t>();
  readonly mm_users: refcount_t;
  readonly mm_count: refcount_t;
  /** The process owning this mm. */
  pid: number;
  map_count = 0;
  /** write_protect_seq: fork's COW write-protection, for GUP-fast. */
  write_protect_seq = 0;
  /** MMF_UNSTABLE (OOM reaper) — check_stable_address_space. */
  mmf_unstable = false;
  /** mm->tlb_flush_pending: batched TLB flushes of this mm in flight (impl/mm/mmu_gather.ts). */
  tlb_flush_pending = 0;
  /** 6.15+: rcuwait a writer draining VMA readers sleeps on. */
  vma_writer_waiting = -1;
  /** 6.15+: mm->vma_writer_wait, the rcuwait of a writer excluding VMA readers (__vma_start_write). */
  readonly vma_writer_wait = new rcuwait('mm->vma_writer_wait');
  /** RSS counters per type (MM_ANONPAGES, MM_FILEPAGES, MM_SWAPENTS). */
  readonly rss_stat = { MM_ANONPAGES: 0, MM_FILEPAGES: 0, MM_SWAPENTS: 0 };
  /** Dead: exit_mmap ran. */
  dead = false;
  constructor(pid: number) {
    this.pid = pid;
    this.name = `mm(${pid})`;
    this.mm_mt = new maple_tree(this);
    this.mmap_lock = new rw_semaphore(`mm(${pid})->mmap_lock`, 'mmap_lock');
    this.page_table_lock = new spinlock_t(`mm(${pid})->page_table_lock`, 'page_table_lock');
    this.mm_users = new refcount_t(1);
    this.mm_count = new refcount_t(1);
  }
}

// ---------------------------------------------------------------------------------------------
// userfaultfd (fs/userfaultfd.c)

export interface uffd_msg {
  readonly event: 'pagefault' | 'fork' | 'remap' | 'remove' | 'unmap';
  readonly address: number;
  readonly write?: boolean;
  readonly child_pid?: number;
  readonly from?: number;
  readonly to?: number;
  readonly len?: number;
  /** UFFD_EVENT_REMOVE / UFFD_EVENT_UNMAP: arg.remove.start / arg.remove.end. */
  readonly start?: number;
  readonly end?: number;
}

export class userfaultfd_ctx {
  readonly name: string;
  /** Non-zero while a non-cooperative event is being delivered: ioctls return -EAGAIN. */
  mmap_changing = 0;
  released = false;
  readonly refcount: refcount_t;
  /** The wait queues of fs/userfaultfd.c (used by impl/mm/userfaultfd.ts). */
  readonly fault_pending_wqh = new wait_queue_head_t('fault_pending_wqh');
  readonly fault_wqh = new wait_queue_head_t('fault_wqh');
  readonly event_wqh = new wait_queue_head_t('event_wqh');
  readonly fd_wqh = new wait_queue_head_t('fd_wqh');
  /** The wait queues' spinlock (fault_pending_wqh.lock; event_wqh.lock shares it here). */
  readonly wqh_lock: spinlock_t;
  /** 6.8+: ctx->map_changing_lock, taken for write around mmap_changing increments. */
  readonly map_changing_lock: rw_semaphore;
  constructor(readonly mm: mm_struct, readonly features: number) {
    this.name = `uffd_ctx#${sim_next_id()}`;
    this.refcount = new refcount_t(1);
    this.wqh_lock = new spinlock_t(`${this.name}->fault_pending_wqh.lock`, 'uffd_wqh_lock');
    this.map_changing_lock = new rw_semaphore(`${this.name}->map_changing_lock`, 'map_changing_lock');
  }
}

// ---------------------------------------------------------------------------------------------
// The fault descriptor

export interface pt_regs {
  readonly user: boolean;
  /** The kernel-mode fault has an exception-table fixup (copy_from_user). */
  readonly has_fixup?: boolean;
}

/** struct vm_fault (include/linux/mm.h). */
export class vm_fault {
  readonly vma: vm_area_struct;
  readonly address: number;
  readonly real_address: number;
  readonly pgoff: number;
  flags: number;
  pmd: pmd_t | null = null;
  /** The mapped PTE table and index (vmf->pte); null when not mapped. */
  pte: pte_table | null = null;
  orig_pte: pte_t = __pte_none;
  ptl: spinlock_t | null = null;
  page: folio | null = null;
  cow_page: folio | null = null;
  prealloc_pte: pte_table | null = null;
  constructor(vma: vm_area_struct, address: number, flags: number) {
    this.vma = vma;
    this.real_address = address;
    this.address = address & ~((1 << PAGE_SHIFT) - 1);
    this.flags = flags;
    this.pgoff = linear_page_index(vma, this.address);
  }
}

/** linear_page_index (include/linux/pagemap.h). */
export function linear_page_index(vma: vm_area_struct, address: number): number {
  return Math.floor((address - vma.vm_start) / (1 << PAGE_SHIFT)) + vma.vm_pgoff;
}
