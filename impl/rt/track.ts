/**
 * Footprints: the shared locations each step reads and writes, recorded where the state is
 * accessed, for partial-order reduction (schedulers/dpor.ts), the state cache and anyone who
 * wants to know which steps touch the same objects (communication-guided scheduling).
 *
 * How accesses are seen: a tracked run converts the shared heap in place. Starting from its
 * roots (the simulated kernel), every object reachable from them — and every object later stored
 * into a tracked one — is converted once:
 *  - a plain object or class instance keeps its identity: each own data property becomes an own
 *    accessor whose getter records a read of (object, key) and whose setter records a write (and
 *    converts the value stored); the object is then made non-extensible, so a property added later
 *    (which no accessor would see) throws instead of going unseen;
 *  - a Map or Set keeps its identity: its methods are shadowed by own recording ones (get/has
 *    read the key; set/add/delete/clear write the key and the whole collection; size and iteration
 *    read the whole collection);
 *  - an array is replaced by a Proxy (in the field that holds it) that records each index and
 *    `length` read or written. Arrays are the one place identity changes: code that keeps a raw
 *    reference to an array across its publication is not seen (none in impl/ does; the divergence
 *    test in test/rt/track.test.ts compares tracked and untracked runs).
 * Frozen objects, functions and objects marked static (sim_track_static: lock classes, caches,
 * the scenario) are left alone: nothing can write them.
 *
 * Because the conversion is in place, every reference — the creator's local, a closure's capture,
 * a pointer in another object — sees the same accessors: there is no raw alias to miss. State that
 * is not reachable from the roots (the runtime's per-task and per-run slots: RCU readers, the RCU
 * callback queue, KASAN's free lists, lockdep) is recorded by its owners with sim_fp_read /
 * sim_fp_write on a named resource (impl/sync).
 *
 * A location is (object id, key) folded into one number. Ids are given in conversion order, which
 * is deterministic for a given prefix of a run. Distinct locations may fold to the same number:
 * that only adds dependencies (sound).
 *
 * Untracked runs pay nothing: no object is converted unless a run calls sim_track_begin.
 */

/** Bits of a location number used by the key: location = objectId * KEYS + keyId. */
const KEYS = 1 << 21;
/** Key id of "the whole collection" (size, iteration, any structural change). */
export const KEY_ALL = 0;
/** Array indices: key id = INDEX_BASE + index (indices beyond the range share the last id). */
const INDEX_BASE = 1 << 20;
const INDEX_MAX = KEYS - INDEX_BASE - 1;

const ID = Symbol('faultline.track.id');
/** The id of a converted object, kept in its store. */
const SID = Symbol('faultline.track.sid');
const STORE = Symbol('faultline.track.store');
const RAW = Symbol('faultline.track.raw');

/** What a step touched: sorted, de-duplicated location numbers. */
export interface Footprint {
  readonly reads: readonly number[];
  readonly writes: readonly number[];
  /** A step that ended a wait: what the wait's condition read (also among `reads`). */
  readonly waits?: readonly number[];
}

/**
 * The recorder of the running step (null: nothing is recorded, e.g. between steps). With `obs`
 * on, every value the step reads is also folded into (o1, o2): the running hash of everything its
 * task has read so far (see "State hashing" below).
 */
interface Recorder {
  r: number[];
  w: number[];
  /** Reads of a wait's condition (see Footprint.waits); null when the step did not end a wait. */
  u: number[] | null;
  obs: boolean;
  o1: number;
  o2: number;
}

let REC: Recorder | null = null;
/** Record an array's index reads as reads of the whole array (a coarser, much smaller read set). */
let COARSE = false;
/** Tracking installed (a tracked run is going on): conversions happen. */
let ACTIVE = false;
/**
 * Ids of converted objects: given in conversion order from RUN_IDS at the start of every tracked
 * run, so that the same prefix of a run gives the same objects the same ids (the reducer compares
 * footprints across executions). Objects that are not converted (named resources, static objects
 * used as Map keys) get permanent ids below RUN_IDS.
 */
const RUN_IDS = 1 << 24;
let nextId = RUN_IDS;
let nextPermId = 1;

const keyIds = new Map<PropertyKey, number>();
const keyNames: PropertyKey[] = [''];

function keyId(key: PropertyKey): number {
  let k = keyIds.get(key);
  if (k === undefined) {
    k = keyNames.length;
    if (k >= INDEX_BASE) k = INDEX_BASE - 1;
    keyIds.set(key, k);
    keyNames.push(key);
  }
  return k;
}

/** Objects never converted (immutable by construction, or shared by every run). */
const statics = new WeakSet<object>();
/** Ids of objects used as Map keys or resources without being converted. */
const plainIds = new WeakMap<object, number>();


function read(loc: number): void {
  REC!.r.push(loc);
}
function write(loc: number): void {
  REC!.w.push(loc);
}

/** The id of any object (converted or not): for Map keys and named resources. */
export function sim_track_id(o: object, _permanent = false): number {
  const own = idOf(o);
  if (own !== undefined) return own;
  let id = plainIds.get(o);
  if (id === undefined) {
    // Not converted (a frozen value, a function, a resource): a permanent id. Giving these ids
    // must not depend on what was read (a replay without recording reads less), so they never
    // draw from the run's sequence.
    id = nextPermId++;
    plainIds.set(o, id);
  }
  return id;
}

/** Mark objects that tracking must leave alone (shared by all runs, or immutable by design). */
export function sim_track_static(o: object): void {
  statics.add(o);
}

/** Mark `o` and everything it reaches static (e.g. a scenario: data every run reads, none writes). */
export function sim_track_static_deep(o: unknown): void {
  if (typeof o !== 'object' || o === null || statics.has(o)) return;
  statics.add(o);
  if (o instanceof Map) {
    for (const [k, v] of o) { sim_track_static_deep(k); sim_track_static_deep(v); }
  } else if (o instanceof Set) {
    for (const v of o) sim_track_static_deep(v);
  } else {
    for (const k of Object.keys(o)) sim_track_static_deep((o as Record<string, unknown>)[k]);
  }
}

/** Prototypes whose instances are values, never written after creation (ops, KASAN tracks). */
const immutableProtos = new Set<object>();
export function sim_track_immutable_proto(proto: object): void {
  immutableProtos.add(proto);
}

// ---------------------------------------------------------------------------------------------
// State hashing
//
// The tracked heap keeps a hash of its contents, updated at every write: the sum (two 32-bit
// lanes, so the order of writes does not matter) of one term per location, mixing the location
// with a hash of its value. A value that is an object counts as its id; strings by content; keys
// named `name` (simulation object names, for reports) are left out. Maps and Sets add one term
// for the whole collection: the sum of their entries' terms mixed with the order of their keys
// (iteration order is observable). Tasks are generators whose locals the heap does not show: each
// task's position is the running hash of every value it read (Recorder obs), which with the code
// fixes what its locals hold. The explorer combines these with the state the heap does not hold
// (sim_track_state_part: RCU, KASAN free lists, lockdep, each task's sync state).

let HEAP1 = 0;
let HEAP2 = 0;
const fnIds = new Map<unknown, number>();

function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

const strHashes = new Map<string, number>();
function strHash(x: string): number {
  let h = strHashes.get(x);
  if (h === undefined) {
    h = 0x811c9dc5;
    for (let i = 0; i < x.length; i++) h = Math.imul(h ^ x.charCodeAt(i), 0x01000193);
    h = mix32(h ^ x.length);
    if (strHashes.size < 100_000) strHashes.set(x, h);
  }
  return h;
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

/** A 32-bit hash of a value as the heap holds it. */
function vh(v: unknown): number {
  switch (typeof v) {
    case 'number':
      if ((v | 0) === v) return mix32(v ^ 0x5bd1e995);
      F64[0] = v;
      return mix32(U32[0]! ^ mix32(U32[1]! + 0x27d4eb2f));
    case 'string': return strHash(v);
    case 'boolean': return v ? 0x1b873593 : 0x6b43a9b5;
    case 'undefined': return 0x3c6ef372;
    case 'object': {
      if (v === null) return 0x14292967;
      const id = idOf(v) ?? (v as { [AID]?: number })[AID] ?? ((v as { [RAW]?: { [AID]?: number } })[RAW]?.[AID]);
      if (id !== undefined) return mix32(id ^ 0x2545f491);
      if (immutableProtos.has(Object.getPrototypeOf(v) as object)) return 0x7f4a7c15;
      // Shared by all runs (frozen, static): its permanent id. Otherwise an object not (yet) in
      // the heap: one task's own (e.g. a lock it just created and holds), which that task's
      // observation hash already accounts for.
      if (statics.has(v) || Object.isFrozen(v)) return mix32(sim_track_id(v) ^ 0x2545f491);
      return 0x1b56c4e9;
    }
    case 'function': {
      // Functions stored in the heap (callbacks): a run-local number in the order they are first
      // stored — the same for the same prefix of a run, whether or not its reads are recorded.
      let n = fnIds.get(v);
      if (n === undefined) {
        n = fnIds.size + 1;
        fnIds.set(v, n);
      }
      return mix32(n ^ 0x61c88647);
    }
    default: return 0x2f0f1b3d;
  }
}

/** The two lanes of a location's term for a value hash. */
let T1 = 0;
let T2 = 0;
function term(loc: number, h: number): void {
  const lo = loc % 4294967296 | 0;
  const hi = Math.floor(loc / 4294967296) | 0;
  T1 = mix32((lo ^ Math.imul(hi, 0x27d4eb2f)) + Math.imul(h, 0x165667b1));
  T2 = mix32(T1 ^ Math.imul(lo + 0x3c6ef372, 0x85ebca6b) ^ Math.imul(h ^ hi, 0xc2b2ae35));
}

function heapAdd(loc: number, v: unknown): void {
  term(loc, vh(v));
  HEAP1 = (HEAP1 + T1) | 0;
  HEAP2 = (HEAP2 + T2) | 0;
}

function heapSub(loc: number, v: unknown): void {
  term(loc, vh(v));
  HEAP1 = (HEAP1 - T1) | 0;
  HEAP2 = (HEAP2 - T2) | 0;
}

/** The running task observed `v` at `loc`. */
function observe(rec: Recorder, loc: number, v: unknown): void {
  term(loc, vh(v));
  rec.o1 = mix32(rec.o1 ^ T1) + 0x9e3779b9 | 0;
  rec.o2 = mix32(rec.o2 + T2) ^ 0x7f4a7c15;
}

const NAME_KEY_SKIP = 'name';

// ---------------------------------------------------------------------------------------------
// Accessors (one getter/setter pair per property key, shared by every object)

const accessors = new Map<PropertyKey, PropertyDescriptor>();

function accessorFor(key: PropertyKey): PropertyDescriptor {
  let d = accessors.get(key);
  if (d === undefined) {
    const kid = keyId(key);
    const hashed = key !== NAME_KEY_SKIP;
    d = {
      get(this: { [STORE]: Record<PropertyKey, unknown> }): unknown {
        const s = this[STORE];
        const v = s[key as string];
        if (REC !== null) {
          const loc = (s[SID] as number) * KEYS + kid;
          REC.r.push(loc);
          if (REC.obs) observe(REC, loc, v);
        }
        return v;
      },
      set(this: { [STORE]: Record<PropertyKey, unknown> }, v: unknown): void {
        const s = this[STORE];
        const loc = (s[SID] as number) * KEYS + kid;
        if (REC !== null) REC.w.push(loc);
        const nv = adopt(v);
        if (hashed) {
          heapSub(loc, s[key as string]);
          heapAdd(loc, nv);
        }
        s[key as string] = nv;
      },
      enumerable: true,
      configurable: true,
    };
    accessors.set(key, d);
  }
  return d;
}

/**
 * A value being stored into the tracked heap: convert what it reaches. Returns what to store
 * (an array becomes its proxy).
 */
function adopt(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || !ACTIVE) return v;
  return convert(v as object);
}

/** The id of a converted object, Map or Set (undefined when not converted). */
function idOf(o: object): number | undefined {
  const st = (o as { [STORE]?: Record<PropertyKey, unknown> })[STORE];
  if (st !== undefined) return st[SID] as number;
  return (o as { [ID]?: number })[ID];
}

function convert(o: object): object {
  if (idOf(o) !== undefined) return seen(o);
  if ((o as { [RAW]?: unknown })[RAW] !== undefined) return o; // an array proxy
  if (statics.has(o) || Object.isFrozen(o) || ArrayBuffer.isView(o)) return o;
  if (Array.isArray(o)) return convertArray(o);
  if (immutableProtos.has(Object.getPrototypeOf(o) as object)) return o;
  if (o instanceof Map) return convertMap(o);
  if (o instanceof Set) return convertSet(o);
  if (o instanceof WeakMap || o instanceof WeakSet || o instanceof Promise || o instanceof Date || o instanceof RegExp) return o;
  return convertObject(o);
}

/**
 * Ids must be the same for the same prefix of two runs (the reducer compares footprints across
 * executions), so every run must convert the same objects in the same order. An object that
 * outlives its run (a module-level table a kernel object points to, such as a vm_operations_struct)
 * is converted by the first run that meets it and not by the later ones, which shifts their ids.
 * Such an object is noticed when a later run meets it again (`persistent`): the explorer then
 * starts over, and this time no run converts it.
 */
/** Where a converted thing keeps the run that converted it (in its store, or on itself). */
const SRUN = Symbol('faultline.track.run');
let RUN = 0;
/** The first run of the current exploration: objects converted before it count as static. */
let EPOCH = 1;
let persistent = false;

function seen(o: object): object {
  const st = (o as { [STORE]?: Record<PropertyKey, unknown> })[STORE];
  const r = (st !== undefined ? st[SRUN] : (o as { [SRUN]?: number })[SRUN]) as number | undefined;
  if (r !== undefined && r !== RUN && r >= EPOCH) persistent = true;
  return o;
}

/** True (once) when a run met an object converted by an earlier run of this exploration (see above). */
export function sim_track_persistent_seen(): boolean {
  const p = persistent;
  persistent = false;
  return p;
}

/** A new exploration starts: what earlier runs converted and left behind is treated as static. */
export function sim_track_new_exploration(): void {
  EPOCH = RUN + 1;
  persistent = false;
}

function convertObject(o: object, skip?: ReadonlySet<PropertyKey>): object {
  const id = nextId++;
  const keys = Reflect.ownKeys(o);
  const store: Record<PropertyKey, unknown> = Object.create(null) as Record<PropertyKey, unknown>;
  store[SID] = id;
  store[SRUN] = RUN;
  const rec = o as Record<PropertyKey, unknown>;
  const proto = Object.getPrototypeOf(o) as object | null;
  const plain = proto === Object.prototype || proto === null || skip !== undefined;
  // Move the data properties into the store, last first (deleting the last-added property keeps
  // V8's fast representation).
  const moved: boolean[] = [];
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i]!;
    if (skip?.has(key) || !Object.prototype.propertyIsEnumerable.call(o, key)) continue; // hidden: left as it is
    const v = rec[key as string];
    if (!delete rec[key as string]) continue; // fixed
    store[key as string] = v;
    moved[i] = true;
  }
  Object.defineProperty(o, STORE, { value: store, enumerable: false, writable: false, configurable: false });
  if (plain) {
    // A plain object: own accessors, in the original order (spread, Object.keys and JSON see the
    // same properties as before), and a prototype that catches properties added later.
    for (let i = 0; i < keys.length; i++) if (moved[i]) Object.defineProperty(o, keys[i]!, accessorFor(keys[i]!));
    Object.setPrototypeOf(o, protoFor(proto));
  } else {
    // A class instance: the accessors live on a per-class prototype (one setPrototypeOf, no
    // property added to the instance: several times cheaper). Reflection over the instance's own
    // properties no longer lists its fields (impl/ does none on tracked class instances).
    const tp = classProtoFor(proto!);
    for (let i = 0; i < keys.length; i++) if (moved[i]) ensureAccessor(tp, keys[i]!);
    Object.setPrototypeOf(o, tp);
  }
  // Convert what it points to (after installing the accessors: cycles stop at the id).
  for (let i = 0; i < keys.length; i++) {
    if (!moved[i]) continue;
    const key = keys[i]!;
    const v = store[key as string];
    if (typeof v === 'object' && v !== null) store[key as string] = convert(v);
    if (key !== NAME_KEY_SKIP) heapAdd(id * KEYS + keyId(key), store[key as string]);
  }
  return o;
}

/** Per class: the prototype its converted instances get (accessors for its fields, then the class's own). */
const classProtos = new Map<object, object>();
/** The prototype a converted object had before (from its class prototype or catch-all proxy). */
const originalProto = new WeakMap<object, object | null>();

/**
 * A shallow copy of a struct (the kernel's `*dst = *src`, e.g. a speculative VMA snapshot): an
 * object of the same class with the same fields, each read once from `o` (recorded when `o` is
 * tracked). The copy is not tracked: a stack object of the task that made it. Use it instead of
 * copying `Object.keys(o)`, which a tracked class instance does not list (its fields are
 * accessors on its prototype).
 */
export function sim_struct_copy<T extends object>(o: T): T {
  const store = (o as { [STORE]?: Record<PropertyKey, unknown> })[STORE];
  const src = o as unknown as Record<string, unknown>;
  if (store === undefined) {
    const c = Object.create(Object.getPrototypeOf(o) as object | null) as Record<string, unknown>;
    for (const key of Object.keys(o)) c[key] = src[key];
    return c as T;
  }
  const tp = Object.getPrototypeOf(o) as object;
  const proto = originalProto.has(tp) ? originalProto.get(tp)! : tp;
  const c = Object.create(proto) as Record<string, unknown>;
  // The store holds the fields moved at conversion last first, then those added later.
  const keys = Object.keys(store);
  for (const key of keys) c[key] = src[key];
  return c as T;
}

function classProtoFor(proto: object): object {
  let tp = classProtos.get(proto);
  if (tp === undefined) {
    tp = Object.create(protoFor(proto)) as object;
    // The class's methods and accessors, found on tp itself (not through the catch-all proxy).
    for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
      for (const key of Reflect.ownKeys(p)) {
        if (key === 'constructor' || Object.prototype.hasOwnProperty.call(tp, key)) continue;
        Object.defineProperty(tp, key, Object.getOwnPropertyDescriptor(p, key)!);
      }
    }
    Object.defineProperty(tp, 'constructor', { value: (proto as { constructor: unknown }).constructor, enumerable: false, writable: true, configurable: true });
    for (const key of reservedKeys) ensureAccessor(tp, key);
    classProtos.set(proto, tp);
    originalProto.set(tp, proto);
  }
  return tp;
}

/** The keys each class prototype already has an accessor (or a method) for. */
const tpKeys = new Map<object, Set<PropertyKey>>();

function ensureAccessor(tp: object, key: PropertyKey): void {
  let ks = tpKeys.get(tp);
  if (ks === undefined) {
    ks = new Set();
    tpKeys.set(tp, ks);
  }
  if (ks.has(key)) return;
  ks.add(key);
  if (Object.getOwnPropertyDescriptor(tp, key) !== undefined) return; // a method or getter of the class by that name
  Object.defineProperty(tp, key, { ...accessorFor(key), enumerable: false });
}

/** Keys another layer may add to objects after they are tracked (the KASAN header). */
const reservedKeys: PropertyKey[] = [];
export function sim_track_reserve_key(key: PropertyKey): void {
  if (!reservedKeys.includes(key)) reservedKeys.push(key);
  for (const tp of classProtos.values()) ensureAccessor(tp, key);
}

/**
 * The prototype a converted object gets: a Proxy in front of its own prototype, which sees what
 * the object's own accessors cannot — a read of a property the object does not have (recorded as
 * a read of that key) and a write that adds one (recorded, and the new property becomes an
 * accessor like the others). Methods and getters of the class are found through it unchanged, and
 * `instanceof` still holds (the proxy's target inherits from the class's prototype). One per
 * prototype, shared by every converted instance.
 */
const protos = new Map<object | null, object>();

function protoFor(proto: object | null): object {
  let p = protos.get(proto);
  if (p === undefined) {
    const target = Object.create(proto) as object;
    p = new Proxy(target, {
      get(t, key, recv) {
        const v = Reflect.get(t, key, recv);
        if (v === undefined && REC !== null && !INTERNAL.has(key)) {
          const id = idOf(recv as object);
          if (id !== undefined && !(key in t)) {
            const loc = id * KEYS + keyId(key);
            REC.r.push(loc);
            if (REC.obs) observe(REC, loc, undefined);
          }
        }
        return v;
      },
      set(t, key, v, recv) {
        const o = recv as { [STORE]?: Record<PropertyKey, unknown> };
        const store = o[STORE];
        const id = store !== undefined ? store[SID] as number : undefined;
        if (id === undefined || store === undefined || key in t) return Reflect.set(t, key, v, recv);
        const loc = id * KEYS + keyId(key);
        if (REC !== null) REC.w.push(loc);
        const nv = adopt(v);
        store[key as string] = nv;
        if (key !== NAME_KEY_SKIP) {
          heapSub(loc, undefined);
          heapAdd(loc, nv);
        }
        Object.defineProperty(o, key, accessorFor(key));
        return true;
      },
    });
    protos.set(proto, p);
    originalProto.set(p, proto);
  }
  return p;
}

const INTERNAL = new Set<PropertyKey>([ID, STORE, RAW, SID]);
const LENGTH_KEY = keyId('length');

function convertArray(a: unknown[]): unknown[] {
  const raw = a as unknown as { [AID]?: number; [APROXY]?: unknown[]; [SRUN]?: number };
  const known = raw[APROXY];
  if (known !== undefined) {
    if (raw[SRUN] !== RUN && raw[SRUN]! >= EPOCH) persistent = true;
    return known;
  }
  raw[AID] = nextId++;
  raw[SRUN] = RUN;
  const p = new Proxy(a, ARRAY_HANDLER);
  raw[APROXY] = p;
  const base = raw[AID]! * KEYS;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v === 'object' && v !== null) a[i] = convert(v);
    heapAdd(base + INDEX_BASE + Math.min(i, INDEX_MAX), a[i]);
  }
  heapAdd(base + LENGTH_KEY, a.length);
  return p;
}

/** The id of a tracked array and its proxy, kept on the array itself (own symbol properties). */
const AID = Symbol('faultline.track.aid');
const APROXY = Symbol('faultline.track.aproxy');

function indexOf(key: string | symbol): number {
  if (typeof key !== 'string') return -1;
  const c = key.charCodeAt(0);
  if (c < 48 || c > 57) return -1;
  const n = +key;
  return Number.isInteger(n) && n >= 0 ? n : -1;
}

function arrayBase(t: unknown[]): number {
  return (t as unknown as { [AID]: number })[AID] * KEYS;
}

/** One handler for every tracked array (the array's id is on the array). */
const ARRAY_HANDLER: ProxyHandler<unknown[]> = {
  get(t, key, recv) {
    if (key === RAW) return t;
    const v = Reflect.get(t, key, recv);
    if (REC !== null && typeof key === 'string') {
      const i = indexOf(key);
      if (i >= 0) {
        const loc = arrayBase(t) + INDEX_BASE + Math.min(i, INDEX_MAX);
        REC.r.push(COARSE ? arrayBase(t) + KEY_ALL : loc);
        if (REC.obs) observe(REC, loc, v);
      } else if (key === 'length') {
        const loc = arrayBase(t) + LENGTH_KEY;
        REC.r.push(loc);
        if (REC.obs) observe(REC, loc, v);
      }
    }
    return v;
  },
  set(t, key, v) {
    const base = arrayBase(t);
    const i = indexOf(key);
    const loc = i >= 0 ? base + INDEX_BASE + Math.min(i, INDEX_MAX) : base + keyId(key);
    if (REC !== null) REC.w.push(loc);
    const rec = t as unknown as Record<PropertyKey, unknown>;
    const nv = adopt(v);
    if (key === 'length') {
      // Truncation drops the elements past the new length.
      const old = t.length;
      for (let j = nv as number; j < old; j++) heapSub(base + INDEX_BASE + Math.min(j, INDEX_MAX), t[j]);
      heapSub(loc, old);
      rec[key] = nv;
      heapAdd(loc, t.length);
      return true;
    }
    const oldLen = t.length;
    heapSub(loc, rec[key as string]);
    rec[key as string] = nv;
    heapAdd(loc, nv);
    if (t.length !== oldLen) {
      heapSub(base + LENGTH_KEY, oldLen);
      heapAdd(base + LENGTH_KEY, t.length);
    }
    return true;
  },
  deleteProperty(t, key) {
    const base = arrayBase(t);
    if (REC !== null) REC.w.push(base + KEY_ALL);
    const i = indexOf(key);
    if (i >= 0) {
      const loc = base + INDEX_BASE + Math.min(i, INDEX_MAX);
      heapSub(loc, t[i]);
      heapAdd(loc, undefined);
    }
    return Reflect.deleteProperty(t, key);
  },
  has(t, key) {
    if (REC !== null) {
      const i = indexOf(key);
      if (i >= 0) REC.r.push(arrayBase(t) + INDEX_BASE + Math.min(i, INDEX_MAX));
    }
    return Reflect.has(t, key);
  },
  ownKeys(t) {
    if (REC !== null) REC.r.push(arrayBase(t) + KEY_ALL);
    return Reflect.ownKeys(t).filter((k) => k !== AID && k !== APROXY && k !== SRUN);
  },
};

/** The location of a Map key or Set member. */
function memberLoc(base: number, k: unknown): number {
  let kid: number;
  if (typeof k === 'object' && k !== null) kid = 1 + (sim_track_id(k) % (INDEX_BASE - 2));
  else if (typeof k === 'number') kid = INDEX_BASE + (Math.abs(Math.trunc(k)) % INDEX_MAX);
  else kid = keyId(String(k));
  return base + kid;
}

/**
 * Maps and Sets keep their identity and their internal slots: a converted one gets a prototype
 * whose methods record the access and call Map.prototype's / Set.prototype's own (one
 * setPrototypeOf per collection; `instanceof Map` still holds).
 */
const MapP = Map.prototype;
const SetP = Set.prototype;

function baseOf(o: object): number {
  return (o as { [ID]: number })[ID] * KEYS;
}

/**
 * A collection's hash state (hidden on it): the sum of its entries' terms, the hash of its key
 * order, and the term it currently adds to the heap hash.
 */
const CH = Symbol('faultline.track.collection');
interface CollHash {
  c1: number;
  c2: number;
  o: number;
  h1: number;
  h2: number;
}

function collHash(c: object): CollHash {
  return (c as { [CH]: CollHash })[CH];
}

/** The value hash standing for a whole collection (contents and order). */
function collValue(ch: CollHash): number {
  return mix32(ch.c1 ^ mix32(ch.c2 ^ ch.o));
}

/** Re-derive the collection's heap term after its contents changed. */
function collUpdate(c: object, ch: CollHash): void {
  HEAP1 = (HEAP1 - ch.h1) | 0;
  HEAP2 = (HEAP2 - ch.h2) | 0;
  term(baseOf(c) + KEY_ALL, collValue(ch));
  ch.h1 = T1;
  ch.h2 = T2;
  HEAP1 = (HEAP1 + T1) | 0;
  HEAP2 = (HEAP2 + T2) | 0;
}

function entryAdd(ch: CollHash, loc: number, v: unknown, sign: number): void {
  term(loc, vh(v));
  ch.c1 = (ch.c1 + sign * T1) | 0;
  ch.c2 = (ch.c2 + sign * T2) | 0;
}

function orderOf(keys: Iterable<unknown>): number {
  let o = 0;
  for (const k of keys) o = (mix32(o ^ vh(k)) + 0x9e3779b9) | 0;
  return o;
}

function wholeRead(c: object): void {
  const loc = baseOf(c) + KEY_ALL;
  REC!.r.push(loc);
  if (REC!.obs) observe(REC!, loc, collValue(collHash(c)));
}

const TrackedMapProto: object = Object.create(MapP, {
  get: { value(this: Map<unknown, unknown>, k: unknown) {
    const v = MapP.get.call(this, k);
    if (REC !== null) { const loc = memberLoc(baseOf(this), k); REC.r.push(loc); if (REC.obs) observe(REC, loc, v); }
    return v;
  } },
  has: { value(this: Map<unknown, unknown>, k: unknown) {
    const v = MapP.has.call(this, k);
    if (REC !== null) { const loc = memberLoc(baseOf(this), k); REC.r.push(loc); if (REC.obs) observe(REC, loc, v); }
    return v;
  } },
  set: { value(this: Map<unknown, unknown>, k: unknown, v: unknown) {
    const b = baseOf(this);
    const k2 = adopt(k);
    const v2 = adopt(v);
    const loc = memberLoc(b, k2);
    if (REC !== null) REC.w.push(loc, b + KEY_ALL);
    const ch = collHash(this);
    if (MapP.has.call(this, k2)) entryAdd(ch, loc, MapP.get.call(this, k2), -1);
    else ch.o = (mix32(ch.o ^ vh(k2)) + 0x9e3779b9) | 0;
    MapP.set.call(this, k2, v2);
    entryAdd(ch, loc, v2, 1);
    collUpdate(this, ch);
    return this;
  } },
  delete: { value(this: Map<unknown, unknown>, k: unknown) {
    const b = baseOf(this);
    const loc = memberLoc(b, k);
    if (REC !== null) REC.w.push(loc, b + KEY_ALL);
    if (!MapP.has.call(this, k)) return false;
    const ch = collHash(this);
    entryAdd(ch, loc, MapP.get.call(this, k), -1);
    MapP.delete.call(this, k);
    ch.o = orderOf(MapP.keys.call(this));
    collUpdate(this, ch);
    return true;
  } },
  clear: { value(this: Map<unknown, unknown>) {
    if (REC !== null) REC.w.push(baseOf(this) + KEY_ALL);
    MapP.clear.call(this);
    const ch = collHash(this);
    ch.c1 = ch.c2 = ch.o = 0;
    collUpdate(this, ch);
  } },
  forEach: { value(this: Map<unknown, unknown>, f: (v: unknown, k: unknown, m: Map<unknown, unknown>) => void, t?: unknown) { if (REC !== null) wholeRead(this); MapP.forEach.call(this, f, t); } },
  keys: { value(this: Map<unknown, unknown>) { if (REC !== null) wholeRead(this); return MapP.keys.call(this); } },
  values: { value(this: Map<unknown, unknown>) { if (REC !== null) wholeRead(this); return MapP.values.call(this); } },
  entries: { value(this: Map<unknown, unknown>) { if (REC !== null) wholeRead(this); return MapP.entries.call(this); } },
  [Symbol.iterator]: { value(this: Map<unknown, unknown>) { if (REC !== null) wholeRead(this); return MapP.entries.call(this); } },
  size: { get(this: Map<unknown, unknown>) { if (REC !== null) wholeRead(this); return Reflect.get(MapP, 'size', this) as number; } },
}) as object;

const TrackedSetProto: object = Object.create(SetP, {
  has: { value(this: Set<unknown>, k: unknown) {
    const v = SetP.has.call(this, k);
    if (REC !== null) { const loc = memberLoc(baseOf(this), k); REC.r.push(loc); if (REC.obs) observe(REC, loc, v); }
    return v;
  } },
  add: { value(this: Set<unknown>, k: unknown) {
    const b = baseOf(this);
    const k2 = adopt(k);
    const loc = memberLoc(b, k2);
    if (REC !== null) REC.w.push(loc, b + KEY_ALL);
    if (SetP.has.call(this, k2)) return this;
    const ch = collHash(this);
    SetP.add.call(this, k2);
    entryAdd(ch, loc, true, 1);
    ch.o = (mix32(ch.o ^ vh(k2)) + 0x9e3779b9) | 0;
    collUpdate(this, ch);
    return this;
  } },
  delete: { value(this: Set<unknown>, k: unknown) {
    const b = baseOf(this);
    const loc = memberLoc(b, k);
    if (REC !== null) REC.w.push(loc, b + KEY_ALL);
    if (!SetP.delete.call(this, k)) return false;
    const ch = collHash(this);
    entryAdd(ch, loc, true, -1);
    ch.o = orderOf(SetP.values.call(this));
    collUpdate(this, ch);
    return true;
  } },
  clear: { value(this: Set<unknown>) {
    if (REC !== null) REC.w.push(baseOf(this) + KEY_ALL);
    SetP.clear.call(this);
    const ch = collHash(this);
    ch.c1 = ch.c2 = ch.o = 0;
    collUpdate(this, ch);
  } },
  forEach: { value(this: Set<unknown>, f: (v: unknown, k: unknown, s: Set<unknown>) => void, t?: unknown) { if (REC !== null) wholeRead(this); SetP.forEach.call(this, f, t); } },
  keys: { value(this: Set<unknown>) { if (REC !== null) wholeRead(this); return SetP.values.call(this); } },
  values: { value(this: Set<unknown>) { if (REC !== null) wholeRead(this); return SetP.values.call(this); } },
  entries: { value(this: Set<unknown>) { if (REC !== null) wholeRead(this); return SetP.entries.call(this); } },
  [Symbol.iterator]: { value(this: Set<unknown>) { if (REC !== null) wholeRead(this); return SetP.values.call(this); } },
  size: { get(this: Set<unknown>) { if (REC !== null) wholeRead(this); return Reflect.get(SetP, 'size', this) as number; } },
}) as object;

function convertMap(m: Map<unknown, unknown>): Map<unknown, unknown> {
  if (Object.getPrototypeOf(m) !== MapP) return convertObject(m) as Map<unknown, unknown>; // a subclass: as an object
  Object.defineProperty(m, ID, { value: nextId++, enumerable: false, writable: false, configurable: false });
  Object.defineProperty(m, SRUN, { value: RUN, enumerable: false, writable: false, configurable: false });
  Object.setPrototypeOf(m, TrackedMapProto);
  let redo: [unknown, unknown][] | null = null;
  for (const [k, v] of MapP.entries.call(m)) {
    const k2 = adopt(k);
    const v2 = adopt(v);
    if (k2 !== k || v2 !== v) (redo ??= []).push([k, v]);
  }
  if (redo !== null) {
    // Arrays among the keys or values are replaced by their proxies; the order is kept.
    const all = [...MapP.entries.call(m)].map(([k, v]) => [adopt(k), adopt(v)] as const);
    MapP.clear.call(m);
    for (const [k, v] of all) MapP.set.call(m, k, v);
  }
  const ch: CollHash = { c1: 0, c2: 0, o: orderOf(MapP.keys.call(m)), h1: 0, h2: 0 };
  Object.defineProperty(m, CH, { value: ch, enumerable: false, writable: false, configurable: false });
  const b = baseOf(m);
  for (const [k, v] of MapP.entries.call(m)) entryAdd(ch, memberLoc(b, k), v, 1);
  collUpdate(m, ch);
  return m;
}

function convertSet(s: Set<unknown>): Set<unknown> {
  if (Object.getPrototypeOf(s) !== SetP) return convertObject(s) as Set<unknown>;
  Object.defineProperty(s, ID, { value: nextId++, enumerable: false, writable: false, configurable: false });
  Object.defineProperty(s, SRUN, { value: RUN, enumerable: false, writable: false, configurable: false });
  Object.setPrototypeOf(s, TrackedSetProto);
  let changed = false;
  for (const k of SetP.values.call(s)) if (adopt(k) !== k) changed = true;
  if (changed) {
    const all = [...SetP.values.call(s)].map((k) => adopt(k));
    SetP.clear.call(s);
    for (const k of all) SetP.add.call(s, k);
  }
  const ch: CollHash = { c1: 0, c2: 0, o: orderOf(SetP.values.call(s)), h1: 0, h2: 0 };
  Object.defineProperty(s, CH, { value: ch, enumerable: false, writable: false, configurable: false });
  const b = baseOf(s);
  for (const k of SetP.values.call(s)) entryAdd(ch, memberLoc(b, k), true, 1);
  collUpdate(s, ch);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Runs

/**
 * Start tracking: convert what `root` reaches, except the fields listed in `skip` of the root
 * itself (the function table, the configuration, the Execution …). Returns the root.
 */
export function sim_track_begin<T extends object>(root: T, skip: readonly PropertyKey[] = []): T {
  ACTIVE = true;
  REC = null;
  nextId = RUN_IDS;
  RUN++;
  HEAP1 = 0;
  HEAP2 = 0;
  fnIds.clear();
  for (const k of skip) {
    const d = Object.getOwnPropertyDescriptor(root, k);
    if (d && 'value' in d && typeof d.value === 'object' && d.value !== null) statics.add(d.value as object);
  }
  if (idOf(root) === undefined) convertObject(root, new Set(skip));
  return root;
}

/** Stop converting (the run ended); objects already converted stay so (they are garbage). */
export function sim_track_end(): void {
  ACTIVE = false;
  REC = null;
}

export function sim_tracking(): boolean {
  return ACTIVE;
}

/** Store `v` into a tracked structure from outside an accessor (e.g. a root field set later). */
export function sim_track_adopt<T>(v: T): T {
  return adopt(v) as T;
}

/**
 * Record into `rec` (null: stop recording). The Execution does this around each step. `coarse`:
 * an array's elements are recorded as the whole array (location KEY_ALL of it; see
 * sim_fp_whole), for a reader that only needs to know which arrays it looked at.
 */
export function sim_track_record(rec: Recorder | null, coarse = false): void {
  REC = rec;
  COARSE = coarse;
}

/** The whole-object location of a location's object (what a coarse read of it records). */
export function sim_fp_whole(loc: number): number {
  return Math.floor(loc / KEYS) * KEYS + KEY_ALL;
}

export function sim_track_recorder(obs = false): Recorder {
  return { r: [], w: [], u: null, obs, o1: 0, o2: 0 };
}

/**
 * Explicit footprint of state the tracked heap cannot see (impl/sync: per-task and per-run slots):
 * a named resource, read or written by the running step. `what` is an object (its id) plus an
 * optional sub-key, or a string naming a global resource.
 */
export function sim_fp_read(what: object | string, sub?: PropertyKey): void {
  if (REC !== null) REC.r.push(resourceLoc(what, sub));
}
export function sim_fp_write(what: object | string, sub?: PropertyKey): void {
  if (REC !== null) REC.w.push(resourceLoc(what, sub));
}

/** The location number of a resource (as sim_fp_read/sim_fp_write would record it). */
export function sim_fp_loc(what: object | string, sub?: PropertyKey): number {
  return resourceLoc(what, sub);
}

const namedResources = new Map<string, object>();
function resourceLoc(what: object | string, sub?: PropertyKey): number {
  let o: object;
  if (typeof what === 'string') {
    let r = namedResources.get(what);
    if (r === undefined) {
      r = { resource: what };
      namedResources.set(what, r);
    }
    o = r;
  } else {
    o = what;
  }
  return sim_track_id(o, true) * KEYS + (sub === undefined ? KEY_ALL : keyId(sub));
}

/**
 * The location of task `id`'s own state as other tasks see it (its wake-up state, its pending
 * signal, its lockdep stack when another context releases a lock it took): written by the
 * cross-task operations of impl/sync, read by every step of that task (the reducer adds it).
 */
export function sim_fp_task(id: number): number {
  return resourceLoc(TASKS, id);
}
const TASKS = { resource: 'tasks' };

/** Write state of another task (wake_up_process, send_sig_kill, an ownerless lock release). */
export function sim_fp_write_task(id: number): void {
  if (REC !== null) REC.w.push(resourceLoc(TASKS, id));
}

/**
 * State outside the tracked heap (per-task and per-run slots of impl/sync) that a state's hash
 * must include: each owner registers a function folding its part into the lanes.
 */
export type StatePart = (exec: unknown, h: [number, number]) => void;
const stateParts: StatePart[] = [];
export function sim_track_state_part(f: StatePart): void {
  stateParts.push(f);
}
export function sim_track_state_parts(exec: unknown, h: [number, number]): void {
  for (const f of stateParts) f(exec, h);
}

/** The tracked heap's hash now (two 32-bit lanes). */
export function sim_track_heap_hash(): readonly [number, number] {
  return [HEAP1, HEAP2];
}

/** The hash of a function's code (for callbacks held outside the heap, e.g. RCU's queue). */
export function sim_hash_code(f: (...a: never[]) => unknown): number {
  return strHash(f.toString());
}

/** A 32-bit mix of an integer (for order-insensitive sums of hashed parts). */
export function sim_hash32(x: number): number {
  return mix32(x | 0);
}

/** Fold a value into a running pair of lanes (for the parts of a state outside the heap). */
export function sim_hash_mix(h: [number, number], v: unknown): void {
  const x = vh(v);
  h[0] = (mix32(h[0] ^ x) + 0x9e3779b9) | 0;
  h[1] = mix32(h[1] + Math.imul(x, 0x85ebca6b)) ^ 0x7f4a7c15;
}

/** Sort and de-duplicate a recorder's locations into a footprint (a location written is not also listed as read). */
export function sim_track_footprint(rec: Recorder): Footprint {
  const w = uniq(rec.w);
  let r = uniq(rec.r);
  if (w.length > 0 && r.length > 0) {
    const ws = new Set(w);
    r = r.filter((x) => !ws.has(x));
  }
  rec.r.length = 0;
  rec.w.length = 0;
  if (rec.u !== null) {
    const u = uniq(rec.u);
    rec.u = null;
    return { reads: r, writes: w, waits: u };
  }
  return { reads: r, writes: w };
}

function uniq(a: number[]): number[] {
  const n = a.length;
  if (n <= 1) return a.slice();
  if (n <= 48) {
    // Insertion sort into a fresh array, dropping duplicates (footprints are mostly small).
    const out: number[] = [a[0]!];
    for (let i = 1; i < n; i++) {
      const x = a[i]!;
      let j = out.length - 1;
      while (j >= 0 && out[j]! > x) j--;
      if (j >= 0 && out[j] === x) continue;
      out.splice(j + 1, 0, x);
    }
    return out;
  }
  const s = Float64Array.from(a).sort();
  const out: number[] = [s[0]!];
  for (let i = 1; i < s.length; i++) if (s[i] !== s[i - 1]) out.push(s[i]!);
  return out;
}

/** True when the footprints conflict: one writes a location the other reads or writes. */
export function sim_fp_conflict(a: Footprint, b: Footprint): boolean {
  return intersects(a.writes, b.writes) || intersects(a.writes, b.reads) || intersects(a.reads, b.writes);
}

function intersects(x: readonly number[], y: readonly number[]): boolean {
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const a = x[i]!;
    const b = y[j]!;
    if (a === b) return true;
    if (a < b) i++;
    else j++;
  }
  return false;
}

/** A readable name for a location: `<object id>.<key>` (debugging, general-cov's reports). */
export function sim_fp_describe(loc: number): string {
  const id = Math.floor(loc / KEYS);
  const kid = loc - id * KEYS;
  const key = kid === KEY_ALL ? '*' : kid >= INDEX_BASE ? `[${kid - INDEX_BASE}]` : String(keyNames[kid]);
  return `#${id}.${key}`;
}

/** The object id of a location. */
export function sim_fp_object(loc: number): number {
  return Math.floor(loc / KEYS);
}

// ---------------------------------------------------------------------------------------------
// Lock holds

/**
 * "Does task T hold this lock" (lockdep_assert_held, mmap_assert_locked, rcu_dereference_check):
 * the answer depends on T's own acquisitions and releases only, but computed from the lock's
 * shared fields (its owner, its list of readers) it records reads that every other task's
 * acquisition and release writes — so each assertion would conflict with every other task taking
 * the lock, though the two commute. Instead, a lock's sim_held_by brackets its computation with
 * sim_fp_held_begin/end: a read of the (lock, T) hold location and nothing else; every change of
 * T's hold on the lock writes that location (sim_fp_hold, called by impl/sync next to the write
 * of the owner or the list of readers).
 */
let HELD_SAVED: Recorder | null = null;
let HELD_LOC = 0;
const holdKeyIds: number[] = [];

function holdLoc(lock: object, task: number): number {
  let k = holdKeyIds[task];
  if (k === undefined) {
    k = keyId(`\u0000held by task ${task}`);
    holdKeyIds[task] = k;
  }
  return sim_track_id(lock) * KEYS + k;
}

/** Start computing whether `task` holds `lock` (see above): recorded as one read. */
export function sim_fp_held_begin(lock: object, task: number): void {
  const r = REC;
  if (r === null) return;
  HELD_LOC = holdLoc(lock, task);
  r.r.push(HELD_LOC);
  HELD_SAVED = r;
  REC = null;
}

/** The hold computed since sim_fp_held_begin is `mode`: recording resumes (the task observed it). */
export function sim_fp_held_end(mode: number): void {
  const r = HELD_SAVED;
  if (r === null) return;
  HELD_SAVED = null;
  REC = r;
  if (r.obs) observe(r, HELD_LOC, mode);
}

/** The running step changes whether `task` holds `lock` (takes it, releases it, is granted it). */
export function sim_fp_hold(lock: object, task: number): void {
  if (REC !== null) REC.w.push(holdLoc(lock, task));
}
