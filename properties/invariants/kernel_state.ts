/**
 * Per-step invariants over the simulated kernel's state (kernel.md §3). Each is a pure predicate
 * over a Kernel returning a Violation or null; the runner calls them after every step (or where a
 * doc says so, only at the steps where the condition can be judged).
 */
import { Violation } from '../../impl/rt/task.js';
import type { Kernel } from '../../impl/sim/kernel.js';
import type { mm_struct, vm_area_struct, pte_table } from '../../impl/include/linux/mm_types.js';
import { PAGE_SIZE, PMD_SIZE, PTRS_PER_PTE } from '../../impl/include/linux/mm_flags.js';

const hex = (n: number) => '0x' + n.toString(16);

export function liveMms(kernel: Kernel): mm_struct[] {
  const out: mm_struct[] = [];
  for (const p of kernel.procs.values()) if (p.mm && !p.mm.dead) out.push(p.mm);
  return out;
}

/** The VMAs of the tree as published (ma_root). */
export function treeVmas(mm: mm_struct): readonly vm_area_struct[] {
  return mm.mm_mt.ma_root.slots;
}

/**
 * I1 — write-lock epoch: a VMA is write-locked (vm_lock_seq == mm_lock_seq) only while its mm's
 * mmap_lock is held for write. Nothing but mmap_write_unlock/downgrade releases VMA write locks.
 */
export function checkWriteLockEpoch(kernel: Kernel): Violation | null {
  if (!kernel.cfg.per_vma_lock) return null;
  for (const mm of liveMms(kernel)) {
    if (mm.mmap_lock.owner !== -1) continue;
    for (const vma of treeVmas(mm)) {
      if (vma.vm_lock_seq === mm.mm_lock_seq) {
        return new Violation('vma-write-lock-epoch',
          `${vma} is write-locked (vm_lock_seq ${vma.vm_lock_seq} == mm_lock_seq) while ${mm.name}->mmap_lock is not write-held`,
          ['I1: VMA write locks live only inside an mmap_write_lock epoch (vma_end_write_all releases them)']);
      }
    }
  }
  return null;
}

/** I11 — no PMD entry points to a freed PTE table (free_pgtables clears the PMD before freeing). */
export function checkPmdTablesAlive(kernel: Kernel): Violation | null {
  for (const mm of liveMms(kernel)) {
    for (const pmd of mm.pgd.values()) {
      const t = pmd.table;
      if (t && t.freed) {
        return new Violation('pgtable-freed-while-linked',
          `${mm.name}: PMD ${pmd.index} (${hex(pmd.index * PMD_SIZE)}) still points to freed ${t.name}`,
          ['I11: a page table is freed only after its PMD entry was cleared and no walker can reach it']);
      }
    }
  }
  return null;
}

/** I12 — the published VMA tree (judged while mmap_lock is not write-held) is sorted and non-overlapping, and every VMA in it belongs to its mm. */
export function checkTreeWellFormed(kernel: Kernel): Violation | null {
  for (const mm of liveMms(kernel)) {
    // Inside a write-locked section a split or merge adjusts vm_start/vm_end before re-storing
    // the neighbours (commit_merge, vma_complete): nobody can look, so it is judged after.
    if (mm.mmap_lock.owner !== -1) continue;
    const vmas = treeVmas(mm);
    for (let i = 0; i < vmas.length; i++) {
      const v = vmas[i]!;
      if (v.vm_start >= v.vm_end || v.vm_start % PAGE_SIZE !== 0 || v.vm_end % PAGE_SIZE !== 0) {
        return new Violation('vma-tree-well-formed', `${mm.name}: ${v} has a bad range`, ['NoOverlappingVmas/PageAligned']);
      }
      if (v.vm_mm !== mm) {
        return new Violation('vma-tree-well-formed', `${mm.name}: ${v} in the tree belongs to ${v.vm_mm.name}`, []);
      }
      const prev = vmas[i - 1];
      if (prev && prev.vm_end > v.vm_start) {
        return new Violation('vma-tree-well-formed', `${mm.name}: ${prev} overlaps ${v}`, ['NoOverlappingVmas']);
      }
    }
  }
  return null;
}

/**
 * I10 — no page outside a VMA: every present PTE lies inside a VMA of its mm; a file page sits at
 * vm_pgoff + (addr - vm_start)/PAGE_SIZE. Judged only while the mm's mmap_lock is free: munmap
 * legitimately leaves PTEs of detached VMAs until its zap (holding the lock), so a check inside a
 * syscall would be a false alarm.
 */
const lastChecked = new WeakMap<mm_struct, number>();

export function checkPtesInsideVmas(kernel: Kernel): Violation | null {
  for (const mm of liveMms(kernel)) {
    if (mm.mmap_lock.owner !== -1 || mm.mmap_lock.readers !== 0) {
      lastChecked.delete(mm);
      continue;
    }
    // Unchanged since the last check at a free mmap_lock: nothing to judge again.
    if (lastChecked.get(mm) === mm.sim_pte_writes + mm.mm_lock_seq * 0x100000) continue;
    lastChecked.set(mm, mm.sim_pte_writes + mm.mm_lock_seq * 0x100000);
    const v = scanPtes(mm);
    if (v) return v;
  }
  return null;
}

/** I10 at the end of the run: every mm, no memo. */
export function checkPtesInsideVmasAtEnd(kernel: Kernel): Violation | null {
  for (const mm of liveMms(kernel)) {
    const v = scanPtes(mm);
    if (v) return v;
  }
  return null;
}

function scanPtes(mm: mm_struct): Violation | null {
  {
    const vmas = treeVmas(mm);
    for (const pmd of mm.pgd.values()) {
      const t = pmd.table;
      if (!t || t.freed) continue;
      const v = checkTable(mm, t, vmas);
      if (v) return v;
    }
  }
  return null;
}

function checkTable(mm: mm_struct, t: pte_table, vmas: readonly vm_area_struct[]): Violation | null {
  const base = t.pmd_index * PMD_SIZE;
  for (let i = 0; i < PTRS_PER_PTE; i++) {
    const pte = t.entries[i]!;
    if (pte.kind === 'none') continue;
    const addr = base + i * PAGE_SIZE;
    const vma = vmas.find((v) => v.vm_start <= addr && addr < v.vm_end);
    if (!vma) {
      return new Violation('pte-outside-vma',
        `${mm.name}: a ${pte.kind} PTE at ${hex(addr)} lies outside every VMA`,
        ['I10: every present user PTE lies inside [vm_start, vm_end) of an attached VMA of that mm']);
    }
    if (pte.kind === 'present' && vma.vm_file && !pte.special && pte.folio.mapping === vma.vm_file.f_mapping) {
      const want = vma.vm_pgoff + (addr - vma.vm_start) / PAGE_SIZE;
      if (pte.folio.index !== want) {
        return new Violation('pte-outside-vma',
          `${mm.name}: PTE at ${hex(addr)} maps file page ${pte.folio.index}, but ${vma} maps page ${want} there`,
          ['I10: a file page is mapped at vm_pgoff + (addr - vm_start) / PAGE_SIZE']);
      }
    }
  }
  return null;
}
