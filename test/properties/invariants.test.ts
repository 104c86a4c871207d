/**
 * Each per-step and end-of-run invariant of properties/invariants, shown to fire on a kernel state
 * that a broken implementation would leave behind, and to stay quiet on the correct one.
 *
 *   |--vma A [0x10000000,0x10002000)--|   |--vma B [0x10004000,0x10005000)--|
 */
import { describe, expect, it } from 'vitest';
import { Execution } from '../../impl/rt/execution.js';
import { ReplayScheduler } from '../../impl/rt/schedulers/replay.js';
import { Kernel } from '../../impl/sim/kernel.js';
import { findGeneration } from '../../impl/sim/config.js';
import type { KernelFns } from '../../impl/sim/table.js';
import {
  folio, mm_struct, pmd_t, pte_table, vm_area_struct, maple_node, sim_reset_ids, userfaultfd_ctx,
} from '../../impl/include/linux/mm_types.js';
import { VM_READ, VM_WRITE, PAGE_SIZE, PMD_SHIFT } from '../../impl/include/linux/mm_flags.js';
import {
  checkPmdTablesAlive, checkPtesInsideVmas, checkPtesInsideVmasAtEnd, checkTreeWellFormed, checkWriteLockEpoch,
} from '../../properties/invariants/kernel_state.js';
import { checkNoLeaks, checkRmapComplete } from '../../properties/invariants/end_of_run.js';

const BASE = 0x10000000;

function world(gen = 'v6.6', fns: Partial<Record<string, unknown>> = {}) {
  sim_reset_ids();
  const exec = new Execution({ scheduler: new ReplayScheduler('v1:') });
  const k = new Kernel(findGeneration(gen)!, fns as unknown as KernelFns, gen, exec);
  const mm = new mm_struct(1);
  k.procs.set(1, { pid: 1, mm, uffds: [], exited: false });
  const a = new vm_area_struct(mm, BASE, BASE + 2 * PAGE_SIZE, VM_READ | VM_WRITE, BASE / PAGE_SIZE);
  const b = new vm_area_struct(mm, BASE + 4 * PAGE_SIZE, BASE + 5 * PAGE_SIZE, VM_READ | VM_WRITE, 0);
  mm.mm_mt.ma_root = new maple_node([a, b]);
  const pmd = new pmd_t(BASE / 2 ** PMD_SHIFT);
  pmd.table = new pte_table();
  mm.pgd.set(pmd.index, pmd);
  return { k, mm, a, b, pmd };
}

function mapPage(table: pte_table, addr: number, f: folio) {
  table.entries[(addr - BASE) / PAGE_SIZE] = { kind: 'present', folio: f, write: true, dirty: false, young: true, special: false, uffd_wp: false };
  f._mapcount++;
}

describe('vma-write-lock-epoch (I1)', () => {
  it('is quiet when no VMA carries the current epoch', () => {
    const { k, a } = world();
    a.vm_lock_seq = -1;
    expect(checkWriteLockEpoch(k)).toBeNull();
  });
  it('fires when a VMA stays write-locked after mmap_write_unlock', () => {
    const { k, mm, a } = world();
    a.vm_lock_seq = mm.mm_lock_seq; // a broken vma_end_write_all that forgot to bump the epoch
    expect(checkWriteLockEpoch(k)?.property).toBe('vma-write-lock-epoch');
  });
  it('is quiet while the mmap_lock is write-held', () => {
    const { k, mm, a } = world();
    a.vm_lock_seq = mm.mm_lock_seq;
    mm.mmap_lock.owner = 3;
    expect(checkWriteLockEpoch(k)).toBeNull();
  });
});

describe('pgtable-freed-while-linked (I11)', () => {
  it('fires when a freed PTE table is still reachable from its PMD', () => {
    const { k, pmd } = world();
    expect(checkPmdTablesAlive(k)).toBeNull();
    pmd.table!.freed = true; // free_pgtables freeing before pmd_clear
    expect(checkPmdTablesAlive(k)?.property).toBe('pgtable-freed-while-linked');
  });
});

describe('vma-tree-well-formed (I12)', () => {
  it('fires on overlapping VMAs and on a VMA of another mm', () => {
    const { k, mm, a, b } = world();
    expect(checkTreeWellFormed(k)).toBeNull();
    b.vm_start = a.vm_end - PAGE_SIZE;
    expect(checkTreeWellFormed(k)?.property).toBe('vma-tree-well-formed');
    b.vm_start = BASE + 4 * PAGE_SIZE;
    const other = new mm_struct(2);
    const c = new vm_area_struct(other, BASE + 8 * PAGE_SIZE, BASE + 9 * PAGE_SIZE, VM_READ, 0);
    mm.mm_mt.ma_root = new maple_node([a, b, c]); // a recycled typesafe VMA of another mm in our tree
    expect(checkTreeWellFormed(k)?.message).toMatch(/belongs to mm\(2\)/);
  });
});

describe('pte-outside-vma (I10)', () => {
  it('fires on a PTE in the hole between VMAs, judged only while mmap_lock is free', () => {
    const { k, mm, pmd } = world();
    const f = new folio();
    mapPage(pmd.table!, BASE, f);
    expect(checkPtesInsideVmas(k)).toBeNull();
    mapPage(pmd.table!, BASE + 3 * PAGE_SIZE, new folio()); // a fault that installed after munmap
    mm.mmap_lock.readers = 1; // munmap zapping under the downgraded lock: not judged
    expect(checkPtesInsideVmas(k)).toBeNull();
    mm.mmap_lock.readers = 0;
    expect(checkPtesInsideVmas(k)?.property).toBe('pte-outside-vma');
    expect(checkPtesInsideVmasAtEnd(k)?.property).toBe('pte-outside-vma');
  });

  /*
   * mremap of a whole PMD (move_normal_pmd): the table moves from the PMD of BASE to the next
   * one, and the VMA with it.   before |--vma A--| at BASE        after |--vma A--| at BASE+2M
   */
  it('judges a PTE at the PMD its table is installed in now, not where the table was allocated', () => {
    const { k, mm, a, b, pmd } = world();
    mapPage(pmd.table!, BASE, new folio());
    expect(checkPtesInsideVmas(k)).toBeNull();
    const NEW = BASE + 2 ** PMD_SHIFT;
    const dst = new pmd_t(NEW / 2 ** PMD_SHIFT);
    mm.pgd.set(dst.index, dst);
    dst.table = pmd.table; // pmd_populate(new_pmd); pmd_clear(old_pmd)
    pmd.table = null;
    a.vm_start = NEW;
    a.vm_end = NEW + 2 * PAGE_SIZE;
    mm.mm_mt.ma_root = new maple_node([a]);
    void b;
    expect(checkPtesInsideVmas(k)).toBeNull();
    expect(checkPtesInsideVmasAtEnd(k)).toBeNull();
    // A moved table whose page is outside every VMA is still caught, at its new address.
    a.vm_start = NEW + PAGE_SIZE;
    const v = checkPtesInsideVmas(k);
    expect(v?.property).toBe('pte-outside-vma');
    expect(v?.message).toContain('0x' + NEW.toString(16));
  });
});

describe('leak (end of run)', () => {
  it('fires on a held mmap_lock, a locked VMA, a raised mmap_changing, a wrong mapcount', () => {
    let w = world();
    expect(checkNoLeaks(w.k)).toBeNull();
    w.mm.mmap_lock.readers = 1;
    expect(checkNoLeaks(w.k)?.message).toMatch(/mmap_lock is still held/);
    w = world();
    w.a.vm_lock.readers = 1;
    expect(checkNoLeaks(w.k)?.message).toMatch(/still locked/);
    w = world();
    const ctx = new userfaultfd_ctx(w.mm, 0);
    ctx.mmap_changing = 1;
    w.k.procs.get(1)!.uffds.push(ctx);
    expect(checkNoLeaks(w.k)?.message).toMatch(/mmap_changing is 1/);
    w = world();
    const f = new folio();
    mapPage(w.pmd.table!, BASE, f);
    f._mapcount = 2;
    expect(checkNoLeaks(w.k)?.message).toMatch(/mapcount 2 but 1/);
  });
});

describe('rmap-incomplete (end of run)', () => {
  it('reports what the kernel rmap checker says', () => {
    const ok = world('v6.6', { sim_rmap_complete: () => null });
    expect(checkRmapComplete(ok.k)).toBeNull();
    const bad = world('v6.6', { sim_rmap_complete: () => 'folio#3 at 0x10000000 is not reachable from vma#2' });
    expect(checkRmapComplete(bad.k)?.property).toBe('rmap-incomplete');
  });
});
