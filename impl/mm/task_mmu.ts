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
 * Left out: the 6.17 per-VMA-lock reader (lock_next_vma, k.cfg.maps_under_vma_lock: a later
 * issue), seq_file page boundaries (the pre-6.17 lock drop between pages, H5), PROCMAP_QUERY,
 * [heap]/[stack]/[vdso] names, the inode/device columns, smaps fields other than Rss.
 */
import type { MapsLine, SmapsEntry } from '../../model/ops.js';
import type { Task } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import type { mm_struct, vm_area_struct } from '../include/linux/mm_types.js';
import { PAGE_SIZE, PMD_SIZE, VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE } from '../include/linux/mm_flags.js';
import { EINTR, ESRCH } from '../include/linux/errno.js';
import { refcount_inc, refcount_inc_not_zero } from '../sync/refcount.js';

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
  if (!refcount_inc_not_zero(mm.mm_users)) {
    // mmget_not_zero failed: the process is exiting
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
    lines.push(show_map_vma(vma));
    addr = vma.vm_end;
  }
  k.fn.mmap_read_unlock(mm);
  yield* sim_proc_put_mm(mm);
  return lines;
}

/**
 * smap_gather_stats(vma): walk_page_vma with smaps_pte_range — count the present PTEs under each
 * table's PTL. Locks: mmap_read_lock held (page-table walks need it, I21).
 */
function* smap_gather_stats(vma: vm_area_struct): Task<number> {
  const mm = vma.vm_mm;
  k.fn.mmap_assert_locked(mm);
  let rss = 0;
  let addr = vma.vm_start;
  while (addr < vma.vm_end) {
    const next = Math.min((Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE, vma.vm_end);
    yield 'walk_pmd_range:pmd_none';
    const pmd = mm.pgd.get(Math.floor(addr / PMD_SIZE));
    if (pmd && pmd.table) {
      const table = yield* k.fn.pte_offset_map_lock(mm, pmd, addr);
      if (table) {
        for (let a = addr; a < next; a += PAGE_SIZE) {
          if (k.fn.ptep_get(table, a).kind === 'present') rss += PAGE_SIZE;
        }
        k.fn.pte_unmap_unlock(table);
      }
    }
    addr = next;
  }
  return rss;
}

/**
 * sim_sys_read_smaps(op): read /proc/pid/smaps whole (the maps lines and Rss), under
 * mmap_read_lock_killable.
 */
export function* sim_sys_read_smaps(op: { readonly target: number }): Task<{ kind: 'smaps'; entries: SmapsEntry[] } | { kind: 'errno'; errno: number }> {
  const got = yield* sim_proc_get_mm(op.target);
  if (typeof got === 'number') return { kind: 'errno', errno: got };
  const mm = got;
  if ((yield* k.fn.mmap_read_lock_killable(mm)) !== 0) {
    yield* sim_proc_put_mm(mm);
    return { kind: 'errno', errno: -EINTR };
  }
  const entries: SmapsEntry[] = [];
  let addr = 0;
  for (;;) {
    const vma = yield* k.fn.find_vma(mm, addr);
    if (!vma) break;
    const rss = yield* smap_gather_stats(vma);
    entries.push({ ...show_map_vma(vma), rss });
    addr = vma.vm_end;
  }
  k.fn.mmap_read_unlock(mm);
  yield* sim_proc_put_mm(mm);
  return { kind: 'smaps', entries };
}
