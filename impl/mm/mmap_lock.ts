/**
 * Kernel: include/linux/mmap_lock.h, mm/mmap_lock.c (6.15+: VMA locks, lock_vma_under_rcu,
 * lock_mm_and_find_vma), include/linux/mm.h and mm/memory.c (6.4–6.14: the rwsem VMA lock
 * inlines and lock_vma_under_rcu) — the mmap_lock wrappers and the per-VMA locks of each era
 * (kernel.md §1.1, §1.2; invariants I1, I3, I5, I7, I8, I22).
 *
 * Eras, read from k.cfg where the kernel's code differs:
 * - per_vma_lock false (≤6.3): no VMA locks; vma_start_write is a no-op, vma_assert_write_locked
 *   is mmap_assert_write_locked, lock_vma_under_rcu returns NULL (the !CONFIG_PER_VMA_LOCK stubs).
 * - vma_lock_impl 'rwsem' (6.4–6.14, 5e31275cc997 …): vma->vm_lock rwsem + vm_lock_seq +
 *   vma->detached. vma_start_read: early racy seq check, down_read_trylock (never sleeps),
 *   authoritative seq re-check (smp_load_acquire, b1f02b95758d); vma_start_write: down_write
 *   (waits for readers), vm_lock_seq = mm_lock_seq, up_write; vma_end_read under rcu_read_lock
 *   ("keeps vma alive till the end of up_read"). The caller of vma_start_read keeps RCU.
 * - vma_lock_impl 'refcount' (6.15+, "mm: replace vm_lock and detached flag with a reference
 *   count"): vma->vm_refcnt (0 detached, 1 attached, 1+n readers, +VMA_LOCK_OFFSET while a
 *   writer excludes readers). vma_start_read takes a bounded reference
 *   (__refcount_inc_not_zero_limited_acquire), fails with -EAGAIN when the VMA is detached,
 *   re-checks vm_mm == mm for an object recycled by SLAB_TYPESAFE_BY_RCU (pinning the other mm
 *   around the put: 9bbffee67ffd), re-checks the seq; on failure it RELEASES RCU (as mm/mmap_lock.c
 *   does since 9bbffee67ffd). The writer drains readers on mm->vma_writer_wait (rcuwait);
 *   vma_mark_detached waits out transient readers.
 * - mm_lock_seq 'int' (≤6.12): bumped at vma_end_write_all only; 'seqcount' (6.13+,
 *   "mm: convert mm_lock_seq to a proper seqcount"): odd from mmap_write_lock to
 *   vma_end_write_all. Either way vm_lock_seq == mm_lock_seq ⇔ write-locked in this epoch, and
 *   vma_end_write_all (at mmap_write_unlock / mmap_write_downgrade) releases every VMA write
 *   lock of the epoch at once (I1).
 *
 * lock_vma_under_rcu follows each era's check order: 6.4 (anonymous VMAs only, anon_vma checked
 * before (6.4.0, B10) or after (657b5146955e) vma_start_read, userfaultfd-armed VMAs refused,
 * detached → VMA_LOCK_MISS retry), 6.6–6.9 (file VMAs too; anon_vma check after the lock),
 * 6.10–6.14 (no anon_vma check), 6.15+ (mm/mmap_lock.c: IS_ERR_OR_NULL, -EAGAIN retry, range
 * re-check after the lock).
 *
 * Left out: tracepoints, lock statistics beyond count_vm_vma_lock_event, lock_vma_under_rcu_wait
 * and lock_next_vma (/proc, owned by task_mmu), the arch exception-table search (pt_regs says
 * whether a fixup exists), mmap_lock seq overflow (the counters never wrap here).
 */
import { current, currentExecution, inTask } from '../rt/execution.js';
import { step, Violation, type Task } from '../rt/task.js';
import { k, count_vm_vma_lock_event } from '../sim/kernel.js';
import {
  VMA_LOCK_OFFSET, VMA_REF_LIMIT, type mm_struct, type pt_regs, type vm_area_struct,
} from '../include/linux/mm_types.js';
import { VM_GROWSDOWN, VM_UFFD_FLAGS } from '../include/linux/mm_flags.js';
import { EAGAIN } from '../include/linux/errno.js';
import { VM_BUG_ON_VMA } from '../include/linux/mmdebug.js';
import {
  down_read, down_read_killable, down_read_trylock, down_write, down_write_killable, down_write_nested,
  down_write_trylock, downgrade_write, rwsem_is_locked, up_read, up_write,
} from '../sync/rwsem.js';
import {
  lockdep_assert_held, lockdep_assert_held_write, lockdep_map, rwsem_acquire, rwsem_acquire_read, rwsem_release,
  sim_lockdep_acquire_check, sim_lockdep_acquired, sim_lockdep_enabled, sim_lockdep_held_mode,
} from '../sync/lockdep.js';
import { rcu_read_lock, rcu_read_unlock } from '../sync/rcu.js';
import { rcuwait_wait_event, rcuwait_wake_up } from '../sync/wait.js';
import { TASK_KILLABLE, TASK_UNINTERRUPTIBLE, sim_task_label } from '../sync/sched.js';
import { kasan_check_read, kasan_check_write } from '../sync/kasan.js';

/** Loosely typed access to kernel functions of other modules that may not exist yet. */
type KernelCall = (...args: never[]) => Task<unknown>;
function kfn(name: string): ((...a: unknown[]) => Task<unknown>) | undefined {
  return (k.fn as unknown as Record<string, KernelCall | undefined>)[name] as ((...a: unknown[]) => Task<unknown>) | undefined;
}

/** A failed lockdep assertion, re-raised under the name of the kernel assertion that made it. */
function sim_assert_failed(what: string, e: unknown): unknown {
  if (e instanceof Violation) return new Violation(e.property, `${what}: ${e.message}`, [`${what} failed:`, ...e.report]);
  return e;
}

// ---------------------------------------------------------------------------------------------
// mmap_lock assertions

/**
 * mmap_assert_locked(mm): rwsem_assert_held(&mm->mmap_lock) — the running task holds mmap_lock
 * in either mode (lockdep).
 */
export function mmap_assert_locked(mm: mm_struct): void {
  try {
    lockdep_assert_held(mm.mmap_lock);
  } catch (e) {
    throw sim_assert_failed(`mmap_assert_locked(${mm.name})`, e);
  }
}

/** mmap_assert_write_locked(mm): rwsem_assert_held_write(&mm->mmap_lock). */
export function mmap_assert_write_locked(mm: mm_struct): void {
  try {
    lockdep_assert_held_write(mm.mmap_lock);
  } catch (e) {
    throw sim_assert_failed(`mmap_assert_write_locked(${mm.name})`, e);
  }
}

// ---------------------------------------------------------------------------------------------
// mm->mm_lock_seq

/** 6.13+: mm_lock_seq is a seqcount odd while mmap_lock is write-locked. */
function seqcount_era(): boolean {
  return k.cfg.per_vma_lock && k.cfg.mm_lock_seq === 'seqcount';
}

function seq_violation(mm: mm_struct, what: string): Violation {
  return new Violation('seqcount', `${what} on ${mm.name}->mm_lock_seq (sequence ${mm.mm_lock_seq})`, [
    `WARNING: ${what}: ${mm.name}->mm_lock_seq sequence ${mm.mm_lock_seq}` +
      (inTask() ? ` by ${sim_task_label(current())} at step ${currentExecution().step}` : ''),
  ]);
}

/** mm_lock_seqcount_begin(mm) (6.13+): do_raw_write_seqcount_begin — the sequence becomes odd. */
export function mm_lock_seqcount_begin(mm: mm_struct): void {
  if (!seqcount_era()) return;
  if ((mm.mm_lock_seq & 1) !== 0) throw seq_violation(mm, 'mm_lock_seqcount_begin with a write section open');
  mm.mm_lock_seq++;
}

/** mm_lock_seqcount_end(mm) (6.13+): do_raw_write_seqcount_end — even again. */
export function mm_lock_seqcount_end(mm: mm_struct): void {
  if ((mm.mm_lock_seq & 1) === 0) throw seq_violation(mm, 'mm_lock_seqcount_end without mm_lock_seqcount_begin');
  mm.mm_lock_seq++;
}

/**
 * mmap_lock_speculate_try_begin(mm, &seq) (6.13+): raw_seqcount_try_begin — false while
 * mmap_lock is write-locked (odd). Before the seqcount (int era) there is no speculation: false.
 */
export function mmap_lock_speculate_try_begin(mm: mm_struct): { readonly ok: boolean; readonly seq: number } {
  const seq = mm.mm_lock_seq;
  if (!seqcount_era()) return { ok: false, seq };
  return { ok: (seq & 1) === 0, seq };
}

/** mmap_lock_speculate_retry(mm, seq): read_seqcount_retry — a writer ran since `seq`. */
export function mmap_lock_speculate_retry(mm: mm_struct, seq: number): boolean {
  return mm.mm_lock_seq !== seq;
}

/**
 * vma_end_write_all(mm): release every VMA write lock taken since mmap_write_lock, at once.
 * ≤6.12: smp_store_release(&mm->mm_lock_seq, mm->mm_lock_seq + 1); 6.13+: mm_lock_seqcount_end.
 * Locks: mmap_write_lock held. "This should normally NOT be called manually from other places":
 * it releases the VMA write locks of callers up the stack too.
 */
export function vma_end_write_all(mm: mm_struct): void {
  k.fn.mmap_assert_write_locked(mm);
  if (!k.cfg.per_vma_lock) return;
  if (k.cfg.mm_lock_seq === 'seqcount') k.fn.mm_lock_seqcount_end(mm);
  else mm.mm_lock_seq++;
}

// ---------------------------------------------------------------------------------------------
// mmap_lock wrappers (include/linux/mmap_lock.h)

// Every wrapper touches the rwsem inside the mm_struct: KASAN checks the mm (a pointer kept
// without mmget/mmgrab may outlive it: impl/mm/fork.ts). The check of a lock that waits is
// repeated when the lock is granted (the waiter touches the rwsem again).

/** mmap_read_lock(mm): down_read(&mm->mmap_lock). */
export function* mmap_read_lock(mm: mm_struct): Task<void> {
  kasan_check_write(mm, 'mmap_read_lock');
  yield* down_read(mm.mmap_lock);
  kasan_check_write(mm, 'mmap_read_lock');
}

/** mmap_read_lock_killable(mm): 0, or -EINTR when SIGKILL arrives while waiting. */
export function* mmap_read_lock_killable(mm: mm_struct): Task<number> {
  kasan_check_write(mm, 'mmap_read_lock_killable');
  const ret = yield* down_read_killable(mm.mmap_lock);
  kasan_check_write(mm, 'mmap_read_lock_killable');
  return ret;
}

/** mmap_read_trylock(mm): true when taken (never waits; fails behind a queued writer). */
export function* mmap_read_trylock(mm: mm_struct): Task<boolean> {
  kasan_check_write(mm, 'mmap_read_trylock');
  const ok = yield* down_read_trylock(mm.mmap_lock);
  kasan_check_write(mm, 'mmap_read_trylock');
  return ok;
}

/** mmap_read_unlock(mm): up_read(&mm->mmap_lock). */
export function mmap_read_unlock(mm: mm_struct): void {
  kasan_check_write(mm, 'mmap_read_unlock');
  up_read(mm.mmap_lock);
}

/** mmap_write_lock(mm): down_write, then (6.13+) mm_lock_seqcount_begin — a new VMA-lock epoch. */
export function* mmap_write_lock(mm: mm_struct): Task<void> {
  kasan_check_write(mm, 'mmap_write_lock');
  yield* down_write(mm.mmap_lock);
  kasan_check_write(mm, 'mmap_write_lock');
  k.fn.mm_lock_seqcount_begin(mm);
}

/** mmap_write_lock_nested(mm, subclass): down_write_nested (fork: the child's mm). */
export function* mmap_write_lock_nested(mm: mm_struct, subclass: number): Task<void> {
  kasan_check_write(mm, 'mmap_write_lock_nested');
  yield* down_write_nested(mm.mmap_lock, subclass);
  kasan_check_write(mm, 'mmap_write_lock_nested');
  k.fn.mm_lock_seqcount_begin(mm);
}

/** mmap_write_lock_killable(mm): 0 (locked, new epoch), or -EINTR. */
export function* mmap_write_lock_killable(mm: mm_struct): Task<number> {
  kasan_check_write(mm, 'mmap_write_lock_killable');
  const ret = yield* down_write_killable(mm.mmap_lock);
  kasan_check_write(mm, 'mmap_write_lock_killable');
  if (ret === 0) k.fn.mm_lock_seqcount_begin(mm);
  return ret;
}

/** mmap_write_trylock(mm): true when taken (only on an idle lock). */
export function* mmap_write_trylock(mm: mm_struct): Task<boolean> {
  kasan_check_write(mm, 'mmap_write_trylock');
  const ok = yield* down_write_trylock(mm.mmap_lock);
  kasan_check_write(mm, 'mmap_write_trylock');
  if (ok) k.fn.mm_lock_seqcount_begin(mm);
  return ok;
}

/** mmap_write_unlock(mm): vma_end_write_all(mm); up_write(&mm->mmap_lock). */
export function mmap_write_unlock(mm: mm_struct): void {
  kasan_check_write(mm, 'mmap_write_unlock');
  k.fn.vma_end_write_all(mm);
  up_write(mm.mmap_lock);
}

/** mmap_write_downgrade(mm): vma_end_write_all(mm); downgrade_write — W → R atomically. */
export function mmap_write_downgrade(mm: mm_struct): void {
  kasan_check_write(mm, 'mmap_write_downgrade');
  k.fn.vma_end_write_all(mm);
  downgrade_write(mm.mmap_lock);
}

// ---------------------------------------------------------------------------------------------
// Per-VMA lock bookkeeping (simulation only)

/*
 * The bookkeeping lives on the VMA (vma->sim_transient_readers, vma->vmlock_dep_map), never in
 * this module: a variant's copy of vma_start_read (or of any function here) must count the same
 * holds and acquire the same lockdep map as the base code beside it
 * (test/impl/override_identity.test.ts).
 */

/**
 * Holds taken inside vma_start_read and not yet confirmed by its re-checks (a trylock or a
 * reference that the seq / vm_mm check may still drop). They are not read locks: the kernel's
 * readers take them while the VMA may be write-locked and give them back at once.
 */
function transient_add(vma: vm_area_struct, d: number): void {
  vma.sim_transient_readers += d;
}

/**
 * vma->vmlock_dep_map (6.15+): the lockdep map of the refcount VMA lock (class 'vma_lock'); a
 * variant that replaces vma_start_read must acquire it as the kernel's __vma_lockdep_acquire_read.
 */
export function sim_vmlock_dep_map(vma: vm_area_struct): lockdep_map {
  return vmlock_dep_map(vma);
}
function vmlock_dep_map(vma: vm_area_struct): lockdep_map {
  let m = vma.vmlock_dep_map;
  if (m === null) {
    m = new lockdep_map(`${vma.name}->vm_lock`, 'vma_lock');
    vma.vmlock_dep_map = m;
  }
  return m;
}

/** The VMA-lock state of a VMA (sim_vma_lock_state). */
export interface sim_vma_lock_state_t {
  /** Confirmed read locks (vma_start_read succeeded, or vma_start_read_locked) not yet released. */
  readonly readers: number;
  /** vm_lock_seq == mm_lock_seq: write-locked in the current mmap_lock write epoch. */
  readonly writeLocked: boolean;
  /** Not attached to the tree (6.4–6.14 vma->detached; 6.15+ vm_refcnt base 0). */
  readonly detached: boolean;
}

/**
 * The VMA-lock state, as a pure predicate for properties/ (no step): invariant I3 is
 * `!(readers > 0 && writeLocked)` at every step. Holds taken inside vma_start_read before its
 * re-checks are not counted (they are not read locks); a variant that replaces vma_start_read
 * gets all its holds counted.
 */
export function sim_vma_lock_state(vma: vm_area_struct): sim_vma_lock_state_t {
  if (!k.cfg.per_vma_lock) return { readers: 0, writeLocked: false, detached: vma.detached };
  const writeLocked = vma.vm_lock_seq === vma.vm_mm.mm_lock_seq;
  const t = vma.sim_transient_readers;
  if (k.cfg.vma_lock_impl === 'rwsem') {
    return { readers: vma.vm_lock.readers - t, writeLocked, detached: vma.detached };
  }
  const refs = vma.vm_refcnt & ~VMA_LOCK_OFFSET;
  const base = vma.detached ? 0 : 1;
  return { readers: Math.max(0, refs - base - t), writeLocked, detached: vma.detached };
}

// ---------------------------------------------------------------------------------------------
// vm_refcnt (6.15+): the kernel's refcount_t operations on vma->vm_refcnt

function refcnt_violation(vma: vm_area_struct, msg: string, op: string): Violation {
  const who = inTask() ? sim_task_label(current()) : '(setup)';
  return new Violation('refcount', `${msg} (${op} on ${vma.name}->vm_refcnt, count ${vma.vm_refcnt}, ${who})`, [
    '------------[ cut here ]------------',
    msg,
    `WARNING: at ${op} on ${vma.name}->vm_refcnt (count ${vma.vm_refcnt}) by ${who}`,
  ]);
}

/** __refcount_inc_not_zero_limited_acquire(&vma->vm_refcnt, &old, VM_REFCNT_LIMIT). */
function vm_refcnt_inc_limited(vma: vm_area_struct): { ok: boolean; old: number } {
  const old = vma.vm_refcnt;
  if (old === 0 || 1 > VMA_REF_LIMIT - old) return { ok: false, old };
  vma.vm_refcnt = old + 1;
  return { ok: true, old };
}

/** __vma_refcount_put_return(vma): decrement; the count after it (0: now detached). */
export function __vma_refcount_put_return(vma: vm_area_struct): number {
  if (vma.vm_refcnt <= 0) throw refcnt_violation(vma, 'refcount_t: underflow; use-after-free.', '__refcount_dec_and_test');
  return --vma.vm_refcnt;
}

/** __vma_are_readers_excluded(refcnt): a writer is excluding readers and only it is left. */
export function __vma_are_readers_excluded(refcnt: number): boolean {
  return (refcnt & VMA_LOCK_OFFSET) !== 0 && refcnt <= VMA_LOCK_OFFSET + 1;
}

/**
 * vma_refcount_put(vma) (6.15+): drop a read reference; the last reader wakes a writer waiting
 * to exclude readers (rcuwait_wake_up(&mm->vma_writer_wait), mm read before the decrement since
 * the VMA may be freed after it). The wake-up is a step of its own: between the decrement and it
 * the writer may stop waiting, finish, and its mm be freed — the caller must keep `mm` alive
 * (its own mm, or mmgrab for a recycled VMA of another mm: 9bbffee67ffd).
 */
export function* vma_refcount_put(vma: vm_area_struct): Task<void> {
  // Use a copy of vm_mm in case vma is freed after we drop vm_refcnt.
  const mm = vma.vm_mm;
  rwsem_release(vmlock_dep_map(vma), 'vma_refcount_put');
  const newcnt = k.fn.__vma_refcount_put_return(vma);
  if (newcnt !== 0 && k.fn.__vma_are_readers_excluded(newcnt)) {
    // (Without a wake-up nothing after the decrement touches shared memory: no step needed.)
    yield step('vma_refcount_put:rcuwait_wake_up', mm);
    kasan_check_read(mm, 'rcuwait_wake_up (vma_refcount_put)');
    rcuwait_wake_up(mm.vma_writer_wait);
  }
}

// ---------------------------------------------------------------------------------------------
// VMA read locks

/** vma_is_anonymous(vma) (include/linux/mm.h): no vm_ops. */
function vma_is_anonymous(vma: vm_area_struct): boolean {
  return vma.vm_ops === null;
}

/** userfaultfd_armed(vma) (include/linux/userfaultfd_k.h). */
function userfaultfd_armed(vma: vm_area_struct): boolean {
  return (vma.vm_flags & VM_UFFD_FLAGS) !== 0;
}

/**
 * vma_start_read(mm, vma): try to read-lock a VMA found under RCU; never sleeps. Returns the VMA
 * when locked, null when it could not be locked (write-locked, a writer excluding readers,
 * recycled for another mm — fall back to mmap_lock), or -EAGAIN (6.15+) when it was detached.
 * Locks: rcu_read_lock held on entry. 6.4–6.14: RCU still held on return. 6.15+: on failure RCU
 * IS RELEASED (mm/mmap_lock.c), on success still held.
 * A false "locked" result is allowed (fallback); a false "unlocked" one never (I22).
 */
export function* vma_start_read(mm: mm_struct, vma: vm_area_struct): Task<vm_area_struct | null | number> {
  if (!k.cfg.per_vma_lock) return null;
  if (k.cfg.vma_lock_impl === 'rwsem') {
    // Check before locking. A race might cause false locked result (READ_ONCE, no ACQUIRE).
    yield step('vma_start_read:vm_lock_seq', vma);
    kasan_check_read(vma, 'vma_start_read');
    if (vma.vm_lock_seq === vma.vm_mm.mm_lock_seq) return null;
    if (!(yield* down_read_trylock(vma.vm_lock))) return null;
    transient_add(vma, 1);
    // Overflow might produce false locked result; false unlocked is impossible: vm_lock_seq is
    // written under vm_lock and every mm_lock_seq change invalidates old values.
    // smp_load_acquire pairs with vma_end_write_all's release.
    yield step('vma_start_read:mm_lock_seq', vma);
    transient_add(vma, -1);
    if (vma.vm_lock_seq === vma.vm_mm.mm_lock_seq) {
      up_read(vma.vm_lock);
      return null;
    }
    return vma;
  }

  // 6.15+ (mm/mmap_lock.c).
  yield step('vma_start_read:vm_lock_seq', vma);
  kasan_check_read(vma, 'vma_start_read');
  if (vma.vm_lock_seq === mm.mm_lock_seq) {
    rcu_read_unlock();
    return null;
  }
  // If VMA_LOCK_OFFSET is set the limited increment fails (VM_REFCNT_LIMIT < VMA_LOCK_OFFSET).
  yield step('vma_start_read:vm_refcnt', vma);
  const r = vm_refcnt_inc_limited(vma);
  if (!r.ok) {
    rcu_read_unlock();
    return r.old !== 0 ? null : -EAGAIN; // detached from under us
  }
  transient_add(vma, 1);
  rwsem_acquire_read(vmlock_dep_map(vma), 0, true, 'vma_start_read');
  // The reference is taken: from here a writer may start excluding readers before this reader
  // drops it again (the step below). The vm_mm read is moved after that step, beside the seq
  // read: with the reference held the VMA cannot be detached and recycled, so vm_mm is stable.
  yield step('vma_start_read:mm_lock_seq', vma);
  transient_add(vma, -1);
  if (vma.vm_mm !== mm) {
    // Recycled for another mm (SLAB_TYPESAFE_BY_RCU). That mm can be freed once vm_refcnt drops
    // and before rcuwait_wake_up(mm): pin it around the put (9bbffee67ffd).
    const other_mm = vma.vm_mm;
    rcu_read_unlock();
    k.fn.mmgrab(other_mm);
    yield* k.fn.vma_refcount_put(vma);
    k.fn.mmdrop(other_mm);
    return null;
  }
  // raw_read_seqcount(&mm->mm_lock_seq), ACQUIRE: pairs with vma_end_write_all.
  if (vma.vm_lock_seq === mm.mm_lock_seq) {
    yield* k.fn.vma_refcount_put(vma);
    rcu_read_unlock();
    return null;
  }
  return vma;
}

/**
 * vma_end_read(vma): drop a VMA read lock. 6.4–6.14: rcu_read_lock(); up_read(); rcu_read_unlock()
 * — RCU keeps the VMA alive until up_read finished touching it (the simulated up_read hands the
 * lock to a waiting writer in the same step: no window inside it). 6.15+: vma_refcount_put, whose
 * wake-up of a waiting writer is a step of its own.
 */
export function* vma_end_read(vma: vm_area_struct): Task<void> {
  if (!k.cfg.per_vma_lock) return;
  if (k.cfg.vma_lock_impl === 'rwsem') {
    rcu_read_lock();
    kasan_check_read(vma, 'vma_end_read');
    up_read(vma.vm_lock);
    rcu_read_unlock();
    return;
  }
  yield* k.fn.vma_refcount_put(vma);
}

/**
 * vma_start_read_locked(vma): read-lock a VMA while holding mmap_lock, which guarantees that
 * nobody can write-lock it concurrently, so only a refcount overflow can make it fail (used by
 * userfaultfd and the /proc fallback instead of vma_start_read, which may fail spuriously).
 * Locks: mmap_lock held (asserted). Not a scheduling point (atomic with the caller's step).
 */
export function vma_start_read_locked(vma: vm_area_struct): boolean {
  k.fn.mmap_assert_locked(vma.vm_mm);
  if (!k.cfg.per_vma_lock) return false;
  if (k.cfg.vma_lock_impl === 'rwsem') {
    // down_read(&vma->vm_lock->lock): cannot wait — a writer would need mmap_write_lock.
    const sem = vma.vm_lock;
    if (sem.owner !== -1 || sem.wait_list.length !== 0) {
      throw new Violation('BUG', `vma_start_read_locked: ${vma} vm_lock is held for write under mmap_lock`, [
        `kernel BUG: ${vma.name}->vm_lock write-held or contended while ${vma.vm_mm.name}->mmap_lock is held`,
      ]);
    }
    sim_lockdep_acquire_check(sem, sem.lock_class, 'down_read');
    sem.readers++;
    sem.readerIds.push(current().id);
    sim_lockdep_acquired(sem, sem.lock_class, 1, false, 'down_read');
    return true;
  }
  if (!vm_refcnt_inc_limited(vma).ok) return false;
  rwsem_acquire_read(vmlock_dep_map(vma), 0, true, 'vma_start_read_locked');
  return true;
}

// ---------------------------------------------------------------------------------------------
// VMA write locks

/**
 * __vma_raw_mm_seqnum(vma) / __is_vma_write_locked(vma, &mm_lock_seq): the current epoch's
 * sequence; valid only under mmap_write_lock (asserted, I1).
 */
export function __vma_raw_mm_seqnum(vma: vm_area_struct): number {
  k.fn.mmap_assert_write_locked(vma.vm_mm);
  return vma.vm_mm.mm_lock_seq;
}

/** __is_vma_write_locked(vma): vm_lock_seq == mm_lock_seq. Locks: mmap_write_lock (asserted). */
export function __is_vma_write_locked(vma: vm_area_struct): boolean {
  return vma.vm_lock_seq === k.fn.__vma_raw_mm_seqnum(vma);
}

/** __vma_end_exclude_readers (6.15+): drop VMA_LOCK_OFFSET; true when the VMA is now detached. */
export function __vma_end_exclude_readers(vma: vm_area_struct): boolean {
  vma.vm_refcnt -= VMA_LOCK_OFFSET;
  if (vma.vm_refcnt < 0) throw refcnt_violation(vma, 'refcount_t: underflow; use-after-free.', 'refcount_sub_and_test');
  rwsem_release(vmlock_dep_map(vma), '__vma_end_exclude_readers');
  return vma.vm_refcnt === 0;
}

/**
 * __vma_start_exclude_readers (6.15+): add VMA_LOCK_OFFSET unless detached, then sleep on
 * mm->vma_writer_wait until the readers are gone (vm_refcnt == OFFSET + 1, or OFFSET when
 * detaching). -EINTR for a TASK_KILLABLE wait interrupted by SIGKILL (the offset is dropped).
 */
export function* __vma_start_exclude_readers(vma: vm_area_struct, state: number, detaching: boolean): Task<{ err: number; detached: boolean; exclusive: boolean }> {
  k.fn.mmap_assert_write_locked(vma.vm_mm);
  // refcount_add_not_zero(VMA_LOCK_OFFSET, &vma->vm_refcnt): only vma_mark_attached raises a 0.
  if (vma.vm_refcnt === 0) return { err: 0, detached: true, exclusive: false };
  vma.vm_refcnt += VMA_LOCK_OFFSET;
  rwsem_acquire(vmlock_dep_map(vma), 0, false, '__vma_start_write');
  const tgt = VMA_LOCK_OFFSET + (detaching ? 0 : 1);
  const err = yield* rcuwait_wait_event(vma.vm_mm.vma_writer_wait, () => vma.vm_refcnt === tgt, state);
  if (err !== 0) {
    const detached = k.fn.__vma_end_exclude_readers(vma);
    return { err, detached, exclusive: false };
  }
  return { err: 0, detached: false, exclusive: true };
}

/**
 * __vma_start_write(vma, state): take the VMA write lock, waiting for current readers.
 * 6.4–6.14: down_write(&vma->vm_lock->lock); WRITE_ONCE(vm_lock_seq, mm_lock_seq); up_write —
 * the rwsem is released at once: the lock is the sequence. 6.15+: exclude readers, set the
 * sequence, drop the exclusion. Returns 0 or -EINTR (TASK_KILLABLE only).
 * Locks: mmap_write_lock held (asserted, I1).
 */
export function* __vma_start_write(vma: vm_area_struct, state: number): Task<number> {
  const mm_lock_seq = k.fn.__vma_raw_mm_seqnum(vma);
  if (k.cfg.vma_lock_impl === 'rwsem') {
    if (state === TASK_KILLABLE) {
      const ret = yield* down_write_killable(vma.vm_lock);
      if (ret !== 0) return ret;
    } else {
      yield* down_write(vma.vm_lock);
    }
    // WRITE_ONCE: the early check in vma_start_read reads it locklessly.
    vma.vm_lock_seq = mm_lock_seq;
    up_write(vma.vm_lock);
    return 0;
  }
  yield step('__vma_start_write:vm_refcnt', vma);
  const ves = yield* k.fn.__vma_start_exclude_readers(vma, state, false);
  if (ves.err !== 0) {
    if (ves.detached) throw refcnt_violation(vma, 'WARNING: detached while excluding readers', '__vma_start_write');
    return ves.err;
  }
  vma.vm_lock_seq = mm_lock_seq;
  if (ves.exclusive && k.fn.__vma_end_exclude_readers(vma)) {
    // WARN_ON_ONCE(ves.detached): the VMA should remain attached.
    throw refcnt_violation(vma, 'WARNING: VMA detached by __vma_start_write', '__vma_start_write');
  }
  return 0;
}

/**
 * vma_start_write(vma): write-lock a VMA until the mmap_lock write epoch ends
 * (vma_end_write_all). Waits (uninterruptibly) for the VMA's readers; new readers fail and fall
 * back. A VMA already write-locked in this epoch returns at once.
 * Locks: mmap_write_lock held (asserted, I1); lock order mmap_lock → vma write lock → i_mmap …
 */
export function* vma_start_write(vma: vm_area_struct): Task<void> {
  if (!k.cfg.per_vma_lock) return;
  if (k.fn.__is_vma_write_locked(vma)) return;
  yield* k.fn.__vma_start_write(vma, TASK_UNINTERRUPTIBLE);
}

/**
 * vma_assert_write_locked(vma): the VMA is write-locked in the current epoch. Without per-VMA
 * locks: mmap_assert_write_locked(vma->vm_mm). 6.4–6.14: VM_BUG_ON_VMA; 6.15+:
 * VM_WARN_ON_ONCE_VMA (both violations here). Also asserts mmap_write_lock (__is_vma_write_locked).
 */
export function vma_assert_write_locked(vma: vm_area_struct): void {
  if (!k.cfg.per_vma_lock) {
    k.fn.mmap_assert_write_locked(vma.vm_mm);
    return;
  }
  const locked = k.fn.__is_vma_write_locked(vma);
  if (k.cfg.vma_lock_impl === 'rwsem') {
    VM_BUG_ON_VMA(!locked, vma, 'include/linux/mm.h: vma_assert_write_locked');
  } else if (!locked) {
    throw new Violation('VM_WARN_ON', `WARNING: vma_assert_write_locked: ${vma} not write-locked (vm_lock_seq ${vma.vm_lock_seq}, mm_lock_seq ${vma.vm_mm.mm_lock_seq})`, [
      `vma ${vma.name} start 0x${vma.vm_start.toString(16)} end 0x${vma.vm_end.toString(16)} mm ${vma.vm_mm.name}`,
      `vm_lock_seq ${vma.vm_lock_seq} mm_lock_seq ${vma.vm_mm.mm_lock_seq} vm_refcnt ${vma.vm_refcnt}`,
      'WARNING: CPU: 0 at include/linux/mmap_lock.h: vma_assert_write_locked',
    ]);
  }
}

/**
 * vma_assert_locked(vma): the VMA is read- or write-locked. Without per-VMA locks:
 * mmap_assert_locked. 6.4–6.14: !rwsem_is_locked(vm_lock) → vma_assert_write_locked. 6.15+: with
 * lockdep, the running task holds vmlock_dep_map, else vma_assert_write_locked; without lockdep
 * vm_refcnt > 1 suffices, 0 (detached) is a bug, 1 must be write-locked.
 */
export function vma_assert_locked(vma: vm_area_struct): void {
  if (!k.cfg.per_vma_lock) {
    k.fn.mmap_assert_locked(vma.vm_mm);
    return;
  }
  if (k.cfg.vma_lock_impl === 'rwsem') {
    if (!rwsem_is_locked(vma.vm_lock)) k.fn.vma_assert_write_locked(vma);
    return;
  }
  if (sim_lockdep_enabled()) {
    if (sim_lockdep_held_mode(vmlock_dep_map(vma)) === -1) k.fn.vma_assert_write_locked(vma);
    return;
  }
  if (vma.vm_refcnt > 1) return;
  if (vma.vm_refcnt === 0) {
    throw new Violation('VM_WARN_ON', `WARNING: vma_assert_locked: ${vma} is detached`, [
      `vma ${vma.name} vm_refcnt 0`, 'WARNING: CPU: 0 at include/linux/mmap_lock.h: vma_assert_locked',
    ]);
  }
  k.fn.vma_assert_write_locked(vma);
}

/** vma_is_attached(vma): 6.15+ vm_refcnt != 0; 6.4–6.14 !vma->detached. */
export function vma_is_attached(vma: vm_area_struct): boolean {
  if (k.cfg.per_vma_lock && k.cfg.vma_lock_impl === 'refcount') return vma.vm_refcnt !== 0;
  return !vma.detached;
}

/** vma_assert_attached(vma): WARN_ON_ONCE(!vma_is_attached(vma)). */
export function vma_assert_attached(vma: vm_area_struct): void {
  if (!k.fn.vma_is_attached(vma)) {
    throw new Violation('WARN_ON', `WARNING: vma_assert_attached: ${vma} is detached`, [
      `WARNING: CPU: 0 at include/linux/mmap_lock.h: vma_assert_attached (${vma.name}, vm_refcnt ${vma.vm_refcnt})`,
    ]);
  }
}

/** vma_assert_detached(vma): WARN_ON_ONCE(vma_is_attached(vma)). */
export function vma_assert_detached(vma: vm_area_struct): void {
  if (k.fn.vma_is_attached(vma)) {
    throw new Violation('WARN_ON', `WARNING: vma_assert_detached: ${vma} is attached`, [
      `WARNING: CPU: 0 at include/linux/mmap_lock.h: vma_assert_detached (${vma.name}, vm_refcnt ${vma.vm_refcnt})`,
    ]);
  }
}

/**
 * vma_mark_attached(vma): 6.15+ — assert write-locked and detached, then
 * refcount_set_release(&vm_refcnt, 1) (readers may find it from now on). 6.4–6.14:
 * vma_mark_detached(vma, false) — vma->detached = false, no assertion.
 */
export function vma_mark_attached(vma: vm_area_struct): void {
  if (!k.cfg.per_vma_lock) {
    vma.detached = false;
    return;
  }
  if (k.cfg.vma_lock_impl === 'rwsem') {
    vma.detached = false;
    return;
  }
  k.fn.vma_assert_write_locked(vma);
  k.fn.vma_assert_detached(vma);
  vma.vm_refcnt = 1;
  vma.detached = false;
}

/**
 * vma_mark_detached(vma): the VMA is about to leave the tree; readers that find it from now on
 * fail (6.4–6.14: the detached check in lock_vma_under_rcu → VMA_LOCK_MISS; 6.15+: refcount 0 →
 * -EAGAIN). Locks: the VMA write-locked (asserted, I8), hence mmap_write_lock. 6.15+: drops the
 * attach reference; if transient readers still hold references (they will see the VMA
 * write-locked and drop them), waits for them (__vma_exclude_readers_for_detach).
 */
export function* vma_mark_detached(vma: vm_area_struct): Task<void> {
  if (!k.cfg.per_vma_lock) {
    vma.detached = true;
    return;
  }
  k.fn.vma_assert_write_locked(vma);
  if (k.cfg.vma_lock_impl === 'rwsem') {
    vma.detached = true;
    return;
  }
  k.fn.vma_assert_attached(vma);
  yield step('vma_mark_detached:vm_refcnt', vma);
  vma.detached = true;
  if (k.fn.__vma_refcount_put_return(vma) === 0) return;
  yield* k.fn.__vma_exclude_readers_for_detach(vma);
}

/**
 * __vma_exclude_readers_for_detach(vma) (6.15+): wait until the transient readers dropped their
 * references, leaving vm_refcnt 0 (uninterruptible).
 */
export function* __vma_exclude_readers_for_detach(vma: vm_area_struct): Task<void> {
  const ves = yield* k.fn.__vma_start_exclude_readers(vma, TASK_UNINTERRUPTIBLE, true);
  let detached = ves.detached;
  if (ves.err === 0 && ves.exclusive) detached = k.fn.__vma_end_exclude_readers(vma);
  if (!detached) throw refcnt_violation(vma, 'WARNING: VMA still attached after __vma_exclude_readers_for_detach', 'vma_mark_detached');
}

// ---------------------------------------------------------------------------------------------
// lock_vma_under_rcu

/**
 * lock_vma_under_rcu(mm, address): look the VMA up under RCU and read-lock it, without mmap_lock.
 * Returns the VMA read-locked (stable, attached, of this mm, containing `address`), or null:
 * fall back to mmap_lock (counted VMA_LOCK_ABORT). A VMA detached between lookup and lock is
 * retried (VMA_LOCK_MISS). Locks: none on entry; on success the VMA read lock (release with
 * vma_end_read); RCU is not held on return.
 */
export function* lock_vma_under_rcu(mm: mm_struct, address: number): Task<vm_area_struct | null> {
  if (!k.cfg.per_vma_lock) return null;
  if (k.cfg.vma_lock_impl === 'refcount') return yield* lock_vma_under_rcu_refcount(mm, address);
  return yield* lock_vma_under_rcu_rwsem(mm, address);
}

/** 6.4–6.14 (mm/memory.c). */
function* lock_vma_under_rcu_rwsem(mm: mm_struct, address: number): Task<vm_area_struct | null> {
  const cfg = k.cfg;
  rcu_read_lock();
  for (;;) { // retry:
    const vma = yield* k.fn.mas_walk(mm, address);
    if (vma === null) break;
    // The checks before vma_start_read read fields of a VMA nobody has locked (racy).
    if (cfg.vma_lock_anon_only || cfg.vma_lock_anon_vma_check === 'before-lock') {
      yield step('lock_vma_under_rcu:vma', vma);
      kasan_check_read(vma, 'lock_vma_under_rcu');
      // 6.4: only anonymous vmas are supported for now.
      if (cfg.vma_lock_anon_only && !k.fn.vma_is_anonymous(vma)) break;
      // 6.4.0: "find_mergeable_anon_vma uses adjacent vmas which are not locked" — checked
      // before locking, so a concurrent mremap(MREMAP_DONTUNMAP) can clear it after (B10).
      if (cfg.vma_lock_anon_vma_check === 'before-lock' && k.fn.vma_is_anonymous(vma) && vma.anon_vma === null) break;
    }
    const locked = yield* k.fn.vma_start_read(mm, vma);
    if (locked === null || typeof locked === 'number') break;
    // 657b5146955e: this check must happen after vma_start_read(); otherwise a concurrent
    // mremap() with MREMAP_DONTUNMAP could dissociate the VMA from its anon_vma.
    if (cfg.vma_lock_anon_vma_check === 'after-lock' && k.fn.vma_is_anonymous(vma) && vma.anon_vma === null) {
      yield* k.fn.vma_end_read(vma);
      break;
    }
    // 6.4/6.5: the userfault handler may drop mmap_lock: fall back.
    if (cfg.vma_lock_refuse_uffd && k.fn.userfaultfd_armed(vma)) {
      yield* k.fn.vma_end_read(vma);
      break;
    }
    // Check since vm_start/vm_end might change before we lock the VMA.
    if (address < vma.vm_start || address >= vma.vm_end) {
      yield* k.fn.vma_end_read(vma);
      break;
    }
    // Check if the VMA got isolated after we found it.
    if (vma.detached) {
      yield* k.fn.vma_end_read(vma);
      count_vm_vma_lock_event('VMA_LOCK_MISS');
      continue; // the area was replaced with another one
    }
    rcu_read_unlock();
    return vma;
  }
  rcu_read_unlock();
  count_vm_vma_lock_event('VMA_LOCK_ABORT');
  return null;
}

/** 6.15+ (mm/mmap_lock.c). */
function* lock_vma_under_rcu_refcount(mm: mm_struct, address: number): Task<vm_area_struct | null> {
  for (;;) { // retry:
    rcu_read_lock();
    const found = yield* k.fn.mas_walk(mm, address);
    if (found === null) {
      rcu_read_unlock();
      break;
    }
    const vma = yield* k.fn.vma_start_read(mm, found);
    if (vma === null || typeof vma === 'number') {
      // RCU was released by vma_start_read.
      if (vma === -EAGAIN) {
        // Check if the VMA got isolated after we found it: the area was replaced.
        count_vm_vma_lock_event('VMA_LOCK_MISS');
        continue; // mas_set(&mas, address)
      }
      break; // failed to lock the VMA
    }
    // A stable reference: locked and not isolated; fields may be read freely now.
    rcu_read_unlock();
    // Check if the vma we locked is the right one.
    if (address < vma.vm_start || address >= vma.vm_end) {
      yield* k.fn.vma_end_read(vma);
      break;
    }
    return vma;
  }
  count_vm_vma_lock_event('VMA_LOCK_ABORT');
  return null;
}

// ---------------------------------------------------------------------------------------------
// lock_mm_and_find_vma (mm/memory.c since 9471f1f2f502, 6.5; mm/mmap_lock.c now)

/** user_mode(regs) or a kernel fault whose IP has an exception-table fixup. */
function fault_may_sleep_for_mmap_lock(regs: pt_regs | null): boolean {
  return regs === null || regs.user || regs.has_fixup === true;
}

/**
 * get_mmap_lock_carefully(mm, regs): mmap_read_trylock, else — only for user faults or kernel
 * faults with a fixup (a kernel bug faulting under mmap_write_lock must not deadlock) —
 * mmap_read_lock_killable. True when the read lock is held.
 */
export function* get_mmap_lock_carefully(mm: mm_struct, regs: pt_regs | null): Task<boolean> {
  if (yield* k.fn.mmap_read_trylock(mm)) return true;
  if (!fault_may_sleep_for_mmap_lock(regs)) return false;
  return (yield* k.fn.mmap_read_lock_killable(mm)) === 0;
}

/** mmap_upgrade_trylock(mm): "We don't have this operation yet." — always false. */
export function mmap_upgrade_trylock(_mm: mm_struct): boolean {
  return false;
}

/**
 * upgrade_mmap_lock_carefully(mm, regs): drop the read lock and take the write lock (killable).
 * True when the write lock is held; false with no lock held.
 */
export function* upgrade_mmap_lock_carefully(mm: mm_struct, regs: pt_regs | null): Task<boolean> {
  k.fn.mmap_read_unlock(mm);
  if (!fault_may_sleep_for_mmap_lock(regs)) return false;
  return (yield* k.fn.mmap_write_lock_killable(mm)) === 0;
}

function* expand_stack_locked(vma: vm_area_struct, address: number): Task<number> {
  const f = kfn('expand_stack_locked');
  if (f === undefined) throw new Error('kernel function expand_stack_locked is not implemented');
  return (yield* f(vma, address)) as number;
}

/**
 * lock_mm_and_find_vma(mm, address, regs): mmap_read_lock (carefully) + find_vma, expanding a
 * VM_GROWSDOWN stack VMA when `address` is just below it. Returns the VMA with mmap_read_lock
 * held, or null with no lock held.
 * Stack expansion (k.cfg.expand_stack_lock): 'write' (6.5+, StackRot fix 9471f1f2f502) drops the
 * read lock, takes the write lock, looks the VMA up again, calls expand_stack_locked, then
 * mmap_write_downgrade; 'read' (≤6.4) calls it under the read lock (B6).
 */
export function* lock_mm_and_find_vma(mm: mm_struct, address: number, regs: pt_regs | null): Task<vm_area_struct | null> {
  if (!(yield* k.fn.get_mmap_lock_carefully(mm, regs))) return null;
  let vma = yield* k.fn.find_vma(mm, address);
  if (vma !== null && vma.vm_start <= address) return vma;
  // Well, dang. We might still be successful, but only if we can extend a vma to do so.
  if (vma === null || (vma.vm_flags & VM_GROWSDOWN) === 0) {
    k.fn.mmap_read_unlock(mm);
    return null;
  }
  if (k.cfg.expand_stack_lock === 'read') {
    // ≤6.4: expand_stack() under mmap_read_lock (the tree changes under a read lock: StackRot).
    if ((yield* k.fn.expand_stack_locked(vma, address)) !== 0) {
      k.fn.mmap_read_unlock(mm);
      return null;
    }
    return vma;
  }
  if (!k.fn.mmap_upgrade_trylock(mm)) {
    if (!(yield* k.fn.upgrade_mmap_lock_carefully(mm, regs))) return null;
    vma = yield* k.fn.find_vma(mm, address);
    if (vma === null || (vma.vm_start > address && (vma.vm_flags & VM_GROWSDOWN) === 0)) {
      k.fn.mmap_write_unlock(mm);
      return null;
    }
    if (vma.vm_start <= address) {
      k.fn.mmap_write_downgrade(mm);
      return vma;
    }
  }
  if ((yield* k.fn.expand_stack_locked(vma, address)) !== 0) {
    k.fn.mmap_write_unlock(mm);
    return null;
  }
  k.fn.mmap_write_downgrade(mm);
  return vma;
}
