/**
 * Cost beside safety (issue 7 item 4): logical-time contention figures of a configuration on a
 * scenario family — how many faults fell back to mmap_lock, the VMA-lock events
 * (count_vm_vma_lock_event), fault retries, the steps user threads spent blocked per lock class,
 * and the longest wait of a writer (mmap_lock for write, a VMA write lock). "Time" is the global
 * step count of the simulation: one step is one scheduling point of one task, so a blocked step
 * is a step some other task ran while this one could not.
 *
 * Runs are uniform random interleavings (RandomScheduler: every runnable task equally likely at
 * every step, i.e. CPUs of equal speed), over the family's scenarios as a campaign draws them
 * (a new scenario every SCHEDULES_PER_SCENARIO runs), so two configurations measured with the
 * same seed see the same scenarios. Nothing is checked here: measure what a checked campaign
 * has passed.
 *
 * Blocked steps are computed from the trace: a user thread's event with `blocked` set is the step
 * it woke at; it had been blocked since its previous step. The lock is the woken step's object
 * (the wait site); a bare schedule() (rcuwait, wait queues) is attributed to the object of the
 * step before it (rcuwait_wait_event on mm->vma_writer_wait: the 6.15 VMA write lock).
 */
import { lockdepHooks } from '../impl/sync/lockdep.js';
import { RandomScheduler, mixSeed } from '../impl/rt/schedulers/random.js';
import type { TraceEvent } from '../impl/rt/trace.js';
import { sim_run } from '../impl/sim/run.js';
import type { ScenarioSpec } from '../impl/sim/scenario.js';
import type { Variant } from '../impl/sim/variant.js';
import type { VmaLockEvent } from '../impl/include/linux/mm_flags.js';
import { SCHEDULES_PER_SCENARIO, familyOrThrow } from './campaign.js';

export interface ContentionFigures {
  readonly variant: string;
  readonly family: string;
  readonly runs: number;
  /** Runs that did not end normally (violation, deadlock, crash): excluded from the figures. */
  readonly excluded: number;
  /** Page faults that ended up taking mmap_lock (fallbacks, retries under mmap_lock). */
  readonly mmapLockFaults: number;
  /** Faults completed under a VMA lock. */
  readonly vmaLockFaults: number;
  /** Faults completed with no lock at all (the lockless-fault proposal), if the variant has them. */
  readonly locklessFaults: number;
  /** count_vm_vma_lock_event totals. */
  readonly vmaLock: Readonly<Record<VmaLockEvent, number>>;
  /** VM_FAULT_RETRY seen by the arch fault handler. */
  readonly retries: number;
  /** Steps user threads spent blocked, per lock class. */
  readonly blockedSteps: Readonly<Record<string, number>>;
  /** Sum of blockedSteps. */
  readonly blockedTotal: number;
  /** Longest single wait of a writer (mmap_lock for write, a VMA write lock), in steps. */
  readonly maxWriterWait: number;
  /** Mean steps per run. */
  readonly meanSteps: number;
}

/** The lock class of a wait site: "mm(1)->mmap_lock" → mmap_lock, "ptl(pte_table#4)" → ptl … */
export function lockClass(label: string, obj: string): string {
  if (obj === '') return label;
  if (obj.startsWith('ptl(')) return 'ptl';
  if (/^folio#\d+/.test(obj)) return 'folio (I/O)';
  if (obj.endsWith('->vm_lock') || obj.endsWith('->vma_writer_wait')) return 'vma_lock';
  if (obj.startsWith('anon_vma#')) return 'anon_vma->rwsem';
  const arrow = obj.lastIndexOf('->');
  if (arrow >= 0) return obj.slice(arrow + 2);
  return obj.replace(/#\d+/g, '').replace(/\(.*\)/g, '');
}

/** A wait of a writer: mmap_lock taken for write, or a VMA write lock waiting for readers. */
function isWriterWait(label: string, cls: string): boolean {
  if (cls === 'mmap_lock') return label.startsWith('down_write');
  if (cls === 'vma_lock') return label.startsWith('down_write') || label.startsWith('rcuwait') || label === 'schedule';
  return false;
}

/** Fold one traced run's blocked steps into the totals; returns the longest writer wait. */
export function blockedFromTrace(trace: readonly TraceEvent[], userThreads: ReadonlySet<number>, into: Record<string, number>): number {
  const last = new Map<number, TraceEvent>();
  let maxWriter = 0;
  for (const e of trace) {
    const prev = last.get(e.task);
    if (e.blocked && prev && userThreads.has(e.task) && e.label !== 'wait for setup') {
      const waited = e.step - prev.step - 1;
      // A bare schedule() sleeps on whatever the previous step prepared to wait for.
      const site = e.obj === '' && e.label === 'schedule' ? prev : e;
      const cls = lockClass(site.label, site.obj);
      into[cls] = (into[cls] ?? 0) + waited;
      if (isWriterWait(site.label, cls) && waited > maxWriter) maxWriter = waited;
    }
    last.set(e.task, e);
  }
  return maxWriter;
}

export function measureContention(variant: Variant, family: string, runs: number, seed = 1): ContentionFigures {
  const fam = familyOrThrow(family);
  const vmaLock: Record<VmaLockEvent, number> = { VMA_LOCK_SUCCESS: 0, VMA_LOCK_ABORT: 0, VMA_LOCK_RETRY: 0, VMA_LOCK_MISS: 0 };
  const blocked: Record<string, number> = {};
  let mmapLockFaults = 0, vmaLockFaults = 0, lockless = 0, retries = 0, maxWriterWait = 0, steps = 0, excluded = 0;
  let scenario: ScenarioSpec = fam.generate(mixSeed(seed, 0));
  for (let i = 0; i < runs; i++) {
    if (i > 0 && i % SCHEDULES_PER_SCENARIO === 0) scenario = fam.generate(mixSeed(seed, i / SCHEDULES_PER_SCENARIO));
    const r = sim_run({ variant, scenario, scheduler: new RandomScheduler(mixSeed(seed, i)), trace: true, hooks: lockdepHooks });
    if (r.outcome.status !== 'ok') {
      excluded++;
      continue;
    }
    const s = r.kernel.stats;
    for (const ev of Object.keys(vmaLock) as VmaLockEvent[]) vmaLock[ev] += s.vma_lock[ev];
    mmapLockFaults += s.mmap_lock_faults;
    vmaLockFaults += s.vma_lock_faults;
    retries += s.fault_retries;
    const spf = r.kernel.ext.get('lockless_fault') as { success: number } | undefined;
    lockless += spf?.success ?? 0;
    steps += r.outcome.steps;
    const w = blockedFromTrace(r.exec.trace, new Set(r.threads), blocked);
    if (w > maxWriterWait) maxWriterWait = w;
  }
  const blockedTotal = Object.values(blocked).reduce((a, b) => a + b, 0);
  const measured = runs - excluded;
  return {
    variant: variant.name, family, runs, excluded, mmapLockFaults, vmaLockFaults, locklessFaults: lockless, vmaLock, retries,
    blockedSteps: blocked, blockedTotal, maxWriterWait, meanSteps: measured ? Math.round(steps / measured) : 0,
  };
}

/** A side-by-side text table of figures (columns: the configurations). */
export function contentionTable(figs: readonly ContentionFigures[]): string {
  const classes = [...new Set(figs.flatMap((f) => Object.keys(f.blockedSteps)))].sort();
  const rows: [string, (f: ContentionFigures) => string | number][] = [
    ['family', (f) => f.family],
    ['runs (excluded)', (f) => `${f.runs} (${f.excluded})`],
    ['faults under mmap_lock', (f) => f.mmapLockFaults],
    ['faults under a VMA lock', (f) => f.vmaLockFaults],
    ['faults with no lock', (f) => f.locklessFaults],
    ['VMA_LOCK_SUCCESS', (f) => f.vmaLock.VMA_LOCK_SUCCESS],
    ['VMA_LOCK_ABORT', (f) => f.vmaLock.VMA_LOCK_ABORT],
    ['VMA_LOCK_RETRY', (f) => f.vmaLock.VMA_LOCK_RETRY],
    ['VMA_LOCK_MISS', (f) => f.vmaLock.VMA_LOCK_MISS],
    ['fault retries', (f) => f.retries],
    ...classes.map((c): [string, (f: ContentionFigures) => number] => [`blocked steps: ${c}`, (f) => f.blockedSteps[c] ?? 0]),
    ['blocked steps: total', (f) => f.blockedTotal],
    ['longest writer wait (steps)', (f) => f.maxWriterWait],
    ['mean steps per run', (f) => f.meanSteps],
  ];
  const head = ['', ...figs.map((f) => f.variant)];
  const body = rows.map(([name, get]) => [name, ...figs.map((f) => String(get(f)))]);
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|', ...body.map(line)].join('\n');
}
