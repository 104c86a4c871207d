/**
 * impl/mm/mmap_lock.ts: the mmap_lock wrappers, the per-VMA locks of each generation and
 * lock_vma_under_rcu / lock_mm_and_find_vma, on hand-built address spaces (vma_lock_harness).
 *
 * Task ids in schedules: 0 rcu_gp_kthread, 1 setup, 2… the test's tasks in order.
 */
import { describe, expect, it } from 'vitest';
import { defineVariant, generationVariant } from '../../impl/sim/variant.js';
import { k } from '../../impl/sim/kernel.js';
import { step, waitUntil, type Task } from '../../impl/rt/task.js';
import { currentExecution } from '../../impl/rt/execution.js';
import { EAGAIN, EINTR } from '../../impl/include/linux/errno.js';
import { VM_GROWSDOWN, VM_UFFD_MISSING } from '../../impl/include/linux/mm_flags.js';
import { VMA_LOCK_OFFSET, VMA_REF_LIMIT, type mm_struct, type vm_area_struct } from '../../impl/include/linux/mm_types.js';
import { sim_vma_lock_state, sim_vmlock_dep_map } from '../../impl/mm/mmap_lock.js';
import { sim_vmas } from '../../impl/mm/maple_tree.js';
import { rcu_read_lock, rcu_read_lock_held, rcu_read_unlock, rwsem_acquire_read, send_sig_kill } from '../../impl/sync/index.js';
import { TASK_KILLABLE } from '../../impl/sync/sched.js';
import { dfs, expectSane, run, RW, sim_test_map, sim_test_unmap, T, type LockTest, type LockWorld } from './vma_lock_harness.js';

const PER_VMA = ['v6.4', 'v6.6', 'v6.7', 'v6.15'];
const ALL = ['v6.3', ...PER_VMA];
const gen = generationVariant;

/*
 * P1's address space in most tests:
 *
 *   0x10000          0x20000  0x30000          0x40000
 *   |------anon A------|       |------file F------|
 */
function* twoVmas(w: LockWorld): Task<void> {
  yield* sim_test_map(w, 'A', w.mm(), { start: 0x10000, end: 0x20000 });
  yield* sim_test_map(w, 'F', w.mm(), { start: 0x30000, end: 0x40000, file: true });
}

/** lock_vma_under_rcu(mm, addr) in a task; records the result as `got` and the lock state. */
function lookup(addr: number, hold = 0) {
  return function* reader(w: LockWorld): Task<void> {
    const v = yield* k.fn.lock_vma_under_rcu(w.mm(), addr);
    w.out.set('got', v);
    w.out.set('gotMm', v?.vm_mm ?? null);
    if (v) {
      w.out.set('state', sim_vma_lock_state(v));
      for (let i = 0; i < hold; i++) yield `reader: work ${i}`;
      yield* k.fn.vma_end_read(v);
      w.out.set('after', sim_vma_lock_state(v));
    }
  };
}

describe('lock_vma_under_rcu', () => {
  for (const g of PER_VMA) {
    it(`${g}: an anonymous fault address is looked up and read-locked without mmap_lock`, () => {
      const { outcome, w } = run({ variant: gen(g), setup: twoVmas, tasks: [['reader', lookup(0x18000)]] });
      expect(outcome.status).toBe('ok');
      expect(w.out.get('got')).toBe(w.vma('A'));
      expect(w.out.get('state')).toEqual({ readers: 1, writeLocked: false, detached: false });
      expect(w.out.get('after')).toEqual({ readers: 0, writeLocked: false, detached: false });
      expect(w.mm().mmap_lock.readers).toBe(0);
      expect(w.kernel.stats.vma_lock.VMA_LOCK_ABORT).toBe(0);
    });

    it(`${g}: an address in a gap gives NULL (VMA_LOCK_ABORT)`, () => {
      const { outcome, w } = run({ variant: gen(g), setup: twoVmas, tasks: [['reader', lookup(0x25000)]] });
      expect(outcome.status).toBe('ok');
      expect(w.out.get('got')).toBeNull();
      expect(w.kernel.stats.vma_lock.VMA_LOCK_ABORT).toBe(1);
    });
  }

  it('v6.3: no per-VMA locks — always NULL, nothing counted', () => {
    const { outcome, w } = run({ variant: gen('v6.3'), setup: twoVmas, tasks: [['reader', lookup(0x18000)]] });
    expect(outcome.status).toBe('ok');
    expect(w.out.get('got')).toBeNull();
    expect(w.kernel.stats.vma_lock.VMA_LOCK_ABORT).toBe(0);
  });

  it('v6.4 takes anonymous VMAs only; v6.6+ file VMAs too', () => {
    for (const [g, file] of [['v6.4', false], ['v6.6', true], ['v6.7', true], ['v6.15', true]] as const) {
      const { w } = run({ variant: gen(g), setup: twoVmas, tasks: [['reader', lookup(0x38000)]] });
      expect(w.out.get('got'), g).toBe(file ? w.vma('F') : null);
    }
  });

  it('anon VMA without anon_vma: refused in 6.4–6.9 (checked under the lock), taken from 6.10 on (vmf_anon_prepare)', () => {
    const setup = function* (w: LockWorld): Task<void> {
      yield* sim_test_map(w, 'A', w.mm(), { start: 0x10000, end: 0x20000, anon_vma: false });
    };
    for (const [g, ok] of [['v6.4', false], ['v6.6', false], ['v6.7', false], ['v6.15', true]] as const) {
      const { w } = run({ variant: gen(g), setup, tasks: [['reader', lookup(0x10000)]] });
      expect(w.out.get('got') !== null, g).toBe(ok);
      if (!ok) expect(w.kernel.stats.vma_lock.VMA_LOCK_ABORT).toBe(1);
    }
  });

  it('userfaultfd-armed VMAs fall back in 6.4 only', () => {
    const setup = function* (w: LockWorld): Task<void> {
      yield* sim_test_map(w, 'U', w.mm(), { start: 0x10000, end: 0x20000, flags: RW | VM_UFFD_MISSING });
    };
    for (const [g, ok] of [['v6.4', false], ['v6.6', true], ['v6.15', true]] as const) {
      const { w } = run({ variant: gen(g), setup, tasks: [['reader', lookup(0x10000)]] });
      expect(w.out.get('got') !== null, g).toBe(ok);
    }
  });

  /*
   * B10 (657b5146955e): the anon_vma check must come after vma_start_read.
   *   reader:  lock_vma_under_rcu(0x10000)          writer: mmap_write_lock; vma_start_write(A);
   *                                                         A->anon_vma = NULL (unlink_anon_vmas);
   *                                                         mmap_write_unlock
   * 'before-lock' (6.4.0) can return A with anon_vma NULL (the check passed before the writer ran);
   * 'after-lock' never does: a locked A is stable, and its anon_vma is checked then.
   */
  for (const [check, bad] of [['before-lock', true], ['after-lock', false]] as const) {
    it(`v6.4 anon_vma check ${check}: ${bad ? 'a locked VMA whose anon_vma vanished is returned' : 'never returns a VMA without anon_vma'}`, () => {
      const variant = defineVariant({ name: `anon-${check}`, base: 'v6.4', description: '', config: { vma_lock_anon_vma_check: check } });
      const spec: LockTest = {
        variant, setup: twoVmas,
        tasks: [
          ['reader', function* (w) {
            const v = yield* k.fn.lock_vma_under_rcu(w.mm(), 0x10000);
            w.out.set('got', v);
            if (v) {
              w.out.set('anon_vma', v.anon_vma);
              yield* k.fn.vma_end_read(v);
            }
          }],
          ['writer', function* (w) {
            const mm = w.mm();
            yield* k.fn.mmap_write_lock(mm);
            yield* k.fn.vma_start_write(w.vma('A'));
            yield 'unlink_anon_vmas';
            w.vma('A').anon_vma = null;
            k.fn.mmap_write_unlock(mm);
          }],
        ],
        checkI3: true,
      };
      let badRuns = 0;
      const r = dfs(spec, 3, (o, w) => {
        expectSane(o);
        expect(o.status).toBe('ok');
        if (w.out.get('got') && w.out.get('anon_vma') === null) badRuns++;
      });
      expect(r.complete).toBe(true);
      expect(badRuns > 0).toBe(bad);
    });
  }
});

describe('vma_start_read', () => {
  /*
   *   writer: mmap_write_lock; vma_start_write(A) ............ mmap_write_unlock
   *   reader:                      lock_vma_under_rcu → NULL           lock_vma_under_rcu → A
   */
  for (const g of PER_VMA) {
    it(`${g}: a write-locked VMA cannot be read-locked (fallback) until vma_end_write_all`, () => {
      const spec: LockTest = {
        variant: gen(g), setup: twoVmas, checkI3: true,
        tasks: [
          ['writer', function* (w) {
            yield* k.fn.mmap_write_lock(w.mm());
            yield* k.fn.vma_start_write(w.vma('A'));
            w.set('locked');
            yield* w.wait('probed');
            k.fn.mmap_write_unlock(w.mm());
            w.set('unlocked');
          }],
          ['reader', function* (w) {
            yield* w.wait('locked');
            w.out.set('first', yield* k.fn.lock_vma_under_rcu(w.mm(), 0x10000));
            w.out.set('aborts', w.kernel.stats.vma_lock.VMA_LOCK_ABORT);
            w.set('probed');
            yield* w.wait('unlocked');
            const v = yield* k.fn.lock_vma_under_rcu(w.mm(), 0x10000);
            w.out.set('second', v);
            if (v) yield* k.fn.vma_end_read(v);
          }],
        ],
      };
      const { outcome, w } = run(spec);
      expect(outcome.status).toBe('ok');
      expect(w.out.get('first')).toBeNull();
      expect(w.out.get('aborts')).toBe(1);
      expect(w.out.get('second')).toBe(w.vma('A'));
    });

    it(`${g}: every interleaving of a writer and a reader keeps I3, and both outcomes happen`, () => {
      const spec: LockTest = {
        variant: gen(g), setup: twoVmas, checkI3: true,
        tasks: [
          ['reader', lookup(0x10000)],
          ['writer', function* (w) {
            yield* k.fn.mmap_write_lock(w.mm());
            yield* k.fn.vma_start_write(w.vma('A'));
            yield 'writer: modify A';
            k.fn.mmap_write_unlock(w.mm());
          }],
        ],
      };
      const seen = new Set<string>();
      const r = dfs(spec, 3, (o, w) => {
        expectSane(o);
        expect(o.status, o.violation?.message).toBe('ok');
        seen.add(w.out.get('got') ? 'locked' : 'fallback');
      });
      expect(r.complete).toBe(true);
      expect([...seen].sort()).toEqual(['fallback', 'locked']);
    });
  }

  it('RCU on failure: 6.4–6.14 keep it for the caller, 6.15+ release it (mm/mmap_lock.c)', () => {
    for (const [g, held] of [['v6.4', true], ['v6.6', true], ['v6.15', false]] as const) {
      const { outcome, w } = run({
        variant: gen(g), setup: twoVmas,
        tasks: [
          ['writer', function* (w) {
            yield* k.fn.mmap_write_lock(w.mm());
            yield* k.fn.vma_start_write(w.vma('A'));
            w.set('locked');
            yield* w.wait('done');
            k.fn.mmap_write_unlock(w.mm());
          }],
          ['reader', function* (w) {
            yield* w.wait('locked');
            rcu_read_lock();
            w.out.set('r', yield* k.fn.vma_start_read(w.mm(), w.vma('A')));
            w.out.set('rcu', rcu_read_lock_held());
            if (rcu_read_lock_held()) rcu_read_unlock();
            w.set('done');
          }],
        ],
      });
      expect(outcome.status, g).toBe('ok');
      expect(w.out.get('r'), g).toBeNull();
      expect(w.out.get('rcu'), g).toBe(held);
    }
  });

  it('v6.15: a detached VMA gives -EAGAIN (retry), a writer excluding readers gives NULL', () => {
    const { outcome, w } = run({
      variant: gen('v6.15'), setup: twoVmas,
      tasks: [['reader', function* (w) {
        const A = w.vma('A');
        rcu_read_lock();
        A.vm_refcnt = 0; // as after vma_mark_detached
        w.out.set('detached', yield* k.fn.vma_start_read(w.mm(), A));
        rcu_read_lock();
        A.vm_refcnt = 1 + VMA_LOCK_OFFSET; // a writer in __vma_start_exclude_readers
        w.out.set('excluded', yield* k.fn.vma_start_read(w.mm(), A));
        A.vm_refcnt = 1;
      }]],
    });
    expect(outcome.status).toBe('ok');
    expect(w.out.get('detached')).toBe(-EAGAIN);
    expect(w.out.get('excluded')).toBeNull();
    expect(VMA_REF_LIMIT).toBeLessThan(VMA_LOCK_OFFSET);
  });

  /*
   * 6.4–6.14: lock_vma_under_rcu finds A, a munmap detaches and removes it before the reader
   * locks it; once the unmapper's epoch ends the reader's trylock succeeds, it sees
   * vma->detached and retries (VMA_LOCK_MISS), finding nothing the second time.
   */
  it('v6.6: a VMA detached between lookup and lock is retried (VMA_LOCK_MISS)', () => {
    const spec: LockTest = {
      variant: gen('v6.6'), setup: twoVmas, checkI3: true,
      tasks: [
        ['reader', lookup(0x10000)],
        ['unmapper', function* (w) { yield* sim_test_unmap(w.mm(), w.vma('A')); }],
      ],
    };
    let misses = 0;
    const r = dfs(spec, 2, (o, w) => {
      expectSane(o);
      expect(o.status, o.violation?.message).toBe('ok');
      if (w.kernel.stats.vma_lock.VMA_LOCK_MISS > 0) {
        misses++;
        expect(w.out.get('got')).toBeNull();
      }
    });
    expect(r.complete).toBe(true);
    expect(misses).toBeGreaterThan(0);
  });
});

describe('vma_end_write_all', () => {
  for (const g of PER_VMA) {
    it(`${g}: mmap_write_unlock releases every VMA write lock of the epoch at once`, () => {
      const { outcome, w } = run({
        variant: gen(g), setup: twoVmas,
        tasks: [['writer', function* (w) {
          const mm = w.mm();
          const seq0 = mm.mm_lock_seq;
          yield* k.fn.mmap_write_lock(mm);
          w.out.set('seqLocked', mm.mm_lock_seq - seq0);
          yield* k.fn.vma_start_write(w.vma('A'));
          yield* k.fn.vma_start_write(w.vma('F'));
          yield* k.fn.vma_start_write(w.vma('A')); // already locked in this epoch: returns at once
          yield 'writer: more work';
          w.out.set('during', [sim_vma_lock_state(w.vma('A')).writeLocked, sim_vma_lock_state(w.vma('F')).writeLocked]);
          const stepBefore = currentExecution().step;
          k.fn.mmap_write_unlock(mm);
          w.out.set('sameStep', currentExecution().step === stepBefore);
          w.out.set('after', [sim_vma_lock_state(w.vma('A')).writeLocked, sim_vma_lock_state(w.vma('F')).writeLocked]);
          w.out.set('seqUnlocked', mm.mm_lock_seq - seq0);
        }]],
      });
      expect(outcome.status).toBe('ok');
      expect(w.out.get('during')).toEqual([true, true]);
      expect(w.out.get('after')).toEqual([false, false]);
      expect(w.out.get('sameStep')).toBe(true);
      // int (≤6.12): bumped at unlock only; seqcount (6.13+): odd while write-locked.
      const seqcount = gen(g).cfg.mm_lock_seq === 'seqcount';
      expect(w.out.get('seqLocked')).toBe(seqcount ? 1 : 0);
      expect(w.out.get('seqUnlocked')).toBe(seqcount ? 2 : 1);
    });

    it(`${g}: mmap_write_downgrade releases them too, and readers may lock the VMA under the downgraded lock`, () => {
      const { outcome, w } = run({
        variant: gen(g), setup: twoVmas,
        tasks: [
          ['writer', function* (w) {
            yield* k.fn.mmap_write_lock(w.mm());
            yield* k.fn.vma_start_write(w.vma('A'));
            k.fn.mmap_write_downgrade(w.mm());
            w.out.set('after', sim_vma_lock_state(w.vma('A')).writeLocked);
            w.set('downgraded');
            yield* w.wait('read');
            k.fn.mmap_assert_locked(w.mm());
            k.fn.mmap_read_unlock(w.mm());
          }],
          ['reader', function* (w) {
            yield* w.wait('downgraded');
            const v = yield* k.fn.lock_vma_under_rcu(w.mm(), 0x10000);
            w.out.set('got', v);
            if (v) yield* k.fn.vma_end_read(v);
            w.set('read');
          }],
        ],
      });
      expect(outcome.status).toBe('ok');
      expect(w.out.get('after')).toBe(false);
      expect(w.out.get('got')).toBe(w.vma('A'));
    });
  }

  it('asserts mmap_write_lock (a read holder may not end the epoch)', () => {
    const { outcome } = run({
      variant: gen('v6.6'), setup: twoVmas,
      tasks: [['broken', function* (w) {
        yield* k.fn.mmap_read_lock(w.mm());
        k.fn.vma_end_write_all(w.mm());
      }]],
    });
    expect(outcome.status).toBe('violation');
    expect(outcome.violation!.property).toBe('lockdep');
    expect(outcome.violation!.message).toMatch(/mmap_assert_write_locked/);
  });
});

describe('vma_start_write', () => {
  /*
   *   reader: lock_vma_under_rcu(A) ........ (writer is waiting) vma_end_read(A)
   *   writer:        mmap_write_lock; vma_start_write(A) ──waits──────────────────► locked
   */
  for (const g of PER_VMA) {
    it(`${g}: the writer waits for the VMA's readers`, () => {
      const { outcome, w } = run({
        variant: gen(g), setup: twoVmas, checkI3: true,
        tasks: [
          ['reader', function* (w) {
            const v = (yield* k.fn.lock_vma_under_rcu(w.mm(), 0x10000))!;
            w.set('readlocked');
            const writer = w.exec.tasks[w.tid('writer')]!;
            yield* waitUntil('reader: until the writer sleeps', () => writer.block !== null && w.mm().mmap_lock.owner === writer.id);
            w.out.set('released', currentExecution().step);
            yield* k.fn.vma_end_read(v);
          }],
          ['writer', function* (w) {
            yield* w.wait('readlocked');
            yield* k.fn.mmap_write_lock(w.mm());
            yield* k.fn.vma_start_write(w.vma('A'));
            w.out.set('locked', currentExecution().step);
            w.out.set('readersThen', sim_vma_lock_state(w.vma('A')).readers);
            k.fn.mmap_write_unlock(w.mm());
          }],
        ],
      });
      expect(outcome.status, outcome.violation?.message ?? outcome.error).toBe('ok');
      expect(w.out.get('locked') as number).toBeGreaterThan(w.out.get('released') as number);
      expect(w.out.get('readersThen')).toBe(0);
    });

    it(`${g}: __vma_start_write(TASK_KILLABLE) (vma_start_write_killable, 6.16+: no caller here) gives up with -EINTR on SIGKILL and leaves the VMA unlocked`, () => {
      const { outcome, w } = run({
        variant: gen(g), setup: twoVmas, checkI3: true,
        tasks: [
          ['reader', function* (w) {
            const v = (yield* k.fn.lock_vma_under_rcu(w.mm(), 0x10000))!;
            w.set('readlocked');
            const writer = w.exec.tasks[w.tid('writer')]!;
            yield* waitUntil('reader: until the writer sleeps', () => writer.block !== null && w.mm().mmap_lock.owner === writer.id);
            send_sig_kill(writer.id);
            yield* w.wait('killed');
            w.out.set('refcnt', w.vma('A').vm_refcnt);
            yield* k.fn.vma_end_read(v);
          }],
          ['writer', function* (w) {
            yield* w.wait('readlocked');
            yield* k.fn.mmap_write_lock(w.mm());
            w.out.set('ret', yield* k.fn.__vma_start_write(w.vma('A'), TASK_KILLABLE));
            w.out.set('locked', sim_vma_lock_state(w.vma('A')).writeLocked);
            w.set('killed');
            k.fn.mmap_write_unlock(w.mm());
          }],
        ],
      });
      expect(outcome.status, outcome.violation?.message ?? outcome.error).toBe('ok');
      expect(w.out.get('ret')).toBe(-EINTR);
      expect(w.out.get('locked')).toBe(false);
      if (g === 'v6.15') expect(w.out.get('refcnt')).toBe(2); // attached + our reader; no VMA_LOCK_OFFSET left
    });
  }

  it('asserts mmap_write_lock (I1): vma_start_write under the read lock', () => {
    for (const g of PER_VMA) {
      const { outcome } = run({
        variant: gen(g), setup: twoVmas,
        tasks: [['broken', function* (w) {
          yield* k.fn.mmap_read_lock(w.mm());
          yield* k.fn.vma_start_write(w.vma('A'));
        }]],
      });
      expect(outcome.status, g).toBe('violation');
      expect(outcome.violation!.property).toBe('lockdep');
      expect(outcome.violation!.message).toMatch(/mmap_assert_write_locked/);
    }
  });

  it('v6.3: a no-op (no per-VMA locks)', () => {
    const { outcome, w } = run({
      variant: gen('v6.3'), setup: twoVmas,
      tasks: [['writer', function* (w) {
        yield* k.fn.mmap_write_lock(w.mm());
        yield* k.fn.vma_start_write(w.vma('A'));
        w.out.set('state', sim_vma_lock_state(w.vma('A')));
        k.fn.mmap_write_unlock(w.mm());
      }]],
    });
    expect(outcome.status).toBe('ok');
    expect(w.out.get('state')).toEqual({ readers: 0, writeLocked: false, detached: false });
  });
});

describe('vma_mark_detached', () => {
  for (const g of PER_VMA) {
    it(`${g}: asserts the VMA is write-locked (I8)`, () => {
      const { outcome } = run({
        variant: gen(g), setup: twoVmas,
        tasks: [['broken', function* (w) {
          yield* k.fn.mmap_write_lock(w.mm());
          yield* k.fn.vma_mark_detached(w.vma('A')); // no vma_start_write
        }]],
      });
      expect(outcome.status, g).toBe('violation');
      expect(outcome.violation!.property).toBe(gen(g).cfg.vma_lock_impl === 'rwsem' ? 'VM_BUG_ON' : 'VM_WARN_ON');
      expect(outcome.violation!.message).toMatch(/vma_assert_write_locked/);
    });
  }

  it('v6.15: waits out a transient reader that raised vm_refcnt, then leaves it 0', () => {
    const spec: LockTest = {
      variant: gen('v6.15'), setup: twoVmas,
      tasks: [
        ['reader', lookup(0x10000)],
        ['unmapper', function* (w) {
          yield* sim_test_unmap(w.mm(), w.vma('A'));
          w.out.set('refcnt', w.vma('A').vm_refcnt);
        }],
      ],
    };
    let waited = 0;
    const r = dfs({
      ...spec,
      // The detach found a transient reader: it excludes readers (VMA_LOCK_OFFSET) while detached.
      observe: (w) => {
        const A = w.vmas.get('A');
        if (A !== undefined && A.detached && (A.vm_refcnt & VMA_LOCK_OFFSET) !== 0) w.out.set('excluding', true);
      },
    }, 3, (o, w) => {
      expectSane(o);
      expect(o.status, o.violation?.message).toBe('ok');
      expect(w.out.get('refcnt')).toBe(0);
      if (w.out.get('excluding') === true) {
        waited++;
        expect(w.out.get('got')).toBeNull();
      }
    });
    expect(r.complete).toBe(true);
    expect(waited).toBeGreaterThan(0);
  });
});

describe('vma_start_read_locked', () => {
  it('asserts mmap_lock (mmap_assert_locked) and cannot fail under it', () => {
    for (const g of PER_VMA) {
      const ok = run({
        variant: gen(g), setup: twoVmas,
        tasks: [['t', function* (w) {
          yield* k.fn.mmap_read_lock(w.mm());
          w.out.set('r', k.fn.vma_start_read_locked(w.vma('A')));
          k.fn.mmap_read_unlock(w.mm());
          w.out.set('readers', sim_vma_lock_state(w.vma('A')).readers);
          yield* k.fn.vma_end_read(w.vma('A'));
        }]],
      });
      expect(ok.outcome.status, g).toBe('ok');
      expect(ok.w.out.get('r')).toBe(true);
      expect(ok.w.out.get('readers')).toBe(1);
      const broken = run({
        variant: gen(g), setup: twoVmas,
        tasks: [['broken', function* (w) { k.fn.vma_start_read_locked(w.vma('A')); yield 'x'; }]],
      });
      expect(broken.outcome.status, g).toBe('violation');
      expect(broken.outcome.violation!.message).toMatch(/mmap_assert_locked/);
    }
  });
});

/*
 * 6.15: VMAs live in a SLAB_TYPESAFE_BY_RCU cache. P1's A is unmapped and freed while a fault of
 * P1 still looks at it under RCU; P2's mmap allocates a VMA, gets A's memory back, and maps it at
 * the same range:
 *
 *   P1: 0x10000 |---A (freed)---| 0x20000        P2: 0x10000 |---A' (same object)---| 0x20000
 *
 * The fault's vma_start_read then takes a reference on a VMA of P2: only the vm_mm check
 * (9bbffee67ffd) keeps lock_vma_under_rcu from returning it.
 */
describe('vma_start_read (6.15 SLAB_TYPESAFE_BY_RCU)', () => {
  function reuseSpec(variant = gen('v6.15')): LockTest {
    return {
      variant, pids: [1, 2], setup: function* (w) {
        yield* sim_test_map(w, 'A', w.mm(1), { start: 0x10000, end: 0x20000 });
      },
      tasks: [
        ['fault', lookup(0x10000)],
        ['munmap', function* (w) { yield* sim_test_unmap(w.mm(1), w.vma('A')); w.set('freed'); }],
        ['mmap2', function* (w) {
          yield* w.wait('freed');
          const mm2 = w.mm(2);
          yield* k.fn.mmap_write_lock(mm2);
          const v = yield* k.fn.vm_area_alloc(mm2);
          v.vm_start = 0x10000;
          v.vm_end = 0x20000;
          v.vm_flags = RW;
          yield* k.fn.vma_start_write(v);
          yield* k.fn.vma_iter_store(mm2, v);
          k.fn.mmap_write_unlock(mm2);
          w.out.set('reused', v === w.vma('A'));
        }],
      ],
    };
  }

  /** vma_start_read as before the vm_mm check: the refcount path of 6.15 without it. */
  const noVmMmCheck = defineVariant({
    name: 'vma_start_read-without-vm_mm-check', base: 'v6.15',
    description: 'vma_start_read does not re-check vma->vm_mm after taking the reference',
    overrides: {
      vma_start_read: function* (mm: mm_struct, vma: vm_area_struct): Task<vm_area_struct | null | number> {
        yield step('vma_start_read:vm_lock_seq', vma);
        if (vma.vm_lock_seq === mm.mm_lock_seq) { rcu_read_unlock(); return null; }
        yield step('vma_start_read:vm_refcnt', vma);
        const old = vma.vm_refcnt;
        if (old === 0 || old + 1 > VMA_REF_LIMIT) { rcu_read_unlock(); return old !== 0 ? null : -EAGAIN; }
        vma.vm_refcnt = old + 1;
        rwsem_acquire_read(sim_vmlock_dep_map(vma), 0, true, 'vma_start_read');
        yield step('vma_start_read:mm_lock_seq', vma);
        if (vma.vm_lock_seq === mm.mm_lock_seq) { yield* k.fn.vma_refcount_put(vma); rcu_read_unlock(); return null; }
        return vma;
      },
    },
  });

  /**
   * Found by DFS: the fault (task 2) is preempted at step 11, after mas_walk found A; munmap
   * (task 3) detaches and frees A; P2's mmap (task 4) allocates and gets A back (choice 1 at
   * step 19: the first freed vm_area_struct); the fault goes on with vma_start_read(mm1, A).
   */
  const SCHEDULE = 'v1:11t3.19c1';

  it('the recycled VMA of another mm is caught by the vm_mm check (fallback, never the wrong mm)', () => {
    const r = dfs(reuseSpec(), 1, (o, w) => {
      expectSane(o);
      expect(o.status, o.violation?.message).toBe('ok');
      // vm_mm when lock_vma_under_rcu returned (the object may be recycled after vma_end_read).
      const gotMm = w.out.get('gotMm') as mm_struct | null;
      if (gotMm) expect(gotMm).toBe(w.mm(1));
    });
    expect(r.complete).toBe(true);
    expect(r.outcomes.some(({ w }) => w.out.get('reused') === true)).toBe(true);

    const { outcome, w } = run(reuseSpec(), SCHEDULE, true);
    expect(outcome.status).toBe('ok');
    expect(w.out.get('reused')).toBe(true);
    expect(w.out.get('got')).toBeNull();
    // The reference was taken on P2's VMA and dropped again.
    expect(w.exec.trace.some((e) => e.task === T(0) && e.label === 'vma_start_read:vm_refcnt')).toBe(true);
    expect(w.vma('A').vm_refcnt).toBe(1);
    expect(w.kernel.stats.vma_lock.VMA_LOCK_ABORT).toBe(1);
  });

  it('without the vm_mm check, the fault of P1 gets P2\'s VMA', () => {
    const { outcome, w } = run(reuseSpec(noVmMmCheck), SCHEDULE);
    expect(outcome.status).toBe('ok');
    expect(w.out.get('reused')).toBe(true);
    const got = w.out.get('got') as vm_area_struct;
    expect(got).toBe(w.vma('A'));
    expect(w.out.get('gotMm')).toBe(w.mm(2)); // when lock_vma_under_rcu returned it
    expect(sim_vmas(w.mm(2))).toEqual([got]);
    expect(sim_vmas(w.mm(1))).toEqual([]);
  });
});

describe('lock_mm_and_find_vma', () => {
  /*
   *   0x10000        0x20000      0x40000            0x50000
   *   |----anon A-----|            |--stack S (GROWSDOWN)--|
   */
  function* stackSetup(w: LockWorld): Task<void> {
    yield* sim_test_map(w, 'A', w.mm(), { start: 0x10000, end: 0x20000 });
    yield* sim_test_map(w, 'S', w.mm(), { start: 0x40000, end: 0x50000, flags: RW | VM_GROWSDOWN });
  }
  /** expand_stack_locked stand-in: records the lock mode it ran under, grows S down. */
  const stackVariant = (base: string, expand: 'read' | 'write') => defineVariant({
    name: `stack-${base}-${expand}`, base, description: '', config: { expand_stack_lock: expand },
    overrides: {
      expand_stack_locked: function* (vma: vm_area_struct, address: number): Task<number> {
        const mm = vma.vm_mm;
        k.ext.set('expand_mode', mm.mmap_lock.owner >= 0 ? 'write' : 'read');
        vma.vm_start = address & ~0xfff;
        if (expand === 'write') yield* k.fn.vma_iter_store(mm, vma);
        else yield* k.fn.mas_store_prealloc(mm, vma.vm_start, vma.vm_end - 1, vma);
        return 0;
      },
    },
  });

  function faultAt(addr: number) {
    return function* (w: LockWorld): Task<void> {
      const v = yield* k.fn.lock_mm_and_find_vma(w.mm(), addr, { user: true });
      w.out.set('got', v);
      w.out.set('mode', w.mm().mmap_lock.owner >= 0 ? 'write' : w.mm().mmap_lock.readers > 0 ? 'read' : 'none');
      if (v) k.fn.mmap_read_unlock(w.mm());
    };
  }

  for (const g of ALL) {
    it(`${g}: returns the VMA with mmap_read_lock held, or NULL with nothing held`, () => {
      const hit = run({ variant: gen(g), setup: stackSetup, tasks: [['fault', faultAt(0x18000)]] });
      expect(hit.outcome.status).toBe('ok');
      expect(hit.w.out.get('got')).toBe(hit.w.vma('A'));
      expect(hit.w.out.get('mode')).toBe('read');
      const miss = run({ variant: gen(g), setup: stackSetup, tasks: [['fault', faultAt(0x28000)]] });
      expect(miss.outcome.status).toBe('ok');
      expect(miss.w.out.get('got')).toBeNull();
      expect(miss.w.out.get('mode')).toBe('none');
      const above = run({ variant: gen(g), setup: stackSetup, tasks: [['fault', faultAt(0x60000)]] });
      expect(above.w.out.get('got')).toBeNull();
    });
  }

  it('6.5+: stack growth drops the read lock, expands under mmap_write_lock, downgrades', () => {
    const { outcome, w } = run({ variant: stackVariant('v6.6', 'write'), setup: stackSetup, tasks: [['fault', faultAt(0x3f000)]] });
    expect(outcome.status, outcome.violation?.message ?? outcome.error).toBe('ok');
    expect(w.out.get('got')).toBe(w.vma('S'));
    expect(w.out.get('mode')).toBe('read');
    expect(w.kernel.ext.get('expand_mode')).toBe('write');
    expect(w.vma('S').vm_start).toBe(0x3f000);
  });

  it('≤6.4 (expand_stack_lock read): stack growth under the read lock (the StackRot era)', () => {
    const { outcome, w } = run({ variant: stackVariant('v6.4', 'read'), setup: stackSetup, tasks: [['fault', faultAt(0x3f000)]] });
    expect(outcome.status, outcome.violation?.message ?? outcome.error).toBe('ok');
    expect(w.out.get('got')).toBe(w.vma('S'));
    expect(w.kernel.ext.get('expand_mode')).toBe('read');
  });

  it('a kernel fault without an exception fixup does not sleep for mmap_lock', () => {
    const { outcome, w } = run({
      variant: gen('v6.6'), setup: stackSetup,
      tasks: [
        ['holder', function* (w) {
          yield* k.fn.mmap_write_lock(w.mm());
          w.set('held');
          yield* w.wait('tried');
          k.fn.mmap_write_unlock(w.mm());
        }],
        ['kfault', function* (w) {
          yield* w.wait('held');
          w.out.set('got', yield* k.fn.lock_mm_and_find_vma(w.mm(), 0x18000, { user: false, has_fixup: false }));
          w.set('tried');
        }],
      ],
    });
    expect(outcome.status).toBe('ok');
    expect(w.out.get('got')).toBeNull();
  });
});
