/**
 * The deployment examples of deploy/ (README "Many cores, many machines") say what the CLI accepts:
 * every faultline command line in them parses with its command's flags as written, and the sharded
 * campaigns of the Kubernetes Indexed Jobs run end to end at a tiny size — every shard (its index
 * from JOB_COMPLETION_INDEX, as Kubernetes sets it) with --runs 1 and --jobs 1, then the example's
 * merge over what they wrote, which must give a verdict (exit 0 or 1), not a usage error (2). The
 * Slurm array runs the Kubernetes example's search, its index from SLURM_ARRAY_TASK_ID.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseArgs, str, type CommandSpec } from '../../cli/args.js';
import { defaultBackend } from '../../cli/backend.js';
import { CHECK_SPEC } from '../../cli/check.js';
import { EXPLORE_SPEC } from '../../cli/explore.js';
import { MERGE_SPEC } from '../../cli/merge.js';
import { shardFlags } from '../../cli/shard.js';
import { VERIFY_SPEC } from '../../cli/verify.js';
import { run, tempDir } from './fake.js';

const DEPLOY = join(import.meta.dirname, '..', '..', 'deploy');
const SPECS: Record<string, CommandSpec> = { check: CHECK_SPEC, verify: VERIFY_SPEC, explore: EXPLORE_SPEC, merge: MERGE_SPEC };

/** The faultline command lines of a deploy file, as argv (the command first). */
function commandsOf(file: string): string[][] {
  const text = readFileSync(join(DEPLOY, file), 'utf8');
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue;
    // Kubernetes: args: [...] of a container whose command is ["node", "cli/bin.js"].
    const args = /^\s*args:\s*(\[.*\])\s*$/.exec(line);
    if (args) out.push(JSON.parse(args[1]!) as string[]);
    // Shell (a workflow's run:, a batch script): npx faultline …, with the engine's expressions given values.
    const npx = /npx faultline (.*)$/.exec(line);
    if (npx) {
      const shell = npx[1]!
        .replace(/\$\{\{\s*inputs\.runs[^}]*\}\}/g, '20000')
        .replace(/\$\{\{\s*matrix\.shard\s*\}\}/g, '0')
        .replace(/\$\{SLURM_CPUS_PER_TASK:-(\d+)\}/g, '$1');
      expect(shell, `${file}: an unsubstituted expression in ${line.trim()}`).not.toMatch(/\$/);
      out.push(shell.split(/\s+/).filter((w) => w !== '').map((w) => w.replace(/^"(.*)"$/, '$1')));
    }
  }
  return out;
}

/** argv with --NAME's value replaced (or --NAME VALUE added). */
function withFlag(argv: readonly string[], name: string, value: string): string[] {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? [...argv, `--${name}`, value] : [...argv.slice(0, i + 1), value, ...argv.slice(i + 2)];
}

const files = readdirSync(DEPLOY, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(ya?ml|sbatch)$/.test(f)).sort();

const saved = { k8s: process.env.JOB_COMPLETION_INDEX, slurm: process.env.SLURM_ARRAY_TASK_ID, min: process.env.SLURM_ARRAY_TASK_MIN };
afterEach(() => {
  for (const [k, v] of [['JOB_COMPLETION_INDEX', saved.k8s], ['SLURM_ARRAY_TASK_ID', saved.slurm], ['SLURM_ARRAY_TASK_MIN', saved.min]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('deploy/: the examples\' command lines', () => {
  it('deploy/ has the verify and the explore --split examples', () => {
    const all = files.flatMap(commandsOf);
    expect(all.some((a) => a[0] === 'verify' && (a.includes('--shards') || a.includes('--shard')))).toBe(true);
    expect(all.some((a) => a[0] === 'explore' && a.includes('--split') && a.includes('--shards'))).toBe(true);
    expect(all.filter((a) => a[0] === 'merge').length).toBeGreaterThanOrEqual(3);
  });

  for (const file of files) {
    it(`${file}: every faultline command parses, with a shard index from the engine where it takes one`, () => {
      const cmds = commandsOf(file);
      expect(cmds.length, `${file} runs no faultline command`).toBeGreaterThan(0);
      for (const argv of cmds) {
        const spec = SPECS[argv[0]!];
        expect(spec, `${file}: unknown command ${argv[0]}`).toBeDefined();
        const p = parseArgs(spec!, argv.slice(1));
        if (argv[0] !== 'merge') {
          const s = shardFlags(p, argv[0]!, { JOB_COMPLETION_INDEX: '0' });
          expect(s, `${file}: ${argv.join(' ')} is not sharded`).toBeDefined();
        }
      }
    });
  }
});

/** The shard count of a sharded command line. */
function shardCount(argv: readonly string[]): number {
  const i = argv.indexOf('--shards');
  return Number(argv[i + 1]);
}

/** A Kubernetes example (shards, then its merge file), run at --runs 1 in `root` (its /results). */
async function runSharded(shardArgv: string[], mergeArgv: string[], root: string): Promise<void> {
  const map = (a: string[]) => a.map((w) => w.startsWith('/results') ? join(root, w.slice(1)) : w);
  const n = shardCount(shardArgv);
  for (let i = 0; i < n; i++) {
    process.env.JOB_COMPLETION_INDEX = String(i);
    const r = await run(withFlag(withFlag(map(shardArgv), 'runs', '1'), 'jobs', '1'), { cwd: root, backend: defaultBackend });
    expect(r.code, `shard ${i}: ${r.err}`).toBe(0);
  }
  delete process.env.JOB_COMPLETION_INDEX;
  const m = await run(map(mergeArgv), { cwd: root, backend: defaultBackend });
  expect([0, 1], `merge: ${m.err}`).toContain(m.code);
}

describe('deploy/: the sharded examples run end to end (--runs 1)', () => {
  it('k8s-explore-split.yaml + k8s-explore-merge.yaml: 16 explore --split shards by JOB_COMPLETION_INDEX, merged', async () => {
    const [shard] = commandsOf('k8s-explore-split.yaml');
    const [merge] = commandsOf('k8s-explore-merge.yaml');
    const root = tempDir();
    mkdirSync(join(root, 'results'));
    await runSharded(shard!, merge!, root);
    expect(readdirSync(join(root, 'results', 'explore')).filter((f) => f.startsWith('shard-')).length).toBe(16);
  }, 120_000);

  it('slurm-explore-split.sbatch: the same search as the Kubernetes example, its index SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, merged as its header says', () => {
    const [shard] = commandsOf('slurm-explore-split.sbatch');
    const [k8s] = commandsOf('k8s-explore-split.yaml');
    const text = readFileSync(join(DEPLOY, 'slurm-explore-split.sbatch'), 'utf8');
    expect(text).toContain(`#SBATCH --array=0-${shardCount(shard!) - 1}`);
    // The same search (the k8s example runs end to end above): the same flags but where the shards write.
    const search = (a: readonly string[]) => {
      const f = new Map(parseArgs(EXPLORE_SPEC, a.slice(1)).flags);
      f.delete('out');
      f.delete('jobs');
      return Object.fromEntries(f);
    };
    expect(search(shard!)).toEqual(search(k8s!));
    const p = parseArgs(EXPLORE_SPEC, shard!.slice(1));
    expect(shardFlags(p, 'explore', { SLURM_ARRAY_TASK_ID: '17', SLURM_ARRAY_TASK_MIN: '2' })).toEqual({ index: 15, count: 16 });
    expect(() => shardFlags(p, 'explore', { SLURM_ARRAY_TASK_ID: '18', SLURM_ARRAY_TASK_MIN: '2' })).toThrow(/not below the number of shards 16/);
    const merge = /--wrap 'npx faultline (merge [^']*)'/.exec(text)![1]!.split(' ');
    const m = parseArgs(MERGE_SPEC, merge.slice(1));
    expect(m.positionals).toEqual([str(parseArgs(EXPLORE_SPEC, shard!.slice(1)), 'out')]);
  });

  it('k8s-indexed-job.yaml + k8s-merge-job.yaml: 8 verify shards by JOB_COMPLETION_INDEX, merged into a report', async () => {
    const [shard] = commandsOf('k8s-indexed-job.yaml');
    const [merge] = commandsOf('k8s-merge-job.yaml');
    const root = tempDir();
    mkdirSync(join(root, 'results'));
    await runSharded(shard!, merge!, root);
    expect(readdirSync(join(root, 'results', 'report'))).toContain('report.json');
  }, 180_000);
});
