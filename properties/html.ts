/**
 * A counterexample's timeline as one self-contained HTML page: a swimlane per task (user threads,
 * then kernel threads), a row per step with the kernel function and the locks held, the row where
 * the property broke highlighted, then the kernel-style report and the history. Inline CSS, no
 * script, no external asset; every text is escaped.
 */
import { describeCall } from '../model/ops.js';
import type { RunReport } from './api.js';
import { timelineModel } from './timeline.js';
import type { VerifyCoverage } from './coverage.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface HtmlOptions {
  readonly title?: string;
  /** Lines shown above the timeline (configuration, scenario, schedule …). */
  readonly header?: readonly (readonly [string, string])[];
  readonly compact?: boolean;
}

const CSS = `
body{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;margin:1.5em;color:#1b1b1b;background:#fff}
h1{font-size:1.3em;margin:0 0 .5em}h2{font-size:1.1em;margin:1.5em 0 .5em}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;margin:0 0 1em}dl.meta dt{font-weight:bold}dl.meta dd{margin:0;word-break:break-all}
table.lanes{border-collapse:collapse;width:100%;table-layout:fixed}
table.lanes th,table.lanes td{border:1px solid #d0d0d0;padding:2px 5px;vertical-align:top;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
table.lanes th{background:#f0f0f0;position:sticky;top:0}
table.lanes td.step{width:5em;text-align:right;color:#666}
table.lanes td.held{color:#6a3d9a;width:22%}
table.lanes th.kthread{background:#e8eef8}
td.run{background:#fff7d6}td.run.woke{background:#ffe3b3}
td.wait{color:#999;background:repeating-linear-gradient(45deg,#fafafa,#fafafa 4px,#f0f0f0 4px,#f0f0f0 8px)}
tr.setup td{background:#eef7ee;color:#2b6b2b;font-style:italic}
tr.broke td{background:#c62828;color:#fff;font-weight:bold;white-space:normal}
pre.report{background:#fff3f3;border:1px solid #e0b4b4;padding:.8em;overflow:auto}
table.history{border-collapse:collapse}table.history td{padding:1px 8px;border-bottom:1px solid #eee;white-space:nowrap}
`;

/** The page. */
export function renderHtml(report: RunReport, opts: HtmlOptions = {}): string {
  const e = escapeHtml;
  const title = opts.title ?? (report.violation ? `faultline: ${report.violation.property}` : 'faultline run');
  const out: string[] = [];
  out.push('<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">', `<title>${e(title)}</title>`, `<style>${CSS}</style>`, '</head><body>');
  out.push(`<h1>${e(title)}</h1>`);
  const meta: (readonly [string, string])[] = [...(opts.header ?? [])];
  meta.push(['status', report.status], ['steps', String(report.steps)], ['preemptions', String(report.preemptions)], ['schedule', report.schedule]);
  out.push('<dl class="meta">', ...meta.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`), '</dl>');

  const v = report.violation;
  if (v) {
    out.push(`<h2>${e(v.property)}: ${e(v.message)}</h2>`);
    if (v.report.length) out.push(`<pre class="report">${e(v.report.join('\n'))}</pre>`);
  } else if (report.error) {
    out.push(`<h2>${e(report.status)}</h2><pre class="report">${e(report.error)}</pre>`);
  }

  out.push('<h2>Timeline</h2>');
  if (!report.trace) {
    out.push('<p>(the run was not traced)</p>');
  } else {
    const { columns, rows } = timelineModel(report, { compact: opts.compact });
    const colOf = new Map(columns.map((c, i) => [c.task, i]));
    const span = columns.length + 2;
    out.push('<table class="lanes"><thead><tr><th class="step">step</th>');
    for (const c of columns) out.push(`<th${c.daemon ? ' class="kthread"' : ''}>${e(c.name)}${c.daemon ? ' <small>(kthread)</small>' : ''}</th>`);
    out.push('<th class="held">held (stepping task)</th></tr></thead><tbody>');
    for (const r of rows) {
      if (r.kind === 'setup') {
        out.push(`<tr class="setup"><td class="step">${r.first}</td><td colspan="${span - 1}">setup: ${r.count} step(s) (${r.first}–${r.last}): ${e(r.labels.slice(0, 8).join(', '))}${r.labels.length > 8 ? ', …' : ''}</td></tr>`);
        continue;
      }
      if (r.kind === 'broke') {
        const where = r.step >= 0 ? ` (step ${r.step}${r.taskName ? `, ${e(r.taskName)}` : ''})` : ' (at the end of the run)';
        out.push(`<tr class="broke"><td colspan="${span}">&gt;&gt;&gt; ${e(r.property)} broke here${where}</td></tr>`);
        continue;
      }
      const cells: string[] = columns.map(() => '<td></td>');
      const ci = colOf.get(r.task);
      const text = r.labels.length === 1 ? r.labels[0]! : `${r.labels[0]} … ${r.labels[r.labels.length - 1]} (+${r.labels.length - 1})`;
      if (ci !== undefined) cells[ci] = `<td class="run${r.woke ? ' woke' : ''}" title="${e(r.labels.join('\n'))}">${r.woke ? '⋯ ' : ''}${e(text)}</td>`;
      for (const w of r.waiting) {
        const wi = colOf.get(w);
        if (wi !== undefined && wi !== ci) cells[wi] = '<td class="wait">⋯ blocked</td>';
      }
      const step = r.first === r.last ? String(r.first) : `${r.first}–${r.last}`;
      out.push(`<tr><td class="step">${step}</td>${cells.join('')}<td class="held" title="${e(r.held)}">${e(r.held)}</td></tr>`);
    }
    out.push('</tbody></table>');
  }

  out.push('<h2>History</h2>');
  if (report.history.length === 0) {
    out.push('<p>(no operation completed)</p>');
  } else {
    out.push('<table class="history">');
    for (const h of [...report.history].sort((a, b) => a.invoke - b.invoke || a.task - b.task)) {
      const span = h.result === undefined ? `${h.invoke}–…` : `${h.invoke}–${h.response}`;
      out.push(`<tr><td>${e(report.taskNames[h.task] ?? `task${h.task}`)}</td><td>${e(describeCall(h.op, h.result))}</td><td>${span}</td></tr>`);
    }
    out.push('</table>');
  }
  out.push('</body></html>');
  return out.join('\n') + '\n';
}

/**
 * The coverage section of the verify report: per configuration, the kernel functions of the table
 * that ran, the step labels reached and the lock-class pairs held together; then what no
 * configuration reached (with the known reasons) and, per configuration, the pairs it reached.
 */
export function coverageHtml(c: VerifyCoverage): string {
  const e = escapeHtml;
  const pc = (a: number, b: number) => `${a}/${b} (${b === 0 ? '100.0' : ((100 * a) / b).toFixed(1)}%)`;
  const h: string[] = [];
  h.push('<h2 id="coverage">Coverage</h2>');
  h.push('<table><tr><th>configuration</th><th>runs</th><th>kernel functions run</th><th>step labels reached</th><th>lock-class pairs held together</th></tr>');
  for (const x of c.configs) {
    h.push(`<tr><th>${e(x.config)}</th><td>${x.runs}</td><td>${pc(x.functions.reached, x.functions.total)}</td><td>${pc(x.labels.reached, x.labels.total)}</td>` +
      `<td>${x.lockPairs}${x.unknownLabels.length ? ` · labels not in the scan: ${e(x.unknownLabels.join(', '))}` : ''}</td></tr>`);
  }
  const a = c.all;
  h.push(`<tr><th>all</th><td>${a.runs}</td><td>${pc(a.functions.reached, a.functions.total)}</td><td>${pc(a.labels.reached, a.labels.total)}</td><td>${a.lockPairs.reached}</td></tr>`);
  h.push('</table>');
  const reason = (r: string | undefined) => (r !== undefined ? ` <small>— ${e(r)}</small>` : '');
  if (a.functions.notCounted.length > 0) {
    h.push(`<p>Not counted as kernel functions (${a.functions.notCounted.length}): ${a.functions.notCounted.map((f) => `${e(f.name)} <small>(${e(f.why)})</small>`).join(', ')}</p>`);
  }
  h.push(`<h3>Kernel functions no configuration ran (${a.functions.unreached.length})</h3>`);
  if (a.functions.unreached.length === 0) h.push('<p>none</p>');
  else {
    h.push('<table><tr><th>kernel file (module)</th><th>functions</th></tr>');
    const byModule = new Map<string, string[]>();
    for (const f of a.functions.unreached) {
      const l = byModule.get(f.module) ?? [];
      l.push(`${e(f.name)}${reason(f.reason)}`);
      byModule.set(f.module, l);
    }
    for (const [m, l] of byModule) h.push(`<tr><td>${e(m)}</td><td>${l.join('<br>')}</td></tr>`);
    h.push('</table>');
  }
  h.push(`<h3>Step labels no configuration reached (${a.labels.unreached.length})</h3>`);
  if (a.labels.unreached.length === 0) h.push('<p>none</p>');
  else {
    h.push('<table><tr><th>label</th><th>written at</th></tr>');
    for (const l of a.labels.unreached) h.push(`<tr><td>${e(l.label)}${reason(l.reason)}</td><td>${e(l.at)}</td></tr>`);
    h.push('</table>');
  }
  h.push('<h3>Lock classes held together (held → taken)</h3><table><tr><th>pair</th>', ...c.configs.map((x) => `<th>${e(x.config)}</th>`), '</tr>');
  for (const p of a.lockPairs.pairs) {
    h.push(`<tr><td>${e(p)}</td>${c.configs.map((x) => (x.pairs.includes(p) ? '<td class="pass">✓</td>' : '<td></td>')).join('')}</tr>`);
  }
  h.push('</table>');
  return h.join('\n');
}
