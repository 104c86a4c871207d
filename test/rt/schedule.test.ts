import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decisionsFromSwitches, decodeSchedule, encodeSchedule, ReplayScheduler, ScheduleError, switchCount, type Decision,
} from '../../impl/rt/index.js';
import { scheduleArb } from '../../properties/arbitraries/schedule.js';

const decisionArb = fc.record({ step: fc.nat({ max: 1e6 }), kind: fc.constantFrom<'t' | 'c'>('t', 'c'), value: fc.nat({ max: 1e6 }) });
const decisionsArb = fc.array(decisionArb, { maxLength: 30 }).map((ds) => [...ds].sort((a, b) => a.step - b.step));

describe('schedule', () => {
  it('encodes and decodes: decode(encode(d)) = d and encode(decode(s)) = s', () => {
    fc.assert(fc.property(decisionsArb, (ds: Decision[]) => {
      const s = encodeSchedule(ds);
      expect(s.startsWith('v1:')).toBe(true);
      expect(decodeSchedule(s)).toEqual(ds);
      expect(encodeSchedule(decodeSchedule(s))).toBe(s);
    }));
  });

  it('the default schedule is "v1:"', () => {
    expect(encodeSchedule([])).toBe('v1:');
    expect(decodeSchedule('v1:')).toEqual([]);
    expect(encodeSchedule([{ step: 4, kind: 't', value: 1 }, { step: 9, kind: 't', value: 0 }, { step: 9, kind: 'c', value: 1 }]))
      .toBe('v1:4t1.9t0.9c1');
    expect(switchCount(decodeSchedule('v1:4t1.9t0.9c1'))).toBe(2);
  });

  it.each([
    ['', /no version prefix/],
    ['4t1', /no version prefix/],
    ['v2:4t1', /version "v2" is not supported/],
    ['v1:4x1', /decision "4x1" is malformed/],
    ['v1:4t', /decision "4t" is malformed/],
    ['v1:4t1.', /decision "" is malformed/],
    ['v1:4t1..5t0', /decision "" is malformed/],
    ['v1:-1t0', /malformed/],
    ['v1:9t1.4t0', /goes back in time \(step 4 after 9\)/],
    ['v1:1234567890t1', /malformed/],
    ['v1:' + 'x'.repeat(500), /malformed/],
  ])('rejects %j with a one-line ScheduleError', (text, msg) => {
    let err: unknown;
    try { decodeSchedule(text); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ScheduleError);
    const m = (err as Error).message;
    expect(m).toMatch(msg);
    expect(m).not.toMatch(/\n/);
    expect(m.length).toBeLessThan(160);
    expect(() => new ReplayScheduler(text)).toThrow(ScheduleError);
  });

  it('rejects garbage of any shape with a ScheduleError, never another error', () => {
    fc.assert(fc.property(fc.string(), (s) => {
      try { decodeSchedule(s); } catch (e) { expect(e).toBeInstanceOf(ScheduleError); }
    }));
  });

  it('turns gap/task switches into decisions at cumulative steps, picks before choices', () => {
    expect(decisionsFromSwitches([{ gap: 3, task: 1 }, { gap: 0, choice: 2 }, { gap: 4, task: 0 }, { gap: 2, choice: 1 }, { gap: 0, task: 2 }]))
      .toEqual([
        { step: 3, kind: 't', value: 1 }, { step: 3, kind: 'c', value: 2 }, { step: 7, kind: 't', value: 0 },
        { step: 9, kind: 't', value: 2 }, { step: 9, kind: 'c', value: 1 },
      ]);
    expect(decisionsFromSwitches([])).toEqual([]);
  });

  it('scheduleArb yields decodable schedules that shrink toward the default', () => {
    fc.assert(fc.property(scheduleArb({ tasks: 3, maxSwitches: 6, maxGap: 10, maxChoice: 2 }), (s) => {
      const ds = decodeSchedule(s);
      expect(ds.length).toBeLessThanOrEqual(6);
      for (const d of ds) if (d.kind === 't') expect(d.value).toBeLessThan(3);
    }));
    // A property that fails once a schedule has two switches shrinks to the smallest such
    // schedule: two switches, both at step 0, both to task 0.
    const r = fc.check(fc.property(scheduleArb({ tasks: 4, maxSwitches: 8, maxGap: 20 }), (s) => switchCount(decodeSchedule(s)) < 2), { seed: 42 });
    expect(r.failed).toBe(true);
    expect(r.counterexample![0]).toBe('v1:0t0.0t0');
  });
});
