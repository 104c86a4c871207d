// O_DIRECT read/write of one file page (model/actions/dio_read.ts, dio_write.ts) and ioctl(2) on
// a device (dev_ioctl.ts): GUP's rules for the user buffer (-EFAULT: no VMA — no stack growth —,
// no PROT_WRITE for a read into it, no PROT_READ for a write from it, a page beyond a file
// mapping's EOF); the data moves as a store / a load would see it.
import { describe, expect, it } from 'vitest';
import { EBADF, EFAULT, EINVAL, ENOTTY, type ModelOp } from '../../model/index.js';
import { A, K, RO, RW, Seq, err, fixedAnon, ok, v } from './helpers.js';

const dioRead = (addr: number, page = 0): ModelOp => ({ op: 'dio_read', pid: 1, file: 'f', page, addr });
const dioWrite = (addr: number, page = 0): ModelOp => ({ op: 'dio_write', pid: 1, file: 'f', page, addr });

function seq(): Seq {
  return new Seq({ processes: [{ pid: 1 }], files: { f: { pages: [10, 20] }, '/dev/kvm0': { pages: [1] } } });
}

describe('dio_read / dio_write', () => {
  it('a read puts the file page into user memory (a private copy); a write takes user memory into the file', () => {
    const s = seq();
    s.do({ op: 'mmap', pid: 1, addr: A, len: 2 * K, prot: RW, flags: fixedAnon() });
    expect(s.do(dioRead(A, 1))).toEqual(v(K));
    expect(s.load(1, A)).toEqual(v(20));
    s.store(1, A + K, 7);
    expect(s.do(dioWrite(A + K, 0))).toEqual(v(K));
    expect(s.do({ op: 'pread', pid: 1, file: 'f', page: 0 })).toEqual(v(7));
    // beyond EOF: nothing read; a write extends the file as pwrite does
    expect(s.do(dioRead(A, 5))).toEqual(v(0));
    expect(s.do(dioWrite(A, 3))).toEqual(v(K));
    expect(s.do({ op: 'pread', pid: 1, file: 'f', page: 3 })).toEqual(v(20));
  });

  it('GUP\'s rules: -EFAULT without a VMA, without PROT_WRITE (read) or PROT_READ (write); devices and unknown files', () => {
    const s = seq();
    s.do({ op: 'mmap', pid: 1, addr: A, len: K, prot: RO, flags: fixedAnon() });
    expect(s.do(dioRead(A))).toEqual(err(EFAULT));
    expect(s.do(dioRead(A + 8 * K))).toEqual(err(EFAULT));
    expect(s.do(dioWrite(A))).toEqual(v(K)); // reads the zero page
    expect(s.do({ op: 'pread', pid: 1, file: 'f', page: 0 })).toEqual(v(0));
    s.do({ op: 'mprotect', pid: 1, addr: A, len: K, prot: { read: false, write: true, exec: false } });
    expect(s.do(dioWrite(A))).toEqual(err(EFAULT));
    expect(s.do({ op: 'dio_read', pid: 1, file: '/dev/kvm0', page: 0, addr: A })).toEqual(err(EINVAL));
    expect(s.do({ op: 'dio_read', pid: 1, file: 'nope', page: 0, addr: A })).toEqual(err(EBADF));
  });

  it('pinned (the refinement\'s mark for a call that raced an mprotect of its page): no protection check, the data still moves', () => {
    const s = seq();
    s.do({ op: 'mmap', pid: 1, addr: A, len: K, prot: RO, flags: fixedAnon() });
    expect(s.do({ op: 'dio_read', pid: 1, file: 'f', page: 1, addr: A, pinned: true })).toEqual(v(K));
    expect(s.load(1, A)).toEqual(v(20));
    s.do({ op: 'mprotect', pid: 1, addr: A, len: K, prot: { read: false, write: false, exec: false } });
    expect(s.do({ op: 'dio_write', pid: 1, file: 'f', page: 0, addr: A, pinned: true })).toEqual(v(K));
    expect(s.do({ op: 'pread', pid: 1, file: 'f', page: 0 })).toEqual(v(20));
    // …but never without a VMA
    expect(s.do({ op: 'dio_read', pid: 1, file: 'f', page: 1, addr: A + 8 * K, pinned: true })).toEqual(err(EFAULT));
  });
});

describe('dev_ioctl', () => {
  it('KVM_CREATE_VM on /dev/kvm… is ok and changes nothing; elsewhere -ENOTTY / -EBADF', () => {
    const s = seq();
    expect(s.do({ op: 'dev_ioctl', pid: 1, file: '/dev/kvm0', cmd: 'KVM_CREATE_VM' })).toEqual(ok);
    expect(s.do({ op: 'dev_ioctl', pid: 1, file: 'f', cmd: 'KVM_CREATE_VM' })).toEqual(err(ENOTTY));
    expect(s.do({ op: 'dev_ioctl', pid: 1, file: '/dev/kvm9', cmd: 'KVM_CREATE_VM' })).toEqual(err(EBADF));
  });
});
