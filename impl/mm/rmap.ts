/**
 * Kernel: mm/rmap.c (anon_vma_prepare/__anon_vma_prepare, anon_vma_clone, anon_vma_fork,
 * unlink_anon_vmas, put_anon_vma, folio_add_new_anon_rmap, folio_add_anon_rmap_pte,
 * folio_add_file_rmap_pte, folio_remove_rmap_pte, folio_move_anon_rmap, rmap_walk,
 * try_to_unmap), include/linux/rmap.h (anon_vma_lock_*), mm/vma.c (≤6.9
 * mm/mmap.c: find_mergeable_anon_vma, reusable_anon_vma).
 *
 * The reverse map: an anonymous folio's mapping is an anon_vma; each VMA links to every anon_vma
 * its pages may belong to through anon_vma_chain entries, which sit both on the VMA's list and in
 * the anon_vma's interval tree (anon_vma.rb_root). A file folio is found through
 * mapping->i_mmap. rmap walks take anon_vma->root->rwsem / i_mmap_rwsem for read and each page
 * table's PTL.
 *
 * Lock contract of the anon_vma side: vma->anon_vma goes NULL → non-NULL under mmap_lock (read
 * suffices) + mm->page_table_lock (__anon_vma_prepare); find_mergeable_anon_vma looks at the
 * neighbouring VMAs through the VMA tree, which only mmap_lock keeps stable — it asserts
 * mmap_assert_locked (the maple tree's lockdep check for the mmap_lock-protected mm_mt), so a
 * path that gets there under the VMA lock alone (B10, 657b5146955e) trips it, and a freed
 * neighbour read by reusable_anon_vma is a KASAN use-after-free.
 *
 * anon_vmas are KASAN objects of the cache "anon_vma" (the kernel's is SLAB_TYPESAFE_BY_RCU for
 * folio_lock_anon_vma_read's sake; here a plain cache, so any access after the free is reported).
 *
 * Left out: KSM, PMD mappings of THPs in rmap walks (reclaim skips them), folio_lock_anon_vma_read's RCU trylock dance
 * (rmap walks need a mapped folio), migration entries, mlock, mmu notifiers, hugetlb,
 * folio_referenced (reclaim takes no account of references: impl/mm/vmscan.ts).
 */
import { k } from '../sim/kernel.js';
import { step, type Task } from '../rt/task.js';
import { spin_lock, spin_unlock } from '../sync/spinlock.js';
import { down_read, down_write, rwsem_is_locked, up_read, up_write } from '../sync/rwsem.js';
import { kasan_check_read, kasan_check_write, kmem_cache_alloc, kmem_cache_create, kmem_cache_free, type kmem_cache } from '../sync/kasan.js';
import { refcount_dec_and_test, refcount_inc } from '../sync/refcount.js';
import { folio_test_locked } from '../sync/bitlock.js';
import { might_sleep } from '../sync/lockdep.js';
import {
  address_space, anon_vma, anon_vma_chain, folio_test_anon, hex, linear_page_index,
  type folio, type mm_struct, type pte_table, type vm_area_struct,
} from '../include/linux/mm_types.js';
import { PAGE_SIZE, PMD_SIZE, VM_ACCESS_FLAGS } from '../include/linux/mm_flags.js';
import { BUG_ON, VM_BUG_ON, VM_BUG_ON_VMA, WARN_ON_ONCE } from '../include/linux/mmdebug.js';
import { should_fail } from '../include/linux/fault_inject.js';

/** A kernel function another engineer's module may or may not provide yet. */
function optional<F>(name: string): F | undefined {
  return (k.fn as unknown as Record<string, F | undefined>)[name];
}

// ---------------------------------------------------------------------------------------------
// Allocation

export const anon_vma_cachep: kmem_cache<anon_vma> = kmem_cache_create('anon_vma', () => new anon_vma(), 0, null, 88);

/**
 * anon_vma_chain_alloc(): only its failure is modelled (fault injection); the chain object itself
 * is built when it is linked (anon_vma_chain's fields are fixed at construction).
 */
function* anon_vma_chain_alloc(): Task<boolean> {
  return !(yield* should_fail('anon_vma_chain:alloc_fail'));
}
const avc_cachep = kmem_cache_create('anon_vma_chain', () => ({}), 0, null, 48);

/** anon_vma_alloc(): refcount 1, its own root and parent. */
function* anon_vma_alloc(): Task<anon_vma | null> {
  if (yield* should_fail('anon_vma:alloc_fail')) return null;
  return yield* kmem_cache_alloc(anon_vma_cachep, 'anon_vma_alloc');
}

/**
 * anon_vma_free(): a freer that finds the root rwsem held (a concurrent rmap walker that got
 * the anon_vma through folio_lock_anon_vma_read) waits for it by taking the lock once.
 */
function* anon_vma_free(av: anon_vma): Task<void> {
  might_sleep('anon_vma_free');
  if (rwsem_is_locked(av.root.rwsem)) {
    yield* k.fn.anon_vma_lock_write(av);
    k.fn.anon_vma_unlock_write(av);
  }
  kmem_cache_free(anon_vma_cachep, av, 'anon_vma_free');
}

/** get_anon_vma(anon_vma). */
export function get_anon_vma(av: anon_vma): void {
  kasan_check_write(av, 'get_anon_vma');
  refcount_inc(av.refcount);
}

/** put_anon_vma(anon_vma): the last reference frees it, and drops the root's reference. */
export function* put_anon_vma(av: anon_vma): Task<void> {
  kasan_check_write(av, 'put_anon_vma');
  if (!refcount_dec_and_test(av.refcount)) return;
  // __put_anon_vma
  const root = av.root;
  yield* anon_vma_free(av);
  if (root !== av) {
    kasan_check_write(root, '__put_anon_vma (root)');
    if (refcount_dec_and_test(root.refcount)) yield* anon_vma_free(root);
  }
}

// ---------------------------------------------------------------------------------------------
// Locks (include/linux/rmap.h)

export function* anon_vma_lock_write(av: anon_vma): Task<void> {
  kasan_check_read(av, 'anon_vma_lock_write');
  yield* down_write(av.root.rwsem);
}
export function anon_vma_unlock_write(av: anon_vma): void {
  up_write(av.root.rwsem);
}
export function* anon_vma_lock_read(av: anon_vma): Task<void> {
  kasan_check_read(av, 'anon_vma_lock_read');
  yield* down_read(av.root.rwsem);
}
export function anon_vma_unlock_read(av: anon_vma): void {
  up_read(av.root.rwsem);
}

/** anon_vma_chain_link(): on the VMA's list and in the anon_vma's interval tree. */
function anon_vma_chain_link(vma: vm_area_struct, avc: anon_vma_chain, av: anon_vma): void {
  vma.anon_vma_chain.push(avc);
  av.rb_root.add(avc);
}

// ---------------------------------------------------------------------------------------------
// Attaching an anon_vma to a VMA

/**
 * anon_vma_compatible(a, b) (mm/vma.c): adjacent, same file, policy and flags (but for access
 * bits), and pgoffs that would line up in a merge.
 */
function anon_vma_compatible(a: vm_area_struct, b: vm_area_struct): boolean {
  return a.vm_end === b.vm_start && a.vm_policy === b.vm_policy && a.vm_file === b.vm_file &&
    ((a.vm_flags ^ b.vm_flags) & ~VM_ACCESS_FLAGS) === 0 &&
    b.vm_pgoff === a.vm_pgoff + (b.vm_start - a.vm_start) / PAGE_SIZE;
}

/**
 * reusable_anon_vma(old, a, b) (mm/vma.c): old's anon_vma, if a/b could be merged and old has a
 * single anon_vma_chain (so the anon_vma is not shared with a fork tree). Reads the neighbour
 * VMA `old`: a freed neighbour (B10) is a use-after-free here.
 */
export function reusable_anon_vma(old: vm_area_struct, a: vm_area_struct, b: vm_area_struct): anon_vma | null {
  kasan_check_read(old, 'reusable_anon_vma');
  if (anon_vma_compatible(a, b)) {
    const av = old.anon_vma; // READ_ONCE(old->anon_vma)
    if (av !== null && old.anon_vma_chain.length === 1) return av;
  }
  return null;
}

/**
 * find_mergeable_anon_vma(vma) (mm/vma.c): an anon_vma of a neighbour this VMA could share,
 * to keep anon_vmas few and mergeable. Walks the VMA tree at vm_end (next) and before vm_start
 * (prev). Locks: mmap_lock held (read suffices) — the neighbours are not locked.
 */
export function* find_mergeable_anon_vma(vma: vm_area_struct): Task<anon_vma | null> {
  const mm = vma.vm_mm;
  k.fn.mmap_assert_locked(mm);
  // Try next first.
  const next = yield* k.fn.mas_walk(mm, vma.vm_end);
  if (next !== null) {
    const av = k.fn.reusable_anon_vma(next, vma, next);
    if (av !== null) return av;
  }
  const { vma: self, prev } = yield* k.fn.find_vma_prev(mm, vma.vm_start);
  VM_BUG_ON_VMA(self !== vma, vma, 'find_mergeable_anon_vma: prev != vma');
  if (prev !== null) return k.fn.reusable_anon_vma(prev, prev, vma);
  return null;
}

/**
 * __anon_vma_prepare(vma): attach an anon_vma (a neighbour's, or a new one) before the first
 * anonymous page goes in. Locks: mmap_lock held (read suffices); takes anon_vma->rwsem and then
 * mm->page_table_lock to publish vma->anon_vma (another thread may have won: then ours is
 * dropped). 0 or -ENOMEM.
 */
export function* __anon_vma_prepare(vma: vm_area_struct): Task<number> {
  const mm = vma.vm_mm;
  might_sleep('__anon_vma_prepare');
  let avc = yield* anon_vma_chain_alloc();
  if (!avc) return -12;
  let av = yield* k.fn.find_mergeable_anon_vma(vma);
  let allocated: anon_vma | null = null;
  if (av === null) {
    av = yield* anon_vma_alloc();
    if (av === null) return -12;
    av.num_children++; // self-parent link for new root
    allocated = av;
  }
  yield* k.fn.anon_vma_lock_write(av);
  // page_table_lock to protect against threads
  yield* spin_lock(mm.page_table_lock);
  yield step('__anon_vma_prepare:vma->anon_vma', vma);
  if (vma.anon_vma === null) {
    vma.anon_vma = av;
    anon_vma_chain_link(vma, new anon_vma_chain(vma, av), av);
    av.num_active_vmas++;
    allocated = null;
    avc = false;
  }
  void avc; // anon_vma_chain_free(avc) when another thread won
  spin_unlock(mm.page_table_lock);
  k.fn.anon_vma_unlock_write(av);
  if (allocated !== null) yield* k.fn.put_anon_vma(allocated);
  return 0;
}

/** anon_vma_prepare(vma) (include/linux/rmap.h): the fast path when the VMA already has one. */
export function* anon_vma_prepare(vma: vm_area_struct): Task<number> {
  yield step('anon_vma_prepare:vma->anon_vma', vma);
  if (vma.anon_vma !== null) return 0;
  return yield* k.fn.__anon_vma_prepare(vma);
}

/**
 * anon_vma_clone(dst, src): link dst to every anon_vma src is linked to (split, merge, mremap's
 * copy_vma, fork). Reuses an anon_vma without VMAs and with at most one child for dst.
 * Locks: mmap_lock held for write; takes the anon_vma root rwsem. 0 or -ENOMEM.
 */
export function* anon_vma_clone(dst: vm_area_struct, src: vm_area_struct): Task<number> {
  let root: anon_vma | null = null;
  // The kernel walks src's chain in reverse so the oldest anon_vma is linked first.
  for (const pavc of [...src.anon_vma_chain].reverse()) {
    const av = pavc.anon_vma;
    kasan_check_read(av, 'anon_vma_clone');
    if (!(yield* anon_vma_chain_alloc())) {
      if (root !== null) up_write(root.rwsem);
      dst.anon_vma = null;
      yield* k.fn.unlink_anon_vmas(dst);
      return -12;
    }
    if (root !== av.root) {
      if (root !== null) up_write(root.rwsem);
      root = av.root;
      yield* down_write(root.rwsem);
    }
    anon_vma_chain_link(dst, new anon_vma_chain(dst, av), av);
    // Reuse an existing anon_vma if it has no VMA and only one child (its own).
    if (dst.anon_vma === null && src.anon_vma !== null && av.num_children < 2 && av.num_active_vmas === 0) {
      dst.anon_vma = av;
    }
  }
  if (dst.anon_vma !== null) dst.anon_vma.num_active_vmas++;
  if (root !== null) up_write(root.rwsem);
  return 0;
}

/**
 * anon_vma_fork(vma, pvma): the child VMA gets every anon_vma of the parent VMA plus a new one of
 * its own (child of the parent's), which its new COW pages will use. Locks: both mms' mmap_lock
 * for write, and (since fb49c455323f, B8) pvma write-locked so no fault changes pvma->anon_vma
 * meanwhile. 0 or -ENOMEM.
 */
export function* anon_vma_fork(vma: vm_area_struct, pvma: vm_area_struct): Task<number> {
  yield step('anon_vma_fork:pvma->anon_vma', pvma);
  // Don't bother if the parent process has no anon_vma here.
  if (pvma.anon_vma === null) return 0;
  // Drop inherited anon_vma, we'll reuse existing or allocate new.
  vma.anon_vma = null;
  const err = yield* k.fn.anon_vma_clone(vma, pvma);
  if (err) return err;
  // An existing anon_vma has been reused, all done then.
  if (vma.anon_vma !== null) return 0;
  const av = yield* anon_vma_alloc();
  if (av === null) {
    yield* k.fn.unlink_anon_vmas(vma);
    return -12;
  }
  av.num_active_vmas++;
  if (!(yield* anon_vma_chain_alloc())) {
    yield* k.fn.put_anon_vma(av);
    yield* k.fn.unlink_anon_vmas(vma);
    return -12;
  }
  const parent = pvma.anon_vma;
  BUG_ON(parent === null, `anon_vma_fork: ${pvma}->anon_vma went away`);
  kasan_check_read(parent!, 'anon_vma_fork');
  // The root anon_vma's rwsem is the lock actually used when we lock any of the anon_vmas in this hierarchy.
  av.root = parent!.root;
  av.parent = parent!;
  k.fn.get_anon_vma(av.root);
  vma.anon_vma = av;
  yield* k.fn.anon_vma_lock_write(av);
  anon_vma_chain_link(vma, new anon_vma_chain(vma, av), av);
  av.parent.num_children++;
  k.fn.anon_vma_unlock_write(av);
  return 0;
}

/**
 * unlink_anon_vmas(vma): take the VMA out of every anon_vma's interval tree and drop the
 * anon_vmas that became empty. Locks: mmap_lock for write and the VMA write-locked (or the VMA
 * unreachable: munmap/exit after detaching). Sets vma->anon_vma = NULL.
 */
export function* unlink_anon_vmas(vma: vm_area_struct): Task<void> {
  let root: anon_vma | null = null;
  const keep: anon_vma_chain[] = [];
  // Unlink each anon_vma chained to the VMA.
  for (const avc of [...vma.anon_vma_chain].reverse()) {
    const av = avc.anon_vma;
    kasan_check_write(av, 'unlink_anon_vmas');
    if (root !== av.root) {
      if (root !== null) up_write(root.rwsem);
      root = av.root;
      yield* down_write(root.rwsem);
    }
    av.rb_root.delete(avc);
    // Leave empty anon_vmas on the list: they are put below, outside the root lock.
    if (av.rb_root.size === 0) {
      av.parent.num_children--;
      keep.push(avc);
      continue;
    }
  }
  if (vma.anon_vma !== null) {
    vma.anon_vma.num_active_vmas--;
    // vma would still be needed after unlink, and anon_vma will be prepared when handling the fault.
    vma.anon_vma = null;
  }
  if (root !== null) up_write(root.rwsem);
  vma.anon_vma_chain.length = 0;
  // Iterate the list once more, it now only contains empty and unlinked anon_vmas.
  for (const avc of keep) yield* k.fn.put_anon_vma(avc.anon_vma);
}

// ---------------------------------------------------------------------------------------------
// Adding and removing mappings of a folio

/** folio_mapped(folio). */
export function folio_mapped(f: folio): boolean {
  return k.fn.folio_mapcount(f) > 0;
}

/**
 * folio_mapcount(folio): PTE mappings plus, for a large folio, its PMD mappings
 * (_entire_mapcount). A THP's pages are never mapped by PTEs while it is large (a split makes
 * them small folios: huge_memory.ts), so the head's count is the folio's.
 */
export function folio_mapcount(f: folio): number {
  const head = f.compound_head ?? f;
  return head._mapcount + head._entire_mapcount;
}

/**
 * folio_add_new_anon_rmap(folio, vma, address, rmap_flags): a freshly allocated folio
 * becomes anonymous, owned by vma->anon_vma (which must exist: __folio_set_anon BUGs
 * otherwise), mapped once, PageAnonExclusive per RMAP_EXCLUSIVE (`exclusive`, the default: a new
 * page). A folio that is not exclusive to this VMA — a swap-cache folio swapped in for a swap
 * entry shared since fork — gets the _oldest_ possible anon_vma, anon_vma->root (__folio_set_anon),
 * so that rmap finds every VMA that may map it. Caller holds the PTL and is about to set the PTE.
 */
export function folio_add_new_anon_rmap(f: folio, vma: vm_area_struct, address: number, exclusive = true): void {
  VM_BUG_ON_VMA(address < vma.vm_start || address + PAGE_SIZE > vma.vm_end, vma,
    `folio_add_new_anon_rmap: address ${hex(address)} outside the VMA`);
  kasan_check_write(f, 'folio_add_new_anon_rmap');
  f.swapbacked = true; // __folio_set_swapbacked
  // __folio_set_anon
  const av = vma.anon_vma;
  BUG_ON(av === null, `__folio_set_anon: ${vma} has no anon_vma`);
  kasan_check_read(av!, '__folio_set_anon');
  // If the folio isn't exclusive to this vma, we must use the _oldest_ possible anon_vma for the
  // folio mapping!
  f.mapping = exclusive ? av : av!.root;
  f.index = linear_page_index(vma, address);
  f.anon_exclusive = exclusive;
  if (f.pages !== null) {
    // A PMD-mapped THP (collapse_huge_page): one entire mapping; every page carries what it will
    // be once split (its own mapping, index and PageAnonExclusive).
    VM_BUG_ON_VMA(address % PMD_SIZE !== 0 || address + PMD_SIZE > vma.vm_end, vma,
      `folio_add_new_anon_rmap: THP at ${hex(address)} not PMD-aligned inside the VMA`);
    for (let i = 1; i < f.pages.length; i++) {
      const p = f.pages[i]!;
      p.swapbacked = true;
      p.mapping = f.mapping;
      p.index = f.index + i;
      p.anon_exclusive = exclusive;
    }
    f._entire_mapcount = 1;
    return;
  }
  f._mapcount = 1;
}

/**
 * folio_remove_rmap_pmd(folio, page, vma): one PMD mapping of a THP less (zap_huge_pmd,
 * __split_huge_pmd_locked). The caller drops the mapping's reference afterwards.
 */
export function folio_remove_rmap_pmd(f: folio, vma: vm_area_struct): void {
  void vma;
  kasan_check_write(f, 'folio_remove_rmap_pmd');
  VM_BUG_ON(f.pages === null, `folio_remove_rmap_pmd: ${f.name} is not a large folio`);
  VM_BUG_ON(f._entire_mapcount <= 0, `folio_remove_rmap_pmd: ${f.name} entire_mapcount underflow`);
  f._entire_mapcount--;
}

/**
 * folio_add_anon_rmap_pte(folio, page, vma, address, flags): one more PTE maps an existing anon
 * folio (swap-in, fork's copy). __page_check_anon_rmap (CONFIG_DEBUG_VM): the folio's anon_vma
 * must share the VMA's root and its index must match the address.
 */
export function folio_add_anon_rmap_pte(f: folio, vma: vm_area_struct, address: number, exclusive = false): void {
  kasan_check_write(f, 'folio_add_anon_rmap_pte');
  VM_BUG_ON(!folio_test_anon(f), `folio_add_anon_rmap_pte: ${f.name} is not anonymous`);
  const av = f.mapping as anon_vma;
  kasan_check_read(av, '__page_check_anon_rmap');
  VM_BUG_ON(vma.anon_vma === null || av.root !== vma.anon_vma.root,
    `__page_check_anon_rmap: ${f.name}'s anon_vma root is not ${vma}'s`);
  VM_BUG_ON(f.index !== linear_page_index(vma, address),
    `__page_check_anon_rmap: ${f.name} index ${f.index} != linear_page_index ${linear_page_index(vma, address)}`);
  f._mapcount++;
  if (exclusive) f.anon_exclusive = true;
}

/** folio_add_file_rmap_pte(folio, page, vma): one more PTE maps a page-cache folio. */
export function folio_add_file_rmap_pte(f: folio, vma: vm_area_struct): void {
  void vma;
  kasan_check_write(f, 'folio_add_file_rmap_pte');
  VM_BUG_ON(folio_test_anon(f), `folio_add_file_rmap_pte: ${f.name} is anonymous`);
  f._mapcount++;
}

/** folio_remove_rmap_pte(folio, page, vma): one PTE less. The caller drops the PTE's reference afterwards. */
export function folio_remove_rmap_pte(f: folio, vma: vm_area_struct): void {
  void vma;
  if (f.special) return;
  kasan_check_write(f, 'folio_remove_rmap_pte');
  VM_BUG_ON(f._mapcount <= 0, `folio_remove_rmap_pte: ${f.name} mapcount underflow`);
  f._mapcount--;
}

/**
 * folio_move_anon_rmap(folio, vma): an exclusive anon folio reused by a write fault moves to the
 * VMA's own anon_vma (so later forks do not keep it in the parent's tree). Folio locked.
 */
export function folio_move_anon_rmap(f: folio, vma: vm_area_struct): void {
  VM_BUG_ON(!folio_test_locked(f), `folio_move_anon_rmap: ${f.name} not locked`);
  VM_BUG_ON_VMA(vma.anon_vma === null, vma, 'folio_move_anon_rmap: no anon_vma');
  f.mapping = vma.anon_vma;
  for (const p of f.pages ?? []) p.mapping = vma.anon_vma;
}

// ---------------------------------------------------------------------------------------------
// rmap walks

/** struct rmap_walk_control. */
export interface rmap_walk_control {
  /** Called per VMA mapping the folio at `address`; false stops the walk. */
  readonly rmap_one: (f: folio, vma: vm_area_struct, address: number) => Task<boolean>;
  /** Stop early once this holds. */
  readonly done?: (f: folio) => boolean;
}

/** vma_address(vma, pgoff): where the page would be mapped in the VMA, or -1 outside it. */
function vma_address(vma: vm_area_struct, pgoff: number): number {
  const address = vma.vm_start + (pgoff - vma.vm_pgoff) * PAGE_SIZE;
  return address >= vma.vm_start && address < vma.vm_end ? address : -1;
}

/**
 * rmap_walk(folio, rwc): every (vma, address) that may map the folio. Anonymous: the anon_vma's
 * interval tree under anon_vma->root->rwsem (read); file: mapping->i_mmap under i_mmap_rwsem
 * (read). The folio is locked (or, for anon, at least mapped: that keeps its anon_vma alive).
 */
export function* rmap_walk(f: folio, rwc: rmap_walk_control): Task<void> {
  if (folio_test_anon(f)) {
    // rmap_walk_anon: folio_anon_vma() is only stable while the folio is mapped.
    if (!k.fn.folio_mapped(f)) return;
    const av = f.mapping as anon_vma;
    yield* k.fn.anon_vma_lock_read(av);
    for (const avc of [...av.rb_root]) {
      const vma = avc.vma;
      kasan_check_read(vma, 'rmap_walk_anon');
      const address = vma_address(vma, f.index);
      if (address < 0) continue;
      if (!(yield* rwc.rmap_one(f, vma, address))) break;
      if (rwc.done?.(f)) break;
    }
    k.fn.anon_vma_unlock_read(av);
    return;
  }
  const mapping = f.mapping;
  if (!(mapping instanceof address_space)) return;
  // rmap_walk_file
  yield* down_read(mapping.i_mmap_rwsem);
  for (const vma of [...mapping.i_mmap]) {
    kasan_check_read(vma, 'rmap_walk_file');
    const address = vma_address(vma, f.index);
    if (address < 0) continue;
    if (!(yield* rwc.rmap_one(f, vma, address))) break;
    if (rwc.done?.(f)) break;
  }
  up_read(mapping.i_mmap_rwsem);
}

/**
 * page_vma_mapped_walk for one small folio: the PTE table mapping `f` at `address` in `vma`,
 * returned with its PTL held (RCU too), or null.
 */
function* page_vma_mapped_walk(f: folio, vma: vm_area_struct, address: number): Task<pte_table | null> {
  const mm = vma.vm_mm;
  const pmd = mm.pgd.get(k.fn.sim_pmd_index(address));
  if (pmd === undefined) return null;
  const table = yield* k.fn.pte_offset_map_lock(mm, pmd, address);
  if (table === null) return null;
  const pte = k.fn.ptep_get(table, address);
  if (pte.kind === 'present' && pte.folio === f) return table;
  k.fn.pte_unmap_unlock(table);
  return null;
}

/** Call a kernel function that may be written as a generator or as a plain function. */
function* call_maybe_gen<R>(fn: (...a: never[]) => unknown, ...args: unknown[]): Task<R> {
  const r = (fn as (...a: unknown[]) => unknown)(...args);
  if (r !== null && typeof r === 'object' && typeof (r as Task<R>).next === 'function' && Symbol.iterator in (r as object)) {
    return yield* (r as Task<R>);
  }
  return r as R;
}

/**
 * try_to_unmap_one(): clear the PTE (with TLB flush), and for an anonymous folio in the swap
 * cache install the swap entry (swap_duplicate first: the PTE now holds a swap count); the PTE's
 * folio reference and mapcount are dropped.
 */
function* try_to_unmap_one(f: folio, vma: vm_area_struct, address: number, result: { ok: boolean }): Task<boolean> {
  const mm = vma.vm_mm;
  const table = yield* page_vma_mapped_walk(f, vma, address);
  if (table === null) return true;
  yield step('try_to_unmap_one:ptep_clear_flush', table);
  const pteval = k.fn.ptep_clear_flush(vma, address, table);
  if (pteval.kind === 'present' && pteval.dirty) f.dirty = true; // folio_mark_dirty
  if (folio_test_anon(f)) {
    // Store the swap location in the pte.
    if (WARN_ON_ONCE(f.swapbacked !== f.swapcache, `try_to_unmap_one: anon ${f.name} not in the swap cache`)) {
      k.fn.set_pte_at(mm, address, table, pteval);
      k.fn.pte_unmap_unlock(table);
      result.ok = false;
      return false;
    }
    const entry = f.swap;
    const swap_duplicate = optional<(...a: never[]) => unknown>('swap_duplicate');
    if (!swap_duplicate) throw new Error('try_to_unmap: swap_duplicate is not implemented (mm/swapfile.ts)');
    if ((yield* call_maybe_gen<number>(swap_duplicate, entry)) < 0) {
      k.fn.set_pte_at(mm, address, table, pteval);
      k.fn.pte_unmap_unlock(table);
      result.ok = false;
      return false;
    }
    const exclusive = f.anon_exclusive;
    // folio_try_share_anon_rmap_pte: an exclusive page that may be pinned cannot be shared (the
    // pin would lose the page): restore the PTE and give up.
    if (exclusive && k.fn.folio_maybe_dma_pinned(f)) {
      k.fn.swap_free(entry);
      k.fn.set_pte_at(mm, address, table, pteval);
      k.fn.pte_unmap_unlock(table);
      result.ok = false;
      return false;
    }
    f.anon_exclusive = false;
    k.fn.dec_mm_counter(mm, 'MM_ANONPAGES');
    k.fn.inc_mm_counter(mm, 'MM_SWAPENTS');
    let swp_pte = k.fn.swp_entry_to_pte(entry);
    if (exclusive) swp_pte = k.fn.pte_swp_mkexclusive(swp_pte);
    if (pteval.kind === 'present' && pteval.uffd_wp) swp_pte = k.fn.pte_mkuffd_wp(swp_pte);
    k.fn.set_pte_at(mm, address, table, swp_pte);
  } else {
    k.fn.dec_mm_counter(mm, k.fn.mm_counter_file(f));
  }
  k.fn.folio_remove_rmap_pte(f, vma);
  k.fn.pte_unmap_unlock(table);
  k.fn.folio_put(f);
  return true;
}

/**
 * try_to_unmap(folio, flags): unmap the folio from every page table through the rmap (reclaim).
 * Locks: the folio is locked. True when no mapping is left.
 */
export function* try_to_unmap(f: folio): Task<boolean> {
  VM_BUG_ON(!folio_test_locked(f), `try_to_unmap: ${f.name} not locked`);
  const result = { ok: true };
  yield* k.fn.rmap_walk(f, {
    rmap_one: (ff, vma, address) => try_to_unmap_one(ff, vma, address, result),
    done: (ff) => !k.fn.folio_mapped(ff),
  });
  return !k.fn.folio_mapped(f);
}

// ---------------------------------------------------------------------------------------------
// The rmap-completeness property (I10), for properties/

/**
 * sim_rmap_complete(mm): a pure check (no steps) of I10 over the mm's present PTEs: every
 * anonymous page mapped in VMA V has folio->mapping = an anon_vma linked from V's anon_vma_chain
 * (and that chain entry is in the anon_vma's interval tree, where rmap walks look) at the index
 * linear_page_index(V, addr) (where rmap_walk_anon computes the address from); every file
 * page mapped in V belongs to V's file and V is in mapping->i_mmap. PTEs outside every VMA are
 * not judged here (munmap zaps them after removing the VMAs). Returns null or a description.
 */
export function sim_rmap_complete(mm: mm_struct): string | null {
  const vmas = mm.mm_mt.ma_root.slots;
  const find = (addr: number): vm_area_struct | null => {
    for (const v of vmas) if (addr >= v.vm_start && addr < v.vm_end) return v;
    return null;
  };
  for (const [idx, pmd] of [...mm.pgd.entries()].sort((a, b) => a[0] - b[0])) {
    const table = pmd.table;
    if (table === null || table.freed) continue;
    for (let i = 0; i < table.entries.length; i++) {
      const pte = table.entries[i]!;
      if (pte.kind !== 'present' || pte.special || pte.folio.special) continue;
      const addr = idx * PAGE_SIZE * table.entries.length + i * PAGE_SIZE;
      const vma = find(addr);
      if (vma === null) continue;
      const f = pte.folio;
      const m = f.mapping;
      if (m instanceof anon_vma) {
        const avc = vma.anon_vma_chain.find((c) => c.anon_vma === m);
        if (avc === undefined) {
          return `${mm.name}: anon ${f.name} at ${hex(addr)} in ${vma} has anon_vma ${m.name}, not on the VMA's anon_vma_chain ` +
            `[${vma.anon_vma_chain.map((c) => c.anon_vma.name).join(', ')}] (rmap cannot find this mapping)`;
        }
        if (!m.rb_root.has(avc)) return `${mm.name}: ${vma}'s chain to ${m.name} is not in the anon_vma's interval tree (${f.name} at ${hex(addr)})`;
        // rmap_walk_anon finds the mapping at vma_address(vma, folio->index): the index must be
        // linear_page_index(vma, addr), or the walk looks at another address (or none).
        const want = linear_page_index(vma, addr);
        if (f.index !== want) {
          const at = vma_address(vma, f.index);
          return `${mm.name}: anon ${f.name} at ${hex(addr)} in ${vma} has index ${f.index}, not linear_page_index ${want}: ` +
            `rmap looks for it at ${at < 0 ? 'no address of the VMA' : hex(at)} (rmap cannot find this mapping)`;
        }
      } else if (m instanceof address_space) {
        if (vma.vm_file === null || vma.vm_file.f_mapping !== m) {
          return `${mm.name}: file ${f.name} of ${m.name} at ${hex(addr)} is mapped in ${vma}, which maps ${vma.vm_file?.f_mapping.name ?? 'no file'}`;
        }
        if (!m.i_mmap.has(vma)) return `${mm.name}: ${vma} maps ${f.name} of ${m.name} at ${hex(addr)} but is not in mapping->i_mmap`;
      } else if (vma.vm_file?.f_op?.mmap && !f.lru) {
        // A driver's own page, returned by its ->fault (impl/drivers/misc_device.ts): in no page
        // cache and on no LRU, so reclaim never walks rmap for it — nothing to find.
        continue;
      } else {
        return `${mm.name}: ${f.name} at ${hex(addr)} in ${vma} is mapped but has no mapping (neither anon_vma nor address_space)`;
      }
    }
  }
  return null;
}
