/**
 * fs/userfaultfd.c + mm/userfaultfd.c: missing faults blocking in handle_userfault until
 * UFFDIO_COPY, -EEXIST, -EAGAIN while a non-cooperative event is unread (mmap_changing, B22),
 * UFFDIO_MOVE, and the B26 ordering (vma_start_write before the context changes).
 *
 *   0x10000000 |--anon rw, 4 pages (page 0 = 7), registered missing--|
 */
import { describe, expect, it } from 'vitest';
import { sysRun, why, mmapAnon, load, store, munmap, RW, type SysTest } from './syscalls_harness.js';
import type { ModelOp } from '../../model/ops.js';
import { k } from '../../impl/sim/kernel.js';
import type { Task } from '../../impl/rt/task.js';
import type { vm_area_struct, userfaultfd_ctx } from '../../impl/include/linux/mm_types.js';
import { VM_UFFD_FLAGS } from '../../impl/include/linux/mm_flags.js';

const PAGE = 4096;
const BASE = 0x10000000;
const reg = (pid: number, addr: number, len: number): ModelOp => ({ op: 'uffd_register', pid, addr, len, mode: 'missing' });
const copy = (pid: number, dst: number, value: number): ModelOp => ({ op: 'uffdio_copy', pid, dst, value });
const move = (pid: number, src: number, dst: number): ModelOp => ({ op: 'uffdio_move', pid, src, dst });
const readEv = (pid: number): ModelOp => ({ op: 'uffd_read_event', pid });
// Page 0 is written first so the VMA has an anon_vma (6.4–6.9 lock_vma_under_rcu wants one).
const setup = (): ModelOp[] => [mmapAnon(1, BASE, 4 * PAGE, RW, { fixed: true }), store(1, BASE, 7), reg(1, BASE, 4 * PAGE)];

function run(t: Omit<SysTest, 'processes'> & { processes?: SysTest['processes'] }) {
  const r = sysRun({ processes: [{ pid: 1, setup: setup() }], ...t });
  if (r.outcome.status !== 'ok') throw new Error(why(r.outcome));
  return r;
}

describe('handle_userfault', () => {
  for (const gen of ['v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: a missing fault blocks until UFFDIO_COPY resolves it, then retries and sees the value`, () => {
      const r = run({
        gen,
        threads: [
          { name: 'faulter', pid: 1, program: [load(1, BASE + PAGE)] },
          { name: 'monitor', pid: 1, program: [readEv(1), copy(1, BASE + PAGE, 42), readEv(1)] },
        ],
        script: [{ task: 'faulter', until: 'schedule' }],
      });
      expect(r.of('monitor')).toEqual([
        { kind: 'event', event: { type: 'pagefault', addr: BASE + PAGE, write: false } },
        { kind: 'ok' },
        { kind: 'errno', errno: -11 },
      ]);
      expect(r.of('faulter')).toEqual([{ kind: 'value', value: 42 }]);
      const s = k.stats.vma_lock;
      if (gen === 'v6.4') {
        // 6.4: lock_vma_under_rcu refuses uffd-armed VMAs: the fault runs under mmap_lock.
        expect(s.VMA_LOCK_ABORT).toBeGreaterThan(0);
        expect(s.VMA_LOCK_RETRY).toBe(0);
      } else {
        // 6.6+: handle_userfault under the VMA lock, released before sleeping: VM_FAULT_RETRY.
        expect(s.VMA_LOCK_RETRY).toBeGreaterThan(0);
      }
      const ctx = k.procs.get(1)!.uffds[0]!;
      expect(ctx.mmap_changing).toBe(0);
      expect(ctx.fault_pending_wqh.head.length + ctx.fault_wqh.head.length).toBe(0);
    });
  }
});

describe('mfill_atomic (UFFDIO_COPY)', () => {
  for (const gen of ['v6.6', 'v6.15']) {
    it(`${gen}: -EEXIST on a present page, -ENOENT outside a registered VMA, -EINVAL unaligned`, () => {
      const r = run({
        gen,
        threads: [{ name: 'monitor', pid: 1, program: [copy(1, BASE, 5), copy(1, BASE + 8 * PAGE, 5), copy(1, BASE + 1, 5), copy(1, BASE + 2 * PAGE, 6), load(1, BASE + 2 * PAGE)] }],
      });
      expect(r.of('monitor')).toEqual([
        { kind: 'errno', errno: -17 }, { kind: 'errno', errno: -2 }, { kind: 'errno', errno: -22 }, { kind: 'ok' }, { kind: 'value', value: 6 },
      ]);
    });
  }

  it('the copy that faults on its source drops the locks, re-checks mmap_changing and retries (-EEXIST if resolved meanwhile)', () => {
    // The monitor's copy_from_user faults (scheduler choice 1): while it copies without locks, a
    // second copy fills the page; the retry then finds the PTE and returns -EEXIST.
    const r = sysRun({
      gen: 'v6.6', processes: [{ pid: 1, setup: setup() }],
      threads: [
        { name: 'm1', pid: 1, program: [copy(1, BASE + PAGE, 1)] },
        { name: 'm2', pid: 1, program: [copy(1, BASE + PAGE, 2), load(1, BASE + PAGE)] },
      ],
      scheduler: undefined,
      script: [{ task: 'm1', until: 'mfill_atomic:copy_from_user' }, { task: 'm2', until: 'user:load' }],
      overrides: {
        // the first copy's source page is not resident: copy_from_user with pagefaults disabled fails once
        mfill_atomic_pte_copy: (function () {
          let first = true;
          return function* (pmd, vma, addr, value, foliop): Task<number> {
            if (first && !foliop.folio) {
              first = false;
              const f = (yield* k.fn.vma_alloc_folio(0, 0, vma, addr))!;
              foliop.folio = f;
              return -2;
            }
            const { mfill_atomic_pte_copy } = yield* (function* () { return { mfill_atomic_pte_copy: baseFn('mfill_atomic_pte_copy') }; })();
            return yield* (mfill_atomic_pte_copy as typeof k.fn.mfill_atomic_pte_copy)(pmd, vma, addr, value, foliop);
          };
        })(),
      },
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('m2')).toEqual([{ kind: 'ok' }, { kind: 'value', value: 2 }]);
    expect(r.of('m1')).toEqual([{ kind: 'errno', errno: -17 }]);
  });
});

import { baseTable } from '../../impl/sim/table.js';
function baseFn(name: string): unknown {
  return (baseTable() as unknown as Record<string, unknown>)[name];
}

describe('non-cooperative events (mmap_changing, B22)', () => {
  for (const gen of ['v6.6', 'v6.15']) {
    it(`${gen}: UFFDIO_COPY gets -EAGAIN while an unmap event is unread; mmap_changing back to 0 once read`, () => {
      let during = -1;
      const r = run({
        gen,
        threads: [
          { name: 'unmapper', pid: 1, program: [munmap(1, BASE + 3 * PAGE, PAGE), load(1, BASE)] },
          { name: 'monitor', pid: 1, program: [copy(1, BASE + PAGE, 9), readEv(1), copy(1, BASE + PAGE, 9)] },
        ],
        // The unmapper sleeps in userfaultfd_event_wait_completion; the monitor copies (-EAGAIN),
        // reads the event; the woken unmapper lowers mmap_changing; the monitor copies again.
        script: [
          { task: 'unmapper', until: 'schedule' },
          { task: 'monitor', until: 'userfaultfd_copy', nth: 1 },
          { task: 'unmapper', until: 'user:load' },
        ],
        hooks: { afterStep: (e) => { const c = k.procs.get(1)?.uffds[0]; if (c && c.mmap_changing > during) during = c.mmap_changing; return null; } },
      });
      expect(during).toBe(1);
      expect(r.of('monitor')).toEqual([
        { kind: 'errno', errno: -11 },
        { kind: 'event', event: { type: 'unmap', start: BASE + 3 * PAGE, end: BASE + 4 * PAGE } },
        { kind: 'ok' },
      ]);
      expect(r.of('unmapper')).toEqual([{ kind: 'ok' }, { kind: 'value', value: 7 }]);
      expect(k.procs.get(1)!.uffds[0]!.mmap_changing).toBe(0);
    });
  }

  it('with an unmap prep that raises nothing (before df2cc96e7701) the copy lands in a range being unmapped', () => {
    const r = run({
      gen: 'v6.6',
      overrides: {
        userfaultfd_unmap_prep: function* (): Task<number> {
          yield 'mutant';
          return 0;
        },
      },
      threads: [
        { name: 'unmapper', pid: 1, program: [munmap(1, BASE + 3 * PAGE, PAGE), load(1, BASE)] },
        { name: 'monitor', pid: 1, program: [copy(1, BASE + PAGE, 9)] },
      ],
      script: [{ task: 'unmapper', until: 'user:load' }],
    });
    expect(r.of('monitor')[0]).toEqual({ kind: 'ok' }); // not -EAGAIN: the -EAGAIN assertion above trips
  });
});

describe('userfaultfd_register (B26)', () => {
  it('write-locks each VMA before changing its context and flags', () => {
    const r = run({ gen: 'v6.6', threads: [{ name: 't', pid: 1, program: [{ op: 'uffd_unregister', pid: 1, addr: BASE, len: PAGE }] }] });
    const vmas = k.fn.sim_vmas(k.procs.get(1)!.mm!);
    expect(vmas.map((v) => [v.vm_start, v.vm_end, !!(v.vm_flags & VM_UFFD_FLAGS), v.vm_userfaultfd_ctx !== null])).toEqual([
      [BASE, BASE + PAGE, false, false], [BASE + PAGE, BASE + 4 * PAGE, true, true],
    ]);
    void r;
  });

  it('a userfaultfd_set_ctx without vma_start_write trips vm_flags_reset\'s vma_assert_write_locked', () => {
    const r = sysRun({
      gen: 'v6.6', processes: [{ pid: 1, setup: [mmapAnon(1, BASE, 4 * PAGE, RW, { fixed: true })] }],
      threads: [{ name: 't', pid: 1, program: [reg(1, BASE, 4 * PAGE)] }],
      overrides: {
        userfaultfd_set_ctx: function* (vma: vm_area_struct, ctx: userfaultfd_ctx | null, flags: number): Task<void> {
          yield 'mutant';
          vma.vm_userfaultfd_ctx = ctx;
          k.fn.vm_flags_reset(vma, (vma.vm_flags & ~VM_UFFD_FLAGS) | flags);
        },
      },
    });
    expect(r.outcome.status).toBe('violation');
  });
});

describe('move_pages (UFFDIO_MOVE)', () => {
  for (const gen of ['v6.6', 'v6.15']) {
    it(`${gen}: moves the page (PTE and rmap) to an empty registered address; -EEXIST / -ENOENT`, () => {
      const r = run({
        gen,
        threads: [{ name: 'm', pid: 1, program: [move(1, BASE, BASE + 2 * PAGE), load(1, BASE + 2 * PAGE), move(1, BASE + 3 * PAGE, BASE + PAGE), copy(1, BASE + 3 * PAGE, 1), move(1, BASE + 2 * PAGE, BASE + 3 * PAGE)] }],
        script: [],
      });
      expect(r.of('m')).toEqual([{ kind: 'ok' }, { kind: 'value', value: 7 }, { kind: 'errno', errno: -2 }, { kind: 'ok' }, { kind: 'errno', errno: -17 }]);
      const mm = k.procs.get(1)!.mm!;
      expect(k.fn.sim_rmap_complete(mm)).toBeNull();
      const t = mm.pgd.get(Math.floor(BASE / 2 ** 21))!.table!;
      expect(t.entries[(BASE / PAGE) % 512]!.kind).toBe('none');
    });
  }
});

describe('UFFDIO_COPY holds an mm_users reference (fs/userfaultfd.c userfaultfd_copy: mmget_not_zero … mmput)', () => {
  // The hunt's v6.6/v6.7 false alarm (UFFDIO_COPY = -ENOENT while its process exited): the copy's
  // mmget_not_zero was only a check, so exit_group's last mmput tore the address space down under
  // the copy and find_dst_vma found nothing. With the reference, the copy finishes on the intact
  // mm and its own mmput is the last: exit_mmap runs in the monitor.
  const A = BASE + 2 * PAGE;
  const monitor = (): Task<number> => k.fn.userfaultfd_copy(k.fn.sim_uffd_ctx(1)!, A, 5);
  for (const gen of ['v6.6', 'v6.15']) {
    it(`${gen}: a copy in flight across the process's exit succeeds and tears the mm down itself`, () => {
      let mm: import('../../impl/include/linux/mm_types.js').mm_struct | null = null;
      const r = sysRun({
        gen, processes: [{ pid: 1, setup: setup() }],
        threads: [{ name: 'x', pid: 1, program: [{ op: 'exit', pid: 1 }] }],
        tasks: [['mon', 0, function* (kernel) { mm = kernel.procs.get(1)!.mm; return yield* monitor(); }]],
        script: [{ task: 'mon', until: gen === 'v6.6' ? /^(?!userfaultfd_copy:|start)/ : 'mfill_atomic:atomic_read(mmap_changing)' }, { task: 'x', until: 'exit' }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.scriptDone).toBe(true);
      expect(r.results.get('mon')).toBe(0);
      expect(mm!.dead).toBe(true);
    });
  }
  it('a copy without the reference (the stand-in before) lets exit_mmap run under it: caught', () => {
    const r = sysRun({
      gen: 'v6.6', processes: [{ pid: 1, setup: setup() }],
      overrides: {
        userfaultfd_copy: function* (ctx: userfaultfd_ctx, dst: number, value: number): Task<number> {
          if (ctx.mm.dead) return -3; // -ESRCH: a check, no reference
          const ret = yield* k.fn.mfill_atomic(ctx, dst, value, PAGE);
          if (ret < 0) return ret;
          yield* k.fn.wake_userfault(ctx, { start: dst, len: ret });
          return 0;
        },
      },
      threads: [{ name: 'x', pid: 1, program: [{ op: 'exit', pid: 1 }] }],
      tasks: [['mon', 0, monitor]],
      // the copy past its mm check, at mfill_atomic's first step (before it locks): the whole exit runs
      script: [{ task: 'mon', until: /^(?!userfaultfd_copy:|start)/ }, { task: 'x', until: 'exit' }],
    });
    expect(r.scriptDone).toBe(true);
    // exit_mmap ran under the copy: it finds no VMA (-ENOENT, the soak's result) or a freed mm
    expect(r.outcome.status !== 'ok' || r.results.get('mon') !== 0, why(r.outcome)).toBe(true);
  });
});
