/**
 * Communication-guided PCT: PCT (pct.ts) whose priority change points fall only where tasks
 * communicate — Snowboard's idea (Gong et al., SOSP 2021: profile each test sequentially, find the
 * pairs of accesses of different tests to the same memory, and spend the interleaving budget on
 * them) applied to PCT's change points.
 *
 * `hot` is a set of keys naming steps that touch an object another task also touches (learned from
 * a sequential run by properties/guided.ts). A *communication point* is a scheduling decision where
 * the task PCT would run is about to take a hot step (the label it is paused at is hot: its next
 * step is the access), or has just taken one (it ran the previous step and that step was hot). The
 * d−1 change points are drawn uniformly over the first `h` communication points instead of over
 * all k steps: at the i-th chosen one, the task drops to priority i, so another task's accesses
 * come between — before this task's access, or right after it. If the bug needs its preemptions
 * at communication points, it is found with probability at least 1/(n·h^(d−1)) per run, with
 * h ≪ k. Everything else is PCT: random initial priorities, uniform nondeterministic choices,
 * `h` adapting to the most communication points seen (GuidedStrategy / the campaign).
 *
 * A step's key is `label@kind`, where kind is the object's name with its numbers dropped
 * (`vma#12` → `vma#`, `mm(1)->mmap_lock` → `mm()->mmap_lock`): object ids are handed out in
 * creation order, so the same object can have another number in another interleaving. A step that
 * names no object has the key `label@` (the learner decides from the locks it held whether it
 * communicates).
 */
import { currentExecution, describeObj, type TaskState } from '../execution.js';
import { Prng } from '../prng.js';
import type { Scheduler } from '../scheduler.js';
import { shuffle } from './pct.js';

const KIND_CACHE = new Map<string, string>();

/** The kind of a named object: its name without digits (cached). */
export function objectKind(name: string): string {
  let k = KIND_CACHE.get(name);
  if (k === undefined) {
    k = name.replace(/[0-9]+/g, '');
    if (KIND_CACHE.size > 100_000) KIND_CACHE.clear();
    KIND_CACHE.set(name, k);
  }
  return k;
}

/** The communication key of a step: `label@kind`, or `label@` when it names no object. */
export function stepKey(label: string, objName: string): string {
  return objName === '' ? label + '@' : `${label}@${objectKind(objName)}`;
}

function pendingKey(t: TaskState): string {
  return t.obj === undefined || t.obj === null ? t.label + '@' : stepKey(t.label, describeObj(t.obj));
}

export interface GuidedOptions {
  /** PCT depth d: d−1 change points. */
  readonly depth: number;
  /** Communication points expected in a run (the change points' range). */
  readonly h: number;
  /** Steps expected in a run (the range of a change point drawn as PCT draws it). */
  readonly k: number;
  /** Keys of the communication steps. */
  readonly hot: ReadonlySet<string>;
  /**
   * Share of the change points drawn as plain PCT draws them (uniformly over the k steps) rather
   * than over the communication points: a bug whose preemption falls outside what the learner
   * saw stays findable (0: all guided, 1: PCT).
   */
  readonly uniform?: number;
}

export class GuidedScheduler implements Scheduler {
  readonly name = 'guided';
  readonly everyStep = true;
  private readonly rng: Prng;
  private readonly depth: number;
  private readonly hot: ReadonlySet<string>;
  private prio: number[] = [];
  /** Change points over communication points, in order, and the priority each gives. */
  private hotAt: number[] = [];
  private hotTo: number[] = [];
  private nextHot = 0;
  /** Change points over steps (PCT's), in order, and the priority each gives. */
  private stepAt: number[] = [];
  private stepTo: number[] = [];
  private nextStep = 0;
  /** Communication points met so far in this run. */
  private points = 0;
  /** Per task: the step it was last picked for is hot. */
  private ranHot: boolean[] = [];

  constructor(seed: number, private readonly opts: GuidedOptions) {
    if (!(opts.depth >= 1)) throw new RangeError(`guided depth must be ≥ 1, got ${opts.depth}`);
    this.rng = new Prng(seed);
    this.depth = opts.depth;
    this.hot = opts.hot;
  }

  /** Communication points this run met (the strategy adapts h to it). */
  get communicationPoints(): number {
    return this.points;
  }

  begin(taskCount: number): void {
    const d = this.depth;
    const ps = Array.from({ length: taskCount }, (_, i) => d + i);
    shuffle(ps, this.rng);
    this.prio = ps;
    const h = Math.max(1, Math.floor(this.opts.h));
    const k = Math.max(1, Math.floor(this.opts.k));
    const uniform = this.hot.size === 0 ? 1 : (this.opts.uniform ?? 0);
    // d−1 change points carrying the priorities 1 … d−1 in random order (PCT), each over the
    // communication points or, with probability `uniform`, over the steps; distinct per range.
    const hotPts: [number, number][] = [];
    const stepPts: [number, number][] = [];
    for (let v = 1; v < d; v++) {
      const overSteps = uniform >= 1 || (uniform > 0 && this.rng.below(1 << 20) < uniform * (1 << 20));
      const list = overSteps ? stepPts : hotPts;
      const range = overSteps ? k : h;
      let p: number;
      do p = this.rng.below(range); while (list.length < range && list.some(([q]) => q === p));
      list.push([p, v]);
    }
    // Which change point gets which priority is random (PCT pairs values and times at random).
    const vals = [...hotPts, ...stepPts].map(([, v]) => v);
    shuffle(vals, this.rng);
    hotPts.forEach((x, i) => (x[1] = vals[i]!));
    stepPts.forEach((x, i) => (x[1] = vals[hotPts.length + i]!));
    hotPts.sort((a, b) => a[0] - b[0]);
    stepPts.sort((a, b) => a[0] - b[0]);
    this.hotAt = hotPts.map(([p]) => p);
    this.hotTo = hotPts.map(([, v]) => v);
    this.stepAt = stepPts.map(([p]) => p);
    this.stepTo = stepPts.map(([, v]) => v);
    this.nextHot = 0;
    this.nextStep = 0;
    this.points = 0;
    this.ranHot = [];
  }

  pick(runnable: Int32Array, n: number, _dflt: number, current: number, step: number): number {
    let best = this.highest(runnable, n);
    // PCT's change points: at step k_i the task that would run drops to priority i.
    while (this.nextStep < this.stepAt.length && this.stepAt[this.nextStep]! <= step) {
      this.prio[best] = this.stepTo[this.nextStep]!;
      this.nextStep++;
      best = this.highest(runnable, n);
    }
    if (this.hot.size === 0) return best;
    const tasks = currentExecution().tasks;
    let hotNext = false;
    for (;;) {
      hotNext = this.hot.has(pendingKey(tasks[best]!));
      const point = hotNext || (best === current && this.ranHot[best] === true);
      if (!point) break;
      const idx = this.points++;
      if (this.nextHot >= this.hotAt.length || this.hotAt[this.nextHot]! > idx) break;
      // A change point: this task drops below the others; someone else goes first.
      while (this.nextHot < this.hotAt.length && this.hotAt[this.nextHot]! <= idx) {
        this.prio[best] = this.hotTo[this.nextHot]!;
        this.nextHot++;
      }
      this.ranHot[best] = false;
      const next = this.highest(runnable, n);
      if (next === best) break;
      best = next;
    }
    this.ranHot[best] = hotNext;
    return best;
  }

  choose(n: number): number {
    return this.rng.below(n);
  }

  private highest(runnable: Int32Array, n: number): number {
    let best = runnable[0]!;
    let bestP = this.prioOf(best);
    for (let i = 1; i < n; i++) {
      const t = runnable[i]!;
      const p = this.prioOf(t);
      if (p > bestP) { best = t; bestP = p; }
    }
    return best;
  }

  private prioOf(t: number): number {
    let p = this.prio[t];
    if (p === undefined) {
      p = this.depth + this.prio.length + this.rng.below(1 << 16);
      this.prio[t] = p;
    }
    return p;
  }
}
