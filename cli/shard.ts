/**
 * --shard I/N and --shards N (the index from the batch engine: JOB_COMPLETION_INDEX of a Kubernetes
 * Indexed Job, SLURM_ARRAY_TASK_ID of a Slurm job array), and the shard files `faultline merge` reads.
 */
import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { str, type Parsed } from './args.js';
import { UsageError } from './io.js';

export interface Shard {
  readonly index: number;
  readonly count: number;
}

export const SHARD_FORMAT = 'faultline-shard';
export const MAX_SHARDS = 100_000;

/** The index of this task in the batch engine's array, if it says. */
export function shardIndexFromEnv(env: NodeJS.ProcessEnv = process.env): { index: number; from: string } | undefined {
  const k8s = env.JOB_COMPLETION_INDEX;
  if (k8s !== undefined && k8s !== '') {
    if (!/^\d+$/.test(k8s)) throw new UsageError(`JOB_COMPLETION_INDEX must be a non-negative integer, not "${k8s.slice(0, 20)}"`);
    return { index: Number(k8s), from: 'JOB_COMPLETION_INDEX' };
  }
  const slurm = env.SLURM_ARRAY_TASK_ID;
  if (slurm !== undefined && slurm !== '') {
    const min = env.SLURM_ARRAY_TASK_MIN ?? '0';
    if (!/^\d+$/.test(slurm) || !/^\d+$/.test(min)) throw new UsageError(`SLURM_ARRAY_TASK_ID must be a non-negative integer, not "${slurm.slice(0, 20)}"`);
    return { index: Number(slurm) - Number(min), from: 'SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN' };
  }
  return undefined;
}

/** --shard I/N, or --shards N with the index from the environment; undefined when neither is given. */
export function shardFlags(p: Parsed, cmd: string, env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  const one = str(p, 'shard');
  const many = str(p, 'shards');
  if (one !== undefined && many !== undefined) throw new UsageError(`${cmd}: --shard and --shards cannot be used together`);
  if (one !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(one);
    if (!m) throw new UsageError(`${cmd}: --shard must be I/N (this shard's index from 0, of N), not "${one.slice(0, 40)}"`);
    return check(cmd, Number(m[1]), Number(m[2]), '--shard');
  }
  if (many !== undefined) {
    if (!/^\d+$/.test(many)) throw new UsageError(`${cmd}: --shards must be a positive integer, not "${many.slice(0, 40)}"`);
    const e = shardIndexFromEnv(env);
    if (e === undefined) throw new UsageError(`${cmd}: --shards ${many} needs the shard's index from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID (or give --shard I/N)`);
    return check(cmd, e.index, Number(many), e.from);
  }
  return undefined;
}

function check(cmd: string, index: number, count: number, from: string): Shard {
  if (!(count >= 1 && count <= MAX_SHARDS)) throw new UsageError(`${cmd}: the number of shards must be between 1 and ${MAX_SHARDS}, not ${count}`);
  if (!(index < count)) throw new UsageError(`${cmd}: shard index ${index} (${from}) is not below the number of shards ${count}`);
  return { index, count };
}

export function shardFileName(s: Shard): string {
  return `shard-${s.index}-of-${s.count}.json`;
}

export interface ShardFile<C, R> {
  readonly format: typeof SHARD_FORMAT;
  readonly version: 1;
  readonly command: 'check' | 'coverage' | 'verify' | 'explore';
  readonly shard: Shard;
  /** What was run: every shard of one campaign has the same. */
  readonly campaign: C;
  readonly results: R;
  readonly elapsedMs: number;
}

export async function writeShardFile(dir: string, f: ShardFile<unknown, unknown>): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, shardFileName(f.shard));
  await writeFile(path, JSON.stringify(f) + '\n');
  return path;
}

/** The shard files of the arguments (a directory: its shard-*.json; a file: itself), each with the directory it came from. */
export async function readShardFiles(cwd: string, args: readonly string[]): Promise<{ file: string; dir: string; data: ShardFile<unknown, unknown> }[]> {
  const out: { file: string; dir: string; data: ShardFile<unknown, unknown> }[] = [];
  for (const a of args) {
    const abs = resolve(cwd, a);
    let st;
    try {
      st = await stat(abs);
    } catch {
      throw new UsageError(`merge: ${a} does not exist`);
    }
    const files = st.isDirectory()
      ? (await readdir(abs)).filter((f) => /^shard-\d+-of-\d+\.json$/.test(f)).sort().map((f) => ({ file: join(abs, f), dir: abs, shown: join(a, f) }))
      : [{ file: abs, dir: resolve(abs, '..'), shown: a }];
    if (files.length === 0) throw new UsageError(`merge: ${a} holds no shard file (shard-I-of-N.json)`);
    for (const f of files) {
      let data: unknown;
      try {
        data = JSON.parse(await readFile(f.file, 'utf8'));
      } catch (e) {
        throw new UsageError(`merge: ${f.shown} is not a shard file: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      }
      const d = data as Partial<ShardFile<unknown, unknown>> | null;
      if (d === null || typeof d !== 'object' || d.format !== SHARD_FORMAT || d.version !== 1 || typeof d.shard?.index !== 'number' || typeof d.shard?.count !== 'number' || d.campaign === undefined || d.results === undefined) {
        throw new UsageError(`merge: ${f.shown} is not a faultline shard file (format ${SHARD_FORMAT}, version 1)`);
      }
      out.push({ file: f.shown, dir: f.dir, data: d as ShardFile<unknown, unknown> });
    }
  }
  return out;
}

/** Every shard of one campaign, once each: else a usage error naming what is wrong. */
export function checkShardSet(files: readonly { file: string; data: ShardFile<unknown, unknown> }[]): void {
  const first = files[0]!;
  const n = first.data.shard.count;
  const campaign = JSON.stringify(first.data.campaign);
  const seen = new Map<number, string>();
  for (const f of files) {
    if (f.data.command !== first.data.command) throw new UsageError(`merge: ${f.file} is a ${f.data.command} shard, ${first.file} a ${first.data.command} shard`);
    if (f.data.shard.count !== n) throw new UsageError(`merge: ${f.file} is a shard of ${f.data.shard.count}, ${first.file} of ${n}`);
    if (JSON.stringify(f.data.campaign) !== campaign) throw new UsageError(`merge: ${f.file} and ${first.file} are shards of different campaigns (flags or version differ)`);
    const dup = seen.get(f.data.shard.index);
    if (dup !== undefined) throw new UsageError(`merge: shard ${f.data.shard.index}/${n} given twice (${dup}, ${f.file})`);
    seen.set(f.data.shard.index, f.file);
  }
  const missing: number[] = [];
  for (let i = 0; i < n && missing.length < 5; i++) if (!seen.has(i)) missing.push(i);
  if (missing.length > 0) throw new UsageError(`merge: missing shard(s) ${missing.map((i) => `${i}/${n}`).join(', ')}${n - seen.size > missing.length ? ' …' : ''}`);
}
