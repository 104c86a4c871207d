/**
 * pread(2) of one page of a file (by page index). Reads what every MAP_SHARED mapper and every
 * not-yet-written MAP_PRIVATE mapper sees. Reading at or beyond EOF returns no data; the model
 * reports it as value 0. Unknown file → -EBADF.
 *
 * Failure contract (state.mayFail): mm/filemap.c filemap_read → filemap_get_pages: a page not in
 * the page cache is allocated (filemap_create_folio: -ENOMEM) before i_size is looked at, and read
 * (filemap_read_folio: a read error → -EIO; beyond EOF ->read_folio zero-fills without I/O).
 * Either leaves nothing changed.
 */
import { fdOpen } from '../state.js';
import { EBADF, EIO, errno, value, type PreadOp } from '../ops.js';
import { isENOMEM, isErrno } from '../failure.js';
import type { Action } from '../action.js';

export const pread: Action<PreadOp> = {
  apply(s, op) {
    const f = s.files[op.file];
    if (!f || !fdOpen(s, op.pid, op.file)) return { state: s, result: errno(EBADF) };
    if (op.page >= f.size) return { state: s, result: value(0) };
    return { state: s, result: value(f.pages[op.page] ?? 0) };
  },
  onFailure(s, op, r) {
    const f = s.files[op.file];
    if (!f) return [];
    return isENOMEM(r) || (isErrno(r, EIO) && op.page < f.size) ? [s] : [];
  },
};
