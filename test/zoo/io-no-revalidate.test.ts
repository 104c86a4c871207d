/**
 * The zoo mutant io-no-revalidate (impl/bugs/io-no-revalidate.ts) on its family unmap-during-io: found by the portfolio,
 * the base configuration clean on the same budget, and test/regressions/io-no-revalidate.json replays.
 */
import { describe, expect, it } from 'vitest';
import { expectBaseClean, expectFound, expectReplays, mutant } from './harness.js';

const M = mutant('io-no-revalidate');

describe('io-no-revalidate', () => {
  it('is found by the default portfolio on unmap-during-io', () => {
    expectFound(M, 400, ['pte-outside-vma']);
  }, 60_000);

  it('the base configuration ' + M.base + ' passes unmap-during-io with the same budget', () => {
    expectBaseClean(M, 400);
  }, 60_000);

  it('the kept counterexample replays the same violation', () => {
    expectReplays('test/regressions/io-no-revalidate.json', M);
    expect(M.scenario).toBe('unmap-during-io');
  });
});
