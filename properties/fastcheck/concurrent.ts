/**
 * Concurrent model-based tests, in the shape of fast-check's `fc.scheduledModelRun`: several
 * threads of one process, each running a program of the model's commands (the MmCommand of
 * properties/fastcheck/commands.ts, drawn as `fc.commands` draws them), against ONE simulated mm,
 * interleaved by faultline's deterministic scheduler under a schedule that is itself an arbitrary:
 *
 *   const mm = concurrent({ variant: 'v6.6' });
 *   fc.assert(fc.property(mm.programs(), schedules(), (programs, schedule) =>
 *     scheduledModelRun(schedule, mm.setup, programs)));
 *
 * fast-check shrinks its arguments in order: the programs first (fewer threads, fewer and simpler
 * commands), then the schedule (an explicit switch list shrinks; a PCT or random seed does not),
 * and faultline's schedule shrinker finishes the interleaving of the final counterexample
 * (FaultlineViolation, properties/fastcheck/property.ts).
 *
 * The run is `check`'s run (checkOne: properties/runner.ts): every per-step invariant, the
 * end-of-run checks, liveness, and linearizability of the whole history — the threads' operations
 * and the setup's — against the model. A failure throws a FaultlineViolation whose message is the
 * kernel-style report and the path of the counterexample file it wrote (`faultline replay FILE`).
 *
 * Preconditions: a command's `check` is asked against the model as its own thread would leave it
 * running alone from the setup's state (the model's canonical result for each command before it:
 * model/spec.ts apply), as QuickCheck's parallel state machines check each branch. Which state a
 * command really starts from depends on the interleaving; that is the linearizability checker's to
 * judge, not the precondition's. A command whose precondition fails is left out of the thread's
 * program (fc.modelRun's rule), and a `fc.commands` value marks the commands that were kept as
 * run, so that its shrinker keeps to them. With the default operations (SEQUENTIAL_OPS: no
 * userfaultfd registration) every command is enabled; with uffd_register in `ops`, a thread's
 * access to a registered missing page is left out (the model, running the thread alone, has no
 * monitor to resolve it), while scenarioOf gives the run a userfaultfd monitor for the ranges
 * registered.
 *
 * Replay: `mm.programs()` draws arrays (fc.array), so fast-check's printed `seed` and `path`
 * replay a failure exactly. `fc.commands` values work too, and replay as fast-check documents for
 * them (its `replayPath` as well as seed and path).
 */
import fc from 'fast-check';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import { apply, enabled, fingerprint } from '../../model/spec.js';
import type { MmState } from '../../model/state.js';
import type { ModelOp } from '../../model/ops.js';
import type { RunReport } from '../api.js';
import { DEFAULT_LAYOUT, scenarioOf } from './arbitraries.js';
import { modelSetup, SEQUENTIAL_OPS, type MmModel, type MmReal, type SequentialOptions } from './commands.js';
import { checkOne } from './property.js';
import type { Schedule } from './schedule.js';

export type ConcurrentOptions = SequentialOptions;

export interface ProgramsOptions {
  /** Threads (default 2); a range draws their number, shrinking toward `min`. */
  readonly threads?: number | { readonly min: number; readonly max: number };
  /** Commands per thread (default 1 to 4). */
  readonly minCommands?: number;
  readonly maxCommands?: number;
}

export interface Concurrent {
  /** One command arbitrary per operation kind (for `fc.commands`, or `programs`). */
  readonly commands: fc.Arbitrary<fc.Command<MmModel, MmReal>>[];
  /** The model's initial state and the real system (the variant, the layout): scheduledModelRun's setup. */
  readonly setup: () => { model: MmModel; real: MmReal };
  /** The scenario without threads (its setup maps the layout). */
  readonly scenario: ScenarioSpec;
  /** The threads' programs: one array of commands per thread. */
  programs(opts?: ProgramsOptions): fc.Arbitrary<fc.Command<MmModel, MmReal>[][]>;
}

/** Commands, programs and setup for concurrent model-based tests of `variant`. */
export function concurrent(opts: ConcurrentOptions): Concurrent {
  const base = modelSetup(opts, 'concurrent');
  // The general generator's weights (loads and stores most often), as `fc.oneof` takes them.
  const table = opts.ops ?? SEQUENTIAL_OPS;
  const weighted = base.commands.map((arbitrary, i) => ({ arbitrary, weight: table[i]!.weight }));
  return {
    ...base,
    programs(p: ProgramsOptions = {}) {
      const t = p.threads ?? 2;
      const [min, max] = typeof t === 'number' ? [t, t] : [t.min, t.max];
      if (!(min >= 1 && max >= min)) throw new RangeError(`threads: need 1 ≤ min ≤ max, got ${min}..${max}`);
      const one = fc.array(fc.oneof(...weighted), { minLength: p.minCommands ?? 1, maxLength: p.maxCommands ?? 4 });
      return fc.array(one, { minLength: min, maxLength: max });
    },
  };
}

/** What a command of a concurrent program must be: the model's operation (MmCommand), or fc.commands' wrapper of one. */
interface OpCommand { readonly op: ModelOp; check(m: Readonly<MmModel>): boolean }

function opCommandOf(c: fc.Command<MmModel, MmReal>): OpCommand {
  const inner = (c as { cmd?: unknown }).cmd ?? c;
  if (typeof inner !== 'object' || inner === null || !('op' in inner)) {
    throw new TypeError(`scheduledModelRun: ${String(c)} is not one of the model's commands (concurrent(…).commands)`);
  }
  return { op: (inner as { op: ModelOp }).op, check: (m) => c.check(m) };
}

/** The thread's model after `op`, running alone: the canonical result from every state that can take it. */
function alone(states: readonly MmState[], op: ModelOp): MmState[] {
  const next: MmState[] = [];
  const seen = new Set<string>();
  for (const s of states) {
    if (enabled(s, op) !== null) continue;
    const st = apply(s, op).state;
    const f = fingerprint(st);
    if (!seen.has(f)) {
      seen.add(f);
      next.push(st);
    }
  }
  return next;
}

/**
 * The threads' programs (the commands whose preconditions hold, per thread: see the header), as
 * the scenario runs them: threads t0, t1, … of P1 over the layout of `real`.
 */
export function concurrentScenario(setup: () => { model: MmModel; real: MmReal }, programs: readonly Iterable<fc.Command<MmModel, MmReal>>[]): { scenario: ScenarioSpec; real: MmReal } {
  const { model, real } = setup();
  const threads = programs.map((prog) => {
    const m: MmModel = { states: [...model.states] };
    const ops: ModelOp[] = [];
    for (const c of prog) {
      const cmd = opCommandOf(c);
      if (!cmd.check(m)) continue;
      if ('hasRan' in c) (c as { hasRan: boolean }).hasRan = true;
      ops.push(cmd.op);
      m.states = alone(m.states, cmd.op);
    }
    return ops;
  });
  const scenario = scenarioOf(real.layout ?? DEFAULT_LAYOUT, threads, real.scenario.name);
  return { scenario, real };
}

/**
 * Run the threads' programs concurrently against one simulated mm under `schedule`, judged as
 * `check` judges a run; throws a FaultlineViolation (report and counterexample file) or a
 * FaultlineRunError, else returns the passing run.
 */
export function scheduledModelRun(
  schedule: Schedule,
  setup: () => { model: MmModel; real: MmReal },
  programs: readonly Iterable<fc.Command<MmModel, MmReal>>[],
): RunReport {
  const { scenario, real } = concurrentScenario(setup, programs);
  return checkOne(real.target, scenario, schedule, real.opts);
}
