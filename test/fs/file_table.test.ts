/**
 * fs/file_table.c (impl/fs/file_table.ts): the lifetime of struct file — the descriptor table's
 * reference, vma->vm_file's (mmap takes one, remove_vma drops it, a split's copy takes its own),
 * the final fput deferred to task work on the way back to user space, the struct freed after an
 * RCU grace period (file_free, 6.6) — and close(2).
 *
 *   P1:  0x10000000 |--file f, MAP_SHARED, 2 pages--|
 *
 * The planted bug is a /proc/pid/maps walker that collects the VMAs under mmap_read_lock and
 * formats them after dropping it (show_map_vma reads vma->vm_file with no reference of its own —
 * what a lockless maps reader must not do without pinning the file). A munmap and a close in the
 * window drop the VMA's and the descriptor's references: the last fput's task work runs as the
 * closing thread returns, file_free's grace period ends, and the walker's read of the name is a
 * KASAN use-after-free — visible only because the file is freed at its last fput (with files never
 * freed, the stand-in before, the same schedule passes).
 */
import { describe, expect, it } from 'vitest';
import { PAGE, RO, load, maps, mapsText, mmapFile, munmap, sysRun, why, type SysTest } from '../mm/syscalls_harness.js';
import { KASAN_ALLOCATED, KASAN_FREED, sim_kasan_meta } from '../../impl/sync/kasan.js';
import { refcount_read } from '../../impl/sync/refcount.js';
import { k } from '../../impl/sim/kernel.js';
import type { Task } from '../../impl/rt/task.js';
import type { MapsLine, ModelOp } from '../../model/ops.js';
import type { mm_struct, vm_area_struct } from '../../impl/include/linux/mm_types.js';
import { runScenario } from '../../properties/runner.js';
import { generationVariant } from '../../impl/sim/variant.js';
import { RandomScheduler } from '../../impl/rt/schedulers/random.js';
import { GENERATIONS } from '../../impl/sim/config.js';

const H = 0x10000000;
const close = (pid: number, file: string): ModelOp => ({ op: 'close', pid, file });
const SHARED = { shared: true, fixed: true };
const FILES = [{ name: 'f', pages: [11, 22] }];

describe('struct file lifetime (fs/file_table.c)', () => {
  for (const g of GENERATIONS) {
    it(`${g.name}: a mapping keeps working after close; close again → -EBADF; the last munmap frees the file at the thread's return to user space`, () => {
      const r = sysRun({
        gen: g.name, files: FILES,
        processes: [{ pid: 1, setup: [mmapFile(1, H, 2 * PAGE, 'f', 0, RO, SHARED)] }],
        threads: [{
          name: 'P', pid: 1,
          program: [close(1, 'f'), load(1, H + PAGE), close(1, 'f'), { op: 'pread', pid: 1, file: 'f', page: 0 },
            mmapFile(1, H + 4 * PAGE, PAGE, 'f', 0, RO, SHARED), munmap(1, H, PAGE), load(1, H + PAGE), munmap(1, H + PAGE, PAGE)],
        }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      const res = r.of('P');
      expect(res).toEqual([
        { kind: 'ok' }, { kind: 'value', value: 22 }, { kind: 'errno', errno: -9 }, { kind: 'errno', errno: -9 },
        { kind: 'errno', errno: -9 }, { kind: 'ok' }, { kind: 'value', value: 22 }, { kind: 'ok' },
      ]);
      const f = r.kernel.files.get('f')!;
      // The split left two VMAs, each with its reference; the last munmap dropped the last one.
      expect(refcount_read(f.f_count)).toBe(0);
      const m = sim_kasan_meta(f)!;
      expect(m.free?.site).toMatch(/file_free_rcu/);
      // __fput ran as task work of P, after munmap's remove_vma: in the step of the return to user space.
      expect(m.rcuQueued?.task).toMatch(/^P\//);
    });
  }

  it('fork: the child\'s table and the child\'s VMA each hold a reference; the file lives while either does', () => {
    const r = sysRun({
      gen: 'v6.6', files: FILES,
      processes: [{ pid: 1, setup: [mmapFile(1, H, PAGE, 'f', 0, RO, SHARED), { op: 'fork', pid: 1 }] }],
      threads: [
        { name: 'P', pid: 1, program: [close(1, 'f'), munmap(1, H, PAGE)] },
        { name: 'C', pid: 2, program: [close(2, 'f'), load(2, H)] },
      ],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('C')).toEqual([{ kind: 'ok' }, { kind: 'value', value: 11 }]);
    const f = r.kernel.files.get('f')!;
    expect(refcount_read(f.f_count)).toBe(1); // the child's VMA
    expect(sim_kasan_meta(f)!.state).toBe(KASAN_ALLOCATED);
  });

  it('the general generator\'s checks accept close against faults, munmap and reads of the file', () => {
    const spec = {
      name: 'close-race', family: 'test', files: FILES,
      processes: [{ pid: 1, setup: [mmapFile(1, H, 2 * PAGE, 'f', 0, { read: true, write: true, exec: false }, SHARED)] }],
      threads: [
        { name: 'a', pid: 1, program: [load(1, H), { op: 'store', pid: 1, addr: H + PAGE, value: 5 } as ModelOp, close(1, 'f'), load(1, H + PAGE)] },
        { name: 'b', pid: 1, program: [munmap(1, H, PAGE), { op: 'pread', pid: 1, file: 'f', page: 1 } as ModelOp, close(1, 'f')] },
        { name: 'c', pid: 1, program: [maps(1), mmapFile(1, H + 8 * PAGE, PAGE, 'f', 0, RO, { shared: true, fixed: false })] },
      ],
    };
    for (const gen of ['v6.6', 'v6.15']) {
      const v = generationVariant(gen);
      const statuses = new Map<string, number>();
      for (let s = 0; s < 100; s++) {
        const rep = runScenario({ variant: v, scenario: spec, scheduler: new RandomScheduler(s) });
        const key = rep.status === 'pass' ? 'pass' : `${rep.status}: ${rep.violation?.message ?? rep.error}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
      }
      expect([...statuses.keys()], gen).toEqual(['pass']);
    }
  });

  /** The planted walker: VMAs collected under mmap_read_lock, formatted after dropping it. */
  function* sim_read_maps_unlocked(pid: number): Task<MapsLine[] | number> {
    const mm: mm_struct = k.procs.get(pid)!.mm!;
    yield* k.fn.mmap_read_lock(mm);
    const vmas: vm_area_struct[] = [];
    for (let addr = 0; ;) {
      const vma = yield* k.fn.find_vma(mm, addr);
      if (!vma) break;
      vmas.push(vma);
      addr = vma.vm_end;
    }
    k.fn.mmap_read_unlock(mm);
    yield 'planted: m_show after m_stop';
    return vmas.map((v) => k.fn.show_map_vma(v));
  }

  const planted = (overrides: SysTest['overrides']): SysTest => ({
    gen: 'v6.6', files: FILES, overrides,
    processes: [{ pid: 1, setup: [mmapFile(1, H, PAGE, 'f', 0, RO, SHARED)] }],
    threads: [
      { name: 'walker', pid: 1, program: [maps(1)] },
      { name: 'B', pid: 1, program: [munmap(1, H, PAGE), close(1, 'f')] },
    ],
    script: [
      { task: 'walker', until: 'planted: m_show after m_stop' },
      { task: 'B', until: 'exit' },
      { task: 'rcu_gp_kthread', until: 'rcu_do_batch' },
      { task: 'rcu_gp_kthread', until: /./ },
    ],
  });

  it('planted: a maps walker that reads vma->vm_file after dropping mmap_lock — KASAN use-after-free once munmap and close dropped the last references', () => {
    const r = sysRun(planted({ sim_read_maps: sim_read_maps_unlocked }));
    expect(r.outcome.status, why(r.outcome)).toBe('violation');
    expect(r.outcome.violation!.property).toBe('kasan');
    expect(r.outcome.violation!.message).toMatch(/use-after-free in show_map_vma \(vma->vm_file\).*filp object freed at file_free_rcu/);
  });

  it('the same schedule passes when files are never freed (the stand-in before), and with the kernel\'s walker', () => {
    const never = sysRun(planted({ sim_read_maps: sim_read_maps_unlocked, file_free: () => {} }));
    expect(never.outcome.status, why(never.outcome)).toBe('ok');
    expect(mapsText(never.of('walker')[0])).toEqual(['10000000-10001000 r--s 0 f']);
    const kernel = sysRun({ ...planted(undefined), script: [{ task: 'walker', until: 'show_map_vma' }, { task: 'B', until: 'exit' }] });
    expect(kernel.outcome.status, why(kernel.outcome)).toBe('ok');
    expect(sim_kasan_meta(kernel.kernel.files.get('f')!)!.state).toBe(KASAN_FREED);
  });
});
