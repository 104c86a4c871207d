/**
 * Per-step invariants over the simulated kernel's state (kernel.md §3). Each is a pure predicate
 * over a Kernel returning a Violation or null; the runner calls them after every step (or where a
 * doc says so, only at the steps where the condition can be judged).
 */
import { Violation } from '../../impl/rt/task.js';
import type { Kernel } from '../../impl/sim/kernel.js';
import { __pte_none, type mm_struct, type pmd_t, type vm_area_struct, type pte_table } from '../../impl/include/linux/mm_types.js';
import { PAGE_SIZE, PMD_SIZE, PTRS_PER_PTE } from '../../impl/include/linux/mm_flags.js';
import { sim_kasan_write_stamp } from '../../impl/sync/kasan.js';
import { registerExecSlot } from '../../impl/rt/execution.js';

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
  return writeLockEpochIn(kernel, liveMms(kernel));
}

/** checkWriteLockEpoch over a given list of live mms (the runner computes it once per step). */
export function writeLockEpochIn(kernel: Kernel, mms: readonly mm_struct[]): Violation | null {
  if (!kernel.cfg.per_vma_lock) return null;
  for (const mm of mms) {
    if (mm.mmap_lock.owner !== -1) continue;
    const vmas = treeVmas(mm);
    for (let i = 0; i < vmas.length; i++) {
      const vma = vmas[i]!;
      if (vma.vm_lock_seq === mm.mm_lock_seq) {
        return new Violation('vma-write-lock-epoch',
          `${vma} is write-locked (vm_lock_seq ${vma.vm_lock_seq} == mm_lock_seq) while ${mm.name}->mmap_lock is not write-held`,
          ['I1: VMA write locks live only inside an mmap_write_lock epoch (vma_end_write_all releases them)']);
      }
    }
  }
  return null;
}

/**
 * I1, I11 and I12 in one pass over the mms: true iff checkWriteLockEpoch, checkPmdTablesAlive and
 * checkTreeWellFormed would all return null (the runner's fast path; when one would fire, it runs
 * them in order for the report).
 */
export function epochAliveTreeClean(kernel: Kernel, mms: readonly mm_struct[]): boolean {
  const perVma = kernel.cfg.per_vma_lock;
  for (let m = 0; m < mms.length; m++) {
    const mm = mms[m]!;
    if (mm.mmap_lock.owner === -1) {
      const vmas = treeVmas(mm);
      const seq = mm.mm_lock_seq;
      for (let i = 0; i < vmas.length; i++) {
        const v = vmas[i]!;
        if (perVma && v.vm_lock_seq === seq) return false;
        const start = v.vm_start;
        const end = v.vm_end;
        if (start >= end || start % PAGE_SIZE !== 0 || end % PAGE_SIZE !== 0 || v.vm_mm !== mm) return false;
        if (i > 0 && vmas[i - 1]!.vm_end > start) return false;
      }
    }
    for (const pmd of mm.pgd.values()) {
      const t = pmd.table;
      if (t !== null && t.freed) return false;
    }
  }
  return true;
}

/** I11 — no PMD entry points to a freed PTE table (free_pgtables clears the PMD before freeing). */
export function checkPmdTablesAlive(kernel: Kernel): Violation | null {
  return pmdTablesAliveIn(liveMms(kernel));
}

export function pmdTablesAliveIn(mms: readonly mm_struct[]): Violation | null {
  for (const mm of mms) {
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
  return treeWellFormedIn(liveMms(kernel));
}

export function treeWellFormedIn(mms: readonly mm_struct[]): Violation | null {
  for (const mm of mms) {
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
      const prev = i > 0 ? vmas[i - 1]! : undefined;
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
 *
 * Incremental, and exact: a table's scan (512 entries) is skipped when nothing it reads changed
 * since the last clean scan of this mm — the same PTE tables in the same PMDs, none newly freed,
 * no instrumented write to any of them (every PTE write goes through kasan_check_write on its
 * table: sim_kasan_write_stamp), the same VMAs with the same bounds, offset and file, and every
 * file folio the scan judged still with the same mapping and index. (A khugepaged collapse moves
 * entries into a fresh table — a new table in the PMD — and only clears the old one, which cannot
 * break I10.) test/properties/pte_writes.test.ts keeps every PTE write instrumented.
 */
export function checkPtesInsideVmas(kernel: Kernel): Violation | null {
  return ptesInsideVmasIn(kernel, liveMms(kernel));
}

export function ptesInsideVmasIn(kernel: Kernel, mms: readonly mm_struct[]): Violation | null {
  const slots = kernel.exec.slots;
  let memos = slots[PTES_MEMO] as Map<mm_struct, PtesMemo> | undefined;
  if (memos === undefined) {
    memos = new Map();
    slots[PTES_MEMO] = memos;
  }
  for (const mm of mms) {
    if (mm.mmap_lock.owner !== -1 || mm.mmap_lock.readers !== 0) {
      // Not judged now; and the next judgement rescans (belt and braces: the memo is exact, but
      // a section under mmap_lock is where tables and VMAs change wholesale).
      memos.delete(mm);
      continue;
    }
    const memo = memos.get(mm);
    if (memo !== undefined && memoStillHolds(mm, memo)) continue;
    const m = newMemo();
    const v = scanPtes(mm, m);
    if (v) return v;
    memos.set(mm, m);
  }
  return null;
}

/**
 * I10 without the memo (the same verdict): for the reducing explorer (properties/explore.ts),
 * which re-runs a check only when something it read changed, and needs what a check reads to
 * depend on the state alone, not on which earlier steps it was run after.
 */
export function checkPtesInsideVmasNoMemo(kernel: Kernel): Violation | null {
  for (const mm of liveMms(kernel)) {
    if (mm.mmap_lock.owner !== -1 || mm.mmap_lock.readers !== 0) continue;
    const v = scanPtes(mm, null);
    if (v) return v;
  }
  return null;
}

/** I10 at the end of the run: every mm, no memo. */
export function checkPtesInsideVmasAtEnd(kernel: Kernel): Violation | null {
  for (const mm of liveMms(kernel)) {
    const v = scanPtes(mm, null);
    if (v) return v;
  }
  return null;
}

/** What the last clean I10 scan of an mm read (see checkPtesInsideVmas). */
interface PtesMemo {
  /** pmd, its table, the table's freed flag, the table's write stamp — per PMD slot, in pgd order. */
  readonly pmds: unknown[];
  /** vma, vm_start, vm_end, vm_pgoff, vm_file, f_mapping — per tree VMA, in order. */
  readonly vmas: unknown[];
  /** folio, its mapping, its index — per present file PTE the scan judged. */
  readonly folios: unknown[];
}

/**
 * The memos live in the run (an Execution slot), not in a WeakMap keyed by mm: a WeakMap entry
 * keeps a finished run's page tables and VMAs alive until a full GC, which cost more than the
 * check itself.
 */
const PTES_MEMO = registerExecSlot();

function newMemo(): PtesMemo {
  return { pmds: [], vmas: [], folios: [] };
}

function memoStillHolds(mm: mm_struct, m: PtesMemo): boolean {
  const p = m.pmds;
  let i = 0;
  for (const pmd of mm.pgd.values()) {
    const t = pmd.table;
    if (p[i] !== pmd || p[i + 1] !== t || (t !== null && (p[i + 2] !== t.freed || p[i + 3] !== sim_kasan_write_stamp(t)))) return false;
    i += 4;
  }
  if (i !== p.length) return false;
  const vmas = treeVmas(mm);
  const v = m.vmas;
  if (v.length !== vmas.length * 6) return false;
  for (let j = 0, o = 0; j < vmas.length; j++, o += 6) {
    const vma = vmas[j]!;
    if (v[o] !== vma || v[o + 1] !== vma.vm_start || v[o + 2] !== vma.vm_end || v[o + 3] !== vma.vm_pgoff ||
      v[o + 4] !== vma.vm_file || (vma.vm_file && v[o + 5] !== vma.vm_file.f_mapping)) return false;
  }
  const f = m.folios;
  for (let j = 0; j < f.length; j += 3) {
    const fo = f[j] as { mapping: unknown; index: number };
    if (fo.mapping !== f[j + 1] || fo.index !== f[j + 2]) return false;
  }
  return true;
}

function scanPtes(mm: mm_struct, memo: PtesMemo | null): Violation | null {
  const vmas = treeVmas(mm);
  if (memo) {
    for (const vma of vmas) memo.vmas.push(vma, vma.vm_start, vma.vm_end, vma.vm_pgoff, vma.vm_file, vma.vm_file?.f_mapping);
  }
  for (const pmd of mm.pgd.values()) {
    const t = pmd.table;
    memo?.pmds.push(pmd, t, t?.freed, t ? sim_kasan_write_stamp(t) : 0);
    if (!t || t.freed) continue;
    const v = checkTable(mm, pmd, t, vmas, memo);
    if (v) return v;
  }
  return null;
}

/**
 * One table's entries, at the addresses of the PMD entry it is installed in now (pmd.index): a
 * table has no address of its own — mremap's move_normal_pmd moves a whole table to another PMD
 * (the evidence case test/regressions/false-alarm-whole-pmd-mremap.json).
 */
function checkTable(mm: mm_struct, pmd: pmd_t, t: pte_table, vmas: readonly vm_area_struct[], memo: PtesMemo | null): Violation | null {
  const base = pmd.index * PMD_SIZE;
  const entries = t.entries;
  for (let i = 0; i < PTRS_PER_PTE; i++) {
    const pte = entries[i]!;
    // The shared none entry by identity first: most of a table is none.
    if (pte === __pte_none || pte.kind === 'none') continue;
    const addr = base + i * PAGE_SIZE;
    let vma: vm_area_struct | undefined;
    for (let j = 0; j < vmas.length; j++) {
      const v = vmas[j]!;
      if (v.vm_start <= addr && addr < v.vm_end) {
        vma = v;
        break;
      }
    }
    if (!vma) {
      return new Violation('pte-outside-vma',
        `${mm.name}: a ${pte.kind} PTE at ${hex(addr)} lies outside every VMA`,
        ['I10: every present user PTE lies inside [vm_start, vm_end) of an attached VMA of that mm']);
    }
    if (pte.kind === 'present' && vma.vm_file && !pte.special) {
      memo?.folios.push(pte.folio, pte.folio.mapping, pte.folio.index);
      if (pte.folio.mapping === vma.vm_file.f_mapping) {
        const want = vma.vm_pgoff + (addr - vma.vm_start) / PAGE_SIZE;
        if (pte.folio.index !== want) {
          return new Violation('pte-outside-vma',
            `${mm.name}: PTE at ${hex(addr)} maps file page ${pte.folio.index}, but ${vma} maps page ${want} there`,
            ['I10: a file page is mapped at vm_pgoff + (addr - vm_start) / PAGE_SIZE']);
        }
      }
    }
  }
  return null;
}
