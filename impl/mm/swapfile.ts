/**
 * Kernel: mm/swapfile.c (6.8-era, with the 13ddaf26be32 swapcache_clear) — the swap device's
 * slot map: allocation, reference counts, the SWAP_HAS_CACHE pin, device lifetime.
 *
 * swap_map[offset] counts the swap PTEs that reference a slot, | SWAP_HAS_CACHE while a
 * swap-cache folio exists for it (or a skip-swapcache swap-in pinned it with swapcache_prepare).
 * When the count and the flag both reach 0 the slot is free: its contents are discarded
 * (zram_slot_free_notify) and the lowest free slot is the next one handed out, so a freed entry
 * is reused at once (the reuse the B17 ABA needs). Slot 0 is the swap header (SWAP_MAP_BAD), so
 * entry 0 means "no entry", as entry.val == 0 does in the kernel.
 *
 * Each swap_map update runs under the cluster lock in the kernel; here it is atomic with the
 * caller's step (plain functions; swap_duplicate, called in loops under the PTL by fork and
 * try_to_unmap, is a step of its own).
 * get_swap_device()/put_swap_device() bracket every use of the device (I15): a percpu_ref
 * stand-in that swapoff kills and drains.
 *
 * Left out: clusters, the per-CPU slot caches, COUNT_CONTINUED, SWP_MAP_SHMEM, priorities,
 * discard, large folios (swap_free_nr frees consecutive entries one by one), try_to_unuse's
 * shmem and mm walk (swapoff only waits for users and fails with -EBUSY while entries are in use).
 */
import type { Task } from '../rt/task.js';
import { block } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import type { folio, swp_entry_t } from '../include/linux/mm_types.js';
import {
  SWAP_HAS_CACHE, SWAP_MAP_BAD, SWAP_MAP_MAX, SWP_WRITEOK, swap_count, swap_info_struct, swp_offset,
} from '../include/linux/swap.js';
import { VM_BUG_ON, WARN_ON_ONCE } from '../include/linux/mmdebug.js';
import { EBUSY, EEXIST, EINVAL, ENOENT, ENOMEM } from '../include/linux/errno.js';
import { folio_test_locked, folio_trylock, folio_unlock } from '../sync/bitlock.js';

interface sim_swap_state {
  si: swap_info_struct | null;
}

function swap_state(): sim_swap_state {
  return k.state<sim_swap_state>('swap', () => ({ si: null }));
}

/**
 * sim_swapon(nr_slots, synchronous): set up the one swap device (the swapon(2) work done before
 * user space starts): `nr_slots` usable slots after the header slot.
 */
export function sim_swapon(nr_slots: number, synchronous: boolean): swap_info_struct {
  const si = new swap_info_struct(nr_slots + 1, synchronous);
  si.swap_map[0] = SWAP_MAP_BAD; // the swap header page
  swap_state().si = si;
  return si;
}

/** swp_swap_info(entry) / swap_type_to_swap_info(): the device of an entry (no reference taken). */
export function swp_swap_info(_entry: swp_entry_t): swap_info_struct | null {
  return swap_state().si;
}

/**
 * get_swap_device(entry): pin the device against swapoff (percpu_ref_tryget_live(&si->users)),
 * or null when there is no device, it is being swapped off, or the offset is out of range.
 */
export function get_swap_device(entry: swp_entry_t): swap_info_struct | null {
  const si = k.fn.swp_swap_info(entry);
  if (!si) return null;
  if (!si.users.live) return null;
  si.users.count++;
  if (swp_offset(entry) >= si.max || swp_offset(entry) === 0) {
    si.users.count--;
    return null;
  }
  return si;
}

/** put_swap_device(si): percpu_ref_put(&si->users). */
export function put_swap_device(si: swap_info_struct): void {
  VM_BUG_ON(si.users.count <= 0, 'mm/swapfile.c: put_swap_device without get_swap_device');
  si.users.count--;
}

/** __swap_count(entry): the map count of the entry, without SWAP_HAS_CACHE. */
export function __swap_count(entry: swp_entry_t): number {
  const si = k.fn.swp_swap_info(entry)!;
  return swap_count(si.swap_map[swp_offset(entry)]!);
}

/** swap_swapcount(si, entry): the same for a pinned device. */
export function swap_swapcount(si: swap_info_struct, entry: swp_entry_t): number {
  return swap_count(si.swap_map[swp_offset(entry)]!);
}

/**
 * folio_alloc_swap(folio) / get_swap_pages(): allocate a slot for a folio about to enter the swap
 * cache; the slot starts as SWAP_HAS_CACHE. Lowest free slot first. Returns 0 when full.
 */
export function folio_alloc_swap(f: folio): swp_entry_t {
  VM_BUG_ON(!folio_test_locked(f), 'mm/swapfile.c: folio_alloc_swap !folio_test_locked');
  const si = swap_state().si;
  if (!si || (si.flags & SWP_WRITEOK) === 0) return 0;
  for (let off = 1; off < si.max; off++) {
    if (si.swap_map[off] === 0) {
      si.swap_map[off] = SWAP_HAS_CACHE;
      si.inuse_pages++;
      return off;
    }
  }
  return 0;
}

/** The slot is free again: return it to the allocator and let the device discard its data. */
function swap_entry_free(si: swap_info_struct, offset: number): void {
  si.swap_map[offset] = 0;
  si.slots[offset] = 0; // zram_slot_free_notify: the data is gone
  si.inuse_pages--;
}

/**
 * __swap_entry_free_locked(si, offset, usage): drop one reference (usage 1) or the cache flag
 * (usage SWAP_HAS_CACHE); frees the slot when nothing is left. Returns the remaining usage.
 */
function __swap_entry_free_locked(si: swap_info_struct, offset: number, usage: number): number {
  let count = si.swap_map[offset]!;
  let has_cache = count & SWAP_HAS_CACHE;
  count &= ~SWAP_HAS_CACHE;
  if (usage === SWAP_HAS_CACHE) {
    VM_BUG_ON(!has_cache, 'mm/swapfile.c: __swap_entry_free_locked !has_cache');
    has_cache = 0;
  } else {
    VM_BUG_ON(count === 0, `mm/swapfile.c: swap_free of unused swap entry ${offset} (bad swap entry)`);
    count--;
  }
  const left = count | has_cache;
  if (left) si.swap_map[offset] = left;
  else swap_entry_free(si, offset);
  return left;
}

/**
 * __swap_duplicate(entry, usage): add a reference (usage 1, swap_duplicate) or claim the cache
 * flag (usage SWAP_HAS_CACHE, swapcache_prepare). -EEXIST: someone else has the cache flag;
 * -ENOENT: the entry is not in use any more (freed meanwhile).
 */
function __swap_duplicate(entry: swp_entry_t, usage: number): number {
  const si = k.fn.swp_swap_info(entry);
  if (!si) return -EINVAL;
  const offset = swp_offset(entry);
  let count = si.swap_map[offset]!;
  if (swap_count(count) === SWAP_MAP_BAD) return -ENOENT;
  let has_cache = count & SWAP_HAS_CACHE;
  count &= ~SWAP_HAS_CACHE;
  let err = 0;
  if (usage === SWAP_HAS_CACHE) {
    if (!has_cache && count) has_cache = SWAP_HAS_CACHE;
    else if (has_cache) err = -EEXIST; // someone else added cache
    else err = -ENOENT; // no users remaining
  } else if (count || has_cache) {
    if (count < SWAP_MAP_MAX) count += usage;
    else err = -ENOMEM;
  } else {
    err = -ENOENT; // unused swap entry
  }
  si.swap_map[offset] = count | has_cache;
  return err;
}

/**
 * swap_duplicate(entry): one more swap PTE references the entry (fork's copy_nonpresent_pte,
 * try_to_unmap_one). 0 or -errno. A step of its own (the cluster lock), callable under the PTL.
 */
export function* swap_duplicate(entry: swp_entry_t): Task<number> {
  yield 'swap_duplicate:lock_cluster';
  return __swap_duplicate(entry, 1);
}

/**
 * swapcache_prepare(entry): claim SWAP_HAS_CACHE before adding a folio to the swap cache — and,
 * since 13ddaf26be32, to pin the entry during a skip-swapcache swap-in.
 */
export function swapcache_prepare(entry: swp_entry_t): number {
  return __swap_duplicate(entry, SWAP_HAS_CACHE);
}

/**
 * swapcache_clear(si, entry): drop the skip-swapcache pin (after the PT unlock), freeing the slot
 * if nothing else references it.
 */
export function swapcache_clear(si: swap_info_struct, entry: swp_entry_t): void {
  __swap_entry_free_locked(si, swp_offset(entry), SWAP_HAS_CACHE);
}

/** swap_free(entry): a swap PTE referencing the entry is gone (mapped back, or zapped). */
export function swap_free(entry: swp_entry_t): void {
  const si = k.fn.swp_swap_info(entry);
  if (!si) return;
  __swap_entry_free_locked(si, swp_offset(entry), 1);
}

/** swap_free_nr(entry, nr) (6.10): swap_free of nr consecutive entries. */
export function swap_free_nr(entry: swp_entry_t, nr: number): void {
  for (let i = 0; i < nr; i++) k.fn.swap_free(entry + i);
}

/** put_swap_folio(folio, entry): the folio leaves the swap cache: drop SWAP_HAS_CACHE. */
export function put_swap_folio(_f: folio, entry: swp_entry_t): void {
  const si = k.fn.swp_swap_info(entry);
  if (!si) return;
  __swap_entry_free_locked(si, swp_offset(entry), SWAP_HAS_CACHE);
}

/** folio_swapped(folio): some swap PTE still references the folio's entry. */
function folio_swapped(f: folio): boolean {
  const si = k.fn.swp_swap_info(f.swap);
  return si !== null && k.fn.swap_swapcount(si, f.swap) !== 0;
}

/**
 * folio_free_swap(folio): free the swap space of a locked swap-cache folio that no swap PTE
 * references any more (it is mapped or about to be): remove it from the swap cache and mark it
 * dirty (its only copy is now in memory). False when under writeback or still referenced.
 */
export function folio_free_swap(f: folio): boolean {
  VM_BUG_ON(!folio_test_locked(f), 'mm/swapfile.c: folio_free_swap !folio_test_locked');
  if (!f.swapcache) return false;
  if (f.writeback) return false;
  if (folio_swapped(f)) return false;
  k.fn.delete_from_swap_cache(f);
  f.dirty = true;
  return true;
}

const TTRS_UNMAPPED = 0x2;
const TTRS_FULL = 0x4;

/**
 * __try_to_reclaim_swap(si, offset, flags): drop the swap-cache folio of an entry nobody maps any
 * more (trylock only: never sleeps on the folio). 1 when reclaimed.
 */
export function* __try_to_reclaim_swap(si: swap_info_struct, offset: number, flags: number): Task<number> {
  const f = yield* k.fn.filemap_get_folio(si.swap_cache, offset);
  if (typeof f === 'number') return 0;
  let ret = 0;
  if (yield* folio_trylock(f)) {
    const need_reclaim = ((flags & TTRS_UNMAPPED) !== 0 && f._mapcount === 0) || ((flags & TTRS_FULL) !== 0);
    if (need_reclaim && f.swapcache && f.swap === offset) ret = k.fn.folio_free_swap(f) ? 1 : 0;
    folio_unlock(f);
  }
  k.fn.folio_put(f);
  return ret;
}

/**
 * free_swap_and_cache(entry): zap met a swap PTE: drop its reference, and if only the swap cache
 * still holds the entry, try to free the cached folio too. False when the device is gone.
 */
export function* free_swap_and_cache(entry: swp_entry_t): Task<boolean> {
  const si = k.fn.get_swap_device(entry);
  if (!si) return false;
  if (WARN_ON_ONCE(si.swap_map[swp_offset(entry)] === 0, 'mm/swapfile.c: free_swap_and_cache of a free entry')) {
    k.fn.put_swap_device(si);
    return false;
  }
  const count = __swap_entry_free_locked(si, swp_offset(entry), 1);
  if (count === SWAP_HAS_CACHE) yield* k.fn.__try_to_reclaim_swap(si, swp_offset(entry), TTRS_UNMAPPED | TTRS_FULL);
  k.fn.put_swap_device(si);
  return true;
}

/**
 * swapoff(2) (simplified): stop allocation (clear SWP_WRITEOK); with entries still in use,
 * re-enable and fail with -EBUSY (try_to_unuse's mm walk is left out); otherwise kill the users
 * ref and wait until every get_swap_device() user has called put_swap_device(), then tear down.
 */
export function* sim_swapoff(): Task<number> {
  const si = swap_state().si;
  if (!si) return -EINVAL;
  si.flags &= ~SWP_WRITEOK;
  yield 'swapoff:try_to_unuse';
  let used = 0;
  for (let off = 1; off < si.max; off++) if (si.swap_map[off] !== 0) used++;
  if (used > 0) {
    si.flags |= SWP_WRITEOK;
    return -EBUSY;
  }
  si.users.live = false; // percpu_ref_kill(&si->users)
  yield block('swapoff:wait_for_completion(&si->comp)', () => si.users.count === 0, si);
  swap_state().si = null;
  return 0;
}

/** The swapoff daemon (DaemonSpec 'swapoff'). */
export function* sim_daemon_swapoff(_spec: unknown): Task<void> {
  yield* k.fn.sim_swapoff();
}
