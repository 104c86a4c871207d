/**
 * Kernel: mm/madvise.c — madvise(2) for MADV_DONTNEED: get_lock_mode, madvise_lock /
 * madvise_unlock, madvise_walk_vmas (try_vma_read_lock in 6.17), madvise_dontneed_free
 * (userfaultfd_remove, which drops mmap_read_lock to deliver UFFD_EVENT_REMOVE, then the VMA is
 * looked up again) and madvise_dontneed_single_vma → zap_page_range_single.
 *
 * Locks per generation: MADV_DONTNEED zaps under mmap_read_lock — concurrently with faults and
 * other zappers on the same VMA — until 6.17 ("mm: use per_vma lock for MADV_DONTNEED", Barry
 * Song), which takes the VMA read lock when the range lies in one VMA that is not uffd-armed
 * (k.cfg.madvise_dontneed_vma_lock), else falls back to mmap_read_lock.
 *
 * Left out: every other advice, process_madvise, MADV_FREE's lazy free, VM_LOCKED/hugetlb
 * checks beyond VM_PFNMAP, the batched mmu_gather across VMAs (each zap has its own gather),
 * PT_RECLAIM (empty page tables stay).
 */
import type { Task } from '../rt/task.js';
import { k, current_mm } from '../sim/kernel.js';
import type { mm_struct, vm_area_struct } from '../include/linux/mm_types.js';
import { MADV_DONTNEED, PAGE_SIZE, VM_HUGETLB, VM_LOCKED, VM_PFNMAP } from '../include/linux/mm_flags.js';
import { EINTR, EINVAL, ENOMEM, ESRCH } from '../include/linux/errno.js';
import { VM_WARN_ON_ONCE } from '../include/linux/mmdebug.js';
import type { MadviseOp, ModelResult } from '../../model/ops.js';

export type madvise_lock_mode = 'MADVISE_NO_LOCK' | 'MADVISE_MMAP_READ_LOCK' | 'MADVISE_MMAP_WRITE_LOCK' | 'MADVISE_VMA_READ_LOCK';

/** struct madvise_behavior. */
export interface madvise_behavior {
  readonly mm: mm_struct;
  readonly behavior: number;
  lock_mode: madvise_lock_mode;
  /** range->start / range->end of the current step. */
  start: number;
  end: number;
  vma: vm_area_struct | null;
  prev: vm_area_struct | null;
  /** The mmap lock was dropped (userfaultfd_remove): VMAs seen before are stale. */
  lock_dropped: boolean;
}

/**
 * get_lock_mode(madv_behavior): MADV_DONTNEED takes mmap_read_lock, or (6.17) per-VMA read locks
 * in madvise_walk_vmas.
 */
export function get_lock_mode(madv: madvise_behavior): madvise_lock_mode {
  if (madv.behavior === MADV_DONTNEED) {
    return k.cfg.madvise_dontneed_vma_lock ? 'MADVISE_VMA_READ_LOCK' : 'MADVISE_MMAP_READ_LOCK';
  }
  return 'MADVISE_MMAP_WRITE_LOCK';
}

/** madvise_lock(madv_behavior): 0 or -EINTR. */
export function* madvise_lock(madv: madvise_behavior): Task<number> {
  const mode = k.fn.get_lock_mode(madv);
  switch (mode) {
    case 'MADVISE_NO_LOCK':
      break;
    case 'MADVISE_MMAP_WRITE_LOCK':
      if (yield* k.fn.mmap_write_lock_killable(madv.mm)) return -EINTR;
      break;
    case 'MADVISE_MMAP_READ_LOCK':
      yield* k.fn.mmap_read_lock(madv.mm);
      break;
    case 'MADVISE_VMA_READ_LOCK':
      // We will acquire the lock per-VMA in madvise_walk_vmas().
      break;
  }
  madv.lock_mode = mode;
  return 0;
}

/** madvise_unlock(madv_behavior). */
export function madvise_unlock(madv: madvise_behavior): void {
  switch (madv.lock_mode) {
    case 'MADVISE_NO_LOCK':
      return;
    case 'MADVISE_MMAP_WRITE_LOCK':
      k.fn.mmap_write_unlock(madv.mm);
      break;
    case 'MADVISE_MMAP_READ_LOCK':
      k.fn.mmap_read_unlock(madv.mm);
      break;
    case 'MADVISE_VMA_READ_LOCK':
      // We will drop the lock per-VMA in madvise_walk_vmas().
      break;
  }
  madv.lock_mode = 'MADVISE_NO_LOCK';
}

/**
 * try_vma_read_lock(madv_behavior) (6.17): read-lock the one VMA the range lies in; not for
 * uffd-armed VMAs or ranges spanning VMAs. On failure takes mmap_read_lock and switches the mode.
 */
export function* try_vma_read_lock(madv: madvise_behavior): Task<boolean> {
  const mm = madv.mm;
  const vma = yield* k.fn.lock_vma_under_rcu(mm, madv.start);
  if (vma) {
    // Must span only a single VMA; uffd and remote processes are unsupported.
    if (madv.end > vma.vm_end || current_mm() !== mm || k.fn.userfaultfd_armed(vma)) {
      yield* k.fn.vma_end_read(vma);
    } else {
      madv.vma = vma;
      return true;
    }
  }
  yield* k.fn.mmap_read_lock(mm);
  madv.lock_mode = 'MADVISE_MMAP_READ_LOCK';
  return false;
}

/** madvise_dontneed_free_valid_vma(vma): not for VM_PFNMAP, VM_LOCKED or hugetlb VMAs. */
function madvise_dontneed_free_valid_vma(vma: vm_area_struct): boolean {
  return (vma.vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)) === 0;
}

/**
 * madvise_dontneed_single_vma(madv_behavior): zap the range's PTEs (anonymous pages are gone,
 * private file pages re-read the file). Locks: the VMA stable (mmap_read_lock or its read lock).
 */
export function* madvise_dontneed_single_vma(madv: madvise_behavior): Task<number> {
  yield* k.fn.zap_page_range_single(madv.vma!, madv.start, madv.end - madv.start);
  return 0;
}

/**
 * madvise_dontneed_free(madv_behavior): a uffd-registered VMA first delivers UFFD_EVENT_REMOVE
 * (userfaultfd_remove drops mmap_read_lock and waits for the monitor); then the lock is
 * re-taken and the VMA looked up again — it may have changed meanwhile.
 */
export function* madvise_dontneed_free(madv: madvise_behavior): Task<number> {
  const mm = madv.mm;
  if (!madvise_dontneed_free_valid_vma(madv.vma!)) return -EINVAL;
  if (madv.start === madv.end) return 0;
  if (!(yield* k.fn.userfaultfd_remove(madv.vma!, madv.start, madv.end))) {
    madv.lock_dropped = true;
    yield* k.fn.mmap_read_lock(mm);
    const vma = yield* k.fn.vma_lookup(mm, madv.start);
    madv.vma = vma;
    if (!vma) return -ENOMEM;
    if (!madvise_dontneed_free_valid_vma(vma)) return -EINVAL;
    // Don't fail if end > vma->vm_end: the old vma was split while the mmap_lock was released.
    if (madv.end > vma.vm_end) madv.end = vma.vm_end;
    if (madv.start === madv.end) return 0;
    VM_WARN_ON_ONCE(madv.start > madv.end, 'madvise_dontneed_free: start > end');
  }
  return yield* k.fn.madvise_dontneed_single_vma(madv);
}

/** madvise_vma_behavior(madv_behavior). */
export function* madvise_vma_behavior(madv: madvise_behavior): Task<number> {
  if (madv.behavior === MADV_DONTNEED) return yield* k.fn.madvise_dontneed_free(madv);
  return -EINVAL;
}

/**
 * madvise_walk_vmas(madv_behavior): apply the advice to each VMA part of [start, end); holes
 * give -ENOMEM at the end, an error stops the walk. Locks: as madvise_lock chose.
 */
export function* madvise_walk_vmas(madv: madvise_behavior): Task<number> {
  const mm = madv.mm;
  const last_end = madv.end;
  let unmapped_error = 0;
  // If VMA read lock is supported, apply madvise to a single VMA tentatively.
  if (madv.lock_mode === 'MADVISE_VMA_READ_LOCK' && (yield* k.fn.try_vma_read_lock(madv))) {
    const error = yield* k.fn.madvise_vma_behavior(madv);
    yield* k.fn.vma_end_read(madv.vma!);
    return error;
  }
  const fp = yield* k.fn.find_vma_prev(mm, madv.start);
  let vma = fp.vma;
  let prev = fp.prev;
  if (vma && madv.start > vma.vm_start) prev = vma;
  for (;;) {
    if (!vma) return -ENOMEM;
    if (madv.start < vma.vm_start) {
      unmapped_error = -ENOMEM;
      madv.start = vma.vm_start;
      if (madv.start >= last_end) break;
    }
    madv.end = Math.min(vma.vm_end, last_end);
    madv.prev = prev;
    madv.vma = vma;
    const error = yield* k.fn.madvise_vma_behavior(madv);
    if (error) return error;
    if (madv.lock_dropped) {
      // We dropped the mmap lock, we can't ref the VMA.
      prev = null;
      vma = null;
      madv.lock_dropped = false;
    } else {
      vma = madv.vma;
      prev = vma;
    }
    if (vma && madv.end < vma.vm_end) madv.end = vma.vm_end;
    if (madv.end >= last_end) break;
    vma = yield* k.fn.find_vma(mm, vma ? vma.vm_end : madv.end);
    madv.start = madv.end;
  }
  return unmapped_error;
}

/**
 * do_madvise(mm, start, len_in, behavior): validate, lock per get_lock_mode, walk, unlock.
 * Returns 0 or -errno.
 */
export function* do_madvise(mm: mm_struct, start: number, len_in: number, behavior: number): Task<number> {
  if (behavior !== MADV_DONTNEED) return -EINVAL;
  if (start % PAGE_SIZE !== 0 || len_in < 0) return -EINVAL;
  const len = Math.ceil(len_in / PAGE_SIZE) * PAGE_SIZE;
  if (len === 0) return 0;
  const madv: madvise_behavior = {
    mm, behavior, lock_mode: 'MADVISE_NO_LOCK', start, end: start + len, vma: null, prev: null, lock_dropped: false,
  };
  const err = yield* k.fn.madvise_lock(madv);
  if (err) return err;
  const error = yield* k.fn.madvise_walk_vmas(madv);
  k.fn.madvise_unlock(madv);
  return error;
}

/** madvise(2) MADV_DONTNEED. */
export function* sim_sys_madvise(op: MadviseOp): Task<ModelResult> {
  const mm = current_mm();
  if (!mm) return { kind: 'errno', errno: -ESRCH };
  const r = yield* k.fn.do_madvise(mm, op.addr, op.len, MADV_DONTNEED);
  return r < 0 ? { kind: 'errno', errno: r } : { kind: 'ok' };
}
