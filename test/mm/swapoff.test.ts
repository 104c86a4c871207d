/**
 * mm/swapfile.ts — swapoff: try_to_unuse → unuse_mm (mmap_read_lock) → unuse_vma →
 * unuse_pte_range (lockless PTE read, swap-cache lookup or read-in, folio lock = wait for the
 * I/O) → unuse_pte (PTL, pte_same_as_swp re-check, rmap as do_swap_page) → folio_free_swap; then
 * percpu_ref_kill + synchronize_rcu + wait_for_completion for get_swap_device() users, and the
 * swap metadata (swap_map, the swap cache's address_space) freed as KASAN objects.
 */
import { describe, expect, it } from 'vitest';
import { DfsStrategy, explore, PctScheduler, RandomScheduler, type Outcome } from '../../impl/rt/index.js';
import { current } from '../../impl/rt/execution.js';
import type { Task } from '../../impl/rt/task.js';
import type { ModelOp } from '../../model/ops.js';
import { k as kernelOf, sim_set_kernel, type Kernel } from '../../impl/sim/kernel.js';
import { sim_prepare } from '../../impl/sim/run.js';
import { defineVariant, generationVariant } from '../../impl/sim/variant.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import type { HistoryEntry } from '../../impl/sim/user.js';
import { sim_mmu_walk } from '../../impl/sim/user.js';
import type { swp_entry_t, vm_fault } from '../../impl/include/linux/mm_types.js';
import type { swap_info_struct } from '../../impl/include/linux/swap.js';
import { KASAN_FREED, sim_kasan_meta } from '../../impl/sync/kasan.js';
import { lockdepHooks } from '../../impl/sync/index.js';
import { runScenario } from '../../properties/runner.js';
import { ioRun, why, type IoTest } from './io_harness.js';

const A = 0x10000;
const PG = 0x1000;
const rw = { read: true, write: true, exec: false };
const mmapAnon = (pid: number, addr: number, pages: number): ModelOp =>
  ({ op: 'mmap', pid, addr, len: pages * PG, prot: rw, flags: { shared: false, anonymous: true, fixed: true, growsdown: false } });
const store = (pid: number, addr: number, value: number): ModelOp => ({ op: 'store', pid, addr, value });
const load = (pid: number, addr: number): ModelOp => ({ op: 'load', pid, addr });

/** What each page of [from, from + n pages) of pid holds: 'v<data>' present, 'swap' … */
function pages(k: Kernel, pid: number, from: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = sim_mmu_walk(k.procs.get(pid)!.mm!, from + i * PG);
    out.push(p === null ? 'no table' : p.kind === 'present' ? `v${p.folio.data}` : p.kind);
  }
  return out;
}

function swapDev(k: Kernel): swap_info_struct {
  return k.fn.swp_swap_info(1)!;
}

const swapoffTask = (name = 'swapoff'): readonly [string, number, (k: Kernel) => Task<unknown>] =>
  [name, 0, function* (k: Kernel): Task<unknown> { return yield* k.fn.sim_swapoff(); }];

describe('swapoff: try_to_unuse brings every swapped page back', () => {
  //  P1: 0x10000                 0x13000
  //      |-- anon: 5 | 6 | 7 --|          pages 0 and 2 swapped out (slots), page 1 present
  //  P2 (fork of P1, before the swap-out): shares the same pages; the swap-out through rmap
  //      unmaps the folio from both, so slot of page 0 has swap count 2.
  //  swapoff alone; afterwards every PTE is present again with its value, no slot in use.
  const base = (gen: string, synchronous: boolean): IoTest => ({
    gen,
    config: { swap_synchronous_io: synchronous },
    swapSlots: 4,
    processes: [{ pid: 1, setup: [mmapAnon(1, A, 3), store(1, A, 5), store(1, A + PG, 6), store(1, A + 2 * PG, 7), { op: 'fork', pid: 1 }] }],
    kernelSetup: [{ do: 'swap_out', pid: 1, addr: A }, { do: 'swap_out', pid: 1, addr: A + 2 * PG }],
    tasks: [swapoffTask()],
  });

  for (const gen of ['v6.3', 'v6.6', 'v6.15']) {
    for (const synchronous of [false, true]) {
      it(`${gen}, ${synchronous ? 'SWP_SYNCHRONOUS_IO' : 'async'} device: every swap PTE of both processes is mapped again, values kept`, () => {
        let before: string[][] = [];
        const t = base(gen, synchronous);
        const r = ioRun({
          ...t,
          setup: function* (k) {
            before = [pages(k, 1, A, 3), pages(k, 2, A, 3)];
            const si = swapDev(k);
            expect(si.inuse_pages).toBe(2);
            yield 'test:setup';
          },
        });
        expect(r.outcome.status, why(r.outcome)).toBe('ok');
        expect(before).toEqual([['swap', 'v6', 'swap'], ['swap', 'v6', 'swap']]);
        expect(r.results.get('swapoff')).toBe(0);
        expect(pages(r.kernel, 1, A, 3)).toEqual(['v5', 'v6', 'v7']);
        expect(pages(r.kernel, 2, A, 3)).toEqual(['v5', 'v6', 'v7']);
        const si = swapDev(r.kernel);
        expect(si.inuse_pages).toBe(0);
        expect(si.flags).toBe(0);
        expect(si.swap_cache.i_pages.size).toBe(0);
        // The device's metadata is freed (KASAN objects), get_swap_device() fails.
        expect(sim_kasan_meta(si.swap_map)?.state).toBe(KASAN_FREED);
        expect(sim_kasan_meta(si.swap_cache)?.state).toBe(KASAN_FREED);
        sim_set_kernel(r.kernel);
        expect(r.kernel.fn.get_swap_device(1)).toBe(null);
        // Counters follow the PTEs.
        for (const pid of [1, 2]) {
          const mm = r.kernel.procs.get(pid)!.mm!;
          expect(mm.rss_stat.MM_SWAPENTS).toBe(0);
        }
        // The swapped folios went through the swap cache; shared by both processes (mapcount 2).
        const p1 = sim_mmu_walk(r.kernel.procs.get(1)!.mm!, A)!;
        const p2 = sim_mmu_walk(r.kernel.procs.get(2)!.mm!, A)!;
        expect(p1.kind === 'present' && p2.kind === 'present' && p1.folio === p2.folio && p1.folio._mapcount === 2).toBe(true);
        expect(r.labels('swapoff')).toContain('unuse_pte:set_pte_at');
        if (!synchronous) expect(r.labels('swapoff')).toContain('folio_lock'); // waited for the read
      });
    }
  }

  it('loads and stores after swapoff see the values (no swap-in fault: the pages are present)', () => {
    const r = ioRun({
      ...base('v6.6', false),
      threads: [
        { name: 'T1', pid: 1, program: [load(1, A), load(1, A + 2 * PG), store(1, A, 9), load(1, A)] },
        { name: 'T2', pid: 2, program: [load(2, A), load(2, A + 2 * PG)] },
      ],
      // swapoff first, to the end (the threads run only while it is blocked on the I/O it waits for).
      script: [{ task: 'swapoff', until: 'exit' }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.results.get('swapoff')).toBe(0);
    const byOp = r.history.map((h) => [h.op.op, h.op.pid, h.result]);
    expect(byOp).toContainEqual(['load', 1, { kind: 'value', value: 5 }]);
    expect(byOp).toContainEqual(['load', 1, { kind: 'value', value: 7 }]);
    expect(byOp).toContainEqual(['load', 1, { kind: 'value', value: 9 }]);
    expect(byOp).toContainEqual(['load', 2, { kind: 'value', value: 7 }]);
    // P2 still sees 5: P1's store after swapoff broke COW (the swapoff-mapped PTE is read-only).
    expect(pages(r.kernel, 2, A, 3)).toEqual(['v5', 'v6', 'v7']);
    expect(pages(r.kernel, 1, A, 3)).toEqual(['v9', 'v6', 'v7']);
  });

  it('a swap PTE left behind after swapoff is reported (a planted try_to_unuse that skips P2)', () => {
    const r = ioRun({
      ...base('v6.6', false),
      setup: function* (k) {
        // unuse_mm that skips P2's mm, and a try_to_unuse that does not look at inuse_pages again.
        const real = k.fn.unuse_mm;
        k.fn.unuse_mm = function* (mm, type) {
          if (mm === k.procs.get(2)!.mm) return 0;
          return yield* real(mm, type);
        };
        k.fn.try_to_unuse = function* (type) {
          for (const p of [...k.procs.values()]) if (p.mm) yield* k.fn.unuse_mm(p.mm, type);
          return 0;
        };
        yield 'test:setup';
      },
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.property).toBe('VM_BUG_ON');
    expect(r.outcome.violation!.message).toMatch(/swapoff left a swap PTE .* in mm\(2\) at 0x10000/);
  });
});

describe('swapoff: failure and misuse', () => {
  //  0x10000    0x11000
  //  |-- anon --|          value 5, swapped out to slot 1; swapoff's read-in cannot get a folio
  it('try_to_unuse -ENOMEM (no folio for the read-in): reinsert_swap_info, the device stays usable', () => {
    const r = ioRun({
      gen: 'v6.6', swapSlots: 4,
      processes: [{ pid: 1, setup: [mmapAnon(1, A, 1), store(1, A, 5)] }],
      kernelSetup: [{ do: 'swap_out', pid: 1, addr: A }],
      threads: [{ name: 'T1', pid: 1, program: [load(1, A)] }],
      tasks: [swapoffTask()],
      setup: function* (k) {
        const alloc = k.fn.vma_alloc_folio;
        k.fn.vma_alloc_folio = function* (gfp, order, vma, addr) {
          if (current().name === 'swapoff') return null;
          return yield* alloc(gfp, order, vma, addr);
        };
        yield 'test:setup';
      },
      script: [{ task: 'swapoff', until: 'exit' }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.results.get('swapoff')).toBe(-12);
    const si = swapDev(r.kernel);
    expect(si.users.live).toBe(true);
    expect(si.flags & 2).toBe(2); // SWP_WRITEOK again
    expect(sim_kasan_meta(si.swap_map)?.state).not.toBe(KASAN_FREED);
    // T1's load swapped the page in through the device as usual.
    expect(r.history.map((h) => h.result)).toEqual([{ kind: 'value', value: 5 }]);
  });

  it('swap_free of an entry after swapoff: "Unused swap file entry" is reported', () => {
    const r = ioRun({
      gen: 'v6.6', swapSlots: 2,
      tasks: [['t', 0, function* (k: Kernel): Task<unknown> {
        expect(yield* k.fn.sim_swapoff()).toBe(0);
        k.fn.swap_free(1); // a swap PTE that outlived swapoff being zapped/mapped
        return 'not reached';
      }]],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.property).toBe('WARN_ON');
    expect(r.outcome.violation!.message).toMatch(/swap_free: Unused swap file entry 00000001/);
  });
});

describe('swapoff racing a swap-in fault', () => {
  //  0x10000    0x11000
  //  |-- anon --|          value 5, swapped out to slot 1 (async device)
  //  T1: load 0x10000 (do_swap_page)        swapoff
  const race = (gen: string, extra: Partial<IoTest> = {}): IoTest => ({
    gen,
    config: { swap_synchronous_io: false },
    swapSlots: 4,
    processes: [{ pid: 1, setup: [mmapAnon(1, A, 1), store(1, A, 5)] }],
    kernelSetup: [{ do: 'swap_out', pid: 1, addr: A }],
    threads: [{ name: 'T1', pid: 1, program: [load(1, A), load(1, A)] }],
    tasks: [swapoffTask()],
    ...extra,
  });

  for (const gen of ['v6.3', 'v6.6', 'v6.15']) {
    // T1 has done get_swap_device() and is inside the swap-cache lookup (rcu_read_lock held) when
    // swapoff runs (SWP_SYNCHRONOUS_IO device: swapoff's read-in completes in its own context):
    // try_to_unuse reads the page in and maps it; percpu_ref_kill; synchronize_rcu waits for T1's
    // lookup, wait_for_completion for T1's put_swap_device. T1's swap-in finds nothing
    // (__read_swap_cache_async's own get_swap_device fails now), re-checks the PTE under the PTL
    // — no longer the swap entry — and returns 0; the refault finds the page present.
    it(`${gen}: the fault holds get_swap_device — swapoff waits for its put_swap_device; the refault finds the page`, () => {
      const order: string[] = [];
      const r = ioRun(race(gen, {
        config: { swap_synchronous_io: true },
        setup: function* (k) {
          const put = k.fn.put_swap_device;
          k.fn.put_swap_device = (si) => {
            order.push(`put by ${current().name}${si.users.live ? '' : ' after percpu_ref_kill'}`);
            put(si);
          };
          yield 'test:setup';
        },
        script: [{ task: 'T1', until: 'filemap_get_entry:xas_load' }, { task: 'swapoff', until: 'exit' }],
      }));
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.results.get('swapoff')).toBe(0);
      expect(r.history.map((h) => h.result)).toEqual([{ kind: 'value', value: 5 }, { kind: 'value', value: 5 }]);
      expect(pages(r.kernel, 1, A, 1)).toEqual(['v5']);
      const sw = r.labels('swapoff');
      expect(sw).toContain('unuse_pte:set_pte_at'); // swapoff mapped it, not T1
      expect(sw).toContain('synchronize_rcu');
      expect(sw).toContain('swapoff:wait_for_completion(&si->comp)');
      expect(order.filter((x) => x.includes('T1'))).toEqual(['put by T1 after percpu_ref_kill']);
      // T1's fault gave up (returned 0: its read-in found no device, the PTE had changed) and the
      // retried access found the page swapoff mapped: T1 never mapped anything itself.
      expect(r.labels('T1')).not.toContain('do_swap_page:set_pte_at');
    });

    // The same with an async device: swapoff's read-in is in flight when T1 looks the entry up:
    // T1 finds swapoff's locked swap-cache folio, drops its fault lock and waits for the I/O
    // (folio_lock_or_retry → VM_FAULT_RETRY, put_swap_device on the way out), then refaults.
    it(`${gen}: async device — the fault finds swapoff's read in flight, waits, retries; never a UAF`, () => {
      const r = ioRun(race(gen, {
        script: [{ task: 'T1', until: 'filemap_get_entry:xas_load' }, { task: 'swapoff', until: 'exit' }],
      }));
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.results.get('swapoff')).toBe(0);
      expect(r.history.map((h) => h.result)).toEqual([{ kind: 'value', value: 5 }, { kind: 'value', value: 5 }]);
      expect(r.labels('T1')).toContain('folio_wait_locked');
      expect(pages(r.kernel, 1, A, 1)).toEqual(['v5']);
    });

    // T1 swaps the page in first and is about to map it (folio locked) when swapoff starts:
    // unuse_pte_range finds the same swap-cache folio, waits for its lock, and unuse_pte's
    // pte_same_as_swp fails (T1 mapped it): nothing to do but free the swap cache.
    it(`${gen}: the fault maps the page first; unuse_pte re-checks under the PTL and leaves it`, () => {
      const r = ioRun(race(gen, {
        script: [{ task: 'T1', until: 'do_swap_page:pte_offset_map_lock' }, { task: 'swapoff', until: 'exit' }],
      }));
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.results.get('swapoff')).toBe(0);
      expect(r.history.map((h) => h.result)).toEqual([{ kind: 'value', value: 5 }, { kind: 'value', value: 5 }]);
      expect(pages(r.kernel, 1, A, 1)).toEqual(['v5']);
      if (gen !== 'v6.3' && r.labels('T1').includes('do_swap_page:pte_offset_map_lock')) {
        expect(r.labels('swapoff')).not.toContain('unuse_pte:set_pte_at');
      }
      expect(swapDev(r.kernel).inuse_pages).toBe(0);
    });
  }

  /** Every schedule within a preemption bound: never a violation; loads see 5; swapoff succeeds. */
  function dfs(gen: string, bound: number, synchronous: boolean): { executions: number; complete: boolean; bad: Outcome[] } {
    const variant = defineVariant({ name: `swapoff-${gen}`, base: gen, description: 'swapoff dfs', config: { swap_synchronous_io: synchronous } });
    const bad: Outcome[] = [];
    let cur: { kernel: Kernel; history: HistoryEntry[]; result: { v: unknown } } | null = null;
    const scenario: ScenarioSpec = {
      name: 'swapoff-dfs', family: 'swapoff', swapSlots: 2,
      processes: [{ pid: 1, setup: [mmapAnon(1, A, 1), store(1, A, 5)] }],
      kernelSetup: [{ do: 'swap_out', pid: 1, addr: A }],
      threads: [{ name: 'T1', pid: 1, program: [load(1, A)] }],
    };
    const r = explore(new DfsStrategy({ preemptionBound: bound, maxExecutions: 5000 }), (s) => {
      const result = { v: undefined as unknown };
      const p = sim_prepare({
        variant, scheduler: s, hooks: lockdepHooks, maxSteps: 20_000, scenario,
        setup: function* (k) {
          k.exec.spawn('swapoff', function* (): Task<void> { result.v = yield* k.fn.sim_swapoff(); });
          yield 'test:setup';
        },
      });
      sim_set_kernel(p.kernel);
      cur = { kernel: p.kernel, history: p.history, result };
      return p.exec;
    }, {
      stopOnFailure: false,
      onRun: (o) => {
        const c = cur!;
        if (o.status !== 'ok') { bad.push(o); return; }
        const problems: string[] = [];
        if (c.result.v !== 0) problems.push(`swapoff returned ${String(c.result.v)}`);
        const h = c.history.map((x) => x.result);
        if (JSON.stringify(h) !== JSON.stringify([{ kind: 'value', value: 5 }])) problems.push(`history ${JSON.stringify(h)}`);
        const pg = pages(c.kernel, 1, A, 1);
        if (pg[0] !== 'v5') problems.push(`page ${pg[0]}`);
        if (problems.length) bad.push({ ...o, status: 'crash', error: problems.join('; ') });
      },
    });
    return { executions: r.executions, complete: r.complete, bad };
  }

  for (const [gen, synchronous] of [['v6.6', false], ['v6.6', true], ['v6.15', false], ['v6.3', false]] as const) {
    it(`${gen} ${synchronous ? 'SWP_SYNCHRONOUS_IO' : 'async'}: every schedule (DFS, 2 preemptions): no UAF, no leftover swap PTE, the load sees 5`, () => {
      const r = dfs(gen, 2, synchronous);
      expect(r.bad.map((o) => why(o) + ` (${o.schedule})`)).toEqual([]);
      expect(r.executions).toBeGreaterThan(20);
    });
  }
});

describe('I15: a do_swap_page without get_swap_device is a use-after-free of the swap metadata', () => {
  // The planted fault: do_swap_page with every get_swap_device() it makes (its own and
  // swapin_readahead's) turned into a bare swp_swap_info() — the kernel before eb085574a752 /
  // 2799e77529c2 ("swap: fix do_swap_page() race with swapoff"). Nothing keeps swapoff from
  // freeing swap_map under it.
  function plant(k: Kernel): void {
    const unpinned = new Set<number>();
    const real_do_swap_page = k.fn.do_swap_page;
    const real_get = k.fn.get_swap_device;
    const real_put = k.fn.put_swap_device;
    k.fn.do_swap_page = function* (vmf: vm_fault): Task<number> {
      const me = current().id;
      unpinned.add(me);
      try {
        return yield* real_do_swap_page(vmf);
      } finally {
        unpinned.delete(me);
      }
    };
    k.fn.get_swap_device = (entry: swp_entry_t) => (unpinned.has(current().id) ? kernelOf.fn.swp_swap_info(entry) : real_get(entry));
    k.fn.put_swap_device = (si: swap_info_struct) => {
      if (!unpinned.has(current().id)) real_put(si);
    };
  }

  //  0x10000    0x11000
  //  |-- anon --|          value 5, swapped out to slot 1
  //  T1: load — do_swap_page has read the swap PTE and is paused at its swap-cache lookup
  //      (SWP_SYNCHRONOUS_IO: on its first fault; async: on the refault after it swapped the page
  //      in itself and waited for the read, so the folio is in the swap cache, uptodate)
  //  swapoff: runs to the end — maps the page (try_to_unuse), kills si->users, frees swap_map.
  //  Planted: nothing held swapoff back; T1's lookup misses (the folio left the swap cache), its
  //  read-in path reads swap_map: use-after-free. Real: T1 holds get_swap_device(), swapoff
  //  waits for it; T1's read-in gets no device, the PTE re-check fails, the refault finds 5.
  const uaf = (gen: string, synchronous: boolean, planted: boolean): IoTest => ({
    gen,
    config: { swap_synchronous_io: synchronous },
    swapSlots: 4,
    processes: [{ pid: 1, setup: [mmapAnon(1, A, 1), store(1, A, 5)] }],
    kernelSetup: [{ do: 'swap_out', pid: 1, addr: A }],
    threads: [{ name: 'T1', pid: 1, program: [load(1, A)] }],
    tasks: [swapoffTask()],
    setup: function* (k) {
      if (planted) plant(k);
      yield 'test:setup';
    },
    script: [{ task: 'T1', until: 'filemap_get_entry:xas_load', nth: synchronous ? 0 : 2 }, { task: 'swapoff', until: 'exit' }],
  });

  for (const gen of ['v6.6', 'v6.15']) {
    for (const synchronous of [false, true]) {
      const dev = synchronous ? 'SWP_SYNCHRONOUS_IO' : 'async';
      it(`${gen} ${dev}: planted — swapoff frees swap_map under the fault: KASAN slab-use-after-free`, () => {
        const r = ioRun(uaf(gen, synchronous, true));
        expect(r.outcome.status).toBe('violation');
        const v = r.outcome.violation!;
        expect(v.property).toBe('kasan');
        // The first freed metadata the unpinned fault reaches: the swap cache (a lookup reads
        // swapper_spaces in filemap_get_entry) or the swap map.
        expect(v.message).toMatch(/^BUG: KASAN: slab-use-after-free in (filemap_get_entry|swap_swapcount|__swap_count|__swap_duplicate)/);
        expect(v.message).toMatch(/(swap_map \(vmalloc\) object freed at swapoff: vfree\(swap_map\)|swapper_spaces \(kvmalloc\) object freed at swapoff: exit_swap_address_space)/);
        expect(v.report.join('\n')).toMatch(/Freed by task swapoff/);
        expect(r.results.get('swapoff')).toBe(0); // swapoff had finished
      });

      it(`${gen} ${dev}: the same schedule on the real do_swap_page — swapoff waits, no UAF`, () => {
        const r = ioRun(uaf(gen, synchronous, false));
        expect(r.outcome.status, why(r.outcome)).toBe('ok');
        expect(r.history.map((h) => h.result)).toEqual([{ kind: 'value', value: 5 }]);
        expect(r.results.get('swapoff')).toBe(0);
      });
    }
  }

  it('DFS finds the planted UAF without a script (v6.6, 2 preemptions)', () => {
    const variant = generationVariant('v6.6');
    let found: Outcome | null = null;
    explore(new DfsStrategy({ preemptionBound: 2, maxExecutions: 5000 }), (s) => {
      const p = sim_prepare({
        variant, scheduler: s, hooks: lockdepHooks, maxSteps: 20_000,
        scenario: {
          name: 'swapoff-uaf', family: 'swapoff', swapSlots: 2,
          processes: [{ pid: 1, setup: [mmapAnon(1, A, 1), store(1, A, 5)] }],
          kernelSetup: [{ do: 'swap_out', pid: 1, addr: A }],
          threads: [{ name: 'T1', pid: 1, program: [load(1, A)] }],
          daemons: [{ kind: 'swapoff' }],
        },
        setup: function* (k) {
          plant(k);
          yield 'test:setup';
        },
      });
      sim_set_kernel(p.kernel);
      return p.exec;
    }, {
      onRun: (o) => {
        if (o.status === 'violation' && o.violation?.property === 'kasan') {
          found = o;
          return false;
        }
        return true;
      },
      stopOnFailure: false,
    });
    expect(found).not.toBeNull();
    expect(found!.violation!.message).toMatch(/slab-use-after-free .* (swap_map|swapper_spaces)/);
  });
});

describe('the swapoff daemon beside reclaim (full checks: invariants, refinement)', () => {
  //  |--anon rw (2 pages: 21, 22)--|   kswapd swaps them out, threads load/store, swapoff daemon
  const scenario: ScenarioSpec = {
    name: 'reclaim-swapoff', family: 'reclaim',
    swapSlots: 4,
    processes: [{ pid: 1, setup: [mmapAnon(1, A, 2), store(1, A, 21), store(1, A + PG, 22)] }],
    kernelSetup: [{ do: 'swap_out', pid: 1, addr: A }],
    threads: [
      { name: 'user', pid: 1, program: [load(1, A), store(1, A + PG, 31), load(1, A + PG)] },
      { name: 'user2', pid: 1, program: [load(1, A + PG), load(1, A)] },
    ],
    daemons: [{ kind: 'reclaim', rounds: 2, targets: [{ pid: 1, addr: A }, { pid: 1, addr: A + PG }] }, { kind: 'swapoff' }],
  };
  for (const gen of ['v6.3', 'v6.6', 'v6.15']) {
    it(`${gen}: 150 random + 150 PCT schedules pass`, () => {
      const variant = generationVariant(gen);
      for (let seed = 1; seed <= 150; seed++) {
        for (const scheduler of [new RandomScheduler(seed), new PctScheduler(seed, 3, 400)]) {
          const rep = runScenario({ variant, scenario, scheduler });
          expect(rep.status === 'pass' ? 'pass' : `${rep.status}: ${rep.violation?.property} ${rep.violation?.message ?? rep.error} (${rep.schedule})`).toBe('pass');
        }
      }
    });
  }
});
