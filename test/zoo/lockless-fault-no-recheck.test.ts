/**
 * The zoo mutant lockless-fault-no-recheck (impl/bugs/lockless-fault-no-recheck.ts) on its family first-touch-vs-unmap: found by the portfolio,
 * the base configuration clean on the same budget, and test/regressions/lockless-fault-no-recheck.json replays.
 */
import { describe, expect, it } from 'vitest';
import { expectBaseClean, expectFound, expectReplays, mutant } from './harness.js';

const M = mutant('lockless-fault-no-recheck');

describe('lockless-fault-no-recheck', () => {
  it('is found by the default portfolio on first-touch-vs-unmap', () => {
    expectFound(M, 1000, ['pte-outside-vma', 'linearizability', 'final-state']);
  }, 60_000);

  it('the base configuration ' + M.base + ' passes first-touch-vs-unmap with the same budget', () => {
    expectBaseClean(M, 1000);
  }, 60_000);

  it('the kept counterexample replays the same violation', () => {
    expectReplays('test/regressions/lockless-fault-no-recheck.json', M);
    expect(M.scenario).toBe('first-touch-vs-unmap');
  });
});
