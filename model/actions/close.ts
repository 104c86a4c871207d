/**
 * close(2) — fs/file.c close_fd (file_close_fd + filp_close): the descriptor leaves the process's
 * table and its reference on the file is dropped; a mapping of the file holds its own reference
 * (vma->vm_file) and keeps working, so nothing else changes. Not open → -EBADF.
 */
import { EBADF, ESRCH, OK, errno, type CloseOp } from '../ops.js';
import { transition, type Action } from '../action.js';
import { fdOpen } from '../state.js';

export const close: Action<CloseOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    if (!fdOpen(s, op.pid, op.file)) return { state: s, result: errno(EBADF) };
    return transition(s, (d) => {
      const p = d.processes[op.pid]!;
      p.closed = [...(p.closed ?? []), op.file].sort();
      return OK;
    });
  },
};
