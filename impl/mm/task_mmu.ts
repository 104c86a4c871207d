/**
 * Kernel: fs/proc/task_mmu.c — /proc/pid/maps (m_start/m_next/m_stop, show_map_vma) and
 * /proc/pid/smaps (show_smap → smap_gather_stats → the page-table walk smaps_pte_range).
 *
 * The pre-6.17 reader: proc_maps_open pins the mm (proc_mem_open: mmgrab), m_start takes a
 * user reference (mmget_not_zero) and mmap_read_lock_killable, every VMA is printed under it,
 * m_stop releases both. The whole file is read as one seq_file page, so the output is one
 * consistent snapshot (the model's atomic read). smaps walks the page tables, hence it keeps the
 * mmap lock (I21); Rss counts present PTEs.
 *
 * 6.17 (k.cfg.maps_under_vma_lock, Suren Baghdasaryan, "fs/proc/task_mmu: read proc/pid/maps
 * under per-vma lock"): maps walks the VMA tree under RCU and read-locks one VMA at a time with
 * lock_next_vma (mm/mmap_lock.c): mmap_lock_speculate_try_begin before the lookup, vma_start_read,
 * -EAGAIN (detached) → look again from the last position, and — when the VMA found starts above
 * the last position and the address space may have changed — a second lookup must find the same
 * VMA, else it could have been shrunk with a new VMA installed below it: a fake gap. Failures
 * fall back to mmap_read_lock + vma_start_read_locked (lock_next_vma_under_mmap_lock), and a
 * -EAGAIN from there to mmap_read_lock for the rest of the read (fallback_to_mmap_lock).
 * smaps keeps mmap_read_lock_killable (it walks page tables): walk_page_vma → smaps_pte_range
 * under each table's PTL, Rss counting the present PTEs with a struct page (vm_normal_page: the
 * zero page and PFN maps are not resident memory of the process). k.cfg.smaps_rcu (design
 * proposal): smaps under rcu_read_lock only — VMAs from the tree under RCU, page tables mapped
 * with __pte_offset_map and read with ptep_get_lockless, no PTL — which is safe only if page
 * tables are freed after an RCU grace period (k.cfg.mmu_gather_rcu_table_free); with the IPI
 * scheme a freed table is a use-after-free.
 *
 * A huge PMD (khugepaged's THP) counts whole (smaps_pmd_entry under pmd_trans_huge_lock).
 *
 * Left out: seq_file page boundaries (the pre-6.17 lock drop between pages, H5), PROCMAP_QUERY,
 * [heap]/[stack]/[vdso] names, the inode/device columns, smaps fields other than Rss.
 */
import type { MapsLine, SmapsEntry } from '../../model/ops.js';
import type { Task } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import type { maple_node, mm_struct, pmd_t, vm_area_struct } from '../include/linux/mm_types.js';
import { PAGE_SIZE, PMD_SIZE, VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE } from '../include/linux/mm_flags.js';
import { EAGAIN, EINTR, ESRCH } from '../include/linux/errno.js';
import { refcount_inc } from '../sync/refcount.js';
import { rcu_read_lock, rcu_read_lock_held, rcu_read_unlock } from '../sync/rcu.js';
import { kasan_check_read } from '../sync/kasan.js';
import { WARN_ON_ONCE } from '../include/linux/mmdebug.js';
import { spin_unlock } from '../sync/spinlock.js';
import { lockdep_assert_held } from '../sync/lockdep.js';
import { step } from '../rt/task.js';

/** show_map_vma(m, vma): one line of /proc/pid/maps. */
export function show_map_vma(vma: vm_area_struct): MapsLine {
  const flags = vma.vm_flags;
  const perms = (flags & VM_READ ? 'r' : '-') + (flags & VM_WRITE ? 'w' : '-') + (flags & VM_EXEC ? 'x' : '-') +
    (flags & VM_MAYSHARE ? 's' : 'p');
  const f = vma.vm_file;
  if (!f) return { start: vma.vm_start, end: vma.vm_end, perms, offset: 0, name: '' };
  return { start: vma.vm_start, end: vma.vm_end, perms, offset: vma.vm_pgoff * PAGE_SIZE, name: f.f_inode.name };
}

/**
 * proc_mem_open + m_start: the target's mm with mm_count and mm_users references, or -ESRCH.
 */
function* sim_proc_get_mm(pid: number): Task<mm_struct | number> {
  yield 'proc_mem_open:get_task_mm';
  const proc = k.procs.get(pid);
  if (!proc || proc.exited || !proc.mm) return -ESRCH;
  const mm = proc.mm;
  refcount_inc(mm.mm_count); // mmgrab
  if (!k.fn.mmget_not_zero(mm)) {
    // the process is exiting
    k.fn.mmdrop(mm);
    return -ESRCH;
  }
  return mm;
}

/** m_stop + proc_map_release: drop the references. */
function* sim_proc_put_mm(mm: mm_struct): Task<void> {
  yield* k.fn.mmput(mm);
  k.fn.mmdrop(mm);
}

/**
 * sim_read_maps(pid): read /proc/pid/maps whole. Locks: mmap_read_lock_killable(mm) across the
 * read. Returns the lines or -errno (-ESRCH for a process that is gone, -EINTR when killed).
 */
export function* sim_read_maps(pid: number): Task<MapsLine[] | number> {
  const got = yield* sim_proc_get_mm(pid);
  if (typeof got === 'number') return got;
  const mm = got;
  if (k.cfg.maps_under_vma_lock) {
    // 6.17: /proc/pid/maps reads each VMA under its own VMA read lock (lock_vma_range).
    const lines = yield* k.fn.sim_show_maps_vma_locked(mm);
    yield* sim_proc_put_mm(mm);
    return lines;
  }
  if ((yield* k.fn.mmap_read_lock_killable(mm)) !== 0) {
    yield* sim_proc_put_mm(mm);
    return -EINTR;
  }
  const lines: MapsLine[] = [];
  // m_start / m_next: walk the VMAs in address order (vma_next from the last position).
  let addr = 0;
  for (;;) {
    const vma = yield* k.fn.find_vma(mm, addr);
    if (!vma) break;
    yield 'show_map_vma';
    lines.push(k.fn.show_map_vma(vma));
    addr = vma.vm_end;
  }
  k.fn.mmap_read_unlock(mm);
  yield* sim_proc_put_mm(mm);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// 6.17: /proc/pid/maps under per-VMA locks

/** struct vma_iterator: the position the next lookup starts from. */
export interface vma_iterator {
  index: number;
}

/**
 * vma_next(vmi) under rcu_read_lock (mas_find): the first VMA whose tree range ends at or above
 * the position, and the iterator moves past it. The node is loaded with rcu_dereference; the VMA
 * may be detached, freed by RCU or (6.15) recycled — the caller must lock and re-check it.
 */
export function* sim_vma_next_rcu(mm: mm_struct, vmi: vma_iterator): Task<vm_area_struct | null> {
  WARN_ON_ONCE(!rcu_read_lock_held(), 'vma_next: no rcu read lock held');
  yield step('mas_find:ma_root', mm.mm_mt);
  const node: maple_node = mm.mm_mt.ma_root;
  kasan_check_read(node, 'mas_find');
  const r = node.ranges;
  for (let i = 0; i < r.length; i++) {
    if (r[i]!.last >= vmi.index) {
      vmi.index = r[i]!.last + 1;
      return node.slots[i]!;
    }
  }
  return null;
}

/** vma_next(vmi) under mmap_lock: find_vma from the position; the iterator moves past the VMA. */
function* vma_next_locked(mm: mm_struct, vmi: vma_iterator): Task<vm_area_struct | null> {
  const vma = yield* k.fn.find_vma(mm, vmi.index);
  if (vma) vmi.index = vma.vm_end;
  return vma;
}

/**
 * lock_next_vma_under_mmap_lock(mm, vmi, from_addr): look the next VMA up again under
 * mmap_read_lock_killable and read-lock it with vma_start_read_locked (which cannot fail because
 * of a writer: -EAGAIN only on refcount overflow). Returns the VMA, null, or -errno.
 */
export function* lock_next_vma_under_mmap_lock(mm: mm_struct, vmi: vma_iterator, from_addr: number): Task<vm_area_struct | null | number> {
  const ret = yield* k.fn.mmap_read_lock_killable(mm);
  if (ret) return ret;
  // Lookup the vma at the last position again under mmap_read_lock
  vmi.index = from_addr;
  let vma: vm_area_struct | null | number = yield* vma_next_locked(mm, vmi);
  if (vma) {
    // Very unlikely vma->vm_refcnt overflow case
    if (!k.fn.vma_start_read_locked(vma)) vma = -EAGAIN;
  }
  k.fn.mmap_read_unlock(mm);
  return vma;
}

/**
 * lock_next_vma(mm, vmi, from_addr) (mm/mmap_lock.c, 6.17): the next VMA at or after from_addr,
 * read-locked, found under RCU. Locks: rcu_read_lock held on entry and on return (dropped and
 * retaken around the mmap_lock fallback). Returns the VMA (vma_end_read it), null at the end,
 * or -errno (-EAGAIN: fall back to mmap_lock for good, -EINTR).
 */
export function* lock_next_vma(mm: mm_struct, vmi: vma_iterator, from_addr: number): Task<vm_area_struct | null | number> {
  WARN_ON_ONCE(!rcu_read_lock_held(), 'lock_next_vma: no rcu read lock held');
  let vma: vm_area_struct | null | number;
  retry: for (;;) {
    // Start mmap_lock speculation in case we need to verify the vma later
    const spec = k.fn.mmap_lock_speculate_try_begin(mm);
    const mmap_unlocked = spec.ok;
    const found = yield* k.fn.sim_vma_next_rcu(mm, vmi);
    if (!found) return null;
    vma = yield* k.fn.vma_start_read(mm, found);
    if (k.cfg.vma_lock_impl === 'rwsem') {
      // 6.4–6.14's vma_start_read keeps RCU on failure and has no -EAGAIN: a detached VMA is
      // seen after locking (vma->detached).
      if (vma === null || typeof vma === 'number') rcu_read_unlock();
      else if (vma.detached) {
        yield* k.fn.vma_end_read(vma);
        vma = -EAGAIN;
      }
    }
    if (vma === null || typeof vma === 'number') {
      // Retry immediately if the vma gets detached from under us. Infinite loop should not
      // happen because the vma we find will have to be constantly knocked out from under us.
      if (vma === -EAGAIN) {
        // reset to search from the last address
        rcu_read_lock();
        vmi.index = from_addr;
        continue retry;
      }
      break; // goto fallback
    }
    // Verify the vma is not behind the last search position.
    if (from_addr >= vma.vm_end) {
      rcu_read_unlock();
      yield* k.fn.vma_end_read(vma);
      break; // fallback_unlock
    }
    // vma can be ahead of the last search position but we need to verify it was not shrunk
    // after we found it and another vma has not been installed ahead of it. Otherwise we might
    // observe a gap that should not be there.
    if (from_addr < vma.vm_start) {
      // Verify only if the address space might have changed since vma lookup.
      if (!mmap_unlocked || k.fn.mmap_lock_speculate_retry(mm, spec.seq)) {
        vmi.index = from_addr;
        if (vma !== (yield* k.fn.sim_vma_next_rcu(mm, vmi))) {
          rcu_read_unlock();
          yield* k.fn.vma_end_read(vma);
          break; // fallback_unlock
        }
      }
    }
    return vma;
  }
  // fallback:
  vma = yield* k.fn.lock_next_vma_under_mmap_lock(mm, vmi, from_addr);
  rcu_read_lock();
  // Reinitialize the iterator after re-entering rcu read section
  vmi.index = vma === null || typeof vma === 'number' ? from_addr : vma.vm_end;
  return vma;
}

/**
 * The 6.17 maps read (m_start … m_next … m_stop with proc_maps_locking_ctx): lock_vma_range
 * (rcu_read_lock), then per line get_next_vma (drop the previous VMA's read lock, lock_next_vma),
 * show_map_vma under that VMA's read lock; -EAGAIN falls back to mmap_read_lock for the rest
 * (fallback_to_mmap_lock). Returns the lines or -errno. The mm is pinned by the caller.
 */
export function* sim_show_maps_vma_locked(mm: mm_struct): Task<MapsLine[] | number> {
  const lines: MapsLine[] = [];
  const vmi: vma_iterator = { index: 0 };
  let locked_vma: vm_area_struct | null = null;
  let mmap_locked = false;
  let pos = 0;
  rcu_read_lock(); // lock_vma_range
  let err = 0;
  for (;;) {
    // proc_get_vma → get_next_vma
    let vma: vm_area_struct | null | number;
    for (;;) { // retry:
      if (mmap_locked) {
        vma = yield* vma_next_locked(mm, vmi);
      } else {
        if (locked_vma) { // unlock_ctx_vma
          yield* k.fn.vma_end_read(locked_vma);
          locked_vma = null;
        }
        vma = yield* k.fn.lock_next_vma(mm, vmi, pos);
        if (vma !== null && typeof vma !== 'number') locked_vma = vma;
      }
      if (typeof vma === 'number') {
        if (vma === -EAGAIN && !mmap_locked) {
          // fallback_to_mmap_lock
          rcu_read_unlock();
          yield* k.fn.mmap_read_lock(mm);
          vmi.index = pos;
          mmap_locked = true;
          continue;
        }
        err = vma;
      }
      break;
    }
    if (err || vma === null || typeof vma === 'number') break;
    pos = vma.vm_end;
    yield step('show_map_vma', vma);
    kasan_check_read(vma, 'show_map_vma');
    lines.push(k.fn.show_map_vma(vma));
  }
  // m_stop → unlock_vma_range
  if (mmap_locked) {
    k.fn.mmap_read_unlock(mm);
  } else {
    if (locked_vma) yield* k.fn.vma_end_read(locked_vma);
    rcu_read_unlock();
  }
  return err ? err : lines;
}

// ---------------------------------------------------------------------------------------------
// /proc/pid/smaps

/** struct mem_size_stats (the Rss part). */
export interface mem_size_stats {
  resident: number;
}

/**
 * smaps_pte_range(pmd, addr, end, walk): under the table's PTL (pte_offset_map_lock), account
 * every present PTE that maps a struct page (smaps_pte_entry: vm_normal_page). A table that
 * vanished meanwhile (khugepaged retract) is skipped (walk->action = ACTION_AGAIN, left out).
 * Locks: mmap_read_lock held (walk_page_vma). With k.cfg.smaps_rcu: no PTL — the table mapped
 * under RCU only and every entry read with ptep_get_lockless.
 */
export function* smaps_pte_range(vma: vm_area_struct, pmd: pmd_t, addr: number, end: number, mss: mem_size_stats): Task<void> {
  const mm = vma.vm_mm;
  if (!k.cfg.smaps_rcu) {
    // ptl = pmd_trans_huge_lock(pmd, vma): a huge entry, re-checked under the PMD lock.
    const ptl = yield* k.fn.pmd_trans_huge_lock(pmd, vma);
    if (ptl) {
      k.fn.smaps_pmd_entry(vma, pmd, addr, mss);
      spin_unlock(ptl);
      return;
    }
  } else if (pmd.huge !== null) {
    // The smaps_rcu proposal maps PTE tables under RCU only: a huge entry read locklessly.
    const val = pmd.huge;
    if (val.present) {
      kasan_check_read(val.folio, 'smaps_pmd_entry');
      mss.resident += PMD_SIZE;
    }
    return;
  }
  if (k.cfg.smaps_rcu) {
    const table = yield* k.fn.__pte_offset_map(pmd, addr);
    if (table === null) return;
    for (; addr < end; addr += PAGE_SIZE) {
      const pte = yield* k.fn.ptep_get_lockless(table, addr);
      if (pte.kind === 'present' && k.fn.vm_normal_page(vma, addr, pte)) mss.resident += PAGE_SIZE;
    }
    k.fn.pte_unmap(table);
    return;
  }
  const table = yield* k.fn.pte_offset_map_lock(mm, pmd, addr);
  if (table === null) return;
  for (; addr < end; addr += PAGE_SIZE) {
    yield step('smaps_pte_entry:ptep_get', table);
    const pte = k.fn.ptep_get(table, addr);
    if (pte.kind === 'present' && k.fn.vm_normal_page(vma, addr, pte)) mss.resident += PAGE_SIZE;
  }
  k.fn.pte_unmap_unlock(table);
}

/**
 * walk_page_vma(vma, &smaps_walk_ops, mss) (mm/pagewalk.c): every PMD of the VMA (pmd_none
 * skipped) → smaps_pte_range. Locks: mmap_lock held (process_mm_walk_lock: mmap_assert_locked),
 * except under the smaps_rcu proposal (rcu_read_lock).
 */
export function* walk_page_vma(vma: vm_area_struct, mss: mem_size_stats): Task<void> {
  const mm = vma.vm_mm;
  if (k.cfg.smaps_rcu) WARN_ON_ONCE(!rcu_read_lock_held(), 'walk_page_vma (smaps_rcu): no rcu read lock held');
  else k.fn.mmap_assert_locked(mm);
  let addr = vma.vm_start;
  const end = vma.vm_end;
  while (addr < end) {
    const next = Math.min((Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE, end);
    yield step('walk_pmd_range:pmd_none', mm.pgd);
    const pmd = mm.pgd.get(Math.floor(addr / PMD_SIZE));
    if (pmd && !k.fn.pmd_none(pmd)) yield* k.fn.smaps_pte_range(vma, pmd, addr, next, mss);
    addr = next;
  }
}

/**
 * smaps_pmd_entry(pmd, addr, walk): a huge entry counts the whole PMD-sized folio as resident
 * (the walk covers it whole: a VMA boundary inside a huge PMD splits it first).
 * Locks: the PMD lock (pmd_trans_huge_lock).
 */
export function smaps_pmd_entry(vma: vm_area_struct, pmd: pmd_t, addr: number, mss: mem_size_stats): void {
  lockdep_assert_held(k.fn.pmd_lockptr(vma.vm_mm, pmd));
  void addr;
  const val = pmd.huge;
  if (val === null || !val.present) return;
  kasan_check_read(val.folio, 'smaps_pmd_entry');
  mss.resident += PMD_SIZE;
}

/** show_smap(m, vma): smap_gather_stats (walk_page_vma) and the entry. */
export function* show_smap(vma: vm_area_struct): Task<SmapsEntry> {
  const mss: mem_size_stats = { resident: 0 };
  yield* k.fn.walk_page_vma(vma, mss);
  yield step('show_smap', vma);
  kasan_check_read(vma, 'show_smap');
  return { ...show_map_vma(vma), rss: mss.resident };
}

/**
 * sim_sys_read_smaps(op): read /proc/pid/smaps whole under mmap_read_lock_killable (m_start,
 * lock_vma_range: smaps walks page tables, so it never takes the per-VMA path), one show_smap
 * per VMA. Under k.cfg.smaps_rcu the whole read is one rcu_read_lock section instead.
 */
export function* sim_sys_read_smaps(op: { readonly target: number }): Task<{ kind: 'smaps'; entries: SmapsEntry[] } | { kind: 'errno'; errno: number }> {
  const got = yield* sim_proc_get_mm(op.target);
  if (typeof got === 'number') return { kind: 'errno', errno: got };
  const mm = got;
  const entries: SmapsEntry[] = [];
  if (k.cfg.smaps_rcu) {
    rcu_read_lock();
    const vmi: vma_iterator = { index: 0 };
    for (;;) {
      const vma = yield* k.fn.sim_vma_next_rcu(mm, vmi);
      if (!vma) break;
      entries.push(yield* k.fn.show_smap(vma));
    }
    rcu_read_unlock();
    yield* sim_proc_put_mm(mm);
    return { kind: 'smaps', entries };
  }
  if ((yield* k.fn.mmap_read_lock_killable(mm)) !== 0) {
    yield* sim_proc_put_mm(mm);
    return { kind: 'errno', errno: -EINTR };
  }
  let addr = 0;
  for (;;) {
    const vma = yield* k.fn.find_vma(mm, addr);
    if (!vma) break;
    entries.push(yield* k.fn.show_smap(vma));
    addr = vma.vm_end;
  }
  k.fn.mmap_read_unlock(mm);
  yield* sim_proc_put_mm(mm);
  return { kind: 'smaps', entries };
}
