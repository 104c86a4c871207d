/**
 * Kernel: mm/page_alloc.c (folio_alloc, __free_pages / free_unref_folios, bad-page checks),
 * mm/mempolicy.c (vma_alloc_folio, get_vma_policy, mpol_cond_put), mm/swap.c (folio_put,
 * __folio_put, folio_add_lru_vma), include/linux/mm.h (folio_get, folio_try_get, folio_ref_*),
 * include/linux/page-flags.h (__folio_mark_uptodate), mm/memory.c (the zero page, ZERO_PAGE).
 *
 * Folios are KASAN-tracked objects of the cache "folio": a folio whose last reference is dropped
 * is freed (kmem_cache_free), so a PTE or a cache still pointing to it turns the next access into
 * a use-after-free report at that step (user space touching it through a stale PTE included).
 * With scenario.faultInjection the scheduler may fail any allocation (-ENOMEM paths).
 *
 * vma_alloc_folio() reads vma->vm_policy (get_vma_policy) and dereferences the policy twice
 * (policy_node, mpol_cond_put) with a scheduling point between the read and the uses: a policy
 * replaced and freed by mbind without the VMA write lock is a use-after-free here (B14,
 * CVE-2023-4611, fixed by 6c21e066f925).
 *
 * Large folios: order 0, or a PMD-sized THP (order HPAGE_PMD_ORDER, khugepaged). A THP's
 * reference count is kept per page and summed (see folio.pages in mm_types.ts).
 *
 * Left out: zones, the buddy allocator, NUMA placement (a policy is only read), memcg charging,
 * other large-folio orders (mTHP), the LRU lists themselves (folio->lru is a flag reclaim reads).
 */
import { k } from '../sim/kernel.js';
import { step, type Task } from '../rt/task.js';
import { kasan_check_read, kasan_check_write, kmem_cache_create, kmem_cache_free, sim_kasan_track, type kmem_cache } from '../sync/kasan.js';
import { refcount_add, refcount_dec_and_test, refcount_inc, refcount_inc_not_zero, refcount_read, refcount_set } from '../sync/refcount.js';
import { folio, type mempolicy, type vm_area_struct } from '../include/linux/mm_types.js';
import { VM_BUG_ON } from '../include/linux/mmdebug.js';
import { HPAGE_PMD_ORDER } from '../include/linux/mm_flags.js';
import { Violation } from '../rt/task.js';
import { should_fail } from '../include/linux/fault_inject.js';

/** gfp_t: only what the simulation distinguishes. */
export const GFP_KERNEL = 0x1;
export const GFP_NOWAIT = 0x2;
export const GFP_HIGHUSER_MOVABLE = 0x4;
export const __GFP_ZERO = 0x100;

/** The page allocator, as a KASAN cache of folios. */
export const folio_cachep: kmem_cache<folio> = kmem_cache_create('folio', () => new folio(), 0, null, 4096);

/**
 * folio_alloc(gfp, order): a new folio with one reference, not uptodate, zero-filled (the
 * simulation's pages always start zeroed: __GFP_ZERO or not). null when fault injection fails it.
 * Order 0, or HPAGE_PMD_ORDER for a THP (khugepaged's alloc_charge_folio): a head and its tail
 * pages, each a KASAN object (a stale TLB entry to any page of a freed THP is a use-after-free).
 */
export function* folio_alloc(gfp: number = GFP_KERNEL, order = 0): Task<folio | null> {
  void gfp;
  VM_BUG_ON(order !== 0 && order !== HPAGE_PMD_ORDER, `folio_alloc: order ${order} (only PMD-sized large folios are modelled)`);
  if (yield* should_fail('folio_alloc:fail')) return null;
  const head = sim_kasan_track(new folio(), folio_cachep, 'folio_alloc');
  if (order === 0) return head;
  const pages: folio[] = [head];
  for (let i = 1; i < 1 << order; i++) {
    const tail = sim_kasan_track(new folio(), folio_cachep, 'folio_alloc (tail page)');
    refcount_set(tail._refcount, 0);
    tail.compound_head = head;
    pages.push(tail);
  }
  head.pages = pages;
  return head;
}

/** page_folio(page): the folio a page belongs to (its head for a tail page of a large folio). */
export function page_folio(page: folio): folio {
  return page.compound_head ?? page;
}

/** folio_test_large(folio). */
export function folio_test_large(f: folio): boolean {
  return k.fn.page_folio(f).pages !== null;
}

/** folio_page(folio, n): the n-th page of a folio. */
export function folio_page(f: folio, n: number): folio {
  const pages = k.fn.page_folio(f).pages;
  if (pages === null) {
    VM_BUG_ON(n !== 0, `folio_page: page ${n} of small ${f.name}`);
    return f;
  }
  return pages[n]!;
}

type policy_fns = {
  get_vma_policy?: (vma: vm_area_struct, addr: number) => mempolicy | null;
  mpol_cond_put?: (pol: mempolicy | null) => void;
};

/**
 * get_vma_policy(vma, addr) as in mm/mempolicy.c: vma->vm_ops->get_policy (shmem; left out) or
 * vma->vm_policy, else the task policy (null here: the default). No reference is taken for a
 * VMA policy: it is stable only while the VMA is read-locked or mmap_lock is held, because its
 * replacement (vma_replace_policy) needs the VMA write lock.
 */
function get_vma_policy_default(vma: vm_area_struct, addr: number): mempolicy | null {
  void addr;
  kasan_check_read(vma, 'get_vma_policy');
  return vma.vm_policy;
}

/** mpol_cond_put(pol): drops a reference only for MPOL_F_SHARED policies; reads pol->flags. */
function mpol_cond_put_default(pol: mempolicy | null): void {
  if (pol !== null) kasan_check_read(pol, 'mpol_cond_put');
}

/**
 * vma_alloc_folio(gfp, order, vma, addr) (mm/mempolicy.c): allocate a folio for a user address
 * under the VMA's memory policy. Locks: the caller holds the VMA read lock or mmap_lock (so
 * vma->vm_policy cannot be replaced: B14). The policy functions of mm/mempolicy.ts are used when
 * that module provides them.
 */
export function* vma_alloc_folio(gfp: number, order: number, vma: vm_area_struct, addr: number): Task<folio | null> {
  const fns = k.fn as unknown as policy_fns;
  yield step('vma_alloc_folio:get_vma_policy', vma);
  const pol = (fns.get_vma_policy ?? get_vma_policy_default)(vma, addr);
  yield step('vma_alloc_folio:policy_node', pol ?? vma);
  // policy_node()/policy_nodemask(): pol->mode, pol->nodes
  if (pol !== null) kasan_check_read(pol, 'vma_alloc_folio (policy_node)');
  const f = yield* k.fn.folio_alloc(gfp, order);
  (fns.mpol_cond_put ?? mpol_cond_put_default)(pol);
  return f;
}

// ---------------------------------------------------------------------------------------------
// References (include/linux/mm.h, mm/swap.c)

/**
 * k.fn.folio_ref_count(folio): for a large folio the sum of its pages' shares (see folio.pages in
 * mm_types.ts); a page of it stands for its folio, as k.fn.page_folio() would make it.
 */
export function folio_ref_count(f: folio): number {
  const pages = k.fn.page_folio(f).pages;
  if (pages === null) return refcount_read(f._refcount);
  let n = 0;
  for (const p of pages) n += refcount_read(p._refcount);
  return n;
}

/**
 * A reference taken or dropped through one page of a large folio is that page's share of the
 * folio's count (a tail's share may be 0: no refcount_t warnings for it, the folio's total is
 * what the kernel checks).
 */
function sim_large_ref_add(page: folio, nr: number, site: string): void {
  kasan_check_write(k.fn.page_folio(page), site);
  kasan_check_write(page, site);
  if (k.fn.folio_ref_count(page) <= 0) throw new Violation('refcount', `refcount_t: addition on 0; use-after-free. (${site} on ${k.fn.page_folio(page).name})`, []);
  refcount_set(page._refcount, refcount_read(page._refcount) + nr);
}

/** folio_get(folio): the caller already holds a reference (a mapping, a cache, a pin). */
export function folio_get(f: folio): void {
  if (f.special) return;
  if (k.fn.folio_test_large(f)) return sim_large_ref_add(f, 1, 'folio_get');
  kasan_check_write(f, 'folio_get');
  refcount_inc(f._refcount);
}

/** folio_ref_add(folio, nr). */
export function folio_ref_add(f: folio, nr: number): void {
  if (f.special || nr === 0) return;
  if (k.fn.folio_test_large(f)) return sim_large_ref_add(f, nr, 'folio_ref_add');
  kasan_check_write(f, 'folio_ref_add');
  refcount_add(nr, f._refcount);
}

/** folio_try_get(folio): a speculative reference (page-cache lookups); fails on a folio being freed. */
export function folio_try_get(f: folio): boolean {
  if (f.special) return true;
  if (k.fn.folio_test_large(f)) {
    kasan_check_write(f, 'folio_try_get');
    if (k.fn.folio_ref_count(f) === 0) return false;
    sim_large_ref_add(f, 1, 'folio_try_get');
    return true;
  }
  kasan_check_write(f, 'folio_try_get');
  return refcount_inc_not_zero(f._refcount);
}

/**
 * folio_put(folio): drop a reference; the last one frees the folio (__folio_put). Freeing a
 * folio that is still mapped, locked, in the swap cache or in a page cache is a "Bad page state".
 * A page of a large folio drops its share; the folio goes when the sum reaches 0.
 */
export function folio_put(f: folio): void {
  if (f.special) return;
  kasan_check_write(f, 'folio_put');
  if (k.fn.folio_test_large(f)) {
    const head = k.fn.page_folio(f);
    kasan_check_write(head, 'folio_put');
    if (k.fn.folio_ref_count(head) <= 0) throw new Violation('refcount', `refcount_t: underflow; use-after-free. (folio_put on ${head.name})`, []);
    refcount_set(f._refcount, refcount_read(f._refcount) - 1);
    if (k.fn.folio_ref_count(head) === 0) k.fn.__folio_put(head);
    return;
  }
  if (refcount_dec_and_test(f._refcount)) k.fn.__folio_put(f);
}

/** __folio_put(folio) → free_unref_folios: the bad-page checks of free_page_is_bad(), then free. */
export function __folio_put(f: folio): void {
  const bad: string[] = [];
  if (f._mapcount > 0) bad.push(`nonzero mapcount (${f._mapcount})`);
  if (f._entire_mapcount > 0) bad.push(`nonzero entire_mapcount (${f._entire_mapcount})`);
  if (f.lockOwner !== -1) bad.push('PAGE_FLAGS_CHECK_AT_FREE flag(s) set: locked');
  if (f.swapcache) bad.push('PAGE_FLAGS_CHECK_AT_FREE flag(s) set: swapcache');
  if (f.writeback) bad.push('PAGE_FLAGS_CHECK_AT_FREE flag(s) set: writeback');
  if (bad.length > 0) {
    throw new Violation('bad_page', `BUG: Bad page state: ${f.name}: ${bad.join(', ')}`, [
      `BUG: Bad page state in process: page ${f.name}`,
      `page dumped because: ${bad.join(', ')}`,
    ]);
  }
  f.lru = false; // __page_cache_release: off the LRU
  f.mapping = null; // free_pages_prepare: page->mapping = NULL
  // A large folio goes back whole: every tail page with it.
  for (const p of f.pages ?? []) if (p !== f) kmem_cache_free(folio_cachep, p, 'folio_put (__folio_put, tail page)');
  kmem_cache_free(folio_cachep, f, 'folio_put (__folio_put)');
}

/** folio_add_lru_vma(folio, vma) (mm/swap.c): reclaim can now find the folio. */
export function folio_add_lru_vma(f: folio, vma: vm_area_struct): void {
  void vma;
  kasan_check_write(f, 'folio_add_lru_vma');
  f.lru = true;
}

/**
 * __folio_mark_uptodate(folio): the barrier that makes the page's contents visible before the
 * PTE that maps it (I20): callers set the data first, then this, then set_pte_at.
 */
export function __folio_mark_uptodate(f: folio): void {
  kasan_check_write(f, '__folio_mark_uptodate');
  f.uptodate = true;
}

// ---------------------------------------------------------------------------------------------
// The zero page (mm/memory.c: zero_pfn, ZERO_PAGE)

/**
 * The shared zero page of this run: a special folio (never refcounted through mappings, never
 * freed) that read faults on anonymous memory map read-only (do_anonymous_page).
 */
export function my_zero_folio(): folio {
  return k.state('zero_folio', () => {
    const z = new folio(true);
    (z as { name: string }).name = 'zero_page';
    z.uptodate = true;
    z.data = 0;
    return z;
  });
}

/** is_zero_folio(folio) / is_zero_pfn(pte_pfn(pte)). */
export function is_zero_folio(f: folio | null): boolean {
  return f !== null && k.ext.get('zero_folio') === f;
}
