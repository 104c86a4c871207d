/**
 * faultline check --config C [--mutant M | --variant FILE] [--scenario S]
 *   [--strategy random|pct|dfs|portfolio|guided] [--runs N] [--seed S] [--time-limit SEC]
 *   [--fault-injection P] [--out DIR] [--json]
 *
 * Exit 0: no violation; 1: a violation (its counterexample written to DIR); 2: bad usage or input.
 */
import { basename, join, resolve } from 'node:path';
import type { CampaignSpec, FoundViolation, StrategyName } from '../properties/api.js';
import { makeCounterexample, writeCounterexample, type Counterexample } from '../properties/counterexample.js';
import { bool, choiceFlag, intFlag, parseArgs, secondsFlag, shareFlag, str, type CommandSpec } from './args.js';
import type { Backend } from './backend.js';
import { EXIT_OK, EXIT_VIOLATION, shellQuote, type CliIO } from './io.js';
import { Progress } from './progress.js';
import { resolveTarget, type Target } from './target.js';
import { version } from './version.js';

export const STRATEGIES: readonly StrategyName[] = ['random', 'pct', 'dfs', 'portfolio', 'guided'];
export const DEFAULT_RUNS = 2000;
export const DEFAULT_SEED = 1;
export const DEFAULT_OUT = 'counterexamples';

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
  },
};

export const CHECK_USAGE = `usage: faultline check --config C [--mutant M | --variant FILE] [--scenario S]
         [--strategy random|pct|dfs|portfolio|guided] [--runs N] [--seed S] [--time-limit SEC]
         [--fault-injection P] [--out DIR] [--json]

  Run N executions (default ${DEFAULT_RUNS}) of each scenario family (or only S) on configuration C,
  a zoo mutant M (implies its configuration and scenario family) or a variant module FILE — the
  general generator (random) first, then the directed families — under the strategy (default
  portfolio; guided: PCT whose preemptions fall where the threads touch the same kernel objects),
  seed S (default ${DEFAULT_SEED}), stopping at the first violation.
  --fault-injection P runs a share P (0..1) of the scenarios with allocation failures and I/O
  errors injected at the kernel's failure points (default 0).
  Counterexamples are written to DIR (default ./${DEFAULT_OUT}/).
  Exit 0: no violation, 1: a violation was found, 2: bad usage or input.`;

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
  readonly onViolation?: (fv: FoundViolation, cx: Counterexample, file: string) => void;
  /** Record the campaign's coverage (faultline coverage, verify). */
  readonly coverage?: CampaignSpec['coverage'];
}

export function replayCommand(file: string): string {
  return `npx faultline replay ${shellQuote(file)}`;
}

/** The counterexample of a found violation. */
export function counterexampleOf(target: Target, fv: FoundViolation, createdBy: string, out: string): Counterexample {
  const r = fv.report;
  const v = r.violation;
  return makeCounterexample({
    config: target.config,
    ...(target.mutant !== undefined ? { mutant: target.mutant } : {}),
    ...(target.variantFile !== undefined ? { variantFile: target.variantFile } : {}),
    scenario: fv.scenario,
    schedule: r.schedule,
    violation: v
      ? { property: v.property, message: v.message, step: v.step, task: v.task, taskName: v.taskName, report: v.report }
      : { property: fv.property, message: fv.message, step: -1, task: -1, taskName: '', report: r.error ? r.error.split('\n') : [] },
    steps: r.steps,
    preemptions: r.preemptions,
    tasks: fv.tasks,
    createdBy,
  }, (name) => replayCommand(join(out, name)));
}

/** Run the campaigns of a check; write the counterexamples. */
export async function runCheck(backend: Backend, io: CliIO, c: CheckRun): Promise<CheckJson> {
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
  return {
    config: c.target.config,
    mutant: c.target.mutant ?? null,
    variant: c.target.variantName ?? null,
    scenario: fams.length === 1 ? fams[0]!.name : 'all',
    strategy: c.strategy,
    seed: c.seed,
    runs: c.runs,
    executions,
    elapsedMs: Date.now() - t0,
    violations,
    unknown,
    injected,
  };
}

export function createdBy(cmd: string, strategy: string, seed: number): string {
  return `faultline ${version()} ${cmd} (strategy ${strategy}, seed ${seed})`;
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
  const out = str(p, 'out') ?? DEFAULT_OUT;
  const json = bool(p, 'json');
  const target = await resolveTarget('check', backend, io, {
    config: str(p, 'config'), mutant: str(p, 'mutant'), variant: str(p, 'variant'), scenario: str(p, 'scenario'),
  }, false);

  const what = target.mutant ? `mutant ${target.mutant} on ${target.config}` : target.variantName ? `variant ${target.variantName} on ${target.config}` : target.config;
  const scen = target.families.length === 1 ? target.families[0]!.name : `${target.families.length} scenario families`;
  if (!json) io.stdout(`faultline check: ${what}, ${scen}, strategy ${strategy}, ${runs} runs, seed ${seed}${timeLimitSec !== undefined ? `, time limit ${timeLimitSec}s` : ''}${faultInjection > 0 ? `, fault injection in ${faultInjection * 100}% of scenarios` : ''}\n`);
  const progress = new Progress(io);
  const nf = target.families.length;
  const result = await runCheck(backend, io, {
    target, strategy, runs, seed, out, createdBy: createdBy('check', strategy, seed),
    ...(timeLimitSec !== undefined ? { timeLimitSec } : {}),
    ...(faultInjection > 0 ? { faultInjection } : {}),
    onProgress: (n, fam, i) => progress.update(i * runs + n, nf * runs, `${fam} ${n}/${runs}`),
    onViolation: (fv, cx, file) => {
      if (json) return;
      progress.clear();
      io.stdout(`\nVIOLATION ${fv.property} (${cx.scenario.family}): ${fv.message}\n`);
      for (const l of cx.violation.report.slice(0, 12)) io.stdout(`    ${l}\n`);
      if (cx.violation.report.length > 12) io.stdout(`    … (${cx.violation.report.length - 12} more lines: see the replay)\n`);
      io.stdout(`  found after ${fv.executionsToFind} execution(s) of ${cx.scenario.family}: ${cx.tasks} tasks, ${cx.steps} steps, ${cx.preemptions} preemption(s)\n`);
      io.stdout(`  counterexample: ${file}\n`);
      io.stdout(`  replay: ${cx.command}\n`);
    },
  });
  progress.clear();
  if (json) {
    io.stdout(JSON.stringify(result) + '\n');
  } else {
    const secs = (result.elapsedMs / 1000).toFixed(1);
    if (result.unknown > 0) io.stdout(`warning: ${result.unknown} execution(s) ended with an unknown verdict (not a pass)\n`);
    const inj = faultInjection > 0 ? `, ${result.injected} with injected failures` : '';
    io.stdout(result.violations.length === 0
      ? `no violation in ${result.executions} executions${inj} (${secs}s)\n`
      : `\n${result.violations.length} violation(s) found in ${result.executions} executions (${secs}s)\n`);
  }
  return result.violations.length > 0 ? EXIT_VIOLATION : EXIT_OK;
}
