/**
 * End-of-run checks: what must hold once every thread finished and the kernel daemons went idle.
 */
import { Violation } from '../../impl/rt/task.js';
import type { Kernel } from '../../impl/sim/kernel.js';
import type { folio, mm_struct } from '../../impl/include/linux/mm_types.js';
import { liveMms } from './kernel_state.js';

type MaybeFn<A extends unknown[], R> = ((...a: A) => R) | undefined;

/**
 * I10/I17 — rmap completeness: every mapped anon folio is reachable from its VMA's anon_vma chain,
 * every mapped file page's VMA is in its mapping's i_mmap. Delegates to rmap.ts's
 * sim_rmap_complete, which knows the rmap structures.
 */
export function checkRmapComplete(kernel: Kernel): Violation | null {
  const f = (kernel.fn as unknown as Record<string, MaybeFn<[mm_struct], string | null>>)['sim_rmap_complete'];
  if (!f) return null;
  for (const mm of liveMms(kernel)) {
    const why = f(mm);
    if (why) return new Violation('rmap-incomplete', `${mm.name}: ${why}`, ['I10: rmap completeness (B8: fork copied a PTE whose page is not in the child\'s anon_vma chain)']);
  }
  return null;
}

/**
 * Nothing left behind: every mmap_lock free, no VMA read-locked, every userfaultfd ctx's
 * mmap_changing back to 0, and every folio's mapcount equal to the number of PTEs mapping it.
 */
export function checkNoLeaks(kernel: Kernel): Violation | null {
  const mapped = new Map<folio, number>();
  for (const mm of liveMms(kernel)) {
    const l = mm.mmap_lock;
    if (l.owner !== -1 || l.readers !== 0) {
      return new Violation('leak', `${mm.name}->mmap_lock is still held at the end of the run (owner ${l.owner}, readers ${l.readers})`, []);
    }
    for (const vma of mm.mm_mt.ma_root.slots) {
      if (vma.vm_lock.readers !== 0 || vma.vm_lock.owner !== -1 || (kernel.cfg.vma_lock_impl === 'refcount' && vma.vm_refcnt > 1)) {
        return new Violation('leak', `${vma} is still locked at the end of the run`, ['a VMA read lock was never released (vma_end_read)']);
      }
    }
    for (const pmd of mm.pgd.values()) {
      // A huge PMD is one (entire) mapping of its THP's head (folio_mapcount counts it).
      if (pmd.huge !== null) mapped.set(pmd.huge.folio, (mapped.get(pmd.huge.folio) ?? 0) + 1);
      const t = pmd.table;
      if (!t || t.freed) continue;
      for (const pte of t.entries) {
        if (pte.kind === 'present' && !pte.special) mapped.set(pte.folio, (mapped.get(pte.folio) ?? 0) + 1);
      }
    }
  }
  for (const p of kernel.procs.values()) {
    for (const ctx of p.uffds) {
      if (ctx.mmap_changing !== 0) {
        return new Violation('leak', `${ctx.name}: mmap_changing is ${ctx.mmap_changing} at the end of the run`, ['I18: every increment of mmap_changing is matched by a decrement (B22)']);
      }
    }
  }
  for (const [f, n] of mapped) {
    if (f._mapcount + f._entire_mapcount !== n) {
      return new Violation('leak', `${f.name}: mapcount ${f._mapcount} but ${n} PTE(s) map it`, ['rmap accounting: folio_add_*_rmap / folio_remove_rmap_pte pair with PTE installs and zaps']);
    }
  }
  return null;
}
