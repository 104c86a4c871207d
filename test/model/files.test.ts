// pread(2)/pwrite(2) and the page cache: MAP_SHARED mappings see file writes and write the file;
// a MAP_PRIVATE page follows the file until the process writes it (mmap(2): "It is unspecified
// whether changes made to the file after the mmap() call are visible" — Linux: visible until
// COW). /proc/pid/mem (proc(5)): writes with FOLL_FORCE, so a private read-only mapping is
// written by COW; the file never is (mm/gup.c check_vma_flags; the "Dirty COW" rule).
import { describe, expect, it } from 'vitest';
import { EBADF, EIO, ESRCH } from '../../model/index.js';
import { A, K, RO, RW, Seq, err, fixedAnon, ok, segv, v } from './helpers.js';

const withFile = () => new Seq({ processes: [{ pid: 1 }, { pid: 2 }], files: { f: { pages: [1, 2] } } });
const mapF = (s: Seq, pid: number, shared: boolean, prot = RW) =>
  s.do({ op: 'mmap', pid, addr: A, len: 2 * K, prot, flags: fixedAnon({ anonymous: false, shared }), file: 'f' });

describe('pread', () => {
  it('reads pages; beyond EOF reads as 0; unknown file EBADF', () => {
    const s = withFile();
    expect(s.do({ op: 'pread', pid: 1, file: 'f', page: 1 })).toEqual(v(2));
    expect(s.do({ op: 'pread', pid: 1, file: 'f', page: 9 })).toEqual(v(0));
    expect(s.do({ op: 'pread', pid: 1, file: 'g', page: 0 })).toEqual(err(EBADF));
  });
});

describe('pwrite', () => {
  it('is seen by MAP_SHARED mappers and unwritten MAP_PRIVATE pages, not by COW copies', () => {
    const s = withFile();
    mapF(s, 1, true);
    mapF(s, 2, false);
    s.store(2, A + K, 50); // COW
    s.do({ op: 'pwrite', pid: 1, file: 'f', page: 0, value: 7 });
    s.do({ op: 'pwrite', pid: 1, file: 'f', page: 1, value: 8 });
    expect(s.load(1, A)).toEqual(v(7));
    expect(s.load(2, A)).toEqual(v(7));
    expect(s.load(2, A + K)).toEqual(v(50));
    s.store(1, A, 9);
    expect(s.do({ op: 'pread', pid: 1, file: 'f', page: 0 })).toEqual(v(9));
  });

  it('extends the file, so a mapped page past the old EOF stops giving SIGBUS', () => {
    const s = new Seq({ processes: [{ pid: 1 }], files: { f: { pages: [1] } } });
    mapF(s, 1, true);
    expect(s.load(1, A + K)).toEqual({ kind: 'signal', sig: 'SIGBUS' });
    s.do({ op: 'pwrite', pid: 1, file: 'f', page: 1, value: 3 });
    expect(s.load(1, A + K)).toEqual(v(3));
  });
});

describe('proc_mem_write', () => {
  it('writes a private read-only mapping by COW, never the file', () => {
    const s = withFile();
    mapF(s, 1, false, RO);
    expect(s.store(1, A, 5)).toEqual(segv);
    expect(s.do({ op: 'proc_mem_write', pid: 2, target: 1, addr: A, value: 5 })).toEqual(ok);
    expect(s.load(1, A)).toEqual(v(5));
    expect(s.do({ op: 'pread', pid: 1, file: 'f', page: 0 })).toEqual(v(1));
  });

  it('refuses a read-only shared mapping and an unmapped address with EIO; writes a writable shared one', () => {
    const s = withFile();
    mapF(s, 1, true, RO);
    expect(s.do({ op: 'proc_mem_write', pid: 2, target: 1, addr: A, value: 5 })).toEqual(err(EIO));
    expect(s.do({ op: 'proc_mem_write', pid: 2, target: 1, addr: 0x900000, value: 5 })).toEqual(err(EIO));
    mapF(s, 2, true, RW);
    expect(s.do({ op: 'proc_mem_write', pid: 1, target: 2, addr: A, value: 6 })).toEqual(ok);
    expect(s.do({ op: 'pread', pid: 1, file: 'f', page: 0 })).toEqual(v(6));
  });
});

describe('close', () => {
  it('closes the descriptor: later calls on it get -EBADF, a mapping keeps working, a second close -EBADF; fork inherits the table', () => {
    const s = new Seq({ processes: [{ pid: 1 }, { pid: 3 }], files: { f: { pages: [7] } } });
    s.do({ op: 'mmap', pid: 1, addr: A, len: K, prot: RW, flags: fixedAnon({ anonymous: false, shared: true }), file: 'f' });
    expect(s.do({ op: 'close', pid: 1, file: 'f' })).toEqual({ kind: 'ok' });
    expect(s.load(1, A)).toEqual(v(7));
    expect(s.do({ op: 'close', pid: 1, file: 'f' })).toEqual(err(EBADF));
    expect(s.do({ op: 'pread', pid: 1, file: 'f', page: 0 })).toEqual(err(EBADF));
    expect(s.do({ op: 'mmap', pid: 1, addr: A + 4 * K, len: K, prot: RW, flags: fixedAnon({ anonymous: false, shared: true }), file: 'f' })).toEqual(err(EBADF));
    // Another process's descriptor is its own.
    expect(s.do({ op: 'pread', pid: 3, file: 'f', page: 0 })).toEqual(v(7));
    // A child forked after the close has it closed too.
    expect(s.do({ op: 'fork', pid: 1 })).toEqual({ kind: 'pid', pid: 4 });
    expect(s.do({ op: 'pwrite', pid: 4, file: 'f', page: 0, value: 1 })).toEqual(err(EBADF));
    expect(s.do({ op: 'close', pid: 9, file: 'f' })).toEqual(err(ESRCH));
    expect(s.do({ op: 'close', pid: 3, file: 'nosuch' })).toEqual(err(EBADF));
    // check: a kernel that kept the descriptor (pread works after close) is refused.
    expect(s.accept({ op: 'pread', pid: 1, file: 'f', page: 0 }, v(7)).ok).toBe(false);
  });
});
