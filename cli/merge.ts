/**
 * faultline merge DIR… [--out OUT] [--json]
 *
 * Merges the shard files of one campaign (check, coverage, verify or explore run with --shard I/N
 * or --shards N) into the result one machine running the whole campaign gives, timings aside: for
 * check and explore, the output and counterexample files (OUT default ./counterexamples/); for coverage, its
 * report; for verify, the table, OUT/report.json, OUT/index.html, OUT/counterexamples/ and the
 * timelines (OUT default ./faultline-report/). The exit code is the whole campaign's.
 */
import { parseArgs, bool, str, type CommandSpec } from './args.js';
import type { Backend } from './backend.js';
import { checkHeader, checkSummary, CheckFold, DEFAULT_OUT, finishCheck, violationText, type CheckShardCampaign } from './check.js';
import { EXIT_OK, EXIT_VIOLATION, UsageError, type CliIO } from './io.js';
import { checkShardSet, readShardFiles, type ShardFile } from './shard.js';
import type { UnitWire } from './units.js';
import { unitCount } from '../properties/campaign_fold.js';
import { finishExplore, type ExploreShardCampaign } from './explore.js';
import type { ExploreUnitWire } from './explore_units.js';

export const MERGE_SPEC: CommandSpec = {
  name: 'merge',
  flags: { out: { type: 'string', value: 'OUT' }, json: { type: 'boolean' } },
  positionals: ['DIR', ...Array.from({ length: 9999 }, () => 'DIR')],
  optionalPositionals: 9999,
};

export const MERGE_USAGE = `usage: faultline merge DIR… [--out OUT] [--json]

  Merge the shard files (shard-I-of-N.json) found in the DIRs — every shard of one check, coverage,
  verify or explore campaign run with --shard I/N or --shards N — into the result of the whole
  campaign, as one machine running it would give (timings aside): check's or explore's output and
  counterexamples (OUT default ./${DEFAULT_OUT}/), coverage's report, or verify's table and report
  directory (OUT default ./faultline-report/). Exit as the campaign would: 0 no violation, 1 a violation, 2 bad input
  (a shard missing or given twice, shards of different campaigns).`;

export async function mergeCommand(argv: readonly string[], io: CliIO, backend: Backend): Promise<number> {
  const p = parseArgs(MERGE_SPEC, argv);
  if (p.help) {
    io.stdout(MERGE_USAGE + '\n');
    return EXIT_OK;
  }
  if (p.positionals.length === 0) throw new UsageError('merge: missing DIR (the directories holding the shard files)');
  const files = await readShardFiles(io.cwd, p.positionals);
  checkShardSet(files);
  const json = bool(p, 'json');
  const command = files[0]!.data.command;
  if (command === 'explore') return mergeExplore(io, files as { file: string; data: ShardFile<ExploreShardCampaign, ExploreUnitWire[]> }[], str(p, 'out'), json);
  if (command === 'verify') {
    const { mergeVerify } = await import('./verify.js');
    return mergeVerify(io, backend, files, str(p, 'out'), json);
  }
  return mergeCheck(io, files as { file: string; data: ShardFile<CheckShardCampaign, UnitWire[]> }[], str(p, 'out'), json);
}

/** Fold a check's (or coverage's) shards in unit order: what one process gives. */
async function mergeCheck(io: CliIO, files: readonly { file: string; data: ShardFile<CheckShardCampaign, UnitWire[]> }[], outFlag: string | undefined, json: boolean): Promise<number> {
  const c = files[0]!.data.campaign;
  const units = new Map<string, UnitWire>();
  for (const f of files) for (const w of f.data.results) units.set(`${w.fam}:${w.unit}`, w);
  const perFam = unitCount({ strategy: c.strategy, runs: c.runs });
  const fold = new CheckFold(c.families.length);
  outer: for (let fi = 0; fi < c.families.length; fi++) {
    for (let u = 0; u < perFam; u++) {
      const w = units.get(`${fi}:${u}`);
      if (w === undefined) {
        // With a time limit a family's later units may never have run; else every unit up to the first violation is in a shard.
        if (c.timeLimitSec !== null) break;
        throw new UsageError(`merge: unit ${u} of ${c.families[fi]} is in no shard file (was a shard cut short?)`);
      }
      if (!fold.add(w)) break outer;
      if (fold.folds[fi]!.done) break;
    }
  }
  const elapsedMs = Math.max(...files.map((f) => f.data.elapsedMs));
  const target = {
    config: c.config, ...(c.mutant !== null ? { mutant: c.mutant } : {}), ...(c.variant !== null ? { variantName: c.variant } : {}),
    families: c.families.map((name) => ({ name })),
  };
  const command = files[0]!.data.command;
  const out = outFlag ?? DEFAULT_OUT;
  if (command === 'coverage') {
    const { mergeCoverageShards } = await import('./coverage.js');
    return mergeCoverageShards(io, c, fold, target, elapsedMs, json, out);
  }
  const names = { config: c.config, mutant: c.mutant, variant: c.variant, families: c.families };
  if (!json) io.stdout(checkHeader(names, c.strategy, c.runs, c.seed, c.timeLimitSec ?? undefined, c.faultInjection));
  const result = await finishCheck(io, {
    target, strategy: c.strategy, seed: c.seed, runs: c.runs, out,
    onViolation: (fv, cx, file) => {
      if (!json) io.stdout(violationText(fv, cx, file));
    },
  }, fold, elapsedMs);
  if (json) io.stdout(JSON.stringify(result) + '\n');
  else io.stdout(checkSummary(result, c.faultInjection));
  return result.violations.length > 0 ? EXIT_VIOLATION : EXIT_OK;
}

/** Fold an explore search's shards: every subtree in order, as one process searching them all. */
async function mergeExplore(io: CliIO, files: readonly { file: string; data: ShardFile<ExploreShardCampaign, ExploreUnitWire[]> }[], outFlag: string | undefined, json: boolean): Promise<number> {
  const c = files[0]!.data.campaign;
  const units = new Map<number, ExploreUnitWire>();
  for (const f of files) for (const w of f.data.results) units.set(w.unit, w);
  // With a time limit, subtrees may never have been searched (the fold reports the space as not covered).
  if (c.timeLimitSec === null) {
    for (let k = 0; k < c.prefixes.length; k++) if (!units.has(k)) throw new UsageError(`merge: subtree ${k} of the explore search is in no shard file (was a shard cut short?)`);
  }
  const elapsedMs = Math.max(...files.map((f) => f.data.elapsedMs));
  return finishExplore(io, c, [...units.values()], elapsedMs, outFlag ?? DEFAULT_OUT, json);
}
