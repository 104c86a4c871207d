/**
 * b8-fork (impl/bugs/b8-fork.ts): dup_mmap without vma_start_write on the parent VMAs
 * (fb49c455323f reverted, Linux 6.4.0). A fault under the VMA lock changes a parent VMA while fork
 * copies it.
 *
 *   |--anon rw (3 pages)--|
 *   forker:  dup_mmap: snapshot VMA ·· anon_vma_fork ·· copy_page_range ·· check (I17)
 *   writer:             store → lock_vma_under_rcu (not write-locked!) → do_anonymous_page → set_pte_at
 *   end: a page appeared in the parent VMA mid-copy (fork-snapshot, I17)
 */
import { describe, expect, it } from 'vitest';
import { expectBaseClean, expectFoundShrunk, expectReplays, mutant } from './harness.js';

const M = mutant('b8-fork');

describe('b8-fork', () => {
  it('reverts fb49c455323f on v6.4 by overriding dup_mmap only', () => {
    expect(M.base).toBe('v6.4');
    expect(M.reverts).toMatch(/^fb49c455323f/);
    expect(Object.keys(M.overrides ?? {})).toEqual(['dup_mmap']);
    expect(M.scenario).toBe('fork-vs-fault');
  });

  it('is found by the default portfolio on fork-vs-fault, shrunk to ≤ 2 threads and ≤ 2 preemptions', () => {
    const v = expectFoundShrunk(M, 600, 'fork-snapshot', 2, 2);
    expect(v.message).toMatch(/while dup_mmap copied the VMA/);
  }, 60_000);

  it('the base configuration v6.4 passes fork-vs-fault with the same budget', () => {
    expectBaseClean(M, 600);
  }, 60_000);

  it('test/regressions/b8-fork.json replays the same violation', () => {
    expectReplays('test/regressions/b8-fork.json', M);
  });
});
