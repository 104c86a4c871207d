/**
 * exit(2) — kernel/exit.c → mmput → exit_mmap: the address space goes away with its private
 * pages; shared file/shmem contents stay with the object; the process's userfaultfd closes.
 */
import { ESRCH, OK, errno, type ExitOp } from '../ops.js';
import { transition, type Action } from '../action.js';

export const exit: Action<ExitOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    return transition(s, (d) => {
      delete d.processes[op.pid];
      delete d.uffd[op.pid];
      return OK;
    });
  },
};
