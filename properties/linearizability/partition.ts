/**
 * Splitting a history into independent sub-histories, checked separately.
 *
 * Soundness. Linearizability is local (Herlihy & Wing 1990, Theorem 1): a history over several
 * objects is linearizable iff each object's sub-history is. The model state is a product of
 * per-process components — processes[pid] (its VMAs and private pages) and uffd[pid] — and shared
 * ones: files (page cache and shmem objects), the pid space, and counters that only mint fresh
 * identities (anon_vma ids, shmem names; behaviour is invariant under renaming them). So a group
 * of processes is an independent object when no op outside the group reads or writes its
 * component. We join (union-find) the processes:
 *  - an op names (opPids: /proc/<target>/… ops touch the target too);
 *  - that fork (pid allocation is shared: a child pid must be free in the whole system, and the
 *    child inherits the parent's memory) or exit (frees a pid) — all of them into one group;
 *  - that may touch a file: a file-backed VMA in the initial state, mmap of a file, pread/pwrite
 *    and O_DIRECT read/write (file pages are shared by every mapper) — all of them into one group. Shared anonymous
 *    memory (shmem) is reachable only from its creator and forked children, already joined.
 * Each group is checked from the full initial state; ops of other groups are simply absent.
 */
import { opPids } from '../../model/ops.js';
import type { MmState } from '../../model/state.js';
import type { HistoryOp } from './history.js';

class UnionFind {
  private readonly parent = new Map<number, number>();
  find(x: number): number {
    if (!this.parent.has(x)) this.parent.set(x, x);
    let root = x;
    while (this.parent.get(root) !== root) root = this.parent.get(root)!;
    while (x !== root) {
      const next: number = this.parent.get(x)!;
      this.parent.set(x, root);
      x = next;
    }
    return root;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra, rb);
  }
}

export interface Partition {
  /** The processes of this group. */
  readonly pids: readonly number[];
  readonly ops: readonly HistoryOp[];
}

export function partitionHistory(initial: MmState, history: readonly HistoryOp[]): Partition[] {
  const uf = new UnionFind();
  let pidGroup: number | null = null;
  let fileGroup: number | null = null;
  const joinPid = (p: number): void => {
    if (pidGroup === null) pidGroup = p;
    else uf.union(pidGroup, p);
  };
  const joinFile = (p: number): void => {
    if (fileGroup === null) fileGroup = p;
    else uf.union(fileGroup, p);
  };
  for (const p of Object.values(initial.processes)) {
    uf.find(p.pid);
    if (p.vmas.some((v) => v.file !== null)) joinFile(p.pid);
  }
  for (const h of history) {
    const pids = opPids(h.op);
    for (const p of pids) uf.union(pids[0]!, p);
    const op = h.op;
    if (op.op === 'fork' || op.op === 'exit') {
      joinPid(op.pid);
      if (h.result?.kind === 'pid') joinPid(h.result.pid);
    }
    if (op.op === 'pread' || op.op === 'pwrite' || op.op === 'dio_read' || op.op === 'dio_write' ||
      (op.op === 'mmap' && !op.flags.anonymous)) joinFile(op.pid);
  }
  const groups = new Map<number, { pids: Set<number>; ops: HistoryOp[] }>();
  for (const h of history) {
    const root = uf.find(h.op.pid);
    const g = groups.get(root) ?? { pids: new Set<number>(), ops: [] };
    for (const p of opPids(h.op)) g.pids.add(p);
    g.ops.push(h);
    groups.set(root, g);
  }
  return [...groups.values()].map((g) => ({ pids: [...g.pids].sort((a, b) => a - b), ops: g.ops }));
}
