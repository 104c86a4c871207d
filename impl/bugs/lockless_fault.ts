/**
 * The lockless-fault design (the article's last question: "handling faults without taking the
 * VMA locks either"), as a variant's overrides: a first-touch anonymous fault that takes no VMA
 * lock and no reference, validated by the mm_lock_seq sequence count instead.
 *
 * It follows the speculative page fault series that this idea comes from — Peter Zijlstra /
 * Laurent Dufour ("mm: Provide speculative fault infrastructure", "mm: prepare for
 * FAULT_FLAG_SPECULATIVE": pte_map_lock re-validates before installing) and Michel Lespinasse's
 * 2021 "Speculative page faults" RFC, which validated against a sequence count of mmap_lock
 * (mmap_seq_read_start / mmap_seq_read_check) and worked on a copy of the VMA — mapped onto
 * today's primitives: mmap_lock_speculate_try_begin / mmap_lock_speculate_retry over the 6.13+
 * mm_lock_seq seqcount (odd while mmap_lock is write-held). Base v6.15.
 *
 *   do_user_addr_fault (speculative part, k.cfg.lockless_fault):
 *     seq = mmap_lock_speculate_try_begin(mm)            fails while a writer holds mmap_lock
 *     rcu_read_lock(); vma = mas_walk(mm, addr)          no vma_start_read, no vm_refcnt
 *     pvma = *vma; rcu_read_unlock()                     a copy: the VMA may be freed or recycled
 *     if (mmap_lock_speculate_retry(mm, seq)) abort      the copy is one consistent VMA
 *     scope: anonymous, private, anon_vma already set (creating it needs mmap_lock), no
 *       mempolicy of its own (vma->vm_policy is freed under mmap_write_lock without RCU), not
 *       userfaultfd-armed, no access error, a PTE table present, pte_none (first touch)
 *     do_anonymous_page on pvma: zero page (read) or a new folio (write, may sleep)
 *     pte_map_lock: mmap_lock_speculate_retry → pte_offset_map_lock → mmap_lock_speculate_retry
 *     pte_none re-check, rmap, set_ptes, pte_unmap_unlock
 *   any abort: the kernel's own path (lock_vma_under_rcu, then mmap_lock) from the start.
 *
 * Why the second check is under the PTL: from then on every writer that could take the page
 * away (zap, change_protection, move_ptes, copy_page_range) needs this PTL, so it runs after
 * the install and sees the new PTE; anything a writer did before it took mmap_lock for write
 * has changed the sequence. The copy, not the VMA, is used after rcu_read_unlock(): with
 * SLAB_TYPESAFE_BY_RCU the VMA can be freed and handed to another mm at any time.
 *
 * lockless-fault-no-recheck (the mutant) is the same path without the re-check before the
 * install (pte_map_lock takes the PTL only): a munmap or mprotect that completes between the
 * copy and the install is not noticed.
 *
 * Statistics: k.state('lockless_fault') counts attempts, successes and aborts (by reason), for
 * properties/contention.ts.
 */
import type { Task } from '../rt/task.js';
import { step } from '../rt/task.js';
import { sim_struct_copy } from '../rt/track.js';
import { k, current_mm } from '../sim/kernel.js';
import type { folio, pt_regs, pte_t, vm_area_struct } from '../include/linux/mm_types.js';
import {
  FAULT_FLAG_WRITE, VM_SHARED, VM_UFFD_FLAGS, VM_WRITE, X86_PF_USER, X86_PF_WRITE,
} from '../include/linux/mm_flags.js';
import { rcu_read_lock, rcu_read_unlock } from '../sync/rcu.js';
import { kasan_check_read } from '../sync/kasan.js';
import { GFP_HIGHUSER_MOVABLE, __GFP_ZERO } from '../mm/page_alloc.js';
import { do_user_addr_fault } from '../arch/x86/mm/fault.js';
import type { KernelFns } from '../sim/table.js';

/** Counters of the speculative path (per run). */
export interface LocklessFaultStats {
  attempts: number;
  /** Faults completed without any lock. */
  success: number;
  /** Aborted because the sequence changed (a writer ran): the validation doing its job. */
  abort_seq: number;
  /** Aborted because the fault is outside the path's scope (not a first-touch anon fault, …). */
  abort_scope: number;
}

export function sim_lockless_fault_stats(): LocklessFaultStats {
  return k.state<LocklessFaultStats>('lockless_fault', () => ({ attempts: 0, success: 0, abort_seq: 0, abort_scope: 0 }));
}

/**
 * The speculative copy of a VMA (Lespinasse: `pvma = *vma` under RCU). Only the string-keyed
 * fields: the copy is a stack object, not a slab object (no KASAN header).
 */
function sim_vma_copy(vma: vm_area_struct): vm_area_struct {
  const pvma = sim_struct_copy(vma) as unknown as Record<string, unknown>; // every field, read as the copy reads them (impl/rt/track.ts)
  pvma['name'] = `${vma.name}(copy)`;
  return pvma as unknown as vm_area_struct;
}

const ABORT = null;

/**
 * handle_speculative_fault(mm, address, error_code, recheck): the lockless first-touch fault.
 * Locks: none on entry, none on exit (RCU and the PTL inside). Returns 0 when the fault is
 * handled (user space re-executes the access), or null: abort, take the locked path.
 */
function* handle_speculative_fault(address: number, error_code: number, recheck: boolean): Task<number | null> {
  const mm = current_mm();
  if (mm === null) return ABORT;
  const st = sim_lockless_fault_stats();
  st.attempts++;
  const scope = (): null => {
    st.abort_scope++;
    return ABORT;
  };
  const seq_changed = (): null => {
    st.abort_seq++;
    return ABORT;
  };
  const flags = (error_code & X86_PF_WRITE ? FAULT_FLAG_WRITE : 0);
  if (!(error_code & X86_PF_USER)) return scope();

  const spec = k.fn.mmap_lock_speculate_try_begin(mm);
  if (!spec.ok) return seq_changed();
  rcu_read_lock();
  const vma = yield* k.fn.mas_walk(mm, address);
  if (vma === null) {
    rcu_read_unlock();
    return scope();
  }
  yield step('handle_speculative_fault:vma_copy', vma);
  kasan_check_read(vma, 'handle_speculative_fault');
  const pvma = sim_vma_copy(vma);
  rcu_read_unlock();
  // SPF_ABORT_VMA_COPY: the copy may be torn or stale.
  if (k.fn.mmap_lock_speculate_retry(mm, spec.seq)) return seq_changed();

  if (address < pvma.vm_start || address >= pvma.vm_end) return scope();
  if (!k.fn.vma_is_anonymous(pvma) || (pvma.vm_flags & VM_SHARED) !== 0) return scope();
  if (pvma.anon_vma === null || pvma.vm_policy !== null || (pvma.vm_flags & VM_UFFD_FLAGS) !== 0) return scope();
  if (k.fn.access_error(error_code, pvma)) return scope();

  const pmd = k.fn.pmd_off(mm, address);
  yield step('handle_pte_fault:pmd_none', pmd);
  // The speculative path never allocates page tables.
  if (pmd.table === null) return scope();
  const table = yield* k.fn.__pte_offset_map(pmd, address);
  if (table === null) return scope();
  const orig = yield* k.fn.ptep_get_lockless(table, address);
  k.fn.pte_unmap(table);
  if (orig.kind !== 'none') return scope();

  // do_anonymous_page on the copy.
  let entry: pte_t;
  let f: folio | null = null;
  if (!(flags & FAULT_FLAG_WRITE)) {
    entry = k.fn.pte_mkspecial(k.fn.folio_mk_pte(k.fn.my_zero_folio()));
  } else {
    f = yield* k.fn.vma_alloc_folio(GFP_HIGHUSER_MOVABLE | __GFP_ZERO, 0, pvma, address);
    if (f === null) return scope();
    k.fn.__folio_mark_uptodate(f);
    entry = k.fn.folio_mk_pte(f);
    if (pvma.vm_flags & VM_WRITE) entry = k.fn.pte_mkwrite(k.fn.pte_mkdirty(entry), pvma);
    entry = k.fn.pte_mkyoung(entry);
  }
  const put = (): void => {
    if (f) k.fn.folio_put(f);
  };

  // pte_map_lock(vmf): validate, take the PTL, validate again.
  if (recheck && k.fn.mmap_lock_speculate_retry(mm, spec.seq)) {
    put();
    return seq_changed();
  }
  const pte = yield* k.fn.pte_offset_map_lock(mm, pmd, address);
  if (pte === null) {
    put();
    return scope();
  }
  yield step('pte_map_lock:mmap_lock_speculate_retry', mm);
  if (recheck && k.fn.mmap_lock_speculate_retry(mm, spec.seq)) {
    k.fn.pte_unmap_unlock(pte);
    put();
    return seq_changed();
  }
  if (k.fn.ptep_get(pte, address).kind !== 'none') {
    // Someone else handled it.
    k.fn.pte_unmap_unlock(pte);
    put();
    st.success++;
    return 0;
  }
  if (k.fn.check_stable_address_space(mm)) {
    k.fn.pte_unmap_unlock(pte);
    put();
    return scope();
  }
  if (f) {
    k.fn.add_mm_counter(mm, 'MM_ANONPAGES', 1);
    k.fn.folio_add_new_anon_rmap(f, pvma, address);
    k.fn.folio_add_lru_vma(f, pvma);
  }
  yield step('do_anonymous_page:set_pte_at', pte);
  k.fn.set_ptes(mm, address, pte, entry, 1);
  k.fn.pte_unmap_unlock(pte);
  st.success++;
  return 0;
}

/**
 * The overrides of a lockless-fault variant: do_user_addr_fault tries the speculative path first
 * when k.cfg.lockless_fault is set, and otherwise (or on abort) runs the kernel's
 * do_user_addr_fault (impl/arch/x86/mm/fault.ts) from the start.
 */
export function locklessFaultOverrides(recheck: boolean): Partial<KernelFns> {
  return {
    do_user_addr_fault: function* (regs: pt_regs, error_code: number, address: number): Task<number> {
      if (k.cfg.lockless_fault) {
        const r = yield* handle_speculative_fault(address, error_code, recheck);
        if (r !== null) return r;
      }
      return yield* do_user_addr_fault(regs, error_code, address);
    },
  };
}
