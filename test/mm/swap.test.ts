/**
 * mm/swapfile.ts, mm/swap_state.ts, mm/memory_swap.ts: the slot map (lowest free slot first, so a
 * freed entry is reused at once), swapcache_prepare/swapcache_clear, get/put_swap_device against
 * swapoff, and do_swap_page: waiting for the read without the fault lock while munmap runs (never
 * installs into the unmapped range), and B17 — the SWP_SYNCHRONOUS_IO skip-swapcache race.
 */
import { describe, expect, it } from 'vitest';
import { ReplayScheduler } from '../../impl/rt/index.js';
import type { Task } from '../../impl/rt/task.js';
import type { ModelOp } from '../../model/ops.js';
import type { Kernel } from '../../impl/sim/kernel.js';
import { sim_mmu_walk } from '../../impl/sim/user.js';
import { SWAP_HAS_CACHE } from '../../impl/include/linux/swap.js';
import { folio_lock } from '../../impl/sync/bitlock.js';
import { ioRun, why, type IoTest } from './io_harness.js';

const A = 0x10000;
const PG = 0x1000;
const rw = { read: true, write: true, exec: false };
const mmapAnon = (pid: number, addr: number, pages: number): ModelOp =>
  ({ op: 'mmap', pid, addr, len: pages * PG, prot: rw, flags: { shared: false, anonymous: true, fixed: true, growsdown: false } });

/** The value user space would read at addr now (PTE → folio, swap PTE → swap cache or slot). */
function valueAt(k: Kernel, pid: number, addr: number): number | string {
  const p = sim_mmu_walk(k.procs.get(pid)!.mm!, addr);
  if (!p) return 'no table';
  if (p.kind === 'present') return p.folio.data;
  if (p.kind === 'swap') {
    const si = k.fn.swp_swap_info(p.entry)!;
    const f = si.swap_cache.i_pages.get(p.entry);
    return f ? f.data : si.slots[p.entry]!;
  }
  return p.kind;
}

function unit(body: (k: Kernel) => Task<unknown>, slots = 4): unknown {
  const r = ioRun({ gen: 'v6.6', swapSlots: slots, tasks: [['t', 0, body]] });
  expect(r.outcome.status, why(r.outcome)).toBe('ok');
  return r.results.get('t');
}

describe('swapfile: the slot map', () => {
  it('folio_alloc_swap hands out the lowest free slot; a freed slot is the next one reused (ABA)', () => {
    const got = unit(function* (k) {
      const fs = [];
      for (let i = 0; i < 3; i++) {
        const f = (yield* k.fn.folio_alloc())!;
        yield* folio_lock(f);
        fs.push(k.fn.folio_alloc_swap(f));
      }
      const si = k.fn.swp_swap_info(1)!;
      // slot 2: one swap PTE, no cache
      si.swap_map[2] = 1;
      k.fn.swap_free(2);
      const freed = si.swap_map[2];
      const f = (yield* k.fn.folio_alloc())!;
      yield* folio_lock(f);
      return { fs, freed, again: k.fn.folio_alloc_swap(f), full: k.fn.folio_alloc_swap(f), full2: k.fn.folio_alloc_swap(f) };
    }, 4);
    expect(got).toEqual({ fs: [1, 2, 3], freed: 0, again: 2, full: 4, full2: 0 });
  });

  it('swapcache_prepare: claims SWAP_HAS_CACHE once (-EEXIST after), -ENOENT on a free entry; swapcache_clear frees', () => {
    const got = unit(function* (k) {
      const si = k.fn.swp_swap_info(1)!;
      si.swap_map[1] = 1;
      si.slots[1] = 77;
      const a = k.fn.swapcache_prepare(1);
      const b = k.fn.swapcache_prepare(1);
      const c = k.fn.swapcache_prepare(2);
      k.fn.swap_free(1); // the PTE's reference goes: the pin keeps the slot (and its data)
      const pinned = [si.swap_map[1], si.slots[1]];
      k.fn.swapcache_clear(si, 1);
      yield 't';
      return { a, b, c, pinned, after: [si.swap_map[1], si.slots[1]] };
    });
    expect(got).toEqual({ a: 0, b: -17, c: -2, pinned: [SWAP_HAS_CACHE, 77], after: [0, 0] });
  });

  it('swap_duplicate / free_swap_and_cache keep the count; a double swap_free is a VM_BUG_ON', () => {
    const r = ioRun({
      gen: 'v6.6', swapSlots: 2,
      tasks: [['t', 0, function* (k) {
        const si = k.fn.swp_swap_info(1)!;
        si.swap_map[1] = 1;
        expect(yield* k.fn.swap_duplicate(1)).toBe(0);
        expect(si.swap_map[1]).toBe(2);
        expect(yield* k.fn.free_swap_and_cache(1)).toBe(true);
        k.fn.swap_free(1);
        expect(si.swap_map[1]).toBe(0);
        k.fn.swap_free(1);
      }]],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.property).toBe('VM_BUG_ON');
  });

  it('get_swap_device pins the device: swapoff waits until every user has put it', () => {
    const order: string[] = [];
    const r = ioRun({
      gen: 'v6.6', swapSlots: 2,
      tasks: [
        ['user', 0, function* (k) {
          const si = k.fn.get_swap_device(1)!;
          order.push('got');
          yield 'user:a';
          yield 'user:b';
          order.push('put');
          k.fn.put_swap_device(si);
        }],
        ['swapoff', 0, function* (k) {
          const r = yield* k.fn.sim_swapoff();
          order.push(`swapoff ${r}`);
          return k.fn.get_swap_device(1);
        }],
      ],
      script: [{ task: 'user', until: 'user:a' }, { task: 'swapoff', until: 'swapoff:wait_for_completion(&si->comp)' }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(order).toEqual(['got', 'put', 'swapoff 0']);
    expect(r.results.get('swapoff')).toBe(null);
  });
});

describe('do_swap_page', () => {
  //  0x10000    0x11000
  //  |-- anon --|          value 5, swapped out to slot 1 (async device)
  //  T1: load 0x10000 (swap-in, waits for the read)      T2: munmap 0x10000
  const unmapDuringIo = (gen: string): IoTest => ({
    gen,
    swapSlots: 4,
    processes: [{ pid: 1, setup: [mmapAnon(1, A, 1), { op: 'store', pid: 1, addr: A, value: 5 }] }],
    kernelSetup: [{ do: 'swap_out', pid: 1, addr: A }],
    threads: [
      { name: 'T1', pid: 1, program: [{ op: 'load', pid: 1, addr: A }] },
      { name: 'T2', pid: 1, program: [{ op: 'munmap', pid: 1, addr: A, len: PG }] },
    ],
    // T1 sleeps for the read (having dropped its fault lock), T2's munmap runs to completion.
    script: [{ task: 'T1', until: 'folio_wait_locked' }, { task: 'T2', until: 'exit' }],
  });

  for (const gen of ['v6.3', 'v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: swap-in waiting for I/O while munmap runs retries and never installs into the unmapped range`, () => {
      const r = ioRun({ ...unmapDuringIo(gen), config: { swap_synchronous_io: false } });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.scriptDone).toBe(true);
      const [load, munmap] = [r.history.find((h) => h.op.op === 'load')!, r.history.find((h) => h.op.op === 'munmap')!];
      expect(munmap.result).toEqual({ kind: 'ok' });
      expect(load.result).toEqual({ kind: 'signal', sig: 'SIGSEGV' });
      // The read was still in flight when munmap finished.
      expect(munmap.response).toBeLessThan(r.history.find((h) => h === load)!.response);
      const p = sim_mmu_walk(r.kernel.procs.get(1)!.mm!, A);
      expect(p === null || p.kind === 'none').toBe(true);
      expect(r.labels('T1')).toContain('folio_wait_locked');
      expect(r.kernel.stats.fault_retries).toBeGreaterThanOrEqual(1);
      // The swap entry is gone with the mapping; only the swap cache may still hold the folio.
      const si = r.kernel.fn.swp_swap_info(1)!;
      expect(si.swap_map[1]! & ~SWAP_HAS_CACHE).toBe(0);
    });
  }

  it('v6.4: under the VMA lock do_swap_page returns VM_FAULT_RETRY at once (swap-in happens under mmap_lock)', () => {
    const r = ioRun({
      gen: 'v6.4',
      swapSlots: 4,
      processes: [{ pid: 1, setup: [mmapAnon(1, A, 1), { op: 'store', pid: 1, addr: A, value: 5 }] }],
      kernelSetup: [{ do: 'swap_out', pid: 1, addr: A }],
      threads: [{ name: 'T1', pid: 1, program: [{ op: 'load', pid: 1, addr: A }] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.history[0]!.result).toEqual({ kind: 'value', value: 5 });
    expect(r.kernel.stats.vma_lock.VMA_LOCK_RETRY).toBeGreaterThanOrEqual(1);
  });

  it('io_hold_vma_lock (proposal): the swap-in sleeps holding the VMA read lock; munmap waits for it', () => {
    const r = ioRun({ ...unmapDuringIo('v6.6'), config: { io_hold_vma_lock: true, swap_synchronous_io: false },
      script: [{ task: 'T1', until: 'folio_lock' }] });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const [load, munmap] = [r.history.find((h) => h.op.op === 'load')!, r.history.find((h) => h.op.op === 'munmap')!];
    expect(load.result).toEqual({ kind: 'value', value: 5 });
    expect(munmap.response).toBeGreaterThan(load.response - 1);
  });

  // B17 (13ddaf26be32): SWP_SYNCHRONOUS_IO, swap count 1: both faults skip the swap cache.
  //  0x10000    0x11000
  //  |-- anon --|          value 1, swapped out to slot 1 (zram-like synchronous device)
  //  T0: load, load        T1: store 2        kswapd: reclaim 0x10000 once
  const b17 = (pin: boolean): IoTest => ({
    gen: 'v6.6',
    config: { swap_synchronous_io: true, swapcache_prepare_on_skip: pin },
    swapSlots: 4,
    processes: [{ pid: 1, setup: [mmapAnon(1, A, 1), { op: 'store', pid: 1, addr: A, value: 1 }] }],
    kernelSetup: [{ do: 'swap_out', pid: 1, addr: A }],
    threads: [
      { name: 'T0', pid: 1, program: [{ op: 'load', pid: 1, addr: A }, { op: 'load', pid: 1, addr: A }] },
      { name: 'T1', pid: 1, program: [{ op: 'store', pid: 1, addr: A, value: 2 }] },
    ],
    daemons: [{ kind: 'reclaim', rounds: 1, targets: [{ pid: 1, addr: A }] }],
    // CPU0 (T0) reads slot 1 into folio A and is delayed before the PTL; CPU1 (T1) swaps in into
    // folio B, maps it, frees slot 1, writes 2; kswapd swaps B out — reusing slot 1; then T0.
    script: [
      { task: 'T0', until: 'do_swap_page:pte_offset_map_lock' },
      { task: 'T1', until: 'exit' },
      { task: 'reclaim', until: 'exit' },
    ],
  });

  // The schedule found (v6.6 + swapcache_prepare_on_skip=false), as a timeline:
  //   T0 (CPU0)                              T1 (CPU1)                          kswapd
  //   do_swap_page: skip swapcache,
  //   swap_read_folio(A) <- slot 1 = 1
  //   <delayed before the PTL>               do_swap_page: skip swapcache,
  //                                          swap_read_folio(B) <- slot 1
  //                                          pte_same ok, set_pte_at(B, rw),
  //                                          swap_free(1): slot 1 free
  //                                          store 2 into B
  //                                                                             add_to_swap(B): slot 1 (reused)
  //                                                                             try_to_unmap: PTE = swap 1
  //                                                                             pageout: slot 1 = 2, B freed
  //   pte_offset_map_lock: pte_same(swap 1) passes (ABA)
  //   swap_free(1): slot 1 freed, 2 is lost
  //   set_pte_at(A = 1): stale data mapped; load → 1
  it('B17 without swapcache_prepare: pte_same passes on the reused slot and installs stale data', () => {
    const r = ioRun(b17(false));
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.scriptDone).toBe(true);
    const [l1, l2] = r.history.filter((h) => h.op.op === 'load');
    const st = r.history.find((h) => h.op.op === 'store')!;
    expect(st.result).toEqual({ kind: 'ok' });
    // The second load starts after the store completed, yet sees the stale swap-in: a lost write.
    expect(l2!.invoke).toBeGreaterThan(st.response);
    expect(l1!.result).toEqual({ kind: 'value', value: 1 });
    expect(l2!.result).toEqual({ kind: 'value', value: 1 });
    expect(valueAt(r.kernel, 1, A)).toBe(1);
    // The schedule replays the corruption byte-for-byte.
    const again = ioRun({ ...b17(false), script: undefined, scheduler: new ReplayScheduler(r.outcome.schedule) });
    expect(again.outcome.status, why(again.outcome)).toBe('ok');
    expect(again.history.map((h) => h.result)).toEqual(r.history.map((h) => h.result));
    expect(r.outcome.schedule).toMatch(/^v1:/);
  });

  it('B17 with swapcache_prepare (6.8+): the racer backs off until the pin is cleared; no write is lost', () => {
    const r = ioRun(b17(true));
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const st = r.history.find((h) => h.op.op === 'store')!;
    const [, l2] = r.history.filter((h) => h.op.op === 'load');
    expect(st.result).toEqual({ kind: 'ok' });
    expect(r.labels('T1')).toContain('do_swap_page:swapcache_wq');
    if (l2!.invoke > st.response) expect(l2!.result).toEqual({ kind: 'value', value: 2 });
    expect(valueAt(r.kernel, 1, A)).toBe(2);
  });
});
