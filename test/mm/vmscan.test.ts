/**
 * mm/vmscan.ts: reclaim swaps an anonymous page out (add_to_swap, try_to_unmap, pageout,
 * __remove_mapping) and a later load swaps it back with the same value, on a synchronous and on an
 * asynchronous swap device; a dirty shared file page is written back and evicted, and the next
 * fault reads the new data from disk; __remove_mapping refuses a folio someone else holds.
 */
import { describe, expect, it } from 'vitest';
import type { ModelOp } from '../../model/ops.js';
import { sim_mmu_walk } from '../../impl/sim/user.js';
import { SWAP_HAS_CACHE } from '../../impl/include/linux/swap.js';
import { folio_lock, folio_unlock } from '../../impl/sync/bitlock.js';
import { ioRun, why } from './io_harness.js';

const A = 0x10000;
const PG = 0x1000;
const rw = { read: true, write: true, exec: false };
const mmapAnon = (pid: number, addr: number, pages: number): ModelOp =>
  ({ op: 'mmap', pid, addr, len: pages * PG, prot: rw, flags: { shared: false, anonymous: true, fixed: true, growsdown: false } });

describe('shrink_folio_list / kswapd', () => {
  //  0x10000    0x11000
  //  |-- anon --|   value 7;  kswapd reclaims it, then T1 loads it back
  for (const sync of [true, false]) {
    it(`swaps a page out and a later load swaps it back with the same value (${sync ? 'SWP_SYNCHRONOUS_IO' : 'async device'})`, () => {
      const r = ioRun({
        gen: 'v6.6',
        config: { swap_synchronous_io: sync },
        swapSlots: 2,
        processes: [{ pid: 1, setup: [mmapAnon(1, A, 1), { op: 'store', pid: 1, addr: A, value: 7 }] }],
        // Two passes: an async write only starts in the first; the second frees the clean folio.
        daemons: [{ kind: 'reclaim', rounds: sync ? 1 : 2, targets: [{ pid: 1, addr: A }] }],
        threads: [{ name: 'T1', pid: 1, program: [{ op: 'load', pid: 1, addr: A }, { op: 'load', pid: 1, addr: A }] }],
        // kswapd runs first; between its passes the device completes the write.
        script: sync ? [{ task: 'reclaim', until: 'exit' }] : [
          { task: 'reclaim', until: 'isolate_lru_folios', nth: 1 },
          { task: 'kblockd', until: 'kblockd:wait_for_bio', nth: 1 },
          { task: 'reclaim', until: 'exit' },
        ],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.history.map((h) => h.result)).toEqual([{ kind: 'value', value: 7 }, { kind: 'value', value: 7 }]);
      const t1 = r.labels('T1');
      // It really came back from the device: a swap-in read.
      expect(t1.some((l) => l === 'submit_bio_wait' || l === 'submit_bio')).toBe(true);
      const si = r.kernel.fn.swp_swap_info(1)!;
      expect(si.writes).toBe(1);
      expect(si.reads).toBe(1);
      const p = sim_mmu_walk(r.kernel.procs.get(1)!.mm!, A);
      expect(p?.kind).toBe('present');
    });
  }

  //  0x10000     0x11000
  //  |-- f[0] --|   MAP_SHARED rw; T1 stores 9, kswapd writes it back and evicts it, T1 reloads
  it('a dirty shared file page is written back, evicted, and read again from disk', () => {
    const r = ioRun({
      gen: 'v6.7',
      files: [{ name: 'f', pages: [1] }],
      processes: [{ pid: 1, setup: [
        { op: 'mmap', pid: 1, addr: A, len: PG, prot: rw, flags: { shared: true, anonymous: false, fixed: true, growsdown: false }, file: 'f', offset: 0 },
        { op: 'store', pid: 1, addr: A, value: 9 },
      ] }],
      daemons: [{ kind: 'reclaim', rounds: 2, targets: [{ pid: 1, addr: A }] }],
      threads: [{ name: 'T1', pid: 1, program: [{ op: 'load', pid: 1, addr: A }, { op: 'pread', pid: 1, file: 'f', page: 0 }] }],
      script: [
        { task: 'reclaim', until: 'isolate_lru_folios', nth: 1 },
        { task: 'kblockd', until: 'kblockd:wait_for_bio', nth: 1 },
        { task: 'reclaim', until: 'exit' },
      ],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.kernel.files.get('f')!.f_inode.disk[0]).toBe(9);
    expect(r.history.map((h) => h.result)).toEqual([{ kind: 'value', value: 9 }, { kind: 'value', value: 9 }]);
    expect(r.labels('T1')).toContain('submit_bio'); // the page had been evicted: read from disk
  });

  it('__remove_mapping keeps a swap-cache folio that someone else holds a reference to', () => {
    const r = ioRun({
      gen: 'v6.6',
      config: { swap_synchronous_io: false },
      swapSlots: 2,
      processes: [{ pid: 1, setup: [mmapAnon(1, A, 1), { op: 'store', pid: 1, addr: A, value: 3 }] }],
      tasks: [['t', 0, function* (k) {
        // First pass: unmapped, written (async), kept under writeback.
        const mm = k.procs.get(1)!.mm!;
        const f = (sim_mmu_walk(mm, A) as { folio: import('../../impl/include/linux/mm_types.js').folio }).folio;
        k.fn.folio_get(f);
        const first = yield* k.fn.sim_shrink_folio(f);
        yield* k.fn.folio_wait_writeback(f);
        // A "fault" looked the entry up (a reference), so the second pass must not free it.
        const held = (yield* k.fn.swap_cache_get_folio(f.swap, null, A))!;
        k.fn.folio_get(f);
        const second = yield* k.fn.sim_shrink_folio(f);
        const stillCached = f.swapcache;
        k.fn.folio_put(held);
        k.fn.folio_get(f);
        const third = yield* k.fn.sim_shrink_folio(f);
        const si = k.fn.swp_swap_info(1)!;
        return { first, second, stillCached, third, map: si.swap_map[1], slot: si.slots[1] };
      }]],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.results.get('t')).toEqual({ first: 'keep', second: 'keep', stillCached: true, third: 'reclaimed', map: 1, slot: 3 });
  });

  it('a folio locked by someone else is skipped (folio_trylock)', () => {
    const r = ioRun({
      gen: 'v6.6',
      swapSlots: 2,
      processes: [{ pid: 1, setup: [mmapAnon(1, A, 1), { op: 'store', pid: 1, addr: A, value: 3 }] }],
      tasks: [['t', 0, function* (k) {
        const f = (sim_mmu_walk(k.procs.get(1)!.mm!, A) as { folio: import('../../impl/include/linux/mm_types.js').folio }).folio;
        yield* folio_lock(f);
        const lockedFolio = f;
        k.fn.folio_get(f);
        const res = yield* k.fn.sim_shrink_folio(lockedFolio);
        folio_unlock(f);
        return { res, swapcache: f.swapcache, map: k.fn.swp_swap_info(1)!.swap_map[1] };
      }]],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.results.get('t')).toEqual({ res: 'keep', swapcache: false, map: 0 });
    void SWAP_HAS_CACHE;
  });
});
