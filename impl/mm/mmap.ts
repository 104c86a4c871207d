/**
 * Kernel: mm/mmap.c (ksys_mmap_pgoff, do_mmap, get_unmapped_area, mmap_region, __vm_munmap,
 * expand_downwards, exit_mmap), mm/util.c (vm_mmap_pgoff), kernel/exit.c (exit_mm),
 * mm/shmem.c (shmem_zero_setup). mmput/mmdrop live in impl/mm/fork.ts (kernel/fork.c).
 *
 * - mmap: ksys_mmap_pgoff → vm_mmap_pgoff (mmap_write_lock_killable) → do_mmap (flag checks,
 *   get_unmapped_area top-down from the fixed mmap_base, MAP_FIXED_NOREPLACE → -EEXIST) →
 *   mmap_region: MAP_FIXED replaces by first unmapping the range (6.4's do_vmi_munmap inside
 *   mmap_region), then merges with a neighbour (vma_merge_new_range) or creates a VMA that is
 *   vma_start_write'd BEFORE vma_iter_store makes it visible (33313a747e81, B9; 6.6 "always lock
 *   new vma before inserting into vma tree"), and only then linked into i_mmap (Hugh Dickins'
 *   corrected ordering: vma_start_write → i_mmap_rwsem). Fields written after insertion
 *   (vm_page_prot by vma_set_page_prot) are covered by that write lock.
 * - expand_downwards (guard gap against prev, anon_vma_prepare, vma_start_write (c137381f71ae,
 *   B7), anon_vma_lock_write, vm_start/vm_pgoff under mm->page_table_lock, tree
 *   store). With k.cfg.expand_stack_lock === 'read' (StackRot era, ≤6.4.0) the expansion runs
 *   under mmap_read_lock with only page_table_lock serialising it and no VMA write lock (the
 *   assertion of vma_start_write would fire), replacing the tree node while readers walk it.
 *   The fault path and GUP reach it through lock_mm_and_find_vma / expand_stack_locked
 *   (impl/mm/mmap_lock.ts; 6.5+ with the read lock upgraded to the write lock first); the
 *   kernel's expand_stack() (other architectures' fault paths, exec) is left out.
 * - exit_mmap: unmap everything under mmap_read_lock, then under mmap_write_lock free the page
 *   tables (free_pgtables with mm_wr_locked: each VMA write-locked), detach and free every VMA;
 *   its walks stop at an XA_ZERO_ENTRY a failed 6.8+ fork left (xa_is_zero).
 * - mmap_region: ≤6.11 unmaps the range first (do_vmi_munmap) and maps after; 6.12+
 *   (k.cfg.mmap_region_gather_first) goes to __mmap_region (impl/mm/vma.ts), which maps over the
 *   gathered old VMAs and frees them after.
 *
 * Left out: file ->mmap hooks (every file mapping gets generic_file_vm_ops; driver VMAs come
 * from their own modules), MAP_POPULATE/MAP_LOCKED, hugetlb, accounting limits
 * (may_expand_vm; RLIMIT_STACK is SIM_RLIMIT_STACK, 256 pages), ASLR, expand_upwards (no GROWSUP on x86).
 */
import { step, type Task } from '../rt/task.js';
import { k, current_mm } from '../sim/kernel.js';
import { current } from '../rt/execution.js';
import {
  address_space, file, inode, type mm_struct, type vm_area_struct, type vm_fault, type vm_operations_struct,
} from '../include/linux/mm_types.js';
import {
  MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_GROWSDOWN, MAP_PRIVATE, MAP_SHARED, MMAP_BASE, MMAP_MIN_ADDR,
  PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, SIM_RLIMIT_STACK, STACK_GUARD_GAP, TASK_SIZE, VM_ACCESS_FLAGS, VM_ACCOUNT,
  VM_EXEC, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_GROWSDOWN, VM_MAYEXEC, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_NORESERVE, VM_READ, VM_SHARED,
  VM_UFFD_MISSING, VM_WRITE,
} from '../include/linux/mm_flags.js';
import { EEXIST, EFAULT, EINTR, EINVAL, ENOMEM, EPERM } from '../include/linux/errno.js';
import { BUG_ON } from '../include/linux/mmdebug.js';
import { spin_lock, spin_unlock } from '../sync/spinlock.js';
import { folio_unlock } from '../sync/bitlock.js';
import { refcount_dec_and_test, refcount_inc } from '../sync/refcount.js';
import { generic_file_vm_ops } from './filemap.js';
import { sim_vmg_new_range } from './vma.js';
import { FIRST_USER_ADDRESS, USER_PGTABLES_CEILING } from './memory_unmap.js';

const PAGE_ALIGN = (x: number): number => Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
const PAGE_MASK_DOWN = (x: number): number => Math.floor(x / PAGE_SIZE) * PAGE_SIZE;

/** The maps name of shared anonymous memory (mm/shmem.c: shmem_zero_setup's "dev/zero"). */
export const SHMEM_ZERO_NAME = '/dev/zero (deleted)';

// ---------------------------------------------------------------------------------------------
// get_unmapped_area

/** vm_start_gap(vma): a VM_GROWSDOWN VMA keeps stack_guard_gap free below it. */
export function vm_start_gap(vma: vm_area_struct): number {
  let start = vma.vm_start;
  if (vma.vm_flags & VM_GROWSDOWN) {
    start -= STACK_GUARD_GAP;
    if (start > vma.vm_start) start = 0;
  }
  return start;
}

/** vm_end_gap(vma) (no GROWSUP on x86). */
export function vm_end_gap(vma: vm_area_struct): number {
  return vma.vm_end;
}

/**
 * unmapped_area_topdown(info): the highest gap of `length` below high_limit and above low_limit
 * (≥ mmap_min_addr), honouring the stack guard gaps. Locks: mmap_lock held (the tree is stable).
 */
export function* unmapped_area_topdown(mm: mm_struct, length: number, low_limit: number, high_limit: number): Task<number> {
  yield 'unmapped_area_topdown:mas_empty_area_rev';
  const low = Math.max(low_limit, MMAP_MIN_ADDR);
  const vmas = k.fn.sim_vmas(mm);
  let hi = high_limit;
  for (let i = vmas.length - 1; i >= -1; i--) {
    const v = vmas[i];
    const lo = v ? k.fn.vm_end_gap(v) : low;
    if (v && v.vm_start >= high_limit) continue;
    const top = Math.min(hi, high_limit);
    if (top - length >= Math.max(lo, low)) return top - length;
    if (v) hi = k.fn.vm_start_gap(v);
  }
  return -ENOMEM;
}

/**
 * arch_get_unmapped_area_topdown(filp, addr, len, pgoff, flags) (mm/mmap.c
 * generic_get_unmapped_area_topdown): MAP_FIXED returns addr; a free hint is taken as it is;
 * else the top-down search below mmap_base.
 */
export function* arch_get_unmapped_area_topdown(mm: mm_struct, addr: number, len: number, flags: number): Task<number> {
  const mmap_end = TASK_SIZE;
  if (len > mmap_end - MMAP_MIN_ADDR) return -ENOMEM;
  if (flags & MAP_FIXED) return addr;
  // requesting a specific address
  if (addr) {
    addr = PAGE_ALIGN(addr);
    const { vma, prev } = yield* k.fn.find_vma_prev(mm, addr);
    if (mmap_end - len >= addr && addr >= MMAP_MIN_ADDR && (!vma || addr + len <= k.fn.vm_start_gap(vma)) &&
      (!prev || addr >= k.fn.vm_end_gap(prev))) {
      return addr;
    }
  }
  return yield* k.fn.unmapped_area_topdown(mm, len, PAGE_SIZE, MMAP_BASE);
}

/**
 * __get_unmapped_area(file, addr, len, pgoff, flags): pick (or check) the address of a new
 * mapping. Returns it or -errno. Locks: mmap_write_lock held (do_mmap).
 */
export function* get_unmapped_area(mm: mm_struct, addr: number, len: number, flags: number): Task<number> {
  if (len > TASK_SIZE) return -ENOMEM;
  addr = yield* k.fn.arch_get_unmapped_area_topdown(mm, addr, len, flags);
  if (addr < 0) return addr;
  if (addr > TASK_SIZE - len) return -ENOMEM;
  if (addr % PAGE_SIZE !== 0) return -EINVAL;
  // security_mmap_addr: cap_mmap_addr refuses addresses below mmap_min_addr
  if (addr < MMAP_MIN_ADDR) return -EPERM;
  return addr;
}

// ---------------------------------------------------------------------------------------------
// mmap

/** calc_vm_prot_bits(prot, pkey). */
function calc_vm_prot_bits(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/** calc_vm_flag_bits(flags). */
function calc_vm_flag_bits(flags: number): number {
  return flags & MAP_GROWSDOWN ? VM_GROWSDOWN : 0;
}

/**
 * vm_get_page_prot(vm_flags): the protection PTEs get. A private writable mapping's PTEs are
 * read-only until a write fault breaks COW (PAGE_COPY), so the write bit stays out.
 */
export function vm_get_page_prot(vm_flags: number): number {
  let prot = vm_flags & VM_ACCESS_FLAGS;
  if (!(vm_flags & VM_SHARED)) prot &= ~VM_WRITE;
  return prot;
}

/**
 * vma_set_page_prot(vma): recompute vm_page_prot from vm_flags; a shared mapping that wants
 * write notification (->page_mkwrite: dirty tracking) gets read-only PTEs until the write fault
 * (vma_wants_writenotify). Written on a live VMA: the VMA must be write-locked (I2).
 */
export function vma_set_page_prot(vma: vm_area_struct): void {
  k.fn.vma_assert_write_locked(vma);
  let prot = k.fn.vm_get_page_prot(vma.vm_flags);
  if (vma.vm_flags & VM_SHARED && vma.vm_ops?.page_mkwrite) prot &= ~VM_WRITE;
  vma.vm_page_prot = prot;
}

/** accountable_mapping(file, vm_flags): private writable memory is charged (VM_ACCOUNT). */
export function accountable_mapping(vm_flags: number): boolean {
  return (vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) === VM_WRITE;
}

/**
 * shmem_zero_setup(vma) (mm/shmem.c): a shared anonymous mapping is backed by a fresh shmem
 * object of its size, read as zeros ("/dev/zero (deleted)" in /proc/pid/maps).
 */
export function shmem_zero_setup(vma: vm_area_struct): number {
  const size = (vma.vm_end - vma.vm_start) / PAGE_SIZE;
  const ino = new inode(SHMEM_ZERO_NAME, new Array<number>(size).fill(0));
  ino.sim_shmem_present = new Set();
  const f = new file(ino, new address_space(ino));
  vma.vm_file = f;
  vma.vm_ops = shmem_vm_ops;
  return 0;
}

/**
 * shmem_fault(vmf) (mm/shmem.c) — ->fault of shared anonymous memory. shmem_get_folio_gfp: a page
 * at or beyond i_size → VM_FAULT_SIGBUS; a page the object does not have (neither in the page
 * cache nor swapped out) in a VM_UFFD_MISSING VMA → handle_userfault(vmf, VM_UFFD_MISSING), which
 * waits for the monitor; one it does not have otherwise is allocated zero-filled and uptodate
 * into the page cache (shmem_alloc_and_add_folio: no read, so no read error; VM_FAULT_OOM when the
 * allocation fails). Then the page is mapped through filemap_fault (a page written back to the
 * object's backing store — shmem's swap here — is read from it).
 * Locks: the fault lock, as filemap_fault (released on VM_FAULT_RETRY).
 */
export function* shmem_fault(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  const mapping = vma.vm_file!.f_mapping;
  const inode = mapping.host;
  yield 'shmem_fault:i_size_read';
  if (vmf.pgoff >= inode.i_size) return VM_FAULT_SIGBUS;
  if (!(inode.sim_shmem_present?.has(vmf.pgoff) ?? true)) {
    if (vma.vm_flags & VM_UFFD_MISSING) return yield* k.fn.handle_userfault(vmf, VM_UFFD_MISSING);
    const f = yield* k.fn.folio_alloc();
    if (!f) return VM_FAULT_OOM;
    f.uptodate = true; // cleared (the simulation's pages start zeroed) and marked uptodate
    f.swapbacked = true;
    // Added locked; -EEXIST when a racing fault added it first (then that one is used).
    if ((yield* k.fn.filemap_add_folio(mapping, f, vmf.pgoff, 0)) === 0) folio_unlock(f);
    k.fn.folio_put(f);
  }
  return yield* k.fn.filemap_fault(vmf);
}

/** shmem_vm_ops (anonymous shared memory): shmem_fault, fault-around and mkwrite as files. */
const shmem_vm_ops: vm_operations_struct = {
  ...generic_file_vm_ops,
  name: 'shmem_vm_ops',
  fault: (vmf) => k.fn.shmem_fault(vmf),
};

/**
 * mmap_region(file, addr, len, vm_flags, pgoff): map [addr, addr+len), replacing what is there.
 * Locks: mmap_write_lock held. Returns addr or -errno.
 */
export function* mmap_region(mm: mm_struct, f: file | null, addr: number, len: number, vm_flags: number, pgoff: number): Task<number> {
  const end = addr + len;
  k.fn.mmap_assert_write_locked(mm);
  // 6.12+: gather the old VMAs, map over them, then free them (mm/vma.ts __mmap_region).
  if (k.cfg.mmap_region_gather_first) return yield* k.fn.__mmap_region(mm, f, addr, len, vm_flags, pgoff);
  // Unmap any existing mapping in the area (6.4: do_vmi_munmap(&vmi, mm, addr, len, uf, false)).
  if ((yield* k.fn.do_vmi_munmap(mm, addr, len, false)) !== 0) return -ENOMEM;
  // Private writable mapping: check memory availability.
  if (k.fn.accountable_mapping(vm_flags)) vm_flags |= VM_ACCOUNT;

  // Can we just expand an old mapping?
  const { vma: next, prev } = yield* k.fn.find_vma_prev(mm, addr);
  if (!(f === null && vm_flags & VM_SHARED)) {
    const vmg = k.fn.sim_vmg_new_range(mm, prev, next, addr, end, pgoff, vm_flags, f);
    const merged = yield* k.fn.vma_merge_new_range(vmg);
    if (merged) {
      // expanded: the merged VMA covers the range (it was write-locked by vma_expand)
      k.fn.vma_set_page_prot(merged);
      return addr;
    }
  }

  // Determine the object being mapped and call the appropriate specific mapper.
  const vma = yield* k.fn.vm_area_alloc(mm);
  vma.vm_start = addr;
  vma.vm_end = end;
  vma.vm_pgoff = pgoff;
  k.fn.vm_flags_init(vma, vm_flags);
  vma.vm_page_prot = k.fn.vm_get_page_prot(vm_flags);
  if (f) {
    refcount_inc(f.f_count); // vma->vm_file = get_file(file)
    vma.vm_file = f;
    if (f.f_op?.mmap) {
      // mmap_file(file, vma): a driver's ->mmap. The kernel write-locks the new VMA only right
      // before inserting it; locking it earlier changes nothing (it is not visible yet) and lets
      // ->mmap use the vm_flags_* helpers, which assert the write lock.
      yield* k.fn.vma_start_write(vma);
      const error = yield* f.f_op.mmap(f, vma);
      if (error) {
        refcount_dec_and_test(f.f_count); // fput
        k.fn.vm_area_free(vma);
        return error;
      }
    } else {
      // generic_file_mmap: vma->vm_ops = &generic_file_vm_ops
      vma.vm_ops = generic_file_vm_ops;
    }
  } else if (vm_flags & VM_SHARED) {
    k.fn.shmem_zero_setup(vma);
  } else {
    // vma_set_anonymous(vma)
    vma.vm_ops = null;
  }

  // Lock the VMA since it is modified after insertion into VMA tree (B9 fix, before the store).
  yield* k.fn.vma_start_write(vma);
  yield* k.fn.vma_iter_store(mm, vma);
  mm.map_count++;
  // vma_link_file(vma): i_mmap_rwsem after the VMA write lock (corrected ordering).
  yield* k.fn.vma_link_file(vma);

  // Written after insertion: needs the write lock taken above.
  k.fn.vma_set_page_prot(vma);
  return addr;
}

/**
 * do_mmap(file, addr, len, prot, flags, vm_flags, pgoff): checks, address choice, mmap_region.
 * Locks: mmap_write_lock held. Returns the address or -errno.
 */
export function* do_mmap(
  mm: mm_struct, f: file | null, addr: number, len: number, prot: number, flags: number, vm_flags: number, pgoff: number,
): Task<number> {
  k.fn.mmap_assert_write_locked(mm);
  if (!len) return -EINVAL;
  // round_hint_to_min: a non-fixed hint below mmap_min_addr is raised to it.
  if (!(flags & MAP_FIXED)) {
    addr = PAGE_MASK_DOWN(addr);
    if (addr && addr < MMAP_MIN_ADDR) addr = PAGE_ALIGN(MMAP_MIN_ADDR);
  }
  // Careful about overflows..
  len = PAGE_ALIGN(len);
  if (!len || len > TASK_SIZE) return -ENOMEM;
  // MAP_FIXED_NOREPLACE is MAP_FIXED that refuses to clobber.
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  // Obtain the address to map to. We verify (or select) it and ensure that it represents a
  // valid section of the address space.
  addr = yield* k.fn.get_unmapped_area(mm, addr, len, flags);
  if (addr < 0) return addr;
  if (flags & MAP_FIXED_NOREPLACE) {
    if (yield* k.fn.find_vma_intersection(mm, addr, addr + len)) return -EEXIST;
  }
  // Do simple checking here so the lower-level routines won't have to.
  vm_flags |= calc_vm_prot_bits(prot) | calc_vm_flag_bits(flags) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (f) {
    switch (flags & (MAP_SHARED | MAP_PRIVATE)) {
      case MAP_SHARED:
        vm_flags |= VM_SHARED | VM_MAYSHARE;
        break;
      case MAP_PRIVATE:
        break;
      default:
        return -EINVAL;
    }
    if (vm_flags & VM_GROWSDOWN) return -EINVAL;
  } else {
    switch (flags & (MAP_SHARED | MAP_PRIVATE)) {
      case MAP_SHARED:
        if (vm_flags & VM_GROWSDOWN) return -EINVAL;
        // Ignore pgoff.
        pgoff = 0;
        vm_flags |= VM_SHARED | VM_MAYSHARE;
        break;
      case MAP_PRIVATE:
        // Set pgoff according to addr for anon_vma.
        pgoff = Math.floor(addr / PAGE_SIZE); // addr >> PAGE_SHIFT
        break;
      default:
        return -EINVAL;
    }
  }
  return yield* k.fn.mmap_region(mm, f, addr, len, vm_flags, pgoff);
}

/**
 * vm_mmap_pgoff(file, addr, len, prot, flag, pgoff) (mm/util.c): take mmap_write_lock_killable
 * around do_mmap.
 */
export function* vm_mmap_pgoff(f: file | null, addr: number, len: number, prot: number, flags: number, pgoff: number): Task<number> {
  const mm = current_mm();
  if (!mm) return -EINVAL;
  if ((yield* k.fn.mmap_write_lock_killable(mm)) !== 0) return -EINTR;
  const ret = yield* k.fn.do_mmap(mm, f, addr, len, prot, flags, 0, pgoff);
  k.fn.mmap_write_unlock(mm);
  // A MAP_FIXED mapping unmapped registered VMAs: deliver UFFD_EVENT_UNMAP, wait for the monitor.
  yield* k.fn.userfaultfd_unmap_complete(mm);
  return ret;
}

/**
 * ksys_mmap_pgoff(addr, len, prot, flags, file, pgoff): the mmap system call (the file
 * descriptor already resolved). MAP_ANONYMOUS ignores the file.
 */
export function* ksys_mmap_pgoff(addr: number, len: number, prot: number, flags: number, f: file | null, pgoff: number): Task<number> {
  if (!(flags & MAP_ANONYMOUS)) {
    if (!f) return -9; // -EBADF
  } else {
    f = null;
  }
  return yield* k.fn.vm_mmap_pgoff(f, addr, len, prot, flags, pgoff);
}

// ---------------------------------------------------------------------------------------------
// munmap

/**
 * __vm_munmap(start, len, unlock): the munmap system call on current->mm.
 * Locks: takes mmap_write_lock_killable; released on return (downgraded first with unlock); the
 * userfaultfd unmap events are delivered (and waited for) after it is released.
 */
export function* __vm_munmap(start: number, len: number, unlock: boolean): Task<number> {
  const mm = current_mm();
  if (!mm) return -EINVAL;
  if ((yield* k.fn.mmap_write_lock_killable(mm)) !== 0) return -EINTR;
  const ret = yield* k.fn.do_vmi_munmap(mm, start, len, unlock);
  if (ret || !unlock) k.fn.mmap_write_unlock(mm);
  // userfaultfd_unmap_complete(mm, &uf): UFFD_EVENT_UNMAP for each registered VMA removed (raised
  // by userfaultfd_unmap_prep under the lock), delivered now that mmap_lock is dropped.
  yield* k.fn.userfaultfd_unmap_complete(mm);
  return ret;
}

// ---------------------------------------------------------------------------------------------
// Stack expansion

/** vma_is_accessible(vma): any of read/write/exec. */
function vma_is_accessible(vma: vm_area_struct): boolean {
  return (vma.vm_flags & VM_ACCESS_FLAGS) !== 0;
}

/**
 * expand_downwards(vma, address): grow a VM_GROWSDOWN VMA down to address.
 * Locks: mmap_write_lock held (6.5+); with expand_stack_lock 'read', mmap_read_lock only.
 * Returns 0 or -errno.
 */
export function* expand_downwards(vma: vm_area_struct, address: number): Task<number> {
  const mm = vma.vm_mm;
  const read_locked = k.cfg.expand_stack_lock === 'read';
  if (!(vma.vm_flags & VM_GROWSDOWN)) return -EFAULT;
  if (read_locked) k.fn.mmap_assert_locked(mm);
  else k.fn.mmap_assert_write_locked(mm);
  address = PAGE_MASK_DOWN(address);
  if (address < MMAP_MIN_ADDR || address < FIRST_USER_ADDRESS) return -EPERM;
  // Enforce stack_guard_gap
  const { prev } = yield* k.fn.find_vma_prev(mm, vma.vm_start);
  if (prev) {
    if (!(prev.vm_flags & VM_GROWSDOWN) && vma_is_accessible(prev) && address - prev.vm_end < STACK_GUARD_GAP) {
      return -ENOMEM;
    }
  }
  // We must make sure the anon_vma is allocated.
  if ((yield* k.fn.anon_vma_prepare(vma)) !== 0) return -ENOMEM;
  // Lock the VMA before expanding to prevent concurrent page faults (c137381f71ae). Not
  // possible under the read lock of the StackRot era (vma_start_write needs mmap_write_lock).
  if (!read_locked) yield* k.fn.vma_start_write(vma);
  // We update the anon VMA tree.
  const av = vma.anon_vma!;
  yield* k.fn.anon_vma_lock_write(av);
  let error = 0;
  // Somebody else might have raced and expanded it already
  if (address < vma.vm_start) {
    const grow = (vma.vm_start - address) / PAGE_SIZE;
    error = -ENOMEM;
    if (grow <= vma.vm_pgoff) {
      // acct_stack_growth(vma, size, grow): the stack limit test (may_expand_vm and the
      // locked-memory accounting are left out).
      error = vma.vm_end - address > SIM_RLIMIT_STACK ? -ENOMEM : 0;
    }
    if (error === 0) {
      // Only a shared mmap_lock may be held here (StackRot era): mm->page_table_lock protects
      // against concurrent vma expansions.
      yield* spin_lock(mm.page_table_lock);
      vma.vm_start = address;
      // Two plain stores: a fault that does not exclude this writer (no VMA write lock: B7; or
      // the StackRot era's shared mmap_lock) may read vm_start and vm_pgoff in between.
      yield step('expand_downwards:vm_pgoff', vma);
      vma.vm_pgoff -= grow;
      // Overwrite old entry in mtree.
      if (read_locked) yield* k.fn.mas_store_prealloc(mm, vma.vm_start, vma.vm_end - 1, vma);
      else yield* k.fn.vma_iter_store(mm, vma);
      spin_unlock(mm.page_table_lock);
    }
  }
  k.fn.anon_vma_unlock_write(av);
  return error;
}

/**
 * expand_stack_locked(vma, address): expand the stack VMA to cover address (x86: downwards).
 * Locks: mmap_write_lock held (6.5+).
 */
export function* expand_stack_locked(vma: vm_area_struct, address: number): Task<number> {
  return yield* k.fn.expand_downwards(vma, address);
}

// ---------------------------------------------------------------------------------------------
// exit

/**
 * exit_mmap(mm): tear the address space down. Zap every VMA under mmap_read_lock, then under
 * mmap_write_lock free the page tables (free_pgtables write-locks and unlinks each VMA), detach
 * and free every VMA, and empty the tree.
 */
export function* exit_mmap(mm: mm_struct): Task<void> {
  yield* k.fn.mmap_read_lock(mm);
  // for (vma = vma_next(&vmi); vma && !xa_is_zero(vma); vma = vma_next(&vmi)): a fork that
  // failed after __mt_dup (6.8+) left the parent's VMAs after an XA_ZERO_ENTRY — not ours.
  const vmas: vm_area_struct[] = [];
  for (const v of k.fn.sim_vmas(mm)) {
    if (k.fn.xa_is_zero(v)) break;
    vmas.push(v);
  }
  if (vmas.length === 0) {
    // Can happen if dup_mmap() received an OOM
    k.fn.mmap_read_unlock(mm);
    yield* k.fn.mmap_write_lock(mm);
  } else {
    const tlb = k.fn.tlb_gather_mmu_fullmm(mm);
    // Use ULONG_MAX here to ensure all VMAs in the mm are unmapped
    yield* k.fn.unmap_vmas(tlb, vmas, 0, Number.MAX_SAFE_INTEGER, false);
    k.fn.mmap_read_unlock(mm);
    // Set MMF_OOM_SKIP to hide this task from the oom killer/reaper.
    yield* k.fn.mmap_write_lock(mm);
    k.fn.mt_clear_in_rcu(mm.mm_mt);
    yield* k.fn.free_pgtables(tlb, vmas, FIRST_USER_ADDRESS, USER_PGTABLES_CEILING, true);
    yield* k.fn.tlb_finish_mmu(tlb);
    // Walk the list again, actually closing and freeing it.
    let count = 0;
    for (const vma of vmas) {
      yield* k.fn.vma_mark_detached(vma);
      yield* k.fn.remove_vma(vma);
      count++;
    }
    BUG_ON(count !== mm.map_count, `exit_mmap: ${count} VMAs freed, map_count ${mm.map_count}`);
    mm.map_count = 0;
  }
  // __mt_destroy(&mm->mm_mt)
  yield* k.fn.vma_iter_clear(mm, 0, TASK_SIZE);
  mm.dead = true;
  k.fn.mmap_write_unlock(mm);
}

/**
 * sim_exit_mm() (kernel/exit.c exit_mm): the exit of the current process — its mm pointer is
 * cleared (under mmap_read_lock, as exit_mm does) and the process marked exited; then mmput.
 */
export function* sim_exit_mm(): Task<void> {
  const th = k.threads.get(current().id);
  const proc = th ? k.procs.get(th.pid) : undefined;
  if (!proc || !proc.mm) return;
  const mm = proc.mm;
  yield* k.fn.mmap_read_lock(mm);
  proc.mm = null; // current->mm = NULL
  proc.exited = true;
  k.fn.mmap_read_unlock(mm);
  yield* k.fn.mmput(mm);
}
