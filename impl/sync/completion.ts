/**
 * Kernel: kernel/sched/completion.c, include/linux/completion.h — struct completion.
 *
 * `done` counts completions not yet consumed; complete_all sets it to UINT_MAX (every waiter,
 * present and future, passes). wait_for_completion is one scheduling point that is also the
 * wait: runnable once done > 0, and consumes one completion in the step it is picked.
 */
import { block, type BlockOp, type Task } from '../rt/task.js';
import { might_sleep } from './lockdep.js';
import { sim_current_sync } from './sched.js';
import { ERESTARTSYS } from './wait.js';

export const UINT_MAX = 0xffffffff;

export class completion {
  done = 0;
  private waitOp: BlockOp | undefined = undefined;
  constructor(readonly name = 'completion') {}

  sim_wait_op(): BlockOp {
    let op = this.waitOp;
    if (op === undefined) {
      op = block('wait_for_completion', () => this.done > 0, this, () => []);
      this.waitOp = op;
    }
    return op;
  }
}

/** init_completion() / reinit_completion(). */
export function init_completion(x: completion): void {
  x.done = 0;
}
export const reinit_completion = init_completion;

function consume(x: completion): void {
  if (x.done !== UINT_MAX) x.done--;
}

/** wait_for_completion(): sleep until completed, consuming one completion. */
export function* wait_for_completion(x: completion): Task<void> {
  might_sleep('wait_for_completion');
  yield x.sim_wait_op();
  consume(x);
}

/** wait_for_completion_killable(): 0, or -ERESTARTSYS when SIGKILL arrives first. */
export function* wait_for_completion_killable(x: completion): Task<number> {
  might_sleep('wait_for_completion_killable');
  const s = sim_current_sync();
  yield block('wait_for_completion_killable', () => x.done > 0 || s.fatal, x, () => []);
  if (x.done === 0) return -ERESTARTSYS;
  consume(x);
  return 0;
}

/** try_wait_for_completion(): consume a completion if one is available (never sleeps). */
export function try_wait_for_completion(x: completion): boolean {
  if (x.done === 0) return false;
  consume(x);
  return true;
}

/** completion_done(): a completion is available. */
export function completion_done(x: completion): boolean {
  return x.done > 0;
}

/** complete(): one waiter (or the next wait) passes. */
export function complete(x: completion): void {
  if (x.done !== UINT_MAX) x.done++;
}

/** complete_all(): every waiter passes, now and later (until reinit_completion). */
export function complete_all(x: completion): void {
  x.done = UINT_MAX;
}
