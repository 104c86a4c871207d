/**
 * B7 — "mm: lock a vma before stack expansion" (c137381f71ae, 6.5-rc1 / 6.4.x, Suren
 * Baghdasaryan): after StackRot, the stack grows under mmap_write_lock, but a fault that holds the
 * stack VMA's per-VMA read lock takes no mmap_lock at all, so only vma_start_write() keeps the
 * growth away from it.
 *
 * The override is impl/mm/mmap.ts expand_downwards with one line removed: the
 * `if (!read_locked) yield* k.fn.vma_start_write(vma);` before anon_vma_lock_write (the fix).
 * Everything else is the current function, unchanged.
 */
import type { Task } from '../rt/task.js';
import { step } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import { defineVariant } from '../sim/variant.js';
import type { vm_area_struct } from '../include/linux/mm_types.js';
import { MMAP_MIN_ADDR, PAGE_SIZE, SIM_RLIMIT_STACK, STACK_GUARD_GAP, VM_ACCESS_FLAGS, VM_GROWSDOWN } from '../include/linux/mm_flags.js';
import { EFAULT, ENOMEM, EPERM } from '../include/linux/errno.js';
import { spin_lock, spin_unlock } from '../sync/spinlock.js';
import { FIRST_USER_ADDRESS } from '../mm/memory_unmap.js';

const PAGE_MASK_DOWN = (x: number): number => Math.floor(x / PAGE_SIZE) * PAGE_SIZE;

/** vma_is_accessible(vma): any of read/write/exec. */
function vma_is_accessible(vma: vm_area_struct): boolean {
  return (vma.vm_flags & VM_ACCESS_FLAGS) !== 0;
}

/**
 * expand_downwards(vma, address) before c137381f71ae: grow a VM_GROWSDOWN VMA down to address
 * under mmap_write_lock — without write-locking the VMA.
 */
function* expand_downwards(vma: vm_area_struct, address: number): Task<number> {
  const mm = vma.vm_mm;
  const read_locked = k.cfg.expand_stack_lock === 'read';
  if (!(vma.vm_flags & VM_GROWSDOWN)) return -EFAULT;
  if (read_locked) k.fn.mmap_assert_locked(mm);
  else k.fn.mmap_assert_write_locked(mm);
  address = PAGE_MASK_DOWN(address);
  if (address < MMAP_MIN_ADDR || address < FIRST_USER_ADDRESS) return -EPERM;
  // Enforce stack_guard_gap
  const { prev } = yield* k.fn.find_vma_prev(mm, vma.vm_start);
  if (prev) {
    if (!(prev.vm_flags & VM_GROWSDOWN) && vma_is_accessible(prev) && address - prev.vm_end < STACK_GUARD_GAP) {
      return -ENOMEM;
    }
  }
  // We must make sure the anon_vma is allocated.
  if ((yield* k.fn.anon_vma_prepare(vma)) !== 0) return -ENOMEM;
  // (the fix's vma_start_write(vma) is missing here)
  // We update the anon VMA tree.
  const av = vma.anon_vma!;
  yield* k.fn.anon_vma_lock_write(av);
  let error = 0;
  // Somebody else might have raced and expanded it already
  if (address < vma.vm_start) {
    const grow = (vma.vm_start - address) / PAGE_SIZE;
    error = -ENOMEM;
    if (grow <= vma.vm_pgoff) {
      // acct_stack_growth: the stack limit test
      error = vma.vm_end - address > SIM_RLIMIT_STACK ? -ENOMEM : 0;
    }
    if (error === 0) {
      yield* spin_lock(mm.page_table_lock);
      vma.vm_start = address;
      yield step('expand_downwards:vm_pgoff', vma);
      vma.vm_pgoff -= grow;
      // Overwrite old entry in mtree.
      if (read_locked) yield* k.fn.mas_store_prealloc(mm, vma.vm_start, vma.vm_end - 1, vma);
      else yield* k.fn.vma_iter_store(mm, vma);
      spin_unlock(mm.page_table_lock);
    }
  }
  k.fn.anon_vma_unlock_write(av);
  return error;
}

export default defineVariant({
  name: 'b7-stack-expansion',
  base: 'v6.4',
  reverts: 'c137381f71ae',
  scenario: 'stack-expansion-vs-fault',
  description:
    'Thread A writes a fresh page inside a MAP_GROWSDOWN stack VMA S: lock_vma_under_rcu read-locks S ' +
    'and do_anonymous_page runs with no mmap_lock. Thread B writes below S: the fault falls back to ' +
    'mmap_lock, upgrades to mmap_write_lock and expand_downwards grows S — without vma_start_write(S), ' +
    'so it does not wait for A. B stores S->vm_start, and before it stores S->vm_pgoff A computes the ' +
    'new folio\'s index (linear_page_index: new vm_start, old vm_pgoff) in folio_add_new_anon_rmap. ' +
    'The page ends up mapped at an index rmap_walk_anon translates to another address, so reclaim and ' +
    'migration can no longer find the mapping (I2: fault-visible VMA fields change only under the VMA ' +
    'write lock; I10: rmap completeness).',
  overrides: { expand_downwards },
});
