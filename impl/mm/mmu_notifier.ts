/**
 * Kernel: mm/mmu_notifier.c (mmu_notifier_register, __mmu_notifier_register), mm/vma.c (6.12+;
 * mm/mmap.c before: mm_take_all_locks, mm_drop_all_locks, vm_lock_anon_vma, vm_lock_mapping).
 *
 * Registering an MMU notifier must exclude every path that could be changing page tables of the
 * mm without the notifier seeing it: under mmap_write_lock, mm_take_all_locks takes every lock a
 * page-table changer could hold instead of mmap_lock — since 6.4 each VMA's write lock first
 * (eeff9a5d47f8, "mm/mmap: prevent pagefault handler from racing with mmu_notifier
 * registration": a fault under the VMA lock holds neither mmap_lock nor rmap locks), then every
 * mapping's i_mmap_rwsem (hugetlb ones first) and every anon_vma root's rwsem, each instance once
 * (AS_MM_ALL_LOCKS / the anon_vma root bit), all under the global mm_all_locks_mutex.
 * mm_drop_all_locks releases the rmap locks but deliberately not the VMA write locks: "vma_start_write()
 * does not have a complement in mm_drop_all_locks() because vma_start_write() is always
 * asymmetrical; it marks a VMA as being written to until mmap_write_unlock() or
 * mmap_write_downgrade() is reached" — calling vma_end_write_all there would also release VMA
 * write locks of callers up the stack (I1).
 *
 * Lockdep: the kernel takes the i_mmap/anon_vma rwsems with down_write_nest_lock(…,
 * &mm->mmap_lock); here each further instance of a class takes its own subclass
 * (down_write_nested, at most MAX_LOCKDEP_SUBCLASSES = 8 instances per class).
 *
 * What the registration must guarantee is checked: no page table of the mm may change while all
 * its locks are held (sim_mm_all_locks_check, property 'mm-all-locks'). Registrations come from
 * KVM_CREATE_VM on /dev/kvm (impl/drivers/kvm.ts).
 *
 * Left out: the notifier callbacks themselves (invalidate_range_start/end are not called by the
 * simulated paths), SRCU, mmu_interval_notifier, mmu_notifier_unregister and the release at
 * exit_mmap, hugetlb mappings (none exist).
 */
import type { Task } from '../rt/task.js';
import { step } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import type { address_space, anon_vma, mm_struct } from '../include/linux/mm_types.js';
import { EINTR } from '../include/linux/errno.js';
import { BUG_ON } from '../include/linux/mmdebug.js';
import { mutex, mutex_is_locked, mutex_lock, mutex_unlock } from '../sync/mutex.js';
import { down_write_nested, up_write } from '../sync/rwsem.js';
import { fatal_signal_pending } from '../sync/sched.js';
import { sim_kasan_write_stamp } from '../sync/kasan.js';
import { Violation } from '../rt/task.js';

/** struct mmu_notifier (the callbacks are left out). */
export interface mmu_notifier {
  readonly name: string;
}

/** MAX_LOCKDEP_SUBCLASSES. */
const MAX_LOCKDEP_SUBCLASSES = 8;

interface all_locks_state {
  readonly mutex: mutex;
  /** AS_MM_ALL_LOCKS set on these mappings (their i_mmap_rwsem is held). */
  readonly mappings: Set<address_space>;
  /** The anon_vma roots whose rwsem is held (the rb_root bit). */
  readonly anon_vmas: Set<anon_vma>;
  /** mm->notifier_subscriptions. */
  readonly subscriptions: Map<mm_struct, mmu_notifier[]>;
  /** The page tables of each mm whose locks mm_take_all_locks holds, as they were when it got them. */
  readonly windows: Map<mm_struct, unknown[]>;
}

const state = (): all_locks_state => k.state('mm_all_locks', () => ({
  mutex: new mutex('mm_all_locks_mutex'),
  mappings: new Set<address_space>(),
  anon_vmas: new Set<anon_vma>(),
  subscriptions: new Map<mm_struct, mmu_notifier[]>(),
  windows: new Map<mm_struct, unknown[]>(),
}));

/** down_write_nest_lock(sem, &mm->mmap_lock): the n-th instance of its class gets subclass n. */
function* down_write_nest_lock(sem: import('../sync/rwsem.js').rw_semaphore, nth: number): Task<void> {
  BUG_ON(nth >= MAX_LOCKDEP_SUBCLASSES, `mm_take_all_locks: more than ${MAX_LOCKDEP_SUBCLASSES} instances of ${sem.lock_class.name}`);
  yield* down_write_nested(sem, nth);
}

/** vm_lock_anon_vma(mm, anon_vma): write-lock the root once (the rb_root bit marks it). */
export function* vm_lock_anon_vma(av: anon_vma): Task<void> {
  const s = state();
  const root = av.root;
  if (s.anon_vmas.has(root)) return;
  // The LSB of the rb_root pointer is the mark; taken under mm_all_locks_mutex.
  yield* down_write_nest_lock(root.rwsem, s.anon_vmas.size);
  s.anon_vmas.add(root);
}

/** vm_lock_mapping(mm, mapping): i_mmap_rwsem once per mapping (AS_MM_ALL_LOCKS). */
export function* vm_lock_mapping(mapping: address_space): Task<void> {
  const s = state();
  if (s.mappings.has(mapping)) return;
  yield* down_write_nest_lock(mapping.i_mmap_rwsem, s.mappings.size);
  s.mappings.add(mapping);
}

/**
 * mm_take_all_locks(mm): write-lock every VMA (6.4+), then take every i_mmap_rwsem and anon_vma
 * lock of the mm. Returns 0 with all held (and mm_all_locks_mutex), or -EINTR with none (a fatal
 * signal between steps: mm_drop_all_locks). Locks: mmap_write_lock held (asserted).
 */
export function* mm_take_all_locks(mm: mm_struct): Task<number> {
  k.fn.mmap_assert_write_locked(mm);
  const s = state();
  yield* mutex_lock(s.mutex);
  // vma_start_write() does not have a complement in mm_drop_all_locks() because
  // vma_start_write() is always asymmetrical; it marks a VMA as being written to until
  // mmap_write_unlock() or mmap_write_downgrade() is reached.
  const vmas = k.fn.sim_vmas(mm);
  for (const vma of vmas) {
    if (fatal_signal_pending()) return out_unlock(mm);
    yield step('mm_take_all_locks:for_each_vma', vma);
    yield* k.fn.vma_start_write(vma);
  }
  // (hugetlb mappings first: none exist here)
  for (const vma of vmas) {
    if (fatal_signal_pending()) return out_unlock(mm);
    if (vma.vm_file) yield* k.fn.vm_lock_mapping(vma.vm_file.f_mapping);
  }
  for (const vma of vmas) {
    if (fatal_signal_pending()) return out_unlock(mm);
    if (vma.anon_vma) for (const avc of vma.anon_vma_chain) yield* k.fn.vm_lock_anon_vma(avc.anon_vma);
  }
  // Every lock held: from here to mm_drop_all_locks no page table may change (sim_mm_all_locks_check).
  state().windows.set(mm, sim_page_tables_snapshot(mm));
  return 0;
}

function out_unlock(mm: mm_struct): number {
  k.fn.mm_drop_all_locks(mm);
  return -EINTR;
}

/**
 * mm_drop_all_locks(mm): release every rmap lock mm_take_all_locks took and the mutex — but not
 * the VMA write locks (they end with the mmap_lock write epoch). Locks: mmap_write_lock held,
 * mm_all_locks_mutex held (BUG_ON).
 */
export function mm_drop_all_locks(mm: mm_struct): void {
  k.fn.mmap_assert_write_locked(mm);
  const s = state();
  BUG_ON(!mutex_is_locked(s.mutex), 'mm_drop_all_locks: mm_all_locks_mutex not held');
  const snap = s.windows.get(mm);
  if (snap !== undefined) {
    s.windows.delete(mm);
    k.fn.sim_mm_all_locks_check(mm, snap);
  }
  for (const vma of k.fn.sim_vmas(mm)) {
    if (vma.anon_vma) {
      for (const avc of vma.anon_vma_chain) {
        const root = avc.anon_vma.root;
        if (s.anon_vmas.delete(root)) up_write(root.rwsem); // vm_unlock_anon_vma
      }
    }
    if (vma.vm_file) {
      const mapping = vma.vm_file.f_mapping;
      if (s.mappings.delete(mapping)) up_write(mapping.i_mmap_rwsem); // vm_unlock_mapping
    }
  }
  mutex_unlock(s.mutex);
}

/**
 * __mmu_notifier_register(subscription, mm): with mmap_write_lock held, take all locks so no
 * page-table change is in flight, add the subscription, drop them. 0 or -EINTR.
 */
export function* __mmu_notifier_register(subscription: mmu_notifier, mm: mm_struct): Task<number> {
  k.fn.mmap_assert_write_locked(mm);
  const ret = yield* k.fn.mm_take_all_locks(mm);
  if (ret) return ret;
  yield step('__mmu_notifier_register:hlist_add_head_rcu', mm);
  const s = state();
  const subs = s.subscriptions.get(mm) ?? [];
  subs.push(subscription);
  s.subscriptions.set(mm, subs);
  k.fn.mm_drop_all_locks(mm);
  return 0;
}

/** Every PMD entry of the mm with its table's write stamp (what a page-table change moves). */
function sim_page_tables_snapshot(mm: mm_struct): unknown[] {
  // (declared below __mmu_notifier_register; hoisted)
  const out: unknown[] = [];
  for (const pmd of mm.pgd.values()) out.push(pmd, pmd.table, pmd.huge, pmd.table ? sim_kasan_write_stamp(pmd.table) : 0);
  return out;
}

/**
 * The contract of mm_take_all_locks ("This operation locks against the VM for all pte/vma/mm
 * related operations that could ever happen on a certain mm. This includes vmtruncate,
 * try_to_unmap, and all page faults", mm/vma.c): no page table of the mm changed between taking
 * all the locks and dropping them — a change in flight would be missed by the notifier being
 * registered (it saw no subscriber when it began, so it calls no invalidate_range_start, and the
 * secondary MMU keeps a stale translation). Violation 'mm-all-locks' otherwise.
 */
export function sim_mm_all_locks_check(mm: mm_struct, snap: readonly unknown[]): void {
  const now = sim_page_tables_snapshot(mm);
  if (now.length === snap.length && now.every((x, i) => x === snap[i])) return;
  throw new Violation('mm-all-locks',
    `${mm.name}: a page table changed while mm_take_all_locks held every lock of the mm (an MMU notifier registration would miss it)`,
    ['mm_take_all_locks locks against every page-table change of the mm (faults under the VMA lock included since eeff9a5d47f8);',
      'a change in flight is not notified to the subscriber being registered (its secondary MMU keeps a stale translation)']);
}

/** mmu_notifier_register(subscription, mm): mmap_write_lock around __mmu_notifier_register. */
export function* mmu_notifier_register(subscription: mmu_notifier, mm: mm_struct): Task<number> {
  yield* k.fn.mmap_write_lock(mm);
  const ret = yield* k.fn.__mmu_notifier_register(subscription, mm);
  k.fn.mmap_write_unlock(mm);
  return ret;
}

/** mm->notifier_subscriptions of mm (tests). */
export function sim_mmu_notifier_subscriptions(mm: mm_struct): readonly mmu_notifier[] {
  return state().subscriptions.get(mm) ?? [];
}
