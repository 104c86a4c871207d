/**
 * do_user_addr_fault across generations: the VMA-lock path, the mmap_lock fallback, the
 * VM_FAULT_RETRY contract of each era, and the signals.
 */
import { describe, expect, it } from 'vitest';
import { runFault, buildFault, expectOk, addVma, load, store, BASE, PAGE, RW, RO, pteAt, type FaultWorld, type FaultBuild } from './fault_harness.js';
import { DfsStrategy, explore } from '../../../../impl/rt/index.js';
import { sim_set_kernel } from '../../../../impl/sim/kernel.js';
import { k } from '../../../../impl/sim/kernel.js';
import { defineVariant } from '../../../../impl/sim/variant.js';
import {
  FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_RETRY_NOWAIT, FAULT_FLAG_VMA_LOCK, VM_FAULT_RETRY, VM_FAULT_SIGSEGV,
} from '../../../../impl/include/linux/mm_flags.js';
import { do_anonymous_page } from '../../../../impl/mm/memory.js';
import { block } from '../../../../impl/rt/task.js';
import type { vm_fault } from '../../../../impl/include/linux/mm_types.js';
import type { Task } from '../../../../impl/rt/task.js';

//   BASE
//   |----anon rw (4 pages, anon_vma)----|
const anonSetup = (anon_vma = true) => function* (w: FaultWorld): Task<void> {
  yield* addVma(w, { name: 'anon', start: BASE, pages: 4, anon_vma });
};

describe('do_user_addr_fault', () => {
  it('v6.4+: an anonymous write fault completes under the VMA lock (VMA_LOCK_SUCCESS)', () => {
    for (const gen of ['v6.4', 'v6.6', 'v6.7', 'v6.15']) {
      const r = expectOk(runFault({ gen, setup: anonSetup(), threads: [{ name: 'T1', program: [store(BASE, 7), load(BASE)] }] }));
      const st = r.w.kernel.stats;
      expect(st.vma_lock.VMA_LOCK_SUCCESS, gen).toBe(1);
      expect(st.vma_lock_faults, gen).toBe(1);
      expect(st.mmap_lock_faults, gen).toBe(0);
      expect(r.history.map((h) => h.result)).toEqual([{ kind: 'ok' }, { kind: 'value', value: 7 }]);
      const pte = pteAt(r.w.mm(), BASE);
      expect(pte?.kind === 'present' && pte.write && pte.dirty).toBe(true);
      expect(r.w.mm().rss_stat.MM_ANONPAGES).toBe(1);
    }
  });

  it('v6.3: the same fault takes mmap_lock (no VMA-lock events)', () => {
    const r = expectOk(runFault({ gen: 'v6.3', setup: anonSetup(), threads: [{ name: 'T1', program: [store(BASE, 7), load(BASE)] }] }));
    const st = r.w.kernel.stats;
    expect(st.mmap_lock_faults).toBe(1);
    expect(st.vma_lock.VMA_LOCK_SUCCESS + st.vma_lock.VMA_LOCK_ABORT).toBe(0);
    expect(r.history[1]!.result).toEqual({ kind: 'value', value: 7 });
  });

  it('a read maps the shared zero page; the write after it copies (COW from the zero page)', () => {
    const r = expectOk(runFault({ gen: 'v6.6', setup: anonSetup(), threads: [{ name: 'T1', program: [load(BASE + PAGE), store(BASE + PAGE, 3), load(BASE + PAGE)] }] }));
    expect(r.history.map((h) => h.result)).toEqual([{ kind: 'value', value: 0 }, { kind: 'ok' }, { kind: 'value', value: 3 }]);
    const pte = pteAt(r.w.mm(), BASE + PAGE);
    expect(pte?.kind === 'present' && !pte.special && pte.write).toBe(true);
    // read fault + write fault, both under the VMA lock
    expect(r.w.kernel.stats.vma_lock.VMA_LOCK_SUCCESS).toBe(2);
  });

  it('v6.4–v6.9: a VMA without anon_vma is refused by lock_vma_under_rcu (ABORT) and faults under mmap_lock', () => {
    for (const gen of ['v6.4', 'v6.6', 'v6.7']) {
      const r = expectOk(runFault({ gen, setup: anonSetup(false), threads: [{ name: 'T1', program: [store(BASE, 1)] }] }));
      const st = r.w.kernel.stats;
      expect(st.vma_lock.VMA_LOCK_ABORT, gen).toBe(1);
      expect(st.mmap_lock_faults, gen).toBe(1);
      expect(r.w.vma('anon').anon_vma, gen).not.toBeNull();
    }
  });

  it('v6.15: no anon_vma check; __vmf_anon_prepare creates it with mmap_read_trylock under the VMA lock', () => {
    const r = expectOk(runFault({ gen: 'v6.15', setup: anonSetup(false), threads: [{ name: 'T1', program: [store(BASE, 1)] }] }));
    expect(r.w.kernel.stats.vma_lock.VMA_LOCK_SUCCESS).toBe(1);
    expect(r.w.kernel.stats.mmap_lock_faults).toBe(0);
    expect(r.w.vma('anon').anon_vma).not.toBeNull();
  });

  it('v6.4+: a write-locked VMA makes the fault fall back (VMA_LOCK_ABORT), then wait for mmap_lock', () => {
    //   writer: mmap_write_lock; vma_start_write(anon) ........ mmap_write_unlock
    //   T1:          store → lock_vma_under_rcu fails → mmap_read_lock waits ┘→ fault under mmap_lock
    for (const gen of ['v6.4', 'v6.6', 'v6.15']) {
      const r = expectOk(runFault({
        gen,
        setup: anonSetup(),
        tasks: [{ name: 'writer', body: writerUntilT1Waits }],
        threads: [{ name: 'T1', program: [store(BASE, 5), load(BASE)] }],
        script: [{ run: 'writer', until: 'test: T1 waits' }],
      }));
      const st = r.w.kernel.stats;
      expect(st.vma_lock.VMA_LOCK_ABORT, gen).toBe(1);
      expect(st.vma_lock.VMA_LOCK_SUCCESS, gen).toBe(0); // the load needs no fault
      expect(st.mmap_lock_faults, gen).toBe(1);
      expect(r.history.map((h) => h.result), gen).toEqual([{ kind: 'ok' }, { kind: 'value', value: 5 }]);
      // The script ran: the store's fault really waited for the writer.
      expect(r.w.out.get('T1 waited'), gen).toBe(true);
    }
  });

  it('SIGSEGV outside any VMA, on both paths', () => {
    for (const gen of ['v6.3', 'v6.4', 'v6.15']) {
      const r = expectOk(runFault({ gen, setup: anonSetup(), threads: [{ name: 'T1', program: [load(BASE + 8 * PAGE)] }] }));
      expect(r.history[0]!.result, gen).toEqual({ kind: 'signal', sig: 'SIGSEGV' });
    }
  });

  it('an access error: 6.4 falls back to mmap_lock, 6.10+ signals under the VMA lock', () => {
    const ro = function* (w: FaultWorld): Task<void> {
      yield* addVma(w, { name: 'ro', start: BASE, pages: 1, flags: RO, anon_vma: true });
    };
    const r64 = expectOk(runFault({ gen: 'v6.4', setup: ro, threads: [{ name: 'T1', program: [store(BASE, 1)] }] }));
    expect(r64.history[0]!.result).toEqual({ kind: 'signal', sig: 'SIGSEGV' });
    expect(r64.w.kernel.stats.mmap_lock_faults).toBe(1);
    const r615 = expectOk(runFault({ gen: 'v6.15', setup: ro, threads: [{ name: 'T1', program: [store(BASE, 1)] }] }));
    expect(r615.history[0]!.result).toEqual({ kind: 'signal', sig: 'SIGSEGV' });
    expect(r615.w.kernel.stats.mmap_lock_faults).toBe(0);
    expect(r615.w.kernel.stats.vma_lock.VMA_LOCK_SUCCESS).toBe(1);
  });

  it('SIGBUS: a driver VMA without ->fault whose PTE is none (do_fault)', () => {
    //   |--drv (VM_PFNMAP, vm_ops without ->fault, nothing prefaulted)--|
    for (const gen of ['v6.4', 'v6.6']) {
      const r = expectOk(runFault({
        gen,
        setup: function* (w) {
          yield* addVma(w, { name: 'drv', start: BASE, pages: 1, flags: RW | 0x400, ops: { name: 'drv_vm_ops' } });
        },
        threads: [{ name: 'T1', program: [load(BASE)] }],
      }));
      expect(r.history[0]!.result, gen).toEqual({ kind: 'signal', sig: 'SIGBUS' });
    }
  });
});

/** Holds mmap_write_lock with the anon VMA write-locked until T1 waits for mmap_lock. */
function* writerUntilT1Waits(w: FaultWorld): Task<void> {
  const mm = w.mm();
  yield* k.fn.mmap_write_lock(mm);
  yield* k.fn.vma_start_write(w.vma('anon'));
  yield block('test: T1 waits for mmap_lock', () => {
    const t1 = w.exec.tasks.find((t) => t.name === 'T1')!;
    return t1.block !== null && t1.obj === mm.mmap_lock;
  });
  w.out.set('T1 waited', true);
  k.fn.mmap_write_unlock(mm);
}

// ---------------------------------------------------------------------------------------------
// The VM_FAULT_RETRY contract per era

/**
 * A do_anonymous_page that bails out once under the VMA lock with VM_FAULT_RETRY, releasing the
 * VMA lock as the era says (correct) or the other way (broken).
 */
function retryOnce(base: string, correct: boolean) {
  return defineVariant({
    name: `retry-once-${correct ? 'correct' : 'broken'}`,
    base,
    description: 'test: do_anonymous_page returns VM_FAULT_RETRY once under the VMA lock',
    overrides: {
      do_anonymous_page: function* (vmf: vm_fault): Task<number> {
        const st = k.state('test:retry_once', () => ({ n: 0 }));
        if ((vmf.flags & FAULT_FLAG_VMA_LOCK) && st.n++ === 0) {
          const release = correct ? k.cfg.vma_lock_released_by_handler : !k.cfg.vma_lock_released_by_handler;
          if (release) yield* k.fn.vma_end_read(vmf.vma);
          return VM_FAULT_RETRY;
        }
        return yield* do_anonymous_page(vmf);
      },
    },
  });
}

describe('do_user_addr_fault: VM_FAULT_RETRY under the VMA lock', () => {
  it('6.4 (arch releases) and 6.6+ (handler releases): falls back to mmap_lock (VMA_LOCK_RETRY)', () => {
    for (const gen of ['v6.4', 'v6.6', 'v6.15']) {
      const r = expectOk(runFault({ variant: retryOnce(gen, true), setup: anonSetup(), threads: [{ name: 'T1', program: [store(BASE, 9), load(BASE)] }] }));
      const st = r.w.kernel.stats;
      expect(st.vma_lock.VMA_LOCK_RETRY, gen).toBe(1);
      expect(st.fault_retries, gen).toBe(1);
      expect(st.mmap_lock_faults, gen).toBe(1);
      expect(r.history[1]!.result, gen).toEqual({ kind: 'value', value: 9 });
    }
  });

  it('6.4: a handler that releases the VMA lock itself makes the arch unlock it twice', () => {
    const r = runFault({ variant: retryOnce('v6.4', false), setup: anonSetup(), threads: [{ name: 'T1', program: [store(BASE, 9)] }] });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.message).toMatch(/bad unlock balance.*vm_lock/);
  });

  it('6.6+: a handler that keeps the VMA lock on RETRY leaks it', () => {
    const r = runFault({ variant: retryOnce('v6.6', false), setup: anonSetup(), threads: [{ name: 'T1', program: [store(BASE, 9)] }] });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation!.message).toMatch(/lock held when returning to user space.*vm_lock/);
  });

  it('handle_mm_fault: FAULT_FLAG_RETRY_NOWAIT with FAULT_FLAG_VMA_LOCK is VM_FAULT_SIGSEGV (sanitize_fault_flags)', () => {
    const r = expectOk(runFault({
      gen: 'v6.6',
      setup: anonSetup(),
      tasks: [{
        name: 'K',
        body: function* (w) {
          const vma = yield* k.fn.lock_vma_under_rcu(w.mm(), BASE);
          const ret = yield* k.fn.handle_mm_fault(vma!, BASE, FAULT_FLAG_VMA_LOCK | FAULT_FLAG_RETRY_NOWAIT | FAULT_FLAG_ALLOW_RETRY, null);
          yield* k.fn.vma_end_read(vma!);
          w.out.set('ret', ret);
        },
      }],
    }));
    expect(r.w.out.get('ret')).toBe(VM_FAULT_SIGSEGV);
  });
});

describe('do_user_addr_fault: every interleaving of two faults on one page (DFS)', () => {
  //   |--anon--|   T1: store 1 to BASE     T2: store 2 to BASE, then load
  // Whatever the interleaving: one folio ends up mapped (the loser of the PTL race backs off via
  // vmf_pte_changed and frees its folio), the rmap is complete, and T2 reads a value one of them wrote.
  for (const gen of ['v6.3', 'v6.4', 'v6.15']) {
    it(`${gen}: no violation, one mapping, a written value`, () => {
      const spec = {
        gen,
        setup: anonSetup(),
        threads: [
          { name: 'T1', program: [store(BASE, 1)] },
          { name: 'T2', program: [store(BASE, 2), load(BASE)] },
        ],
      };
      let builds: FaultBuild | null = null;
      const seen = new Set<number>();
      const res = explore(new DfsStrategy({ preemptionBound: 2, maxExecutions: 600 }), (s) => {
        builds = buildFault(spec, s);
        sim_set_kernel(builds.w.kernel);
        return builds.exec;
      }, {
        stopOnFailure: true,
        onRun: (o) => {
          const b = builds!;
          if (o.status !== 'ok') throw new Error(`${o.status}: ${o.violation?.message ?? o.error} (${o.schedule})`);
          expect(b.w.mm().rss_stat.MM_ANONPAGES).toBe(1);
          expect(k.fn.sim_rmap_complete(b.w.mm())).toBeNull();
          const v = b.history.find((h) => h.op.op === 'load')!.result;
          expect(v?.kind).toBe('value');
          if (v?.kind === 'value') seen.add(v.value);
        },
      });
      expect(res.executions).toBeGreaterThan(10);
      expect([...seen].every((x) => x === 1 || x === 2)).toBe(true);
      expect(seen.has(2)).toBe(true);
    });
  }
});
