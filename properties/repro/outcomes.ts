/**
 * What the model allows a reproducer to observe: every interleaving of the user threads'
 * programs (and of the userfaultfd monitor's copies) run through model/ from the scenario's
 * initial state. A C reproducer (c.ts) judges a real kernel against these sets:
 *
 * - per operation, the results the model allows (a load's value or signal, …), and whether the
 *   operation may stay blocked forever (a fault on a still-registered page nobody fills);
 * - per page, the values a load may read once every operation has completed (final memory);
 * - per /proc read, the lines of the scenario's address window the model allows.
 *
 * The search is a DFS over (model state, program counters) with visited states memoised; results
 * are recorded on transitions, so a revisited state adds nothing. The sets are unions over all
 * interleavings, per operation and per page: a real result outside them is one no linearization
 * allows (sound for "the model forbids it"), though a violation that needs two results at once
 * may pass unnoticed. Past `budget` visited states the search stops and says so (no value is
 * judged then).
 *
 * munmap is not one step for the other threads of its process (mm/mmap.c v6.6
 * do_vmi_align_munmap; v6.15 mm/vma.c vms_complete_munmap_vmas): it takes the VMAs out of the
 * tree under mmap_lock held for writing, then mmap_write_downgrade()s and only then zaps the PTEs
 * and flushes the TLBs (unmap_region / vms_clear_ptes) before it returns. In between, a call that
 * looks the VMA up under mmap_lock for reading (madvise, /proc/pid/maps, a page fault) finds it
 * gone, while a load or store through a PTE or TLB entry still there reaches the old page. So a
 * successful munmap is two moves here: the detach (the model's munmap) and the return; while it is
 * in flight, a load of the same process on a page of its range may also read what the page held
 * before (the ghost: the state before the munmap) if a PTE can still be there (a file or shared
 * page, or a private anonymous page the model has; never one nobody faulted in), and a store may
 * land there (a writable private page with data, or a writable shared one, whose page cache page
 * keeps the store). Calls that take mmap_lock for writing wait for the return (they are not
 * enabled meanwhile), so the detach-then-return order only adds interleavings: every atomic one
 * is still there.
 *
 * Kernel-internal daemons (reclaim, khugepaged, swapoff) are stutter steps of the model. The
 * userfaultfd monitor of a process is a move available whenever a thread's access waits for a
 * page of that process: read every pending event, then UFFDIO_COPY its value to the page; and,
 * whenever a non-cooperative event is queued, a move that reads it and lets its raising syscall
 * finish (uffd_settle).
 */
import { fingerprint, step } from '../../model/spec.js';
import { PAGE_SIZE, describeResult, mapsLineString, type MapsLine, type ModelOp, type ModelResult } from '../../model/ops.js';
import { ZERO_PAGE, findVma, pageOf, type MmState } from '../../model/state.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';

export interface OpOutcomes {
  /** describeResult strings of the results the model allows. */
  readonly results: ReadonlySet<string>;
  /** In some interleaving the op is still waiting when nothing else can move. */
  readonly mayBlockForever: boolean;
  /** /proc maps/smaps reads: the allowed window line lists (canonical strings). */
  readonly maps: ReadonlySet<string>;
}

export interface Outcomes {
  /** Indexed [thread][op]. */
  readonly ops: readonly (readonly OpOutcomes[])[];
  /** Final loads: key `pid:pageAddress` → allowed results; a page some outcome leaves waiting is absent. */
  readonly finalPages: ReadonlyMap<string, ReadonlySet<string>>;
  /** Pages that some complete outcome leaves waiting for userfaultfd (not read at the end). */
  readonly finalSkipped: ReadonlySet<string>;
  /** The address ranges any VMA of the model covered (for filtering /proc lines): [start, end). */
  readonly window: readonly (readonly [number, number])[];
  /** Visited states; `complete` false when the budget ran out (then nothing is judged). */
  readonly states: number;
  readonly complete: boolean;
  /** Complete outcomes (leaves where every thread finished). */
  readonly leaves: number;
}

/** Canonical text of a maps/smaps result restricted to the window (Rss left out). */
export function windowLines(lines: readonly MapsLine[], window: readonly (readonly [number, number])[]): string {
  return lines
    .filter((l) => window.some(([a, b]) => l.start < b && a < l.end))
    .map((l) => mapsLineString({ start: l.start, end: l.end, perms: l.perms, offset: l.offset, name: l.name.split('/').pop() ?? '' }))
    .join('\n');
}

interface Mutable {
  results: Set<string>;
  mayBlockForever: boolean;
  maps: Set<string>;
}

/** Every (pid, page address) any VMA of the state covers. */
function pagesOf(s: MmState, into: Map<number, Set<number>>, window: Map<string, [number, number]>): void {
  for (const [pid, p] of Object.entries(s.processes)) {
    for (const v of p.vmas) {
      window.set(`${v.start}-${v.end}`, [v.start, v.end]);
      let set = into.get(Number(pid));
      if (!set) into.set(Number(pid), (set = new Set()));
      for (let a = v.start; a < v.end && set.size < 4096; a += PAGE_SIZE) set.add(a);
    }
  }
}

/**
 * Calls that run under mmap_lock held for reading (or none): enabled while a munmap of their
 * process is between its detach and its return (it holds mmap_lock for reading then). Every other
 * call takes it for writing (mmap, munmap, mremap, mprotect, mbind, fork, exit, UFFDIO_REGISTER /
 * UNREGISTER, khugepaged's collapse, …) and waits for the munmap to return.
 */
const READ_SIDE = new Set<ModelOp['op']>([
  'load', 'store', 'read_maps', 'read_smaps', 'madvise', 'get_mempolicy', 'pread', 'pwrite', 'proc_mem_write',
  'uffdio_copy', 'uffd_read_event', 'dio_read', 'dio_write',
]);

/** The munmap in flight of thread t: its op and the state before it (the ghost). */
interface Flight {
  readonly pid: number;
  readonly start: number;
  readonly end: number;
  readonly ghost: MmState;
}

/**
 * A load or store of `op` that goes through a PTE the munmap in flight has not zapped yet: its
 * result and the ghost after it, or null where no PTE can be there (no VMA, a private anonymous
 * page never faulted in, a store to the zero page or to a read-only mapping: those fault, find no
 * VMA and get SIGSEGV, which the post-detach state already gives).
 */
function staleAccess(f: Flight, op: ModelOp, s: MmState): { result: ModelResult; ghost: MmState; state: MmState } | null {
  if ((op.op !== 'load' && op.op !== 'store') || op.pid !== f.pid || op.addr < f.start || op.addr >= f.end) return null;
  const v = findVma(f.ghost.processes[op.pid]?.vmas ?? [], op.addr);
  if (!v) return null;
  const priv = v.pages[pageOf(op.addr)];
  if (v.file === null && !v.shared && priv === undefined) return null;
  if (op.op === 'store' && (!v.prot.write || (!v.shared && priv === ZERO_PAGE) || (!v.shared && priv === undefined))) return null;
  // A file or shmem page is the page cache's page as it is now (a pwrite since the detach shows);
  // a store to a shared one lands there and stays after the munmap.
  const o = step({ ...f.ghost, files: s.files }, op);
  if ('blocked' in o || (op.op === 'load' ? o.result.kind !== 'value' : o.result.kind !== 'ok')) return null;
  return { result: o.result, ghost: { ...o.state, files: f.ghost.files }, state: o.state.files === s.files ? s : { ...s, files: o.state.files } };
}

function flightKey(flight: readonly (Flight | null)[]): string {
  return flight.some((f) => f) ? '|' + flight.map((f) => (f ? fingerprint(f.ghost) : '-')).join('|') : '';
}

export function enumerateOutcomes(scenario: ScenarioSpec, init: MmState, budget = 200_000): Outcomes {
  const programs = scenario.threads.map((t) => t.program);
  const ops: Mutable[][] = programs.map((p) => p.map(() => ({ results: new Set<string>(), mayBlockForever: false, maps: new Set<string>() })));
  const monitors = new Map<number, number>();
  for (const d of scenario.daemons ?? []) if (d.kind === 'uffd_handler') monitors.set(d.pid, d.value);

  // The window: every VMA range of the initial state and of every state reached (filled below).
  const pages = new Map<number, Set<number>>();
  const windowSet = new Map<string, [number, number]>();
  pagesOf(init, pages, windowSet);
  for (const p of programs) {
    for (const op of p) {
      if ((op.op === 'mmap' || op.op === 'munmap' || op.op === 'mprotect' || op.op === 'madvise' || op.op === 'mbind' || op.op === 'uffd_register' || op.op === 'uffd_unregister') && op.len > 0) {
        windowSet.set(`${op.addr}-${op.addr + op.len}`, [op.addr, op.addr + op.len]);
      }
      if (op.op === 'mremap') {
        windowSet.set(`${op.oldAddr}-${op.oldAddr + op.oldLen}`, [op.oldAddr, op.oldAddr + op.oldLen]);
        if (op.newAddr !== undefined) windowSet.set(`${op.newAddr}-${op.newAddr + op.newLen}`, [op.newAddr, op.newAddr + op.newLen]);
      }
    }
  }

  const finals: MmState[] = [];
  const visited = new Set<string>();
  let states = 0;
  let complete = true;
  const stack: { s: MmState; pc: number[]; flight: (Flight | null)[] }[] = [{ s: init, pc: programs.map(() => 0), flight: programs.map(() => null) }];
  // Window lines are judged against the full window, which grows as states are found: collect
  // maps results raw and canonicalise at the end.
  const rawMaps: { t: number; i: number; lines: readonly MapsLine[] }[] = [];

  while (stack.length > 0) {
    const { s, pc, flight } = stack.pop()!;
    const key = fingerprint(s) + '|' + pc.join(',') + flightKey(flight);
    if (visited.has(key)) continue;
    visited.add(key);
    if (++states > budget) {
      complete = false;
      break;
    }
    pagesOf(s, pages, windowSet);
    let moved = false;
    const waiting: { t: number; op: ModelOp }[] = [];
    for (let t = 0; t < programs.length; t++) {
      const i = pc[t]!;
      if (i >= programs[t]!.length) continue;
      const op = programs[t]![i]!;
      const next = pc.slice();
      next[t] = i + 1;
      // A munmap between its detach and its return: it returns (mmap_read_unlock).
      if (flight[t]) {
        moved = true;
        const fl = flight.slice();
        fl[t] = null;
        stack.push({ s, pc: next, flight: fl });
        continue;
      }
      // Calls that need mmap_lock for writing wait for a munmap in flight in their process.
      if (!READ_SIDE.has(op.op) && flight.some((f) => f && f.pid === op.pid)) continue;
      // An access through a PTE a munmap in flight has not zapped yet.
      for (let u = 0; u < flight.length; u++) {
        const st = flight[u] ? staleAccess(flight[u]!, op, s) : null;
        if (!st) continue;
        moved = true;
        record(ops[t]![i]!, st.result, () => {});
        const fl = flight.slice();
        fl[u] = { ...flight[u]!, ghost: st.ghost };
        stack.push({ s: st.state, pc: next, flight: fl });
      }
      const o = step(s, op);
      if ('blocked' in o) {
        waiting.push({ t, op });
        continue;
      }
      moved = true;
      record(ops[t]![i]!, o.result, (lines) => rawMaps.push({ t, i, lines }));
      stack.push({ s: o.state, pc: next, flight });
      // A munmap that took something away may stay in flight (detached, not yet zapped).
      if (op.op === 'munmap' && o.result.kind === 'ok' && (s.processes[op.pid]?.vmas ?? []).some((v) => v.start < op.addr + op.len && op.addr < v.end)) {
        const fl = flight.slice();
        fl[t] = { pid: op.pid, start: op.addr, end: op.addr + op.len, ghost: s };
        stack.push({ s: o.state, pc, flight: fl });
      }
    }
    // The monitor fills the page a waiting access faulted on (after reading the pending events).
    for (const w of waiting) {
      const pid = w.op.pid;
      const value = monitors.get(pid);
      if (value === undefined || (w.op.op !== 'load' && w.op.op !== 'store')) continue;
      let m = s;
      for (let n = 0; n < 64; n++) {
        const r = step(m, { op: 'uffd_read_event', pid });
        if ('blocked' in r || r.result.kind !== 'event') break;
        m = r.state;
        const ev = r.result.event;
        if (ev.type !== 'pagefault') {
          const settled = step(m, { op: 'uffd_settle', pid, event: ev });
          if (!('blocked' in settled)) m = settled.state;
        }
      }
      const dst = w.op.addr - (w.op.addr % PAGE_SIZE);
      const c = step(m, { op: 'uffdio_copy', pid, dst, value });
      if ('blocked' in c) continue;
      if (fingerprint(c.state) === fingerprint(s)) continue;
      moved = true;
      stack.push({ s: c.state, pc, flight });
    }
    // The monitor reads a pending non-cooperative event whenever one is queued (the C monitor
    // polls all the time), and the raising syscall then finishes (uffd_settle: an madvise's
    // deferred zap). Without this move an madvise(MADV_DONTNEED) over a registered range would
    // never zap unless some access happened to wait.
    for (const pid of monitors.keys()) {
      const r = step(s, { op: 'uffd_read_event', pid });
      if ('blocked' in r || r.result.kind !== 'event' || r.result.event.type === 'pagefault') continue;
      const settled = step(r.state, { op: 'uffd_settle', pid, event: r.result.event });
      moved = true;
      stack.push({ s: 'blocked' in settled ? r.state : settled.state, pc, flight });
    }
    const done = pc.every((i, t) => i >= programs[t]!.length);
    if (done) finals.push(s);
    else if (!moved) for (const w of waiting) ops[w.t]![pc[w.t]!]!.mayBlockForever = true;
  }

  const window = [...windowSet.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (const m of rawMaps) ops[m.t]![m.i]!.maps.add(windowLines(m.lines, window));

  // Final memory: a load of every page of every VMA any state had, in each complete outcome.
  const finalPages = new Map<string, Set<string>>();
  const finalSkipped = new Set<string>();
  for (const s of finals) {
    for (const [pid, set] of pages) {
      if (!s.processes[pid]) continue;
      for (const addr of set) {
        const k = `${pid}:${addr}`;
        const o = step(s, { op: 'load', pid, addr });
        if ('blocked' in o) {
          finalSkipped.add(k);
          continue;
        }
        let r = finalPages.get(k);
        if (!r) finalPages.set(k, (r = new Set()));
        r.add(describeResult(o.result));
      }
    }
  }
  for (const k of finalSkipped) finalPages.delete(k);
  return { ops, finalPages, finalSkipped, window, states, complete, leaves: finals.length };
}

function record(o: Mutable, r: ModelResult, maps: (lines: readonly MapsLine[]) => void): void {
  o.results.add(describeResult(r));
  if (r.kind === 'maps') maps(r.lines);
  if (r.kind === 'smaps') maps(r.entries);
}
