/**
 * Kernel: mm/filemap.c — the page cache and the generic file fault path (filemap_get_folio,
 * __filemap_get_folio, filemap_add_folio, filemap_fault with lock_folio_maybe_drop_mmap and
 * do_{sync,async}_mmap_readahead, filemap_map_pages, filemap_page_mkwrite,
 * __folio_lock_or_retry, folio_end_writeback, generic_file_vm_ops, filemap_read/write for
 * pread/pwrite); with the helpers it needs from mm/internal.h (maybe_unlock_mmap_for_io),
 * include/linux/pagemap.h (folio_lock_or_retry), mm/readahead.c (page_cache_ra_unbounded: the
 * read-around window is the faulting page) and mm/page-writeback.c (folio_start_writeback,
 * folio_wait_writeback).
 *
 * Page-cache lookups are RCU walks of mapping->i_pages that take a reference only if the folio
 * is not being freed (folio_try_get + xas_reload, one step here); insertions and removals hold
 * the i_pages xa_lock. A folio under read I/O is locked and !uptodate; the block device's
 * completion daemon (drivers/block.ts) marks it uptodate and unlocks it.
 *
 * The fault lock: ->fault is entered holding mmap_read_lock, or (6.7+, vmf_can_call_fault) the
 * VMA read lock (FAULT_FLAG_VMA_LOCK). A first try (FAULT_FLAG_ALLOW_RETRY, not TRIED) never
 * sleeps on I/O holding it: maybe_unlock_mmap_for_io pins the file and drops the lock, and the
 * fault returns VM_FAULT_RETRY (I19); the TRIED retry sleeps with the lock held. Before 6.7 these
 * helpers dropped the lock with mmap_read_unlock (they were not VMA-lock aware: "mm: make
 * lock_folio_maybe_drop_mmap() VMA lock aware"); before 6.6 __folio_lock_or_retry did too ("mm:
 * drop per-VMA lock when returning VM_FAULT_RETRY or VM_FAULT_COMPLETED").
 *
 * Left out: large folios and THP (filemap_map_pmd only installs the preallocated PTE table),
 * PG_readahead and async readahead windows (do_async_mmap_readahead never finds the flag),
 * mmap_miss accounting, shadow entries, hwpoison, the VM_LOCKED pte re-check
 * (filemap_fault_recheck_pte_none), truncation, fsync, DAX.
 */
import type { Task } from '../rt/task.js';
import { waitUntil } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import type { address_space, file, folio, vm_fault, vm_operations_struct } from '../include/linux/mm_types.js';
import { address_space as address_space_class } from '../include/linux/mm_types.js';
import {
  FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_KILLABLE, FAULT_FLAG_RETRY_NOWAIT, FAULT_FLAG_TRIED, FAULT_FLAG_VMA_LOCK, PAGE_SHIFT,
  VM_FAULT_LOCKED, VM_FAULT_MAJOR, VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS,
} from '../include/linux/mm_flags.js';
import { VM_BUG_ON } from '../include/linux/mmdebug.js';
import { EAGAIN, EEXIST, EINTR, EIO, ENOENT, ENOMEM } from '../include/linux/errno.js';
import { folio_lock, folio_lock_killable, folio_test_locked, folio_trylock, folio_unlock, folio_wait_locked } from '../sync/bitlock.js';
import { spin_lock, spin_unlock } from '../sync/spinlock.js';
import { down_read, down_write, up_read, up_write } from '../sync/rwsem.js';
import { rcu_read_lock, rcu_read_unlock } from '../sync/rcu.js';
import { refcount_add, refcount_dec_and_test, refcount_inc, refcount_inc_not_zero } from '../sync/refcount.js';
import { kasan_check_read, kasan_check_write } from '../sync/kasan.js';
import type { ModelResult, PreadOp, PwriteOp } from '../../model/ops.js';

// __filemap_get_folio flags (include/linux/pagemap.h)
const FGP_LOCK = 0x2;
const FGP_CREAT = 0x4;
const FGP_WRITE = 0x8;
const FGP_NOWAIT = 0x20;
const FGP_FOR_MMAP = 0x40;
const FGP_STABLE = 0x80;
const FGP_WRITEBEGIN = FGP_LOCK | FGP_WRITE | FGP_CREAT | FGP_STABLE;

const EBADF = 9;

/** IS_ERR() for the functions here that return a folio or a negative errno. */
const IS_ERR = (f: folio | number | null): f is number => typeof f === 'number';

// ---------------------------------------------------------------------------------------------
// References (include/linux/page_ref.h, fs/file_table.c) — private helpers, not table functions.

/** folio_try_get(): a reference unless the folio is being freed (refcount 0). */
function folio_try_get(f: folio): boolean {
  return refcount_inc_not_zero(f._refcount);
}

function get_file(f: file): file {
  refcount_inc(f.f_count);
  return f;
}

/**
 * fput() of the file a fault pinned across dropping its lock. The pin may be the last reference
 * (a munmap freed the VMA meanwhile — shared anonymous memory has no other holder): fput from a
 * user task then defers __fput to task_work (fs/file_table.c, TWA_RESUME), run on the way back
 * to user space; the struct file is never freed under the fault. (The simulation does not free
 * files at all.)
 */
function fput(f: file): void {
  refcount_dec_and_test(f.f_count);
}

function fault_flag_allow_retry_first(flags: number): boolean {
  return (flags & FAULT_FLAG_ALLOW_RETRY) !== 0 && (flags & FAULT_FLAG_TRIED) === 0;
}

/** The fault lock is held on entry: the VMA read lock with FAULT_FLAG_VMA_LOCK, else mmap_lock. */
function sim_assert_fault_locked(vmf: vm_fault): void {
  if (vmf.flags & FAULT_FLAG_VMA_LOCK) k.fn.vma_assert_locked(vmf.vma);
  else k.fn.mmap_assert_locked(vmf.vma.vm_mm);
}

/** Drop the fault lock the way this file did in the configured era (see the header). */
function* sim_filemap_release_fault_lock(vmf: vm_fault): Task<void> {
  if (k.cfg.file_fault_under_vma_lock) yield* k.fn.release_fault_lock(vmf);
  else k.fn.mmap_read_unlock(vmf.vma.vm_mm);
}

// ---------------------------------------------------------------------------------------------
// Lookup and insertion

/**
 * filemap_get_entry(mapping, index): the folio at index with a reference, or null. An RCU walk
 * of i_pages: load, folio_try_get, xas_reload — one step, so the reload always matches. xas_load
 * reads mapping->i_pages: KASAN-checked, for the one address_space that is freed while lookups
 * may still reach it (the swap cache's, swapper_spaces[type], freed by swapoff: a lookup not
 * pinned by get_swap_device() reads it after the free).
 */
export function* filemap_get_entry(mapping: address_space, index: number): Task<folio | null> {
  rcu_read_lock();
  yield 'filemap_get_entry:xas_load';
  kasan_check_read(mapping, 'filemap_get_entry');
  let f = mapping.i_pages.get(index) ?? null;
  if (f !== null && !k.fn.folio_try_get(f)) f = null; // being freed: a racing removal already took it out
  rcu_read_unlock();
  return f;
}

/**
 * filemap_add_folio(mapping, folio, index, gfp): insert a new folio, locked, with the page
 * cache's own reference. 0, or -EEXIST when another task inserted one first.
 */
export function* filemap_add_folio(mapping: address_space, f: folio, index: number, _gfp: number): Task<number> {
  yield* folio_lock(f); // __folio_set_locked: the folio is not visible to anyone yet
  f.mapping = mapping;
  f.index = index;
  refcount_add(1, f._refcount);
  yield* spin_lock(mapping.i_pages_lock);
  if (mapping.i_pages.has(index)) {
    spin_unlock(mapping.i_pages_lock);
    f.mapping = null;
    f._refcount.refs--;
    folio_unlock(f);
    return -EEXIST;
  }
  mapping.i_pages.set(index, f);
  mapping.host.sim_shmem_present?.add(index);
  f.lru = true; // folio_add_lru: reclaim can find it
  spin_unlock(mapping.i_pages_lock);
  return 0;
}

/**
 * __filemap_remove_folio / filemap_remove_folio(folio): take a locked, unmapped folio out of the
 * page cache (truncation, reclaim's __remove_mapping) and drop the cache's reference.
 */
export function* filemap_remove_folio(f: folio): Task<void> {
  const mapping = f.mapping;
  VM_BUG_ON(!folio_test_locked(f), 'mm/filemap.c: filemap_remove_folio !folio_test_locked');
  if (!(mapping instanceof address_space_class)) throw new Error(`filemap_remove_folio: ${f.name} is not in a page cache`);
  yield* spin_lock(mapping.i_pages_lock);
  VM_BUG_ON(f._mapcount > 0, 'mm/filemap.c: filemap_unaccount_folio: folio still mapped when deleted');
  mapping.i_pages.delete(f.index);
  f.mapping = null; // page_cache_delete
  f.lru = false;
  spin_unlock(mapping.i_pages_lock);
  k.fn.folio_put(f); // filemap_free_folio: the cache's reference (the caller still holds one)
}

/**
 * __filemap_get_folio(mapping, index, fgp_flags, gfp): find (and with FGP_LOCK lock, re-checking
 * truncation) the folio at index; with FGP_CREAT create it when absent (locked; FGP_FOR_MMAP
 * returns it unlocked). A folio with a reference, or -ENOENT / -ENOMEM / -EAGAIN.
 */
export function* __filemap_get_folio(mapping: address_space, index: number, fgp_flags: number, gfp: number): Task<folio | number> {
  for (;;) {
    let f = yield* k.fn.filemap_get_entry(mapping, index);
    if (f !== null) {
      if (fgp_flags & FGP_LOCK) {
        if (fgp_flags & FGP_NOWAIT) {
          if (!(yield* folio_trylock(f))) {
            k.fn.folio_put(f);
            return -EAGAIN;
          }
        } else {
          yield* folio_lock(f);
        }
        // Has the page been truncated?
        if (f.mapping !== mapping) {
          folio_unlock(f);
          k.fn.folio_put(f);
          continue;
        }
        VM_BUG_ON(f.index !== index, 'mm/filemap.c: __filemap_get_folio !folio_contains');
      }
      if (fgp_flags & FGP_STABLE) yield* k.fn.folio_wait_writeback(f); // folio_wait_stable
      return f;
    }
    if (!(fgp_flags & FGP_CREAT)) return -ENOENT;
    f = yield* k.fn.folio_alloc();
    if (f === null) return -ENOMEM;
    const err = yield* k.fn.filemap_add_folio(mapping, f, index, gfp);
    if (err === -EEXIST) {
      k.fn.folio_put(f);
      continue;
    }
    if (err) {
      k.fn.folio_put(f);
      return err;
    }
    // filemap_add_folio locks the folio, and for mmap we expect an unlocked folio.
    if (fgp_flags & FGP_FOR_MMAP) folio_unlock(f);
    return f;
  }
}

/** filemap_get_folio(mapping, index): __filemap_get_folio(mapping, index, 0, 0). */
export function* filemap_get_folio(mapping: address_space, index: number): Task<folio | number> {
  return yield* k.fn.__filemap_get_folio(mapping, index, 0, 0);
}

// ---------------------------------------------------------------------------------------------
// Reading and writeback

/**
 * filemap_read_folio(file, folio): ->read_folio on a locked folio and wait for the read; 0, or
 * -EIO when it completed without PG_uptodate. The folio is unlocked on return.
 */
export function* filemap_read_folio(_file: file | null, f: folio): Task<number> {
  const err = yield* k.fn.mpage_read_folio(f);
  if (err) return err;
  yield* folio_wait_locked(f); // folio_wait_locked_killable
  if (!f.uptodate) return -EIO;
  return 0;
}

/**
 * page_cache_ra_unbounded(mapping, index, nr_to_read) (mm/readahead.c): add the missing folios of
 * [index, index + nr_to_read) within i_size to the page cache, locked, and start their reads
 * (read_pages). The folios stay locked until their I/O completes.
 */
export function* page_cache_ra_unbounded(mapping: address_space, index: number, nr_to_read: number): Task<void> {
  const end = Math.min(index + nr_to_read, mapping.host.i_size);
  for (let i = index; i < end; i++) {
    // shmem (filemap_fault on behalf of shmem_fault): only pages the object has are read back; a
    // page it does not have is not created by readahead.
    if (mapping.host.sim_shmem_present && !mapping.host.sim_shmem_present.has(i)) continue;
    const present = yield* k.fn.filemap_get_entry(mapping, i);
    if (present !== null) {
      k.fn.folio_put(present);
      continue;
    }
    const f = yield* k.fn.folio_alloc();
    if (f === null) break;
    if ((yield* k.fn.filemap_add_folio(mapping, f, i, 0)) !== 0) {
      k.fn.folio_put(f);
      continue;
    }
    yield* k.fn.mpage_read_folio(f); // read_pages → ->readahead
    k.fn.folio_put(f); // readahead_folio drops the allocation's reference; the cache keeps its own
  }
}

/** folio_start_writeback(): the folio goes under writeback (clean, PG_writeback set). */
export function folio_start_writeback(f: folio): void {
  VM_BUG_ON(f.writeback, 'mm/page-writeback.c: __folio_start_writeback folio_test_writeback');
  f.writeback = true;
  f.dirty = false;
}

/** folio_end_writeback(): writeback done (I/O completion); wakes folio_wait_writeback sleepers. */
export function folio_end_writeback(f: folio): void {
  VM_BUG_ON(!f.writeback, 'mm/filemap.c: folio_end_writeback !folio_test_writeback');
  f.writeback = false;
}

/** folio_wait_writeback(): sleep until the folio is not under writeback. */
export function* folio_wait_writeback(f: folio): Task<void> {
  if (!f.writeback) return;
  yield* waitUntil('folio_wait_writeback', () => !f.writeback, f);
}

// ---------------------------------------------------------------------------------------------
// Faults

/**
 * maybe_unlock_mmap_for_io(vmf, fpin) (mm/internal.h): on a first try, pin the file and drop the
 * fault lock before starting or awaiting I/O; the caller must then return VM_FAULT_RETRY.
 */
export function* maybe_unlock_mmap_for_io(vmf: vm_fault, fpin: file | null): Task<file | null> {
  if (fpin) return fpin;
  const flags = vmf.flags;
  if (fault_flag_allow_retry_first(flags) && !(flags & FAULT_FLAG_RETRY_NOWAIT)) {
    fpin = get_file(vmf.vma.vm_file!);
    yield* sim_filemap_release_fault_lock(vmf);
  }
  return fpin;
}

/**
 * __folio_lock_or_retry(folio, vmf): folio_trylock failed. First try: drop the fault lock, wait
 * for the folio unlocked (the I/O), return VM_FAULT_RETRY — except with RETRY_NOWAIT, which
 * returns VM_FAULT_RETRY still holding it. TRIED: sleep for the folio lock holding the fault
 * lock; 0 with the folio locked (or VM_FAULT_RETRY, lock released, on a fatal signal).
 */
export function* __folio_lock_or_retry(f: folio, vmf: vm_fault): Task<number> {
  const flags = vmf.flags;
  if (fault_flag_allow_retry_first(flags)) {
    // CAUTION! In this case, the mmap_lock/per-VMA lock is not released even though returning VM_FAULT_RETRY.
    if (flags & FAULT_FLAG_RETRY_NOWAIT) return VM_FAULT_RETRY;
    if (k.cfg.vma_lock_released_by_handler) yield* k.fn.release_fault_lock(vmf);
    else k.fn.mmap_read_unlock(vmf.vma.vm_mm);
    yield* folio_wait_locked(f); // folio_wait_locked_killable with FAULT_FLAG_KILLABLE
    return VM_FAULT_RETRY;
  }
  if (flags & FAULT_FLAG_KILLABLE) {
    if ((yield* folio_lock_killable(f)) === -EINTR) {
      if (k.cfg.vma_lock_released_by_handler) yield* k.fn.release_fault_lock(vmf);
      else k.fn.mmap_read_unlock(vmf.vma.vm_mm);
      return VM_FAULT_RETRY;
    }
  } else {
    yield* folio_lock(f);
  }
  return 0;
}

/** folio_lock_or_retry(folio, vmf) (include/linux/pagemap.h): trylock, else __folio_lock_or_retry. */
export function* folio_lock_or_retry(f: folio, vmf: vm_fault): Task<number> {
  if (yield* folio_trylock(f)) return 0;
  return yield* k.fn.__folio_lock_or_retry(f, vmf);
}

/**
 * lock_folio_maybe_drop_mmap(vmf, folio, &fpin): lock the folio, dropping the fault lock first if
 * it must sleep on a first try. `locked` false: not locked (fatal signal, or RETRY_NOWAIT); the
 * fault lock is then released unless RETRY_NOWAIT.
 */
export function* lock_folio_maybe_drop_mmap(vmf: vm_fault, f: folio, fpin: file | null): Task<{ readonly locked: boolean; readonly fpin: file | null }> {
  if (yield* folio_trylock(f)) return { locked: true, fpin };
  // NOTE! This will make us return with VM_FAULT_RETRY, but with the fault lock still held.
  if (vmf.flags & FAULT_FLAG_RETRY_NOWAIT) return { locked: false, fpin };
  fpin = yield* k.fn.maybe_unlock_mmap_for_io(vmf, fpin);
  if (vmf.flags & FAULT_FLAG_KILLABLE) {
    if ((yield* folio_lock_killable(f)) === -EINTR) {
      if (fpin === null) yield* sim_filemap_release_fault_lock(vmf);
      return { locked: false, fpin };
    }
  } else {
    yield* folio_lock(f);
  }
  return { locked: true, fpin };
}

/** Read-around window (ra->ra_pages), shrunk to the faulting page: more pages only add steps. */
const RA_PAGES = 1;

/**
 * do_sync_mmap_readahead(vmf): no folio in the cache at all: drop the fault lock (first try) and
 * start reading the window around the faulting page. Returns the pinned file if the lock was dropped.
 */
export function* do_sync_mmap_readahead(vmf: vm_fault): Task<file | null> {
  const mapping = vmf.vma.vm_file!.f_mapping;
  const fpin = yield* k.fn.maybe_unlock_mmap_for_io(vmf, null);
  yield* k.fn.page_cache_ra_unbounded(mapping, vmf.pgoff, RA_PAGES);
  return fpin;
}

/**
 * do_async_mmap_readahead(vmf, folio): the folio was found; extend readahead when it carries
 * PG_readahead — never here (no readahead windows), so the lock is kept.
 */
export function* do_async_mmap_readahead(_vmf: vm_fault, _f: folio): Task<file | null> {
  yield 'do_async_mmap_readahead';
  return null;
}

/**
 * filemap_fault(vmf): ->fault of generic_file_vm_ops. Entered with the fault lock held (mmap
 * read lock, or the VMA lock when FAULT_FLAG_VMA_LOCK, 6.7+). Returns VM_FAULT_LOCKED with
 * vmf->page locked and referenced, VM_FAULT_SIGBUS beyond EOF or on a read error, VM_FAULT_OOM,
 * or VM_FAULT_RETRY (| VM_FAULT_MAJOR) having released the fault lock (unless RETRY_NOWAIT).
 * Never VM_FAULT_RETRY together with an error bit.
 */
export function* filemap_fault(vmf: vm_fault): Task<number> {
  sim_assert_fault_locked(vmf);
  const file = vmf.vma.vm_file!;
  let fpin: file | null = null;
  const mapping = file.f_mapping;
  const inode = mapping.host;
  const index = vmf.pgoff;
  let ret = 0;
  let mapping_locked = false;
  let f: folio | number;

  yield 'filemap_fault:i_size_read';
  if (index >= inode.i_size) return VM_FAULT_SIGBUS;

  // Do we have something in the page cache already?
  f = yield* k.fn.filemap_get_folio(mapping, index);
  let need_find = false;
  if (!IS_ERR(f)) {
    // We found the page, so try async readahead before waiting for the lock.
    if (!(vmf.flags & FAULT_FLAG_TRIED)) fpin = yield* k.fn.do_async_mmap_readahead(vmf, f);
    if (!f.uptodate) {
      yield* down_read(mapping.invalidate_lock); // filemap_invalidate_lock_shared
      mapping_locked = true;
    }
  } else {
    // No page in the page cache at all.
    ret = VM_FAULT_MAJOR;
    fpin = yield* k.fn.do_sync_mmap_readahead(vmf);
    need_find = true;
  }

  for (;;) {
    if (need_find) {
      // retry_find:
      need_find = false;
      if (!mapping_locked) {
        yield* down_read(mapping.invalidate_lock);
        mapping_locked = true;
      }
      f = yield* k.fn.__filemap_get_folio(mapping, index, FGP_CREAT | FGP_FOR_MMAP, 0);
      if (IS_ERR(f)) {
        if (fpin) return yield* filemap_fault_out_retry(null, mapping, mapping_locked, fpin, ret);
        up_read(mapping.invalidate_lock);
        return VM_FAULT_OOM;
      }
    }
    const folio = f as folio;
    const lk = yield* k.fn.lock_folio_maybe_drop_mmap(vmf, folio, fpin);
    fpin = lk.fpin;
    if (!lk.locked) return yield* filemap_fault_out_retry(folio, mapping, mapping_locked, fpin, ret);

    // Did it get truncated?
    if (folio.mapping !== mapping) {
      folio_unlock(folio);
      k.fn.folio_put(folio);
      need_find = true;
      continue;
    }
    VM_BUG_ON(folio.index !== index, 'mm/filemap.c: filemap_fault !folio_contains');

    // We have a locked folio in the page cache; is it up to date?
    if (!folio.uptodate) {
      // Not holding the invalidate lock: the folio was uptodate and now is not. Start over locked.
      if (!mapping_locked) {
        folio_unlock(folio);
        k.fn.folio_put(folio);
        need_find = true;
        continue;
      }
      // page_not_uptodate: re-read it once, synchronously, having dropped the fault lock.
      fpin = yield* k.fn.maybe_unlock_mmap_for_io(vmf, fpin);
      const error = yield* k.fn.filemap_read_folio(file, folio);
      if (fpin) return yield* filemap_fault_out_retry(folio, mapping, mapping_locked, fpin, ret);
      k.fn.folio_put(folio);
      if (!error) {
        need_find = true;
        continue;
      }
      up_read(mapping.invalidate_lock);
      return VM_FAULT_SIGBUS;
    }

    // We had to drop the fault lock: return to the arch handler to re-find the VMA and retry.
    if (fpin) {
      folio_unlock(folio);
      return yield* filemap_fault_out_retry(folio, mapping, mapping_locked, fpin, ret);
    }
    if (mapping_locked) up_read(mapping.invalidate_lock);

    // Found the page and have a reference on it. Recheck i_size under the folio lock.
    yield 'filemap_fault:i_size_read';
    if (index >= inode.i_size) {
      folio_unlock(folio);
      k.fn.folio_put(folio);
      return VM_FAULT_SIGBUS;
    }
    vmf.page = folio;
    return ret | VM_FAULT_LOCKED;
  }
}

/** filemap_fault's out_retry: drop the folio reference, the invalidate lock and the file pin. */
function* filemap_fault_out_retry(f: folio | null, mapping: address_space, mapping_locked: boolean, fpin: file | null, ret: number): Task<number> {
  yield 'filemap_fault:out_retry';
  if (f) k.fn.folio_put(f);
  if (mapping_locked) up_read(mapping.invalidate_lock);
  if (fpin) fput(fpin);
  return ret | VM_FAULT_RETRY;
}

/**
 * next_uptodate_folio(&xas, mapping, end_pgoff): the next folio of [index, end_pgoff] that is
 * present, not locked, uptodate and trylockable, still in the mapping and within i_size —
 * returned locked and referenced. Never sleeps.
 */
function* next_uptodate_folio(mapping: address_space, from: number, end_pgoff: number): Task<{ folio: folio; index: number } | null> {
  for (let index = from; index <= end_pgoff; index++) {
    yield 'next_uptodate_folio:xas_next_entry';
    const f = mapping.i_pages.get(index);
    if (f === undefined) continue;
    if (!k.fn.folio_try_get(f)) continue;
    if (folio_test_locked(f) || !f.uptodate) {
      k.fn.folio_put(f);
      continue;
    }
    if (!(yield* folio_trylock(f))) {
      k.fn.folio_put(f);
      continue;
    }
    if (f.mapping !== mapping || !f.uptodate || index >= mapping.host.i_size) {
      folio_unlock(f);
      k.fn.folio_put(f);
      continue;
    }
    return { folio: f, index };
  }
  return null;
}

/**
 * filemap_map_pages(vmf, start_pgoff, end_pgoff): ->map_pages, fault-around. Under rcu_read_lock
 * and the PTL, maps the folios of the range that are already cached, uptodate and trylockable
 * into pte_none slots (read-only, old-style prefault); never sleeps, never starts I/O. Returns
 * VM_FAULT_NOPAGE if the faulting address got mapped. Entered with the fault lock held (6.6+:
 * possibly the VMA lock); vmf->pmd set, vmf->prealloc_pte preallocated when the PMD was empty.
 */
export function* filemap_map_pages(vmf: vm_fault, start_pgoff: number, end_pgoff: number): Task<number> {
  const vma = vmf.vma;
  const mm = vma.vm_mm;
  const mapping = vma.vm_file!.f_mapping;
  let ret = 0;
  let rss = 0;
  sim_assert_fault_locked(vmf);
  rcu_read_lock();
  let next: { folio: folio; index: number } | null = yield* next_uptodate_folio(mapping, start_pgoff, end_pgoff);
  if (next === null) {
    rcu_read_unlock();
    return 0;
  }
  // filemap_map_pmd: install the preallocated PTE table into an empty PMD.
  const pmd = vmf.pmd!;
  if (pmd.table === null && vmf.prealloc_pte !== null) yield* k.fn.pmd_install(mm, pmd, vmf);
  const first_addr = vma.vm_start + ((start_pgoff - vma.vm_pgoff) << PAGE_SHIFT);
  const table = yield* k.fn.pte_offset_map_lock(mm, pmd, first_addr);
  if (table === null) {
    folio_unlock(next.folio);
    k.fn.folio_put(next.folio);
    rcu_read_unlock();
    return 0;
  }
  const file_end = mapping.host.i_size - 1;
  const end = Math.min(end_pgoff, file_end);
  while (next !== null) {
    const f: folio = next.folio;
    const index: number = next.index;
    const addr = vma.vm_start + ((index - vma.vm_pgoff) << PAGE_SHIFT);
    // filemap_map_order0_folio
    yield 'filemap_map_pages:ptep_get';
    if (index <= end && k.fn.ptep_get(table, addr).kind === 'none') {
      if (vmf.address === addr) ret = VM_FAULT_NOPAGE;
      vmf.pte = table;
      k.fn.set_pte_range(vmf, f, 1, addr);
      refcount_inc(f._refcount); // folio_ref_inc: the mapping's reference
      rss++;
    }
    folio_unlock(f);
    k.fn.folio_put(f);
    next = index < end ? yield* next_uptodate_folio(mapping, index + 1, end) : null;
  }
  mm.rss_stat.MM_FILEPAGES += rss; // add_mm_counter
  k.fn.pte_unmap_unlock(table);
  vmf.pte = null;
  rcu_read_unlock();
  return ret;
}

/**
 * filemap_page_mkwrite(vmf): ->page_mkwrite: a write fault on a shared file page. Locks the
 * folio, re-checks truncation (VM_FAULT_NOPAGE), marks it dirty; VM_FAULT_LOCKED.
 */
export function* filemap_page_mkwrite(vmf: vm_fault): Task<number> {
  const mapping = vmf.vma.vm_file!.f_mapping;
  const f = vmf.page!;
  yield* folio_lock(f);
  if (f.mapping !== mapping) {
    folio_unlock(f);
    return VM_FAULT_NOPAGE;
  }
  f.dirty = true; // folio_mark_dirty
  yield* k.fn.folio_wait_writeback(f); // folio_wait_stable
  return VM_FAULT_LOCKED;
}

/** generic_file_vm_ops: the ops of a mapped regular file; each goes through the function table. */
export const generic_file_vm_ops: vm_operations_struct = {
  name: 'generic_file_vm_ops',
  fault: (vmf) => k.fn.filemap_fault(vmf),
  map_pages: (vmf, start, end) => k.fn.filemap_map_pages(vmf, start, end),
  page_mkwrite: (vmf) => k.fn.filemap_page_mkwrite(vmf),
};

// ---------------------------------------------------------------------------------------------
// pread / pwrite of one page

/**
 * filemap_read (one page): the data of page `index`, reading it into the page cache when absent
 * (page_cache_sync_readahead, then waiting for the folio lock = the I/O, filemap_update_page) —
 * or 0 beyond EOF. -EIO on a read error.
 */
export function* filemap_read(file: file, index: number): Task<number> {
  const mapping = file.f_mapping;
  const inode = mapping.host;
  yield 'filemap_read:i_size_read';
  if (index >= inode.i_size) return 0;
  for (;;) {
    let f = yield* k.fn.filemap_get_folio(mapping, index);
    if (IS_ERR(f)) {
      yield* k.fn.page_cache_ra_unbounded(mapping, index, RA_PAGES); // page_cache_sync_readahead
      f = yield* k.fn.filemap_get_folio(mapping, index);
      if (IS_ERR(f)) {
        // filemap_create_folio
        f = yield* k.fn.__filemap_get_folio(mapping, index, FGP_CREAT | FGP_FOR_MMAP, 0);
        if (IS_ERR(f)) return f;
      }
    }
    if (!f.uptodate) {
      // filemap_update_page: wait for the read in flight (the folio lock), or read it ourselves.
      yield* folio_lock(f);
      if (f.mapping === null) {
        folio_unlock(f);
        k.fn.folio_put(f);
        continue;
      }
      if (!f.uptodate) {
        const err = yield* k.fn.filemap_read_folio(file, f);
        k.fn.folio_put(f);
        if (err) return err;
        continue;
      }
      folio_unlock(f);
    }
    // i_size must be checked after we know the page is uptodate.
    yield 'filemap_read:copy_folio_to_iter';
    kasan_check_read(f, 'filemap_read (copy_folio_to_iter)');
    const v = index < inode.i_size ? f.data : 0;
    k.fn.folio_put(f);
    return v;
  }
}

/**
 * generic_perform_write (one whole page) under inode_lock: write_begin finds or creates the folio
 * locked (FGP_WRITEBEGIN), the copy makes it uptodate and dirty, write_end extends i_size.
 */
export function* generic_perform_write(file: file, index: number, value: number): Task<number> {
  const mapping = file.f_mapping;
  const inode = mapping.host;
  yield* down_write(inode.i_rwsem); // inode_lock
  const f = yield* k.fn.__filemap_get_folio(mapping, index, FGP_WRITEBEGIN, 0);
  if (IS_ERR(f)) {
    up_write(inode.i_rwsem);
    return f;
  }
  yield 'generic_perform_write:copy_page_from_iter_atomic';
  kasan_check_write(f, 'generic_perform_write (copy_page_from_iter_atomic)');
  f.data = value;
  f.uptodate = true; // a full-page write: folio_mark_uptodate in ->write_end
  f.dirty = true; // folio_mark_dirty
  if (index >= inode.i_size) inode.i_size = index + 1; // i_size_write
  folio_unlock(f);
  k.fn.folio_put(f);
  up_write(inode.i_rwsem);
  return 0;
}

/** pread(2) of one page of a file: {value} or -EBADF / -EIO. */
export function* sim_sys_pread(op: PreadOp): Task<ModelResult> {
  const file = k.files.get(op.file);
  if (!file) return { kind: 'errno', errno: -EBADF };
  const v = yield* k.fn.filemap_read(file, op.page);
  return v < 0 ? { kind: 'errno', errno: v } : { kind: 'value', value: v };
}

/** pwrite(2) of one page of a file: ok, or -EBADF / -EINVAL / -ENOMEM. */
export function* sim_sys_pwrite(op: PwriteOp): Task<ModelResult> {
  const file = k.files.get(op.file);
  if (!file) return { kind: 'errno', errno: -EBADF };
  if (!Number.isInteger(op.page) || op.page < 0) return { kind: 'errno', errno: -22 };
  const r = yield* k.fn.generic_perform_write(file, op.page, op.value);
  return r < 0 ? { kind: 'errno', errno: r } : { kind: 'ok' };
}
