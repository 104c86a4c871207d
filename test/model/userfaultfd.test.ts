// userfaultfd(2) / ioctl_userfaultfd(2): a fault on a missing page of a MISSING-registered range
// waits until the monitor resolves it (UFFDIO_COPY); UFFDIO_COPY "EEXIST: ... the page was
// already mapped", "EAGAIN: ... the mapping has changed since the last UFFDIO_COPY" (a
// non-cooperative event such as UFFD_EVENT_FORK/REMAP/REMOVE/UNMAP is unread; commit
// df2cc96e7701); UFFDIO_MOVE (6.8) moves a page; read(2) returns events in order.
import { describe, expect, it } from 'vitest';
import { EAGAIN, EEXIST, ENOENT, EINVAL, ENOMEM, enabled } from '../../model/index.js';
import { A, K, Seq, err, ok, oneVma, v } from './helpers.js';

const reg = (s: Seq, len = 2 * K) => s.do({ op: 'uffd_register', pid: 1, addr: A, len, mode: 'missing' });

describe('uffd_register', () => {
  it('registers part of a VMA (splitting it); no VMA → ENOMEM; unaligned → EINVAL; file mapping → EINVAL', () => {
    const s = new Seq(oneVma(4, { files: { f: { pages: [1] } } }));
    expect(reg(s)).toEqual(ok);
    expect(s.maps(1)).toHaveLength(2);
    expect(s.do({ op: 'uffd_register', pid: 1, addr: 0x900000, len: K, mode: 'missing' })).toEqual(err(ENOMEM));
    expect(s.do({ op: 'uffd_register', pid: 1, addr: A + 1, len: K, mode: 'missing' })).toEqual(err(EINVAL));
    s.do({ op: 'mmap', pid: 1, addr: 0x800000, len: K, prot: { read: true, write: false, exec: false }, flags: { shared: false, anonymous: false, fixed: true, growsdown: false }, file: 'f' });
    expect(s.do({ op: 'uffd_register', pid: 1, addr: 0x800000, len: K, mode: 'missing' })).toEqual(err(EINVAL));
  });
});

describe('uffd_unregister', () => {
  it('unregistering merges the VMA back and faults no longer wait', () => {
    const s = new Seq(oneVma(4));
    reg(s);
    expect(enabled(s.state, { op: 'load', pid: 1, addr: A })).not.toBeNull();
    expect(s.do({ op: 'uffd_unregister', pid: 1, addr: A, len: 2 * K })).toEqual(ok);
    expect(s.maps(1)).toHaveLength(1);
    expect(s.load(1, A)).toEqual(v(0));
  });
});

describe('uffdio_copy', () => {
  it('a fault on a missing page waits until UFFDIO_COPY fills it; a second copy is EEXIST', () => {
    const s = new Seq(oneVma(4));
    s.store(1, A + K, 3); // present before registration
    reg(s);
    expect(enabled(s.state, { op: 'load', pid: 1, addr: A })).toMatch(/waits/);
    expect(enabled(s.state, { op: 'store', pid: 1, addr: A, value: 1 })).toMatch(/waits/);
    expect(s.load(1, A + K)).toEqual(v(3));
    expect(s.do({ op: 'uffdio_copy', pid: 1, dst: A, value: 9 })).toEqual(ok);
    expect(s.load(1, A)).toEqual(v(9));
    expect(s.do({ op: 'uffdio_copy', pid: 1, dst: A, value: 1 })).toEqual(err(EEXIST));
    expect(s.do({ op: 'uffdio_copy', pid: 1, dst: A + 3 * K, value: 1 })).toEqual(err(ENOENT));
  });

  it('EAGAIN while a non-cooperative event is unread (fork), then ok after reading it', () => {
    const s = new Seq(oneVma(4));
    reg(s);
    s.do({ op: 'fork', pid: 1 });
    expect(s.do({ op: 'uffdio_copy', pid: 1, dst: A, value: 1 })).toEqual(err(EAGAIN));
    expect(s.do({ op: 'uffd_read_event', pid: 1 })).toEqual({ kind: 'event', event: { type: 'fork', child: 2 } });
    expect(s.do({ op: 'uffdio_copy', pid: 1, dst: A, value: 1 })).toEqual(ok);
    // the child kept the registration; its page is still missing
    expect(enabled(s.state, { op: 'load', pid: 2, addr: A })).toMatch(/waits/);
  });

  it('MADV_DONTNEED queues a remove event and makes the page missing again', () => {
    const s = new Seq(oneVma(4));
    reg(s);
    s.do({ op: 'uffdio_copy', pid: 1, dst: A, value: 1 });
    s.do({ op: 'madvise', pid: 1, addr: A, len: K, advice: 'dontneed' });
    expect(s.do({ op: 'uffdio_copy', pid: 1, dst: A, value: 2 })).toEqual(err(EAGAIN));
    expect(s.do({ op: 'uffd_read_event', pid: 1 })).toEqual({ kind: 'event', event: { type: 'remove', start: A, end: A + K } });
    // madvise zaps only after the read woke it (userfaultfd_remove waited): until then the page
    // is still there, and mmap_changing may still be raised.
    expect(s.accept({ op: 'uffdio_copy', pid: 1, dst: A, value: 2 }, err(EAGAIN)).ok).toBe(true);
    expect(s.do({ op: 'uffdio_copy', pid: 1, dst: A, value: 2 })).toEqual(err(EEXIST));
    expect(s.do({ op: 'uffd_settle', pid: 1, event: { type: 'remove', start: A, end: A + K } })).toEqual(ok);
    expect(s.accept({ op: 'uffdio_copy', pid: 1, dst: A, value: 2 }, err(EAGAIN)).ok).toBe(false);
    expect(s.do({ op: 'uffdio_copy', pid: 1, dst: A, value: 2 })).toEqual(ok);
    expect(s.load(1, A)).toEqual(v(2));
  });

  it('-EAGAIN comes before -EINVAL; after the read, -EAGAIN until the raising munmap returns (uffd_settle)', () => {
    const s = new Seq(oneVma(4));
    reg(s, 4 * K);
    s.do({ op: 'munmap', pid: 1, addr: A + 3 * K, len: K });
    expect(s.do({ op: 'uffdio_copy', pid: 1, dst: A + 1, value: 2 })).toEqual(err(EAGAIN));
    // raised but not queued yet: a read may find nothing
    expect(s.accept({ op: 'uffd_read_event', pid: 1 }, err(EAGAIN)).ok).toBe(true);
    expect(s.do({ op: 'uffd_read_event', pid: 1 })).toEqual({ kind: 'event', event: { type: 'unmap', start: A + 3 * K, end: A + 4 * K } });
    expect(s.accept({ op: 'uffd_read_event', pid: 1 }, err(EAGAIN)).ok).toBe(true);
    expect(s.accept({ op: 'uffdio_copy', pid: 1, dst: A + K, value: 2 }, err(EAGAIN)).ok).toBe(true);
    expect(s.do({ op: 'uffd_settle', pid: 1, event: { type: 'unmap', start: A + 3 * K, end: A + 4 * K } })).toEqual(ok);
    // settled: a second settle has nothing to settle (not enabled), and -EAGAIN is wrong now
    expect(enabled(s.state, { op: 'uffd_settle', pid: 1, event: { type: 'unmap', start: A + 3 * K, end: A + 4 * K } })).not.toBeNull();
    expect(s.accept({ op: 'uffdio_copy', pid: 1, dst: A + K, value: 2 }, err(EAGAIN)).ok).toBe(false);
    expect(s.do({ op: 'uffdio_copy', pid: 1, dst: A + 1, value: 2 })).toEqual(err(EINVAL));
    expect(s.do({ op: 'uffdio_copy', pid: 1, dst: A + K, value: 2 })).toEqual(ok);
  });

  it('6.8+: -ENOENT while the unmap event of the destination is unread (the VMA lookup comes first)', () => {
    const s = new Seq(oneVma(4));
    reg(s, 4 * K);
    s.do({ op: 'munmap', pid: 1, addr: A + 3 * K, len: K });
    expect(s.accept({ op: 'uffdio_copy', pid: 1, dst: A + 3 * K, value: 2 }, err(ENOENT)).ok).toBe(true);
    // …but not for a destination that is still registered
    expect(s.accept({ op: 'uffdio_copy', pid: 1, dst: A + K, value: 2 }, err(ENOENT)).ok).toBe(false);
  });
});

describe('uffdio_move', () => {
  it('moves a page into a registered missing page; src becomes missing', () => {
    const s = new Seq(oneVma(4));
    s.store(1, A + 3 * K, 7);
    reg(s);
    expect(s.do({ op: 'uffdio_move', pid: 1, src: A + 3 * K, dst: A })).toEqual(ok);
    expect(s.load(1, A)).toEqual(v(7));
    expect(s.load(1, A + 3 * K)).toEqual(v(0));
    expect(s.do({ op: 'uffdio_move', pid: 1, src: A + 2 * K, dst: A + K })).toEqual(err(ENOENT));
    // a page at dst and none at src: -EEXIST, or -ENOENT when src has no page table at all
    s.do({ op: 'uffdio_copy', pid: 1, dst: A + K, value: 3 });
    expect(s.do({ op: 'uffdio_move', pid: 1, src: A + 2 * K, dst: A + K })).toEqual(err(EEXIST));
    expect(s.accept({ op: 'uffdio_move', pid: 1, src: A + 2 * K, dst: A + K }, err(ENOENT)).ok).toBe(true);
    expect(s.accept({ op: 'uffdio_move', pid: 1, src: A, dst: A + K }, err(ENOENT)).ok).toBe(false);
  });

  it('-ENOENT while the unmap event of its source or destination is unread (uffd_move_lock looks the VMAs up first)', () => {
    const s = new Seq(oneVma(4));
    s.store(1, A + 2 * K, 7);
    reg(s, 4 * K);
    s.do({ op: 'munmap', pid: 1, addr: A + 3 * K, len: K });
    expect(s.accept({ op: 'uffdio_move', pid: 1, src: A + 2 * K, dst: A + 3 * K }, err(ENOENT)).ok).toBe(true);
    expect(s.accept({ op: 'uffdio_move', pid: 1, src: A + 3 * K, dst: A }, err(ENOENT)).ok).toBe(true);
    // …but not when both VMAs are still there (the event makes it -EAGAIN)
    expect(s.accept({ op: 'uffdio_move', pid: 1, src: A + 2 * K, dst: A }, err(ENOENT)).ok).toBe(false);
  });
});

describe('uffd_read_event', () => {
  it('munmap and mremap of a registered range queue events in order; nothing left → EAGAIN', () => {
    const s = new Seq(oneVma(4));
    reg(s, 4 * K);
    s.do({ op: 'mremap', pid: 1, oldAddr: A, oldLen: K, newLen: K, flags: { maymove: true, fixed: true, dontunmap: false }, newAddr: 0x300000 });
    s.do({ op: 'munmap', pid: 1, addr: A + K, len: K });
    expect(s.do({ op: 'uffd_read_event', pid: 1 })).toEqual({ kind: 'event', event: { type: 'remap', from: A, to: 0x300000, len: K } });
    expect(s.do({ op: 'uffd_read_event', pid: 1 })).toEqual({ kind: 'event', event: { type: 'unmap', start: A, end: A + K } });
    expect(s.do({ op: 'uffd_read_event', pid: 1 })).toEqual({ kind: 'event', event: { type: 'unmap', start: A + K, end: A + 2 * K } });
    expect(s.do({ op: 'uffd_read_event', pid: 1 })).toEqual(err(EAGAIN));
  });

  it('accepts any pagefault message (it may be stale: queued before a copy resolved it), never a made-up event', () => {
    const s = new Seq(oneVma(4));
    reg(s);
    expect(s.accept({ op: 'uffd_read_event', pid: 1 }, { kind: 'event', event: { type: 'pagefault', addr: A, write: false } }).ok).toBe(true);
    expect(s.accept({ op: 'uffd_read_event', pid: 1 }, { kind: 'event', event: { type: 'pagefault', addr: A + 3 * K, write: false } }).ok).toBe(true);
    expect(s.accept({ op: 'uffd_read_event', pid: 1 }, { kind: 'event', event: { type: 'unmap', start: A, end: A + K } }).ok).toBe(false);
  });
});

describe('non-cooperative events vs the kernel', () => {
  it('MREMAP_FIXED: the target\'s unmap event comes first, then remap, then the old range\'s unmap (sys_mremap delivery order)', () => {
    const s = new Seq(oneVma(4));
    reg(s, 4 * K);
    const to = A + 16 * K;
    s.do({ op: 'mmap', pid: 1, addr: to, len: 2 * K, prot: { read: true, write: true, exec: false }, flags: { shared: false, anonymous: true, fixed: true, growsdown: false } });
    s.do({ op: 'uffd_register', pid: 1, addr: to, len: 2 * K, mode: 'missing' });
    expect(s.do({ op: 'mremap', pid: 1, oldAddr: A, oldLen: 2 * K, newLen: 2 * K, flags: { maymove: true, fixed: true, dontunmap: false }, newAddr: to })).toEqual({ kind: 'addr', addr: to });
    const read = () => s.do({ op: 'uffd_read_event', pid: 1 });
    expect(read()).toEqual({ kind: 'event', event: { type: 'unmap', start: to, end: to + 2 * K } });
    expect(read()).toEqual({ kind: 'event', event: { type: 'remap', from: A, to, len: 2 * K } });
    expect(read()).toEqual({ kind: 'event', event: { type: 'unmap', start: A, end: A + 2 * K } });
  });

  it('/proc/pid/mem on a missing page of a registered range: -EIO (GUP without FAULT_FLAG_ALLOW_RETRY)', () => {
    const s = new Seq(oneVma(4));
    reg(s);
    expect(s.do({ op: 'proc_mem_write', pid: 1, target: 1, addr: A, value: 5 })).toEqual(err(-5));
  });
});

describe('uffd_read_event: events of different syscalls in either order, of one syscall in order', () => {
  const ev = (start: number, end: number) => ({ kind: 'event' as const, event: { type: 'unmap' as const, start, end } });
  it('two munmaps in flight: either event may be read first', () => {
    const s = new Seq(oneVma(4));
    s.do({ op: 'uffd_register', pid: 1, addr: A, len: 4 * K, mode: 'missing' });
    s.do({ op: 'munmap', pid: 1, addr: A, len: K });
    s.do({ op: 'munmap', pid: 1, addr: A + 2 * K, len: K });
    const later = new Seq(s.state);
    expect(later.accept({ op: 'uffd_read_event', pid: 1 }, ev(A + 2 * K, A + 3 * K)).ok).toBe(true);
    expect(later.accept({ op: 'uffd_read_event', pid: 1 }, ev(A, A + K)).ok).toBe(true);
  });
  it('one mremap: its UFFD_EVENT_REMAP comes before its UFFD_EVENT_UNMAP', () => {
    const s = new Seq(oneVma(4));
    s.store(1, A, 1);
    s.do({ op: 'uffd_register', pid: 1, addr: A, len: 4 * K, mode: 'missing' });
    // Shrinking MREMAP_FIXED: the tail's unmap and the moved range's unmap follow the remap.
    s.do({ op: 'mremap', pid: 1, oldAddr: A, oldLen: 2 * K, newLen: K, flags: { maymove: true, fixed: true, dontunmap: false }, newAddr: A + 16 * K });
    const r = new Seq(s.state);
    expect(r.accept({ op: 'uffd_read_event', pid: 1 }, ev(A + K, A + 2 * K)).ok).toBe(false);
    expect(r.accept({ op: 'uffd_read_event', pid: 1 }, { kind: 'event', event: { type: 'remap', from: A, to: A + 16 * K, len: 2 * K } }).ok).toBe(true);
  });
});
