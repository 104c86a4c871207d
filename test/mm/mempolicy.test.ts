/**
 * mm/mempolicy.c: mbind replaces (and splits for) the policy, get_mempolicy(MPOL_F_ADDR) reads
 * it; a fault's allocation under the VMA lock never touches a policy mbind freed — unless do_mbind
 * skips vma_start_write (B14, CVE-2023-4611, fixed by 6c21e066f925): then KASAN reports the UAF.
 *
 *   0x10000000 |--anon rw, 4 pages (page 0 written: the VMA has an anon_vma)--|
 */
import { describe, expect, it } from 'vitest';
import { sysRun, sysDfs, why, mmapAnon, load, store, RW } from './syscalls_harness.js';
import type { ModelOp } from '../../model/ops.js';
import { k, current_mm } from '../../impl/sim/kernel.js';
import type { Task } from '../../impl/rt/task.js';
import type { mempolicy, vm_area_struct } from '../../impl/include/linux/mm_types.js';

const PAGE = 4096;
const A = 0x10000000;
const mbind = (addr: number, len: number, policy: string): ModelOp => ({ op: 'mbind', pid: 1, addr, len, policy });
const getpol = (addr: number): ModelOp => ({ op: 'get_mempolicy', pid: 1, addr });
const setup: ModelOp[] = [mmapAnon(1, A, 4 * PAGE, RW, { fixed: true }), store(1, A, 1)];

describe('do_mbind', () => {
  it('sets the policy on a sub-range (split), reads it back, merges again; -EFAULT over a hole', () => {
    const r = sysRun({
      gen: 'v6.6', processes: [{ pid: 1, setup }],
      threads: [{ name: 't', pid: 1, program: [
        mbind(A + PAGE, PAGE, 'bind:0'), getpol(A), getpol(A + PAGE), mbind(A, 4 * PAGE, 'interleave:0,1'),
        getpol(A + 3 * PAGE), mbind(A, 8 * PAGE, 'local'), getpol(A + 8 * PAGE), mbind(A, PAGE, 'bogus'),
      ] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('t')).toEqual([
      { kind: 'ok' }, { kind: 'policy', policy: 'default' }, { kind: 'policy', policy: 'bind:0' }, { kind: 'ok' },
      { kind: 'policy', policy: 'interleave:0,1' }, { kind: 'errno', errno: -14 }, { kind: 'errno', errno: -14 }, { kind: 'errno', errno: -22 },
    ]);
    const vmas = k.fn.sim_vmas(k.procs.get(1)!.mm!);
    expect(vmas.map((v) => [v.vm_start, v.vm_end, v.vm_policy?.mode])).toEqual([[A, A + 4 * PAGE, 'interleave:0,1']]);
  });

  const race = (overrides: Parameters<typeof sysDfs>[0]['overrides']) => {
    const props = new Set<string>();
    const r = sysDfs({
      gen: 'v6.6', overrides, processes: [{ pid: 1, setup: [...setup, mbind(A, 4 * PAGE, 'bind:0')] }],
      threads: [
        { name: 'binder', pid: 1, program: [mbind(A, 4 * PAGE, 'interleave:0,1')] },
        { name: 'faulter', pid: 1, program: [store(1, A + 2 * PAGE, 5)] },
      ],
    }, 2, (o) => { if (o.violation) props.add(o.violation.property); }, 4000);
    return { r, props };
  };

  it('a fault allocating under the VMA lock never reads a freed policy (vma_start_write in do_mbind)', () => {
    const { r } = race(undefined);
    expect(r.bad.map(why)).toEqual([]);
  });

  it('without vma_start_write (B14 mutant) KASAN reports the use-after-free of the old policy', () => {
    const { props } = race({
      // 6.4.0's do_mbind: no VMA write locks; vma_replace_policy without vma_assert_write_locked
      do_mbind: function* (start: number, len: number, policy: string): Task<number> {
        const mm = current_mm()!;
        const nw = (yield* k.fn.mpol_new(policy)) as mempolicy | null;
        yield* k.fn.mmap_write_lock(mm);
        let vma: vm_area_struct | null = yield* k.fn.find_vma(mm, start);
        let prev: vm_area_struct | null = null;
        while (vma && vma.vm_start < start + len) {
          const r: { err: number; prev: vm_area_struct | null } = yield* k.fn.mbind_range(vma, prev, start, start + len, nw);
          prev = r.prev;
          vma = prev ? yield* k.fn.find_vma(mm, prev.vm_end) : null;
        }
        k.fn.mmap_write_unlock(mm);
        k.fn.mpol_put(nw);
        return 0;
      },
      vma_replace_policy: function* (vma: vm_area_struct, pol: mempolicy | null): Task<number> {
        const nw = (yield* k.fn.mpol_dup(pol)) as mempolicy | null;
        yield 'vma_replace_policy:vm_policy';
        const old = vma.vm_policy;
        vma.vm_policy = nw;
        k.fn.mpol_put(old);
        return 0;
      },
    });
    expect(props.has('kasan')).toBe(true);
  });
});

describe('vma_replace_policy', () => {
  it('asserts the VMA write lock (vma_assert_write_locked)', () => {
    const r = sysRun({
      gen: 'v6.6', processes: [{ pid: 1, setup }],
      threads: [{ name: 't', pid: 1, program: [mbind(A, 4 * PAGE, 'bind:0')] }],
      overrides: {
        // the 6.4.0 do_mbind loop without vma_start_write: the assertion fires
        vma_start_write: function* (): Task<void> { yield 'mutant: no vma_start_write'; },
      },
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation?.report.join('\n') + (r.outcome.violation?.message ?? '')).toMatch(/vma_replace_policy|write.?lock/i);
    void load;
  });
});
