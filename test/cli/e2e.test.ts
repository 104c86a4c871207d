/**
 * The CLI against the real checker: a variant file that plants a bug (vma_end_read forgets to
 * release the VMA read lock) is caught by check, its counterexample replays exactly, and the fixed
 * variant no longer reproduces it. Also the bin launcher as a child process.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CONFIGURATIONS } from '../../properties/configs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '../../cli/backend.js';
import { parseCounterexample } from '../../properties/counterexample.js';
import { run, tempDir, writeTemp } from './fake.js';

const VARIANT_MODULE = pathToFileURL(join(import.meta.dirname, '../../impl/sim/variant.ts')).href;
const BIN = join(import.meta.dirname, '../../cli/bin.js');

let dir: string;
let cxFile: string;

const real = (argv: string[]) => run(argv, { cwd: dir, backend: defaultBackend });

beforeAll(() => {
  dir = tempDir();
  writeTemp(dir, 'leak.mts', `import { defineVariant } from '${VARIANT_MODULE}';
export default defineVariant({
  name: 'leak-vma-read-lock', base: 'v6.6', description: 'vma_end_read forgets to release the VMA read lock',
  overrides: { vma_end_read: function* () {} } as never,
});
`);
  writeTemp(dir, 'fixed.mts', `import { defineVariant } from '${VARIANT_MODULE}';
export default defineVariant({ name: 'leak-vma-read-lock', base: 'v6.6', description: 'fixed' });
`);
});

describe('check → replay with the real checker', () => {
  it('check finds the planted bug and writes a counterexample', async () => {
    const r = await real(['check', '--variant', 'leak.mts', '--scenario', 'random', '--runs', '200', '--json', '--out', 'cx']);
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { variant: string; violations: { property: string; file: string }[] };
    expect(j.variant).toBe('leak-vma-read-lock');
    expect(j.violations[0]!.property).toBe('lockdep');
    cxFile = j.violations[0]!.file;
    const cx = parseCounterexample(readFileSync(join(dir, cxFile), 'utf8'));
    expect(cx).toMatchObject({ config: 'v6.6', variantFile: 'leak.mts' });
  });

  it('the counterexample replays exactly: same violation, exit 1, the timeline and the lockdep report', async () => {
    const r = await real(['replay', cxFile]);
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^step +│ /m);
    expect(r.out).toMatch(/>>> lockdep broke here/);
    expect(r.out).toMatch(/WARNING: lock held when returning to user space!/);
    expect(r.out).toMatch(/vm_lock/);
    expect(r.out).toMatch(/reproduced: lockdep/);
    const j = JSON.parse((await real(['replay', cxFile, '--json'])).out) as { reproduced: boolean; schedule: string; violation: { message: string } };
    const cx = parseCounterexample(readFileSync(join(dir, cxFile), 'utf8'));
    expect(j.reproduced).toBe(true);
    expect(j.schedule).toBe(cx.schedule);
    expect(j.violation.message).toBe(cx.violation.message);
  });

  it('replay --html writes a self-contained page', async () => {
    const r = await real(['replay', cxFile, '--html', 'page.html']);
    expect(r.code).toBe(1);
    const html = readFileSync(join(dir, 'page.html'), 'utf8');
    expect(html).toMatch(/lockdep broke here/);
    expect(html).not.toMatch(/<script|<link|src=/);
  });

  it('with the variant fixed the violation no longer reproduces: exit 0', async () => {
    const o = JSON.parse(readFileSync(join(dir, cxFile), 'utf8')) as Record<string, unknown>;
    o.variantFile = 'fixed.mts';
    writeFileSync(join(dir, 'fixed-cx.json'), JSON.stringify(o));
    const r = await real(['replay', 'fixed-cx.json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/no longer reproduces|a different violation/);
  });

  it('explore finds it too', async () => {
    const r = await real(['explore', '--variant', 'leak.mts', '--scenario', 'random', '--preemptions', '0', '--json', '--out', 'ex']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { executions: number; complete: boolean; violations: { property: string }[] };
    expect(j.violations[0]!.property).toBe('lockdep');
    expect(j.executions).toBeGreaterThan(0);
  });
});

describe('the bin launcher', () => {
  it('runs as a process: exit codes and one-line errors', () => {
    const ok = spawnSync(process.execPath, [BIN, 'list', 'configs', '--json'], { cwd: dir, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect((JSON.parse(ok.stdout) as unknown[]).length).toBe(CONFIGURATIONS.length);
    const bad = spawnSync(process.execPath, [BIN, 'check', '--config', 'v6.6', '--runs', 'x'], { cwd: dir, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('faultline: check: --runs must be a positive integer, not "x"\n');
    expect(bad.stdout).toBe('');
  });

  it('replays a counterexample as a process', () => {
    const r = spawnSync(process.execPath, [BIN, 'replay', cxFile, '--json'], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ reproduced: true });
  });

  it('tsx cli/main.ts runs the same (npm run faultline / verify)', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../cli/main.ts'), '--version'], { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8' });
    expect(out).toMatch(/^faultline \d+\.\d+\.\d+\n$/);
  });
});
