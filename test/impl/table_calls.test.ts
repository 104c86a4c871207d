/**
 * Kernel code calls kernel functions through the table (`k.fn.<name>`), so that a variant that
 * replaces a function by name is seen by every caller (impl/CONVENTIONS.md). A direct call would
 * silently bypass an override: this test reads the kernel sources and lists any.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTION_HOME } from '../../impl/sim/table.js';

const ROOT = join(import.meta.dirname, '../..');
const DIRS = ['impl/mm', 'impl/arch/x86/mm', 'impl/drivers', 'impl/fs'];

function directCalls(): string[] {
  const out: string[] = [];
  for (const d of DIRS) {
    for (const f of readdirSync(join(ROOT, d)).filter((x) => x.endsWith('.ts'))) {
      const lines = readFileSync(join(ROOT, d, f), 'utf8').split('\n');
      lines.forEach((raw, i) => {
        if (/^\s*(\*|\/\/|\/\*\*|import )/.test(raw)) return;
        // String literals are messages, not calls ('move_normal_pmd: !pmd_none(*new_pmd)').
        const line = raw.replace(/'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"/g, "''");
        for (const m of line.matchAll(/(?<![.\w'"`$])([a-z_][a-z0-9_]*)\(/g)) {
          const name = m[1]!;
          if (!FUNCTION_HOME.has(name)) continue;
          const before = line.slice(0, m.index);
          if (/function\*?\s*$/.test(before) || /new\s+$/.test(before) || before.includes('//')) continue;
          out.push(`${d}/${f}:${i + 1}: ${name}(`);
        }
      });
    }
  }
  return out;
}

describe('the kernel function table', () => {
  it('every kernel-to-kernel call goes through k.fn', () => {
    expect(directCalls()).toEqual([]);
  });
  it('every exported kernel function name is unique across modules (the table loads)', () => {
    expect(FUNCTION_HOME.size).toBeGreaterThan(300);
  });
});
