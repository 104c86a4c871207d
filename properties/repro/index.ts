/**
 * `faultline repro FILE --c OUT.c`: a C reproducer from a counterexample's user-visible
 * operations, for the running kernel (properties/repro/runtime.c is its runtime; this file fills
 * in the tables).
 *
 * From the counterexample: the scenario (files, processes and their setup, kernel-side setup, the
 * threads' programs, the userfaultfd monitor) and — by replaying it — the history: which
 * operation returned before which was invoked (the C program orders them so), which overlapped
 * (those race: a random spin before each, and a syscall with a user buffer stalled at it through a
 * second userfaultfd), the addresses the kernel chose for non-fixed mappings (translated at run
 * time), the pids fork gave. From the model (outcomes.ts): what each load may return, which
 * operation may block forever, what the final memory and the /proc lines may be.
 *
 * The kernel daemons run through the user-space triggers of their kernel paths (runtime.c says
 * which path each takes): reclaim (kswapd) as process_madvise(MADV_COLD, MADV_PAGEOUT) of its
 * target pages and swapoff as swapoff(2)/swapon(2) of the reproducer's own swap file, both from a
 * helper process racing the programs; khugepaged as MADV_COLLAPSE of the scenario's PMD-aligned
 * 2 MiB ranges from a thread racing each process's programs (what differs from khugepaged: the
 * banner and runtime.c collapse_main); pages swapped out at the start by MADV_PAGEOUT at setup. As
 * root the program creates, swaps on and at exit removes a swap file of the scenario's swapSlots
 * slots; otherwise it uses the machine's swap, if any, and skips swapoff with a line saying so.
 * What cannot be run from user space is said in the program's banner and approximated or left
 * out: simulated driver devices (a regular file stands in, values are then not judged;
 * ioctl(KVM_CREATE_VM) goes to the machine's /dev/kvm, and without one the program prints a skip
 * line and does not run it), exit of the reproducer's own process. O_DIRECT read/write use a
 * descriptor opened with O_DIRECT (a buffered one where the filesystem refuses it: then nothing
 * is pinned).
 */
import { readFileSync } from 'node:fs';
import { ReplayScheduler } from '../../impl/rt/schedulers/replay.js';
import { sim_run, type SimRun } from '../../impl/sim/run.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import type { Variant } from '../../impl/sim/variant.js';
import { describeCall, describeOp, describeResult, ESRCH, PAGE_SIZE, type MadviseOp, type ModelOp } from '../../model/ops.js';
import type { Counterexample } from '../counterexample.js';
import { modelInitialState } from '../refinement.js';
import { runScenario } from '../runner.js';
import { enumerateOutcomes, type Outcomes } from './outcomes.js';

export interface ReproOptions {
  /** Iterations the program runs by default (its first argument overrides). */
  readonly iterations?: number;
  /** How long (ms) no progress counts as a hang by default (its second argument overrides). */
  readonly timeoutMs?: number;
  /** The counterexample's path as the user gave it (for the banner). */
  readonly source?: string;
  /** Stop at the first reproduction instead of measuring the rate. */
  readonly stopAtFirst?: boolean;
}

export interface Repro {
  readonly c: string;
  /** What the program checks (CHECKED in the C). */
  readonly checked: string;
  readonly notes: readonly string[];
  /** The model's outcomes were enumerated completely (values are judged). */
  readonly modelComplete: boolean;
}

/** A problem with the counterexample that makes a reproducer impossible: one line. */
export class ReproError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReproError';
  }
}

const OP_KIND: Readonly<Record<Exclude<ModelOp['op'], 'uffd_settle'>, string>> = {
  mmap: 'OP_MMAP', munmap: 'OP_MUNMAP', mprotect: 'OP_MPROTECT', mremap: 'OP_MREMAP', madvise: 'OP_MADVISE', mbind: 'OP_MBIND',
  get_mempolicy: 'OP_GET_MEMPOLICY', fork: 'OP_FORK', exit: 'OP_EXIT', load: 'OP_LOAD', store: 'OP_STORE', pread: 'OP_PREAD',
  pwrite: 'OP_PWRITE', proc_mem_write: 'OP_PROC_MEM_WRITE', read_maps: 'OP_READ_MAPS', read_smaps: 'OP_READ_SMAPS',
  uffd_register: 'OP_UFFD_REGISTER', uffd_unregister: 'OP_UFFD_UNREGISTER', uffdio_copy: 'OP_UFFDIO_COPY',
  uffdio_move: 'OP_UFFDIO_MOVE', uffd_read_event: 'OP_UFFD_READ_EVENT', dio_read: 'OP_DIO_READ', dio_write: 'OP_DIO_WRITE',
  dev_ioctl: 'OP_DEV_IOCTL', khugepaged_collapse: 'OP_COLLAPSE', close: 'OP_CLOSE',
};

/** Operations whose user buffer can be stalled at its copy_{from,to}_user. */
const STALLABLE = new Set<string>(['pwrite', 'read_maps', 'read_smaps', 'uffdio_copy']);

/** A C string literal (UTF-8 kept; control characters as octal escapes). */
export function cString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\' + c.toString(8).padStart(3, '0');
    else if (ch === '?') out += '\\?'; // no trigraphs, whatever the compiler mode
    else out += ch;
  }
  return out + '"';
}

const hex = (n: number): string => '0x' + n.toString(16) + 'UL';

/** mbind policy string → [MPOL_* mode, nodemask]. */
function policyOf(p: string): [number, number] {
  const [name, nodes] = p.split(':');
  const mask = (nodes ?? '').split(',').filter((x) => x !== '').reduce((m, n) => m + 2 ** Number(n), 0);
  switch (name) {
    case 'default': return [0, 0];
    case 'preferred': return [1, mask];
    case 'bind': return [2, mask];
    case 'interleave': return [3, mask || 1];
    case 'local': return [4, 0];
    default: throw new ReproError(`mbind policy "${p}" has no C rendering`);
  }
}

interface HistoryView {
  readonly run: SimRun;
  /** [thread][op] → history entry, if the op was invoked. */
  readonly entries: readonly (readonly (SimRun['history'][number] | undefined)[])[];
}

function historyOf(variant: Variant, scenario: ScenarioSpec, schedule: string): HistoryView {
  let run: SimRun;
  try {
    run = sim_run({ variant, scenario, scheduler: new ReplayScheduler(schedule, false) });
  } catch (e) {
    throw new ReproError(`the counterexample does not replay: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  }
  if (run.outcome.status === 'crash') throw new ReproError(`the counterexample's replay crashed: ${(run.outcome.error ?? '').split('\n')[0]}`);
  const entries = scenario.threads.map((t, i) => {
    const task = run.threads[i]!;
    const mine = run.history.filter((e) => e.task === task);
    return t.program.map((_, k) => mine[k]);
  });
  return { run, entries };
}

/** Build the C reproducer of a counterexample on the variant it names. */
export function generateRepro(cx: Counterexample, variant: Variant, opts: ReproOptions = {}): Repro {
  const sc = cx.scenario;
  const notes: string[] = [];
  const { run, entries } = historyOf(variant, sc, cx.schedule);
  const verdict = runScenario({ variant, scenario: sc, schedule: cx.schedule, strict: false });
  const replayed = verdict.violation?.property;
  if (replayed !== cx.violation.property) {
    notes.push(`the replay on ${variant.name} gave ${replayed ?? verdict.status}, not ${cx.violation.property}: the program follows the replay's order`);
  }
  const init = modelInitialState(run, sc);
  let outcomes: Outcomes | null = null;
  if (typeof init === 'string') notes.push(`the model rejects the setup (${init}): values are not judged`);
  else outcomes = enumerateOutcomes(sc, init);
  if (outcomes && !outcomes.complete) notes.push(`the model's interleavings exceed the search budget (${outcomes.states} states): values are not judged`);
  const modelComplete = outcomes?.complete === true;

  // --- processes: the initial ones in order, then those fork creates
  const initialPids = sc.processes.map((p) => p.pid);
  if (!initialPids.includes(1)) throw new ReproError('the scenario has no process P1 (the reproducer itself)');
  const forkChild = new Map<string, number>();
  let nextChild = Math.max(...initialPids) + 1;
  // A fork in a process's setup (the general generator's children of P1): the child's pid is the
  // one the setup's fork got (the setup runs in process order, so the history is in table order).
  let setupAt = 0;
  sc.processes.forEach((p) => p.setup.forEach((op, k) => {
    const r = run.setupHistory[setupAt++]?.result;
    if (op.op !== 'fork') return;
    forkChild.set(`s${p.pid}:${k}`, r?.kind === 'pid' ? r.pid : nextChild++);
  }));
  if (forkChild.size > 0) nextChild = Math.max(nextChild, Math.max(...forkChild.values()) + 1);
  sc.threads.forEach((t, ti) => t.program.forEach((op, k) => {
    if (op.op !== 'fork') return;
    const r = entries[ti]![k]?.result;
    forkChild.set(`${ti}:${k}`, r?.kind === 'pid' ? r.pid : nextChild++);
  }));
  const allPids = [...initialPids, ...[...forkChild.values()].filter((p) => !initialPids.includes(p))];
  if (allPids.length > 8) throw new ReproError(`the scenario has ${allPids.length} processes; the reproducer runs at most 8`);
  const targets = [
    ...sc.threads.flatMap((t) => t.program).flatMap((op) => ('target' in op ? [op.target] : [])),
    ...(sc.daemons ?? []).flatMap((d) => (d.kind === 'reclaim' ? d.targets.map((t) => t.pid) : d.kind === 'uffd_handler' ? [d.pid] : [])),
    ...(sc.kernelSetup ?? []).flatMap((a) => (a.do === 'swap_out' ? [a.pid] : [])),
  ];
  const bigPid = [...allPids, ...sc.threads.map((t) => t.pid), ...targets].find((p) => p < 1 || p > 11);
  if (bigPid !== undefined) throw new ReproError(`simulated pid ${bigPid}: the reproducer numbers processes 1 to 11`);
  for (const t of sc.threads) {
    if (!allPids.includes(t.pid)) notes.push(`thread ${t.name} runs in P${t.pid}, which nothing creates: its operations fail with -ESRCH`);
  }
  const monitors = new Map<number, { value: number; contract: boolean }>();
  const reclaimTargets: { pid: number; addr: number }[] = [];
  let runSwapoff = false;
  for (const d of sc.daemons ?? []) {
    if (d.kind === 'uffd_handler') monitors.set(d.pid, { value: d.value, contract: d.monitor === 'contract' });
    else if (d.kind === 'reclaim') {
      for (const t of d.targets) if (!reclaimTargets.some((x) => x.pid === t.pid && x.addr === t.addr)) reclaimTargets.push(t);
      notes.push(`reclaim (kswapd) runs as process_madvise(MADV_COLD, then MADV_PAGEOUT) of one of its ${d.targets.length} target page(s) at a time, from a helper process racing the programs until they are done (reclaim_pages -> shrink_folio_list -> try_to_unmap, add_to_swap); unlike kswapd, MADV_PAGEOUT skips a page mapped by more than one process`);
    } else if (d.kind === 'khugepaged') {
      notes.push('khugepaged runs as MADV_COLLAPSE (Linux 6.1+, its documented synchronous equivalent) of the scenario\'s PMD-aligned 2 MiB ranges, from a thread in each process racing its programs (the kernel\'s own khugepaged may run meanwhile); it differs from khugepaged in running in the process under its mmap_read_lock (khugepaged is a kernel thread that only trylocks), in not enforcing max_ptes_none/swap/shared nor the THP sysfs setting, and in mapping a collapsed file THP by PMD in its own mm at once; other mms\' page tables are retracted as by khugepaged (since v6.6)');
    } else if (d.kind === 'swapoff') {
      runSwapoff = true;
      notes.push('swapoff runs as swapoff(2) then swapon(2) of the reproducer\'s own swap file, over and over from a helper process racing the programs (try_to_unuse -> unuse_mm); it needs root (the program says "skip" otherwise)');
    }
  }
  const swapOut = (sc.kernelSetup ?? []).filter((a) => a.do === 'swap_out').length;
  const needsSwap = (sc.swapSlots ?? 0) > 0 || swapOut > 0 || reclaimTargets.length > 0 || runSwapoff;
  if (needsSwap) {
    notes.push(`swap: as root the program swaps on a swap file of its own with ${swapPagesOf(sc)} slot(s) (the scenario's swap device; removed at exit), else it uses the machine's swap if any${swapOut ? `; the ${swapOut} page(s) swapped out at the start are paged out with MADV_PAGEOUT at setup (the program says if one stays resident)` : ''}`);
  }
  const files = sc.files ?? [];
  const devices = files.filter((f) => f.name.startsWith('/dev/'));
  if (sc.threads.some((t) => t.program.some((op) => op.op === 'dev_ioctl'))) {
    notes.push('ioctl(KVM_CREATE_VM) runs on the machine\'s /dev/kvm when it opens (the VM, and its MMU notifier on the process, stay until the iteration ends); else on the stand-in file (-ENOTTY)');
  }
  if (devices.length) notes.push(`${devices.map((f) => f.name).join(', ')}: simulated driver devices; a regular file stands in, so the driver's locking is not exercised and values are not judged`);

  // --- the operation table: setup (per process), then each thread's program
  interface Row { op: ModelOp; pid: number; thread: number; key?: string }
  const rows: Row[] = [];
  const setupSpan = new Map<number, [number, number]>();
  for (const p of sc.processes) {
    const first = rows.length;
    p.setup.forEach((op, k) => rows.push({ op, pid: p.pid, thread: -1, key: `s${p.pid}:${k}` }));
    setupSpan.set(p.pid, [first, p.setup.length]);
  }
  const threadSpan: [number, number][] = [];
  sc.threads.forEach((t, ti) => {
    const first = rows.length;
    t.program.forEach((op, k) => rows.push({ op, pid: t.pid, thread: ti, key: `${ti}:${k}` }));
    threadSpan.push([first, t.program.length]);
  });
  const indexOf = (ti: number, k: number): number => threadSpan[ti]![0] + k;

  // history edges
  const waitDone: number[][] = rows.map(() => []);
  const waitStart: number[][] = rows.map(() => []);
  const racy = rows.map(() => false);
  sc.threads.forEach((_, a) => entries[a]!.forEach((ea, ka) => {
    if (!ea) return;
    sc.threads.forEach((__, b) => {
      if (a === b) return;
      entries[b]!.forEach((eb, kb) => {
        if (!eb) return;
        const A = indexOf(a, ka);
        const B = indexOf(b, kb);
        if (ea.responseSeq < eb.invokeSeq) waitDone[B]!.push(A);
        else if (eb.responseSeq < ea.invokeSeq) return;
        else {
          racy[A] = racy[B] = true;
          if (ea.invokeSeq < eb.invokeSeq) waitStart[B]!.push(A);
        }
      });
    });
  }));

  const deviceIdx = new Set(devices.map((f) => files.indexOf(f)));
  const fileIndex = (name: string | undefined): number => {
    if (name === undefined) return -1;
    const i = files.findIndex((f) => f.name === name);
    if (i < 0) throw new ReproError(`an operation maps or reads file "${name}", which the scenario does not create`);
    return i;
  };
  const judgeValues = modelComplete && devices.length === 0;
  const aboutProc = /\/proc\//.test(cx.violation.message);
  const checks = ['CHECK_HANG', 'CHECK_TAINT', ...(judgeValues ? ['CHECK_VALUE'] : []), ...(aboutProc && modelComplete ? ['CHECK_PROC'] : [])];
  const primary = primaryChecks(cx.violation.property, aboutProc).filter((c) => checks.includes(c));

  const lines: string[] = [];
  const arr = (name: string, xs: readonly number[]): string => {
    if (xs.length === 0) return 'NULL';
    lines.push(`static const int ${name}[] = { ${xs.join(', ')} };`);
    return name;
  };
  const strs = (name: string, xs: readonly string[]): string => {
    if (xs.length === 0) return 'NULL';
    lines.push(`static const char *const ${name}[] = { ${xs.map(cString).join(', ')} };`);
    return name;
  };
  const mapsSlot: number[] = rows.map(() => -1);
  let nMapsOps = 0;
  let nStall = 0;
  let needsUffd = monitors.size > 0;
  const opInits: string[] = [];
  rows.forEach((r, i) => {
    const op = r.op;
    if (op.op === 'uffd_settle') throw new ReproError('uffd_settle is not an operation a program performs');
    const kind = OP_KIND[op.op];
    if (kind === undefined) throw new ReproError(`operation "${(op as { op: string }).op}" has no C rendering yet`);
    const f: Record<string, string | number> = { kind, pid: r.pid, thread: r.thread, text: cString(describeOp(op)) };
    const entry = r.thread >= 0 && r.key !== undefined ? entries[r.thread]![Number(r.key.split(':')[1])] : undefined;
    switch (op.op) {
      case 'mmap':
        Object.assign(f, {
          addr: hex(op.addr), len: hex(op.len), prot: protBits(op.prot),
          flags: (op.flags.shared ? 1 : 0) | (op.flags.anonymous ? 2 : 0) | (op.flags.fixed ? 4 : 0) | (op.flags.growsdown ? 8 : 0) | (op.flags.noreplace ? 16 : 0),
          file: fileIndex(op.file), offset: hex(op.offset ?? 0),
        });
        break;
      case 'munmap': Object.assign(f, { addr: hex(op.addr), len: hex(op.len) }); break;
      case 'madvise': Object.assign(f, { addr: hex(op.addr), len: hex(op.len), advice: madviseAdvice(op.advice) }); break;
      case 'mprotect': Object.assign(f, { addr: hex(op.addr), len: hex(op.len), prot: protBits(op.prot) }); break;
      case 'mremap':
        Object.assign(f, {
          addr: hex(op.oldAddr), len: hex(op.oldLen), new_len: hex(op.newLen), new_addr: hex(op.newAddr ?? 0),
          mremap_flags: (op.flags.maymove ? 1 : 0) | (op.flags.fixed ? 2 : 0) | (op.flags.dontunmap ? 4 : 0),
        });
        break;
      case 'mbind': {
        const [mode, mask] = policyOf(op.policy);
        Object.assign(f, { addr: hex(op.addr), len: hex(op.len), policy: mode, nodemask: hex(mask) });
        break;
      }
      case 'get_mempolicy': case 'load': Object.assign(f, { addr: hex(op.addr) }); break;
      case 'store': Object.assign(f, { addr: hex(op.addr), value: `${op.value}L` }); break;
      case 'fork': f['model_child'] = forkChild.get(r.key ?? '') ?? 0; break;
      case 'exit':
        if (r.pid === 1) notes.push(`${describeOp(op)}: the reproducer's own process does not exit (left out)`);
        break;
      case 'pread': Object.assign(f, { file: fileIndex(op.file), page: op.page }); break;
      case 'pwrite': Object.assign(f, { file: fileIndex(op.file), page: op.page, value: `${op.value}L` }); break;
      case 'proc_mem_write': Object.assign(f, { target: op.target, addr: hex(op.addr), value: `${op.value}L` }); break;
      case 'read_maps': case 'read_smaps':
        f['target'] = op.target;
        mapsSlot[i] = nMapsOps++;
        break;
      case 'uffd_register': needsUffd = true; Object.assign(f, { addr: hex(op.addr), len: hex(op.len), uffd_mode: op.mode === 'wp' ? 1 : 0 }); break;
      case 'uffd_unregister': needsUffd = true; Object.assign(f, { addr: hex(op.addr), len: hex(op.len) }); break;
      case 'uffdio_copy': needsUffd = true; Object.assign(f, { dst: hex(op.dst), value: `${op.value}L` }); break;
      case 'uffdio_move': needsUffd = true; Object.assign(f, { src: hex(op.src), dst: hex(op.dst) }); break;
      case 'uffd_read_event': needsUffd = true; break;
      case 'dio_read': case 'dio_write': Object.assign(f, { file: fileIndex(op.file), page: op.page, addr: hex(op.addr) }); break;
      case 'dev_ioctl': case 'close': f['file'] = fileIndex(op.file); break;
      case 'khugepaged_collapse': f['addr'] = hex(op.addr); break;
    }
    if ((op.op === 'mmap' || op.op === 'mremap') && entry?.result?.kind === 'addr') f['model_addr'] = hex(entry.result.addr);
    if (entry?.result?.kind === 'errno' && entry.result.errno === ESRCH) f['skip'] = 1;
    if (r.thread >= 0) {
      if (racy[i]) f['racy'] = 1;
      if (racy[i] && STALLABLE.has(op.op)) {
        f['stall'] = 1;
        nStall++;
      }
      const wd = [...new Set(waitDone[i]!)].sort((a, b) => a - b);
      const ws = [...new Set(waitStart[i]!)].sort((a, b) => a - b);
      if (wd.length) Object.assign(f, { nwait_done: wd.length, wait_done: arr(`wait_done_${i}`, wd) });
      if (ws.length) Object.assign(f, { nwait_start: ws.length, wait_start: arr(`wait_start_${i}`, ws) });
      const oc = outcomes?.ops[r.thread]?.[Number(r.key!.split(':')[1])];
      if (oc) {
        if (oc.mayBlockForever) f['may_block'] = 1;
        if (judgeValues && (op.op === 'load' || op.op === 'store')) {
          const allowed = [...oc.results].sort();
          Object.assign(f, { judge: 1, nallowed: allowed.length, allowed: strs(`allowed_${i}`, allowed) });
        }
        if (mapsSlot[i]! >= 0 && oc.maps.size > 0) {
          const m = [...oc.maps].sort();
          Object.assign(f, { nmaps: m.length, maps: strs(`maps_${i}`, m) });
        }
      }
    }
    opInits.push(`\t{ ${Object.entries(f).map(([k, v]) => `.${k} = ${v}`).join(', ')} },`);
  });

  // --- files, processes, threads, kernel setup, final pages, windows
  const fileArrays = files.map((fl, i) => `static const long file_pages_${i}[] = { ${fl.pages.length ? fl.pages.map((v) => `${v}L`).join(', ') : '0L'} };`);
  const fileInits = files.map((fl, i) =>
    `\t{ .name = ${cString(fl.name)}, .npages = ${fl.pages.length}, .pages = file_pages_${i}, .device = ${deviceIdx.has(i) ? 1 : 0} },`);
  const procInits = allPids.map((pid) => {
    const sp = setupSpan.get(pid) ?? [0, 0];
    const m = monitors.get(pid);
    return `\t{ .pid = ${pid}, .initial = ${initialPids.includes(pid) ? 1 : 0}, .setup_first = ${sp[0]}, .setup_n = ${sp[1]}, .monitor = ${m ? 1 : 0}, .monitor_contract = ${m?.contract ? 1 : 0}, .monitor_value = ${m?.value ?? 0}L },`;
  });
  const threadInits = sc.threads.map((t, ti) => `\t{ .name = ${cString(t.name)}, .pid = ${t.pid}, .first = ${threadSpan[ti]![0]}, .n = ${threadSpan[ti]![1]} },`);
  const ksInits = (sc.kernelSetup ?? []).map((a) => {
    switch (a.do) {
      case 'swap_out': return `\t{ .kind = KS_SWAP_OUT, .pid = ${a.pid}, .addr = ${hex(a.addr)}, .file = -1 },`;
      case 'evict': return `\t{ .kind = KS_EVICT, .pid = 1, .file = ${fileIndex(a.file)}, .page = ${a.page} },`;
      case 'cache': return `\t{ .kind = KS_CACHE, .pid = 1, .file = ${fileIndex(a.file)}, .page = ${a.page} },`;
    }
  });
  const finals = outcomes && judgeValues ? [...outcomes.finalPages].slice(0, 1024) : [];
  const finalInits = finals.map(([k, set], i) => {
    const [pid, addr] = k.split(':').map(Number) as [number, number];
    const allowed = [...set].sort();
    return `\t{ .pid = ${pid}, .addr = ${hex(addr)}, .n = ${allowed.length}, .allowed = ${strs(`final_${i}`, allowed)} },`;
  });
  const window = mergeRanges(outcomes?.window ?? fixedRanges(sc));
  const fixedWindow = mergeRanges(fixedRanges(sc));
  // khugepaged: every PMD-aligned 2 MiB range of the window, in every process (MADV_COLLAPSE of a
  // range a process does not map fails with -ENOMEM and changes nothing).
  const collapseInits: string[] = [];
  if ((sc.daemons ?? []).some((d) => d.kind === 'khugepaged')) {
    const ranges = collapseRanges(mergeRanges([...window, ...fixedWindow]));
    for (const pid of allPids) for (const a of ranges) collapseInits.push(`\t{ .pid = ${pid}, .addr = ${hex(a)} },`);
  }

  const CHECK_TEXT: Record<string, string> = {
    CHECK_HANG: 'hangs (an operation blocked where the model says it cannot block forever)',
    CHECK_VALUE: 'loads and final memory against the model',
    CHECK_PROC: '/proc lines of the scenario\'s window against the model',
    CHECK_TAINT: 'kernel taint (W/D/B/L)',
  };
  const checked = primary.length ? primary.map((c) => CHECK_TEXT[c]).join(', ') : 'nothing this kernel lets user space see (see the notes)';
  if (!primary.length) notes.push(`${cx.violation.property} cannot be observed here: the program runs the operations but can only report other anomalies`);

  const history = run.history
    .filter((e) => run.threads.includes(e.task))
    .map((e) => `//   ${(sc.threads[run.threads.indexOf(e.task)]?.name ?? '?').padEnd(10)} ${describeCall(e.op, e.result)}`);
  const banner = [
    `faultline reproducer of ${opts.source ?? 'a counterexample'}: ${cx.config}${cx.mutant ? `, mutant ${cx.mutant}` : ''}${cx.variantFile ? `, variant ${cx.variantFile}` : ''}`,
    `counterexample: ${cx.violation.property}: ${cx.violation.message}`,
    `checks: ${checked}`,
    ...sc.threads.map((t) => `thread ${t.name} (P${t.pid}): ${t.program.map(describeOp).join('; ')}`),
    ...(monitors.size ? [...monitors].map(([pid, m]) => `monitor of P${pid}: UFFDIO_COPY ${m.value}${m.contract ? ', relies on UFFDIO_UNREGISTER\'s wake (contract)' : ', wakes after a failed copy (defensive)'}`) : []),
    ...notes.map((n) => `note: ${n}`),
  ].join('\n') + '\n';

  const template = readFileSync(new URL('./runtime.c', import.meta.url), 'utf8');
  const marker = '/*@TABLES@*/';
  if (!template.includes(marker)) throw new Error('properties/repro/runtime.c has no tables marker');
  const defines = [
    `#define NOPS ${rows.length}`,
    `#define NTHREADS ${sc.threads.length}`,
    `#define NPROCS ${allPids.length}`,
    `#define NPROCS_INITIAL ${initialPids.length}`,
    `#define NFILES ${files.length}`,
    `#define NKSETUP ${ksInits.length}`,
    `#define NCOLLAPSE ${collapseInits.length}`,
    `#define NRECLAIM ${reclaimTargets.length}`,
    `#define NEEDS_SWAP ${needsSwap ? 1 : 0}`,
    `#define SWAP_PAGES ${swapPagesOf(sc)}`,
    `#define RUN_SWAPOFF ${runSwapoff ? 1 : 0}`,
    `#define NFINAL ${finalInits.length}`,
    `#define NWINDOW ${window.length}`,
    `#define NFIXED ${fixedWindow.length}`,
    `#define NMAPSOPS ${nMapsOps}`,
    `#define NSTALL ${nStall}`,
    `#define NEEDS_UFFD ${needsUffd ? 1 : 0}`,
    `#define MODEL_COMPLETE ${modelComplete ? 1 : 0}`,
    `#define CHECKS (${checks.join(' | ')})`,
    `#define PRIMARY (${primary.join(' | ') || '0'})`,
    `#define DEFAULT_ITERATIONS ${opts.iterations ?? 1000}`,
    `#define DEFAULT_TIMEOUT_MS ${opts.timeoutMs ?? 200}`,
    `#define STOP_AT_FIRST ${opts.stopAtFirst ? 1 : 0}`,
    `#define VERDICT_PROPERTY ${cString(verdictName(cx.violation.property))}`,
    `#define CHECKED ${cString(checked)}`,
  ];
  const tables = [
    ...defines,
    '',
    ...lines,
    ...fileArrays,
    `static const struct op ops[] = {\n${opInits.join('\n')}\n};`,
    `static const struct thread threads[] = {\n${threadInits.join('\n') || '\t{ 0 },'}\n};`,
    `static const struct proc procs[] = {\n${procInits.join('\n')}\n};`,
    `static const struct file files[] = {\n${fileInits.join('\n') || '\t{ 0 },'}\n};`,
    `static const struct ksetup ksetup[] = {\n${ksInits.join('\n') || '\t{ 0 },'}\n};`,
    `static const struct collapse collapse[] = {\n${collapseInits.join('\n') || '\t{ 0 },'}\n};`,
    `static const struct rtarget reclaim_targets[] = {\n${reclaimTargets.map((t) => `\t{ .pid = ${t.pid}, .addr = ${hex(t.addr)} },`).join('\n') || '\t{ 0 },'}\n};`,
    `static const struct fpage fpages[] = {\n${finalInits.join('\n') || '\t{ 0 },'}\n};`,
    `static const struct range window[] = {\n${window.map(([a, b]) => `\t{ ${hex(a)}, ${hex(b)} },`).join('\n') || '\t{ 0, 0 },'}\n};`,
    `static const struct range fixed_window[] = {\n${fixedWindow.map(([a, b]) => `\t{ ${hex(a)}, ${hex(b)} },`).join('\n') || '\t{ 0, 0 },'}\n};`,
    `static const int maps_slot[] = { ${mapsSlot.join(', ') || '-1'} };`,
    `static const char banner[] = ${cString(banner)};`,
  ].join('\n');

  const header = [
    '/*',
    ` * faultline reproducer, generated by \`faultline repro${opts.source ? ' ' + opts.source : ''} --c …\` (${cx.createdBy}).`,
    ` * configuration ${cx.config}${cx.mutant ? `, mutant ${cx.mutant}` : ''}${cx.variantFile ? `, variant ${cx.variantFile}` : ''}; schedule ${cx.schedule}`,
    ` * ${cx.violation.property}: ${cx.violation.message}`.replace(/\*\//g, '* /'),
    ' * build: cc -O2 -pthread -o r r.c      run: ./r [ITERATIONS] [TIMEOUT_MS]',
    ' * exit status: 1 reproduced, 0 not reproduced within the bound, 2 could not run',
    ' */',
    '// The counterexample\'s history (simulated kernel):',
    ...history.map((h) => h.replace(/\*\//g, '* /')),
    '',
  ].join('\n');
  const c = header + template.replace(marker, tables);
  return { c, checked, notes, modelComplete };
}

/** Slots of the reproducer's own swap file: the scenario's swap device (8 when it names none). */
function swapPagesOf(sc: ScenarioSpec): number {
  return Math.max(sc.swapSlots ?? 0, 0) || 8;
}

/** The madvise(2) advice number (uapi/asm-generic/mman-common.h). */
function madviseAdvice(a: MadviseOp['advice']): string {
  switch (a) {
    case 'dontneed': return 'MADV_DONTNEED';
    default: throw new ReproError(`madvise advice "${String(a)}" has no C rendering yet`);
  }
}

function protBits(p: { read: boolean; write: boolean; exec: boolean }): number {
  return (p.read ? 1 : 0) | (p.write ? 2 : 0) | (p.exec ? 4 : 0);
}

/**
 * The checks that stand for a property (they decide the verdict): a liveness property is a hang;
 * refinement properties are values (and /proc lines when the counterexample is about them);
 * a kernel-internal property (a KASAN report, a lockdep splat, an assertion …) shows from user
 * space as a warning or oops (taint) or as corrupted memory (values).
 */
export function primaryChecks(property: string, aboutProc: boolean): string[] {
  switch (property) {
    case 'uffd-lost-wakeup': case 'deadlock': case 'livelock': case 'fault-livelock':
      return ['CHECK_HANG'];
    case 'linearizability': case 'final-state': case 'fork-snapshot': case 'rmap-incomplete': case 'pte-outside-vma':
      return aboutProc ? ['CHECK_VALUE', 'CHECK_PROC'] : ['CHECK_VALUE'];
    default:
      return ['CHECK_TAINT', 'CHECK_VALUE'];
  }
}

/** A short gloss of what the program reproduces. */
function verdictName(property: string): string {
  switch (property) {
    case 'uffd-lost-wakeup': return 'uffd-lost-wakeup: a fault asleep on a range that is no longer registered';
    case 'deadlock': return 'deadlock: threads blocked for good';
    case 'livelock': case 'fault-livelock': return `${property}: an operation that never returns`;
    case 'linearizability': case 'final-state': case 'fork-snapshot': return `${property}: a result the model forbids`;
    default: return `${property}: observed from user space (a result the model forbids, a hang, or a kernel warning)`;
  }
}

/** Ranges the scenario maps at fixed addresses (setup and programs): the reproducer owns them. */
function fixedRanges(sc: ScenarioSpec): [number, number][] {
  const out: [number, number][] = [];
  const ops = [...sc.processes.flatMap((p) => p.setup), ...sc.threads.flatMap((t) => t.program)];
  for (const op of ops) {
    if (op.op === 'mmap' && (op.flags.fixed || op.flags.noreplace)) out.push([op.addr, op.addr + pageUp(op.len)]);
    if (op.op === 'mremap' && op.flags.fixed && op.newAddr !== undefined) out.push([op.newAddr, op.newAddr + pageUp(op.newLen)]);
  }
  return out;
}

/** PMD_SIZE on x86-64: the range khugepaged (and MADV_COLLAPSE) collapses at once. */
const PMD_BYTES = 512 * PAGE_SIZE;

/** The PMD-aligned 2 MiB ranges inside the merged ranges (at most 16). */
export function collapseRanges(rs: readonly (readonly [number, number])[]): number[] {
  const out: number[] = [];
  for (const [a, b] of rs) {
    for (let x = Math.ceil(a / PMD_BYTES) * PMD_BYTES; x + PMD_BYTES <= b && out.length < 16; x += PMD_BYTES) out.push(x);
  }
  return out;
}

const pageUp = (n: number): number => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

export function mergeRanges(rs: readonly (readonly [number, number])[]): [number, number][] {
  const sorted = [...rs].filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

export { describeResult };
