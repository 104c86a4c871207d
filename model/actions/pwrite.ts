/**
 * pwrite(2) of one page of a file (by page index): visible to MAP_SHARED mappers and to
 * MAP_PRIVATE mappers that have not written (COW-broken) that page; extends i_size when beyond
 * EOF. Unknown file → -EBADF.
 *
 * Failure contract (state.mayFail): mm/filemap.c generic_perform_write → ->write_begin →
 * __filemap_get_folio(FGP_WRITEBEGIN) cannot allocate the page-cache folio: -ENOMEM before
 * anything is copied (a whole-page write reads nothing first), nothing changed.
 */
import { fdOpen } from '../state.js';
import { EBADF, EINVAL, OK, errno, type PwriteOp } from '../ops.js';
import { transition, type Action } from '../action.js';
import { isENOMEM } from '../failure.js';

export const pwrite: Action<PwriteOp> = {
  apply(s, op) {
    const f = s.files[op.file];
    if (!f || !fdOpen(s, op.pid, op.file)) return { state: s, result: errno(EBADF) };
    if (!Number.isInteger(op.page) || op.page < 0) return { state: s, result: errno(EINVAL) };
    return transition(s, (d) => {
      const file = d.files[op.file]!;
      file.pages[op.page] = op.value;
      file.size = Math.max(file.size, op.page + 1);
      return OK;
    });
  },
  onFailure(s, op, r) {
    return s.files[op.file] && Number.isInteger(op.page) && op.page >= 0 && isENOMEM(r) ? [s] : [];
  },
};
