/**
 * The static set of step labels: every scheduling point (`yield`) of the kernel simulation, found
 * by reading impl/'s sources, so that coverage can say which labels a campaign never reached.
 *
 * A label is written at a yield in one of these forms, all recognised:
 *   yield 'fn:action'                         yield cond ? 'fn:a' : 'fn:b'
 *   yield step('fn:action', obj)              yield block('fn:wait', until, obj)
 *   yield* waitUntil('fn:wait', until, obj)   op = block('spin_lock', …)   (a primitive's cached op)
 *   const LABELS = ['down_read', …]           (a primitive's label table, indexed at run time)
 * and one level of indirection: a function whose parameter is used as a label (`step(rootLabel,
 * mm)` in maple_tree.ts's mas_start_walk) contributes the string literals its callers pass in that
 * position. A template literal in a label position (`step(\`fn:${x}\`)`) is a dynamic label: it is
 * kept as one pattern (`fn:*`) that every run-time label it produces counts for. There are none in
 * impl/ today; a label the scanner cannot see at all (a label computed some other way) shows up
 * at run time as an "unknown" label of the coverage report, and a test keeps that list empty.
 *
 * Counted: impl/mm, impl/arch, impl/drivers, impl/fs, impl/include, impl/sync (the kernel and its
 * primitives). Known but not counted: impl/sim (the user-space layer: `user:load`, and the
 * harness's `wait for setup`) and impl/bugs (labels only mutants have).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Directories whose labels are the kernel's (counted in the total). */
export const KERNEL_LABEL_DIRS: readonly string[] = ['impl/mm', 'impl/arch', 'impl/drivers', 'impl/fs', 'impl/include', 'impl/sync'];
/** Directories whose labels are known but not counted (user-space layer, harness, mutants). */
export const OTHER_LABEL_DIRS: readonly string[] = ['impl/sim', 'impl/bugs', 'impl/rt'];

/** Labels the runtime gives a task besides its yields: before its first step and after its last. */
export const RUNTIME_LABELS: ReadonlySet<string> = new Set(['start', 'exit']);

export interface LabelSite {
  /** The label, or for a dynamic label its pattern with `*` for each interpolation. */
  readonly label: string;
  /** Where it is first written: `impl/mm/filemap.ts:263`. */
  readonly at: string;
  readonly dynamic: boolean;
}

interface Tok {
  readonly t: 'str' | 'tpl' | 'id' | 'p';
  readonly v: string;
  readonly line: number;
}

/** A small TypeScript tokenizer: strings, template literals (as patterns), identifiers, punctuation; comments dropped. */
function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let line = 1;
  const n = src.length;
  let i = 0;
  while (i < n) {
    const c = src[i]!;
    if (c === '\n') { line++; i++; continue; }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      for (let j = i; j < stop; j++) if (src[j] === '\n') line++;
      i = stop;
      continue;
    }
    if (c === "'" || c === '"') {
      const start = line;
      let j = i + 1;
      let v = '';
      while (j < n && src[j] !== c) {
        if (src[j] === '\\') { v += src[j + 1] ?? ''; j += 2; continue; }
        if (src[j] === '\n') line++;
        v += src[j];
        j++;
      }
      out.push({ t: 'str', v, line: start });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      // A template literal: its text with `*` for each ${…} (nested braces and strings skipped).
      const start = line;
      let j = i + 1;
      let v = '';
      while (j < n && src[j] !== '`') {
        if (src[j] === '\\') { v += src[j + 1] ?? ''; j += 2; continue; }
        if (src[j] === '$' && src[j + 1] === '{') {
          let depth = 1;
          j += 2;
          while (j < n && depth > 0) {
            const d = src[j]!;
            if (d === '{') depth++;
            else if (d === '}') depth--;
            else if (d === '\n') line++;
            else if (d === "'" || d === '"' || d === '`') {
              const q = d;
              j++;
              while (j < n && src[j] !== q) j += src[j] === '\\' ? 2 : 1;
            }
            j++;
          }
          v += '*';
          continue;
        }
        if (src[j] === '\n') line++;
        v += src[j];
        j++;
      }
      out.push({ t: 'tpl', v, line: start });
      i = j + 1;
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$]/.test(src[j]!)) j++;
      out.push({ t: 'id', v: src.slice(i, j), line });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_.]/.test(src[j]!)) j++;
      i = j;
      continue;
    }
    // Punctuation; `yield*` and `?.` are kept whole.
    if (c === '?' && src[i + 1] === '.') { out.push({ t: 'p', v: '?.', line }); i += 2; continue; }
    out.push({ t: 'p', v: c, line });
    i++;
  }
  return out;
}

/** Functions that put a label on a step: the first argument is the label. */
const LABEL_CALLS = new Set(['step', 'block', 'waitUntil']);

/** The label expressions starting at token i: a string, a template, or `a ? 'x' : 'y'` (both). */
function labelExprAt(toks: readonly Tok[], i: number): Tok[] {
  const a = toks[i];
  if (a === undefined) return [];
  if (a.t === 'str' || a.t === 'tpl') return [a];
  // cond ? 'x' : 'y' — a short condition (identifiers and dots) then two literals.
  let j = i;
  while (j < toks.length && j < i + 8 && (toks[j]!.t === 'id' || toks[j]!.v === '.' || toks[j]!.v === '!')) j++;
  if (j > i && toks[j]?.v === '?' && (toks[j + 1]?.t === 'str' || toks[j + 1]?.t === 'tpl') && toks[j + 2]?.v === ':' &&
    (toks[j + 3]?.t === 'str' || toks[j + 3]?.t === 'tpl')) {
    return [toks[j + 1]!, toks[j + 3]!];
  }
  return [];
}

/** The identifier at i is the name in `function name(` or `function* name(`. */
function isDeclaration(toks: readonly Tok[], i: number): boolean {
  return toks[i - 1]?.v === 'function' || (toks[i - 1]?.v === '*' && toks[i - 2]?.v === 'function');
}

/** The index of the bracket matching the opening one at i. */
function matching(toks: readonly Tok[], i: number): number {
  const open = toks[i]!.v;
  const close = open === '(' ? ')' : open === '[' ? ']' : '}';
  let depth = 0;
  for (let j = i; j < toks.length; j++) {
    const v = toks[j]!;
    if (v.t !== 'p') continue;
    if (v.v === '(' || v.v === '[' || v.v === '{') depth++;
    else if (v.v === ')' || v.v === ']' || v.v === '}') {
      depth--;
      if (depth === 0) return v.v === close ? j : -1;
    }
  }
  return -1;
}

/** The token ranges of the top-level arguments between the brackets at open..close. */
function args(toks: readonly Tok[], open: number, close: number): [number, number][] {
  const out: [number, number][] = [];
  let start = open + 1;
  let depth = 0;
  for (let j = open + 1; j < close; j++) {
    const v = toks[j]!;
    if (v.t !== 'p') continue;
    if (v.v === '(' || v.v === '[' || v.v === '{') depth++;
    else if (v.v === ')' || v.v === ']' || v.v === '}') depth--;
    else if (v.v === ',' && depth === 0) {
      out.push([start, j]);
      start = j + 1;
    }
  }
  if (start < close) out.push([start, close]);
  return out;
}

interface FileToks {
  readonly rel: string;
  readonly toks: Tok[];
}

function tsFiles(dir: string): string[] {
  const abs = join(ROOT, dir);
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const p = join(abs, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(join(dir, name)));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(join(dir, name));
  }
  return out;
}

/** Scan source files (paths relative to the repository root) for label sites. */
export function scanLabelSites(files: readonly { readonly rel: string; readonly src: string }[]): LabelSite[] {
  const parsed: FileToks[] = files.map((f) => ({ rel: f.rel, toks: tokenize(f.src) }));
  const sites = new Map<string, LabelSite>();
  const add = (tok: Tok, rel: string) => {
    const dynamic = tok.t === 'tpl' && tok.v.includes('*');
    const label = tok.v;
    if (label === '' || sites.has(label)) return;
    sites.set(label, { label, at: `${rel}:${tok.line}`, dynamic });
  };
  // Functions whose parameter flows into a label position: name → parameter indices.
  const labelParams = new Map<string, Set<number>>();
  for (const { rel, toks } of parsed) {
    for (let i = 0; i < toks.length; i++) {
      const tk = toks[i]!;
      if (tk.t === 'id' && tk.v === 'yield') {
        let j = i + 1;
        if (toks[j]?.v === '*') j++;
        for (const l of labelExprAt(toks, j)) add(l, rel);
        continue;
      }
      if (tk.t === 'id' && LABEL_CALLS.has(tk.v) && toks[i + 1]?.v === '(' && toks[i - 1]?.v !== '.' && !isDeclaration(toks, i)) {
        for (const l of labelExprAt(toks, i + 2)) add(l, rel);
        continue;
      }
      // const LABELS = ['…', …]: a primitive's table of labels.
      if (tk.t === 'id' && /LABELS$/.test(tk.v) && toks[i + 1]?.v === '=' && toks[i + 2]?.v === '[') {
        const close = matching(toks, i + 2);
        for (let j = i + 3; j < close; j++) if (toks[j]!.t === 'str') add(toks[j]!, rel);
        continue;
      }
      // function* name(params) { body }: which parameters are used as labels in the body.
      if (tk.t === 'id' && tk.v === 'function') {
        let j = i + 1;
        if (toks[j]?.v === '*') j++;
        const name = toks[j];
        if (name?.t !== 'id' || toks[j + 1]?.v !== '(') continue;
        const pclose = matching(toks, j + 1);
        if (pclose < 0) continue;
        const params = args(toks, j + 1, pclose).map(([s]) => toks[s]!.v);
        let b = pclose + 1;
        while (b < toks.length && toks[b]!.v !== '{') b++;
        const bclose = matching(toks, b);
        if (bclose < 0) continue;
        for (let x = b; x < bclose; x++) {
          const u = toks[x]!;
          let p: Tok | undefined;
          if (u.t === 'id' && LABEL_CALLS.has(u.v) && toks[x + 1]?.v === '(') p = toks[x + 2];
          else if (u.t === 'id' && u.v === 'yield' && toks[x + 1]?.t === 'id' && toks[x + 2]?.v === ';') p = toks[x + 1];
          if (p?.t !== 'id') continue;
          const idx = params.indexOf(p.v);
          if (idx < 0) continue;
          let set = labelParams.get(name.v);
          if (set === undefined) labelParams.set(name.v, (set = new Set()));
          set.add(idx);
        }
      }
    }
  }
  // The callers of those functions: the literals they pass as labels.
  for (const { rel, toks } of parsed) {
    for (let i = 0; i < toks.length; i++) {
      const tk = toks[i]!;
      if (tk.t !== 'id' || toks[i + 1]?.v !== '(' || isDeclaration(toks, i)) continue;
      const idx = labelParams.get(tk.v);
      if (idx === undefined) continue;
      const close = matching(toks, i + 1);
      if (close < 0) continue;
      const as = args(toks, i + 1, close);
      for (const k of idx) {
        const a = as[k];
        if (a !== undefined) for (const l of labelExprAt(toks, a[0])) add(l, rel);
      }
    }
  }
  return [...sites.values()];
}

export interface LabelCatalogue {
  /** The kernel's labels (the coverage total), in source order. */
  readonly kernel: readonly LabelSite[];
  /** Labels of impl/sim, impl/bugs, impl/rt: recognised at run time, not counted. */
  readonly other: ReadonlySet<string>;
  /** Match a run-time label to its catalogue entry (the label itself, or a dynamic pattern). */
  resolve(label: string): { readonly label: string; readonly counted: boolean } | null;
}

let CATALOGUE: LabelCatalogue | null = null;

function readDirs(dirs: readonly string[]): { rel: string; src: string }[] {
  return dirs.flatMap(tsFiles).map((rel) => ({ rel: relative(ROOT, join(ROOT, rel)), src: readFileSync(join(ROOT, rel), 'utf8') }));
}

function patternOf(p: string): RegExp {
  return new RegExp('^' + p.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
}

/** The label catalogue of this checkout's impl/ (read once per process). */
export function labelCatalogue(): LabelCatalogue {
  if (CATALOGUE !== null) return CATALOGUE;
  const kernel = scanLabelSites(readDirs(KERNEL_LABEL_DIRS));
  const kernelSet = new Set(kernel.map((s) => s.label));
  const other = new Set(scanLabelSites(readDirs(OTHER_LABEL_DIRS)).map((s) => s.label).filter((l) => !kernelSet.has(l)));
  const exact = new Set(kernel.filter((s) => !s.dynamic).map((s) => s.label));
  const dyn = kernel.filter((s) => s.dynamic).map((s) => ({ label: s.label, re: patternOf(s.label) }));
  const otherDyn = [...other].filter((l) => l.includes('*')).map((l) => patternOf(l));
  const cache = new Map<string, { label: string; counted: boolean } | null>();
  CATALOGUE = {
    kernel,
    other,
    resolve(label) {
      let r = cache.get(label);
      if (r !== undefined) return r;
      if (exact.has(label)) r = { label, counted: true };
      else if (other.has(label)) r = { label, counted: false };
      else {
        const d = dyn.find((x) => x.re.test(label));
        r = d ? { label: d.label, counted: true } : otherDyn.some((re) => re.test(label)) ? { label, counted: false } : null;
      }
      cache.set(label, r);
      return r;
    },
  };
  return CATALOGUE;
}
