/**
 * mm/filemap.ts: filemap_fault waiting for I/O (first try drops the fault lock and returns
 * VM_FAULT_RETRY, the TRIED retry finds the folio uptodate) in the v6.3 (mmap_lock), v6.6
 * (fallback from the VMA lock: ->fault not allowed under it) and v6.7 (->fault under the VMA lock)
 * forms; fault-around mapping cached pages without I/O; pread/pwrite through the page cache.
 */
import { describe, expect, it } from 'vitest';
import { ReplayScheduler } from '../../impl/rt/index.js';
import type { ModelOp } from '../../model/ops.js';
import { sim_mmu_walk } from '../../impl/sim/user.js';
import type { Kernel } from '../../impl/sim/kernel.js';
import { ioRun, why } from './io_harness.js';

const A = 0x10000;
const PG = 0x1000;
const rw = { read: true, write: true, exec: false };
const ro = { read: true, write: false, exec: false };
const mmapFile = (pid: number, addr: number, pages: number, file: string, shared = false, prot = ro): ModelOp =>
  ({ op: 'mmap', pid, addr, len: pages * PG, prot, flags: { shared, anonymous: false, fixed: true, growsdown: false }, file, offset: 0 });

function pte(k: Kernel, pid: number, addr: number) {
  return sim_mmu_walk(k.procs.get(pid)!.mm!, addr);
}

describe('filemap_fault', () => {
  //  0x10000      0x11000      0x12000
  //  |--- f[0] ---|--- f[1] ---|        file f, MAP_PRIVATE, read-only, nothing cached
  //  T1: load 0x10000 (major fault, waits for the read)   T2: munmap 0x11000 (needs the locks T1 must have dropped)
  for (const gen of ['v6.3', 'v6.6', 'v6.7']) {
    it(`${gen}: waits for the read without the fault lock (VM_FAULT_RETRY), the retry maps the uptodate folio`, () => {
      const r = ioRun({
        gen,
        files: [{ name: 'f', pages: [11, 12] }],
        processes: [{ pid: 1, setup: [mmapFile(1, A, 2, 'f')] }],
        threads: [
          { name: 'T1', pid: 1, program: [{ op: 'load', pid: 1, addr: A }] },
          { name: 'T2', pid: 1, program: [{ op: 'munmap', pid: 1, addr: A + PG, len: PG }] },
        ],
        // T1 runs until it sleeps on the folio lock (the read in flight), then T2's munmap must
        // complete — it needs mmap_write_lock and the VMA write lock — before the I/O does.
        script: [{ task: 'T1', until: 'folio_lock_killable' }, { task: 'T2', until: 'exit' }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.scriptDone).toBe(true);
      const [load, munmap] = [r.history.find((h) => h.op.op === 'load')!, r.history.find((h) => h.op.op === 'munmap')!];
      expect(load.result).toEqual({ kind: 'value', value: 11 });
      expect(munmap.result).toEqual({ kind: 'ok' });
      // The read completed after the munmap: T1 held neither mmap_lock nor the VMA lock meanwhile.
      const t1 = r.labels('T1');
      expect(t1).toContain('filemap_fault:out_retry');
      expect(r.labels('kblockd').filter((l) => l === 'bio_endio')).toHaveLength(1);
      expect(r.kernel.stats.fault_retries).toBeGreaterThanOrEqual(1);
      const p = pte(r.kernel, 1, A);
      expect(p?.kind).toBe('present');
      expect(pte(r.kernel, 1, A + PG)?.kind ?? 'none').toBe('none');
    });
  }

  it('v6.7: the VMA-locked first try calls ->fault itself (no mmap_lock fallback before the I/O)', () => {
    const r = ioRun({
      gen: 'v6.7',
      files: [{ name: 'f', pages: [3] }],
      processes: [{ pid: 1, setup: [mmapFile(1, A, 1, 'f')] }],
      threads: [{ name: 'T1', pid: 1, program: [{ op: 'load', pid: 1, addr: A }] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const t1 = r.labels('T1');
    const firstFault = t1.indexOf('filemap_fault:i_size_read');
    const firstMmapPath = t1.findIndex((l) => l.startsWith('find_vma')); // lock_mm_and_find_vma
    expect(firstFault).toBeGreaterThanOrEqual(0);
    expect(firstMmapPath).toBeGreaterThan(t1.indexOf('filemap_fault:out_retry'));
    expect(t1.indexOf('submit_bio')).toBeLessThan(firstMmapPath);
    expect(r.history[0]!.result).toEqual({ kind: 'value', value: 3 });
  });

  it('beyond i_size: SIGBUS', () => {
    const r = ioRun({
      gen: 'v6.7',
      files: [{ name: 'f', pages: [3] }],
      processes: [{ pid: 1, setup: [mmapFile(1, A, 2, 'f')] }],
      threads: [{ name: 'T1', pid: 1, program: [{ op: 'load', pid: 1, addr: A + PG }] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.history[0]!.result).toEqual({ kind: 'signal', sig: 'SIGBUS' });
  });

  it('a read error: one re-read on the TRIED pass, then SIGBUS', () => {
    const r = ioRun({
      gen: 'v6.6',
      files: [{ name: 'f', pages: [3] }],
      faultInjection: true,
      scheduler: { name: 'ioerr', pick: (_r, _n, d) => d, choose: (_n, _s, _t, label) => (label === 'bio:ioerr' ? 1 : 0) },
      processes: [{ pid: 1, setup: [mmapFile(1, A, 1, 'f')] }],
      threads: [{ name: 'T1', pid: 1, program: [{ op: 'load', pid: 1, addr: A }] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.history[0]!.result).toEqual({ kind: 'signal', sig: 'SIGBUS' });
  });
});

describe('filemap_map_pages (fault-around)', () => {
  //  0x10000  0x11000  0x12000  0x13000  0x14000
  //  |-f[0]c-|-f[1]c-|-f[2]--|-f[3]c-|     c = in the page cache, uptodate
  for (const gen of ['v6.3', 'v6.6']) {
    it(`${gen}: maps the cached, uptodate pages into pte_none slots; no I/O, no ->fault`, () => {
      const r = ioRun({
        gen,
        files: [{ name: 'f', pages: [10, 11, 12, 13] }],
        processes: [{ pid: 1, setup: [mmapFile(1, A, 4, 'f')] }],
        kernelSetup: [{ do: 'cache', file: 'f', page: 0 }, { do: 'cache', file: 'f', page: 1 }, { do: 'cache', file: 'f', page: 3 }],
        threads: [{ name: 'T1', pid: 1, program: [{ op: 'load', pid: 1, addr: A }] }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.history[0]!.result).toEqual({ kind: 'value', value: 10 });
      expect(r.labels('T1')).not.toContain('filemap_fault:i_size_read');
      expect(r.labels('T1')).not.toContain('submit_bio');
      const kinds = [0, 1, 2, 3].map((i) => pte(r.kernel, 1, A + i * PG)?.kind ?? 'none');
      expect(kinds).toEqual(['present', 'present', 'none', 'present']);
      const p1 = pte(r.kernel, 1, A + PG);
      expect(p1?.kind === 'present' && !p1.write).toBe(true);
      expect(r.kernel.procs.get(1)!.mm!.rss_stat.MM_FILEPAGES).toBe(3);
    });
  }

  it('skips a folio that is locked (read in flight): the fault then waits in ->fault', () => {
    const r = ioRun({
      gen: 'v6.7',
      files: [{ name: 'f', pages: [10, 11] }],
      processes: [{ pid: 1, setup: [mmapFile(1, A, 2, 'f')] }],
      threads: [
        { name: 'R', pid: 1, program: [{ op: 'pread', pid: 1, file: 'f', page: 1 }] },
        { name: 'T1', pid: 1, program: [{ op: 'load', pid: 1, addr: A + PG }] },
      ],
      // R starts the read of f[1] and sleeps; T1's fault-around must not map the locked folio.
      script: [{ task: 'R', until: 'folio_lock' }, { task: 'T1', until: 'folio_lock_killable' }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.scriptDone).toBe(true);
    expect(r.history.map((h) => h.result)).toEqual([{ kind: 'value', value: 11 }, { kind: 'value', value: 11 }]);
  });
});

describe('sim_sys_pread / sim_sys_pwrite', () => {
  it('pwrite is seen by pread and by a MAP_SHARED mapping; beyond EOF it extends i_size', () => {
    const r = ioRun({
      gen: 'v6.7',
      files: [{ name: 'f', pages: [1] }],
      processes: [{ pid: 1, setup: [mmapFile(1, A, 1, 'f', true)] }],
      threads: [{
        name: 'T1', pid: 1, program: [
          { op: 'pwrite', pid: 1, file: 'f', page: 0, value: 5 },
          { op: 'load', pid: 1, addr: A },
          { op: 'pread', pid: 1, file: 'f', page: 0 },
          { op: 'pwrite', pid: 1, file: 'f', page: 2, value: 9 },
          { op: 'pread', pid: 1, file: 'f', page: 1 },
          { op: 'pread', pid: 1, file: 'f', page: 2 },
          { op: 'pread', pid: 1, file: 'nope', page: 0 },
        ],
      }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.history.map((h) => h.result)).toEqual([
      { kind: 'ok' }, { kind: 'value', value: 5 }, { kind: 'value', value: 5 }, { kind: 'ok' },
      { kind: 'value', value: 0 }, { kind: 'value', value: 9 }, { kind: 'errno', errno: -9 },
    ]);
  });

  it('replays byte-for-byte from its schedule string', () => {
    const spec = {
      gen: 'v6.6',
      files: [{ name: 'f', pages: [11, 12] }],
      processes: [{ pid: 1, setup: [mmapFile(1, A, 2, 'f')] }],
      threads: [
        { name: 'T1', pid: 1, program: [{ op: 'load', pid: 1, addr: A } as ModelOp] },
        { name: 'T2', pid: 1, program: [{ op: 'munmap', pid: 1, addr: A + PG, len: PG } as ModelOp] },
      ],
    };
    const a = ioRun({ ...spec, script: [{ task: 'T1', until: 'folio_lock_killable' }, { task: 'T2', until: 'exit' }] });
    const b = ioRun({ ...spec, scheduler: new ReplayScheduler(a.outcome.schedule) });
    expect(b.outcome.status, why(b.outcome)).toBe('ok');
    expect(b.outcome.steps).toBe(a.outcome.steps);
    expect(b.history.map((h) => [h.result, h.response])).toEqual(a.history.map((h) => [h.result, h.response]));
  });
});
