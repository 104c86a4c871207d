/**
 * Kernel: mm/slub.c (kmem_cache_alloc, kmem_cache_free, SLAB_TYPESAFE_BY_RCU), mm/kasan/report.c,
 * include/linux/rcupdate.h (kfree_rcu) — a KASAN-style object store.
 *
 * Objects are ordinary JS objects; an allocation attaches a header (kasan_meta, under the
 * KASAN_META symbol): cache, state (allocated / freed / RCU-free pending), generation, who
 * allocated and freed it, where and at which step. Freed objects are never recycled (KASAN's
 * quarantine, made infinite), so any later access is caught — except in SLAB_TYPESAFE_BY_RCU
 * caches, whose freed objects stay that type and may be handed back by the next allocation: the
 * same JS object, with a new generation. Whether an allocation reuses one (and which) is a
 * scheduler choice (default: a fresh object), so exploration covers both. Accessing a freed
 * typesafe object is legal inside an RCU read-side section (the memory stays a vm_area_struct);
 * outside one it is reported, since the slab may have gone back to the page allocator.
 *
 * Allocation is a generator (`yield* kmem_cache_alloc(cache, site)`) only so that it can ask
 * the scheduler; it is not a scheduling point. kmem_cache_alloc never fails;
 * kmem_cache_alloc_may_fail lets the scheduler fail it (null). Scenario setup (outside a task)
 * uses sim_kmem_cache_alloc_fresh. Objects built with `new` elsewhere (folios, page tables) can
 * join the store with sim_kasan_track, or just be freed with kfree: a freed object with no header
 * gets one.
 *
 * kasan_check_read/kasan_check_write throw Violation('kasan') with the kernel's report:
 *   BUG: KASAN: slab-use-after-free in <site>
 *   Read of size 8 at addr ffff888000001a40 by task T1/0
 *   Allocated by task …  / Freed by task …
 * A second free is "BUG: KASAN: double-free in <site>".
 */
import { current, currentExecution, inTask, registerExecSlot, type Execution } from '../rt/execution.js';
import { choose, Violation, type Task } from '../rt/task.js';
import { call_rcu, rcu_read_lock_any_held } from './rcu.js';
import { sim_task_label } from './sched.js';
import { sim_fp_read, sim_fp_write, sim_hash_mix, sim_track_immutable_proto, sim_track_reserve_key, sim_track_state_part, sim_track_static } from '../rt/track.js';

/** SLAB_TYPESAFE_BY_RCU (include/linux/slab.h). */
export const SLAB_TYPESAFE_BY_RCU = 0x00080000;

export const KASAN_META: unique symbol = Symbol('kasan_meta');
// The header may be attached to an object that is already tracked (impl/rt/track.ts).
sim_track_reserve_key(KASAN_META);

export const KASAN_ALLOCATED = 0;
export const KASAN_FREED = 1;
/** kfree_rcu/call_rcu free queued: still accessible until the grace period ends. */
export const KASAN_FREE_PENDING = 2;

/** Where an event happened. */
export interface kasan_track {
  readonly task: string;
  readonly site: string;
  readonly step: number;
}

/** The object header. */
export class kasan_meta {
  state = KASAN_ALLOCATED;
  generation = 1;
  free: kasan_track | null = null;
  /** call_rcu/kfree_rcu that queued the free ("Last potentially related work creation"). */
  rcuQueued: kasan_track | null = null;
  /** Instrumented writes to the object so far (see sim_kasan_write_stamp). */
  declare writes: number;
  constructor(readonly cache: kmem_cache<object>, readonly id: number, public alloc: kasan_track) {
    // A non-enumerable field: the footprint tracker (impl/rt/track.ts) leaves it alone. It is the
    // I10 memo's change detector, not kernel state: two writes to different entries of a table
    // both bump it, and tracked they would look dependent. The reducing explorer runs I10
    // without the memo (properties/invariants STEP_CHECKS_STATELESS).
    Object.defineProperty(this, 'writes', { value: 0, writable: true, enumerable: false, configurable: true });
  }
}

/** Anything the store may have a header on. */
export type kasan_object = object & { [KASAN_META]?: kasan_meta };

let cacheIds = 0;

/** struct kmem_cache: static (like the kernel's caches); its per-run free lists live in the Execution. */
export class kmem_cache<T extends object> {
  readonly id: number;
  constructor(
    readonly name: string,
    /**
     * Builds a fresh object. Its argument is the simulation's: what kmem_cache_alloc was given
     * to build it from (vm_area_alloc's mm), where the kernel's constructor would find the
     * object's memory and the caller fills it in.
     */
    readonly ctor: (arg?: unknown) => T,
    readonly flags = 0,
    /** Called on an object handed back by a typesafe cache (default: nothing, the caller re-initialises, as in the kernel). */
    readonly reinit: ((obj: T) => void) | null = null,
    /** Object size for the report. */
    readonly size = 8,
  ) {
    this.id = cacheIds++;
    sim_track_static(this);
  }
  get typesafe(): boolean {
    return (this.flags & SLAB_TYPESAFE_BY_RCU) !== 0;
  }
}

/**
 * The caches created so far, by name, flags, size and constructor source: kmem_cache_create
 * returns the existing cache for the same request, so a kernel module evaluated twice (a
 * variant's faithful copy of a function: test/impl/override_identity.test.ts) allocates from and
 * frees to the kernel's one cache, as a static cache is created once at boot. Bounded by the
 * kmem_cache_create calls in the source.
 */
const created = new Map<string, kmem_cache<object>>();

/** kmem_cache_create(name, ctor, flags). */
export function kmem_cache_create<T extends object>(
  name: string, ctor: (arg?: unknown) => T, flags = 0, reinit: ((obj: T) => void) | null = null, size = 8,
): kmem_cache<T> {
  const key = `${name}\0${flags}\0${size}\0${String(ctor)}\0${String(reinit)}`;
  let c = created.get(key) as kmem_cache<T> | undefined;
  if (c === undefined) {
    c = new kmem_cache(name, ctor, flags, reinit, size);
    created.set(key, c as unknown as kmem_cache<object>);
  }
  return c;
}

/** Objects allocated with kmalloc/kfree-style calls and sim_kasan_track without a cache. */
const kmalloc_cache = new kmem_cache<object>('kmalloc', () => ({}));
const caches = new Map<string, kmem_cache<object>>();
function namedCache(name: string): kmem_cache<object> {
  let c = caches.get(name);
  if (c === undefined) {
    c = new kmem_cache<object>(name, () => ({}));
    caches.set(name, c);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Per-run state

class kasan_run {
  nextId = 1;
  /** Freed objects of typesafe caches, by cache id. */
  readonly freelists: object[][] = [];
  /** Every object allocated in this run (for the leak check). */
  readonly objects: object[] = [];
}

const RUN = registerExecSlot();
// A state's hash (impl/rt/track.ts): the typesafe caches' free lists (which objects a reuse may pick).
sim_track_state_part((exec, h) => {
  const r = (exec as Execution).slots[RUN] as kasan_run | undefined;
  if (r === undefined) return;
  r.freelists.forEach((fl, id) => {
    sim_hash_mix(h, id);
    for (const o of fl) sim_hash_mix(h, o);
  });
});

/** The footprint resource of the typesafe caches' free lists (sub-key: the cache id). */
const FREELISTS = Object.freeze({ resource: 'kasan freelists' });

function runOf(exec: Execution): kasan_run {
  let r = exec.slots[RUN] as kasan_run | undefined;
  if (r === undefined) {
    r = new kasan_run();
    exec.slots[RUN] = r;
  }
  return r;
}

/** The prototype of kasan_track values (never written: the footprint tracker leaves them alone). */
const TRACK_PROTO: object = Object.freeze(Object.create(null) as object);
sim_track_immutable_proto(TRACK_PROTO);

function here(site: string): kasan_track {
  if (!inTask()) return { __proto__: TRACK_PROTO, task: 'setup', site, step: -1 } as kasan_track;
  return { __proto__: TRACK_PROTO, task: sim_task_label(current()), site, step: currentExecution().step } as kasan_track;
}

function metaOf(obj: object): kasan_meta | undefined {
  return (obj as kasan_object)[KASAN_META];
}

/** The header of a tracked object (undefined for untracked objects). */
export function sim_kasan_meta(obj: object): kasan_meta | undefined {
  return metaOf(obj);
}

/** The object's generation (bumped each time a typesafe cache hands it out again); 0 if untracked. */
export function kasan_generation(obj: object): number {
  return metaOf(obj)?.generation ?? 0;
}

/** Allocated (not freed, not pending free)? Untracked objects count as allocated. */
export function kasan_object_alive(obj: object): boolean {
  const m = metaOf(obj);
  return m === undefined || m.state !== KASAN_FREED;
}

function attach<T extends object>(obj: T, cache: kmem_cache<object>, site: string, exec: Execution | undefined): T {
  const r = exec === undefined ? undefined : runOf(exec);
  const m = new kasan_meta(cache, r === undefined ? 0 : r.nextId++, here(site));
  (obj as kasan_object)[KASAN_META] = m;
  r?.objects.push(obj);
  return obj;
}

function execOrUndefined(): Execution | undefined {
  return inTask() ? currentExecution() : undefined;
}

/**
 * A fresh object, never reused and never failing: scenario setup, or code that must not branch.
 * `arg` goes to the cache's constructor.
 */
export function sim_kmem_cache_alloc_fresh<T extends object>(cache: kmem_cache<T>, site: string, exec?: Execution, arg?: unknown): T {
  return attach(cache.ctor(arg), cache as unknown as kmem_cache<object>, site, exec ?? execOrUndefined());
}

/**
 * kmem_cache_alloc(): an object of the cache. From a SLAB_TYPESAFE_BY_RCU cache with freed
 * objects the scheduler chooses: 0 a fresh object, i > 0 the i-th freed one handed back.
 * `arg` goes to the constructor of a fresh object (a reused one is the caller's to re-initialise).
 */
export function* kmem_cache_alloc<T extends object>(cache: kmem_cache<T>, site: string, arg?: unknown): Task<T> {
  if (!inTask()) return sim_kmem_cache_alloc_fresh(cache, site, undefined, arg);
  const exec = currentExecution();
  if (cache.typesafe) {
    const fl = runOf(exec).freelists[cache.id];
    // The free list is per-run state outside the tracked heap: its footprint is explicit.
    sim_fp_read(FREELISTS, cache.id);
    if (fl !== undefined && fl.length > 0) {
      const c = yield* choose(fl.length + 1, `${cache.name}:reuse`);
      if (c > 0) {
        sim_fp_write(FREELISTS, cache.id);
        const obj = fl.splice(c - 1, 1)[0]! as T;
        const m = metaOf(obj)!;
        m.state = KASAN_ALLOCATED;
        m.generation++;
        m.alloc = here(site);
        m.free = null;
        m.rcuQueued = null;
        cache.reinit?.(obj);
        return obj;
      }
    }
  }
  return sim_kmem_cache_alloc_fresh(cache, site, exec, arg);
}

/** kmem_cache_alloc that may fail: the scheduler chooses (1: failure, null). */
export function* kmem_cache_alloc_may_fail<T extends object>(cache: kmem_cache<T>, site: string): Task<T | null> {
  if (inTask()) {
    const fail = yield* choose(2, `${cache.name}:alloc_fail`);
    if (fail === 1) return null;
  }
  return yield* kmem_cache_alloc(cache, site);
}

/** Register an object built elsewhere (with `new`) as allocated from `cache` (a cache or a name). */
export function sim_kasan_track<T extends object>(obj: T, cache: kmem_cache<T> | string, site: string, exec?: Execution): T {
  const c = typeof cache === 'string' ? namedCache(cache) : (cache as unknown as kmem_cache<object>);
  return attach(obj, c, site, exec ?? execOrUndefined());
}

// ---------------------------------------------------------------------------------------------
// Free

function doubleFree(obj: object, m: kasan_meta, site: string): Violation {
  const t = here(site);
  return new Violation('kasan', `BUG: KASAN: double-free in ${site} (${m.cache.name} object ${addr(m)}, freed at ${m.free?.site ?? m.rcuQueued?.site})`, [
    '==================================================================',
    `BUG: KASAN: double-free in ${site}`,
    `Free of addr ${addr(m)} by task ${t.task} (step ${t.step})`,
    '',
    ...history(m),
    '',
    ...belongs(obj, m),
    '==================================================================',
  ]);
}

function doFree(obj: object, cache: kmem_cache<object> | null, site: string, checkPending: boolean): void {
  let m = metaOf(obj);
  if (m === undefined) {
    m = new kasan_meta(cache ?? kmalloc_cache, 0, { task: '?', site: '(not tracked)', step: -1 });
    (obj as kasan_object)[KASAN_META] = m;
  }
  if (m.state === KASAN_FREED || (checkPending && m.state === KASAN_FREE_PENDING)) throw doubleFree(obj, m, site);
  if (cache !== null && cache !== m.cache && m.cache !== kmalloc_cache) {
    throw new Violation('kasan', `kmem_cache_free: wrong slab cache: ${cache.name} but object is from ${m.cache.name}`, [
      `cache_from_obj: Wrong slab cache. ${cache.name} but object is from ${m.cache.name} (${site})`,
    ]);
  }
  m.state = KASAN_FREED;
  m.free = here(site);
  if (m.cache.typesafe && inTask()) {
    sim_fp_write(FREELISTS, m.cache.id);
    const r = runOf(currentExecution());
    let fl = r.freelists[m.cache.id];
    if (fl === undefined) {
      fl = [];
      r.freelists[m.cache.id] = fl;
    }
    fl.push(obj);
  }
}

/** kmem_cache_free(cache, obj): free now; a second free is a double-free. */
export function kmem_cache_free<T extends object>(cache: kmem_cache<T>, obj: T, site: string): void {
  doFree(obj, cache as unknown as kmem_cache<object>, site, true);
}

/** kfree(obj): free an object of any cache. */
export function kfree(obj: object, site: string): void {
  doFree(obj, null, site, true);
}

/**
 * kfree_rcu(obj): free after a grace period (call_rcu on the RCU kthread). The object stays
 * accessible until then; a second kfree/kfree_rcu meanwhile is a double-free.
 */
export function kfree_rcu(obj: object, site: string): void {
  let m = metaOf(obj);
  if (m !== undefined && m.state !== KASAN_ALLOCATED) throw doubleFree(obj, m, site);
  if (m === undefined) {
    attach(obj, kmalloc_cache, '(not tracked)', execOrUndefined());
    m = metaOf(obj)!;
  }
  m.state = KASAN_FREE_PENDING;
  m.rcuQueued = here(site);
  call_rcu(obj, (o) => doFree(o, null, `${site} (rcu callback)`, false));
}

// ---------------------------------------------------------------------------------------------
// Access checks and reports

function addr(m: kasan_meta): string {
  return 'ffff8880' + (0x1000 + m.cache.id * 0x100000 + m.id * 0x40).toString(16).padStart(8, '0');
}

function history(m: kasan_meta): string[] {
  const lines = [`Allocated by task ${m.alloc.task}:`, ` ${m.alloc.site} (step ${m.alloc.step})`];
  if (m.rcuQueued !== null) {
    lines.push('', 'Last potentially related work creation:', ` call_rcu from ${m.rcuQueued.site} by task ${m.rcuQueued.task} (step ${m.rcuQueued.step})`);
  }
  if (m.free !== null) lines.push('', `Freed by task ${m.free.task}:`, ` ${m.free.site} (step ${m.free.step})`);
  return lines;
}

function belongs(obj: object, m: kasan_meta): string[] {
  const name = 'name' in obj && typeof (obj as { name: unknown }).name === 'string' ? ` (${(obj as { name: string }).name})` : '';
  return [
    `The buggy address belongs to the object at ${addr(m)}${name}`,
    ` which belongs to the cache ${m.cache.name} of size ${m.cache.size}, generation ${m.generation}`,
  ];
}

function check(obj: object, site: string, write: boolean, size: number): void {
  const m = metaOf(obj);
  if (m === undefined || m.state !== KASAN_FREED) return;
  const typesafe = m.cache.typesafe;
  if (typesafe && rcu_read_lock_any_held()) return;
  const t = here(site);
  const kind = 'slab-use-after-free';
  const note = typesafe ? ['', `(SLAB_TYPESAFE_BY_RCU object accessed outside an RCU read-side section)`] : [];
  throw new Violation('kasan',
    `BUG: KASAN: ${kind} in ${site}: ${write ? 'write' : 'read'} of ${m.cache.name} object freed at ${m.free?.site ?? '?'} (allocated at ${m.alloc.site})`,
    [
      '==================================================================',
      `BUG: KASAN: ${kind} in ${site}`,
      `${write ? 'Write' : 'Read'} of size ${size} at addr ${addr(m)} by task ${t.task} (step ${t.step})`,
      ...note,
      '',
      ...history(m),
      '',
      ...belongs(obj, m),
      '==================================================================',
    ]);
}

/** kasan_check_read(): report a read of a freed object. */
export function kasan_check_read(obj: object, site: string, size = 8): void {
  check(obj, site, false, size);
}

let writeSeq = 0;

/** kasan_check_write(): report a write to a freed object. */
export function kasan_check_write(obj: object, site: string, size = 8): void {
  writeSeq++;
  const m = metaOf(obj);
  if (m !== undefined) m.writes++;
  check(obj, site, true, size);
}

/**
 * A stamp that changes with every instrumented write (kasan_check_write) to obj: its own write
 * count when the store tracks it, else (negative) the count of all instrumented writes. As in the
 * kernel, where KASAN instruments every store, every write the simulation makes to a page-table
 * entry goes through kasan_check_write on its table (set_pte_at, ptep_get_and_clear): an
 * incremental invariant (properties/invariants) knows that no entry of a table changed while its
 * stamp did not.
 */
export function sim_kasan_write_stamp(obj: object): number {
  const m = metaOf(obj);
  return m === undefined ? -1 - writeSeq : m.writes;
}

/**
 * kmemleak-style end-of-run check: objects allocated in this run and never freed (nor queued for
 * freeing). Optional: a scenario whose mm outlives the run will have live objects by design.
 */
export function kasan_end_of_run_leaks(exec: Execution, filter?: (cache: string) => boolean): Violation | null {
  const r = exec.slots[RUN] as kasan_run | undefined;
  if (r === undefined) return null;
  const leaked = r.objects.filter((o) => {
    const m = metaOf(o)!;
    return m.state === KASAN_ALLOCATED && (filter === undefined || filter(m.cache.name));
  });
  if (leaked.length === 0) return null;
  const lines: string[] = [];
  for (const o of leaked) {
    const m = metaOf(o)!;
    lines.push(`unreferenced object 0x${addr(m)} (size ${m.cache.size}, cache ${m.cache.name}):`,
      `  comm "${m.alloc.task}", step ${m.alloc.step}`, `  backtrace: ${m.alloc.site}`);
  }
  return new Violation('kmemleak', `kmemleak: ${leaked.length} new suspected memory leak(s): ${leaked.map((o) => metaOf(o)!.cache.name).join(', ')}`, lines);
}
