/**
 * mm/page_alloc.c & co.: folios as KASAN objects (freed at refcount 0), bad-page checks, the
 * zero page, fault injection, and vma_alloc_folio's read of vma->vm_policy (B14's shape).
 */
import { describe, expect, it } from 'vitest';
import { runFault, expectOk, addVma, load, store, BASE, pteAt, type FaultWorld } from '../arch/x86/mm/fault_harness.js';
import { k } from '../../impl/sim/kernel.js';
import { block, type Task } from '../../impl/rt/task.js';
import { kfree, kasan_object_alive, sim_kasan_track } from '../../impl/sync/kasan.js';
import { mempolicy } from '../../impl/include/linux/mm_types.js';

describe('folio_put', () => {
  it('frees the folio at refcount 0: a later access is a KASAN use-after-free', () => {
    const r = runFault({
      tasks: [{
        name: 'K',
        body: function* (): Task<void> {
          const f = (yield* k.fn.folio_alloc())!;
          k.fn.folio_get(f);
          k.fn.folio_put(f);
          expect(kasan_object_alive(f)).toBe(true);
          k.fn.folio_put(f);
          expect(kasan_object_alive(f)).toBe(false);
          k.fn.folio_get(f);
        },
      }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.message).toMatch(/use-after-free in folio_get/);
  });

  it('freeing a folio that is still mapped is a bad page state', () => {
    const r = runFault({
      tasks: [{
        name: 'K',
        body: function* (): Task<void> {
          const f = (yield* k.fn.folio_alloc())!;
          f._mapcount = 1;
          k.fn.folio_put(f);
        },
      }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.property).toBe('bad_page');
  });

  //   |--anon--|  K frees the page behind T1's PTE (a zap that forgot the PTE); T1 loads
  it('a user access through a PTE to a freed folio is reported at the access', () => {
    const r = runFault({
      setup: function* (w: FaultWorld) { yield* addVma(w, { name: 'anon', start: BASE, pages: 1, anon_vma: true }); },
      threads: [{ name: 'T1', program: [store(BASE, 1), load(BASE)] }],
      tasks: [{
        name: 'K',
        body: function* (w) {
          // Once T1's store mapped the page and T1 is about to load: free it behind the PTE's back.
          yield block('test: T1 mapped the page', () => {
            const p = pteAt(w.mm(), BASE);
            return p !== null && p.kind === 'present' && w.exec.tasks.find((t) => t.name === 'T1')!.label === 'user:load';
          });
          const p = pteAt(w.mm(), BASE)!;
          if (p.kind === 'present') {
            p.folio._mapcount = 0;
            k.fn.folio_put(p.folio);
          }
        },
      }],
      script: [{ run: 'K', until: 'test: T1 mapped' }, { run: 'T1', until: 'user:load' }, { run: 'K' }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.message).toMatch(/use-after-free in user load/);
  });
});

describe('the zero page', () => {
  it('is one special folio per run, never freed', () => {
    const r = expectOk(runFault({
      setup: function* (w) { yield* addVma(w, { name: 'anon', start: BASE, pages: 2, anon_vma: true }); },
      threads: [{ name: 'T1', program: [load(BASE), load(BASE + 0x1000)] }],
    }));
    const a = pteAt(r.w.mm(), BASE)!;
    const b = pteAt(r.w.mm(), BASE + 0x1000)!;
    expect(a.kind === 'present' && b.kind === 'present' && a.folio === b.folio && a.special).toBe(true);
    expect(a.kind === 'present' && k.fn.is_zero_folio(a.folio)).toBe(true);
    expect(r.w.mm().rss_stat.MM_ANONPAGES).toBe(0);
  });
});

describe('fault injection', () => {
  it('a failed allocation makes the fault VM_FAULT_OOM; pagefault_out_of_memory returns and the access retries', () => {
    const r = expectOk(runFault({
      gen: 'v6.6',
      faultInjection: true,
      choices: { 'folio_alloc:fail': [1] },
      setup: function* (w) { yield* addVma(w, { name: 'anon', start: BASE, pages: 1, anon_vma: true }); },
      threads: [{ name: 'T1', program: [store(BASE, 3), load(BASE)] }],
    }));
    expect(r.history.map((h) => h.result)).toEqual([{ kind: 'ok' }, { kind: 'value', value: 3 }]);
    expect(r.w.kernel.stats.vma_lock.VMA_LOCK_SUCCESS).toBe(2); // the OOM fault and the retried one
  });
});

describe('vma_alloc_folio', () => {
  //   T1: fault → vma_alloc_folio: pol = vma->vm_policy ....... policy_node(pol) → UAF
  //   M:                                 vma->vm_policy = new; mpol_put(old) (no VMA write lock: B14)
  it('reads vma->vm_policy: a policy replaced and freed without the VMA write lock is a use-after-free (B14)', () => {
    const r = runFault({
      gen: 'v6.4',
      setup: function* (w) {
        const v = yield* addVma(w, { name: 'anon', start: BASE, pages: 1, anon_vma: true });
        v.vm_policy = sim_kasan_track(new mempolicy('bind'), 'mempolicy', 'test: mbind');
      },
      threads: [{ name: 'T1', program: [store(BASE, 3)] }],
      tasks: [{
        name: 'M',
        body: function* (w) {
          // mbind without vma_start_write: mmap_write_lock only (the VMA-locked fault goes on).
          yield* k.fn.mmap_write_lock(w.mm());
          const vma = w.vma('anon');
          const old = vma.vm_policy!;
          vma.vm_policy = sim_kasan_track(new mempolicy('interleave'), 'mempolicy', 'test: mbind');
          kfree(old, 'mpol_put');
          k.fn.mmap_write_unlock(w.mm());
        },
      }],
      script: [{ run: 'T1', until: 'vma_alloc_folio:policy_node' }, { run: 'M' }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.message).toMatch(/use-after-free in vma_alloc_folio/);
  });

  it('with the policy stable the fault allocates normally', () => {
    const r = expectOk(runFault({
      gen: 'v6.4',
      setup: function* (w) {
        const v = yield* addVma(w, { name: 'anon', start: BASE, pages: 1, anon_vma: true });
        v.vm_policy = sim_kasan_track(new mempolicy('bind'), 'mempolicy', 'test: mbind');
      },
      threads: [{ name: 'T1', program: [store(BASE, 3), load(BASE)] }],
    }));
    expect(r.history[1]!.result).toEqual({ kind: 'value', value: 3 });
  });
});
