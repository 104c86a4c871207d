/**
 * arch/x86/mm/tlb.c and the mmu_gather's range (mm/mmu_gather.c, include/asm-generic/tlb.h): a
 * flush shoots down only the range it is given, on every CPU; a gather flushes the range of the
 * PTEs it cleared; tlb_finish_mmu flushes everything when another gather of the mm is in flight.
 *
 *   P1:  0x10000000 |--anon page X (5)--|--anon page Y (6)--|
 *
 * The planted bugs are test variants, not zoo mutants: a gather that records the wrong page, and
 * tlb_finish_mmu without its mm_tlb_flush_nested check. Each is visible only because a flush of
 * one range leaves the entries of other ranges in place: with the old "drop every entry of the mm"
 * stand-in the same schedules pass.
 */
import { describe, expect, it } from 'vitest';
import { defineVariant, generationVariant, type Variant } from '../../../../impl/sim/variant.js';
import { k, type Kernel } from '../../../../impl/sim/kernel.js';
import type { Task } from '../../../../impl/rt/task.js';
import { PAGE_SIZE } from '../../../../impl/include/linux/mm_flags.js';
import type { mm_struct } from '../../../../impl/include/linux/mm_types.js';
import { sim_tlb_entries, sim_tlb_lookup, TLB_FLUSH_ALL } from '../../../../impl/arch/x86/mm/tlb.js';
import { baseTable } from '../../../../impl/sim/table.js';
import type { mmu_gather } from '../../../../impl/mm/mmu_gather.js';
import { runScenario } from '../../../../properties/runner.js';
import type { ScenarioSpec } from '../../../../impl/sim/scenario.js';
import type { ModelOp } from '../../../../model/ops.js';
import { ScriptScheduler, type Phase } from '../../../mm/io_harness.js';
import { load, mmapAnon, munmap, store, sysRun, why } from '../../../mm/syscalls_harness.js';

const X = 0x10000000;
const Y = X + PAGE_SIZE;
const setup: ModelOp[] = [mmapAnon(1, X, 2 * PAGE_SIZE, undefined, { fixed: true }), store(1, X, 5), store(1, Y, 6)];
const dontneed = (addr: number): ModelOp => ({ op: 'madvise', pid: 1, addr, len: PAGE_SIZE, advice: 'dontneed' });

function scenario(threads: ScenarioSpec['threads']): ScenarioSpec {
  return { name: 'tlb', family: 'tlb-test', processes: [{ pid: 1, setup }], threads };
}

function check(variant: Variant, threads: ScenarioSpec['threads'], script: readonly Phase[]) {
  const sched = new ScriptScheduler(script);
  const r = runScenario({ variant, scenario: scenario(threads), scheduler: sched, trace: true });
  if (r.status === 'crash' || r.status === 'bad-schedule') throw new Error(`${r.status}: ${r.error}`);
  expect(sched.finished, 'the script ran to its end').toBe(true);
  return r;
}

/** The old stand-in: any flush of an mm drops every entry of the mm. */
const flushAll = { flush_tlb_mm_range: (mm: mm_struct, s: number, e: number, sh?: number, ft?: boolean) => baseTable().flush_tlb_mm_range(mm, 0, TLB_FLUSH_ALL, sh, ft) };

describe('flush_tlb_mm_range / flush_tlb_page / flush_tlb_mm', () => {
  it('a range flush drops only that range of that mm, on every thread; flush_tlb_mm drops all', () => {
    const seen: Record<string, unknown> = {};
    const r = sysRun({
      gen: 'v6.6', processes: [{ pid: 1, setup }],
      threads: [
        { name: 'a', pid: 1, program: [load(1, X), load(1, Y)] },
        { name: 'b', pid: 1, program: [load(1, X), load(1, Y)] },
      ],
      tasks: [['flusher', 1, function* (kern: Kernel): Task<void> {
        yield 'test: flusher';
        const mm = kern.procs.get(1)!.mm!;
        const ids = ['a', 'b'].map((n) => kern.exec.tasks.findIndex((t) => t.name === n));
        const cached = (): boolean[] => ids.flatMap((id) => [X, Y].map((p) => sim_tlb_lookup(id, mm, p) !== undefined));
        seen.before = cached();
        yield* k.fn.mmap_read_lock(mm);
        const vma = (yield* k.fn.find_vma(mm, X))!;
        k.fn.flush_tlb_page(vma, Y + 100);
        seen.afterPage = cached();
        yield* k.fn.flush_tlb_range(vma, X, X + PAGE_SIZE);
        seen.afterRange = cached();
        k.fn.mmap_read_unlock(mm);
        yield* k.fn.flush_tlb_mm(mm);
        seen.afterMm = sim_tlb_entries(mm);
      }]],
      script: [{ task: 'a', until: 'exit' }, { task: 'b', until: 'exit' }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    // [a: X, a: Y, b: X, b: Y]
    expect(seen.before).toEqual([true, true, true, true]);
    expect(seen.afterPage).toEqual([true, false, true, false]);
    expect(seen.afterRange).toEqual([false, false, false, false]);
    expect(seen.afterMm).toBe(0); // the setup thread's entries too
  });

  it('a gather flushes the range of the PTEs it cleared (zap of X keeps Y\'s entries)', () => {
    const gathers: { start: number; end: number }[] = [];
    const base = baseTable();
    const r = sysRun({
      gen: 'v6.6', processes: [{ pid: 1, setup }],
      overrides: {
        tlb_flush: (tlb: mmu_gather) => {
          gathers.push({ start: tlb.start, end: tlb.end });
          base.tlb_flush(tlb);
        },
      },
      threads: [
        { name: 'a', pid: 1, program: [load(1, X), load(1, Y), munmap(1, X, PAGE_SIZE), load(1, Y)] },
      ],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(gathers).toEqual([{ start: X, end: X + PAGE_SIZE }]);
    // The last load of Y went through the TLB entry the munmap of X left alone.
    const mm = r.kernel.procs.get(1)!.mm!;
    const a = r.kernel.exec.tasks.findIndex((t) => t.name === 'a');
    expect(sim_tlb_lookup(a, mm, X)).toBeUndefined();
    expect(sim_tlb_lookup(a, mm, Y)).toBeDefined();
  });
});

/**
 * A gather that records the page after the one it cleared (tlb_remove_tlb_entry off by one
 * page): munmap(X) flushes Y. Thread "reader" loaded X before; its entry survives the munmap and
 * its next load goes through it to the folio the gather freed after the flush.
 */
const wrongRange = defineVariant({
  name: 'tlb_remove_tlb_entry-next-page', base: 'v6.6', description: 'the gather records address + PAGE_SIZE',
  overrides: { tlb_remove_tlb_entry: (tlb: mmu_gather, address: number) => baseTable().tlb_remove_tlb_entry(tlb, address + PAGE_SIZE) },
});

describe('tlb_remove_tlb_entry / tlb_flush: the range a gather flushes', () => {
  const threads = [
    { name: 'reader', pid: 1, program: [load(1, X), load(1, X)] },
    { name: 'unmapper', pid: 1, program: [munmap(1, X, PAGE_SIZE)] },
  ];
  const script: Phase[] = [{ task: 'reader', until: 'user:load', nth: 1 }, { task: 'unmapper', until: 'exit' }];

  it('v6.6: the reader\'s entry of X goes with the munmap: its next load faults (SIGSEGV)', () => {
    const r = check(generationVariant('v6.6'), threads, script);
    expect(r.status, r.violation?.message).toBe('pass');
    expect(r.history.filter((h) => h.op.op === 'load').map((h) => h.result)).toEqual([{ kind: 'value', value: 5 }, { kind: 'signal', sig: 'SIGSEGV' }]);
  });

  it('a flush of the wrong range leaves the entry: the load reads the freed folio (KASAN)', () => {
    const r = check(wrongRange, threads, script);
    expect(r.status).toBe('violation');
    expect(r.violation!.property).toBe('kasan');
    expect(r.violation!.message).toMatch(/use-after-free in user load \(through a TLB entry\).*folio/);
  });

  it('the same schedule passes with the old flush-everything stand-in', () => {
    const r = check(defineVariant({ ...wrongRange, name: 'wrong-range-flush-all', overrides: { ...wrongRange.overrides, ...flushAll } }), threads, script);
    expect(r.status, r.violation?.message).toBe('pass');
  });
});

/**
 * Two MADV_DONTNEEDs of X under mmap_read_lock: "b" clears the PTE and is about to flush when "a"
 * finds it already clear and has nothing of its own to flush. Only tlb_finish_mmu's
 * mm_tlb_flush_nested check (b's gather is in flight: tlb_flush_pending 2) makes a flush the
 * whole mm before a's madvise returns; without it a's next load of X goes through its stale entry
 * and reads 5 after its own DONTNEED (the model: 0). (Before mm->tlb_flush_pending was simulated,
 * the plain generation behaved like the planted variant here: a false alarm.)
 */
const noNestedCheck = defineVariant({
  name: 'tlb_finish_mmu-without-nested-check', base: 'v6.6', description: 'tlb_finish_mmu ignores mm_tlb_flush_nested',
  overrides: { mm_tlb_flush_nested: () => false },
});

describe('tlb_finish_mmu: mm->tlb_flush_pending and the nested flush', () => {
  const threads = [
    { name: 'a', pid: 1, program: [load(1, X), dontneed(X), load(1, X)] },
    { name: 'b', pid: 1, program: [dontneed(X)] },
  ];
  const script: Phase[] = [
    { task: 'a', until: 'down_read' },
    { task: 'b', until: 'tlb_flush_mmu_tlbonly' },
    { task: 'a', until: 'exit' },
  ];

  it('v6.6: a\'s DONTNEED finds b\'s gather in flight and flushes everything; a reads 0', () => {
    const r = check(generationVariant('v6.6'), threads, script);
    expect(r.status, r.violation?.message).toBe('pass');
    expect(r.history.filter((h) => h.task === r.taskNames.indexOf('a') && h.op.op === 'load').map((h) => h.result)).toEqual([{ kind: 'value', value: 5 }, { kind: 'value', value: 0 }]);
  });

  it('without the nested check a reads its old value through the stale entry (linearizability)', () => {
    const r = check(noNestedCheck, threads, script);
    expect(r.status).toBe('violation');
    expect(r.violation!.property).toBe('linearizability');
    expect(r.violation!.message).toMatch(/load\(0x10000000\) = 5/);
  });
});
