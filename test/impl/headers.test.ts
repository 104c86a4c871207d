/**
 * Every kernel file of the simulation names, in its header, the kernel file it mirrors and what it
 * leaves out (issue [kernel-core]; impl/CONVENTIONS.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const files = ['impl/mm', 'impl/arch/x86/mm', 'impl/drivers']
  .flatMap((d) => readdirSync(join(ROOT, d)).filter((f) => f.endsWith('.ts')).map((f) => `${d}/${f}`));

describe('kernel file headers', () => {
  for (const f of files) {
    it(f, () => {
      const head = readFileSync(join(ROOT, f), 'utf8').split('\n').slice(0, 40).join('\n');
      expect(head).toMatch(/Kernel: \S+/);
      expect(head).toMatch(/left out|leaves out|not modelled|omitted/i);
    });
  }
});
