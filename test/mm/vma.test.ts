/**
 * mm/vma.c: munmap (do_vmi_munmap → split, write-lock + detach, tree clear, downgrade, zap,
 * free), __split_vma, merging, and the assertions the module relies on.
 */
import { describe, expect, it } from 'vitest';
import { GENERATIONS } from '../../impl/sim/config.js';
import {
  PAGE, RW, load, maps, mapsText, mmapAnon, munmap, store, sysDfs, sysRun, why,
} from './syscalls_harness.js';
import type { Task } from '../../impl/rt/task.js';
import { k, type Kernel } from '../../impl/sim/kernel.js';
import { PMD_SIZE, PTRS_PER_PTE, VM_READ } from '../../impl/include/linux/mm_flags.js';
import type { mm_struct } from '../../impl/include/linux/mm_types.js';

const H = 0x10000000;
const hex = (n: number): string => n.toString(16);

/** Present PTEs of mm in [start, end) (I10 check after an munmap). */
function presentIn(mm: mm_struct, start: number, end: number): number[] {
  const out: number[] = [];
  for (let a = start; a < end; a += PAGE) {
    const t = mm.pgd.get(Math.floor(a / PMD_SIZE))?.table;
    if (t && !t.freed && t.entries[Math.floor(a / PAGE) % PTRS_PER_PTE]!.kind === 'present') out.push(a);
  }
  return out;
}

describe('do_vmi_munmap', () => {
  for (const g of GENERATIONS) {
    it(`${g.name}: unmapping the middle splits the VMA; the pages outside keep their data`, () => {
      //   before |--0--|--1--|--2--|--3--|   munmap(1..2)   after |--0--|           |--3--|
      const r = sysRun({
        gen: g.name,
        threads: [{
          name: 'A', pid: 1,
          program: [
            mmapAnon(1, H, 4 * PAGE), store(1, H, 1), store(1, H + PAGE, 2), store(1, H + 3 * PAGE, 4),
            munmap(1, H + PAGE, 2 * PAGE), maps(1), load(1, H), load(1, H + 3 * PAGE), load(1, H + PAGE),
          ],
        }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      const res = r.of('A');
      expect(res[4]).toEqual({ kind: 'ok' });
      expect(mapsText(res[5])).toEqual([`${hex(H)}-${hex(H + PAGE)} rw-p 0`, `${hex(H + 3 * PAGE)}-${hex(H + 4 * PAGE)} rw-p 0`]);
      expect(res[6]).toEqual({ kind: 'value', value: 1 });
      expect(res[7]).toEqual({ kind: 'value', value: 4 });
      expect(res[8]).toEqual({ kind: 'signal', sig: 'SIGSEGV' });
      const mm = r.kernel.procs.get(1)!.mm!;
      expect(presentIn(mm, H + PAGE, H + 3 * PAGE)).toEqual([]);
      expect(mm.map_count).toBe(2);
    });
  }

  it('an unaligned start is -EINVAL; an empty range succeeds', () => {
    const r = sysRun({ gen: 'v6.6', threads: [{ name: 'A', pid: 1, program: [munmap(1, H + 1, PAGE), munmap(1, H, PAGE)] }] });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')).toEqual([{ kind: 'errno', errno: -22 }, { kind: 'ok' }]);
  });

  it('munmap across two VMAs (rw | r) splits both ends and removes both middles', () => {
    //   |--rw--|--rw--|--r--|--r--|   munmap(1..3)   |--rw--|          |--r--|
    const r = sysRun({
      gen: 'v6.15',
      threads: [{
        name: 'A', pid: 1,
        program: [
          mmapAnon(1, H, 2 * PAGE), mmapAnon(1, H + 2 * PAGE, 2 * PAGE, { read: true, write: false, exec: false }, { fixed: true }),
          munmap(1, H + PAGE, 2 * PAGE), maps(1),
        ],
      }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(mapsText(r.of('A')[3])).toEqual([`${hex(H)}-${hex(H + PAGE)} rw-p 0`, `${hex(H + 3 * PAGE)}-${hex(H + 4 * PAGE)} r--p 0`]);
  });

  for (const gen of ['v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: a fault racing munmap never maps into the unmapped range (every schedule, 2 preemptions)`, () => {
      //   |--A faults here--|   B: munmap of the same page
      let runs = 0;
      const res = sysDfs(
        {
          gen,
          processes: [{ pid: 1, setup: [mmapAnon(1, H, 2 * PAGE), store(1, H + PAGE, 3)] }],
          threads: [
            { name: 'A', pid: 1, program: [store(1, H, 5)] },
            { name: 'B', pid: 1, program: [munmap(1, H, PAGE)] },
          ],
        },
        2,
        (o, kernel, history) => {
          runs++;
          if (o.status !== 'ok') return;
          const mm = kernel.procs.get(1)!.mm!;
          // I10: nothing present where no VMA is
          expect(presentIn(mm, H, H + PAGE)).toEqual([]);
          const a = history.find((h) => h.op.op === 'store' && h.op.addr === H)!;
          expect(['ok', 'signal']).toContain(a.result!.kind);
        },
        1500,
      );
      expect(res.bad.map(why)).toEqual([]);
      expect(runs).toBeGreaterThan(5);
    });
  }
});

describe('assertions', () => {
  it('do_vmi_munmap without mmap_write_lock trips mmap_assert_write_locked', () => {
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE)] }],
      tasks: [['broken', 1, function* (kern: Kernel): Task<number> {
        const mm = kern.procs.get(1)!.mm!;
        yield* k.fn.mmap_read_lock(mm); // the wrong lock
        return yield* k.fn.do_vmi_munmap(mm, H, PAGE, false);
      }]],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.message).toMatch(/mmap_assert_write_locked|mmap_lock/);
  });

  for (const gen of ['v6.6', 'v6.15']) {
    it(`${gen}: vm_flags_reset on a VMA that is not write-locked trips vma_assert_write_locked`, () => {
      const r = sysRun({
        gen,
        processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE)] }],
        tasks: [['broken', 1, function* (kern: Kernel): Task<void> {
          const mm = kern.procs.get(1)!.mm!;
          yield* k.fn.mmap_write_lock(mm);
          const vma = (yield* k.fn.find_vma(mm, H))!;
          k.fn.vm_flags_reset(vma, vma.vm_flags & ~VM_READ); // no vma_start_write first (B26)
          k.fn.mmap_write_unlock(mm);
        }]],
      });
      expect(r.outcome.status).toBe('violation');
      expect(r.outcome.violation!.message).toMatch(/vma_assert_write_locked/);
    });

    it(`${gen}: vm_flags_reset after vma_start_write passes`, () => {
      const r = sysRun({
        gen,
        processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE)] }],
        tasks: [['fixed', 1, function* (kern: Kernel): Task<void> {
          const mm = kern.procs.get(1)!.mm!;
          yield* k.fn.mmap_write_lock(mm);
          const vma = (yield* k.fn.find_vma(mm, H))!;
          yield* k.fn.vma_start_write(vma);
          k.fn.vm_flags_reset(vma, vma.vm_flags);
          k.fn.mmap_write_unlock(mm);
        }]],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
    });

    it(`${gen}: dup_anon_vma into a VMA that is not write-locked trips vma_assert_write_locked`, () => {
      //   |--dst (no anon_vma)--|--src (faulted: anon_vma)--|
      const r = sysRun({
        gen,
        processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE), mmapAnon(1, H + PAGE, PAGE, { read: true, write: true, exec: true }, { fixed: true }), store(1, H + PAGE, 1)] }],
        tasks: [['broken', 1, function* (kern: Kernel): Task<void> {
          const mm = kern.procs.get(1)!.mm!;
          yield* k.fn.mmap_write_lock(mm);
          const dst = (yield* k.fn.find_vma(mm, H))!;
          const src = (yield* k.fn.find_vma(mm, H + PAGE))!;
          yield* k.fn.dup_anon_vma(dst, src);
          k.fn.mmap_write_unlock(mm);
        }]],
      });
      expect(r.outcome.status).toBe('violation');
      expect(r.outcome.violation!.message).toMatch(/vma_assert_write_locked/);
    });
  }

  it('merging (mprotect back to the neighbour\'s flags) write-locks what it changes: no assertion fires', () => {
    //   |--rw--|--rw--|  mprotect(second, r) then back to rw: one VMA again
    const r = sysRun({
      gen: 'v6.15',
      threads: [{
        name: 'A', pid: 1,
        program: [
          mmapAnon(1, H, 2 * PAGE), store(1, H, 1), store(1, H + PAGE, 2),
          { op: 'mprotect', pid: 1, addr: H + PAGE, len: PAGE, prot: { read: true, write: false, exec: false } }, maps(1),
          { op: 'mprotect', pid: 1, addr: H + PAGE, len: PAGE, prot: RW }, maps(1),
        ],
      }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(mapsText(r.of('A')[4])).toHaveLength(2);
    expect(mapsText(r.of('A')[6])).toEqual([`${hex(H)}-${hex(H + 2 * PAGE)} rw-p 0`]);
  });
});
