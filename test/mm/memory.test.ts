/**
 * mm/memory.c: COW (do_wp_page copy and reuse), the anon_vma preparation per era, the lock
 * assertions of the fault path, driver VMAs, file faults.
 */
import { describe, expect, it } from 'vitest';
import {
  runFault, expectOk, addVma, load, store, BASE, PAGE, RW, pteAt, type FaultWorld,
} from '../arch/x86/mm/fault_harness.js';
import { k } from '../../impl/sim/kernel.js';
import { defineVariant } from '../../impl/sim/variant.js';
import { block, type Task } from '../../impl/rt/task.js';
import { rcu_read_lock, rcu_read_unlock } from '../../impl/sync/rcu.js';
import {
  FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_VMA_LOCK, FAULT_FLAG_WRITE, VM_FAULT_NOPAGE, VM_FAULT_RETRY, VM_FAULT_SIGBUS,
  VM_PFNMAP,
} from '../../impl/include/linux/mm_flags.js';
import { anon_vma, vm_fault, type folio, type vm_area_struct } from '../../impl/include/linux/mm_types.js';
import { generic_file_vm_ops } from '../../impl/mm/filemap.js';

/** Map an anonymous page by hand (setup context): read-only PTE, as fork's copy_present_pte leaves it. */
function* mapAnonPage(vma: vm_area_struct, addr: number, value: number, o: { exclusive: boolean; sharedWithChild: boolean }): Task<folio> {
  const mm = vma.vm_mm;
  const f = (yield* k.fn.folio_alloc())!;
  f.data = value;
  k.fn.__folio_mark_uptodate(f);
  const pmd = k.fn.pmd_off(mm, addr);
  expect(yield* k.fn.pte_alloc(mm, pmd)).toBe(0);
  const t = (yield* k.fn.pte_offset_map_lock(mm, pmd, addr))!;
  k.fn.folio_add_new_anon_rmap(f, vma, addr);
  k.fn.folio_add_lru_vma(f, vma);
  f.anon_exclusive = o.exclusive;
  if (o.sharedWithChild) {
    k.fn.folio_get(f); // the child's PTE reference
    f._mapcount++;
  }
  k.fn.set_pte_at(mm, addr, t, k.fn.pte_mkyoung(k.fn.folio_mk_pte(f)));
  k.fn.pte_unmap_unlock(t);
  mm.rss_stat.MM_ANONPAGES++;
  return f;
}

//   |----anon rw (4 pages, anon_vma); page 0 mapped read-only----|
function cowSetup(o: { exclusive: boolean; sharedWithChild: boolean }) {
  return function* (w: FaultWorld): Task<void> {
    const vma = yield* addVma(w, { name: 'anon', start: BASE, pages: 4, anon_vma: true });
    w.out.set('old', yield* mapAnonPage(vma, BASE, 41, o));
  };
}

describe('do_wp_page', () => {
  it('copies a page still shared with a child (wp_page_copy): new folio, old mapcount dropped after the switch', () => {
    for (const gen of ['v6.3', 'v6.4', 'v6.15']) {
      const r = expectOk(runFault({ gen, setup: cowSetup({ exclusive: false, sharedWithChild: true }), threads: [{ name: 'T1', program: [store(BASE, 9), load(BASE)] }] }));
      const old = r.w.out.get('old') as folio;
      const pte = pteAt(r.w.mm(), BASE)!;
      expect(pte.kind === 'present' && pte.folio !== old && pte.write && pte.dirty, gen).toBe(true);
      expect(pte.kind === 'present' && pte.folio.data, gen).toBe(9);
      expect(old.data, gen).toBe(41); // the child's copy is untouched
      expect(old._mapcount, gen).toBe(1);
      expect(k.fn.folio_ref_count(old), gen).toBe(1);
      expect(r.history[1]!.result, gen).toEqual({ kind: 'value', value: 9 });
      expect(k.fn.sim_rmap_complete(r.w.mm()), gen).toBeNull();
    }
  });

  it('reuses an exclusive anonymous page in place (PageAnonExclusive)', () => {
    const r = expectOk(runFault({ gen: 'v6.6', setup: cowSetup({ exclusive: true, sharedWithChild: false }), threads: [{ name: 'T1', program: [store(BASE, 9)] }] }));
    const old = r.w.out.get('old') as folio;
    const pte = pteAt(r.w.mm(), BASE)!;
    expect(pte.kind === 'present' && pte.folio === old && pte.write).toBe(true);
    expect(old.data).toBe(9);
  });

  it('reuses a sole-owner page after wp_can_reuse_anon_folio (refcount 1 under the folio lock)', () => {
    const r = expectOk(runFault({ gen: 'v6.6', setup: cowSetup({ exclusive: false, sharedWithChild: false }), threads: [{ name: 'T1', program: [store(BASE, 9)] }] }));
    const old = r.w.out.get('old') as folio;
    const pte = pteAt(r.w.mm(), BASE)!;
    expect(pte.kind === 'present' && pte.folio === old && pte.write).toBe(true);
    expect(old.anon_exclusive).toBe(true);
    expect(old.mapping).toBe(r.w.vma('anon').anon_vma); // folio_move_anon_rmap
  });
});

describe('assertions on the fault path', () => {
  //   |----anon rw----|  K: calls into the fault path with the wrong lock
  const anon = function* (w: FaultWorld): Task<void> {
    yield* addVma(w, { name: 'anon', start: BASE, pages: 4, anon_vma: true });
  };

  it('handle_mm_fault without the mmap_lock trips mmap_assert_locked (assert_fault_locked)', () => {
    const r = runFault({ gen: 'v6.6', setup: anon, tasks: [{ name: 'K', body: function* (w) { yield* k.fn.handle_mm_fault(w.vma('anon'), BASE, FAULT_FLAG_WRITE, null); } }] });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.message).toMatch(/mmap_assert_locked/);
  });

  it('handle_mm_fault with FAULT_FLAG_VMA_LOCK but no VMA lock trips vma_assert_locked', () => {
    const r = runFault({ gen: 'v6.6', setup: anon, tasks: [{ name: 'K', body: function* (w) { yield* k.fn.handle_mm_fault(w.vma('anon'), BASE, FAULT_FLAG_WRITE | FAULT_FLAG_VMA_LOCK, null); } }] });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.message).toMatch(/vma_assert_write_locked|vma_assert_locked|mmap_assert_write_locked/);
  });

  it('set_pte_range without the PTL trips lockdep_assert_held', () => {
    const r = runFault({
      gen: 'v6.6',
      setup: anon,
      tasks: [{
        name: 'K',
        body: function* (w) {
          const vma = w.vma('anon');
          const mm = vma.vm_mm;
          yield* k.fn.mmap_read_lock(mm);
          const vmf = new vm_fault(vma, BASE, 0);
          vmf.pmd = k.fn.pmd_off(mm, BASE);
          yield* k.fn.pte_alloc(mm, vmf.pmd);
          vmf.pte = vmf.pmd.table; // mapped, but the PTL is not taken
          const f = (yield* k.fn.folio_alloc())!;
          k.fn.set_pte_range(vmf, f, 1, BASE);
        },
      }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.property).toBe('lockdep');
  });

  it('6.4: anon_vma creation under the VMA lock alone reaches find_mergeable_anon_vma and trips mmap_assert_locked (B10 path)', () => {
    // What lock_vma_under_rcu's anon_vma check prevents: a VMA without anon_vma, VMA-locked.
    const noAnonVma = function* (w: FaultWorld): Task<void> {
      yield* addVma(w, { name: 'anon', start: BASE, pages: 4, anon_vma: false });
    };
    const faultUnderVmaLock = function* (w: FaultWorld): Task<void> {
      const vma = w.vma('anon');
      rcu_read_lock();
      const locked = yield* k.fn.vma_start_read(vma.vm_mm, vma);
      rcu_read_unlock();
      expect(locked).toBe(vma);
      const ret = yield* k.fn.handle_mm_fault(vma, BASE, FAULT_FLAG_WRITE | FAULT_FLAG_VMA_LOCK | FAULT_FLAG_ALLOW_RETRY, null);
      w.out.set('ret', ret);
      if (!(ret & VM_FAULT_RETRY) || !k.cfg.vma_lock_released_by_handler) yield* k.fn.vma_end_read(vma);
    };
    const r64 = runFault({ gen: 'v6.4', setup: noAnonVma, tasks: [{ name: 'K', body: faultUnderVmaLock }] });
    expect(r64.outcome.status).toBe('violation');
    expect(r64.outcome.violation!.message).toMatch(/mmap_assert_locked/);
    expect(r64.outcome.violation!.report.join('\n')).toMatch(/mmap_assert_locked/);
    // 6.10+: __vmf_anon_prepare takes mmap_read_trylock first — fine.
    const r615 = expectOk(runFault({ gen: 'v6.15', setup: noAnonVma, tasks: [{ name: 'K', body: faultUnderVmaLock }] }));
    expect(r615.w.out.get('ret')).toBe(0);
    expect(r615.w.vma('anon').anon_vma).not.toBeNull();
    // 6.6–6.9: no anon_vma under the VMA lock → VM_FAULT_RETRY (lock released by the handler).
    const r66 = expectOk(runFault({ gen: 'v6.6', setup: noAnonVma, tasks: [{ name: 'K', body: faultUnderVmaLock }] }));
    expect(r66.w.out.get('ret')).toBe(VM_FAULT_RETRY);
  });
});

describe('vmf_anon_prepare', () => {
  //   writer: mmap_write_lock (no VMA write lock) ....................... unlock
  //   T1:     store → VMA lock → __vmf_anon_prepare: mmap_read_trylock fails → RETRY → mmap path waits ┘
  it('6.15: never blocks on mmap_lock under the VMA lock (trylock, VM_FAULT_RETRY, fallback)', () => {
    const r = expectOk(runFault({
      gen: 'v6.15',
      setup: function* (w) { yield* addVma(w, { name: 'anon', start: BASE, pages: 4, anon_vma: false }); },
      tasks: [{
        name: 'writer',
        body: function* (w) {
          const mm = w.mm();
          yield* k.fn.mmap_write_lock(mm);
          yield block('test: T1 waits for mmap_lock', () => {
            const t1 = w.exec.tasks.find((t) => t.name === 'T1')!;
            return t1.block !== null && t1.obj === mm.mmap_lock;
          });
          k.fn.mmap_write_unlock(mm);
        },
      }],
      threads: [{ name: 'T1', program: [store(BASE, 4), load(BASE)] }],
      script: [{ run: 'writer', until: 'test: T1 waits' }],
    }));
    const st = r.w.kernel.stats;
    expect(st.vma_lock.VMA_LOCK_RETRY).toBe(1);
    expect(st.mmap_lock_faults).toBe(1);
    expect(r.history[1]!.result).toEqual({ kind: 'value', value: 4 });
  });

  it('a variant that blocks on mmap_read_lock under the VMA lock deadlocks against vma_start_write (I4/H2)', () => {
    const blocking = defineVariant({
      name: 'anon-prepare-blocks', base: 'v6.15', description: 'test: __vmf_anon_prepare with mmap_read_lock instead of trylock',
      overrides: {
        __vmf_anon_prepare: function* (vmf: vm_fault): Task<number> {
          const vma = vmf.vma;
          if (vma.anon_vma !== null) return 0;
          yield* k.fn.mmap_read_lock(vma.vm_mm);
          const ret = (yield* k.fn.__anon_vma_prepare(vma)) ? 1 : 0;
          k.fn.mmap_read_unlock(vma.vm_mm);
          return ret;
        },
      },
    });
    const r = runFault({
      variant: blocking,
      setup: function* (w) { yield* addVma(w, { name: 'anon', start: BASE, pages: 4, anon_vma: false }); },
      tasks: [{
        name: 'writer',
        body: function* (w) {
          // Once T1 holds the VMA read lock and is about to take mmap_read_lock:
          yield block('test: T1 holds the VMA lock', () => w.exec.tasks.find((t) => t.name === 'T1')!.label.includes('mmap_read_lock'));
          yield* k.fn.mmap_write_lock(w.mm());
          yield* k.fn.vma_start_write(w.vma('anon'));
          k.fn.mmap_write_unlock(w.mm());
        },
      }],
      threads: [{ name: 'T1', program: [store(BASE, 4)] }],
      script: [{ run: 'T1', until: 'mmap_read_lock' }, { run: 'writer', until: 'vma_start_write' }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(`${r.outcome.violation!.property} ${r.outcome.violation!.message}`).toMatch(/deadlock|circular/i);
  });
});

describe('do_fault', () => {
  //   |--drv (VM_PFNMAP, vm_ops without ->fault; page 0 prefaulted)--|
  it('a driver VMA without ->fault: VM_FAULT_NOPAGE when the PTE is present, VM_FAULT_SIGBUS when none', () => {
    const r = expectOk(runFault({
      gen: 'v6.6',
      setup: function* (w) {
        const vma = yield* addVma(w, { name: 'drv', start: BASE, pages: 2, flags: RW | VM_PFNMAP, ops: { name: 'drv_vm_ops' } });
        // remap_pfn_range of page 0: a special PTE to driver memory.
        const mm = vma.vm_mm;
        const pmd = k.fn.pmd_off(mm, BASE);
        yield* k.fn.pte_alloc(mm, pmd);
        const t = (yield* k.fn.pte_offset_map_lock(mm, pmd, BASE))!;
        const { folio: F } = yield* devPage();
        k.fn.set_pte_at(mm, BASE, t, k.fn.pte_mkspecial(k.fn.folio_mk_pte(F, true)));
        k.fn.pte_unmap_unlock(t);
      },
      tasks: [{
        name: 'K',
        body: function* (w) {
          const vma = w.vma('drv');
          yield* k.fn.mmap_read_lock(vma.vm_mm);
          for (const [name, addr] of [['present', BASE], ['none', BASE + PAGE]] as const) {
            const vmf = new vm_fault(vma, addr, 0);
            vmf.pmd = k.fn.pmd_off(vma.vm_mm, addr);
            w.out.set(name, yield* k.fn.do_fault(vmf));
          }
          k.fn.mmap_read_unlock(vma.vm_mm);
        },
      }],
    }));
    expect(r.w.out.get('present')).toBe(VM_FAULT_NOPAGE);
    expect(r.w.out.get('none')).toBe(VM_FAULT_SIGBUS);
  });

  //   file "f": [11, 22]   |--file rw private (2 pages)--|
  it('a file read fault maps the page-cache page; a write to the private mapping copies it (do_cow_fault)', () => {
    for (const gen of ['v6.3', 'v6.4', 'v6.6', 'v6.7', 'v6.15']) {
      const r = expectOk(runFault({
        gen,
        files: [{ name: 'f', pages: [11, 22] }],
        setup: function* (w) {
          const f = w.kernel.files.get('f')!;
          yield* addVma(w, { name: 'file', start: BASE, pages: 2, pgoff: 0, file: f, ops: generic_file_vm_ops });
        },
        threads: [{ name: 'T1', program: [load(BASE), store(BASE + PAGE, 5), load(BASE + PAGE)] }],
      }));
      expect(r.history.map((h) => h.result), gen).toEqual([{ kind: 'value', value: 11 }, { kind: 'ok' }, { kind: 'value', value: 5 }]);
      const pte = pteAt(r.w.mm(), BASE + PAGE)!;
      expect(pte.kind === 'present' && pte.folio.mapping instanceof anon_vma, gen).toBe(true); // folio_anon_vma(folio) != NULL
      expect(r.w.kernel.files.get('f')!.f_mapping.i_pages.get(1)?.data ?? 22, gen).toBe(22);
      expect(k.fn.sim_rmap_complete(r.w.mm()), gen).toBeNull();
    }
  });
});

/** A page of device memory (not refcounted through mappings). */
function* devPage(): Task<{ folio: folio }> {
  const { folio: F } = yield* (function* () {
    const mt = yield* k.fn.folio_alloc();
    return { folio: mt! };
  })();
  (F as { special: boolean }).special = true;
  F.data = 77;
  return { folio: F };
}
