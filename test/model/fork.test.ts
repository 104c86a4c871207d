// fork(2): "The child process and the parent process run in separate memory spaces. At the time
// of fork() both memory spaces have the same content. Memory writes ... performed by one of the
// processes do not affect the other" — except MAP_SHARED mappings, which stay shared
// (kernel/fork.c: dup_mmap, copy_page_range COW).
import { describe, expect, it } from 'vitest';
import { ESRCH } from '../../model/index.js';
import { A, K, Seq, err, fixedAnon, oneVma, segv, v, RW } from './helpers.js';

describe('fork', () => {
  it('a store in the child leaves the parent unchanged, and vice versa', () => {
    const s = new Seq(oneVma(1));
    s.store(1, A, 1);
    expect(s.do({ op: 'fork', pid: 1 })).toEqual({ kind: 'pid', pid: 2 });
    expect(s.load(2, A)).toEqual(v(1));
    s.store(2, A, 2);
    expect(s.load(1, A)).toEqual(v(1));
    s.store(1, A, 3);
    expect(s.load(2, A)).toEqual(v(2));
  });

  it('MAP_SHARED file pages stay shared between parent and child', () => {
    const s = new Seq({ processes: [{ pid: 1 }], files: { f: { pages: [0] } } });
    s.do({ op: 'mmap', pid: 1, addr: A, len: K, prot: RW, flags: fixedAnon({ anonymous: false, shared: true }), file: 'f' });
    s.do({ op: 'fork', pid: 1 });
    s.store(2, A, 4);
    expect(s.load(1, A)).toEqual(v(4));
  });

  it('the child has the same maps; check accepts any free pid, not a live one', () => {
    const s = new Seq(oneVma(2));
    expect(s.accept({ op: 'fork', pid: 1 }, { kind: 'pid', pid: 1 }).ok).toBe(false);
    expect(s.accept({ op: 'fork', pid: 1 }, { kind: 'pid', pid: 42 }).ok).toBe(true);
    expect(s.maps(42)).toEqual(s.maps(1));
  });
});

describe('exit', () => {
  it('the address space goes away; shared memory survives in the other process', () => {
    const s = new Seq(oneVma(1));
    s.do({ op: 'mmap', pid: 1, addr: A + 8 * K, len: K, prot: RW, flags: fixedAnon({ shared: true }) });
    s.do({ op: 'fork', pid: 1 });
    s.store(2, A + 8 * K, 6);
    s.do({ op: 'exit', pid: 2 });
    expect(s.load(1, A + 8 * K)).toEqual(v(6));
    expect(s.load(2, A)).toEqual(err(ESRCH));
    void segv;
  });
});
