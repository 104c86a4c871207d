/**
 * Kernel: mm/swapfile.c (6.8-era, with the 13ddaf26be32 swapcache_clear) — the swap device's
 * slot map: allocation, reference counts, the SWAP_HAS_CACHE pin, device lifetime, and swapoff
 * (try_to_unuse → unuse_mm → unuse_vma → unuse_pte_range → unuse_pte).
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
 *
 * Device lifetime (I15): get_swap_device()/put_swap_device() bracket every use of the device
 * (si->users, a percpu_ref stand-in). swapoff clears SWP_WRITEOK (no new slots), brings every
 * swapped page back (try_to_unuse), then percpu_ref_kill(&si->users) + synchronize_rcu() +
 * wait_for_completion(&si->comp) — no new users, and every user that got the device before the
 * kill has put it — and only then frees the metadata: swap_map (vfree) and the swap cache's
 * address_space (exit_swap_address_space → kvfree(swapper_spaces[type])). Both are KASAN-tracked
 * objects, so code that reaches them without holding get_swap_device() across swapoff reports a
 * slab-use-after-free at the access (every swap_map access in this file goes through
 * sim_swap_map(), which is kasan-checked). The swap_info_struct itself stays (swap_info[type] is
 * never freed), with flags 0 after swapoff, as in the kernel.
 *
 * Left out: clusters, the per-CPU slot caches, COUNT_CONTINUED, SWP_MAP_SHMEM, priorities,
 * discard, large folios (swap_free_nr frees consecutive entries one by one), shmem_unuse, KSM
 * copies in unuse_pte, swapon after swapoff (the device is set up once by sim_swapon), signals
 * (try_to_unuse's -EINTR), swap extents. try_to_unuse's retry loop (the kernel just goes round
 * again with cond_resched) waits, after a pass that changed nothing, until something it could
 * act on changed (the swap map, the set of mms, a page table's contents): same outcomes, without
 * an unbounded spin under a scheduler that keeps running the current task.
 */
import type { Task } from '../rt/task.js';
import { block, waitUntil } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import type { address_space, folio, mm_struct, pmd_t, pte_t, pte_table, swp_entry_t, vm_area_struct } from '../include/linux/mm_types.js';
import { folio_test_anon, vm_fault } from '../include/linux/mm_types.js';
import {
  SWAP_HAS_CACHE, SWAP_MAP_BAD, SWAP_MAP_MAX, SWP_USED, SWP_WRITEOK, swap_count, swap_info_struct, swp_offset,
} from '../include/linux/swap.js';
import { PAGE_SIZE, PMD_SIZE } from '../include/linux/mm_flags.js';
import { VM_BUG_ON, WARN_ON_ONCE } from '../include/linux/mmdebug.js';
import { EEXIST, EINVAL, ENOENT, ENOMEM } from '../include/linux/errno.js';
import { folio_lock, folio_test_locked, folio_trylock, folio_unlock } from '../sync/bitlock.js';
import { spin_lock, spin_unlock, spinlock_t } from '../sync/spinlock.js';
import { refcount_inc_not_zero } from '../sync/refcount.js';
import { synchronize_rcu } from '../sync/rcu.js';
import {
  kasan_check_read, kasan_check_write, kmem_cache_create, kmem_cache_free, sim_kasan_track, sim_kasan_write_stamp,
  type kmem_cache,
} from '../sync/kasan.js';

interface sim_swap_state {
  si: swap_info_struct | null;
  /** mm/swap_slots.c swap_slot_cache_enabled: false while swapoff runs try_to_unuse. */
  swap_slot_cache_enabled: boolean;
  /** swap_lock: protects swap_info[], the swap lists, si->flags. */
  readonly swap_lock: spinlock_t;
  /** si->lock. */
  readonly si_lock: spinlock_t;
}

function swap_state(): sim_swap_state {
  return k.state<sim_swap_state>('swap', () => ({
    si: null,
    swap_slot_cache_enabled: true,
    swap_lock: new spinlock_t('swap_lock', 'swap_lock'),
    si_lock: new spinlock_t('swap_info_struct#0->lock', 'swap_info_struct.lock'),
  }));
}

/** si->swap_map's allocation (vzalloc in swapon, vfree in swapoff), as a KASAN cache. */
const swap_map_cachep: kmem_cache<number[]> = kmem_cache_create<number[]>('swap_map (vmalloc)', () => [], 0, null, 1);
/** swapper_spaces[type] (init_swap_address_space's kvcalloc, exit_swap_address_space's kvfree). */
const swapper_spaces_cachep: kmem_cache<address_space> = kmem_cache_create<address_space>(
  'swapper_spaces (kvmalloc)', () => { throw new Error('swapper_spaces are built by sim_swapon'); }, 0, null, 64);

/**
 * si->swap_map, read (or written) at `site`: a KASAN-checked access, so an access after swapoff
 * freed the map (without get_swap_device() keeping swapoff out) is a use-after-free report.
 */
function sim_swap_map(si: swap_info_struct, site: string, write = false): number[] {
  if (write) kasan_check_write(si.swap_map, site, 1);
  else kasan_check_read(si.swap_map, site, 1);
  return si.swap_map;
}

/**
 * sim_swapon(nr_slots, synchronous): set up the one swap device (the swapon(2) work done before
 * user space starts): `nr_slots` usable slots after the header slot. The swap map and the swap
 * cache's address_space are KASAN-tracked (freed by swapoff).
 */
export function sim_swapon(nr_slots: number, synchronous: boolean): swap_info_struct {
  const si = new swap_info_struct(nr_slots + 1, synchronous);
  sim_kasan_track(si.swap_map, swap_map_cachep, 'swapon: vzalloc(swap_map)');
  sim_kasan_track(si.swap_cache, swapper_spaces_cachep, 'swapon: init_swap_address_space');
  si.swap_map[0] = SWAP_MAP_BAD; // the swap header page
  swap_state().si = si;
  return si;
}

/**
 * disable_swap_slots_cache_lock() (mm/swap_slots.c): swapoff turns the per-CPU slot caches off
 * for try_to_unuse — and with them __read_swap_cache_async's "skip read ahead for an unused swap
 * slot" shortcut, so a swapoff read-in of an entry whose count is 0 but whose SWAP_HAS_CACHE is
 * still held (a swap-in between swap_free and swapcache_clear) waits for the holder instead of
 * giving up (which unuse_pte_range would take for -ENOMEM). The caches themselves are left out.
 */
export function disable_swap_slots_cache_lock(): void {
  swap_state().swap_slot_cache_enabled = false;
}

/** reenable_swap_slots_cache_unlock() (mm/swap_slots.c). */
export function reenable_swap_slots_cache_unlock(): void {
  swap_state().swap_slot_cache_enabled = true;
}

/** swap_slot_cache_enabled (mm/swap_slots.c), read by __read_swap_cache_async. */
export function sim_swap_slot_cache_enabled(): boolean {
  return swap_state().swap_slot_cache_enabled;
}

/**
 * swp_swap_info(entry) / swap_type_to_swap_info(): the device of an entry (no reference taken).
 * swap_info[type] outlives swapoff (only its metadata is freed).
 */
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
  return swap_count(sim_swap_map(si, '__swap_count')[swp_offset(entry)]!);
}

/** swap_swapcount(si, entry): the same for a pinned device. */
export function swap_swapcount(si: swap_info_struct, entry: swp_entry_t): number {
  return swap_count(sim_swap_map(si, 'swap_swapcount')[swp_offset(entry)]!);
}

/**
 * folio_alloc_swap(folio) / get_swap_pages(): allocate a slot for a folio about to enter the swap
 * cache; the slot starts as SWAP_HAS_CACHE. Lowest free slot first. Returns 0 when full.
 */
export function folio_alloc_swap(f: folio): swp_entry_t {
  VM_BUG_ON(!folio_test_locked(f), 'mm/swapfile.c: folio_alloc_swap !folio_test_locked');
  const si = swap_state().si;
  if (!si || (si.flags & SWP_WRITEOK) === 0) return 0;
  const map = sim_swap_map(si, 'folio_alloc_swap', true);
  for (let off = 1; off < si.max; off++) {
    if (map[off] === 0) {
      map[off] = SWAP_HAS_CACHE;
      si.inuse_pages++;
      return off;
    }
  }
  return 0;
}

/** The slot is free again: return it to the allocator and let the device discard its data. */
function swap_entry_free(si: swap_info_struct, offset: number): void {
  sim_swap_map(si, 'swap_entry_free', true)[offset] = 0;
  si.slots[offset] = 0; // zram_slot_free_notify: the data is gone
  si.inuse_pages--;
}

/**
 * __swap_entry_free_locked(si, offset, usage): drop one reference (usage 1) or the cache flag
 * (usage SWAP_HAS_CACHE); frees the slot when nothing is left. Returns the remaining usage.
 */
function __swap_entry_free_locked(si: swap_info_struct, offset: number, usage: number): number {
  const map = sim_swap_map(si, '__swap_entry_free_locked', true);
  let count = map[offset]!;
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
  if (left) map[offset] = left;
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
  const map = sim_swap_map(si, '__swap_duplicate', true);
  let count = map[offset]!;
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
  map[offset] = count | has_cache;
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

/**
 * _swap_info_get(entry): the device of an entry that is in use, for the callers that hold the
 * entry (not the device) — swap_free, put_swap_folio, folio_swapped. After swapoff the device is
 * not SWP_USED: the kernel's pr_err("Unused swap file entry") — a swap entry outlived swapoff,
 * reported here as a warning (a bug).
 */
function _swap_info_get(entry: swp_entry_t, site: string): swap_info_struct | null {
  if (!entry) return null;
  const si = k.fn.swp_swap_info(entry);
  if (!si) return null; // bad_nofile
  if (WARN_ON_ONCE((si.flags & SWP_USED) === 0, `mm/swapfile.c: ${site}: Unused swap file entry ${entry.toString(16).padStart(8, '0')}`)) return null;
  return si;
}

/** swap_free(entry): a swap PTE referencing the entry is gone (mapped back, or zapped). */
export function swap_free(entry: swp_entry_t): void {
  const si = _swap_info_get(entry, 'swap_free');
  if (!si) return;
  __swap_entry_free_locked(si, swp_offset(entry), 1);
}

/** put_swap_folio(folio, entry): the folio leaves the swap cache: drop SWAP_HAS_CACHE. */
export function put_swap_folio(_f: folio, entry: swp_entry_t): void {
  const si = _swap_info_get(entry, 'put_swap_folio');
  if (!si) return;
  __swap_entry_free_locked(si, swp_offset(entry), SWAP_HAS_CACHE);
}

/** folio_swapped(folio): some swap PTE still references the folio's entry. */
function folio_swapped(f: folio): boolean {
  const si = _swap_info_get(f.swap, 'folio_swapped');
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
  if (WARN_ON_ONCE(sim_swap_map(si, 'free_swap_and_cache')[swp_offset(entry)] === 0, 'mm/swapfile.c: free_swap_and_cache of a free entry')) {
    k.fn.put_swap_device(si);
    return false;
  }
  const count = __swap_entry_free_locked(si, swp_offset(entry), 1);
  if (count === SWAP_HAS_CACHE) yield* k.fn.__try_to_reclaim_swap(si, swp_offset(entry), TTRS_UNMAPPED | TTRS_FULL);
  k.fn.put_swap_device(si);
  return true;
}


// ---------------------------------------------------------------------------------------------
// swapoff: try_to_unuse

/** pte_same_as_swp(pte, swp_pte): the PTE still holds this swap entry (ignoring the swp flags). */
function pte_same_as_swp(pte: pte_t, entry: swp_entry_t): boolean {
  return pte.kind === 'swap' && pte.entry === entry;
}

/**
 * unuse_pte(vma, pmd, addr, entry, folio): map the locked, uptodate swap-cache folio of `entry`
 * where the PTE still holds that entry — re-checked under the PTL (pte_same_as_swp): a racing
 * fault (do_swap_page) or zap may have got there first, and then this does nothing (0). As
 * do_swap_page: the PTE's folio reference, the anon rmap (folio_add_new_anon_rmap for a folio
 * fresh from the swap cache, else folio_add_anon_rmap_pte, RMAP_EXCLUSIVE per the swap PTE's
 * exclusive bit), the counters, then set_pte_at and swap_free. The new PTE is read-only and old
 * (mk_pte with vm_page_prot, pte_mkold): a later write fault decides reuse or COW (do_wp_page).
 * An I/O error (!uptodate) leaves a poisoned swap entry marker instead. Returns 1 mapped, 0 not.
 * Locks: mmap_read_lock(mm) and the folio lock held on entry and exit; takes and drops the PTL.
 */
export function* unuse_pte(vma: vm_area_struct, pmd: pmd_t, addr: number, entry: swp_entry_t, f: folio): Task<number> {
  const mm = vma.vm_mm;
  VM_BUG_ON(!folio_test_locked(f), 'mm/swapfile.c: unuse_pte !folio_test_locked');
  let ret = 1;
  yield 'unuse_pte:pte_offset_map_lock';
  const table = yield* k.fn.pte_offset_map_lock(mm, pmd, addr);
  if (!table || !pte_same_as_swp(k.fn.ptep_get(table, addr), entry)) {
    if (table) k.fn.pte_unmap_unlock(table);
    return 0;
  }
  const old_pte = k.fn.ptep_get(table, addr) as Extract<pte_t, { kind: 'swap' }>;
  let new_pte: pte_t;
  if (!f.uptodate) {
    // The read failed: make_poisoned_swp_entry() — a later fault gets VM_FAULT_HWPOISON.
    mm.rss_stat.MM_SWAPENTS--;
    new_pte = { kind: 'marker', marker: 'poison' };
    ret = 0;
  } else {
    mm.rss_stat.MM_SWAPENTS--;
    mm.rss_stat.MM_ANONPAGES++;
    k.fn.folio_get(f);
    // See do_swap_page(): writeback would be problematic; the caller waited for it, folio locked.
    VM_BUG_ON(f.writeback, 'mm/swapfile.c: unuse_pte folio_test_writeback');
    const exclusive = old_pte.exclusive; // RMAP_EXCLUSIVE if pte_swp_exclusive(old_pte)
    if (!folio_test_anon(f)) {
      k.fn.folio_add_new_anon_rmap(f, vma, addr, exclusive); // rmap_flags
    } else {
      k.fn.folio_add_anon_rmap_pte(f, vma, addr, exclusive);
    }
    // pte_mkold(mk_pte(page, vma->vm_page_prot)): private mappings' vm_page_prot has no write.
    new_pte = { kind: 'present', folio: f, write: false, dirty: false, young: false, special: false, uffd_wp: old_pte.uffd_wp };
  }
  yield 'unuse_pte:set_pte_at';
  k.fn.set_pte_at(mm, addr, table, new_pte);
  k.fn.swap_free(entry);
  k.fn.pte_unmap_unlock(table);
  return ret;
}

/**
 * unuse_pte_range(vma, pmd, addr, end, type): for each swap PTE of the device in [addr, end)
 * (read locklessly through pte_offset_map), get the entry's folio — from the swap cache, or read
 * in (swapin_readahead: the folio is locked while the read is in flight) — lock it (waiting for
 * the I/O), wait for writeback, unuse_pte, then folio_free_swap (out of the swap cache once no
 * swap PTE references the entry). 0, or -ENOMEM when the read-in failed for an entry still in use.
 * Locks: mmap_read_lock(mm) held.
 */
export function* unuse_pte_range(vma: vm_area_struct, pmd: pmd_t, addr: number, end: number, type: number): Task<number> {
  void type; // swp_type(entry) != type: one device
  k.fn.mmap_assert_locked(vma.vm_mm);
  const si = swap_state().si!;
  let table: pte_table | null = null;
  for (; addr !== end; addr += PAGE_SIZE) {
    if (!table) {
      table = yield* k.fn.__pte_offset_map(pmd, addr); // pte_offset_map
      if (!table) break;
    }
    const ptent = yield* k.fn.ptep_get_lockless(table, addr);
    if (ptent.kind !== 'swap') continue; // !is_swap_pte || non_swap_entry
    const entry = ptent.entry;
    const offset = swp_offset(entry);
    k.fn.pte_unmap(table);
    table = null;

    let f = yield* k.fn.swap_cache_get_folio(entry, vma, addr);
    if (!f) {
      const vmf = new vm_fault(vma, addr, 0);
      vmf.pmd = pmd;
      f = yield* k.fn.swapin_readahead(entry, GFP_HIGHUSER_MOVABLE, vmf);
    }
    if (!f) {
      const swp_count = sim_swap_map(si, 'unuse_pte_range')[offset]!; // READ_ONCE(si->swap_map[offset])
      if (swp_count === 0 || swp_count === SWAP_MAP_BAD) continue;
      return -ENOMEM;
    }

    yield* folio_lock(f);
    yield* k.fn.folio_wait_writeback(f);
    const ret = yield* k.fn.unuse_pte(vma, pmd, addr, entry, f);
    if (ret < 0) {
      folio_unlock(f);
      k.fn.folio_put(f);
      return ret;
    }
    k.fn.folio_free_swap(f);
    folio_unlock(f);
    k.fn.folio_put(f);
  }
  if (table) k.fn.pte_unmap(table);
  return 0;
}

/** GFP_HIGHUSER_MOVABLE (the gfp is not interpreted by the simulation's allocator). */
const GFP_HIGHUSER_MOVABLE = 0;

/**
 * unuse_vma(vma, type): unuse_pte_range over every PMD of the VMA (the upper levels are folded;
 * an absent PMD slot is pmd_none). Locks: mmap_read_lock(mm) held.
 */
export function* unuse_vma(vma: vm_area_struct, type: number): Task<number> {
  const mm = vma.vm_mm;
  k.fn.mmap_assert_locked(mm);
  let addr = vma.vm_start;
  const end = vma.vm_end;
  while (addr < end) {
    const next = Math.min((Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE, end);
    const pmd = mm.pgd.get(k.fn.sim_pmd_index(addr));
    if (pmd !== undefined) {
      const ret = yield* k.fn.unuse_pte_range(vma, pmd, addr, next, type);
      if (ret) return ret;
    }
    addr = next;
  }
  return 0;
}

/**
 * unuse_mm(mm, type): under mmap_read_lock(mm), unuse_vma on every VMA with an anon_vma (only
 * those can hold swap PTEs). 0 or -errno.
 */
export function* unuse_mm(mm: mm_struct, type: number): Task<number> {
  let ret = 0;
  yield* k.fn.mmap_read_lock(mm);
  let addr = 0;
  for (;;) {
    const vma = yield* k.fn.find_vma(mm, addr); // for_each_vma(vmi, vma)
    if (!vma) break;
    if (vma.anon_vma) {
      ret = yield* k.fn.unuse_vma(vma, type);
      if (ret) break;
    }
    addr = vma.vm_end;
  }
  k.fn.mmap_read_unlock(mm);
  return ret;
}

/**
 * find_next_to_unuse(si, prev): the next slot after prev still in use (no lock: false hits are
 * fine, allocation is already off), or 0.
 */
export function find_next_to_unuse(si: swap_info_struct, prev: number): number {
  const map = sim_swap_map(si, 'find_next_to_unuse');
  let i: number;
  for (i = prev + 1; i < si.max; i++) {
    const count = map[i]!;
    if (count && swap_count(count) !== SWAP_MAP_BAD) break;
  }
  return i === si.max ? 0 : i;
}

/**
 * What try_to_unuse's next pass could act on: the swap map, the processes and their mms, and
 * each page table's write stamp (every PTE store is an instrumented write to its table).
 */
function sim_unuse_progress_stamp(si: swap_info_struct): string {
  const parts: (string | number | boolean)[] = [si.inuse_pages, si.swap_map.join(',')];
  for (const p of k.procs.values()) {
    const mm = p.mm;
    parts.push(p.pid, mm ? mm.name : '-', mm ? mm.dead : '-', mm ? mm.mm_users.refs : 0);
    if (!mm) continue;
    for (const pmd of mm.pgd.values()) {
      if (pmd.table) parts.push(pmd.table.name, sim_kasan_write_stamp(pmd.table));
    }
  }
  return parts.join('|');
}

/**
 * try_to_unuse(type): bring every page of the device back: walk every mm (the kernel's
 * init_mm.mmlist; here every process's mm) with unuse_mm — each pinned with mmget_not_zero (an
 * exiting mm frees its entries itself in exit_mmap) — then drop the swap-cache folios of entries
 * no PTE references any more (find_next_to_unuse → folio_free_swap); repeat while
 * si->inuse_pages is non-zero (entries can be re-inserted into process space behind the walk).
 * 0 or -ENOMEM. Locks: none held; SWP_WRITEOK already clear.
 */
export function* try_to_unuse(type: number): Task<number> {
  const si = swap_state().si!;
  while (si.inuse_pages) {
    // retry: (shmem_unuse left out)
    const before = sim_unuse_progress_stamp(si);
    for (const p of [...k.procs.values()]) {
      if (!si.inuse_pages) break;
      yield 'try_to_unuse:mmlist_lock';
      const mm = p.mm;
      if (!mm || !refcount_inc_not_zero(mm.mm_users)) continue; // mmget_not_zero
      const retval = yield* k.fn.unuse_mm(mm, type);
      yield* k.fn.mmput(mm);
      if (retval) return retval;
    }

    let i = 0;
    while (si.inuse_pages && (i = k.fn.find_next_to_unuse(si, i)) !== 0) {
      const entry = i; // swp_entry(type, i)
      const space = k.fn.swap_address_space(entry);
      if (!space) break;
      const f = yield* k.fn.filemap_get_folio(space, swp_offset(entry));
      if (typeof f === 'number') continue;
      // A racing task may have removed this folio from the swap cache before we got the folio
      // lock; folio_free_swap() only removes stale folios.
      yield* folio_lock(f);
      yield* k.fn.folio_wait_writeback(f);
      k.fn.folio_free_swap(f);
      folio_unlock(f);
      k.fn.folio_put(f);
    }

    if (si.inuse_pages && sim_unuse_progress_stamp(si) === before) {
      // Nothing changed in a whole pass: the remaining entries are held by someone else (a
      // swap-in's SWAP_HAS_CACHE pin, an exiting mm, a fork not yet visible). The kernel spins;
      // wait until something changes.
      yield* waitUntil('try_to_unuse:retry', () => !si.inuse_pages || sim_unuse_progress_stamp(si) !== before, si);
    } else {
      yield 'try_to_unuse:retry';
    }
  }
  // success: smp_mb()
  return 0;
}

/**
 * After swapoff: no PTE of any process may still hold a swap entry (every swap PTE holds a swap
 * count, and try_to_unuse brought inuse_pages to 0). A leftover would refault forever
 * (do_swap_page's get_swap_device fails and it returns 0). A simulation check, not kernel code.
 */
function sim_check_no_swap_ptes(): void {
  for (const p of k.procs.values()) {
    const mm = p.mm;
    if (!mm || mm.dead) continue;
    for (const pmd of mm.pgd.values()) {
      const t = pmd.table;
      if (!t || t.freed) continue;
      t.entries.forEach((e, i) => {
        VM_BUG_ON(e.kind === 'swap', `mm/swapfile.c: swapoff left a swap PTE (entry ${e.kind === 'swap' ? e.entry : 0}) in ${mm.name} at 0x${(pmd.index * PMD_SIZE + i * PAGE_SIZE).toString(16)}`);
      });
    }
  }
}

/**
 * swapoff(2) (SYSCALL_DEFINE1(swapoff)) of the one device: under swap_lock + si->lock take it off
 * the allocation lists and clear SWP_WRITEOK; try_to_unuse (on failure: reinsert_swap_info and
 * return the error); percpu_ref_kill(&si->users) — get_swap_device() fails from now on —
 * synchronize_rcu() and wait_for_completion(&si->comp) until every earlier user has called
 * put_swap_device(); then tear down: swap_map and the swap cache's address_space freed (KASAN),
 * and at last, under swap_lock, si->flags = 0. Returns 0, -EINVAL (no device), -ENOMEM.
 */
export function* sim_swapoff(): Task<number> {
  const st = swap_state();
  const si = st.si;
  if (!si || (si.flags & SWP_WRITEOK) === 0) return -EINVAL;
  yield* spin_lock(st.swap_lock);
  yield* spin_lock(st.si_lock);
  // del_from_avail_list(p); plist_del(&p->list, &swap_active_head); total_swap_pages -= p->pages
  si.flags &= ~SWP_WRITEOK;
  spin_unlock(st.si_lock);
  spin_unlock(st.swap_lock);

  k.fn.disable_swap_slots_cache_lock();
  yield 'swapoff:try_to_unuse';
  const err = yield* k.fn.try_to_unuse(0);
  if (err) {
    // re-insert swap space back into swap_list: reinsert_swap_info(p)
    yield* spin_lock(st.swap_lock);
    yield* spin_lock(st.si_lock);
    si.flags |= SWP_WRITEOK;
    spin_unlock(st.si_lock);
    spin_unlock(st.swap_lock);
    k.fn.reenable_swap_slots_cache_unlock();
    return err;
  }
  k.fn.reenable_swap_slots_cache_unlock();

  // Wait for swap operations protected by get/put_swap_device() to complete.
  si.users.live = false; // percpu_ref_kill(&p->users)
  yield* synchronize_rcu();
  yield block_for_users(si);

  yield* spin_lock(st.swap_lock);
  yield* spin_lock(st.si_lock);
  // drain_mmlist(); p->highest_bit = 0; p->swap_file = NULL; p->max = 0; p->swap_map = NULL
  const swap_map = si.swap_map;
  const swap_cache = si.swap_cache;
  spin_unlock(st.si_lock);
  spin_unlock(st.swap_lock);
  kmem_cache_free(swap_map_cachep, swap_map, 'swapoff: vfree(swap_map)');
  kmem_cache_free(swapper_spaces_cachep, swap_cache, 'swapoff: exit_swap_address_space');
  sim_check_no_swap_ptes();

  // Clear the SWP_USED flag after all resources are freed so that swapon can reuse this
  // swap_info in alloc_swap_info() safely.
  yield* spin_lock(st.swap_lock);
  si.flags = 0;
  spin_unlock(st.swap_lock);
  return 0;
}

/** wait_for_completion(&p->comp): completed by swap_users_ref_free when the last user puts the killed ref. */
function block_for_users(si: swap_info_struct): ReturnType<typeof block> {
  return block('swapoff:wait_for_completion(&si->comp)', () => si.users.count === 0, si);
}

/** The swapoff daemon (DaemonSpec 'swapoff'): swapoff(2) of the swap device, once. */
export function* sim_daemon_swapoff(_spec: unknown): Task<void> {
  yield* k.fn.sim_swapoff();
}
