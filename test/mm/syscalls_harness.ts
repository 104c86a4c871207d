/**
 * Harness for the syscall tests (mmap, munmap, mprotect, fork, exit, /proc/pid/maps): a scenario
 * run (impl/sim/run.ts) with user threads and/or kernel tasks bound to a process, scheduled by a
 * label script — "run task A until it is paused at label L, then B until …", then the runtime's
 * default. The outcome's schedule string replays the run.
 */
import { DfsStrategy, explore, type Outcome, type Scheduler } from '../../impl/rt/index.js';
import type { Task } from '../../impl/rt/task.js';
import { sim_prepare, sim_run } from '../../impl/sim/run.js';
import { sim_set_kernel } from '../../impl/sim/kernel.js';
import { defineVariant, type VariantSpec } from '../../impl/sim/variant.js';
import type { Kernel } from '../../impl/sim/kernel.js';
import type { ModelOp, Prot } from '../../model/ops.js';
import type { HistoryEntry } from '../../impl/sim/user.js';
import { lockdepHooks } from '../../impl/sync/index.js';
import type { ExecutionHooks } from '../../impl/rt/execution.js';

/** The label-script scheduler is the I/O harness's (one implementation for both). */
export { ScriptScheduler as Script, type Phase } from './io_harness.js';
import { ScriptScheduler as Script, type Phase } from './io_harness.js';

export interface SysTest {
  readonly gen: string;
  readonly overrides?: VariantSpec['overrides'];
  readonly config?: VariantSpec['config'];
  readonly files?: readonly { readonly name: string; readonly pages: readonly number[] }[];
  /** Swap device slots (default none). */
  readonly swapSlots?: number;
  readonly processes?: readonly { readonly pid: number; readonly setup: readonly ModelOp[] }[];
  readonly threads?: readonly { readonly name: string; readonly pid: number; readonly program: readonly ModelOp[] }[];
  /** Kernel tasks spawned after setup: [name, pid (its current->mm) or 0, body]. */
  readonly tasks?: readonly (readonly [string, number, (k: Kernel) => Task<unknown>])[];
  readonly setup?: (k: Kernel) => Task<void>;
  readonly script?: readonly Phase[];
  readonly scheduler?: Scheduler;
  readonly hooks?: ExecutionHooks;
  readonly maxSteps?: number;
}

export interface SysRun {
  readonly outcome: Outcome;
  readonly kernel: Kernel;
  readonly history: HistoryEntry[];
  readonly results: Map<string, unknown>;
  readonly scriptDone: boolean;
  /** The results of the user operations of thread `name`, in order. */
  readonly of: (name: string) => HistoryEntry['result'][];
}

export function sysRun(t: SysTest): SysRun {
  const variant = defineVariant({ name: `sys-${t.gen}`, base: t.gen, description: 'syscalls test', config: t.config, overrides: t.overrides });
  const results = new Map<string, unknown>();
  const script = new Script(t.script ?? []);
  const hooks: ExecutionHooks = t.hooks
    ? {
        afterStep: (e, x) => lockdepHooks.afterStep?.(e, x) ?? t.hooks!.afterStep?.(e, x) ?? null,
        onTaskExit: (e, x) => lockdepHooks.onTaskExit?.(e, x) ?? t.hooks!.onTaskExit?.(e, x) ?? null,
        atEnd: (e) => lockdepHooks.atEnd?.(e) ?? t.hooks!.atEnd?.(e) ?? null,
        describe: lockdepHooks.describe,
      }
    : lockdepHooks;
  const r = sim_run({
    variant,
    scheduler: t.scheduler ?? script,
    trace: true,
    hooks,
    maxSteps: t.maxSteps ?? 50_000,
    scenario: {
      name: 'syscalls-test', family: 'syscalls', files: t.files, ...(t.swapSlots ? { swapSlots: t.swapSlots } : {}),
      processes: t.processes ?? [{ pid: 1, setup: [] }], threads: t.threads ?? [],
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
  const of = (name: string): HistoryEntry['result'][] => {
    const id = r.exec.tasks.findIndex((x) => x.name === name);
    return r.history.filter((h) => h.task === id).map((h) => h.result);
  };
  return { outcome: r.outcome, kernel: r.kernel, history: r.history, results, scriptDone: script.finished, of };
}

export function why(o: Outcome): string {
  return `${o.status}: ${o.violation ? `${o.violation.property}: ${o.violation.message}\n${o.violation.report.join('\n')}` : o.error ?? ''}`;
}

// Operation builders -----------------------------------------------------------------------

export const PAGE = 4096;
export const RW: Prot = { read: true, write: true, exec: false };
export const RO: Prot = { read: true, write: false, exec: false };
export const NONE: Prot = { read: false, write: false, exec: false };

export function mmapAnon(pid: number, addr: number, len: number, prot: Prot = RW, o: { fixed?: boolean; noreplace?: boolean; growsdown?: boolean; shared?: boolean } = {}): ModelOp {
  return {
    op: 'mmap', pid, addr, len, prot,
    flags: { shared: o.shared ?? false, anonymous: true, fixed: o.fixed ?? false, growsdown: o.growsdown ?? false, noreplace: o.noreplace },
  };
}
export function mmapFile(pid: number, addr: number, len: number, file: string, offset: number, prot: Prot = RW, o: { fixed?: boolean; shared?: boolean } = {}): ModelOp {
  return {
    op: 'mmap', pid, addr, len, prot, file, offset,
    flags: { shared: o.shared ?? false, anonymous: false, fixed: o.fixed ?? false, growsdown: false },
  };
}
export const munmap = (pid: number, addr: number, len: number): ModelOp => ({ op: 'munmap', pid, addr, len });
export const mprotect = (pid: number, addr: number, len: number, prot: Prot): ModelOp => ({ op: 'mprotect', pid, addr, len, prot });
export const load = (pid: number, addr: number): ModelOp => ({ op: 'load', pid, addr });
export const store = (pid: number, addr: number, value: number): ModelOp => ({ op: 'store', pid, addr, value });
export const maps = (pid: number, target = pid): ModelOp => ({ op: 'read_maps', pid, target });
export const fork = (pid: number): ModelOp => ({ op: 'fork', pid });
export const exit = (pid: number): ModelOp => ({ op: 'exit', pid });

/** The maps result as "start-end perms offset name" strings (hex, like /proc/pid/maps). */
export function mapsText(res: HistoryEntry['result']): string[] {
  if (!res || res.kind !== 'maps') throw new Error(`not a maps result: ${JSON.stringify(res)}`);
  return res.lines.map((l) => `${l.start.toString(16)}-${l.end.toString(16)} ${l.perms} ${l.offset.toString(16)} ${l.name}`.trimEnd());
}

/**
 * Every schedule of the test within a preemption bound (DFS); `check` sees each finished run with
 * its kernel and history. Returns the number of executions and the outcomes that were not ok.
 */
export function sysDfs(
  t: SysTest, preemptionBound: number, check: (o: Outcome, k: Kernel, h: HistoryEntry[]) => void, maxExecutions = 20_000,
): { executions: number; complete: boolean; bad: Outcome[] } {
  const variant = defineVariant({ name: `sys-${t.gen}`, base: t.gen, description: 'syscalls test', config: t.config, overrides: t.overrides });
  const bad: Outcome[] = [];
  let cur: { kernel: Kernel; history: HistoryEntry[] } | null = null;
  const r = explore(
    new DfsStrategy({ preemptionBound, maxExecutions }),
    (s) => {
      const p = sim_prepare({
        variant, scheduler: s, hooks: lockdepHooks, maxSteps: t.maxSteps ?? 50_000,
        scenario: {
          name: 'syscalls-dfs', family: 'syscalls', files: t.files,
          processes: t.processes ?? [{ pid: 1, setup: [] }], threads: t.threads ?? [],
        },
        setup: t.setup,
      });
      sim_set_kernel(p.kernel);
      cur = { kernel: p.kernel, history: p.history };
      return p.exec;
    },
    {
      stopOnFailure: false,
      onRun: (o) => {
        if (o.status !== 'ok') bad.push(o);
        check(o, cur!.kernel, cur!.history);
      },
    },
  );
  return { executions: r.executions, complete: r.complete, bad };
}
