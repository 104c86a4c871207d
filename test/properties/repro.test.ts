/**
 * properties/repro + `faultline repro`: a C reproducer from a counterexample. Every kept
 * counterexample (test/regressions) gives a program that compiles with `cc -O2 -pthread` and, on
 * this machine's kernel, runs to its verdict: "not reproduced" for the zoo (bugs fixed in the
 * running kernel, designs no kernel shipped), "reproduced" for the UFFDIO_UNREGISTER finding (deep
 * only: it is a race). The verdict machinery can fail: a program whose model outcomes are
 * tampered with reports the value, /proc or hang it then forbids.
 *
 *   0x10000000 |--anon rw, 2 pages (page 0 = 1), registered MISSING--|
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '../../cli/backend.js';
import { generationVariant } from '../../impl/sim/variant.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import { makeCounterexample } from '../../properties/counterexample.js';
import { enumerateOutcomes } from '../../properties/repro/outcomes.js';
import { cString, generateRepro, mergeRanges } from '../../properties/repro/index.js';
import { runScenario } from '../../properties/runner.js';
import { anon, fileMap, fork, getPolicy, load, madvise, mbind, mprotect, mremapTo, munmap, page, PAGE, readMaps, readSmaps, RO, store, uffdRegister } from '../../properties/scenarios/build.js';
import { initialState } from '../../model/state.js';
import { OP_TABLE } from '../../properties/arbitraries/ops.js';
import { workloadArb } from '../../properties/arbitraries/workload.js';
import { FAMILIES } from '../../properties/scenarios/index.js';
import { run } from '../cli/fake.js';

const DEEP = !!process.env.FAULTLINE_DEEP;
const ROOT = join(import.meta.dirname, '../..');
const REG = join(ROOT, 'test/regressions');
const files = readdirSync(REG).filter((f) => f.endsWith('.json')).sort();
const tmp = mkdtempSync(join(tmpdir(), 'faultline-repro-test-'));

function compile(c: string, name: string): string {
  const src = join(tmp, `${name}.c`);
  const bin = join(tmp, name);
  writeFileSync(src, c);
  execFileSync('cc', ['-O2', '-pthread', '-Wall', '-Werror', '-o', bin, src], { stdio: 'pipe' });
  return bin;
}

function runC(bin: string, args: string[], env: Record<string, string> = {}, timeout = 120_000): { code: number; out: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout, env: { ...process.env, ...env } });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

const ROOT_USER = process.getuid?.() === 0;
/** The swap file a reproducer said it swapped on, and whether /proc/swaps still lists it. */
function swapFileOf(out: string): string | undefined {
  return /^swap: (\S+), /m.exec(out)?.[1];
}
const swappedOn = (path: string): boolean => readFileSync('/proc/swaps', 'utf8').split('\n').some((l) => l.split(/\s+/)[0] === path);

/** A counterexample of a scenario on v6.6 as the checker would write it (its replay's verdict). */
function cxOf(sc: ScenarioSpec, schedule = 'v1:') {
  const v = generationVariant('v6.6');
  const r = runScenario({ variant: v, scenario: sc, schedule, strict: false });
  return makeCounterexample({
    config: 'v6.6', scenario: sc, schedule: r.schedule,
    violation: r.violation
      ? { property: r.violation.property, message: r.violation.message, step: r.violation.step, task: r.violation.task, taskName: r.violation.taskName, report: r.violation.report }
      : { property: 'linearizability', message: 'test', step: -1, task: -1, taskName: '', report: [] },
    steps: r.steps, preemptions: r.preemptions, tasks: sc.threads.length, createdBy: 'test',
  }, (n) => n);
}

const registered = (threads: ScenarioSpec['threads']): ScenarioSpec => ({
  name: 'repro-test', family: 'test',
  processes: [{ pid: 1, setup: [anon(1, 0, 2), store(1, 0, 1), uffdRegister(1, 0, 2)] }],
  threads,
});

describe('faultline repro: every kept counterexample', () => {
  for (const f of files) {
    it(`${f}: writes a C program that compiles with cc -O2 -pthread`, async () => {
      const out = join(tmp, f.replace(/\.json$/, '.c'));
      const r = await run(['repro', f, '--c', out, '--iterations', '50', '--timeout-ms', '50'], { cwd: REG, backend: defaultBackend });
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^wrote .*\.c: /);
      const c = readFileSync(out, 'utf8');
      expect(c).toMatch(/verdict: reproduced/);
      compile(c, f.replace(/\.json$/, ''));
    }, 30_000);
  }

  for (const f of files.filter((x) => x !== 'uffd-unregister-wake.json')) {
    it(`${f}: runs to "not reproduced" on this kernel (50 iterations)`, () => {
      const bin = join(tmp, f.replace(/\.json$/, ''));
      const r = runC(bin, ['50', '200']);
      expect(r.out, r.out).toMatch(/verdict: not reproduced - checked /);
      expect(r.code).toBe(0);
    }, 60_000);
  }

  it.runIf(DEEP)('uffd-unregister-wake.json: reproduces the hang on this kernel (deep: a race, up to 3000 iterations)', async () => {
    const out = join(tmp, 'uffd-unregister-wake-first.c');
    expect((await run(['repro', 'uffd-unregister-wake.json', '--c', out, '--stop-at-first'], { cwd: REG, backend: defaultBackend })).code).toBe(0);
    const r = runC(compile(readFileSync(out, 'utf8'), 'uffd-unregister-wake-first'), ['3000', '200']);
    expect(r.out, r.out).toMatch(/verdict: reproduced - uffd-lost-wakeup/);
    expect(r.out).toMatch(/hang: thread faulter still blocked in P1 load\(0x10003000\).*unregistered/);
    expect(r.code).toBe(1);
  }, 600_000);
});

describe('every operation renders, and agrees with the model on this kernel', () => {
  //   P1 |--anon 4p--|   |--data.bin shared 3p--|   |--anon 4p, registered--|      P2 |--anon 2p--| |--data.bin--|
  it('loads, stores, pread/pwrite, mprotect, mremap (fixed and not), UFFDIO_COPY/MOVE, /proc/pid/mem, maps, smaps, madvise, mbind, get_mempolicy, unregister, fork, munmap, exit', () => {
    const sc: ScenarioSpec = {
      name: 'all-ops', family: 'test',
      files: [{ name: 'data.bin', pages: [100, 101, 102] }],
      processes: [
        { pid: 1, setup: [anon(1, 0, 4), store(1, 0, 1), fileMap(1, 8, 3, 'data.bin', 0, true), anon(1, 16, 4), uffdRegister(1, 16, 4)] },
        { pid: 2, setup: [anon(2, 0, 2), store(2, 1, 6), fileMap(2, 8, 3, 'data.bin', 0, true)] },
      ],
      threads: [
        { name: 'A', pid: 1, program: [load(1, 8), store(1, 9, 55), { op: 'pread', pid: 1, file: 'data.bin', page: 1 }, { op: 'pwrite', pid: 1, file: 'data.bin', page: 2, value: 77 },
          load(1, 10), mprotect(1, 0, 1, RO), store(1, 0, 3), mremapTo(1, 2, 2, 32), load(1, 32),
          { op: 'mremap', pid: 1, oldAddr: page(32), oldLen: 2 * PAGE, newLen: 2 * PAGE, flags: { maymove: true, fixed: false, dontunmap: false } }] },
        { name: 'B', pid: 1, program: [{ op: 'uffdio_copy', pid: 1, dst: page(16), value: 9 }, load(1, 16), { op: 'uffdio_copy', pid: 1, dst: page(17), value: 4 }, store(1, 17, 3),
          { op: 'uffdio_move', pid: 1, src: page(17), dst: page(19) }, load(1, 19), { op: 'proc_mem_write', pid: 1, target: 1, addr: page(1), value: 12 }, load(1, 1),
          readMaps(1), readSmaps(1), madvise(1, 1, 1), load(1, 1), mbind(1, 3, 1, 'bind:0'), getPolicy(1, 3),
          { op: 'uffd_unregister', pid: 1, addr: page(16), len: 4 * PAGE }, load(1, 18), fork(1), munmap(1, 3, 1)] },
        { name: 'C', pid: 2, program: [load(2, 1), store(2, 0, 8), load(2, 9), { op: 'proc_mem_write', pid: 2, target: 1, addr: page(0) + 8, value: 5 }, { op: 'exit', pid: 2 }] },
      ],
    };
    const v = generationVariant('v6.15');
    const r = runScenario({ variant: v, scenario: sc });
    expect(r.status, r.violation?.message ?? r.error).toBe('pass');
    const cx = makeCounterexample({
      config: 'v6.15', scenario: sc, schedule: r.schedule,
      violation: { property: 'linearizability', message: 'every operation, and read(/proc/1/maps)', step: -1, task: -1, taskName: '', report: [] },
      steps: r.steps, preemptions: r.preemptions, tasks: 3, createdBy: 'test',
    }, (n) => n);
    const g = generateRepro(cx, v);
    expect(g.modelComplete).toBe(true);
    expect(g.c).toMatch(/#define PRIMARY \(CHECK_VALUE \| CHECK_PROC\)/);
    expect(g.c).toMatch(/data\.bin\\n10010000-10014000 rw-p/);
    const out = runC(compile(g.c, 'all-ops'), ['20', '200']);
    expect(out.out, out.out).toMatch(/20 iterations in [\d.]+ s: 0 with a hang, 0 with a forbidden value, 0 with forbidden \/proc lines/);
    expect(out.out).toMatch(/verdict: not reproduced/);
    expect(out.code).toBe(0);
  }, 60_000);
});

describe('O_DIRECT read/write, KVM_CREATE_VM and khugepaged render and run', () => {
  //   P1 |--anon 512p (one PMD), pages 0 and 3 stored--|   |--data.bin 4p--|   khugepaged: MADV_COLLAPSE of the PMD
  const pmd = (program2: ScenarioSpec['threads'][number]['program']): ScenarioSpec => ({
    name: 'dio-thp', family: 'test',
    files: [{ name: 'data.bin', pages: [100, 101, 102, 103] }],
    processes: [{ pid: 1, setup: [anon(1, 0, 512), store(1, 0, 1), store(1, 3, 2)] }],
    threads: [
      { name: 'A', pid: 1, program: [{ op: 'dio_read', pid: 1, file: 'data.bin', page: 1, addr: page(5) }, load(1, 5), store(1, 7, 9)] },
      { name: 'B', pid: 1, program: program2 },
    ],
    daemons: [{ kind: 'khugepaged', rounds: 1 }],
  });

  it('O_DIRECT moves the data both ways and khugepaged collapses beside it: no forbidden value; a tampered final value of the page O_DIRECT read into is reported', () => {
    const sc = pmd([{ op: 'dio_write', pid: 1, file: 'data.bin', page: 2, addr: page(3) }, { op: 'pread', pid: 1, file: 'data.bin', page: 2 }, load(1, 300)]);
    const v = generationVariant('v6.6');
    const r = runScenario({ variant: v, scenario: sc });
    expect(r.status, r.violation?.message ?? r.error).toBe('pass');
    const g = generateRepro(cxOf(sc), v);
    expect(g.modelComplete).toBe(true);
    expect(g.c).toMatch(/\.kind = OP_DIO_READ, .*\.file = 0, \.page = 1, \.addr = 0x10005000UL/);
    expect(g.c).toMatch(/\.kind = OP_DIO_WRITE, .*\.file = 0, \.page = 2, \.addr = 0x10003000UL/);
    expect(g.c).toMatch(/static const struct collapse collapse\[\] = \{\n\t\{ \.pid = 1, \.addr = 0x10000000UL \},\n\};/);
    expect(g.notes.join('\n')).toMatch(/khugepaged runs as MADV_COLLAPSE/);
    // the model: the page O_DIRECT read into holds file page 1; the file page O_DIRECT wrote holds page 3's value
    expect(g.c).toMatch(/final_\d+\[\] = \{ "101" \}/);
    const bin = compile(g.c, 'dio-thp');
    const ok = runC(bin, ['10', '200']);
    expect(ok.out, ok.out).toMatch(/10 iterations in [\d.]+ s: 0 with a hang, 0 with a forbidden value/);
    expect(ok.code).toBe(0);
    const bad = runC(compile(g.c.replace(/(final_\d+\[\] = \{ )"101"/, '$1"77"'), 'dio-thp-bad'), ['2', '200']);
    expect(bad.out).toMatch(/value: after the run P1's page 0x10005000 reads 101, which no interleaving allowed by the model leaves/);
    expect(bad.code).toBe(1);
  }, 60_000);

  it('ioctl(KVM_CREATE_VM) on a /dev/kvm device renders (the machine\'s /dev/kvm, or -ENOTTY on the stand-in) and runs', () => {
    const sc: ScenarioSpec = {
      ...pmd([{ op: 'dev_ioctl', pid: 1, file: '/dev/kvm0', cmd: 'KVM_CREATE_VM' }, store(1, 4, 5)]),
      files: [{ name: 'data.bin', pages: [100, 101, 102, 103] }, { name: '/dev/kvm0', pages: [7] }],
    };
    const v = generationVariant('v6.15');
    const r = runScenario({ variant: v, scenario: sc });
    expect(r.status, r.violation?.message ?? r.error).toBe('pass');
    const g = generateRepro(cxOf(sc), v);
    expect(g.c).toMatch(/\.kind = OP_DEV_IOCTL, .*\.file = 1/);
    expect(g.notes.join('\n')).toMatch(/ioctl\(KVM_CREATE_VM\) runs on the machine's \/dev\/kvm/);
    const out = runC(compile(g.c, 'kvm'), ['5', '200']);
    expect(out.out, out.out).toMatch(/5 iterations in [\d.]+ s: 0 with a hang/);
    if (!existsSync('/dev/kvm')) expect(out.out).toMatch(/^skip: \/dev\/kvm: .*P1 ioctl\(\/dev\/kvm0, KVM_CREATE_VM\) is not run/m);
    expect(out.code).toBe(0);
  }, 60_000);
});

describe('kernel daemons through their user-space triggers (reclaim, swapoff, khugepaged)', () => {
  //   P1 |--anon rw 2p (stored)--|  |--data.bin ro 2p--|      reclaim: process_madvise(MADV_PAGEOUT) of 3 pages
  it('reclaim (kswapd) is process_madvise(MADV_COLD, MADV_PAGEOUT) from a helper process racing the programs; as root on its own swap file, removed at exit', () => {
    const sc = FAMILIES.get('reclaim')!.generate(1);
    expect(sc.daemons).toEqual([expect.objectContaining({ kind: 'reclaim' })]);
    const g = generateRepro(cxOf(sc), generationVariant('v6.6'));
    expect(g.c).toMatch(/#define NRECLAIM 3\n#define NEEDS_SWAP 1\n#define SWAP_PAGES 4\n#define RUN_SWAPOFF 0/);
    expect(g.c).toMatch(/static const struct rtarget reclaim_targets\[\] = \{\n\t\{ \.pid = 1, \.addr = 0x10000000UL \},/);
    expect(g.c).toMatch(/Simulated daemons reclaim \(kswapd\) and swapoff, through the user-space triggers of their kernel/);
    expect(g.c).toMatch(/madvise_cold_or_pageout_pte_range -> reclaim_pages -> shrink_folio_list ->/);
    expect(g.notes.join('\n')).toMatch(/reclaim \(kswapd\) runs as process_madvise\(MADV_COLD, then MADV_PAGEOUT\)/);
    const out = runC(compile(g.c, 'reclaim'), ['20', '200']);
    expect(out.out, out.out).toMatch(/20 iterations in [\d.]+ s: 0 with a hang, 0 with a forbidden value/);
    expect(out.out).toMatch(/reclaim daemon: [1-9]\d* MADV_PAGEOUT\(s\) of its target pages/);
    if (ROOT_USER) {
      const swap = swapFileOf(out.out);
      expect(swap, out.out).toMatch(/\/faultline-repro-\w+\/swap\.\d+$/);
      expect(out.out).toMatch(/, 4 slot\(s\), swapped on at the highest priority/);
      expect(swappedOn(swap!)).toBe(false);
      expect(existsSync(swap!)).toBe(false);
    }
    expect(out.code).toBe(0);
  }, 60_000);

  //   P1 |--anon rw, pages swapped out at the start--|      swapoff: swapoff(2)/swapon(2) of the reproducer's swap file
  it('swapoff is swapoff(2)/swapon(2) of the reproducer\'s own swap file (root); without one the program says it is skipped', () => {
    const sc = FAMILIES.get('swapoff')!.generate(1);
    expect(sc.daemons?.some((d) => d.kind === 'swapoff')).toBe(true);
    const g = generateRepro(cxOf(sc), generationVariant('v6.6'));
    expect(g.c).toMatch(/#define RUN_SWAPOFF 1/);
    expect(g.c).toMatch(/swapoff - swapoff\(2\) of the reproducer's own swap file, then swapon\(2\) of it again:\n.*try_to_unuse -> unuse_mm/);
    const bin = compile(g.c, 'swapoff');
    const out = runC(bin, ['20', '200']);
    expect(out.out, out.out).toMatch(/20 iterations in [\d.]+ s: 0 with a hang, 0 with a forbidden value/);
    if (ROOT_USER) {
      expect(out.out).toMatch(/swapoff daemon: [1-9]\d* swapoff\(2\) of the reproducer's swap file/);
      expect(swappedOn(swapFileOf(out.out)!)).toBe(false);
    } else {
      expect(out.out).toMatch(/skip: swapoff is not run/);
    }
    expect(out.code).toBe(0);
    const none = runC(bin, ['3', '200'], { FAULTLINE_REPRO_NO_SWAP: '1' });
    expect(none.out).toMatch(/^note: FAULTLINE_REPRO_NO_SWAP: no swap file of the reproducer's own .*; skip: swapoff is not run$/m);
    expect(none.out).toMatch(/swapoff daemon: 0 swapoff\(2\)/);
    expect(none.code).toBe(0);
  }, 60_000);

  it.runIf(ROOT_USER)('a reproducer stopped by SIGTERM swaps its swap file off and removes it', () => {
    const g = generateRepro(cxOf(FAMILIES.get('swapoff')!.generate(1)), generationVariant('v6.6'));
    const out = runC(compile(g.c, 'swapoff-term'), ['1000000', '200'], {}, 3000);
    const swap = swapFileOf(out.out);
    expect(swap, out.out).toBeDefined();
    expect(out.out).not.toMatch(/^verdict:/m);
    expect(swappedOn(swap!)).toBe(false);
    expect(existsSync(swap!)).toBe(false);
  }, 30_000);

  it('khugepaged is MADV_COLLAPSE: the C names the daemon, the kernel path and what differs from khugepaged', () => {
    const g = generateRepro(cxOf({
      name: 'thp', family: 'test', processes: [{ pid: 1, setup: [anon(1, 0, 512), store(1, 0, 1)] }],
      threads: [{ name: 'T1', pid: 1, program: [load(1, 3)] }], daemons: [{ kind: 'khugepaged', rounds: 1 }],
    }), generationVariant('v6.6'));
    expect(g.c).toMatch(/Simulated daemon: khugepaged\. Rendered as MADV_COLLAPSE/);
    expect(g.c).toMatch(/madvise_collapse ->\n \* hpage_collapse_scan_pmd -> collapse_huge_page/);
    expect(g.c).toMatch(/cc->is_khugepaged is false: max_ptes_none/);
    expect(g.c).toMatch(/since v6\.6 \(retract_page_tables\(\) without\n \* +mmap or vma lock\) collapse_file retracts them/);
    expect(g.notes.join('\n')).toMatch(/khugepaged runs as MADV_COLLAPSE .* other mms' page tables are retracted as by khugepaged \(since v6\.6\)/);
  });
});

describe('the general generator: every operation, daemon and setup action it draws renders, compiles and runs on this kernel (seed 2)', () => {
  // The workloads of 600 draws (no simulation) that together cover every operation of the
  // table, every daemon and every kernel setup action drawn; each is replayed on v6.15, rendered,
  // compiled and run for 10 iterations: nothing the model forbids.
  const features = (sc: ScenarioSpec): string[] => [...new Set([
    ...sc.threads.flatMap((t) => t.program.map((o) => `op:${o.op}`)),
    ...(sc.daemons ?? []).map((d) => `daemon:${d.kind}`),
    ...(sc.kernelSetup ?? []).map((a) => `setup:${a.do}`),
  ])];
  const drawn = fc.sample(workloadArb(), { seed: 3, numRuns: 600 });
  const need = new Set(drawn.flatMap(features));
  const cover: number[] = [];
  while (need.size > 0) {
    let best = 0;
    let bestN = 0;
    drawn.forEach((sc, i) => {
      const n = features(sc).filter((f) => need.has(f)).length;
      if (n > bestN) [best, bestN] = [i, n];
    });
    cover.push(best);
    for (const f of features(drawn[best]!)) need.delete(f);
  }

  it('the draws cover every operation of the table, the four daemons and swap-out/cache at the start', () => {
    const got = new Set(cover.flatMap((i) => features(drawn[i]!)));
    for (const k of OP_TABLE) expect(got.has(`op:${k.name}`), k.name).toBe(true);
    for (const d of ['reclaim', 'swapoff', 'khugepaged', 'uffd_handler']) expect(got.has(`daemon:${d}`), d).toBe(true);
    for (const a of ['swap_out', 'cache']) expect(got.has(`setup:${a}`), a).toBe(true);
  });

  for (const i of cover) {
    it(`workload #${i} (${features(drawn[i]!).join(', ')})`, () => {
      const sc = drawn[i]!;
      const v = generationVariant('v6.15');
      const r = runScenario({ variant: v, scenario: sc, schedule: 'v1:', strict: false });
      const cx = makeCounterexample({
        config: 'v6.15', scenario: sc, schedule: r.schedule,
        violation: { property: 'linearizability', message: 'a drawn workload', step: -1, task: -1, taskName: '', report: [] },
        steps: r.steps, preemptions: r.preemptions, tasks: sc.threads.length, createdBy: 'test',
      }, (n) => n);
      const out = runC(compile(generateRepro(cx, v).c, `general-${i}`), ['10', '200']);
      expect(out.out, out.out).toMatch(/10 iterations in [\d.]+ s: 0 with a hang, 0 with a forbidden value, 0 with forbidden \/proc lines/);
      expect(out.out).toMatch(/verdict: not reproduced/);
      expect(out.code).toBe(0);
    }, 120_000);
  }
});

describe('the C verdicts can fail', () => {
  it('a final value the model does not allow is reported (exit 1, "value:")', () => {
    // One thread stores 5 to page 1; the model allows only 5 there after the run.
    const sc: ScenarioSpec = { name: 'v', family: 'test', processes: [{ pid: 1, setup: [anon(1, 0, 2)] }], threads: [{ name: 'T1', pid: 1, program: [store(1, 1, 5)] }] };
    const { c } = generateRepro(cxOf(sc), generationVariant('v6.6'), { iterations: 3 });
    expect(c).toMatch(/static const char \*const final_\d+\[\] = \{ "5" \};/);
    const ok = runC(compile(c, 'value-ok'), ['3', '50']);
    expect(ok.code, ok.out).toBe(0);
    const bad = runC(compile(c.replace(/(final_\d+\[\] = \{ )"5"/, '$1"6"'), 'value-bad'), ['3', '50']);
    expect(bad.out).toMatch(/value: after the run P1's page 0x10001000 reads 5, which no interleaving allowed by the model leaves/);
    expect(bad.code).toBe(1);
  }, 30_000);

  it('a load the model leaves blocked (registered, no monitor) is not a hang; told it cannot block, the program reports the hang', () => {
    const sc = registered([{ name: 'faulter', pid: 1, program: [load(1, 1)] }]);
    const cx = cxOf(sc);
    expect(cx.violation.property).toBe('deadlock');
    const { c } = generateRepro(cx, generationVariant('v6.6'), { iterations: 2 });
    expect(c).toMatch(/\.kind = OP_LOAD.*\.may_block = 1/);
    const ok = runC(compile(c, 'block-ok'), ['2', '50']);
    expect(ok.out).toMatch(/2 with an operation blocked where the model allows it/);
    expect(ok.code, ok.out).toBe(0);
    const bad = runC(compile(c.replace('.may_block = 1', '.may_block = 0'), 'block-bad'), ['2', '50']);
    expect(bad.out).toMatch(/hang: thread faulter still blocked in P1 load\(0x10001000\)/);
    expect(bad.code).toBe(1);
  }, 30_000);

  it('/proc lines the model never shows are reported for a counterexample about /proc (smaps-rcu)', async () => {
    const out = join(tmp, 'smaps-rcu-tampered.c');
    expect((await run(['repro', 'smaps-rcu.json', '--c', out], { cwd: REG, backend: defaultBackend })).code).toBe(0);
    const c = readFileSync(out, 'utf8');
    expect(c).toMatch(/#define PRIMARY \(CHECK_VALUE \| CHECK_PROC\)/);
    const bad = runC(compile(c.replace(/10200000-10201000 rw-p 00000000/g, '10200000-10202000 rw-p 00000000'), 'proc-bad'), ['3', '50']);
    expect(bad.out).toMatch(/proc: P1 read\(\/proc\/1\/smaps\) showed window lines the model never shows/);
    expect(bad.code).toBe(1);
  }, 30_000);

  it('bad arguments to the program: exit 2', () => {
    const sc: ScenarioSpec = { name: 'a', family: 'test', processes: [{ pid: 1, setup: [anon(1, 0, 1)] }], threads: [{ name: 'T1', pid: 1, program: [load(1, 0)] }] };
    const bin = compile(generateRepro(cxOf(sc), generationVariant('v6.6')).c, 'args');
    expect(runC(bin, ['0']).code).toBe(2);
    expect(runC(bin, ['1', '2', '3']).code).toBe(2);
  }, 30_000);
});

describe('outcomes (the model side of the verdicts)', () => {
  it('a load racing UFFDIO_UNREGISTER always completes in the model (a hang is forbidden); without the unregister it may block', () => {
    const init = initialState({ processes: [{ pid: 1, vmas: [{ start: page(0), end: page(2), uffd: 'missing', pages: { [page(0)]: 1 } }] }] });
    const unreg = { op: 'uffd_unregister' as const, pid: 1, addr: page(0), len: 2 * PAGE };
    const o = enumerateOutcomes(registered([{ name: 'f', pid: 1, program: [load(1, 1)] }, { name: 'c', pid: 1, program: [unreg] }]), init);
    expect(o.complete).toBe(true);
    expect(o.ops[0]![0]!.mayBlockForever).toBe(false);
    expect([...o.ops[0]![0]!.results]).toEqual(['0']);
    const alone = enumerateOutcomes(registered([{ name: 'f', pid: 1, program: [load(1, 1)] }]), init);
    expect(alone.ops[0]![0]!.mayBlockForever).toBe(true);
    expect(alone.leaves).toBe(0);
  });

  it('with a monitor the blocked load is filled with its value', () => {
    const init = initialState({ processes: [{ pid: 1, vmas: [{ start: page(0), end: page(2), uffd: 'missing' }] }] });
    const sc: ScenarioSpec = { ...registered([{ name: 'f', pid: 1, program: [load(1, 1)] }]), daemons: [{ kind: 'uffd_handler', pid: 1, count: 1, value: 77 }] };
    const o = enumerateOutcomes(sc, init);
    expect([...o.ops[0]![0]!.results]).toEqual(['77']);
    expect(o.ops[0]![0]!.mayBlockForever).toBe(false);
  });

  it('the monitor reads a queued UFFD_EVENT_REMOVE with no access waiting: the madvise zaps, the final page is not judged', () => {
    // The real monitor polls all the time: madvise(MADV_DONTNEED) over a registered page returns
    // after the read and zaps, and the final read faults to the monitor's value.
    const init = initialState({ processes: [{ pid: 1, vmas: [{ start: page(0), end: page(2), uffd: 'missing', pages: { [page(0)]: 5 } }] }] });
    const sc: ScenarioSpec = { ...registered([{ name: 'T1', pid: 1, program: [madvise(1, 0, 1)] }]), daemons: [{ kind: 'uffd_handler', pid: 1, count: 1, value: 77 }] };
    const o = enumerateOutcomes(sc, init);
    expect(o.complete).toBe(true);
    expect(o.finalSkipped.has(`1:${page(0)}`)).toBe(true);
    expect(o.finalPages.has(`1:${page(0)}`)).toBe(false);
    // Without a monitor nothing reads the event: the page keeps its value in the model.
    const alone = enumerateOutcomes(registered([{ name: 'T1', pid: 1, program: [madvise(1, 0, 1)] }]), init);
    expect([...alone.finalPages.get(`1:${page(0)}`)!]).toEqual(['5']);
  });

  it('a munmap in flight: after its detach a load of the same process may still read the old page through a PTE not yet zapped; never a page nobody faulted in, never after a write-locked call, never after it returned', () => {
    // mm/mmap.c (v6.6) do_vmi_align_munmap: vma_iter_clear_gfp, mmap_write_downgrade, then
    // unmap_region. The real kernel gives madvise = -ENOMEM and then load = 1 (the open false
    // alarm of fastcheck-munmap-load-failed-uffd-register.json, 2-20% of iterations on 6.18).
    const init = initialState({ processes: [{ pid: 1, vmas: [{ start: page(0), end: page(4), pages: { [page(0)]: 1 } }] }] });
    const sc = (threads: ScenarioSpec['threads']): ScenarioSpec => ({ name: 'repro-test', family: 'test', processes: [{ pid: 1, setup: [] }], threads });
    const o = enumerateOutcomes(sc([{ name: 'T0', pid: 1, program: [madvise(1, 1, 1), load(1, 0), load(1, 2), store(1, 0, 9), load(1, 0)] }, { name: 'T1', pid: 1, program: [munmap(1, 0, 4)] }]), init);
    expect(o.complete).toBe(true);
    expect([...o.ops[0]![1]!.results].sort()).toEqual(['1', 'SIGSEGV']);
    // Page 2 was never faulted in: no PTE, so only the atomic outcomes (0 before, SIGSEGV after).
    expect([...o.ops[0]![2]!.results].sort()).toEqual(['0', 'SIGSEGV']);
    // A store through the stale PTE lands in the doomed page, and a stale load then reads it.
    expect([...o.ops[0]![3]!.results].sort()).toEqual(['SIGSEGV', 'ok']);
    expect([...o.ops[0]![4]!.results].sort()).toEqual(['1', '9', 'SIGSEGV']);
    // An mmap(MAP_FIXED) needs mmap_lock for writing: it waits for the munmap to return, so the
    // load after it never sees the old page.
    const w = enumerateOutcomes(sc([{ name: 'T0', pid: 1, program: [anon(1, 0, 1), load(1, 0)] }, { name: 'T1', pid: 1, program: [munmap(1, 0, 4)] }]), init);
    expect([...w.ops[0]![1]!.results].sort()).toEqual(['0', 'SIGSEGV']);
    // Once the munmap returned (same thread) the old page is gone.
    const seq = enumerateOutcomes(sc([{ name: 'T0', pid: 1, program: [munmap(1, 0, 4), load(1, 0)] }]), init);
    expect([...seq.ops[0]![1]!.results]).toEqual(['SIGSEGV']);
  });

  it('C strings and ranges', () => {
    expect(cString('a"b\\c\nd\te\u0001??=')).toBe('"a\\"b\\\\c\\nd\\te\\001\\?\\?="');
    expect(mergeRanges([[5, 8], [0, 2], [2, 4], [7, 9]])).toEqual([[0, 4], [5, 9]]);
  });
});

describe('faultline repro: bad input is one line, exit 2', () => {
  it('missing --c, a missing file, a malformed file, a bad number', async () => {
    const noC = await run(['repro', 'uffd-unregister-wake.json'], { cwd: REG, backend: defaultBackend });
    expect(noC.code).toBe(2);
    expect(noC.err).toMatch(/^faultline: repro: missing --c OUT\.c/);
    const missing = await run(['repro', 'nope.json', '--c', join(tmp, 'x.c')], { cwd: REG, backend: defaultBackend });
    expect(missing.code).toBe(2);
    expect(missing.err.trim().split('\n')).toHaveLength(1);
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{"format": "faultline-counterexample"}');
    const malformed = await run(['repro', bad, '--c', join(tmp, 'x.c')], { cwd: REG, backend: defaultBackend });
    expect(malformed.code).toBe(2);
    expect(malformed.err.trim().split('\n')).toHaveLength(1);
    const num = await run(['repro', 'uffd-unregister-wake.json', '--c', join(tmp, 'x.c'), '--iterations', 'many'], { cwd: REG, backend: defaultBackend });
    expect(num.code).toBe(2);
    expect(num.err).toMatch(/--iterations must be a positive integer/);
  });
});
