/**
 * The zoo mutant b26-uffd-vm-flags (impl/bugs/b26-uffd-vm-flags.ts) on its family uffd (a fault sees the uffd flags but a NULL context: SIGBUS): found by the default
 * portfolio within a small budget and shrunk to ≤ 3 tasks, the base configuration clean on the same
 * budget, and test/regressions/b26-uffd-vm-flags.json replays the same violation.
 */
import { describe, expect, it } from 'vitest';
import { expectBaseClean, expectFound, expectReplays, mutant } from './harness.js';

const M = mutant('b26-uffd-vm-flags');

describe('b26-uffd-vm-flags', () => {
  it('is found by the default portfolio on uffd', () => {
    expect(M.scenario).toBe('uffd');
    expectFound(M, 2000, ['linearizability']);
  }, 60_000);

  it('the base configuration ' + M.base + ' passes uffd with the same budget', () => {
    expectBaseClean(M, 2000);
  }, 60_000);

  it('the kept counterexample replays the same violation', () => {
    expectReplays('test/regressions/b26-uffd-vm-flags.json', M);
  });
});
