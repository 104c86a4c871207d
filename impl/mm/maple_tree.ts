/**
 * Kernel: lib/maple_tree.c, include/linux/maple_tree.h (the tree), mm/vma.h (vma_iter_store,
 * vma_iter_clear), mm/mmap.c (find_vma, find_vma_prev, find_vma_intersection), include/linux/mm.h
 * (vma_lookup) — the VMA tree mm->mm_mt.
 *
 * A stand-in for the maple tree with the properties the fault path depends on (kernel.md §1.5,
 * invariant I12):
 * - mm->mm_mt.ma_root points to one immutable maple_node: the sorted ranges [index, last] → VMA
 *   (the pivots are the tree's, not the VMA's fields: a writer may change vm_start before it
 *   stores the VMA, and an RCU reader sees the tree's ranges).
 * - A writer never modifies a node a reader may be traversing: mas_store_prealloc builds a new
 *   node, publishes it (rcu_assign_pointer of the root, one step), marks the old node dead and
 *   frees it through RCU (ma_free_rcu → call_rcu) when the tree is in RCU mode (MT_FLAGS_USE_RCU,
 *   the default for mm_mt since 3dd443254941, 6.3), else at once (mt_clear_in_rcu, e.g. the child
 *   tree in dup_mmap). Nodes are KASAN-tracked objects of the 'maple_node' cache, so a walk that
 *   reads a freed node is reported at that step (StackRot, B6).
 * - A walk is two steps: load the root (rcu_dereference_check(mt->ma_root, mt_locked(mt)): a
 *   lockdep "suspicious RCU usage" when the walker holds neither rcu_read_lock nor the tree's
 *   external lock, mm->mmap_lock; CONFIG_PROVE_RCU: only with lockdep on), then read the node
 *   (kasan_check_read). A walker that finds its node dead (replaced under it while it held only
 *   RCU) restarts from the root, as mtree_range_walk does (ma_dead_node → mas_reset → retry).
 * - mtree_load (vma_lookup) and mt_find (find_vma, find_vma_intersection) take rcu_read_lock
 *   themselves; mas_walk and find_vma_prev (mas_walk + mas_prev) do not: their callers must hold
 *   RCU or mmap_lock.
 * - Stores: vma_iter_store / vma_iter_clear assert mmap_write_lock (I12). mas_store_prealloc, the
 *   primitive below them, checks only what the kernel's mt_lock_is_held does for an external lock
 *   (mmap_lock held in either mode), so a pre-6.5 stack expansion under the read lock (the B6
 *   mutant) can call it as expand_downwards did.
 *
 * Left out: the B-tree shape (the whole tree is one node: a walk is root load + node read),
 * node preallocation and its -ENOMEM (mas_preallocate), gap tracking (unmapped_area is the
 * syscalls' business), the maple state as a cursor (each call walks from the root), and tree
 * locks other than the external mmap_lock.
 */
import { current, currentExecution, inTask } from '../rt/execution.js';
import { step, Violation, type Task } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import {
  maple_node, XA_ZERO_ENTRY, type maple_range, type maple_tree, type mm_struct, type vm_area_struct,
} from '../include/linux/mm_types.js';
import { rcu_read_lock, rcu_read_lock_held, rcu_read_unlock } from '../sync/rcu.js';
import { kasan_check_read, kfree_rcu, kmem_cache_create, kmem_cache_free, sim_kasan_track } from '../sync/kasan.js';
import { sim_task_label } from '../sync/sched.js';
import { sim_lockdep_enabled } from '../sync/lockdep.js';

/** The maple_node slab cache (lib/maple_tree.c: maple_node_cache). */
const maple_node_cache = kmem_cache_create<maple_node>('maple_node', () => new maple_node([]), 0, null, 256);

/** One tree entry: a range and the VMA stored there. */
export interface sim_mt_entry {
  readonly index: number;
  readonly last: number;
  readonly vma: vm_area_struct;
}

// ---------------------------------------------------------------------------------------------
// Tree flags

/** mt_set_in_rcu(): replaced nodes are freed after a grace period from now on. */
export function mt_set_in_rcu(mt: maple_tree): void {
  mt.in_rcu = true;
}

/** mt_clear_in_rcu(): replaced nodes are freed at once (no RCU readers can see this tree). */
export function mt_clear_in_rcu(mt: maple_tree): void {
  mt.in_rcu = false;
}

// ---------------------------------------------------------------------------------------------
// Readers

/**
 * rcu_dereference_check(mt->ma_root, mt_locked(mt)): lockdep's "suspicious RCU usage" when the
 * walker holds neither rcu_read_lock() nor mm->mmap_lock (the tree's external lock).
 */
function mt_check_root_access(mm: mm_struct, site: string): void {
  if (!inTask() || !sim_lockdep_enabled()) return; // CONFIG_PROVE_RCU is part of lockdep
  if (rcu_read_lock_held()) return;
  const t = current();
  if (mm.mmap_lock.sim_held_by(t.id) !== 0) return;
  throw new Violation('lockdep', `suspicious RCU usage: ${site} walks ${mm.name}->mm_mt without rcu_read_lock or mmap_lock (${sim_task_label(t)})`, [
    '=============================',
    'WARNING: suspicious RCU usage',
    '-----------------------------',
    `lib/maple_tree.c: suspicious rcu_dereference_check() usage! (${site})`,
    '',
    'other info that might help us debug this:',
    '',
    'rcu_scheduler_active = 2, debug_locks = 1',
    `no locks held by ${sim_task_label(t)} (neither rcu_read_lock nor ${mm.mmap_lock.name}), at step ${currentExecution().step}.`,
  ]);
}

/**
 * Load the root and read its node: two steps, restarting when the node was replaced (dead)
 * between them. Returns the node; the caller searches it without further steps.
 */
function* mas_start_walk(mm: mm_struct, site: string, rootLabel: string, nodeLabel: string): Task<maple_node> {
  const mt = mm.mm_mt;
  for (;;) {
    yield step(rootLabel, mm);
    mt_check_root_access(mm, site);
    const node = mt.ma_root;
    yield step(nodeLabel, node);
    kasan_check_read(node, site);
    if (!node.dead) return node;
    // ma_dead_node(): replaced after we loaded the root; mas_reset() and walk again.
  }
}

/** The slot whose range holds `addr`, or -1. */
function slot_of(node: maple_node, addr: number): number {
  const r = node.ranges;
  let lo = 0;
  let hi = r.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = r[mid]!;
    if (addr < e.index) hi = mid - 1;
    else if (addr > e.last) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** The first slot whose range ends at or after `addr` (mas_find's start), or r.length. */
function slot_from(node: maple_node, addr: number): number {
  const r = node.ranges;
  let lo = 0;
  let hi = r.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (r[mid]!.last < addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * mas_walk(mas) with mas at `addr` (lib/maple_tree.c): the VMA whose tree range holds `addr`, or
 * null. Caller holds rcu_read_lock() or mmap_lock (either mode); with only RCU the VMA may be
 * detached, freed by RCU later, or (6.15) recycled: the caller must lock and re-check it.
 */
export function* mas_walk(mm: mm_struct, addr: number): Task<vm_area_struct | null> {
  const node = yield* mas_start_walk(mm, 'mas_walk', 'mas_walk:ma_root', 'mas_walk:maple_node');
  const i = slot_of(node, addr);
  return i < 0 ? null : node.slots[i]!;
}

/**
 * vma_lookup(mm, addr) = mtree_load(&mm->mm_mt, addr) (include/linux/mm.h): the VMA containing
 * `addr` or null. mtree_load takes rcu_read_lock itself; the VMA is only stable for a caller
 * that holds mmap_lock (or locks the VMA).
 */
export function* vma_lookup(mm: mm_struct, addr: number): Task<vm_area_struct | null> {
  rcu_read_lock();
  const node = yield* mas_start_walk(mm, 'vma_lookup', 'vma_lookup:ma_root', 'vma_lookup:maple_node');
  rcu_read_unlock();
  const i = slot_of(node, addr);
  return i < 0 ? null : node.slots[i]!;
}

/**
 * find_vma(mm, addr) (mm/mmap.c): the first VMA with vm_end > addr (tree range last ≥ addr).
 * Locks: mmap_lock held (mmap_assert_locked); mt_find takes rcu_read_lock inside.
 */
export function* find_vma(mm: mm_struct, addr: number): Task<vm_area_struct | null> {
  k.fn.mmap_assert_locked(mm);
  rcu_read_lock();
  const node = yield* mas_start_walk(mm, 'find_vma', 'find_vma:ma_root', 'find_vma:maple_node');
  rcu_read_unlock();
  const i = slot_from(node, addr);
  return i < node.slots.length ? node.slots[i]! : null;
}

/**
 * find_vma_intersection(mm, start, end) (mm/mmap.c): the first VMA intersecting [start, end),
 * or null. Locks: mmap_lock held; mt_find takes rcu_read_lock inside.
 */
export function* find_vma_intersection(mm: mm_struct, start: number, end: number): Task<vm_area_struct | null> {
  k.fn.mmap_assert_locked(mm);
  rcu_read_lock();
  const node = yield* mas_start_walk(mm, 'find_vma_intersection', 'find_vma_intersection:ma_root', 'find_vma_intersection:maple_node');
  rcu_read_unlock();
  const i = slot_from(node, start);
  if (i >= node.slots.length) return null;
  return node.ranges[i]!.index <= end - 1 ? node.slots[i]! : null;
}

/**
 * find_vma_prev(mm, addr, &prev) (mm/mmap.c): mas_walk(), then mas_prev() for the VMA before,
 * then mas_next() when nothing contains `addr`. No RCU inside: the caller's mmap_lock (or RCU)
 * keeps the node alive between the walk and mas_prev — unless a writer replaces it under a
 * read lock (StackRot: mas_prev then reads the freed node, KASAN reports it here).
 */
export function* find_vma_prev(mm: mm_struct, addr: number): Task<{ vma: vm_area_struct | null; prev: vm_area_struct | null }> {
  const node = yield* mas_start_walk(mm, 'find_vma_prev', 'find_vma_prev:ma_root', 'find_vma_prev:maple_node');
  const i = slot_of(node, addr);
  // mas_prev(&mas, 0): steps back within the node the walk left the state on.
  yield step('mas_prev:maple_node', node);
  kasan_check_read(node, 'mas_prev');
  const from = i >= 0 ? i : slot_from(node, addr);
  const prev = from > 0 ? node.slots[from - 1]! : null;
  if (i >= 0) return { vma: node.slots[i]!, prev };
  // mas_next(&mas, ULONG_MAX).
  const vma = from < node.slots.length ? node.slots[from]! : null;
  return { vma, prev };
}

// ---------------------------------------------------------------------------------------------
// Writers

/** The entries of `node` with [index, last] overwritten by `entry` (null: cleared). */
function stored(node: maple_node, index: number, last: number, entry: vm_area_struct | null): { slots: vm_area_struct[]; ranges: maple_range[] } {
  const slots: vm_area_struct[] = [];
  const ranges: maple_range[] = [];
  let placed = entry === null;
  for (let i = 0; i < node.slots.length; i++) {
    const r = node.ranges[i]!;
    const v = node.slots[i]!;
    if (r.last < index) {
      slots.push(v);
      ranges.push(r);
      continue;
    }
    if (r.index < index) {
      // The part before the stored range survives (the maple tree splits the range).
      slots.push(v);
      ranges.push({ index: r.index, last: index - 1 });
    }
    if (!placed) {
      slots.push(entry!);
      ranges.push({ index, last });
      placed = true;
    }
    if (r.last > last) {
      slots.push(v);
      ranges.push({ index: Math.max(r.index, last + 1), last: r.last });
    }
  }
  if (!placed) {
    slots.push(entry!);
    ranges.push({ index, last });
  }
  return { slots, ranges };
}

/** ma_free_rcu() / mt_free_one(): free a replaced node, after a grace period in RCU mode. */
function mas_free(mt: maple_tree, node: maple_node): void {
  node.dead = true;
  if (mt.in_rcu) kfree_rcu(node, 'ma_free_rcu');
  else kmem_cache_free(maple_node_cache, node, 'mt_free_one');
}

/**
 * mas_store_prealloc(mas, entry) with mas at [index, last] (lib/maple_tree.c): store `entry`
 * (null clears) over the range, overwriting what overlaps it. One step: the new node is built
 * privately and published with rcu_assign_pointer; the old one is freed (RCU mode: by RCU).
 * Locks: the tree's external lock, mm->mmap_lock, held (mt_lock_is_held: either mode).
 */
export function* mas_store_prealloc(mm: mm_struct, index: number, last: number, entry: vm_area_struct | null): Task<void> {
  k.fn.mmap_assert_locked(mm);
  if (last < index) throw new Error(`mas_store_prealloc: empty range [${index}, ${last}]`);
  const mt = mm.mm_mt;
  yield step('mas_store_prealloc:rcu_assign_pointer', mm);
  const old = mt.ma_root;
  kasan_check_read(old, 'mas_store_prealloc');
  const { slots, ranges } = stored(old, index, last, entry);
  const node = sim_kasan_track(new maple_node(slots, ranges), maple_node_cache, 'mas_store_prealloc');
  mt.ma_root = node;
  mas_free(mt, old);
}

/**
 * vma_iter_store (mm/vma.h; 6.15+ vma_iter_store_new / vma_iter_store_overwrite): store `vma`
 * over [vm_start, vm_end). Locks: mmap_write_lock (I12: the tree changes only under it).
 * 6.15+: a VMA not yet in the tree (vm_refcnt 0) is marked attached first (vma_iter_store_new →
 * vma_mark_attached, which asserts it is write-locked: a new VMA is locked before it becomes
 * visible, B9). 6.4–6.14: the VMA is attached since vma_init (vma->detached = false).
 */
export function* vma_iter_store(mm: mm_struct, vma: vm_area_struct): Task<void> {
  k.fn.mmap_assert_write_locked(mm);
  if (k.cfg.per_vma_lock && k.cfg.vma_lock_impl === 'refcount' && vma.vm_refcnt === 0) k.fn.vma_mark_attached(vma);
  yield* k.fn.mas_store_prealloc(mm, vma.vm_start, vma.vm_end - 1, vma);
}

/** xa_is_zero(entry) (include/linux/xarray.h): the reserved XA_ZERO_ENTRY. */
export function xa_is_zero(entry: vm_area_struct | null): boolean {
  return entry === XA_ZERO_ENTRY;
}

/**
 * __mt_dup(mt, new, gfp) (6.8+, used by dup_mmap): make `mm`'s tree an identical copy of
 * `oldmm`'s — same ranges, same entries (the parent's VMAs, which dup_mmap then overwrites one
 * by one). One step. Locks: both mmap_locks held for write. 0 (allocation failure not modelled).
 */
export function* __mt_dup(oldmm: mm_struct, mm: mm_struct): Task<number> {
  k.fn.mmap_assert_write_locked(oldmm);
  k.fn.mmap_assert_write_locked(mm);
  yield step('__mt_dup', mm);
  const src = oldmm.mm_mt.ma_root;
  kasan_check_read(src, '__mt_dup');
  const mt = mm.mm_mt;
  const old = mt.ma_root;
  mt.ma_root = sim_kasan_track(new maple_node([...src.slots], [...src.ranges]), maple_node_cache, '__mt_dup');
  mas_free(mt, old);
  return 0;
}

/**
 * vma_iter_clear (mm/vma.h): remove whatever the tree holds in [start, end). Locks:
 * mmap_write_lock; the VMAs there must already be write-locked and detached (I8).
 */
export function* vma_iter_clear(mm: mm_struct, start: number, end: number): Task<void> {
  k.fn.mmap_assert_write_locked(mm);
  yield* k.fn.mas_store_prealloc(mm, start, end - 1, null);
}

// ---------------------------------------------------------------------------------------------
// Snapshots for setup and checks (no step, no lock checks)

/** The VMAs in the tree, in address order (each once). */
export function sim_vmas(mm: mm_struct): vm_area_struct[] {
  const out: vm_area_struct[] = [];
  for (const v of mm.mm_mt.ma_root.slots) if (out[out.length - 1] !== v) out.push(v);
  return out;
}

/** The tree's entries: ranges as the tree stores them, with their VMAs. */
export function sim_mt_entries(mm: mm_struct): sim_mt_entry[] {
  const n = mm.mm_mt.ma_root;
  return n.slots.map((vma, i) => ({ index: n.ranges[i]!.index, last: n.ranges[i]!.last, vma }));
}

/**
 * validate_mm-style check (mm/vma.c, CONFIG_DEBUG_VM_MAPLE_TREE): every tree range equals its
 * VMA's [vm_start, vm_end), the VMA belongs to this mm, and ranges do not overlap. Returns the
 * first problem, or null. Meaningful only when no writer is between changing a VMA and storing it.
 */
export function sim_mt_validate(mm: mm_struct): string | null {
  const n = mm.mm_mt.ma_root;
  let prevLast = -1;
  for (let i = 0; i < n.slots.length; i++) {
    const v = n.slots[i]!;
    const r = n.ranges[i]!;
    if (r.index <= prevLast) return `${mm.name}: tree range [${r.index}, ${r.last}] overlaps the previous one`;
    prevLast = r.last;
    if (v.vm_mm !== mm) return `${mm.name}: ${v} in the tree belongs to ${v.vm_mm.name}`;
    if (r.index !== v.vm_start || r.last !== v.vm_end - 1) {
      return `${mm.name}: tree range [0x${r.index.toString(16)}, 0x${(r.last + 1).toString(16)}) != ${v}`;
    }
  }
  return null;
}
