/**
 * The zoo mutant b14-mempolicy (impl/bugs/b14-mempolicy.ts) on its family mbind-vs-fault (a fault allocating under the VMA lock uses the policy mbind freed: KASAN): found by the default
 * portfolio within a small budget and shrunk to ≤ 3 tasks, the base configuration clean on the same
 * budget, and test/regressions/b14-mempolicy.json replays the same violation.
 */
import { describe, expect, it } from 'vitest';
import { expectBaseClean, expectFound, expectReplays, mutant } from './harness.js';

const M = mutant('b14-mempolicy');

describe('b14-mempolicy', () => {
  it('is found by the default portfolio on mbind-vs-fault', () => {
    expect(M.scenario).toBe('mbind-vs-fault');
    expectFound(M, 2000, ['kasan']);
  }, 60_000);

  it('the base configuration ' + M.base + ' passes mbind-vs-fault with the same budget', () => {
    expectBaseClean(M, 2000);
  }, 60_000);

  it('the kept counterexample replays the same violation', () => {
    expectReplays('test/regressions/b14-mempolicy.json', M);
  });
});
