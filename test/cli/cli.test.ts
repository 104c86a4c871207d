/** The CLI run in-process against a fake checker: usage errors, list, check → replay round trip, explore, verify. */
import { CONFIGURATIONS } from '../../properties/configs.js';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCounterexample, serializeCounterexample } from '../../properties/counterexample.js';
import { defaultBackend } from '../../cli/backend.js';
import { fakeBackend, FOUND_SCHEDULE, MUTANT, run, tempDir, writeTemp } from './fake.js';

const VARIANT_MODULE = pathToFileURL(join(import.meta.dirname, '../../impl/sim/variant.ts')).href;

let dir: string;
let goodCx: string; // a counterexample written by check (relative to dir)

beforeAll(async () => {
  dir = tempDir();
  writeTemp(dir, 'throws.ts', `throw new Error('boom: the variant module throws');\nexport default 1;\n`);
  writeTemp(dir, 'empty.ts', `export const x = 1;\n`);
  writeTemp(dir, 'notvariant.ts', `export default { hello: 'world' };\n`);
  writeTemp(dir, 'badbase.ts', `import { defineVariant } from '${VARIANT_MODULE}';\nexport default defineVariant({ name: 'b', base: 'v9.9', description: 'x' });\n`);
  writeTemp(dir, 'good.ts', `import { defineVariant } from '${VARIANT_MODULE}';\nexport default defineVariant({ name: 'my-idea', base: 'v6.6', description: 'hold the VMA lock across I/O', config: { io_hold_vma_lock: true } });\n`);
  writeTemp(dir, 'syntax.ts', `export default defineVariant({ name: 'x', \n`);
  const r = await run(['check', '--mutant', MUTANT.name, '--out', 'cx'], { cwd: dir });
  expect(r.code).toBe(1);
  const files = readdirSync(join(dir, 'cx'));
  expect(files).toHaveLength(1);
  goodCx = join('cx', files[0]!);
});

function expectUsageError(r: { code: number; out: string; err: string }, pattern?: RegExp): void {
  expect(r.code, `stderr: ${r.err}`).toBe(2);
  expect(r.err.startsWith('faultline: ')).toBe(true);
  expect(r.err.endsWith('\n')).toBe(true);
  expect(r.err.trimEnd().split('\n'), r.err).toHaveLength(1);
  expect(r.err).not.toMatch(/\n\s+at /);
  expect(r.out).toBe('');
  if (pattern) expect(r.err).toMatch(pattern);
}

function edited(edit: (o: Record<string, unknown>) => void): string {
  const o = JSON.parse(readFileSync(join(dir, goodCx), 'utf8')) as Record<string, unknown>;
  edit(o);
  const name = `edited-${Math.random().toString(36).slice(2)}.json`;
  writeFileSync(join(dir, name), JSON.stringify(o, null, 2));
  return name;
}

describe('bad input: one line on stderr, exit 2', () => {
  const cases: [string, () => string[], RegExp][] = [
    ['no command', () => [], /missing command/],
    ['unknown command', () => ['frobnicate'], /unknown command "frobnicate"/],
    ['an option before the command', () => ['--config', 'v6.6'], /unknown option --config/],
    ['unknown flag', () => ['check', '--config', 'v6.6', '--bogus'], /unknown option --bogus/],
    ['short flag', () => ['check', '-c', 'v6.6'], /unknown option -c/],
    ['missing value at the end', () => ['check', '--config', 'v6.6', '--runs'], /--runs needs a value/],
    ['missing value before another flag', () => ['check', '--config', '--runs', '5'], /--config needs a value/],
    ['empty value', () => ['check', '--config='], /--config needs a value/],
    ['flag given twice', () => ['check', '--config', 'v6.6', '--config', 'v6.4'], /more than once/],
    ['value for a boolean flag', () => ['check', '--config', 'v6.6', '--json=yes'], /--json takes no value/],
    ['non-numeric --runs', () => ['check', '--config', 'v6.6', '--runs', 'many'], /--runs must be a positive integer, not "many"/],
    ['negative --runs', () => ['check', '--config', 'v6.6', '--runs', '-5'], /--runs must be a positive integer/],
    ['zero --runs', () => ['check', '--config', 'v6.6', '--runs', '0'], /--runs must be between 1/],
    ['fractional --runs', () => ['check', '--config', 'v6.6', '--runs', '2.5'], /--runs/],
    ['non-numeric --seed', () => ['check', '--config', 'v6.6', '--seed', '0x1f'], /--seed must be a non-negative integer/],
    ['negative --seed', () => ['check', '--config', 'v6.6', '--seed', '-1'], /--seed/],
    ['huge --seed', () => ['check', '--config', 'v6.6', '--seed', '99999999999'], /--seed must be between 0 and 4294967295/],
    ['non-numeric --time-limit', () => ['check', '--config', 'v6.6', '--time-limit', 'soon'], /--time-limit must be a positive number of seconds/],
    ['negative --time-limit', () => ['check', '--config', 'v6.6', '--time-limit', '-3'], /--time-limit/],
    ['zero --time-limit', () => ['check', '--config', 'v6.6', '--time-limit', '0'], /--time-limit/],
    ['--fault-injection above 1', () => ['check', '--config', 'v6.6', '--fault-injection', '1.5'], /--fault-injection must be a share between 0 and 1, not "1.5"/],
    ['negative --fault-injection', () => ['check', '--config', 'v6.6', '--fault-injection', '-0.1'], /--fault-injection must be a share/],
    ['non-numeric --fault-injection', () => ['check', '--config', 'v6.6', '--fault-injection', 'some'], /--fault-injection must be a share/],
    ['percent --fault-injection', () => ['check', '--config', 'v6.6', '--fault-injection', '30%'], /--fault-injection must be a share/],
    ['unknown configuration', () => ['check', '--config', 'v5.10'], /unknown configuration "v5.10" \(one of v6.3, /],
    ['unknown mutant', () => ['check', '--mutant', 'b99-nope'], /unknown mutant "b99-nope"/],
    ['unknown scenario', () => ['check', '--config', 'v6.6', '--scenario', 'nope'], /unknown scenario "nope" \(one of fam-a, fam-b\)/],
    ['unknown strategy', () => ['check', '--config', 'v6.6', '--strategy', 'bfs'], /unknown strategy "bfs" \(one of random, pct, dfs, portfolio, guided\)/],
    ['--mutant with --variant', () => ['check', '--mutant', MUTANT.name, '--variant', 'good.ts'], /--mutant and --variant cannot be used together/],
    ['no configuration', () => ['check', '--scenario', 'fam-a'], /missing --config/],
    ['stray positional', () => ['check', '--config', 'v6.6', 'extra'], /unexpected argument "extra"/],
    ['explore without --scenario', () => ['explore', '--config', 'v6.6'], /missing --scenario/],
    ['explore negative --preemptions', () => ['explore', '--config', 'v6.6', '--scenario', 'fam-a', '--preemptions', '-1'], /--preemptions must be a non-negative integer/],
    ['explore non-numeric --preemptions', () => ['explore', '--config', 'v6.6', '--scenario', 'fam-a', '--preemptions', 'two'], /--preemptions/],
    ['explore unknown --reduction', () => ['explore', '--config', 'v6.6', '--scenario', 'fam-a', '--reduction', 'spin'], /--reduction must be dpor, cache or none, not "spin"/],
    ['list without what', () => ['list'], /list: missing WHAT/],
    ['list of something unknown', () => ['list', 'bugs'], /unknown list "bugs"/],
    ['replay without FILE', () => ['replay'], /replay: missing FILE/],
    ['replay of a missing file', () => ['replay', 'nope.json'], /cannot read counterexample nope.json: no such file/],
    ['replay of a directory', () => ['replay', '.'], /is a directory/],
    ['replay of an empty file', () => [writeTemp(dir, 'empty.json', '') && 'empty.json'], /replay: .*file is empty/],
    ['replay of a non-JSON file', () => ['replay', writeTemp(dir, 'text.json', 'hello world') && 'text.json'], /not valid JSON/],
    ['replay of a truncated counterexample', () => {
      const text = readFileSync(join(dir, goodCx), 'utf8');
      writeTemp(dir, 'truncated.json', text.slice(0, Math.floor(text.length / 2)));
      return ['replay', 'truncated.json'];
    }, /not valid JSON \(truncated/],
    ['replay of a JSON array', () => ['replay', writeTemp(dir, 'arr.json', '[1,2]') && 'arr.json'], /not a counterexample/],
    ['replay: wrong format', () => ['replay', edited((o) => (o.format = 'something-else'))], /unknown format "something-else"/],
    ['replay: wrong version', () => ['replay', edited((o) => (o.version = 2))], /unsupported version 2/],
    ['replay: missing field', () => ['replay', edited((o) => delete o.schedule)], /missing field "schedule"/],
    ['replay: wrong type', () => ['replay', edited((o) => (o.steps = 'ten'))], /field "steps" must be an integer, not a string/],
    ['replay: unknown field', () => ['replay', edited((o) => (o.extra = 1))], /unknown field "extra"/],
    ['replay: unknown configuration', () => ['replay', edited((o) => (o.config = 'v7.0'))], /unknown configuration "v7.0"/],
    ['replay: unknown mutant', () => ['replay', edited((o) => (o.mutant = 'b77'))], /unknown mutant "b77"/],
    ['replay: malformed schedule', () => ['replay', edited((o) => (o.schedule = 'v1:5x2'))], /malformed schedule: .*"5x2" is malformed/],
    ['replay: schedule version', () => ['replay', edited((o) => (o.schedule = 'v2:5t1'))], /malformed schedule: schedule version "v2"/],
    ['replay: scenario op edited', () => ['replay', edited((o) => ((o.scenario as { threads: { program: { op: string }[] }[] }).threads[0]!.program[0]!.op = 'teleport'))], /scenario.threads\[0\].program\[0\].op" is not a known operation/],
    ['replay: scenario field of the wrong type', () => ['replay', edited((o) => ((o.scenario as { processes: unknown }).processes = {}))], /field "scenario.processes" must be an array/],
    ['replay: violation property removed', () => ['replay', edited((o) => delete (o.violation as Record<string, unknown>).property)], /missing field "violation.property"/],
    ['variant file that throws', () => ['check', '--variant', 'throws.ts'], /throws.ts.*boom: the variant module throws/],
    ['variant file that exports nothing', () => ['check', '--variant', 'empty.ts'], /empty.ts has no default export/],
    ['variant file whose default export is not a variant', () => ['check', '--variant', 'notvariant.ts'], /notvariant.ts|variant/],
    ['variant file with an unknown base', () => ['check', '--variant', 'badbase.ts'], /unknown base "v9.9"/],
    ['variant file with a syntax error', () => ['check', '--variant', 'syntax.ts'], /syntax.ts/],
    ['variant file that does not exist', () => ['check', '--variant', 'missing.ts'], /variant file missing.ts does not exist/],
    ['verify --jobs 0', () => ['verify', '--jobs', '0'], /--jobs must be between 1 and 256/],
    ['verify unknown config', () => ['verify', '--config', 'v1'], /unknown configuration "v1"/],
    ['help for an unknown command', () => ['help', 'nope'], /unknown command "nope"/],
  ];
  it.each(cases)('%s', async (_name, argv, pattern) => {
    const args = argv();
    const r = await run(args[0] === 'empty.json' ? ['replay', 'empty.json'] : args, { cwd: dir });
    expectUsageError(r, pattern);
  });
  it('covers at least 20 kinds', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });
});

describe('internal errors', () => {
  it('a variant under which the scenario\'s setup fails is bad input (one line, exit 2), on one thread and on the pool; the same failure without --variant is internal (exit 3)', async () => {
    writeTemp(dir, 'nommap.ts', `import { defineVariant } from '${VARIANT_MODULE}';\nexport default defineVariant({ name: 'no-mmap', base: 'v6.6', description: 'mmap fails', overrides: { do_mmap: function* () { yield 'do_mmap'; return -12; } } });\n`);
    const real = (argv: string[]) => run(argv, { cwd: dir, backend: defaultBackend });
    for (const argv of [
      ['check', '--variant', 'nommap.ts', '--scenario', 'mprotect-vs-fault', '--runs', '4', '--jobs', '1', '--out', 'cx-nommap'],
      ['check', '--variant', 'nommap.ts', '--scenario', 'mprotect-vs-fault', '--runs', '4', '--jobs', '2', '--out', 'cx-nommap'],
      ['explore', '--variant=nommap.ts', '--scenario', 'mprotect-vs-fault', '--preemptions', '0', '--out', 'cx-nommap'],
    ]) {
      const r = await real(argv);
      expect(r.code, r.err).toBe(2);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(new RegExp(`^faultline: ${argv[0]}: the variant breaks the scenario's setup: P1 mmap gave -ENOMEM in mprotect-vs-fault#\\d+, before its threads start`));
    }
    const b = fakeBackend();
    const setupFailed = new Error('internal error in scenario fam-a#1: scenario setup failed: P1 mmap gave {"kind":"errno","errno":-12}');
    const r = await run(['check', '--config', 'v6.6'], { cwd: dir, backend: { ...b, runCampaign: async () => { throw setupFailed; } } });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^faultline: internal error: .*scenario setup failed/);
  }, 180_000); // a pool of 2 worker threads loads the checker: 40 s on this machine under load

  it('a crash in the checker is one line and exit 3, with a hint', async () => {
    const b = fakeBackend();
    const r = await run(['check', '--config', 'v6.6'], { cwd: dir, backend: { ...b, runCampaign: async () => { throw new TypeError('x is undefined'); } } });
    expect(r.code).toBe(3);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^faultline: internal error: x is undefined .*please report it/);
  });
});

describe('help and list', () => {
  it('help and --version', async () => {
    const h = await run(['help'], { cwd: dir });
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/faultline check --config C/);
    expect((await run(['check', '--help'], { cwd: dir })).out).toMatch(/usage: faultline check/);
    expect((await run(['--version'], { cwd: dir })).out).toMatch(/^faultline \d+\.\d+\.\d+\n$/);
  });

  it('list configs', async () => {
    const r = await run(['list', 'configs'], { cwd: dir });
    expect(r.code).toBe(0);
    for (const c of ['v6.3', 'v6.4', 'v6.6', 'v6.7', 'v6.15']) expect(r.out).toMatch(new RegExp(`^${c.replace('.', '\\.')}\\s`, 'm'));
    const j = JSON.parse((await run(['list', 'configs', '--json'], { cwd: dir })).out) as { name: string; per_vma_lock: boolean }[];
    expect(j.map((c) => c.name)).toEqual(CONFIGURATIONS.map((c) => c.name));
    expect(j.map((c) => c.name).slice(0, 5)).toEqual(['v6.3', 'v6.4', 'v6.6', 'v6.7', 'v6.15']);
    expect(j[0]!.per_vma_lock).toBe(false);
  });

  it('list mutants, scenarios, properties (text and JSON)', async () => {
    const m = await run(['list', 'mutants', '--json'], { cwd: dir });
    expect(JSON.parse(m.out)).toEqual([{ name: 'm-uaf', config: 'v6.4', scenario: 'fam-b', reverts: 'deadbeef1234', description: MUTANT.description }]);
    expect((await run(['list', 'mutants'], { cwd: dir })).out).toMatch(/m-uaf\s+v6\.4\s+fam-b\s+deadbeef1234/);
    const s = await run(['list', 'scenarios'], { cwd: dir });
    expect(s.out).toMatch(/fam-a\s+the first fake family\./);
    expect(JSON.parse((await run(['list', 'scenarios', '--json'], { cwd: dir })).out)).toHaveLength(2);
    const p = JSON.parse((await run(['list', 'properties', '--json'], { cwd: dir })).out) as { name: string; kind: string }[];
    expect(p.map((x) => x.name)).toEqual(['kasan', 'lockdep']);
  });

  it('list against the real checker', async () => {
    const { defaultBackend } = await import('../../cli/backend.js');
    const s = await run(['list', 'scenarios', '--json'], { cwd: dir, backend: defaultBackend });
    expect(s.code).toBe(0);
    const names = (JSON.parse(s.out) as { name: string }[]).map((x) => x.name);
    for (const f of ['unmap-during-io', 'fork-vs-fault', 'mprotect-vs-fault', 'smaps-vs-fault', 'reclaim', 'random']) expect(names).toContain(f);
    const p = await run(['list', 'properties'], { cwd: dir, backend: defaultBackend });
    expect(p.out).toMatch(/^lockdep\s+builtin/m);
    expect((await run(['list', 'mutants', '--json'], { cwd: dir, backend: defaultBackend })).code).toBe(0);
  });
});

describe('check', () => {
  it('a correct configuration: exit 0, no counterexample, one JSON object', async () => {
    const b = fakeBackend();
    const r = await run(['check', '--config', 'v6.6', '--scenario', 'fam-a', '--runs', '20', '--seed', '7', '--strategy', 'pct', '--json', '--out', 'none'], { cwd: dir, backend: b });
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out.trimEnd().split('\n')).toHaveLength(1);
    const j = JSON.parse(r.out) as Record<string, unknown>;
    expect(Object.keys(j).slice(0, 10)).toEqual(['config', 'mutant', 'variant', 'scenario', 'strategy', 'seed', 'runs', 'executions', 'elapsedMs', 'violations']);
    expect(j).toMatchObject({ config: 'v6.6', mutant: null, variant: null, scenario: 'fam-a', strategy: 'pct', seed: 7, runs: 20, executions: 20, violations: [] });
    expect(b.campaigns).toHaveLength(1);
    expect(b.campaigns[0]).toMatchObject({ family: 'fam-a', strategy: 'pct', runs: 20, seed: 7, stopAtFirst: true });
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });

  it('without --scenario every family runs', async () => {
    const b = fakeBackend();
    const r = await run(['check', '--config', 'v6.3', '--runs', '5'], { cwd: dir, backend: b });
    expect(r.code).toBe(0);
    expect(b.campaigns.map((c) => c.family)).toEqual(['fam-a', 'fam-b']);
    expect(b.campaigns.every((c) => c.strategy === 'portfolio' && c.seed === 1)).toBe(true);
    expect(r.out).toMatch(/no violation in 10 executions/);
  });

  it('--fault-injection P reaches every family\'s campaign; without it, none', async () => {
    const b = fakeBackend();
    const r = await run(['check', '--config', 'v6.3', '--runs', '5', '--fault-injection', '0.25'], { cwd: dir, backend: b });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/fault injection in 25% of scenarios/);
    expect(b.campaigns.map((c) => c.faultInjection)).toEqual([0.25, 0.25]);
    const b2 = fakeBackend();
    await run(['check', '--config', 'v6.3', '--runs', '5'], { cwd: dir, backend: b2 });
    expect(b2.campaigns.map((c) => c.faultInjection)).toEqual([undefined, undefined]);
  });

  it('a time limit is shared among the families', async () => {
    const b = fakeBackend();
    await run(['check', '--config', 'v6.3', '--time-limit', '10'], { cwd: dir, backend: b });
    expect(b.campaigns).toHaveLength(2);
    expect(b.campaigns[0]!.timeLimitMs).toBeGreaterThan(4000);
    expect(b.campaigns[0]!.timeLimitMs).toBeLessThanOrEqual(5000);
  });

  it('a mutant implies its configuration and family; the counterexample is written and named', async () => {
    const b = fakeBackend();
    const r = await run(['check', '--mutant', 'm-uaf', '--json', '--out', 'cx2'], { cwd: dir, backend: b });
    expect(r.code).toBe(1);
    expect(b.campaigns.map((c) => [c.variant.cfg.name, c.family])).toEqual([['v6.4', 'fam-b']]);
    const j = JSON.parse(r.out) as { config: string; mutant: string; scenario: string; violations: { property: string; file: string; executionsToFind: number; tasks: number; steps: number; preemptions: number; message: string }[] };
    expect(j).toMatchObject({ config: 'v6.4', mutant: 'm-uaf', scenario: 'fam-b' });
    expect(j.violations).toHaveLength(1);
    const v = j.violations[0]!;
    expect(v).toMatchObject({ family: 'fam-b', property: 'kasan', executionsToFind: 17, tasks: 2, steps: 10, preemptions: 2, message: 'use-after-free in do_anonymous_page' });
    expect(v.file).toMatch(/^cx2\/m-uaf-kasan-[0-9a-f]{8}\.json$/);
    const cx = parseCounterexample(readFileSync(join(dir, v.file), 'utf8'));
    expect(cx).toMatchObject({ config: 'v6.4', mutant: 'm-uaf', schedule: FOUND_SCHEDULE, steps: 10, preemptions: 2, tasks: 2 });
    expect(cx.command).toBe(`npx faultline replay ${v.file}`);
    expect(cx.createdBy).toMatch(/^faultline \S+ check \(strategy portfolio, seed 1\)$/);
  });

  it('--config overrides a mutant\'s configuration and --scenario its family', async () => {
    const b = fakeBackend();
    await run(['check', '--mutant', 'm-uaf', '--config', 'v6.15', '--scenario', 'fam-a', '--out', 'cx3'], { cwd: dir, backend: b });
    expect(b.campaigns.map((c) => [c.variant.name, c.variant.cfg.name, c.family])).toEqual([['m-uaf', 'v6.15', 'fam-a']]);
    const f = readdirSync(join(dir, 'cx3'));
    expect(JSON.parse(readFileSync(join(dir, 'cx3', f[0]!), 'utf8'))).toMatchObject({ config: 'v6.15', mutant: 'm-uaf' });
  });

  it('text output names the violation and prints the replay one-liner', async () => {
    const r = await run(['check', '--mutant', 'm-uaf', '--out', 'cx4'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/VIOLATION kasan \(fam-b\): use-after-free in do_anonymous_page/);
    expect(r.out).toMatch(/BUG: KASAN: slab-use-after-free/);
    expect(r.out).toMatch(/replay: npx faultline replay cx4\/m-uaf-kasan-[0-9a-f]{8}\.json/);
  });

  it('a variant file: loaded, named in the JSON, recorded in the counterexample', async () => {
    const b = fakeBackend((v) => v.name === 'my-idea');
    const r = await run(['check', '--variant', 'good.ts', '--scenario', 'fam-a', '--json', '--out', 'cx5'], { cwd: dir, backend: b });
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { config: string; variant: string; violations: { file: string }[] };
    expect(j).toMatchObject({ config: 'v6.6', variant: 'my-idea' });
    expect(b.campaigns[0]!.variant.cfg.io_hold_vma_lock).toBe(true);
    const cx = parseCounterexample(readFileSync(join(dir, j.violations[0]!.file), 'utf8'));
    expect(cx.variantFile).toBe('good.ts');
    // It replays through the variant file again.
    const rr = await run(['replay', j.violations[0]!.file], { cwd: dir, backend: b });
    expect(rr.code).toBe(1);
  });
});

describe('replay', () => {
  it('round trip: a counterexample written by check reproduces (exit 1) with its timeline', async () => {
    const r = await run(['replay', goodCx], { cwd: dir });
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^counterexample: cx\/m-uaf-kasan-/);
    expect(r.out).toMatch(/^step +│ T0 +│ T1 +│ reclaim \(kthread\)/m);
    expect(r.out).toMatch(/>>> kasan broke here \(step 9, T0\)/);
    expect(r.out).toMatch(/BUG: KASAN: slab-use-after-free in do_anonymous_page/);
    expect(r.out).toMatch(/reproduced: kasan/);
  });

  it('--json reports the verdict', async () => {
    const r = await run(['replay', goodCx, '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as Record<string, unknown>;
    expect(j).toMatchObject({ file: goodCx, config: 'v6.4', mutant: 'm-uaf', property: 'kasan', reproduced: true, status: 'violation', schedule: FOUND_SCHEDULE });
  });

  it('exit 0 when the violation no longer reproduces (the variant was fixed)', async () => {
    const fixed = fakeBackend(() => false);
    const r = await run(['replay', goodCx], { cwd: dir, backend: fixed });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/no longer reproduces: the run passed \(expected kasan\)/);
  });

  it('a tampered schedule that still fits: the violation does not reproduce, exit 0', async () => {
    const r = await run(['replay', edited((o) => (o.schedule = 'v1:5t2'))], { cwd: dir });
    expect(r.code).toBe(0);
  });

  it('a schedule that does not fit the run any more: exit 0', async () => {
    const r = await run(['replay', edited((o) => (o.schedule = 'v1:5t9'))], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/no longer reproduces: the recorded schedule does not fit the run any more \(schedule asks for task 9/);
  });

  it('a changed property: a different violation, exit 0', async () => {
    const r = await run(['replay', edited((o) => ((o.violation as { property: string }).property = 'lockdep'))], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/a different violation: kasan \(expected lockdep\)/);
  });

  it('--html writes a self-contained page', async () => {
    const r = await run(['replay', goodCx, '--html', 'out/page.html'], { cwd: dir });
    expect(r.code).toBe(1);
    const html = readFileSync(join(dir, 'out/page.html'), 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toMatch(/kasan broke here/);
    expect(html).not.toMatch(/<script|<link|src=|href="http/);
  });

  it('--compact folds the timeline', async () => {
    const a = await run(['replay', goodCx], { cwd: dir });
    const b = await run(['replay', goodCx, '--compact'], { cwd: dir });
    expect(b.code).toBe(1);
    expect(b.out.split('\n').length).toBeLessThanOrEqual(a.out.split('\n').length);
  });
});

describe('explore', () => {
  it('DFS with a preemption bound; JSON', async () => {
    const b = fakeBackend();
    const r = await run(['explore', '--config', 'v6.7', '--scenario', 'fam-a', '--preemptions', '3', '--json'], { cwd: dir, backend: b });
    expect(r.code).toBe(0);
    expect(b.explores).toHaveLength(1);
    expect(b.explores[0]).toMatchObject({ preemptions: 3, maxExecutions: 1_000_000 });
    expect(b.explores[0]!.scenario.family).toBe('fam-a');
    expect(b.explores[0]!.variant.cfg.name).toBe('v6.7');
    expect(JSON.parse(r.out)).toMatchObject({ config: 'v6.7', scenario: 'fam-a', preemptions: 3, executions: 12, complete: true, violations: [] });
    const cut = await run(['explore', '--config', 'v6.7', '--scenario', 'fam-a', '--runs', '5', '--json'], { cwd: dir, backend: b });
    expect(JSON.parse(cut.out)).toMatchObject({ executions: 5, complete: false });
    expect(b.explores[1]!.preemptions).toBe(2);
    expect(b.explores[1]!.reduction).toBe('dpor');
    const cache = await run(['explore', '--config', 'v6.7', '--scenario', 'fam-a', '--reduction', 'cache', '--json'], { cwd: dir, backend: b });
    expect(b.explores[2]!.reduction).toBe('cache');
    expect(Object.keys(JSON.parse(cache.out))).toEqual(expect.arrayContaining(['executions', 'states', 'prunedByReduction', 'prunedByCache', 'cacheBytesPerState', 'complete', 'elapsedMs']));
  });

  it('a violation: exit 1 and a counterexample that replays', async () => {
    const r = await run(['explore', '--mutant', 'm-uaf', '--scenario', 'fam-b', '--out', 'ex'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/the whole space was covered/);
    const file = /counterexample: (\S+)/.exec(r.out)![1]!;
    expect((await run(['replay', file], { cwd: dir })).code).toBe(1);
  });
});

describe('verify (in-process, one job)', () => {
  it('correct configurations pass, the mutant is caught: exit 0 and a report', async () => {
    const r = await run(['verify', '--budget', '2', '--jobs', '1', '--out', 'rep'], { cwd: dir });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^kasan +pass +pass +pass +pass +pass/m);
    expect(r.out).toMatch(/m-uaf +v6\.4 +fam-b +caught: kasan after 17 execution/);
    const rep = JSON.parse(readFileSync(join(dir, 'rep/report.json'), 'utf8')) as { ok: boolean; cells: unknown[]; mutants: { found: boolean; file: string }[] };
    expect(rep.ok).toBe(true);
    expect(rep.cells).toHaveLength(CONFIGURATIONS.length * 2);
    expect(rep.mutants[0]!.found).toBe(true);
    const html = readFileSync(join(dir, 'rep/index.html'), 'utf8');
    expect(html).toMatch(/faultline verify: OK/);
    expect(html).toMatch(/href="timelines\/m-uaf-kasan-[0-9a-f]{8}\.html"/);
    expect(existsSync(join(dir, 'rep/timelines'))).toBe(true);
  });

  it('a violation on a correct configuration, or a mutant not found: exit 1', async () => {
    const b = fakeBackend((v) => v.cfg.name === 'v6.6' && v.name !== MUTANT.name);
    const r = await run(['verify', '--budget', '1', '--jobs', '1', '--out', 'rep2', '--scenario', 'fam-a'], { cwd: dir, backend: b });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^kasan +pass +pass +FAIL\[1\] +pass +pass/m);
    expect(r.out).toMatch(/FAIL v6\.6 fam-a: kasan/);
    expect(r.out).toMatch(/FAIL mutant m-uaf NOT found/);
    const rep = JSON.parse(readFileSync(join(dir, 'rep2/report.json'), 'utf8')) as { ok: boolean; failures: string[] };
    expect(rep.ok).toBe(false);
    expect(rep.failures).toHaveLength(2);
  });

  it('the progress bar goes to stderr only on a terminal', async () => {
    let err = '';
    const { main } = await import('../../cli/main.js');
    const code = await main(['verify', '--budget', '0.5', '--jobs', '1', '--out', 'rep3', '--config', 'v6.6', '--no-mutants'], {
      stdout: () => {}, stderr: (s) => void (err += s), stderrIsTTY: true, cwd: dir, backend: fakeBackend(),
    });
    expect(code).toBe(0);
    expect(err).toMatch(/█|░/);
  });
});

describe('the counterexample file is stable', () => {
  it('re-serialising a parsed file gives the same bytes', () => {
    const text = readFileSync(join(dir, goodCx), 'utf8');
    expect(serializeCounterexample(parseCounterexample(text))).toBe(text);
  });
  it('the out directory is created', () => {
    mkdirSync(join(dir, 'sub'), { recursive: true });
    expect(existsSync(join(dir, 'cx'))).toBe(true);
  });
});
