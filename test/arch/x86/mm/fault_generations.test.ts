/**
 * do_user_addr_fault (arch/x86/mm/fault.c) where the named generations differ from each other
 * and from what the simulation used to do:
 *
 * - x86 never tries the VMA lock for a kernel-mode fault (`if (!(flags & FAULT_FLAG_USER)) goto
 *   lock_mmap;`, in every generation since 6.4);
 * - 6.6's mmap_lock retry after a VM_FAULT_RETRY under the VMA lock is a first try again (no
 *   FAULT_FLAG_TRIED before 46e714c729c8, 6.7): a swap-in that finds its folio locked once more
 *   drops mmap_lock, waits with no lock and is tried a third time, where 6.7 sleeps on the folio
 *   holding mmap_read_lock.
 *
 *   0x10000    0x11000
 *   |-- anon --|          value 5, swapped out to slot 1 (asynchronous device)
 *   T1: load 0x10000      locker: takes the folio lock once the read has completed
 */
import { describe, expect, it } from 'vitest';
import { runFault, expectOk, addVma, BASE, type FaultWorld } from './fault_harness.js';
import { k, type Kernel } from '../../../../impl/sim/kernel.js';
import { defineVariant } from '../../../../impl/sim/variant.js';
import { waitUntil, type Task } from '../../../../impl/rt/task.js';
import { X86_PF_USER, X86_PF_WRITE } from '../../../../impl/include/linux/mm_flags.js';
import type { folio, vm_area_struct } from '../../../../impl/include/linux/mm_types.js';
import { baseTable } from '../../../../impl/sim/table.js';
import { folio_lock, folio_unlock } from '../../../../impl/sync/bitlock.js';
import { ioRun, why } from '../../../mm/io_harness.js';
import type { ModelOp } from '../../../../model/ops.js';

describe('do_user_addr_fault: kernel-mode faults (x86)', () => {
  for (const gen of ['v6.4', 'v6.6', 'v6.7', 'v6.15']) {
    it(`${gen}: a fault from kernel mode goes straight to lock_mm_and_find_vma; a user fault tries the VMA lock`, () => {
      const tried: boolean[] = [];
      const base = baseTable();
      const count = {
        lock_vma_under_rcu: function* (mm: Parameters<typeof base.lock_vma_under_rcu>[0], addr: number): Task<vm_area_struct | null> {
          tried.push(true);
          return yield* base.lock_vma_under_rcu(mm, addr);
        },
      };
      const run = (user: boolean, variant = defineVariant({ name: `${gen}-count`, base: gen, description: 'counts VMA-lock attempts', overrides: count })) => {
        tried.length = 0;
        const r = expectOk(runFault({
          variant,
          setup: function* (w: FaultWorld): Task<void> { yield* addVma(w, { name: 'anon', start: BASE, pages: 1, anon_vma: true }); },
          tasks: [{ name: 'copy_to_user', body: function* (): Task<number> {
            // copy_to_user() faulting on a user page: regs from kernel mode, no X86_PF_USER.
            return yield* k.fn.do_user_addr_fault({ user, has_fixup: !user }, X86_PF_WRITE | (user ? X86_PF_USER : 0), BASE);
          } }],
        }));
        return { attempts: tried.length, mmap_lock_faults: r.w.kernel.stats.mmap_lock_faults };
      };
      expect(run(false)).toEqual({ attempts: 0, mmap_lock_faults: 1 });
      expect(run(true)).toEqual({ attempts: 1, mmap_lock_faults: 0 });
      // The configuration as it was (kernel faults trying the VMA lock in 6.6+) would have tried it.
      const arm64Like = defineVariant({ name: `${gen}-kernel-faults-too`, base: gen, description: 'VMA lock for kernel faults too', config: { vma_lock_user_only: false }, overrides: count });
      expect(run(false, arm64Like).attempts).toBe(1);
    });
  }
});

describe('do_user_addr_fault: the mmap_lock retry after VM_FAULT_RETRY under the VMA lock', () => {
  const A = 0x10000;
  const setup: ModelOp[] = [
    { op: 'mmap', pid: 1, addr: A, len: 0x1000, prot: { read: true, write: true, exec: false }, flags: { shared: false, anonymous: true, fixed: true, growsdown: false } },
    { op: 'store', pid: 1, addr: A, value: 5 },
  ];

  function race(gen: string) {
    const seen: { t1HoldsMmapLock?: boolean; t1Waits?: string } = {};
    const r = ioRun({
      gen,
      config: { swap_synchronous_io: false },
      swapSlots: 4,
      processes: [{ pid: 1, setup }],
      kernelSetup: [{ do: 'swap_out', pid: 1, addr: A }],
      threads: [{ name: 'T1', pid: 1, program: [{ op: 'load', pid: 1, addr: A }] }],
      // The locker runs whenever it can: as soon as T1 has retried, it locks the folio first.
      script: [{ task: 'locker', until: 'test: T1 waits for the folio' }],
      tasks: [['locker', 0, function* (kern: Kernel): Task<void> {
        const mm = kern.procs.get(1)!.mm!;
        const cache = kern.fn.swp_swap_info(1)!.swap_cache.i_pages;
        const t1 = kern.exec.tasks.find((t) => t.name === 'T1')!;
        // The first attempt's read has completed (T1 retries): lock the folio before T1 maps it.
        yield* waitUntil('test: read done', () => { const f = cache.get(1); return f !== undefined && f.uptodate && f.lockOwner === -1 && kern.stats.fault_retries === 1; });
        const f: folio = cache.get(1)!;
        yield* folio_lock(f);
        yield* waitUntil('test: T1 waits for the folio', () => t1.block !== null && t1.block.obj === f);
        seen.t1Waits = t1.label;
        seen.t1HoldsMmapLock = mm.mmap_lock.readerIds.includes(t1.id);
        folio_unlock(f);
      }]],
    });
    return { r, seen };
  }

  it('v6.6: no FAULT_FLAG_TRIED — the mmap_lock attempt drops the lock to wait for the folio and a third attempt maps it', () => {
    const { r, seen } = race('v6.6');
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.history[0]!.result).toEqual({ kind: 'value', value: 5 });
    expect(seen).toEqual({ t1Waits: 'folio_wait_locked', t1HoldsMmapLock: false });
    expect(r.kernel.stats.fault_retries).toBe(2);
    expect(r.kernel.stats.vma_lock.VMA_LOCK_RETRY).toBe(1);
  });

  it('v6.7: the retry carries FAULT_FLAG_TRIED — it sleeps on the folio holding mmap_read_lock', () => {
    const { r, seen } = race('v6.7');
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.history[0]!.result).toEqual({ kind: 'value', value: 5 });
    expect(seen.t1HoldsMmapLock).toBe(true);
    expect(seen.t1Waits).toMatch(/^folio_lock/);
    expect(r.kernel.stats.fault_retries).toBe(1);
  });
});
