/**
 * b7-stack-expansion (impl/bugs/b7-stack-expansion.ts): expand_downwards without vma_start_write
 * (c137381f71ae) grows a stack VMA while a fault holds its VMA read lock.
 *
 *   |  grow here  |--stack S (GROWSDOWN): page 7 populated, fault at 8 or 9--|
 *   grower:  fault below S → mmap_write_lock → expand_downwards: S->vm_start = addr ·· S->vm_pgoff -= grow
 *   faulter:                     lock_vma_under_rcu(S) → do_anonymous_page: linear_page_index(S) (torn)
 *   end: the page's index is not where rmap_walk_anon looks (rmap-incomplete)
 */
import { describe, expect, it } from 'vitest';
import { expectBaseClean, expectFoundShrunk, expectReplays, mutant } from './harness.js';

const M = mutant('b7-stack-expansion');

describe('b7-stack-expansion', () => {
  it('reverts c137381f71ae on v6.4 by overriding expand_downwards only', () => {
    expect(M.base).toBe('v6.4');
    expect(M.reverts).toBe('c137381f71ae');
    expect(Object.keys(M.overrides ?? {})).toEqual(['expand_downwards']);
    expect(M.scenario).toBe('stack-expansion-vs-fault');
  });

  it('is found by the default portfolio on stack-expansion-vs-fault, shrunk to 2 threads and ≤ 2 preemptions', () => {
    const v = expectFoundShrunk(M, 300, 'rmap-incomplete', 2, 2);
    expect(v.message).toMatch(/not linear_page_index/);
  }, 60_000);

  it('the base configuration v6.4 (vma_start_write before growing) passes stack-expansion-vs-fault with the same budget', () => {
    expectBaseClean(M, 300);
  }, 60_000);

  it('test/regressions/b7-stack-expansion.json replays the same rmap violation', () => {
    const r = expectReplays('test/regressions/b7-stack-expansion.json', M);
    expect(r.violation!.property).toBe('rmap-incomplete');
  });
});
