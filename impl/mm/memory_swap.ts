/**
 * Kernel: mm/memory.c (do_swap_page) — swap-in of a non-present PTE, in each era's form:
 *
 *  - 6.4 (5e31275cc997): under the VMA lock do_swap_page gives up at once with VM_FAULT_RETRY
 *    (the arch code drops the VMA lock and retries under mmap_lock).
 *  - 6.6+ ("mm: handle swap page faults under per-VMA lock", Suren Baghdasaryan): runs under the
 *    VMA lock; waiting for the read is folio_lock_or_retry, which drops the fault lock (VMA or
 *    mmap) on a first try and returns VM_FAULT_RETRY (I19).
 *  - SWP_SYNCHRONOUS_IO devices with a swap count of 1 skip the swap cache (0bcac06f27d7): a
 *    private folio is read synchronously. Since 13ddaf26be32 (6.8, k.cfg.swapcache_prepare_on_skip)
 *    the entry is pinned with swapcache_prepare (SWAP_HAS_CACHE) across the read and the pte_same
 *    check, and unpinned by swapcache_clear after the PT unlock; racers back off and refault.
 *    Without the pin, pte_same on the swap PTE is fooled once the slot is freed and reused (B17, I14).
 *  - Otherwise swapin_readahead reads through the swap cache with asynchronous I/O; after locking
 *    the folio, folio_test_swapcache + folio->swap == entry re-checks that it still belongs to the
 *    entry (folio_matches_swap_entry).
 *  - get_swap_device()/put_swap_device() bracket the whole fault (I15).
 *  - k.cfg.io_hold_vma_lock (a design proposal, not a kernel): under the VMA lock, wait for the
 *    read holding the VMA read lock (folio_lock) instead of dropping it and retrying.
 *
 * Left out: device-private/exclusive entries, hwpoison, KSM copies, large folios, memcg charging,
 * workingset refaults, arch_swap_restore, mmu notifiers; migration entries only wait and refault.
 */
import type { Task } from '../rt/task.js';
import { waitUntil } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import type { folio, pte_t, pte_table, vm_fault } from '../include/linux/mm_types.js';
import { folio_test_anon } from '../include/linux/mm_types.js';
import type { swap_info_struct } from '../include/linux/swap.js';
import { SWAP_HAS_CACHE, SWP_STABLE_WRITES, SWP_SYNCHRONOUS_IO, swp_offset } from '../include/linux/swap.js';
import {
  FAULT_FLAG_VMA_LOCK, FAULT_FLAG_WRITE, VM_FAULT_ERROR, VM_FAULT_HWPOISON, VM_FAULT_MAJOR, VM_FAULT_OOM, VM_FAULT_RETRY,
  VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV, VM_LOCKED, VM_WRITE,
} from '../include/linux/mm_flags.js';
import { VM_BUG_ON } from '../include/linux/mmdebug.js';
import { folio_lock, folio_unlock } from '../sync/bitlock.js';

/** pte_unmap_same(vmf): x86-64 reads a PTE atomically, so only unmap (no PTL re-check). */
function pte_unmap_same(vmf: vm_fault): boolean {
  if (vmf.pte) k.fn.pte_unmap(vmf.pte);
  vmf.pte = null;
  return true;
}

/** vm_swap_full(): more than half of the swap space is in use. */
function vm_swap_full(si: swap_info_struct): boolean {
  return si.inuse_pages * 2 > si.max - 1;
}

/**
 * should_try_to_free_swap(folio, vma, fault_flags): free the swap-cache copy on swap-in when swap
 * is filling up, the VMA is mlocked, or a write fault would otherwise fail the exclusivity check
 * only because of the swap cache's reference.
 */
function should_try_to_free_swap(si: swap_info_struct, f: folio, vm_flags: number, fault_flags: number): boolean {
  if (!f.swapcache) return false;
  if (vm_swap_full(si) || (vm_flags & VM_LOCKED) !== 0) return true;
  return (fault_flags & FAULT_FLAG_WRITE) !== 0 && f._refcount.refs === 2;
}

/** Non-swap entries reach do_swap_page too (!pte_present): migration entries and PTE markers. */
function* do_swap_page_nonswap(vmf: vm_fault, orig: pte_t): Task<number> {
  if (orig.kind === 'migration') {
    // migration_entry_wait: sleep until the migration finished (the folio is unlocked), refault.
    const f = orig.folio;
    yield* waitUntil('migration_entry_wait', () => f.lockOwner === -1, f);
    return 0;
  }
  if (orig.kind === 'marker') {
    // handle_pte_marker
    if (orig.marker === 'guard') return VM_FAULT_SIGSEGV;
    if (orig.marker === 'poison') return VM_FAULT_HWPOISON;
    // pte_marker_handle_uffd_wp: the page is simply missing.
    return yield* k.fn.do_pte_missing(vmf);
  }
  return VM_FAULT_SIGBUS;
}

/**
 * do_swap_page(vmf): the PTE at vmf->address held a swap entry (vmf->orig_pte, read locklessly;
 * vmf->pte mapped). Entered with the fault lock held: mmap_read_lock, or the VMA read lock with
 * FAULT_FLAG_VMA_LOCK. On VM_FAULT_RETRY the fault lock has been released (6.6+, or under
 * mmap_lock), except in 6.4 under the VMA lock, where the arch code releases it. Otherwise the
 * lock is still held; 0 / VM_FAULT_MAJOR when mapped or when someone else changed the PTE
 * (refault), VM_FAULT_SIGBUS on a read error, VM_FAULT_OOM.
 */
export function* do_swap_page(vmf: vm_fault): Task<number> {
  const vma = vmf.vma;
  const mm = vma.vm_mm;
  const orig_pte = vmf.orig_pte;
  let ret = 0;

  if (!pte_unmap_same(vmf)) return 0;

  if (!k.cfg.swap_under_vma_lock && (vmf.flags & FAULT_FLAG_VMA_LOCK)) {
    // 6.4: swap faults are not handled under the VMA lock.
    if (k.cfg.vma_lock_released_by_handler) yield* k.fn.vma_end_read(vma);
    return VM_FAULT_RETRY;
  }

  if (orig_pte.kind !== 'swap') return yield* do_swap_page_nonswap(vmf, orig_pte);
  const entry = orig_pte.entry;

  // Prevent swapoff from happening to us. (A step of its own: pte_unmap_same has left the RCU
  // section pte_offset_map entered, and percpu_ref_tryget_live races with swapoff's
  // percpu_ref_kill.)
  yield 'do_swap_page:get_swap_device';
  const si = k.fn.get_swap_device(entry);
  if (!si) {
    // goto out: return 0 and the access faults again at once — a spin until the swap PTE
    // changes. swapoff has killed si->users after try_to_unuse, so the entry is one a racing
    // do_swap_page has swap_free'd and is about to replace, holding the PTL (not preemptible)
    // until its set_pte_at. Modelled as a wait for that change, as the other spins here: an
    // unfair schedule would otherwise starve the PTL holder and report the spin as a livelock.
    const pmd = vmf.pmd!;
    const idx = k.fn.pte_index(vmf.address);
    const same = k.fn.pte_same;
    yield* waitUntil('do_swap_page:get_swap_device', () => {
      const t = pmd.table;
      return t === null || t.freed || !same(t.entries[idx]!, orig_pte);
    }, pmd);
    return 0;
  }

  let need_clear_cache = false;
  let table: pte_table | null = null;
  let f: folio | null = yield* k.fn.swap_cache_get_folio(entry, vma, vmf.address);
  let swapcache: folio | null = f;

  // The exits, as the kernel's labels.
  const out = (): number => {
    // Clear the swap cache pin for direct swapin after PTL unlock.
    if (need_clear_cache) k.fn.swapcache_clear(si, entry);
    k.fn.put_swap_device(si);
    return ret;
  };
  const out_release = (): number => {
    k.fn.folio_put(f!);
    return out();
  };
  const out_page = (): number => {
    folio_unlock(f!);
    return out_release();
  };
  const out_nomap = (): number => {
    if (table) k.fn.pte_unmap_unlock(table);
    vmf.pte = null;
    return out_page();
  };

  if (!f) {
    if ((si.flags & SWP_SYNCHRONOUS_IO) !== 0 && k.fn.__swap_count(entry) === 1) {
      if (k.cfg.swapcache_prepare_on_skip) {
        // Prevent parallel swapin from proceeding with the cache flag. Otherwise, another thread
        // may finish swapin first, free the entry, and swapout reusing the same entry. It's
        // undetectable as pte_same() returns true due to entry reuse.
        if (k.fn.swapcache_prepare(entry)) {
          // Relax a bit to prevent rapid repeated page faults: schedule_timeout_uninterruptible(1)
          // on swapcache_wq (01626a182302), woken by swapcache_clear — modelled as a wait for the
          // pin to go (or the entry's folio to appear in the swap cache), then refault.
          const off = swp_offset(entry);
          yield* waitUntil('do_swap_page:swapcache_wq', () =>
            (si.swap_map[off]! & SWAP_HAS_CACHE) === 0 || si.swap_cache.i_pages.has(off), si);
          return out();
        }
        need_clear_cache = true;
      }
      // skip swapcache
      f = yield* k.fn.vma_alloc_folio(0, 0, vma, vmf.address);
      if (f) {
        yield* folio_lock(f); // __folio_set_locked: the folio is private
        f.swapbacked = true; // __folio_set_swapbacked
        f.lru = true; // folio_add_lru
        // To provide entry to swap_read_folio()
        f.swap = entry;
        yield* k.fn.swap_read_folio(f, true);
        f.swap = 0; // folio->private = NULL
      }
    } else {
      f = yield* k.fn.swapin_readahead(entry, 0, vmf);
      swapcache = f;
    }

    if (!f) {
      // Back out if somebody else faulted in this pte while we released the pte lock.
      table = yield* k.fn.pte_offset_map_lock(mm, vmf.pmd!, vmf.address);
      if (table && k.fn.pte_same(k.fn.ptep_get(table, vmf.address), orig_pte)) ret = VM_FAULT_OOM;
      if (table) k.fn.pte_unmap_unlock(table);
      return out();
    }
    // Had to read the page from swap area: Major fault
    ret = VM_FAULT_MAJOR;
  }

  // Wait for the read (the folio is locked while it is in flight).
  if (k.cfg.io_hold_vma_lock && (vmf.flags & FAULT_FLAG_VMA_LOCK)) {
    yield* folio_lock(f); // proposal: sleep for the I/O holding the VMA read lock
  } else {
    ret |= yield* k.fn.folio_lock_or_retry(f, vmf);
    if (ret & VM_FAULT_RETRY) return out_release();
  }

  if (swapcache) {
    // Make sure folio_free_swap() or swapoff did not release the swapcache from under us. The
    // folio pin, and the pte_same test below, are not enough to exclude that. Even if it is
    // still swapcache, we need to check that the folio's swap has not changed.
    if (!f.swapcache || f.swap !== entry) return out_page();
  }

  // Back out if somebody else already faulted in this pte.
  yield 'do_swap_page:pte_offset_map_lock';
  table = yield* k.fn.pte_offset_map_lock(mm, vmf.pmd!, vmf.address);
  vmf.pte = table;
  if (!table || !k.fn.pte_same(k.fn.ptep_get(table, vmf.address), orig_pte)) return out_nomap();

  if (!f.uptodate) {
    ret = VM_FAULT_SIGBUS;
    return out_nomap();
  }

  let exclusive = orig_pte.exclusive;
  if (f !== swapcache) {
    // We have a fresh folio that is not exposed to the swapcache -> certainly exclusive.
    exclusive = true;
  } else if (exclusive && f.writeback && (si.flags & SWP_STABLE_WRITES) !== 0) {
    exclusive = false;
  }

  // Remove the swap entry and conditionally try to free up the swapcache. We're already holding
  // a reference on the folio but haven't mapped it yet.
  k.fn.swap_free(entry);
  if (should_try_to_free_swap(si, f, vma.vm_flags, vmf.flags)) k.fn.folio_free_swap(f);

  mm.rss_stat.MM_ANONPAGES++;
  mm.rss_stat.MM_SWAPENTS--;
  let write = false;
  let dirty = false;
  let rmap_exclusive = false;
  // Same logic as in do_wp_page(); optimize for folios that are certainly not shared.
  if (exclusive || f._refcount.refs === 1) {
    if (vmf.flags & FAULT_FLAG_WRITE) {
      write = (vma.vm_flags & VM_WRITE) !== 0; // maybe_mkwrite(pte_mkdirty(pte), vma)
      dirty = true;
      vmf.flags &= ~FAULT_FLAG_WRITE;
    }
    rmap_exclusive = true;
  }
  const pte: pte_t = { kind: 'present', folio: f, write, dirty, young: true, special: false, uffd_wp: orig_pte.uffd_wp };
  vmf.orig_pte = pte;

  if (!folio_test_anon(f)) {
    k.fn.folio_add_new_anon_rmap(f, vma, vmf.address, rmap_exclusive); // rmap_flags
  } else {
    k.fn.folio_add_anon_rmap_pte(f, vma, vmf.address, rmap_exclusive); // RMAP_EXCLUSIVE
  }
  VM_BUG_ON(!folio_test_anon(f) || (pte.write && !f.anon_exclusive), 'mm/memory.c: do_swap_page !folio_test_anon || (pte_write && !PageAnonExclusive)');
  yield 'do_swap_page:set_pte_at';
  k.fn.set_pte_at(mm, vmf.address, table, pte);

  folio_unlock(f);

  if (vmf.flags & FAULT_FLAG_WRITE) {
    // do_wp_page is entered with the PTL held and releases it.
    ret |= yield* k.fn.do_wp_page(vmf);
    if (ret & VM_FAULT_ERROR) ret &= VM_FAULT_ERROR;
    vmf.pte = null;
    return out();
  }
  k.fn.pte_unmap_unlock(table);
  vmf.pte = null;
  return out();
}
