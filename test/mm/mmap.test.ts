/**
 * mm/mmap.c: do_mmap / mmap_region / get_unmapped_area / expand_stack, through the user layer
 * (ksys_mmap_pgoff) in every generation. MMAP_BASE = 0x7f0000000000 (fixed, no ASLR).
 */
import { describe, expect, it } from 'vitest';
import { GENERATIONS } from '../../impl/sim/config.js';
import {
  PAGE, RO, RW, load, maps, mapsText, mmapAnon, mmapFile, store, sysRun, why,
} from './syscalls_harness.js';
import type { Task } from '../../impl/rt/task.js';
import type { vm_area_struct } from '../../impl/include/linux/mm_types.js';
import { vma_start_write as real_vma_start_write } from '../../impl/mm/mmap_lock.js';
import { sim_vmas } from '../../impl/mm/maple_tree.js';

const BASE = 0x7f0000000000;
const hex = (n: number): string => n.toString(16);

describe('do_mmap', () => {
  for (const g of GENERATIONS) {
    it(`${g.name}: anonymous mappings go top-down from mmap_base and merge with their neighbour`, () => {
      //   |--B--|--A--| mmap_base      B is placed just below A and merges into one VMA
      const r = sysRun({
        gen: g.name,
        threads: [{ name: 'A', pid: 1, program: [mmapAnon(1, 0, PAGE), mmapAnon(1, 0, 2 * PAGE), maps(1)] }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      const res = r.of('A');
      expect(res[0]).toEqual({ kind: 'addr', addr: BASE - PAGE });
      expect(res[1]).toEqual({ kind: 'addr', addr: BASE - 3 * PAGE });
      expect(mapsText(res[2])).toEqual([`${hex(BASE - 3 * PAGE)}-${hex(BASE)} rw-p 0`]);
    });
  }

  it('a free hint is used as it is; different protections do not merge', () => {
    //   |--rw--|--r--|   at the hint 0x10000000
    const H = 0x10000000;
    const r = sysRun({
      gen: 'v6.6',
      threads: [{ name: 'A', pid: 1, program: [mmapAnon(1, H, PAGE), mmapAnon(1, H + PAGE, PAGE, RO), maps(1)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')[0]).toEqual({ kind: 'addr', addr: H });
    expect(mapsText(r.of('A')[2])).toEqual([`${hex(H)}-${hex(H + PAGE)} rw-p 0`, `${hex(H + PAGE)}-${hex(H + 2 * PAGE)} r--p 0`]);
  });

  it('file mappings: offset and name in maps, contiguous offsets merge, the page cache backs loads', () => {
    //   |--f@1--|--f@2--|  merge into one VMA at offset 0x1000
    const H = 0x20000000;
    const r = sysRun({
      gen: 'v6.7',
      files: [{ name: 'f', pages: [10, 11, 12, 13] }],
      threads: [{
        name: 'A', pid: 1,
        program: [
          mmapFile(1, H, PAGE, 'f', PAGE, RO), mmapFile(1, H + PAGE, PAGE, 'f', 2 * PAGE, RO, { fixed: true }),
          maps(1), load(1, H), load(1, H + PAGE),
        ],
      }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const res = r.of('A');
    expect(mapsText(res[2])).toEqual([`${hex(H)}-${hex(H + 2 * PAGE)} r--p 1000 f`]);
    expect(res[3]).toEqual({ kind: 'value', value: 11 });
    expect(res[4]).toEqual({ kind: 'value', value: 12 });
  });

  it('MAP_FIXED replaces what was mapped (split, old page gone); MAP_FIXED_NOREPLACE gives -EEXIST', () => {
    //   before |------rw 4 pages------|   after |--rw--|--r--|----rw----|
    const H = 0x30000000;
    const r = sysRun({
      gen: 'v6.6',
      threads: [{
        name: 'A', pid: 1,
        program: [
          mmapAnon(1, H, 4 * PAGE), store(1, H + PAGE, 7), store(1, H, 5),
          mmapAnon(1, H + PAGE, PAGE, RO, { fixed: true }),
          maps(1), load(1, H + PAGE), load(1, H),
          mmapAnon(1, H + 2 * PAGE, PAGE, RW, { noreplace: true }),
        ],
      }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const res = r.of('A');
    expect(res[3]).toEqual({ kind: 'addr', addr: H + PAGE });
    expect(mapsText(res[4])).toEqual([
      `${hex(H)}-${hex(H + PAGE)} rw-p 0`, `${hex(H + PAGE)}-${hex(H + 2 * PAGE)} r--p 0`, `${hex(H + 2 * PAGE)}-${hex(H + 4 * PAGE)} rw-p 0`,
    ]);
    expect(res[5]).toEqual({ kind: 'value', value: 0 });
    expect(res[6]).toEqual({ kind: 'value', value: 5 });
    expect(res[7]).toEqual({ kind: 'errno', errno: -17 });
  });

  it('errors: len 0 → -EINVAL, MAP_FIXED below mmap_min_addr → -EPERM, MAP_GROWSDOWN on a file → -EINVAL', () => {
    const r = sysRun({
      gen: 'v6.6',
      files: [{ name: 'f', pages: [1] }],
      threads: [{
        name: 'A', pid: 1,
        program: [
          mmapAnon(1, 0, 0), mmapAnon(1, 0x1000, PAGE, RW, { fixed: true }),
          { op: 'mmap', pid: 1, addr: 0, len: PAGE, prot: RW, file: 'f', offset: 0, flags: { shared: false, anonymous: false, fixed: false, growsdown: true } },
          mmapAnon(1, 0, PAGE, RW, { shared: true, growsdown: true }),
        ],
      }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')).toEqual([
      { kind: 'errno', errno: -22 }, { kind: 'errno', errno: -1 }, { kind: 'errno', errno: -22 }, { kind: 'errno', errno: -22 },
    ]);
  });

  it('shared anonymous memory is a fresh zero-filled shmem object', () => {
    const r = sysRun({
      gen: 'v6.7',
      threads: [{ name: 'A', pid: 1, program: [mmapAnon(1, 0x40000000, PAGE, RW, { shared: true }), load(1, 0x40000000), maps(1)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')[1]).toEqual({ kind: 'value', value: 0 });
    expect(mapsText(r.of('A')[2])).toEqual(['40000000-40001000 rw-s 0 /dev/zero (deleted)']);
  });
});

describe('expand_stack', () => {
  for (const g of GENERATIONS) {
    it(`${g.name}: a MAP_GROWSDOWN VMA grows down to a faulting address below it`, () => {
      //   |  fault here  |--stack--|
      const S = 0x50000000;
      const r = sysRun({
        gen: g.name,
        threads: [{ name: 'A', pid: 1, program: [mmapAnon(1, S, PAGE, RW, { fixed: true, growsdown: true }), store(1, S - 2 * PAGE, 9), load(1, S - 2 * PAGE), maps(1)] }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      const res = r.of('A');
      expect(res[2]).toEqual({ kind: 'value', value: 9 });
      expect(mapsText(res[3])).toEqual([`${hex(S - 2 * PAGE)}-${hex(S + PAGE)} rw-p 0`]);
    });
  }
});

describe('mmap_region: a new VMA is write-locked before it is visible (B9, 33313a747e81)', () => {
  it('the fixed order passes; vma_set_page_prot after insertion asserts the VMA write lock', () => {
    const r = sysRun({ gen: 'v6.6', threads: [{ name: 'A', pid: 1, program: [mmapAnon(1, 0x60000000, PAGE)] }] });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
  });

  for (const gen of ['v6.6', 'v6.15']) {
    it(`${gen}: a broken mmap_region that skips vma_start_write trips an assertion`, () => {
      // The mutant: vma_start_write of the new VMA left out (the B9 window: visible and unlocked).
      const r = sysRun({
        gen,
        overrides: {
          vma_start_write: function* (vma: vm_area_struct): Task<void> {
            // Refuse to lock a VMA that is not in the tree yet (the new one in mmap_region).
            if (!sim_vmas(vma.vm_mm).includes(vma)) return;
            yield* real_vma_start_write(vma);
          },
        },
        threads: [{ name: 'A', pid: 1, program: [mmapAnon(1, 0x60000000, PAGE)] }],
      });
      expect(r.outcome.status).toBe('violation');
      expect(r.outcome.violation!.message).toMatch(/vma_assert_write_locked|VM_BUG_ON_VMA|WARNING/);
    });
  }
});
