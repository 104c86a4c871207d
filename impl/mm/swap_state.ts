/**
 * Kernel: mm/swap_state.c (6.8-era) — the swap cache: entry → folio, in the swap device's
 * address_space (swapper_spaces[type]->i_pages), and swap-in through it.
 *
 * A swap-cache folio has PG_swapcache, folio->swap = its entry, one reference held by the cache,
 * and the entry's SWAP_HAS_CACHE flag. A folio enters the cache when reclaim gives it a slot
 * (add_to_swap) or when swap-in reads it (__read_swap_cache_async, after claiming
 * SWAP_HAS_CACHE with swapcache_prepare, so two racing swap-ins of one entry share one folio:
 * the loser finds the winner's folio, locked while its read is in flight). It leaves when the
 * swap is freed (folio_free_swap) or reclaim drops the clean, unmapped folio (__remove_mapping).
 *
 * The i_pages xa_lock sections are atomic with the caller's step where callers hold other
 * spinlocks (delete_from_swap_cache); add_to_swap_cache takes the lock as a step of its own.
 * Left out: shadow entries and workingset refaults, memcg charging, swap readahead beyond the
 * faulting entry (swap_cluster_readahead / swap_vma_readahead read only `entry`: neighbouring
 * slots would only add I/O), large folios.
 */
import type { Task } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import type { address_space, folio, swp_entry_t, vm_area_struct, vm_fault } from '../include/linux/mm_types.js';
import { SWAP_HAS_CACHE, swap_info_struct, swp_offset } from '../include/linux/swap.js';
import { VM_BUG_ON } from '../include/linux/mmdebug.js';
import { EEXIST, EINVAL } from '../include/linux/errno.js';
import { folio_lock, folio_test_locked, folio_unlock } from '../sync/bitlock.js';
import { spin_lock, spin_unlock } from '../sync/spinlock.js';
import { refcount_add } from '../sync/refcount.js';
import { waitUntil } from '../rt/task.js';

/** swap_address_space(entry): the swap cache of the entry's device. */
export function swap_address_space(entry: swp_entry_t): address_space | null {
  return k.fn.swp_swap_info(entry)?.swap_cache ?? null;
}

function folio_ref_sub(f: folio, nr: number): void {
  VM_BUG_ON(f._refcount.refs - nr <= 0, `mm/swap_state.c: folio_ref_sub would free ${f.name} (the caller must hold a reference)`);
  f._refcount.refs -= nr;
}

/**
 * add_to_swap_cache(folio, entry, gfp, shadowp): insert a locked folio whose entry already has
 * SWAP_HAS_CACHE. The cache takes a reference. 0, or -EEXIST when the slot is taken.
 */
export function* add_to_swap_cache(f: folio, entry: swp_entry_t): Task<number> {
  const space = k.fn.swap_address_space(entry);
  VM_BUG_ON(!folio_test_locked(f), 'mm/swap_state.c: add_to_swap_cache !folio_test_locked');
  VM_BUG_ON(f.swapcache, 'mm/swap_state.c: add_to_swap_cache folio_test_swapcache');
  VM_BUG_ON(!f.swapbacked, 'mm/swap_state.c: add_to_swap_cache !folio_test_swapbacked');
  if (!space) return -EINVAL;
  refcount_add(1, f._refcount);
  f.swapcache = true;
  f.swap = entry;
  yield* spin_lock(space.i_pages_lock);
  if (space.i_pages.has(swp_offset(entry))) {
    spin_unlock(space.i_pages_lock);
    f.swapcache = false;
    f.swap = 0;
    folio_ref_sub(f, 1);
    return -EEXIST;
  }
  space.i_pages.set(swp_offset(entry), f);
  spin_unlock(space.i_pages_lock);
  return 0;
}

/** __delete_from_swap_cache(folio, entry, shadow): under the i_pages lock. */
function __delete_from_swap_cache(f: folio, entry: swp_entry_t, space: address_space): void {
  VM_BUG_ON(!folio_test_locked(f), 'mm/swap_state.c: __delete_from_swap_cache !folio_test_locked');
  VM_BUG_ON(!f.swapcache, 'mm/swap_state.c: __delete_from_swap_cache !folio_test_swapcache');
  VM_BUG_ON(f.writeback, 'mm/swap_state.c: __delete_from_swap_cache folio_test_writeback');
  VM_BUG_ON(space.i_pages.get(swp_offset(entry)) !== f, `mm/swap_state.c: __delete_from_swap_cache: ${f.name} not at entry ${entry}`);
  space.i_pages.delete(swp_offset(entry));
  f.swapcache = false;
  f.swap = 0;
}

/**
 * delete_from_swap_cache(folio): remove a locked folio from the swap cache, give back the
 * entry's SWAP_HAS_CACHE (freeing the slot if no swap PTE references it) and the cache's reference.
 */
export function delete_from_swap_cache(f: folio): void {
  const entry = f.swap;
  const space = k.fn.swap_address_space(entry);
  if (!space) throw new Error(`delete_from_swap_cache: no swap device for ${f.name}`);
  __delete_from_swap_cache(f, entry, space);
  k.fn.put_swap_folio(f, entry);
  folio_ref_sub(f, 1);
}

/**
 * add_to_swap(folio): give a locked, uptodate anonymous folio a swap slot and put it in the swap
 * cache, dirty (it must be written before it can be dropped). False when swap is full.
 */
export function* add_to_swap(f: folio): Task<boolean> {
  VM_BUG_ON(!folio_test_locked(f), 'mm/swap_state.c: add_to_swap !folio_test_locked');
  VM_BUG_ON(!f.uptodate, 'mm/swap_state.c: add_to_swap !folio_test_uptodate');
  const entry = k.fn.folio_alloc_swap(f);
  if (entry === 0) return false;
  const err = yield* k.fn.add_to_swap_cache(f, entry);
  if (err) {
    k.fn.put_swap_folio(f, entry);
    return false;
  }
  f.dirty = true; // folio_mark_dirty
  return true;
}

/**
 * swap_cache_get_folio(entry, vma, addr): look the entry up in the swap cache; the folio comes
 * back with a reference (not locked: it may still be under read I/O). null on a miss.
 */
export function* swap_cache_get_folio(entry: swp_entry_t, _vma: vm_area_struct | null, _addr: number): Task<folio | null> {
  const space = k.fn.swap_address_space(entry);
  if (!space) return null;
  const f = yield* k.fn.filemap_get_folio(space, swp_offset(entry));
  return typeof f === 'number' ? null : f;
}

/**
 * __read_swap_cache_async(entry, gfp, vma, addr, &new_page_allocated): the entry's swap-cache
 * folio, creating it — locked, !uptodate, SWAP_HAS_CACHE claimed — when absent (the caller
 * starts the read). null when the entry was freed meanwhile or memory ran out.
 */
export function* __read_swap_cache_async(
  entry: swp_entry_t, gfp: number, vma: vm_area_struct | null, addr: number,
): Task<{ readonly folio: folio; readonly allocated: boolean } | null> {
  const si = k.fn.get_swap_device(entry);
  if (!si) return null;
  let f: folio | null = null;
  for (;;) {
    // First check the swap cache.
    const found = yield* k.fn.filemap_get_folio(si.swap_cache, swp_offset(entry));
    if (typeof found !== 'number') {
      k.fn.put_swap_device(si);
      return { folio: found, allocated: false };
    }
    // Just skip read ahead for unused swap slot. During swapoff, when the swap slot cache is
    // disabled, the race between putting the entry in the swap cache and marking the slot
    // SWAP_HAS_CACHE is handled below, or else swapoff would be aborted by a NULL return.
    if (k.fn.swap_swapcount(si, entry) === 0 && k.fn.sim_swap_slot_cache_enabled()) break;
    // Allocate before claiming SWAP_HAS_CACHE, so racers loop until the folio is in the cache.
    f = vma ? yield* k.fn.vma_alloc_folio(gfp, 0, vma, addr) : yield* k.fn.folio_alloc();
    if (!f) break;
    const err = k.fn.swapcache_prepare(entry);
    if (!err) {
      // The swap entry is ours to swap in.
      yield* folio_lock(f); // __folio_set_locked: nobody else can see the folio yet
      f.swapbacked = true; // __folio_set_swapbacked
      if ((yield* k.fn.add_to_swap_cache(f, entry)) !== 0) {
        k.fn.put_swap_folio(f, entry);
        folio_unlock(f);
        k.fn.folio_put(f);
        f = null;
        break;
      }
      // Caller will initiate read into locked folio (folio_add_lru: on the LRU from here, so
      // reclaim and khugepaged's scan may take it once it is mapped).
      f.lru = true;
      // The cache holds its own reference now; ours goes to the caller.
      k.fn.put_swap_device(si);
      return { folio: f, allocated: true };
    }
    k.fn.folio_put(f);
    f = null;
    if (err !== -EEXIST) break;
    // We raced with __delete_from_swap_cache() or another __read_swap_cache_async() that has set
    // SWAP_HAS_CACHE but not yet added its folio: schedule_timeout_uninterruptible(1), then look
    // again. Modelled as a wait until the flag is gone or the folio is in the cache.
    yield* waitUntil('__read_swap_cache_async:schedule_timeout_uninterruptible', () =>
      (si.swap_map[swp_offset(entry)]! & SWAP_HAS_CACHE) === 0 || si.swap_cache.i_pages.has(swp_offset(entry)), si);
  }
  k.fn.put_swap_device(si);
  return null;
}

/**
 * read_swap_cache_async(entry, gfp, vma, addr, plug): the swap-cache folio of the entry, with the
 * read started if this call created it (the folio stays locked until the read completes).
 */
export function* read_swap_cache_async(entry: swp_entry_t, gfp: number, vma: vm_area_struct | null, addr: number): Task<folio | null> {
  const r = yield* k.fn.__read_swap_cache_async(entry, gfp, vma, addr);
  if (!r) return null;
  if (r.allocated) yield* k.fn.swap_read_folio(r.folio, false);
  return r.folio;
}

/**
 * swapin_readahead(entry, gfp, vmf): swap in through the swap cache (the readahead window is the
 * faulting entry only). The read is asynchronous: the folio comes back locked until it completes.
 */
export function* swapin_readahead(entry: swp_entry_t, gfp: number, vmf: vm_fault): Task<folio | null> {
  return yield* k.fn.read_swap_cache_async(entry, gfp, vmf.vma, vmf.address);
}

/** The swap device of this run, or null (for tests and checks). */
export function sim_swap_info(): swap_info_struct | null {
  return k.fn.swp_swap_info(1);
}
