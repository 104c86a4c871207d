/**
 * Refinement: the run's history of user-visible operations must be linearizable against model/,
 * starting from the model state the scenario's setup produces; and the final state user space
 * could observe (the maps, every page's value) must equal the model's state after that
 * linearization (catches lost writes and stale data that no load in the history happened to see).
 */
import { Violation } from '../impl/rt/task.js';
import type { ViolationRecord } from '../impl/rt/execution.js';
import type { SimRun } from '../impl/sim/run.js';
import type { Kernel } from '../impl/sim/kernel.js';
import type { mm_struct } from '../impl/include/linux/mm_types.js';
import {
  PAGE_SIZE, PMD_SHIFT, PAGE_SHIFT, PTRS_PER_PTE, VM_ACCESS_FLAGS, VM_SHARED, VM_UFFD_MISSING,
} from '../impl/include/linux/mm_flags.js';
import { sim_misc_dev_kind, sim_misc_dev_pages } from '../impl/drivers/misc_device.js';
import { initialState, withMayFail, type MmState } from '../model/state.js';
import { fingerprint, step } from '../model/spec.js';
import { withAnonMergeRule } from '../model/vma.js';
import { EAGAIN, EFAULT, type DioReadOp, type DioWriteOp, describeCall, describeOp, describeResult, hex, type ModelOp, type ModelResult, type UffdEvent } from '../model/ops.js';
import { checkLinearizability, type HistoryOp } from './linearizability/index.js';
import { intern, internRoot, opKey, transition, type ModelNode } from './linearizability/model_cache.js';

export type HistoryVerdict =
  | { readonly status: 'ok' }
  | { readonly status: 'violation'; readonly violation: ViolationRecord }
  | { readonly status: 'unknown'; readonly reason: string };

/** Search budget for one run's history (nodes); a run that needs more is 'unknown'. */
export const LINEARIZABILITY_BUDGET = 200_000;

function record(v: Violation, step: number): ViolationRecord {
  return { property: v.property, message: v.message, report: v.report, step, task: -1, taskName: '', label: 'end of run' };
}

/** The model state after the scenario's setup, replaying the kernel's own setup results. */
export function modelInitialState(run: Pick<SimRun, 'setupHistory'> & { kernel: Kernel }, scenario: { files?: readonly { name: string; pages: readonly number[] }[]; processes: readonly { pid: number }[]; faultInjection?: boolean }): MmState | string {
  const n = modelInitialNode(run, scenario);
  return typeof n === 'string' ? n : n.state;
}

/**
 * modelInitialState as a canonical node: the empty state is built once per (processes, files), and
 * the setup operations are replayed through the model's transition cache (model_cache.ts).
 */
function modelInitialNode(run: Pick<SimRun, 'setupHistory'>, scenario: { files?: readonly { name: string; pages: readonly number[] }[]; processes: readonly { pid: number }[]; faultInjection?: boolean }): ModelNode | string {
  const pids = scenario.processes.map((p) => p.pid);
  const fileList = (scenario.files ?? []).map((f) => [f.name, f.pages] as const);
  let node = internRoot(JSON.stringify([pids, fileList]), () => {
    const files: Record<string, { pages: readonly number[] }> = {};
    // PFN-map devices are the model's driver files; ->fault devices map like files.
    for (const [name, pages] of fileList) files[name] = { pages, ...(name.startsWith('/dev/') && sim_misc_dev_kind(name) === 'pfnmap' ? { driver: true } : {}) };
    return initialState({ processes: pids.map((pid) => ({ pid })), files });
  });
  for (const { op, result } of run.setupHistory) {
    const next = transition(node, opKey(op, result), op, result);
    if (typeof next === 'string') return `setup ${describeCall(op, result)}: ${next}`;
    if (Array.isArray(next)) {
      // A merging call's two anon_vma merge rules (model/spec.ts check) may leave two layouts:
      // the simulation's generations (6.3–6.15) follow the 6.3 rule, so the setup is resolved by it.
      const sim = withAnonMergeRule('6.3', () => step(node.state, op));
      const f = 'blocked' in sim ? '' : fingerprint(sim.state);
      const pick = next.find((n) => fingerprint(n.state) === f);
      if (!pick) return `setup ${describeCall(op, result)}: more than one state (a failure) in a setup`;
      node = pick;
      continue;
    }
    node = next as ModelNode;
  }
  // Fault injection starts when the setup is done (impl/sim/run.ts): from here the failure
  // contracts of the model's actions apply.
  return scenario.faultInjection ? intern(withMayFail(node.state, true)) : node;
}

export function judgeHistory(run: SimRun): HistoryVerdict {
  const init = modelInitialState(run, run.kernel.scenario);
  const endStep = run.exec.step;
  if (typeof init === 'string') {
    return { status: 'violation', violation: record(new Violation('linearizability', `the scenario's setup is not allowed by the model: ${init}`), endStep) };
  }
  const uffd = uffdPids(init, run.history);
  const drivers = driverPids(init, run.history);
  const registered = uffdRegistered(init, run.history);
  const history: HistoryOp[] = faultBeforeWrite(init, stackGrowthBeforeAccess(init, settleOps(dropRepeatedRemoves(dropUffdBeforeOpen(init, forkRacingStores(dropForkEagain(smapsInFlight(collapseRacing(init, closeRacing(dropRacingFaults(perPage(run.history.map((e) => ({
    id: e.id, task: e.task, op: e.op, result: e.result, invoke: e.invokeSeq, response: e.result === undefined ? Infinity : e.responseSeq,
  })), uffd, drivers), loadEffects(init, run.history, registered))))))))))), registered);
  // Final state: what user space could read now (every page of every VMA of every live process),
  // appended as loads after the run. Some linearization must explain these too, so a lost write
  // or stale page that no load of the history happened to see is still caught. Only judged when
  // every operation completed (a pending one leaves the final state open).
  // (A racing access kept as a pending load by dropRacingFaults completed in the kernel.)
  const complete = run.history.every((e) => e.result !== undefined);
  const finals = complete ? finalObservations(run.kernel, run.kernel.historySeq, history.reduce((m, h) => Math.max(m, h.id), -1) + 1) : [];
  const res = checkLinearizability(init, [...history, ...finals], { maxSteps: LINEARIZABILITY_BUDGET });
  if (res.verdict === 'unknown') return { status: 'unknown', reason: `linearizability: ${res.reason}` };
  if (res.verdict === 'illegal' && res.culprit.task === FINAL_TASK) {
    // The final observations happen after the run, not at a step of it: say so, and show the
    // longest explanation of the history the model found (its own operations, by name).
    const byId = new Map([...history, ...finals].map((h) => [h.id, h] as const));
    const longest = res.longest.map((id) => byId.get(id)).filter((h): h is HistoryOp => h !== undefined && h.task !== FINAL_TASK);
    const op = res.culprit.op;
    const what = op.op === 'load' ? `a load of ${hex(op.addr)} by P${op.pid}` : describeOp(op);
    return {
      status: 'violation',
      violation: record(new Violation('final-state',
        `after the run, ${what} would return ${describeResult(res.culprit.result!)} (read from the kernel's final state), but no linearization of the history leaves that` +
          (res.reasons.length ? `: the model says ${res.reasons.join(' | ')}` : ''),
        [
          'a lost write or stale data: the kernel\'s final memory differs from every state the model allows after this history',
          longest.length === history.length
            ? 'the model linearized the whole history (in this order):'
            : `the model's longest linearization of the history (${longest.length} of ${history.length} operations):`,
          ...longest.map((h) => `  ${describeCall(h.op, h.result)}`),
        ]), endStep),
    };
  }
  if (res.verdict === 'illegal') {
    const lines = res.prefix.map((h) => `  T${h.task} ${describeCall(h.op, h.result)}  [${h.invoke}, ${h.response === Infinity ? '…' : h.response}]`);
    return {
      status: 'violation',
      violation: record(new Violation('linearizability',
        `no linearization explains ${describeCall(res.culprit.op, res.culprit.result)}: ${res.explanation}`,
        ['history (shortest illegal prefix):', ...lines]), endStep),
    };
  }
  return { status: 'ok' };
}

/**
 * What a user-space load at addr would return now, from the kernel's state (no kernel code runs):
 * the page's value, SIGSEGV or SIGBUS, or 'unknown' where the kernel's answer depends on work
 * still to happen (a fault that would wait for the userfaultfd monitor, a read in flight, a PTE
 * state the observation does not decode). It follows the kernel's fault path in its order:
 *
 * - arch/x86/mm/fault.c access_error: a VMA with none of VM_READ|VM_WRITE|VM_EXEC (PROT_NONE)
 *   gives SIGSEGV before any PTE is looked at, present or not;
 * - a present PTE is read through (the MMU does not look at i_size or the page cache);
 * - a swap PTE: the swap cache's folio is the newest copy, else the slot (do_swap_page);
 * - pte_none, mm/memory.c do_pte_missing: an anonymous VMA maps the zero page (0), or waits in
 *   handle_userfault when registered VM_UFFD_MISSING (do_anonymous_page);
 * - pte_none in a VMA whose vm_ops has no ->fault (a VM_PFNMAP device, everything prefaulted by
 *   ->mmap): SIGBUS (do_fault);
 * - pte_none in a file VMA: mm/filemap.c filemap_fault checks i_size first — a page at or beyond
 *   EOF is SIGBUS, whatever the page cache or the disk hold (i_size, not the length of the
 *   backing store: pwrite past EOF extends it); then shmem's missing-mode userfaultfd (mm/shmem.c
 *   shmem_get_folio_gfp: i_size check, then the page cache, then handle_userfault); then the
 *   page cache's uptodate folio, else what the read from disk returns; a driver's ->fault returns
 *   the device's page at vm_pgoff, SIGBUS beyond the device (impl/drivers/misc_device.ts).
 */
export function sim_observe(kernel: Kernel, mm: mm_struct, addr: number): ModelResult | 'unknown' {
  const vma = mm.mm_mt.ma_root.slots.find((v) => v.vm_start <= addr && addr < v.vm_end);
  if (!vma) return 'unknown';
  if ((vma.vm_flags & VM_ACCESS_FLAGS) === 0) return SEGV;
  const pmd = mm.pgd.get(Math.floor(addr / 2 ** PMD_SHIFT));
  const pte = pmd?.table?.entries[Math.floor(addr / 2 ** PAGE_SHIFT) % PTRS_PER_PTE];
  // A huge PMD (a THP of khugepaged) maps addr's page of the folio.
  const huge = pmd?.huge ?? null;
  if (huge !== null && huge.folio.pages !== null) return val(huge.folio.pages[Math.floor(addr / 2 ** PAGE_SHIFT) % PTRS_PER_PTE]!.data);
  if (pte && pte.kind === 'present') return val(pte.folio.data);
  if (pte && pte.kind === 'swap') {
    // The swap cache's folio is the newest copy; else the slot's contents.
    const si = kernel.fn.swp_swap_info(pte.entry);
    if (!si) return 'unknown';
    const cached = si.swap_cache.i_pages.get(pte.entry);
    if (cached) return cached.uptodate ? val(cached.data) : 'unknown';
    const slot = si.slots[pte.entry];
    return slot === undefined ? 'unknown' : val(slot);
  }
  if (pte && pte.kind !== 'none') return 'unknown';
  const missing = (vma.vm_flags & VM_UFFD_MISSING) !== 0 && vma.vm_userfaultfd_ctx !== null;
  if (!vma.vm_file) {
    if (vma.vm_flags & VM_SHARED) return 'unknown';
    return missing ? 'unknown' : val(0);
  }
  if (vma.vm_ops && !vma.vm_ops.fault) return BUS;
  const idx = vma.vm_pgoff + (addr - vma.vm_start) / PAGE_SIZE;
  if (vma.vm_file.f_op !== null) {
    // A device: its ->fault hands out the device's page at the offset (misc_dev_fault).
    const page = sim_misc_dev_pages(vma.vm_file)[idx];
    return page ? val(page.data) : BUS;
  }
  if (idx >= vma.vm_file.f_inode.i_size) return BUS;
  const cached = vma.vm_file.f_mapping.i_pages.get(idx);
  // shmem: a page the object does not have (not cached, not swapped out) waits for the monitor.
  const has = vma.vm_file.f_inode.sim_shmem_present?.has(idx) ?? cached !== undefined;
  if (missing && !has) return 'unknown';
  if (cached && cached.uptodate) return val(cached.data);
  const disk = vma.vm_file.f_inode.disk[idx];
  return disk === undefined ? 'unknown' : val(disk);
}

const SEGV: ModelResult = Object.freeze({ kind: 'signal', sig: 'SIGSEGV' });
const BUS: ModelResult = Object.freeze({ kind: 'signal', sig: 'SIGBUS' });
const val = (value: number): ModelResult => ({ kind: 'value', value });

/**
 * The task of an operation the preparation of a history adds or moves off its thread (a piece of
 * a split call, a settle of a uffd event, a racing access kept pending): one per operation id,
 * which is unique in a history, so no two of them share a task (a task's ops are sequential).
 */
const pseudoTask = (id: number): number => -1000 - id;

/**
 * munmap, mprotect and madvise(MADV_DONTNEED) are not atomic to other threads: the kernel removes
 * the VMAs (new faults fail) before it zaps the PTEs, and other threads keep using present PTEs
 * and TLB entries until the zap and the flush; mprotect rewrites PTEs one by one before its flush.
 * What user space can rely on is that each page changes at some point within the call. So a
 * successful call over several pages is judged as one call per page that some operation of the
 * history accesses by address, and one call per run of the other pages, all with the call's own
 * invocation and response (each piece linearizes on its own, within the call). A failed call
 * stays whole.
 *
 * mprotect and madvise (which may change vm_flags: MADV_DONTFORK, MADV_NOHUGEPAGE, …) stay whole
 * in the processes of `unmerged` (driverPids): their pieces split the VMA in the model, and only
 * mergeable pieces join again (vma_merge) — a VM_PFNMAP driver VMA never merges (VM_SPECIAL), so
 * three pieces of one mprotect left three VMAs where the kernel changed one in place
 * (mprotect_fixup on the whole VMA: no split), and smaps showed the difference. munmap's pieces
 * remove pages and leave no structure behind: they still split.
 */
export function perPage(history: HistoryOp[], whole: ReadonlySet<number>, unmerged: ReadonlySet<number> = new Set()): HistoryOp[] {
  // Only pages some operation accesses one by one can tell the pages of such a call apart (the
  // VMA change itself is atomic: /proc/pid/maps never shows half of it); the other pages of the
  // range stay together in runs, so a 2 MiB call does not become 512 operations.
  const accessed = new Set<string>();
  const note = (pid: number, addr: number): void => {
    accessed.add(`${pid}:${addr - (addr % PAGE_SIZE)}`);
  };
  for (const h of history) {
    const op = h.op;
    if (op.op === 'load' || op.op === 'store' || op.op === 'get_mempolicy') note(op.pid, op.addr);
    else if (op.op === 'proc_mem_write') note(op.target, op.addr);
    else if (op.op === 'uffdio_copy') note(op.pid, op.dst);
    else if (op.op === 'uffdio_move') {
      note(op.pid, op.src);
      note(op.pid, op.dst);
    }
  }
  const out: HistoryOp[] = [];
  let nextId = history.reduce((m, h) => Math.max(m, h.id), -1) + 1;
  for (const h of history) {
    const op = h.op;
    const splittable = (op.op === 'munmap' || ((op.op === 'mprotect' || op.op === 'madvise') && !unmerged.has(op.pid))) && !whole.has(op.pid) &&
      op.len > PAGE_SIZE && op.addr % PAGE_SIZE === 0 && (h.result === undefined || h.result.kind === 'ok');
    if (!splittable) {
      out.push(h);
      continue;
    }
    const pages = Math.ceil(op.len / PAGE_SIZE);
    const pieces: { addr: number; len: number }[] = [];
    let run: { addr: number; len: number } | null = null;
    for (let i = 0; i < pages; i++) {
      const a = op.addr + i * PAGE_SIZE;
      if (accessed.has(`${op.pid}:${a}`)) {
        if (run) pieces.push(run);
        run = null;
        pieces.push({ addr: a, len: PAGE_SIZE });
      } else if (run) {
        run.len += PAGE_SIZE;
      } else {
        run = { addr: a, len: PAGE_SIZE };
      }
    }
    if (run) pieces.push(run);
    pieces.forEach((piece, i) => {
      // Pieces after the first run as pseudo-tasks of their own: they overlap the first in time.
      const id = i === 0 ? h.id : nextId++;
      out.push({ ...h, id, task: i === 0 ? h.task : pseudoTask(id), op: { ...op, addr: piece.addr, len: piece.len } });
    });
  }
  return out;
}

/**
 * Processes that map a driver (VM_PFNMAP: never merges) at the start or by an mmap of the
 * history, and the children such a process forks in the history (dup_mmap copies the VMA).
 * Conservative: the whole process, not only the driver's range. See perPage.
 */
export function driverPids(init: MmState, history: readonly { op: ModelOp; result?: ModelResult }[]): Set<number> {
  const out = new Set<number>();
  for (const [pid, proc] of Object.entries(init.processes)) if (proc.vmas.some((v) => v.driver)) out.add(Number(pid));
  for (const h of history) {
    const op = h.op;
    if (op.op === 'mmap' && op.file !== undefined && init.files[op.file]?.driver) out.add(op.pid);
  }
  // A fork copies the driver VMA into the child (whatever its pid): judged whole there too.
  for (const h of history) {
    if (h.op.op === 'fork' && out.has(h.op.pid) && h.result?.kind === 'pid') out.add(h.result.pid);
  }
  return out;
}

/**
 * Processes with a userfaultfd: their munmap / madvise raise one UFFD_EVENT_UNMAP / REMOVE for
 * the call's range (userfaultfd_unmap_prep, userfaultfd_remove), which a per-page split would
 * turn into one event per page — so their calls are judged whole.
 */
function uffdPids(init: MmState, history: readonly { op: ModelOp }[]): Set<number> {
  const out = new Set(Object.keys(init.uffd).map(Number));
  for (const h of history) if (h.op.op === 'uffd_register') out.add(h.op.pid);
  return out;
}

/**
 * Processes with a range registered with userfaultfd at some point: at the start, or by an
 * UFFDIO_REGISTER that succeeded or had not returned. Only there can a load change what a later
 * UFFDIO_COPY finds (loadEffects); a process whose registrations all failed registered nothing.
 */
function uffdRegistered(init: MmState, history: readonly { op: ModelOp; result?: ModelResult }[]): Set<number> {
  const out = new Set(Object.keys(init.uffd).map(Number));
  for (const h of history) if (h.op.op === 'uffd_register' && (h.result === undefined || h.result.kind === 'ok')) out.add(h.op.pid);
  return out;
}

/** Which syscalls raise a non-cooperative event of this type (fs/userfaultfd.c callers). */
function raises(ev: UffdEvent, op: ModelOp): boolean {
  switch (ev.type) {
    case 'unmap': return op.op === 'munmap' || op.op === 'mremap' || (op.op === 'mmap' && (op.flags.fixed || op.flags.noreplace === true));
    case 'remap': return op.op === 'mremap';
    case 'remove': return op.op === 'madvise';
    case 'fork': return op.op === 'fork';
    case 'pagefault': return false;
  }
}

/**
 * For each non-cooperative event a read(2) returned, a uffd_settle pseudo-operation (model/ops.ts)
 * from that read to the return of the syscall that raised it: the raising task lowers
 * ctx->mmap_changing (and madvise zaps) only after the read woke it, at some point before it
 * returns. The raiser is a call of the reader's process that can raise that event and overlaps the
 * read in time; of several, the one returning last (the most the kernel may do); of none (it never
 * returned), the settle stays pending.
 */
function settleOps(history: HistoryOp[]): HistoryOp[] {
  let nextId = history.reduce((m, h) => Math.max(m, h.id), -1) + 1;
  const out = [...history];
  for (const h of history) {
    if (h.op.op !== 'uffd_read_event' || h.result?.kind !== 'event' || h.result.event.type === 'pagefault') continue;
    const ev = h.result.event;
    let end = -Infinity;
    for (const r of history) {
      if (r.op.pid === h.op.pid && raises(ev, r.op) && r.invoke < h.response && r.response > h.invoke) end = Math.max(end, r.response);
    }
    if (end === -Infinity) end = Infinity;
    const id = nextId++;
    out.push({
      id, task: pseudoTask(id), op: { op: 'uffd_settle', pid: h.op.pid, event: ev },
      result: end === Infinity ? undefined : { kind: 'ok' }, invoke: h.invoke, response: end,
    });
  }
  return out;
}

/**
 * A racing munmap (or an mprotect that takes the access away) removes the VMA before it zaps the
 * PTEs and flushes the TLBs: meanwhile a fault on the page fails with SIGSEGV (no VMA), while an
 * access through a PTE or TLB entry that is still there succeeds with the old contents — the same
 * thread can see both, in either order; mremap takes its old range (and a MREMAP_FIXED target)
 * away the same way. So a load or store that got SIGSEGV while such a call on its page was in
 * flight constrains nothing by its result; but its fault may have installed a page first (see
 * dropRacingFaults), so it stays as a pending operation that may take effect or not. A load that
 * succeeded meanwhile read the page through a stale PTE or TLB entry, even after a read of
 * /proc/pid/maps by the same thread had shown the VMA gone (the VMA goes first, for every page at
 * once; each PTE later): its value says nothing. It is left out where a load changes nothing, and
 * kept pending where it may grow a stack or map a page a userfaultfd copy would find
 * (loadEffects). Either way this can only hide a wrong value, never invent a violation.
 */
/**
 * Processes in which a load can change what later operations see: it may grow a stack (a
 * MAP_GROWSDOWN VMA at the start, or mapped by the history), or map the zero page or a shmem page
 * that a registered range's UFFDIO_COPY would then find — its own, or another process's sharing
 * the shmem object (a fork's child). Their successful loads are kept.
 */
export function loadEffects(init: MmState, history: readonly { op: ModelOp }[], uffd: ReadonlySet<number>): Set<number> {
  const out = new Set(uffd);
  for (const p of Object.values(init.processes)) if (p.vmas.some((v) => v.growsdown)) out.add(p.pid);
  for (const h of history) if (h.op.op === 'mmap' && h.op.flags.growsdown) out.add(h.op.pid);
  // A shmem page a load allocates (shmem_fault) is in the object every mapper shares: another
  // process's registered range then finds it (no missing fault; UFFDIO_COPY -EEXIST). So with
  // userfaultfd in use and shared memory around, every process's loads may have that effect.
  if (shmemWithUffd(init, history, uffd)) {
    for (const p of Object.values(init.processes)) out.add(p.pid);
    for (const h of history) out.add(h.op.pid);
  }
  return out;
}

/** userfaultfd in use (uffd: the registered processes) and shared memory around. */
function shmemWithUffd(init: MmState, history: readonly { op: ModelOp }[], uffd: ReadonlySet<number>): boolean {
  if (uffd.size === 0) return false;
  return Object.values(init.processes).some((p) => p.vmas.some((v) => v.file !== null && init.files[v.file]?.shmem === true))
    || history.some((h) => h.op.op === 'mmap' && h.op.flags.shared && h.op.flags.anonymous);
}

/**
 * A write to a missing page is two steps in the kernel: the fault allocates the page and maps it
 * (mm/memory.c do_shared_fault → shmem_fault → shmem_get_folio_gfp adds a zeroed folio to the
 * shmem object's page cache, then finish_fault maps it), and only then does the retried
 * instruction write (a store; for an O_DIRECT read the device's DMA into the pinned page, for a
 * /proc/pid/mem write access_remote_vm's copy after get_user_pages_remote). Between the two the
 * page is in the shared object, holding 0: another process's registered range no longer misses
 * there (no userfault: its own access goes ahead, and its monitor's UFFDIO_COPY gets -EEXIST), and
 * its write may land before this one's. The model's store is one step; so, with userfaultfd in use
 * and shared memory around, every successful write gets a pending load of its page beside it (its
 * fault, on a task of its own: it may take effect first, or not at all). It only adds orders the
 * kernel has; it cannot invent a violation.
 */
export function faultBeforeWrite(init: MmState, history: HistoryOp[], uffd: ReadonlySet<number>): HistoryOp[] {
  if (!shmemWithUffd(init, history, uffd)) return history;
  let nextId = history.reduce((m, h) => Math.max(m, h.id), -1) + 1;
  const out = [...history];
  for (const h of history) {
    const op = h.op;
    let pid: number;
    if (op.op === 'store' && h.result?.kind === 'ok') pid = op.pid;
    else if (op.op === 'dio_read' && h.result?.kind === 'value' && h.result.value > 0) pid = op.pid;
    else if (op.op === 'proc_mem_write' && h.result?.kind === 'ok') pid = op.target;
    else continue;
    const id = nextId++;
    out.push({ id, task: pseudoTask(id), op: { op: 'load', pid, addr: op.addr }, result: undefined, invoke: h.invoke, response: Infinity });
  }
  return out;
}

export function dropRacingFaults(history: HistoryOp[], keepLoads: ReadonlySet<number> = new Set()): HistoryOp[] {
  const racing = history.filter((h) => h.op.op === 'munmap' || h.op.op === 'mprotect' || h.op.op === 'mremap');
  if (racing.length === 0) return history;
  const overlaps = (a: HistoryOp, b: HistoryOp) => !(a.response < b.invoke || b.response < a.invoke);
  const out: HistoryOp[] = [];
  for (const h of history) {
    const op = h.op;
    if (op.op === 'dio_read' || op.op === 'dio_write') { out.push(dioRacing(h, op, racing, overlaps)); continue; }
    if (op.op !== 'load' && op.op !== 'store') { out.push(h); continue; }
    const segv = h.result?.kind === 'signal' && h.result.sig === 'SIGSEGV';
    // A store that succeeded through a stale PTE (see below): munmap and mremap only, which
    // downgrade mmap_lock before they zap (an mprotect changes the PTEs under mmap_lock held for
    // writing, so nothing sees its VMA change before its PTEs).
    const staleStore = op.op === 'store' && h.result?.kind === 'ok';
    if (!segv && !staleStore && !(op.op === 'load' && h.result?.kind === 'value')) { out.push(h); continue; }
    const pageAddr = op.addr - (op.addr % PAGE_SIZE);
    const races = racing.some((r) => {
      const ro = r.op;
      if (ro.pid !== op.pid || !overlaps(h, r)) return false;
      const inRange = (a: number, len: number) => pageAddr >= a && pageAddr < a + len;
      if (ro.op === 'munmap') return inRange(ro.addr, ro.len);
      if (ro.op === 'mprotect') return !staleStore && inRange(ro.addr, ro.len) && !(op.op === 'load' ? ro.prot.read : ro.prot.write);
      // mremap takes the old range away (move_vma → do_vmi_munmap of the source; a shrink unmaps
      // the tail) and MREMAP_FIXED unmaps the target first.
      if (ro.op === 'mremap') return inRange(ro.oldAddr, ro.oldLen) || (ro.flags.fixed && ro.newAddr !== undefined && inRange(ro.newAddr, ro.newLen));
      return false;
    });
    if (!races) { out.push(h); continue; }
    // The faulting access that ended in SIGSEGV may still have left an effect: its fault
    // installed the zero page (a read) or a zeroed anonymous page (a write) while the VMA was
    // there, and the access, retried after the VMA went, got SIGSEGV — a page that mremap moves
    // along and mprotect leaves in place, which smaps counts, a registered range then shows (a
    // later load reads 0 where it would wait for the monitor) and UFFDIO_COPY finds (-EEXIST).
    // So it is kept pending: it may take effect (before the racing call) or not at all. Likewise
    // a load that read a value through a PTE or TLB entry the racing call had not taken
    // yet, in a process where its fault may have had such an effect (keepLoads): its value says
    // nothing (a stale entry), its effect may be real.
    // A store that succeeded meanwhile wrote through a PTE or TLB entry still there (the VMA
    // already gone for a /proc read or an madvise of the same thread): its data lands in the
    // doomed page — invisible after the munmap for a private page; kept in the page cache or the
    // device page for a shared one. So it is kept as a pending store of its value: it may take
    // effect (before the racing call) or not at all. Not covered: a shared page's data that
    // landed after the VMA went is not shown to later readers of the file (pread, another
    // mapping); a reader that sees it would still be flagged.
    if (staleStore) {
      out.push({ ...h, task: pseudoTask(h.id), result: undefined, response: Infinity });
      continue;
    }
    if (segv || keepLoads.has(op.pid)) {
      // A load maps the zero page; a store's fault allocated a zeroed anonymous page (counted in
      // smaps' Rss, unlike the zero page) and its data never landed (the retry failed): a pending
      // store of 0. (Where the fault was a COW of a page with data this allows a zero the kernel
      // would not leave: it can hide a bug, never invent one.) On a task of its own: the
      // thread's later operations start before this one "returns".
      const pend: ModelOp = op.op === 'store' && segv ? { op: 'store', pid: op.pid, addr: op.addr, value: 0 } : { op: 'load', pid: op.pid, addr: op.addr };
      out.push({ ...h, task: pseudoTask(h.id), op: pend, result: undefined, response: Infinity });
    }
  }
  return out;
}

/**
 * A user access below a VM_GROWSDOWN stack is a fault that grows the stack
 * (arch/x86/mm/fault.c: lock_mm_and_find_vma → expand_stack, 6.5+; find_vma + expand_stack
 * before), then handle_mm_fault, then the instruction retried: the grown VMA is there for every
 * other thread (a maps read, an madvise, an O_DIRECT pin of the page, which does not grow stacks
 * itself) before the access reads or writes — and what another thread put in the page meanwhile is
 * what a load then reads. The model's access is atomic; so each successful access in a process
 * with a stack, at an address outside every VMA it starts with, gets a pending load beside it on a
 * task of its own (the growth, which may take effect first, or not at all: then the access grows
 * the stack itself). It only adds orders the kernel has; it cannot invent a violation.
 */
function stackGrowthBeforeAccess(init: MmState, history: HistoryOp[]): HistoryOp[] {
  const stacks = new Set<number>();
  for (const p of Object.values(init.processes)) if (p.vmas.some((v) => v.growsdown)) stacks.add(p.pid);
  for (const h of history) if (h.op.op === 'mmap' && h.op.flags.growsdown) stacks.add(h.op.pid);
  if (stacks.size === 0) return history;
  let nextId = history.reduce((m, h) => Math.max(m, h.id), -1) + 1;
  const out = [...history];
  for (const h of history) {
    const op = h.op;
    if ((op.op !== 'load' && op.op !== 'store') || !stacks.has(op.pid) || h.result === undefined) continue;
    if (h.result.kind === 'signal' && h.result.sig === 'SIGSEGV') continue;
    if (init.processes[op.pid]?.vmas.some((v) => op.addr >= v.start && op.addr < v.end)) continue;
    const id = nextId++;
    out.push({ id, task: pseudoTask(id), op: { op: 'load', pid: op.pid, addr: op.addr }, result: undefined, invoke: h.invoke, response: Infinity });
  }
  return out;
}

/** The file an operation reaches through the process's descriptor (fdget at its start), if any. */
function fdUse(op: ModelOp): string | undefined {
  switch (op.op) {
    case 'mmap': return op.file;
    case 'pread': case 'pwrite': case 'dio_read': case 'dio_write': case 'dev_ioctl': return op.file;
    default: return undefined;
  }
}

/**
 * close(2) racing a call that uses the same descriptor (threads share the file table): the call
 * looks the descriptor up first (fdget / fdget_pos, taking a reference of the file), then does its
 * work — ksys_mmap_pgoff's fget before vm_mmap_pgoff takes mmap_lock, ksys_pread64's fdget before
 * vfs_read. A close that returns meanwhile does not stop it, so such a call may see the file open
 * and still act at a later point (an mmap placing its VMA where a later munmap made room). The
 * close is judged as taking effect at any point until every such call has returned: on a task of
 * its own, with its response moved to the latest of theirs (more orders, never fewer).
 */
/**
 * khugepaged's shmem collapse (collapse_file) runs without mmap_lock and acts on the object, not
 * on the VMA: a racing munmap, MAP_FIXED mmap or mremap of its range may unlink the VMA from
 * i_mmap before the commit point looks for armed (missing-mode userfaultfd) VMAs, and the
 * collapse then succeeds on an object the address no longer shows. The model names the collapse
 * by the VMA at the address, so such a success is kept as a pending operation on a task of its
 * own (it may take effect before the racing call, or not at all: it can hide, never invent).
 */
function collapseRacing(init: MmState, history: HistoryOp[]): HistoryOp[] {
  const PMD = 512 * PAGE_SIZE;
  // Only a shmem range (a shared mapping of a shmem object at the start): an anonymous collapse
  // revalidates its VMA under mmap_write_lock, and a pending collapse never populates anything.
  const shmemAt = (pid: number, addr: number): boolean => {
    const v = init.processes[pid]?.vmas.find((w) => addr >= w.start && addr < w.end);
    return v !== undefined && v.file !== null && v.shared && init.files[v.file]?.shmem === true;
  };
  return history.map((h) => {
    const c = h.op;
    if (c.op !== 'khugepaged_collapse' || h.result?.kind !== 'ok' || !shmemAt(c.pid, c.addr)) return h;
    const hit = (a: number, len: number): boolean => a < c.addr + PMD && c.addr < a + len;
    const races = history.some((r) => {
      const o = r.op;
      if (r === h || o.pid !== c.pid || !(r.invoke < h.response && r.response > h.invoke)) return false;
      if (o.op === 'munmap') return hit(o.addr, o.len);
      if (o.op === 'mmap') return (o.flags.fixed || o.flags.noreplace === true) && hit(o.addr, o.len);
      if (o.op === 'mremap') return hit(o.oldAddr, o.oldLen) || (o.newAddr !== undefined && hit(o.newAddr, o.newLen));
      return false;
    });
    return races ? { ...h, task: pseudoTask(h.id), result: undefined, response: Infinity } : h;
  });
}

export function closeRacing(history: HistoryOp[]): HistoryOp[] {
  const closes = history.filter((h) => h.op.op === 'close' && h.result?.kind === 'ok');
  if (closes.length === 0) return history;
  return history.map((h) => {
    const c = h.op;
    if (c.op !== 'close' || h.result?.kind !== 'ok') return h;
    let response = h.response;
    for (const u of history) {
      if (u === h || u.op.pid !== c.pid || fdUse(u.op) !== c.file) continue;
      if (u.invoke < h.response && u.response > h.invoke) response = Math.max(response, u.response);
    }
    return response === h.response ? h : { ...h, task: pseudoTask(h.id), response };
  });
}

/**
 * An O_DIRECT read or write racing a munmap or mremap of its user page (dropRacingFaults): GUP-fast
 * (mm/gup.c gup_fast_fallback, no VMA, no mmap_lock) pins the page through a PTE the racing call
 * has not zapped yet, even after the VMA is gone for /proc readers — the device then moves the
 * data in or out of that doomed page (a read's data is lost with it, a write takes the old
 * contents to the file). If it got -EFAULT instead (the slow path found no VMA), its fault may
 * have installed the page first, as a racing access's (a read fault for a write's buffer, a
 * write fault for a read's). Either way it stays as a pending operation, on a task of its own:
 * it may take effect before the racing call, or not at all (a success's data: this can hide a
 * lost write, never invent a violation). An mprotect changes the PTEs under mmap_lock held for
 * writing, so for it a -EFAULT races as above; a success racing an mprotect that took the
 * permission away keeps its place but is judged `pinned` (no protection check): the pin came
 * before the mprotect and the device moved the data after it (pinned pages ignore the PTEs).
 */
function dioRacing(h: HistoryOp, op: DioReadOp | DioWriteOp, racing: readonly HistoryOp[], overlaps: (a: HistoryOp, b: HistoryOp) => boolean): HistoryOp {
  const efault = h.result?.kind === 'errno' && h.result.errno === EFAULT;
  const ok = h.result?.kind === 'value';
  if (!efault && !ok) return h;
  const pageAddr = op.addr - (op.addr % PAGE_SIZE);
  const inRange = (a: number, len: number) => pageAddr >= a && pageAddr < a + len;
  const races = racing.some((r) => {
    const ro = r.op;
    if (ro.pid !== op.pid || !overlaps(h, r)) return false;
    if (ro.op === 'munmap') return inRange(ro.addr, ro.len);
    if (ro.op === 'mprotect') return efault && inRange(ro.addr, ro.len);
    if (ro.op === 'mremap') return inRange(ro.oldAddr, ro.oldLen) || (ro.flags.fixed && ro.newAddr !== undefined && inRange(ro.newAddr, ro.newLen));
    return false;
  });
  if (!races) {
    const reprotected = ok && racing.some((r) => r.op.op === 'mprotect' && r.op.pid === op.pid && overlaps(h, r) && inRange(r.op.addr, r.op.len));
    return reprotected ? { ...h, op: { ...op, pinned: true } } : h;
  }
  const pend: ModelOp = ok ? op : op.op === 'dio_write' ? { op: 'load', pid: op.pid, addr: op.addr } : { op: 'store', pid: op.pid, addr: op.addr, value: 0 };
  return { ...h, task: pseudoTask(h.id), op: pend, result: undefined, response: Infinity };
}

/**
 * A write fault installs its page (a zeroed or copied anonymous page) before the write itself
 * lands: a store, a /proc/pid/mem write or an O_DIRECT read (its pinning fault, FOLL_WRITE, then
 * the device's DMA at I/O completion: fs/iomap/direct-io.c) still in flight may already count in
 * a concurrent smaps read's Rss while its page holds the old value — resident, not yet written,
 * which the model's atomic store cannot show (its Rss bound counts only written anonymous pages).
 * Such a read is judged with one page less in the Rss of the VMA holding each write in flight
 * meanwhile (not below 0): the bound can only loosen, and a wrong Rss of other pages is still
 * caught.
 */
export function smapsInFlight(history: HistoryOp[]): HistoryOp[] {
  const writes = history.filter((h) => h.op.op === 'store' || h.op.op === 'proc_mem_write' || h.op.op === 'dio_read');
  if (writes.length === 0) return history;
  return history.map((h) => {
    if (h.op.op !== 'read_smaps' || h.result?.kind !== 'smaps') return h;
    const target = h.op.target;
    const pages = new Set<number>();
    for (const w of writes) {
      const o = w.op;
      const pid = o.op === 'proc_mem_write' ? o.target : o.pid;
      if (pid !== target || (o.op !== 'store' && o.op !== 'proc_mem_write' && o.op !== 'dio_read')) continue;
      if (w.invoke < h.response && w.response > h.invoke) pages.add(o.addr - (o.addr % PAGE_SIZE));
    }
    if (pages.size === 0) return h;
    const entries = h.result.entries.map((e) => {
      let n = 0;
      for (const p of pages) if (p >= e.start && p < e.end) n++;
      return n === 0 ? e : { ...e, rss: Math.max(0, e.rss - n * PAGE_SIZE) };
    });
    return { ...h, result: { kind: 'smaps', entries } };
  });
}

/**
 * A fork that fails (-ENOMEM under fault injection) raised its process's ctx->mmap_changing in
 * dup_userfaultfd and dropped it again in dup_userfaultfd_fail with no event (kernel/fork.c
 * dup_mmap; model/actions/fork.ts): a UFFDIO_COPY / UFFDIO_MOVE of that process meanwhile may get
 * -EAGAIN, which changes nothing and which no atomic fork can explain. Such an -EAGAIN overlapping
 * a failed fork constrains nothing: it is left out of the search.
 */
function dropForkEagain(history: HistoryOp[]): HistoryOp[] {
  const failed = history.filter((h) => h.op.op === 'fork' && h.result?.kind === 'errno');
  if (failed.length === 0) return history;
  return history.filter((h) => {
    if ((h.op.op !== 'uffdio_copy' && h.op.op !== 'uffdio_move') || h.result?.kind !== 'errno' || h.result.errno !== EAGAIN) return true;
    return !failed.some((f) => f.op.pid === h.op.pid && !(f.response < h.invoke || h.response < f.invoke));
  });
}

/**
 * fork is not one step for a store of another thread of the parent: kernel/fork.c dup_mmap
 * (6.3–6.15) walks the parent's VMAs in address order, and for each one calls dup_userfaultfd
 * (which raises ctx->mmap_changing: a UFFDIO_COPY then gets -EAGAIN) and then copy_page_range,
 * which write-protects the parent's private PTEs; the TLB is flushed only once, after the walk
 * (flush_tlb_mm). A store through a PTE or TLB entry still writable lands in the page the child
 * then shares, even after an earlier VMA's userfaultfd event was already visible. So a successful
 * store of the parent overlapping a successful fork also gets a pending store of its value to the
 * child (its own pseudo task): the child's copy may have it or not. (A pending op can take effect
 * at any later point, also after the child's own later writes to that page: that can hide a
 * wrong value, never invent one.)
 */
export function forkRacingStores(history: HistoryOp[]): HistoryOp[] {
  const forks = history.filter((h) => h.op.op === 'fork' && h.result?.kind === 'pid');
  if (forks.length === 0) return history;
  let nextId = history.reduce((m, h) => Math.max(m, h.id), -1) + 1;
  const out = [...history];
  for (const h of history) {
    const op = h.op;
    if (op.op !== 'store' || h.result?.kind !== 'ok') continue;
    for (const f of forks) {
      if (f.op.pid !== op.pid || f.response < h.invoke || h.response < f.invoke || f.result?.kind !== 'pid') continue;
      const id = nextId++;
      out.push({ id, task: pseudoTask(id), op: { op: 'store', pid: f.result.pid, addr: op.addr, value: op.value }, result: undefined, invoke: Math.max(h.invoke, f.invoke), response: Infinity });
    }
  }
  return out;
}

/**
 * madvise(MADV_DONTNEED) raises UFFD_EVENT_REMOVE for a registered VMA, drops mmap_lock and waits
 * for the monitor's read, then looks the VMA up again (mm/madvise.c madvise_dontneed_free after
 * userfaultfd_remove): if a racing mprotect/mbind/munmap has split it meanwhile, the walk meets
 * the rest of the range as a VMA of its own and raises a second REMOVE for it — a part of the range
 * already announced. The model's madvise raises its events at once, from the VMAs it sees then;
 * such a repeat adds nothing (the first event's zap covers it, and mmap_changing stays raised
 * while the madvise runs): a read of a REMOVE event contained in one its process read earlier,
 * while an madvise of that process overlapping both reads was in flight, is left out.
 */
function dropRepeatedRemoves(history: HistoryOp[]): HistoryOp[] {
  const reads = history.filter((h) => h.op.op === 'uffd_read_event' && h.result?.kind === 'event' && h.result.event.type === 'remove');
  if (reads.length < 2) return history;
  const madvises = history.filter((h) => h.op.op === 'madvise');
  const overlaps = (a: HistoryOp, b: HistoryOp) => !(a.response < b.invoke || b.response < a.invoke);
  const range = (h: HistoryOp) => (h.result as { event: { start: number; end: number } }).event;
  // Every madvise in flight may raise its own REMOVE for the range (two threads' madvises of one
  // range each raise one, and each keeps mmap_changing raised until its event is read): a read is
  // a repeat only when the reads kept before it that contain its range already account for every
  // madvise that could have raised it.
  const kept: HistoryOp[] = [];
  const repeated = new Set<HistoryOp>();
  for (const h of [...reads].sort((a, b) => a.invoke - b.invoke)) {
    const r = range(h);
    const raisers = madvises.filter((m) => {
      const mo = m.op as { pid: number; addr: number; len: number };
      return mo.pid === h.op.pid && overlaps(m, h) && mo.addr < r.end && r.start < mo.addr + mo.len;
    });
    const earlier = kept.filter((e) => e.op.pid === h.op.pid && e.response < h.invoke &&
      range(e).start <= r.start && r.end <= range(e).end && raisers.some((m) => overlaps(m, e)));
    if (earlier.length > 0 && earlier.length >= raisers.length) repeated.add(h);
    else kept.push(h);
  }
  return repeated.size === 0 ? history : history.filter((h) => !repeated.has(h));
}

/**
 * A process's userfaultfd is opened by its first UFFDIO_REGISTER (model/actions/uffd_register.ts:
 * the open and the ioctl as one operation; the kernel's sim_sys_uffd_register opens it first). A
 * userfaultfd ioctl of another thread of the process that overlaps that first registration may
 * find the context open and the range not registered yet — a state between the two halves the
 * model does not have. Such a call that failed changed nothing (and using an fd another thread
 * is still creating is the program's race, not the kernel's): it is left out of the search; an
 * unregister that succeeded there is kept pending (see below).
 */
function dropUffdBeforeOpen(init: MmState, history: HistoryOp[]): HistoryOp[] {
  const first = new Map<number, HistoryOp>();
  for (const h of history) {
    if (h.op.op !== 'uffd_register' || init.uffd[h.op.pid]) continue;
    const f = first.get(h.op.pid);
    if (!f || h.invoke < f.invoke) first.set(h.op.pid, h);
  }
  if (first.size === 0) return history;
  const ioctl = new Set(['uffdio_copy', 'uffdio_move', 'uffd_unregister', 'uffd_read_event']);
  const overlapsFirst = (h: HistoryOp, f: HistoryOp): boolean => !(f.response < h.invoke || h.response < f.invoke);
  return history.flatMap((h) => {
    const f = first.get(h.op.pid);
    if (!f || !ioctl.has(h.op.op) || !overlapsFirst(h, f)) return [h];
    if (h.result?.kind === 'errno') return [];
    // An UFFDIO_UNREGISTER that succeeded there may have found the range not registered yet (a
    // no-op the model has no state for: without the open context it says -EBADF) or registered
    // (it split the VMA): kept as a pending operation, which may take effect after the
    // registration or not at all.
    if (h.op.op === 'uffd_unregister') return [{ ...h, task: pseudoTask(h.id), result: undefined, response: Infinity }];
    return [h];
  });
}

/**
 * Final observations cover every page of a VMA of up to FINAL_ALL_PAGES pages; of a bigger one
 * (a 2 MiB region: 512 loads per VMA made the search of every end state crawl), the first and
 * last FINAL_EDGE_PAGES pages and every page with an entry (PTE or swap entry). What is left out
 * is the middle of a big VMA where the kernel maps nothing: a write lost there (the model holding
 * a value the kernel zapped) goes unseen unless an operation of the history loads it.
 */
const FINAL_ALL_PAGES = 64;
const FINAL_EDGE_PAGES = 8;

function sim_has_entry(mm: mm_struct, addr: number): boolean {
  const pte = mm.pgd.get(Math.floor(addr / 2 ** PMD_SHIFT))?.table?.entries[Math.floor(addr / 2 ** PAGE_SHIFT) % PTRS_PER_PTE];
  return pte !== undefined && pte.kind !== 'none';
}

/** The pseudo-task of the final observations. */
export const FINAL_TASK = -2;

export function finalObservations(kernel: Kernel, afterSeq: number, firstId: number): HistoryOp[] {
  const out: HistoryOp[] = [];
  for (const p of kernel.procs.values()) {
    const mm = p.mm;
    if (!mm || mm.dead || p.exited) continue;
    for (const vma of mm.mm_mt.ma_root.slots) {
      const big = vma.vm_end - vma.vm_start > FINAL_ALL_PAGES * PAGE_SIZE;
      for (let a = vma.vm_start; a < vma.vm_end; a += PAGE_SIZE) {
        if (big && a >= vma.vm_start + FINAL_EDGE_PAGES * PAGE_SIZE && a < vma.vm_end - FINAL_EDGE_PAGES * PAGE_SIZE && !sim_has_entry(mm, a)) continue;
        const got = sim_observe(kernel, mm, a);
        if (got === 'unknown') continue;
        const t = afterSeq + 2 * out.length;
        out.push({ id: firstId + out.length, task: FINAL_TASK, op: { op: 'load', pid: p.pid, addr: a }, result: got, invoke: t, response: t + 1 });
      }
    }
  }
  return out;
}
