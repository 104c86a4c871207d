/**
 * Reading /proc/<pid>/maps — fs/proc/task_mmu.c: show_map_vma. One line per VMA, in address
 * order, showing merges and splits exactly: perms rwx + s/p, the file offset (vm_pgoff, 0 for
 * anonymous memory), the file name ('/dev/zero (deleted)' for shared anonymous memory).
 * The read is atomic here (one seq_file page under the lock).
 *
 * Failure contract (state.mayFail): opening the file (proc_maps_open → __seq_open_private) or
 * the first read (seq_read_iter → seq_buf_alloc) cannot allocate: -ENOMEM, nothing read. (The
 * simulation injects no failure there.)
 */
import { ESRCH, errno, type MapsLine, type ReadMapsOp } from '../ops.js';
import type { Action } from '../action.js';
import { isENOMEM } from '../failure.js';
import { PAGE_SIZE, SHMEM_MAPS_NAME, type MmState, type Vma } from '../state.js';

export function mapsLine(s: MmState, v: Vma): MapsLine {
  const perms = (v.prot.read ? 'r' : '-') + (v.prot.write ? 'w' : '-') + (v.prot.exec ? 'x' : '-') + (v.shared ? 's' : 'p');
  if (v.file === null) return { start: v.start, end: v.end, perms, offset: 0, name: '' };
  const name = s.files[v.file]?.shmem ? SHMEM_MAPS_NAME : v.file;
  return { start: v.start, end: v.end, perms, offset: v.pgoff * PAGE_SIZE, name };
}

export const read_maps: Action<ReadMapsOp> = {
  apply(s, op) {
    const proc = s.processes[op.target];
    if (!proc) return { state: s, result: errno(ESRCH) };
    return { state: s, result: { kind: 'maps', lines: proc.vmas.map((v) => mapsLine(s, v)) } };
  },
  onFailure(s, op, r) {
    return s.processes[op.target] && isENOMEM(r) ? [s] : [];
  },
};
