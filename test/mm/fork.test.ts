/**
 * kernel/fork.c: sim_fork → copy_mm → dup_mm → dup_mmap (parent VMAs write-locked, anon_vma_fork,
 * copy_page_range with COW).
 */
import { describe, expect, it } from 'vitest';
import { GENERATIONS } from '../../impl/sim/config.js';
import { PAGE, fork, load, maps, mapsText, mmapAnon, mmapFile, store, sysDfs, sysRun, why } from './syscalls_harness.js';
import { PMD_SIZE, PTRS_PER_PTE } from '../../impl/include/linux/mm_flags.js';
import type { mm_struct, pte_t } from '../../impl/include/linux/mm_types.js';
import { sim_rmap_complete } from '../../impl/mm/rmap.js';
import type { Task } from '../../impl/rt/task.js';
import type { Kernel } from '../../impl/sim/kernel.js';

const H = 0x10000000;

function pteAt(mm: mm_struct, a: number): pte_t | null {
  const t = mm.pgd.get(Math.floor(a / PMD_SIZE))?.table;
  return t ? t.entries[Math.floor(a / PAGE) % PTRS_PER_PTE]! : null;
}

describe('dup_mmap', () => {
  for (const g of GENERATIONS) {
    it(`${g.name}: the child gets the VMAs and COW copies; later stores stay private to each side`, () => {
      //   parent |--anon--|--file f--|   fork   child: the same picture, pages shared COW
      const r = sysRun({
        gen: g.name,
        files: [{ name: 'f', pages: [40] }],
        threads: [{
          name: 'P', pid: 1,
          program: [mmapAnon(1, H, PAGE), mmapFile(1, H + PAGE, PAGE, 'f', 0, { read: true, write: true, exec: false }, { fixed: true, shared: true }),
            store(1, H, 1), fork(1), store(1, H, 2), load(1, H), maps(1), maps(1, 2)],
        }],
        tasks: [],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      const res = r.of('P');
      expect(res[3]).toEqual({ kind: 'pid', pid: 2 });
      expect(res[5]).toEqual({ kind: 'value', value: 2 });
      expect(mapsText(res[7])).toEqual(mapsText(res[6]));
      const child = r.kernel.procs.get(2)!.mm!;
      const p = pteAt(child, H)!;
      // The child still maps the pre-fork page (value 1), read-only (COW).
      expect(p.kind).toBe('present');
      if (p.kind === 'present') {
        expect(p.write).toBe(false);
        expect(p.folio.data).toBe(1);
      }
      // A shared file mapping is not copied (vma_needs_copy): the child refaults it.
      expect(pteAt(child, H + PAGE)?.kind ?? 'none').toBe('none');
      expect(sim_rmap_complete(child)).toBeNull();
      expect(sim_rmap_complete(r.kernel.procs.get(1)!.mm!)).toBeNull();
    });
  }

  for (const gen of ['v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: fork against a fault on the parent VMA — both rmaps stay complete (I10/I17, every schedule)`, () => {
      //   parent |--anon, never faulted--|   A: store (fault, anon_vma_prepare)   B: fork
      const res = sysDfs(
        {
          gen,
          processes: [{ pid: 1, setup: [mmapAnon(1, H, 2 * PAGE)] }],
          threads: [
            { name: 'A', pid: 1, program: [store(1, H, 5)] },
            { name: 'B', pid: 1, program: [fork(1)] },
          ],
        },
        2,
        (o, kernel) => {
          if (o.status !== 'ok') return;
          for (const p of kernel.procs.values()) if (p.mm) expect(sim_rmap_complete(p.mm)).toBeNull();
        },
        1500,
      );
      expect(res.bad.map(why)).toEqual([]);
    });
  }

  it('v6.6: the parent VMA is write-locked while it is copied (a VMA-lock fault falls back and waits)', () => {
    // B runs dup_mmap until copy_page_range; A's fault then cannot read-lock the VMA.
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: [mmapAnon(1, H, 2 * PAGE), store(1, H + PAGE, 1)] }],
      threads: [{ name: 'B', pid: 1, program: [fork(1)] }, { name: 'A', pid: 1, program: [store(1, H, 5)] }],
      script: [{ task: 'B', until: 'copy_pte_range' }, { task: 'A', until: /mmap_read_lock|lock_mm_and_find_vma|down_read/ }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.kernel.stats.vma_lock.VMA_LOCK_ABORT).toBeGreaterThan(0);
  });

  it('anon_vma_fork failing under fault injection unwinds: fork returns -ENOMEM and the half-built child is freed', () => {
    const res = sysDfs(
      {
        gen: 'v6.6',
        processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE), store(1, H, 1), mmapAnon(1, H + 4 * PAGE, PAGE), store(1, H + 4 * PAGE, 2)] }],
        threads: [{ name: 'P', pid: 1, program: [fork(1), load(1, H)] }],
        setup: function* (kern: Kernel): Task<void> {
          (kern as { faultInjection?: boolean }).faultInjection = true;
          yield 'test:setup';
        },
      },
      0,
      (o, _kernel, history) => {
        if (o.status !== 'ok') return;
        const f = history.find((h) => h.op.op === 'fork')!.result!;
        expect(['pid', 'errno']).toContain(f.kind);
        expect(history.find((h) => h.op.op === 'load')!.result).toEqual({ kind: 'value', value: 1 });
      },
      400,
    );
    expect(res.bad.map(why)).toEqual([]);
  });

});
