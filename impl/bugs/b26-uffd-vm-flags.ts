/**
 * b26-uffd-vm-flags — "mm: lock vma explicitly before doing vm_flags_reset and
 * vm_flags_reset_once" (Suren Baghdasaryan, 6.6-rc1, with "mm: replace mmap with vma write lock
 * assertions when operating on a vma"), reverted: the VMA write lock is taken only inside
 * vm_flags_reset (its pre-fix form), after userfaultfd has already changed vma->vm_userfaultfd_ctx
 * — as the pre-fix dup_userfaultfd / mremap_userfaultfd_prep / userfaultfd_release did
 * ("vma->vm_userfaultfd_ctx = NULL_VM_UFFD_CTX; userfaultfd_set_vm_flags(...)"). Harmless while
 * lock_vma_under_rcu refused uffd-armed VMAs (6.4/6.5: "the bug in userfaultfd does not affect
 * stable"); reachable once uffd faults run under the VMA lock (6.6).
 *
 * The story (kernel.md B26): UFFDIO_UNREGISTER clears the context of a registered VMA without
 * the VMA write lock. A fault on a missing page of that VMA holds the VMA read lock, sees
 * userfaultfd_missing(vma) (the flags are not reset yet), goes to handle_userfault and reads
 * vm_userfaultfd_ctx: NULL — VM_FAULT_SIGBUS. The load gets SIGBUS, which no order of
 * "unregister" and "fault" allows (before: it waits for the monitor; after: it reads 0).
 *
 * The override is impl/mm/userfaultfd.ts's userfaultfd_set_ctx with vma_start_write moved back
 * after the context store, into vm_flags_reset's place (marked).
 */
import type { Task } from '../rt/task.js';
import { step } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import { defineVariant } from '../sim/variant.js';
import type { userfaultfd_ctx, vm_area_struct } from '../include/linux/mm_types.js';
import { VM_UFFD_FLAGS } from '../include/linux/mm_flags.js';

/** userfaultfd_set_ctx with the 6.5 locking: the context store before the VMA write lock. */
function* userfaultfd_set_ctx_6_5(vma: vm_area_struct, ctx: userfaultfd_ctx | null, vm_flags: number): Task<void> {
  // (the fix: vma_start_write(vma) here, before any store a fault may read)
  vma.vm_userfaultfd_ctx = ctx;
  yield step('userfaultfd_set_ctx:vm_userfaultfd_ctx', vma);
  // userfaultfd_set_vm_flags → 6.5's vm_flags_reset: vma_start_write(vma); vm_flags_init(...)
  yield* k.fn.vma_start_write(vma);
  k.fn.vm_flags_reset(vma, (vma.vm_flags & ~VM_UFFD_FLAGS) | vm_flags);
}

export default defineVariant({
  name: 'b26-uffd-vm-flags',
  base: 'v6.6',
  description:
    'UFFDIO_UNREGISTER clears vma->vm_userfaultfd_ctx before write-locking the VMA (the write lock ' +
    'taken only inside vm_flags_reset, as before the 6.6 fix): a missing fault under the VMA read ' +
    'lock sees the uffd flags still set, reads the context as NULL in handle_userfault and returns ' +
    'VM_FAULT_SIGBUS: the load gets SIGBUS.',
  reverts: 'mm: lock vma explicitly before doing vm_flags_reset and vm_flags_reset_once (6.6-rc1)',
  scenario: 'uffd',
  overrides: { userfaultfd_set_ctx: userfaultfd_set_ctx_6_5 },
});
