/**
 * A non-blocking read(2) of one uffd_msg — fs/userfaultfd.c: userfaultfd_ctx_read. Pending
 * page-fault messages come first, then non-cooperative events (any queued one: see check; reading one wakes the
 * task that raised it, which lowers mmap_changing later: uffd_settle). Nothing to read → -EAGAIN;
 * also allowed while an event is raised but its task has not queued it yet.
 *
 * Faults waiting for a page are not model state (a blocked load/store is simply not enabled),
 * so the check over-approximates: it accepts any pagefault message (state unchanged); apply()
 * never produces one. A message may be stale: handle_userfault queues it before it sleeps, and
 * a resolving UFFDIO_COPY's wake-up dequeues it only if the faulting task is already asleep
 * (userfaultfd_wake_function: list_del_init only when wake_up_state succeeded) — otherwise the
 * task sees the page in userfaultfd_must_wait and leaves, its message still readable meanwhile;
 * munmap, mremap and UFFDIO_UNREGISTER dequeue nothing either. So the page may be present, or
 * the address no longer registered or mapped, by the time the monitor reads it.
 *
 * Events of different raising syscalls may be read in either order (UffdCtxData.batches): both
 * calls are still in flight, and each queues its events only after dropping mmap_lock.
 *
 * Failure contract (state.mayFail): reading a UFFD_EVENT_FORK message installs a new file for the
 * child's context (resolve_userfault_fork → anon_inode_create_getfd: -ENOMEM, or -EMFILE); on
 * failure userfaultfd_ctx_read puts the event back at its place in event_wqh and returns the
 * error: nothing read, nothing changed. (The simulation injects no failure there.)
 */
import { EAGAIN, EBADF, ESRCH, describeResult, errno, resultsEqual, type ModelResult, type UffdReadEventOp } from '../ops.js';
import { transition, type Action, type Verdict } from '../action.js';
import { isENOMEM } from '../failure.js';

export const uffd_read_event: Action<UffdReadEventOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    const ctx = s.uffd[op.pid];
    if (!ctx) return { state: s, result: errno(EBADF) };
    if (ctx.events.length === 0) return { state: s, result: errno(EAGAIN) };
    return transition(s, (d) => {
      const c = d.uffd[op.pid]!;
      const ev = { ...c.events.shift()! }; // a plain copy, not a draft
      c.batches.shift();
      // Its raising task is woken now; mmap_changing drops when that task runs (uffd_settle).
      if (ev.type !== 'pagefault') c.unsettled++;
      return { kind: 'event', event: ev };
    });
  },
  check(s, op, r: ModelResult): Verdict {
    const canon = uffd_read_event.apply(s, op);
    if ('blocked' in canon) return { ok: false, why: canon.blocked };
    if (resultsEqual(canon.result, r)) return { ok: true, state: canon.state };
    // An event is raised (ctx->mmap_changing, under mmap_lock) before it is queued: the raising
    // task queues it on event_wqh only after dropping mmap_lock (userfaultfd_unmap_complete,
    // dup_userfaultfd_complete, mremap_userfaultfd_complete; userfaultfd_remove after
    // mmap_read_unlock). Until then a read finds nothing.
    if (r.kind === 'errno' && r.errno === EAGAIN && (s.uffd[op.pid]?.events.length ?? 0) > 0) return { ok: true, state: s };
    if (r.kind === 'event' && r.event.type === 'pagefault' && s.processes[op.pid] && s.uffd[op.pid]) return { ok: true, state: s };
    // The first event of another raising syscall still in flight (see UffdCtxData.batches).
    const ctx = s.uffd[op.pid];
    if (r.kind === 'event' && ctx) {
      for (let i = 1; i < ctx.events.length; i++) {
        if (ctx.batches.indexOf(ctx.batches[i]!) !== i || !resultsEqual({ kind: 'event', event: ctx.events[i]! }, r)) continue;
        const o = transition(s, (d) => {
          const c = d.uffd[op.pid]!;
          const ev = { ...c.events.splice(i, 1)[0]! };
          c.batches.splice(i, 1);
          if (ev.type !== 'pagefault') c.unsettled++;
          return { kind: 'event', event: ev };
        });
        if (!('blocked' in o)) return { ok: true, state: o.state };
      }
    }
    return { ok: false, why: `the next uffd message is ${describeResult(canon.result)}` };
  },
  onFailure(s, op, r) {
    return isENOMEM(r) && s.uffd[op.pid]?.events[0]?.type === 'fork' ? [s] : [];
  },
};
