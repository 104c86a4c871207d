/**
 * faultline explore --config C [--mutant M | --variant FILE] --scenario S [--preemptions K] [--json]
 *   [--reduction dpor|cache|none] [--runs N] [--seed S] [--time-limit SEC] [--out DIR]
 *
 * Exhaustive search of the scenario's interleavings within K preemptions (properties/explore.ts):
 * by default with dynamic partial-order reduction. Reports the executions, the distinct states,
 * the executions the reduction and the cache cut short, whether the space was covered, and the
 * violations (counterexamples written to DIR). A progress line on stderr (when it is a terminal).
 */
import { basename, join, resolve } from 'node:path';
import { writeCounterexample } from '../properties/counterexample.js';
import { bool, intFlag, parseArgs, secondsFlag, str, type CommandSpec } from './args.js';
import type { Backend } from './backend.js';
import { counterexampleOf, createdBy, DEFAULT_OUT, DEFAULT_SEED, type CheckViolationJson } from './check.js';
import { EXIT_OK, EXIT_VIOLATION, UsageError, type CliIO } from './io.js';
import { Progress } from './progress.js';
import { resolveTarget } from './target.js';
import { mixSeed } from '../impl/rt/schedulers/random.js';

/** The family instance explored for --seed S: the first scenario a campaign with seed S runs. */
function scenarioSeed(seed: number): number {
  return mixSeed(seed, 0);
}

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
  },
};

export const EXPLORE_USAGE = `usage: faultline explore --config C [--mutant M | --variant FILE] --scenario S [--preemptions K] [--json]
         [--reduction dpor|cache|none] [--runs N] [--seed S] [--time-limit SEC] [--out DIR]

  Exhaustive search of every interleaving of the scenario (the family's instance for seed S,
  default ${DEFAULT_SEED}) with at most K preemptions (default ${DEFAULT_PREEMPTIONS}), up to N executions
  (default ${DEFAULT_EXPLORE_RUNS}). --reduction dpor (default): one execution per class of
  interleavings that differ only in the order of independent steps (dynamic partial-order
  reduction); cache: every schedule, but an execution stops at a state already explored; none:
  every schedule (plain DFS). Reports the executions, the distinct states, the executions cut short
  by the reduction and by the cache, whether the space was covered, and the violations
  (counterexamples written to DIR, default ./${DEFAULT_OUT}/).
  Exit 0: no violation, 1: a violation was found, 2: bad usage or input.`;

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
  const progress = new Progress(io);
  const res = await backend.explore({
    variant: target.variant, scenario, preemptions, maxExecutions: runs, reduction,
    ...(timeLimitSec !== undefined ? { timeLimitMs: Math.ceil(timeLimitSec * 1000) } : {}),
    onProgress: (n, more) => progress.update(n, runs, more === undefined ? `${fam.name}: ${n} executions`
      : `${n} executions, ${more.states} states, ${more.prunedByReduction + more.prunedByCache} cut short, ${(more.elapsedMs / 1000).toFixed(0)}s`),
  });
  progress.clear();
  const by = createdBy('explore', `${reduction === 'dpor' ? 'dpor' : reduction === 'cache' ? 'dfs with state cache' : 'dfs'}, ${preemptions} preemptions`, seed);
  const violations: CheckViolationJson[] = [];
  const commands: string[] = [];
  for (const fv of res.violations) {
    const cx = counterexampleOf(target, fv, by, out);
    const file = join(out, basename(await writeCounterexample(resolve(io.cwd, out), cx)));
    commands.push(cx.command);
    violations.push({ family: fam.name, property: fv.property, message: fv.message, file, executionsToFind: fv.executionsToFind, tasks: fv.tasks, steps: fv.report.steps, preemptions: fv.report.preemptions });
  }
  const complete = res.complete ?? false;
  const states = res.states ?? null;
  const prunedByReduction = res.prunedByReduction ?? 0;
  const prunedByCache = res.prunedByCache ?? 0;
  if (json) {
    io.stdout(JSON.stringify({
      config: target.config, mutant: target.mutant ?? null, variant: target.variantName ?? null, scenario: fam.name, scenarioName: scenario.name, seed, preemptions,
      reduction: res.reduction ?? reduction, executions: res.executions, states, prunedByReduction, prunedByCache,
      cacheBytesPerState: res.cacheBytesPerState ?? null, complete, elapsedMs: Math.round(res.elapsedMs), violations, unknown: res.unknown,
    }) + '\n');
  } else {
    const what = target.mutant ? `mutant ${target.mutant} on ${target.config}` : target.variantName ? `variant ${target.variantName} on ${target.config}` : target.config;
    const how = reduction === 'dpor' ? 'partial-order reduction' : reduction === 'cache' ? 'every schedule, state cache' : 'every schedule';
    io.stdout(`faultline explore: ${what}, ${scenario.name} (${fam.name}, seed ${seed}), at most ${preemptions} preemption(s), ${how}\n`);
    io.stdout(`${res.executions} executions in ${(res.elapsedMs / 1000).toFixed(1)}s: ${complete ? 'the whole space was covered' : 'the space was NOT covered (execution or time limit reached)'}\n`);
    const cut: string[] = [];
    if (reduction !== 'none') cut.push(`${prunedByReduction} cut short by the reduction`, `${prunedByCache} by the cache`);
    io.stdout(`${states !== null ? `${states} distinct states` : 'states not tracked'}${cut.length ? `; ${cut.join(', ')}` : ''}` +
      `${res.cacheBytesPerState ? ` (cache: ${res.cacheBytesPerState} bytes per state)` : ''}\n`);
    if (res.unknown > 0) io.stdout(`warning: ${res.unknown} execution(s) ended with an unknown verdict (not a pass)\n`);
    if (violations.length === 0) io.stdout('no violation\n');
    violations.forEach((v, i) => {
      io.stdout(`\nVIOLATION ${v.property}: ${v.message}\n  after ${v.executionsToFind} execution(s): ${v.tasks} tasks, ${v.steps} steps, ${v.preemptions} preemption(s)\n  counterexample: ${v.file}\n  replay: ${commands[i]}\n`);
    });
  }
  return violations.length > 0 ? EXIT_VIOLATION : EXIT_OK;
}
