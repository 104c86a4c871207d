/**
 * Kernel: mm/vma_init.c (6.16+; kernel/fork.c before: vm_area_alloc, vm_area_dup, vm_area_free,
 * vm_area_free_rcu_cb), include/linux/mm.h (vma_init), include/linux/mmap_lock.h (vma_lock_init)
 * — allocating, duplicating and freeing vm_area_structs, per era (k.cfg.vma_free):
 * - 'immediate' (≤6.3, no per-VMA locks): kmem_cache_free at once — any later access is a
 *   use-after-free (KASAN).
 * - 'rcu' (6.4–6.14): call_rcu(&vma->vm_rcu, vm_area_free_rcu_cb), so a VMA found by mas_walk
 *   under rcu_read_lock stays valid memory until rcu_read_unlock (I7); the callback asserts the
 *   VMA lock is not held (VM_BUG_ON_VMA(rwsem_is_locked(&vma->vm_lock->lock))).
 * - 'typesafe_rcu' (6.15+, 3104138517fc "mm: make vma cache SLAB_TYPESAFE_BY_RCU"): the VMA must
 *   be detached (vma_assert_detached), is freed at once into a SLAB_TYPESAFE_BY_RCU cache and may
 *   be handed straight back by the next vm_area_alloc/vm_area_dup — of ANY mm. Whether an
 *   allocation reuses a freed object (and which) is a scheduler choice (impl/sync/kasan), so
 *   exploration covers the recycled-VMA races lock_vma_under_rcu must survive (vm_mm check).
 *
 * vm_area_alloc and vm_area_dup are generators in every era (the allocation may ask the
 * scheduler which object to reuse; it is not a scheduling point). They never fail here.
 *
 * Left out: allocation failure (-ENOMEM), the vma_lock_cachep slab of 6.4–6.13 (the rwsem lives
 * in the VMA, as since 6.14), vma_numab_state, anon_vma_name refcounting, pfnmap tracking.
 */
import type { Task } from '../rt/task.js';
import { current, inTask } from '../rt/execution.js';
import { k } from '../sim/kernel.js';
import { vm_area_struct, type mm_struct } from '../include/linux/mm_types.js';
import { VM_BUG_ON_VMA } from '../include/linux/mmdebug.js';
import { call_rcu } from '../sync/rcu.js';
import { rwsem_is_locked } from '../sync/rwsem.js';
import {
  kmem_cache_alloc, kmem_cache_create, kmem_cache_free, sim_kasan_meta, SLAB_TYPESAFE_BY_RCU, type kmem_cache,
} from '../sync/kasan.js';
import { sim_task_label } from '../sync/sched.js';
import { currentExecution } from '../rt/execution.js';

/** Fields vma_init's memset leaves alone: identity, the lock objects, vm_refcnt (see vma_lock_init). */
const KEEP: ReadonlySet<string> = new Set(['name', 'vm_lock', 'vmlock_dep_map', 'anon_vma_chain', 'vm_mm', 'vm_refcnt']);

/**
 * The cache's constructor: a VMA of the mm vm_area_alloc/vm_area_dup passes (kmem_cache_alloc's
 * argument; vma_init sets vm_mm right after anyway). No state of this module: a copy of this
 * module (a variant's) shares the cache, and so this constructor.
 */
function ctor(mm?: unknown): vm_area_struct {
  return new vm_area_struct(mm as mm_struct, 0, 0, 0, 0);
}

/** vm_area_cachep: ≤6.14 an ordinary cache. */
const vm_area_cachep = kmem_cache_create<vm_area_struct>('vm_area_struct', ctor, 0, null, 184);
/** vm_area_cachep: 6.15+ SLAB_TYPESAFE_BY_RCU. */
const vm_area_cachep_typesafe = kmem_cache_create<vm_area_struct>('vm_area_struct', ctor, SLAB_TYPESAFE_BY_RCU, null, 184);

function cachep(): kmem_cache<vm_area_struct> {
  return k.cfg.vma_free === 'typesafe_rcu' ? vm_area_cachep_typesafe : vm_area_cachep;
}

/**
 * vma_lock_init(vma, reset_refcnt) (include/linux/mmap_lock.h): vm_lock_seq = UINT_MAX (-1 here,
 * never equal to an mm_lock_seq); 6.15+ vm_refcnt = 0 when asked (vm_area_dup). 6.4–6.14
 * (vma_lock_alloc): init_rwsem(&vma->vm_lock->lock) — the rwsem is the VMA's own here.
 */
export function vma_lock_init(vma: vm_area_struct, reset_refcnt: boolean): void {
  if (reset_refcnt) vma.vm_refcnt = 0;
  vma.vm_lock_seq = -1;
}

/**
 * vma_init(vma, mm) (include/linux/mm.h): memset, vm_mm = mm, vm_ops = NULL (our anonymous;
 * the kernel's vma_dummy_vm_ops until vma_set_anonymous), empty anon_vma_chain, vma_lock_init.
 * 6.4–6.14: the VMA starts attached (vma_mark_detached(vma, false)); 6.15+: detached
 * (vm_refcnt 0) until vma_iter_store marks it attached ("mm: mark vma as detached until it's
 * added into vma tree"). The memset leaves vm_refcnt alone: it is 0 for a freed VMA and readers
 * cannot raise a 0.
 */
export function vma_init(vma: vm_area_struct, mm: mm_struct): void {
  // memset(vma, 0, sizeof(*vma)): every plain field zeroed, every pointer NULL (the fields vma_init
  // sets to something else are set below).
  const fields = vma as unknown as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (KEEP.has(key)) continue;
    const v = fields[key];
    fields[key] = typeof v === 'number' ? 0 : typeof v === 'boolean' ? false : null;
  }
  vma.anon_vma_chain.length = 0;
  vma.vm_mm = mm;
  vma.vm_ops = null;
  k.fn.vma_lock_init(vma, false);
  vma.detached = k.cfg.per_vma_lock && k.cfg.vma_lock_impl === 'refcount';
}

/**
 * vm_area_alloc(mm): a new, zeroed VMA of `mm` (fields set by the caller). 6.15+: possibly a
 * freed VMA object of any mm, recycled (the scheduler chooses). Not a scheduling point.
 */
export function* vm_area_alloc(mm: mm_struct): Task<vm_area_struct> {
  const vma = yield* kmem_cache_alloc(cachep(), 'vm_area_alloc', mm);
  k.fn.vma_init(vma, mm);
  return vma;
}

/**
 * vm_area_dup(orig): a copy of `orig` (same mm, range, flags, file, anon_vma, policy, uffd ctx),
 * unlocked, with an empty anon_vma_chain (anon_vma_clone fills it). 6.4–6.14: the struct copy
 * keeps `detached` (attached); 6.15+: detached (vma_lock_init(new, true)). Caller: mmap_lock held
 * for the source (split, fork). Not a scheduling point.
 */
export function* vm_area_dup(orig: vm_area_struct): Task<vm_area_struct> {
  const vma = yield* kmem_cache_alloc(cachep(), 'vm_area_dup', orig.vm_mm);
  // vm_area_init_from (6.16+) / *new = data_race(*orig) (before).
  vma.vm_mm = orig.vm_mm;
  vma.vm_ops = orig.vm_ops;
  vma.vm_start = orig.vm_start;
  vma.vm_end = orig.vm_end;
  vma.anon_vma = orig.anon_vma;
  vma.vm_pgoff = orig.vm_pgoff;
  vma.vm_file = orig.vm_file;
  vma.vm_private_data = orig.vm_private_data;
  vma.vm_flags = orig.vm_flags;
  vma.vm_page_prot = orig.vm_page_prot;
  vma.vm_userfaultfd_ctx = orig.vm_userfaultfd_ctx;
  vma.anon_name = orig.anon_name;
  vma.vm_policy = orig.vm_policy;
  vma.anon_vma_chain.length = 0;
  k.fn.vma_lock_init(vma, true);
  vma.detached = k.cfg.per_vma_lock && k.cfg.vma_lock_impl === 'refcount' ? true : orig.detached;
  return vma;
}

/** __vm_area_free(vma): kmem_cache_free(vm_area_cachep, vma). */
export function __vm_area_free(vma: vm_area_struct, site: string): void {
  kmem_cache_free(cachep(), vma, site);
}

/**
 * vm_area_free_rcu_cb (6.4–6.14): runs after a grace period on the RCU kthread; the VMA must not
 * be locked any more while being destroyed.
 */
export function vm_area_free_rcu_cb(vma: vm_area_struct): void {
  VM_BUG_ON_VMA(rwsem_is_locked(vma.vm_lock), vma, 'kernel/fork.c: vm_area_free_rcu_cb: rwsem_is_locked(&vma->vm_lock->lock)');
  k.fn.__vm_area_free(vma, 'vm_area_free_rcu_cb');
}

/**
 * vm_area_free(vma): free a VMA that is out of the tree (callers: remove_vma, failed mmap/split,
 * exit_mmap). Per era: immediate, call_rcu, or SLAB_TYPESAFE_BY_RCU (asserts detached first).
 */
export function vm_area_free(vma: vm_area_struct): void {
  switch (k.cfg.vma_free) {
    case 'immediate':
      k.fn.__vm_area_free(vma, 'vm_area_free');
      return;
    case 'rcu': {
      // Record the call_rcu for KASAN's "Last potentially related work creation".
      const m = sim_kasan_meta(vma);
      if (m !== undefined && inTask()) {
        m.rcuQueued = { task: sim_task_label(current()), site: 'vm_area_free', step: currentExecution().step };
      }
      call_rcu(vma, (v) => k.fn.vm_area_free_rcu_cb(v));
      return;
    }
    case 'typesafe_rcu':
      // The vma should be detached while being destroyed.
      k.fn.vma_assert_detached(vma);
      k.fn.__vm_area_free(vma, 'vm_area_free');
      return;
  }
}
