/**
 * b14-mempolicy — "mm/mempolicy: Take VMA lock before replacing policy", 6c21e066f925 (6.5-rc4,
 * Jann Horn; CVE-2023-4611), reverted: Linux 6.4's do_mbind replaced a VMA's policy holding only
 * mmap_write_lock, which no longer excluded page faults once anonymous faults ran under per-VMA
 * locks (5e31275cc997).
 *
 * The story (kernel.md B14): a fault under the VMA read lock allocates a page —
 * vma_alloc_folio → get_vma_policy reads vma->vm_policy (no reference: the VMA lock is supposed
 * to keep it). mbind on the same VMA, with no vma_start_write, gets to vma_replace_policy:
 * vma->vm_policy = new; mpol_put(old) frees the old policy. The fault then uses the policy it
 * read (mpol_cond_put) — a use-after-free KASAN reports at that step.
 *
 * The overrides below are impl/mm/mempolicy.ts's do_mbind and vma_replace_policy with the lines
 * the fix added removed (marked): the loop write-locking the VMAs of the range in do_mbind, and
 * vma_assert_write_locked in vma_replace_policy. Everything else is the current code.
 */
import type { Task } from '../rt/task.js';
import { k, current_mm } from '../sim/kernel.js';
import { defineVariant } from '../sim/variant.js';
import type { mempolicy, vm_area_struct } from '../include/linux/mm_types.js';
import { PAGE_SIZE, TASK_SIZE } from '../include/linux/mm_flags.js';
import { EINVAL, ESRCH } from '../include/linux/errno.js';

/** do_mbind as in Linux 6.4 (mm/mempolicy.c), before 6c21e066f925. */
function* do_mbind_6_4(start: number, len0: number, policy: string): Task<number> {
  const mm = current_mm();
  if (!mm) return -ESRCH;
  if (start % PAGE_SIZE !== 0 || len0 < 0) return -EINVAL;
  if (!k.fn.sim_mpol_valid(policy)) return -EINVAL;
  const len = Math.ceil(len0 / PAGE_SIZE) * PAGE_SIZE;
  const end = start + len;
  if (end > TASK_SIZE) return -EINVAL;
  if (end === start) return 0;
  const nw = yield* k.fn.mpol_new(policy);
  if (typeof nw === 'number') return nw;
  yield* k.fn.mmap_write_lock(mm);
  let err = 0;
  out: {
    // (6c21e066f925 added here: vma_start_write() on every VMA of [start, end) — "Lock the VMAs
    // before scanning for pages to migrate, to ensure we don't miss a concurrently inserted page".)
    err = yield* k.fn.queue_pages_range(mm, start, end);
    if (err) break out;
    let prev = (yield* k.fn.find_vma_prev(mm, start)).prev;
    let vma = yield* k.fn.find_vma(mm, start);
    while (vma && vma.vm_start < end) {
      const r = yield* k.fn.mbind_range(vma, prev, start, end, nw);
      err = r.err;
      if (err) break;
      prev = r.prev;
      vma = prev ? yield* k.fn.find_vma(mm, prev.vm_end) : null;
    }
  }
  k.fn.mmap_write_unlock(mm);
  k.fn.mpol_put(nw);
  return err;
}

/** vma_replace_policy as in Linux 6.4: protected "by mmap_lock" only. */
function* vma_replace_policy_6_4(vma: vm_area_struct, pol: mempolicy | null): Task<number> {
  // (6c21e066f925 added here: vma_assert_write_locked(vma).)
  const nw = yield* k.fn.mpol_dup(pol);
  if (typeof nw === 'number') return nw;
  yield 'vma_replace_policy:vm_policy';
  const old = vma.vm_policy;
  vma.vm_policy = nw; // protected by mmap_lock
  k.fn.mpol_put(old);
  return 0;
}

export default defineVariant({
  name: 'b14-mempolicy',
  base: 'v6.4',
  description:
    'mbind replaces a VMA\'s memory policy without vma_start_write (6.4): a page fault under the ' +
    'VMA read lock reads vma->vm_policy in vma_alloc_folio, mbind installs the new policy and frees ' +
    'the old one, and the fault then dereferences the freed policy (mpol_cond_put): use-after-free.',
  reverts: '6c21e066f925 mm/mempolicy: Take VMA lock before replacing policy',
  scenario: 'mbind-vs-fault',
  overrides: { do_mbind: do_mbind_6_4, vma_replace_policy: vma_replace_policy_6_4 },
});
