/**
 * The zoo mutant b22-uffd-copy-events (impl/bugs/b22-uffd-copy-events.ts) on its family uffd (a UFFDIO_COPY that ignores mmap_changing lands in the range an unread mremap event left): found by the default
 * portfolio within a small budget and shrunk to ≤ 3 tasks, the base configuration clean on the same
 * budget, and test/regressions/b22-uffd-copy-events.json replays the same violation.
 */
import { describe, expect, it } from 'vitest';
import { expectBaseClean, expectFound, expectReplays, mutant } from './harness.js';

const M = mutant('b22-uffd-copy-events');

describe('b22-uffd-copy-events', () => {
  it('is found by the default portfolio on uffd', () => {
    expect(M.scenario).toBe('uffd');
    expectFound(M, 2000, ['final-state', 'linearizability']);
  }, 60_000);

  it('the base configuration ' + M.base + ' passes uffd with the same budget', () => {
    expectBaseClean(M, 2000);
  }, 60_000);

  it('the kept counterexample replays the same violation', () => {
    expectReplays('test/regressions/b22-uffd-copy-events.json', M);
  });
});
