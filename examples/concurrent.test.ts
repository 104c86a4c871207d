/**
 * Concurrent model-based tests, in the shape of fast-check's fc.scheduledModelRun: two threads of
 * one process, each a program of the model's commands, against ONE simulated mm, interleaved by
 * faultline's deterministic scheduler under a schedule drawn by fast-check. Every per-step
 * invariant and linearizability against the model judge the run. v6.6 passes; b8-fork (6.4's
 * dup_mmap without write-locking the parent's VMAs: a fault of the other thread maps a page while
 * fork copies the VMA) fails, with fast-check's seed and path and faultline's counterexample file.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { concurrent, scheduledModelRun, schedules } from 'faultline';

const v66 = concurrent({ variant: 'v6.6' });

test.prop([v66.programs(), schedules()], { seed: 1, numRuns: 40 })('v6.6: two threads against the model', (programs, schedule) => {
  scheduledModelRun(schedule, v66.setup, programs);
});

const counterexamples = mkdtempSync(join(tmpdir(), 'faultline-example-'));

describe('b8-fork (a mutant from the zoo)', () => {
  it('a fault racing fork: found with seed, path and a counterexample file', () => {
    const mm = concurrent({ variant: 'b8-fork', counterexamples });
    const property = fc.property(mm.programs(), schedules(), (programs, schedule) => {
      scheduledModelRun(schedule, mm.setup, programs);
    });
    let message = '';
    try {
      fc.assert(property, { seed: 1, numRuns: 300 });
    } catch (e) {
      const err = e as Error & { cause?: Error };
      message = `${err.message}\n${err.cause?.message ?? ''}`;
    }
    expect(message).toMatch(/\{ seed: 1, path: "[0-9:]+", endOnFailure: true \}/);
    expect(message).toMatch(/^fork-snapshot: /m);
    const file = /counterexample: (\S+\.json)/.exec(message)?.[1];
    expect(file).toBeDefined();
    expect(existsSync(file!)).toBe(true);
  }, 120_000);
});
