/**
 * mmap_region over an existing mapping (MAP_FIXED), per generation:
 *
 * - ≤6.11 (v6.3–v6.7): do_vmi_munmap first — the range is cleared from the tree — then the new
 *   VMA is stored: for a few steps a lookup finds nothing there.
 * - 6.12+ (v6.15, __mmap_region, f8d112a4e657 "mm/mmap: avoid zeroing vma tree in
 *   mmap_region()"): the old VMA is gathered (write-locked, detached, PTEs cleared, closed) but
 *   stays in the tree until the new VMA overwrites its range; it is freed after. A lookup always
 *   finds one of the two.
 *
 *   X          X+P        X+2P
 *   |-- anon A (value 5) --|        mmap(X, 2P, MAP_FIXED) replaces it
 */
import { describe, expect, it } from 'vitest';
import type { ExecutionHooks } from '../../impl/rt/execution.js';
import type { Kernel } from '../../impl/sim/kernel.js';
import { sim_vmas } from '../../impl/mm/maple_tree.js';
import { KASAN_FREED, sim_kasan_meta } from '../../impl/sync/kasan.js';
import type { vm_area_struct } from '../../impl/include/linux/mm_types.js';
import { load, mmapAnon, PAGE, RW, store, sysRun, why } from './syscalls_harness.js';

const X = 0x10000000;

function replace(gen: string) {
  const seen = { emptySteps: 0, oldDetachedInTree: 0, steps: 0 };
  let old: vm_area_struct | null = null;
  let kernel: Kernel | null = null;
  const hooks: ExecutionHooks = {
    afterStep: (exec) => {
      kernel ??= exec.world as Kernel;
      const mm = kernel.procs.get(1)?.mm;
      const t = exec.tasks.find((x) => x.name === 'T');
      if (!mm || !t || t.done || t.steps === 0) return null;
      const vmas = sim_vmas(mm);
      old ??= vmas.find((v) => v.vm_start === X) ?? null;
      seen.steps++;
      const at = vmas.find((v) => v.vm_start <= X && X < v.vm_end);
      if (!at) seen.emptySteps++;
      else if (at === old && at.detached) seen.oldDetachedInTree++;
      return null;
    },
  };
  const r = sysRun({
    gen,
    processes: [{ pid: 1, setup: [mmapAnon(1, X, 2 * PAGE, RW, { fixed: true }), store(1, X, 5)] }],
    threads: [{ name: 'T', pid: 1, program: [mmapAnon(1, X, 2 * PAGE, RW, { fixed: true }), load(1, X)] }],
    hooks,
  });
  return { r, seen, old: old as vm_area_struct | null };
}

describe('mmap_region: MAP_FIXED over an existing mapping', () => {
  for (const gen of ['v6.6', 'v6.7']) {
    it(`${gen}: unmaps first — the range is empty in the tree for a while`, () => {
      const { r, seen } = replace(gen);
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.of('T')).toEqual([{ kind: 'addr', addr: X }, { kind: 'value', value: 0 }]);
      expect(seen.emptySteps).toBeGreaterThan(0);
    });
  }

  it('v6.15: the old VMA stays in the tree, detached, until the new one overwrites it; never empty', () => {
    const { r, seen, old } = replace('v6.15');
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('T')).toEqual([{ kind: 'addr', addr: X }, { kind: 'value', value: 0 }]);
    expect(seen.emptySteps).toBe(0);
    expect(seen.oldDetachedInTree).toBeGreaterThan(0);
    // Freed after (typesafe cache: returned to it), never left in the tree.
    expect(sim_kasan_meta(old!)?.state).toBe(KASAN_FREED);
    expect(sim_vmas(r.kernel.procs.get(1)!.mm!).includes(old!)).toBe(false);
  });
});
