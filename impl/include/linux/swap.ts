/**
 * Kernel: include/linux/swap.h, include/linux/swapops.h, mm/swap.h — the swap device
 * (struct swap_info_struct) and its constants, as the simulated swap paths use them.
 *
 * One swap device (type 0): a swp_entry_t is the slot offset. Left out: swap clusters and the
 * per-CPU slot cache (slots are handed out lowest-free-first, so a freed slot is the next one
 * reused — the reuse B17's ABA needs), COUNT_CONTINUED continuation pages, shmem swap entries,
 * swap priorities, frontswap/zswap, large folios.
 */
import { address_space, folio, inode } from './mm_types.js';
import type { swp_entry_t } from './mm_types.js';

/** swap_map flag: the entry has (or is being given) a swap-cache folio (mm/swapfile.c). */
export const SWAP_HAS_CACHE = 0x40;
/** The largest map count before COUNT_CONTINUED would be needed. */
export const SWAP_MAP_MAX = 0x3e;
/** A bad slot. */
export const SWAP_MAP_BAD = 0x3f;

// si->flags (include/linux/swap.h enum)
export const SWP_USED = 1 << 0;
export const SWP_WRITEOK = 1 << 1;
/** The device completes I/O synchronously in the caller (zram, pmem, brd). */
export const SWP_SYNCHRONOUS_IO = 1 << 13;
/** Writes must not change the page under writeback (a swapped-in page under writeback is not exclusive). */
export const SWP_STABLE_WRITES = 1 << 14;

/**
 * si->users, a percpu_ref stand-in: get_swap_device() is percpu_ref_tryget_live, swapoff kills
 * it (no new users) and waits for the count to drain (wait_for_completion(&si->comp)).
 */
export interface sim_percpu_ref {
  count: number;
  live: boolean;
}

/** struct swap_info_struct: one swap device. */
export class swap_info_struct {
  readonly name = 'swap_info_struct#0';
  flags: number;
  /** Number of slots (si->max). */
  readonly max: number;
  /** si->swap_map: per slot, the number of swap PTEs referencing it | SWAP_HAS_CACHE. */
  readonly swap_map: number[];
  /**
   * The device's backing store: what each slot holds (the data a read returns). A freed slot is
   * discarded (zram_slot_free_notify), so a late read of it returns zeroes.
   */
  readonly slots: number[];
  /** The swap cache of this device (swapper_spaces[type]): slot offset → folio, under its i_pages lock. */
  readonly swap_cache: address_space;
  readonly users: sim_percpu_ref = { count: 0, live: true };
  /** Number of slots in use (si->inuse_pages). */
  inuse_pages = 0;
  /** Reads and writes submitted to this device (statistics for tests and benchmarks). */
  reads = 0;
  writes = 0;
  constructor(max: number, synchronous: boolean) {
    this.max = max;
    this.swap_map = new Array<number>(max).fill(0);
    this.slots = new Array<number>(max).fill(0);
    this.flags = SWP_USED | SWP_WRITEOK | (synchronous ? SWP_SYNCHRONOUS_IO : 0);
    this.swap_cache = new address_space(new inode('swapper_space', []));
  }
}

/** swp_offset(entry): the slot (one device, so the entry is the offset). */
export function swp_offset(entry: swp_entry_t): number {
  return entry;
}

/** swp_entry(type, offset). */
export function swp_entry(_type: number, offset: number): swp_entry_t {
  return offset;
}

/** swap_count(ent): the map count without the cache flag. */
export function swap_count(ent: number): number {
  return ent & ~SWAP_HAS_CACHE;
}

/** folio_test_swapcache(). */
export function folio_test_swapcache(f: folio): boolean {
  return f.swapcache;
}
