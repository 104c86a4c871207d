/**
 * mm/mmu_notifier.c + mm/vma.c: mmu_notifier_register → mm_take_all_locks write-locks every VMA
 * (eeff9a5d47f8) and takes every i_mmap / anon_vma lock; mm_drop_all_locks does not end the VMA
 * write locks.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../impl/rt/task.js';
import { k, type Kernel } from '../../impl/sim/kernel.js';
import { baseTable } from '../../impl/sim/table.js';
import type { mm_struct } from '../../impl/include/linux/mm_types.js';
import { PMD_SIZE, PTRS_PER_PTE } from '../../impl/include/linux/mm_flags.js';
import { SCAN_SUCCEED } from '../../impl/mm/khugepaged.js';
import { PAGE, RW, load, mmapAnon, mmapFile, store, sysRun, why } from './syscalls_harness.js';

const H = 0x10000000;
const base = baseTable();

const present = (mm: mm_struct, addr: number): boolean => {
  const t = mm.pgd.get(Math.floor(addr / PMD_SIZE))?.table;
  return !!t && t.entries[Math.floor(addr / PAGE) % PTRS_PER_PTE]!.kind === 'present';
};

//   |--anon rw (anon_vma; p1 not faulted)--|   |--file f rw (shared)--|   |--anon rw (no anon_vma yet)--|
//   T: mmap_write_lock; mm_take_all_locks; <window>; mm_drop_all_locks; <window2>; mmap_write_unlock
//   A: faults on every VMA while T is in its windows
function scenario(gen: string, overrides?: Record<string, unknown>) {
  const seen: string[] = [];
  return {
    seen,
    test: {
      gen,
      overrides: overrides as never,
      files: [{ name: 'f', pages: [1, 2] }],
      processes: [{ pid: 1, setup: [
        mmapAnon(1, H, 2 * PAGE), store(1, H, 1),
        mmapFile(1, H + 4 * PAGE, PAGE, 'f', 0, RW, { fixed: true, shared: true }),
        mmapAnon(1, H + 8 * PAGE, PAGE, RW, { fixed: true }),
      ] }],
      threads: [{ name: 'A', pid: 1, program: [store(1, H + PAGE, 2), store(1, H + 8 * PAGE, 7), load(1, H + 4 * PAGE)] }],
      setup: function* (kernel: Kernel): Task<void> {
        const tid = kernel.exec.spawn('T', function* (): Task<void> {
          const mm = kernel.procs.get(1)!.mm!;
          yield* k.fn.mmap_write_lock(mm);
          expect(yield* k.fn.mm_take_all_locks(mm)).toBe(0);
          const before = present(mm, H + PAGE) || present(mm, H + 8 * PAGE) || present(mm, H + 4 * PAGE);
          for (let i = 0; i < 6; i++) yield 'sim:all_locks_window';
          k.fn.mm_drop_all_locks(mm);
          for (let i = 0; i < 6; i++) yield 'sim:after_drop_window';
          const after = present(mm, H + PAGE) || present(mm, H + 8 * PAGE) || present(mm, H + 4 * PAGE);
          if (!before && after) seen.push('a fault installed a PTE while the mmap_lock was write-held');
          k.fn.mmap_write_unlock(mm);
        });
        kernel.threads.set(tid, { tid, pid: 1, comm: 'T', exiting: false });
      },
    },
  };
}

describe('mm_take_all_locks / mm_drop_all_locks', () => {
  for (const gen of ['v6.3', 'v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: faults on every VMA wait for the registration (the fault thread runs first in the window)`, () => {
      const s = scenario(gen);
      const r = sysRun({ ...s.test, script: [{ task: 'A', until: 'user:store' }, { task: 'T', until: 'sim:all_locks_window' }, { task: 'A', until: 'sim:never' }] } as never);
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(s.seen).toEqual([]);
      expect(r.of('A')).toEqual([{ kind: 'ok' }, { kind: 'ok' }, { kind: 'value', value: 1 }]);
    });
  }

  for (const gen of ['v6.4', 'v6.15']) {
    it(`${gen}: without the vma_start_write loop (pre-eeff9a5d47f8) a fault under the VMA lock slips in`, () => {
      const broken = {
        *mm_take_all_locks(mm: mm_struct): Task<number> {
          // the same locks, but the VMAs stay unlocked: simulate by taking the rmap locks only
          const saved = k.fn.vma_start_write;
          (k.fn as { vma_start_write: typeof saved }).vma_start_write = function* () {};
          try {
            return yield* base.mm_take_all_locks(mm);
          } finally {
            (k.fn as { vma_start_write: typeof saved }).vma_start_write = saved;
          }
        },
      };
      const s = scenario(gen, broken);
      const r = sysRun({ ...s.test, script: [{ task: 'A', until: 'user:store' }, { task: 'T', until: 'sim:all_locks_window' }, { task: 'A', until: 'sim:never' }] } as never);
      // mm_drop_all_locks finds the page tables changed under all the locks (property mm-all-locks).
      expect(r.outcome.status, why(r.outcome)).toBe('violation');
      expect(r.outcome.violation!.property).toBe('mm-all-locks');
    });
  }

  it('v6.15: mm_drop_all_locks leaves the VMAs write-locked until mmap_write_unlock (no vma_end_write_all)', () => {
    const out: boolean[] = [];
    const r = sysRun({
      gen: 'v6.15',
      processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE), store(1, H, 1)] }],
      setup: function* (kernel: Kernel): Task<void> {
        const mm = kernel.procs.get(1)!.mm!;
        yield* k.fn.mmap_write_lock(mm);
        expect(yield* k.fn.mm_take_all_locks(mm)).toBe(0);
        const vma = k.fn.sim_vmas(mm)[0]!;
        k.fn.mm_drop_all_locks(mm);
        out.push(k.fn.sim_vma_lock_state(vma).writeLocked, vma.anon_vma!.root.rwsem.owner === -1);
        k.fn.mmap_write_unlock(mm);
        out.push(k.fn.sim_vma_lock_state(vma).writeLocked);
      },
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(out).toEqual([true, true, false]);
  });

  it('v6.6: mmu_notifier_register adds the subscription', () => {
    const r = sysRun({
      gen: 'v6.6',
      files: [{ name: 'f', pages: [1] }],
      processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE), store(1, H, 1), mmapFile(1, H + 4 * PAGE, PAGE, 'f', 0, RW, { fixed: true })] }],
      setup: function* (kernel: Kernel): Task<void> {
        const mm = kernel.procs.get(1)!.mm!;
        expect(yield* k.fn.mmu_notifier_register({ name: 'kvm' }, mm)).toBe(0);
        expect(k.fn.sim_mmu_notifier_subscriptions(mm).map((s) => s.name)).toEqual(['kvm']);
      },
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
  });

  it('mm_drop_all_locks without mm_take_all_locks is a BUG', () => {
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE)] }],
      setup: function* (kernel: Kernel): Task<void> {
        const mm = kernel.procs.get(1)!.mm!;
        yield* k.fn.mmap_write_lock(mm);
        k.fn.mm_drop_all_locks(mm);
      },
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.message).toMatch(/mm_all_locks_mutex/);
  });
});

// ---------------------------------------------------------------------------------------------
// KVM_CREATE_VM → mmu_notifier_register, racing a fault (the reachable path: impl/drivers/kvm.ts)

//   |--anon rw (anon_vma, p0 = 1; p1 never touched)--|          /dev/kvm0
//   A: store p1 (a fault under the VMA lock)      R: ioctl(/dev/kvm0, KVM_CREATE_VM)
describe('KVM_CREATE_VM registers an MMU notifier (mm_take_all_locks racing a fault)', () => {
  const kvmTest = (gen: string, overrides?: Record<string, unknown>) => ({
    gen,
    overrides: overrides as never,
    files: [{ name: '/dev/kvm0', pages: [9] }],
    processes: [{ pid: 1, setup: [mmapAnon(1, H, 2 * PAGE), store(1, H, 1)] }],
    threads: [
      { name: 'A', pid: 1, program: [store(1, H + PAGE, 2)] },
      { name: 'R', pid: 1, program: [{ op: 'dev_ioctl', pid: 1, file: '/dev/kvm0', cmd: 'KVM_CREATE_VM' } as const] },
    ],
    // A is about to set its PTE (VMA read lock and PTL held); R registers meanwhile.
    script: [{ task: 'A', until: 'do_anonymous_page:set_pte_at' }, { task: 'R', until: '__mmu_notifier_register:hlist_add_head_rcu' }, { task: 'A', until: 'exit' }],
  });

  for (const gen of ['v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: the registration waits for the fault (vma_start_write): no page table changes under all the locks`, () => {
      const r = sysRun(kvmTest(gen) as never);
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.of('A')).toEqual([{ kind: 'ok' }]);
      expect(r.of('R')).toEqual([{ kind: 'ok' }]);
      expect(k.fn.sim_mmu_notifier_subscriptions(r.kernel.procs.get(1)!.mm!).map((s) => s.name)).toEqual([expect.stringMatching(/^kvm#\d+->mmu_notifier$/)]);
    });
  }

  // A planted bug: mm_take_all_locks without its vma_start_write loop (before eeff9a5d47f8) does
  // not wait for the fault under the VMA lock, whose PTE lands while every lock is held —
  // visible only through the registration's guarantee (property mm-all-locks).
  for (const gen of ['v6.4', 'v6.15']) {
    it(`${gen}: planted — without the VMA write locks the fault's PTE lands inside the registration (mm-all-locks)`, () => {
      const broken = {
        *mm_take_all_locks(mm: mm_struct): Task<number> {
          const saved = k.fn.vma_start_write;
          (k.fn as { vma_start_write: typeof saved }).vma_start_write = function* () {};
          try {
            return yield* base.mm_take_all_locks(mm);
          } finally {
            (k.fn as { vma_start_write: typeof saved }).vma_start_write = saved;
          }
        },
      };
      const r = sysRun(kvmTest(gen, broken) as never);
      expect(r.outcome.status, why(r.outcome)).toBe('violation');
      expect(r.outcome.violation!.property).toBe('mm-all-locks');
    });
  }

  it('v6.6: ioctl on a device without it is -ENOTTY, on a missing file -EBADF', () => {
    const r = sysRun({
      gen: 'v6.6',
      files: [{ name: '/dev/pfnmap0', pages: [1] }],
      threads: [{ name: 'A', pid: 1, program: [
        { op: 'dev_ioctl', pid: 1, file: '/dev/pfnmap0', cmd: 'KVM_CREATE_VM' },
        { op: 'dev_ioctl', pid: 1, file: '/dev/kvm9', cmd: 'KVM_CREATE_VM' },
      ] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')).toEqual([{ kind: 'errno', errno: -25 }, { kind: 'errno', errno: -9 }]);
  });
});

// ---------------------------------------------------------------------------------------------
// KVM_CREATE_VM inside a page-table writer that holds no mmap_lock: khugepaged's collapse_file
// unmaps the range's pages (try_to_unmap: rmap walk under i_mmap_rwsem) and retracts the table
// (6.6+: under i_mmap_rwsem read, no mmap_lock). The registration must exclude it by the i_mmap lock.

//   |------ big.bin (512 pages) r--p over one whole PMD [HP, HP + 2M); p0, p1 read ------|   /dev/kvm0
//   khugepaged: collapse_file (mmap_lock dropped)      R: ioctl(/dev/kvm0, KVM_CREATE_VM) opens its window first
describe('KVM_CREATE_VM while khugepaged unmaps and retracts a file range (a writer without mmap_lock)', () => {
  const HP = 0x40000000;
  const kvmVsCollapse = (gen: string, out: Map<string, unknown>, overrides?: Record<string, unknown>) => ({
    gen,
    overrides: overrides as never,
    files: [{ name: 'big.bin', pages: Array.from({ length: 512 }, (_, i) => i + 1) }, { name: '/dev/kvm0', pages: [9] }],
    processes: [{ pid: 1, setup: [mmapFile(1, HP, PMD_SIZE, 'big.bin', 0, { read: true, write: false, exec: false }, { fixed: true }), load(1, HP), load(1, HP + PAGE)] }],
    threads: [{ name: 'R', pid: 1, program: [{ op: 'dev_ioctl', pid: 1, file: '/dev/kvm0', cmd: 'KVM_CREATE_VM' } as const, load(1, HP + PAGE)] }],
    setup: function* (kernel: Kernel): Task<void> {
      const mm = kernel.procs.get(1)!.mm!;
      const tid = kernel.exec.spawn('khugepaged', function* (): Task<void> {
        out.set('khugepaged', yield* k.fn.khugepaged_scan_pmd(mm, HP));
      });
      kernel.threads.set(tid, { tid, pid: 0, comm: 'khugepaged', exiting: false });
    },
    // khugepaged past its mmap_read_lock; R takes every lock; khugepaged tries to change the tables.
    script: [
      { task: 'khugepaged', until: 'hpage_collapse_scan_file:xas_for_each' },
      { task: 'R', until: '__mmu_notifier_register:hlist_add_head_rcu' },
      { task: 'khugepaged', until: 'exit' },
    ],
  });

  for (const gen of ['v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: the writer waits for the registration (i_mmap_rwsem), then collapses; no page table changes under all the locks`, () => {
      const out = new Map<string, unknown>();
      const r = sysRun(kvmVsCollapse(gen, out) as never);
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      // (the same script puts the writer's changes inside the window when nothing excludes it: below)
      expect(r.of('R')).toEqual([{ kind: 'ok' }, { kind: 'value', value: 2 }]);
      expect(out.get('khugepaged')).toBe(SCAN_SUCCEED);
      expect(k.fn.sim_mmu_notifier_subscriptions(r.kernel.procs.get(1)!.mm!)).toHaveLength(1);
    });
  }

  // A planted bug: mm_take_all_locks forgets the file mappings' i_mmap_rwsem (vm_lock_mapping does
  // nothing). The notifier is registered inside khugepaged's unmap/retract: the PTEs (and, 6.6+,
  // the table) change while every other lock is held — visible only through the registration's
  // guarantee (property mm-all-locks); no lock is misused and no memory is freed early.
  for (const gen of ['v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: planted — mm_take_all_locks without the i_mmap locks: the notifier is registered inside the writer (mm-all-locks)`, () => {
      const out = new Map<string, unknown>();
      const r = sysRun(kvmVsCollapse(gen, out, { vm_lock_mapping: function* () {} }) as never);
      expect(r.outcome.status, why(r.outcome)).toBe('violation');
      expect(r.outcome.violation!.property).toBe('mm-all-locks');
    });
  }
});
