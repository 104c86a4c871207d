/**
 * properties/contention.ts: the lock class of a wait site, blocked steps folded from a trace,
 * and figures that move the way the design says (holding the VMA lock across swap I/O removes the
 * retries; the lockless fault completes faults with no lock).
 */
import { describe, expect, it } from 'vitest';
import { blockedFromTrace, contentionTable, lockClass, measureContention } from '../../properties/contention.js';
import { PROPOSALS } from '../../impl/bugs/proposals.js';
import { generationVariant } from '../../impl/sim/variant.js';
import type { TraceEvent } from '../../impl/rt/trace.js';

const ev = (step: number, task: number, label: string, obj = '', blocked = false): TraceEvent => ({ step, task, label, obj, held: '', blocked });

describe('contention', () => {
  it('lockClass names the lock, not the instance', () => {
    expect(lockClass('down_read_killable', 'mm(1)->mmap_lock')).toBe('mmap_lock');
    expect(lockClass('down_write', 'vma#2->vm_lock')).toBe('vma_lock');
    expect(lockClass('rcuwait_wait_event', 'mm(1)->vma_writer_wait')).toBe('vma_lock');
    expect(lockClass('spin_lock', 'ptl(pte_table#4)')).toBe('ptl');
    expect(lockClass('folio_lock', 'folio#10')).toBe('folio (I/O)');
  });

  it('blockedFromTrace: a wake-up counts the steps since the task last ran; schedule() takes the previous site', () => {
    const into: Record<string, number> = {};
    const w = blockedFromTrace([
      ev(1, 1, 'down_write', 'mm(1)->mmap_lock'),
      ev(2, 2, 'x'),
      ev(5, 1, 'down_write', 'mm(1)->mmap_lock', true),
      ev(6, 2, 'rcuwait_wait_event', 'mm(1)->vma_writer_wait'),
      ev(9, 2, 'schedule', '', true),
      ev(10, 3, 'spin_lock', 'ptl(pte_table#1)'),
      ev(12, 3, 'spin_lock', 'ptl(pte_table#1)', true),
    ], new Set([1, 2]), into);
    expect(into).toEqual({ mmap_lock: 3, vma_lock: 2 });
    expect(w).toBe(3);
  });

  it('io-hold-vma-lock: no swap-in retries; lockless-fault: faults with no lock', () => {
    const base = measureContention(generationVariant('v6.6'), 'swapin-vs-writer', 48);
    const hold = measureContention(PROPOSALS.find((p) => p.name === 'io-hold-vma-lock')!, 'swapin-vs-writer', 48);
    expect(base.retries).toBeGreaterThan(0);
    expect(hold.retries).toBeLessThan(base.retries);
    const lf = measureContention(PROPOSALS.find((p) => p.name === 'lockless-fault')!, 'first-touch-vs-unmap', 48);
    expect(lf.locklessFaults).toBeGreaterThan(0);
    expect(contentionTable([base, hold])).toContain('io-hold-vma-lock');
  }, 60_000);
});
