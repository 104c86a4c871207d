/**
 * fs/proc/task_mmu.c: /proc/pid/smaps (walk_page_vma → smaps_pte_range under the PTL, Rss), the
 * 6.17 maps reader under per-VMA locks (lock_next_vma: never a fake gap), and the smaps_rcu
 * design proposal (safe only with RCU-freed page tables).
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../impl/rt/task.js';
import { k } from '../../impl/sim/kernel.js';
import type { mm_struct, vm_area_struct } from '../../impl/include/linux/mm_types.js';
import type { vma_iterator } from '../../impl/mm/task_mmu.js';
import { rcu_read_lock } from '../../impl/sync/rcu.js';
import type { ModelOp } from '../../model/ops.js';
import type { HistoryEntry } from '../../impl/sim/user.js';
import { PAGE, RO, RW, load, maps, mmapAnon, mmapFile, mprotect, munmap, store, sysDfs, sysRun, why } from './syscalls_harness.js';

const H = 0x10000000;
const smaps = (pid: number, target = pid): ModelOp => ({ op: 'read_smaps', pid, target });

describe('show_smap / smaps_pte_range', () => {
  for (const gen of ['v6.3', 'v6.6', 'v6.15']) {
    it(`${gen}: Rss counts the present PTEs with a page (not the zero page), per VMA`, () => {
      //   |--anon rw: p0 written, p1 read (zero page), p2 untouched--|   |--file r-- (2 pages, read)--|
      const r = sysRun({
        gen,
        files: [{ name: 'f', pages: [1, 2] }],
        threads: [{
          name: 'A', pid: 1,
          program: [
            mmapAnon(1, H, 3 * PAGE), store(1, H, 5), load(1, H + PAGE),
            mmapFile(1, H + 16 * PAGE, 2 * PAGE, 'f', 0, RO, { fixed: true }), load(1, H + 16 * PAGE), smaps(1),
          ],
        }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      const res = r.of('A')[5]!;
      expect(res.kind).toBe('smaps');
      if (res.kind !== 'smaps') return;
      expect(res.entries.map((e) => [e.start, e.end, e.perms])).toEqual([[H, H + 3 * PAGE, 'rw-p'], [H + 16 * PAGE, H + 18 * PAGE, 'r--p']]);
      expect(res.entries[0]!.rss).toBe(PAGE);
      // fault-around may have mapped the second file page too
      expect([PAGE, 2 * PAGE]).toContain(res.entries[1]!.rss);
    });
  }

  it('v6.15: smaps of another process: -ESRCH when it does not exist', () => {
    const r = sysRun({ gen: 'v6.15', threads: [{ name: 'A', pid: 1, program: [smaps(1, 7)] }] });
    expect(r.of('A')).toEqual([{ kind: 'errno', errno: -3 }]);
  });

  it('v6.6: smaps racing munmap and stores is consistent in every schedule (mmap_read_lock + PTL)', () => {
    const res = sysDfs(
      {
        gen: 'v6.6',
        processes: [{ pid: 1, setup: [mmapAnon(1, H, 2 * PAGE), store(1, H, 1)] }],
        threads: [
          { name: 'R', pid: 1, program: [smaps(1)] },
          { name: 'W', pid: 1, program: [store(1, H + PAGE, 2), munmap(1, H, PAGE)] },
        ],
      },
      2,
      (o, _k, h) => {
        if (o.status !== 'ok') return;
        const s = h.find((e) => e.op.op === 'read_smaps')!.result!;
        if (s.kind !== 'smaps') throw new Error('not smaps');
        for (const e of s.entries) expect(e.rss).toBeLessThanOrEqual(e.end - e.start);
      },
      1500,
    );
    expect(res.bad.map(why)).toEqual([]);
  });
});

/** The maps lines must cover [lo, hi) without a hole (the range is mapped throughout). */
function coverage(res: HistoryEntry['result'], lo: number, hi: number): string | null {
  if (!res || res.kind !== 'maps') return `not a maps result: ${JSON.stringify(res)}`;
  let at = lo;
  for (const l of res.lines) {
    if (l.end <= lo || l.start >= hi) continue;
    if (l.start > at) return `fake gap [0x${at.toString(16)}, 0x${l.start.toString(16)})`;
    at = Math.max(at, l.end);
  }
  return at >= hi ? null : `missing [0x${at.toString(16)}, 0x${hi.toString(16)})`;
}

/** lock_next_vma without the "found VMA starts above the last position" re-check. */
function* lock_next_vma_no_recheck(mm: mm_struct, vmi: vma_iterator, from_addr: number): Task<vm_area_struct | null | number> {
  for (;;) {
    const found = yield* k.fn.sim_vma_next_rcu(mm, vmi);
    if (!found) return null;
    const vma = yield* k.fn.vma_start_read(mm, found);
    if (vma === -11) {
      rcu_read_lock();
      vmi.index = from_addr;
      continue;
    }
    if (vma === null || typeof vma === 'number') {
      const r = yield* k.fn.lock_next_vma_under_mmap_lock(mm, vmi, from_addr);
      rcu_read_lock();
      vmi.index = r === null || typeof r === 'number' ? from_addr : r.vm_end;
      return r;
    }
    return vma;
  }
}

describe('lock_next_vma: /proc/pid/maps under per-VMA locks (6.17, k.cfg.maps_under_vma_lock)', () => {
  //   before |------- anon rw [H, H+2P) -------|
  //   W: mprotect(H+P, P, r--) splits it: the old VMA object becomes the upper half [H+P, H+2P)
  //   and a new VMA covers [H, H+P) — a reader that locked the old object must not skip the lower half
  const scenario = (overrides?: Record<string, unknown>) => ({
    gen: 'v6.15',
    config: { maps_under_vma_lock: true },
    overrides: overrides as never,
    processes: [{ pid: 1, setup: [mmapAnon(1, H, 2 * PAGE), store(1, H, 1)] }],
    threads: [
      { name: 'R', pid: 1, program: [maps(1)] },
      { name: 'W', pid: 1, program: [mprotect(1, H + PAGE, PAGE, RO)] },
    ],
  });

  it('the kernel\'s reader never reports a fake gap (DFS, 2 preemptions, bounded budget)', () => {
    let runs = 0;
    const res = sysDfs(scenario(), 2, (o, _k, h) => {
      if (o.status !== 'ok') return;
      runs++;
      const gap = coverage(h.find((e) => e.op.op === 'read_maps')!.result, H, H + 2 * PAGE);
      expect(gap).toBeNull();
    }, 1500);
    expect(res.bad.map(why)).toEqual([]);
    expect(runs).toBeGreaterThan(20);
  });

  // The reader paused right after (or inside) its RCU lookup of the VMA, the split done meanwhile.
  const pauses = ['vma_start_read', 'vma_start_read:vm_refcnt', 'vma_start_read:mm_lock_seq'];
  for (const until of pauses) {
    it(`the reader paused at ${until} while the split runs: both halves, no gap (fallback)`, () => {
      const r = sysRun({ ...scenario(), threads: [...scenario().threads.slice(0, 1), { name: 'W', pid: 1, program: [mprotect(1, H + PAGE, PAGE, RO), load(1, H)] }],
        script: [{ task: 'R', until }, { task: 'W', until: 'user:load' }] });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.scriptDone).toBe(true);
      expect(coverage(r.of('R')[0], H, H + 2 * PAGE)).toBeNull();
    });
  }

  it('without the speculation re-check the same schedule reports a fake gap', () => {
    const gaps: string[] = [];
    for (const until of pauses) {
      const sc = scenario({ lock_next_vma: lock_next_vma_no_recheck });
      const r = sysRun({ ...sc, threads: [sc.threads[0]!, { name: 'W', pid: 1, program: [mprotect(1, H + PAGE, PAGE, RO), load(1, H)] }],
        script: [{ task: 'R', until }, { task: 'W', until: 'user:load' }] });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      const gap = coverage(r.of('R')[0], H, H + 2 * PAGE);
      if (gap) gaps.push(gap);
    }
    expect(gaps.length).toBeGreaterThan(0);
    expect(gaps[0]).toMatch(/fake gap/);
  });

  it('a concurrent munmap of a neighbour: the reader shows it whole or not at all, the rest always', () => {
    //   |--A rw--|  hole  |--B rw--|    W: munmap(B)
    const res = sysDfs({
      gen: 'v6.15',
      config: { maps_under_vma_lock: true },
      processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE), mmapAnon(1, H + 4 * PAGE, PAGE, RW, { fixed: true })] }],
      threads: [
        { name: 'R', pid: 1, program: [maps(1)] },
        { name: 'W', pid: 1, program: [munmap(1, H + 4 * PAGE, PAGE)] },
      ],
    }, 2, (o, _k, h) => {
      if (o.status !== 'ok') return;
      const m = h.find((e) => e.op.op === 'read_maps')!.result!;
      if (m.kind !== 'maps') throw new Error('not maps');
      expect(m.lines[0]).toMatchObject({ start: H, end: H + PAGE });
      expect(m.lines.length === 1 || (m.lines.length === 2 && m.lines[1]!.start === H + 4 * PAGE && m.lines[1]!.end === H + 5 * PAGE)).toBe(true);
    }, 1500);
    expect(res.bad.map(why)).toEqual([]);
  });

  it('v6.15 without the flag: the mmap_lock reader gives the same lines', () => {
    const r = sysRun({
      gen: 'v6.15',
      config: { maps_under_vma_lock: true },
      threads: [{ name: 'A', pid: 1, program: [mmapAnon(1, H, PAGE), mmapAnon(1, H + 2 * PAGE, PAGE, RO, { fixed: true }), maps(1)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const res = r.of('A')[2]!;
    expect(res.kind === 'maps' && res.lines.map((l) => [l.start, l.perms])).toEqual([[H, 'rw-p'], [H + 2 * PAGE, 'r--p']]);
  });
});

describe('smaps_rcu (design proposal): the page-table walk under RCU only', () => {
  //   |--anon rw, 2 pages--|   R: smaps under RCU   W: munmap frees the PTE table
  const scenario = (rcuTables: boolean) => ({
    gen: 'v6.15',
    config: { smaps_rcu: true, mmu_gather_rcu_table_free: rcuTables },
    processes: [{ pid: 1, setup: [mmapAnon(1, H, 2 * PAGE), store(1, H, 1), store(1, H + PAGE, 2)] }],
    threads: [
      { name: 'R', pid: 1, program: [smaps(1)] },
      { name: 'W', pid: 1, program: [munmap(1, H, 2 * PAGE)] },
    ],
  });

  it('with MMU_GATHER_RCU_TABLE_FREE it is safe in every schedule', () => {
    const res = sysDfs(scenario(true), 2, () => {}, 1500);
    expect(res.bad.map(why)).toEqual([]);
  });

  for (const rcuTables of [true, false]) {
    it(`the walk paused at ptep_get_lockless while munmap frees the table: ${rcuTables ? 'safe (RCU-freed tables)' : 'KASAN use-after-free (IPI-freed tables)'}`, () => {
      const sc = scenario(rcuTables);
      const r = sysRun({ ...sc, threads: [sc.threads[0]!, { name: 'W', pid: 1, program: [munmap(1, H, 2 * PAGE), load(1, H + 64 * PAGE)] }],
        script: [{ task: 'R', until: 'ptep_get_lockless' }, { task: 'W', until: 'user:load' }] });
      if (rcuTables) {
        expect(r.outcome.status, why(r.outcome)).toBe('ok');
      } else {
        expect(r.outcome.status).toBe('violation');
        expect(r.outcome.violation!.property).toBe('kasan');
        expect(r.outcome.violation!.message).toMatch(/ptep_get_lockless/);
      }
    });
  }
});
