/**
 * The zoo mutant b17-swapin-aba (impl/bugs/b17-swapin-aba.ts) on its family swapin-aba: found by the portfolio,
 * the base configuration clean on the same budget, and test/regressions/b17-swapin-aba.json replays.
 */
import { describe, expect, it } from 'vitest';
import { expectBaseClean, expectFound, expectReplays, mutant } from './harness.js';

const M = mutant('b17-swapin-aba');

describe('b17-swapin-aba', () => {
  it('is found by the default portfolio on swapin-aba', () => {
    expectFound(M, 2000, ['final-state', 'linearizability']);
  }, 60_000);

  it('the base configuration ' + M.base + ' passes swapin-aba with the same budget', () => {
    expectBaseClean(M, 2000);
  }, 60_000);

  it('the kept counterexample replays the same violation', () => {
    expectReplays('test/regressions/b17-swapin-aba.json', M);
    expect(M.scenario).toBe('swapin-aba');
  });
});
