/**
 * Reading /proc/<pid>/smaps — fs/proc/task_mmu.c: show_smap. The maps lines (exact) and each
 * VMA's Rss. Rss is where the kernel may legitimately differ: reclaim/swap-out can unmap any
 * page at any time (down to 0), and fault-around may have mapped file pages that were never
 * touched. Allowed: a multiple of PAGE_SIZE between 0 and the pages that could be mapped —
 * private non-zero-page copies, plus file pages below EOF for file/shmem/driver VMAs.
 * Canonically (apply) that maximum.
 *
 * Failure contract (state.mayFail): as read_maps — the seq_file allocations at open or first
 * read: -ENOMEM, nothing read (not injected by the simulation).
 */
import { ESRCH, describeResult, errno, mapsLineString, type ModelResult, type ReadSmapsOp, type SmapsEntry } from '../ops.js';
import type { Action, Verdict } from '../action.js';
import { isENOMEM } from '../failure.js';
import { PAGE_SIZE, ZERO_PAGE, filePageIndex, type MmState, type Vma } from '../state.js';
import { mapsLine } from './read_maps.js';

/** The largest Rss the VMA may show, in bytes. */
export function maxRss(s: MmState, v: Vma): number {
  let n = 0;
  const f = v.file !== null ? s.files[v.file] : undefined;
  for (let pg = v.start / PAGE_SIZE; pg < v.end / PAGE_SIZE; pg++) {
    const own = v.shared || v.driver ? undefined : v.pages[pg];
    if (own !== undefined) {
      if (own !== ZERO_PAGE) n++;
    } else if (f && filePageIndex(v, pg) < f.size) {
      n++;
    }
  }
  return n * PAGE_SIZE;
}

export const read_smaps: Action<ReadSmapsOp> = {
  apply(s, op) {
    const proc = s.processes[op.target];
    if (!proc) return { state: s, result: errno(ESRCH) };
    const entries: SmapsEntry[] = proc.vmas.map((v) => ({ ...mapsLine(s, v), rss: maxRss(s, v) }));
    return { state: s, result: { kind: 'smaps', entries } };
  },
  check(s, op, r: ModelResult): Verdict {
    const proc = s.processes[op.target];
    if (!proc) {
      return r.kind === 'errno' && r.errno === ESRCH ? { ok: true, state: s } : { ok: false, why: 'no such process: -ESRCH' };
    }
    if (r.kind !== 'smaps') return { ok: false, why: `smaps must return entries, not ${describeResult(r)}` };
    if (r.entries.length !== proc.vmas.length) {
      return { ok: false, why: `smaps shows ${r.entries.length} VMAs, the address space has ${proc.vmas.length}` };
    }
    for (let i = 0; i < proc.vmas.length; i++) {
      const v = proc.vmas[i]!;
      const want = mapsLine(s, v);
      const got = r.entries[i]!;
      if (got.start !== want.start || got.end !== want.end || got.perms !== want.perms || got.offset !== want.offset || got.name !== want.name) {
        return { ok: false, why: `smaps entry ${i} is ${mapsLineString(got)}, expected ${mapsLineString(want)}` };
      }
      const max = maxRss(s, v);
      if (got.rss < 0 || got.rss > max || got.rss % PAGE_SIZE !== 0) {
        return { ok: false, why: `Rss ${got.rss} of ${mapsLineString(want)} is outside [0, ${max}]` };
      }
    }
    return { ok: true, state: s };
  },
  onFailure(s, op, r) {
    return s.processes[op.target] && isENOMEM(r) ? [s] : [];
  },
};
