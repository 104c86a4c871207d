/**
 * Kernel: mm/mempolicy.c — refcounted memory policies, mbind(2) (do_mbind → mbind_range →
 * vma_modify_policy + vma_replace_policy) and get_mempolicy(2) with MPOL_F_ADDR; the policy
 * lookups the fault path's allocation makes (get_vma_policy / __get_vma_policy / mpol_cond_put).
 *
 * Policies are KASAN-tracked objects of the "numa_policy" cache, freed when their refcount
 * drops to 0 (mpol_put). A VMA's policy is read by vma_alloc_folio (page_alloc.ts) without a
 * reference: it is stable only because replacing it needs the VMA write lock —
 * do_mbind write-locks every VMA of the range and vma_replace_policy asserts it (6c21e066f925,
 * B14 / CVE-2023-4611). Without that, a fault under the VMA lock reads a policy mbind frees.
 *
 * A policy is its mbind(2) text ('interleave:0,1', 'bind:0', 'local' …): mode and nodemask are
 * one string, MPOL_DEFAULT is the NULL policy. vma_dup_policy lives in mm/vma.ts (shared).
 * Left out: NUMA placement itself, task policies (set_mempolicy), shared (shmem) policies
 * (vm_ops->set_policy / get_policy), MPOL_MF_MOVE page migration (queue_pages_range only checks
 * for holes), mpol_rebind_mm, set_mempolicy_home_node, MPOL_F_* mode flags.
 */
import type { Task } from '../rt/task.js';
import { k, current_mm } from '../sim/kernel.js';
import { mempolicy, type mm_struct, type vm_area_struct } from '../include/linux/mm_types.js';
import { PAGE_SIZE, TASK_SIZE } from '../include/linux/mm_flags.js';
import { EFAULT, EINVAL, ENOMEM, ESRCH } from '../include/linux/errno.js';
import { kasan_check_read, kasan_check_write, kmem_cache_create, kmem_cache_free, sim_kasan_track, type kmem_cache } from '../sync/kasan.js';
import { refcount_dec_and_test, refcount_inc } from '../sync/refcount.js';
import type { GetMempolicyOp, MbindOp, ModelResult } from '../../model/ops.js';
import { should_fail } from '../include/linux/fault_inject.js';

/** policy_cache (kmem_cache "numa_policy"). */
export const policy_cache: kmem_cache<mempolicy> = kmem_cache_create<mempolicy>('numa_policy', () => new mempolicy('default'), 0, null, 24);

/** MPOL_F_SHARED: a shared (shmem) policy whose lookups take a reference (never set here). */
export const MPOL_F_SHARED = 1;

const POLICY = /^(default|local|interleave(:\d+(,\d+)*)?|weighted_interleave(:\d+(,\d+)*)?|bind:\d+(,\d+)*|preferred(:\d+)?|preferred_many:\d+(,\d+)*)$/;

/** sanitize_mpol_flags + get_nodes: the mode and nodemask are valid. */
export function sim_mpol_valid(policy: string): boolean {
  return POLICY.test(policy);
}

/**
 * mpol_new(mode, flags, nodes): a new policy with one reference; NULL for MPOL_DEFAULT; -ENOMEM
 * when the allocation fails (fault injection).
 */
export function* mpol_new(policy: string): Task<mempolicy | null | number> {
  if (!k.fn.sim_mpol_valid(policy)) return -EINVAL;
  if (policy === 'default') return null;
  if (yield* should_fail('mpol_new:kmem_cache_alloc_fail')) return -ENOMEM;
  return sim_kasan_track(new mempolicy(policy), policy_cache, 'mpol_new');
}

/** mpol_get(pol): take a reference. */
export function mpol_get(pol: mempolicy | null): void {
  if (!pol) return;
  kasan_check_write(pol, 'mpol_get');
  refcount_inc(pol.refcnt);
}

/** __mpol_put(pol): the last reference frees it. */
export function __mpol_put(pol: mempolicy): void {
  kasan_check_write(pol, '__mpol_put');
  if (refcount_dec_and_test(pol.refcnt)) kmem_cache_free(policy_cache, pol, '__mpol_put');
}

/** mpol_put(pol). */
export function mpol_put(pol: mempolicy | null): void {
  if (pol) k.fn.__mpol_put(pol);
}

/**
 * mpol_dup(pol) (__mpol_dup): a private copy with one reference (the kernel copies rather than
 * shares, so a later replacement frees only the VMA's own copy).
 */
export function* mpol_dup(pol: mempolicy | null): Task<mempolicy | null | number> {
  if (!pol) return null;
  kasan_check_read(pol, 'mpol_dup');
  if (yield* should_fail('mpol_dup:kmem_cache_alloc_fail')) return -ENOMEM;
  return sim_kasan_track(new mempolicy(pol.mode), policy_cache, 'mpol_dup');
}

/** mpol_equal(a, b): same mode and nodes (reads both: a freed one is a use-after-free). */
export function mpol_equal(a: mempolicy | null, b: mempolicy | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  kasan_check_read(a, 'mpol_equal');
  kasan_check_read(b, 'mpol_equal');
  return a.mode === b.mode;
}

/** mpol_needs_cond_ref(pol): reads pol->flags (MPOL_F_SHARED never set here). */
export function mpol_needs_cond_ref(pol: mempolicy | null): boolean {
  if (!pol) return false;
  kasan_check_read(pol, 'mpol_needs_cond_ref');
  return false;
}

/**
 * __get_vma_policy(vma, addr): the VMA's own policy, no reference taken (shmem's get_policy,
 * which would take one, is left out). Locks: the VMA read lock or mmap_lock, so the policy
 * cannot be replaced meanwhile (vma_replace_policy needs the VMA write lock).
 */
export function __get_vma_policy(vma: vm_area_struct, addr: number): mempolicy | null {
  void addr;
  kasan_check_read(vma, '__get_vma_policy');
  const pol = vma.vm_policy;
  if (pol && k.fn.mpol_needs_cond_ref(pol)) k.fn.mpol_get(pol);
  return pol;
}

/**
 * get_vma_policy(vma, addr): the policy an allocation for addr uses — the VMA's, else the task
 * policy (NULL: the default). Called by vma_alloc_folio.
 */
export function get_vma_policy(vma: vm_area_struct, addr: number): mempolicy | null {
  return k.fn.__get_vma_policy(vma, addr);
}

/** mpol_cond_put(pol): drop the reference __get_vma_policy took for a shared policy (reads pol->flags). */
export function mpol_cond_put(pol: mempolicy | null): void {
  if (pol && k.fn.mpol_needs_cond_ref(pol)) k.fn.mpol_put(pol);
}

/**
 * vma_replace_policy(vma, pol): install a copy of pol as vma->vm_policy and drop the old one
 * (freeing it when that was the last reference). Locks: mmap_write_lock and the VMA write lock
 * (vma_assert_write_locked, 6c21e066f925): a fault reading vm_policy holds the VMA read lock.
 */
export function* vma_replace_policy(vma: vm_area_struct, pol: mempolicy | null): Task<number> {
  k.fn.vma_assert_write_locked(vma);
  const nw = yield* k.fn.mpol_dup(pol);
  if (typeof nw === 'number') return nw;
  yield 'vma_replace_policy:vm_policy';
  const old = vma.vm_policy;
  vma.vm_policy = nw; // protected by mmap_lock
  k.fn.mpol_put(old);
  return 0;
}

/**
 * mbind_range(vma, prev, start, end, new_pol): give [max(start, vm_start), min(end, vm_end)) of
 * vma the policy, splitting or merging (vma_modify_policy), then replacing it.
 * Locks: mmap_write_lock held. Returns {err, prev}.
 */
export function* mbind_range(vma: vm_area_struct, prev: vm_area_struct | null, start: number, end: number,
  new_pol: mempolicy | null): Task<{ err: number; prev: vm_area_struct | null }> {
  const vmend = Math.min(end, vma.vm_end);
  let vmstart: number;
  if (start > vma.vm_start) {
    prev = vma;
    vmstart = start;
  } else {
    vmstart = vma.vm_start;
  }
  if (k.fn.mpol_equal(vma.vm_policy, new_pol)) return { err: 0, prev: vma };
  const r = yield* k.fn.vma_modify_policy(prev, vma, vmstart, vmend, new_pol);
  if (typeof r === 'number') return { err: r, prev };
  return { err: yield* k.fn.vma_replace_policy(r, new_pol), prev: r };
}

/**
 * queue_pages_range(mm, start, end): with MPOL_MF_* flags 0 only the walk's check remains — an
 * unmapped hole in the range is -EFAULT (before anything changes). Locks: mmap_lock held.
 */
export function* queue_pages_range(mm: mm_struct, start: number, end: number): Task<number> {
  let addr = start;
  while (addr < end) {
    const vma = yield* k.fn.find_vma(mm, addr);
    if (!vma || vma.vm_start > addr) return -EFAULT;
    addr = vma.vm_end;
  }
  return 0;
}

/**
 * do_mbind(start, len, policy): mmap_write_lock; write-lock every VMA of the range before
 * anything else ("Lock the VMAs before scanning for pages to migrate", 6c21e066f925); reject
 * holes; mbind_range over each VMA. Returns 0 or -errno.
 */
export function* do_mbind(start: number, len0: number, policy: string): Task<number> {
  const mm = current_mm();
  if (!mm) return -ESRCH;
  if (start % PAGE_SIZE !== 0 || len0 < 0) return -EINVAL;
  if (!k.fn.sim_mpol_valid(policy)) return -EINVAL;
  const len = Math.ceil(len0 / PAGE_SIZE) * PAGE_SIZE;
  const end = start + len;
  if (end > TASK_SIZE) return -EINVAL;
  if (end === start) return 0;
  const nw = yield* k.fn.mpol_new(policy);
  if (typeof nw === 'number') return nw;
  yield* k.fn.mmap_write_lock(mm);
  let err = 0;
  out: {
    // Lock the VMAs before scanning for pages to migrate, to ensure we don't miss a
    // concurrently inserted page.
    let addr = start;
    for (;;) {
      const vma = yield* k.fn.find_vma(mm, addr);
      if (!vma || vma.vm_start >= end) break;
      yield* k.fn.vma_start_write(vma);
      addr = vma.vm_end;
    }
    err = yield* k.fn.queue_pages_range(mm, start, end);
    if (err) break out;
    let prev = (yield* k.fn.find_vma_prev(mm, start)).prev;
    let vma = yield* k.fn.find_vma(mm, start);
    while (vma && vma.vm_start < end) {
      const r = yield* k.fn.mbind_range(vma, prev, start, end, nw);
      err = r.err;
      if (err) break;
      prev = r.prev;
      vma = prev ? yield* k.fn.find_vma(mm, prev.vm_end) : null;
    }
  }
  k.fn.mmap_write_unlock(mm);
  k.fn.mpol_put(nw);
  return err;
}

/**
 * do_get_mempolicy(addr) with MPOL_F_ADDR: the policy of the VMA at addr (never the task
 * policy): 'default' when it has none, -EFAULT when nothing is mapped. Locks: mmap_read_lock.
 */
export function* do_get_mempolicy(addr: number): Task<string | number> {
  const mm = current_mm();
  if (!mm) return -ESRCH;
  yield* k.fn.mmap_read_lock(mm);
  const vma = yield* k.fn.vma_lookup(mm, addr);
  if (!vma) {
    k.fn.mmap_read_unlock(mm);
    return -EFAULT;
  }
  const pol = k.fn.__get_vma_policy(vma, addr);
  if (pol) kasan_check_read(pol, 'do_get_mempolicy');
  const mode = pol ? pol.mode : 'default';
  k.fn.mpol_cond_put(pol);
  k.fn.mmap_read_unlock(mm);
  return mode;
}

/** mbind(2). */
export function* sim_sys_mbind(op: MbindOp): Task<ModelResult> {
  const r = yield* k.fn.do_mbind(op.addr, op.len, op.policy);
  return r < 0 ? { kind: 'errno', errno: r } : { kind: 'ok' };
}

/** get_mempolicy(2) with MPOL_F_ADDR. */
export function* sim_sys_get_mempolicy(op: GetMempolicyOp): Task<ModelResult> {
  const r = yield* k.fn.do_get_mempolicy(op.addr);
  return typeof r === 'number' ? { kind: 'errno', errno: r } : { kind: 'policy', policy: r };
}
