/** Counterexample files: deterministic writer, strict reader (every defect one line). */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalize, counterexampleFileName, CounterexampleError, makeCounterexample, parseCounterexample, readCounterexample,
  serializeCounterexample, writeCounterexample, type Counterexample, type CounterexampleInput,
} from '../../properties/counterexample.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import { workloadArb } from '../../properties/arbitraries/workload.js';

const RW = { read: true, write: true, exec: false };
const SCENARIO: ScenarioSpec = {
  name: 'unmap-during-io#3',
  family: 'unmap-during-io',
  files: [{ name: 'f', pages: [1, 2, 3] }],
  swapSlots: 4,
  processes: [{ pid: 1, setup: [{ op: 'mmap', pid: 1, addr: 0x10000000, len: 12288, prot: RW, flags: { shared: false, anonymous: false, fixed: true, growsdown: false }, file: 'f', offset: 0 }] }],
  kernelSetup: [{ do: 'evict', file: 'f', page: 1 }, { do: 'swap_out', pid: 1, addr: 0x10000000 }],
  threads: [
    { name: 'T0', pid: 1, program: [{ op: 'load', pid: 1, addr: 0x10001000 }, { op: 'mprotect', pid: 1, addr: 0x10000000, len: 4096, prot: RW }] },
    { name: 'T1', pid: 1, program: [{ op: 'munmap', pid: 1, addr: 0x10000000, len: 12288 }, { op: 'uffd_register', pid: 1, addr: 0x10000000, len: 4096, mode: 'missing' }] },
  ],
  daemons: [{ kind: 'reclaim', rounds: 2, targets: [{ pid: 1, addr: 0x10000000 }] }, { kind: 'uffd_handler', pid: 1, count: 1, value: 5 }, { kind: 'swapoff' }],
  faultInjection: true,
  maxSteps: 5000,
};

const INPUT: CounterexampleInput = {
  config: 'v6.6',
  mutant: 'b8-fork',
  scenario: SCENARIO,
  schedule: 'v1:12t1.30t0.30c1',
  violation: { property: 'kasan', message: 'slab-use-after-free in filemap_fault', step: 41, task: 1, taskName: 'T0', report: ['BUG: KASAN: slab-use-after-free in filemap_fault', 'Read of size 8'] },
  steps: 97,
  preemptions: 2,
  tasks: 2,
  createdBy: 'faultline 0.1.0 check',
};

const cx = (over: Partial<CounterexampleInput> = {}): Counterexample => makeCounterexample({ ...INPUT, ...over }, (f) => `npx faultline replay counterexamples/${f}`);

function reject(text: string, pattern: RegExp, mutants?: string[]): void {
  let err: unknown;
  try {
    parseCounterexample(text, mutants ? { mutants } : {}, 'x.json');
  } catch (e) {
    err = e;
  }
  expect(err, `accepted: ${text.slice(0, 200)}`).toBeInstanceOf(CounterexampleError);
  const m = (err as Error).message;
  expect(m.split('\n')).toHaveLength(1);
  expect(m).toMatch(/^x\.json: /);
  expect(m).toMatch(pattern);
}

function edit(f: (o: Record<string, any>) => void): string {
  const o = JSON.parse(serializeCounterexample(cx())) as Record<string, any>;
  f(o);
  return JSON.stringify(o);
}

describe('writer', () => {
  it('has the format, version, fields in a fixed order and the replay command', () => {
    const c = cx();
    const text = serializeCounterexample(c);
    expect(Object.keys(JSON.parse(text))).toEqual([
      'format', 'version', 'config', 'mutant', 'scenario', 'schedule', 'violation', 'steps', 'preemptions', 'tasks', 'createdBy', 'command',
    ]);
    expect(c.command).toBe(`npx faultline replay counterexamples/${counterexampleFileName(c)}`);
    expect(text.endsWith('}\n')).toBe(true);
    // Small objects stay on one line.
    expect(text).toMatch(/^ +\{ "op": "load", "pid": 1, "addr": 268439552 \},?$/m);
  });

  it('is deterministic whatever the key order of the input', () => {
    const shuffled = JSON.parse(JSON.stringify(SCENARIO), (_k, v) => {
      if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).reverse());
      return v;
    }) as ScenarioSpec;
    expect(serializeCounterexample(cx({ scenario: shuffled }))).toBe(serializeCounterexample(cx()));
    expect(counterexampleFileName(cx({ scenario: shuffled }))).toBe(counterexampleFileName(cx()));
  });

  it('names the file <mutant or config>-<property>-<hash>.json; the hash follows the run', () => {
    expect(counterexampleFileName(cx())).toMatch(/^b8-fork-kasan-[0-9a-f]{8}\.json$/);
    expect(counterexampleFileName(cx({ mutant: undefined }))).toMatch(/^v6\.6-kasan-[0-9a-f]{8}\.json$/);
    expect(counterexampleFileName(cx({ schedule: 'v1:12t1' }))).not.toBe(counterexampleFileName(cx()));
    expect(counterexampleFileName(cx({ violation: { ...INPUT.violation, property: 'lock/../../etc' } }))).toMatch(/^b8-fork-lock_.._.._etc-[0-9a-f]{8}\.json$/);
  });

  it('round-trips through the file system', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-cx-'));
    const path = await writeCounterexample(join(dir, 'a/b'), cx());
    expect(path.endsWith(counterexampleFileName(cx()))).toBe(true);
    const back = await readCounterexample(path, { mutants: ['b8-fork'] });
    expect(back).toEqual(JSON.parse(JSON.stringify(cx())));
    expect(serializeCounterexample(back)).toBe(readFileSync(path, 'utf8'));
  });

  it('round-trips any strings in the violation (property)', () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), fc.array(fc.string()), fc.string(), (property, report, message) => {
      const c = cx({ violation: { ...INPUT.violation, property, report, message } });
      const back = parseCounterexample(serializeCounterexample(c));
      expect(back.violation).toEqual(c.violation);
      expect(serializeCounterexample(back)).toBe(serializeCounterexample(c));
    }));
  });

  it('canonicalize drops undefined fields', () => {
    expect(canonicalize({ b: 1, a: undefined, op: 'x' })).toEqual({ op: 'x', b: 1 });
  });
});

describe('reader: every defect is one clear line', () => {
  it('accepts a valid file, with and without a mutant list', () => {
    const text = serializeCounterexample(cx());
    expect(parseCounterexample(text).config).toBe('v6.6');
    expect(parseCounterexample(text, { mutants: ['b8-fork'] }).mutant).toBe('b8-fork');
    expect(parseCounterexample(serializeCounterexample(cx({ mutant: undefined, variantFile: 'my-idea.ts' }))).variantFile).toBe('my-idea.ts');
  });

  it.each<[string, () => string, RegExp]>([
    ['empty', () => '   ', /file is empty/],
    ['not JSON', () => 'hello', /not valid JSON/],
    ['truncated', () => serializeCounterexample(cx()).slice(0, 300), /not valid JSON \(truncated/],
    ['an array', () => '[]', /not a counterexample \(expected a JSON object\)/],
    ['null', () => 'null', /not a counterexample/],
    ['no format', () => edit((o) => delete o.format), /no "format": "faultline-counterexample"/],
    ['wrong format', () => edit((o) => (o.format = 'faultline-report')), /unknown format "faultline-report"/],
    ['no version', () => edit((o) => delete o.version), /missing field "version"/],
    ['future version', () => edit((o) => (o.version = 2)), /unsupported version 2 \(this faultline reads version 1\)/],
    ['version as a string', () => edit((o) => (o.version = '1')), /unsupported version "1"/],
    ['missing config', () => edit((o) => delete o.config), /missing field "config"/],
    ['unknown config', () => edit((o) => (o.config = 'v4.19')), /unknown configuration "v4.19" \(one of v6.3/],
    ['config of the wrong type', () => edit((o) => (o.config = 66)), /field "config" must be a string, not a number \(66\)/],
    ['mutant and variantFile', () => edit((o) => (o.variantFile = 'x.ts')), /both "mutant" and "variantFile"/],
    ['unknown field', () => edit((o) => (o.trace = [])), /unknown field "trace"/],
    ['missing scenario', () => edit((o) => delete o.scenario), /missing field "scenario"/],
    ['scenario as an array', () => edit((o) => (o.scenario = [])), /field "scenario" must be an object, not an array/],
    ['scenario without threads', () => edit((o) => delete o.scenario.threads), /missing field "scenario.threads"/],
    ['scenario with an unknown field', () => edit((o) => (o.scenario.colour = 'red')), /unknown field "scenario.colour"/],
    ['a thread without a name', () => edit((o) => delete o.scenario.threads[1].name), /missing field "scenario.threads\[1\].name"/],
    ['an unknown operation', () => edit((o) => (o.scenario.threads[0].program[0].op = 'jump')), /"scenario.threads\[0\].program\[0\].op" is not a known operation \("jump"\)/],
    ['an operation missing a field', () => edit((o) => delete o.scenario.threads[0].program[0].addr), /missing field "scenario.threads\[0\].program\[0\].addr"/],
    ['an operation with an extra field', () => edit((o) => (o.scenario.threads[0].program[0].len = 4096)), /unknown field "scenario.threads\[0\].program\[0\].len"/],
    ['a negative address', () => edit((o) => (o.scenario.threads[0].program[0].addr = -4096)), /program\[0\].addr" must be ≥ 0/],
    ['a fractional address', () => edit((o) => (o.scenario.threads[0].program[0].addr = 1.5)), /must be an integer/],
    ['prot not an object', () => edit((o) => (o.scenario.threads[0].program[1].prot = 'rw-')), /program\[1\].prot" must be an object, not a string/],
    ['prot flag not boolean', () => edit((o) => (o.scenario.threads[0].program[1].prot.write = 1)), /prot.write" must be true or false/],
    ['bad uffd mode', () => edit((o) => (o.scenario.threads[1].program[1].mode = 'minor')), /mode" must be one of missing, wp, not "minor"/],
    ['bad setup action', () => edit((o) => (o.scenario.kernelSetup[0].do = 'shred')), /kernelSetup\[0\].do" must be one of swap_out, evict, cache/],
    ['bad daemon', () => edit((o) => (o.scenario.daemons[0].kind = 'kcompactd')), /daemons\[0\].kind" must be one of reclaim/],
    ['a pid of 0', () => edit((o) => (o.scenario.processes[0].pid = 0)), /processes\[0\].pid" must be ≥ 1/],
    ['a page list with a string', () => edit((o) => (o.scenario.files[0].pages = [1, 'x'])), /files\[0\].pages\[1\]" must be an integer/],
    ['missing schedule', () => edit((o) => delete o.schedule), /missing field "schedule"/],
    ['schedule without a version', () => edit((o) => (o.schedule = '12t1')), /malformed schedule: schedule "12t1" has no version prefix/],
    ['schedule of another version', () => edit((o) => (o.schedule = 'v0:12t1')), /malformed schedule: schedule version "v0"/],
    ['garbled decision', () => edit((o) => (o.schedule = 'v1:12t1.zz')), /malformed schedule: schedule decision "zz" is malformed/],
    ['decisions out of order', () => edit((o) => (o.schedule = 'v1:30t1.12t0')), /goes back in time/],
    ['no violation', () => edit((o) => delete o.violation), /missing field "violation"/],
    ['violation without property', () => edit((o) => delete o.violation.property), /missing field "violation.property"/],
    ['empty property', () => edit((o) => (o.violation.property = '')), /"violation.property" is empty/],
    ['report not a list of strings', () => edit((o) => (o.violation.report = ['a', 2])), /field "violation.report\[1\]" must be a string, not a number/],
    ['violation step beyond the run', () => edit((o) => (o.violation.step = 1000)), /"violation.step" 1000 is beyond the run's 97 steps/],
    ['negative steps', () => edit((o) => (o.steps = -1)), /field "steps" must be ≥ 0/],
    ['steps as a string', () => edit((o) => (o.steps = '97')), /field "steps" must be an integer, not a string \("97"\)/],
    ['missing command', () => edit((o) => delete o.command), /missing field "command"/],
  ])('%s', (_name, text, pattern) => reject(text(), pattern));

  it('an unknown mutant (when the zoo is known)', () => {
    reject(serializeCounterexample(cx()), /unknown mutant "b8-fork" \(one of b1-x, b2-y\)/, ['b1-x', 'b2-y']);
    reject(serializeCounterexample(cx()), /unknown mutant "b8-fork" \(no mutants are built\)/, []);
  });

  it('unreadable files', async () => {
    await expect(readCounterexample('/nonexistent/x.json')).rejects.toThrow(/cannot read counterexample \/nonexistent\/x.json: no such file/);
    await expect(readCounterexample(tmpdir())).rejects.toThrow(/is a directory/);
  });

  it('never throws anything but a one-line CounterexampleError on random edits', () => {
    const text = serializeCounterexample(cx());
    fc.assert(fc.property(fc.nat(text.length - 1), fc.nat(text.length), fc.string({ maxLength: 3 }), (at, len, ins) => {
      const t = text.slice(0, at) + ins + text.slice(Math.min(text.length, at + (len % 8)));
      try {
        parseCounterexample(t);
      } catch (e) {
        expect(e).toBeInstanceOf(CounterexampleError);
        expect((e as Error).message.includes('\n')).toBe(false);
      }
    }), { numRuns: 500 });
  });
});

describe('every workload the general generator draws replays', () => {
  it('a counterexample of 400 drawn workloads (every operation, flags, layouts, daemons, fault injection) parses back to the same scenario', () => {
    const ops = new Set<string>();
    for (const scenario of fc.sample(workloadArb({ faultInjection: 0.5 }), { seed: 11, numRuns: 400 })) {
      for (const t of scenario.threads) for (const o of t.program) ops.add(o.op);
      const text = serializeCounterexample(makeCounterexample({ ...INPUT, mutant: undefined, scenario }, (f) => f));
      expect(parseCounterexample(text, {}, 'x.json').scenario).toEqual(JSON.parse(text).scenario);
    }
    // the draw reached the operations added last (a missing shape made their files unreadable)
    for (const op of ['dio_read', 'dio_write', 'dev_ioctl', 'uffdio_move', 'proc_mem_write']) expect(ops).toContain(op);
  });
});
