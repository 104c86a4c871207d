/** The text timeline and the HTML swimlane page of a traced run. */
import { describe, expect, it } from 'vitest';
import { renderTimeline, timelineModel, fit } from '../../properties/timeline.js';
import { renderHtml, escapeHtml } from '../../properties/html.js';
import type { RunReport } from '../../properties/api.js';
import type { TraceEvent } from '../../impl/rt/trace.js';

const ev = (step: number, task: number, label: string, obj = '', held = '', blocked = false): TraceEvent => ({ step, task, label, obj, held, blocked });

/** setup (task 0), reclaim daemon spawned before the threads (task 1), threads T0 (2), T1 (3). */
function report(over: Partial<RunReport> = {}): RunReport {
  const trace: TraceEvent[] = [
    ev(0, 0, 'start'), ev(1, 0, 'sim_kernel_init'), ev(2, 0, 'mmap_write_lock', 'mm(1)'), ev(3, 0, 'vma_iter_store', 'vma#1', 'mm(1)->mmap_lock'),
    ev(4, 2, 'lock_vma_under_rcu', 'vma#1', 'rcu'),
    ev(5, 2, 'vma_start_read', 'vma#1', 'rcu'),
    ev(6, 3, 'mmap_write_lock', 'mm(1)'),
    ev(7, 3, 'vma_start_write', 'vma#1', 'mm(1)->mmap_lock'),
    ev(8, 1, 'shrink_folio_list', 'folio#7'),
    ev(9, 3, 'vma_start_write', 'vma#1', 'mm(1)->mmap_lock', true),
    ev(10, 2, 'do_anonymous_page:set_pte_at', 'pte_table#2', 'vma#1->vm_lock(R)'),
    ev(11, 2, 'vma_end_read', 'vma#1', 'vma#1->vm_lock(R)'),
    ev(12, 3, 'vma_iter_clear', 'vma#1', 'mm(1)->mmap_lock vma#1->vm_lock'),
  ];
  return {
    status: 'violation',
    violation: {
      property: 'lockdep', message: 'possible circular locking dependency detected', step: 10, task: 2, taskName: 'T0', label: 'do_anonymous_page:set_pte_at',
      report: ['======================================================', 'WARNING: possible circular locking dependency detected', '------------------------------------------------------', 'T0/2 is trying to acquire lock:'],
    },
    schedule: 'v1:6t3.8t1.10t2',
    steps: 13,
    preemptions: 2,
    taskNames: ['setup', 'reclaim', 'T0', 'T1'],
    threads: [2, 3],
    trace,
    history: [
      { task: 3, op: { op: 'munmap', pid: 1, addr: 0x10000000, len: 4096 }, invoke: 6, response: 12, result: { kind: 'ok' } },
      { task: 2, op: { op: 'store', pid: 1, addr: 0x10000000, value: 3 }, invoke: 4 , response: 11, result: { kind: 'ok' } },
      { task: 2, op: { op: 'load', pid: 1, addr: 0x10000000 }, invoke: 12, response: -1 },
    ],
    stats: { vma_lock: { VMA_LOCK_SUCCESS: 1, VMA_LOCK_ABORT: 0, VMA_LOCK_RETRY: 0, VMA_LOCK_MISS: 0 }, mmap_lock_faults: 0, vma_lock_faults: 1, fault_retries: 0 },
    ...over,
  };
}

const lines = (s: string) => s.split('\n');

describe('text timeline', () => {
  const text = renderTimeline(report());
  const ls = lines(text);

  it('has one column per task: user threads first, daemons after, no setup column', () => {
    const header = ls[0]!;
    const cols = header.split('│').map((c) => c.trim());
    expect(cols).toEqual(['step', 'T0', 'T1', 'reclaim (kthread)', 'held (stepping task)']);
    expect(ls[1]).toMatch(/^─+┼─+┼─+┼─+┼─+$/);
  });

  it('folds setup into one line', () => {
    const setup = ls.filter((l) => l.includes('setup'));
    expect(setup).toHaveLength(1);
    expect(setup[0]).toMatch(/^ +0 │ ── setup: 4 steps \(0–3\): start, sim_kernel_init, mmap_write_lock, vma_iter_store ──$/);
  });

  it('puts each step in its task\'s column with the object and the locks held', () => {
    const row = (step: number) => ls.find((l) => new RegExp(`^ *${step} │`).test(l))!;
    const cells = (step: number) => {
      const cs = row(step).split('│').map((c) => c.trim());
      while (cs.length < 5) cs.push('');
      return cs;
    };
    expect(cells(4)).toEqual(['4', 'lock_vma_under_rcu vma#1', '', '', 'rcu']);
    expect(cells(6)).toEqual(['6', '', 'mmap_write_lock mm(1)', '', '']);
    expect(cells(8)).toEqual(['8', '', '⋯ blocked', 'shrink_folio_list folio#7', '']);
    expect(cells(10)).toEqual(['10', 'do_anonymous_page:set_pte_at pt…', '', '', 'vma#1->vm_lock(R)']);
    // Columns line up.
    const bars = (l: string) => [...l].map((c, i) => (c === '│' ? i : -1)).filter((i) => i >= 0);
    expect(bars(row(4))).toEqual(bars(ls[0]!).slice(0, bars(row(4)).length));
    expect(bars(row(10))).toEqual(bars(ls[0]!));
  });

  it('marks waiting with ⋯ and the wake-up', () => {
    // T1 ran step 7, then waited until step 9: steps 8 shows it blocked.
    const row8 = ls.find((l) => /^ *8 │/.test(l))!;
    expect(row8.split(' │ ')[2]!.trim()).toBe('⋯ blocked');
    const row9 = ls.find((l) => /^ *9 │/.test(l))!;
    expect(row9.split(' │ ')[2]!.trim()).toBe('⋯ vma_start_write vma#1');
  });

  it('marks the step where the property broke, right after it', () => {
    const i = ls.findIndex((l) => l.startsWith('>>> '));
    expect(ls[i]).toBe('>>> lockdep broke here (step 10, T0)');
    expect(ls[i - 1]).toMatch(/^ *10 │/);
    expect(ls.filter((l) => l.startsWith('>>> '))).toHaveLength(1);
  });

  it('prints the report as the kernel does, then the history with results', () => {
    expect(text).toMatch(/\nlockdep: possible circular locking dependency detected\n\n=+\nWARNING: possible circular locking dependency detected\n/);
    const h = ls.indexOf('history:');
    expect(h).toBeGreaterThan(0);
    expect(ls.slice(h + 1, h + 4)).toEqual([
      '  T0  P1 store(0x10000000, 3) = ok  [4–11]',
      '  T1  P1 munmap(0x10000000, 4K) = ok  [6–12]',
      '  T0  P1 load(0x10000000) = ?  [12–…]',
    ]);
  });

  it('truncates long labels to the column width', () => {
    const t = renderTimeline(report(), { columnWidth: 12 });
    const row = lines(t).find((l) => /^ *10 │/.test(l))!;
    expect(row.split(' │ ')[1]).toBe('do_anonymou…');
    expect(fit('abcdef', 4)).toBe('abc…');
    expect(fit('ab', 4)).toBe('ab  ');
    for (const l of lines(t)) if (l.includes('│') && !l.includes('setup')) expect([...l].length).toBeLessThan(4 + 3 * (12 + 3) + 3 + 48 + 1);
  });

  it('compact mode folds consecutive steps of one task holding the same locks, but not the breaking step', () => {
    const t = renderTimeline(report(), { compact: true, columnWidth: 60 });
    const ls2 = lines(t);
    expect(ls2.some((l) => /^ *4-5 │ lock_vma_under_rcu vma#1 … vma_start_read vma#1 \(\+1\)/.test(l))).toBe(true);
    // Steps 6 and 7 of T1 differ in the locks held (7 holds mmap_lock): two rows, one per critical section.
    expect(ls2.some((l) => /^ *6 │/.test(l)) && ls2.some((l) => /^ *7 │/.test(l))).toBe(true);
    // Step 10 ends its row: the marker follows it, step 11 is on its own row.
    const i = ls2.findIndex((l) => l.startsWith('>>> lockdep broke here'));
    expect(ls2[i - 1]).toMatch(/^ *10 │/);
    expect(ls2[i + 1]).toMatch(/^ *11 │/);
    expect(ls2.length).toBeLessThan(lines(text).length);
  });

  it('an end-of-run violation is marked after the last step; a deadlock step beyond the trace too', () => {
    const end = renderTimeline(report({ violation: { ...report().violation!, property: 'leak', step: -1, task: -1, taskName: '' } }));
    const ls3 = lines(end);
    const i = ls3.findIndex((l) => l.startsWith('>>> '));
    expect(ls3[i]).toBe('>>> leak broke here (at the end of the run)');
    expect(ls3[i - 1]).toMatch(/^ *12 │/);
    const dl = renderTimeline(report({ violation: { ...report().violation!, property: 'deadlock', step: 13 } }));
    expect(lines(dl)[lines(dl).findIndex((l) => l.startsWith('>>> ')) - 1]).toMatch(/^ *12 │/);
  });

  it('a run without a violation or trace', () => {
    const t = renderTimeline(report({ status: 'pass', violation: undefined, trace: undefined }));
    expect(t).toMatch(/^\(the run was not traced: no timeline\)/);
    expect(t).toMatch(/no violation \(pass\)/);
    expect(t).not.toMatch(/>>>/);
  });

  it('the model is shared with the HTML page', () => {
    const m = timelineModel(report());
    expect(m.columns.map((c) => c.name)).toEqual(['T0', 'T1', 'reclaim']);
    expect(m.rows.filter((r) => r.kind === 'broke')).toHaveLength(1);
  });
});

describe('HTML swimlane page', () => {
  const html = renderHtml(report({ taskNames: ['setup', 'reclaim', 'T0<script>alert(1)</script>', 'T1'] }), { title: 'x & y', header: [['scenario', 'fork-vs-fault <1>']] });

  it('is self-contained: inline CSS, no script, no external asset', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toMatch(/<style>[^<]+<\/style>/);
    expect(html).not.toMatch(/<script|<link|<img|src=|url\(|@import|href=/i);
  });

  it('escapes every text', () => {
    expect(html).toContain('T0&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<title>x &amp; y</title>');
    expect(html).toContain('fork-vs-fault &lt;1&gt;');
    expect(html).toContain('mm(1)-&gt;mmap_lock');
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('has a lane per task, the steps, the broke-here row, the report and the history', () => {
    expect(html.match(/<th(?: class="kthread")?>/g)).toHaveLength(3);
    expect(html).toMatch(/<tr class="broke"><td colspan="5">&gt;&gt;&gt; lockdep broke here \(step 10, T0/);
    expect(html).toMatch(/<td class="run woke"[^>]*>⋯ vma_start_write vma#1<\/td>/);
    expect(html).toMatch(/<td class="wait">⋯ blocked<\/td>/);
    expect(html).toMatch(/<pre class="report">=+\nWARNING: possible circular locking dependency detected/);
    expect(html).toContain('P1 munmap(0x10000000, 4K) = ok');
  });
});
