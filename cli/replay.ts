/**
 * faultline replay FILE [--json] [--html OUT] [--compact]
 *
 * Re-runs a counterexample strictly from its schedule and prints its timeline. Exit 1: the same
 * violation (same property) reproduces; 0: it no longer does (e.g. the variant was fixed, so the
 * run passes, breaks another property, or no longer follows the recorded schedule); 2: the file is
 * unreadable or malformed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import type { RunReport } from '../properties/api.js';
import { CounterexampleError, readCounterexample, type Counterexample } from '../properties/counterexample.js';
import { renderHtml } from '../properties/html.js';
import { renderTimeline } from '../properties/timeline.js';
import type { Variant } from '../impl/sim/variant.js';
import { findConfig } from '../properties/configs.js';
import { bool, parseArgs, str, type CommandSpec } from './args.js';
import type { Backend } from './backend.js';
import { EXIT_OK, EXIT_VIOLATION, oneLine, UsageError, type CliIO } from './io.js';
import { findMutant, loadVariant, rebase } from './target.js';

export const REPLAY_SPEC: CommandSpec = {
  name: 'replay',
  flags: { json: { type: 'boolean' }, html: { type: 'string', value: 'OUT' }, compact: { type: 'boolean' } },
  positionals: ['FILE'],
};

export const REPLAY_USAGE = `usage: faultline replay FILE [--json] [--html OUT] [--compact]

  Re-run the counterexample FILE exactly (its schedule, strictly) and print its timeline: one
  column per task, the kernel functions, the locks held, where the property broke, the report.
  --html OUT also writes the timeline as a self-contained HTML page; --compact folds runs of steps.
  Exit 1: the same violation reproduces, 0: it no longer does, 2: a bad file.`;

export interface Replayed {
  readonly cx: Counterexample;
  readonly report: RunReport;
  readonly reproduced: boolean;
}

/** The variant a counterexample names (a mutant, a variant file, or the plain configuration). */
export async function counterexampleVariant(cmd: string, backend: Backend, io: CliIO, cx: Counterexample, file: string): Promise<Variant> {
  if (cx.mutant !== undefined) return rebase(await findMutant(cmd, backend, cx.mutant), cx.config);
  if (cx.variantFile !== undefined) {
    // Relative to the working directory, else to the counterexample's directory.
    let path = cx.variantFile;
    if (!isAbsolute(path)) {
      const fromCwd = resolve(io.cwd, path);
      const fromFile = resolve(dirname(resolve(io.cwd, file)), path);
      path = (await exists(fromCwd)) || !(await exists(fromFile)) ? fromCwd : fromFile;
    }
    return rebase(await loadVariant(cmd, backend, io, path), cx.config);
  }
  return findConfig(cx.config)!;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

export async function replayFile(backend: Backend, io: CliIO, file: string): Promise<Replayed> {
  const mutants = (await backend.mutants()).map((m) => m.name);
  let cx: Counterexample;
  try {
    cx = await readCounterexample(resolve(io.cwd, file), { mutants });
  } catch (e) {
    if (e instanceof CounterexampleError) throw new UsageError(`replay: ${e.message.replace(resolve(io.cwd, file), file)}`);
    throw e;
  }
  const variant = await counterexampleVariant('replay', backend, io, cx, file);
  const report = await backend.runScenario({ variant, scenario: cx.scenario, schedule: cx.schedule, trace: true, strict: true });
  const want = cx.violation.property;
  const reproduced = report.status === 'violation' ? report.violation?.property === want : report.status === 'crash' && want === 'crash';
  return { cx, report, reproduced };
}

export function headerLines(cx: Counterexample, file: string): [string, string][] {
  const h: [string, string][] = [['counterexample', file], ['configuration', cx.config]];
  if (cx.mutant !== undefined) h.push(['mutant', cx.mutant]);
  if (cx.variantFile !== undefined) h.push(['variant file', cx.variantFile]);
  h.push(['scenario', `${cx.scenario.name} (${cx.scenario.family})`], ['expected', `${cx.violation.property}: ${cx.violation.message}`], ['created by', cx.createdBy]);
  return h;
}

export async function replayCommandMain(argv: readonly string[], io: CliIO, backend: Backend): Promise<number> {
  const p = parseArgs(REPLAY_SPEC, argv);
  if (p.help) {
    io.stdout(REPLAY_USAGE + '\n');
    return EXIT_OK;
  }
  const file = p.positionals[0]!;
  const json = bool(p, 'json');
  const html = str(p, 'html');
  const { cx, report, reproduced } = await replayFile(backend, io, file);
  const got = report.violation;
  let verdict: string;
  if (reproduced) verdict = `reproduced: ${cx.violation.property}`;
  else if (report.status === 'violation') verdict = `a different violation: ${got?.property} (expected ${cx.violation.property})`;
  else if (report.status === 'bad-schedule') verdict = `no longer reproduces: the recorded schedule does not fit the run any more (${oneLine(report.error ?? 'bad schedule')}): the kernel code changed, or the file was edited (expected ${cx.violation.property})`;
  else if (report.status === 'pass') verdict = `no longer reproduces: the run passed (expected ${cx.violation.property})`;
  else verdict = `no longer reproduces: the run ended ${report.status}${report.error ? ` (${oneLine(report.error)})` : ''} (expected ${cx.violation.property})`;

  let htmlPath: string | undefined;
  if (html !== undefined) {
    const abs = resolve(io.cwd, html);
    try {
      await mkdir(dirname(abs), { recursive: true });
      await writeFile(abs, renderHtml(report, { title: `faultline: ${got?.property ?? report.status} — ${cx.scenario.name}`, header: [...headerLines(cx, file), ['verdict', verdict]] }));
    } catch (e) {
      throw new UsageError(`replay: cannot write ${html}: ${(e as { code?: string }).code ?? oneLine(String(e))}`);
    }
    htmlPath = html;
  }

  if (json) {
    io.stdout(JSON.stringify({
      file, config: cx.config, mutant: cx.mutant ?? null, variant: cx.variantFile ?? null, scenario: cx.scenario.family,
      property: cx.violation.property, reproduced, status: report.status,
      violation: got ? { property: got.property, message: got.message, step: got.step, task: got.task, taskName: got.taskName, report: got.report } : null,
      ...(report.error !== undefined ? { error: oneLine(report.error) } : {}),
      steps: report.steps, preemptions: report.preemptions, schedule: report.schedule,
      ...(htmlPath !== undefined ? { html: htmlPath } : {}),
    }) + '\n');
  } else {
    for (const [k, v] of headerLines(cx, file)) io.stdout(`${k}: ${v}\n`);
    io.stdout(`schedule: ${cx.schedule} (${report.steps} steps, ${report.preemptions} preemption(s))\n\n`);
    io.stdout(renderTimeline(report, { compact: bool(p, 'compact') }));
    io.stdout(`\n${verdict}\n`);
    if (htmlPath !== undefined) io.stdout(`html: ${htmlPath}\n`);
  }
  return reproduced ? EXIT_VIOLATION : EXIT_OK;
}
