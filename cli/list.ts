/** faultline list configs|mutants|scenarios|properties|functions [--json] */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIGURATIONS, findConfig } from '../properties/configs.js';
import { FUNCTION_HOME, MODULE_FILES } from '../impl/sim/table.js';
import { bool, parseArgs, type CommandSpec } from './args.js';
import type { Backend } from './backend.js';
import { EXIT_OK, UsageError, type CliIO } from './io.js';

export const LIST_SPEC: CommandSpec = { name: 'list', flags: { json: { type: 'boolean' } }, positionals: ['WHAT'] };
const WHATS = ['configs', 'mutants', 'scenarios', 'properties', 'functions'] as const;

export const LIST_USAGE = `usage: faultline list configs|mutants|scenarios|properties|functions [--json]

  configs     the kernel configurations (generations) and what each follows
  mutants     the zoo: variants that revert one kernel fix, with the scenario family that exposes each
  scenarios   the scenario families
  properties  the named properties checked, where, and the kernel rule each stands for
  functions   the kernel function table a variant overrides by name: each function, the
              simulation file it lives in and the kernel files that file mirrors`;

const ROOT = join(import.meta.dirname, '..');

/**
 * The kernel files a simulation file mirrors: the source paths in its header's `Kernel:`
 * paragraph (up to the first blank comment line), in order — the first is the main one.
 */
export function kernelFilesOf(source: string): string[] {
  const head = source.slice(0, source.indexOf('*/') + 2);
  const i = head.indexOf('Kernel:');
  if (i < 0) return [];
  const para = head.slice(i + 'Kernel:'.length).split(/\n \*\s*\n/)[0]!.replace(/\n \* ?/g, ' ');
  const out: string[] = [];
  for (const m of para.matchAll(/\b((?:arch|block|drivers|fs|include|kernel|lib|mm)\/[\w\-./]*[\w\-])/g)) {
    const path = m[1]!.replace(/[.,;:]$/, '');
    if (!out.includes(path)) out.push(path);
  }
  return out;
}

/** The table: every kernel function with its module, simulation file and kernel files. */
export function functionTable(): { name: string; module: string; file: string; kernel: string[] }[] {
  const kernelOf = new Map<string, string[]>();
  for (const [mod, file] of Object.entries(MODULE_FILES)) kernelOf.set(mod, kernelFilesOf(readFileSync(join(ROOT, file), 'utf8')));
  return [...FUNCTION_HOME.entries()]
    .map(([name, mod]) => ({ name, module: mod, file: MODULE_FILES[mod as keyof typeof MODULE_FILES], kernel: kernelOf.get(mod) ?? [] }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function firstSentence(s: string, max = 100): string {
  const m = /^(.*?\.)(\s|$)/.exec(s);
  const t = m ? m[1]! : s;
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

function table(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export async function listCommand(argv: readonly string[], io: CliIO, backend: Backend): Promise<number> {
  const p = parseArgs(LIST_SPEC, argv);
  if (p.help) {
    io.stdout(LIST_USAGE + '\n');
    return EXIT_OK;
  }
  const what = p.positionals[0]!;
  if (!(WHATS as readonly string[]).includes(what)) throw new UsageError(`list: unknown list "${what}" (one of ${WHATS.join(', ')})`);
  const json = bool(p, 'json');
  const emit = (data: unknown, rows: string[][]) => io.stdout(json ? JSON.stringify(data, null, 2) + '\n' : table(rows));
  switch (what) {
    case 'configs':
      emit(CONFIGURATIONS.map((c) => ({ ...c, ...findConfig(c.name)!.cfg, name: c.name })), [['NAME', 'KIND', 'DESCRIPTION'], ...CONFIGURATIONS.map((c) => [c.name, c.kind === 'proposal' ? `proposal (on ${c.base})` : 'generation', firstSentence(c.description)])]);
      break;
    case 'mutants': {
      const ms = await backend.mutants();
      const data = ms.map((m) => ({ name: m.name, config: m.base, scenario: m.scenario ?? null, reverts: m.reverts ?? null, description: m.description }));
      if (!json && ms.length === 0) io.stdout('(no mutants are built yet: impl/bugs/index.ts)\n');
      else emit(data, [['NAME', 'CONFIG', 'SCENARIO', 'REVERTS', 'DESCRIPTION'], ...data.map((m) => [m.name, m.config, m.scenario ?? '-', m.reverts ?? '-', firstSentence(m.description)])]);
      break;
    }
    case 'scenarios': {
      const fams = [...(await backend.families()).values()];
      const data = fams.map((f) => ({ name: f.name, description: f.description, options: (f.options ?? []).map((o) => ({ name: o.name, values: o.values, description: o.description })) }));
      // An option is chosen as --scenario NAME:OPTION=VALUE (the first value is the default).
      const opts = (f: (typeof data)[number]) => f.options.map((o) => ` [${f.name}:${o.name}=${o.values.join('|')}]`).join('');
      emit(data, [['NAME', 'DESCRIPTION'], ...data.map((f) => [f.name, firstSentence(f.description, 120) + opts(f)])]);
      break;
    }
    case 'functions': {
      const data = functionTable();
      emit(data, [['FUNCTION', 'FILE', 'KERNEL'], ...data.map((f) => [f.name, f.file, f.kernel[0] ?? '-'])]);
      break;
    }
    case 'properties': {
      const props = await backend.properties();
      const data = props.map((x) => ({ name: x.name, kind: x.kind, description: x.description, kernelRef: x.kernelRef }));
      emit(data, [['NAME', 'KIND', 'KERNEL', 'DESCRIPTION'], ...data.map((x) => [x.name, x.kind, x.kernelRef.length > 40 ? x.kernelRef.slice(0, 39) + '…' : x.kernelRef, firstSentence(x.description)])]);
      break;
    }
  }
  return EXIT_OK;
}
