/**
 * Exhaustive exploration with dynamic partial-order reduction: source-set DPOR with sleep sets
 * (Abdulla, Aronis, Jonsson, Sagonas: "Source Sets: A Foundation for Optimal Dynamic Partial Order
 * Reduction", JACM 2017, Algorithm 1 — the race detection of its stateless formulation) over the
 * footprints the tracked heap records (impl/rt/track.ts), and, under a preemption bound, the
 * conservative backtracking of bounded partial-order reduction (Coons, Musuvathi, McKinley:
 * "Bounded Partial-Order Reduction", OOPSLA 2013; as dejafu implements it).
 *
 * Events and dependence. Each step of a task is an event with a footprint (the locations it read
 * and wrote). Two events of different tasks are dependent when one writes a location the other
 * reads or writes. Every event of task t also reads t's own location (sim_fp_task), which other
 * tasks write when they wake it, signal it or release a lock on its behalf. Enabling is a
 * dependence too: when an event makes a blocked task runnable (it took the lock, completed the
 * I/O …), the task's next event happens after it; when an event makes a runnable task block, the
 * two are dependent and the blocked task is tried before it. An event that ends the run with a
 * violation is dependent with every event (dejafu's rule), so the other tasks' steps are tried
 * before it and a violation that some order hides is still reached. Happens-before is kept with
 * vector clocks.
 *
 * The search. Re-execution, as the DFS: each execution replays a prefix of decisions and then
 * extends it, preferring to keep running the current task. After each execution, every race —
 * two dependent events of different tasks, e ≺ e', with nothing in between ordering them — gives
 * the sequence v = notdep(e).e' (the events after e that do not depend on it, then e'); unless
 * some task that can start v is already explored or scheduled at the point before e, one of them
 * (e' 's task when it can) is added there.
 *
 * Waits. A step that ended a wait races with every earlier write, by another task, of what its
 * condition read, that its own past does not order before it (the lock taken by someone else
 * before: two acquisitions are co-enabled, a release and a blocked acquisition are not). Such a
 * race is reversible only when the waiting task could have run at the point before the write: if
 * its step is the first of v by its task, no event of v orders it (no event of notdep(e) writes
 * what its condition reads), and the task was blocked at that point, its condition was false there
 * and stays false through notdep(e) — the race is not reversible and adds nothing (a lock held
 * by a third task, a flag not yet set, a queue still empty). Without this, every such race fell
 * back to all runnable tasks at that point (the classic rule for a task not enabled there). The
 * waits tasks are still blocked in when a run ends (deadlock, idle daemons) race the same way as
 * events that did not happen (DporRun.pendingWaits): a task that never ran again has no step to
 * reveal that it could have passed its wait earlier. test/rt/dpor.test.ts checks both against
 * the plain DFS on random programs with locks and flag waits. Sleep sets: a task explored at a point sleeps in its
 * later siblings' subtrees until an event dependent with its step runs; an execution in which
 * every runnable task sleeps is redundant and stops ('pruned'). A step that made a
 * nondeterministic choice (choose) never sleeps (its footprint depends on the value); choice
 * points are explored exhaustively, value by value.
 *
 * Soundness. Without a bound: every Mazurkiewicz trace (class of executions equal up to swapping
 * adjacent independent events) of the scenario is explored at least once, provided the footprints
 * are complete (see track.ts for what the tracked heap sees and the explicit footprints of
 * impl/sync). State properties checked after every step are preserved by the driver, which adds a
 * common location to every step that writes something the per-step checks read (visible steps are
 * ordered among themselves; properties/explore.ts). Final-state properties, the history
 * (linearizability: every history event writes the history) and deadlocks are properties of the
 * trace, hence preserved.
 *
 * With a preemption bound k. Plain DPOR that drops backtrack points over the bound is unsound:
 * the bound induces dependences between independent events (an execution within the bound may
 * need its independent events in an order DPOR never tries). Here, as in BPOR, each backtrack
 * point (p at point i) is also added conservatively at the last context switch before i — where
 * switching to p may cost no preemption — and conservative points are explored even when p sleeps
 * there. Coons et al. prove that this explores, for every execution with at most k preemptions, an
 * equivalent execution with at most k preemptions. Points over the bound are dropped. Choices
 * cost no preemption.
 */
import { PICK_PRUNE, type Execution, type Outcome, type StepObserver, type TaskState } from '../execution.js';
import type { Scheduler, Strategy } from '../scheduler.js';
import { ScheduleError } from '../schedule.js';
import { forcedChoose, forcedPick, type ForcedChoice } from './subtrees.js';
import { sim_fp_conflict, sim_fp_task, sim_hash_mix, sim_track_footprint, sim_track_heap_hash, sim_track_record, sim_track_recorder, sim_track_state_parts, type Footprint } from '../track.js';

export interface DporOptions {
  /**
   * 'dpor' (default): partial-order reduction. 'full': no reduction — every schedule within the
   * bound, as the plain DFS explores them (for comparison, and for the state cache).
   */
  readonly mode?: 'dpor' | 'full';
  /**
   * The state cache (mode 'full' only): an execution that reaches a state (stateKey) reached
   * before stops there. Sound without reduction: the earlier visit's subtree — every schedule from
   * that state within the same remaining bound — was explored completely before this one (a
   * depth-first search leaves a subtree only when it is done; a state cannot repeat along one
   * path, the step count is part of it). Under DPOR it would not be: the earlier subtree only
   * holds what that execution's races and sleep sets asked for (Yang et al., "Efficient stateful
   * dynamic partial order reduction", SPIN 2008, need a summary of the subtree's events).
   */
  readonly cache?: boolean;
  /** Maximum preemptions per execution (Infinity, the default: every trace). */
  readonly preemptionBound?: number;
  /** Stop after this many executions (the space is then reported as not covered). */
  readonly maxExecutions?: number;
  /** Sleep sets (default on). Off: source sets alone (more redundant executions; for testing). */
  readonly sleepSets?: boolean;
  /**
   * Explore only the subtree below these first decisions (impl/rt/schedulers/subtrees.ts): their
   * points are frozen — no alternative is ever added there, races reaching back into the prefix
   * are left to the subtrees of the other prefixes — and nothing sleeps at the subtree's root.
   */
  readonly forced?: readonly ForcedChoice[];
}

interface SleepEntry {
  readonly task: number;
  readonly fp: Footprint;
  /** The event left its task blocked or finished (known at the next scheduling point). */
  readonly ev?: { selfBlocked: boolean };
}

/** A scheduling point: the state before one event. */
interface TNode {
  readonly kind: 't';
  readonly step: number;
  /** Runnable tasks, ascending. */
  readonly runnable: readonly number[];
  /** The task of the previous event (-1 at the start): switching away from it while it is runnable is a preemption. */
  readonly prev: number;
  /** Preemptions before this point. */
  readonly pre: number;
  /** The task taken on the current path, and whether it was a conservative (BPOR) alternative. */
  taken: number;
  takenConservative: boolean;
  /** Alternatives still to try here: task → conservative, and the tasks to run after it. */
  readonly backtrack: Map<number, Alt>;
  /** Tasks taken here so far, each with its event when it may put the task to sleep for the later ones. */
  readonly done: Map<number, SleepEntry | null>;
  /** The sleep set here. */
  readonly sleep: readonly SleepEntry[];
  /** A decision of the forced prefix (DporOptions.forced): no alternative here. */
  readonly frozen?: boolean;
}

/**
 * An alternative at a scheduling point: its task, whether BPOR added it conservatively, and the
 * wakeup sequence: the tasks of the events that reverse the race it came from (notdep(e).e'),
 * which the execution follows after it before going on by default. Following it reaches the
 * reversed race without first running into tasks that sleep (the idea of optimal DPOR's wakeup
 * trees, without their merging).
 */
interface Alt {
  readonly conservative: boolean;
  readonly seq: readonly number[] | null;
}

/** A choice point inside an event. */
interface CNode {
  readonly kind: 'c';
  readonly step: number;
  readonly n: number;
  value: number;
  /** A decision of the forced prefix: never advanced. */
  readonly frozen?: boolean;
}

type Node = TNode | CNode;

/** One event of the current execution. */
interface Ev {
  readonly task: number;
  fp: Footprint;
  /** Index in the path of its scheduling point. */
  readonly node: number;
  /** It made a nondeterministic choice. */
  choice: boolean;
  /** It ended the run with a violation: dependent with everything. */
  abort: boolean;
  /** It ended a wait (see analyse: its races reach past the event that let it go on). */
  readonly woke: boolean;
  /** Its task was not runnable after it (blocked or finished). */
  selfBlocked: boolean;
  /** Events that enabled or spawned this task since its previous event (happen before it). */
  readonly preds: readonly number[];
  /** Tasks this event made non-runnable (other than its own). */
  disables: number[] | null;
  /** Its task's observation hash after it (impl/rt/track.ts), restored when a run replays it. */
  readonly o1: number;
  readonly o2: number;
  /** The state after it (see stateKey). */
  readonly state: number;
  /** Not a step: the wait a task was still blocked in when the run ended (see DporRun.pendingWaits). */
  pending?: true;
}

export interface DporStats {
  readonly executions: number;
  /** Executions stopped because every runnable task slept (covered by another). */
  readonly sleepPruned: number;
  /** Executions stopped because the only way on was over the preemption bound. */
  readonly boundPruned: number;
  /** Executions stopped at a state reached before (the state cache, mode 'full'). */
  readonly cachePruned: number;
  /** Races found (over all executions). */
  readonly races: number;
  /** Alternatives dropped because they needed more preemptions than the bound. */
  readonly overBound: number;
  /** Races of a wake-up step with a write made while its task was blocked on that wait (not reversible). */
  readonly infeasible: number;
  /** Distinct states reached (see stateKey). */
  readonly states: number;
}

export class DporStrategy implements Strategy {
  readonly name = 'dpor';
  private readonly path: Node[] = [];
  private started = false;
  private exhausted = false;
  private truncated = false;
  private runs = 0;
  private readonly bound: number;
  private readonly maxExecutions: number;
  readonly sleepSets: boolean;
  readonly mode: 'dpor' | 'full';
  readonly cache: boolean;
  readonly forced: readonly ForcedChoice[];
  private current: DporRun | null = null;
  /** The events of the last finished execution (the next one replays a prefix of them). */
  private lastEvents: readonly Ev[] = [];
  /** Path index of the point advance() changed (the next execution replays what is before it). */
  private branch = 0;
  /** The wakeup sequence of the alternative advance() took (tasks after it). */
  private follow: readonly number[] = [];
  /** Why exploration stopped early because a re-execution diverged from its prefix, or null. */
  diverged: string | null = null;
  private st = { sleepPruned: 0, boundPruned: 0, cachePruned: 0, races: 0, overBound: 0, infeasible: 0 };
  /** Distinct states reached (their keys). */
  private readonly states = new Set<number>();

  /** Record a state; true when it was reached before. */
  sawState(key: number): boolean {
    if (this.states.has(key)) return true;
    this.states.add(key);
    return false;
  }

  constructor(opts: DporOptions = {}) {
    this.bound = opts.preemptionBound ?? Infinity;
    this.maxExecutions = opts.maxExecutions ?? Infinity;
    this.mode = opts.mode ?? 'dpor';
    this.cache = opts.cache ?? false;
    this.sleepSets = this.mode === 'dpor' && (opts.sleepSets ?? true);
    this.forced = opts.forced ?? [];
    if (this.cache && this.mode !== 'full') throw new RangeError('the state cache needs mode full (see DporOptions.cache)');
    if (!(this.bound >= 0)) throw new RangeError(`DPOR preemption bound must be ≥ 0, got ${this.bound}`);
  }

  /** True when the search ran out of alternatives (every trace within the bound was explored). */
  get complete(): boolean {
    return this.exhausted && !this.truncated && this.diverged === null;
  }

  get executions(): number {
    return this.runs;
  }

  get stats(): DporStats {
    return { executions: this.runs, ...this.st, states: this.states.size };
  }

  /** The scheduler of the next execution (also its StepObserver), or null when done. */
  next(): DporRun | null {
    if (this.diverged !== null) return null;
    if (this.current !== null) throw new Error('DporStrategy.next: the previous run was not finished (call finish(outcome))');
    if (this.started && !this.advance()) {
      this.exhausted = true;
      return null;
    }
    if (this.runs >= this.maxExecutions) {
      this.truncated = true;
      return null;
    }
    this.started = true;
    this.runs++;
    // Events entirely before the branch point happen again, unchanged: the run replays them
    // without recording (their footprints are the last run's).
    const prefix: Ev[] = [];
    const evs = this.lastEvents;
    if (!process.env.DPOR_NOREUSE) for (let i = 0; i + 1 < evs.length && evs[i + 1]!.node <= this.branch; i++) prefix.push(evs[i]!);
    this.current = new DporRun(this, this.path, this.bound, prefix, this.follow);
    this.follow = [];
    return this.current;
  }

  /** Strategy feedback without the outcome: not enough for DPOR (use finish). */
  done(_steps: number): void {}

  /**
   * The run of the last next() ended with `outcome`: find its races, add the backtrack points.
   * `cut` says the caller stopped it (the state cache) rather than the run itself.
   */
  finish(outcome: Outcome): void {
    const run = this.current;
    if (run === null) throw new Error('DporStrategy.finish: no run in progress');
    this.current = null;
    if (outcome.status === 'bad-schedule' && this.diverged === null && run.divergence !== null) this.diverged = run.divergence;
    if (run.divergence !== null) {
      this.diverged ??= run.divergence;
      return;
    }
    if (outcome.status === 'pruned') {
      if (run.prunedBy === 'sleep') this.st.sleepPruned++;
      else if (run.prunedBy === 'bound') this.st.boundPruned++;
      else this.st.cachePruned++;
    }
    const evs = run.events;
    // A deadlock is not an event's doing: it is a property of the final state, found at a
    // scheduling point where nothing can run (the blocked tasks' waits race as pending waits).
    if (outcome.status === 'violation' && outcome.violation !== undefined && outcome.violation.step >= 0 && outcome.violation.property !== 'deadlock' && evs.length > 0) {
      const last = evs[evs.length - 1]!;
      last.abort = true;
      const n = this.path[last.node];
      if (n !== undefined && n.kind === 't') n.done.set(last.task, null);
    }
    if (process.env.DPOR_DUMP && Number(process.env.DPOR_DUMP) === this.runs) {
      for (const e of evs) process.stderr.write(`ev t${e.task} n${e.node} ${e.abort ? 'A' : ''}${e.choice ? 'C' : ''} R${e.fp.reads.join(',')} W${e.fp.writes.join(',')} P${e.preds.join(',')} D${e.disables?.join(',') ?? ''}\n`);
    }
    if (this.mode === 'dpor') this.analyse(outcome.status === 'pruned' ? evs : evs.concat(run.pendingWaits()));
    this.lastEvents = evs;
  }

  /** Mark the run's last event visible to the per-step checks: it writes `loc` too (see file header). */
  addWrite(loc: number): void {
    this.current?.addWrite(loc);
  }

  /** The caller stops the run at the next scheduling point (the state cache found it covered). */
  cut(): void {
    if (this.current !== null) this.current.cutRequested = true;
  }

  // -------------------------------------------------------------------------------------------
  // Race analysis

  private analyse(evs: readonly Ev[]): void {
    const N = evs.length;
    if (N === 0) return;
    let T = 0;
    for (const e of evs) if (e.task + 1 > T) T = e.task + 1;
    const vc = new Int32Array(N * T);
    const idx = new Int32Array(N);
    const lastOf = new Int32Array(T).fill(-1);
    const counts = new Int32Array(T);
    const lastW = new Map<number, number>();
    /** Every write of each location, in order (for the races of wake-up steps). */
    const writes = new Map<number, number[]>();
    const reads = new Map<number, number[]>();
    const clock = new Int32Array(T);
    const cands: number[] = [];
    /** [j, i, 1 when found by the wake-up rule only (see reverse)]. */
    const races: [number, number, number][] = [];
    for (let i = 0; i < N; i++) {
      const e = evs[i]!;
      const p = e.task;
      const base = i * T;
      idx[i] = counts[p]!;
      counts[p]!++;
      // Program order and enabling edges.
      const lp = lastOf[p]!;
      if (lp >= 0) for (let t = 0; t < T; t++) vc[base + t] = vc[lp * T + t]!;
      for (const j of e.preds) join(vc, base, j * T, T);
      // Conflicting earlier events.
      cands.length = 0;
      if (e.abort) {
        for (let q = 0; q < T; q++) if (q !== p && lastOf[q]! >= 0) cands.push(lastOf[q]!);
      } else {
        const fp = e.fp;
        for (const loc of fp.reads) {
          const w = lastW.get(loc);
          if (w !== undefined && evs[w]!.task !== p) cands.push(w);
        }
        for (const loc of fp.writes) {
          const w = lastW.get(loc);
          if (w !== undefined && evs[w]!.task !== p) cands.push(w);
          const rs = reads.get(loc);
          if (rs !== undefined) for (const r of rs) if (evs[r]!.task !== p) cands.push(r);
        }
      }
      // A step that ended a wait could have run before the event that let it go on, had the
      // condition held earlier: the last writer of what it reads is not necessarily the event to
      // reverse (a lock taken and released by another task: the race is with the taking, not the
      // release, as two lock acquisitions are co-enabled and a release and a blocked acquisition
      // are not). So its candidates are every earlier write, by another task, of what it touches
      // that its own past (program order, what enabled it) does not already order before it.
      if (e.woke && !e.abort) {
        // Its own past only: what enabled it is exactly what the race may reach past.
        const pc = clock;
        if (lp >= 0) for (let t = 0; t < T; t++) pc[t] = vc[lp * T + t]!;
        else pc.fill(0);
        const seenC = new Set<number>();
        for (const loc of e.fp.waits ?? e.fp.reads.concat(e.fp.writes)) {
          const ws = writes.get(loc);
          if (ws === undefined) continue;
          for (const j of ws) {
            const q = evs[j]!.task;
            if (q === p || seenC.has(j)) continue;
            seenC.add(j);
            if (idx[j]! >= pc[q]!) races.push([j, i, 1]);
          }
        }
      }
      // Direct races: the candidates, latest first, that are not already ordered before e.
      if (cands.length > 0) {
        cands.sort((a, b) => b - a);
        for (let t = 0; t < T; t++) clock[t] = vc[base + t]!;
        let prevC = -1;
        for (const j of cands) {
          if (j === prevC) continue;
          prevC = j;
          const q = evs[j]!.task;
          if (idx[j]! >= clock[q]!) races.push([j, i, e.pending ? 1 : 0]);
          join(clock, 0, j * T, T, vc);
          if (clock[q]! < idx[j]! + 1) clock[q] = idx[j]! + 1;
        }
        for (let t = 0; t < T; t++) vc[base + t] = clock[t]!;
      }
      vc[base + p] = idx[i]! + 1;
      lastOf[p] = i;
      if (!e.abort) {
        for (const loc of e.fp.reads) {
          let rs = reads.get(loc);
          if (rs === undefined) {
            rs = [];
            reads.set(loc, rs);
          }
          rs.push(i);
        }
        for (const loc of e.fp.writes) {
          lastW.set(loc, i);
          reads.delete(loc);
          let ws = writes.get(loc);
          if (ws === undefined) {
            ws = [];
            writes.set(loc, ws);
          }
          ws.push(i);
        }
      }
    }
    this.st.races += races.length;
    for (const [j, i, woke] of races) {
      this.reverse(evs, vc, idx, T, j, i, woke === 1);
    }
    // An event that made a runnable task block: try that task before it.
    for (let i = 0; i < N; i++) {
      const d = evs[i]!.disables;
      if (d !== null) for (const q of d) this.addBacktrack(evs, evs[i]!.node, i, q, false);
    }
  }

  /** The race j ≺ i: schedule, at the point before j, a task that can start notdep(j).i. */
  private reverse(evs: readonly Ev[], vc: Int32Array, idx: Int32Array, T: number, j: number, i: number, woke: boolean): void {
    const ej = evs[j]!;
    const pj = ej.task;
    const ij = idx[j]!;
    const first = new Int32Array(T).fill(-1); // index in task of each task's first event in v
    const seen: number[] = [];
    const initials: number[] = [];
    const v: number[] = [];
    const consider = (k: number): void => {
      const q = evs[k]!.task;
      v.push(q);
      if (first[q]! >= 0) return;
      let initial = true;
      for (const t of seen) if (vc[k * T + t]! > first[t]!) { initial = false; break; }
      first[q] = idx[k]!;
      seen.push(q);
      if (initial) initials.push(q);
    };
    for (let k = j + 1; k < i; k++) {
      if (vc[k * T + pj]! > ij) continue; // happens after j
      consider(k);
    }
    consider(i);
    const node = this.path[ej.node];
    if (node === undefined || node.kind !== 't') return;
    // Some task that can start v is already explored or scheduled here: v is covered. Under a
    // bound, only by one that fits in it here (one over the bound will be dropped).
    const fits = (q: number): boolean => node.pre + (node.prev >= 0 && q !== node.prev && node.runnable.includes(node.prev) ? 1 : 0) <= this.bound;
    for (const q of initials) if (node.done.has(q) || (node.backtrack.has(q) && fits(q))) return;
    const pi = evs[i]!.task;
    if (woke && first[pi] === idx[i] && initials.includes(pi) && !node.runnable.includes(pi)) {
      this.st.infeasible++;
      return;
    }
    const within = initials.filter(fits);
    const pool = within.length > 0 ? within : initials;
    const q = pool.includes(pi) ? pi : Math.min(...pool);
    // The wakeup sequence: v with q's first event moved to the front.
    const at = v.indexOf(q);
    const seq = [q, ...v.slice(0, at), ...v.slice(at + 1)];
    this.addBacktrack(evs, ej.node, j, q, false, seq);
  }

  /** Add task q as an alternative at path point `at` (before event `ei`), plus BPOR's conservative point. */
  private addBacktrack(evs: readonly Ev[], at: number, ei: number, q: number, conservative: boolean, seq: readonly number[] | null = null): void {
    this.addAt(at, q, conservative, seq);
    if (this.bound === Infinity) return;
    // The last context switch before ei: where switching to q may cost no preemption.
    for (let m = ei - 1; m >= 0; m--) {
      if (m === 0 || evs[m - 1]!.task !== evs[m]!.task) {
        this.addAt(evs[m]!.node, q, true);
        return;
      }
    }
  }

  private addAt(at: number, q: number, conservative: boolean, seq: readonly number[] | null = null): void {
    const node = this.path[at];
    if (node === undefined || node.kind !== 't') return;
    if (!node.runnable.includes(q)) {
      for (const r of node.runnable) this.addOne(node, r, conservative, null);
      return;
    }
    this.addOne(node, q, conservative, seq);
  }

  private addOne(node: TNode, q: number, conservative: boolean, seq: readonly number[] | null): void {
    if (node.done.has(q) || node.frozen === true) return;
    if (!conservative && this.sleepSets && node.sleep.some((s) => s.task === q)) return;
    const had = node.backtrack.get(q);
    if (had === undefined) node.backtrack.set(q, { conservative, seq });
    else if (!had.conservative && conservative) node.backtrack.set(q, { conservative, seq: had.seq ?? seq });
  }

  // -------------------------------------------------------------------------------------------
  // The next execution

  /** Move to the deepest point with an alternative left (within the bound); false when none. */
  private advance(): boolean {
    const path = this.path;
    while (path.length > 0) {
      const d = path.length - 1;
      const node = path[d]!;
      if (node.kind === 'c') {
        if (node.frozen !== true && node.value + 1 < node.n) {
          node.value++;
          this.branch = d;
          return true;
        }
        path.pop();
        continue;
      }
      for (const [q, alt] of [...node.backtrack].sort((a, b) => a[0] - b[0])) {
        node.backtrack.delete(q);
        const cons = alt.conservative;
        if (node.done.has(q)) continue;
        if (!cons && this.sleepSets && node.sleep.some((s) => s.task === q)) continue;
        const cost = node.prev >= 0 && q !== node.prev && node.runnable.includes(node.prev) ? 1 : 0;
        if (node.pre + cost > this.bound) {
          this.st.overBound++;
          continue;
        }
        node.taken = q;
        node.takenConservative = cons;
        this.branch = d;
        // Under a bound, no: the sequence may spend preemptions that BPOR's argument assumes are
        // still there for the alternatives it adds later (the continuation must keep running the
        // current task, as the bounded search does).
        this.follow = alt.seq !== null && this.bound === Infinity ? alt.seq.slice(1) : [];
        return true;
      }
      path.pop();
    }
    return false;
  }
}

/**
 * The state after a step, as a number (52 bits of a 64-bit hash): the tracked heap, every task's
 * position (done, blocked, its label, the hash of what it read), the state impl/sync keeps outside
 * the heap, the step count, and what the search itself depends on: the preemptions used and the
 * task that ran last (a switch away from it may cost a preemption).
 */
function stateKey(exec: Execution, pre: number, last: number): number {
  const hh = sim_track_heap_hash();
  const h: [number, number] = [hh[0], hh[1]];
  sim_hash_mix(h, exec.step);
  for (const t of exec.tasks) {
    sim_hash_mix(h, t.done);
    sim_hash_mix(h, t.block !== null);
    sim_hash_mix(h, t.label);
    sim_hash_mix(h, t.obs1);
    sim_hash_mix(h, t.obs2);
  }
  sim_track_state_parts(exec, h);
  sim_hash_mix(h, pre);
  sim_hash_mix(h, last);
  return (h[0] >>> 0) * 1048576 + (h[1] >>> 12);
}

function join(dst: Int32Array, dbase: number, sbase: number, T: number, src: Int32Array = dst): void {
  for (let t = 0; t < T; t++) {
    const v = src[sbase + t]!;
    if (v > dst[dbase + t]!) dst[dbase + t] = v;
  }
}

const NO_PREDS: readonly number[] = [];

/** The scheduler of one DPOR execution: replays the path's prefix, then extends it. */
export class DporRun implements Scheduler, StepObserver {
  readonly name = 'dpor';
  readonly everyStep = true;
  readonly events: Ev[] = [];
  divergence: string | null = null;
  prunedBy: 'sleep' | 'bound' | 'cut' | null = null;
  cutRequested = false;
  private depth = 0;
  private pre = 0;
  /** Index in the path of the scheduling point of the event running now. */
  private tnode = -1;
  private lastTask = -1;
  private lastRunnable: number[] = [];
  private choiceInStep = false;
  /** Decisions so far (picks among ≥ 2 tasks, choices): the forced prefix's first ones. */
  private decisions = 0;
  private readonly pendingPreds = new Map<number, number[]>();
  private readonly taskLocs: number[] = [];
  private exec: Execution | null = null;

  constructor(
    private readonly strategy: DporStrategy,
    private readonly path: Node[],
    private readonly bound: number,
    /** The events this run replays first (known from the last run: not recorded again). */
    private readonly prefix: readonly Ev[],
    /** Tasks to prefer, in order, after the branch point (a wakeup sequence). */
    follow: readonly number[],
  ) {
    this.follow = [...follow];
  }

  private follow: number[];

  /** Footprints are wanted for the next step (false while replaying the known prefix). */
  get recording(): boolean {
    return this.events.length >= this.prefix.length;
  }

  /** Events still to replay from the known prefix. */
  get replaying(): number {
    return this.prefix.length - this.events.length;
  }

  pick(runnable: Int32Array, n: number, dflt: number, current: number, step: number): number {
    const evs = this.events;
    const last = evs.length > 0 ? evs[evs.length - 1]! : null;
    // Enabling and disabling by the last event.
    let disabled: number[] | null = null;
    if (last !== null) {
      const prevR = this.lastRunnable;
      for (let i = 0; i < n; i++) {
        const q = runnable[i]!;
        if (q !== last.task && !prevR.includes(q)) {
          let l = this.pendingPreds.get(q);
          if (l === undefined) {
            l = [];
            this.pendingPreds.set(q, l);
          }
          l.push(evs.length - 1);
        }
      }
      for (const q of prevR) {
        if (q === last.task) continue;
        let still = false;
        for (let i = 0; i < n; i++) if (runnable[i] === q) { still = true; break; }
        if (!still) (disabled ??= []).push(q);
      }
      if (evs.length > this.prefix.length) {
        last.disables = disabled;
        let still = false;
        for (let i = 0; i < n; i++) if (runnable[i] === last.task) { still = true; break; }
        last.selfBlocked = !still;
      }
    }
    const r: number[] = [];
    for (let i = 0; i < n; i++) r.push(runnable[i]!);
    this.lastRunnable = r;
    if (this.cutRequested) return this.prune('cut');

    const path = this.path;
    const d = this.depth;
    let node = path[d];
    const forced = r.length >= 2 ? this.strategy.forced[this.decisions++] : undefined;
    if (node !== undefined) {
      if (node.kind !== 't' || node.step !== step || !sameList(node.runnable, r)) {
        return this.diverge(node, `a pick at step ${step} among [${r.join(',')}]`);
      }
    } else {
      // A new point: its sleep set from the previous one, and the default continuation.
      const sleep = this.strategy.sleepSets ? this.childSleep(last, disabled) : [];
      const awake = (t: number): boolean => !sleep.some((s) => s.task === t);
      const curRunnable = dflt === current;
      let taken = -1;
      // The wakeup sequence first, as long as it fits (runnable, awake, within the bound).
      const f = this.follow;
      if (f.length > 0) {
        const want = f[0]!;
        const cost = curRunnable && want !== current ? 1 : 0;
        if (r.includes(want) && awake(want) && this.pre + cost <= this.bound) {
          taken = want;
          f.shift();
        } else {
          f.length = 0;
        }
      }
      if (forced !== undefined) {
        taken = forcedPick(forced, r, r.length, step, 'DPOR: subtree prefix');
        if (curRunnable && taken !== current && this.pre + 1 > this.bound) throw new ScheduleError(`DPOR: subtree prefix: t${taken} at step ${step} is over the preemption bound`);
      } else if (taken >= 0) { /* from the wakeup sequence */ }
      else if (curRunnable && awake(current)) taken = current;
      else if (!curRunnable) {
        if (awake(dflt)) taken = dflt;
        else for (const t of r) if (awake(t)) { taken = t; break; }
        if (taken < 0) return this.prune('sleep');
      } else {
        for (const t of r) if (t !== current && awake(t)) { taken = t; break; }
        if (taken < 0) return this.prune('sleep');
        if (this.pre + 1 > this.bound) return this.prune('bound');
      }
      node = {
        kind: 't', step, runnable: r, prev: this.lastTask, pre: this.pre, taken, takenConservative: false,
        backtrack: new Map(), done: new Map(), sleep, frozen: forced !== undefined,
      };
      // Without reduction every runnable task is an alternative (advance drops those over the bound).
      if (this.strategy.mode === 'full' && forced === undefined) for (const q of r) if (q !== taken) node.backtrack.set(q, { conservative: false, seq: null });
      path.push(node);
    }
    const t = node.taken;
    if (this.lastTask >= 0 && t !== this.lastTask && r.includes(this.lastTask)) this.pre++;
    this.tnode = d;
    this.depth = d + 1;
    this.choiceInStep = false;
    return t;
  }

  choose(n: number, step: number): number {
    this.choiceInStep = true;
    const path = this.path;
    let node = path[this.depth];
    const forced = this.strategy.forced[this.decisions++];
    if (node === undefined) {
      node = forced !== undefined ? { kind: 'c', step, n, value: forcedChoose(forced, n, step, 'DPOR: subtree prefix'), frozen: true } : { kind: 'c', step, n, value: 0, frozen: false };
      path.push(node);
    } else if (node.kind !== 'c' || node.step !== step || node.n !== n) {
      return this.diverge(node, `a choice among ${n} at step ${step}`);
    }
    this.depth++;
    return node.value;
  }

  stepDone(exec: Execution, task: TaskState, _step: number, fp: Footprint): void {
    this.exec = exec;
    const t = task.id;
    const known = this.prefix[this.events.length];
    if (known !== undefined) {
      // Replaying: the same event as in the last run (its task read the same values).
      this.pendingPreds.delete(t);
      this.events.push(known);
      this.lastTask = t;
      task.obs1 = known.o1;
      task.obs2 = known.o2;
      return;
    }
    let loc = this.taskLocs[t];
    if (loc === undefined) {
      loc = sim_fp_task(t);
      this.taskLocs[t] = loc;
    }
    const withTask: Footprint = fp.waits !== undefined
      ? { reads: insertSorted(fp.reads, loc, fp.writes), writes: fp.writes, waits: fp.waits }
      : { reads: insertSorted(fp.reads, loc, fp.writes), writes: fp.writes };
    const preds = this.pendingPreds.get(t);
    if (preds !== undefined) this.pendingPreds.delete(t);
    this.lastTask = t;
    const state = stateKey(exec, this.pre, t);
    if (this.strategy.sawState(state) && this.strategy.cache) this.cutRequested = true;
    const ev: Ev = {
      task: t, fp: withTask, node: this.tnode, choice: this.choiceInStep, abort: false, woke: task.woke, selfBlocked: false, preds: preds ?? NO_PREDS, disables: null,
      o1: task.obs1, o2: task.obs2, state,
    };
    this.events.push(ev);
    const node = this.path[this.tnode];
    if (node !== undefined && node.kind === 't') {
      node.done.set(t, ev.choice || node.takenConservative ? null : { task: t, fp: withTask, ev });
    }
  }

  /**
   * The waits tasks were still blocked in when the run ended (a deadlock, a daemon idle at the
   * end, a task stuck behind a lock its holder never released), as events that did not happen:
   * each reads what its wait's condition reads now (evaluated again, recorded). A blocked task has
   * no event to race with the writes that decided its wait (it never ran again), yet had it been
   * scheduled where its condition held — before the lock was taken, between the write that set a
   * flag and the one that cleared it — it would have gone on. The analysis treats each like a step
   * that ended a wait (woke), so those writes are reversed where the task could run.
   */
  pendingWaits(): Ev[] {
    const exec = this.exec;
    if (exec === null) return [];
    const out: Ev[] = [];
    const rec = sim_track_recorder();
    for (const task of exec.tasks) {
      if (task.done || task.block === null) continue;
      sim_track_record(rec);
      try {
        task.block.until();
      } finally {
        sim_track_record(null);
      }
      const fp = sim_track_footprint(rec);
      const loc = sim_fp_task(task.id);
      const preds = this.pendingPreds.get(task.id);
      out.push({
        task: task.id, fp: { reads: insertSorted(fp.reads, loc), writes: [], waits: fp.reads }, node: -1, choice: false, abort: false, woke: true,
        selfBlocked: true, preds: preds ?? NO_PREDS, disables: null, o1: 0, o2: 0, state: 0, pending: true,
      });
    }
    return out;
  }

  /** The last event also writes `loc` (the driver: a step visible to the per-step checks). */
  addWrite(loc: number): void {
    const ev = this.events[this.events.length - 1];
    if (ev === undefined) return;
    if (ev.fp.writes.includes(loc)) return;
    ev.fp = { ...ev.fp, reads: ev.fp.reads.filter((x) => x !== loc), writes: insertSorted(ev.fp.writes, loc) };
    const node = this.path[ev.node];
    if (node !== undefined && node.kind === 't' && node.done.get(ev.task)) node.done.set(ev.task, { task: ev.task, fp: ev.fp, ev });
  }

  /** The sleep set of a new point: the previous point's sleepers and earlier siblings, less those the last event woke. */
  private childSleep(last: Ev | null, disabled: readonly number[] | null): SleepEntry[] {
    if (last === null) return [];
    const parent = this.path[last.node];
    if (parent === undefined || parent.kind !== 't') return [];
    // Under a bound, a conservative alternative (BPOR) is there to reach what the bound kept the
    // others from reaching: nothing sleeps in its subtree (a sleeper's equivalent order may need
    // more preemptions than the bound allows).
    const out: SleepEntry[] = [];
    // Under a bound, an earlier sibling r goes to sleep in this branch only if moving its step to
    // the front of an execution of this branch costs no preemption: its step left r blocked or
    // finished (no preemption to switch away from it afterwards), and taking r here cost no more
    // than taking this branch's task. Otherwise the execution with r's step first, which the
    // sleep set takes as explored, may be over the bound and never have been run.
    const bounded = this.bound !== Infinity;
    const costAt = (q: number): number => (parent.prev >= 0 && q !== parent.prev && parent.runnable.includes(parent.prev) ? 1 : 0);
    const keep = (s: SleepEntry): void => {
      if (s.task === last.task) return;
      if (disabled !== null && disabled.includes(s.task)) return;
      if (last.choice || sim_fp_conflict(s.fp, last.fp)) return;
      if (!out.some((o) => o.task === s.task)) out.push(s);
    };
    for (const s of parent.sleep) keep(s);
    for (const [q, s] of parent.done) {
      if (q === parent.taken || s === null) continue;
      if (bounded && (s.ev === undefined || !s.ev.selfBlocked || costAt(q) > costAt(parent.taken))) continue;
      keep(s);
    }
    return out;
  }

  private prune(why: 'sleep' | 'bound' | 'cut'): number {
    this.prunedBy = why;
    return PICK_PRUNE;
  }

  private diverge(p: Node, now: string): never {
    const was = p.kind === 't' ? `a pick at step ${p.step} among [${p.runnable.join(',')}]` : `a choice among ${p.n} at step ${p.step}`;
    const msg = `DPOR: the scenario is not deterministic: re-execution reached ${now} where the explored prefix had ${was}`;
    this.divergence = msg;
    throw new ScheduleError(msg);
  }
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `xs` (sorted) with `x` inserted, unless it is there (or in `unless`). */
function insertSorted(xs: readonly number[], x: number, unless?: readonly number[]): number[] {
  if (unless !== undefined && unless.includes(x)) return xs as number[];
  let i = 0;
  while (i < xs.length && xs[i]! < x) i++;
  if (xs[i] === x) return xs as number[];
  const out = xs.slice(0, i);
  out.push(x);
  for (let j = i; j < xs.length; j++) out.push(xs[j]!);
  return out;
}
