/**
 * The zoo mutant driver-needs-mmap-lock (impl/bugs/driver-needs-mmap-lock.ts) on its family driver-fault (a driver ->fault relying on mmap_lock runs under the VMA lock: mmap_assert_locked): found by the default
 * portfolio within a small budget and shrunk to ≤ 3 tasks, the base configuration clean on the same
 * budget, and test/regressions/driver-needs-mmap-lock.json replays the same violation.
 */
import { describe, expect, it } from 'vitest';
import { expectBaseClean, expectFound, expectReplays, mutant } from './harness.js';

const M = mutant('driver-needs-mmap-lock');

describe('driver-needs-mmap-lock', () => {
  it('is found by the default portfolio on driver-fault', () => {
    expect(M.scenario).toBe('driver-fault');
    expectFound(M, 2000, ['lockdep']);
  }, 60_000);

  it('the base configuration ' + M.base + ' passes driver-fault with the same budget', () => {
    expectBaseClean(M, 2000);
  }, 60_000);

  it('the kept counterexample replays the same violation', () => {
    expectReplays('test/regressions/driver-needs-mmap-lock.json', M);
  });
});
