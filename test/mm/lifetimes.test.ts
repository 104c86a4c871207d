/**
 * Object lifetimes (kernel/fork.c: mmgrab / mmdrop / __mmdrop / mmput; include/linux/mmap_lock.h:
 * vma_refcount_put): an mm_struct is freed at its last mmdrop and is a KASAN object, and the
 * 6.15 VMA-lock put has its step between the refcount decrement and the writer's wake-up.
 *
 * The planted bug is 6.15-rc's lock_vma_under_rcu (before 9bbffee67ffd, "mm: fix a UAF when
 * vma->mm is freed after vma->vm_refcnt got dropped"): the vm_mm check comes after vma_start_read
 * and drops a recycled VMA of another mm with vma_end_read, without pinning that mm. Jann Horn's
 * race, P1's fault against P2's munmap and exit:
 *
 *   P1:  0x10000 |----A----| 0x20000        fault: mas_walk finds A
 *        munmap(A): A freed into the SLAB_TYPESAFE_BY_RCU cache
 *   P2:  0x10000 |----A'---| 0x20000        mmap reuses the object (A' = A)
 *        fault: vma_start_read takes a reference on A' (P2's VMA)
 *        P2 munmap: vma_start_write(A') excludes readers, waits
 *        fault: vm_mm != mm → vma_end_read → refcount dec … (the writer stops waiting)
 *        P2: detaches A', exits: exit_mmap, the last mmdrop frees mm(2)
 *        fault: … rcuwait_wake_up(&mm(2)->vma_writer_wait) — use-after-free
 *
 * Visible only through the mechanism: with mmdrop not freeing the mm (as before), or with the
 * decrement and the wake-up in one step, the same schedule passes.
 */
import { describe, expect, it } from 'vitest';
import { defineVariant, generationVariant, type Variant } from '../../impl/sim/variant.js';
import { k } from '../../impl/sim/kernel.js';
import { step, waitUntil, type Task } from '../../impl/rt/task.js';
import { EAGAIN } from '../../impl/include/linux/errno.js';
import { VMA_REF_LIMIT, type mm_struct, type vm_area_struct } from '../../impl/include/linux/mm_types.js';
import { sim_vmlock_dep_map } from '../../impl/mm/mmap_lock.js';
import { rcu_read_lock, rcu_read_unlock, rwsem_acquire_read } from '../../impl/sync/index.js';
import { KASAN_FREED, sim_kasan_meta } from '../../impl/sync/kasan.js';
import { refcount_read } from '../../impl/sync/refcount.js';
import { ScriptScheduler, type Phase } from './io_harness.js';
import { build, expectSane, run, RW, sim_test_map, sim_test_unmap, type LockTest, type LockWorld } from './vma_lock_harness.js';

/** A label script that also hands back a freed VMA when a typesafe cache offers one. */
class ReuseScript extends ScriptScheduler {
  override choose(n: number, _step: number, _task: number, label: string): number {
    return label.endsWith(':reuse') && n > 1 ? 1 : 0;
  }
}

/** vma_start_read of 6.15-rc (00c010e130e5): no vm_mm check inside. */
function* vma_start_read_rc(mm: mm_struct, vma: vm_area_struct): Task<vm_area_struct | null | number> {
  yield step('vma_start_read:vm_lock_seq', vma);
  if (vma.vm_lock_seq === mm.mm_lock_seq) {
    rcu_read_unlock();
    return null;
  }
  yield step('vma_start_read:vm_refcnt', vma);
  const old = vma.vm_refcnt;
  if (old === 0 || old + 1 > VMA_REF_LIMIT) {
    rcu_read_unlock();
    return old !== 0 ? null : -EAGAIN;
  }
  vma.vm_refcnt = old + 1;
  rwsem_acquire_read(sim_vmlock_dep_map(vma), 0, true, 'vma_start_read');
  yield step('vma_start_read:mm_lock_seq', vma);
  if (vma.vm_lock_seq === mm.mm_lock_seq) {
    yield* k.fn.vma_refcount_put(vma);
    rcu_read_unlock();
    return null;
  }
  return vma;
}

/** lock_vma_under_rcu of 6.15-rc: the vm_mm check after vma_start_read, no mmgrab. */
function* lock_vma_under_rcu_rc(mm: mm_struct, address: number): Task<vm_area_struct | null> {
  rcu_read_lock();
  for (;;) {
    const found = yield* k.fn.mas_walk(mm, address);
    if (found === null) break;
    const vma = yield* k.fn.vma_start_read(mm, found);
    if (vma === null || typeof vma === 'number') {
      if (vma === -EAGAIN) {
        rcu_read_lock(); // (RCU was dropped by vma_start_read)
        continue;
      }
      return null;
    }
    // Check if the vma we locked is the right one.
    if (vma.vm_mm !== mm || address < vma.vm_start || address >= vma.vm_end) {
      yield* k.fn.vma_end_read(vma); // inval_end_read
      break;
    }
    rcu_read_unlock();
    return vma;
  }
  rcu_read_unlock();
  return null;
}

const before9bbffee = defineVariant({
  name: 'lock_vma_under_rcu-before-9bbffee67ffd', base: 'v6.15',
  description: '6.15-rc: vm_mm checked after vma_start_read, the recycled VMA dropped without mmgrab',
  overrides: { vma_start_read: vma_start_read_rc, lock_vma_under_rcu: lock_vma_under_rcu_rc },
});

/** The same, with mmdrop never freeing the mm (the stand-in this file replaces). */
const before9bbffeeNoFree = defineVariant({
  ...before9bbffee, name: 'before-9bbffee67ffd-mm-never-freed',
  overrides: { ...before9bbffee.overrides, __mmdrop: () => {} },
});

/** P1 faults on A while P1 unmaps it, P2 maps the recycled object, unmaps it and exits. */
function jannSpec(variant: Variant): LockTest {
  return {
    variant, pids: [1, 2],
    setup: function* (w) {
      yield* sim_test_map(w, 'A', w.mm(1), { start: 0x10000, end: 0x20000, anon_vma: false });
    },
    tasks: [
      ['fault', function* (w: LockWorld) {
        const v = yield* k.fn.lock_vma_under_rcu(w.mm(1), 0x10000);
        w.out.set('got', v);
        if (v) yield* k.fn.vma_end_read(v);
      }],
      ['munmap', function* (w: LockWorld) {
        yield* sim_test_unmap(w.mm(1), w.vma('A'));
        w.set('freed');
      }],
      ['p2', function* (w: LockWorld) {
        yield* w.wait('freed');
        const mm2 = w.mm(2);
        yield* k.fn.mmap_write_lock(mm2);
        const v = yield* k.fn.vm_area_alloc(mm2);
        v.vm_start = 0x10000;
        v.vm_end = 0x20000;
        v.vm_flags = RW;
        yield* k.fn.vma_start_write(v);
        yield* k.fn.vma_iter_store(mm2, v);
        mm2.map_count++;
        k.fn.mmap_write_unlock(mm2);
        w.out.set('reused', v === w.vma('A'));
        // munmap(A') once the fault holds its reference (or is done), then exit.
        const fault = w.tid('fault');
        yield* waitUntil('test: the fault holds a reference', () => v.vm_refcnt === 2 || w.exec.tasks[fault]!.done);
        yield* sim_test_unmap(mm2, v);
        const p = w.kernel.procs.get(2)!;
        p.mm = null;
        p.exited = true;
        yield* k.fn.mmput(mm2);
        w.set('p2-exited');
      }],
    ],
  };
}

/**
 * The race as a label script (a phase runs its task until the task is about to take a step with
 * that label): the fault stops after mas_walk; P1's munmap frees A; P2 maps the recycled object
 * and waits; the fault takes its reference and stops before its vm_mm check; P2's munmap adds
 * VMA_LOCK_OFFSET and stops before rcuwait_wait_event looks at the count; the fault drops its
 * reference and stops before the wake-up; P2 does not sleep (the count is already right),
 * finishes, exits, frees mm(2); the fault resumes.
 */
const SCRIPT: readonly Phase[] = [
  { task: 'fault', until: 'vma_start_read' },
  { task: 'munmap', until: 'exit' },
  { task: 'p2', until: 'test: the fault holds a reference' },
  { task: 'fault', until: 'vma_start_read:mm_lock_seq' },
  { task: 'p2', until: 'rcuwait_wait_event' },
  { task: 'fault', until: 'vma_refcount_put:rcuwait_wake_up' },
  { task: 'p2', until: 'exit' },
];

function runScript(variant: Variant): { o: ReturnType<LockWorld['exec']['run']>; w: LockWorld } {
  const w = build(jannSpec(variant), new ReuseScript(SCRIPT), true);
  const o = w.exec.run();
  if (process.env.DBG) for (const e of w.exec.trace) console.log(e.step, w.exec.tasks[e.task]!.name, e.label);
  expectSane(o);
  return { o, w };
}

describe('mm_struct lifetime (kernel/fork.c)', () => {
  it('6.15-rc without mmgrab: the fault wakes P2\'s writer through an mm already freed (KASAN)', () => {
    const { o, w } = runScript(before9bbffee);
    expect(w.out.get('reused')).toBe(true);
    expect(w.flags.has('p2-exited')).toBe(true);
    expect(o.status).toBe('violation');
    expect(o.violation!.property).toBe('kasan');
    expect(o.violation!.message).toMatch(/use-after-free in rcuwait_wake_up \(vma_refcount_put\).*mm_struct object freed at __mmdrop/);
    // The same decisions replay from the recorded schedule.
    const again = run(jannSpec(before9bbffee), o.schedule);
    expect(again.outcome.violation?.message).toBe(o.violation!.message);
  });

  it('the same schedule passes when the mm is never freed (the stand-in before)', () => {
    const { o } = runScript(before9bbffee);
    const r = run(jannSpec(before9bbffeeNoFree), o.schedule);
    expect(r.outcome.status, r.outcome.violation?.message).toBe('ok');
  });

  it('v6.15 (9bbffee67ffd: vm_mm checked inside vma_start_read, the other mm pinned): the same race is clean, the fault frees mm(2)', () => {
    const { o, w } = runScript(generationVariant('v6.15'));
    expect(o.status, o.violation?.message).toBe('ok');
    expect(w.out.get('reused')).toBe(true);
    expect(w.out.get('got')).toBeNull();
    // P2's mmput left the struct to the fault's mmgrab; its mmdrop freed it.
    const m = sim_kasan_meta(w.mm(2))!;
    expect(m.state).toBe(KASAN_FREED);
    expect(m.free!.task).toMatch(/^fault/);
  });

  it('the last mmdrop frees the struct; mmgrab keeps it past the last mmput', () => {
    const { outcome, w } = run({
      variant: generationVariant('v6.6'), pids: [1, 2],
      tasks: [['t', function* (w: LockWorld) {
        const mm1 = w.mm(1);
        const mm2 = w.mm(2);
        k.fn.mmgrab(mm1);
        yield* k.fn.mmput(mm1); // exit_mmap, mm_users 0: the struct stays (mm_count 1)
        w.out.set('mm1-alive', sim_kasan_meta(mm1)?.state !== KASAN_FREED);
        w.out.set('mm1-users', refcount_read(mm1.mm_users));
        w.out.set('mmget_not_zero', k.fn.mmget_not_zero(mm1));
        k.fn.mmdrop(mm1);
        w.out.set('mm1-freed', sim_kasan_meta(mm1)?.state === KASAN_FREED);
        yield* k.fn.mmput(mm2);
        w.out.set('mm2-freed', sim_kasan_meta(mm2)?.state === KASAN_FREED);
      }]],
    });
    expect(outcome.status, outcome.violation?.message).toBe('ok');
    expect(w.out.get('mm1-alive')).toBe(true);
    expect(w.out.get('mm1-users')).toBe(0);
    expect(w.out.get('mmget_not_zero')).toBe(false);
    expect(w.out.get('mm1-freed')).toBe(true);
    expect(w.out.get('mm2-freed')).toBe(true);
  });

  it('mmap_read_lock on a freed mm is a use-after-free naming __mmdrop', () => {
    const { outcome } = run({
      variant: generationVariant('v6.6'), pids: [1],
      tasks: [['t', function* (w: LockWorld) {
        const mm = w.mm(1);
        yield* k.fn.mmput(mm);
        yield* k.fn.mmap_read_lock(mm);
      }]],
    });
    expect(outcome.violation?.property).toBe('kasan');
    expect(outcome.violation?.message).toMatch(/use-after-free in mmap_read_lock: write of mm_struct object freed at __mmdrop: free_mm/);
  });

  it('check_mm: a page table left behind at the last mmdrop is "non-zero pgtables_bytes"', () => {
    const { outcome } = run({
      variant: defineVariant({ name: 'free_pgtables-forgets', base: 'v6.6', description: 'exit_mmap leaves the page tables', overrides: { free_pgd_range: function* () { /* nothing */ } } }),
      pids: [1],
      setup: function* (w) {
        yield* sim_test_map(w, 'A', w.mm(1), { start: 0x10000, end: 0x20000, anon_vma: false });
        yield* k.fn.pte_alloc(w.mm(1), k.fn.pmd_off(w.mm(1), 0x10000));
      },
      tasks: [['t', function* (w: LockWorld) { yield* k.fn.mmput(w.mm(1)); }]],
    });
    expect(outcome.violation?.message).toMatch(/non-zero pgtables_bytes on freeing mm/);
  });
});
