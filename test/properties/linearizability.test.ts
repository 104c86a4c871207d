// The linearizability checker (Wing & Gong; Lowe 2017): hand-written linearizable and
// non-linearizable histories against the model, the shortest illegal prefix, budget → unknown.
import { describe, expect, it } from 'vitest';
import { initialState, type ModelOp, type ModelResult } from '../../model/index.js';
import { HistoryBuilder, checkLinearizability, partitionHistory } from '../../properties/linearizability/index.js';
import { interleave } from '../../properties/linearizability/generate.js';
import { benchHistory } from '../../bench/linearizability.js';

const K = 4096;
const A = 0x100000;
const RW = { read: true, write: true, exec: false };
const ok: ModelResult = { kind: 'ok' };
const v = (value: number): ModelResult => ({ kind: 'value', value });
const load = (addr: number, pid = 1): ModelOp => ({ op: 'load', pid, addr });
const store = (addr: number, value: number, pid = 1): ModelOp => ({ op: 'store', pid, addr, value });
const oneVma = () => initialState({ processes: [{ pid: 1, vmas: [{ start: A, end: A + 2 * K, prot: 'rw-' }] }] });

describe('checkLinearizability', () => {
  it('ok: a load overlapping a store may see the old or the new value', () => {
    for (const seen of [0, 5]) {
      const b = new HistoryBuilder();
      const s = b.invoke(1, store(A, 5));
      const l = b.invoke(2, load(A));
      b.respond(s, ok).respond(l, v(seen));
      const r = checkLinearizability(oneVma(), b.build());
      expect(r.verdict).toBe('ok');
    }
  });

  it('illegal: a load after a completed store sees the old value', () => {
    const b = new HistoryBuilder();
    b.call(1, store(A, 5), ok);
    b.call(2, load(A), v(0));
    const r = checkLinearizability(oneVma(), b.build());
    expect(r.verdict).toBe('illegal');
    if (r.verdict === 'illegal') {
      expect(r.culprit.op.op).toBe('load');
      expect(r.explanation).toMatch(/the model returns 5/);
    }
  });

  it('illegal: a load returns the old page value after munmap and a new anonymous mmap of the range completed', () => {
    const b = new HistoryBuilder();
    b.call(1, store(A, 7), ok);
    const l = b.invoke(2, load(A)); // a slow fault that started before the munmap
    b.call(1, { op: 'munmap', pid: 1, addr: A, len: K }, ok);
    b.call(1, { op: 'mmap', pid: 1, addr: A, len: K, prot: RW, flags: { shared: false, anonymous: true, fixed: true, growsdown: false } }, { kind: 'addr', addr: A });
    b.call(1, store(A + K, 1), ok); // unrelated, after
    b.respond(l, v(7)); // ...but it returns only after the new mapping exists: still fine
    expect(checkLinearizability(oneVma(), b.build()).verdict).toBe('ok');

    const b2 = new HistoryBuilder();
    b2.call(1, store(A, 7), ok);
    b2.call(1, { op: 'munmap', pid: 1, addr: A, len: K }, ok);
    b2.call(1, { op: 'mmap', pid: 1, addr: A, len: K, prot: RW, flags: { shared: false, anonymous: true, fixed: true, growsdown: false } }, { kind: 'addr', addr: A });
    b2.call(2, load(A), v(7)); // the stale page leaked into the new mapping
    b2.call(1, store(A + K, 1), ok);
    const r = checkLinearizability(oneVma(), b2.build());
    expect(r.verdict).toBe('illegal');
    if (r.verdict === 'illegal') {
      expect(r.culprit.op).toEqual(load(A));
      // the shortest illegal prefix ends with the load's response: the later store is not in it
      expect(r.prefix.map((h) => h.op.op)).toEqual(['store', 'munmap', 'mmap', 'load']);
      expect(r.explanation).toMatch(/load\(0x100000\) = 7/);
    }
  });

  it('pending ops may take effect or not', () => {
    const b = new HistoryBuilder();
    b.invoke(1, store(A, 3)); // never returns
    b.call(2, load(A), v(3));
    b.call(2, load(A), v(3));
    expect(checkLinearizability(oneVma(), b.build()).verdict).toBe('ok');
    const b2 = new HistoryBuilder();
    b2.invoke(1, store(A, 3));
    b2.call(2, load(A), v(0));
    expect(checkLinearizability(oneVma(), b2.build()).verdict).toBe('ok');
    const b3 = new HistoryBuilder();
    b3.invoke(1, store(A, 3));
    b3.call(2, load(A), v(3));
    b3.call(2, load(A), v(0)); // cannot un-happen
    expect(checkLinearizability(oneVma(), b3.build()).verdict).toBe('illegal');
  });

  it('a fault waiting for userfaultfd is ordered after the UFFDIO_COPY that fills it', () => {
    const init = initialState({ processes: [{ pid: 1, vmas: [{ start: A, end: A + 2 * K, prot: 'rw-', uffd: 'missing' }] }] });
    const b = new HistoryBuilder();
    const l = b.invoke(1, load(A));
    b.call(2, { op: 'uffdio_copy', pid: 1, dst: A, value: 4 }, ok);
    b.respond(l, v(4));
    expect(checkLinearizability(init, b.build()).verdict).toBe('ok');
    const b2 = new HistoryBuilder();
    b2.call(1, load(A), v(0)); // completed before any copy: impossible
    b2.call(2, { op: 'uffdio_copy', pid: 1, dst: A, value: 4 }, ok);
    expect(checkLinearizability(init, b2.build()).verdict).toBe('illegal');
  });

  it('nondeterministic results select the branch: mmap at any free address, then loads there', () => {
    const b = new HistoryBuilder();
    b.call(1, { op: 'mmap', pid: 1, addr: 0, len: K, prot: RW, flags: { shared: false, anonymous: true, fixed: false, growsdown: false } }, { kind: 'addr', addr: 0x500000 });
    b.call(1, store(0x500000, 2), ok);
    b.call(2, load(0x500000), v(2));
    expect(checkLinearizability(oneVma(), b.build()).verdict).toBe('ok');
  });

  it('unknown when the step budget is exhausted — never a pass', () => {
    const b = new HistoryBuilder();
    const s = b.invoke(1, store(A, 5));
    const l = b.invoke(2, load(A));
    b.respond(s, ok).respond(l, v(5));
    const r = checkLinearizability(oneVma(), b.build(), { maxSteps: 1 });
    expect(r.verdict).toBe('unknown');
  });

  it('returns an order that respects real time', () => {
    const { initial, history } = benchHistory(3);
    const r = checkLinearizability(initial, history);
    expect(r.verdict).toBe('ok');
    if (r.verdict === 'ok') {
      const pos = new Map(r.order.map((id, i) => [id, i]));
      for (const a of history) for (const b of history) {
        if (a.response < b.invoke && pos.has(a.id) && pos.has(b.id)) expect(pos.get(a.id)!).toBeLessThan(pos.get(b.id)!);
      }
    }
  });

  it('generated histories are linearizable; corrupting one load result makes most illegal', () => {
    let illegal = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const { initial, history } = benchHistory(seed);
      expect(checkLinearizability(initial, history).verdict).toBe('ok');
      const i = history.findIndex((h) => h.op.op === 'load' && h.result?.kind === 'value');
      if (i < 0) continue;
      const bad = history.map((h, j) => (j === i ? { ...h, result: v(1000) } : h));
      const r = checkLinearizability(initial, bad);
      expect(r.verdict).not.toBe('ok');
      if (r.verdict === 'illegal') illegal++;
    }
    expect(illegal).toBeGreaterThan(20);
  });
});

describe('partitionHistory', () => {
  it('splits independent processes, joins them on fork and on files', () => {
    const init = initialState({ processes: [{ pid: 1 }, { pid: 2 }, { pid: 3 }], files: { f: { pages: [1] } } });
    const b = new HistoryBuilder();
    b.call(1, load(A, 1), { kind: 'signal', sig: 'SIGSEGV' });
    b.call(2, load(A, 2), { kind: 'signal', sig: 'SIGSEGV' });
    b.call(3, load(A, 3), { kind: 'signal', sig: 'SIGSEGV' });
    expect(partitionHistory(init, b.build())).toHaveLength(3);
    b.call(1, { op: 'pwrite', pid: 1, file: 'f', page: 0, value: 1 }, ok);
    b.call(2, { op: 'pread', pid: 2, file: 'f', page: 0 }, v(1));
    expect(partitionHistory(init, b.build())).toHaveLength(2);
    b.call(3, { op: 'fork', pid: 3 }, { kind: 'pid', pid: 4 });
    b.call(4, load(A, 4), { kind: 'signal', sig: 'SIGSEGV' });
    expect(partitionHistory(init, b.build()).map((p) => p.pids)).toEqual([[1, 2], [3, 4]]);
  });

  it('a cross-process violation is still found with partitioning (shared file)', () => {
    const init = initialState({ processes: [{ pid: 1 }, { pid: 2 }], files: { f: { pages: [1] } } });
    const b = new HistoryBuilder();
    b.call(1, { op: 'pwrite', pid: 1, file: 'f', page: 0, value: 9 }, ok);
    b.call(2, { op: 'pread', pid: 2, file: 'f', page: 0 }, v(1));
    expect(checkLinearizability(init, b.build()).verdict).toBe('illegal');
  });

  it('interleave() produces well-formed histories with pending ops at a uffd wait', () => {
    const init = initialState({ processes: [{ pid: 1, vmas: [{ start: A, end: A + K, prot: 'rw-', uffd: 'missing' }] }] });
    const { history } = interleave(init, [[load(A)], [store(A + K, 1)]], 1);
    expect(history.some((h) => h.result === undefined)).toBe(true);
    expect(checkLinearizability(init, history).verdict).toBe('ok');
  });
});
