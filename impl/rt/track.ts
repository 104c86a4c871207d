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
}

/** The recorder of the running step (null: nothing is recorded, e.g. between steps). */
interface Recorder {
  r: number[];
  w: number[];
}

let REC: Recorder | null = null;
const NOREC = process.env.NOREC === "1";
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
/** The run in which a per-run plain id was given. */
const plainRun = new WeakMap<object, number>();

function read(loc: number): void {
  REC!.r.push(loc);
}
function write(loc: number): void {
  REC!.w.push(loc);
}

/** The id of any object (converted or not): for Map keys and named resources. */
export function sim_track_id(o: object, permanent = false): number {
  const own = idOf(o);
  if (own !== undefined) return own;
  let id = plainIds.get(o);
  if (id !== undefined && id >= RUN_IDS) {
    const r = plainRun.get(o);
    if (r !== undefined && r !== RUN && r >= EPOCH) persistent = true;
  }
  if (id === undefined) {
    // A per-run object that is not converted (it was never stored into the tracked heap: a
    // frozen value, an object from outside used as a key) gets a run id; anything else a
    // permanent one.
    id = !permanent && ACTIVE && !statics.has(o) && !Object.isFrozen(o) ? nextId++ : nextPermId++;
    plainIds.set(o, id);
    if (id >= RUN_IDS) plainRun.set(o, RUN);
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
// Accessors (one getter/setter pair per property key, shared by every object)

const accessors = new Map<PropertyKey, PropertyDescriptor>();

function accessorFor(key: PropertyKey): PropertyDescriptor {
  let d = accessors.get(key);
  if (d === undefined) {
    const kid = keyId(key);
    d = {
      get(this: { [STORE]: Record<PropertyKey, unknown> }): unknown {
        const s = this[STORE];
        if (REC !== null) REC.r.push((s[SID] as number) * KEYS + kid);
        return s[key as string];
      },
      set(this: { [STORE]: Record<PropertyKey, unknown> }, v: unknown): void {
        const s = this[STORE];
        if (REC !== null) REC.w.push((s[SID] as number) * KEYS + kid);
        s[key as string] = adopt(v);
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
  if (Array.isArray(o)) return convertArray(o);
  if (statics.has(o) || Object.isFrozen(o) || ArrayBuffer.isView(o)) return o;
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
  }
  return o;
}

/** Per class: the prototype its converted instances get (accessors for its fields, then the class's own). */
const classProtos = new Map<object, object>();

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
          if (id !== undefined && !(key in t)) REC.r.push(id * KEYS + keyId(key));
        }
        return v;
      },
      set(t, key, v, recv) {
        const o = recv as { [STORE]?: Record<PropertyKey, unknown> };
        const store = o[STORE];
        const id = store !== undefined ? store[SID] as number : undefined;
        if (id === undefined || store === undefined || key in t) return Reflect.set(t, key, v, recv);
        if (REC !== null) REC.w.push(id * KEYS + keyId(key));
        store[key as string] = adopt(v);
        Object.defineProperty(o, key, accessorFor(key));
        return true;
      },
    });
    protos.set(proto, p);
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
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v === 'object' && v !== null) a[i] = convert(v);
  }
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
    if (REC !== null && typeof key === 'string') {
      const i = indexOf(key);
      if (i >= 0) REC.r.push(COARSE ? arrayBase(t) + KEY_ALL : arrayBase(t) + INDEX_BASE + Math.min(i, INDEX_MAX));
      else if (key === 'length') REC.r.push(arrayBase(t) + LENGTH_KEY);
    }
    return Reflect.get(t, key, recv);
  },
  set(t, key, v) {
    if (REC !== null) {
      const i = indexOf(key);
      if (i >= 0) REC.w.push(arrayBase(t) + INDEX_BASE + Math.min(i, INDEX_MAX));
      else REC.w.push(arrayBase(t) + keyId(key));
    }
    (t as unknown as Record<PropertyKey, unknown>)[key as string] = adopt(v);
    return true;
  },
  deleteProperty(t, key) {
    if (REC !== null) REC.w.push(arrayBase(t) + KEY_ALL);
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

const TrackedMapProto: object = Object.create(MapP, {
  get: { value(this: Map<unknown, unknown>, k: unknown) { if (REC !== null) REC.r.push(memberLoc(baseOf(this), k)); return MapP.get.call(this, k); } },
  has: { value(this: Map<unknown, unknown>, k: unknown) { if (REC !== null) REC.r.push(memberLoc(baseOf(this), k)); return MapP.has.call(this, k); } },
  set: { value(this: Map<unknown, unknown>, k: unknown, v: unknown) { if (REC !== null) { const b = baseOf(this); REC.w.push(memberLoc(b, k), b + KEY_ALL); } MapP.set.call(this, adopt(k), adopt(v)); return this; } },
  delete: { value(this: Map<unknown, unknown>, k: unknown) { if (REC !== null) { const b = baseOf(this); REC.w.push(memberLoc(b, k), b + KEY_ALL); } return MapP.delete.call(this, k); } },
  clear: { value(this: Map<unknown, unknown>) { if (REC !== null) REC.w.push(baseOf(this) + KEY_ALL); MapP.clear.call(this); } },
  forEach: { value(this: Map<unknown, unknown>, f: (v: unknown, k: unknown, m: Map<unknown, unknown>) => void, t?: unknown) { if (REC !== null) REC.r.push(baseOf(this) + KEY_ALL); MapP.forEach.call(this, f, t); } },
  keys: { value(this: Map<unknown, unknown>) { if (REC !== null) REC.r.push(baseOf(this) + KEY_ALL); return MapP.keys.call(this); } },
  values: { value(this: Map<unknown, unknown>) { if (REC !== null) REC.r.push(baseOf(this) + KEY_ALL); return MapP.values.call(this); } },
  entries: { value(this: Map<unknown, unknown>) { if (REC !== null) REC.r.push(baseOf(this) + KEY_ALL); return MapP.entries.call(this); } },
  [Symbol.iterator]: { value(this: Map<unknown, unknown>) { if (REC !== null) REC.r.push(baseOf(this) + KEY_ALL); return MapP.entries.call(this); } },
  size: { get(this: Map<unknown, unknown>) { if (REC !== null) REC.r.push(baseOf(this) + KEY_ALL); return Reflect.get(MapP, 'size', this) as number; } },
}) as object;

const TrackedSetProto: object = Object.create(SetP, {
  has: { value(this: Set<unknown>, k: unknown) { if (REC !== null) REC.r.push(memberLoc(baseOf(this), k)); return SetP.has.call(this, k); } },
  add: { value(this: Set<unknown>, k: unknown) { if (REC !== null) { const b = baseOf(this); REC.w.push(memberLoc(b, k), b + KEY_ALL); } SetP.add.call(this, adopt(k)); return this; } },
  delete: { value(this: Set<unknown>, k: unknown) { if (REC !== null) { const b = baseOf(this); REC.w.push(memberLoc(b, k), b + KEY_ALL); } return SetP.delete.call(this, k); } },
  clear: { value(this: Set<unknown>) { if (REC !== null) REC.w.push(baseOf(this) + KEY_ALL); SetP.clear.call(this); } },
  forEach: { value(this: Set<unknown>, f: (v: unknown, k: unknown, s: Set<unknown>) => void, t?: unknown) { if (REC !== null) REC.r.push(baseOf(this) + KEY_ALL); SetP.forEach.call(this, f, t); } },
  keys: { value(this: Set<unknown>) { if (REC !== null) REC.r.push(baseOf(this) + KEY_ALL); return SetP.values.call(this); } },
  values: { value(this: Set<unknown>) { if (REC !== null) REC.r.push(baseOf(this) + KEY_ALL); return SetP.values.call(this); } },
  entries: { value(this: Set<unknown>) { if (REC !== null) REC.r.push(baseOf(this) + KEY_ALL); return SetP.entries.call(this); } },
  [Symbol.iterator]: { value(this: Set<unknown>) { if (REC !== null) REC.r.push(baseOf(this) + KEY_ALL); return SetP.values.call(this); } },
  size: { get(this: Set<unknown>) { if (REC !== null) REC.r.push(baseOf(this) + KEY_ALL); return Reflect.get(SetP, 'size', this) as number; } },
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
  REC = NOREC ? null : rec;
  COARSE = coarse;
}

/** The whole-object location of a location's object (what a coarse read of it records). */
export function sim_fp_whole(loc: number): number {
  return Math.floor(loc / KEYS) * KEYS + KEY_ALL;
}

export function sim_track_recorder(): Recorder {
  return { r: [], w: [] };
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
