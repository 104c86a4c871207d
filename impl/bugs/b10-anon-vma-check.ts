/**
 * B10 — "mm: lock_vma_under_rcu() must check vma->anon_vma under vma lock" (657b5146955e,
 * 6.5-rc4, Jann Horn).
 *
 * Reverts the fix by flipping the configuration flag impl already has for it:
 * vma_lock_anon_vma_check 'before-lock' makes lock_vma_under_rcu (impl/mm/mmap_lock.ts) look at
 * vma->anon_vma before vma_start_read, as 6.4.0 did, instead of after it.
 */
import { defineVariant } from '../sim/variant.js';

export default defineVariant({
  name: 'b10-anon-vma-check',
  base: 'v6.4',
  reverts: '657b5146955e',
  scenario: 'mremap-dontunmap-vs-fault',
  description:
    'Thread A writes an empty page of anonymous VMA V. lock_vma_under_rcu finds V and, before ' +
    'locking it, checks that V has an anon_vma (it does). Thread B runs mremap(MREMAP_DONTUNMAP) on ' +
    'all of V: move_vma write-locks V, moves its pages to a new VMA and unlink_anon_vmas(V) leaves ' +
    'V->anon_vma NULL; mmap_write_unlock releases V. A\'s vma_start_read now succeeds and ' +
    'do_anonymous_page, holding only V\'s VMA lock, calls anon_vma_prepare → ' +
    'find_mergeable_anon_vma, which walks V\'s neighbours in the VMA tree without mmap_lock: ' +
    'mmap_assert_locked fires there (the real kernel goes on to reusable_anon_vma on a neighbour a ' +
    'concurrent munmap may free: use-after-free). I5: every decision lock_vma_under_rcu makes from ' +
    'VMA fields is made after the VMA is locked.',
  config: { vma_lock_anon_vma_check: 'before-lock' },
});
