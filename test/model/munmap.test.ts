// munmap(2): "Subsequent references to addresses in the range generate invalid memory
// references" (SIGSEGV); "It is not an error if the indicated range does not contain any mapped
// pages"; unmapping the middle of a VMA splits it (mm/vma.c: __split_vma).
import { describe, expect, it } from 'vitest';
import { EINVAL } from '../../model/index.js';
import { A, K, Seq, err, ok, oneVma, segv, v } from './helpers.js';

describe('munmap', () => {
  it('munmap then load gives SIGSEGV', () => {
    const s = new Seq(oneVma(2));
    s.store(1, A, 1);
    expect(s.do({ op: 'munmap', pid: 1, addr: A, len: 2 * K })).toEqual(ok);
    expect(s.load(1, A)).toEqual(segv);
    expect(s.store(1, A, 2)).toEqual(segv);
  });

  it('unmapping the middle page splits the VMA; the rest keeps its contents', () => {
    const s = new Seq(oneVma(3));
    s.store(1, A, 1);
    s.store(1, A + 2 * K, 3);
    s.do({ op: 'munmap', pid: 1, addr: A + K, len: K });
    expect(s.maps(1)).toEqual([`${A.toString(16)}-${(A + K).toString(16)} rw-p 0`, `${(A + 2 * K).toString(16)}-${(A + 3 * K).toString(16)} rw-p 0`]);
    expect(s.load(1, A)).toEqual(v(1));
    expect(s.load(1, A + K)).toEqual(segv);
    expect(s.load(1, A + 2 * K)).toEqual(v(3));
  });

  it('an empty range is fine; unaligned address or zero length is EINVAL', () => {
    const s = new Seq(oneVma(1));
    expect(s.do({ op: 'munmap', pid: 1, addr: 0x900000, len: K })).toEqual(ok);
    expect(s.do({ op: 'munmap', pid: 1, addr: A + 1, len: K })).toEqual(err(EINVAL));
    expect(s.do({ op: 'munmap', pid: 1, addr: A, len: 0 })).toEqual(err(EINVAL));
  });
});
