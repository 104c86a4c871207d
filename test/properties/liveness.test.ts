/**
 * properties/liveness.ts — uffd-lost-wakeup: when no task can run, no fault may sleep in
 * handle_userfault on a range that is no longer registered. Broken implementations trip it; the
 * correct kernel (and a fault still registered, which stays a plain `deadlock`) does not.
 *
 *   0x10000000 |--anon rw, 2 pages (page 0 written), registered MISSING--|
 *   T1: load(page 1)   (a missing fault: sleeps in handle_userfault)
 *   T2: UFFDIO_UNREGISTER(both pages)   (must wake T1: it retries as a plain anonymous fault)
 */
import { describe, expect, it } from 'vitest';
import { defineVariant, generationVariant, type VariantSpec } from '../../impl/sim/variant.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import type { ModelOp } from '../../model/ops.js';
import { runScenario } from '../../properties/runner.js';
import { anon, load, page, PAGE, store, uffdRegister } from '../../properties/scenarios/build.js';
import { FAMILIES } from '../../properties/scenarios/index.js';
import { bindFamily } from '../../properties/scenarios/family.js';
import { parseCounterexample, serializeCounterexample, makeCounterexample } from '../../properties/counterexample.js';

const unregister: ModelOp = { op: 'uffd_unregister', pid: 1, addr: page(0), len: 2 * PAGE };

function scenario(changer: ModelOp[], daemons: ScenarioSpec['daemons'] = []): ScenarioSpec {
  return {
    name: 'lost-wakeup', family: 'planted',
    processes: [{ pid: 1, setup: [anon(1, 0, 2), store(1, 0, 1), uffdRegister(1, 0, 2)] }],
    threads: [{ name: 'T1', pid: 1, program: [load(1, 1)] }, ...(changer.length ? [{ name: 'T2', pid: 1, program: changer }] : [])],
    daemons,
  };
}

const planted = (base: string, overrides: NonNullable<VariantSpec['overrides']>) =>
  defineVariant({ name: 'planted', base, description: 'planted', overrides });

describe('uffd-lost-wakeup', () => {
  it('v6.4: UFFDIO_UNREGISTER wakes the sleeping fault, which then completes (the correct kernel passes)', () => {
    const r = runScenario({ variant: generationVariant('v6.4'), scenario: scenario([unregister]) });
    expect(r.status, r.violation?.message).toBe('pass');
    expect(r.history.find((e) => e.op.op === 'load')?.result).toEqual({ kind: 'value', value: 0 });
  });

  it('a wake_userfault that wakes nobody leaves the fault asleep on the unregistered range', () => {
    const r = runScenario({ variant: planted('v6.4', { __wake_userfault: function* () {} }), scenario: scenario([unregister]) });
    expect(r.violation?.property).toBe('uffd-lost-wakeup');
    expect(r.violation!.taskName).toBe('T1');
    expect(r.violation!.message).toMatch(/T1#\d+ sleeps in handle_userfault for 0x10001000, which is no longer registered/);
  });

  it('a contract monitor (no UFFDIO_WAKE after -ENOENT on an unregistered page) does not hide the broken wake', () => {
    const sc = scenario([unregister], [{ kind: 'uffd_handler', pid: 1, count: 4, value: 9, monitor: 'contract' }]);
    expect(runScenario({ variant: planted('v6.4', { __wake_userfault: function* () {} }), scenario: sc }).violation?.property).toBe('uffd-lost-wakeup');
  });

  it('a fault asleep on a range still registered (no monitor) is a plain deadlock, not this property', () => {
    const alone = runScenario({ variant: generationVariant('v6.6'), scenario: scenario([]) });
    expect(alone.violation?.property).toBe('deadlock');
  });

  it('the uffd family option binds the monitor, and a counterexample carries and replays it', () => {
    const fam = bindFamily('uffd:monitor=contract', FAMILIES);
    if (typeof fam === 'string') throw new Error(fam);
    const sc = fam.generate(7);
    expect(sc.family).toBe('uffd');
    expect(sc.daemons).toEqual([{ kind: 'uffd_handler', pid: 1, count: 8, value: 77, monitor: 'contract' }]);
    const plain = FAMILIES.get('uffd')!.generate(7);
    expect({ ...plain, daemons: [] }).toEqual({ ...sc, daemons: [] });
    expect(plain.daemons).toEqual([{ kind: 'uffd_handler', pid: 1, count: 8, value: 77 }]);
    const r = runScenario({ variant: generationVariant('v6.6'), scenario: sc });
    const cx = makeCounterexample({
      config: 'v6.6', scenario: sc, schedule: r.schedule,
      violation: { property: 'x', message: 'x', step: -1, task: -1, taskName: '', report: [] },
      steps: r.steps, preemptions: r.preemptions, tasks: 3, createdBy: 'test',
    }, (n) => n);
    const back = parseCounterexample(serializeCounterexample(cx), {}, 'cx.json');
    expect(back.scenario.daemons).toEqual(sc.daemons);
    expect(runScenario({ variant: generationVariant('v6.6'), scenario: back.scenario, schedule: back.schedule }).schedule).toBe(r.schedule);
    expect(() => parseCounterexample(serializeCounterexample(cx).replace('"contract"', '"trusting"'), {}, 'cx.json')).toThrow(/monitor/);
  });

  it('bad family options are one-line reasons', () => {
    expect(bindFamily('uffd:monitor=sometimes', FAMILIES)).toMatch(/takes defensive or contract/);
    expect(bindFamily('uffd:wake=never', FAMILIES)).toMatch(/has no option "wake"/);
    expect(bindFamily('mprotect-vs-fault:monitor=contract', FAMILIES)).toMatch(/takes no options/);
    expect(bindFamily('nope:x=y', FAMILIES)).toMatch(/unknown scenario "nope"/);
  });
});
