/**
 * Kernel: mm/vma.c — splitting, merging and unmapping VMAs (6.12 form: __split_vma,
 * vma_prepare/vma_complete, vma_merge_new_range, vma_merge_existing_range, vma_expand,
 * commit_merge, dup_anon_vma, vma_modify_flags, do_vmi_munmap → do_vmi_align_munmap →
 * vms_gather_munmap_vmas / vms_complete_munmap_vmas / vms_clear_ptes, remove_vma,
 * vma_link_file / unlink_file_vma), plus the vm_flags_* helpers of include/linux/mm.h.
 *
 * Merging follows the newer form (vma_merge_new_range / vma_merge_existing_range + commit_merge,
 * 6.11+) for every generation; 6.4's monolithic vma_merge produced the same results. Where the
 * VMA write locks are taken differs (k.cfg.vma_lock_in_vma_prepare): 6.4's vma_prepare locks
 * vp->vma, adj_next, remove and remove2 — not a split's new piece, inserted unlocked — and
 * 6.4's dup_anon_vma locks dst itself; 6.6+ callers (__split_vma, vma_expand,
 * vma_merge_existing_range) lock every VMA, the new piece included, before vma_prepare, and
 * dup_anon_vma asserts it. Either way the VMA locks come before i_mmap_rwsem (lock order
 * vma_start_write → i_mmap_rwsem → anon_vma).
 * The "do not downgrade next to a VM_GROWSDOWN/GROWSUP neighbour" rule of do_vmi_align_munmap
 * (246c320a8cfe) lives until 6.4.y (k.cfg.munmap_no_downgrade_next_to_stack; removed in 6.5 by
 * "mm: Always downgrade mmap_lock if requested", never backported).
 *
 * The VMA tree is the locks engineer's maple tree (vma_iter_store overwrites the VMA's range,
 * vma_iter_clear empties a range); the kernel's vma iterator positioning is replaced by lookups.
 * Left out: uprobes, khugepaged_enter_vma, accounting limits (may_expand_vm, map_count limit,
 * locked_vm), mseal (can_modify_vma), vm_ops->may_split, anon_vma_name, the interval trees'
 * ordering (anon_vma and i_mmap are sets: pre/post_update are no-ops).
 */
import type { Task } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import type {
  anon_vma, file, mempolicy, mm_struct, userfaultfd_ctx, vm_area_struct, vm_operations_struct,
} from '../include/linux/mm_types.js';
import {
  PAGE_SHIFT, PAGE_SIZE, TASK_SIZE, VM_ACCOUNT, VM_GROWSDOWN, VM_SHARED, VM_SPECIAL,
} from '../include/linux/mm_flags.js';
import { generic_file_vm_ops } from './filemap.js';
import { EINVAL, ENOMEM } from '../include/linux/errno.js';
import { VM_BUG_ON_VMA, WARN_ON_ONCE } from '../include/linux/mmdebug.js';
import { down_write, up_write } from '../sync/rwsem.js';
import { refcount_dec_and_test, refcount_inc } from '../sync/refcount.js';
import { FIRST_USER_ADDRESS, USER_PGTABLES_CEILING } from './memory_unmap.js';
import { should_fail } from '../include/linux/fault_inject.js';

const PAGE_ALIGN = (x: number): number => Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
const vma_pages = (v: vm_area_struct): number => (v.vm_end - v.vm_start) / PAGE_SIZE;

/** An optional kernel function (another module's, not always present): looked up by name. */
function kfn_opt<F>(name: string): F | undefined {
  return (k.fn as unknown as Record<string, F | undefined>)[name];
}

// ---------------------------------------------------------------------------------------------
// Small helpers of include/linux (fs.h, rmap.h, mempolicy.h, mm.h)



/** i_mmap_lock_write(mapping) / i_mmap_unlock_write(mapping). */
function* i_mmap_lock_write(f: file): Task<void> {
  yield* down_write(f.f_mapping.i_mmap_rwsem);
}
function i_mmap_unlock_write(f: file): void {
  up_write(f.f_mapping.i_mmap_rwsem);
}

/** mpol_put(pol): through mm/mempolicy.ts when it provides it. */
function mpol_put(pol: mempolicy | null): void {
  if (!pol) return;
  const f = kfn_opt<(p: mempolicy) => void>('mpol_put');
  if (f) f(pol);
  else refcount_dec_and_test(pol.refcnt);
}

/** mpol_equal(a, b): same policy (the simulation compares the mode string). */
function mpol_equal(a: mempolicy | null, b: mempolicy | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.mode === b.mode;
}

/**
 * vma_dup_policy(src, dst) (mm/mempolicy.c): the new VMA gets src's policy. The kernel's mpol_dup
 * allocates a copy, and fails with -ENOMEM when it cannot (a fault-injection point here); the
 * copy is the same object with one more reference here (mpol_equal compares modes either way).
 */
export function* vma_dup_policy(src: vm_area_struct, dst: vm_area_struct): Task<number> {
  const pol = src.vm_policy;
  if (pol && (yield* should_fail('mpol_dup:kmem_cache_alloc_fail'))) return -ENOMEM;
  if (pol) refcount_inc(pol.refcnt);
  dst.vm_policy = pol;
  return 0;
}

/**
 * vm_flags_init(vma, flags): set the flags of a VMA nobody else can see yet (no lock needed).
 */
export function vm_flags_init(vma: vm_area_struct, flags: number): void {
  vma.vm_flags = flags;
}

/**
 * vm_flags_reset(vma, flags) (include/linux/mm.h): replace the flags of a live VMA. A fault
 * under the VMA lock reads vm_flags, so the VMA must be write-locked (I2, B26):
 * vma_assert_write_locked.
 */
export function vm_flags_reset(vma: vm_area_struct, flags: number): void {
  k.fn.vma_assert_write_locked(vma);
  k.fn.vm_flags_init(vma, flags);
}

/** vm_flags_reset_once(vma, flags): as vm_flags_reset, with WRITE_ONCE. */
export function vm_flags_reset_once(vma: vm_area_struct, flags: number): void {
  k.fn.vma_assert_write_locked(vma);
  vma.vm_flags = flags;
}

/** vm_flags_set(vma, flags) / vm_flags_clear(vma, flags): VMA write lock taken first. */
export function* vm_flags_set(vma: vm_area_struct, flags: number): Task<void> {
  yield* k.fn.vma_start_write(vma);
  vma.vm_flags |= flags;
}
export function* vm_flags_clear(vma: vm_area_struct, flags: number): Task<void> {
  yield* k.fn.vma_start_write(vma);
  vma.vm_flags &= ~flags;
}

/** vma_set_range(vma, start, end, pgoff) (mm/vma.h). */
export function vma_set_range(vma: vm_area_struct, start: number, end: number, pgoff: number): void {
  vma.vm_start = start;
  vma.vm_end = end;
  vma.vm_pgoff = pgoff;
}

/** vma_is_anonymous(vma): no vm_ops. */
export function vma_is_anonymous(vma: vm_area_struct): boolean {
  return vma.vm_ops === null;
}

// ---------------------------------------------------------------------------------------------
// i_mmap linking

/** vma_link_file(vma): insert a file VMA into its mapping's i_mmap under i_mmap_rwsem. */
export function* vma_link_file(vma: vm_area_struct): Task<void> {
  const f = vma.vm_file;
  if (!f) return;
  yield* i_mmap_lock_write(f);
  f.f_mapping.i_mmap.add(vma); // __vma_link_file → vma_interval_tree_insert
  i_mmap_unlock_write(f);
}

/**
 * unlink_file_vma(vma): hide a file VMA from rmap and truncation before its page tables are
 * freed.
 */
export function* unlink_file_vma(vma: vm_area_struct): Task<void> {
  const f = vma.vm_file;
  if (!f) return;
  yield* i_mmap_lock_write(f);
  f.f_mapping.i_mmap.delete(vma); // __remove_shared_vm_struct
  i_mmap_unlock_write(f);
}

/**
 * vma_link(mm, vma): write-lock a new VMA, make it visible in the tree, then link it into
 * i_mmap (the lock order vma_start_write → i_mmap_rwsem).
 */
export function* vma_link(mm: mm_struct, vma: vm_area_struct): Task<number> {
  yield* k.fn.vma_start_write(vma);
  yield* k.fn.vma_iter_store(mm, vma);
  yield* k.fn.vma_link_file(vma);
  mm.map_count++;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// vma_prepare / vma_complete

/** struct vma_prepare. */
export interface vma_prepare {
  readonly vma: vm_area_struct;
  readonly adj_next: vm_area_struct | null;
  readonly file: file | null;
  readonly anon_vma: anon_vma | null;
  insert: vm_area_struct | null;
  remove: vm_area_struct | null;
  remove2: vm_area_struct | null;
}

/** init_multi_vma_prep(vp, vma, next, remove, remove2). */
export function init_multi_vma_prep(
  vma: vm_area_struct, next: vm_area_struct | null, remove: vm_area_struct | null, remove2: vm_area_struct | null,
): vma_prepare {
  return {
    vma,
    adj_next: next,
    file: vma.vm_file,
    anon_vma: vma.anon_vma ?? next?.anon_vma ?? null,
    insert: null,
    remove,
    remove2,
  };
}

/**
 * vma_prepare(vp): take the rmap locks before changing VMA ranges: i_mmap_rwsem (and take the
 * VMAs out of i_mmap), then the anon_vma lock. 6.6+: the VMAs are already write-locked (caller).
 * 6.4 (vma_lock_in_vma_prepare): vma_prepare write-locks vp->vma, adj_next, remove and remove2
 * first — "vp->insert is always a newly created VMA, no need for locking".
 */
export function* vma_prepare(vp: vma_prepare): Task<void> {
  if (k.cfg.vma_lock_in_vma_prepare) {
    yield* k.fn.vma_start_write(vp.vma);
    if (vp.adj_next) yield* k.fn.vma_start_write(vp.adj_next);
    if (vp.remove) yield* k.fn.vma_start_write(vp.remove);
    if (vp.remove2) yield* k.fn.vma_start_write(vp.remove2);
  }
  if (vp.file) {
    yield* i_mmap_lock_write(vp.file);
    if (vp.insert && vp.insert.vm_file) vp.insert.vm_file.f_mapping.i_mmap.add(vp.insert); // __vma_link_file
  }
  if (vp.anon_vma) {
    yield* k.fn.anon_vma_lock_write(vp.anon_vma);
    // anon_vma_interval_tree_pre_update_vma(vp->vma), (vp->adj_next): the chains are sets here
  }
  if (vp.file) {
    vp.file.f_mapping.i_mmap.delete(vp.vma);
    if (vp.adj_next) vp.file.f_mapping.i_mmap.delete(vp.adj_next);
  }
}

/**
 * vma_complete(vp, mm): put the VMAs back into i_mmap, store an inserted VMA in the tree, drop
 * the rmap locks, and free the VMAs a merge removed (detached first).
 */
export function* vma_complete(vp: vma_prepare, mm: mm_struct): Task<void> {
  if (vp.file) {
    if (vp.adj_next) vp.file.f_mapping.i_mmap.add(vp.adj_next);
    vp.file.f_mapping.i_mmap.add(vp.vma);
  }
  if (vp.remove && vp.file) {
    vp.file.f_mapping.i_mmap.delete(vp.remove);
    if (vp.remove2) vp.file.f_mapping.i_mmap.delete(vp.remove2);
  } else if (vp.insert) {
    // split_vma has split insert from vma, and needs us to insert it before dropping the locks.
    yield* k.fn.vma_iter_store(mm, vp.insert);
    mm.map_count++;
  }
  if (vp.anon_vma) k.fn.anon_vma_unlock_write(vp.anon_vma);
  if (vp.file) i_mmap_unlock_write(vp.file);
  while (vp.remove) {
    const rm = vp.remove;
    yield* k.fn.vma_mark_detached(rm);
    if (vp.file) k.fn.fput(vp.file);
    if (rm.anon_vma) {
      // anon_vma_merge(vp->vma, vp->remove)
      VM_BUG_ON_VMA(vp.vma.anon_vma !== rm.anon_vma, vp.vma, 'anon_vma_merge: different anon_vma');
      yield* k.fn.unlink_anon_vmas(rm);
    }
    mm.map_count--;
    k.fn.mpol_put(rm.vm_policy);
    if (!vp.remove2) WARN_ON_ONCE(vp.vma.vm_end < rm.vm_end, 'vma_complete: merged vma ends before the removed one');
    yield* vm_area_free_any(rm);
    vp.remove = vp.remove2;
    vp.remove2 = null;
  }
}

/** vm_area_free(vma) (a plain function; a scheduling point before it). */
function* vm_area_free_any(vma: vm_area_struct): Task<void> {
  yield 'vm_area_free';
  k.fn.vm_area_free(vma);
}

// ---------------------------------------------------------------------------------------------
// Splitting

/**
 * __split_vma(vma, addr, new_below): split vma at addr; the new VMA is the part below addr
 * (new_below) or from addr on. 6.6+: both are write-locked before vma_prepare; 6.4: vma_prepare
 * write-locks vma only and the new VMA becomes visible unlocked.
 * Locks: mmap_write_lock held. Returns 0 or -ENOMEM.
 */
export function* __split_vma(vma: vm_area_struct, addr: number, new_below: boolean): Task<number> {
  const mm = vma.vm_mm;
  k.fn.mmap_assert_write_locked(mm);
  WARN_ON_ONCE(vma.vm_start >= addr, '__split_vma: vma->vm_start >= addr');
  WARN_ON_ONCE(vma.vm_end <= addr, '__split_vma: vma->vm_end <= addr');
  const nv = yield* k.fn.vm_area_dup(vma);
  if (new_below) {
    nv.vm_end = addr;
  } else {
    nv.vm_start = addr;
    nv.vm_pgoff += (addr - vma.vm_start) >> PAGE_SHIFT;
  }
  let err = yield* k.fn.vma_dup_policy(vma, nv);
  if (err) {
    yield* vm_area_free_any(nv);
    return err;
  }
  err = yield* k.fn.anon_vma_clone(nv, vma);
  if (err) {
    k.fn.mpol_put(nv.vm_policy);
    yield* vm_area_free_any(nv);
    return err;
  }
  if (nv.vm_file) k.fn.get_file(nv.vm_file);
  if (nv.vm_ops?.open) yield* nv.vm_ops.open(nv);

  if (!k.cfg.vma_lock_in_vma_prepare) {
    // 6.6+: both pieces before vma_prepare. (6.4: vma_prepare locks vma; the new piece is
    // inserted unlocked — faults may read-lock it as soon as vma_complete stores it.)
    yield* k.fn.vma_start_write(vma);
    yield* k.fn.vma_start_write(nv);
  }

  const vp = k.fn.init_multi_vma_prep(vma, null, null, null);
  vp.insert = nv;
  yield* k.fn.vma_prepare(vp);
  // A huge PMD the new boundary would cut is split first (khugepaged's THPs).
  yield* k.fn.vma_adjust_trans_huge(vma, vma.vm_start, addr, null, 0);
  yield '__split_vma:update_range';
  if (new_below) {
    vma.vm_start = addr;
    vma.vm_pgoff += (addr - nv.vm_start) >> PAGE_SHIFT;
  } else {
    vma.vm_end = addr;
  }
  // vma_complete stores the new vma
  yield* k.fn.vma_complete(vp, mm);
  return 0;
}

/** split_vma(vma, addr, new_below): __split_vma after the map_count limit check (left out). */
export function* split_vma(vma: vm_area_struct, addr: number, new_below: boolean): Task<number> {
  return yield* k.fn.__split_vma(vma, addr, new_below);
}

// ---------------------------------------------------------------------------------------------
// Merging

/** struct vma_merge_struct: the proposed range and its attributes. */
export interface vma_merge_struct {
  readonly mm: mm_struct;
  prev: vm_area_struct | null;
  next: vm_area_struct | null;
  /** The VMA being modified (existing range) or expanded (result). */
  vma: vm_area_struct | null;
  start: number;
  end: number;
  pgoff: number;
  flags: number;
  file: file | null;
  anon_vma: anon_vma | null;
  policy: mempolicy | null;
  uffd_ctx: userfaultfd_ctx | null;
  anon_name: string | null;
  state: 'nomerge' | 'success' | 'error_nomem';
}

/** is_mergeable_vma(vmg, merge_next). */
export function is_mergeable_vma(vmg: vma_merge_struct, merge_next: boolean): boolean {
  const vma = (merge_next ? vmg.next : vmg.prev)!;
  if (!k.fn.mpol_equal(vmg.policy, vma.vm_policy)) return false;
  // (VM_SOFTDIRTY, which the kernel ignores here, is not modelled.)
  if (vma.vm_flags !== vmg.flags) return false;
  if (vma.vm_file !== vmg.file) return false;
  if (vma.vm_userfaultfd_ctx !== vmg.uffd_ctx) return false;
  if (vma.anon_name !== vmg.anon_name) return false;
  return true;
}

/**
 * is_mergeable_anon_vma(anon_vma1, anon_vma2, vma): the list_is_singular() test avoids merging a
 * VMA cloned from a parent (its chain has several anon_vmas).
 */
export function is_mergeable_anon_vma(a1: anon_vma | null, a2: anon_vma | null, vma: vm_area_struct | null): boolean {
  if ((!a1 || !a2) && (!vma || vma.anon_vma_chain.length === 1)) return true;
  return a1 === a2;
}

export function can_vma_merge_before(vmg: vma_merge_struct): boolean {
  const pglen = (vmg.end - vmg.start) >> PAGE_SHIFT;
  const next = vmg.next!;
  return k.fn.is_mergeable_vma(vmg, true) && k.fn.is_mergeable_anon_vma(vmg.anon_vma, next.anon_vma, next) &&
    next.vm_pgoff === vmg.pgoff + pglen;
}

export function can_vma_merge_after(vmg: vma_merge_struct): boolean {
  const prev = vmg.prev!;
  return k.fn.is_mergeable_vma(vmg, false) && k.fn.is_mergeable_anon_vma(vmg.anon_vma, prev.anon_vma, prev) &&
    prev.vm_pgoff + vma_pages(prev) === vmg.pgoff;
}

export function can_vma_merge_left(vmg: vma_merge_struct): boolean {
  return !!vmg.prev && vmg.prev.vm_end === vmg.start && k.fn.can_vma_merge_after(vmg);
}

export function can_vma_merge_right(vmg: vma_merge_struct, can_merge_left: boolean): boolean {
  if (!vmg.next || vmg.end !== vmg.next.vm_start || !k.fn.can_vma_merge_before(vmg)) return false;
  if (!can_merge_left) return true;
  // prev and next must also be compatible with EACH OTHER.
  return k.fn.is_mergeable_anon_vma(vmg.prev!.anon_vma, vmg.next.anon_vma, null);
}

/** can_merge_remove_vma(vma): a VMA with ->close cannot be removed by a merge. */
export function can_merge_remove_vma(vma: vm_area_struct): boolean {
  return !vma.vm_ops?.close;
}

/**
 * dup_anon_vma(dst, src, dup): when a merge extends dst over src's pages, dst needs src's
 * anon_vma. dst must be write-locked (I2): vma_assert_write_locked.
 * Returns 0 or -ENOMEM, and the VMA whose anon_vma was set (to undo on failure).
 */
export function* dup_anon_vma(dst: vm_area_struct, src: vm_area_struct): Task<{ err: number; dup: vm_area_struct | null }> {
  if (src.anon_vma && !dst.anon_vma) {
    // 6.4.y: vma_start_write(dst) here (Jann Horn's stable fix); 6.6+: the caller locked it.
    if (k.cfg.vma_lock_in_vma_prepare) yield* k.fn.vma_start_write(dst);
    else k.fn.vma_assert_write_locked(dst);
    dst.anon_vma = src.anon_vma;
    const ret = yield* k.fn.anon_vma_clone(dst, src);
    if (ret) return { err: ret, dup: null };
    return { err: 0, dup: dst };
  }
  return { err: 0, dup: null };
}

/**
 * commit_merge(vmg, adjust, remove, remove2, adj_start, expanded): apply a merge decided by the
 * callers, who have write-locked every VMA involved.
 */
export function* commit_merge(
  vmg: vma_merge_struct, adjust: vm_area_struct | null, remove: vm_area_struct | null, remove2: vm_area_struct | null,
  adj_start: number, expanded: boolean,
): Task<number> {
  const vma = vmg.vma!;
  const vp = k.fn.init_multi_vma_prep(vma, adjust, remove, remove2);
  VM_BUG_ON_VMA(!!(vp.anon_vma && adjust && adjust.anon_vma && vp.anon_vma !== adjust.anon_vma), vma,
    'commit_merge: adjust has a different anon_vma');
  yield* k.fn.vma_prepare(vp);
  yield 'commit_merge:vma_set_range';
  k.fn.vma_set_range(vma, vmg.start, vmg.end, vmg.pgoff);
  if (expanded) yield* k.fn.vma_iter_store(vmg.mm, vma);
  if (adj_start && adjust) {
    adjust.vm_start += adj_start;
    adjust.vm_pgoff += adj_start / PAGE_SIZE;
    if (adj_start < 0) {
      WARN_ON_ONCE(expanded, 'commit_merge: adj_start < 0 while expanding');
      yield* k.fn.vma_iter_store(vmg.mm, adjust);
    }
  }
  yield* k.fn.vma_complete(vp, vmg.mm);
  return 0;
}

/**
 * vma_expand(vmg): expand vmg->vma to [vmg->start, vmg->end), removing vmg->next when the range
 * covers it. Write-locks vma (and next) first. Returns 0 or -ENOMEM.
 */
export function* vma_expand(vmg: vma_merge_struct): Task<number> {
  const vma = vmg.vma!;
  const next = vmg.next;
  let remove_next = false;
  let anon_dup: vm_area_struct | null = null;
  k.fn.mmap_assert_write_locked(vmg.mm);
  if (!k.cfg.vma_lock_in_vma_prepare) yield* k.fn.vma_start_write(vma);
  if (next && next !== vma && vmg.end === next.vm_end) {
    remove_next = true;
    if (!k.cfg.vma_lock_in_vma_prepare) yield* k.fn.vma_start_write(next);
    const r = yield* k.fn.dup_anon_vma(vma, next);
    if (r.err) return r.err;
    anon_dup = r.dup;
  }
  if ((yield* k.fn.commit_merge(vmg, null, remove_next ? next : null, null, 0, true)) !== 0) {
    vmg.state = 'error_nomem';
    if (anon_dup) yield* k.fn.unlink_anon_vmas(anon_dup);
    return -ENOMEM;
  }
  return 0;
}

/**
 * vma_merge_new_range(vmg): a new range [start, end) (empty in the tree) merges into prev and/or
 * next when they are compatible. Returns the expanded VMA or null.
 * Locks: mmap_write_lock held.
 */
export function* vma_merge_new_range(vmg: vma_merge_struct): Task<vm_area_struct | null> {
  const { prev, next, start, end, pgoff } = vmg;
  const pglen = (end - start) >> PAGE_SHIFT;
  k.fn.mmap_assert_write_locked(vmg.mm);
  vmg.state = 'nomerge';
  if (vmg.flags & VM_SPECIAL || (!prev && !next)) return null;
  yield 'vma_merge_new_range:can_vma_merge';
  const can_merge_left = k.fn.can_vma_merge_left(vmg);
  const can_merge_right = k.fn.can_vma_merge_right(vmg, can_merge_left);
  if (can_merge_right) {
    vmg.end = next!.vm_end;
    vmg.vma = next;
    vmg.pgoff = next!.vm_pgoff - pglen;
  }
  if (can_merge_left) {
    vmg.start = prev!.vm_start;
    vmg.vma = prev;
    vmg.pgoff = prev!.vm_pgoff;
    if (can_merge_right && !k.fn.can_merge_remove_vma(next!)) vmg.end = end;
  }
  if (vmg.vma && (yield* k.fn.vma_expand(vmg)) === 0) {
    vmg.state = 'success';
    return vmg.vma;
  }
  vmg.vma = null;
  vmg.start = start;
  vmg.end = end;
  vmg.pgoff = pgoff;
  return null;
}

/**
 * vma_merge_existing_range(vmg): [start, end) of vmg->vma changes attributes (vmg->flags …);
 * merge it with prev and/or next if they then match. Write-locks vma, and prev/next when they
 * are merged. Returns the merged VMA or null.
 */
export function* vma_merge_existing_range(vmg: vma_merge_struct): Task<vm_area_struct | null> {
  const vma = vmg.vma!;
  const prev = vmg.prev;
  const start = vmg.start;
  const end = vmg.end;
  const left_side = start === vma.vm_start;
  const right_side = end === vma.vm_end;
  let adjust: vm_area_struct | null = null;
  let adj_start = 0;
  k.fn.mmap_assert_write_locked(vmg.mm);
  vmg.state = 'nomerge';
  if (vmg.flags & VM_SPECIAL || (!left_side && !right_side)) return null;
  let next: vm_area_struct | null = null;
  const merge_left_0 = left_side ? k.fn.can_vma_merge_left(vmg) : false;
  let merge_right = false;
  if (right_side) {
    next = yield* k.fn.find_vma(vmg.mm, vma.vm_end); // vma_iter_next_range
    if (next && next.vm_start !== vma.vm_end) next = null;
    vmg.next = next;
    merge_right = k.fn.can_vma_merge_right(vmg, merge_left_0);
  }
  const merge_left = merge_left_0;
  if (!merge_left && !merge_right) return null;
  let merge_both = merge_left && merge_right;
  const merge_will_delete_vma = left_side && right_side;
  if (merge_will_delete_vma && !k.fn.can_merge_remove_vma(vma)) return null;
  let merge_will_delete_next = merge_both;
  if (merge_will_delete_next && !k.fn.can_merge_remove_vma(next!)) {
    merge_will_delete_next = false;
    merge_right = false;
    merge_both = false;
  }
  if (!k.cfg.vma_lock_in_vma_prepare) {
    // No matter what happens, we will be adjusting vma. (6.4: vma_prepare locks them.)
    yield* k.fn.vma_start_write(vma);
    if (merge_left) yield* k.fn.vma_start_write(prev!);
    if (merge_right) yield* k.fn.vma_start_write(next!);
  }

  let r: { err: number; dup: vm_area_struct | null };
  if (merge_both) {
    //         |<----->|
    // |-------*********-------|
    //   prev     vma     next
    vmg.vma = prev;
    vmg.start = prev!.vm_start;
    vmg.end = next!.vm_end;
    vmg.pgoff = prev!.vm_pgoff;
    r = yield* k.fn.dup_anon_vma(prev!, next!.anon_vma ? next! : vma);
  } else if (merge_left) {
    //         |<----->| OR |<--------->|
    // |-------*************
    vmg.vma = prev;
    vmg.start = prev!.vm_start;
    vmg.pgoff = prev!.vm_pgoff;
    if (!merge_will_delete_vma) {
      adjust = vma;
      adj_start = vmg.end - vma.vm_start;
    }
    r = yield* k.fn.dup_anon_vma(prev!, vma);
  } else {
    //     |<----->| OR |<--------->|
    // *************-------|
    //      vma       next
    const pglen = (vmg.end - vmg.start) >> PAGE_SHIFT;
    if (merge_will_delete_vma) {
      vmg.vma = next;
      vmg.end = next!.vm_end;
      vmg.pgoff = next!.vm_pgoff - pglen;
    } else {
      // We shrink vma and expand next.
      vmg.start = vma.vm_start;
      vmg.end = start;
      vmg.pgoff = vma.vm_pgoff;
      adjust = next;
      adj_start = -(vma.vm_end - start);
    }
    r = yield* k.fn.dup_anon_vma(next!, vma);
  }
  if (r.err) {
    vmg.state = 'error_nomem';
    return null;
  }
  const expanded = !merge_right || merge_will_delete_vma;
  if ((yield* k.fn.commit_merge(vmg, adjust, merge_will_delete_vma ? vma : null, merge_will_delete_next ? next : null, adj_start, expanded)) !== 0) {
    if (r.dup) yield* k.fn.unlink_anon_vmas(r.dup);
    vmg.state = 'error_nomem';
    return null;
  }
  vmg.state = 'success';
  return merge_left ? prev : next;
}

/** VMG_VMA_STATE: a merge description for [start, end) of an existing vma. */
function vmg_vma_state(prev: vm_area_struct | null, vma: vm_area_struct, start: number, end: number): vma_merge_struct {
  return {
    mm: vma.vm_mm, prev, next: null, vma, start, end,
    pgoff: vma.vm_pgoff + ((start - vma.vm_start) >> PAGE_SHIFT),
    flags: vma.vm_flags, file: vma.vm_file, anon_vma: vma.anon_vma, policy: vma.vm_policy,
    uffd_ctx: vma.vm_userfaultfd_ctx, anon_name: vma.anon_name, state: 'nomerge',
  };
}

/**
 * vma_modify(vmg): merge if possible, else split off the parts of vma outside [start, end).
 * Returns the VMA now covering exactly the range, or -errno.
 */
export function* vma_modify(vmg: vma_merge_struct): Task<vm_area_struct | number> {
  const vma = vmg.vma!;
  const merged = yield* k.fn.vma_merge_existing_range(vmg);
  if (merged) return merged;
  if (vmg.state === 'error_nomem') return -ENOMEM;
  if (vma.vm_start < vmg.start) {
    const err = yield* k.fn.split_vma(vma, vmg.start, true);
    if (err) return err;
  }
  if (vma.vm_end > vmg.end) {
    const err = yield* k.fn.split_vma(vma, vmg.end, false);
    if (err) return err;
  }
  return vma;
}

/**
 * vma_modify_flags(prev, vma, start, end, new_flags): the mprotect/madvise entry to vma_modify.
 * Locks: mmap_write_lock held.
 */
export function* vma_modify_flags(
  prev: vm_area_struct | null, vma: vm_area_struct, start: number, end: number, new_flags: number,
): Task<vm_area_struct | number> {
  const vmg = vmg_vma_state(prev, vma, start, end);
  vmg.flags = new_flags;
  return yield* k.fn.vma_modify(vmg);
}

/** vma_modify_policy(prev, vma, start, end, new_pol): the mbind entry to vma_modify. */
export function* vma_modify_policy(
  prev: vm_area_struct | null, vma: vm_area_struct, start: number, end: number, new_pol: mempolicy | null,
): Task<vm_area_struct | number> {
  const vmg = vmg_vma_state(prev, vma, start, end);
  vmg.policy = new_pol;
  return yield* k.fn.vma_modify(vmg);
}

/** vma_modify_flags_uffd(prev, vma, start, end, new_flags, new_ctx): userfaultfd (un)register. */
export function* vma_modify_flags_uffd(
  prev: vm_area_struct | null, vma: vm_area_struct, start: number, end: number, new_flags: number,
  new_ctx: userfaultfd_ctx | null,
): Task<vm_area_struct | number> {
  const vmg = vmg_vma_state(prev, vma, start, end);
  vmg.flags = new_flags;
  vmg.uffd_ctx = new_ctx;
  return yield* k.fn.vma_modify(vmg);
}

/**
 * sim_vmg_new_range(mm, prev, next, start, end, pgoff, flags, file): VMG_STATE for a new range
 * (mmap_region, copy_vma).
 */
export function sim_vmg_new_range(
  mm: mm_struct, prev: vm_area_struct | null, next: vm_area_struct | null, start: number, end: number,
  pgoff: number, flags: number, file: file | null,
): vma_merge_struct {
  return {
    mm, prev, next, vma: null, start, end, pgoff, flags, file, anon_vma: null, policy: null,
    uffd_ctx: null, anon_name: null, state: 'nomerge',
  };
}

// ---------------------------------------------------------------------------------------------
// Unmapping

/** vma_dummy_vm_ops (mm/init-mm.c): the operations of a VMA whose ->close has run. */
export const vma_dummy_vm_ops: vm_operations_struct = Object.freeze({ name: 'vma_dummy_vm_ops' });

/**
 * vma_close(vma) (mm/internal.h, 6.12+): call ->close once; "the mapping is in an inconsistent
 * state, and no further hooks may be invoked upon it" — vm_ops becomes vma_dummy_vm_ops.
 */
export function* vma_close(vma: vm_area_struct): Task<void> {
  if (vma.vm_ops?.close) {
    yield* vma.vm_ops.close(vma);
    vma.vm_ops = vma_dummy_vm_ops;
  }
}

/** remove_vma(vma, unreachable): close, drop the file and policy references, free the VMA. */
export function* remove_vma(vma: vm_area_struct): Task<void> {
  yield* k.fn.vma_close(vma);
  if (vma.vm_file) k.fn.fput(vma.vm_file);
  k.fn.mpol_put(vma.vm_policy);
  yield* vm_area_free_any(vma);
}

/** struct vma_munmap_struct. */
export interface vma_munmap_struct {
  readonly mm: mm_struct;
  vma: vm_area_struct;
  readonly start: number;
  readonly end: number;
  readonly unlock: boolean;
  prev: vm_area_struct | null;
  next: vm_area_struct | null;
  unmap_start: number;
  unmap_end: number;
  /** The detached tree (mas_detach): the VMAs being unmapped, in address order. */
  readonly detached: vm_area_struct[];
  nr_pages: number;
  clear_ptes: boolean;
}

/**
 * init_vma_munmap(vms, vmi, vma, start, end, uf, unlock) (mm/vma.h): a munmap of [start, end)
 * whose first overlapping VMA is vma (null: nothing mapped there).
 */
export function init_vma_munmap(
  mm: mm_struct, vma: vm_area_struct | null, start: number, end: number, unlock: boolean,
): vma_munmap_struct {
  return {
    mm, vma: vma!, start, end, unlock, prev: null, next: null, unmap_start: FIRST_USER_ADDRESS,
    unmap_end: USER_PGTABLES_CEILING, detached: [], nr_pages: 0, clear_ptes: false,
  };
}

/** reattach_vmas(mas_detach): undo a partial gather. */
export function reattach_vmas(vms: vma_munmap_struct): void {
  for (const v of vms.detached) k.fn.vma_mark_attached(v);
}

/**
 * vms_gather_munmap_vmas(vms): split the VMAs at the range ends, then write-lock and mark
 * detached every VMA of the range, collecting them (they are still in the tree; the caller
 * clears the range next). I8: write-locked before detached, detached before removed.
 */
export function* vms_gather_munmap_vmas(vms: vma_munmap_struct): Task<number> {
  const mm = vms.mm;
  if (vms.start > vms.vma.vm_start) {
    // Split off the part below start; vms.vma keeps [start, vm_end).
    if ((yield* k.fn.__split_vma(vms.vma, vms.start, true)) !== 0) return -ENOMEM;
  }
  vms.prev = (yield* k.fn.find_vma_prev(mm, vms.start)).prev;
  if (vms.prev) vms.unmap_start = vms.prev.vm_end;

  let addr = vms.start;
  for (;;) {
    const next = yield* k.fn.find_vma(mm, addr);
    if (!next || next.vm_start >= vms.end) break;
    // Does it split the end?
    if (next.vm_end > vms.end) {
      if ((yield* k.fn.__split_vma(next, vms.end, false)) !== 0) {
        k.fn.reattach_vmas(vms);
        return -ENOMEM;
      }
    }
    yield* k.fn.vma_start_write(next);
    vms.detached.push(next); // mas_store_gfp(mas_detach, next)
    yield* k.fn.vma_mark_detached(next);
    vms.nr_pages += vma_pages(next);
    // userfaultfd_unmap_prep (bumps ctx->mmap_changing, queues UFFD_EVENT_UNMAP)
    if (next.vm_userfaultfd_ctx) {
      const prep = kfn_opt<(v: vm_area_struct, s: number, e: number) => Task<number>>('userfaultfd_unmap_prep');
      if (prep && (yield* prep(next, vms.start, vms.end)) !== 0) {
        k.fn.reattach_vmas(vms);
        return -ENOMEM;
      }
    }
    addr = next.vm_end;
  }
  vms.next = yield* k.fn.find_vma(mm, vms.end);
  if (vms.next) vms.unmap_end = vms.next.vm_start;
  vms.clear_ptes = true;
  return 0;
}

/**
 * vms_clear_ptes(vms, mm_wr_locked): zap the PTEs of the detached VMAs and free their page
 * tables (the VMAs were isolated before the lock was downgraded).
 */
export function* vms_clear_ptes(vms: vma_munmap_struct, mm_wr_locked: boolean): Task<void> {
  if (!vms.clear_ptes) return;
  const tlb = k.fn.tlb_gather_mmu(vms.mm);
  yield* k.fn.unmap_vmas(tlb, vms.detached, vms.start, vms.end, mm_wr_locked);
  yield* k.fn.free_pgtables(tlb, vms.detached, vms.unmap_start, vms.unmap_end, mm_wr_locked);
  yield* k.fn.tlb_finish_mmu(tlb);
  vms.clear_ptes = false;
}

/**
 * vms_complete_munmap_vmas(vms): after the tree no longer has the range — downgrade to the read
 * lock if asked (releasing every VMA write lock: the VMAs are detached), zap, free the page
 * tables, free the VMAs, and drop the lock if asked.
 */
export function* vms_complete_munmap_vmas(vms: vma_munmap_struct): Task<void> {
  const mm = vms.mm;
  mm.map_count -= vms.detached.length;
  let downgrade = vms.unlock;
  if (downgrade && k.cfg.munmap_no_downgrade_next_to_stack) {
    // ≤6.4.y: do not downgrade mmap_lock next to a VM_GROWSDOWN (or GROWSUP) VMA; such VMAs
    // can change their size under mmap_read_lock and collide with the range being unmapped.
    if (vms.next && vms.next.vm_flags & VM_GROWSDOWN) downgrade = false;
  }
  if (downgrade) k.fn.mmap_write_downgrade(mm);
  yield* k.fn.vms_clear_ptes(vms, !downgrade);
  for (const v of vms.detached) yield* k.fn.remove_vma(v);
  if (vms.unlock) {
    if (downgrade) k.fn.mmap_read_unlock(mm);
    else k.fn.mmap_write_unlock(mm);
  }
}

/**
 * do_vmi_align_munmap(vma, mm, start, end, unlock): unmap the page-aligned [start, end); vma is
 * the first VMA overlapping it. Locks: mmap_write_lock held on entry; with unlock, released
 * (through the read lock) on success; on error the write lock is still held.
 */
export function* do_vmi_align_munmap(vma: vm_area_struct, mm: mm_struct, start: number, end: number, unlock: boolean): Task<number> {
  const vms = k.fn.init_vma_munmap(mm, vma, start, end, unlock);
  k.fn.mmap_assert_write_locked(mm);
  const error = yield* k.fn.vms_gather_munmap_vmas(vms);
  if (error) return error;
  yield* k.fn.vma_iter_clear(mm, start, end);
  // Point of no return
  yield* k.fn.vms_complete_munmap_vmas(vms);
  return 0;
}

/**
 * vms_clean_up_area(vms, mas_detach) (6.12+): clear the PTEs of the gathered VMAs while they are
 * still in the tree (so rmap cannot race with their freeing later) and close them (->mmap of
 * the new mapping may need the range quiet). Locks: mmap_write_lock.
 */
export function* vms_clean_up_area(vms: vma_munmap_struct): Task<void> {
  if (!vms.nr_pages) return;
  yield* k.fn.vms_clear_ptes(vms, true);
  for (const v of vms.detached) yield* k.fn.vma_close(v);
}

/**
 * vms_abort_munmap_vmas(vms, mas_detach) (6.12+): undo a gather that mmap_region cannot complete.
 * While the old VMAs still have their PTEs they are reattached (the mapping is unchanged);
 * once the PTEs are gone (vms_clean_up_area) "aborting cannot just call the vm_ops open()
 * because they are often not symmetrical and state data has been lost. Resort to the old
 * failure method of leaving a gap where the MAP_FIXED mapping failed."
 */
export function* vms_abort_munmap_vmas(vms: vma_munmap_struct): Task<void> {
  if (!vms.nr_pages) return;
  if (vms.clear_ptes) {
    k.fn.reattach_vmas(vms);
    return;
  }
  yield* k.fn.vma_iter_clear(vms.mm, vms.start, vms.end);
  yield* k.fn.vms_complete_munmap_vmas(vms);
}

/**
 * do_vmi_munmap(mm, start, len, unlock): munmap [start, start+len). Returns 0 (dropping the lock
 * if so directed) or -EINVAL with the lock still held.
 * Locks: mmap_write_lock held on entry.
 */
export function* do_vmi_munmap(mm: mm_struct, start: number, len: number, unlock: boolean): Task<number> {
  if (start % PAGE_SIZE !== 0 || start > TASK_SIZE || len > TASK_SIZE - start) return -EINVAL;
  const end = start + PAGE_ALIGN(len);
  if (end === start) return -EINVAL;
  // Find the first overlapping VMA
  const vma = yield* k.fn.find_vma_intersection(mm, start, end);
  if (!vma) {
    if (unlock) k.fn.mmap_write_unlock(mm);
    return 0;
  }
  return yield* k.fn.do_vmi_align_munmap(vma, mm, start, end, unlock);
}

// ---------------------------------------------------------------------------------------------
// mmap_region, 6.12+ (__mmap_region: mm/mmap.c in 6.12, mm/vma.c since 6.13)

/** struct mmap_state (6.13+): what __mmap_region carries between its steps. */
export interface mmap_state {
  readonly mm: mm_struct;
  readonly addr: number;
  readonly end: number;
  readonly pgoff: number;
  flags: number;
  readonly file: file | null;
  prev: vm_area_struct | null;
  next: vm_area_struct | null;
  /** The munmap of what the new mapping replaces (empty when nothing was mapped there). */
  vms: vma_munmap_struct;
}

/**
 * __mmap_prepare(map, uf): gather the VMAs the mapping replaces — split at the ends,
 * write-locked, detached, still in the tree (vms_gather_munmap_vmas) — then clear their PTEs and
 * close them while they are still there (vms_clean_up_area). 0 or -errno (nothing changed: a
 * failed gather has reattached what it took). Locks: mmap_write_lock.
 */
export function* __mmap_prepare(map: mmap_state): Task<number> {
  const vms = map.vms;
  if (vms.vma) {
    // Prepare to unmap any existing mapping in the area.
    const error = yield* k.fn.vms_gather_munmap_vmas(vms);
    if (error) {
      // On error VMAs will already have been reattached.
      vms.nr_pages = 0;
      return error;
    }
    map.next = vms.next;
    map.prev = vms.prev;
  } else {
    const { vma: next, prev } = yield* k.fn.find_vma_prev(map.mm, map.addr);
    map.prev = prev;
    map.next = next;
  }
  // Private writable mapping: check memory availability.
  if (k.fn.accountable_mapping(map.flags)) map.flags |= VM_ACCOUNT;
  // Clear PTEs while the vma is still in the tree so that rmap cannot race with the freeing
  // later in the truncate scenario. This is also needed for mmap_file(), which is why vm_ops
  // close function is called.
  yield* k.fn.vms_clean_up_area(vms);
  return 0;
}

/**
 * __mmap_new_vma(map, &vma): a new VMA for the range — the driver's ->mmap, a shmem object or an
 * anonymous VMA — write-locked and stored over the old VMAs' range (vma_iter_store), then linked
 * into i_mmap. Returns the VMA or -errno (nothing stored). Locks: mmap_write_lock.
 */
export function* __mmap_new_vma(map: mmap_state): Task<vm_area_struct | number> {
  const mm = map.mm;
  const vma = yield* k.fn.vm_area_alloc(mm);
  vma.vm_start = map.addr;
  vma.vm_end = map.end;
  vma.vm_pgoff = map.pgoff;
  k.fn.vm_flags_init(vma, map.flags);
  vma.vm_page_prot = k.fn.vm_get_page_prot(map.flags);
  const f = map.file;
  if (f) {
    // __mmap_new_file_vma: vma->vm_file = k.fn.get_file(map->file); mmap_file(...)
    vma.vm_file = k.fn.get_file(f);
    if (f.f_op?.mmap) {
      // (Locked early, as in the older path: ->mmap may use the vm_flags_* helpers.)
      yield* k.fn.vma_start_write(vma);
      const error = yield* f.f_op.mmap(f, vma);
      if (error) {
        k.fn.fput(f);
        vma.vm_file = null;
        // (unmap_region of a driver's partial mapping is left out: ->mmap maps nothing before
        // it fails here.)
        k.fn.vm_area_free(vma);
        return error;
      }
      map.flags = vma.vm_flags;
    } else {
      vma.vm_ops = generic_file_vm_ops;
    }
  } else if (map.flags & VM_SHARED) {
    k.fn.shmem_zero_setup(vma);
  } else {
    vma.vm_ops = null; // vma_set_anonymous
  }
  // Lock the VMA since it is modified after insertion into VMA tree.
  yield* k.fn.vma_start_write(vma);
  yield* k.fn.vma_iter_store(mm, vma); // vma_iter_store_new: overwrites the gathered VMAs
  mm.map_count++;
  yield* k.fn.vma_link_file(vma);
  return vma;
}

/**
 * __mmap_complete(map, vma): the new mapping is in: free what it replaced
 * (vms_complete_munmap_vmas: their PTEs are already gone) and set the page protection.
 */
export function* __mmap_complete(map: mmap_state, vma: vm_area_struct): Task<void> {
  // Unmap any existing mapping in the area.
  yield* k.fn.vms_complete_munmap_vmas(map.vms);
  k.fn.vma_set_page_prot(vma);
}

/**
 * __mmap_region(file, addr, len, vm_flags, pgoff, uf) (6.12+, f8d112a4e657 "mm/mmap: avoid
 * zeroing vma tree in mmap_region()"): the old VMAs stay in the tree — write-locked, detached,
 * their PTEs cleared — until the new VMA (or a merged neighbour) overwrites their range, so a
 * lookup never finds the range empty; a failure after the gather reattaches them or, once their
 * PTEs are gone, leaves a gap (vms_abort_munmap_vmas). Locks: mmap_write_lock. Returns addr or
 * -errno.
 */
export function* __mmap_region(mm: mm_struct, f: file | null, addr: number, len: number, vm_flags: number, pgoff: number): Task<number> {
  const end = addr + len;
  const map: mmap_state = {
    mm, addr, end, pgoff, flags: vm_flags, file: f, prev: null, next: null,
    vms: k.fn.init_vma_munmap(mm, yield* k.fn.find_vma_intersection(mm, addr, end), addr, end, false),
  };
  let error = yield* k.fn.__mmap_prepare(map);
  if (error) {
    yield* k.fn.vms_abort_munmap_vmas(map.vms);
    return error;
  }
  // Attempt to merge with adjacent VMAs...
  let vma: vm_area_struct | null = null;
  if ((map.prev || map.next) && !(f === null && map.flags & VM_SHARED)) {
    const vmg = k.fn.sim_vmg_new_range(mm, map.prev, map.next, addr, end, pgoff, map.flags, f);
    vma = yield* k.fn.vma_merge_new_range(vmg);
  }
  // ...but if we can't, allocate a new VMA.
  if (!vma) {
    const r = yield* k.fn.__mmap_new_vma(map);
    if (typeof r === 'number') {
      error = r;
      yield* k.fn.vms_abort_munmap_vmas(map.vms);
      return error;
    }
    vma = r;
  }
  yield* k.fn.__mmap_complete(map, vma);
  return addr;
}
