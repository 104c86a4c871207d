/**
 * The general workload generator: a fast-check arbitrary of whole scenarios (ScenarioSpec) drawn
 * from the whole surface faultline simulates, for finding what no directed family was written for.
 *
 * A workload is
 * - a layout (layout.ts): 1–4 regions with the kernel's corner cases, mapped by P1 and their
 *   pages put in a drawn state at the start (written, read, swapped out, page cache only, a
 *   policy, a userfaultfd registration);
 * - 1–3 processes: P1, and children of P1 forked at the end of its setup (sharing its pages
 *   copy-on-write and its anon_vmas) or unrelated processes mapping the same layout (sharing the
 *   files' page cache); every process may get threads of its own, and processes a thread forks
 *   at run time have none (their mm lives on, holding COW pages, until the run ends);
 * - 2–4 user threads, each a program of 1–5 operations from the operation table (ops.ts),
 *   most of them in P1; half of the operations' targets are the workload's focus page or its
 *   neighbours (races need shared objects) — a page as drawn, or one the setup left swapped out,
 *   in the page cache only, or just below a stack (ops.ts Focus) — the rest biased to the first
 *   region and pages;
 * - the kernel daemons, drawn where they have work: reclaim (kswapd) over the pages the layout
 *   populated (twice as often when pages start swapped out: a swap-in racing reclaim, which
 *   swaps the page out again into the slot the swap-in freed, is the swap cache's corner case), swapoff when pages start swapped out (sometimes without), khugepaged when a
 *   2 MiB region exists (rarely otherwise), and the userfaultfd monitor of every process whenever
 *   anything registers a range (a registered fault nobody resolves would hang the test program);
 * - fault injection (allocation failures, I/O errors, decided by the scheduler) in a share of
 *   the workloads (`faultInjection`, a parameter; 0 by default until the model accepts the
 *   kernel's failure behaviour everywhere).
 *
 * Structural rules that keep a workload a valid program (not tuning): exit(2) only as the last
 * operation of a thread (nothing of that thread runs after it; exit_group kills the process's other
 * threads, impl/mm/mmap.ts do_group_exit, and the mm dies with the last of them); no setup step after a userfaultfd
 * registration that would raise an event the monitor, not yet running, must read. And two gaps
 * of the model kept out of the workloads: no userfaultfd registration where a stack may grow
 * (the growth happens before the fault waits for the monitor; the model's waiting fault has no
 * effect yet), and PFN-map devices mapped MAP_SHARED only (layout.ts isPfnmap).
 *
 * Every choice is a fast-check arbitrary combined with record/tuple/map, so fast-check shrinks a
 * workload toward fewer threads, processes, operations and daemons, region 0, simpler flags.
 */
import fc from 'fast-check';
import type { DaemonSpec, ScenarioSpec, SetupAction } from '../../impl/sim/scenario.js';
import type { ModelOp } from '../../model/ops.js';
import { PAGE, page } from '../scenarios/build.js';
import { chance, weightedInt } from './draw.js';
import {
  DATA_FILES, DEVICE_PAGES, DEVICES, KVM_DEVICE, PMD_PAGES, STATE_PAGES, fileSizesOf, layoutArb, place, setupRegions, type LayoutDraw, type Placed,
} from './layout.js';
import { OP_TABLE, focusArb, opArb, resolveOp, type AnyOpKind, type Focus, type OpDraw, type ResolveCtx } from './ops.js';

/** Share of workloads with fault injection on (see the header). */
export const FAULT_INJECTION_SHARE = 0;

export interface WorkloadOptions {
  /** The operation table (default OP_TABLE). */
  readonly ops?: readonly AnyOpKind[];
  /** Share of workloads with fault injection (default FAULT_INJECTION_SHARE). */
  readonly faultInjection?: number;
  /** Family name written into the scenarios (default 'random'). */
  readonly family?: string;
}

interface ThreadDraw {
  readonly proc: number;
  readonly len: number;
  readonly ops: readonly OpDraw[];
}

/** A roll in [0, 1000): `on(roll, p)` is true with probability p and shrinks to false. */
const rollArb = fc.integer({ min: 0, max: 999 });
const on = (roll: number, p: number): boolean => roll >= 1000 - Math.round(p * 1000);

export interface WorkloadDraw {
  readonly layout: LayoutDraw;
  /** Extra processes: true = a fork of P1 at the end of its setup, false = an unrelated process. */
  readonly procs: readonly boolean[];
  readonly threads: readonly ThreadDraw[];
  readonly reclaim: number;
  readonly reclaimRounds: number;
  readonly swapoff: number;
  readonly khugepaged: number;
  readonly khugepagedRounds: number;
  readonly fi: number;
  readonly uffdValue: number;
  /** The page the threads' operations meet at (ops.ts Target.near). */
  readonly focus: Focus;
}

/**
 * A thread: its process, its program's length and operations. A share of the threads only touch
 * memory (loads and stores: page faults, the subject) — the other half of most races is one
 * thread faulting on the pages another thread's syscall is changing, and a program that mixes in
 * syscalls of its own races less with them.
 */
function threadArb(ops: fc.Arbitrary<OpDraw>, faults: fc.Arbitrary<OpDraw>): fc.Arbitrary<ThreadDraw> {
  return fc.record({
    proc: weightedInt(0, [6, 3, 1]),
    // Programs of 1–5 operations, short ones most often.
    len: weightedInt(1, [4, 4, 3, 2, 1]),
    faulter: chance(FAULTER_SHARE),
    ops: fc.array(ops, { minLength: 5, maxLength: 5 }),
    fops: fc.array(faults, { minLength: 5, maxLength: 5 }),
  }).map(({ faulter, ops: o, fops, ...t }) => ({ ...t, ops: faulter ? fops : o }));
}

/**
 * Share of threads whose programs are loads and stores only (threadArb). A compromise: races of
 * two syscalls (smaps or mmap against munmap, fork against UFFDIO_COPY) need two threads that
 * make syscalls; at 0.3 their workloads fell by a third (per 3000: smaps-vs-unmap 327 → 192),
 * at 0.15 by a fifth (265), keeping most of the gain for fault-vs-syscall races.
 */
export const FAULTER_SHARE = 0.15;

/** The table's memory accesses (loads and stores), or the whole table if it has none. */
function faultOpArb(table: readonly AnyOpKind[]): fc.Arbitrary<OpDraw> {
  const access = table.filter((k) => k.name === 'load' || k.name === 'store');
  return opArb(access.length > 0 ? access : table);
}

export function workloadDrawArb(opts: WorkloadOptions = {}): fc.Arbitrary<WorkloadDraw> {
  const ops = opArb(opts.ops ?? OP_TABLE);
  const faults = faultOpArb(opts.ops ?? OP_TABLE);
  return fc.record({
    layout: layoutArb,
    procs: fc.tuple(weightedInt(0, [6, 3, 1]), fc.array(chance(0.7), { minLength: 2, maxLength: 2 })).map(([n, xs]) => xs.slice(0, n)),
    // 2–4 threads, two most often.
    threads: fc.tuple(weightedInt(2, [5, 3, 2]), fc.array(threadArb(ops, faults), { minLength: 4, maxLength: 4 })).map(([n, ts]) => ts.slice(0, n)),
    reclaim: rollArb,
    reclaimRounds: weightedInt(1, [3, 2, 1]),
    swapoff: rollArb,
    khugepaged: rollArb,
    khugepagedRounds: weightedInt(1, [3, 1]),
    fi: rollArb,
    uffdValue: fc.integer({ min: 1, max: 99 }),
    focus: focusArb,
  });
}

/** The scenario a drawn workload stands for. */
export function buildWorkload(w: WorkloadDraw, opts: WorkloadOptions = {}, name = 'random'): ScenarioSpec {
  const table = opts.ops ?? OP_TABLE;
  const family = opts.family ?? 'random';
  const { regions, end } = place(w.layout);
  const fileSizes = fileSizesOf(w.layout);

  // Processes: P1, unrelated ones listed after it, P1's setup forks numbered after those.
  const indep = w.procs.filter((f) => !f).length;
  const forks = w.procs.length - indep;
  const listed = Array.from({ length: 1 + indep }, (_, i) => i + 1);
  const forked = Array.from({ length: forks }, (_, i) => listed.length + 1 + i);
  const pids = [...listed, ...forked];

  // A stack (a MAP_GROWSDOWN region, or one an operation maps) and userfaultfd stay apart: a
  // fault that grows a registered stack and then waits for the monitor has already grown it,
  // which the model's waiting load/store (not enabled: no effect yet) cannot express.
  const stacks = regions.some((p) => p.draw.kind === 'stack') ||
    w.threads.some((t) => t.ops.slice(0, t.len).some((o) => o.kind === 'mmap' && (o.d as { kind?: string }).kind === 'stack'));
  const kernelSetup: SetupAction[] = [];
  const processes: { pid: number; setup: ModelOp[] }[] = [];
  let anySwapped = false;
  listed.forEach((pid, i) => {
    const s = setupRegions(pid, regions, fileSizes, 100 * i);
    const setup = [...s.ops];
    if (pid === 1) for (let f = 0; f < forks; f++) setup.push({ op: 'fork', pid: 1 });
    if (!stacks) setup.push(...s.late);
    processes.push({ pid, setup });
    kernelSetup.push(...s.kernel);
  });
  anySwapped = kernelSetup.some((a) => a.do === 'swap_out');

  // Which processes register ranges (setup or threads): their madvise calls cover one page. The
  // kernel's MADV_DONTNEED walks the range VMA by VMA, and for a registered one drops the lock to
  // wait for the monitor to read UFFD_EVENT_REMOVE, so a range that other threads reshape
  // meanwhile gives several events from one call; the model takes madvise as one step.
  const registering = new Set<number>();
  for (const p of processes) if (p.setup.some((o) => o.op === 'uffd_register')) registering.add(p.pid);
  const pidOfDraw = (t: ThreadDraw): number => pids[t.proc % pids.length]!;
  for (const t of w.threads) if (t.ops.slice(0, t.len).some((o) => o.kind === 'uffd_register')) registering.add(pidOfDraw(t));

  // Threads and their programs.
  const threads: { name: string; pid: number; program: ModelOp[] }[] = [];
  const pidOfThread = w.threads.map((t) => pids[t.proc % pids.length]!);
  w.threads.forEach((t, i) => {
    const pid = pidOfThread[i]!;
    const ctx: ResolveCtx = { regions, end, pid, pids, fileSizes, focus: w.focus };
    const draws = t.ops.slice(0, t.len);
    const program: ModelOp[] = [];
    draws.forEach((o, j) => {
      const op = resolveOp(o, ctx, table);
      if (op.op === 'exit' && j !== draws.length - 1) return;
      if (stacks && op.op === 'uffd_register') return;
      if (op.op === 'madvise' && registering.has(pid) && !stacks) {
        program.push({ ...op, len: Math.min(op.len, PAGE) });
        return;
      }
      program.push(op);
    });
    if (program.length === 0) program.push({ op: 'load', pid, addr: page(regions[0]!.at) });
    threads.push({ name: `t${i}${pid === 1 ? '' : `.p${pid}`}`, pid, program });
  });

  // Daemons, where they have work.
  const daemons: DaemonSpec[] = [];
  const targets = reclaimTargets(regions, listed, fileSizes);
  const reclaim = targets.length > 0 && on(w.reclaim, anySwapped ? 0.6 : 0.3);
  if (reclaim) daemons.push({ kind: 'reclaim', rounds: w.reclaimRounds, targets });
  const hasPmd = regions.some((p) => p.pages >= PMD_PAGES);
  if (on(w.khugepaged, hasPmd ? 0.5 : 0.05)) daemons.push({ kind: 'khugepaged', rounds: w.khugepagedRounds });
  const swapoff = on(w.swapoff, anySwapped ? 0.4 : reclaim ? 0.1 : 0);
  if (swapoff) daemons.push({ kind: 'swapoff' });
  const allOps = [...processes.flatMap((p) => p.setup), ...threads.flatMap((t) => t.program)];
  // The monitor of each process that registers a range (a setup fork comes before P1's
  // registrations, and a child forked at run time runs no thread that could fault).
  for (const pid of pids) {
    if (allOps.some((o) => o.op === 'uffd_register' && o.pid === pid)) daemons.push({ kind: 'uffd_handler', pid, count: 64, value: w.uffdValue });
  }

  // The files and devices something maps or reads: each file costs every run its setup.
  const used = new Set<string>();
  for (const o of allOps) {
    if (o.op === 'mmap' && o.file !== undefined) used.add(o.file);
    if (o.op === 'pread' || o.op === 'pwrite' || o.op === 'dio_read' || o.op === 'dio_write' || o.op === 'dev_ioctl' || o.op === 'close') used.add(o.file);
  }
  const files = [
    ...DATA_FILES.map((f, i) => ({ name: f, pages: Array.from({ length: fileSizes[i]! }, (_, j) => 100 + 10 * i + j) })),
    ...DEVICES.map((d, i) => ({ name: d, pages: Array.from({ length: DEVICE_PAGES }, (_, j) => 200 + 10 * i + j) })),
    { name: KVM_DEVICE, pages: Array.from({ length: DEVICE_PAGES }, (_, j) => 250 + j) },
  ].filter((f) => used.has(f.name));
  const fiShare = opts.faultInjection ?? FAULT_INJECTION_SHARE;
  return {
    name,
    family,
    ...(files.length > 0 ? { files } : {}),
    // A slot for every page swapped out at the start, and room for reclaim to swap out more.
    ...(anySwapped || reclaim || swapoff ? { swapSlots: 8 + kernelSetup.filter((a) => a.do === 'swap_out').length } : {}),
    processes,
    ...(kernelSetup.length > 0 ? { kernelSetup } : {}),
    threads,
    ...(daemons.length > 0 ? { daemons } : {}),
    ...(on(w.fi, fiShare) ? { faultInjection: true } : {}),
  };
}

/** Pages reclaim may pick: the populated or cached leading pages of each region, per listed process (at most 8). */
function reclaimTargets(regions: readonly Placed[], pids: readonly number[], fileSizes: readonly number[]): { pid: number; addr: number }[] {
  const out: { pid: number; addr: number }[] = [];
  for (const pid of pids) {
    for (const p of regions) {
      const r = p.draw;
      // Not shmem: the simulation writes shmem pages back to a "disk" (no shmem swap), after
      // which a registered range would take the page for a hole (impl/mm/mmap.ts shmem_fault).
      if (r.kind === 'dev' || r.kind === 'shmem' || r.prot === 'none') continue;
      for (let i = 0; i < Math.min(p.pages, STATE_PAGES); i++) {
        const live = ((r.populated | (r.kind === 'file' ? r.cached : 0)) >> i) & 1;
        const inFile = r.kind !== 'file' || r.offset + i < fileSizes[r.file % DATA_FILES.length]!;
        if (live && inFile) out.push({ pid, addr: page(p.at + i) });
      }
    }
  }
  return out.slice(0, 8);
}

/** The whole generator: an arbitrary of scenarios (name 'random'; the family names each by seed). */
export function workloadArb(opts: WorkloadOptions = {}): fc.Arbitrary<ScenarioSpec> {
  return workloadDrawArb(opts).map((w) => buildWorkload(w, opts));
}

// --- mutation (properties/corpus.ts) ----------------------------------------------------------

/** One fresh value of an arbitrary from the corpus's random source. */
const fresh = <T>(arb: fc.Arbitrary<T>, rnd: fc.Random): T => arb.generate(rnd, undefined).value;

/**
 * A workload near `w`: one to three small changes — an operation replaced, inserted or removed, a
 * thread added, removed, moved to another process or taken from another workload of the corpus,
 * a region redrawn, added or removed, the processes or a daemon redrawn. What a coverage-guided
 * corpus (syzkaller's idea) does to a workload that reached something new, to look around it.
 */
export function mutateWorkload(w: WorkloadDraw, rnd: fc.Random, others: readonly WorkloadDraw[], opts: WorkloadOptions = {}): WorkloadDraw {
  const ops = opArb(opts.ops ?? OP_TABLE);
  const thread = threadArb(ops, faultOpArb(opts.ops ?? OP_TABLE));
  const int = (lo: number, hi: number): number => rnd.nextInt(lo, hi);
  let cur = w;
  const n = int(1, 3);
  for (let m = 0; m < n; m++) {
    const threads = [...cur.threads];
    const t = int(0, threads.length - 1);
    const th = threads[t]!;
    switch (int(0, 11)) {
      case 0: case 1: case 2: { // replace an operation
        const j = int(0, th.len - 1);
        const o = [...th.ops];
        o[j] = fresh(ops, rnd);
        threads[t] = { ...th, ops: o };
        break;
      }
      case 3: { // insert an operation
        if (th.len >= th.ops.length) break;
        const j = int(0, th.len);
        const o = [...th.ops];
        o.splice(j, 0, fresh(ops, rnd));
        threads[t] = { ...th, len: th.len + 1, ops: o.slice(0, th.ops.length) };
        break;
      }
      case 4: { // remove an operation
        if (th.len <= 1) break;
        const j = int(0, th.len - 1);
        const o = [...th.ops];
        o.splice(j, 1);
        o.push(fresh(ops, rnd));
        threads[t] = { ...th, len: th.len - 1, ops: o };
        break;
      }
      case 5: // add a thread, or take one from another workload
        if (threads.length < 4) {
          const donor = others.length > 0 && int(0, 1) === 1 ? others[int(0, others.length - 1)]! : null;
          threads.push(donor ? donor.threads[int(0, donor.threads.length - 1)]! : fresh(thread, rnd));
        }
        break;
      case 6: // remove a thread
        if (threads.length > 2) threads.splice(t, 1);
        break;
      case 7: // move a thread to another process
        threads[t] = { ...th, proc: int(0, 2) };
        break;
      case 8: { // redraw a region
        const regions = [...cur.layout.regions];
        regions[int(0, regions.length - 1)] = fresh(layoutArb, rnd).regions[0]!;
        cur = { ...cur, layout: { ...cur.layout, regions } };
        break;
      }
      case 9: { // add or remove a region
        const regions = [...cur.layout.regions];
        if (regions.length > 1 && int(0, 1) === 0) regions.splice(int(0, regions.length - 1), 1);
        else if (regions.length < 4) regions.splice(int(0, regions.length), 0, fresh(layoutArb, rnd).regions[0]!);
        cur = { ...cur, layout: { ...cur.layout, regions } };
        break;
      }
      case 10: // the processes
        cur = { ...cur, procs: fresh(workloadDrawArb(opts), rnd).procs };
        break;
      default: { // a daemon (or fault injection, or the focus) redrawn
        const roll = int(0, 999);
        switch (int(0, 4)) {
          case 4: cur = { ...cur, focus: fresh(focusArb, rnd) }; break;
          case 0: cur = { ...cur, reclaim: roll }; break;
          case 1: cur = { ...cur, swapoff: roll }; break;
          case 2: cur = { ...cur, khugepaged: roll }; break;
          default: cur = { ...cur, fi: roll }; break;
        }
      }
    }
    cur = { ...cur, threads };
  }
  return cur;
}
