/**
 * b22-uffd-copy-events — "userfaultfd: prevent non-cooperative events vs mcopy_atomic races",
 * df2cc96e7701 (4.18, Mike Rapoport), reverted: UFFDIO_COPY ignores ctx->mmap_changing, so the
 * monitor's copy may run while a fork / mremap / munmap / MADV_DONTNEED whose event it has not
 * read yet is changing the range.
 *
 * The story (kernel.md B22): a thread faults on a missing page of a registered range; the
 * monitor reads the fault. Another thread mremap()s the range away with MREMAP_DONTUNMAP — the
 * page tables move to the new address, the old range stays registered and empty — and sleeps
 * until the monitor reads UFFD_EVENT_REMAP. The monitor, not knowing yet, copies the page to the
 * faulting (old) address: with the fix it gets -EAGAIN, reads the event and learns where the
 * memory went; without it the page lands in the old range, which the move has already left —
 * the contents the monitor meant for the moved memory are where no mapping of it is any more
 * (the model: a copy before the move would have moved with it, after it must be -EAGAIN).
 *
 * The overrides are impl/mm/userfaultfd.ts's userfaultfd_copy and mfill_atomic with the
 * mmap_changing checks the fix added removed (marked); everything else is the current code
 * (the events still raise mmap_changing: with nothing reading it that is unobservable).
 */
import type { Task } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import { defineVariant } from '../sim/variant.js';
import type { folio, userfaultfd_ctx, vm_area_struct } from '../include/linux/mm_types.js';
import { MMAP_MIN_ADDR, PAGE_SIZE, TASK_SIZE, VM_SHARED } from '../include/linux/mm_flags.js';
import { EINVAL, ENOENT, ENOMEM, ESRCH } from '../include/linux/errno.js';
import { VM_BUG_ON, VM_WARN_ON_ONCE, WARN_ON_ONCE } from '../include/linux/mmdebug.js';
import { kasan_check_read, kasan_check_write } from '../sync/kasan.js';
import { down_read, up_read } from '../sync/rwsem.js';
import { fatal_signal_pending } from '../sync/sched.js';

/** validate_range(mm, start, len) (fs/userfaultfd.c). */
function validate_range(start: number, len: number): number {
  if (start % PAGE_SIZE !== 0 || len % PAGE_SIZE !== 0 || len <= 0) return -EINVAL;
  if (start < MMAP_MIN_ADDR) return -EINVAL;
  if (start >= TASK_SIZE || len > TASK_SIZE - start) return -EINVAL;
  return 0;
}

/** validate_dst_vma(dst_vma, dst_end) (mm/userfaultfd.c). */
function validate_dst_vma(dst_vma: vm_area_struct, dst_end: number): boolean {
  if (dst_end > dst_vma.vm_end) return false;
  return dst_vma.vm_userfaultfd_ctx !== null;
}

/** mfill_atomic before df2cc96e7701 (mcopy_atomic): no mmap_changing check. */
function* mfill_atomic_4_17(ctx: userfaultfd_ctx, dst_start: number, value: number, len: number): Task<number> {
  const dst_mm = ctx.mm;
  const vma_locks = k.fn.sim_uffd_ops_vma_lock();
  const foliop: { folio: folio | null } = { folio: null };
  let copied = 0;
  let err = 0;
  let dst_addr = dst_start;
  VM_WARN_ON_ONCE(dst_start % PAGE_SIZE !== 0 || len % PAGE_SIZE !== 0, 'mfill_atomic: unaligned');
  retry: for (;;) {
    let dst_vma: vm_area_struct | number;
    if (vma_locks) {
      dst_vma = yield* k.fn.uffd_mfill_lock(dst_mm, dst_start, len);
      if (typeof dst_vma === 'number') {
        err = dst_vma;
        break retry;
      }
      yield* down_read(ctx.map_changing_lock);
      // (df2cc96e7701 added here: -EAGAIN while ctx->mmap_changing.)
    } else {
      yield* k.fn.mmap_read_lock(dst_mm);
      // (df2cc96e7701 added here: "If memory mappings are changing because of non-cooperative
      // operation (e.g. mremap) running in parallel, bail out and request the user to retry
      // later" — -EAGAIN while ctx->mmap_changing.)
      err = -ENOENT;
      const v = yield* k.fn.vma_lookup(dst_mm, dst_start); // find_dst_vma
      if (!v || !validate_dst_vma(v, dst_start + len)) {
        k.fn.mmap_read_unlock(dst_mm);
        break retry;
      }
      dst_vma = v;
      // Ensure the dst_vma has a anon_vma or this page would get a NULL anon_vma when moved.
      if (!(dst_vma.vm_flags & VM_SHARED) && (yield* k.fn.anon_vma_prepare(dst_vma))) {
        err = -ENOMEM;
        k.fn.mmap_read_unlock(dst_mm);
        break retry;
      }
    }
    const unlock = function* (v: vm_area_struct): Task<void> {
      if (vma_locks) {
        up_read(ctx.map_changing_lock);
        yield* k.fn.uffd_mfill_unlock(v);
      } else {
        k.fn.mmap_read_unlock(dst_mm);
      }
    };
    err = -EINVAL;
    if (WARN_ON_ONCE(k.fn.vma_is_anonymous(dst_vma) && (dst_vma.vm_flags & VM_SHARED) !== 0, 'mfill_atomic: shared anonymous vma without shmem')) {
      yield* unlock(dst_vma);
      break retry;
    }
    err = 0;
    while (dst_addr < dst_start + len) {
      const dst_pmd = k.fn.pmd_off(dst_mm, dst_addr);
      yield 'mfill_atomic:pmdp_get_lockless';
      if (dst_pmd.table === null && (yield* k.fn.pte_alloc(dst_mm, dst_pmd))) {
        err = -ENOMEM;
        break;
      }
      err = yield* k.fn.mfill_atomic_pte_copy(dst_pmd, dst_vma, dst_addr, value, foliop);
      if (err === -ENOENT) {
        yield* unlock(dst_vma);
        VM_BUG_ON(!foliop.folio, 'mfill_atomic: -ENOENT without a folio');
        yield 'mfill_atomic:copy_from_user';
        kasan_check_write(foliop.folio!, 'mfill_atomic (copy_from_user)');
        foliop.folio!.data = value;
        continue retry;
      }
      VM_BUG_ON(foliop.folio !== null, 'mfill_atomic: folio left over');
      if (!err) {
        dst_addr += PAGE_SIZE;
        copied += PAGE_SIZE;
        if (fatal_signal_pending()) err = -4; // -EINTR
      }
      if (err) break;
    }
    yield* unlock(dst_vma);
    break;
  }
  if (foliop.folio) k.fn.folio_put(foliop.folio);
  VM_WARN_ON_ONCE(copied < 0 || err > 0 || (!copied && !err), 'mfill_atomic: bad result');
  return copied ? copied : err;
}

/** userfaultfd_copy before df2cc96e7701: no mmap_changing check. */
function* userfaultfd_copy_4_17(ctx: userfaultfd_ctx, dst: number, value: number): Task<number> {
  const len = PAGE_SIZE;
  kasan_check_read(ctx, 'userfaultfd_copy');
  // (df2cc96e7701 added here: `if (atomic_read(&ctx->mmap_changing)) return -EAGAIN;`)
  let ret = validate_range(dst, len);
  if (ret) return ret;
  if (!k.fn.mmget_not_zero(ctx.mm)) return -ESRCH;
  ret = yield* k.fn.mfill_atomic(ctx, dst, value, len);
  yield* k.fn.mmput(ctx.mm);
  if (ret < 0) return ret;
  VM_WARN_ON_ONCE(!ret, 'userfaultfd_copy: nothing copied');
  yield* k.fn.wake_userfault(ctx, { start: dst, len: ret });
  return ret === len ? 0 : -11; // -EAGAIN: a partial copy
}

export default defineVariant({
  name: 'b22-uffd-copy-events',
  base: 'v6.6',
  description:
    'UFFDIO_COPY ignores ctx->mmap_changing (before df2cc96e7701): the monitor copies a faulting ' +
    'page while an mremap(MREMAP_DONTUNMAP) whose UFFD_EVENT_REMAP it has not read has already ' +
    'moved the range, so the page lands in the old, emptied range instead of failing with -EAGAIN.',
  reverts: 'df2cc96e7701 userfaultfd: prevent non-cooperative events vs mcopy_atomic races',
  scenario: 'uffd',
  overrides: { userfaultfd_copy: userfaultfd_copy_4_17, mfill_atomic: mfill_atomic_4_17 },
});
