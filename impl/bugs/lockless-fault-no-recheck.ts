/**
 * lockless-fault-no-recheck — the article's lock-free fault ("a path toward lock-free fault
 * handling, ... a fair amount of complexity"), built without its validation: the lockless-fault
 * proposal (impl/bugs/lockless_fault.ts: a first-touch anonymous fault with no VMA lock and no
 * reference, working on a copy of the VMA found under RCU) minus the mm_lock_seq re-check that
 * pte_map_lock does before installing the PTE under the PTL.
 *
 * The story (kernel.md I5, I9, I10): the faulting thread copies the VMA (still valid: the copy is
 * checked against the sequence once), allocates its page, and is preempted before taking the PTL.
 * Another thread munmaps the page — or mprotects it read-only — and returns; nothing waited for
 * the faulting thread, which holds no VMA lock. The fault then takes the PTL, finds pte_none and
 * installs the page: a PTE outside every VMA (I10), or a writable PTE in a read-only VMA, so a
 * store succeeds after mprotect returned (a refinement violation).
 */
import { defineVariant } from '../sim/variant.js';
import { locklessFaultOverrides } from './lockless_fault.js';

export default defineVariant({
  name: 'lockless-fault-no-recheck',
  base: 'v6.15',
  description:
    'first-touch anonymous faults without a VMA lock, on a copy of the VMA, that install the PTE ' +
    'without re-checking mm_lock_seq under the PTL: a munmap or mprotect that completes between the ' +
    'lookup and the install is not seen — a PTE outside every VMA, or a writable PTE in a read-only VMA.',
  reverts: 'design: lockless-fault (speculative fault validated by mm_lock_seq) without the re-check in pte_map_lock',
  scenario: 'first-touch-vs-unmap',
  config: { lockless_fault: true },
  overrides: locklessFaultOverrides(false),
});
