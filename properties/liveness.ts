/**
 * Liveness judged when no task can run: the runtime reports such a state as `deadlock`
 * (impl/rt/execution.ts); a check here names the more precise property when it applies.
 *
 * uffd-lost-wakeup — "a fault sleeps on a range that is no longer registered and nothing will
 * wake it". A task asleep in handle_userfault waits for a UFFDIO_COPY/MOVE/WAKE of its page, or
 * the close of the userfaultfd. Once its page is no longer registered with that userfaultfd, no
 * resolving ioctl is due from a monitor: UFFDIO_UNREGISTER promises to wake the faults pending in
 * the range "so they will not hang permanently and it avoids userland to call UFFDIO_WAKE
 * explicitly" (fs/userfaultfd.c, userfaultfd_unregister), and the non-cooperative events
 * (UNMAP, REMAP, REMOVE) tell the monitor of the other ways a range goes away. The property holds
 * in a state where no task can run (nothing will ever wake the fault) and a fault of a user task
 * is still queued on a userfaultfd for an address that no VMA of the context's mm registers with
 * that context in missing mode. A fault still registered is left to `deadlock` (a monitor that
 * gave up, or none).
 */
import type { Execution, ViolationRecord } from '../impl/rt/execution.js';
import type { Kernel } from '../impl/sim/kernel.js';
import type { userfaultfd_ctx, vm_area_struct } from '../impl/include/linux/mm_types.js';
import { VM_UFFD_MISSING } from '../impl/include/linux/mm_flags.js';
import type { userfaultfd_wait_queue } from '../impl/mm/userfaultfd.js';

export const UFFD_LOST_WAKEUP = 'uffd-lost-wakeup';

const hex = (n: number): string => '0x' + n.toString(16);

/** Every userfaultfd context of the run's processes (each once). */
function contexts(kernel: Kernel): userfaultfd_ctx[] {
  const seen = new Set<userfaultfd_ctx>();
  for (const p of kernel.procs.values()) for (const c of p.uffds) seen.add(c);
  return [...seen];
}

/** The VMA of ctx's mm at addr, if any. */
function vmaAt(ctx: userfaultfd_ctx, addr: number): vm_area_struct | undefined {
  if (ctx.mm.dead) return undefined;
  return ctx.mm.mm_mt.ma_root.slots.find((v) => v.vm_start <= addr && addr < v.vm_end);
}

/**
 * Judge a state in which no task can run (the runtime's `deadlock`): the uffd-lost-wakeup
 * violation, reported at the sleeping fault's task, or null when no fault sleeps on a range that
 * is no longer registered.
 */
export function judgeQuiescence(kernel: Kernel, exec: Execution, deadlock: ViolationRecord): ViolationRecord | null {
  for (const ctx of contexts(kernel)) {
    for (const [wq, read] of [[ctx.fault_pending_wqh, false], [ctx.fault_wqh, true]] as const) {
      for (const e of wq.head as userfaultfd_wait_queue[]) {
        const msg = e.msg;
        if (!msg || msg.event !== 'pagefault') continue;
        const t = exec.tasks[e.task];
        if (!t || t.done || t.daemon || t.block === null) continue;
        const vma = vmaAt(ctx, msg.address);
        if (vma && vma.vm_userfaultfd_ctx === ctx && (vma.vm_flags & VM_UFFD_MISSING) !== 0) continue;
        const where = vma
          ? `${vma} has no userfaultfd context`
          : `no VMA maps it any more`;
        return {
          property: UFFD_LOST_WAKEUP,
          message: `${t.name}#${t.id} sleeps in handle_userfault for ${hex(msg.address)}, which is no longer registered with ${ctx.name} (${where}); no task can run to wake it`,
          report: [
            `INFO: task ${t.name}#${t.id} blocked forever in handle_userfault (${msg.write ? 'write' : 'read'} fault at ${hex(msg.address)}), on ${ctx.name}->${read ? 'fault_wqh (read by the monitor)' : 'fault_pending_wqh (never read)'}`,
            'UFFDIO_UNREGISTER promises to wake the faults pending in the range "so they will not hang permanently and it avoids userland to call UFFDIO_WAKE explicitly" (fs/userfaultfd.c)',
            'it sleeps until the next UFFDIO_WAKE of its page or the close of the userfaultfd',
            ...deadlock.report,
          ],
          step: deadlock.step, task: t.id, taskName: t.name, label: t.label,
        };
      }
    }
  }
  return null;
}
