/**
 * Coverage: what of the kernel simulation a run or a campaign exercised.
 *
 * - functions: the kernel functions of the table (impl/sim/table.ts: every exported function of
 *   the kernel modules, called as `k.fn.<name>`) that were called at least once (classes and the
 *   simulation's accessors are not counted: coverage_table.ts);
 * - labels: the step labels (the `yield` points, coverage_labels.ts finds them all in impl/'s
 *   sources) at which some task paused;
 * - lock pairs: pairs of lock classes held together by one task — the edges of lockdep's
 *   lock-order graph (held → acquired, every blocking acquisition), plus what a task's held-lock
 *   stack shows after each step (trylocks, and RCU read-side sections as the pseudo-class `rcu`).
 *   A trylock nested and released within one step is not seen. Pairs have no static total: the
 *   report lists those reached (and verify compares configurations).
 *
 * Collection costs nothing when off: a run without a collector runs the plain table and the
 * plain hooks. When on, the table is a copy whose functions record their first call and are then
 * replaced by the originals in the template later runs copy, so a function costs a wrapper call
 * only until it has been seen once; each step adds one Set insertion (its label) and a look at
 * the stepping task's held locks.
 *
 * API (for the CLI, verify, bench and the coverage-guided corpus):
 *   const cov = new CoverageCollector();
 *   runScenario({ variant, scenario, scheduler, coverage: cov });   // or runCampaign({ …, coverage: cov })
 *   cov.size()        // items seen so far: a run that raised it reached something new
 *   coverageReport(cov.toJSON())   // reached / total / never reached, per kind
 *   collectCoverage(opts)          // one run with a fresh collector: { report, coverage }
 */
import type { Execution, ExecutionHooks, TaskState } from '../impl/rt/execution.js';
import type { Violation } from '../impl/rt/task.js';
import type { KernelFns } from '../impl/sim/table.js';
import { tableEntries } from './coverage_table.js';
import type { Variant } from '../impl/sim/variant.js';
import { sim_lockdep_dependencies } from '../impl/sync/lockdep.js';
import { sim_task_sync_peek } from '../impl/sync/sched.js';
import { labelCatalogue, RUNTIME_LABELS } from './coverage_labels.js';
import { unreachedReason } from './coverage_reasons.js';
import type { RunReport } from './api.js';
import { runScenario, type RunOptions } from './runner.js';

/** The pseudo lock class of an RCU read-side critical section. */
export const RCU_CLASS = 'rcu';
/** Separator of the two class names in a lock-pair key (class names contain `->`). */
const SEP = ' → ';

/** Coverage as plain data (JSON-safe; merged across worker processes). */
export interface CoverageJson {
  /** Kernel functions of the table that were called. */
  readonly functions: readonly string[];
  /** Step labels reached, as the runs produced them (dynamic labels unresolved). */
  readonly labels: readonly string[];
  /** Lock classes held together: `A → B` (A held when B was taken). */
  readonly lockPairs: readonly string[];
  /** Runs recorded. */
  readonly runs: number;
}

export class CoverageCollector {
  readonly functions = new Set<string>();
  readonly labels = new Set<string>();
  readonly lockPairs = new Set<string>();
  runs = 0;
  /** Lock pairs seen on held stacks, keyed by the two classes' ids (no string per step). */
  private readonly pairIds = new Set<number>();
  private readonly wrapped = new WeakMap<Variant, Variant>();
  private exec: Execution | null = null;
  /** Per-step hooks, merged after the checker's own by the runner. */
  readonly hooks: ExecutionHooks;

  /**
   * Context switches seen, as `executed label of the task that ran → executed label of the next task
   * to run`, when the collector was made with `{ switches: true }` (interleaving coverage: the label
   * pairs a coverage-guided corpus or a scheduler comparison counts). No static total.
   */
  readonly switches = new Set<string>();
  /** Per task, the label it is paused at (what its next step executes); see switches. */
  private pending: string[] = [];
  private lastExecuted = '';
  private lastTask = -1;

  constructor(opts: { readonly switches?: boolean } = {}) {
    const labels = this.labels;
    const pairIds = this.pairIds;
    const lockPairs = this.lockPairs;
    const self = this;
    const switches = opts.switches === true;
    this.hooks = {
      afterStep(exec: Execution, task: TaskState): Violation | null {
        if (self.exec !== exec) self.startRun(exec);
        if (switches) {
          const executed = self.pending[task.id] ?? 'start';
          if (task.id !== self.lastTask && self.lastTask >= 0) self.switches.add(self.lastExecuted + SEP + executed);
          self.pending[task.id] = task.label;
          self.lastExecuted = executed;
          self.lastTask = task.id;
        }
        labels.add(task.label);
        const s = sim_task_sync_peek(task);
        if (s === undefined) return null;
        const d = s.depth;
        if (d === 0 || (d === 1 && s.rcu === 0)) return null;
        for (let i = 0; i < d; i++) {
          const a = s.hClass[i]!;
          if (s.rcu > 0) {
            const before = s.rcuStart <= s.hStep[i]!;
            const key = before ? 0xffff * 0x10000 + a.id : a.id * 0x10000 + 0xffff;
            if (!pairIds.has(key)) {
              pairIds.add(key);
              lockPairs.add(before ? RCU_CLASS + SEP + a.name : a.name + SEP + RCU_CLASS);
            }
          }
          for (let j = i + 1; j < d; j++) {
            const b = s.hClass[j]!;
            const key = a.id * 0x10000 + b.id;
            if (!pairIds.has(key)) {
              pairIds.add(key);
              lockPairs.add(a.name + SEP + b.name);
            }
          }
        }
        return null;
      },
    };
  }

  private startRun(exec: Execution): void {
    this.exec = exec;
    this.pending = [];
    this.lastTask = -1;
    this.lastExecuted = '';
  }

  /** Items seen so far (functions + labels + lock pairs): grows when a run reaches something new. */
  size(): number {
    return this.functions.size + this.labels.size + this.lockPairs.size;
  }

  /**
   * The variant with a recording table. Each function records its first call, then the template
   * that later executions copy gets the original back (the execution running keeps its wrapper).
   */
  wrap(v: Variant): Variant {
    const known = this.wrapped.get(v);
    if (known !== undefined) return known;
    const seen = this.functions;
    let template: Record<string, unknown> | null = null;
    const w: Variant = {
      ...v,
      table(): KernelFns {
        if (template === null) {
          const t = v.table() as unknown as Record<string, unknown>;
          const tpl: Record<string, unknown> = {};
          for (const name of Object.keys(t)) {
            const f = t[name];
            if (typeof f !== 'function' || seen.has(name)) {
              tpl[name] = f;
              continue;
            }
            const fn = f as (...a: unknown[]) => unknown;
            tpl[name] = function (this: unknown, ...a: unknown[]): unknown {
              if (!seen.has(name)) {
                seen.add(name);
                tpl[name] = fn;
              }
              return fn.apply(this, a);
            };
          }
          template = tpl;
        }
        return { ...template } as unknown as KernelFns;
      },
    };
    this.wrapped.set(v, w);
    return w;
  }

  /** Called by the runner when a run ends: lockdep's dependencies of the run. */
  endRun(exec?: Execution): void {
    this.runs++;
    const e = exec ?? this.exec;
    this.exec = null;
    if (e === null) return;
    for (const [a, b] of sim_lockdep_dependencies(e)) this.lockPairs.add(a + SEP + b);
  }

  /** Add another collector's (or a worker's) coverage. */
  merge(c: CoverageJson): this {
    for (const f of c.functions) this.functions.add(f);
    for (const l of c.labels) this.labels.add(l);
    for (const p of c.lockPairs) this.lockPairs.add(p);
    this.runs += c.runs;
    return this;
  }

  toJSON(): CoverageJson {
    return { functions: [...this.functions].sort(), labels: [...this.labels].sort(), lockPairs: [...this.lockPairs].sort(), runs: this.runs };
  }
}

export function mergeCoverage(parts: readonly CoverageJson[]): CoverageJson {
  const c = new CoverageCollector();
  for (const p of parts) c.merge(p);
  return c.toJSON();
}

export interface CoverageKind<T> {
  readonly reached: number;
  readonly total: number;
  readonly unreached: readonly T[];
}

export interface CoverageReport {
  readonly runs: number;
  /** Kernel functions of the table: reached / total, the others with their kernel file. */
  readonly functions: CoverageKind<{ readonly name: string; readonly module: string; readonly reason?: string }> & {
    /** Entries of the table that are not kernel functions (classes, the simulation's accessors), with why. */
    readonly notCounted: readonly { readonly name: string; readonly module: string; readonly why: string }[];
  };
  /** Step labels: reached / total, the others with where they are written. */
  readonly labels: CoverageKind<{ readonly label: string; readonly at: string; readonly reason?: string }> & {
    /** Run-time labels the source scan does not know (should be none: see coverage_labels.ts). */
    readonly unknown: readonly string[];
  };
  /** Lock classes held together (no static total). */
  readonly lockPairs: { readonly reached: number; readonly pairs: readonly string[]; readonly classes: readonly string[] };
}

/** Reached / total / never reached, per kind, against this checkout's table and label scan. */
export function coverageReport(c: CoverageJson): CoverageReport {
  const cat = labelCatalogue();
  const fnSeen = new Set(c.functions);
  const fnUnreached: { name: string; module: string; reason?: string }[] = [];
  let fnReached = 0;
  const entries = tableEntries();
  for (const [name, module] of entries.counted) {
    if (fnSeen.has(name)) fnReached++;
    else {
      const reason = unreachedReason('fn', name);
      fnUnreached.push(reason !== undefined ? { name, module, reason } : { name, module });
    }
  }
  const labelSeen = new Set<string>();
  const unknown: string[] = [];
  for (const l of c.labels) {
    if (RUNTIME_LABELS.has(l)) continue;
    const r = cat.resolve(l);
    if (r === null) unknown.push(l);
    else if (r.counted) labelSeen.add(r.label);
  }
  const labelUnreached = cat.kernel.filter((s) => !labelSeen.has(s.label)).map((s) => {
    const reason = unreachedReason('label', s.label);
    return reason !== undefined ? { label: s.label, at: s.at, reason } : { label: s.label, at: s.at };
  });
  const classes = new Set<string>();
  for (const p of c.lockPairs) for (const x of p.split(SEP)) classes.add(x);
  return {
    runs: c.runs,
    functions: { reached: fnReached, total: entries.counted.size, unreached: fnUnreached, notCounted: entries.notCounted },
    labels: { reached: cat.kernel.length - labelUnreached.length, total: cat.kernel.length, unreached: labelUnreached, unknown: unknown.sort() },
    lockPairs: { reached: c.lockPairs.length, pairs: [...c.lockPairs].sort(), classes: [...classes].sort() },
  };
}

/** `reached/total (pp.p%)`. */
export function pct(reached: number, total: number): string {
  return `${reached}/${total} (${total === 0 ? '100.0' : ((100 * reached) / total).toFixed(1)}%)`;
}

/** One run with a fresh collector: its report and everything it reached. */
export function collectCoverage(opts: Omit<RunOptions, 'coverage'>): { report: RunReport; coverage: CoverageJson } {
  const cov = new CoverageCollector();
  const report = runScenario({ ...opts, coverage: cov });
  return { report, coverage: cov.toJSON() };
}

/** One configuration's coverage in a verify report: the figures and what it never reached. */
export interface ConfigCoverage {
  readonly config: string;
  readonly runs: number;
  readonly functions: { readonly reached: number; readonly total: number };
  readonly labels: { readonly reached: number; readonly total: number };
  readonly lockPairs: number;
  readonly unreachedFunctions: readonly string[];
  readonly unreachedLabels: readonly string[];
  /** Run-time labels the source scan does not know (should be none). */
  readonly unknownLabels: readonly string[];
  readonly pairs: readonly string[];
}

/** The coverage section of `faultline verify`'s report. */
export interface VerifyCoverage {
  /** Per configuration, over all its scenario families. */
  readonly configs: readonly ConfigCoverage[];
  /** All configurations together: what no configuration reached, with the known reasons. */
  readonly all: CoverageReport;
}

/** The verify report's coverage section from each configuration's merged coverage. */
export function verifyCoverage(perConfig: readonly { readonly config: string; readonly coverage: CoverageJson }[]): VerifyCoverage {
  const configs = perConfig.map(({ config, coverage }): ConfigCoverage => {
    const r = coverageReport(coverage);
    return {
      config, runs: r.runs,
      functions: { reached: r.functions.reached, total: r.functions.total },
      labels: { reached: r.labels.reached, total: r.labels.total },
      lockPairs: r.lockPairs.reached,
      unreachedFunctions: r.functions.unreached.map((f) => f.name),
      unreachedLabels: r.labels.unreached.map((l) => l.label),
      unknownLabels: r.labels.unknown,
      pairs: r.lockPairs.pairs,
    };
  });
  return { configs, all: coverageReport(mergeCoverage(perConfig.map((p) => p.coverage))) };
}
