/**
 * B6 — StackRot (CVE-2023-3269), Linux 6.1–6.4: stack expansion under mmap_read_lock.
 *
 * Reverts the StackRot fix series merged as 9471f1f2f502 (6.5-rc1; "mm: always expand the stack
 * with the mmap write lock held", backported to 6.3.11/6.4.1) by flipping the configuration flag
 * impl already has for it: expand_stack_lock 'read' makes lock_mm_and_find_vma call
 * expand_stack_locked → expand_downwards under the mmap read lock, as do_user_addr_fault →
 * expand_stack did before the fix (impl/mm/mmap_lock.ts lock_mm_and_find_vma, impl/mm/mmap.ts
 * expand_downwards: mas_store_prealloc with only mm->page_table_lock serialising growers).
 */
import { defineVariant } from '../sim/variant.js';

export default defineVariant({
  name: 'b6-stackrot',
  base: 'v6.3',
  reverts: '9471f1f2f502',
  scenario: 'stack-rot',
  description:
    'Two threads fault just below a MAP_GROWSDOWN stack and both grow it under mmap_read_lock. ' +
    'Thread A, in expand_downwards, runs find_vma_prev: mas_walk loads the maple tree root and reads ' +
    'node N — holding only mmap_read_lock, not rcu_read_lock. Thread B grows the stack first: ' +
    'mas_store_prealloc publishes a new node and frees N through call_rcu (ma_free_rcu). No RCU ' +
    'reader is in the way (A relies on mmap_read_lock, which does not exclude B), so the grace ' +
    'period ends and the RCU callback frees N; A then steps back with mas_prev and reads the freed ' +
    'node: a KASAN slab-use-after-free in mas_prev (I12: the tree changes only under ' +
    'mmap_write_lock, or readers must hold RCU).',
  config: { expand_stack_lock: 'read' },
});
