/**
 * Model behaviour the general generator's first false alarms showed the kernel has (each kept as
 * a regression in test/regressions/general-*.json):
 *
 *   |--anon A (pages 0..2, registered MISSING)--|   |--anon B (page 5)--|
 */
import { describe, expect, it } from 'vitest';
import { EBADF, EFAULT, EINVAL, ENOMEM, type ModelOp } from '../../model/index.js';
import { A, K, Seq, at, err, ok, oneVma } from './helpers.js';

const unregister = (addr: number, len: number): ModelOp => ({ op: 'uffd_unregister', pid: 1, addr, len });
const register = (addr: number, len: number): ModelOp => ({ op: 'uffd_register', pid: 1, addr, len, mode: 'missing' });
const read = (): ModelOp => ({ op: 'uffd_read_event', pid: 1 });

describe('uffd_register / uffd_unregister: the context', () => {
  it('UFFDIO_UNREGISTER without a userfaultfd is -EBADF', () => {
    const s = new Seq(oneVma(3));
    expect(s.do(unregister(A, K))).toEqual(err(EBADF));
  });

  it('a failed UFFDIO_REGISTER has still opened the userfaultfd', () => {
    const s = new Seq(oneVma(3));
    expect(s.do(register(A + 8 * K, K))).toEqual(err(ENOMEM));
    expect(s.do(unregister(A + 8 * K, K))).toEqual(err(ENOMEM));
  });
});

describe('mremap_to: unmaps before vma_to_resize', () => {
  it('MREMAP_FIXED unmaps the target even when the old range then fails (-EFAULT: beyond its VMA)', () => {
    const s = new Seq({ processes: [{ pid: 1, vmas: [{ start: A, end: A + 2 * K }, { start: A + 5 * K, end: A + 6 * K }] }] });
    const r = s.do({ op: 'mremap', pid: 1, oldAddr: A, oldLen: 4 * K, newLen: 4 * K, flags: { maymove: true, fixed: true, dontunmap: false }, newAddr: A + 4 * K });
    expect(r).toEqual(err(EFAULT));
    expect(s.maps(1)).toEqual([`${A.toString(16)}-${(A + 2 * K).toString(16)} rw-p 0`]);
  });

  it('the unmapped target of a registered range queues UFFD_EVENT_UNMAP though the call fails', () => {
    const s = new Seq({ processes: [{ pid: 1, vmas: [{ start: A, end: A + 3 * K, uffd: 'missing' }, { start: A + 5 * K, end: A + 6 * K }] }] });
    const r = s.do({ op: 'mremap', pid: 1, oldAddr: A + 5 * K, oldLen: 2 * K, newLen: 2 * K, flags: { maymove: true, fixed: true, dontunmap: false }, newAddr: A });
    expect(r).toEqual(err(EFAULT));
    expect(s.do(read())).toEqual({ kind: 'event', event: { type: 'unmap', start: A, end: A + 2 * K } });
  });

  it('MREMAP_DONTUNMAP of part of a VMA leaves the old VMA whole (no split), its pages moved out', () => {
    const s = new Seq(oneVma(4));
    s.store(1, A + K, 9);
    s.store(1, A + 2 * K, 8);
    const r = s.do({ op: 'mremap', pid: 1, oldAddr: A + K, oldLen: K, newLen: K, flags: { maymove: true, fixed: true, dontunmap: true }, newAddr: A + 16 * K });
    expect(r).toEqual(at(A + 16 * K));
    expect(s.maps(1)[0]).toBe(`${A.toString(16)}-${(A + 4 * K).toString(16)} rw-p 0`);
    expect(s.load(1, A + K)).toEqual({ kind: 'value', value: 0 });
    expect(s.load(1, A + 2 * K)).toEqual({ kind: 'value', value: 8 });
    expect(s.load(1, A + 16 * K)).toEqual({ kind: 'value', value: 9 });
  });
});

describe('uffd_read_event: queue order', () => {
  it('a read may return a later queued event first (the raisers queue after dropping mmap_lock)', () => {
    const s = new Seq({ processes: [{ pid: 1, vmas: [{ start: A, end: A + 3 * K, uffd: 'missing' }] }] });
    s.do({ op: 'madvise', pid: 1, addr: A, len: K, advice: 'dontneed' });
    s.do({ op: 'munmap', pid: 1, addr: A + 2 * K, len: K });
    const unmap = { kind: 'event' as const, event: { type: 'unmap' as const, start: A + 2 * K, end: A + 3 * K } };
    expect(s.accept(read(), unmap)).toEqual({ ok: true });
    expect(s.accept(read(), { kind: 'event', event: { type: 'remove', start: A, end: A + K } })).toEqual({ ok: true });
    // Nothing else is queued: an event never raised is still refused.
    expect(s.accept(read(), unmap).ok).toBe(false);
  });
});

describe('madvise(MADV_DONTNEED) on a registered range', () => {
  it('may return -ENOMEM or -EINVAL once it has queued UFFD_EVENT_REMOVE (the VMA is looked up again after the read)', () => {
    const s = new Seq({ processes: [{ pid: 1, vmas: [{ start: A, end: A + 2 * K, uffd: 'missing' }] }] });
    const op: ModelOp = { op: 'madvise', pid: 1, addr: A + K, len: K, advice: 'dontneed' };
    expect(new Seq(s.state).accept(op, err(ENOMEM))).toEqual({ ok: true });
    expect(new Seq(s.state).accept(op, err(EINVAL))).toEqual({ ok: true });
    expect(new Seq(s.state).accept(op, ok)).toEqual({ ok: true });
  });

  it('an unregistered range may not: its result is decided under the one lock', () => {
    const s = new Seq(oneVma(2));
    expect(s.accept({ op: 'madvise', pid: 1, addr: A + K, len: K, advice: 'dontneed' }, err(ENOMEM)).ok).toBe(false);
  });
});

describe('VM_ACCOUNT decides merging', () => {
  //   |--new anon r-- (no account)--|--rw piece with an anon_vma (accounted)--|  then mprotect r--
  it('a private VMA that lost write keeps VM_ACCOUNT once it has an anon_vma, so it does not merge with a never-writable neighbour', () => {
    const s = new Seq(oneVma(2));
    s.store(1, A, 1);
    s.do({ op: 'mmap', pid: 1, addr: A, len: K, prot: { read: true, write: false, exec: false }, flags: { shared: false, anonymous: true, fixed: true, growsdown: false } });
    s.do({ op: 'mprotect', pid: 1, addr: A + K, len: K, prot: { read: true, write: false, exec: false } });
    expect(s.maps(1)).toHaveLength(2);
  });

  it('one that never had an anon_vma gives VM_ACCOUNT back and merges', () => {
    const s = new Seq(oneVma(2));
    s.do({ op: 'mmap', pid: 1, addr: A, len: K, prot: { read: true, write: false, exec: false }, flags: { shared: false, anonymous: true, fixed: true, growsdown: false } });
    s.do({ op: 'mprotect', pid: 1, addr: A + K, len: K, prot: { read: true, write: false, exec: false } });
    expect(s.maps(1)).toEqual([`${A.toString(16)}-${(A + 2 * K).toString(16)} r--p 0`]);
  });
});
