/**
 * faultline check --config C [--mutant M | --variant FILE] [--scenario S]
 *   [--strategy random|pct|dfs|portfolio|guided] [--runs N] [--seed S] [--time-limit SEC]
 *   [--fault-injection P] [--out DIR] [--json]
 *
 * Exit 0: no violation; 1: a violation (its counterexample written to DIR); 2: bad usage or input.
 */
import { basename, join, resolve } from 'node:path';
import type { CampaignSpec, FoundViolation, StrategyName } from '../properties/api.js';
import type { CoverageJson } from '../properties/coverage.js';
import { CampaignFold } from '../properties/campaign_fold.js';
import { makeCounterexample, writeCounterexample, type Counterexample } from '../properties/counterexample.js';
import { bool, choiceFlag, intFlag, parseArgs, secondsFlag, shareFlag, str, type CommandSpec } from './args.js';
import { defaultBackend, type Backend } from './backend.js';
import { EXIT_OK, EXIT_VIOLATION, shellQuote, UsageError, type CliIO } from './io.js';
import { Progress } from './progress.js';
import { resolveTarget, type Target, type TargetFlags } from './target.js';
import { SHARD_FORMAT, shardFlags, writeShardFile, type Shard, type ShardFile } from './shard.js';
import type { WorkerPool } from './pool.js';
import { counterexampleInput, defaultJobs, executeUnits, type Counters, type UnitCampaign, type UnitWire, type ViolationWire } from './units.js';
import { version } from './version.js';

export const STRATEGIES: readonly StrategyName[] = ['random', 'pct', 'dfs', 'portfolio', 'guided'];
export const DEFAULT_RUNS = 2000;
export const DEFAULT_SEED = 1;
export const DEFAULT_OUT = 'counterexamples';
export const MAX_JOBS = 256;

export const CHECK_SPEC: CommandSpec = {
  name: 'check',
  flags: {
    config: { type: 'string', value: 'C' },
    mutant: { type: 'string', value: 'M' },
    variant: { type: 'string', value: 'FILE' },
    scenario: { type: 'string', value: 'S' },
    strategy: { type: 'string', value: STRATEGIES.join('|') },
    runs: { type: 'string', value: 'N' },
    seed: { type: 'string', value: 'S' },
    'time-limit': { type: 'string', value: 'SEC' },
    'fault-injection': { type: 'string', value: 'P' },
    out: { type: 'string', value: 'DIR' },
    json: { type: 'boolean' },
    jobs: { type: 'string', value: 'N' },
    shard: { type: 'string', value: 'I/N' },
    shards: { type: 'string', value: 'N' },
  },
};

export const CHECK_USAGE = `usage: faultline check --config C [--mutant M | --variant FILE] [--scenario S]
         [--strategy random|pct|dfs|portfolio|guided] [--runs N] [--seed S] [--time-limit SEC]
         [--fault-injection P] [--out DIR] [--json] [--jobs N] [--shard I/N | --shards N]

  Run N executions (default ${DEFAULT_RUNS}) of each scenario family (or only S) on configuration C,
  a zoo mutant M (implies its configuration and scenario family) or a variant module FILE — the
  general generator (random) first, then the directed families — under the strategy (default
  portfolio; guided: PCT whose preemptions fall where the threads touch the same kernel objects),
  seed S (default ${DEFAULT_SEED}), stopping at the first violation.
  --fault-injection P runs a share P (0..1) of the scenarios with allocation failures and I/O
  errors injected at the kernel's failure points (default 0).
  Counterexamples are written to DIR (default ./${DEFAULT_OUT}/).
  --jobs N runs the campaign on N worker threads (default: the machine's cores); the executions,
  the first violation and its counterexample do not depend on N.
  --shard I/N runs shard I (from 0) of N of the campaign (every N-th unit of 16 executions) and
  writes DIR/shard-I-of-N.json; --shards N takes I from JOB_COMPLETION_INDEX (Kubernetes Indexed
  Job) or SLURM_ARRAY_TASK_ID. \`faultline merge DIR…\` gives the whole campaign's result.
  Exit 0: no violation (a shard: its file was written), 1: a violation was found, 2: bad usage or input.`;

export interface CheckViolationJson {
  /** The scenario family whose run broke it ('random': the general generator). */
  readonly family: string;
  readonly property: string;
  readonly message: string;
  readonly file: string;
  readonly executionsToFind: number;
  readonly tasks: number;
  readonly steps: number;
  readonly preemptions: number;
}

export interface CheckJson {
  readonly config: string;
  readonly mutant: string | null;
  readonly variant: string | null;
  readonly scenario: string;
  readonly strategy: StrategyName;
  readonly seed: number;
  readonly runs: number;
  readonly executions: number;
  readonly elapsedMs: number;
  readonly violations: readonly CheckViolationJson[];
  /** Executions whose verdict is unknown (e.g. the linearizability budget ran out): never a pass. */
  readonly unknown: number;
  /** Executions in which at least one failure was injected (--fault-injection). */
  readonly injected: number;
}

export interface CheckRun {
  readonly target: Target;
  readonly strategy: StrategyName;
  readonly runs: number;
  readonly seed: number;
  readonly timeLimitSec?: number;
  /** The share of scenarios run with fault injection (CampaignSpec.faultInjection). */
  readonly faultInjection?: number;
  /** As given (relative to io.cwd, or absolute). */
  readonly out: string;
  readonly createdBy: string;
  /** Called with (executions so far in this family, family name, family index). */
  readonly onProgress?: (executions: number, family: string, index: number) => void;
  /** Called for each violation found, with its counterexample and the path written. */
  readonly onViolation?: (fv: FoundLike, cx: Counterexample, file: string) => void;
  /** Record the campaign's coverage (faultline coverage, verify). */
  readonly coverage?: CampaignSpec['coverage'];
  /** Worker threads (default 1: this thread, through backend.runCampaign). */
  readonly jobs?: number;
  /** Live counts for the progress line. */
  readonly started?: (c: Counters) => void;
  /** Run on this pool of worker threads (left open: a test's campaigns share one). */
  readonly pool?: WorkerPool;
}

export function replayCommand(file: string): string {
  return `npx faultline replay ${shellQuote(file)}`;
}

/** The counterexample of a found violation. */
export function counterexampleOf(target: Target, fv: FoundViolation, createdBy: string, out: string): Counterexample {
  return makeCounterexample(counterexampleInput(target, fv, createdBy), (name) => replayCommand(join(out, name)));
}

/** The names a check's result shows. */
export interface CheckNames {
  readonly config: string;
  readonly mutant?: string;
  readonly variantName?: string;
  readonly families: readonly { readonly name: string }[];
}

/** What check prints of a violation. */
export interface FoundLike {
  readonly property: string;
  readonly message: string;
  /** From the start of its family's campaign. */
  readonly executionsToFind: number;
}

/** Run the campaigns of a check; write the counterexamples. */
export async function runCheck(backend: Backend, io: CliIO, c: CheckRun): Promise<CheckJson> {
  // Worker threads load the real checker: a test's fake backend runs in this thread.
  if (((c.jobs ?? 1) > 1 || c.pool !== undefined) && backend === defaultBackend) return runCheckParallel(io, c);
  const t0 = Date.now();
  const deadline = c.timeLimitSec !== undefined ? t0 + c.timeLimitSec * 1000 : undefined;
  let executions = 0;
  let unknown = 0;
  let injected = 0;
  const violations: CheckViolationJson[] = [];
  const fams = c.target.families;
  for (let i = 0; i < fams.length; i++) {
    const fam = fams[i]!;
    let timeLimitMs: number | undefined;
    if (deadline !== undefined) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      timeLimitMs = Math.max(1, Math.floor(left / (fams.length - i)));
    }
    const res = await backend.runCampaign({
      variant: c.target.variant,
      family: fam.name,
      strategy: c.strategy,
      runs: c.runs,
      seed: c.seed,
      ...(timeLimitMs !== undefined ? { timeLimitMs } : {}),
      ...(c.faultInjection ? { faultInjection: c.faultInjection } : {}),
      stopAtFirst: true,
      ...(c.coverage !== undefined ? { coverage: c.coverage } : {}),
      ...(c.onProgress ? { onProgress: (n: number) => c.onProgress!(n, fam.name, i) } : {}),
    });
    executions += res.executions;
    unknown += res.unknown;
    injected += res.injectedRuns ?? 0;
    for (const fv of res.violations) {
      const cx = counterexampleOf(c.target, fv, c.createdBy, c.out);
      const written = await writeCounterexample(resolve(io.cwd, c.out), cx);
      const file = join(c.out, basename(written));
      c.onViolation?.(fv, cx, file);
      violations.push({
        family: fam.name, property: fv.property, message: fv.message, file, executionsToFind: executions - res.executions + fv.executionsToFind,
        tasks: fv.tasks, steps: fv.report.steps, preemptions: fv.report.preemptions,
      });
    }
    if (violations.length > 0) break;
  }
  return checkJson(c, { executions, elapsedMs: Date.now() - t0, violations, unknown, injected });
}

/** The CheckJson of a campaign of c with these totals (one process, workers and merged shards alike). */
function checkJson(
  c: Pick<CheckRun, 'strategy' | 'seed' | 'runs'> & { readonly target: CheckNames },
  totals: Pick<CheckJson, 'executions' | 'elapsedMs' | 'violations' | 'unknown' | 'injected'>,
): CheckJson {
  const fams = c.target.families;
  return {
    config: c.target.config,
    mutant: c.target.mutant ?? null,
    variant: c.target.variantName ?? null,
    scenario: fams.length === 1 ? fams[0]!.name : 'all',
    strategy: c.strategy,
    seed: c.seed,
    runs: c.runs,
    ...totals,
  };
}

function unitCampaign(c: CheckRun): UnitCampaign {
  return {
    target: c.target, strategy: c.strategy, runs: c.runs, seed: c.seed, faultInjection: c.faultInjection ?? 0,
    ...(c.timeLimitSec !== undefined ? { timeLimitSec: c.timeLimitSec } : {}), coverage: c.coverage !== undefined, createdBy: c.createdBy,
  };
}

/** Fold units (in order) the way one process runs the families in turn: the check's result. */
export class CheckFold {
  readonly folds: CampaignFold<ViolationWire>[];
  /** Units taken, in order (their coverage counts). */
  readonly taken: UnitWire[] = [];
  stopped = false;
  constructor(families: number) {
    this.folds = Array.from({ length: families }, () => new CampaignFold<ViolationWire>(true, (v, executionsToFind) => ({ ...v, executionsToFind })));
  }

  /** false: the check is over (a violation). */
  add(w: UnitWire): boolean {
    if (this.stopped) return false;
    const f = this.folds[w.fam]!;
    if (f.done) return true; // after the unit its time slot cut short
    f.add(w);
    this.taken.push(w);
    if (f.violations.length > 0) this.stopped = true;
    return !this.stopped;
  }

  /** The violations, each with its family's index and executionsToFind from the check's start, in order. */
  violations(): { v: ViolationWire; fam: number; fromCheckStart: number }[] {
    const out: { v: ViolationWire; fam: number; fromCheckStart: number }[] = [];
    let before = 0;
    this.folds.forEach((f, fam) => {
      for (const v of f.violations) out.push({ v, fam, fromCheckStart: before + v.executionsToFind });
      before += f.executions;
    });
    return out;
  }
}

/** The check's JSON from its folded units; writes the counterexamples to c.out. */
export async function finishCheck(io: CliIO, c: Pick<CheckRun, 'strategy' | 'seed' | 'runs' | 'out' | 'onViolation' | 'coverage'> & { readonly target: CheckNames }, fold: CheckFold, elapsedMs: number): Promise<CheckJson> {
  const violations: CheckViolationJson[] = [];
  for (const { v, fam, fromCheckStart } of fold.violations()) {
    const cx = makeCounterexample(v.cx, (name) => replayCommand(join(c.out, name)));
    const written = await writeCounterexample(resolve(io.cwd, c.out), cx);
    const file = join(c.out, basename(written));
    c.onViolation?.(v, cx, file);
    violations.push({
      family: c.target.families[fam]!.name, property: v.property, message: v.message, file, executionsToFind: fromCheckStart, tasks: v.tasks, steps: v.steps, preemptions: v.preemptions,
    });
  }
  if (c.coverage !== undefined) for (const w of fold.taken) if (w.coverage) c.coverage.merge(w.coverage);
  return checkJson(c, {
    executions: fold.folds.reduce((a, f) => a + f.executions, 0),
    elapsedMs,
    violations,
    unknown: fold.folds.reduce((a, f) => a + f.unknown, 0),
    injected: fold.folds.reduce((a, f) => a + f.injectedRuns, 0),
  });
}

/** runCheck on worker threads: units in order, folded as one process would. */
async function runCheckParallel(io: CliIO, c: CheckRun): Promise<CheckJson> {
  const t0 = Date.now();
  const fold = new CheckFold(c.target.families.length);
  await executeUnits(io.cwd, unitCampaign(c), {
    jobs: c.jobs ?? 1, select: () => true, consume: (w) => fold.add(w), ...(c.started ? { started: c.started } : {}),
    ...(c.pool !== undefined ? { pool: c.pool } : {}),
  });
  return finishCheck(io, c, fold, Date.now() - t0);
}

/** What names the tool and the target of a sharded campaign (check's and explore's shard headers). */
export interface ShardTargetHeader {
  readonly faultline: string;
  readonly target: TargetFlags;
  readonly config: string;
  readonly mutant: string | null;
  readonly variant: string | null;
  readonly variantFile: string | null;
}

/** What every shard of one check campaign has the same (merge refuses shards that differ). */
export interface CheckShardCampaign extends ShardTargetHeader {
  readonly families: readonly string[];
  readonly strategy: StrategyName;
  readonly runs: number;
  readonly seed: number;
  readonly faultInjection: number;
  readonly timeLimitSec: number | null;
  readonly coverage: boolean;
  readonly createdBy: string;
}

/** Run shard `shard` of the check's units (every count-th from index): its units, in order. */
export async function runCheckShard(io: CliIO, c: CheckRun, shard: Shard, command: 'check' | 'coverage'): Promise<ShardFile<CheckShardCampaign, UnitWire[]>> {
  const t0 = Date.now();
  const units: UnitWire[] = [];
  // Each unit's coverage as what the shard's earlier units had not reached: merge keeps a prefix of
  // every shard's units (those before the campaign's first violation), whose union is unchanged.
  const known = { functions: new Set<string>(), labels: new Set<string>(), lockPairs: new Set<string>() };
  const fresh = (xs: readonly string[], set: Set<string>) => xs.filter((x) => !set.has(x) && (set.add(x), true));
  const delta = (cv: CoverageJson): CoverageJson => ({
    functions: fresh(cv.functions, known.functions), labels: fresh(cv.labels, known.labels), lockPairs: fresh(cv.lockPairs, known.lockPairs), runs: cv.runs,
  });
  await executeUnits(io.cwd, unitCampaign(c), {
    jobs: c.jobs ?? 1,
    select: (g) => g % shard.count === shard.index,
    // A violation ends the shard: no later unit can count (the whole check stops at its first).
    consume: (w) => {
      units.push(w.coverage !== undefined ? { ...w, coverage: delta(w.coverage) } : w);
      return w.violations.length === 0;
    },
    ...(c.started ? { started: c.started } : {}),
  });
  const t = c.target;
  return {
    format: SHARD_FORMAT, version: 1, command, shard,
    campaign: {
      faultline: version(), target: t.flags ?? {}, config: t.config, mutant: t.mutant ?? null, variant: t.variantName ?? null, variantFile: t.variantFile ?? null,
      families: t.families.map((f) => f.name), strategy: c.strategy, runs: c.runs, seed: c.seed, faultInjection: c.faultInjection ?? 0,
      timeLimitSec: c.timeLimitSec ?? null, coverage: c.coverage !== undefined, createdBy: c.createdBy,
    },
    results: units,
    elapsedMs: Date.now() - t0,
  };
}

export function createdBy(cmd: string, strategy: string, seed: number): string {
  return `faultline ${version()} ${cmd} (strategy ${strategy}, seed ${seed})`;
}

/** The header line check prints (and merge, for a check's shards). */
export function checkHeader(t: { config: string; mutant: string | null; variant: string | null; families: readonly string[] }, strategy: string, runs: number, seed: number, timeLimitSec: number | undefined, faultInjection: number): string {
  const what = t.mutant ? `mutant ${t.mutant} on ${t.config}` : t.variant ? `variant ${t.variant} on ${t.config}` : t.config;
  const scen = t.families.length === 1 ? t.families[0]! : `${t.families.length} scenario families`;
  return `faultline check: ${what}, ${scen}, strategy ${strategy}, ${runs} runs, seed ${seed}${timeLimitSec !== undefined ? `, time limit ${timeLimitSec}s` : ''}${faultInjection > 0 ? `, fault injection in ${faultInjection * 100}% of scenarios` : ''}\n`;
}

/** What check prints of a violation found (text mode). */
export function violationText(fv: FoundLike, cx: Counterexample, file: string): string {
  const out: string[] = [`\nVIOLATION ${fv.property} (${cx.scenario.family}): ${fv.message}\n`];
  for (const l of cx.violation.report.slice(0, 12)) out.push(`    ${l}\n`);
  if (cx.violation.report.length > 12) out.push(`    … (${cx.violation.report.length - 12} more lines: see the replay)\n`);
  out.push(`  found after ${fv.executionsToFind} execution(s) of ${cx.scenario.family}: ${cx.tasks} tasks, ${cx.steps} steps, ${cx.preemptions} preemption(s)\n`);
  out.push(`  counterexample: ${file}\n`);
  out.push(`  replay: ${cx.command}\n`);
  return out.join('');
}

/** check's last lines (text mode). */
export function checkSummary(result: CheckJson, faultInjection: number): string {
  const secs = (result.elapsedMs / 1000).toFixed(1);
  let out = '';
  if (result.unknown > 0) out += `warning: ${result.unknown} execution(s) ended with an unknown verdict (not a pass)\n`;
  const inj = faultInjection > 0 ? `, ${result.injected} with injected failures` : '';
  out += result.violations.length === 0
    ? `no violation in ${result.executions} executions${inj} (${secs}s)\n`
    : `\n${result.violations.length} violation(s) found in ${result.executions} executions (${secs}s)\n`;
  return out;
}

export async function checkCommand(argv: readonly string[], io: CliIO, backend: Backend): Promise<number> {
  const p = parseArgs(CHECK_SPEC, argv);
  if (p.help) {
    io.stdout(CHECK_USAGE + '\n');
    return EXIT_OK;
  }
  const strategy = choiceFlag(p, 'check', 'strategy', STRATEGIES, 'portfolio');
  const runs = intFlag(p, 'check', 'runs', DEFAULT_RUNS, 1);
  const seed = intFlag(p, 'check', 'seed', DEFAULT_SEED, 0, 0xffffffff);
  const timeLimitSec = secondsFlag(p, 'check', 'time-limit');
  const faultInjection = shareFlag(p, 'check', 'fault-injection');
  const jobs = intFlag(p, 'check', 'jobs', defaultJobs(), 1, MAX_JOBS);
  const shard = shardFlags(p, 'check');
  const out = str(p, 'out') ?? DEFAULT_OUT;
  const json = bool(p, 'json');
  const target = await resolveTarget('check', backend, io, {
    config: str(p, 'config'), mutant: str(p, 'mutant'), variant: str(p, 'variant'), scenario: str(p, 'scenario'),
  }, false);
  if (shard !== undefined && backend !== defaultBackend) throw new UsageError('check: --shard needs the real checker');

  const names = { config: target.config, mutant: target.mutant ?? null, variant: target.variantName ?? null, families: target.families.map((f) => f.name) };
  if (!json) io.stdout(checkHeader(names, strategy, runs, seed, timeLimitSec, faultInjection));
  const progress = new Progress(io);
  const nf = target.families.length;
  let counters: Counters | null = null;
  let seqDone = 0;
  let seqViol = 0;
  const t0 = Date.now();
  const deadline = timeLimitSec !== undefined ? t0 + timeLimitSec * 1000 : undefined;
  progress.start(() => ({
    executions: counters?.executions() ?? seqDone, violations: counters?.violations() ?? seqViol,
    total: shard !== undefined ? Math.ceil((nf * runs) / shard.count) : nf * runs, ...(deadline !== undefined ? { deadline } : {}),
  }));
  const run: CheckRun = {
    target, strategy, runs, seed, out, createdBy: createdBy('check', strategy, seed), jobs,
    ...(timeLimitSec !== undefined ? { timeLimitSec } : {}),
    ...(faultInjection > 0 ? { faultInjection } : {}),
    started: (c) => void (counters = c),
    onProgress: (n, _fam, i) => {
      seqDone = i * runs + n;
      progress.poke();
    },
    onViolation: (fv, cx, file) => {
      seqViol++;
      if (json) return;
      progress.clear();
      io.stdout(violationText(fv, cx, file));
    },
  };
  if (shard !== undefined) {
    let file: ShardFile<CheckShardCampaign, UnitWire[]>;
    try {
      file = await runCheckShard(io, run, shard, 'check');
    } finally {
      progress.stop();
    }
    return reportShard(io, out, file, json);
  }
  let result: CheckJson;
  try {
    result = await runCheck(backend, io, run);
  } finally {
    progress.stop();
  }
  if (json) io.stdout(JSON.stringify(result) + '\n');
  else io.stdout(checkSummary(result, faultInjection));
  return result.violations.length > 0 ? EXIT_VIOLATION : EXIT_OK;
}

/** Write a shard's file and say so; exit 0 (the verdict is merge's). */
export async function reportShard(io: CliIO, out: string, file: ShardFile<unknown, UnitWire[]>, json: boolean): Promise<number> {
  const path = await writeShardFile(resolve(io.cwd, out), file);
  const shown = join(out, basename(path));
  if (json) {
    io.stdout(JSON.stringify(file) + '\n');
  } else {
    const units = file.results;
    const execs = units.reduce((a, w) => a + w.executions, 0);
    const viol = units.reduce((a, w) => a + w.violations.length, 0);
    io.stdout(`shard ${file.shard.index}/${file.shard.count}: ${units.length} unit(s), ${execs} executions, ${viol} violation(s) (${(file.elapsedMs / 1000).toFixed(1)}s)\n`);
    io.stdout(`wrote ${shown}: faultline merge gives the campaign's result\n`);
  }
  return EXIT_OK;
}
