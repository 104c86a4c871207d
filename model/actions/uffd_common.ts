/** Helpers shared by the userfaultfd actions (fs/userfaultfd.c, mm/userfaultfd.c). */
import { EINVAL, ENOMEM, type UffdMode } from '../ops.js';
import { MMAP_MIN_ADDR, PAGE_SIZE, TASK_SIZE, type FileState, type Vma } from '../state.js';

/** validate_range: page-aligned, non-empty, within [mmap_min_addr, TASK_SIZE). */
export function validateRange(start: number, len: number): number | null {
  if (start % PAGE_SIZE !== 0 || len % PAGE_SIZE !== 0 || len <= 0) return EINVAL;
  if (start < MMAP_MIN_ADDR || start >= TASK_SIZE || len > TASK_SIZE - start) return EINVAL;
  return null;
}

/**
 * vma_can_userfault: missing mode on private anonymous memory and shmem; wp on the same (shmem
 * wp needs the feature, assumed on). Private file mappings and driver mappings cannot register.
 */
export function canUserfault(v: Vma, files: Readonly<Record<string, FileState>>, _mode: UffdMode | null): boolean {
  if (v.driver) return false;
  if (v.file === null) return !v.shared;
  return v.shared && (files[v.file]?.shmem ?? false);
}

/** The VMAs intersecting [start, end): none → -ENOMEM (vma_find returns NULL). */
export function intersecting(vmas: readonly Vma[], start: number, end: number): readonly Vma[] | number {
  const hit = vmas.filter((v) => v.end > start && v.start < end);
  return hit.length === 0 ? ENOMEM : hit;
}
