/**
 * properties/refinement.ts: how a history is prepared for the linearizability search — calls over
 * several pages split by the pages other operations access (perPage), loads that raced an munmap
 * left out (dropRacingFaults), the final observations of a big VMA (finalObservations), smaps reads
 * while a store is in flight (smapsInFlight).
 *
 *   |==== anon, 2 MiB (pages 0..511) ====|      munmap of all of it; a load of page 3 meanwhile
 */
import { describe, expect, it } from 'vitest';
import type { HistoryOp } from '../../properties/linearizability/index.js';
import { closeRacing, driverPids, dropRacingFaults, faultBeforeWrite, finalObservations, forkRacingStores, perPage, smapsInFlight } from '../../properties/refinement.js';
import { Seq, fixedAnon, RW } from '../model/helpers.js';
import { checkLinearizability } from '../../properties/linearizability/checker.js';
import { initialState } from '../../model/state.js';
import { runScenario } from '../../properties/runner.js';
import { generationVariant } from '../../impl/sim/variant.js';
import { sim_run } from '../../impl/sim/run.js';
import { ReplayScheduler } from '../../impl/rt/schedulers/replay.js';

const P = 4096;
const B = 0x10000000;

const munmap2M: HistoryOp = { id: 0, task: 1, op: { op: 'munmap', pid: 1, addr: B, len: 512 * P }, result: { kind: 'ok' }, invoke: 0, response: 10 };
const load3 = (result: HistoryOp['result']): HistoryOp => ({ id: 1, task: 2, op: { op: 'load', pid: 1, addr: B + 3 * P }, result, invoke: 2, response: 3 });

describe('perPage', () => {
  it('splits a successful 2 MiB munmap at the page a load accesses, keeping the runs between whole', () => {
    const out = perPage([munmap2M, load3({ kind: 'value', value: 0 })], new Set());
    const pieces = out.filter((h) => h.op.op === 'munmap').map((h) => (h.op.op === 'munmap' ? [(h.op.addr - B) / P, h.op.len / P] : []));
    expect(pieces).toEqual([[0, 3], [3, 1], [4, 508]]);
    // Every piece keeps the call's span; the first keeps its id and task.
    expect(out.filter((h) => h.op.op === 'munmap').every((h) => h.invoke === 0 && h.response === 10)).toBe(true);
    expect(out.find((h) => h.op.op === 'munmap' && h.op.addr === B)!.task).toBe(1);
  });

  it('leaves a failed call, and the calls of a userfaultfd process, whole', () => {
    expect(perPage([{ ...munmap2M, result: { kind: 'errno', errno: -22 } }, load3(undefined)], new Set())).toHaveLength(2);
    expect(perPage([munmap2M, load3(undefined)], new Set([1]))).toHaveLength(2);
  });

  it('keeps mprotect and madvise whole in a process that maps a driver (its pieces would leave unmergeable VM_PFNMAP VMAs), munmap still splits', () => {
    const mprotect2M: HistoryOp = { ...munmap2M, op: { op: 'mprotect', pid: 1, addr: B, len: 512 * P, prot: { read: true, write: false, exec: false } } };
    expect(perPage([mprotect2M, load3(undefined)], new Set())).toHaveLength(4);
    expect(perPage([mprotect2M, load3(undefined)], new Set(), new Set([1]))).toHaveLength(2);
    expect(perPage([munmap2M, load3(undefined)], new Set(), new Set([1]))).toHaveLength(4);
    // driverPids: a process that maps /dev/pfnmap0 at the start, or by an mmap of the history, and its forked child.
    const init = initialState({ files: { '/dev/pfnmap0': { pages: [1, 2], driver: true } }, processes: [{ pid: 1 }, { pid: 2 }] });
    const mmapDrv: HistoryOp = { id: 5, task: 1, op: { op: 'mmap', pid: 2, addr: B, len: 2 * P, prot: { read: true, write: true, exec: false }, flags: { shared: true, anonymous: false, fixed: true, growsdown: false }, file: '/dev/pfnmap0', offset: 0 }, result: { kind: 'value', value: B }, invoke: 0, response: 1 };
    const fork: HistoryOp = { id: 6, task: 1, op: { op: 'fork', pid: 2 }, result: { kind: 'pid', pid: 7 }, invoke: 2, response: 3 };
    expect([...driverPids(init, [mmapDrv, fork])].sort()).toEqual([2, 7]);
  });
});

describe('dropRacingFaults', () => {
  it('leaves out a load that overlapped an munmap of its page and read a value; one that got SIGSEGV stays as a pending load', () => {
    expect(dropRacingFaults([munmap2M, load3({ kind: 'value', value: 7 })])).toHaveLength(1);
    const out = dropRacingFaults([munmap2M, load3({ kind: 'signal', sig: 'SIGSEGV' })]);
    expect(out).toHaveLength(2);
    expect(out[1]).toMatchObject({ result: undefined, response: Infinity });
    expect(out[1]!.task).not.toBe(2);
  });

  it('keeps a store that succeeded (its effect may outlive the munmap in a shared file), and a load after the munmap', () => {
    const st: HistoryOp = { id: 1, task: 2, op: { op: 'store', pid: 1, addr: B + 3 * P, value: 1 }, result: { kind: 'ok' }, invoke: 2, response: 3 };
    expect(dropRacingFaults([munmap2M, st])).toHaveLength(2);
    expect(dropRacingFaults([munmap2M, { ...load3({ kind: 'signal', sig: 'SIGSEGV' }), invoke: 11, response: 12 }])).toHaveLength(2);
  });
});

describe('dropRacingFaults: mremap, and processes whose faults leave effects', () => {
  const mremapAway: HistoryOp = { id: 0, task: 1, op: { op: 'mremap', pid: 1, oldAddr: B, oldLen: 2 * P, newLen: 2 * P, newAddr: B + 16 * P, flags: { fixed: true, maymove: true, dontunmap: false } }, result: { kind: 'value', value: B + 16 * P }, invoke: 0, response: 10 };
  const segvAt = (addr: number): HistoryOp => ({ id: 1, task: 2, op: { op: 'load', pid: 1, addr }, result: { kind: 'signal', sig: 'SIGSEGV' }, invoke: 2, response: 3 });

  it('turns a SIGSEGV load racing an mremap of its page (source, or a MREMAP_FIXED target) into a pending load, not one elsewhere', () => {
    expect(dropRacingFaults([mremapAway, segvAt(B + P)])[1]).toMatchObject({ result: undefined });
    expect(dropRacingFaults([mremapAway, segvAt(B + 17 * P)])[1]).toMatchObject({ result: undefined });
    expect(dropRacingFaults([mremapAway, segvAt(B + 4 * P)])[1]).toMatchObject({ result: { kind: 'signal' } });
  });

  it('keeps a racing SIGSEGV access as a pending load, or a pending store of 0 (its fault may have mapped a page)', () => {
    const out = dropRacingFaults([mremapAway, segvAt(B + P)], new Set([1]));
    expect(out).toHaveLength(2);
    expect(out[1]).toMatchObject({ op: { op: 'load', pid: 1, addr: B + P }, result: undefined, response: Infinity });
    const st: HistoryOp = { ...segvAt(B + P), op: { op: 'store', pid: 1, addr: B + P, value: 9 } };
    expect(dropRacingFaults([munmap2M, { ...st, op: { op: 'store', pid: 1, addr: B + 3 * P, value: 9 } }], new Set([1]))[1]).toMatchObject({ op: { op: 'store', addr: B + 3 * P, value: 0 }, result: undefined });
  });
});

describe('finalObservations', () => {
  it('of a 2 MiB VMA: the edge pages and every page with an entry, not the empty middle', () => {
    const scenario = {
      name: 'final-2m', family: 'test',
      processes: [{ pid: 1, setup: [
        { op: 'mmap' as const, pid: 1, addr: B, len: 512 * P, prot: { read: true, write: true, exec: false }, flags: { shared: false, anonymous: true, fixed: true, growsdown: false } },
        { op: 'store' as const, pid: 1, addr: B + 100 * P, value: 5 },
      ] }],
      threads: [],
    };
    const run = sim_run({ variant: generationVariant('v6.6'), scenario, scheduler: new ReplayScheduler('v1:', false) });
    const finals = finalObservations(run.kernel, 0, 0);
    const pages = finals.map((h) => (h.op.op === 'load' ? (h.op.addr - B) / P : -1));
    expect(pages).toContain(0);
    expect(pages).toContain(511);
    expect(pages).toContain(100);
    expect(pages).not.toContain(200);
    expect(finals.find((h) => h.op.op === 'load' && h.op.addr === B + 100 * P)!.result).toEqual({ kind: 'value', value: 5 });
    // And the run judges clean.
    expect(runScenario({ variant: generationVariant('v6.6'), scenario }).status).toBe('pass');
  });
});

describe('smapsInFlight', () => {
  const smaps = (rss: number, invoke: number, response: number): HistoryOp => ({
    id: 0, task: 1, op: { op: 'read_smaps', pid: 1, target: 1 }, invoke, response,
    result: { kind: 'smaps', entries: [{ start: B, end: B + 4 * P, perms: 'rw-p', offset: 0, name: '', rss }, { start: B + 8 * P, end: B + 9 * P, perms: 'rw-p', offset: 0, name: '', rss: P }] },
  });
  const store = (page: number, invoke: number, response: number): HistoryOp => ({
    id: 1, task: 2, op: { op: 'store', pid: 1, addr: B + page * P, value: 5 }, result: { kind: 'ok' }, invoke, response,
  });
  const rss = (h: HistoryOp[]): number[] => {
    const r = h.find((x) => x.op.op === 'read_smaps')!.result;
    return r?.kind === 'smaps' ? r.entries.map((e) => e.rss) : [];
  };
  it('judges a smaps read with one page less in the VMA of each store in flight meanwhile', () => {
    expect(rss(smapsInFlight([smaps(3 * P, 4, 6), store(1, 2, 9)]))).toEqual([2 * P, P]);
    // Not below 0; other VMAs unchanged.
    expect(rss(smapsInFlight([smaps(0, 4, 6), store(1, 2, 9)]))).toEqual([0, P]);
    // An O_DIRECT read's pinning fault maps the page before its DMA lands (s10 hunt, v6.4:
    // smaps showed Rss 4 kB, then a load read 0, then the read returned).
    const dio: HistoryOp = { id: 1, task: 2, op: { op: 'dio_read', pid: 1, addr: B + P, file: 'f', page: 0 }, result: { kind: 'value', value: P }, invoke: 2, response: 9 };
    expect(rss(smapsInFlight([smaps(3 * P, 4, 6), dio]))).toEqual([2 * P, P]);
    expect(rss(smapsInFlight([smaps(3 * P, 4, 6), { ...dio, invoke: 7 }]))).toEqual([3 * P, P]);
  });
  it('leaves a read alone when no store overlaps it, or the store is of another process', () => {
    expect(rss(smapsInFlight([smaps(3 * P, 4, 6), store(1, 7, 9)]))).toEqual([3 * P, P]);
    const other: HistoryOp = { ...store(1, 2, 9), op: { op: 'store', pid: 2, addr: B + P, value: 5 } };
    expect(rss(smapsInFlight([smaps(3 * P, 4, 6), other]))).toEqual([3 * P, P]);
  });
});

describe('forkRacingStores', () => {
  // kernel/fork.c dup_mmap: the child already exists for its own loads (and an earlier VMA's
  // userfaultfd event is visible) while a later VMA's PTEs are not copied yet: a parent store
  // then still lands in the page the child gets. Found replaying /tmp/fpmd/cx2-v6.6 (final-state,
  // 4 tasks: a UFFDIO_COPY -EAGAIN from dup_userfaultfd before the store, the child's page 728).
  const init = initialState({ processes: [{ pid: 1, vmas: [{ start: B, end: B + 2 * P, pages: { [B]: 11, [B + P]: 5 } }] }] });
  const fork: HistoryOp = { id: 0, task: 1, op: { op: 'fork', pid: 1 }, result: { kind: 'pid', pid: 2 }, invoke: 0, response: 10 };
  const childSees = { id: 1, task: 3, op: { op: 'load', pid: 2, addr: B + P }, result: { kind: 'value', value: 5 }, invoke: 3, response: 4 } as HistoryOp;
  const store = { id: 2, task: 2, op: { op: 'store', pid: 1, addr: B, value: 728 }, result: { kind: 'ok' }, invoke: 5, response: 6 } as HistoryOp;
  const childLoad = (v: number) => ({ id: 3, task: 3, op: { op: 'load', pid: 2, addr: B }, result: { kind: 'value', value: v }, invoke: 11, response: 12 }) as HistoryOp;
  it('a parent store overlapping the fork may be in the child: a pending store of its value to the child', () => {
    const h = [fork, childSees, store, childLoad(728)];
    expect(checkLinearizability(init, h).verdict).toBe('illegal');
    const out = forkRacingStores(h);
    expect(out.filter((x) => x.op.op === 'store' && x.op.pid === 2 && x.result === undefined)).toHaveLength(1);
    expect(checkLinearizability(init, out).verdict).toBe('ok');
    // The child still sees only the old value or the store's: anything else is caught.
    expect(checkLinearizability(init, forkRacingStores([fork, childSees, store, childLoad(999)])).verdict).toBe('illegal');
    expect(checkLinearizability(init, forkRacingStores([fork, childSees, store, childLoad(11)])).verdict).toBe('ok');
  });
  it('not a store after the fork returned, nor one of another process, nor with a failed fork', () => {
    expect(forkRacingStores([fork, { ...store, invoke: 11, response: 12 }])).toHaveLength(2);
    expect(forkRacingStores([fork, { ...store, op: { op: 'store', pid: 3, addr: B, value: 1 } }])).toHaveLength(2);
    expect(forkRacingStores([{ ...fork, result: { kind: 'errno', errno: -12 } }, store])).toHaveLength(2);
  });
});

describe('faultBeforeWrite', () => {
  // mm/memory.c do_shared_fault → shmem_fault adds a zeroed folio to the shmem object before the
  // retried store writes: a registered range of another process sharing the object then finds the
  // page (no userfault) and its store may land before this one's. Found by the s10a soak (v6.3 and
  // v6.15, final-state: P1's store of 192 in its registered range was let through by P2's fault,
  // P2's store of 382 landed after; test/fixtures/false-alarms/soak-shmem-fault-before-store.json).
  const q = new Seq({ processes: [{ pid: 1 }] });
  q.do({ op: 'mmap', pid: 1, addr: B, len: 2 * P, prot: RW, flags: fixedAnon({ shared: true }) });
  q.do({ op: 'fork', pid: 1 });
  q.do({ op: 'uffd_register', pid: 1, addr: B, len: 2 * P, mode: 'missing' });
  const init = q.state;
  const registered = new Set([1]);
  const p1 = (invoke: number, response: number) => ({ id: 0, task: 1, op: { op: 'store', pid: 1, addr: B + P, value: 192 }, result: { kind: 'ok' }, invoke, response }) as HistoryOp;
  const p2 = (invoke: number, response: number) => ({ id: 1, task: 2, op: { op: 'store', pid: 2, addr: B + P, value: 382 }, result: { kind: 'ok' }, invoke, response }) as HistoryOp;
  const final = (v: number) => ({ id: 2, task: -2, op: { op: 'load', pid: 1, addr: B + P }, result: { kind: 'value', value: v }, invoke: 200, response: 201 }) as HistoryOp;
  it('a write in flight may have faulted its shared page in first: a pending load of it', () => {
    const h = [p1(10, 100), p2(20, 110), final(382)];
    expect(checkLinearizability(init, h).verdict).toBe('illegal');
    const out = faultBeforeWrite(init, h, registered);
    expect(out.filter((x) => x.op.op === 'load' && x.result === undefined)).toHaveLength(2);
    expect(checkLinearizability(init, out).verdict).toBe('ok');
  });
  it('a broken kernel is still caught: a write that finished first cannot land last, no value from nowhere', () => {
    expect(checkLinearizability(init, faultBeforeWrite(init, [p1(40, 100), p2(20, 30), final(382)], registered)).verdict).toBe('illegal');
    expect(checkLinearizability(init, faultBeforeWrite(init, [p1(10, 100), p2(20, 110), final(999)], registered)).verdict).toBe('illegal');
    // P1's registered range misses until someone else faults the page in: its store alone never lands
    expect(checkLinearizability(init, faultBeforeWrite(init, [p1(10, 100), final(192)], registered)).verdict).toBe('illegal');
  });
  it('nothing added without userfaultfd in use', () => {
    const h = [p1(10, 100), p2(20, 110)];
    expect(faultBeforeWrite(init, h, new Set())).toBe(h);
  });
});

describe('closeRacing', () => {
  const close: HistoryOp = { id: 0, task: 2, op: { op: 'close', pid: 1, file: 'f' }, result: { kind: 'ok' }, invoke: 1, response: 2 };
  const pread = (pid: number, invoke: number, response: number): HistoryOp => ({ id: 1, task: 1, op: { op: 'pread', pid, file: 'f', page: 0 }, result: { kind: 'value', value: 0 }, invoke, response });
  it('a close may take effect until a call of the same process on that file that overlapped it returns (it looked the descriptor up first)', () => {
    const out = closeRacing([close, pread(1, 0, 9)]);
    expect(out[0]!.response).toBe(9);
    expect(out[0]!.task).not.toBe(2);
  });
  it('leaves it alone for a call that began after it returned, or another process\'s (its own file table)', () => {
    expect(closeRacing([close, pread(1, 3, 9)])[0]).toBe(close);
    expect(closeRacing([close, pread(2, 0, 9)])[0]).toBe(close);
  });
});
