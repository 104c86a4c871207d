/**
 * The zoo mutant uffd-block-holding-vma-lock (impl/bugs/uffd-block-holding-vma-lock.ts) on its family uffd (fault ↔ monitor ↔ vma_start_write wait-for cycle): found by the default
 * portfolio within a small budget and shrunk to ≤ 3 tasks, the base configuration clean on the same
 * budget, and test/regressions/uffd-block-holding-vma-lock.json replays the same violation.
 */
import { describe, expect, it } from 'vitest';
import { expectBaseClean, expectFound, expectReplays, mutant } from './harness.js';

const M = mutant('uffd-block-holding-vma-lock');

describe('uffd-block-holding-vma-lock', () => {
  it('is found by the default portfolio on uffd', () => {
    expect(M.scenario).toBe('uffd');
    expectFound(M, 2000, ['deadlock']);
  }, 60_000);

  it('the base configuration ' + M.base + ' passes uffd with the same budget', () => {
    expectBaseClean(M, 2000);
  }, 60_000);

  it('the kept counterexample replays the same violation', () => {
    expectReplays('test/regressions/uffd-block-holding-vma-lock.json', M);
  });

  it('the deadlock is the wait-for cycle (not a fault left without its monitor)', () => {
    const r = expectReplays('test/regressions/uffd-block-holding-vma-lock.json', M);
    expect(r.violation!.message).toMatch(/wait-for cycle .*uffd_handler.*changer/);
  });
});
