/**
 * The model's actions as fast-check commands, for sequential model-based tests of one thread
 * against the kernel simulation in the shape fast-check documents:
 *
 *   const mm = sequential({ variant: 'v6.6' });
 *   fc.assert(fc.property(fc.commands(mm.commands), (cmds) => fc.modelRun(mm.setup, cmds)));
 *
 * The model is model/'s abstract address space: a command's precondition (`check`) is that the
 * model can take the operation (it is enabled: a load of a registered missing page waits for a
 * userfaultfd monitor, which a sequential test has not, so it is never drawn there). The real
 * system is the simulation of `variant`: `run` re-runs the scenario's setup and the thread's
 * program so far with the new operation appended (re-execution, not snapshots — the runtime's
 * rule) under every per-step invariant, and then the operation's result must be one the model
 * allows from its current state (step-by-step refinement), whose next state becomes the model's. The model is nondeterministic where the kernel may choose (mmap placement,
 * a child's pid): the model keeps every state the results so far allow.
 *
 * A broken invariant throws a FaultlineViolation (its message the kernel-style report and the
 * counterexample file, properties/fastcheck/property.ts); so does a result the model does not
 * allow, judged then by the history checker as `check` judges a run (linearizability or
 * final-state, with its counterexample file) — or a ModelMismatch naming the operation, its result
 * and the model's reason, if the history checker should accept what the step-by-step comparison
 * refused.
 */
import fc from 'fast-check';
import { ReplayScheduler } from '../../impl/rt/schedulers/replay.js';
import { sim_run } from '../../impl/sim/run.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import { check, enabled, fingerprint } from '../../model/spec.js';
import type { MmState } from '../../model/state.js';
import { describeCall, describeOp, type ModelOp, type ModelResult } from '../../model/ops.js';
import { runScenario } from '../runner.js';
import { modelInitialState } from '../refinement.js';
import { DEFAULT_LAYOUT, PROGRAM_OPS, resolveContext, scenarioOf, type LayoutDraw } from './arbitraries.js';
import { FaultlineRunError, FaultlineViolation, type CheckOptions } from './property.js';
import { toVariant, type ResolvedVariant, type VariantLike } from './variant.js';
import type { AnyOpKind } from '../arbitraries/ops.js';

/** The model side: every abstract state the results so far allow (one, mostly). */
export interface MmModel {
  states: readonly MmState[];
}

/** The real side: the simulated kernel, as the program it has run so far. */
export interface MmReal {
  readonly target: ResolvedVariant;
  readonly scenario: ScenarioSpec;
  readonly program: ModelOp[];
  readonly opts: CheckOptions;
  /** The layout the scenario's setup maps (concurrent runs build their scenario over it). */
  readonly layout?: LayoutDraw;
  /** The last operation's result. */
  last: ModelResult | null;
}

/** The kernel returned a result no state of the model allows. */
export class ModelMismatch extends Error {
  constructor(readonly op: ModelOp, readonly result: ModelResult, readonly why: string, readonly program: readonly ModelOp[]) {
    super(`${describeCall(op, result)}: the model does not allow it (${why}); program: ${program.map((o) => describeOp(o)).join('; ')}`);
    this.name = 'ModelMismatch';
  }
}

/** One user-space operation of P1's thread. */
export class MmCommand implements fc.Command<MmModel, MmReal> {
  constructor(readonly op: ModelOp) {}

  check(m: Readonly<MmModel>): boolean {
    return m.states.some((s) => enabled(s, this.op) === null);
  }

  run(m: MmModel, r: MmReal): void {
    r.program.push(this.op);
    const scenario: ScenarioSpec = { ...r.scenario, threads: [{ name: 't0', pid: 1, program: [...r.program] }] };
    // The per-step invariants judge the run; refinement is this command's own comparison below.
    const rep = runScenario({ variant: r.target.variant, scenario, scheduler: new ReplayScheduler('v1:', false), skipHistory: true });
    if (rep.status === 'violation') throw new FaultlineViolation(r.target, scenario, rep, r.opts);
    if (rep.status !== 'pass') throw new FaultlineRunError(`${rep.status} in ${scenario.name}: ${rep.error?.split('\n')[0] ?? ''}`, rep);
    const mine = rep.history.filter((h) => h.task === rep.threads[0]);
    const result = mine[mine.length - 1]?.result;
    if (mine.length !== r.program.length || result === undefined) {
      throw new FaultlineRunError(`${describeOp(this.op)} did not return (${mine.length} of ${r.program.length} operations completed)`, rep);
    }
    const next: MmState[] = [];
    const why: string[] = [];
    const seen = new Set<string>();
    for (const s of m.states) {
      const v = check(s, this.op, result);
      if (!v.ok) {
        why.push(v.why);
        continue;
      }
      for (const st of [v.state, ...(v.also ?? [])]) {
        const f = fingerprint(st);
        if (!seen.has(f)) {
          seen.add(f);
          next.push(st);
        }
      }
    }
    if (next.length === 0) {
      // The whole run judged as `check` judges it: its refinement violation, with the report and
      // counterexample file, when the history checker sees it too.
      const full = runScenario({ variant: r.target.variant, scenario, scheduler: new ReplayScheduler('v1:', false) });
      if (full.status === 'violation') throw new FaultlineViolation(r.target, scenario, full, r.opts);
      throw new ModelMismatch(this.op, result, why.join(' | '), r.program);
    }
    m.states = next;
    r.last = result;
  }

  toString(): string {
    return describeOp(this.op);
  }
}

export interface SequentialOptions extends CheckOptions {
  /** A configuration, mutant, variant object or module (as for mmProperty). */
  readonly variant: VariantLike;
  /** The address space P1 starts with (default DEFAULT_LAYOUT). */
  readonly layout?: LayoutDraw;
  /** The operations drawn (default SEQUENTIAL_OPS). */
  readonly ops?: readonly AnyOpKind[];
}

/**
 * The general generator's operations without exit and uffd_register: a sequential test has no
 * userfaultfd monitor, and a munmap, mremap or madvise of a registered range waits for the monitor
 * to read its event (a hang of the test program, not of the kernel).
 */
export const SEQUENTIAL_OPS: readonly AnyOpKind[] = PROGRAM_OPS.filter((k) => k.name !== 'uffd_register');

export interface Sequential {
  /** One command arbitrary per operation kind, for fc.commands. */
  readonly commands: fc.Arbitrary<fc.Command<MmModel, MmReal>>[];
  /** fc.modelRun's setup: a fresh model and real system. */
  readonly setup: () => { model: MmModel; real: MmReal };
  /** The scenario the commands run in (its setup maps the layout). */
  readonly scenario: ScenarioSpec;
}

/** Commands and setup for sequential model-based tests of `variant`. */
export function sequential(opts: SequentialOptions): Sequential {
  return modelSetup(opts, 'sequential');
}

/**
 * The commands, the model's initial state (the layout's setup run once, its results taken by the
 * model) and fc.modelRun's setup over `opts.layout`: sequential's, and concurrent's
 * (properties/fastcheck/concurrent.ts).
 */
export function modelSetup(opts: SequentialOptions, name: string): Sequential {
  const target = toVariant(opts.variant, opts.variantFile);
  const layout = opts.layout ?? DEFAULT_LAYOUT;
  const table = opts.ops ?? SEQUENTIAL_OPS;
  const scenario = scenarioOf(layout, [], name);
  const ctx = resolveContext(layout);
  let init: MmState | null = null;
  const initial = (): MmState => {
    if (init) return init;
    const run = sim_run({ variant: target.variant, scenario, scheduler: new ReplayScheduler('v1:', false) });
    if (run.outcome.status !== 'ok') throw new Error(`the layout's setup failed: ${run.outcome.violation?.message ?? run.outcome.error ?? run.outcome.status}`);
    const s = modelInitialState(run, scenario);
    if (typeof s === 'string') throw new Error(`the layout's setup is not allowed by the model: ${s}`);
    init = s;
    return s;
  };
  const commands = table.map((k) => k.draw.map((d): fc.Command<MmModel, MmReal> => new MmCommand(k.resolve(d, ctx))));
  return {
    commands,
    scenario,
    setup: () => ({
      model: { states: [initial()] },
      real: { target, scenario, program: [], opts, layout, last: null },
    }),
  };
}
