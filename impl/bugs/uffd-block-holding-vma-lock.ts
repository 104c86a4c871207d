/**
 * uffd-block-holding-vma-lock — the article's design question "could handle_userfault sleep
 * holding the per-VMA lock, instead of dropping it and retrying the fault?", answered with that
 * unsafe design: handle_userfault queues the fault and sleeps until the monitor resolves it with
 * the VMA read lock still held, releasing it (release_fault_lock) only after waking.
 *
 * The story: a thread faults on a missing page of a registered range and sleeps in
 * handle_userfault holding the VMA read lock. Another thread munmaps (or mremaps, forks,
 * unregisters) the range: it takes mmap_write_lock and waits in vma_start_write for the sleeping
 * reader. The monitor reads the fault and calls UFFDIO_COPY, which needs mmap_read_lock (6.6;
 * 6.8+: the VMA lock, falling back to mmap_read_lock) — behind the writer. The faulting thread
 * waits for the monitor, the monitor for the writer, the writer for the faulting thread: a
 * deadlock (I18: "A thread blocked in handle_userfault() holds neither mmap_lock nor the VMA
 * lock"). The kernel drops the fault lock before schedule() and returns VM_FAULT_RETRY.
 *
 * The override is impl/mm/userfaultfd.ts's handle_userfault with release_fault_lock moved from
 * before the sleep to after it (marked); no kernel shipped it (no commit reverted).
 */
import type { Task } from '../rt/task.js';
import { current } from '../rt/execution.js';
import { k } from '../sim/kernel.js';
import { defineVariant } from '../sim/variant.js';
import { step } from '../rt/task.js';
import type { vm_fault } from '../include/linux/mm_types.js';
import {
  FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_RETRY_NOWAIT, FAULT_FLAG_WRITE, VM_FAULT_NOPAGE, VM_FAULT_RETRY, VM_FAULT_SIGBUS, VM_UFFD_FLAGS,
} from '../include/linux/mm_flags.js';
import { VM_WARN_ON_ONCE } from '../include/linux/mmdebug.js';
import { kasan_check_read } from '../sync/kasan.js';
import { spin_lock_irq, spin_unlock_irq } from '../sync/spinlock.js';
import { set_current_state, TASK_INTERRUPTIBLE, TASK_KILLABLE, TASK_RUNNING, TASK_UNINTERRUPTIBLE } from '../sync/sched.js';
import { schedule } from '../sync/wait.js';
import { UFFD_FEATURE_SIGBUS, sim_uffd_monitors, userfaultfd_wait_queue } from '../mm/userfaultfd.js';
import { FAULT_FLAG_INTERRUPTIBLE, FAULT_FLAG_KILLABLE, FAULT_FLAG_VMA_LOCK } from '../include/linux/mm_flags.js';

/** assert_fault_locked(vmf) (include/linux/mm.h). */
function assert_fault_locked(vmf: vm_fault): void {
  if (vmf.flags & FAULT_FLAG_VMA_LOCK) k.fn.vma_assert_locked(vmf.vma);
  else k.fn.mmap_assert_locked(vmf.vma.vm_mm);
}

/** userfaultfd_get_blocking_state(flags). */
function userfaultfd_get_blocking_state(flags: number): number {
  if (flags & FAULT_FLAG_INTERRUPTIBLE) return TASK_INTERRUPTIBLE;
  if (flags & FAULT_FLAG_KILLABLE) return TASK_KILLABLE;
  return TASK_UNINTERRUPTIBLE;
}

/** wake_up_poll(&ctx->fd_wqh, EPOLLIN): nobody polls in the simulation. */
function wake_up_poll(_wq: unknown): void {}

/** __add_wait_queue / __remove_wait_queue (the caller holds the queue's lock). */
function __add_wait_queue(wq: { head: unknown[] }, e: userfaultfd_wait_queue): void {
  if (e.queued) return;
  e.queued = true;
  wq.head.push(e);
}
function __remove_wait_queue(wq: { head: unknown[] }, e: userfaultfd_wait_queue): void {
  const i = wq.head.indexOf(e);
  if (i >= 0) wq.head.splice(i, 1);
  e.queued = false;
}

/** handle_userfault, sleeping with the fault lock held. */
function* handle_userfault_holding_vma_lock(vmf: vm_fault, reason: number): Task<number> {
  const vma = vmf.vma;
  const mm = vma.vm_mm;
  let ret = VM_FAULT_SIGBUS;
  const me = k.threads.get(current().id);
  if (me?.exiting) return ret; // PF_EXITING
  if (k.cfg.uffd_under_vma_lock) assert_fault_locked(vmf);
  else k.fn.mmap_assert_locked(mm); // before 6.6: only ever under mmap_lock

  kasan_check_read(vma, 'handle_userfault');
  // A plain load after the caller's userfaultfd_missing(vma): stable only because whoever
  // changes it holds the VMA write lock (userfaultfd_set_ctx, B26).
  yield step('handle_userfault:vm_userfaultfd_ctx', vma);
  const ctx = vma.vm_userfaultfd_ctx;
  if (!ctx) return ret;
  kasan_check_read(ctx, 'handle_userfault');
  VM_WARN_ON_ONCE(ctx.mm !== mm, 'handle_userfault: ctx->mm != mm');
  VM_WARN_ON_ONCE((reason & ~VM_UFFD_FLAGS) !== 0 || reason === 0 || (reason & (reason - 1)) !== 0, 'handle_userfault: bad reason');
  if (ctx.features & UFFD_FEATURE_SIGBUS) return ret;

  // Check that we can return VM_FAULT_RETRY.
  if (!(vmf.flags & FAULT_FLAG_ALLOW_RETRY)) {
    VM_WARN_ON_ONCE((vmf.flags & FAULT_FLAG_RETRY_NOWAIT) !== 0, 'handle_userfault: NOWAIT without ALLOW_RETRY');
    return ret;
  }
  // Handle nowait, not much to do other than tell it to retry and wait.
  ret = VM_FAULT_RETRY;
  if (vmf.flags & FAULT_FLAG_RETRY_NOWAIT) return ret;

  if (ctx.released) {
    if (k.cfg.uffd_under_vma_lock) {
      yield* k.fn.release_fault_lock(vmf);
      return ret;
    }
    return VM_FAULT_NOPAGE; // pre-6.x: "Don't return VM_FAULT_SIGBUS in this case"
  }

  // take the reference before dropping the mmap_lock
  k.fn.userfaultfd_ctx_get(ctx);
  const uwq = new userfaultfd_wait_queue(current().id, {
    event: 'pagefault', address: vmf.address, write: (vmf.flags & FAULT_FLAG_WRITE) !== 0,
  }, ctx);
  const blocking_state = userfaultfd_get_blocking_state(vmf.flags);

  yield* spin_lock_irq(ctx.wqh_lock);
  // After the __add_wait_queue the uwq is visible to userland through poll/read().
  __add_wait_queue(ctx.fault_pending_wqh, uwq);
  set_current_state(blocking_state);
  spin_unlock_irq(ctx.wqh_lock);

  const must_wait = yield* k.fn.userfaultfd_must_wait(ctx, vmf, reason);
  // (the kernel: release_fault_lock(vmf) here, before sleeping — I18)

  if (must_wait && !ctx.released) {
    wake_up_poll(ctx.fd_wqh);
    yield* schedule(() => sim_uffd_monitors(ctx));
  }
  set_current_state(TASK_RUNNING);
  // The design under test: drop the fault lock only once the monitor has resolved the fault.
  yield* k.fn.release_fault_lock(vmf);

  if (uwq.queued) {
    yield* spin_lock_irq(ctx.wqh_lock);
    // No need of list_del_init(), the uwq on the stack will be freed shortly anyway.
    __remove_wait_queue(ctx.fault_pending_wqh, uwq);
    __remove_wait_queue(ctx.fault_wqh, uwq);
    spin_unlock_irq(ctx.wqh_lock);
  }
  // ctx may go away after this if the userfault pseudo fd is already released.
  k.fn.userfaultfd_ctx_put(ctx);
  return ret;
}

export default defineVariant({
  name: 'uffd-block-holding-vma-lock',
  base: 'v6.6',
  description:
    'handle_userfault sleeps until the monitor resolves the fault while still holding the VMA read ' +
    'lock: a munmap/mremap/fork of the range waits in vma_start_write (holding mmap_write_lock) ' +
    'for the sleeping fault, and the monitor\'s UFFDIO_COPY waits for mmap_lock behind it: deadlock.',
  scenario: 'uffd',
  overrides: { handle_userfault: handle_userfault_holding_vma_lock },
});
