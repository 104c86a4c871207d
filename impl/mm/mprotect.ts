/**
 * Kernel: mm/mprotect.c — do_mprotect_pkey (the mprotect system call), mprotect_fixup,
 * change_protection → change_pte_range.
 *
 * mprotect_fixup: vma_modify_flags (merge with a neighbour, or split at the range ends —
 * write-locking every VMA it changes), then vma_start_write, vm_flags_reset_once (asserts the
 * VMA write lock, I2/B26), vma_set_page_prot, and change_protection: under each table's PTL the
 * present PTEs are write-protected (or, for a private VMA becoming writable, made writable again
 * when the page is exclusively owned: MM_CP_TRY_CHANGE_WRITABLE / can_change_pte_writable), with
 * the TLB flushed through the mmu_gather before the syscall returns.
 *
 * Left out: protection keys (pkey must be -1), PROT_GROWSUP (no VM_GROWSUP on x86), NUMA hinting
 * (prot_numa), uffd-wp, VM_LOCKED populate, arch_validate_prot. PROT_NONE entries keep their
 * page and become _PAGE_PROTNONE (pte_t.protnone): the MMU faults on them, access_error refuses;
 * a fault on one in a VMA made accessible again before this rewrite reached it goes to
 * do_numa_page.
 */
import type { Task } from '../rt/task.js';
import { k, current_mm } from '../sim/kernel.js';
import type { vm_area_struct } from '../include/linux/mm_types.js';
import { folio_test_anon } from '../include/linux/mm_types.js';
import {
  PAGE_SIZE, PMD_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, VM_ACCESS_FLAGS, VM_ACCOUNT, VM_EXEC, VM_GROWSDOWN,
  VM_HUGETLB, VM_NORESERVE, VM_READ, VM_SHARED, VM_WRITE,
} from '../include/linux/mm_flags.js';
import { EACCES, EINTR, EINVAL, ENOMEM } from '../include/linux/errno.js';
import { WARN_ON_ONCE } from '../include/linux/mmdebug.js';
import type { mmu_gather } from './mmu_gather.js';

/** PROT_GROWSDOWN / PROT_GROWSUP (include/uapi/asm-generic/mman-common.h). */
export const PROT_GROWSDOWN = 0x01000000;
export const PROT_GROWSUP = 0x02000000;
/** MM_CP_TRY_CHANGE_WRITABLE: try to make PTEs writable while changing protection. */
export const MM_CP_TRY_CHANGE_WRITABLE = 1 << 0;

const pmd_addr_end = (addr: number, end: number): number => Math.min((Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE, end);

/**
 * can_change_pte_writable(vma, addr, pte): a PTE may be made writable without a write fault when
 * a private VMA's page is an exclusively owned anonymous page, or a shared one's PTE is dirty.
 */
function can_change_pte_writable(vma: vm_area_struct, pte: Extract<ReturnType<typeof k.fn.ptep_get>, { kind: 'present' }>): boolean {
  if (WARN_ON_ONCE(!(vma.vm_flags & VM_WRITE), 'can_change_pte_writable: !VM_WRITE')) return false;
  if (pte.uffd_wp) return false;
  if (!(vma.vm_flags & VM_SHARED)) {
    const f = pte.folio;
    return !pte.special && folio_test_anon(f) && f.anon_exclusive;
  }
  return pte.dirty;
}

/**
 * change_pte_range(tlb, vma, pmd, addr, end, newprot, cp_flags): rewrite the present PTEs of one
 * table under its PTL. Returns the number of PTEs changed.
 */
function* change_pte_range(
  tlb: mmu_gather, vma: vm_area_struct, pmd: NonNullable<ReturnType<typeof k.fn.pmd_off>>, addr: number, end: number,
  cp_flags: number,
): Task<number> {
  let pages = 0;
  const table = yield* k.fn.pte_offset_map_lock(vma.vm_mm, pmd, addr);
  if (!table) return -11; // -EAGAIN: the table went away; the caller retries the PMD
  for (; addr < end; addr += PAGE_SIZE) {
    yield 'change_pte_range:ptep_get';
    const oldpte = k.fn.ptep_get(table, addr);
    if (oldpte.kind !== 'present') continue; // swap and migration entries keep their protection
    // ptep_modify_prot_start / pte_modify(oldpte, newprot) / ptep_modify_prot_commit
    let ptent = vma.vm_page_prot & VM_WRITE ? k.fn.pte_mkwrite(oldpte, vma) : k.fn.pte_wrprotect(oldpte);
    if (cp_flags & MM_CP_TRY_CHANGE_WRITABLE && !k.fn.pte_write(ptent) && can_change_pte_writable(vma, oldpte)) {
      ptent = k.fn.pte_mkwrite(ptent, vma);
    }
    // pte_modify: PROT_NONE (_PAGE_PROTNONE) follows the new vm_page_prot as well.
    const protnone = (vma.vm_page_prot & VM_ACCESS_FLAGS) === 0;
    if (ptent.kind === 'present' && (ptent.protnone ?? false) !== protnone) ptent = { ...ptent, protnone };
    if (k.fn.pte_same(ptent, oldpte)) continue;
    k.fn.set_pte_at(vma.vm_mm, addr, table, ptent);
    k.fn.tlb_remove_tlb_entry(tlb, addr); // tlb_flush_pte_range
    pages++;
  }
  k.fn.pte_unmap_unlock(table);
  return pages;
}

/**
 * change_protection(tlb, vma, start, end, cp_flags): apply vma->vm_page_prot to the PTEs of
 * [start, end). Locks: mmap_write_lock held, the VMA write-locked (mprotect_fixup). The TLB
 * flush happens at tlb_finish_mmu of the caller's gather.
 */
export function* change_protection(tlb: mmu_gather, vma: vm_area_struct, start: number, end: number, cp_flags: number): Task<number> {
  let pages = 0;
  let addr = start;
  while (addr < end) {
    const next = pmd_addr_end(addr, end);
    yield 'change_pmd_range:pmd_none';
    const pmd = vma.vm_mm.pgd.get(Math.floor(addr / PMD_SIZE));
    if (pmd && pmd.table) {
      const r = yield* change_pte_range(tlb, vma, pmd, addr, next, cp_flags);
      if (r === -11) continue; // again
      pages += r;
    }
    addr = next;
  }
  return pages;
}

/**
 * vma_wants_manual_pte_write_upgrade(vma): private writable VMAs; shared ones that want write
 * notification (vma_wants_writenotify: VM_WRITE|VM_SHARED and ->page_mkwrite — a shared mapping
 * without VM_WRITE never does: its PTEs stay write-protected).
 */
function vma_wants_manual_pte_write_upgrade(vma: vm_area_struct): boolean {
  if (vma.vm_flags & VM_SHARED) return (vma.vm_flags & VM_WRITE) !== 0 && !!vma.vm_ops?.page_mkwrite;
  return !!(vma.vm_flags & VM_WRITE);
}

/**
 * mprotect_fixup(tlb, vma, pprev, start, end, newflags): give [start, end) of vma the flags
 * newflags (merging or splitting first). Returns 0 or -errno and, in pprev.vma, the VMA now
 * covering the range. Locks: mmap_write_lock held.
 */
export function* mprotect_fixup(
  tlb: mmu_gather, vma: vm_area_struct, pprev: { vma: vm_area_struct | null }, start: number, end: number, newflags: number,
): Task<number> {
  const mm = vma.vm_mm;
  const oldflags = vma.vm_flags;
  k.fn.mmap_assert_write_locked(mm);
  if (newflags === oldflags) {
    pprev.vma = vma;
    return 0;
  }
  // If we make a private mapping writable we increase our commit; but (without finer accounting)
  // cannot shrink it again when the mapping loses its write permission.
  if (newflags & VM_WRITE) {
    if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))) newflags |= VM_ACCOUNT;
  } else if (oldflags & VM_ACCOUNT && vma.vm_ops === null && !vma.anon_vma) {
    newflags &= ~VM_ACCOUNT;
  }
  const r = yield* k.fn.vma_modify_flags(pprev.vma, vma, start, end, newflags);
  if (typeof r === 'number') return r;
  vma = r;
  pprev.vma = vma;
  // vm_flags and vm_page_prot are protected by the mmap_lock held in write mode, and — for
  // faults under the VMA lock — by the VMA write lock.
  yield* k.fn.vma_start_write(vma);
  k.fn.vm_flags_reset_once(vma, newflags);
  const cp_flags = vma_wants_manual_pte_write_upgrade(vma) ? MM_CP_TRY_CHANGE_WRITABLE : 0;
  k.fn.vma_set_page_prot(vma);
  yield* k.fn.change_protection(tlb, vma, start, end, cp_flags);
  return 0;
}

/** calc_vm_prot_bits(prot). */
function calc_vm_prot_bits(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/**
 * do_mprotect_pkey(start, len, prot, pkey): the mprotect system call on current->mm.
 * Locks: mmap_write_lock_killable around the whole walk. Returns 0 or -errno (-ENOMEM at a hole,
 * after the VMAs before it were changed).
 */
export function* do_mprotect_pkey(start: number, len: number, prot: number, pkey: number): Task<number> {
  const mm = current_mm();
  if (!mm) return -EINVAL;
  const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return -EINVAL; // can't be both
  if (start % PAGE_SIZE !== 0) return -EINVAL;
  if (!len) return 0;
  len = Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  let end = start + len;
  if (end <= start) return -ENOMEM;
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) return -EINVAL; // arch_validate_prot
  const reqprot = prot;
  if ((yield* k.fn.mmap_write_lock_killable(mm)) !== 0) return -EINTR;
  let error = 0;
  out: {
    // If userspace did not allocate the pkey, do not let them use it.
    if (pkey !== -1) {
      error = -EINVAL;
      break out;
    }
    let vma = yield* k.fn.find_vma_intersection(mm, start, end); // vma_find(&vmi, end)
    error = -ENOMEM;
    if (!vma) break out;
    if (grows & PROT_GROWSDOWN) {
      if (vma.vm_start >= end) break out;
      start = vma.vm_start;
      error = -EINVAL;
      if (!(vma.vm_flags & VM_GROWSDOWN)) break out;
    } else {
      if (vma.vm_start > start) break out;
      if (grows & PROT_GROWSUP) {
        end = vma.vm_end;
        error = -EINVAL;
        break out; // no VM_GROWSUP on x86
      }
    }
    const pprev: { vma: vm_area_struct | null } = { vma: (yield* k.fn.find_vma_prev(mm, vma.vm_start)).prev };
    if (start > vma.vm_start) pprev.vma = vma;
    const tlb = k.fn.tlb_gather_mmu(mm);
    let nstart = start;
    let tmp = vma.vm_start;
    error = 0;
    for (;;) {
      if (vma.vm_start !== tmp) {
        error = -ENOMEM;
        break;
      }
      const newflags = calc_vm_prot_bits(prot) | (vma.vm_flags & ~VM_ACCESS_FLAGS);
      // newflags >> 4 shift VM_MAY% in place of VM_%
      if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) {
        error = -EACCES;
        break;
      }
      tmp = Math.min(vma.vm_end, end);
      error = yield* k.fn.mprotect_fixup(tlb, vma, pprev, nstart, tmp, newflags);
      if (error) break;
      tmp = pprev.vma!.vm_end; // vma_iter_end(&vmi)
      nstart = tmp;
      prot = reqprot;
      if (nstart >= end) break;
      const next = yield* k.fn.find_vma(mm, nstart);
      if (!next || next.vm_start >= end) break;
      vma = next;
    }
    yield* k.fn.tlb_finish_mmu(tlb);
    if (!error && tmp < end) error = -ENOMEM;
  }
  k.fn.mmap_write_unlock(mm);
  return error;
}
