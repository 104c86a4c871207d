// madvise(2) MADV_DONTNEED: "subsequent accesses of pages in the range will succeed, but will
// result in either repopulating the memory contents from the up-to-date contents of the
// underlying mapped file (for shared file mappings, shared anonymous mappings, and shmem-based
// techniques such as System V shared memory segments) or zero-fill-on-demand pages for anonymous
// private mappings." Private file mappings re-read the file (the COW copy is dropped).
import { describe, expect, it } from 'vitest';
import { EINVAL, ENOMEM } from '../../model/index.js';
import { A, K, Seq, err, fixedAnon, ok, oneVma, v, RW } from './helpers.js';

describe('madvise', () => {
  it('MADV_DONTNEED zeroes private anonymous pages', () => {
    const s = new Seq(oneVma(2));
    s.store(1, A, 5);
    s.store(1, A + K, 6);
    expect(s.do({ op: 'madvise', pid: 1, addr: A, len: K, advice: 'dontneed' })).toEqual(ok);
    expect(s.load(1, A)).toEqual(v(0));
    expect(s.load(1, A + K)).toEqual(v(6));
  });

  it('MADV_DONTNEED re-reads private file pages from the file, and keeps shared pages', () => {
    const s = new Seq({ processes: [{ pid: 1 }], files: { f: { pages: [10, 20] } } });
    s.do({ op: 'mmap', pid: 1, addr: A, len: K, prot: RW, flags: fixedAnon({ anonymous: false }), file: 'f' });
    s.do({ op: 'mmap', pid: 1, addr: A + 4 * K, len: 2 * K, prot: RW, flags: fixedAnon({ anonymous: false, shared: true }), file: 'f' });
    s.store(1, A, 11); // COW copy
    s.do({ op: 'pwrite', pid: 1, file: 'f', page: 0, value: 12 });
    expect(s.load(1, A)).toEqual(v(11)); // the private copy no longer follows the file
    s.store(1, A + 5 * K, 21); // shared: writes the file
    s.do({ op: 'madvise', pid: 1, addr: A, len: 6 * K, advice: 'dontneed' });
    expect(s.load(1, A)).toEqual(v(12));
    expect(s.load(1, A + 5 * K)).toEqual(v(21));
  });

  it('a hole gives ENOMEM but the mapped part is still zapped', () => {
    const s = new Seq(oneVma(1));
    s.store(1, A, 5);
    expect(s.do({ op: 'madvise', pid: 1, addr: A, len: 2 * K, advice: 'dontneed' })).toEqual(err(ENOMEM));
    expect(s.load(1, A)).toEqual(v(0));
  });
});

describe('madvise(MADV_DONTNEED) on a registered range: it may give up after its REMOVE event was read', () => {
  it('-EINVAL or -ENOMEM accepted (the event raised, its zap deferred), only when a registered VMA is in the range', () => {
    const s = new Seq(oneVma(2));
    s.store(1, A, 3);
    const plain = new Seq(s.state);
    expect(plain.accept({ op: 'madvise', pid: 1, addr: A, len: K, advice: 'dontneed' }, err(EINVAL)).ok).toBe(false);
    s.do({ op: 'uffd_register', pid: 1, addr: A, len: 2 * K, mode: 'missing' });
    const r = new Seq(s.state);
    expect(r.accept({ op: 'madvise', pid: 1, addr: A, len: K, advice: 'dontneed' }, err(EINVAL)).ok).toBe(true);
    expect(r.accept({ op: 'uffd_read_event', pid: 1 }, { kind: 'event', event: { type: 'remove', start: A, end: A + K } }).ok).toBe(true);
  });

  it('a registered page: the zap follows the REMOVE read, even when UFFDIO_UNREGISTER came in between (soak, v6.4)', () => {
    const s = new Seq(oneVma(2));
    s.store(1, A, 5);
    expect(s.do({ op: 'uffd_register', pid: 1, addr: A, len: 2 * K, mode: 'missing' })).toEqual(ok);
    expect(s.do({ op: 'madvise', pid: 1, addr: A, len: K, advice: 'dontneed' })).toEqual(ok);
    expect(s.load(1, A + 0)).toEqual(v(5)); // not zapped before the monitor reads the event
    expect(s.do({ op: 'uffd_unregister', pid: 1, addr: A, len: 2 * K })).toEqual(ok);
    const r = s.do({ op: 'uffd_read_event', pid: 1 });
    expect(r).toMatchObject({ kind: 'event', event: { type: 'remove', start: A, end: A + K } });
    if (r.kind !== 'event') throw new Error('no event');
    expect(s.do({ op: 'uffd_settle', pid: 1, event: r.event })).toEqual(ok);
    expect(s.load(1, A)).toEqual(v(0));
  });
});
