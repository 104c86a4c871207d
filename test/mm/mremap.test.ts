/**
 * mm/mremap.c: move_vma keeps the contents and never lets a fault see a half-moved range;
 * MREMAP_DONTUNMAP leaves the old VMA empty with its anon_vma unlinked; growing in place.
 *
 *   0x10000000 |--anon rw, 2 pages (11, 12)--|        0x10100000 |--anon rw, 1 page--|
 */
import { describe, expect, it } from 'vitest';
import { sysRun, sysDfs, why, mmapAnon, load, store, RW } from './syscalls_harness.js';
import type { ModelOp } from '../../model/ops.js';
import { k } from '../../impl/sim/kernel.js';
import type { Task } from '../../impl/rt/task.js';
import type { vm_area_struct } from '../../impl/include/linux/mm_types.js';
import { baseTable } from '../../impl/sim/table.js';

const PAGE = 4096;
const A = 0x10000000;
const B = 0x10100000;
const mremap = (oldAddr: number, oldLen: number, newLen: number, f: { maymove?: boolean; fixed?: boolean; dontunmap?: boolean }, newAddr?: number): ModelOp => ({
  op: 'mremap', pid: 1, oldAddr, oldLen, newLen, newAddr,
  flags: { maymove: f.maymove ?? false, fixed: f.fixed ?? false, dontunmap: f.dontunmap ?? false },
});
const setup: ModelOp[] = [mmapAnon(1, A, 2 * PAGE, RW, { fixed: true }), store(1, A, 11), store(1, A + PAGE, 12)];

describe('move_vma', () => {
  for (const gen of ['v6.3', 'v6.6', 'v6.15']) {
    it(`${gen}: MREMAP_FIXED moves pages and VMA; the old range is gone`, () => {
      const r = sysRun({
        gen, processes: [{ pid: 1, setup }],
        threads: [{ name: 't', pid: 1, program: [mremap(A, 2 * PAGE, 2 * PAGE, { maymove: true, fixed: true }, B), load(1, B), load(1, B + PAGE), load(1, A)] }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.of('t')).toEqual([{ kind: 'addr', addr: B }, { kind: 'value', value: 11 }, { kind: 'value', value: 12 }, { kind: 'signal', sig: 'SIGSEGV' }]);
      expect(k.fn.sim_rmap_complete(k.procs.get(1)!.mm!)).toBeNull();
    });
  }

  it('MREMAP_DONTUNMAP keeps the old VMA, empty, with its anon_vma unlinked', () => {
    const r = sysRun({
      gen: 'v6.6', processes: [{ pid: 1, setup }],
      threads: [{ name: 't', pid: 1, program: [mremap(A, 2 * PAGE, 2 * PAGE, { maymove: true, fixed: true, dontunmap: true }, B), load(1, A), load(1, B + PAGE)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('t')).toEqual([{ kind: 'addr', addr: B }, { kind: 'value', value: 0 }, { kind: 'value', value: 12 }]);
    const old = k.fn.sim_vmas(k.procs.get(1)!.mm!).find((v) => v.vm_start === A)!;
    expect(old.anon_vma).toBeNull();
    expect(old.anon_vma_chain.length).toBe(0);
  });

  it('grows in place when the space after the VMA is free, else moves with MREMAP_MAYMOVE', () => {
    const r = sysRun({
      gen: 'v6.6', processes: [{ pid: 1, setup: [...setup, mmapAnon(1, A + 3 * PAGE, PAGE, RW, { fixed: true })] }],
      threads: [{ name: 't', pid: 1, program: [mremap(A, 2 * PAGE, 3 * PAGE, {}), mremap(A, 3 * PAGE, 4 * PAGE, {}), mremap(A, 3 * PAGE, 4 * PAGE, { maymove: true })] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const res = r.of('t');
    expect(res[0]).toEqual({ kind: 'addr', addr: A });
    expect(res[1]).toEqual({ kind: 'errno', errno: -12 });
    expect(res[2]!.kind).toBe('addr');
  });

  /** A fault at the old address racing the move sees the old page or no VMA — never a hole. */
  function raceCheck(overrides: Parameters<typeof sysDfs>[0]['overrides']) {
    const seen = new Set<string>();
    const r = sysDfs({
      gen: 'v6.6', overrides, processes: [{ pid: 1, setup }],
      threads: [
        { name: 'mover', pid: 1, program: [mremap(A, 2 * PAGE, 2 * PAGE, { maymove: true, fixed: true }, B)] },
        { name: 'reader', pid: 1, program: [load(1, A + PAGE)] },
      ],
    }, 1, (o, _k, h) => {
      const rd = h.find((e) => e.op.op === 'load');
      seen.add(JSON.stringify(rd?.result ?? o.status));
    });
    return { seen, r };
  }

  it('a concurrent fault never sees a half-moved range (move_vma write-locks the VMA)', () => {
    const { seen, r } = raceCheck(undefined);
    expect(r.bad.map(why)).toEqual([]);
    for (const s of seen) expect([JSON.stringify({ kind: 'value', value: 12 }), JSON.stringify({ kind: 'signal', sig: 'SIGSEGV' })]).toContain(s);
  });

  it('without vma_start_write in move_vma, a fault under the VMA lock reads a hole (0) mid-move', () => {
    const base = baseTable();
    const { seen } = raceCheck({
      vma_start_write: function* (vma: vm_area_struct): Task<void> {
        // the mutant: move_vma's write lock of the source is skipped (only while mremap runs)
        if (k.fn.sim_vmas(vma.vm_mm).includes(vma) && vma.vm_start === A && vma.anon_vma && (globalThis as { __inMove?: boolean }).__inMove) return;
        yield* base.vma_start_write(vma);
      },
      move_vma: function* (...a: Parameters<typeof base.move_vma>): Task<number> {
        (globalThis as { __inMove?: boolean }).__inMove = true;
        try {
          return yield* base.move_vma(...a);
        } finally {
          (globalThis as { __inMove?: boolean }).__inMove = false;
        }
      },
    });
    expect(seen.has(JSON.stringify({ kind: 'value', value: 0 }))).toBe(true);
  });
});
