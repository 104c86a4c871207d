/**
 * mm/vma.c (mm/mmap.c before 6.10) where 6.4.y and 6.6 differ — each generation's own behaviour,
 * on hand-scheduled runs:
 *
 * - __split_vma: 6.4's vma_prepare write-locks the VMA being split but not the new piece ("vp->
 *   insert is always a newly created VMA, no need for locking"): the piece is in the tree, not
 *   write-locked, while munmap still holds mmap_write_lock, and a fault can take its VMA lock
 *   there. 6.6 ("mm: always lock new vma before inserting into vma tree") locks it first.
 * - merges: 6.4 locks the VMAs inside vma_prepare (and dup_anon_vma locks dst itself); 6.6's
 *   callers lock them before anything else ("mm: move vma locking out of vma_prepare and
 *   dup_anon_vma").
 * - munmap next to a VM_GROWSDOWN VMA: 6.3.y/6.4.y keep mmap_lock for write while zapping
 *   (246c320a8cfe); 6.5+ always downgrade ("mm: Always downgrade mmap_lock if requested").
 *
 *   X          X+P        X+2P       X+3P
 *   |---------- anon rw (3 pages) ----------|      munmap(X+P, P) splits it twice
 */
import { describe, expect, it } from 'vitest';
import { k, type Kernel } from '../../impl/sim/kernel.js';
import { waitUntil, type Task } from '../../impl/rt/task.js';
import type { vm_area_struct } from '../../impl/include/linux/mm_types.js';
import { sim_vmas } from '../../impl/mm/maple_tree.js';
import { current } from '../../impl/rt/execution.js';
import { baseTable } from '../../impl/sim/table.js';
import type { vma_prepare } from '../../impl/mm/vma.js';
import { load, mmapAnon, mprotect, munmap, PAGE, RO, RW, store, sysRun, why } from './syscalls_harness.js';

const X = 0x10000000;

describe('__split_vma: the new piece', () => {
  function splitRace(gen: string) {
    const seen: { got?: boolean; whileWriteLocked?: boolean } = {};
    const r = sysRun({
      gen,
      processes: [{ pid: 1, setup: [mmapAnon(1, X, 3 * PAGE, RW, { fixed: true }), store(1, X, 1), store(1, X + 2 * PAGE, 3)] }],
      threads: [{ name: 'T', pid: 1, program: [munmap(1, X + PAGE, PAGE)] }],
      tasks: [['fault', 1, function* (kern: Kernel): Task<void> {
        const mm = kern.procs.get(1)!.mm!;
        const t = kern.exec.tasks.find((x) => x.name === 'T')!;
        // As soon as the piece below the split is in the tree while munmap holds mmap_lock for write:
        yield* waitUntil('test: the new piece is in the tree', () =>
          mm.mmap_lock.owner === t.id && sim_vmas(mm).some((v) => v.vm_start === X && v.vm_end === X + PAGE));
        const v = yield* k.fn.lock_vma_under_rcu(mm, X);
        seen.got = v !== null;
        seen.whileWriteLocked = mm.mmap_lock.owner === t.id;
        if (v) yield* k.fn.vma_end_read(v);
      }]],
      script: [{ task: 'fault', until: 'exit' }],
    });
    return { r, seen };
  }

  it('v6.4: inserted unlocked — a fault takes the VMA lock of the new piece while munmap holds mmap_write_lock', () => {
    const { r, seen } = splitRace('v6.4');
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(seen).toEqual({ got: true, whileWriteLocked: true });
    expect(r.of('T')).toEqual([{ kind: 'ok' }]);
  });

  it('v6.6: write-locked before it is inserted — the fault falls back to mmap_lock', () => {
    const { r, seen } = splitRace('v6.6');
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(seen).toEqual({ got: false, whileWriteLocked: true });
  });
});

describe('vma_merge_existing_range / vma_prepare: when the VMAs are write-locked', () => {
  //   X          X+P        X+2P
  //   |--anon rw--|--anon ro--|     mprotect(X+P, P, rw) merges the second into the first
  function mergeOrder(gen: string): string[] {
    const log: string[] = [];
    const base = baseTable();
    const r = sysRun({
      gen,
      processes: [{ pid: 1, setup: [mmapAnon(1, X, PAGE, RW, { fixed: true }), mmapAnon(1, X + PAGE, PAGE, RO, { fixed: true }), store(1, X, 1), load(1, X + PAGE)] }],
      overrides: {
        vma_start_write: function* (vma: vm_area_struct): Task<void> {
          const was = k.fn.__is_vma_write_locked(vma);
          yield* base.vma_start_write(vma);
          if (!was && current().name === 'T') log.push(`lock ${vma.vm_start === X ? 'prev' : 'vma'}`);
        },
        vma_prepare: function* (vp: vma_prepare): Task<void> {
          if (current().name === 'T') log.push('vma_prepare');
          yield* base.vma_prepare(vp);
        },
      },
      threads: [{ name: 'T', pid: 1, program: [mprotect(1, X + PAGE, PAGE, RW)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('T')).toEqual([{ kind: 'ok' }]);
    expect(sim_vmas(r.kernel.procs.get(1)!.mm!).map((v) => [v.vm_start, v.vm_end])).toEqual([[X, X + 2 * PAGE]]);
    return log;
  }

  it('v6.4: vma_prepare write-locks the merged VMAs', () => {
    expect(mergeOrder('v6.4')).toEqual(['vma_prepare', 'lock prev', 'lock vma']);
  });

  it('v6.6: the caller write-locks them before vma_prepare', () => {
    expect(mergeOrder('v6.6')).toEqual(['lock vma', 'lock prev', 'vma_prepare']);
  });
});

describe('do_vmi_align_munmap: downgrade next to a stack', () => {
  //   X          X+P                     X+2P
  //   |--anon rw--|--stack (GROWSDOWN)----|      munmap(X, P)
  function lockModeWhileZapping(gen: string): string {
    let mode = '?';
    const r = sysRun({
      gen,
      processes: [{ pid: 1, setup: [mmapAnon(1, X + PAGE, PAGE, RW, { fixed: true, growsdown: true }), mmapAnon(1, X, PAGE, RW, { fixed: true }), store(1, X, 1)] }],
      threads: [{ name: 'T', pid: 1, program: [munmap(1, X, PAGE)] }],
      tasks: [['probe', 1, function* (kern: Kernel): Task<void> {
        const sem = kern.procs.get(1)!.mm!.mmap_lock;
        const t = kern.exec.tasks.find((x) => x.name === 'T')!;
        yield* waitUntil('test: munmap zaps', () => t.label.startsWith('zap_pmd_range'));
        mode = sem.owner === t.id ? 'write' : sem.readerIds.includes(t.id) ? 'read' : 'none';
      }]],
      script: [{ task: 'probe', until: 'exit' }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('T')).toEqual([{ kind: 'ok' }]);
    return mode;
  }

  it('v6.3 and v6.4 (6.x.y with the StackRot fix backported): zap under the write lock', () => {
    expect(lockModeWhileZapping('v6.3')).toBe('write');
    expect(lockModeWhileZapping('v6.4')).toBe('write');
  });

  it('v6.6+: downgraded to the read lock', () => {
    expect(lockModeWhileZapping('v6.6')).toBe('read');
    expect(lockModeWhileZapping('v6.15')).toBe('read');
  });
});
