/**
 * dup_mmap's child tree (kernel/fork.c), per generation:
 *
 * - ≤6.7: built VMA by VMA — a fork that fails half-way leaves a child tree with exactly the VMAs
 *   copied so far.
 * - 6.8+ (v6.15, d24062914837 "fork: use __mt_dup() to duplicate maple tree in dup_mmap()"): the
 *   child's tree starts as a copy of the parent's — its slots the parent's own VMAs — and each
 *   slot is replaced by the child's copy in turn; on failure the failing VMA's range becomes
 *   XA_ZERO_ENTRY and the parent's VMAs after it stay in the child's tree. exit_mmap's walks stop
 *   at the marker (xa_is_zero).
 *
 *   P1: A |--anon--|   B |--anon--|   C |--anon--|      fork fails at B (anon_vma_fork: -ENOMEM)
 *
 * The planted bug: a teardown whose walk skips the marker instead of stopping at it (as if
 * mas_find did not return reserved entries) — it tears down the parent's VMA C. Visible only with
 * __mt_dup: on v6.6 the same teardown finds nothing after A'.
 */
import { describe, expect, it } from 'vitest';
import { k } from '../../impl/sim/kernel.js';
import type { Task } from '../../impl/rt/task.js';
import { defineVariant, type Variant } from '../../impl/sim/variant.js';
import { baseTable } from '../../impl/sim/table.js';
import { ENOMEM } from '../../impl/include/linux/errno.js';
import { TASK_SIZE } from '../../impl/include/linux/mm_flags.js';
import { XA_ZERO_ENTRY, type mm_struct, type vm_area_struct } from '../../impl/include/linux/mm_types.js';
import { FIRST_USER_ADDRESS, USER_PGTABLES_CEILING } from '../../impl/mm/memory_unmap.js';
import { sim_mt_entries, sim_vmas } from '../../impl/mm/maple_tree.js';
import { fork, load, mmapAnon, PAGE, RW, store, sysRun, why } from './syscalls_harness.js';

const A = 0x10000000;
const B = A + 4 * PAGE;
const C = A + 8 * PAGE;
const setup = [
  mmapAnon(1, A, PAGE, RW, { fixed: true }), mmapAnon(1, B, PAGE, RW, { fixed: true }), mmapAnon(1, C, PAGE, RW, { fixed: true }),
  store(1, A, 1), store(1, B, 2), store(1, C, 3),
];

/** anon_vma_fork fails for the parent's VMA at B (its first allocation failing). */
function failingAtB(gen: string, extra: Partial<Parameters<typeof defineVariant>[0]['overrides']> = {}): Variant {
  const base = baseTable();
  return defineVariant({
    name: `${gen}-fork-fails-at-B`, base: gen, description: 'anon_vma_fork fails for the VMA at B',
    overrides: {
      anon_vma_fork: function* (vma: vm_area_struct, pvma: vm_area_struct): Task<number> {
        if (pvma.vm_start === B) return -ENOMEM;
        return yield* base.anon_vma_fork(vma, pvma);
      },
      ...extra,
    },
  });
}

/** The child's tree when its teardown starts: [start, name] per entry. */
function childTreeAtExit(gen: string): { tree: string[]; r: ReturnType<typeof sysRun> } {
  const base = baseTable();
  let tree: string[] = [];
  const v = failingAtB(gen, {
    exit_mmap: function* (mm: mm_struct): Task<void> {
      if (mm.pid !== 1) {
        tree = sim_mt_entries(mm).map((e) => `${(e.index - A) / PAGE}:${e.vma === XA_ZERO_ENTRY ? 'ZERO' : e.vma.vm_mm === mm ? 'child' : 'parent'}`);
      }
      yield* base.exit_mmap(mm);
    },
  });
  const r = sysRun({
    gen, overrides: v.overrides, processes: [{ pid: 1, setup }],
    threads: [{ name: 'T', pid: 1, program: [fork(1), load(1, A), load(1, B), load(1, C)] }],
  });
  return { tree, r };
}

describe('dup_mmap: the child tree of a fork that fails half-way', () => {
  it('v6.6: built VMA by VMA — the child has A\' only', () => {
    const { tree, r } = childTreeAtExit('v6.6');
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('T')[0]).toEqual({ kind: 'errno', errno: -ENOMEM });
    expect(tree).toEqual(['0:child']);
  });

  it('v6.15: __mt_dup — A\', then XA_ZERO_ENTRY over B, then the parent\'s own C; teardown stops at the marker', () => {
    const { tree, r } = childTreeAtExit('v6.15');
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('T')).toEqual([{ kind: 'errno', errno: -ENOMEM }, { kind: 'value', value: 1 }, { kind: 'value', value: 2 }, { kind: 'value', value: 3 }]);
    expect(tree).toEqual(['0:child', '4:ZERO', '8:parent']);
    expect(sim_vmas(r.kernel.procs.get(1)!.mm!).map((v) => v.vm_start)).toEqual([A, B, C]);
  });

  /** exit_mmap whose walk skips the marker instead of stopping at it. */
  function* exit_mmap_skipping_marker(mm: mm_struct): Task<void> {
    yield* k.fn.mmap_read_lock(mm);
    const vmas = k.fn.sim_vmas(mm).filter((v) => !k.fn.xa_is_zero(v));
    if (vmas.length === 0) {
      k.fn.mmap_read_unlock(mm);
      yield* k.fn.mmap_write_lock(mm);
    } else {
      const tlb = k.fn.tlb_gather_mmu_fullmm(mm);
      yield* k.fn.unmap_vmas(tlb, vmas, 0, Number.MAX_SAFE_INTEGER, false);
      k.fn.mmap_read_unlock(mm);
      yield* k.fn.mmap_write_lock(mm);
      mm.mm_mt.in_rcu = false;
      yield* k.fn.free_pgtables(tlb, vmas, FIRST_USER_ADDRESS, USER_PGTABLES_CEILING, true);
      yield* k.fn.tlb_finish_mmu(tlb);
      for (const vma of vmas) {
        yield* k.fn.vma_mark_detached(vma);
        yield* k.fn.remove_vma(vma);
      }
      mm.map_count = 0;
    }
    yield* k.fn.vma_iter_clear(mm, 0, TASK_SIZE);
    mm.dead = true;
    k.fn.mmap_write_unlock(mm);
  }

  function planted(gen: string) {
    return sysRun({
      gen, overrides: failingAtB(gen, { exit_mmap: exit_mmap_skipping_marker }).overrides, processes: [{ pid: 1, setup }],
      threads: [{ name: 'T', pid: 1, program: [fork(1), load(1, C)] }],
    });
  }

  it('v6.15 with a teardown that skips the marker: it reaches the parent\'s VMA C', () => {
    const r = planted('v6.15');
    expect(r.outcome.status).toBe('violation');
    // free_pgtables write-locks C in the child's teardown: the parent's mmap_lock is not held.
    expect(r.outcome.violation!.property).toBe('lockdep');
    expect(r.outcome.violation!.message).toMatch(/mmap_assert_write_locked\(mm\(1\)\)/);
  });

  it('v6.6 with the same teardown: nothing of the parent\'s is in the child\'s tree — it passes', () => {
    const r = planted('v6.6');
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('T')).toEqual([{ kind: 'errno', errno: -ENOMEM }, { kind: 'value', value: 3 }]);
  });
});
