/**
 * properties/fastcheck: the property constructor through fc.assert — a failure prints fast-check's
 * seed and path, and passing them back re-runs exactly that failure on the first run (the same
 * violation, the same counterexample file byte for byte); the file replays strictly; fast-check
 * shrinks the workload and faultline's schedule shrinker then shrinks the interleaving.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRun, family, FaultlineViolation, mmProperty, switchSchedules, workload, type Schedule } from '../../../properties/fastcheck/index.js';
import { parseCounterexample } from '../../../properties/counterexample.js';
import { runScenario } from '../../../properties/runner.js';
import { resolveVariant } from '../../../properties/campaign.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-fc-'));

function failureOf(f: () => void): Error & { cause?: unknown } {
  try {
    f();
  } catch (e) {
    return e as Error & { cause?: unknown };
  }
  throw new Error('expected fc.assert to fail');
}

describe('mmProperty', () => {
  const p = mmProperty({ variant: 'io-no-revalidate', workload: family('unmap-during-io'), counterexamples: dir });

  it('prints seed and path; fc.assert with them reproduces the same violation on the first run', () => {
    const err = failureOf(() => fc.assert(p, { seed: 11, numRuns: 500 }));
    const m = /\{ seed: (-?\d+), path: "([0-9:]+)", endOnFailure: true \}/.exec(err.message);
    expect(m).not.toBeNull();
    const cause = err.cause as FaultlineViolation;
    expect(cause).toBeInstanceOf(FaultlineViolation);
    expect(cause.message).toMatch(/^pte-outside-vma: /);
    const file = /counterexample: (\S+\.json)/.exec(cause.message)![1]!;
    const bytes = readFileSync(file, 'utf8');

    // Replay: the printed seed and path, back to fast-check.
    const again = fc.check(p, { seed: Number(m![1]), path: m![2]!, endOnFailure: true });
    expect(again.failed).toBe(true);
    expect(again.numRuns).toBe(1);
    const cause2 = again.errorInstance as FaultlineViolation;
    expect(cause2.property).toBe(cause.property);
    expect(cause2.finish().file).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(bytes);

    // The counterexample file replays strictly (as `faultline replay` runs it).
    const cx = parseCounterexample(bytes);
    expect(cx.mutant).toBe('io-no-revalidate');
    const r = runScenario({ variant: resolveVariant(cx.mutant!), scenario: cx.scenario, schedule: cx.schedule, strict: true });
    expect(r.status).toBe('violation');
    expect(r.violation?.property).toBe('pte-outside-vma');
  }, 120_000);

  it('the base configuration passes the same property', () => {
    const base = fc.check(mmProperty({ variant: 'v6.7', workload: family('unmap-during-io'), counterexamples: dir }), { seed: 11, numRuns: 30 });
    expect(base.failed).toBe(false);
  }, 120_000);

  it('fast-check shrinks the workload, then the schedule shrinker the interleaving', () => {
    // b9-new-vma-visible (the new VMA inserted before it is write-locked) under the general generator.
    const r = fc.check(mmProperty({ variant: 'b9-new-vma-visible', workload: workload(), counterexamples: dir }), { seed: 1, numRuns: 100 });
    expect(r.failed).toBe(true);
    expect(r.numShrinks).toBeGreaterThan(0);
    const v = r.errorInstance as FaultlineViolation;
    expect(v.property).toBe('VM_BUG_ON');
    const [first] = r.counterexample!;
    expect(first.threads.length).toBeLessThanOrEqual(2);
    const done = v.finish();
    expect(done.report.status).toBe('violation');
    expect(done.report.preemptions).toBeLessThanOrEqual(v.found().run.preemptions);
    expect(done.counterexample.violation.property).toBe('VM_BUG_ON');
  }, 120_000);

  it('switch schedules shrink with the workload (toward fewer preemptions)', () => {
    const r = fc.check(fc.property(family('unmap-during-io'), switchSchedules({ maxSwitches: 8 }), checkRun('io-no-revalidate', { counterexamples: dir })), { seed: 3, numRuns: 1000 });
    expect(r.failed).toBe(true);
    const s = r.counterexample![1] as Schedule;
    expect(s.strategy).toBe('replay');
    expect((r.errorInstance as FaultlineViolation).message).toMatch(/counterexample: /);
  }, 120_000);

  it('a variant object, with its file recorded for replay', () => {
    const run = checkRun({ default: resolveVariant('io-no-revalidate') }, { counterexamples: dir, variantFile: 'impl/bugs/io-no-revalidate.ts' });
    const r = fc.check(fc.property(family('unmap-during-io'), switchSchedules(), run), { seed: 3, numRuns: 1000 });
    expect(r.failed).toBe(true);
    const done = (r.errorInstance as FaultlineViolation).finish();
    expect(done.counterexample.mutant).toBe('io-no-revalidate');
    expect(done.counterexample.variantFile).toBe('impl/bugs/io-no-revalidate.ts');
  }, 120_000);
});
