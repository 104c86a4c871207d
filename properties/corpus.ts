/**
 * A coverage-guided corpus of workloads (syzkaller's idea, for the general generator): a workload
 * whose runs reached something no earlier run had — a step label, a pair of consecutive labels of
 * one task, or a pair of labels across a switch from one task to another — is kept, and later
 * workloads are more often small mutations of kept ones than fresh draws. Rare interleavings
 * need the rare workload states that reach them first; a workload that got somewhere new is more
 * likely than a fresh one to get somewhere newer.
 *
 * The coverage signal is an interface (CoverageSignal): did a workload's runs reach something
 * new? Two are here: StepSignal (the step labels reached, the pairs of consecutive labels of one
 * task, the pairs of labels across a switch between tasks — interleaving coverage) and
 * CollectorSignal (properties/coverage.ts: kernel functions of the table, step labels, pairs of
 * lock classes held together).
 *
 * Deterministic per seed: the corpus's choices come from its own seeded random source, fresh
 * workloads from the family's arbitrary at seeds derived from the campaign's.
 */
import type fc from 'fast-check';
import type { TaskState } from '../impl/rt/execution.js';
import type { ScenarioSpec } from '../impl/sim/scenario.js';
import { seededRandom } from './arbitraries/draw.js';
import { CoverageCollector } from './coverage.js';

/** A coverage signal: whether a workload's runs reached something no earlier run had. */
export interface CoverageSignal {
  /** Start collecting for a new workload. */
  begin(): void;
  /** Called after each step (RunOptions.onStep), when the signal needs it. */
  readonly onStep?: (task: TaskState) => void;
  /** The collector the runs record into (RunOptions.coverage), when the signal uses one. */
  readonly collector?: CoverageCollector;
  /** Did the runs since begin() reach something new? (What they reached is then known.) */
  novel(): boolean;
}

const labelIds = new Map<string, number>();
/** A small stable number per step label (for the life of the process). */
function labelId(label: string): number {
  let id = labelIds.get(label);
  if (id === undefined) {
    id = labelIds.size + 1;
    labelIds.set(label, id);
  }
  return id;
}

/** Feature kinds, in the high part of the feature number. */
const LABEL = 0;
const EDGE = 1;
const SWITCH = 2;
const feature = (kind: number, a: number, b = 0): number => (kind * 2 ** 20 + a) * 2 ** 20 + b;

/**
 * The step-label signal: every label a task reached; for each task, each pair of consecutive
 * labels (its path through the kernel); and at each switch between tasks, the pair (label the
 * previous task last ran, label the next one runs) — which steps of different tasks met.
 */
export class StepSignal implements CoverageSignal {
  private feats = new Set<number>();
  private readonly seen = new Set<number>();
  private last = new Map<number, number>();
  private prevTask = -1;
  private prevLabel = 0;
  readonly onStep = (t: TaskState): void => this.step(t);
  begin(): void {
    this.feats = new Set<number>();
    this.last.clear();
    this.prevTask = -1;
    this.prevLabel = 0;
  }
  private step(t: TaskState): void {
    // The step just run is the label the task stood at before it (its previous `label`).
    const ran = this.last.get(t.id) ?? 0;
    const next = labelId(t.label);
    this.last.set(t.id, next);
    this.feats.add(feature(LABEL, next));
    this.feats.add(feature(EDGE, ran, next));
    if (t.id !== this.prevTask && this.prevTask >= 0) this.feats.add(feature(SWITCH, this.prevLabel, ran));
    this.prevTask = t.id;
    this.prevLabel = ran;
  }
  features(): ReadonlySet<number> {
    return this.feats;
  }
  novel(): boolean {
    let fresh = false;
    for (const f of this.feats) {
      if (!this.seen.has(f)) {
        this.seen.add(f);
        fresh = true;
      }
    }
    return fresh;
  }
  /** Features reached so far. */
  get size(): number {
    return this.seen.size;
  }
}

/** The coverage collector's signal: kernel functions, step labels, lock-class pairs (coverage.ts). */
export class CollectorSignal implements CoverageSignal {
  readonly collector = new CoverageCollector();
  private before = 0;
  begin(): void {
    this.before = this.collector.size();
  }
  novel(): boolean {
    return this.collector.size() > this.before;
  }
}

/** Either signal finding something new. */
export class BothSignals implements CoverageSignal {
  private readonly steps = new StepSignal();
  private readonly cov = new CollectorSignal();
  readonly onStep = this.steps.onStep;
  readonly collector = this.cov.collector;
  begin(): void {
    this.steps.begin();
    this.cov.begin();
  }
  novel(): boolean {
    const a = this.steps.novel();
    const b = this.cov.novel();
    return a || b;
  }
}

export type SignalName = 'steps' | 'coverage' | 'both';
export function makeSignal(name: SignalName): CoverageSignal {
  return name === 'steps' ? new StepSignal() : name === 'coverage' ? new CollectorSignal() : new BothSignals();
}

/** A family whose workloads are plain draws that can be built and mutated (the general generator). */
export interface MutableFamily<D> {
  readonly draw: fc.Arbitrary<D>;
  build(d: D, name: string): ScenarioSpec;
  mutate(d: D, rnd: fc.Random, others: readonly D[]): D;
}

export interface CorpusOptions {
  /** Share of workloads that are mutations of kept ones once the corpus is not empty (default 0.5). */
  readonly mutateShare?: number;
  /** Most workloads kept (the oldest go first; default 256). */
  readonly maxEntries?: number;
}

/** Where a workload came from: a fresh draw (with its seed, for fast-check shrinking) or a mutation. */
export interface CorpusPick<D> {
  readonly draw: D;
  readonly scenario: ScenarioSpec;
  /** The family seed of a fresh draw (absent for a mutation). */
  readonly seed?: number;
}

export class Corpus<D> {
  private readonly entries: D[] = [];
  private readonly rnd: fc.Random;
  private readonly share: number;
  private readonly max: number;
  /** Workloads kept, and mutations drawn (for reports). */
  kept = 0;
  mutations = 0;

  constructor(private readonly fam: MutableFamily<D>, seed: number, opts: CorpusOptions = {}) {
    this.rnd = seededRandom(seed ^ 0x3c6ef372);
    this.share = opts.mutateShare ?? 0.5;
    this.max = opts.maxEntries ?? 256;
  }

  /** The next workload: a mutation of a kept one, or a fresh draw for `freshSeed`. */
  next(freshSeed: number, name: string): CorpusPick<D> {
    if (this.entries.length > 0 && this.rnd.nextInt(0, 999) < this.share * 1000) {
      const parent = this.entries[this.rnd.nextInt(0, this.entries.length - 1)]!;
      const d = this.fam.mutate(parent, this.rnd, this.entries);
      this.mutations++;
      return { draw: d, scenario: this.fam.build(d, `${name}~m${this.mutations}`) };
    }
    const d = this.fam.draw.generate(seededRandom(freshSeed), undefined).value;
    return { draw: d, scenario: this.fam.build(d, name), seed: freshSeed };
  }

  /** A workload whose runs reached something new (the signal's verdict) is kept. Returns whether it was. */
  feedback(d: D, novel: boolean): boolean {
    if (!novel) return false;
    this.entries.push(d);
    if (this.entries.length > this.max) this.entries.shift();
    this.kept++;
    return true;
  }
}
