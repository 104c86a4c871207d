/**
 * pread(2) of one page of a file (by page index). Reads what every MAP_SHARED mapper and every
 * not-yet-written MAP_PRIVATE mapper sees. Reading at or beyond EOF returns no data; the model
 * reports it as value 0. Unknown file → -EBADF.
 */
import { EBADF, errno, value, type PreadOp } from '../ops.js';
import type { Action } from '../action.js';

export const pread: Action<PreadOp> = {
  apply(s, op) {
    const f = s.files[op.file];
    if (!f) return { state: s, result: errno(EBADF) };
    if (op.page >= f.size) return { state: s, result: value(0) };
    return { state: s, result: value(f.pages[op.page] ?? 0) };
  },
};
