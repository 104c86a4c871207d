/**
 * --jobs, --shard and merge (issue [scale]): a campaign run on worker threads, or as shards merged
 * afterwards, gives what one process gives — the same executions, the same first violation, the
 * same counterexample file bytes, the same coverage and verify report (timings aside). Small run
 * counts: each pool here is 2 worker threads that load the checker once.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '../../cli/backend.js';
import { shardFlags, shardIndexFromEnv } from '../../cli/shard.js';
import { parseArgs } from '../../cli/args.js';
import { CampaignFold, unitCount } from '../../properties/campaign_fold.js';
import { run, tempDir } from './fake.js';

const real = (cwd: string, argv: string[]) => run(argv, { cwd, backend: defaultBackend });

/** A fresh directory per way of running, so that the same --out name gives the same replay commands. */
function dirs(n: number): string[] {
  const root = tempDir();
  return Array.from({ length: n }, (_, i) => {
    const d = join(root, `w${i}`);
    mkdirSync(d);
    return d;
  });
}

function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) if (f.endsWith('.json') && !f.startsWith('shard-')) out[f] = readFileSync(join(dir, f), 'utf8');
  return out;
}

const untimed = (j: string) => {
  const o = JSON.parse(j) as Record<string, unknown>;
  delete o.elapsedMs;
  return o;
};

describe('check: --jobs 1, --jobs 2 and 4 shards + merge give the same result', () => {
  it('a mutant: the same first violation, executions and counterexample file', async () => {
    const [a, b, c] = dirs(3);
    const argv = ['check', '--mutant', 'b10-anon-vma-check', '--runs', '600', '--json', '--out', 'cx'];
    const one = await real(a!, [...argv, '--jobs', '1']);
    const two = await real(b!, [...argv, '--jobs', '2']);
    expect(one.code, one.err).toBe(1);
    expect(two.code, two.err).toBe(1);
    for (let i = 0; i < 4; i++) {
      const s = await real(c!, [...argv.slice(0, -1), `s${i}`, '--jobs', '1', '--shard', `${i}/4`]);
      expect(s.code, s.err).toBe(0);
    }
    const merged = await real(c!, ['merge', 's0', 's1', 's2', 's3', '--json', '--out', 'cx']);
    expect(merged.code, merged.err).toBe(1);
    const j1 = untimed(one.out);
    expect((j1.violations as unknown[]).length).toBe(1);
    expect(untimed(two.out)).toEqual(j1);
    expect(untimed(merged.out)).toEqual(j1);
    const cx = files(join(a!, 'cx'));
    expect(Object.keys(cx)).toHaveLength(1);
    expect(files(join(b!, 'cx'))).toEqual(cx);
    expect(files(join(c!, 'cx'))).toEqual(cx);
  });

  it('a clean campaign over every family: the same execution counts; merge --json equals check --json', async () => {
    const [a, c] = dirs(2);
    const argv = ['check', '--config', 'v6.6', '--runs', '20', '--strategy', 'pct', '--json'];
    const one = await real(a!, [...argv, '--jobs', '2']);
    expect(one.code, one.err).toBe(0);
    for (let i = 0; i < 4; i++) expect((await real(c!, [...argv, '--jobs', '1', '--shard', `${i}/4`, '--out', 'sh'])).code).toBe(0);
    const merged = await real(c!, ['merge', 'sh', '--json']);
    expect(merged.code, merged.err).toBe(0);
    expect(untimed(merged.out)).toEqual(untimed(one.out));
    const families = (await run(['list', 'scenarios', '--json'], { cwd: a!, backend: defaultBackend })).out;
    expect(JSON.parse(one.out).executions).toBe(20 * (JSON.parse(families) as unknown[]).length);
  });
});

describe('coverage: shards + merge == one process', () => {
  it('the same report', async () => {
    const [a, c] = dirs(2);
    const argv = ['coverage', '--config', 'v6.4', '--scenario', 'mbind-vs-fault', '--runs', '32', '--json'];
    const one = await real(a!, [...argv, '--jobs', '1']);
    expect(one.code, one.err).toBe(0);
    for (let i = 0; i < 2; i++) expect((await real(c!, [...argv, '--shard', `${i}/2`, '--jobs', '1', '--out', 'sh'])).code).toBe(0);
    const merged = await real(c!, ['merge', 'sh', '--json']);
    expect(merged.code, merged.err).toBe(0);
    expect(untimed(merged.out)).toEqual(untimed(one.out));
  });
});

describe('verify --runs: 3 shards + merge == one process on 2 threads', () => {
  it('the same table, report.json, counterexamples and HTML (timings aside)', async () => {
    const [a, c] = dirs(2);
    const argv = ['verify', '--config', 'v6.4', '--scenario', 'fork-vs-fault', '--runs', '16', '--out', 'rep'];
    const one = await real(a!, [...argv, '--jobs', '2']);
    for (let i = 0; i < 3; i++) expect((await real(c!, [...argv.slice(0, -1), `s${i}`, '--jobs', '1', '--shard', `${i}/3`])).code).toBe(0);
    const merged = await real(c!, ['merge', 's0', 's1', 's2', '--out', 'rep']);
    expect(merged.code).toBe(one.code);
    const table = (s: string) => s.split('\n').filter((l) => !/^faultline (verify|merge):|^report: /.test(l)).join('\n');
    expect(table(merged.out)).toBe(table(one.out));
    const report = (d: string) => {
      const r = JSON.parse(readFileSync(join(d, 'rep/report.json'), 'utf8')) as Record<string, unknown> & { cells: Record<string, unknown>[] };
      delete r.elapsedMs;
      delete r.jobs;
      for (const x of r.cells) delete x.elapsedMs;
      return r;
    };
    expect(report(c!)).toEqual(report(a!));
    const cx = files(join(a!, 'rep/counterexamples'));
    expect(Object.keys(cx).length).toBeGreaterThan(0);
    expect(files(join(c!, 'rep/counterexamples'))).toEqual(cx);
    const html = (d: string) => readFileSync(join(d, 'rep/index.html'), 'utf8').replace(/ · budget [^<]*/, '');
    expect(html(c!)).toBe(html(a!));
  });
});

describe('explore --split: --jobs 1, --jobs 2 and shards + merge give the same result', () => {
  const untimedExplore = (j: string) => {
    const o = untimed(j);
    delete o.cacheBytesPerState; // measured (properties/explore.ts bytesPerState)
    return o;
  };

  it('a mutant (b8-fork, 1 preemption): the same violation, executions and counterexample file; the property the unsplit search finds', async () => {
    const [a, b, c, d] = dirs(4);
    const argv = ['explore', '--mutant', 'b8-fork', '--scenario', 'fork-vs-fault', '--preemptions', '1', '--split', '2', '--json', '--out', 'cx'];
    const one = await real(a!, [...argv, '--jobs', '1']);
    const two = await real(b!, [...argv, '--jobs', '2']);
    expect(one.code, one.err).toBe(1);
    expect(two.code, two.err).toBe(1);
    for (let i = 0; i < 3; i++) {
      const s = await real(c!, [...argv.slice(0, -1), `s${i}`, '--jobs', '1', '--shard', `${i}/3`]);
      expect(s.code, s.err).toBe(0);
    }
    const merged = await real(c!, ['merge', 's0', 's1', 's2', '--json', '--out', 'cx']);
    expect(merged.code, merged.err).toBe(1);
    const j1 = untimedExplore(one.out);
    expect(j1).toMatchObject({ split: 2, complete: true });
    expect(j1.subtrees as number).toBeGreaterThan(2);
    expect((j1.violations as { property: string }[]).map((v) => v.property)).toEqual(['fork-snapshot']);
    expect(untimedExplore(two.out)).toEqual(j1);
    expect(untimedExplore(merged.out)).toEqual(j1);
    const cx = files(join(a!, 'cx'));
    expect(Object.keys(cx)).toHaveLength(1);
    expect(files(join(b!, 'cx'))).toEqual(cx);
    expect(files(join(c!, 'cx'))).toEqual(cx);
    // The unsplit search finds the same property (in fewer executions: the subtrees share nothing).
    const whole = await real(d!, [...argv.filter((x, i) => x !== '--split' && argv[i - 1] !== '--split')]);
    expect(whole.code, whole.err).toBe(1);
    const jw = JSON.parse(whole.out) as { split: number; subtrees: number; complete: boolean; executions: number; violations: { property: string }[] };
    expect(jw).toMatchObject({ split: 0, subtrees: 1, complete: true });
    expect(jw.violations.map((v) => v.property)).toEqual(['fork-snapshot']);
    expect(j1.executions as number).toBeGreaterThanOrEqual(jw.executions);
  });

  it('a correct generation (v6.4 mbind-vs-fault, 1 preemption): covered, no violation, as 2 shards + merge as in one process', async () => {
    const [a, c] = dirs(2);
    const argv = ['explore', '--config', 'v6.4', '--scenario', 'mbind-vs-fault', '--preemptions', '1', '--split', '2', '--json'];
    const one = await real(a!, [...argv, '--jobs', '1']);
    expect(one.code, one.err).toBe(0);
    for (let i = 0; i < 2; i++) expect((await real(c!, [...argv, '--jobs', '1', '--shard', `${i}/2`, '--out', 'sh'])).code).toBe(0);
    const merged = await real(c!, ['merge', 'sh', '--json']);
    expect(merged.code, merged.err).toBe(0);
    const j = untimedExplore(one.out);
    expect(j).toMatchObject({ complete: true, violations: [], unknown: 0 });
    expect(untimedExplore(merged.out)).toEqual(j);
    // A missing shard: one line, exit 2.
    const part = await real(c!, ['merge', 'sh/shard-0-of-2.json']);
    expect(part.code).toBe(2);
    expect(part.err).toMatch(/missing shard\(s\) 1\/2/);
  });

  it('bad --split: one line, exit 2', async () => {
    const [a] = dirs(1);
    for (const bad of ['-1', 'two', '99']) {
      const r = await real(a!, ['explore', '--config', 'v6.4', '--scenario', 'mbind-vs-fault', '--split', bad]);
      expect(r.code).toBe(2);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/--split/);
    }
  });
});

describe('shards: flags, environment, bad input', () => {
  const spec = { name: 'check', flags: { shard: { type: 'string' as const }, shards: { type: 'string' as const } } };
  it('--shard I/N, --shards N with the index from a Kubernetes Indexed Job or a Slurm array', () => {
    expect(shardFlags(parseArgs(spec, ['--shard', '2/5']), 'check', {})).toEqual({ index: 2, count: 5 });
    expect(shardFlags(parseArgs(spec, ['--shards', '4']), 'check', { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 });
    expect(shardFlags(parseArgs(spec, ['--shards', '4']), 'check', { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '1' })).toEqual({ index: 1, count: 4 });
    expect(shardIndexFromEnv({})).toBeUndefined();
    expect(() => shardFlags(parseArgs(spec, ['--shard', '4/4']), 'check', {})).toThrow(/not below the number of shards 4/);
    expect(() => shardFlags(parseArgs(spec, ['--shard', 'x']), 'check', {})).toThrow(/--shard must be I\/N/);
    expect(() => shardFlags(parseArgs(spec, ['--shards', '4']), 'check', {})).toThrow(/JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID/);
  });

  it('merge refuses a missing shard, a shard given twice, and shards of different campaigns: one line, exit 2', async () => {
    const [c] = dirs(1);
    const argv = ['check', '--config', 'v6.6', '--scenario', 'fork-vs-fault', '--runs', '16', '--jobs', '1'];
    for (let i = 0; i < 2; i++) expect((await real(c!, [...argv, '--shard', `${i}/2`, '--out', 'a'])).code).toBe(0);
    expect((await real(c!, [...argv, '--seed', '2', '--shard', '1/2', '--out', 'b'])).code).toBe(0);
    const one = async (args: string[], re: RegExp) => {
      const r = await real(c!, args);
      expect(r.code).toBe(2);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(re);
    };
    await one(['merge', 'a/shard-0-of-2.json'], /missing shard\(s\) 1\/2/);
    await one(['merge', 'a', 'a/shard-1-of-2.json'], /given twice/);
    await one(['merge', 'a/shard-0-of-2.json', 'b'], /different campaigns/);
    await one(['merge', 'nowhere'], /nowhere does not exist/);
  });
});

describe('the fold of units', () => {
  it('stops at the first violation in unit order, counting executions from the campaign start', () => {
    const f = new CampaignFold<{ property: string; executionsToFind: number }>(true, (v, e) => ({ ...v, executionsToFind: e }));
    const u = (executions: number, v: { property: string; executionsToFind: number }[] = [], cut = false) => ({ executions, unknown: 0, injectedRuns: 0, violations: v, cut });
    expect(f.add(u(16))).toBe(true);
    expect(f.add(u(5, [{ property: 'kasan', executionsToFind: 5 }]))).toBe(false);
    expect(f.add(u(16, [{ property: 'lockdep', executionsToFind: 1 }]))).toBe(false);
    expect(f.executions).toBe(21);
    expect(f.violations).toEqual([{ property: 'kasan', executionsToFind: 21 }]);
    expect(unitCount({ strategy: 'portfolio', runs: 33 })).toBe(3);
    expect(unitCount({ strategy: 'dfs', runs: 33 })).toBe(1);
  });
});
