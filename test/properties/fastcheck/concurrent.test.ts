/**
 * properties/fastcheck/concurrent.ts: threads of model commands against one simulated mm under a
 * schedule arbitrary (scheduledModelRun) — a zoo mutant found with the kernel-style report and a
 * counterexample file that replays, fast-check's seed and path reproducing it on the first run; a
 * correct generation passing; linearizability against the model judging the threads' results (a
 * variant whose munmap does nothing breaks no invariant); fast-check shrinking the commands and
 * faultline's shrinker the interleaving; preconditions per thread, and fc.commands values marked as run.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../impl/rt/task.js';
import {
  concurrent, concurrentScenario, defineVariant, FaultlineViolation, MmCommand, PROGRAM_OPS, scheduledModelRun, schedules, type Schedule,
} from '../../../properties/fastcheck/index.js';
import { parseCounterexample } from '../../../properties/counterexample.js';
import { resolveVariant } from '../../../properties/campaign.js';
import { runScenario } from '../../../properties/runner.js';
import { load, munmap, store, uffdRegister } from '../../../properties/scenarios/build.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-conc-'));

const countCommands = (programs: readonly (readonly unknown[])[]): number => programs.reduce((n, p) => n + p.length, 0);

describe('scheduledModelRun', () => {
  it('finds io-no-revalidate: kernel-style report, a counterexample file that replays, seed and path that reproduce it', () => {
    const mm = concurrent({ variant: 'io-no-revalidate', counterexamples: dir });
    const p = fc.property(mm.programs(), schedules(), (programs, schedule) => {
      scheduledModelRun(schedule, mm.setup, programs);
    });
    const r = fc.check(p, { seed: 1, numRuns: 300 });
    expect(r.failed).toBe(true);
    const v = r.errorInstance as FaultlineViolation;
    expect(v).toBeInstanceOf(FaultlineViolation);
    expect(v.message).toMatch(/mutant io-no-revalidate on v6\.7, scenario concurrent/);
    const file = /counterexample: (\S+\.json)/.exec(v.message)![1]!;
    expect(existsSync(file)).toBe(true);
    const cx = parseCounterexample(readFileSync(file, 'utf8'));
    expect(cx.mutant).toBe('io-no-revalidate');
    const again = runScenario({ variant: resolveVariant('io-no-revalidate'), scenario: cx.scenario, schedule: cx.schedule, strict: true });
    expect(again.status).toBe('violation');
    expect(again.violation?.property).toBe(v.property);

    // fast-check's seed and path re-run exactly that failure on the first run.
    const replay = fc.check(p, { seed: r.seed, path: r.counterexamplePath!, endOnFailure: true });
    expect(replay.failed).toBe(true);
    expect(replay.numRuns).toBe(1);
    expect((replay.errorInstance as FaultlineViolation).property).toBe(v.property);
    expect((replay.errorInstance as FaultlineViolation).finish().file).toBe(file);
  }, 120_000);

  it('v6.6 passes: threads of every operation the sequential tests draw, judged by every invariant and linearizability', () => {
    const mm = concurrent({ variant: 'v6.6', counterexamples: dir });
    const r = fc.check(fc.property(mm.programs({ threads: { min: 2, max: 3 } }), schedules(), (programs, schedule) => {
      const run = scheduledModelRun(schedule, mm.setup, programs);
      expect(run.status).toBe('pass');
      expect(run.threads.length).toBe(programs.length);
      expect(run.history.length).toBeGreaterThanOrEqual(countCommands(programs));
    }), { seed: 1, numRuns: 60 });
    expect(r.failed, r.failed ? String(r.errorInstance) : '').toBe(false);
  }, 120_000);

  it('linearizability against the model: a munmap that does nothing breaks no invariant, the threads’ results give it away', () => {
    const munmapDoesNothing = defineVariant({
      name: 'munmap-does-nothing', base: 'v6.6', description: 'munmap returns 0 and leaves the mapping',
      overrides: {
        __vm_munmap: function* (_start: number, _len: number, _unlock: boolean): Task<number> {
          yield '__vm_munmap';
          return 0;
        },
      },
    });
    // The default layout's anonymous region is pages 8..11; t0 unmaps it and reads it back, t1 writes elsewhere.
    const programs = [[new MmCommand(munmap(1, 8, 4)), new MmCommand(load(1, 9))], [new MmCommand(store(1, 13, 5))]];
    const schedule: Schedule = { strategy: 'random', seed: 1 };
    const mm = concurrent({ variant: munmapDoesNothing, counterexamples: dir });
    let err: unknown = null;
    try {
      scheduledModelRun(schedule, mm.setup, programs);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FaultlineViolation);
    expect((err as FaultlineViolation).property).toBe('linearizability');
    expect((err as FaultlineViolation).message).toMatch(/counterexample: \S+\.json/);
    // The same programs on v6.6 pass.
    const ok = scheduledModelRun(schedule, concurrent({ variant: 'v6.6' }).setup, programs);
    expect(ok.status).toBe('pass');
  }, 60_000);

  it('fast-check shrinks the commands, then faultline the interleaving (b8-fork: fork racing a fault, one preemption)', () => {
    const mm = concurrent({ variant: 'b8-fork', counterexamples: dir });
    const p = fc.property(mm.programs(), schedules(), (programs, schedule) => {
      scheduledModelRun(schedule, mm.setup, programs);
    });
    const found = fc.check(p, { seed: 1, numRuns: 300, endOnFailure: true });
    expect(found.failed).toBe(true);
    const shrunk = fc.check(p, { seed: 1, numRuns: 300 });
    expect(shrunk.failed).toBe(true);
    expect(shrunk.numShrinks).toBeGreaterThan(0);
    expect(countCommands(shrunk.counterexample![0])).toBeLessThan(countCommands(found.counterexample![0]));
    const v = shrunk.errorInstance as FaultlineViolation;
    expect(v.property).toBe('fork-snapshot');
    expect(v.found().run.preemptions).toBeGreaterThan(0);
    const done = v.finish();
    expect(done.report.status).toBe('violation');
    expect(done.report.preemptions).toBeLessThanOrEqual(v.found().run.preemptions);
  }, 120_000);

  it('preconditions per thread: a command the model cannot take running the thread alone is left out, and fc.commands marks the rest as run', () => {
    const mm = concurrent({ variant: 'v6.6', ops: PROGRAM_OPS });
    // The anonymous region's page 10 is missing: once t0 registers the range, its access waits for a
    // monitor that the model, running t0 alone, does not have.
    const t0 = [new MmCommand(uffdRegister(1, 8, 4)), new MmCommand(load(1, 10)), new MmCommand(store(1, 8, 2))];
    const t1 = [new MmCommand(load(1, 10))];
    const { scenario } = concurrentScenario(mm.setup, [t0, t1]);
    expect(scenario.threads.map((t) => t.program.map((o) => o.op))).toEqual([['uffd_register', 'store'], ['load']]);
    expect(scenario.daemons?.some((d) => d.kind === 'uffd_handler')).toBe(true);

    // fc.commands values: the commands kept are the ones marked as run (fast-check shrinks those).
    const some = [uffdRegister(1, 8, 4), load(1, 10), store(1, 9, 4)].map((op) => fc.constant(new MmCommand(op)));
    const values = fc.sample(fc.array(fc.commands(some, { maxCommands: 5 }), { minLength: 2, maxLength: 2 }), { seed: 4, numRuns: 20 });
    let kept = 0;
    let left = 0;
    for (const programs of values) {
      const { scenario: sc } = concurrentScenario(mm.setup, programs);
      programs.forEach((prog, i) => {
        const cmds = [...prog] as unknown as { hasRan: boolean; cmd: MmCommand }[];
        expect(sc.threads[i]!.program).toEqual(cmds.filter((c) => c.hasRan).map((c) => c.cmd.op));
        kept += cmds.filter((c) => c.hasRan).length;
        left += cmds.filter((c) => !c.hasRan).length;
      });
    }
    expect(kept).toBeGreaterThan(0);
    expect(left).toBeGreaterThan(0);
  }, 60_000);
});
