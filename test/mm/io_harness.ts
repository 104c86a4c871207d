/**
 * Test harness for the I/O paths (page cache, swap, reclaim, block device): a scenario run
 * (impl/sim/run.ts) whose setup builds the state with the kernel's own functions and then spawns
 * the test's kernel tasks, each bound to a process (current->mm) when it needs one, scheduled by
 * a label script: "run task A until it is about to do step L, then B until …", then the default.
 * The run's outcome.schedule is the v1 string that replays it.
 */
import { currentExecution, type Outcome, type Scheduler } from '../../impl/rt/index.js';
import type { Task } from '../../impl/rt/task.js';
import { sim_run } from '../../impl/sim/run.js';
import { defineVariant } from '../../impl/sim/variant.js';
import type { KernelConfig } from '../../impl/sim/config.js';
import type { Kernel } from '../../impl/sim/kernel.js';
import type { DaemonSpec, SetupAction } from '../../impl/sim/scenario.js';
import type { ModelOp } from '../../model/ops.js';
import type { HistoryEntry } from '../../impl/sim/user.js';
import { lockdepHooks } from '../../impl/sync/index.js';

/** One phase of a script: run `task` (by name) until it is paused at a label matching `until`. */
export interface Phase {
  readonly task: string;
  readonly until: string | RegExp;
  /** Skip this many matches before the phase ends (default 0). */
  readonly nth?: number;
}

const matches = (label: string, until: string | RegExp): boolean =>
  typeof until === 'string' ? label === until || label.startsWith(until + ':') : until.test(label);

/**
 * Follows the script; a phase's task runs whenever it is runnable, others (default order) while
 * it is blocked. After the script: the runtime's default (keep running the current task).
 */
export class ScriptScheduler implements Scheduler {
  readonly name = 'script';
  private i = 0;
  private seen = 0;
  constructor(private readonly phases: readonly Phase[]) {}
  private advance(): void {
    const exec = currentExecution();
    for (;;) {
      const p = this.phases[this.i];
      if (!p) return;
      const t = exec.tasks.find((x) => x.name === p.task);
      if (!t) return; // not spawned yet
      if (t.done && !matches('exit', p.until)) throw new Error(`script phase ${this.i}: task ${p.task} has finished before reaching ${String(p.until)}`);
      if (!matches(t.label, p.until)) return;
      if (this.seen < (p.nth ?? 0)) return;
      this.i++;
      this.seen = 0;
    }
  }
  pick(runnable: Int32Array, n: number, dflt: number): number {
    this.advance();
    const p = this.phases[this.i];
    if (!p) return dflt;
    const exec = currentExecution();
    const id = exec.tasks.findIndex((x) => x.name === p.task);
    if (id < 0) return dflt;
    for (let j = 0; j < n; j++) {
      if (runnable[j] === id) {
        const t = exec.tasks[id]!;
        if (matches(t.label, p.until)) this.seen++;
        return id;
      }
    }
    // The phase's task is blocked: let the others run (never the default if it is itself).
    return dflt;
  }
  choose(_n: number, _step: number, _task: number, _label: string): number {
    return 0;
  }
  get finished(): boolean {
    return this.i >= this.phases.length;
  }
}

export interface IoTest {
  readonly gen: string;
  readonly config?: Partial<Omit<KernelConfig, 'name' | 'follows'>>;
  readonly files?: readonly { readonly name: string; readonly pages: readonly number[] }[];
  readonly swapSlots?: number;
  /** Processes and the user operations that set them up (mmap, stores), run in the setup task. */
  readonly processes?: readonly { readonly pid: number; readonly setup: readonly ModelOp[] }[];
  readonly kernelSetup?: readonly SetupAction[];
  /** User threads with programs (need the fault path). */
  readonly threads?: readonly { readonly name: string; readonly pid: number; readonly program: readonly ModelOp[] }[];
  readonly daemons?: readonly DaemonSpec[];
  /** More setup, in the setup task after the scenario's. */
  readonly setup?: (k: Kernel) => Task<void>;
  /** Kernel tasks spawned at the end of setup: [name, pid (current->mm) or 0, body]. */
  readonly tasks?: readonly (readonly [string, number, (k: Kernel) => Task<unknown>])[];
  readonly script?: readonly Phase[];
  readonly scheduler?: Scheduler;
  readonly faultInjection?: boolean;
  readonly maxSteps?: number;
  readonly trace?: boolean;
}

export interface IoRun {
  readonly outcome: Outcome;
  readonly kernel: Kernel;
  readonly history: HistoryEntry[];
  /** Task results by name. */
  readonly results: Map<string, unknown>;
  /** Labels each task passed, in order (with trace on). */
  readonly labels: (task: string) => string[];
  readonly scriptDone: boolean;
}

export function ioRun(t: IoTest): IoRun {
  const variant = defineVariant({ name: `test-${t.gen}`, base: t.gen, description: 'io test', config: t.config });
  const results = new Map<string, unknown>();
  const script = t.script ? new ScriptScheduler(t.script) : null;
  const scheduler = t.scheduler ?? script ?? new ScriptScheduler([]);
  const r = sim_run({
    variant,
    scheduler,
    trace: t.trace ?? true,
    hooks: lockdepHooks,
    maxSteps: t.maxSteps ?? 20_000,
    scenario: {
      name: 'io-test', family: 'io', files: t.files, swapSlots: t.swapSlots, faultInjection: t.faultInjection,
      processes: t.processes ?? [], kernelSetup: t.kernelSetup, threads: t.threads ?? [], daemons: t.daemons,
    },
    setup: function* (kernel: Kernel): Task<void> {
      if (t.setup) yield* t.setup(kernel);
      for (const [name, pid, body] of t.tasks ?? []) {
        const tid = kernel.exec.spawn(name, function* (): Task<void> {
          results.set(name, yield* body(kernel));
        });
        if (pid) kernel.threads.set(tid, { tid, pid, comm: name, exiting: false });
      }
    },
  });
  const labels = (task: string): string[] => {
    const id = r.exec.tasks.findIndex((x) => x.name === task);
    return r.exec.trace.filter((e) => e.task === id).map((e) => e.label);
  };
  return { outcome: r.outcome, kernel: r.kernel, history: r.history, results, labels, scriptDone: script?.finished ?? true };
}

/** A readable failure message for an outcome that should have been ok. */
export function why(o: Outcome): string {
  return `${o.status}: ${o.violation ? `${o.violation.property}: ${o.violation.message}\n${o.violation.report.join('\n')}` : o.error ?? ''}`;
}
