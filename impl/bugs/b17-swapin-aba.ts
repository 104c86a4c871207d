/**
 * b17-swapin-aba — "mm/swap: fix race when skipping swapcache", 13ddaf26be32 (Kairui Song,
 * 6.8-rc), reverted: do_swap_page's SWP_SYNCHRONOUS_IO path (zram, pmem; swap count 1) reads
 * the slot into a private folio without inserting it into the swap cache and without pinning the
 * entry with swapcache_prepare (SWAP_HAS_CACHE).
 *
 * The story (kernel.md B17, I14): two threads fault on the same swap PTE (entry S). Both skip
 * the swap cache and read S into their own folios A and B. CPU1 wins: pte_same passes, it maps B,
 * swap_free(S) frees the slot, and the user writes B. kswapd swaps B out again — S is the lowest
 * free slot, so B's new contents go to S and the PTE is swap entry S again. CPU0 now takes the
 * PTL: pte_same(orig_pte == S) passes (ABA), it frees S (B's data lost) and maps its stale A.
 * The store is lost: a later load (or the final state) sees the value from before it.
 *
 * The revert is the configuration flag impl/mm/memory_swap.ts already reads at the fixed spot
 * (k.cfg.swapcache_prepare_on_skip: the swapcache_prepare / swapcache_clear pair and the
 * back-off on the swapcache wait queue). Base v6.15: its swap device is SWP_SYNCHRONOUS_IO.
 */
import { defineVariant } from '../sim/variant.js';

export default defineVariant({
  name: 'b17-swapin-aba',
  base: 'v6.15',
  description:
    'do_swap_page skips the swap cache on a SWP_SYNCHRONOUS_IO device without pinning the entry ' +
    '(no swapcache_prepare): a second fault on the same swap PTE reads the slot into its own folio; ' +
    'meanwhile the first maps its copy, frees the slot, the page is written and swapped out again ' +
    'into the same slot, so the second fault\'s pte_same passes (ABA) and it maps its stale copy — ' +
    'the write is lost.',
  reverts: '13ddaf26be32 mm/swap: fix race when skipping swapcache',
  scenario: 'swapin-aba',
  config: { swapcache_prepare_on_skip: false },
});
