/**
 * faultline explore --config C [--mutant M | --variant FILE] --scenario S [--preemptions K] [--json]
 *   [--reduction dpor|cache|none] [--runs N] [--seed S] [--time-limit SEC] [--out DIR]
 *   [--split D] [--jobs N] [--shard I/N | --shards N]
 *
 * Exhaustive search of the scenario's interleavings within K preemptions (properties/explore.ts):
 * by default with dynamic partial-order reduction. Reports the executions, the distinct states,
 * the executions the reduction and the cache cut short, whether the space was covered, and the
 * violations (counterexamples written to DIR). A progress line on stderr.
 *
 * --split D cuts the search into the subtrees of its first D branching decisions
 * (properties/explore_split.ts), searched apart on --jobs N worker threads or as shards
 * (cli/explore_units.ts) and folded in order: the result is a function of D, never of N or of the
 * number of shards.
 */
import { basename, join, resolve } from 'node:path';
import { makeCounterexample, writeCounterexample } from '../properties/counterexample.js';
import { bool, intFlag, parseArgs, secondsFlag, str, type CommandSpec } from './args.js';
import { defaultBackend, type Backend } from './backend.js';
import { counterexampleOf, createdBy, DEFAULT_OUT, DEFAULT_SEED, MAX_JOBS, replayCommand, type CheckViolationJson, type ShardTargetHeader } from './check.js';
import { EXIT_OK, EXIT_VIOLATION, UsageError, type CliIO } from './io.js';
import { Progress } from './progress.js';
import { resolveTarget, type Target, type TargetFlags } from './target.js';
import { SHARD_FORMAT, shardFlags, writeShardFile, type Shard, type ShardFile } from './shard.js';
import { defaultJobs, type Counters, type ViolationWire } from './units.js';
import { executeExploreUnits, scenarioSeed, type ExploreUnitWire } from './explore_units.js';
import { version } from './version.js';

export const DEFAULT_PREEMPTIONS = 2;
export const DEFAULT_EXPLORE_RUNS = 1_000_000;

export const EXPLORE_SPEC: CommandSpec = {
  name: 'explore',
  flags: {
    config: { type: 'string', value: 'C' },
    mutant: { type: 'string', value: 'M' },
    variant: { type: 'string', value: 'FILE' },
    scenario: { type: 'string', value: 'S' },
    preemptions: { type: 'string', value: 'K' },
    reduction: { type: 'string', value: 'R' },
    runs: { type: 'string', value: 'N' },
    seed: { type: 'string', value: 'S' },
    'time-limit': { type: 'string', value: 'SEC' },
    out: { type: 'string', value: 'DIR' },
    json: { type: 'boolean' },
    split: { type: 'string', value: 'D' },
    jobs: { type: 'string', value: 'N' },
    shard: { type: 'string', value: 'I/N' },
    shards: { type: 'string', value: 'N' },
  },
};

export const MAX_SPLIT = 12;

export const EXPLORE_USAGE = `usage: faultline explore --config C [--mutant M | --variant FILE] --scenario S [--preemptions K] [--json]
         [--reduction dpor|cache|none] [--runs N] [--seed S] [--time-limit SEC] [--out DIR]
         [--split D] [--jobs N] [--shard I/N | --shards N]

  Exhaustive search of every interleaving of the scenario (the family's instance for seed S,
  default ${DEFAULT_SEED}) with at most K preemptions (default ${DEFAULT_PREEMPTIONS}), up to N executions
  (default ${DEFAULT_EXPLORE_RUNS}). --reduction dpor (default): one execution per class of
  interleavings that differ only in the order of independent steps (dynamic partial-order
  reduction); cache: every schedule, but an execution stops at a state already explored; none:
  every schedule (plain DFS). Reports the executions, the distinct states, the executions cut short
  by the reduction and by the cache, whether the space was covered, and the violations
  (counterexamples written to DIR, default ./${DEFAULT_OUT}/).
  --split D (default 0: one search) cuts the search into the subtrees of its first D branching
  scheduling decisions, each searched on its own (its own state cache and sleep sets; --runs N is
  per subtree) and folded in order: the first violation of each property is the earliest
  subtree's. --jobs N searches the subtrees on N worker threads (default: the machine's cores);
  --shard I/N searches every N-th subtree from the I-th and writes DIR/shard-I-of-N.json (--shards N:
  I from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID); faultline merge DIR… gives the whole
  search's result. The result depends on D, never on N or on the shards.
  Exit 0: no violation, 1: a violation was found, 2: bad usage or input.`;

/** What explore reports (--json), from one search or from its subtrees folded. */
export interface ExploreJson {
  readonly config: string;
  readonly mutant: string | null;
  readonly variant: string | null;
  readonly scenario: string;
  readonly scenarioName: string;
  readonly seed: number;
  readonly preemptions: number;
  readonly reduction: string;
  /** The depth of the subtrees (0: one search) and their number. */
  readonly split: number;
  readonly subtrees: number;
  readonly executions: number;
  /** Distinct states (split: the sum of each subtree's distinct states). */
  readonly states: number | null;
  readonly prunedByReduction: number;
  readonly prunedByCache: number;
  readonly cacheBytesPerState: number | null;
  readonly complete: boolean;
  readonly elapsedMs: number;
  readonly violations: readonly CheckViolationJson[];
  readonly unknown: number;
}

/** What every shard of one split search has the same (merge refuses shards that differ). */
export interface ExploreShardCampaign extends ShardTargetHeader {
  readonly scenario: string;
  readonly scenarioName: string;
  readonly seed: number;
  readonly preemptions: number;
  readonly reduction: 'dpor' | 'cache' | 'none';
  readonly runs: number;
  readonly split: number;
  readonly prefixes: readonly string[];
  readonly timeLimitSec: number | null;
  readonly createdBy: string;
}

function howText(reduction: string): string {
  return reduction === 'dpor' ? 'partial-order reduction' : reduction === 'cache' ? 'every schedule, state cache' : 'every schedule';
}

/** explore's output (text or --json) and exit code; `commands` are the violations' replay commands. */
export function printExplore(io: CliIO, r: ExploreJson, commands: readonly string[], json: boolean): number {
  if (json) {
    io.stdout(JSON.stringify(r) + '\n');
  } else {
    const what = r.mutant ? `mutant ${r.mutant} on ${r.config}` : r.variant ? `variant ${r.variant} on ${r.config}` : r.config;
    io.stdout(`faultline explore: ${what}, ${r.scenarioName} (${r.scenario}, seed ${r.seed}), at most ${r.preemptions} preemption(s), ${howText(r.reduction)}\n`);
    if (r.split > 0) io.stdout(`split at the first ${r.split} branching decision(s) into ${r.subtrees} subtree(s), searched apart\n`);
    io.stdout(`${r.executions} executions in ${(r.elapsedMs / 1000).toFixed(1)}s: ${r.complete ? 'the whole space was covered' : 'the space was NOT covered (execution or time limit reached)'}\n`);
    const cut: string[] = [];
    if (r.reduction !== 'none') cut.push(`${r.prunedByReduction} cut short by the reduction`, `${r.prunedByCache} by the cache`);
    const states = r.states === null ? 'states not tracked' : r.split > 0 ? `${r.states} states (distinct within each subtree, summed)` : `${r.states} distinct states`;
    io.stdout(`${states}${cut.length ? `; ${cut.join(', ')}` : ''}${r.cacheBytesPerState ? ` (cache: ${r.cacheBytesPerState} bytes per state)` : ''}\n`);
    if (r.unknown > 0) io.stdout(`warning: ${r.unknown} execution(s) ended with an unknown verdict (not a pass)\n`);
    if (r.violations.length === 0) io.stdout('no violation\n');
    r.violations.forEach((v, i) => {
      io.stdout(`\nVIOLATION ${v.property}: ${v.message}\n  after ${v.executionsToFind} execution(s): ${v.tasks} tasks, ${v.steps} steps, ${v.preemptions} preemption(s)\n  counterexample: ${v.file}\n  replay: ${commands[i]}\n`);
    });
  }
  return r.violations.length > 0 ? EXIT_VIOLATION : EXIT_OK;
}

export async function exploreCommand(argv: readonly string[], io: CliIO, backend: Backend): Promise<number> {
  const p = parseArgs(EXPLORE_SPEC, argv);
  if (p.help) {
    io.stdout(EXPLORE_USAGE + '\n');
    return EXIT_OK;
  }
  const preemptions = intFlag(p, 'explore', 'preemptions', DEFAULT_PREEMPTIONS, 0, 1000);
  const runs = intFlag(p, 'explore', 'runs', DEFAULT_EXPLORE_RUNS, 1);
  const seed = intFlag(p, 'explore', 'seed', DEFAULT_SEED, 0, 0xffffffff);
  const timeLimitSec = secondsFlag(p, 'explore', 'time-limit');
  const split = intFlag(p, 'explore', 'split', 0, 0, MAX_SPLIT);
  const jobs = intFlag(p, 'explore', 'jobs', defaultJobs(), 1, MAX_JOBS);
  const shard = shardFlags(p, 'explore');
  const out = str(p, 'out') ?? DEFAULT_OUT;
  const json = bool(p, 'json');
  const reduction = str(p, 'reduction') ?? 'dpor';
  if (reduction !== 'dpor' && reduction !== 'cache' && reduction !== 'none') {
    throw new UsageError(`explore: --reduction must be dpor, cache or none, not "${reduction.length > 20 ? reduction.slice(0, 17) + '...' : reduction}"`);
  }
  const target = await resolveTarget('explore', backend, io, {
    config: str(p, 'config'), mutant: str(p, 'mutant'), variant: str(p, 'variant'), scenario: str(p, 'scenario'),
  }, true);
  const fam = target.families[0]!;
  const scenario = fam.generate(scenarioSeed(seed));
  const by = createdBy('explore', `${reduction === 'dpor' ? 'dpor' : reduction === 'cache' ? 'dfs with state cache' : 'dfs'}, ${preemptions} preemptions${split > 0 ? `, split ${split}` : ''}`, seed);
  const head = {
    config: target.config, mutant: target.mutant ?? null, variant: target.variantName ?? null, scenario: fam.name, scenarioName: scenario.name, seed, preemptions,
  };
  if (split > 0 || shard !== undefined) {
    if (backend !== defaultBackend) throw new UsageError(`explore: ${shard !== undefined ? '--shard' : '--split'} needs the real checker`);
    const { exploreSubtrees } = await import('../properties/explore_split.js');
    const { formatPrefix } = await import('../impl/rt/schedulers/subtrees.js');
    const prefixes = exploreSubtrees(target.variant, scenario, preemptions, split, reduction).map((s) => formatPrefix(s.prefix));
    const campaign: ExploreShardCampaign = {
      faultline: version(), target: target.flags ?? {}, config: target.config, mutant: target.mutant ?? null, variant: target.variantName ?? null,
      variantFile: target.variantFile ?? null, scenario: fam.name, scenarioName: scenario.name, seed, preemptions, reduction, runs, split, prefixes,
      timeLimitSec: timeLimitSec ?? null, createdBy: by,
    };
    return exploreUnits(io, target, campaign, jobs, shard, out, json);
  }
  const progress = new Progress(io);
  const res = await backend.explore({
    variant: target.variant, scenario, preemptions, maxExecutions: runs, reduction,
    ...(timeLimitSec !== undefined ? { timeLimitMs: Math.ceil(timeLimitSec * 1000) } : {}),
    onProgress: (n, more) => progress.update(n, runs, more === undefined ? `${fam.name}: ${n} executions`
      : `${n} executions, ${more.states} states, ${more.prunedByReduction + more.prunedByCache} cut short, ${(more.elapsedMs / 1000).toFixed(0)}s`),
  });
  progress.clear();
  const violations: CheckViolationJson[] = [];
  const commands: string[] = [];
  for (const fv of res.violations) {
    const cx = counterexampleOf(target, fv, by, out);
    const file = join(out, basename(await writeCounterexample(resolve(io.cwd, out), cx)));
    commands.push(cx.command);
    violations.push({ family: fam.name, property: fv.property, message: fv.message, file, executionsToFind: fv.executionsToFind, tasks: fv.tasks, steps: fv.report.steps, preemptions: fv.report.preemptions });
  }
  return printExplore(io, {
    ...head, reduction: res.reduction ?? reduction, split: 0, subtrees: 1, executions: res.executions, states: res.states ?? null,
    prunedByReduction: res.prunedByReduction ?? 0, prunedByCache: res.prunedByCache ?? 0, cacheBytesPerState: res.cacheBytesPerState ?? null,
    complete: res.complete ?? false, elapsedMs: Math.round(res.elapsedMs), violations, unknown: res.unknown,
  }, commands, json);
}

/** The split search: this process's subtrees (all, or a shard's), then the report or the shard file. */
async function exploreUnits(io: CliIO, target: Target, c: ExploreShardCampaign, jobs: number, shard: Shard | undefined, out: string, json: boolean): Promise<number> {
  const t0 = Date.now();
  const select = shard !== undefined ? (k: number) => k % shard.count === shard.index : () => true;
  let mine = 0;
  for (let k = 0; k < c.prefixes.length; k++) if (select(k)) mine++;
  let done = 0;
  const progress = new Progress(io);
  let counters: Counters | null = null;
  const deadline = c.timeLimitSec !== null ? t0 + c.timeLimitSec * 1000 : undefined;
  progress.start(() => ({
    executions: counters?.executions() ?? 0, violations: counters?.violations() ?? 0, ...(deadline !== undefined ? { deadline } : {}),
    label: `${done} of ${mine} subtrees`,
  }));
  const units: ExploreUnitWire[] = [];
  try {
    await executeExploreUnits(io.cwd, {
      target, seed: c.seed, preemptions: c.preemptions, reduction: c.reduction, runs: c.runs, prefixes: c.prefixes, createdBy: c.createdBy,
      ...(c.timeLimitSec !== null ? { timeLimitSec: c.timeLimitSec } : {}),
    }, {
      jobs, select, started: (x) => void (counters = x),
      consume: (w) => {
        units.push(w);
        done++;
        progress.poke();
      },
    });
  } finally {
    progress.stop();
  }
  if (shard !== undefined) {
    const file: ShardFile<ExploreShardCampaign, ExploreUnitWire[]> = {
      format: SHARD_FORMAT, version: 1, command: 'explore', shard, campaign: c, results: units, elapsedMs: Date.now() - t0,
    };
    const path = await writeShardFile(resolve(io.cwd, out), file);
    if (json) io.stdout(JSON.stringify(file) + '\n');
    else {
      const execs = units.reduce((a, w) => a + w.executions, 0);
      const viol = units.reduce((a, w) => a + w.violations.length, 0);
      io.stdout(`shard ${shard.index}/${shard.count}: ${units.length} of ${c.prefixes.length} subtree(s), ${execs} executions, ${viol} violation(s) (${(file.elapsedMs / 1000).toFixed(1)}s)\n`);
      io.stdout(`wrote ${join(out, basename(path))}: faultline merge gives the search's result\n`);
    }
    return EXIT_OK;
  }
  return finishExplore(io, c, units, Date.now() - t0, out, json);
}

/** Fold the subtrees' results in order, write the counterexamples, print: what one process gives (merge too). */
export async function finishExplore(io: CliIO, c: ExploreShardCampaign, units: readonly ExploreUnitWire[], elapsedMs: number, out: string, json: boolean): Promise<number> {
  const { foldSubtrees } = await import('../properties/explore_split.js');
  const byUnit: (ExploreUnitWire | undefined)[] = c.prefixes.map(() => undefined);
  for (const w of units) if (!w.skipped) byUnit[w.unit] = w;
  const fold = foldSubtrees<ViolationWire>(byUnit, (v, executionsToFind) => ({ ...v, executionsToFind }));
  const violations: CheckViolationJson[] = [];
  const commands: string[] = [];
  for (const v of fold.violations) {
    const cx = makeCounterexample(v.cx, (name) => replayCommand(join(out, name)));
    const file = join(out, basename(await writeCounterexample(resolve(io.cwd, out), cx)));
    commands.push(cx.command);
    violations.push({ family: c.scenario, property: v.property, message: v.message, file, executionsToFind: v.executionsToFind, tasks: v.tasks, steps: v.steps, preemptions: v.preemptions });
  }
  const bytes = byUnit.find((w) => w?.cacheBytesPerState != null)?.cacheBytesPerState ?? null;
  return printExplore(io, {
    config: c.config, mutant: c.mutant, variant: c.variant, scenario: c.scenario, scenarioName: c.scenarioName, seed: c.seed, preemptions: c.preemptions,
    reduction: c.reduction, split: c.split, subtrees: c.prefixes.length, executions: fold.executions, states: fold.states,
    prunedByReduction: fold.prunedByReduction, prunedByCache: fold.prunedByCache, cacheBytesPerState: bytes, complete: fold.complete,
    elapsedMs, violations, unknown: fold.unknown,
  }, commands, json);
}
