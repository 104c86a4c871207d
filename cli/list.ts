/** faultline list configs|mutants|scenarios|properties [--json] */
import { CONFIGURATIONS, findConfig } from '../properties/configs.js';
import { bool, parseArgs, type CommandSpec } from './args.js';
import type { Backend } from './backend.js';
import { EXIT_OK, UsageError, type CliIO } from './io.js';

export const LIST_SPEC: CommandSpec = { name: 'list', flags: { json: { type: 'boolean' } }, positionals: ['WHAT'] };
const WHATS = ['configs', 'mutants', 'scenarios', 'properties'] as const;

export const LIST_USAGE = `usage: faultline list configs|mutants|scenarios|properties [--json]

  configs     the kernel configurations (generations) and what each follows
  mutants     the zoo: variants that revert one kernel fix, with the scenario family that exposes each
  scenarios   the scenario families
  properties  the named properties checked, where, and the kernel rule each stands for`;

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
    case 'properties': {
      const props = await backend.properties();
      const data = props.map((x) => ({ name: x.name, kind: x.kind, description: x.description, kernelRef: x.kernelRef }));
      emit(data, [['NAME', 'KIND', 'KERNEL', 'DESCRIPTION'], ...data.map((x) => [x.name, x.kind, x.kernelRef.length > 40 ? x.kernelRef.slice(0, 39) + '…' : x.kernelRef, firstSentence(x.description)])]);
      break;
    }
  }
  return EXIT_OK;
}
