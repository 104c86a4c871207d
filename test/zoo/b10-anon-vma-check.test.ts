/**
 * b10-anon-vma-check (impl/bugs/b10-anon-vma-check.ts): lock_vma_under_rcu checks vma->anon_vma
 * before vma_start_read (657b5146955e reverted).
 *
 *   |--anon A (page 0 populated)--|
 *   faulter: lock_vma_under_rcu: mas_walk → A; A->anon_vma != NULL ··········· vma_start_read(A) → anon_vma_prepare
 *   mover:                               mremap(A, DONTUNMAP): unlink_anon_vmas(A)           → find_mergeable_anon_vma
 *                                                                                              without mmap_lock
 */
import { describe, expect, it } from 'vitest';
import { expectBaseClean, expectFoundShrunk, expectReplays, mutant } from './harness.js';

const M = mutant('b10-anon-vma-check');

describe('b10-anon-vma-check', () => {
  it('reverts 657b5146955e on v6.4 with the configuration flag', () => {
    expect(M.base).toBe('v6.4');
    expect(M.reverts).toBe('657b5146955e');
    expect(M.cfg.vma_lock_anon_vma_check).toBe('before-lock');
    expect(M.scenario).toBe('mremap-dontunmap-vs-fault');
  });

  it('is found by the default portfolio on mremap-dontunmap-vs-fault, shrunk to 2 threads and ≤ 2 preemptions', () => {
    const v = expectFoundShrunk(M, 600, 'lockdep', 2, 2);
    expect(v.message).toMatch(/mmap_assert_locked/);
  }, 60_000);

  it('the base configuration v6.4 (check after vma_start_read) passes mremap-dontunmap-vs-fault with the same budget', () => {
    expectBaseClean(M, 600);
  }, 60_000);

  it('test/regressions/b10-anon-vma-check.json replays the same assertion', () => {
    const r = expectReplays('test/regressions/b10-anon-vma-check.json', M);
    expect(r.violation!.property).toBe('lockdep');
  });
});
