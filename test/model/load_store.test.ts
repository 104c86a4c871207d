// User loads and stores (arch/x86/mm/fault.c: do_user_addr_fault): SIGSEGV outside any VMA
// (bad_area) or on an access the VMA does not permit (access_error); SIGBUS past EOF of a file;
// an access just below a VM_GROWSDOWN VMA expands the stack (expand_stack), keeping
// stack_guard_gap (256 pages) from the previous VMA.
import { describe, expect, it } from 'vitest';
import { STACK_GUARD_GAP, STACK_RLIMIT } from '../../model/index.js';
import { A, K, RW, Seq, fixedAnon, ok, segv, v } from './helpers.js';

const STACK = 0x40000000;

describe('load', () => {
  it('outside any VMA gives SIGSEGV; a fresh anonymous page reads 0', () => {
    const s = new Seq({ processes: [{ pid: 1, vmas: [{ start: A, end: A + K }] }] });
    expect(s.load(1, A - K)).toEqual(segv);
    expect(s.load(1, A + 123)).toEqual(v(0));
  });
});

describe('store', () => {
  it('stores are per page: any address in the page sees the value', () => {
    const s = new Seq({ processes: [{ pid: 1, vmas: [{ start: A, end: A + K }] }] });
    expect(s.store(1, A + 8, 77)).toEqual(ok);
    expect(s.load(1, A + 4000)).toEqual(v(77));
  });
});

describe('expand_stack', () => {
  it('an access just below a growsdown VMA grows it; beyond RLIMIT_STACK (the stack\'s whole size) is SIGSEGV', () => {
    const s = new Seq();
    s.do({ op: 'mmap', pid: 1, addr: STACK, len: K, prot: RW, flags: fixedAnon({ growsdown: true }) });
    expect(s.store(1, STACK - 2 * K, 5)).toEqual(ok);
    expect(s.maps(1)).toEqual([`${(STACK - 2 * K).toString(16)}-${(STACK + K).toString(16)} rw-p 0`]);
    expect(s.load(1, STACK - 2 * K)).toEqual(v(5));
    // The stack spans [STACK - 2K, STACK + K): it may grow until it is STACK_RLIMIT long.
    expect(s.load(1, STACK + K - STACK_RLIMIT - K)).toEqual(segv);
    expect(s.load(1, STACK + K - STACK_RLIMIT)).toEqual(v(0));
  });

  it('does not grow into the guard gap of the previous VMA', () => {
    const s = new Seq();
    s.do({ op: 'mmap', pid: 1, addr: STACK, len: K, prot: RW, flags: fixedAnon({ growsdown: true }) });
    s.do({ op: 'mmap', pid: 1, addr: STACK - STACK_GUARD_GAP, len: K, prot: RW, flags: fixedAnon() });
    expect(s.load(1, STACK - K)).toEqual(segv);
  });
});
