/**
 * fs/proc/task_mmu.c: /proc/pid/maps (sim_read_maps) and smaps (sim_sys_read_smaps) under
 * mmap_read_lock_killable.
 */
import { describe, expect, it } from 'vitest';
import { GENERATIONS } from '../../impl/sim/config.js';
import { PAGE, RO, RW, exit, maps, mapsText, mmapAnon, mmapFile, mprotect, store, sysRun, why } from './syscalls_harness.js';

const H = 0x10000000;

describe('sim_read_maps', () => {
  for (const g of GENERATIONS) {
    it(`${g.name}: one line per VMA in address order with perms, offset and name`, () => {
      //   |--anon rw--|--anon r--|    |--f@2 r--|    |--shmem rw s--|
      const r = sysRun({
        gen: g.name,
        files: [{ name: 'f', pages: [1, 2, 3, 4] }],
        threads: [{
          name: 'A', pid: 1,
          program: [
            mmapAnon(1, H, 2 * PAGE), mprotect(1, H + PAGE, PAGE, RO),
            mmapFile(1, H + 0x10000, PAGE, 'f', 2 * PAGE, RO), mmapAnon(1, H + 0x20000, PAGE, RW, { shared: true }), maps(1),
          ],
        }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(mapsText(r.of('A')[4])).toEqual([
        '10000000-10001000 rw-p 0', '10001000-10002000 r--p 0', '10010000-10011000 r--p 2000 f', '10020000-10021000 rw-s 0 /dev/zero (deleted)',
      ]);
    });
  }

  it('another process\'s maps; a process that exited (or never existed) gives -ESRCH', () => {
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: [] }, { pid: 2, setup: [mmapAnon(2, H, PAGE)] }],
      threads: [
        { name: 'A', pid: 1, program: [maps(1, 2), maps(1, 7)] },
      ],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(mapsText(r.of('A')[0])).toEqual(['10000000-10001000 rw-p 0']);
    expect(r.of('A')[1]).toEqual({ kind: 'errno', errno: -3 });
    const r2 = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: [] }, { pid: 2, setup: [mmapAnon(2, H, PAGE)] }],
      threads: [{ name: 'B', pid: 2, program: [exit(2)] }, { name: 'A', pid: 1, program: [maps(1, 2)] }],
    });
    expect(r2.outcome.status, why(r2.outcome)).toBe('ok');
    expect(r2.of('A')[0]).toEqual({ kind: 'errno', errno: -3 });
  });

  it('smaps: Rss counts the present pages', () => {
    const r = sysRun({
      gen: 'v6.15',
      threads: [{ name: 'A', pid: 1, program: [mmapAnon(1, H, 3 * PAGE), store(1, H, 1), store(1, H + 2 * PAGE, 1), { op: 'read_smaps', pid: 1, target: 1 }] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const res = r.of('A')[3]!;
    expect(res.kind).toBe('smaps');
    if (res.kind === 'smaps') expect(res.entries.map((e) => e.rss)).toEqual([2 * PAGE]);
  });

  it('a maps reader during an munmap sees the picture before or after, never a half-done one', () => {
    //   |--0--|--1--|--2--|   B: munmap(1)   A: read maps (script: A waits for B's write lock)
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: [mmapAnon(1, H, 3 * PAGE)] }],
      threads: [{ name: 'B', pid: 1, program: [{ op: 'munmap', pid: 1, addr: H + PAGE, len: PAGE }] }, { name: 'A', pid: 1, program: [maps(1)] }],
      script: [{ task: 'B', until: '__split_vma' }, { task: 'A', until: /mmap_read_lock|down_read/ }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const lines = mapsText(r.of('A')[0]);
    expect([['10000000-10003000 rw-p 0'], ['10000000-10001000 rw-p 0', '10002000-10003000 rw-p 0']]).toContainEqual(lines);
  });
});
