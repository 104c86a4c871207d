/**
 * faultline: the command line. `main(argv, io)` runs one command and returns its exit code; it
 * never throws and never prints a stack trace: bad usage or input is one line `faultline: …` and
 * exit 2, an internal failure one line and exit 3.
 *
 *   faultline list configs|mutants|scenarios|properties|functions [--json]
 *   faultline check --config C [--mutant M | --variant FILE] [--scenario S] [--strategy …] [--runs N] …
 *   faultline replay FILE [--json] [--html OUT]
 *   faultline repro FILE --c OUT.c [--iterations N] [--timeout-ms T] [--stop-at-first]
 *   faultline explore --config C [--mutant M | --variant FILE] --scenario S [--preemptions K] [--json]
 *   faultline coverage [--config C] [--scenario S] [--runs N] [--seed N] [--json]
 *   faultline verify [--budget SEC | --runs N] [--jobs N] [--shard I/N | --shards N] …
 *   faultline merge DIR… [--out OUT] [--json]
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VariantError } from '../impl/sim/variant.js';
import { errnoName } from '../model/ops.js';
import { CounterexampleError } from '../properties/counterexample.js';
import { BackendError, defaultBackend, type Backend } from './backend.js';
import { checkCommand, CHECK_USAGE } from './check.js';
import { coverageCommand, COVERAGE_USAGE } from './coverage.js';
import { exploreCommand, EXPLORE_USAGE } from './explore.js';
import { EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, oneLine, UsageError, type CliIO } from './io.js';
import { listCommand, LIST_USAGE } from './list.js';
import { replayCommandMain, REPLAY_USAGE } from './replay.js';
import { reproCommand, REPRO_USAGE } from './repro.js';
import { verifyCommand, VERIFY_USAGE } from './verify.js';
import { mergeCommand, MERGE_USAGE } from './merge.js';
import { version } from './version.js';

export type { CliIO } from './io.js';
export type { Backend } from './backend.js';

export const USAGE = `faultline — checks the Linux kernel's page-fault locking in a deterministic interleaving simulation

usage:
  faultline list configs|mutants|scenarios|properties|functions [--json]
  faultline check --config C [--mutant M | --variant FILE] [--scenario S] [--strategy random|pct|dfs|portfolio|guided]
                  [--runs N] [--seed S] [--time-limit SEC] [--out DIR] [--json] [--jobs N] [--shard I/N | --shards N]
  faultline replay FILE [--json] [--html OUT] [--compact]
  faultline repro FILE --c OUT.c [--iterations N] [--timeout-ms T] [--stop-at-first]
  faultline explore --config C [--mutant M | --variant FILE] --scenario S [--preemptions K] [--json]
  faultline coverage [--config C] [--scenario S] [--strategy …] [--runs N] [--seed N] [--json] [--jobs N] [--shard I/N]
  faultline verify [--budget SEC | --runs N] [--jobs N] [--shard I/N | --shards N] [--config C] [--scenario S] [--no-mutants] [--out DIR] [--json]
  faultline merge DIR… [--out OUT] [--json]
  faultline help [COMMAND] | --version

exit codes: 0 no violation, 1 violation found (replay: reproduced), 2 bad usage or input, 3 internal error`;

const COMMAND_USAGE: Readonly<Record<string, string>> = {
  list: LIST_USAGE, check: CHECK_USAGE, replay: REPLAY_USAGE, repro: REPRO_USAGE, explore: EXPLORE_USAGE, coverage: COVERAGE_USAGE, verify: VERIFY_USAGE, merge: MERGE_USAGE,
};

export interface MainOptions extends Partial<CliIO> {
  readonly backend?: Backend;
}

function defaultIO(): CliIO {
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    stderrIsTTY: process.stderr.isTTY === true,
    cwd: process.cwd(),
  };
}

/** Run one command; resolves to the exit code. Never rejects. */
export async function main(argv: readonly string[], opts: MainOptions = {}): Promise<number> {
  const d = defaultIO();
  const io: CliIO = {
    stdout: opts.stdout ?? d.stdout,
    stderr: opts.stderr ?? d.stderr,
    stderrIsTTY: opts.stderrIsTTY ?? (opts.stderr ? false : d.stderrIsTTY),
    cwd: opts.cwd ?? d.cwd,
  };
  const backend = opts.backend ?? defaultBackend;
  try {
    return await dispatch(argv, io, backend);
  } catch (e) {
    return reportError(variantSetupError(e, argv) ?? e, io);
  }
}

/**
 * A user's variant (--variant FILE) under which a scenario's setup fails — its mmaps, its writes
 * before the threads start (impl/sim/run.ts sim_setup_task) — is bad input, not an internal error:
 * one line and exit 2. The same failure on a generation or a zoo mutant stays an internal error (the
 * simulation's). Recognized by its message, which is all that crosses from a worker thread.
 */
export function variantSetupError(e: unknown, argv: readonly string[]): UsageError | undefined {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /scenario setup failed: (P\d+ \S+) gave (\{[^}]*\})/.exec(msg);
  if (m === null || !argv.some((a) => a === '--variant' || a.startsWith('--variant='))) return undefined;
  let result = m[2]!;
  try {
    const r = JSON.parse(result) as { kind?: string; errno?: number; signal?: string };
    if (r.kind === 'errno' && typeof r.errno === 'number') result = errnoName(r.errno);
    else if (r.kind === 'signal' && r.signal !== undefined) result = r.signal;
  } catch {
    // keep the JSON as it is
  }
  const scenario = /in scenario (\S+):/.exec(msg)?.[1];
  return new UsageError(`${argv[0]}: the variant breaks the scenario's setup: ${m[1]} gave ${result}${scenario !== undefined ? ` in ${scenario}` : ''}, before its threads start (a variant must leave the operations of the setup working)`);
}

async function dispatch(argv: readonly string[], io: CliIO, backend: Backend): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
      throw new UsageError('missing command (one of list, check, replay, repro, explore, coverage, verify, merge; see faultline help)');
    case 'help':
    case '--help':
    case '-h': {
      const sub = rest[0];
      if (sub !== undefined && COMMAND_USAGE[sub] === undefined) throw new UsageError(`help: unknown command "${sub}"`);
      io.stdout((sub !== undefined ? COMMAND_USAGE[sub]! : USAGE) + '\n');
      return EXIT_OK;
    }
    case '--version':
    case 'version':
      io.stdout(`faultline ${version()}\n`);
      return EXIT_OK;
    case 'list':
      return listCommand(rest, io, backend);
    case 'check':
      return checkCommand(rest, io, backend);
    case 'replay':
      return replayCommandMain(rest, io, backend);
    case 'repro':
      return reproCommand(rest, io, backend);
    case 'explore':
      return exploreCommand(rest, io, backend);
    case 'coverage':
      return coverageCommand(rest, io, backend);
    case 'verify':
      return verifyCommand(rest, io, backend);
    case 'merge':
      return mergeCommand(rest, io, backend);
    default:
      if (cmd.startsWith('-')) throw new UsageError(`unknown option ${cmd} (a command comes first: list, check, replay, repro, explore, coverage, verify, merge)`);
      throw new UsageError(`unknown command "${cmd.length > 40 ? cmd.slice(0, 37) + '...' : cmd}" (one of list, check, replay, repro, explore, coverage, verify, merge; see faultline help)`);
  }
}

/** One line on stderr; the exit code for the kind of error. */
export function reportError(e: unknown, io: CliIO): number {
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof UsageError || e instanceof CounterexampleError || e instanceof VariantError) {
    io.stderr(`faultline: ${oneLine(msg)}\n`);
    return EXIT_USAGE;
  }
  if (e instanceof BackendError) {
    io.stderr(`faultline: ${oneLine(msg)}\n`);
    return EXIT_INTERNAL;
  }
  const where = e instanceof Error && e.stack ? ` at ${oneLine(e.stack.split('\n').slice(1).join('\n')).replace(/^at /, '')}` : '';
  io.stderr(`faultline: internal error: ${oneLine(msg) || 'unknown'}${where} (please report it with the command line: FAULTLINE_DEBUG=1 shows the stack)\n`);
  if (process.env.FAULTLINE_DEBUG) io.stderr(`${e instanceof Error ? e.stack : String(e)}\n`);
  return EXIT_INTERNAL;
}

/** The process entry: run main on process.argv and set the exit code. */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const io = defaultIO();
  const fatal = (e: unknown) => {
    process.exitCode = reportError(e, io);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  process.exitCode = await main(argv);
}

function invokedDirectly(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

// `tsx cli/main.ts …` (npm run verify / npm run faultline); cli/bin.js calls runCli itself.
if (invokedDirectly()) await runCli();
