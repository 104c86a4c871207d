// /proc/pid/maps and smaps (proc(5), fs/proc/task_mmu.c): one line per VMA with perms,
// offset and path; smaps adds Rss, which reclaim may lower at any time (the model allows
// 0..the pages that could be mapped).
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../model/index.js';
import { A, K, Seq, oneVma } from './helpers.js';

describe('read_maps', () => {
  it('shows perms, offset and name', () => {
    const s = new Seq({ processes: [{ pid: 1, vmas: [{ start: A, end: A + K, prot: 'r-x', file: 'lib', pgoff: 2 }] }], files: { lib: { pages: [0, 0, 0] } } });
    expect(s.do({ op: 'read_maps', pid: 1, target: 1 })).toEqual({
      kind: 'maps',
      lines: [{ start: A, end: A + K, perms: 'r-xp', offset: 2 * PAGE_SIZE, name: 'lib' }],
    });
  });
});

describe('read_smaps', () => {
  it('Rss counts written private pages (not the zero page) and may be lower under reclaim', () => {
    const s = new Seq(oneVma(4));
    s.store(1, A, 1);
    s.store(1, A + K, 1);
    s.load(1, A + 2 * K); // zero page: not counted
    const r = s.do({ op: 'read_smaps', pid: 1, target: 1 });
    expect(r.kind === 'smaps' && r.entries[0]!.rss).toBe(2 * K);
    const line = { start: A, end: A + 4 * K, perms: 'rw-p', offset: 0, name: '' };
    for (const rss of [0, K, 2 * K]) {
      expect(s.accept({ op: 'read_smaps', pid: 1, target: 1 }, { kind: 'smaps', entries: [{ ...line, rss }] }).ok).toBe(true);
    }
    expect(s.accept({ op: 'read_smaps', pid: 1, target: 1 }, { kind: 'smaps', entries: [{ ...line, rss: 3 * K }] }).ok).toBe(false);
    expect(s.accept({ op: 'read_smaps', pid: 1, target: 1 }, { kind: 'smaps', entries: [{ ...line, end: A + K, rss: 0 }] }).ok).toBe(false);
  });
});
