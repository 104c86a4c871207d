/**
 * The failure contracts (Action.onFailure, model/failure.ts): with state.mayFail the model accepts
 * the errors an allocation or a read failure gives and every partial effect the kernel may leave
 * — and nothing else; without it, it accepts none of them.
 *
 *   A = 0x100000:  |--anon rw, 4 pages--|          (pages 0 and 2 written)
 */
import { describe, expect, it } from 'vitest';
import { check, fingerprint, initialState, type MmState, type ModelOp, type ModelResult } from '../../model/index.js';
import { ENOMEM, EIO, EINVAL, EFAULT } from '../../model/ops.js';
import { withMayFail } from '../../model/state.js';
import { A, K, NONE, RW, Seq, err, ok, sigbus, fixedAnon } from './helpers.js';

/** The maps of pid 1 in a state, as "start-end perms" lines. */
function maps(s: MmState): string[] {
  return s.processes[1]!.vmas.map((v) => `${(v.start - A) / K}-${(v.end - A) / K} ${v.prot.read ? 'r' : '-'}${v.prot.write ? 'w' : '-'}`);
}

/** Every state check allows for (op, r), as maps. */
function allowed(s: MmState, op: ModelOp, r: ModelResult): string[][] | string {
  const c = check(s, op, r);
  if (!c.ok) return c.why;
  return [c.state, ...(c.also ?? [])].map(maps);
}

function base(mayFail: boolean): MmState {
  const q = new Seq();
  q.do({ op: 'mmap', pid: 1, addr: A, len: 4 * K, prot: RW, flags: fixedAnon() });
  q.store(1, A, 5);
  q.store(1, A + 2 * K, 7);
  return withMayFail(q.state, mayFail);
}

describe('failure contracts need mayFail', () => {
  it('without it, -ENOMEM from munmap, fork, mprotect is refused; with it, accepted', () => {
    for (const op of [
      { op: 'munmap', pid: 1, addr: A + K, len: K },
      { op: 'fork', pid: 1 },
      { op: 'mprotect', pid: 1, addr: A, len: 2 * K, prot: NONE },
    ] as ModelOp[]) {
      expect(check(base(false), op, err(ENOMEM)).ok).toBe(false);
      expect(check(base(true), op, err(ENOMEM)).ok).toBe(true);
    }
  });
  it('a failure result outside the contract stays refused (munmap -EIO, an unaligned munmap -ENOMEM)', () => {
    expect(check(base(true), { op: 'munmap', pid: 1, addr: A + K, len: K }, err(EIO)).ok).toBe(false);
    expect(check(base(true), { op: 'munmap', pid: 1, addr: A + 1, len: K }, err(ENOMEM)).ok).toBe(false);
    expect(check(base(true), { op: 'munmap', pid: 1, addr: A + 1, len: K }, err(EINVAL)).ok).toBe(true);
  });
});

describe('munmap: -ENOMEM leaves the VMAs maybe split, nothing unmapped', () => {
  it('unchanged, split at start, split at both ends', () => {
    expect(allowed(base(true), { op: 'munmap', pid: 1, addr: A + K, len: K }, err(ENOMEM))).toEqual([
      ['0-4 rw'], ['0-1 rw', '1-4 rw'], ['0-1 rw', '1-2 rw', '2-4 rw'],
    ]);
  });
});

describe('mprotect: -ENOMEM part-way', () => {
  it('the VMAs before the failing one changed; the failing one maybe split at start', () => {
    // Two VMAs: 0-2 rw, 2-4 r- ; mprotect(1..3, ---) fails on the first or on the second.
    const q = new Seq(base(true));
    q.do({ op: 'mprotect', pid: 1, addr: A + 2 * K, len: 2 * K, prot: { read: true, write: false, exec: false } });
    expect(allowed(q.state, { op: 'mprotect', pid: 1, addr: A + K, len: 2 * K, prot: NONE }, err(ENOMEM))).toEqual([
      ['0-2 rw', '2-4 r-'], ['0-1 rw', '1-2 rw', '2-4 r-'], ['0-1 rw', '1-2 --', '2-4 r-'],
    ]);
  });
});

describe('mremap: a move whose unmap of the old range failed still returns the new address', () => {
  it('the old range stays mapped and empty (unsplit, or split), beside the moved VMA', () => {
    const s = base(true);
    const op: ModelOp = { op: 'mremap', pid: 1, oldAddr: A, oldLen: 2 * K, newLen: 2 * K, flags: { maymove: true, fixed: true, dontunmap: false }, newAddr: A + 16 * K };
    const c = check(s, op, { kind: 'addr', addr: A + 16 * K });
    expect(c.ok).toBe(true);
    const states = c.ok ? [c.state, ...(c.also ?? [])] : [];
    const layouts = states.map(maps);
    expect(layouts).toContainEqual(['2-4 rw', '16-18 rw']); // the canonical success
    expect(layouts).toContainEqual(['0-4 rw', '16-18 rw']); // old range kept, VMA unsplit
    expect(layouts).toContainEqual(['0-2 rw', '2-4 rw', '16-18 rw']); // kept, split at its end
    // The kept range is empty: its page moved.
    const kept = states.find((st) => maps(st).join() === '0-4 rw,16-18 rw')!;
    const q = new Seq(kept);
    expect(q.load(1, A)).toEqual({ kind: 'value', value: 0 });
    expect(q.load(1, A + 16 * K)).toEqual({ kind: 'value', value: 5 });
    // Without mayFail only the canonical success.
    const strict = check(withMayFail(s, false), op, { kind: 'addr', addr: A + 16 * K });
    expect(strict.ok && strict.also).toBeUndefined();
  });
});

describe('loads and stores: SIGBUS only where the fault reads a page from a file or swap', () => {
  it('a written anonymous page (may be on swap): yes; a fresh one: no', () => {
    const s = base(true);
    expect(check(s, { op: 'load', pid: 1, addr: A }, sigbus).ok).toBe(true);
    expect(check(s, { op: 'load', pid: 1, addr: A + K }, sigbus).ok).toBe(false);
    expect(check(withMayFail(s, false), { op: 'load', pid: 1, addr: A }, sigbus).ok).toBe(false);
  });
  it('a private file page not yet copied: yes, for stores too (maybe with the anon_vma prepared)', () => {
    const q = new Seq(initialState({ processes: [{ pid: 1 }], files: { f: { pages: [1, 2] } }, mayFail: true }));
    q.do({ op: 'mmap', pid: 1, addr: A, len: 2 * K, prot: RW, flags: { shared: false, anonymous: false, fixed: true, growsdown: false }, file: 'f', offset: 0 });
    const c = check(q.state, { op: 'store', pid: 1, addr: A, value: 3 }, sigbus);
    expect(c.ok).toBe(true);
    const states = c.ok ? [c.state, ...(c.also ?? [])] : [];
    expect(states.map((st) => st.processes[1]!.vmas[0]!.anonVma)).toEqual([null, 1]);
    expect(new Set(states.map(fingerprint)).size).toBe(2);
  });
});

describe('fork -ENOMEM: no child, nothing changed', () => {
  it('the only state is the one before', () => {
    const s = base(true);
    const c = check(s, { op: 'fork', pid: 1 }, err(ENOMEM));
    expect(c.ok && c.state === s && c.also === undefined).toBe(true);
    expect(check(s, { op: 'fork', pid: 1 }, ok).ok).toBe(false);
  });
});

describe('O_DIRECT read/write: the pinning fault or the file I/O failed', () => {
  const dio = (op: 'dio_read' | 'dio_write', addr: number, page = 0): ModelOp => ({ op, pid: 1, file: 'f', page, addr });
  function anon(mayFail: boolean): Seq {
    const q = new Seq(initialState({ processes: [{ pid: 1 }], files: { f: { pages: [10, 20] } }, mayFail }));
    q.do({ op: 'mmap', pid: 1, addr: A, len: 2 * K, prot: RW, flags: fixedAnon() });
    q.store(1, A + K, 7);
    return q;
  }
  it('dio_read -EIO (filemap_read failed after the pin): the user page faulted in for write, the data not written', () => {
    const s = anon(true).state;
    const c = check(s, dio('dio_read', A, 1), err(EIO));
    expect(c.ok).toBe(true);
    const states = c.ok ? [c.state, ...(c.also ?? [])] : [];
    expect(states).toHaveLength(1);
    // the never-touched page now has a private zero-filled page (smaps counts it), not the file's 20
    expect(states[0]!.processes[1]!.vmas[0]!.pages[A / K]).toBe(0);
    const w = check(s, dio('dio_read', A + K, 1), err(EIO));
    expect(w.ok && [w.state, ...(w.also ?? [])].map((st) => st.processes[1]!.vmas[0]!.pages[A / K + 1])).toEqual([7]);
    expect(check(withMayFail(s, false), dio('dio_read', A, 1), err(EIO)).ok).toBe(false);
  });
  it('dio_read -ENOMEM: nothing, the anon_vma only, or the page faulted in; -EFAULT only where the fault reads a page', () => {
    const s = anon(true).state;
    const c = check(s, dio('dio_read', A, 1), err(ENOMEM));
    expect(c.ok).toBe(true);
    const states = c.ok ? [c.state, ...(c.also ?? [])] : [];
    expect(states.map((st) => st.processes[1]!.vmas[0]!.pages[A / K])).toEqual([undefined, 0]);
    // a fresh anonymous page is not read from anywhere: no VM_FAULT_SIGBUS, so no -EFAULT
    expect(check(s, dio('dio_read', A, 1), err(EFAULT)).ok).toBe(false);
    // a written anonymous page may be on swap: its swap-in may fail
    expect(check(s, dio('dio_read', A + K, 1), err(EFAULT)).ok).toBe(true);
    // a read at EOF pins nothing: only __iomap_dio_rw's kmalloc of the dio (before the EOF
    // check) can fail, with nothing done; no -EFAULT or -EIO there
    const eof = check(s, dio('dio_read', A, 5), err(ENOMEM));
    expect(eof.ok && eof.state === s && eof.also === undefined).toBe(true);
    expect(check(s, dio('dio_read', A, 5), err(EFAULT)).ok).toBe(false);
    expect(check(s, dio('dio_read', A, 5), err(EIO)).ok).toBe(false);
  });
  it('into a missing page of a missing-mode uffd range (a success waits for UFFDIO_COPY): -ENOMEM from the fault\'s allocations before handle_userfault, nothing written', () => {
    const q = new Seq(initialState({ processes: [{ pid: 1 }], files: { f: { pages: [10, 20] } }, mayFail: true }));
    q.do({ op: 'mmap', pid: 1, addr: A, len: 2 * K, prot: RW, flags: fixedAnon() });
    q.do({ op: 'uffd_register', pid: 1, addr: A, len: 2 * K, mode: 'missing' });
    const s = q.state;
    // dio_read faults for write: vmf_anon_prepare may have run before the folio allocation failed
    const c = check(s, dio('dio_read', A, 0), err(ENOMEM));
    expect(c.ok).toBe(true);
    const states = c.ok ? [c.state, ...(c.also ?? [])] : [];
    expect(states.map((st) => st.processes[1]!.vmas[0]!.anonVma === null)).toEqual([true, false]);
    // the page is never filled: it still waits for the monitor
    for (const st of states) expect(st.processes[1]!.vmas[0]!.pages[A / K]).toBeUndefined();
    expect(check(s, dio('dio_read', A, 0), err(EIO)).ok).toBe(false);
    expect(check(s, dio('dio_read', A, 0), err(EFAULT)).ok).toBe(false);
    expect(check(withMayFail(s, false), dio('dio_read', A, 0), err(ENOMEM)).ok).toBe(false);
    // dio_write faults for read: page tables only, no anon_vma
    const w = check(s, dio('dio_write', A, 0), err(ENOMEM));
    expect(w.ok && w.state === s && w.also === undefined).toBe(true);
    expect(check(s, dio('dio_write', A, 0), err(EFAULT)).ok).toBe(false);
  });
  it('dio_write -ENOMEM: the file unchanged (maybe with the user page faulted in for read); no -EIO', () => {
    const s = anon(true).state;
    const c = check(s, dio('dio_write', A + K, 0), err(ENOMEM));
    expect(c.ok).toBe(true);
    const states = c.ok ? [c.state, ...(c.also ?? [])] : [];
    for (const st of states) expect(new Seq(st).do({ op: 'pread', pid: 1, file: 'f', page: 0 })).toEqual({ kind: 'value', value: 10 });
    expect(check(s, dio('dio_write', A + K, 0), err(EIO)).ok).toBe(false);
    expect(check(withMayFail(s, false), dio('dio_write', A + K, 0), err(ENOMEM)).ok).toBe(false);
  });
});

describe('a fault that must grow a stack and runs out of memory: SIGSEGV, the stack not grown', () => {
  function stack(mayFail: boolean): MmState {
    const q = new Seq(initialState({ processes: [{ pid: 1 }], mayFail }));
    q.do({ op: 'mmap', pid: 1, addr: A + 2 * K, len: 2 * K, prot: RW, flags: { shared: false, anonymous: true, fixed: true, growsdown: true } });
    return q.state;
  }
  it('load and store just below the stack may get SIGSEGV (maybe with the anon_vma prepared), only with mayFail', () => {
    for (const op of [{ op: 'load', pid: 1, addr: A }, { op: 'store', pid: 1, addr: A, value: 1 }] as ModelOp[]) {
      expect(allowed(stack(true), op, { kind: 'signal', sig: 'SIGSEGV' })).toEqual([['2-4 rw'], ['2-4 rw']]);
      const c = check(stack(true), op, { kind: 'signal', sig: 'SIGSEGV' });
      expect(c.ok && [c.state, ...(c.also ?? [])].map((st) => st.processes[1]!.vmas[0]!.anonVma !== null)).toEqual([false, true]);
      expect(check(stack(false), op, { kind: 'signal', sig: 'SIGSEGV' }).ok).toBe(false);
    }
  });
  it('an access inside the stack is not a growth: its SIGSEGV stays refused', () => {
    expect(check(stack(true), { op: 'store', pid: 1, addr: A + 2 * K, value: 1 }, { kind: 'signal', sig: 'SIGSEGV' }).ok).toBe(false);
  });
});
