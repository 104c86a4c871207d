/**
 * mm/madvise.c: MADV_DONTNEED zeroes private anonymous pages and re-reads private file pages,
 * under mmap_read_lock (≤6.16) or the per-VMA lock (6.17, madvise_dontneed_vma_lock); holes give
 * -ENOMEM after zapping what is mapped; a registered VMA delivers UFFD_EVENT_REMOVE first.
 *
 *   0x10000000 |--anon rw (2 pages: 11, 12)--|  hole  |--file data.bin private (2 pages)--|
 */
import { describe, expect, it } from 'vitest';
import { sysRun, why, mmapAnon, mmapFile, load, store, RW } from './syscalls_harness.js';
import type { ModelOp } from '../../model/ops.js';
import { baseTable } from '../../impl/sim/table.js';
import type { Task } from '../../impl/rt/task.js';
import type { madvise_behavior } from '../../impl/mm/madvise.js';

const PAGE = 4096;
const A = 0x10000000;
const F = A + 3 * PAGE;
const dontneed = (addr: number, len: number): ModelOp => ({ op: 'madvise', pid: 1, addr, len, advice: 'dontneed' });
const setup: ModelOp[] = [
  mmapAnon(1, A, 2 * PAGE, RW, { fixed: true }), store(1, A, 11), store(1, A + PAGE, 12),
  mmapFile(1, F, 2 * PAGE, 'data.bin', 0, RW, { fixed: true }), store(1, F, 99),
];
const files = [{ name: 'data.bin', pages: [100, 101] }];

describe('madvise_dontneed_free', () => {
  for (const [gen, vmaLock] of [['v6.6', false], ['v6.15', false], ['v6.15', true]] as const) {
    it(`${gen}${vmaLock ? ' + 6.17 per-VMA lock' : ''}: zeroes anon, re-reads the file, -ENOMEM over a hole`, () => {
      const modes: string[] = [];
      const base = baseTable();
      const r = sysRun({
        gen, files, processes: [{ pid: 1, setup }], config: { madvise_dontneed_vma_lock: vmaLock },
        overrides: {
          madvise_vma_behavior: function* (m: madvise_behavior): Task<number> {
            modes.push(m.lock_mode);
            return yield* base.madvise_vma_behavior(m);
          },
        },
        threads: [{ name: 't', pid: 1, program: [dontneed(A + PAGE, PAGE), load(1, A), load(1, A + PAGE), dontneed(F, PAGE), load(1, F), dontneed(A, 5 * PAGE), load(1, A)] }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.of('t')).toEqual([
        { kind: 'ok' }, { kind: 'value', value: 11 }, { kind: 'value', value: 0 },
        { kind: 'ok' }, { kind: 'value', value: 100 },
        { kind: 'errno', errno: -12 }, { kind: 'value', value: 0 },
      ]);
      // single-VMA ranges go under the VMA lock in 6.17; the multi-VMA one falls back
      expect(modes[0]).toBe(vmaLock ? 'MADVISE_VMA_READ_LOCK' : 'MADVISE_MMAP_READ_LOCK');
      expect(modes[modes.length - 1]).toBe('MADVISE_MMAP_READ_LOCK');
    });
  }

  it('a registered VMA delivers UFFD_EVENT_REMOVE (dropping mmap_read_lock) before zapping', () => {
    const r = sysRun({
      gen: 'v6.6', files, processes: [{ pid: 1, setup: [...setup, { op: 'uffd_register', pid: 1, addr: A, len: 2 * PAGE, mode: 'missing' }] }],
      threads: [
        { name: 't', pid: 1, program: [dontneed(A, PAGE), load(1, A + PAGE)] },
        { name: 'monitor', pid: 1, program: [{ op: 'uffd_read_event', pid: 1 }] },
      ],
      script: [{ task: 't', until: 'schedule' }, { task: 'monitor', until: 'uffd_read_event' }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('monitor')).toEqual([{ kind: 'event', event: { type: 'remove', start: A, end: A + PAGE } }]);
    expect(r.of('t')).toEqual([{ kind: 'ok' }, { kind: 'value', value: 12 }]);
  });
});
