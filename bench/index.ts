/**
 * `npm run bench` — a readable table; `npm run bench -- --json` — one JSON object on stdout.
 *
 * Each section is one module in bench/ exporting an async function, registered by one line in
 * SECTIONS below; its result goes under its key. A section whose module is missing (not written
 * yet) or that throws gives `null`, with the reason under `notes.<section>`.
 */
import { performance } from 'node:perf_hooks';

type SectionFn = () => Promise<unknown>;

/** Notes a section's module gave through an exported `notes()` (e.g. which caps applied). */
const sectionNotes = new Map<SectionFn, () => unknown>();

/** Load `fn` from `./<mod>.js` at run time, so a section not written yet does not break the build. */
function section(mod: string, fn: string): () => Promise<SectionFn> {
  return async () => {
    const spec = `./${mod}.js`;
    const m = (await import(spec)) as Record<string, unknown>;
    const f = m[fn];
    if (typeof f !== 'function') throw new Error(`bench/${mod}.ts does not export ${fn}()`);
    if (typeof m.notes === 'function') sectionNotes.set(f as SectionFn, m.notes as () => unknown);
    return f as SectionFn;
  };
}

const SECTIONS: ReadonlyArray<readonly [key: string, load: () => Promise<SectionFn>]> = [
  ['runtime', section('runtime', 'benchRuntime')],
  ['linearizability', section('linearizability', 'benchLinearizability')],
  ['standard', section('standard', 'benchStandard')],
  ['timeToBug', section('time_to_bug', 'benchTimeToBug')],
  ['scale', section('scale', 'benchScale')],
  ['explore', section('explore', 'benchExplore')],
  ['fastcheck', section('fastcheck', 'benchFastcheck')],
];

/** Sections run only when named in --only= (long comparisons, not part of the standard figures). */
const OPTIONAL: ReadonlyArray<readonly [key: string, load: () => Promise<SectionFn>]> = [
  ['guided', section('guided', 'benchGuided')],
  // A long campaign's heap (minutes): `--only=memory`.
  ['memory', section('memory', 'benchMemory')],
];

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const out: Record<string, unknown> = {};
  const notes: Record<string, string> = {};
  const seconds: Record<string, number> = {};
  for (const [key, load] of [...SECTIONS, ...OPTIONAL]) {
    if (only ? !only.includes(key) : OPTIONAL.some(([k]) => k === key)) continue;
    const t0 = performance.now();
    try {
      const fn = await load();
      out[key] = await fn();
      const note = sectionNotes.get(fn)?.();
      if (typeof note === 'string') notes[key] = note;
    } catch (e) {
      out[key] = null;
      const msg = e instanceof Error ? e.message : String(e);
      notes[key] = /Cannot find module|ERR_MODULE_NOT_FOUND/.test(msg) ? `bench/${key}.ts not present yet` : msg.split('\n')[0]!;
    }
    seconds[key] = Math.round((performance.now() - t0) / 100) / 10;
    if (!json) process.stderr.write(`  ${key}: ${seconds[key]} s\n`);
  }
  const ratios = ratiosOf(out);
  if (ratios !== null) out.ratios = ratios;
  const meta = { node: process.version, platform: `${process.platform}-${process.arch}`, seconds };
  if (json) {
    process.stdout.write(JSON.stringify({ ...out, ...(Object.keys(notes).length ? { notes } : {}), meta }) + '\n');
    return;
  }
  printTable(out, notes);
}

/**
 * Figures relative to the bare generator baseline measured in the same run (runtime.bare): they
 * carry across machines where absolute rates do not. `standardOfBare` is standard.stepsPerSec as a
 * fraction of it (one simulated step of the whole checker against one bare generator step).
 */
function ratiosOf(out: Record<string, unknown>): Record<string, number> | null {
  const bare = (out.runtime as { bare?: { stepsPerSec?: number } } | null | undefined)?.bare?.stepsPerSec;
  if (!bare) return null;
  const r: Record<string, number> = {};
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  const std = (out.standard as { stepsPerSec?: number } | null | undefined)?.stepsPerSec;
  if (std) r.standardOfBare = round(std / bare);
  const rt = out.runtime as Record<string, { stepsPerSec?: number }>;
  for (const k of ['random', 'pct', 'dfs']) if (rt[k]?.stepsPerSec) r[`${k}OfBare`] = round(rt[k]!.stepsPerSec! / bare);
  return r;
}

function printTable(out: Record<string, unknown>, notes: Record<string, string>): void {
  const rows: [string, string][] = [];
  const grids: [string, Record<string, unknown>[]][] = [];
  const walk = (prefix: string, v: unknown): void => {
    if (Array.isArray(v) && v.length > 0 && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x))) {
      grids.push([prefix, v as Record<string, unknown>[]]); // a list of records (timeToBug): its own table below
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
    } else {
      rows.push([prefix, typeof v === 'number' ? v.toLocaleString('en-US') : JSON.stringify(v)]);
    }
  };
  walk('', out);
  const w = Math.max(6, ...rows.map(([k]) => k.length));
  const vw = Math.max(5, ...rows.map(([, v]) => v.length));
  console.log(`${'metric'.padEnd(w)}  ${'value'.padStart(vw)}`);
  console.log(`${'-'.repeat(w)}  ${'-'.repeat(vw)}`);
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v.padStart(vw)}`);
  for (const [name, list] of grids) printGrid(name, list);
  for (const [k, n] of Object.entries(notes)) console.log(`note: ${k}: ${n}`);
}

/** A list of records as a table, one column per field (null shows as '-'). */
function printGrid(name: string, list: readonly Record<string, unknown>[]): void {
  const cols = [...new Set(list.flatMap((r) => Object.keys(r)))];
  const cell = (x: unknown): string => (x === null || x === undefined ? '-' : typeof x === 'number' ? x.toLocaleString('en-US') : String(x));
  const width = cols.map((c) => Math.max(c.length, ...list.map((r) => cell(r[c]).length)));
  console.log(`\n${name}:`);
  console.log(cols.map((c, i) => c.padEnd(width[i]!)).join('  '));
  console.log(width.map((n) => '-'.repeat(n)).join('  '));
  for (const r of list) console.log(cols.map((c, i) => (typeof r[c] === 'number' ? cell(r[c]).padStart(width[i]!) : cell(r[c]).padEnd(width[i]!))).join('  '));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
