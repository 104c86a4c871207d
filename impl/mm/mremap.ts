/**
 * Kernel: mm/mremap.c (6.6–6.15 form: SYSCALL mremap, mremap_to, vma_to_resize,
 * vma_expandable, move_vma, move_page_tables, move_normal_pmd, move_ptes, take_rmap_locks) and
 * copy_vma (mm/vma.c since 6.10, mm/mmap.c before).
 *
 * Moving: move_vma write-locks the old VMA ("mm/mremap: write-lock VMA while remapping it to a
 * new address range", 6.4) so no fault under the VMA lock sees a half-moved range; copy_vma
 * creates (write-locked, vma_link) or merges the destination VMA; move_page_tables moves each
 * PMD-sized, PMD-aligned extent whole (move_normal_pmd, rmap locks held) or its PTEs
 * (move_ptes: both PTLs, ptep_get_and_clear, TLB flush before dropping the PTLs, I16); then the
 * old range is unmapped — except with MREMAP_DONTUNMAP, which keeps the old VMA (now empty) and
 * unlink_anon_vmas() it when it covered exactly the moved range (the B10 ingredient).
 * userfaultfd: mremap_userfaultfd_prep after a successful move; after mmap_write_unlock the
 * early unmap events (MREMAP_FIXED's target), UFFD_EVENT_REMAP, then the unmap events.
 *
 * Huge PMDs (khugepaged's THPs): moved whole by move_huge_pmd when the extent is the whole
 * PMD, split otherwise.
 *
 * Left out: hugetlb, mlock accounting and mm_populate, VM_ACCOUNT charging, ksm_madvise,
 * vm_ops->mremap / may_split, PUD moves, address realignment (try_realign_addr), the 6.17
 * multi-VMA move, mseal; old_len == 0 (duplicating a shared mapping) is -EINVAL.
 */
import type { Task } from '../rt/task.js';
import { k, current_mm } from '../sim/kernel.js';
import type { mm_struct, pmd_t, vm_area_struct } from '../include/linux/mm_types.js';
import {
  MAP_FIXED, MAP_SHARED, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, TASK_SIZE,
  VM_DONTEXPAND, VM_LOCKED, VM_MAYSHARE, VM_PFNMAP, VM_SHARED,
} from '../include/linux/mm_flags.js';
import { EAGAIN, EFAULT, EINTR, EINVAL, ENOMEM, ESRCH } from '../include/linux/errno.js';
import { VM_BUG_ON, VM_BUG_ON_VMA, WARN_ON_ONCE } from '../include/linux/mmdebug.js';
import { spin_lock_nested, spin_unlock } from '../sync/spinlock.js';
import { step } from '../rt/task.js';
import { down_write, up_write } from '../sync/rwsem.js';
import { SINGLE_DEPTH_NESTING } from '../sync/lockdep.js';
import { sim_uffd_take_unmap_list, type userfaultfd_unmap_ctx, type vm_userfaultfd_ctx } from './userfaultfd.js';
import type { MremapOp, ModelResult } from '../../model/ops.js';

const PAGE_ALIGN = (x: number): number => Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
const pmd_index = (addr: number): number => Math.floor(addr / PMD_SIZE);

// ---------------------------------------------------------------------------------------------
// Page tables

/** take_rmap_locks(vma): i_mmap_rwsem, then the anon_vma lock, so rmap sees old or new PTEs. */
export function* take_rmap_locks(vma: vm_area_struct): Task<void> {
  if (vma.vm_file) yield* down_write(vma.vm_file.f_mapping.i_mmap_rwsem);
  if (vma.anon_vma) yield* k.fn.anon_vma_lock_write(vma.anon_vma);
}

/** drop_rmap_locks(vma). */
export function drop_rmap_locks(vma: vm_area_struct): void {
  if (vma.anon_vma) k.fn.anon_vma_unlock_write(vma.anon_vma);
  if (vma.vm_file) up_write(vma.vm_file.f_mapping.i_mmap_rwsem);
}

/**
 * move_ptes(vma, old_pmd, old_addr, old_end, new_vma, new_pmd, new_addr, need_rmap_locks):
 * move the PTEs of one table under both PTLs (the new one nested: exclusive mmap_lock prevents
 * an ABBA), flushing the TLB before the PTLs go if a present PTE moved.
 * Locks: mmap_write_lock, the old VMA write-locked. Returns 0 or -EAGAIN (table vanished).
 */
export function* move_ptes(vma: vm_area_struct, old_pmd: pmd_t, old_addr: number, old_end: number,
  new_vma: vm_area_struct, new_pmd: pmd_t, new_addr: number, need_rmap_locks: boolean): Task<number> {
  const mm = vma.vm_mm;
  let force_flush = false;
  const len = old_end - old_addr;
  let err = 0;
  if (need_rmap_locks) yield* k.fn.take_rmap_locks(vma);
  out: {
    const old_pte = yield* k.fn.pte_offset_map_lock(mm, old_pmd, old_addr);
    if (!old_pte) {
      err = -EAGAIN;
      break out;
    }
    const new_pte = yield* k.fn.pte_offset_map_rw_nolock(mm, new_pmd, new_addr);
    if (!new_pte) {
      k.fn.pte_unmap_unlock(old_pte);
      err = -EAGAIN;
      break out;
    }
    if (new_pte !== old_pte) yield* spin_lock_nested(new_pte.ptl, SINGLE_DEPTH_NESTING);
    for (; old_addr < old_end; old_addr += PAGE_SIZE, new_addr += PAGE_SIZE) {
      yield 'move_ptes:ptep_get';
      if (k.fn.ptep_get(old_pte, old_addr).kind === 'none') continue;
      const pte = k.fn.ptep_get_and_clear(mm, old_addr, old_pte);
      // If we are remapping a valid PTE, make sure to flush TLB before we drop the PTL.
      if (pte.kind === 'present') force_flush = true;
      k.fn.set_pte_at(mm, new_addr, new_pte, pte); // move_pte, move_soft_dirty_pte
    }
    if (force_flush) yield* k.fn.flush_tlb_range(vma, old_end - len, old_end);
    if (new_pte !== old_pte) spin_unlock(new_pte.ptl);
    k.fn.pte_unmap(new_pte);
    k.fn.pte_unmap_unlock(old_pte);
  }
  if (need_rmap_locks) k.fn.drop_rmap_locks(vma);
  return err;
}

/**
 * move_normal_pmd(vma, old_addr, new_addr, old_pmd, new_pmd): move a whole PTE table from one
 * PMD entry to another (both PMD-aligned, the new one empty) under the PMD locks (the new one
 * nested when it is another lock). Under the lock the old entry is re-checked ("Racing with
 * collapse?": none or huge now — khugepaged or a split got there first — then nothing is moved);
 * it is cleared before the new one is populated, so for a moment the table hangs off neither:
 * a lockless walker sees none at both addresses. The TLB is flushed for the old range before the
 * locks go. Locks: mmap_write_lock, the VMA write-locked, rmap locks (move_pgt_entry).
 * Returns true when moved.
 */
export function* move_normal_pmd(vma: vm_area_struct, old_addr: number, new_addr: number, old_pmd: pmd_t, new_pmd: pmd_t): Task<boolean> {
  const mm = vma.vm_mm;
  // The destination pmd shouldn't be established, free_pgtables() should have released it.
  if (WARN_ON_ONCE(!k.fn.pmd_none(new_pmd), 'move_normal_pmd: destination pmd populated')) return false;
  // We don't have to worry about the ordering of src and dst ptlocks because exclusive
  // mmap_lock prevents deadlock.
  const old_ptl = yield* k.fn.pmd_lock(mm, old_pmd);
  const new_ptl = k.fn.pmd_lockptr(mm, new_pmd);
  if (new_ptl !== old_ptl) yield* spin_lock_nested(new_ptl, SINGLE_DEPTH_NESTING);
  let res = false;
  // Clear the pmd
  const pmd = k.fn.pmdp_get(old_pmd);
  // Racing with collapse?
  if (pmd.kind === 'table') {
    yield step('move_normal_pmd:pmd_clear', old_pmd);
    k.fn.pmd_clear(old_pmd);
    res = true;
    VM_BUG_ON(!k.fn.pmd_none(new_pmd), 'move_normal_pmd: !pmd_none(*new_pmd)');
    yield step('move_normal_pmd:pmd_populate', new_pmd);
    k.fn.pmd_populate(mm, new_pmd, pmd.table); // pmd_populate(mm, new_pmd, pmd_pgtable(pmd))
    yield* k.fn.flush_tlb_range(vma, old_addr, old_addr + PMD_SIZE);
  }
  void new_addr;
  if (new_ptl !== old_ptl) spin_unlock(new_ptl);
  spin_unlock(old_ptl);
  return res;
}

/**
 * move_page_tables(vma, old_addr, new_vma, new_addr, len, need_rmap_locks): move the page
 * tables of [old_addr, old_addr+len) to new_addr. Returns how much was moved.
 * Locks: mmap_write_lock; both VMAs write-locked.
 */
export function* move_page_tables(vma: vm_area_struct, old_addr: number, new_vma: vm_area_struct, new_addr: number,
  len: number, need_rmap_locks: boolean): Task<number> {
  if (!len) return 0;
  const mm = vma.vm_mm;
  const old_end = old_addr + len;
  let extent = 0;
  for (; old_addr < old_end; old_addr += extent, new_addr += extent) {
    // get_extent(NORMAL_PMD, old_addr, old_end, new_addr)
    const next = (pmd_index(old_addr) + 1) * PMD_SIZE;
    extent = Math.min(next, old_end) - old_addr;
    const new_next = (pmd_index(new_addr) + 1) * PMD_SIZE;
    if (extent > new_next - new_addr) extent = new_next - new_addr;
    yield 'move_page_tables:get_old_pmd';
    const old_pmd = mm.pgd.get(pmd_index(old_addr)) ?? null;
    if (!old_pmd || k.fn.pmd_none(old_pmd)) continue;
    const new_pmd = k.fn.pmd_off(mm, new_addr); // alloc_new_pmd
    let moved = false;
    for (;;) { // again:
      if (k.fn.pmd_trans_huge(old_pmd)) {
        if (extent === PMD_SIZE) {
          // move_pgt_entry(HPAGE_PMD, ..., need_rmap_locks)
          if (need_rmap_locks) yield* k.fn.take_rmap_locks(vma);
          moved = yield* k.fn.move_huge_pmd(vma, old_addr, new_addr, old_pmd, new_pmd);
          if (need_rmap_locks) k.fn.drop_rmap_locks(vma);
          if (moved) break;
        }
        yield* k.fn.split_huge_pmd(vma, old_pmd, old_addr);
      } else if (extent === PMD_SIZE) {
        // If the extent is PMD-sized, try to speed the move by moving at the PMD level if possible.
        // move_pgt_entry(NORMAL_PMD, ..., need_rmap_locks = true)
        yield* k.fn.take_rmap_locks(vma);
        moved = yield* k.fn.move_normal_pmd(vma, old_addr, new_addr, old_pmd, new_pmd);
        k.fn.drop_rmap_locks(vma);
        if (moved) break;
      }
      if (k.fn.pmd_none(old_pmd)) break;
      if (yield* k.fn.pte_alloc(new_vma.vm_mm, new_pmd)) return len + old_addr - old_end;
      if ((yield* k.fn.move_ptes(vma, old_pmd, old_addr, old_addr + extent, new_vma, new_pmd, new_addr, need_rmap_locks)) < 0) continue;
      break;
    }
  }
  return len + old_addr - old_end;
}

// ---------------------------------------------------------------------------------------------
// VMAs

/** The result of copy_vma: the destination, whether rmap locks are needed, and the (maybe merged) source. */
export interface sim_copy_vma_result {
  readonly new_vma: vm_area_struct;
  readonly vma: vm_area_struct;
  readonly need_rmap_locks: boolean;
}

/**
 * copy_vma(vmap, addr, len, pgoff): the destination VMA of a move — merged with a neighbour
 * (vma_merge_new_range) or a new VMA (vm_area_dup, policy, anon_vma_clone, vma_link: write-locked
 * before it is visible). An anonymous VMA never faulted takes the new address as pgoff.
 * Locks: mmap_write_lock. Returns null on failure.
 */
export function* copy_vma(vma: vm_area_struct, addr: number, len: number, pgoff: number): Task<sim_copy_vma_result | null> {
  const vma_start = vma.vm_start;
  const mm = vma.vm_mm;
  let faulted_in_anon_vma = true;
  // If anonymous vma has not yet been faulted, update new pgoff to match new location.
  if (k.fn.vma_is_anonymous(vma) && !vma.anon_vma) {
    pgoff = addr >> PAGE_SHIFT;
    faulted_in_anon_vma = false;
  }
  const fp = yield* k.fn.find_vma_prev(mm, addr);
  if (fp.vma && fp.vma.vm_start < addr + len) return null; // should never get here
  const vmg = k.fn.sim_vmg_new_range(mm, fp.prev, fp.vma, addr, addr + len, pgoff, vma.vm_flags, vma.vm_file);
  vmg.anon_vma = vma.anon_vma;
  vmg.policy = vma.vm_policy;
  vmg.uffd_ctx = vma.vm_userfaultfd_ctx;
  vmg.anon_name = vma.anon_name;
  let new_vma = yield* k.fn.vma_merge_new_range(vmg);
  if (new_vma) {
    // Source vma may have been merged into new_vma
    if (vma_start >= new_vma.vm_start && vma_start < new_vma.vm_end) {
      VM_BUG_ON_VMA(faulted_in_anon_vma, new_vma, 'copy_vma: merged with a faulted-in source');
      vma = new_vma;
    }
    return { new_vma, vma, need_rmap_locks: new_vma.vm_pgoff <= vma.vm_pgoff };
  }
  new_vma = yield* k.fn.vm_area_dup(vma);
  new_vma.vm_start = addr;
  new_vma.vm_end = addr + len;
  new_vma.vm_pgoff = pgoff;
  if (yield* k.fn.vma_dup_policy(vma, new_vma)) {
    k.fn.vm_area_free(new_vma);
    return null;
  }
  if (yield* k.fn.anon_vma_clone(new_vma, vma)) {
    k.fn.mpol_put(new_vma.vm_policy);
    k.fn.vm_area_free(new_vma);
    return null;
  }
  if (new_vma.vm_file) k.fn.get_file(new_vma.vm_file);
  if (new_vma.vm_ops?.open) yield* new_vma.vm_ops.open(new_vma);
  if (yield* k.fn.vma_link(mm, new_vma)) return null;
  return { new_vma, vma, need_rmap_locks: false };
}

/**
 * vma_to_resize(addr, old_len, new_len, flags): the VMA at addr, if the range can be
 * remapped: -EFAULT (no VMA, crosses its end, growing a VM_PFNMAP/DONTEXPAND VMA), -EINVAL.
 */
export function* vma_to_resize(addr: number, old_len: number, new_len: number, flags: number): Task<vm_area_struct | number> {
  const mm = current_mm()!;
  const vma = yield* k.fn.vma_lookup(mm, addr);
  if (!vma) return -EFAULT;
  if (!old_len && !(vma.vm_flags & (VM_SHARED | VM_MAYSHARE))) return -EINVAL;
  if (!old_len) return -EINVAL; // duplicating a shared mapping: left out
  if (flags & MREMAP_DONTUNMAP && vma.vm_flags & (VM_DONTEXPAND | VM_PFNMAP)) return -EINVAL;
  // We can't remap across vm area boundaries
  if (old_len > vma.vm_end - addr) return -EFAULT;
  if (new_len === old_len) return vma;
  if (vma.vm_flags & (VM_DONTEXPAND | VM_PFNMAP)) return -EFAULT;
  return vma;
}

/** vma_expandable(vma, delta): nothing mapped in [vm_end, vm_end + delta) and still in range. */
export function* vma_expandable(vma: vm_area_struct, delta: number): Task<boolean> {
  const end = vma.vm_end + delta;
  if (end > TASK_SIZE) return false;
  if (yield* k.fn.find_vma_intersection(vma.vm_mm, vma.vm_end, end)) return false;
  return true;
}

/**
 * move_vma(vma, old_addr, old_len, new_len, new_addr, flags, uf, uf_unmap): the move itself.
 * Returns new_addr or -errno. Locks: mmap_write_lock held throughout.
 */
export function* move_vma(vma: vm_area_struct, old_addr: number, old_len: number, new_len: number, new_addr: number,
  flags: number, uf: vm_userfaultfd_ctx, uf_unmap: userfaultfd_unmap_ctx[]): Task<number> {
  const mm = vma.vm_mm;
  let err = 0;
  yield* k.fn.vma_start_write(vma);
  const new_pgoff = vma.vm_pgoff + ((old_addr - vma.vm_start) >> PAGE_SHIFT);
  const c = yield* k.fn.copy_vma(vma, new_addr, new_len, new_pgoff);
  if (!c) return -ENOMEM;
  vma = c.vma;
  let new_vma = c.new_vma;
  const moved_len = yield* k.fn.move_page_tables(vma, old_addr, new_vma, new_addr, old_len, c.need_rmap_locks);
  if (moved_len < old_len) err = -ENOMEM;
  let ret = new_addr;
  if (err) {
    // On error, move entries back from new area to old, which will succeed since page tables
    // still there, and then proceed to unmap new area instead of old.
    yield* k.fn.move_page_tables(new_vma, new_addr, vma, old_addr, moved_len, true);
    [vma, new_vma] = [new_vma, vma];
    old_len = new_len;
    old_addr = new_addr;
    ret = err;
  } else {
    yield* k.fn.mremap_userfaultfd_prep(new_vma, uf);
  }
  if (!err && flags & MREMAP_DONTUNMAP) {
    // We always clear VM_LOCKED[ONFAULT] on the old vma
    yield* k.fn.vm_flags_clear(vma, VM_LOCKED);
    // anon_vma links of the old vma is no longer needed after its page table has been moved.
    if (new_vma !== vma && vma.vm_start === old_addr && vma.vm_end === old_addr + old_len) {
      yield* k.fn.unlink_anon_vmas(vma);
    }
    return ret;
  }
  const r = yield* k.fn.do_vmi_munmap(mm, old_addr, old_len, false);
  uf_unmap.push(...sim_uffd_take_unmap_list());
  void r; // OOM: unable to split vma, just get accounts right
  return ret;
}

/**
 * mremap_to(addr, old_len, new_addr, new_len, flags, uf, uf_unmap_early, uf_unmap):
 * MREMAP_FIXED / MREMAP_DONTUNMAP — unmap the target (fixed), shrink the source if needed,
 * then move. Locks: mmap_write_lock held.
 */
export function* mremap_to(addr: number, old_len: number, new_addr: number, new_len: number, flags: number,
  uf: vm_userfaultfd_ctx, uf_unmap_early: userfaultfd_unmap_ctx[], uf_unmap: userfaultfd_unmap_ctx[]): Task<number> {
  const mm = current_mm()!;
  if (new_addr % PAGE_SIZE !== 0) return -EINVAL;
  if (new_len > TASK_SIZE || new_addr > TASK_SIZE - new_len) return -EINVAL;
  // Ensure the old/new locations do not overlap
  if (addr + old_len > new_addr && new_addr + new_len > addr) return -EINVAL;
  let ret: number;
  if (flags & MREMAP_FIXED) {
    ret = yield* k.fn.do_vmi_munmap(mm, new_addr, new_len, false);
    uf_unmap_early.push(...sim_uffd_take_unmap_list());
    if (ret) return ret;
  }
  if (old_len > new_len) {
    ret = yield* k.fn.do_vmi_munmap(mm, addr + new_len, old_len - new_len, false);
    uf_unmap.push(...sim_uffd_take_unmap_list());
    if (ret) return ret;
    old_len = new_len;
  }
  const vma = yield* k.fn.vma_to_resize(addr, old_len, new_len, flags);
  if (typeof vma === 'number') return vma;
  let map_flags = 0;
  if (flags & MREMAP_FIXED) map_flags |= MAP_FIXED;
  if (vma.vm_flags & VM_MAYSHARE) map_flags |= MAP_SHARED;
  if (flags & MREMAP_FIXED) {
    // get_unmapped_area(MAP_FIXED): the fixed address itself (already checked above)
  } else {
    ret = yield* k.fn.get_unmapped_area(mm, 0, new_len, map_flags);
    if (ret < 0) return ret;
    new_addr = ret;
  }
  return yield* k.fn.move_vma(vma, addr, old_len, new_len, new_addr, flags, uf, uf_unmap);
}

/**
 * sys_mremap(addr, old_len, new_len, flags, new_addr): the mremap(2) system call on
 * current->mm. Returns the (new) address or -errno.
 * Locks: mmap_write_lock_killable for the call; the uffd events are delivered after unlocking.
 */
export function* sys_mremap(addr: number, old_len: number, new_len: number, flags: number, new_addr: number): Task<number> {
  const mm = current_mm();
  if (!mm) return -ESRCH;
  const uf: vm_userfaultfd_ctx = { ctx: null };
  const uf_unmap_early: userfaultfd_unmap_ctx[] = [];
  const uf_unmap: userfaultfd_unmap_ctx[] = [];
  let ret = -EINVAL;
  if (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) return ret;
  if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) return ret;
  // MREMAP_DONTUNMAP is always a move and it does not allow resizing in the process.
  if (flags & MREMAP_DONTUNMAP && (!(flags & MREMAP_MAYMOVE) || old_len !== new_len)) return ret;
  if (addr % PAGE_SIZE !== 0) return ret;
  old_len = PAGE_ALIGN(old_len);
  new_len = PAGE_ALIGN(new_len);
  // A zero new-len is nonsensical.
  if (!new_len) return ret;
  if (yield* k.fn.mmap_write_lock_killable(mm)) return -EINTR;
  let unlocked = false;
  out: {
    const vma = yield* k.fn.vma_lookup(mm, addr);
    if (!vma) {
      ret = -EFAULT;
      break out;
    }
    if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
      ret = yield* k.fn.mremap_to(addr, old_len, new_addr, new_len, flags, uf, uf_unmap_early, uf_unmap);
      break out;
    }
    // Always allow a shrinking remap: that just unmaps the unnecessary pages.
    if (old_len >= new_len) {
      if (old_len === new_len) {
        ret = addr;
        break out;
      }
      ret = yield* k.fn.do_vmi_munmap(mm, addr + new_len, old_len - new_len, true);
      uf_unmap.push(...sim_uffd_take_unmap_list());
      if (ret) break out;
      ret = addr;
      unlocked = true;
      break out;
    }
    // Ok, we need to grow..
    const v = yield* k.fn.vma_to_resize(addr, old_len, new_len, flags);
    if (typeof v === 'number') {
      ret = v;
      break out;
    }
    // old_len exactly to the end of the area..
    if (old_len === v.vm_end - addr) {
      const delta = new_len - old_len;
      // can we just expand the current mapping?
      if (yield* k.fn.vma_expandable(v, delta)) {
        // vma_merge_extend(): merge the extension into the VMA (and maybe the next one).
        const next = yield* k.fn.find_vma(mm, v.vm_end);
        const vmg = k.fn.sim_vmg_new_range(mm, v, next, v.vm_end, v.vm_end + delta,
          v.vm_pgoff + ((v.vm_end - v.vm_start) >> PAGE_SHIFT), v.vm_flags, v.vm_file);
        vmg.anon_vma = v.anon_vma;
        vmg.policy = v.vm_policy;
        vmg.uffd_ctx = v.vm_userfaultfd_ctx;
        vmg.anon_name = v.anon_name;
        const merged = yield* k.fn.vma_merge_new_range(vmg);
        ret = merged ? addr : -ENOMEM;
        break out;
      }
    }
    // We weren't able to just expand or shrink the area, we need to create a new one and move it..
    ret = -ENOMEM;
    if (flags & MREMAP_MAYMOVE) {
      let map_flags = 0;
      if (v.vm_flags & VM_MAYSHARE) map_flags |= MAP_SHARED;
      const na = yield* k.fn.get_unmapped_area(mm, 0, new_len, map_flags);
      if (na < 0) {
        ret = na;
        break out;
      }
      ret = yield* k.fn.move_vma(v, addr, old_len, new_len, na, flags, uf, uf_unmap);
    }
  }
  if (!unlocked) k.fn.mmap_write_unlock(mm);
  yield* k.fn.userfaultfd_unmap_complete(mm, uf_unmap_early);
  if (ret < 0) k.fn.mremap_userfaultfd_fail(uf);
  else yield* k.fn.mremap_userfaultfd_complete(uf, addr, ret, old_len);
  yield* k.fn.userfaultfd_unmap_complete(mm, uf_unmap);
  return ret;
}

/** mremap(2). */
export function* sim_sys_mremap(op: MremapOp): Task<ModelResult> {
  const flags = (op.flags.maymove ? MREMAP_MAYMOVE : 0) | (op.flags.fixed ? MREMAP_FIXED : 0) | (op.flags.dontunmap ? MREMAP_DONTUNMAP : 0);
  const r = yield* k.fn.sys_mremap(op.oldAddr, op.oldLen, op.newLen, flags, op.newAddr ?? 0);
  return r < 0 ? { kind: 'errno', errno: r } : { kind: 'addr', addr: r };
}
