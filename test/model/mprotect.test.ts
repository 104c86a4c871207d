// mprotect(2): changes protection of pages in [addr, addr+len); "ENOMEM: ... the range contains
// unmapped pages"; a store to a page without PROT_WRITE is SIGSEGV. mprotect_fixup splits and
// re-merges VMAs (mm/mprotect.c, vma_modify_flags), which /proc/pid/maps shows.
import { describe, expect, it } from 'vitest';
import { ENOMEM, EINVAL, initialState } from '../../model/index.js';
import { A, K, NONE, RO, RW, Seq, err, ok, oneVma, segv, v } from './helpers.js';

describe('mprotect', () => {
  it('read-only: loads work, stores give SIGSEGV; PROT_NONE: loads give SIGSEGV', () => {
    const s = new Seq(oneVma(2));
    s.store(1, A, 4);
    expect(s.do({ op: 'mprotect', pid: 1, addr: A, len: K, prot: RO })).toEqual(ok);
    expect(s.load(1, A)).toEqual(v(4));
    expect(s.store(1, A, 5)).toEqual(segv);
    expect(s.store(1, A + K, 5)).toEqual(ok);
    s.do({ op: 'mprotect', pid: 1, addr: A, len: K, prot: NONE });
    expect(s.load(1, A)).toEqual(segv);
  });

  it('splits the VMA, and merges it back when the protection is restored', () => {
    const s = new Seq(oneVma(3));
    s.store(1, A, 1); // gives the VMA an anon_vma; the split pieces share it
    s.do({ op: 'mprotect', pid: 1, addr: A + K, len: K, prot: RO });
    expect(s.maps(1)).toHaveLength(3);
    s.do({ op: 'mprotect', pid: 1, addr: A + K, len: K, prot: RW });
    expect(s.maps(1)).toEqual([`${A.toString(16)}-${(A + 3 * K).toString(16)} rw-p 0`]);
  });

  it('VMAs it does not change are skipped: no split, and no merge between two of them', () => {
    // Two adjacent compatible VMAs left unmerged (as a failed munmap's split leaves them).
    const s = new Seq(initialState({ processes: [{ pid: 1, vmas: [{ start: A, end: A + K }, { start: A + K, end: A + 3 * K, pgoff: A / K + 1 }] }] }));
    s.do({ op: 'mprotect', pid: 1, addr: A, len: 3 * K, prot: RW });
    expect(s.maps(1)).toHaveLength(2);
    s.do({ op: 'mprotect', pid: 1, addr: A, len: 2 * K, prot: RO }); // changes both: split, merge
    expect(s.maps(1)).toEqual([`${A.toString(16)}-${(A + 2 * K).toString(16)} r--p 0`, `${(A + 2 * K).toString(16)}-${(A + 3 * K).toString(16)} rw-p 0`]);
  });

  it('a hole gives ENOMEM, after changing the part before the hole', () => {
    const s = new Seq(oneVma(1));
    expect(s.do({ op: 'mprotect', pid: 1, addr: A, len: 2 * K, prot: RO })).toEqual(err(ENOMEM));
    expect(s.store(1, A, 1)).toEqual(segv);
    expect(s.do({ op: 'mprotect', pid: 1, addr: A + 8 * K, len: K, prot: RO })).toEqual(err(ENOMEM));
    expect(s.do({ op: 'mprotect', pid: 1, addr: A + 1, len: K, prot: RO })).toEqual(err(EINVAL));
  });
});
