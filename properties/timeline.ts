/**
 * The text timeline of a traced run: one column per task (user threads first, then daemons; the
 * kernel-side setup folded into one line), one row per step with the kernel function the step
 * runs (the trace label, e.g. `lock_vma_under_rcu`, `do_anonymous_page:set_pte_at`) and the object
 * it touches, the locks the stepping task holds, `⋯` while a task waits, and `>>> <property> broke
 * here` after the step where the property broke. Below it: the violation's report as the kernel
 * prints it (lockdep splat, KASAN report …) and the history of user operations with their results.
 *
 *   step │ T0                        │ T1                        │ reclaim    │ held (stepping task)
 *   ─────┼───────────────────────────┼───────────────────────────┼────────────┼─────────────────────
 *      0 │ ── setup: 14 steps (0–13) ──
 *     14 │ lock_vma_under_rcu        │                           │            │
 *     15 │                           │ mmap_write_lock mm(1)     │            │
 *   >>> kasan broke here (step 15, T1)
 *
 * `compact` folds runs of consecutive steps of one task that hold the same locks into one row
 * (`first … last (+n)`): one row per critical section.
 */
import type { TraceEvent } from '../impl/rt/trace.js';
import { describeCall } from '../model/ops.js';
import type { RunReport } from './api.js';

export interface TimelineOptions {
  /** Fold runs of consecutive steps of one task holding the same locks into one row. */
  readonly compact?: boolean;
  /** Width of a task column (default 32, at least 10). */
  readonly columnWidth?: number;
  /** Width of the held-locks column (default 48). */
  readonly heldWidth?: number;
  /** Leave out the history section. */
  readonly noHistory?: boolean;
}

/** A task column of the timeline. */
export interface TimelineColumn {
  readonly task: number;
  readonly name: string;
  readonly daemon: boolean;
}

/** One row: a step (or a folded run of steps) of one task, or the folded setup. */
export type TimelineRow =
  | {
      readonly kind: 'step';
      readonly task: number;
      readonly first: number;
      readonly last: number;
      /** Labels (with object) of the steps in the row, in order. */
      readonly labels: readonly string[];
      readonly held: string;
      /** The task waited before this row's first step (it is its wake-up). */
      readonly woke: boolean;
      /** Tasks waiting during this row (columns that show ⋯). */
      readonly waiting: readonly number[];
    }
  | { readonly kind: 'setup'; readonly first: number; readonly last: number; readonly count: number; readonly labels: readonly string[] }
  | { readonly kind: 'broke'; readonly property: string; readonly step: number; readonly taskName: string };

export interface TimelineModel {
  readonly columns: readonly TimelineColumn[];
  readonly rows: readonly TimelineRow[];
}

const SETUP_NAMES = new Set(['setup']);

/** Split the tasks into columns: the user threads in scenario order, then the daemons; setup is not a column. */
export function timelineColumns(report: RunReport): { columns: TimelineColumn[]; setup: Set<number> } {
  const threads = new Set(report.threads);
  const columns: TimelineColumn[] = report.threads.map((t) => ({ task: t, name: report.taskNames[t] ?? `task${t}`, daemon: false }));
  const setup = new Set<number>();
  report.taskNames.forEach((name, id) => {
    if (threads.has(id)) return;
    if (SETUP_NAMES.has(name)) setup.add(id);
    else columns.push({ task: id, name, daemon: true });
  });
  // Tasks spawned during the run that are not in taskNames (should not happen): give them a column.
  for (const e of report.trace ?? []) {
    if (!setup.has(e.task) && !columns.some((c) => c.task === e.task)) columns.push({ task: e.task, name: `task${e.task}`, daemon: true });
  }
  return { columns, setup };
}

function stepText(e: TraceEvent): string {
  return e.obj ? `${e.label} ${e.obj}` : e.label;
}

/** The rows of the timeline (shared by the text and the HTML renderers). */
export function timelineModel(report: RunReport, opts: { compact?: boolean } = {}): TimelineModel {
  const trace = report.trace ?? [];
  const { columns, setup } = timelineColumns(report);
  const v = report.violation;
  // The step after which the property broke: its own step, or the end of the run.
  const brokeAt = v === undefined ? undefined : v.step >= 0 && trace.some((e) => e.step === v.step) ? v.step : Infinity;

  // Waiting intervals: a task whose event has `blocked` waited since its previous event.
  const waitingFrom = new Map<number, number>(); // event index → index of the task's previous event
  const lastIdx = new Map<number, number>();
  trace.forEach((e, i) => {
    if (e.blocked) waitingFrom.set(i, lastIdx.get(e.task) ?? -1);
    lastIdx.set(e.task, i);
  });
  // For each event index: the tasks waiting at that time (strictly between their previous event and their wake-up).
  const waitingAt: number[][] = trace.map(() => []);
  for (const [wake, from] of waitingFrom) {
    const task = trace[wake]!.task;
    if (setup.has(task)) continue;
    for (let i = from + 1; i < wake; i++) waitingAt[i]!.push(task);
  }

  const rows: TimelineRow[] = [];
  let setupRow: { kind: 'setup'; first: number; last: number; count: number; labels: string[] } | null = null;
  let broke = false;
  const pushBroke = () => {
    if (v && !broke) {
      rows.push({ kind: 'broke', property: v.property, step: v.step, taskName: v.taskName });
      broke = true;
    }
  };
  for (let i = 0; i < trace.length; i++) {
    const e = trace[i]!;
    if (setup.has(e.task)) {
      if (setupRow === null) {
        setupRow = { kind: 'setup', first: e.step, last: e.step, count: 0, labels: [] };
        rows.push(setupRow);
      }
      setupRow.last = e.step;
      setupRow.count++;
      if (!setupRow.labels.includes(e.label)) setupRow.labels.push(e.label);
      if (brokeAt === e.step) pushBroke();
      continue;
    }
    const labels = [stepText(e)];
    let last = e.step;
    const waiting = new Set(waitingAt[i]);
    if (opts.compact) {
      while (i + 1 < trace.length) {
        const n = trace[i + 1]!;
        if (n.task !== e.task || n.blocked || n.held !== e.held || brokeAt === last) break;
        labels.push(stepText(n));
        for (const w of waitingAt[i + 1]!) waiting.add(w);
        last = n.step;
        i++;
      }
    }
    rows.push({ kind: 'step', task: e.task, first: e.step, last, labels, held: e.held, woke: e.blocked, waiting: [...waiting] });
    if (brokeAt === last) pushBroke();
  }
  pushBroke();
  return { columns, rows };
}

/** Cut to `w` columns with an ellipsis. */
export function fit(s: string, w: number): string {
  if (w <= 0) return '';
  const chars = [...s];
  if (chars.length <= w) return s + ' '.repeat(w - chars.length);
  return chars.slice(0, Math.max(0, w - 1)).join('') + '…';
}

function rowCell(labels: readonly string[]): string {
  if (labels.length === 1) return labels[0]!;
  return `${labels[0]} … ${labels[labels.length - 1]} (+${labels.length - 1})`;
}

/** Render the timeline, then the violation report and the history. */
export function renderTimeline(report: RunReport, opts: TimelineOptions = {}): string {
  const out: string[] = [];
  const cw = Math.max(10, opts.columnWidth ?? 32);
  const hw = Math.max(10, opts.heldWidth ?? 48);
  const trace = report.trace;
  if (trace === undefined) {
    out.push('(the run was not traced: no timeline)');
  } else {
    const { columns, rows } = timelineModel(report, { compact: opts.compact });
    const colOf = new Map(columns.map((c, i) => [c.task, i]));
    const sw = Math.max(4, String(report.steps).length + (opts.compact ? String(report.steps).length + 1 : 0));
    const sep = ' │ ';
    const header = [fit('step', sw), ...columns.map((c) => fit(`${c.name}${c.daemon ? ' (kthread)' : ''}`, cw)), 'held (stepping task)'];
    out.push(header.join(sep).trimEnd());
    out.push(['─'.repeat(sw), ...columns.map(() => '─'.repeat(cw)), '─'.repeat(20)].join('─┼─'));
    for (const r of rows) {
      if (r.kind === 'setup') {
        const range = r.first === r.last ? `${r.first}` : `${r.first}–${r.last}`;
        out.push(`${fit(String(r.first).padStart(sw), sw)}${sep}── setup: ${r.count} step${r.count === 1 ? '' : 's'} (${range}): ${r.labels.slice(0, 4).join(', ')}${r.labels.length > 4 ? ', …' : ''} ──`);
        continue;
      }
      if (r.kind === 'broke') {
        const where = r.step >= 0 ? ` (step ${r.step}${r.taskName ? `, ${r.taskName}` : ''})` : ' (at the end of the run)';
        out.push(`>>> ${r.property} broke here${where}`);
        continue;
      }
      const stepCol = opts.compact && r.last !== r.first ? `${r.first}-${r.last}` : String(r.first);
      const cells = columns.map(() => ' '.repeat(cw));
      const text = (r.woke ? '⋯ ' : '') + rowCell(r.labels);
      const ci = colOf.get(r.task);
      if (ci !== undefined) cells[ci] = fit(text, cw);
      for (const w of r.waiting) {
        const wi = colOf.get(w);
        if (wi !== undefined && wi !== ci) cells[wi] = fit('⋯ blocked', cw);
      }
      out.push([stepCol.padStart(sw), ...cells, fit(r.held, hw)].join(sep).trimEnd());
    }
  }
  const v = report.violation;
  out.push('');
  if (v) {
    out.push(`${v.property}: ${v.message}`);
    if (v.report.length) {
      out.push('');
      for (const l of v.report) out.push(...l.split('\n'));
    }
  } else if (report.error) {
    out.push(`${report.status}: ${report.error.split('\n')[0]}`);
  } else {
    out.push(`no violation (${report.status})`);
  }
  if (!opts.noHistory) {
    out.push('', ...renderHistory(report));
  }
  return out.join('\n') + '\n';
}

/** The user-visible operations of the run, with their results and the steps they spanned. */
export function renderHistory(report: RunReport): string[] {
  if (report.history.length === 0) return ['history: (no operation completed)'];
  const out = ['history:'];
  const ops = [...report.history].sort((a, b) => a.invoke - b.invoke || a.task - b.task);
  const nw = Math.max(...ops.map((o) => (report.taskNames[o.task] ?? `task${o.task}`).length));
  for (const h of ops) {
    const name = (report.taskNames[h.task] ?? `task${h.task}`).padEnd(nw);
    const span = h.result === undefined ? `[${h.invoke}–…]` : `[${h.invoke}–${h.response}]`;
    out.push(`  ${name}  ${describeCall(h.op, h.result)}  ${span}`);
  }
  return out;
}
