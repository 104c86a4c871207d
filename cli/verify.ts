/**
 * faultline verify [--budget SEC | --runs N] [--jobs N] [--shard I/N | --shards N] [--config C] [--scenario S]
 *   [--no-mutants] [--out DIR] [--json]
 *
 * Every configuration × every scenario family (portfolio strategy, time-bounded so the whole run
 * takes about --budget seconds, default 120, or N executions per cell with --runs, over --jobs
 * worker threads, default the machine's cores; a shard runs every N-th cell), then every
 * zoo mutant (each must be caught). Prints a table configuration × property and writes
 * DIR/index.html and DIR/report.json (DIR default faultline-report), with the counterexamples in
 * DIR/counterexamples and a timeline page for each. Exit 1 when a correct configuration shows a
 * violation or a mutant is not found; 3 when a cell could not run.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { CONFIGURATIONS, isProposal } from '../properties/configs.js';
import { parseCounterexample, readCounterexample, writeCounterexample } from '../properties/counterexample.js';
import { coverageHtml, escapeHtml, renderHtml } from '../properties/html.js';
import type { CoverageJson, VerifyCoverage } from '../properties/coverage.js';
import { bool, intFlag, parseArgs, secondsFlag, str, type CommandSpec } from './args.js';
import { defaultBackend, type Backend } from './backend.js';
import { createdBy, MAX_JOBS, replayCommand, runCheck, type CheckViolationJson } from './check.js';
import { WorkerPool } from './pool.js';
import { SHARD_FORMAT, shardFlags, writeShardFile, type Shard, type ShardFile } from './shard.js';
import { defaultJobs } from './units.js';
import { EXIT_INTERNAL, EXIT_OK, EXIT_VIOLATION, oneLine, UsageError, type CliIO } from './io.js';
import { Progress } from './progress.js';
import { counterexampleVariant, headerLines } from './replay.js';
import { checkConfig, resolveTarget } from './target.js';
import { bindFamily } from '../properties/scenarios/family.js';
import type { Variant } from '../impl/sim/variant.js';
import { version } from './version.js';

export const DEFAULT_BUDGET_SEC = 120;
export const DEFAULT_REPORT_DIR = 'faultline-report';
const VERIFY_SEED = 1;
const UNBOUNDED_RUNS = 1_000_000_000;
/** Share of the budget for the configuration matrix (the rest: the mutants). */
const MATRIX_SHARE = 0.75;

export const VERIFY_SPEC: CommandSpec = {
  name: 'verify',
  flags: {
    budget: { type: 'string', value: 'SEC' },
    jobs: { type: 'string', value: 'N' },
    config: { type: 'string', value: 'C' },
    scenario: { type: 'string', value: 'S' },
    'no-mutants': { type: 'boolean' },
    out: { type: 'string', value: 'DIR' },
    json: { type: 'boolean' },
    runs: { type: 'string', value: 'N' },
    shard: { type: 'string', value: 'I/N' },
    shards: { type: 'string', value: 'N' },
  },
};

export const VERIFY_USAGE = `usage: faultline verify [--budget SEC | --runs N] [--jobs N] [--shard I/N | --shards N] [--config C] [--scenario S]
                        [--no-mutants] [--out DIR] [--json]

  Check every configuration (or only C) on every scenario family (or only S) with the portfolio
  strategy, then every zoo mutant, within about SEC seconds in total (default ${DEFAULT_BUDGET_SEC}), or N executions
  per cell (--runs: the same result on any number of threads or machines), on N worker threads
  (--jobs, default: the machine's cores). Prints configuration × property, writes DIR/index.html and
  DIR/report.json (default ./${DEFAULT_REPORT_DIR}/).
  --shard I/N (or --shards N, I from JOB_COMPLETION_INDEX / SLURM_ARRAY_TASK_ID) runs every N-th cell
  from the I-th (SEC is then each shard's budget) and writes DIR/shard-I-of-N.json and
  DIR/counterexamples/; \`faultline merge DIR…\` writes the report of the whole run.
  Exit 0: all pass and every mutant is caught; 1: a violation on a correct configuration, or a
  mutant not caught; 3: a cell could not run.`;

/** One unit of work: a configuration on a family, or a mutant on its own family. */
export interface Cell {
  readonly id: number;
  readonly kind: 'config' | 'mutant';
  readonly config?: string;
  readonly mutant?: string;
  readonly scenario?: string;
  /** Time-bounded cells (--budget)… */
  readonly timeLimitSec?: number;
  /** …or N executions each (--runs). */
  readonly runs?: number;
  readonly out: string;
}

export interface CellResult {
  readonly id: number;
  readonly config: string;
  readonly mutant: string | null;
  readonly scenario: string;
  readonly executions: number;
  readonly elapsedMs: number;
  readonly unknown: number;
  readonly violations: readonly CheckViolationJson[];
  readonly error?: string;
  /** What the cell's campaign reached (configuration cells). */
  readonly coverage?: CoverageJson;
}

/** Run one cell in this process. */
export async function runCell(backend: Backend, io: CliIO, cell: Cell, onRun?: () => void): Promise<CellResult> {
  const t0 = Date.now();
  const base = { id: cell.id, config: cell.config ?? '', mutant: cell.mutant ?? null, scenario: cell.scenario ?? '' };
  try {
    const target = await resolveTarget('verify', backend, io, { config: cell.config, mutant: cell.mutant, scenario: cell.scenario }, false);
    const cov = cell.kind === 'config' ? new (await import('../properties/coverage.js')).CoverageCollector() : undefined;
    const r = await runCheck(backend, io, {
      target, strategy: 'portfolio', runs: cell.runs ?? UNBOUNDED_RUNS, seed: VERIFY_SEED, out: cell.out,
      ...(cell.timeLimitSec !== undefined ? { timeLimitSec: cell.timeLimitSec } : {}),
      createdBy: createdBy('verify', 'portfolio', VERIFY_SEED), ...(cov !== undefined ? { coverage: cov } : {}),
      ...(onRun !== undefined ? { onProgress: () => onRun() } : {}),
    });
    return {
      ...base, config: r.config, scenario: r.scenario, executions: r.executions, elapsedMs: r.elapsedMs, unknown: r.unknown, violations: r.violations,
      ...(cov !== undefined ? { coverage: cov.toJSON() } : {}),
    };
  } catch (e) {
    return { ...base, executions: 0, elapsedMs: Date.now() - t0, unknown: 0, violations: [], error: oneLine(e instanceof Error ? e.message : String(e)) };
  }
}

/** A verify cell on a worker thread (cli/pool_worker_main.ts). */
export async function runCellTask(task: { readonly cell?: unknown; readonly cwd?: unknown }, hooks: { onRun: () => void; onViolation: () => void }): Promise<CellResult> {
  const io: CliIO = { stdout: () => {}, stderr: () => {}, stderrIsTTY: false, cwd: String(task.cwd) };
  const r = await runCell(defaultBackend, io, task.cell as Cell, hooks.onRun);
  if (r.violations.length > 0) hooks.onViolation();
  return r;
}

/** Run the cells over `jobs` worker threads (in this thread when jobs is 1). */
async function runCells(backend: Backend, io: CliIO, cells: readonly Cell[], jobs: number, onDone: (r: CellResult) => void, onRun: () => void): Promise<CellResult[]> {
  const results: CellResult[] = [];
  const done = (r: CellResult) => {
    results.push(r);
    onDone(r);
  };
  // Worker threads load the real checker: a test's fake backend runs in this thread.
  if (jobs <= 1 || cells.length <= 1 || backend !== defaultBackend) {
    for (const c of cells) done(await runCell(backend, io, c, onRun));
    return results;
  }
  const pool = new WorkerPool(Math.min(jobs, cells.length), io.cwd);
  const poll = setInterval(() => {
    for (let n = pool.executions - counted; n > 0; n--) onRun();
    counted = pool.executions;
  }, 200);
  let counted = 0;
  try {
    await Promise.all(cells.map((c) => pool.run<CellResult>({ kind: 'cell', cell: c, cwd: io.cwd }).then(done, (e: Error) => done(failed(c, oneLine(e.message))))));
  } finally {
    clearInterval(poll);
    await pool.close();
  }
  return results;
}

function failed(c: Cell, error: string): CellResult {
  return { id: c.id, config: c.config ?? '', mutant: c.mutant ?? null, scenario: c.scenario ?? '', executions: 0, elapsedMs: 0, unknown: 0, violations: [], error };
}

export interface VerifyReport {
  readonly format: 'faultline-verify-report';
  readonly version: 1;
  readonly createdBy: string;
  readonly budgetSec: number;
  readonly jobs: number;
  readonly elapsedMs: number;
  readonly ok: boolean;
  readonly failures: readonly string[];
  /** Violations in design proposals (findings about the proposal, not failures). */
  readonly findings: readonly string[];
  readonly configs: readonly string[];
  readonly scenarios: readonly string[];
  readonly properties: readonly string[];
  readonly cells: readonly CellResult[];
  /** What each configuration's campaigns reached, and what none reached (properties/coverage.ts). */
  readonly coverage: VerifyCoverage;
  readonly mutants: readonly {
    readonly mutant: string;
    readonly config: string;
    readonly scenario: string;
    readonly reverts: string | null;
    readonly found: boolean;
    readonly property: string | null;
    readonly file: string | null;
    readonly executionsToFind: number | null;
    readonly executions: number;
    readonly error?: string;
  }[];
}

/** What every shard of one verify run has the same (merge refuses shards that differ). */
export interface VerifyShardCampaign {
  readonly faultline: string;
  readonly configs: readonly string[];
  readonly scenarios: readonly string[];
  readonly mutants: readonly string[];
  readonly properties: readonly string[];
  readonly budgetSec: number;
  readonly runs: number | null;
  readonly cells: readonly Omit<Cell, 'out' | 'timeLimitSec'>[];
}

export interface VerifyShardResults {
  readonly jobs: number;
  readonly cells: readonly CellResult[];
}

export async function verifyCommand(argv: readonly string[], io: CliIO, backend: Backend): Promise<number> {
  const p = parseArgs(VERIFY_SPEC, argv);
  if (p.help) {
    io.stdout(VERIFY_USAGE + '\n');
    return EXIT_OK;
  }
  if (str(p, 'budget') !== undefined && str(p, 'runs') !== undefined) throw new UsageError('verify: --budget and --runs cannot be used together');
  const budget = secondsFlag(p, 'verify', 'budget') ?? DEFAULT_BUDGET_SEC;
  const runs = str(p, 'runs') !== undefined ? intFlag(p, 'verify', 'runs', 1, 1) : undefined;
  const jobs = intFlag(p, 'verify', 'jobs', defaultJobs(), 1, MAX_JOBS);
  const shard = shardFlags(p, 'verify');
  const outDir = str(p, 'out') ?? DEFAULT_REPORT_DIR;
  const json = bool(p, 'json');
  const onlyConfig = str(p, 'config');
  if (onlyConfig !== undefined) checkConfig('verify', onlyConfig);
  const families = await backend.families();
  const onlyScenario = str(p, 'scenario');
  const bound = onlyScenario !== undefined ? bindFamily(onlyScenario, families) : undefined;
  if (typeof bound === 'string') throw new UsageError(`verify: ${bound}`);
  if (shard !== undefined && backend !== defaultBackend) throw new UsageError('verify: --shard needs the real checker');
  // Generations must pass; design proposals are checked the same way, their violations are findings.
  const configs = onlyConfig !== undefined ? [onlyConfig] : CONFIGURATIONS.map((c) => c.name);
  const scenarios = onlyScenario !== undefined ? [onlyScenario] : [...families.keys()];
  const mutants = bool(p, 'no-mutants') ? [] : await backend.mutants();
  const properties = (await backend.properties()).map((x) => x.name);

  const cxDir = join(outDir, 'counterexamples');
  const nMatrix = configs.length * scenarios.length;
  const matrixBudget = mutants.length > 0 ? budget * MATRIX_SHARE : budget;
  // A shard's budget is its own: it runs 1/N of the cells in about SEC seconds.
  const share = jobs * (shard?.count ?? 1);
  const cellSec = Math.max(0.2, (matrixBudget * share) / Math.max(1, nMatrix));
  const mutantSec = mutants.length > 0 ? Math.max(0.5, ((budget - matrixBudget) * share) / mutants.length) : 0;
  const limit = (sec: number) => (runs !== undefined ? { runs } : { timeLimitSec: sec });
  const all: Cell[] = [];
  for (const c of configs) for (const s of scenarios) all.push({ id: all.length, kind: 'config', config: c, scenario: s, ...limit(cellSec), out: cxDir });
  for (const m of mutants) {
    all.push({ id: all.length, kind: 'mutant', mutant: m.name, ...(m.scenario !== undefined && families.has(m.scenario) ? { scenario: m.scenario } : {}), ...limit(mutantSec), out: cxDir });
  }
  const cells = shard !== undefined ? all.filter((c) => c.id % shard.count === shard.index) : all;

  const t0 = Date.now();
  const progress = new Progress(io);
  const planned = runs !== undefined ? undefined : t0 + (cells.reduce((a, c) => a + (c.timeLimitSec ?? 0), 0) / jobs) * 1000;
  let finished = 0;
  let executions = 0;
  let violations = 0;
  progress.start(() => ({
    executions, violations, ...(planned !== undefined ? { deadline: planned } : { total: cells.length * (runs ?? 0) }), label: `${finished}/${cells.length} cells`,
  }));
  const what = runs !== undefined ? `${runs} executions each` : `${cellSec.toFixed(1)}s each`;
  if (!json) io.stdout(`faultline verify: ${configs.length} configuration(s) × ${scenarios.length} scenario famil${scenarios.length === 1 ? 'y' : 'ies'} (${what}), ${mutants.length} mutant(s) (${runs !== undefined ? `${runs} executions` : `${mutantSec.toFixed(1)}s`} each), ${jobs} job(s)${shard !== undefined ? `, shard ${shard.index}/${shard.count}: ${cells.length} cell(s)` : ''}\n`);
  let results: CellResult[];
  try {
    results = await runCells(backend, io, cells, jobs, (r) => {
      finished++;
      violations += r.violations.length;
      progress.poke(true);
    }, () => {
      executions++;
      progress.poke();
    });
  } finally {
    progress.stop();
  }
  results.sort((a, b) => a.id - b.id);
  const elapsedMs = Date.now() - t0;
  if (shard !== undefined) {
    const file: ShardFile<VerifyShardCampaign, VerifyShardResults> = {
      format: SHARD_FORMAT, version: 1, command: 'verify', shard,
      // The cells without their output directory and time slot (a shard's own).
      campaign: { faultline: version(), configs, scenarios, mutants: mutants.map((m) => m.name), properties, budgetSec: budget, runs: runs ?? null, cells: all.map(({ out: _o, timeLimitSec: _t, ...rest }) => rest) },
      results: { jobs, cells: results }, elapsedMs,
    };
    const path = await writeShardFile(resolve(io.cwd, outDir), file);
    if (json) io.stdout(JSON.stringify(file) + '\n');
    else {
      io.stdout(`shard ${shard.index}/${shard.count}: ${results.length} cell(s), ${results.reduce((a, r) => a + r.executions, 0)} executions, ${results.reduce((a, r) => a + r.violations.length, 0)} violation(s), ${results.filter((r) => r.error).length} error(s) (${(elapsedMs / 1000).toFixed(1)}s)\n`);
      io.stdout(`wrote ${join(outDir, basename(path))} and its counterexamples: faultline merge gives the report\n`);
    }
    return EXIT_OK;
  }
  return finishVerify(io, backend, { configs, scenarios, mutants, properties, cells: all, budgetSec: budget, jobs }, results, outDir, elapsedMs, json);
}

interface VerifyPlan {
  readonly configs: readonly string[];
  readonly scenarios: readonly string[];
  readonly mutants: readonly Variant[];
  readonly properties: readonly string[];
  readonly cells: readonly Pick<Cell, 'id' | 'kind' | 'mutant'>[];
  readonly budgetSec: number;
  readonly jobs: number;
}

/** The verdicts, the table, report.json, index.html and the timelines, from every cell's result. */
async function finishVerify(io: CliIO, backend: Backend, plan: VerifyPlan, results: readonly CellResult[], outDir: string, elapsedMs: number, json: boolean): Promise<number> {
  const { configs, scenarios, mutants, properties, cells } = plan;
  const byId = new Map(results.map((r) => [r.id, r]));

  const failures: string[] = [];
  const errors: string[] = [];
  const findings: string[] = [];
  const matrix = cells.filter((c) => c.kind === 'config').map((c) => byId.get(c.id)!);
  for (const r of matrix) {
    for (const v of r.violations) (isProposal(r.config) ? findings : failures).push(`${r.config} ${r.scenario}: ${v.property} (${v.file})`);
    if (r.error) errors.push(`${r.config} ${r.scenario}: ${r.error}`);
  }
  const mutantRows = cells.filter((c) => c.kind === 'mutant').map((c) => {
    const r = byId.get(c.id)!;
    const m = mutants.find((x) => x.name === c.mutant)!;
    const v = r.violations[0];
    if (r.error) errors.push(`mutant ${c.mutant}: ${r.error}`);
    else if (!v) failures.push(`mutant ${c.mutant} NOT found (${r.executions} executions)`);
    return {
      mutant: m.name, config: r.config || m.base, scenario: r.scenario || (m.scenario ?? ''), reverts: m.reverts ?? null,
      found: v !== undefined, property: v?.property ?? null, file: v?.file ?? null, executionsToFind: v?.executionsToFind ?? null,
      executions: r.executions, ...(r.error ? { error: r.error } : {}),
    };
  });

  const { mergeCoverage, verifyCoverage } = await import('../properties/coverage.js');
  const coverage = verifyCoverage(configs.map((c) => ({
    config: c, coverage: mergeCoverage(matrix.filter((r) => r.config === c && r.coverage !== undefined).map((r) => r.coverage!)),
  })));
  // The per-cell coverage is summed up per configuration; report.json keeps the summaries only.
  const cellsOut = matrix.map(({ coverage: _c, ...rest }) => rest);

  const allProps = [...properties];
  for (const r of matrix) for (const v of r.violations) if (!allProps.includes(v.property)) allProps.push(v.property);
  const report: VerifyReport = {
    format: 'faultline-verify-report', version: 1, createdBy: `faultline ${version()} verify`, budgetSec: plan.budgetSec, jobs: plan.jobs, elapsedMs,
    ok: failures.length === 0 && errors.length === 0, failures: [...failures, ...errors], findings, configs, scenarios, properties: allProps,
    cells: cellsOut, coverage, mutants: mutantRows,
  };

  // The report directory: report.json, index.html, a timeline page per counterexample.
  const absOut = resolve(io.cwd, outDir);
  await mkdir(absOut, { recursive: true });
  const timelines = await writeTimelines(backend, io, outDir, [...matrix.flatMap((r) => r.violations.map((v) => v.file)), ...mutantRows.flatMap((m) => (m.file ? [m.file] : []))]);
  await writeFile(join(absOut, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  await writeFile(join(absOut, 'index.html'), verifyHtml(report, outDir, timelines));

  if (json) {
    io.stdout(JSON.stringify(report) + '\n');
  } else {
    io.stdout('\n' + verifyTable(report) + '\n');
    io.stdout(`report: ${join(outDir, 'index.html')}, ${join(outDir, 'report.json')} (${(elapsedMs / 1000).toFixed(1)}s)\n`);
    for (const f of findings) io.stdout(`FINDING (design proposal) ${f}\n`);
    if (report.ok) io.stdout('verify: OK — every kernel generation passes and every mutant is caught\n');
    else for (const f of report.failures) io.stdout(`FAIL ${f}\n`);
  }
  if (failures.length > 0) return EXIT_VIOLATION;
  if (errors.length > 0) return EXIT_INTERNAL;
  return EXIT_OK;
}

/**
 * merge of verify shards: every cell's result from its shard, the counterexamples copied into
 * OUT/counterexamples (their replay command naming the new place), then the report as verify writes it.
 */
export async function mergeVerify(io: CliIO, backend: Backend, files: readonly { file: string; dir: string; data: ShardFile<unknown, unknown> }[], outFlag: string | undefined, json: boolean): Promise<number> {
  const c = files[0]!.data.campaign as VerifyShardCampaign;
  const outDir = outFlag ?? DEFAULT_REPORT_DIR;
  const cxDir = join(outDir, 'counterexamples');
  const allMutants = await backend.mutants();
  const mutants = c.mutants.map((name) => {
    const m = allMutants.find((x) => x.name === name);
    if (m === undefined) throw new UsageError(`merge: the shards name mutant ${name}, which this faultline does not have`);
    return m;
  });
  const results: CellResult[] = [];
  for (const f of files) {
    const res = f.data.results as VerifyShardResults;
    for (const r of res.cells) {
      const violations: CheckViolationJson[] = [];
      for (const v of r.violations) {
        const name = basename(v.file);
        const src = join(f.dir, 'counterexamples', name);
        let text: string;
        try {
          text = await readFile(src, 'utf8');
        } catch {
          throw new UsageError(`merge: ${f.file} names counterexample ${name}, which is not in ${join(f.dir, 'counterexamples')}`);
        }
        const cx = parseCounterexample(text);
        const file = join(cxDir, name);
        await writeCounterexample(resolve(io.cwd, cxDir), { ...cx, command: replayCommand(file) });
        violations.push({ ...v, file });
      }
      results.push({ ...r, violations });
    }
  }
  const ids = new Set(results.map((r) => r.id));
  const missing = c.cells.filter((x) => !ids.has(x.id));
  if (missing.length > 0) throw new UsageError(`merge: ${missing.length} cell(s) of the run are in no shard file (cell ${missing[0]!.id} first)`);
  results.sort((a, b) => a.id - b.id);
  const jobs = Math.max(...files.map((f) => (f.data.results as VerifyShardResults).jobs));
  const elapsedMs = Math.max(...files.map((f) => f.data.elapsedMs));
  if (!json) {
    const what = c.runs !== null ? `${c.runs} executions each` : `${c.budgetSec}s budget per shard`;
    io.stdout(`faultline merge: ${files.length} verify shard(s), ${c.configs.length} configuration(s) × ${c.scenarios.length} scenario famil${c.scenarios.length === 1 ? 'y' : 'ies'}, ${mutants.length} mutant(s) (${what})\n`);
  }
  return finishVerify(io, backend, { configs: c.configs, scenarios: c.scenarios, mutants, properties: c.properties, cells: c.cells, budgetSec: c.budgetSec, jobs }, results, outDir, elapsedMs, json);
}

/** Replay each counterexample in this process and write its HTML timeline; returns file → page (relative to outDir). */
async function writeTimelines(backend: Backend, io: CliIO, outDir: string, files: readonly string[]): Promise<Map<string, string>> {
  const pages = new Map<string, string>();
  const dir = join(outDir, 'timelines');
  for (const file of new Set(files)) {
    try {
      const cx = await readCounterexample(resolve(io.cwd, file));
      const variant = await counterexampleVariant('verify', backend, io, cx, file);
      const report = await backend.runScenario({ variant, scenario: cx.scenario, schedule: cx.schedule, trace: true, strict: true });
      const page = join(dir, basename(file).replace(/\.json$/, '.html'));
      await mkdir(resolve(io.cwd, dir), { recursive: true });
      await writeFile(resolve(io.cwd, page), renderHtml(report, { title: `faultline: ${cx.violation.property} — ${cx.scenario.name}`, header: headerLines(cx, file) }));
      pages.set(file, relative(outDir, page));
    } catch {
      // The JSON is still linked; replaying it by hand shows what went wrong.
    }
  }
  return pages;
}

/** Text table: property × configuration (transposed so it fits a terminal), then the mutants. */
export function verifyTable(r: VerifyReport): string {
  const out: string[] = [];
  const notes: string[] = [];
  const cellOf = (config: string, prop: string): string => {
    const hits = r.cells.filter((c) => c.config === config).flatMap((c) => c.violations.filter((v) => v.property === prop));
    if (hits.length === 0) return 'pass';
    const refs = hits.map((h) => {
      notes.push(h.file);
      return `[${notes.length}]`;
    });
    return `${isProposal(config) ? 'finding' : 'FAIL'}${refs.join('')}`;
  };
  const sum = (c: string, f: (x: CellResult) => number) => r.cells.filter((x) => x.config === c).reduce((a, x) => a + f(x), 0);
  const rows: string[][] = [['property', ...r.configs]];
  for (const prop of r.properties) rows.push([prop, ...r.configs.map((c) => cellOf(c, prop))]);
  rows.push(['(executions)', ...r.configs.map((c) => String(sum(c, (x) => x.executions)))]);
  if (r.cells.some((x) => x.unknown > 0)) rows.push(['(unknown verdicts)', ...r.configs.map((c) => String(sum(c, (x) => x.unknown)))]);
  const covOf = (c: string) => r.coverage.configs.find((x) => x.config === c);
  const pc = (a: number, b: number) => `${b === 0 ? '100.0' : ((100 * a) / b).toFixed(1)}%`;
  rows.push(['(kernel functions run)', ...r.configs.map((c) => { const x = covOf(c); return x ? pc(x.functions.reached, x.functions.total) : '-'; })]);
  rows.push(['(step labels reached)', ...r.configs.map((c) => { const x = covOf(c); return x ? pc(x.labels.reached, x.labels.total) : '-'; })]);
  rows.push(['(lock-class pairs)', ...r.configs.map((c) => String(covOf(c)?.lockPairs ?? '-'))]);
  if (r.cells.some((x) => x.error)) rows.push(['(cells failed to run)', ...r.configs.map((c) => String(r.cells.filter((x) => x.config === c && x.error).length))]);
  const widths = rows[0]!.map((_, i) => Math.max(6, ...rows.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  out.push(line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) out.push(line(row));
  notes.forEach((f, i) => out.push(`  [${i + 1}] ${f}`));
  if (r.mutants.length) {
    out.push('', 'mutants:');
    const mw = Math.max(6, ...r.mutants.map((m) => m.mutant.length));
    for (const m of r.mutants) {
      const res = m.error ? `ERROR ${m.error}` : m.found ? `caught: ${m.property} after ${m.executionsToFind} execution(s)  ${m.file}` : `NOT FOUND in ${m.executions} executions`;
      out.push(`  ${m.mutant.padEnd(mw)}  ${m.config.padEnd(6)}  ${m.scenario.padEnd(18)}  ${res}`);
    }
  }
  return out.join('\n') + '\n';
}

function verifyHtml(r: VerifyReport, outDir: string, timelines: ReadonlyMap<string, string>): string {
  const e = escapeHtml;
  const link = (file: string) => {
    const page = timelines.get(file);
    const json = relative(outDir, file);
    return `${page ? `<a href="${e(page)}">timeline</a> · ` : ''}<a href="${e(json)}">${e(basename(file))}</a>`;
  };
  const h: string[] = [];
  h.push('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>faultline verify</title><style>',
    'body{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;margin:1.5em}table{border-collapse:collapse;margin:.5em 0}',
    'th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f0f0f0}',
    '.pass{background:#e9f7e9;color:#245c24}.fail{background:#fde8e8;color:#8b1a1a;font-weight:bold}.err{background:#fff4d6}',
    'h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}',
    '</style></head><body>');
  h.push(`<h1>faultline verify: ${r.ok ? 'OK' : 'FAILED'}</h1>`);
  h.push(`<p>${e(r.createdBy)} · budget ${r.budgetSec}s on ${r.jobs} job(s) · ${(r.elapsedMs / 1000).toFixed(1)}s · scenarios: ${e(r.scenarios.join(', '))}</p>`);
  if (r.failures.length) h.push('<ul>', ...r.failures.map((f) => `<li class="fail">${e(f)}</li>`), '</ul>');
  h.push('<h2>Configuration × property</h2><table><tr><th>configuration</th><th>executions</th>', ...r.properties.map((x) => `<th>${e(x)}</th>`), '</tr>');
  for (const c of r.configs) {
    const cells = r.cells.filter((x) => x.config === c);
    const execs = cells.reduce((a, x) => a + x.executions, 0);
    const errs = cells.filter((x) => x.error);
    h.push(`<tr><th>${e(c)}</th><td${errs.length ? ' class="err"' : ''}>${execs}${errs.length ? ` (${errs.length} cell(s) failed: ${e(errs.map((x) => `${x.scenario}: ${x.error}`).join('; '))})` : ''}</td>`);
    for (const prop of r.properties) {
      const hits = cells.flatMap((x) => x.violations.filter((v) => v.property === prop).map((v) => ({ v, s: x.scenario })));
      h.push(hits.length === 0 ? '<td class="pass">pass</td>' : `<td class="${isProposal(c) ? 'err' : 'fail'}">${isProposal(c) ? 'finding (proposal)' : 'violation'}<br>${hits.map(({ v, s }) => `${e(s)}: ${link(v.file)}`).join('<br>')}</td>`);
    }
    h.push('</tr>');
  }
  h.push('</table>');
  h.push(coverageHtml(r.coverage));
  if (r.mutants.length) {
    h.push('<h2>Mutants</h2><table><tr><th>mutant</th><th>configuration</th><th>scenario</th><th>reverts</th><th>result</th></tr>');
    for (const m of r.mutants) {
      const res = m.error ? `<td class="err">error: ${e(m.error)}</td>` : m.found ? `<td class="pass">caught: ${e(m.property ?? '')} after ${m.executionsToFind} execution(s) · ${link(m.file!)}</td>` : `<td class="fail">NOT FOUND in ${m.executions} executions</td>`;
      h.push(`<tr><td>${e(m.mutant)}</td><td>${e(m.config)}</td><td>${e(m.scenario)}</td><td>${e(m.reverts ?? '')}</td>${res}</tr>`);
    }
    h.push('</table>');
  }
  h.push('</body></html>');
  return h.join('\n') + '\n';
}
