/**
 * The tracked heap (impl/rt/track.ts): every access to a converted object, array, Map or Set is
 * recorded as a read or write of (object, key); identity, methods and reflection over plain
 * objects are kept; the heap hash depends on contents, not on the order of writes.
 */
import { describe, expect, it } from 'vitest';
import {
  sim_fp_conflict, sim_fp_describe, sim_track_adopt, sim_track_begin, sim_track_end, sim_track_footprint, sim_track_heap_hash,
  sim_track_new_exploration, sim_track_persistent_seen, sim_track_record, sim_track_recorder, sim_struct_copy, type Footprint,
} from '../../impl/rt/track.js';

class Box {
  value = 0;
  other: Box | null = null;
  readonly list: number[] = [];
  constructor(readonly name: string) {}
  bump(): number {
    return ++this.value;
  }
  get twice(): number {
    return this.value * 2;
  }
}

/** Run `f` with a recorder on; the footprint it left, described. */
function footprint(f: () => void): { fp: Footprint; reads: string[]; writes: string[] } {
  const rec = sim_track_recorder();
  sim_track_record(rec);
  try {
    f();
  } finally {
    sim_track_record(null);
  }
  const fp = sim_track_footprint(rec);
  const name = (loc: number) => sim_fp_describe(loc).replace(/^#\d+\./, '');
  return { fp, reads: fp.reads.map(name), writes: fp.writes.map(name) };
}

function world() {
  const root = { a: new Box('a'), b: new Box('b'), map: new Map<number, string>([[1, 'one']]), set: new Set<string>(['x']), plain: { n: 1 } };
  sim_track_begin(root);
  return root;
}

describe('tracked heap', () => {
  it('sim_struct_copy: a tracked class instance copies to an untracked one of the same class, every field read', () => {
    const w = world();
    try {
      w.a.value = 7;
      expect(Object.keys(w.a)).toEqual([]); // why the copy cannot go through Object.keys
      const f = footprint(() => {
        const c = sim_struct_copy(w.a);
        expect(c).toBeInstanceOf(Box);
        expect(c).not.toBe(w.a);
        expect([c.value, c.name, c.bump()]).toEqual([7, 'a', 8]);
        expect(w.a.value).toBe(7); // the copy is its own object
      });
      expect(f.reads).toEqual(expect.arrayContaining(['value', 'other', 'list']));
      expect(f.writes).toEqual([]);
      const plain = sim_struct_copy(new Box('u'));
      expect([plain.value, plain.name]).toEqual([0, 'u']);
    } finally {
      sim_track_end();
    }
  });

  it('records reads and writes of fields, keeps identity, methods, getters and instanceof', () => {
    const w = world();
    const a = w.a;
    try {
      expect(a).toBeInstanceOf(Box);
      const f = footprint(() => {
        a.bump();
        void a.twice;
      });
      expect(f.writes).toEqual(['value']);
      expect(f.reads).toEqual([]); // a location written is not listed as read too
      expect(a.value).toBe(1);
      const g = footprint(() => void w.b.value);
      expect(g.reads).toContain('value');
      expect(sim_fp_conflict(f.fp, g.fp)).toBe(false); // another object's field
      const h = footprint(() => void w.a.value);
      expect(sim_fp_conflict(f.fp, h.fp)).toBe(true);
      // Identity: the object stored is the object read back.
      footprint(() => { w.a.other = w.b; });
      expect(w.a.other).toBe(w.b);
    } finally {
      sim_track_end();
    }
  });

  it('records array elements and length, Map keys and iteration, Set members', () => {
    const w = world();
    try {
      const push = footprint(() => w.a.list.push(7));
      expect(push.writes).toEqual(expect.arrayContaining(['[0]', 'length']));
      const read = footprint(() => void w.a.list[0]);
      expect(read.reads).toContain('[0]');
      expect(sim_fp_conflict(push.fp, read.fp)).toBe(true);
      const other = footprint(() => void w.a.list[3]);
      expect(sim_fp_conflict(read.fp, other.fp)).toBe(false);
      const get = footprint(() => void w.map.get(1));
      const set2 = footprint(() => void w.map.set(2, 'two'));
      expect(sim_fp_conflict(get.fp, set2.fp)).toBe(false); // another key
      const iter = footprint(() => { for (const _ of w.map) { /* whole read */ } });
      expect(sim_fp_conflict(iter.fp, set2.fp)).toBe(true);
      expect(w.map).toBeInstanceOf(Map);
      expect([...w.map.keys()]).toEqual([1, 2]);
      const add = footprint(() => void w.set.add('y'));
      const has = footprint(() => void w.set.has('y'));
      expect(sim_fp_conflict(add.fp, has.fp)).toBe(true);
    } finally {
      sim_track_end();
    }
  });

  it('plain objects keep their keys for spread and JSON; a property added later is tracked', () => {
    const w = world();
    try {
      expect({ ...w.plain }).toEqual({ n: 1 });
      expect(JSON.stringify(w.plain)).toBe('{"n":1}');
      const entry = sim_track_adopt({ id: 1 } as { id: number; result?: string });
      footprint(() => { w.a.other = entry as unknown as Box; });
      const add = footprint(() => { entry.result = 'ok'; });
      expect(add.writes).toEqual(['result']);
      const read = footprint(() => void entry.result);
      expect(sim_fp_conflict(add.fp, read.fp)).toBe(true);
      expect(Object.keys(entry)).toEqual(['id', 'result']);
    } finally {
      sim_track_end();
    }
  });

  it('the heap hash depends on the contents, not on the order of the writes', () => {
    const hashAfter = (order: readonly ('a' | 'b')[]): readonly [number, number] => {
      const w = world();
      try {
        for (const o of order) w[o].value = o === 'a' ? 5 : 9;
        return sim_track_heap_hash();
      } finally {
        sim_track_end();
      }
    };
    expect(hashAfter(['a', 'b'])).toEqual(hashAfter(['b', 'a']));
    const w = world();
    const base = sim_track_heap_hash();
    w.a.value = 3;
    expect(sim_track_heap_hash()).not.toEqual(base);
    w.a.value = 0;
    expect(sim_track_heap_hash()).toEqual(base);
    // A Map's order is part of it (iteration order is observable).
    w.map.set(2, 'two');
    w.map.set(3, 'three');
    const h23 = sim_track_heap_hash();
    w.map.delete(2);
    w.map.set(2, 'two');
    expect(sim_track_heap_hash()).not.toEqual(h23);
    sim_track_end();
  });

  it('an object that outlives its run is noticed when a later run meets it again', () => {
    sim_track_new_exploration();
    const shared = { table: 'ops' };
    sim_track_begin({ ops: shared });
    sim_track_end();
    expect(sim_track_persistent_seen()).toBe(false);
    sim_track_begin({ ops: shared });
    sim_track_end();
    expect(sim_track_persistent_seen()).toBe(true);
    // A new exploration takes what earlier runs left behind as given.
    sim_track_new_exploration();
    sim_track_begin({ ops: shared });
    sim_track_end();
    expect(sim_track_persistent_seen()).toBe(false);
  });
});
