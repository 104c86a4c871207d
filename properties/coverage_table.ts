/**
 * Which entries of the kernel function table (impl/sim/table.ts: every exported function of the
 * kernel modules) count as kernel functions for coverage. Not counted, and listed as such:
 *   - classes (`userfaultfd_wait_queue`): a struct with a constructor, created with `new`, never
 *     called through the table;
 *   - the simulation's accessors: `sim_*` functions that no code of impl/ calls — neither through
 *     the table (`k.fn.sim_x`), nor by name (`'sim_x'`), nor by a dispatch prefix (`sim_sys_${op}`,
 *     `sim_setup_${…}`, `sim_daemon_${…}`). The checks and the tests read the simulation's state
 *     through them (sim_mt_entries, sim_tlb_entries …); no operation can run them, by design.
 * Read from this checkout's impl/ sources once per process (impl/bugs excluded: a mutant's calls do
 * not make a function reachable in the generations).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseTable, FUNCTION_HOME } from '../impl/sim/table.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface TableEntries {
  /** The kernel functions: the coverage total. */
  readonly counted: ReadonlyMap<string, string>;
  /** The other entries, with why they are not counted. */
  readonly notCounted: readonly { readonly name: string; readonly module: string; readonly why: string }[];
}

let ENTRIES: TableEntries | null = null;

function implFiles(dir: string, out: string[]): string[] {
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) {
      if (n !== 'bugs') implFiles(p, out);
    } else if (n.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Names impl/ calls through the table or by name, and the dispatch prefixes it builds names with. */
export function tableReferences(sources: readonly string[]): { names: Set<string>; prefixes: string[] } {
  const names = new Set<string>();
  const prefixes: string[] = [];
  for (const s of sources) {
    for (const m of s.matchAll(/\bfn\.(\w+)/g)) names.add(m[1]!);
    for (const m of s.matchAll(/'(sim_\w+)'/g)) names.add(m[1]!);
    for (const m of s.matchAll(/`(sim_\w+_)\$\{/g)) prefixes.push(m[1]!);
  }
  return { names, prefixes };
}

export function tableEntries(): TableEntries {
  if (ENTRIES !== null) return ENTRIES;
  const table = baseTable() as unknown as Record<string, unknown>;
  const refs = tableReferences(implFiles(join(ROOT, 'impl'), []).map((f) => readFileSync(f, 'utf8')));
  const counted = new Map<string, string>();
  const notCounted: { name: string; module: string; why: string }[] = [];
  for (const [name, module] of FUNCTION_HOME) {
    const v = table[name];
    if (typeof v === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(v))) {
      notCounted.push({ name, module, why: 'a class (a struct created with new), not a function' });
    } else if (name.startsWith('sim_') && !refs.names.has(name) && !refs.prefixes.some((p) => name.startsWith(p))) {
      notCounted.push({ name, module, why: 'an accessor of the simulation for the checks and tests: no code of impl/ calls it' });
    } else {
      counted.set(name, module);
    }
  }
  ENTRIES = { counted, notCounted };
  return ENTRIES;
}
