/**
 * The end-of-run observation (properties/refinement.ts sim_observe / finalObservations): what a
 * user-space load of each mapped page would get now, read from the kernel's state. It must say
 * what the kernel would give user space — a value, SIGSEGV or SIGBUS — or 'unknown' where that
 * depends on work still to happen; then the final-state check both passes correct kernels and
 * catches a wrong final memory no load of the history saw.
 *
 *   |--data.bin MAP_SHARED, 2 pages--|   over a 1-page file: page 1 is beyond EOF
 *   |--anon rw, 2 pages--|               mprotect(PROT_NONE), uffd-missing
 *   |--/dev/pfnmap0, 2 pages--|          over a 1-page device
 */
import { describe, expect, it } from 'vitest';
import { ReplayScheduler } from '../../impl/rt/schedulers/replay.js';
import { sim_run } from '../../impl/sim/run.js';
import { defineVariant, generationVariant, type VariantSpec } from '../../impl/sim/variant.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import type { ModelOp, ModelResult } from '../../model/ops.js';
import { generic_perform_write } from '../../impl/mm/filemap.js';
import { sim_observe } from '../../properties/refinement.js';
import { runScenario } from '../../properties/runner.js';
import { anon, fileMap, load, mprotect, page, store, uffdRegister, RW } from '../../properties/scenarios/build.js';

const NONE = { read: false, write: false, exec: false };
const pwrite = (pg: number, value: number): ModelOp => ({ op: 'pwrite', pid: 1, file: 'data.bin', page: pg, value });

function scenario(setup: ModelOp[], program: ModelOp[], files: ScenarioSpec['files'] = [{ name: 'data.bin', pages: [100] }]): ScenarioSpec {
  return { name: 'final-state', family: 'test', files, processes: [{ pid: 1, setup }], threads: [{ name: 'T1', pid: 1, program }] };
}

/** What sim_observe says for each page after running sc (one thread, no preemption). */
function observe(sc: ScenarioSpec, pages: number[], base = 'v6.6'): (ModelResult | 'unknown')[] {
  const run = sim_run({ variant: generationVariant(base), scenario: sc, scheduler: new ReplayScheduler('v1:', false) });
  expect(run.outcome.status).toBe('ok');
  const mm = run.kernel.procs.get(1)!.mm!;
  return pages.map((i) => sim_observe(run.kernel, mm, page(i)));
}

function verdict(sc: ScenarioSpec, overrides?: VariantSpec['overrides'], base = 'v6.6'): string {
  const variant = overrides ? defineVariant({ name: 'planted', base, description: 'planted', overrides }) : generationVariant(base);
  const r = runScenario({ variant, scenario: sc });
  if (r.status === 'crash') throw new Error(r.error);
  return r.violation?.property ?? r.status;
}

const v = (value: number): ModelResult => ({ kind: 'value', value });
const SIGBUS: ModelResult = { kind: 'signal', sig: 'SIGBUS' };
const SIGSEGV: ModelResult = { kind: 'signal', sig: 'SIGSEGV' };

describe('sim_observe: what the kernel would give a load at the end of the run', () => {
  it('a file page at or beyond EOF is SIGBUS (filemap_fault checks i_size), whatever the disk array holds', () => {
    expect(observe(scenario([fileMap(1, 0, 2, 'data.bin', 0, true)], [load(1, 0)]), [0, 1])).toEqual([v(100), SIGBUS]);
  });
  it('after pwrite extends the file, the page is the page cache\'s', () => {
    expect(observe(scenario([fileMap(1, 0, 2, 'data.bin', 0, true)], [pwrite(1, 7)]), [0, 1])).toEqual([v(100), v(7)]);
  });
  it('PROT_NONE is SIGSEGV even over a present PTE (access_error comes first)', () => {
    expect(observe(scenario([anon(1, 0, 2)], [store(1, 0, 5), mprotect(1, 0, 2, NONE)]), [0, 1])).toEqual([SIGSEGV, SIGSEGV]);
  });
  it('a missing page of a uffd missing-mode range is unknown (the fault would wait); a present one is read', () => {
    expect(observe(scenario([anon(1, 0, 2), store(1, 0, 3), uffdRegister(1, 0, 2)], []), [0, 1])).toEqual([v(3), 'unknown']);
  });
  it('a PFN-map device: SIGBUS where the device ends (no ->fault), the device page where it exists', () => {
    const files = [{ name: '/dev/pfnmap0', pages: [9] }];
    const sc = scenario([fileMap(1, 0, 2, '/dev/pfnmap0', 0, true, RW)], [store(1, 0, 4)], files);
    expect(observe(sc, [0, 1])).toEqual([v(4), SIGBUS]);
  });
  it('a ->fault device with no PTE yet: the device\'s page', () => {
    const files = [{ name: '/dev/fault0', pages: [9, 8] }];
    expect(observe(scenario([fileMap(1, 0, 2, '/dev/fault0', 0, true, RW)], [load(1, 0)], files), [0, 1])).toEqual([v(9), v(8)]);
  });
});

describe('final-state: correct kernels pass, a wrong final memory is caught', () => {
  const eof = scenario([fileMap(1, 0, 2, 'data.bin', 0, true)], [load(1, 0)]);
  it('a shared mapping past EOF (the false alarm of ../shared/evidence/false-alarm-file-beyond-eof.json) passes', () => {
    expect(verdict(eof)).toBe('pass');
  });
  it('a pwrite that extends the file passes; one whose i_size update is lost is caught at the end', () => {
    const sc = scenario([fileMap(1, 0, 2, 'data.bin', 0, true)], [pwrite(1, 7)]);
    expect(verdict(sc)).toBe('pass');
    expect(verdict(sc, {
      generic_perform_write: function* (file, index, value) {
        const size = file.f_mapping.host.i_size;
        const r = yield* generic_perform_write(file, index, value);
        file.f_mapping.host.i_size = size; // i_size_write forgotten
        return r;
      },
    })).toBe('final-state');
  });
  it('mprotect(PROT_NONE) over present pages passes; one that leaves the VMA accessible is caught at the end', () => {
    const sc = scenario([anon(1, 0, 2)], [store(1, 0, 5), mprotect(1, 0, 2, NONE)]);
    expect(verdict(sc)).toBe('pass');
    expect(verdict(sc, { do_mprotect_pkey: function* () { yield 'do_mprotect_pkey'; return 0; } })).toBe('final-state');
  });
  it('the message places the observation after the run (no step, no pseudo-task) and shows the model\'s linearization', () => {
    const variant = defineVariant({ name: 'planted', base: 'v6.6', description: 'planted', overrides: { do_mprotect_pkey: function* () { yield 'do_mprotect_pkey'; return 0; } } });
    const r = runScenario({ variant, scenario: scenario([anon(1, 0, 2)], [store(1, 0, 5), mprotect(1, 0, 2, NONE)]) });
    expect(r.violation?.property).toBe('final-state');
    expect(r.violation!.message).toMatch(/^after the run, a load of 0x10000000 by P1 would return 5 \(read from the kernel's final state\), but no linearization of the history leaves that: the model says the model returns SIGSEGV$/);
    expect(r.violation!.message).not.toMatch(/T-2|step/);
    expect(r.violation!.report).toEqual([
      expect.stringMatching(/^a lost write or stale data/),
      'the model linearized the whole history (in this order):',
      '  P1 store(0x10000000, 5) = ok',
      // mprotect is judged page by page (refinement.ts perPage)
      '  P1 mprotect(0x10000000, 4K, ---) = ok',
      '  P1 mprotect(0x10001000, 4K, ---) = ok',
    ]);
  });
  it('a uffd missing-mode range with missing pages passes (they are not observed)', () => {
    expect(verdict(scenario([anon(1, 0, 2), store(1, 0, 3), uffdRegister(1, 0, 2)], [load(1, 0)]))).toBe('pass');
  });
  it('a device mapping longer than the device passes', () => {
    expect(verdict(scenario([fileMap(1, 0, 2, '/dev/pfnmap0', 0, true, RW)], [store(1, 0, 4)], [{ name: '/dev/pfnmap0', pages: [9] }]))).toBe('pass');
  });
});
