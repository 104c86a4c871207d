/**
 * Kernel: mm/vmscan.c — page reclaim: shrink_folio_list (per folio: folio_trylock, swap-out of
 * anonymous folios through add_to_swap + try_to_unmap + pageout, eviction of file folios through
 * try_to_unmap + writeback when dirty, and __remove_mapping, which frees a clean unmapped folio
 * only if nobody else holds a reference), and a kswapd stand-in daemon.
 *
 * The LRU scan is replaced by a target chosen by the scheduler among {pid, addr} pairs: the folio
 * mapped there, or — when the PTE holds a swap entry — that entry's swap-cache folio, or — when
 * it is none in a file VMA — the page-cache folio behind it. Found in one step (the LRU holds
 * every such folio) and isolated with a reference (isolate_lru_folios).
 *
 * With an asynchronous swap device, pageout only starts the write: the folio stays in the swap
 * cache under writeback (`keep`), and a later pass over the same target finds it clean and
 * unmapped and frees it — as kswapd's next LRU scan would. Left out: the active/inactive lists,
 * references (folio_check_references), memcg, dirty throttling, lazyfree, large-folio splitting,
 * buffer heads.
 */
import type { Task } from '../rt/task.js';
import { choose } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import type { SetupAction } from '../sim/scenario.js';
import type { address_space, folio, mm_struct } from '../include/linux/mm_types.js';
import { address_space as address_space_class, folio_test_anon, linear_page_index } from '../include/linux/mm_types.js';
import { PAGE_SHIFT, PMD_SHIFT, PTRS_PER_PTE } from '../include/linux/mm_flags.js';
import { BUG_ON } from '../include/linux/mmdebug.js';
import { folio_trylock, folio_unlock } from '../sync/bitlock.js';
import { spin_lock, spin_unlock } from '../sync/spinlock.js';
import { refcount_inc_not_zero } from '../sync/refcount.js';

/** What happened to one folio in shrink_folio_list. */
export type sim_reclaim_result = 'reclaimed' | 'keep' | 'activate';

/** folio_mapping(): the swap cache for a swap-cache folio, the file's mapping, or null (anon). */
function folio_mapping(f: folio): address_space | null {
  if (f.swapcache) return k.fn.swap_address_space(f.swap);
  return f.mapping instanceof address_space_class ? f.mapping : null;
}

type pageout_t = 'PAGE_KEEP' | 'PAGE_ACTIVATE' | 'PAGE_SUCCESS' | 'PAGE_CLEAN';

/**
 * pageout(folio, mapping): write a locked dirty folio out through ->writepage (swap_writepage or
 * block_write_full_folio), which unlocks it. PAGE_KEEP when someone else holds a reference
 * (is_page_cache_freeable: only the cache's and ours), PAGE_CLEAN when it was not dirty.
 */
function* pageout(f: folio, mapping: address_space | null): Task<pageout_t> {
  // is_page_cache_freeable: the isolation reference + the cache's.
  if (f._refcount.refs !== 2) return 'PAGE_KEEP';
  if (!mapping) return 'PAGE_KEEP';
  if (!f.dirty) return 'PAGE_CLEAN'; // folio_clear_dirty_for_io
  f.dirty = false;
  if (f.swapcache) yield* k.fn.swap_writepage(f);
  else yield* k.fn.block_write_full_folio(f);
  return 'PAGE_SUCCESS';
}

/**
 * __remove_mapping(mapping, folio, reclaimed): under the i_pages lock, take a locked, clean,
 * unmapped folio out of the swap cache or page cache — only if the refcount is exactly ours +
 * the cache's (folio_ref_freeze); anyone else's reference (a fault that looked it up) keeps it.
 * 1 when removed (the cache's reference dropped; ours frees it).
 */
export function* __remove_mapping(mapping: address_space, f: folio): Task<number> {
  BUG_ON(f.lockOwner === -1, 'mm/vmscan.c: __remove_mapping !folio_test_locked');
  BUG_ON(mapping !== folio_mapping(f), 'mm/vmscan.c: __remove_mapping mapping != folio_mapping(folio)');
  yield* spin_lock(mapping.i_pages_lock);
  // The non racy check for a busy folio: folio_ref_freeze(folio, 1 + nr).
  if (f._refcount.refs !== 2 || f.dirty) {
    spin_unlock(mapping.i_pages_lock);
    return 0;
  }
  spin_unlock(mapping.i_pages_lock);
  if (f.swapcache) {
    k.fn.delete_from_swap_cache(f); // __delete_from_swap_cache + put_swap_folio
  } else {
    yield* k.fn.filemap_remove_folio(f); // __filemap_remove_folio + the cache's reference
  }
  return 1;
}

/**
 * sim_shrink_folio: shrink_folio_list's loop body for one isolated folio (the caller holds a reference, which this drops: on
 * `reclaimed` it is the last and the folio is freed).
 */
export function* sim_shrink_folio(f: folio): Task<sim_reclaim_result> {
  const keep = (): sim_reclaim_result => {
    k.fn.folio_put(f); // folio_putback_lru
    return 'keep';
  };
  const keep_locked = (): sim_reclaim_result => {
    folio_unlock(f);
    return keep();
  };
  const activate_locked = (): sim_reclaim_result => {
    folio_unlock(f);
    k.fn.folio_put(f);
    return 'activate';
  };

  if (!(yield* folio_trylock(f))) return keep();
  if (f.writeback) return keep_locked();
  if (!f.uptodate) return keep_locked();

  // Anonymous process memory has backing store?  Try to allocate it some swap space here.
  if (folio_test_anon(f) && f.swapbacked && !f.swapcache) {
    if (!(yield* k.fn.add_to_swap(f))) return activate_locked();
  }

  // The folio is mapped into the page tables of one or more processes. Try to unmap it here.
  if (f._mapcount > 0) {
    yield* k.fn.try_to_unmap(f);
    if (f._mapcount > 0) return activate_locked();
  }

  let mapping = folio_mapping(f);
  if (f.dirty) {
    const r = yield* pageout(f, mapping);
    switch (r) {
      case 'PAGE_KEEP':
        return keep_locked();
      case 'PAGE_ACTIVATE':
        return activate_locked();
      case 'PAGE_SUCCESS':
        // A synchronous device is done already; otherwise the write is in flight.
        if (f.writeback) return keep();
        if (f.dirty) return keep();
        // The write finished: try to free the folio now.
        if (!(yield* folio_trylock(f))) return keep();
        if (f.dirty || f.writeback) return keep_locked();
        mapping = folio_mapping(f);
        break;
      case 'PAGE_CLEAN':
        break;
    }
  }
  if (!mapping || !(yield* k.fn.__remove_mapping(mapping, f))) return keep_locked();
  folio_unlock(f);
  k.fn.folio_put(f); // free_it: the last reference
  return 'reclaimed';
}

/**
 * The folio reclaim would pick for {pid, addr}, isolated with a reference (null when there is
 * none, or it is being freed). One step: the LRU's view, not a page-table walk under locks.
 */
function* sim_isolate_target(pid: number, addr: number): Task<folio | null> {
  yield 'isolate_lru_folios';
  const mm: mm_struct | null = k.procs.get(pid)?.mm ?? null;
  if (!mm) return null;
  const table = mm.pgd.get(Math.floor(addr / 2 ** PMD_SHIFT))?.table ?? null;
  const pte = table && !table.freed ? table.entries[Math.floor(addr / 2 ** PAGE_SHIFT) % PTRS_PER_PTE]! : null;
  let f: folio | null = null;
  if (pte && pte.kind === 'present') {
    if (!pte.special) f = pte.folio;
  } else if (pte && pte.kind === 'swap') {
    f = k.fn.swap_address_space(pte.entry)?.i_pages.get(pte.entry) ?? null;
  } else {
    const vma = k.fn.sim_vmas(mm).find((v) => v.vm_start <= addr && addr < v.vm_end) ?? null;
    if (vma && vma.vm_file) f = vma.vm_file.f_mapping.i_pages.get(linear_page_index(vma, addr)) ?? null;
  }
  if (f === null || f.special) return null;
  if (!refcount_inc_not_zero(f._refcount)) return null;
  return f;
}

/** Reclaim the folio at {pid, addr}; with `wait`, wait for its writeback and finish the job (setup). */
function* sim_reclaim_target(pid: number, addr: number, wait: boolean): Task<sim_reclaim_result | 'none'> {
  const f = yield* sim_isolate_target(pid, addr);
  if (!f) return 'none';
  const r = yield* k.fn.sim_shrink_folio(f);
  if (r !== 'keep' || !wait) return r;
  // The write is in flight: wait for it, then a second pass frees the now-clean folio.
  yield* k.fn.folio_wait_writeback(f);
  const g = yield* sim_isolate_target(pid, addr);
  if (!g) return 'none';
  return yield* k.fn.sim_shrink_folio(g);
}

/** kswapd stand-in (DaemonSpec 'reclaim'): `rounds` passes, each reclaiming one chosen target. */
export function* sim_daemon_reclaim(spec: { readonly rounds: number; readonly targets: readonly { readonly pid: number; readonly addr: number }[] }): Task<void> {
  for (let round = 0; round < spec.rounds; round++) {
    if (spec.targets.length === 0) return;
    const i = spec.targets.length > 1 ? yield* choose(spec.targets.length, 'kswapd:target') : 0;
    const t = spec.targets[i]!;
    yield* sim_reclaim_target(t.pid, t.addr, false);
  }
}

/** Setup: swap out the anonymous page at {pid, addr} completely (PTE becomes a swap entry). */
export function* sim_setup_swap_out(action: Extract<SetupAction, { do: 'swap_out' }>): Task<void> {
  const r = yield* sim_reclaim_target(action.pid, action.addr, true);
  if (r !== 'reclaimed') throw new Error(`setup swap_out P${action.pid} 0x${action.addr.toString(16)}: ${r}`);
}

/** Setup: drop page `page` of a file from the page cache (unmapping it, writing it back first). */
export function* sim_setup_evict(action: Extract<SetupAction, { do: 'evict' }>): Task<void> {
  const file = k.files.get(action.file);
  if (!file) throw new Error(`setup evict: no file ${action.file}`);
  const f = yield* k.fn.filemap_get_entry(file.f_mapping, action.page);
  if (!f) return;
  let r = yield* k.fn.sim_shrink_folio(f);
  if (r === 'keep') {
    yield* k.fn.folio_wait_writeback(f);
    const g = yield* k.fn.filemap_get_entry(file.f_mapping, action.page);
    if (!g) return;
    r = yield* k.fn.sim_shrink_folio(g);
  }
  if (r !== 'reclaimed') throw new Error(`setup evict ${action.file} page ${action.page}: ${r}`);
}

/** Setup: read page `page` of a file into the page cache (uptodate when this returns). */
export function* sim_setup_cache(action: Extract<SetupAction, { do: 'cache' }>): Task<void> {
  const file = k.files.get(action.file);
  if (!file) throw new Error(`setup cache: no file ${action.file}`);
  const v = yield* k.fn.filemap_read(file, action.page);
  if (v < 0) throw new Error(`setup cache ${action.file} page ${action.page}: ${v}`);
}
