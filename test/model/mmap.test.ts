// mmap(2): "If addr is NULL, the kernel chooses the (page-aligned) address"; MAP_FIXED "any
// existing mappings in the range are discarded"; MAP_FIXED_NOREPLACE fails with EEXIST;
// MAP_GROWSDOWN only for private anonymous memory (do_mmap -EINVAL otherwise).
import { describe, expect, it } from 'vitest';
import { EBADF, EEXIST, EINVAL, MMAP_BASE } from '../../model/index.js';
import { A, K, RW, RO, Seq, anon, at, err, fixedAnon, ok, oneVma, v, sigbus } from './helpers.js';

describe('mmap', () => {
  it('anonymous memory reads 0 and keeps stores (mmap(2): contents initialized to zero)', () => {
    const s = new Seq();
    const r = s.do({ op: 'mmap', pid: 1, addr: 0, len: 2 * K, prot: RW, flags: anon() });
    expect(r).toEqual(at(MMAP_BASE - 2 * K)); // canonical: top-down below mmap_base
    expect(s.load(1, MMAP_BASE - K)).toEqual(v(0));
    expect(s.store(1, MMAP_BASE - K, 5)).toEqual(ok);
    expect(s.load(1, MMAP_BASE - K)).toEqual(v(5));
  });

  it('uses a free hint, and check accepts any free address but not an occupied one', () => {
    const s = new Seq(oneVma(2));
    const op = { op: 'mmap', pid: 1, addr: 0, len: K, prot: RW, flags: anon() } as const;
    expect(s.accept(op, at(0x200000)).ok).toBe(true);
    expect(s.accept(op, at(A)).ok).toBe(false); // occupied
    const hinted = { ...op, addr: 0x400000 };
    expect(new Seq(oneVma(2)).do(hinted)).toEqual(at(0x400000));
    expect(new Seq(oneVma(2)).accept(hinted, at(0x500000)).ok).toBe(false); // free hint must be used
  });

  it('MAP_FIXED replaces the old mapping, whose contents are gone', () => {
    const s = new Seq(oneVma(2));
    s.store(1, A, 9);
    expect(s.do({ op: 'mmap', pid: 1, addr: A, len: K, prot: RW, flags: fixedAnon() })).toEqual(at(A));
    expect(s.load(1, A)).toEqual(v(0));
  });

  it('MAP_FIXED_NOREPLACE fails with EEXIST over a mapping', () => {
    const s = new Seq(oneVma(2));
    expect(s.do({ op: 'mmap', pid: 1, addr: A + K, len: K, prot: RW, flags: anon({ noreplace: true }) })).toEqual(err(EEXIST));
  });

  it('adjacent compatible anonymous mappings merge in /proc/pid/maps (vma_merge_new_range)', () => {
    const s = new Seq(oneVma(1));
    s.do({ op: 'mmap', pid: 1, addr: A + K, len: K, prot: RW, flags: fixedAnon() });
    expect(s.maps(1)).toEqual([`${A.toString(16)}-${(A + 2 * K).toString(16)} rw-p 0`]);
    s.do({ op: 'mmap', pid: 1, addr: A + 2 * K, len: K, prot: RO, flags: fixedAnon() });
    expect(s.maps(1)).toHaveLength(2); // different protection does not merge
  });

  it('file mappings merge only with contiguous offsets of the same file', () => {
    const s = new Seq({ processes: [{ pid: 1 }], files: { f: { pages: [1, 2, 3, 4] } } });
    s.do({ op: 'mmap', pid: 1, addr: A, len: K, prot: RO, flags: fixedAnon({ anonymous: false }), file: 'f', offset: 0 });
    s.do({ op: 'mmap', pid: 1, addr: A + K, len: K, prot: RO, flags: fixedAnon({ anonymous: false }), file: 'f', offset: K });
    s.do({ op: 'mmap', pid: 1, addr: A + 2 * K, len: K, prot: RO, flags: fixedAnon({ anonymous: false }), file: 'f', offset: 3 * K });
    expect(s.maps(1)).toEqual([`${A.toString(16)}-${(A + 2 * K).toString(16)} r--p 0 f`, `${(A + 2 * K).toString(16)}-${(A + 3 * K).toString(16)} r--p 3000 f`]);
    expect(s.load(1, A + 2 * K)).toEqual(v(4));
  });

  it('rejects bad arguments: zero length, unaligned offset, unknown file, growsdown file mapping', () => {
    const s = new Seq();
    expect(s.do({ op: 'mmap', pid: 1, addr: 0, len: 0, prot: RW, flags: anon() })).toEqual(err(EINVAL));
    expect(s.do({ op: 'mmap', pid: 1, addr: 0, len: K, prot: RW, flags: anon({ anonymous: false }), file: 'nope' })).toEqual(err(EBADF));
    const s2 = new Seq({ processes: [{ pid: 1 }], files: { f: { pages: [1] } } });
    expect(s2.do({ op: 'mmap', pid: 1, addr: 0, len: K, prot: RW, flags: anon({ anonymous: false }), file: 'f', offset: 100 })).toEqual(err(EINVAL));
    expect(s2.do({ op: 'mmap', pid: 1, addr: 0, len: K, prot: RW, flags: anon({ anonymous: false, growsdown: true }), file: 'f' })).toEqual(err(EINVAL));
  });

  it('a file page beyond EOF gives SIGBUS (mmap(2): SIGBUS for a part of the buffer that does not correspond to the file)', () => {
    const s = new Seq({ processes: [{ pid: 1 }], files: { f: { pages: [7] } } });
    s.do({ op: 'mmap', pid: 1, addr: A, len: 2 * K, prot: RW, flags: fixedAnon({ anonymous: false, shared: true }), file: 'f' });
    expect(s.load(1, A)).toEqual(v(7));
    expect(s.load(1, A + K)).toEqual(sigbus);
    expect(s.store(1, A + K, 1)).toEqual(sigbus);
  });

  it('shared anonymous memory shows as /dev/zero (deleted) and is shared with a forked child', () => {
    const s = new Seq();
    s.do({ op: 'mmap', pid: 1, addr: A, len: K, prot: RW, flags: fixedAnon({ shared: true }) });
    expect(s.maps(1)).toEqual([`${A.toString(16)}-${(A + K).toString(16)} rw-s 0 /dev/zero (deleted)`]);
    s.do({ op: 'fork', pid: 1 });
    s.store(2, A, 3);
    expect(s.load(1, A)).toEqual(v(3));
  });
});
