/**
 * mm/rmap.c: anon_vma preparation and sharing, fork's anon_vma tree, unlinking, rmap walks
 * (try_to_unmap), and the I10 checker sim_rmap_complete.
 */
import { describe, expect, it } from 'vitest';
import { runFault, expectOk, addVma, load, BASE, PAGE, type FaultWorld } from '../arch/x86/mm/fault_harness.js';
import { k } from '../../impl/sim/kernel.js';
import { defineVariant } from '../../impl/sim/variant.js';
import { block, type Task } from '../../impl/rt/task.js';
import { folio_lock } from '../../impl/sync/bitlock.js';
import { kasan_object_alive } from '../../impl/sync/kasan.js';
import type { folio, vm_area_struct } from '../../impl/include/linux/mm_types.js';
import { generic_file_vm_ops } from '../../impl/mm/filemap.js';

/** Map an anonymous page by hand (PTL held around the install), as a fault would. */
function* mapAnon(vma: vm_area_struct, addr: number, value: number): Task<folio> {
  const mm = vma.vm_mm;
  const f = (yield* k.fn.folio_alloc())!;
  f.data = value;
  k.fn.__folio_mark_uptodate(f);
  const pmd = k.fn.pmd_off(mm, addr);
  yield* k.fn.pte_alloc(mm, pmd);
  const t = (yield* k.fn.pte_offset_map_lock(mm, pmd, addr))!;
  k.fn.folio_add_new_anon_rmap(f, vma, addr);
  k.fn.set_pte_at(mm, addr, t, k.fn.pte_mkyoung(k.fn.folio_mk_pte(f)));
  k.fn.pte_unmap_unlock(t);
  mm.rss_stat.MM_ANONPAGES++;
  return f;
}

/** copy_present_pte for one anon page into the child (what copy_page_range does after anon_vma_fork). */
function* copyPte(src: vm_area_struct, dst: vm_area_struct, addr: number, f: folio): Task<void> {
  const mm = dst.vm_mm;
  const pmd = k.fn.pmd_off(mm, addr);
  yield* k.fn.pte_alloc(mm, pmd);
  const t = (yield* k.fn.pte_offset_map_lock(mm, pmd, addr))!;
  k.fn.folio_get(f);
  f._mapcount++;
  f.anon_exclusive = false;
  k.fn.set_pte_at(mm, addr, t, k.fn.folio_mk_pte(f));
  k.fn.pte_unmap_unlock(t);
  void src;
}

describe('anon_vma_prepare', () => {
  //   |--A (anon_vma)--|--B (no anon_vma, compatible)--|
  it('shares a compatible neighbour\'s anon_vma (find_mergeable_anon_vma)', () => {
    const r = expectOk(runFault({
      setup: function* (w) {
        yield* addVma(w, { name: 'A', start: BASE, pages: 2, anon_vma: true });
        yield* addVma(w, { name: 'B', start: BASE + 2 * PAGE, pages: 2, anon_vma: false });
      },
      tasks: [{
        name: 'K',
        body: function* (w) {
          yield* k.fn.mmap_read_lock(w.mm());
          w.out.set('ret', yield* k.fn.anon_vma_prepare(w.vma('B')));
          k.fn.mmap_read_unlock(w.mm());
        },
      }],
    }));
    expect(r.w.out.get('ret')).toBe(0);
    expect(r.w.vma('B').anon_vma).toBe(r.w.vma('A').anon_vma);
    expect(r.w.vma('B').anon_vma_chain.length).toBe(1);
    expect(r.w.vma('A').anon_vma!.rb_root.size).toBe(2);
  });

  it('without mmap_lock, find_mergeable_anon_vma trips mmap_assert_locked', () => {
    const r = runFault({
      setup: function* (w) { yield* addVma(w, { name: 'B', start: BASE, pages: 2, anon_vma: false }); },
      tasks: [{ name: 'K', body: function* (w) { yield* k.fn.__anon_vma_prepare(w.vma('B')); } }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.message).toMatch(/mmap_assert_locked/);
  });

  //   T1, T2: anon_vma_prepare(V) at once: one anon_vma wins under page_table_lock, the other is put
  it('two racing preparations publish one anon_vma and free the loser', () => {
    const body = (name: string) => function* (w: FaultWorld): Task<void> {
      yield* k.fn.mmap_read_lock(w.mm());
      yield* k.fn.__anon_vma_prepare(w.vma('V'));
      w.out.set(name, w.vma('V').anon_vma);
      k.fn.mmap_read_unlock(w.mm());
    };
    const r = expectOk(runFault({
      setup: function* (w) { yield* addVma(w, { name: 'V', start: BASE, pages: 2, anon_vma: false }); },
      tasks: [{ name: 'T1', body: body('T1') }, { name: 'T2', body: body('T2') }],
      script: [{ run: 'T1', until: 'anon_vma_lock_write' }, { run: 'T2' }],
    }));
    expect(r.w.out.get('T1')).toBe(r.w.out.get('T2'));
    expect(r.w.vma('V').anon_vma_chain.length).toBe(1);
  });
});

describe('folio_add_new_anon_rmap', () => {
  it('BUGs when the VMA has no anon_vma (__folio_set_anon)', () => {
    const r = runFault({
      setup: function* (w) { yield* addVma(w, { name: 'V', start: BASE, pages: 1, anon_vma: false }); },
      tasks: [{ name: 'K', body: function* (w) { k.fn.folio_add_new_anon_rmap((yield* k.fn.folio_alloc())!, w.vma('V'), BASE); } }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.message).toMatch(/__folio_set_anon.*no anon_vma/);
  });
});

describe('anon_vma_fork / unlink_anon_vmas and sim_rmap_complete (I10)', () => {
  //   P1: |--P (anon_vma, page at BASE)--|      P2: |--C--|  (fork's copy)
  const forkSetup = (doFork: boolean) => function* (w: FaultWorld): Task<void> {
    const p = yield* addVma(w, { name: 'P', start: BASE, pages: 2, anon_vma: true });
    const f = yield* mapAnon(p, BASE, 5);
    const c = yield* addVma(w, { name: 'C', start: BASE, pages: 2, pid: 2 });
    yield* k.fn.mmap_write_lock(w.mm(1));
    yield* k.fn.mmap_write_lock_nested(w.mm(2), 1);
    if (doFork) w.out.set('fork', yield* k.fn.anon_vma_fork(c, p));
    yield* copyPte(p, c, BASE, f);
    k.fn.mmap_write_unlock(w.mm(2));
    k.fn.mmap_write_unlock(w.mm(1));
  };

  it('the child VMA links the parent\'s anon_vma and gets one of its own: its COW pages are found by rmap', () => {
    const r = expectOk(runFault({ pids: [1, 2], setup: forkSetup(true) }));
    const p = r.w.vma('P');
    const c = r.w.vma('C');
    expect(r.w.out.get('fork')).toBe(0);
    expect(c.anon_vma).not.toBe(p.anon_vma);
    expect(c.anon_vma!.parent).toBe(p.anon_vma);
    expect(c.anon_vma!.root).toBe(p.anon_vma!.root);
    expect(c.anon_vma_chain.map((a) => a.anon_vma)).toContain(p.anon_vma);
    expect(k.fn.sim_rmap_complete(r.w.mm(1))).toBeNull();
    expect(k.fn.sim_rmap_complete(r.w.mm(2))).toBeNull();
  });

  it('a PTE copied into a VMA whose chain lacks the page\'s anon_vma is reported (B8\'s outcome)', () => {
    const r = expectOk(runFault({ pids: [1, 2], setup: forkSetup(false) }));
    expect(k.fn.sim_rmap_complete(r.w.mm(1))).toBeNull();
    expect(k.fn.sim_rmap_complete(r.w.mm(2))).toMatch(/not on the VMA's anon_vma_chain/);
  });

  it('unlink_anon_vmas frees the child\'s own anon_vma and leaves the parent\'s', () => {
    const r = expectOk(runFault({
      pids: [1, 2],
      setup: forkSetup(true),
      tasks: [{
        name: 'K',
        body: function* (w) {
          const c = w.vma('C');
          const own = c.anon_vma!;
          w.out.set('own', own);
          // munmap of the child: zap first (here: drop the copied PTE by hand), then unlink.
          yield* k.fn.mmap_write_lock(w.mm(2));
          const pmd = k.fn.pmd_off(w.mm(2), BASE);
          const t = (yield* k.fn.pte_offset_map_lock(w.mm(2), pmd, BASE))!;
          const old = k.fn.ptep_get_and_clear(w.mm(2), BASE, t);
          k.fn.pte_unmap_unlock(t);
          if (old.kind === 'present') {
            k.fn.folio_remove_rmap_pte(old.folio, c);
            k.fn.folio_put(old.folio);
          }
          yield* k.fn.unlink_anon_vmas(c);
          k.fn.mmap_write_unlock(w.mm(2));
        },
      }],
    }));
    const own = r.w.out.get('own') as object;
    expect(kasan_object_alive(own)).toBe(false);
    expect(r.w.vma('C').anon_vma).toBeNull();
    expect(r.w.vma('C').anon_vma_chain.length).toBe(0);
    expect(kasan_object_alive(r.w.vma('P').anon_vma!)).toBe(true);
    expect(r.w.vma('P').anon_vma!.rb_root.size).toBe(1);
  });
});

describe('try_to_unmap', () => {
  const stubSwapDuplicate = defineVariant({
    name: 'swap-dup-ok', base: 'v6.6', description: 'test: swap_duplicate always succeeds',
    overrides: { swap_duplicate: function* () { return 0; } },
  });

  //   |--anon (page at BASE in the swap cache at entry 3)--|
  it('installs the swap entry for an anonymous folio in the swap cache and drops the mapping', () => {
    const r = expectOk(runFault({
      variant: stubSwapDuplicate,
      setup: function* (w) {
        const v = yield* addVma(w, { name: 'anon', start: BASE, pages: 2, anon_vma: true });
        const f = yield* mapAnon(v, BASE, 8);
        f.swapcache = true; // add_to_swap: the swap cache holds a reference
        f.swap = 3;
        k.fn.folio_get(f);
        w.out.set('f', f);
      },
      tasks: [{
        name: 'reclaim',
        body: function* (w) {
          const f = w.out.get('f') as folio;
          yield* folio_lock(f);
          w.out.set('unmapped', yield* k.fn.try_to_unmap(f));
        },
      }],
    }));
    const f = r.w.out.get('f') as folio;
    expect(r.w.out.get('unmapped')).toBe(true);
    expect(f._mapcount).toBe(0);
    expect(k.fn.folio_ref_count(f)).toBe(1); // the swap cache's
    const pmd = r.w.mm().pgd.get(k.fn.sim_pmd_index(BASE))!;
    const pte = pmd.table!.entries[k.fn.pte_index(BASE)]!;
    expect(pte).toEqual({ kind: 'swap', entry: 3, exclusive: true, uffd_wp: false });
    expect(r.w.mm().rss_stat).toMatchObject({ MM_ANONPAGES: 0, MM_SWAPENTS: 1 });
  });

  //   file "f": [11]   |--file (1 page)--|   T1 loads it, then reclaim unmaps it through i_mmap
  it('unmaps a page-cache folio through mapping->i_mmap', () => {
    const r = expectOk(runFault({
      files: [{ name: 'f', pages: [11] }],
      setup: function* (w) {
        yield* addVma(w, { name: 'file', start: BASE, pages: 1, pgoff: 0, file: w.kernel.files.get('f')!, ops: generic_file_vm_ops });
      },
      threads: [{ name: 'T1', program: [load(BASE)] }],
      tasks: [{
        name: 'reclaim',
        body: function* (w) {
          yield block('test: T1 done', () => w.exec.tasks.find((t) => t.name === 'T1')!.done);
          const f = w.kernel.files.get('f')!.f_mapping.i_pages.get(0)!;
          yield* folio_lock(f);
          w.out.set('unmapped', yield* k.fn.try_to_unmap(f));
          w.out.set('f', f);
        },
      }],
    }));
    expect(r.history[0]!.result).toEqual({ kind: 'value', value: 11 });
    expect(r.w.out.get('unmapped')).toBe(true);
    const pmd = r.w.mm().pgd.get(k.fn.sim_pmd_index(BASE))!;
    expect(pmd.table!.entries[k.fn.pte_index(BASE)]!.kind).toBe('none');
    expect((r.w.out.get('f') as folio)._mapcount).toBe(0);
  });

  it('try_to_unmap of an unlocked folio trips VM_BUG_ON', () => {
    const r = runFault({
      setup: function* (w) {
        const v = yield* addVma(w, { name: 'anon', start: BASE, pages: 1, anon_vma: true });
        w.out.set('f', yield* mapAnon(v, BASE, 1));
      },
      tasks: [{ name: 'K', body: function* (w) { yield* k.fn.try_to_unmap(w.out.get('f') as folio); } }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.message).toMatch(/not locked/);
  });
});
