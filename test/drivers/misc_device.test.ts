/**
 * drivers/misc_device: device-driver VMAs — a VM_PFNMAP device prefaulted by remap_pfn_range, a
 * ->fault driver without ->map_pages (retried under mmap_lock from the VMA-lock path), a ->fault
 * that relies on mmap_lock, and the fault_safe_under_vma_lock opt-in (design proposal).
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../impl/rt/task.js';
import { k, type Kernel } from '../../impl/sim/kernel.js';
import type { mm_struct, vm_fault } from '../../impl/include/linux/mm_types.js';
import { PMD_SIZE, PTRS_PER_PTE, VM_IO, VM_PFNMAP } from '../../impl/include/linux/mm_flags.js';
import type { ModelOp } from '../../model/ops.js';
import { PAGE, RW, load, munmap, store, sysDfs, sysRun, why } from '../mm/syscalls_harness.js';

const H = 0x10000000;

/** The broken idea: every ->fault may run under the VMA lock. */
// eslint-disable-next-line require-yield
function* vmf_can_call_fault_always(vmf: vm_fault): Task<number> {
  void vmf;
  return 0;
}

const mmapDev = (pid: number, addr: number, len: number, dev: string, shared = true): ModelOp => ({
  op: 'mmap', pid, addr, len, prot: RW, file: dev, offset: 0,
  flags: { shared, anonymous: false, fixed: true, growsdown: false },
});

function* register(_kernel: Kernel): Task<void> {
  yield* k.fn.sim_register_devices();
}

function pteAt(mm: mm_struct, addr: number) {
  const t = mm.pgd.get(Math.floor(addr / PMD_SIZE))?.table;
  return t ? t.entries[Math.floor(addr / PAGE) % PTRS_PER_PTE]! : null;
}

describe('misc_dev_mmap: a VM_PFNMAP device (remap_pfn_range, no ->fault)', () => {
  for (const gen of ['v6.3', 'v6.6', 'v6.15']) {
    it(`${gen}: ->mmap prefaults special PTEs; loads and stores reach the device; beyond it is SIGBUS`, () => {
      //   |--/dev/pfnmap p0 p1--|--(beyond the device)--|
      const r = sysRun({
        gen,
                files: [{ name: '/dev/pfnmap0', pages: [11, 12] }],
        setup: register,
        threads: [{
          name: 'A', pid: 1,
          program: [mmapDev(1, H, 3 * PAGE, '/dev/pfnmap0'), load(1, H + PAGE), store(1, H, 99), load(1, H + 2 * PAGE),
            { op: 'proc_mem_write', pid: 1, target: 1, addr: H, value: 5 }, munmap(1, H, 3 * PAGE)],
        }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.of('A')).toEqual([
        { kind: 'addr', addr: H }, { kind: 'value', value: 12 }, { kind: 'ok' }, { kind: 'signal', sig: 'SIGBUS' },
        { kind: 'errno', errno: -5 }, { kind: 'ok' },
      ]);
      const pages = k.fn.sim_misc_dev_pages(r.kernel.files.get('/dev/pfnmap0')!);
      expect(pages.map((p) => p.data)).toEqual([99, 12]);
    });
  }

  it('v6.15: right after mmap the PTEs are present and special, the VMA is VM_PFNMAP|VM_IO', () => {
    const out: unknown[] = [];
    const r = sysRun({
      gen: 'v6.15',
            files: [{ name: '/dev/pfnmap0', pages: [11, 12] }],
      setup: register,
      threads: [{ name: 'A', pid: 1, program: [mmapDev(1, H, 2 * PAGE, '/dev/pfnmap0')] }],
      hooks: {
        atEnd: () => {
          const mm = k.procs.get(1)!.mm!;
          const vma = k.fn.sim_vmas(mm)[0]!;
          out.push((vma.vm_flags & (VM_PFNMAP | VM_IO)) === (VM_PFNMAP | VM_IO));
          for (const a of [H, H + PAGE]) {
            const p = pteAt(mm, a);
            out.push(p?.kind === 'present' && p.special);
          }
          return null;
        },
      },
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(out).toEqual([true, true, true]);
  });
});

describe('a ->fault driver without ->map_pages (vmf_can_call_fault)', () => {
  for (const gen of ['v6.4', 'v6.6', 'v6.7', 'v6.15']) {
    it(`${gen}: the fault completes under mmap_lock; the VMA-lock attempt (if any) retries or aborts`, () => {
      const r = sysRun({
        gen,
                files: [{ name: '/dev/fault0', pages: [21, 22] }],
        setup: register,
        threads: [{ name: 'A', pid: 1, program: [mmapDev(1, H, 2 * PAGE, '/dev/fault0'), load(1, H + PAGE), store(1, H, 7), load(1, H)] }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.of('A').slice(1)).toEqual([{ kind: 'value', value: 22 }, { kind: 'ok' }, { kind: 'value', value: 7 }]);
      const s = r.kernel.stats;
      expect(s.vma_lock_faults).toBe(0);
      expect(s.mmap_lock_faults).toBeGreaterThan(0);
      if (gen === 'v6.4') expect(s.vma_lock.VMA_LOCK_ABORT).toBeGreaterThan(0);
      else expect(s.vma_lock.VMA_LOCK_RETRY).toBeGreaterThan(0);
    });
  }
});

describe('a driver whose ->fault relies on mmap_lock (mmap_assert_locked in ->fault)', () => {
  for (const gen of ['v6.3', 'v6.4', 'v6.6', 'v6.7', 'v6.15']) {
    it(`${gen}: the kernel never calls it under the VMA lock alone (every schedule with a concurrent fault)`, () => {
      const res = sysDfs(
        {
          gen,
                    files: [{ name: '/dev/mmaplock0', pages: [31, 32] }],
          setup: register,
          processes: [{ pid: 1, setup: [] }],
          threads: [
            { name: 'A', pid: 1, program: [mmapDev(1, H, 2 * PAGE, '/dev/mmaplock0'), load(1, H)] },
            { name: 'B', pid: 1, program: [load(1, H + PAGE)] },
          ],
        },
        1,
        () => {},
        400,
      );
      expect(res.bad.map(why)).toEqual([]);
    });
  }

  for (const gen of ['v6.7', 'v6.15']) {
    it(`${gen}: a broken vmf_can_call_fault that lets every ->fault run under the VMA lock trips the assertion`, () => {
      const r = sysRun({
        gen,
        overrides: { vmf_can_call_fault: vmf_can_call_fault_always },
        files: [{ name: '/dev/mmaplock0', pages: [31] }],
        setup: register,
        threads: [{ name: 'A', pid: 1, program: [mmapDev(1, H, PAGE, '/dev/mmaplock0'), load(1, H)] }],
      });
      expect(r.outcome.status).toBe('violation');
      expect(r.outcome.violation!.message).toMatch(/mmap_assert_locked/);
    });
  }
});

describe('fault_safe_under_vma_lock (k.cfg.driver_fault_opt_in, design proposal)', () => {
  it('v6.15 + opt-in: a driver that declares itself safe faults under the VMA lock (no retry)', () => {
    const r = sysRun({
      gen: 'v6.15',
      config: { driver_fault_opt_in: true },
      files: [{ name: '/dev/safe0', pages: [41] }],
      setup: register,
      threads: [{ name: 'A', pid: 1, program: [mmapDev(1, H, PAGE, '/dev/safe0'), load(1, H)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')[1]).toEqual({ kind: 'value', value: 41 });
    expect(r.kernel.stats.vma_lock.VMA_LOCK_RETRY).toBe(0);
    expect(r.kernel.stats.vma_lock_faults).toBeGreaterThan(0);
  });

  it('v6.15 + opt-in: a driver that declares itself safe but relies on mmap_lock trips mmap_assert_locked', () => {
    const r = sysRun({
      gen: 'v6.15',
      config: { driver_fault_opt_in: true },
      files: [{ name: '/dev/mmaplock_optin0', pages: [41] }],
      setup: register,
      threads: [{ name: 'A', pid: 1, program: [mmapDev(1, H, PAGE, '/dev/mmaplock_optin0'), load(1, H)] }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.message).toMatch(/mmap_assert_locked/);
  });

  it('v6.15 without the opt-in: the same lying driver is safe (the flag is ignored)', () => {
    const r = sysRun({
      gen: 'v6.15',
      files: [{ name: '/dev/mmaplock_optin0', pages: [41] }],
      setup: register,
      threads: [{ name: 'A', pid: 1, program: [mmapDev(1, H, PAGE, '/dev/mmaplock_optin0'), load(1, H)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
  });
});

// ---------------------------------------------------------------------------------------------
// ->open / ->close: table functions that sleep on the driver's mutex

describe('vm_operations_struct ->open / ->close (misc_vma_open / misc_vma_close)', () => {
  const devCount = (kernel: Kernel, name: string): number =>
    k.fn.sim_misc_dev_nr_vmas(kernel.files.get(name)!);

  //   |--/dev/fault0 shared, 2 pages--|      split (munmap of p1), fork, mremap, munmap, exit
  for (const gen of ['v6.3', 'v6.6', 'v6.15']) {
    it(`${gen}: split, fork, mremap and munmap keep the driver's VMA count (->open on every copy, ->close on every removal)`, () => {
      const r = sysRun({
        gen,
        files: [{ name: '/dev/fault0', pages: [11, 12, 13] }],
        processes: [{ pid: 1, setup: [mmapDev(1, H, 3 * PAGE, '/dev/fault0')] }],
        setup: register,
        threads: [{ name: 'A', pid: 1, program: [
          load(1, H), munmap(1, H + PAGE, PAGE), { op: 'fork', pid: 1 },
          { op: 'mremap', pid: 1, oldAddr: H + 2 * PAGE, oldLen: PAGE, newLen: PAGE, flags: { maymove: true, fixed: true, dontunmap: false }, newAddr: H + 16 * PAGE },
          load(1, H + 16 * PAGE),
        ] }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.of('A')[4]).toEqual({ kind: 'value', value: 13 });
      // P1: [p0] and the moved [p2]; the child: [p0] and [p2] — four VMAs of the device
      expect(devCount(r.kernel, '/dev/fault0')).toBe(4);
    });
  }

  // A planted driver bug: ->open takes mmap_lock itself. The kernel calls ->open with mmap_lock
  // held for write (split, fork, mremap): the driver's lock order inverts against the caller's —
  // visible only because ->open is a kernel function that may sleep and take locks.
  it('v6.6: planted — a driver ->open that takes mmap_read_lock under the caller\'s mmap_write_lock (lockdep / deadlock)', () => {
    const r = sysRun({
      gen: 'v6.6',
      files: [{ name: '/dev/fault0', pages: [11, 12] }],
      processes: [{ pid: 1, setup: [mmapDev(1, H, 2 * PAGE, '/dev/fault0')] }],
      setup: register,
      overrides: {
        misc_vma_open: function* (vma) {
          yield* k.fn.mmap_read_lock(vma.vm_mm);
          k.fn.mmap_read_unlock(vma.vm_mm);
        },
      },
      threads: [{ name: 'A', pid: 1, program: [munmap(1, H + PAGE, PAGE)] }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(['lockdep', 'deadlock']).toContain(r.outcome.violation!.property);
  });

  it('v6.6: planted — a split that forgets ->open leaves the driver\'s count short: its ->close underflows (WARN_ON)', () => {
    const r = sysRun({
      gen: 'v6.6',
      files: [{ name: '/dev/fault0', pages: [11, 12] }],
      processes: [{ pid: 1, setup: [mmapDev(1, H, 2 * PAGE, '/dev/fault0')] }],
      setup: register,
      overrides: { misc_vma_open: function* () {} },
      threads: [{ name: 'A', pid: 1, program: [munmap(1, H + PAGE, PAGE), munmap(1, H, PAGE)] }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.message).toMatch(/misc_vma_close/);
  });
});
