/**
 * faultline repro FILE --c OUT.c [--iterations N] [--timeout-ms T] [--stop-at-first]
 *
 * Writes a C program that replays the counterexample FILE's user-visible operations on the
 * running kernel (properties/repro/): `cc -O2 -pthread -o r OUT.c && ./r`. The program prints
 * what it checks and its verdict, and exits 1 when it reproduced the violation, 0 when it did
 * not within its bound, 2 when it could not run. Exit 0 here: the program was written; 2: a bad
 * file or flag (one line).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CounterexampleError, readCounterexample } from '../properties/counterexample.js';
import { bool, intFlag, parseArgs, str, type CommandSpec } from './args.js';
import type { Backend } from './backend.js';
import { EXIT_OK, oneLine, UsageError, type CliIO } from './io.js';
import { counterexampleVariant } from './replay.js';

export const REPRO_SPEC: CommandSpec = {
  name: 'repro',
  flags: {
    c: { type: 'string', value: 'OUT.c' },
    iterations: { type: 'string', value: 'N' },
    'timeout-ms': { type: 'string', value: 'T' },
    'stop-at-first': { type: 'boolean' },
  },
  positionals: ['FILE'],
};

export const REPRO_USAGE = `usage: faultline repro FILE --c OUT.c [--iterations N] [--timeout-ms T] [--stop-at-first]

  Write a C reproducer of the counterexample FILE for the running kernel: one pthread per
  simulated thread (a process per simulated process), the operations ordered as in the
  counterexample's history, races widened by repetition, random spins and a userfaultfd that
  stalls syscalls at their user buffers. It checks hangs the model forbids (e.g. a fault asleep
  on a range no longer registered), loads and final memory against the model, /proc lines when
  the counterexample is about them, and the kernel's taint flags.
    cc -O2 -pthread -o r OUT.c && ./r [ITERATIONS] [TIMEOUT_MS]
  The program's exit status: 1 reproduced, 0 not reproduced within its bound, 2 could not run.
  --iterations N (default 1000) and --timeout-ms T (no progress for T ms is a hang; default 200)
  set its defaults; --stop-at-first stops at the first reproduction instead of measuring the rate.`;

export async function reproCommand(argv: readonly string[], io: CliIO, backend: Backend): Promise<number> {
  const p = parseArgs(REPRO_SPEC, argv);
  if (p.help) {
    io.stdout(REPRO_USAGE + '\n');
    return EXIT_OK;
  }
  const file = p.positionals[0]!;
  const out = str(p, 'c');
  if (out === undefined) throw new UsageError('repro: missing --c OUT.c (where to write the C program)');
  const iterations = intFlag(p, 'repro', 'iterations', 1000, 1, 100_000_000);
  const timeoutMs = intFlag(p, 'repro', 'timeout-ms', 200, 1, 600_000);
  const mutants = (await backend.mutants()).map((m) => m.name);
  let cx;
  try {
    cx = await readCounterexample(resolve(io.cwd, file), { mutants });
  } catch (e) {
    if (e instanceof CounterexampleError) throw new UsageError(`repro: ${e.message.replace(resolve(io.cwd, file), file)}`);
    throw e;
  }
  const variant = await counterexampleVariant('repro', backend, io, cx, file);
  const { generateRepro, ReproError } = await import('../properties/repro/index.js');
  let r;
  try {
    r = generateRepro(cx, variant, { iterations, timeoutMs, source: file, stopAtFirst: bool(p, 'stop-at-first') });
  } catch (e) {
    if (e instanceof ReproError) throw new UsageError(`repro: ${file}: ${e.message}`);
    throw e;
  }
  const abs = resolve(io.cwd, out);
  try {
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, r.c);
  } catch (e) {
    throw new UsageError(`repro: cannot write ${out}: ${(e as { code?: string }).code ?? oneLine(String(e))}`);
  }
  io.stdout(`wrote ${out}: ${cx.violation.property} (${cx.config}${cx.mutant ? `, mutant ${cx.mutant}` : ''})\n`);
  io.stdout(`  checks: ${r.checked}\n`);
  for (const n of r.notes) io.stdout(`  note: ${n}\n`);
  io.stdout(`  build and run: cc -O2 -pthread -o r ${out} && ./r [ITERATIONS] [TIMEOUT_MS]\n`);
  return EXIT_OK;
}
