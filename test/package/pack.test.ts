/**
 * The package as a user's project gets it: `npm pack` (its prepack builds dist/ with tsc: compiled
 * JS and declarations), the tarball unpacked into node_modules/faultline of a fresh project in a
 * temporary directory outside the repository, beside vitest, fast-check and @fast-check/vitest
 * (offline: the repository's installed copies, linked, as the tarball's own dependencies are).
 * The project's test file imports 'faultline' (and a kernel type by its deep path), type-checks
 * against the shipped declarations, finds io-no-revalidate, passes on v6.6, catches a variant
 * of its own with sequential fc.commands, and runs concurrent commands (scheduledModelRun) on v6.6.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NM = join(ROOT, 'node_modules');
const tmp = mkdtempSync(join(tmpdir(), 'faultline-pack-'));
const proj = join(tmp, 'proj');

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const USER_TEST = `import fc from 'fast-check';
import { expect, test } from 'vitest';
import { test as ptest } from '@fast-check/vitest';
import { checkRun, concurrent, defineVariant, family, mmProperty, scheduledModelRun, schedules, sequential, type Schedule, type ScenarioSpec } from 'faultline';
import type { Task } from 'faultline/impl/rt/task.js';

test('finds io-no-revalidate', () => {
  const p = mmProperty({ variant: 'io-no-revalidate', workload: family('unmap-during-io'), counterexamples: 'cx' });
  expect(() => fc.assert(p, { seed: 7, numRuns: 500 })).toThrow(/seed: 7, path: "[0-9:]+"/);
  const r = fc.check(p, { seed: 7, numRuns: 500 });
  expect(r.failed).toBe(true);
  expect(String((r.errorInstance as Error).message)).toMatch(/counterexample: \\S+\\.json/);
});

// A locking idea of the user's own, written against the kernel's function table (a deep import).
const munmapDoesNothing = defineVariant({
  name: 'munmap-does-nothing', base: 'v6.6', description: 'munmap returns 0 and leaves the mapping',
  overrides: {
    __vm_munmap: function* (_start: number, _len: number, _unlock: boolean): Task<number> {
      yield '__vm_munmap';
      return 0;
    },
  },
});

test('sequential commands catch a variant of the user', () => {
  const mm = sequential({ variant: munmapDoesNothing, counterexamples: 'cx' });
  const r = fc.check(fc.property(fc.commands(mm.commands, { maxCommands: 8 }), (cmds) => fc.modelRun(mm.setup, cmds)), { seed: 5, numRuns: 300 });
  expect(r.failed).toBe(true);
});

const v66: (s: ScenarioSpec, sch: Schedule) => void = checkRun('v6.6');
ptest.prop([family('unmap-during-io'), schedules()], { seed: 1, numRuns: 100 })('passes on v6.6', (s, sch) => v66(s, sch));

const threads = concurrent({ variant: 'v6.6' });
ptest.prop([threads.programs(), schedules()], { seed: 1, numRuns: 10 })('concurrent commands pass on v6.6', (programs, sch) => {
  expect(scheduledModelRun(sch, threads.setup, programs).status).toBe('pass');
});
`;

/** Every bare package a compiled file imports. */
function importedPackages(dir: string, out = new Set<string>()): Set<string> {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) importedPackages(p, out);
    else if (p.endsWith('.js')) {
      const src = readFileSync(p, 'utf8');
      const specs = [
        ...src.matchAll(/^\s*(?:import|export)\b[^;'"=]*?\bfrom\s*['"]([^'"]+)['"]/gm),
        ...src.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
        ...src.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
      ].map((m) => m[1]!);
      for (const spec of specs) {
        if (spec.startsWith('.')) continue;
        if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        out.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
  }
  return out;
}

describe('npm pack', () => {
  it('installs into a fresh project whose test file imports faultline: io-no-revalidate found, v6.6 passes', () => {
    const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
    mkdirSync(join(proj, 'node_modules', '@fast-check'), { recursive: true });
    execFileSync('tar', ['xzf', join(tmp, tgz), '-C', join(proj, 'node_modules')]);
    renameSync(join(proj, 'node_modules', 'package'), join(proj, 'node_modules', 'faultline'));
    const pkg = JSON.parse(readFileSync(join(proj, 'node_modules', 'faultline', 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>; peerDependencies?: Record<string, string>; exports: Record<string, unknown>;
    };
    // What the compiled package imports, it declares (so a real install brings it).
    const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
    const used = importedPackages(join(proj, 'node_modules', 'faultline', 'dist'));
    expect([...used].filter((u) => !declared.has(u))).toEqual([]);
    for (const dep of [...declared, 'vitest', '@fast-check/vitest']) symlinkSync(join(NM, dep), join(proj, 'node_modules', dep), 'dir');

    writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    writeFileSync(join(proj, 'mm.test.ts'), USER_TEST);
    writeFileSync(join(proj, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] },
      include: ['*.ts'],
    }));
    // The shipped declarations type the user's file.
    const tsc = spawnSync(process.execPath, [join(NM, 'typescript', 'bin', 'tsc'), '-p', proj], { cwd: proj, encoding: 'utf8' });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);

    const run = spawnSync(process.execPath, [join(NM, 'vitest', 'vitest.mjs'), 'run', '--root', proj, '--reporter=verbose', '--testTimeout=120000'], {
      cwd: proj, encoding: 'utf8', env: { ...process.env, CI: 'true', NO_COLOR: '1' },
    });
    const out = run.stdout + run.stderr;
    expect(out).toMatch(/finds io-no-revalidate/);
    expect(out).toMatch(/passes on v6\.6/);
    expect(out).toMatch(/sequential commands catch a variant of the user/);
    expect(out).toMatch(/concurrent commands pass on v6\.6/);
    expect(out).toMatch(/Tests\s+4 passed/);
    expect(run.status).toBe(0);
    // The counterexample file it wrote is in the project.
    expect(readdirSync(join(proj, 'cx')).some((f) => f.startsWith('io-no-revalidate-'))).toBe(true);
    expect(dirname(join(proj, 'cx'))).toBe(proj);
  }, 300_000);
});
