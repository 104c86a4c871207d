/** faultline coverage: bad flags are one line and exit 2; a real campaign's coverage, in text and JSON. */
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '../../cli/backend.js';
import type { CoverageCommandJson } from '../../cli/coverage.js';
import { FUNCTION_HOME } from '../../impl/sim/table.js';
import { tableEntries } from '../../properties/coverage_table.js';

const COUNTED = tableEntries().counted.size;
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CampaignSpec } from '../../properties/api.js';
import { fakeBackend, run, tempDir } from './fake.js';

describe('faultline coverage: bad input', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown flag', ['coverage', '--bogus'], /coverage: unknown option --bogus/],
    ['non-numeric --runs', ['coverage', '--runs', 'lots'], /coverage: --runs must be a positive integer, not "lots"/],
    ['zero --runs', ['coverage', '--runs', '0'], /--runs must be between 1/],
    ['bad --seed', ['coverage', '--seed', '-2'], /coverage: --seed/],
    ['unknown configuration', ['coverage', '--config', 'v5.10'], /coverage: unknown configuration "v5.10"/],
    ['unknown scenario', ['coverage', '--scenario', 'nope'], /coverage: unknown scenario "nope"/],
    ['unknown strategy', ['coverage', '--strategy', 'bfs'], /coverage: unknown strategy "bfs"/],
    ['stray positional', ['coverage', 'v6.6'], /coverage: unexpected argument "v6.6"/],
    ['--json with a value', ['coverage', '--json=1'], /--json takes no value/],
  ];
  it.each(cases)('%s', async (_name, argv, pattern) => {
    const r = await run(argv, { cwd: tempDir() });
    expect(r.code, r.err).toBe(2);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(pattern);
    expect(r.out).toBe('');
  });
  it('help', async () => {
    const r = await run(['help', 'coverage'], { cwd: tempDir() });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/usage: faultline coverage/);
  });
});

describe('faultline coverage on the real checker', () => {
  it('JSON: the figures and the lists, for one family', async () => {
    const r = await run(['coverage', '--config', 'v6.4', '--scenario', 'fork-vs-fault', '--runs', '20', '--json'], { cwd: tempDir(), backend: defaultBackend });
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as CoverageCommandJson;
    expect(j).toMatchObject({ config: 'v6.4', scenario: 'fork-vs-fault', runs: 20, seed: 1, executions: 20, violations: [] });
    const c = j.coverage;
    expect(c.runs).toBe(20);
    expect(c.functions.total).toBe(COUNTED);
    expect(c.functions.reached + c.functions.unreached.length).toBe(c.functions.total);
    expect(c.functions.reached).toBeGreaterThan(50);
    expect(c.functions.unreached.map((f) => f.name)).toContain('do_swap_page');
    expect(c.functions.unreached.map((f) => f.name)).not.toContain('dup_mmap');
    expect(c.labels.reached + c.labels.unreached.length).toBe(c.labels.total);
    expect(c.labels.unknown).toEqual([]);
    expect(c.lockPairs.pairs).toContain('mmap_lock → vma_lock');
  });
  it('text: reached / total per kind, then what was never reached', async () => {
    const r = await run(['coverage', '--config', 'v6.6', '--scenario', 'mprotect-vs-fault', '--runs', '10'], { cwd: tempDir(), backend: defaultBackend });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^faultline coverage: v6\.6, mprotect-vs-fault, strategy portfolio, 10 runs, seed 1$/m);
    expect(r.out).toMatch(/^kernel functions: +\d+\/\d+ \(\d+\.\d%\)$/m);
    expect(r.out).toMatch(/^step labels: +\d+\/\d+ \(\d+\.\d%\)$/m);
    expect(r.out).toMatch(/^lock-class pairs: +\d+ held together/m);
    expect(r.out).toMatch(/^kernel functions never called \(\d+\):$/m);
    expect(r.out).toMatch(/^ {2}memory_swap: .*do_swap_page/m);
    expect(r.out).toMatch(/^step labels never reached \(\d+\):$/m);
  });
});

describe('verify has a coverage section', () => {
  it('per configuration in the table, report.json and index.html; what none reached, with the pairs', async () => {
    const fake = fakeBackend();
    // A campaign that "reaches" two functions, a label and a lock pair (one more on v6.15).
    const backend = {
      ...fake,
      async runCampaign(spec: CampaignSpec) {
        spec.coverage?.merge({
          functions: ['dup_mmap', 'do_user_addr_fault'], labels: ['dup_mm:allocate_mm'],
          lockPairs: spec.variant.cfg.name === 'v6.15' ? ['mmap_lock → vma_lock', 'mmap_lock → ptl'] : ['mmap_lock → vma_lock'], runs: 3,
        });
        return fake.runCampaign(spec);
      },
    };
    const dir = tempDir();
    const r = await run(['verify', '--budget', '1', '--jobs', '1', '--out', 'rep', '--no-mutants', '--scenario', 'fam-a'], { cwd: dir, backend });
    expect(r.code, r.err).toBe(0);
    const pct = ((100 * 2) / COUNTED).toFixed(1);
    expect(r.out).toMatch(new RegExp(`^\\(kernel functions run\\) +${pct.replace('.', '\\.')}%`, 'm'));
    expect(r.out).toMatch(/^\(lock-class pairs\) +1 +1 +1 +1 +2 /m);
    const rep = JSON.parse(readFileSync(join(dir, 'rep/report.json'), 'utf8')) as {
      cells: Record<string, unknown>[];
      coverage: { configs: { config: string; runs: number; functions: { reached: number }; pairs: string[]; unreachedFunctions: string[] }[]; all: { lockPairs: { pairs: string[] }; functions: { unreached: { name: string }[] } } };
    };
    const v615 = rep.coverage.configs.find((c) => c.config === 'v6.15')!;
    expect(v615).toMatchObject({ runs: 3, functions: { reached: 2 }, pairs: ['mmap_lock → ptl', 'mmap_lock → vma_lock'] });
    expect(v615.unreachedFunctions).toContain('do_swap_page');
    expect(rep.coverage.all.lockPairs.pairs).toEqual(['mmap_lock → ptl', 'mmap_lock → vma_lock']);
    expect(rep.coverage.all.functions.unreached.map((f) => f.name)).not.toContain('dup_mmap');
    expect(rep.cells.every((c) => !('coverage' in c))).toBe(true);
    const html = readFileSync(join(dir, 'rep/index.html'), 'utf8');
    expect(html).toMatch(/<h2 id="coverage">Coverage<\/h2>/);
    expect(html).toMatch(/Kernel functions no configuration ran \(\d+\)/);
    expect(html).toMatch(/do_swap_page/);
    expect(html).toMatch(/mmap_lock → ptl/);
  });
});
