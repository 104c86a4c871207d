/**
 * Kernel: include/linux/fault-inject.h, lib/fault-inject.c (should_fail), mm/failslab.c
 * (should_failslab), mm/fail_page_alloc.c (should_fail_alloc_page), block/blk-core.c
 * (should_fail_bio) — the fault-injection framework, which fails allocations and I/O on purpose to
 * exercise the kernel's error paths (CONFIG_FAULT_INJECTION, failslab, fail_page_alloc,
 * fail_make_request).
 *
 * Here it is on when the scenario asks (scenario.faultInjection), from the end of the scenario's
 * setup (impl/sim/run.ts), at the failure points the simulation marks with should_fail: whether a
 * given call fails is the scheduler's choice (choose), so a failure replays byte for byte and DFS
 * explores both outcomes. As the framework's `times` attribute does, a run fails at most
 * FAULT_INJECTION_TIMES calls: a scheduler that failed every allocation forever would only stall the
 * run (a fault retrying after VM_FAULT_OOM, as arch/x86/mm/fault.c does; a monitor retrying a
 * UFFDIO_COPY that got -ENOMEM) and turn a memory shortage into a reported livelock.
 *
 * Left out: the probability / interval / space / task-filter / stacktrace-filter attributes (the
 * scheduler decides each call), memcg charge failures, __GFP_NOFAIL (no call site here uses it).
 */
import { choose, type Task } from '../../rt/task.js';
import { k } from '../../sim/kernel.js';

/** The most failures injected in one run (the framework's `times`). */
export const FAULT_INJECTION_TIMES = 8;

/**
 * should_fail(attr, size): whether this call fails. `label` names the failure point in the trace
 * ('folio_alloc:fail', 'bio:ioerr', …). Not a scheduling point: it only asks the scheduler.
 */
export function* should_fail(label: string): Task<boolean> {
  if (!k.faultInjection || k.faultInjectionLeft <= 0) return false;
  if ((yield* choose(2, label)) !== 1) return false;
  k.faultInjectionLeft--;
  k.stats.injected_failures = (k.stats.injected_failures ?? 0) + 1;
  return true;
}
