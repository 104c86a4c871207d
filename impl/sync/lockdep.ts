/**
 * Kernel: kernel/locking/lockdep.c, include/linux/lockdep.h, kernel/sched/core.c (__might_sleep)
 * — the lock validator, built into every primitive of impl/sync.
 *
 * - Lock classes: every lock belongs to a class (by name: 'mmap_lock', 'vma_lock', 'ptl' …; all
 *   instances created with the same class name share it, as instances initialised at one site
 *   share a lock_class_key). `_nested(l, subclass)` acquisitions use the subclass `name/N`.
 * - Per task, the held-lock stack (class, instance, read/write, trylock, step and label of the
 *   acquisition).
 * - Per run, the lock-order graph: acquiring B while holding A adds A → B. Before adding a new
 *   edge the validator searches for a path B → … → A; finding one is a possible deadlock, reported
 *   at once ("WARNING: possible circular locking dependency detected") even when this schedule
 *   does not deadlock, with both chains. All read acquisitions count like writes: the kernel's
 *   rwsem readers are non-recursive (a queued writer blocks them), so a read-read cycle deadlocks
 *   too. Trylocks add no dependency into the lock (they cannot wait) but are held like any lock.
 *   An edge already in the graph is not re-validated (the kernel's chain cache): a cycle closed
 *   later is found when its last edge is added.
 * - Re-acquiring a class already held ("possible recursive locking detected") unless the class is
 *   `nestable` and the instance differs, or a subclass annotation separates them.
 * - "bad unlock balance" (release of a lock the task does not hold), "lock held when returning
 *   to user space" (lockdep_task_exit_check, for the Execution's onTaskExit hook).
 * - might_sleep(): "BUG: sleeping function called from invalid context" for a sleeping primitive
 *   in an RCU read-side section, with a spinlock held (preempt count) or with IRQs disabled. Always
 *   on (it only reads counters).
 * - lockdep_assert_held*(): checked against the lock's own owner tracking, so the assertions stay
 *   active when the graph is turned off for speed (sim_lockdep_set_enabled(exec, false)).
 */
import { current, currentExecution, inTask, registerExecSlot, type Execution, type ExecutionHooks, type TaskState } from '../rt/execution.js';
import { Violation } from '../rt/task.js';
import { sim_task_label, sim_task_sync_of, sim_task_sync_peek, type lockdep_instance, type sim_task_sync } from './sched.js';
import { sim_fp_write_task, sim_hash32, sim_hash_mix, sim_track_state_part, sim_track_static } from '../rt/track.js';

// ---------------------------------------------------------------------------------------------
// Lock classes (static, like lock_class_key: shared by all runs; they carry no run state)

export interface lock_class_opts {
  /**
   * Instances of this class are routinely held together, ordered by other means (folio locks by
   * index): holding two distinct instances is not reported as recursive locking.
   */
  readonly nestable?: boolean;
  /**
   * A lock another context may release (the folio lock is unlocked by I/O completion): unlock by
   * a task that does not hold it is allowed (the holder's entry is dropped) and it is not
   * reported when the task ends while holding it.
   */
  readonly ownerless?: boolean;
}

const classes: lock_class[] = [];
const registry = new Map<string, lock_class>();

/** A lock class (struct lock_class); subclasses (from _nested acquisitions) are classes too. */
export class lock_class {
  readonly id: number;
  private subs: lock_class[] | undefined = undefined;
  constructor(
    readonly name: string,
    readonly subclass: number,
    readonly base: lock_class | null,
    readonly nestable: boolean,
    readonly ownerless: boolean,
  ) {
    this.id = classes.length;
    classes.push(this);
    sim_track_static(this);
  }
  /** The class of a `_nested(lock, subclass)` acquisition (subclass 0 is the class itself). */
  sub(subclass: number): lock_class {
    if (subclass === 0) return this;
    const root = this.base ?? this;
    if (root !== this) return root.sub(subclass);
    if (this.subs === undefined) this.subs = [];
    let c = this.subs[subclass];
    if (c === undefined) {
      c = new lock_class(`${this.name}/${subclass}`, subclass, this, this.nestable, this.ownerless);
      this.subs[subclass] = c;
    }
    return c;
  }
}

/** The class named `name` (created on first use; later opts are ignored). */
export function lockdep_class(name: string, opts: lock_class_opts = {}): lock_class {
  let c = registry.get(name);
  if (c === undefined) {
    c = new lock_class(name, 0, null, opts.nestable ?? false, opts.ownerless ?? false);
    registry.set(name, c);
  }
  return c;
}

/** A class argument: a class or its name. */
export type lock_class_ref = string | lock_class;
export function sim_resolve_class(c: lock_class_ref): lock_class {
  return typeof c === 'string' ? lockdep_class(c) : c;
}

/** include/linux/lockdep.h */
export const SINGLE_DEPTH_NESTING = 1;

// ---------------------------------------------------------------------------------------------
// Per-run state

interface dep_info {
  readonly task: string;
  readonly prevName: string;
  readonly prevLabel: string;
  readonly prevStep: number;
  readonly nextName: string;
  readonly nextLabel: string;
  readonly nextStep: number;
}

class lockdep_run {
  enabled = true;
  /** adj[a] = classes acquired while holding class a; info[a][i] = where adj[a][i] was first seen. */
  readonly adj: number[][] = [];
  readonly info: dep_info[][] = [];
}

const RUN = registerExecSlot();

// A state's hash (impl/rt/track.ts): the lock-order graph (what a later acquisition is checked
// against). Order-insensitive: the set of edges.
sim_track_state_part((execU, h) => {
  const r = (execU as Execution).slots[RUN] as lockdep_run | undefined;
  if (r === undefined) return;
  let s1 = 0;
  for (let a = 0; a < r.adj.length; a++) {
    const l = r.adj[a];
    if (l === undefined) continue;
    for (const b of l) s1 = (s1 + sim_hash32(a * 65599 + b)) | 0;
  }
  sim_hash_mix(h, s1);
  sim_hash_mix(h, r.enabled);
});

function runOf(exec: Execution): lockdep_run {
  let r = exec.slots[RUN] as lockdep_run | undefined;
  if (r === undefined) {
    r = new lockdep_run();
    exec.slots[RUN] = r;
  }
  return r;
}

/**
 * Turn the lock-order graph and held-lock stacks on or off for one run (default on). Off makes
 * lock operations cheaper; might_sleep, owner checks, lockdep_assert_held* and the
 * held-at-exit count stay active. Call before the run.
 */
export function sim_lockdep_set_enabled(exec: Execution, enabled: boolean): void {
  runOf(exec).enabled = enabled;
}

/**
 * The lock-order dependencies a run recorded (class held → class acquired while holding it, the
 * edges of its lock-order graph), as class names. Read-only; for coverage (properties/coverage.ts).
 */
export function sim_lockdep_dependencies(exec: Execution): [string, string][] {
  const r = exec.slots[RUN] as lockdep_run | undefined;
  const out: [string, string][] = [];
  if (r === undefined) return out;
  r.adj.forEach((to, from) => {
    if (to !== undefined) for (const t of to) out.push([className(from), className(t)]);
  });
  return out;
}

export function sim_lockdep_enabled(exec?: Execution): boolean {
  const e = exec ?? (inTask() ? currentExecution() : undefined);
  return e === undefined ? false : runOf(e).enabled;
}

// ---------------------------------------------------------------------------------------------
// Acquire / release (called by the primitives)

/**
 * Validate an acquisition before it may wait (kernel: lock_acquire → validate_chain): recursive
 * locking and the circular-dependency search; records the new dependencies. Trylocks skip this.
 */
export function sim_lockdep_acquire_check(lock: lockdep_instance, cls: lock_class, label: string): void {
  if (!inTask()) return;
  const exec = currentExecution();
  const run = runOf(exec);
  if (!run.enabled) return;
  const t = current();
  const s = sim_task_sync_peek(t);
  if (s === undefined) return;
  for (let i = 0; i < s.depth; i++) {
    const pc = s.hClass[i]!;
    if (pc === cls) {
      if (s.hLock[i] === lock || !cls.nestable) throw recursiveReport(t, s, i, lock, cls, label, exec.step);
      continue;
    }
    const a = run.adj[pc.id];
    if (a !== undefined && a.includes(cls.id)) continue;
    const path = findPath(run, cls.id, pc.id);
    if (path !== null) throw circularReport(t, s, i, lock, cls, label, exec.step, run, path);
    const info: dep_info = {
      task: sim_task_label(t), prevName: s.hLock[i]!.name, prevLabel: s.hLabel[i]!, prevStep: s.hStep[i]!,
      nextName: lock.name, nextLabel: label, nextStep: exec.step,
    };
    if (a === undefined) {
      run.adj[pc.id] = [cls.id];
      run.info[pc.id] = [info];
    } else {
      a.push(cls.id);
      run.info[pc.id]!.push(info);
    }
  }
}

/** Record that the running task now holds `lock` (kernel: the held_lock pushed by lock_acquire). */
export function sim_lockdep_acquired(lock: lockdep_instance, cls: lock_class, read: number, trylock: boolean, label: string): void {
  if (!inTask()) return;
  const exec = currentExecution();
  const s = sim_task_sync_of(current());
  if (!cls.ownerless) s.heldCount++;
  if (!runOf(exec).enabled) return;
  const d = s.depth++;
  s.hLock[d] = lock;
  s.hClass[d] = cls;
  s.hRead[d] = read;
  s.hTry[d] = trylock;
  s.hStep[d] = exec.step;
  s.hLabel[d] = label;
}

/**
 * Drop `lock` from the holder's stack (kernel: lock_release). `holder` defaults to the running
 * task; an ownerless class passes the task that took it. With lockdep on, a lock not on the stack
 * is a "bad unlock balance".
 */
export function sim_lockdep_release(lock: lockdep_instance, cls: lock_class, label: string, holder?: number): void {
  if (!inTask()) return;
  const exec = currentExecution();
  const t = holder === undefined || holder < 0 ? current() : exec.tasks[holder] ?? current();
  if (t !== current()) sim_fp_write_task(t.id);
  const s = sim_task_sync_of(t);
  if (!cls.ownerless && s.heldCount > 0) s.heldCount--;
  if (!runOf(exec).enabled) return;
  for (let i = s.depth - 1; i >= 0; i--) {
    if (s.hLock[i] !== lock) continue;
    for (let j = i + 1; j < s.depth; j++) {
      s.hLock[j - 1] = s.hLock[j]!;
      s.hClass[j - 1] = s.hClass[j]!;
      s.hRead[j - 1] = s.hRead[j]!;
      s.hTry[j - 1] = s.hTry[j]!;
      s.hStep[j - 1] = s.hStep[j]!;
      s.hLabel[j - 1] = s.hLabel[j]!;
    }
    s.depth--;
    return;
  }
  if (cls.ownerless) return;
  throw sim_bad_unlock(lock, label);
}

/** lock_downgrade(): the held entry becomes a read acquisition (downgrade_write). */
export function sim_lockdep_downgrade(lock: lockdep_instance): void {
  if (!inTask()) return;
  const s = sim_task_sync_peek(current());
  if (s === undefined) return;
  for (let i = s.depth - 1; i >= 0; i--) if (s.hLock[i] === lock) { s.hRead[i] = 1; return; }
}

/** The running task's hold on `lock` per lockdep: -1 not held (or lockdep off: unknown), 0 write, 1 read. */
export function sim_lockdep_held_mode(lock: lockdep_instance): number {
  if (!inTask()) return -1;
  const s = sim_task_sync_peek(current());
  if (s === undefined) return -1;
  for (let i = s.depth - 1; i >= 0; i--) if (s.hLock[i] === lock) return s.hRead[i]!;
  return -1;
}

/** The "bad unlock balance" report (also raised by primitives' own owner checks). */
export function sim_bad_unlock(lock: lockdep_instance, label: string): Violation {
  const who = inTask() ? sim_task_label(current()) : '(setup)';
  const step = inTask() ? currentExecution().step : -1;
  const report = [
    '=====================================',
    'WARNING: bad unlock balance detected!',
    '-------------------------------------',
    `${who} is trying to release lock (${lock.name}) at:`,
    `${label} (step ${step})`,
    'but there are no more locks to release!',
  ];
  if (inTask()) report.push('', ...heldLines(current()));
  return new Violation('lockdep', `bad unlock balance: ${who} releases ${lock.name} it does not hold (${label})`, report);
}

// ---------------------------------------------------------------------------------------------
// Explicit lockdep maps (for locks built from other primitives, e.g. the 6.15 VMA refcount lock)

/** struct lockdep_map: a lockdep-only lock (kernel: lockdep_init_map). */
export class lockdep_map implements lockdep_instance {
  readonly lock_class: lock_class;
  constructor(readonly name: string, cls: lock_class_ref = name) {
    this.lock_class = sim_resolve_class(cls);
  }
}

/** rwsem_acquire(): exclusive acquisition of a lockdep map (validates unless trylock). */
export function rwsem_acquire(map: lockdep_map, subclass: number, trylock: boolean, label: string): void {
  const cls = map.lock_class.sub(subclass);
  if (!trylock) sim_lockdep_acquire_check(map, cls, label);
  sim_lockdep_acquired(map, cls, 0, trylock, label);
}

/** rwsem_acquire_read(): shared acquisition of a lockdep map. */
export function rwsem_acquire_read(map: lockdep_map, subclass: number, trylock: boolean, label: string): void {
  const cls = map.lock_class.sub(subclass);
  if (!trylock) sim_lockdep_acquire_check(map, cls, label);
  sim_lockdep_acquired(map, cls, 1, trylock, label);
}

/** rwsem_release(): release of a lockdep map. */
export function rwsem_release(map: lockdep_map, label: string): void {
  sim_lockdep_release(map, map.lock_class, label);
}

// ---------------------------------------------------------------------------------------------
// Assertions

/** A lock that knows its holders: 0 not held by `task`, 1 held for read, 2 held exclusively. */
export interface sim_owned_lock extends lockdep_instance {
  sim_held_by(task: number): number;
}

function heldMode(lock: sim_owned_lock | lockdep_map): number {
  const tid = current().id;
  if ('sim_held_by' in lock) return lock.sim_held_by(tid);
  const m = sim_lockdep_held_mode(lock);
  if (m === -1 && !sim_lockdep_enabled()) return -1; // unknown
  return m === -1 ? 0 : m === 0 ? 2 : 1;
}

function assertFail(what: string, lock: lockdep_instance): Violation {
  const t = current();
  return new Violation('lockdep', `${what}(${lock.name}) failed in ${sim_task_label(t)}`, [
    `WARNING: ${what}(${lock.name}) at ${t.label} (step ${currentExecution().step})`,
    ...heldLines(t),
  ]);
}

/** lockdep_assert_held(): the running task holds `lock` (either mode). */
export function lockdep_assert_held(lock: sim_owned_lock | lockdep_map): void {
  if (!inTask()) return;
  if (heldMode(lock) === 0) throw assertFail('lockdep_assert_held', lock);
}
/** lockdep_assert_held_write(): held exclusively. */
export function lockdep_assert_held_write(lock: sim_owned_lock | lockdep_map): void {
  if (!inTask()) return;
  const m = heldMode(lock);
  if (m === 0 || m === 1) throw assertFail('lockdep_assert_held_write', lock);
}
/** lockdep_assert_held_read(): held shared. */
export function lockdep_assert_held_read(lock: sim_owned_lock | lockdep_map): void {
  if (!inTask()) return;
  const m = heldMode(lock);
  if (m === 0 || m === 2) throw assertFail('lockdep_assert_held_read', lock);
}
/** lockdep_assert_not_held(): the running task does not hold `lock`. */
export function lockdep_assert_not_held(lock: sim_owned_lock | lockdep_map): void {
  if (!inTask()) return;
  const m = heldMode(lock);
  if (m === 1 || m === 2) throw assertFail('lockdep_assert_not_held', lock);
}

// ---------------------------------------------------------------------------------------------
// might_sleep

/**
 * might_sleep(): a sleeping primitive was called. Illegal in an RCU read-side section, with a
 * spinlock held (preempt count) or with IRQs disabled.
 */
export function might_sleep(label = 'might_sleep'): void {
  if (!inTask()) return;
  const t = current();
  const s = sim_task_sync_peek(t);
  if (s === undefined || (s.preempt === 0 && s.rcu === 0 && s.irqsOff === 0)) return;
  throw sleepReport(t, s, label, 'BUG: sleeping function called from invalid context');
}

/** The "sleeping function called from invalid context" report (also used by schedule()). */
export function sim_sleep_violation(label: string, title: string): Violation | null {
  if (!inTask()) return null;
  const t = current();
  const s = sim_task_sync_peek(t);
  if (s === undefined || (s.preempt === 0 && s.rcu === 0 && s.irqsOff === 0)) return null;
  return sleepReport(t, s, label, title);
}

function sleepReport(t: TaskState, s: sim_task_sync, label: string, title: string): Violation {
  const why = [s.rcu > 0 ? 'in an RCU read-side critical section' : '', s.preempt > 0 ? 'with a spinlock held (atomic)' : '',
    s.irqsOff > 0 ? 'with IRQs disabled' : ''].filter((x) => x !== '').join(', ');
  return new Violation('might_sleep', `${title} at ${label}: ${sim_task_label(t)} ${why}`, [
    `${title} at ${label}`,
    `in_atomic(): ${s.preempt > 0 ? 1 : 0}, irqs_disabled(): ${s.irqsOff > 0 ? 1 : 0}, non_block: 0, pid: ${t.id}, name: ${t.name}`,
    `preempt_count: ${s.preempt}, expected: 0`,
    `RCU nest depth: ${s.rcu}, expected: 0`,
    ...heldLines(t),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Task exit, trace description, hooks

/**
 * A task ended (returned to user space) with locks held, inside an RCU read-side section or with
 * IRQs disabled. For the Execution's onTaskExit hook.
 */
export function lockdep_task_exit_check(task: TaskState): Violation | null {
  const s = sim_task_sync_peek(task);
  if (s === undefined) return null;
  const owned = s.heldCount;
  if (owned === 0 && s.rcu === 0 && s.irqsOff === 0 && s.preempt === 0) return null;
  const who = sim_task_label(task);
  const report = [
    '================================================',
    'WARNING: lock held when returning to user space!',
    '------------------------------------------------',
    `${who} is leaving the kernel with locks still held!`,
    ...heldLines(task),
  ];
  if (s.depth === 0 && owned > 0) report.push(`(${owned} lock(s) held; lockdep off: no names)`);
  if (s.irqsOff > 0) report.push('IRQs still disabled');
  if (s.preempt > 0 && owned === 0) report.push(`preempt_count: ${s.preempt}`);
  const names = describe(s);
  return new Violation('lockdep', `lock held when returning to user space: ${who} holds ${names || `${owned} lock(s)`}`, report);
}

function describe(s: sim_task_sync): string {
  let out = '';
  for (let i = 0; i < s.depth; i++) {
    if (out !== '') out += ' ';
    out += s.hLock[i]!.name;
    if (s.hRead[i] === 1) out += '(R)';
  }
  if (s.rcu > 0) out += out === '' ? 'rcu' : ' rcu';
  if (s.irqsOff > 0) out += out === '' ? 'irqs-off' : ' irqs-off';
  return out;
}

/** What a task holds, for the trace's held column: e.g. "mm(1)->mmap_lock(R) ptl(pte_table#3) rcu". */
export function lockdep_describe_held(task: TaskState): string {
  const s = sim_task_sync_peek(task);
  return s === undefined ? '' : describe(s);
}

/** ExecutionHooks for lockdep: the held-at-exit check and the trace's held column. */
export const lockdepHooks: ExecutionHooks = {
  onTaskExit: (_exec, task) => lockdep_task_exit_check(task),
  describe: lockdep_describe_held,
};

// ---------------------------------------------------------------------------------------------
// Reports

function heldLines(t: TaskState): string[] {
  const s = sim_task_sync_peek(t);
  const n = (s?.depth ?? 0) + (s !== undefined && s.rcu > 0 ? 1 : 0);
  if (s === undefined || n === 0) return [`no locks held by ${sim_task_label(t)}.`];
  const lines = [`${n} lock${n === 1 ? '' : 's'} held by ${sim_task_label(t)}:`];
  let k = 0;
  for (let i = 0; i < s.depth; i++) {
    lines.push(` #${k++}: ${s.hLock[i]!.name}${s.hClass[i]!.name !== s.hLock[i]!.name ? ` {${s.hClass[i]!.name}}` : ''}` +
      `${s.hRead[i] === 1 ? ' (read)' : ''}${s.hTry[i] ? ' (trylock)' : ''}, at: ${s.hLabel[i]} (step ${s.hStep[i]})`);
  }
  if (s.rcu > 0) lines.push(` #${k}: rcu_read_lock (nesting ${s.rcu}), since step ${s.rcuStart}`);
  return lines;
}

interface found_path {
  readonly classes: number[];
  readonly infos: dep_info[];
}

/** BFS over the dependency graph from `src` to `dst`. */
function findPath(run: lockdep_run, src: number, dst: number): found_path | null {
  if (run.adj[src] === undefined) return null;
  const parent = new Int32Array(classes.length).fill(-1);
  const parentEdge = new Int32Array(classes.length);
  const queue = [src];
  parent[src] = src;
  for (let qi = 0; qi < queue.length; qi++) {
    const u = queue[qi]!;
    const a = run.adj[u];
    if (a === undefined) continue;
    for (let j = 0; j < a.length; j++) {
      const v = a[j]!;
      if (parent[v] !== -1) continue;
      parent[v] = u;
      parentEdge[v] = j;
      if (v === dst) {
        const cls: number[] = [v];
        const infos: dep_info[] = [];
        for (let x = v; x !== src; x = parent[x]!) {
          infos.unshift(run.info[parent[x]!]![parentEdge[x]!]!);
          cls.unshift(parent[x]!);
        }
        return { classes: cls, infos };
      }
      queue.push(v);
    }
  }
  return null;
}

function className(id: number): string {
  return classes[id]!.name;
}

function circularReport(
  t: TaskState, s: sim_task_sync, heldIdx: number, lock: lockdep_instance, cls: lock_class,
  label: string, step: number, _run: lockdep_run, path: found_path,
): Violation {
  const who = sim_task_label(t);
  const held = s.hClass[heldIdx]!;
  const k = path.infos.length;
  const report = [
    '======================================================',
    'WARNING: possible circular locking dependency detected',
    '------------------------------------------------------',
    `${who} is trying to acquire lock:`,
    ` (${cls.name}) ${lock.name}, at: ${label} (step ${step})`,
    '',
    'but task is already holding lock:',
    ` (${held.name}) ${s.hLock[heldIdx]!.name}, at: ${s.hLabel[heldIdx]} (step ${s.hStep[heldIdx]})`,
    '',
    'which lock already depends on the new lock.',
    '',
    'the existing dependency chain (in reverse order) is:',
    '',
  ];
  // Entries #k..#1: the existing edges, newest class first; #0: the acquisition being attempted.
  for (let e = k - 1; e >= 0; e--) {
    const info = path.infos[e]!;
    report.push(`-> #${e + 1} (${className(path.classes[e + 1]!)}):`);
    report.push(`       ${info.task}: ${info.nextLabel} ${info.nextName} (step ${info.nextStep})` +
      ` while holding ${info.prevName} (${className(path.classes[e]!)}, taken at ${info.prevLabel}, step ${info.prevStep})`);
  }
  report.push(`-> #0 (${cls.name}):`);
  report.push(`       ${who}: ${label} ${lock.name} (step ${step})` +
    ` while holding ${s.hLock[heldIdx]!.name} (${held.name}, taken at ${s.hLabel[heldIdx]}, step ${s.hStep[heldIdx]})`);
  report.push('', 'other info that might help us debug this:', '');
  if (k > 1) report.push(`Chain exists of:\n  ${path.classes.map(className).join(' --> ')} --> ${cls.name}`, '');
  const a = held.name;
  const b = cls.name;
  const mid = k > 1 ? className(path.classes[k - 1]!) : a;
  report.push(
    ' Possible unsafe locking scenario:',
    '',
    '       CPU0                    CPU1',
    '       ----                    ----',
    `  lock(${a});`,
    `                               lock(${b});`,
    `                               lock(${mid});`,
    `  lock(${b});`,
    '',
    ' *** DEADLOCK ***',
    '',
    ...heldLines(t),
  );
  const chain = [...path.classes.map(className), cls.name].join(' -> ');
  return new Violation('lockdep',
    `possible circular locking dependency detected: ${who} acquires ${b} (${lock.name}) while holding ${a}; existing chain ${chain}`,
    report);
}

function recursiveReport(
  t: TaskState, s: sim_task_sync, heldIdx: number, lock: lockdep_instance, cls: lock_class, label: string, step: number,
): Violation {
  const who = sim_task_label(t);
  const same = s.hLock[heldIdx] === lock;
  return new Violation('lockdep',
    `possible recursive locking detected: ${who} acquires ${lock.name} (${cls.name}) while holding ${s.hLock[heldIdx]!.name}${same ? ' (the same lock)' : ''}`,
    [
      '============================================',
      'WARNING: possible recursive locking detected',
      '--------------------------------------------',
      `${who} is trying to acquire lock:`,
      ` (${cls.name}) ${lock.name}, at: ${label} (step ${step})`,
      '',
      'but task is already holding lock:',
      ` (${cls.name}) ${s.hLock[heldIdx]!.name}, at: ${s.hLabel[heldIdx]} (step ${s.hStep[heldIdx]})`,
      '',
      'other info that might help us debug this:',
      ' Possible unsafe locking scenario:',
      '',
      '       CPU0',
      '       ----',
      `  lock(${cls.name});`,
      `  lock(${cls.name});`,
      '',
      ' *** DEADLOCK ***',
      '',
      ' May be due to missing lock nesting notation',
      '',
      ...heldLines(t),
    ]);
}
