/**
 * faultline coverage [--config C] [--scenario S] [--strategy …] [--runs N] [--seed N] [--json]
 *
 * Runs the campaign `faultline check` would run with the same flags (every scenario family, or
 * only S; the portfolio strategy; N runs per family; seed N) and prints what it reached: kernel
 * functions of the table, step labels, lock classes held together — reached / total, and what was
 * never reached (properties/coverage.ts; the reasons known for an entry from coverage_reasons.ts).
 *
 * Exit 0; 1 when a violation stopped the campaign early (its counterexample is written, as by
 * check); 2 bad usage.
 */
import type { CoverageJson, CoverageReport } from '../properties/coverage.js';
import { bool, choiceFlag, intFlag, parseArgs, str, type CommandSpec } from './args.js';
import { defaultBackend, type Backend } from './backend.js';
import {
  createdBy, DEFAULT_OUT, DEFAULT_RUNS, DEFAULT_SEED, finishCheck, MAX_JOBS, reportShard, runCheck, runCheckShard, STRATEGIES,
  type CheckFold, type CheckNames, type CheckRun, type CheckShardCampaign, type CheckViolationJson,
} from './check.js';
import { EXIT_OK, EXIT_VIOLATION, UsageError, type CliIO } from './io.js';
import { shardFlags } from './shard.js';
import { defaultJobs, type Counters } from './units.js';
import { Progress } from './progress.js';
import { resolveTarget } from './target.js';

export const DEFAULT_COVERAGE_CONFIG = 'v6.6';

export const COVERAGE_SPEC: CommandSpec = {
  name: 'coverage',
  flags: {
    config: { type: 'string', value: 'C' },
    scenario: { type: 'string', value: 'S' },
    strategy: { type: 'string', value: STRATEGIES.join('|') },
    runs: { type: 'string', value: 'N' },
    seed: { type: 'string', value: 'N' },
    json: { type: 'boolean' },
    jobs: { type: 'string', value: 'N' },
    shard: { type: 'string', value: 'I/N' },
    shards: { type: 'string', value: 'N' },
    out: { type: 'string', value: 'DIR' },
  },
};

export const COVERAGE_USAGE = `usage: faultline coverage [--config C] [--scenario S] [--strategy random|pct|dfs|portfolio|guided] [--runs N] [--seed N] [--json]
         [--jobs N] [--shard I/N | --shards N] [--out DIR]

  Run the campaign \`faultline check\` runs with the same flags (configuration C, default ${DEFAULT_COVERAGE_CONFIG};
  every scenario family or only S; N runs per family, default ${DEFAULT_RUNS}; seed N, default ${DEFAULT_SEED})
  and print what it reached: the kernel functions of the table that ran, the step labels (yield
  points) reached, the lock classes held together; reached / total and the list never reached.
  --jobs N: on N worker threads (default: the machine's cores; the result does not depend on N).
  --shard I/N (or --shards N, I from JOB_COMPLETION_INDEX / SLURM_ARRAY_TASK_ID): run shard I of N
  and write DIR/shard-I-of-N.json; faultline merge gives the whole campaign's report.
  Exit 0; 1 when a violation stopped the campaign (its counterexample is written to DIR, default ./${DEFAULT_OUT}/);
  2 bad usage.`;

export interface CoverageCommandJson {
  readonly config: string;
  readonly scenario: string;
  readonly strategy: string;
  readonly runs: number;
  readonly seed: number;
  readonly executions: number;
  readonly elapsedMs: number;
  readonly violations: readonly CheckViolationJson[];
  readonly coverage: CoverageReport;
}

export async function coverageCommand(argv: readonly string[], io: CliIO, backend: Backend): Promise<number> {
  const p = parseArgs(COVERAGE_SPEC, argv);
  if (p.help) {
    io.stdout(COVERAGE_USAGE + '\n');
    return EXIT_OK;
  }
  const strategy = choiceFlag(p, 'coverage', 'strategy', STRATEGIES, 'portfolio');
  const runs = intFlag(p, 'coverage', 'runs', DEFAULT_RUNS, 1);
  const seed = intFlag(p, 'coverage', 'seed', DEFAULT_SEED, 0, 0xffffffff);
  const jobs = intFlag(p, 'coverage', 'jobs', defaultJobs(), 1, MAX_JOBS);
  const shard = shardFlags(p, 'coverage');
  const out = str(p, 'out') ?? DEFAULT_OUT;
  const json = bool(p, 'json');
  const target = await resolveTarget('coverage', backend, io, { config: str(p, 'config') ?? DEFAULT_COVERAGE_CONFIG, scenario: str(p, 'scenario') }, false);
  if (shard !== undefined && backend !== defaultBackend) throw new UsageError('coverage: --shard needs the real checker');
  const { CoverageCollector, coverageReport } = await import('../properties/coverage.js');
  const cov = new CoverageCollector();
  const nf = target.families.length;
  const scen = nf === 1 ? target.families[0]!.name : `${nf} scenario families`;
  if (!json) io.stdout(`faultline coverage: ${target.config}, ${scen}, strategy ${strategy}, ${runs} runs, seed ${seed}\n`);
  const progress = new Progress(io);
  let counters: Counters | null = null;
  let seqDone = 0;
  progress.start(() => ({ executions: counters?.executions() ?? seqDone, violations: counters?.violations() ?? 0, total: Math.ceil((nf * runs) / (shard?.count ?? 1)) }));
  const run: CheckRun = {
    target, strategy, runs, seed, out, createdBy: createdBy('coverage', strategy, seed), coverage: cov, jobs,
    started: (c) => void (counters = c),
    onProgress: (n, _fam, i) => {
      seqDone = i * runs + n;
      progress.poke();
    },
  };
  if (shard !== undefined) {
    let file;
    try {
      file = await runCheckShard(io, run, shard, 'coverage');
    } finally {
      progress.stop();
    }
    return reportShard(io, out, file, json);
  }
  let result;
  try {
    result = await runCheck(backend, io, run);
  } finally {
    progress.stop();
  }
  return printCoverage(io, { config: result.config, scenario: result.scenario, strategy, runs, seed, executions: result.executions, elapsedMs: result.elapsedMs, violations: result.violations, coverage: coverageReport(cov.toJSON()) }, json);
}

function printCoverage(io: CliIO, out: CoverageCommandJson, json: boolean): number {
  if (json) {
    io.stdout(JSON.stringify(out) + '\n');
  } else {
    io.stdout(`${out.executions} executions (${(out.elapsedMs / 1000).toFixed(1)}s)\n`);
    for (const v of out.violations) io.stdout(`VIOLATION ${v.property} stopped the campaign early: ${v.message}\n  counterexample: ${v.file}\n`);
    io.stdout(coverageText(out.coverage));
  }
  return out.violations.length > 0 ? EXIT_VIOLATION : EXIT_OK;
}

/** merge of coverage shards: the campaign's coverage report (a counterexample to `out`). */
export async function mergeCoverageShards(io: CliIO, c: CheckShardCampaign, fold: CheckFold, target: CheckNames, elapsedMs: number, json: boolean, out: string): Promise<number> {
  const { CoverageCollector, coverageReport } = await import('../properties/coverage.js');
  const cov = new CoverageCollector();
  const nf = c.families.length;
  const scen = nf === 1 ? c.families[0]! : `${nf} scenario families`;
  if (!json) io.stdout(`faultline coverage: ${c.config}, ${scen}, strategy ${c.strategy}, ${c.runs} runs, seed ${c.seed}\n`);
  const result = await finishCheck(io, { target, strategy: c.strategy, seed: c.seed, runs: c.runs, out, coverage: cov }, fold, elapsedMs);
  return printCoverage(io, {
    config: result.config, scenario: result.scenario, strategy: c.strategy, runs: c.runs, seed: c.seed, executions: result.executions,
    elapsedMs, violations: result.violations, coverage: coverageReport(cov.toJSON()),
  }, json);
}

/** The text report: the three figures, then what was never reached (with the known reasons). */
export function coverageText(r: CoverageReport, opts: { readonly pairs?: boolean } = {}): string {
  const out: string[] = [];
  const pc = (a: number, b: number) => `${a}/${b} (${b === 0 ? '100.0' : ((100 * a) / b).toFixed(1)}%)`;
  out.push(`kernel functions:  ${pc(r.functions.reached, r.functions.total)}`);
  out.push(`step labels:       ${pc(r.labels.reached, r.labels.total)}`);
  out.push(`lock-class pairs:  ${r.lockPairs.reached} held together (${r.lockPairs.classes.length} classes)`);
  if (r.functions.notCounted.length > 0) {
    out.push(`not counted as kernel functions: ${r.functions.notCounted.map((f) => f.name).join(', ')} (classes, and accessors of the simulation no code of impl/ calls)`);
  }
  if (r.labels.unknown.length > 0) out.push(`labels not in the source scan: ${r.labels.unknown.join(', ')}`);
  if (r.functions.unreached.length > 0) {
    out.push('', `kernel functions never called (${r.functions.unreached.length}):`);
    const byModule = new Map<string, string[]>();
    for (const f of r.functions.unreached) {
      const l = byModule.get(f.module) ?? [];
      l.push(f.reason !== undefined ? `${f.name} (${f.reason})` : f.name);
      byModule.set(f.module, l);
    }
    for (const [m, names] of byModule) out.push(`  ${m}: ${names.join(', ')}`);
  }
  if (r.labels.unreached.length > 0) {
    out.push('', `step labels never reached (${r.labels.unreached.length}):`);
    for (const l of r.labels.unreached) out.push(`  ${l.label}  ${l.at}${l.reason !== undefined ? `  (${l.reason})` : ''}`);
  }
  if (opts.pairs !== false) {
    out.push('', `lock classes held together (held → taken), ${r.lockPairs.reached}:`);
    for (let i = 0; i < r.lockPairs.pairs.length; i += 3) out.push(`  ${r.lockPairs.pairs.slice(i, i + 3).join('   ')}`);
  }
  return out.join('\n') + '\n';
}

export type { CoverageJson };
