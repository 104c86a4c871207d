/**
 * The zoo mutant smaps-no-mmap-lock (impl/bugs/smaps-no-mmap-lock.ts) on its family smaps-vs-munmap: found by the portfolio,
 * the base configuration clean on the same budget, and test/regressions/smaps-no-mmap-lock.json replays.
 */
import { describe, expect, it } from 'vitest';
import { expectBaseClean, expectFound, expectReplays, mutant } from './harness.js';

const M = mutant('smaps-no-mmap-lock');

describe('smaps-no-mmap-lock', () => {
  it('is found by the default portfolio on smaps-vs-munmap', () => {
    expectFound(M, 1000, ['kasan', 'linearizability']);
  }, 60_000);

  it('the base configuration ' + M.base + ' passes smaps-vs-munmap with the same budget', () => {
    expectBaseClean(M, 1000);
  }, 60_000);

  it('the kept counterexample replays the same violation', () => {
    expectReplays('test/regressions/smaps-no-mmap-lock.json', M);
    expect(M.scenario).toBe('smaps-vs-munmap');
  });
});
