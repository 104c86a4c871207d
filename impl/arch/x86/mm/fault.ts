/**
 * Kernel: arch/x86/mm/fault.c (do_user_addr_fault, access_error, bad_area*, do_sigbus,
 * fault_signal_pending), mm/oom_kill.c (pagefault_out_of_memory).
 *
 * The arch page-fault handler for user addresses: first the per-VMA lock (lock_vma_under_rcu,
 * handle_mm_fault with FAULT_FLAG_VMA_LOCK), then — when the VMA could not be locked or the
 * handler needs mmap_lock — the mmap_lock path (lock_mm_and_find_vma), retried with
 * FAULT_FLAG_TRIED after VM_FAULT_RETRY. Per era (impl/sim/config.ts):
 *  - ≤6.3 (per_vma_lock off): mmap_lock only.
 *  - Every generation (x86): the VMA lock is tried for user-mode faults only
 *    (`if (!(flags & FAULT_FLAG_USER)) goto lock_mmap;`, k.cfg.vma_lock_user_only).
 *  - 6.4: an access error under the VMA lock falls back to mmap_lock; the arch code always calls
 *    vma_end_read() after handle_mm_fault (handlers never release it).
 *  - 6.6+ ("mm: drop per-VMA lock when returning VM_FAULT_RETRY or VM_FAULT_COMPLETED",
 *    vma_lock_released_by_handler): vma_end_read() only when the result has neither RETRY nor
 *    COMPLETED. 6.6's mmap_lock retry is a first try (no FAULT_FLAG_TRIED): a handler that must
 *    wait for I/O drops mmap_lock too and the fault is tried a third time; 6.7+ a retry after a
 *    major fault carries FAULT_FLAG_TRIED (46e714c729c8, k.cfg.vma_lock_retry_tried_on_major).
 *  - 6.10+ (the named generations with no anon_vma check in lock_vma_under_rcu): an access error
 *    found under the VMA lock is a SIGSEGV right there (bad_area_access_error with the VMA lock,
 *    "x86/mm: handle access error under per-VMA lock", 6.8) instead of a fallback.
 * Statistics: k.stats.vma_lock (count_vm_vma_lock_event), vma_lock_faults, mmap_lock_faults,
 * fault_retries.
 *
 * Returns 0 (handled: user space re-executes the access), 11 (SIGSEGV) or 7 (SIGBUS); a fault
 * interrupted by a fatal signal returns 0 (the signal is delivered on the way out).
 *
 * Left out: kernel-address faults (vmalloc, spurious, kprobes), protection keys, shadow stacks,
 * SMAP/SMEP checks, the exception-table fixup of kernel-mode faults (lock_mm_and_find_vma's
 * get_mmap_lock_carefully models the part that matters for locking), perf events.
 */
import { k, count_vm_vma_lock_event, current_mm } from '../../../sim/kernel.js';
import type { Task } from '../../../rt/task.js';
import { fatal_signal_pending } from '../../../sync/sched.js';
import type { pt_regs, vm_area_struct } from '../../../include/linux/mm_types.js';
import {
  FAULT_FLAG_DEFAULT, FAULT_FLAG_INSTRUCTION, FAULT_FLAG_TRIED, FAULT_FLAG_USER, FAULT_FLAG_VMA_LOCK,
  FAULT_FLAG_WRITE, VM_ACCESS_FLAGS, VM_FAULT_COMPLETED, VM_FAULT_ERROR, VM_FAULT_HWPOISON, VM_FAULT_MAJOR,
  VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV, VM_WRITE, X86_PF_INSTR, X86_PF_PROT,
  X86_PF_USER, X86_PF_WRITE,
} from '../../../include/linux/mm_flags.js';
import { BUG_ON } from '../../../include/linux/mmdebug.js';

/** Signal numbers do_user_addr_fault reports (asm/signal.h). */
export const SIGBUS = 7;
export const SIGSEGV = 11;

/**
 * access_error(error_code, vma): the access is not allowed by the VMA at all (a protection
 * error, not a missing page): writes need VM_WRITE; a read of a present page that faulted is a
 * protection error; other reads need any access bit.
 */
export function access_error(error_code: number, vma: vm_area_struct): boolean {
  if (error_code & X86_PF_WRITE) {
    // write, present and write, not present:
    return (vma.vm_flags & VM_WRITE) === 0;
  }
  // read, present:
  if (error_code & X86_PF_PROT) return true;
  // read, not present:
  return (vma.vm_flags & VM_ACCESS_FLAGS) === 0;
}

/**
 * fault_signal_pending(fault, regs) (include/linux/sched/signal.h): a fault that returned
 * VM_FAULT_RETRY because a fatal signal interrupted its wait; only SIGKILL is modelled.
 */
export function fault_signal_pending(fault: number, regs: pt_regs): boolean {
  void regs;
  return (fault & VM_FAULT_RETRY) !== 0 && fatal_signal_pending();
}

/**
 * pagefault_out_of_memory() (mm/oom_kill.c): a user fault that ended in VM_FAULT_OOM invokes
 * the OOM killer (left out: nothing is killed) and returns; user space re-executes the access,
 * so a persistent failure shows up as the user layer's fault-livelock check.
 */
export function pagefault_out_of_memory(): void {
  // out_of_memory() is left out.
}

/** The era's handling of an access error found under the VMA lock (see the header). */
function access_error_under_vma_lock_is_fatal(): boolean {
  return k.cfg.vma_lock_anon_vma_check === 'none';
}

/**
 * do_user_addr_fault(regs, error_code, address): handle a page fault on a user address. Locks:
 * none on entry, none on exit. Returns 0, SIGSEGV (11) or SIGBUS (7).
 */
export function* do_user_addr_fault(regs: pt_regs, error_code: number, address: number): Task<number> {
  const mm = current_mm();
  let flags = FAULT_FLAG_DEFAULT;
  let fault = 0;
  let vma: vm_area_struct | null;

  // faulthandler_disabled() || !mm: bad_area_nosemaphore.
  if (mm === null) return SIGSEGV;
  if (regs.user || (error_code & X86_PF_USER)) flags |= FAULT_FLAG_USER;
  if (error_code & X86_PF_WRITE) flags |= FAULT_FLAG_WRITE;
  if (error_code & X86_PF_INSTR) flags |= FAULT_FLAG_INSTRUCTION;

  let lock_mmap = true;
  if (k.cfg.per_vma_lock && !(k.cfg.vma_lock_user_only && !(flags & FAULT_FLAG_USER))) {
    vma = yield* k.fn.lock_vma_under_rcu(mm, address);
    if (vma !== null) {
      lock_mmap = false;
      if (k.fn.access_error(error_code, vma)) {
        if (access_error_under_vma_lock_is_fatal()) {
          // bad_area_access_error(regs, error_code, address, NULL, vma): releases the VMA lock.
          yield* k.fn.vma_end_read(vma);
          count_vm_vma_lock_event('VMA_LOCK_SUCCESS');
          return SIGSEGV;
        }
        yield* k.fn.vma_end_read(vma);
        lock_mmap = true;
      }
    }
    if (!lock_mmap && vma !== null) {
      fault = yield* k.fn.handle_mm_fault(vma, address, flags | FAULT_FLAG_VMA_LOCK, regs);
      if (!k.cfg.vma_lock_released_by_handler) {
        // 6.4: handlers never release the VMA lock.
        yield* k.fn.vma_end_read(vma);
      } else if (!(fault & (VM_FAULT_RETRY | VM_FAULT_COMPLETED))) {
        yield* k.fn.vma_end_read(vma);
      }
      if (!(fault & VM_FAULT_RETRY)) {
        count_vm_vma_lock_event('VMA_LOCK_SUCCESS');
        k.stats.vma_lock_faults++;
        return sim_fault_result(fault);
      }
      count_vm_vma_lock_event('VMA_LOCK_RETRY');
      k.stats.fault_retries++;
      if (k.cfg.vma_lock_retry_tried_on_major && (fault & VM_FAULT_MAJOR)) flags |= FAULT_FLAG_TRIED;
      // Quick path to respond to signals
      if (k.fn.fault_signal_pending(fault, regs)) return 0;
      lock_mmap = true;
    }
  }

  // lock_mmap:
  k.stats.mmap_lock_faults++;
  for (;;) { // retry:
    vma = yield* k.fn.lock_mm_and_find_vma(mm, address, regs);
    if (vma === null) return SIGSEGV; // bad_area_nosemaphore
    // Ok, we have a good vm_area for this memory access, so we can handle it..
    if (k.fn.access_error(error_code, vma)) {
      // bad_area_access_error → __bad_area: mmap_read_unlock, SIGSEGV (SEGV_ACCERR).
      k.fn.mmap_read_unlock(mm);
      return SIGSEGV;
    }
    fault = yield* k.fn.handle_mm_fault(vma, address, flags, regs);
    if (k.fn.fault_signal_pending(fault, regs)) return 0; // the lock is already released
    // The fault is fully completed (including releasing mmap lock)
    if (fault & VM_FAULT_COMPLETED) return 0;
    // If we need to retry the mmap_lock has already been released, and if there is a fatal
    // signal pending there is no guarantee that we made any progress.
    if (fault & VM_FAULT_RETRY) {
      flags |= FAULT_FLAG_TRIED;
      k.stats.fault_retries++;
      continue;
    }
    k.fn.mmap_read_unlock(mm);
    return sim_fault_result(fault);
  }
}

/** done: the error handling after the lock is released (mm_fault_error for user faults). */
function sim_fault_result(fault: number): number {
  if (!(fault & VM_FAULT_ERROR)) return 0;
  if (fault & VM_FAULT_OOM) {
    k.fn.pagefault_out_of_memory();
    return 0;
  }
  if (fault & (VM_FAULT_SIGBUS | VM_FAULT_HWPOISON)) return SIGBUS; // do_sigbus
  if (fault & VM_FAULT_SIGSEGV) return SIGSEGV; // bad_area_nosemaphore
  BUG_ON(true, `do_user_addr_fault: unexpected fault result 0x${fault.toString(16)}`);
  return SIGSEGV;
}
