// mremap(2): grows in place if there is room, else moves with MREMAP_MAYMOVE ("ENOMEM: ...
// MREMAP_MAYMOVE was not given"); MREMAP_FIXED moves to new_address, unmapping what was there;
// MREMAP_DONTUNMAP "the mapping is moved ... but the old mapping is not unmapped", and
// anonymous pages there read as zero afterwards. Contents move with the mapping (move_page_tables).
import { describe, expect, it } from 'vitest';
import { EFAULT, EINVAL, ENOMEM } from '../../model/index.js';
import { A, K, RW, Seq, at, err, fixedAnon, ok, oneVma, segv, v } from './helpers.js';

const flags = (o: Partial<{ maymove: boolean; fixed: boolean; dontunmap: boolean }> = {}) => ({ maymove: false, fixed: false, dontunmap: false, ...o });

describe('mremap', () => {
  it('grows in place when the space after is free; the new page reads 0', () => {
    const s = new Seq(oneVma(1));
    s.store(1, A, 3);
    expect(s.do({ op: 'mremap', pid: 1, oldAddr: A, oldLen: K, newLen: 2 * K, flags: flags() })).toEqual(at(A));
    expect(s.load(1, A)).toEqual(v(3));
    expect(s.load(1, A + K)).toEqual(v(0));
  });

  it('cannot grow into a neighbour without MREMAP_MAYMOVE: ENOMEM', () => {
    const s = new Seq(oneVma(1));
    s.do({ op: 'mmap', pid: 1, addr: A + K, len: K, prot: { read: true, write: false, exec: false }, flags: fixedAnon() });
    expect(s.do({ op: 'mremap', pid: 1, oldAddr: A, oldLen: K, newLen: 2 * K, flags: flags() })).toEqual(err(ENOMEM));
  });

  it('moves contents with MREMAP_MAYMOVE; the old range is gone', () => {
    const s = new Seq(oneVma(1));
    s.do({ op: 'mmap', pid: 1, addr: A + K, len: K, prot: { read: true, write: false, exec: false }, flags: fixedAnon() });
    s.store(1, A, 8);
    const r = s.do({ op: 'mremap', pid: 1, oldAddr: A, oldLen: K, newLen: 2 * K, flags: flags({ maymove: true }) });
    expect(r.kind).toBe('addr');
    const to = r.kind === 'addr' ? r.addr : 0;
    expect(s.load(1, to)).toEqual(v(8));
    expect(s.load(1, to + K)).toEqual(v(0));
    expect(s.load(1, A)).toEqual(segv);
  });

  it('check accepts any free destination for a move, and the contents follow it', () => {
    const s = new Seq(oneVma(1));
    s.store(1, A, 8);
    const op = { op: 'mremap', pid: 1, oldAddr: A, oldLen: K, newLen: K, flags: flags({ maymove: true, dontunmap: true }) } as const;
    expect(s.accept(op, at(0x300000)).ok).toBe(true);
    expect(s.load(1, 0x300000)).toEqual(v(8));
    expect(s.load(1, A)).toEqual(v(0)); // DONTUNMAP: still mapped, empty
  });

  it('MREMAP_FIXED moves to new_address, replacing what was there; shrinking unmaps the tail', () => {
    const s = new Seq(oneVma(2));
    s.store(1, A, 1);
    s.do({ op: 'mmap', pid: 1, addr: 0x200000, len: K, prot: RW, flags: fixedAnon() });
    s.store(1, 0x200000, 99);
    expect(s.do({ op: 'mremap', pid: 1, oldAddr: A, oldLen: K, newLen: K, flags: flags({ maymove: true, fixed: true }), newAddr: 0x200000 })).toEqual(at(0x200000));
    expect(s.load(1, 0x200000)).toEqual(v(1));
    expect(s.load(1, A)).toEqual(segv);
    expect(s.load(1, A + K)).toEqual(v(0));
    expect(s.do({ op: 'mremap', pid: 1, oldAddr: 0x200000, oldLen: K, newLen: K, flags: flags() })).toEqual(at(0x200000));
    void ok;
  });

  it('argument errors: no VMA → EFAULT; FIXED without MAYMOVE, DONTUNMAP with a size change → EINVAL', () => {
    const s = new Seq(oneVma(1));
    expect(s.do({ op: 'mremap', pid: 1, oldAddr: 0x900000, oldLen: K, newLen: 2 * K, flags: flags({ maymove: true }) })).toEqual(err(EFAULT));
    expect(s.do({ op: 'mremap', pid: 1, oldAddr: A, oldLen: K, newLen: K, flags: flags({ fixed: true }), newAddr: 0x200000 })).toEqual(err(EINVAL));
    expect(s.do({ op: 'mremap', pid: 1, oldAddr: A, oldLen: K, newLen: 2 * K, flags: flags({ maymove: true, dontunmap: true }) })).toEqual(err(EINVAL));
  });
});
