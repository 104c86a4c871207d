/**
 * b9-new-vma-visible (impl/bugs/b9-new-vma-visible.ts): mmap_region stores the new VMA in the tree
 * without write-locking it (33313a747e81) and then modifies it.
 *
 *   (empty)   |--new mapping--|
 *   mapper:  mmap_region: vma_iter_store(V) → vma_link_file(V) → vma_set_page_prot(V): V visible, not write-locked
 *   faulter: (a fault under the VMA lock could use V now; the I2 assertion fires first)
 */
import { describe, expect, it } from 'vitest';
import { expectBaseClean, expectFoundShrunk, expectReplays, mutant } from './harness.js';

const M = mutant('b9-new-vma-visible');

describe('b9-new-vma-visible', () => {
  it('reverts 33313a747e81 on v6.6 by overriding mmap_region only', () => {
    expect(M.base).toBe('v6.6');
    expect(M.reverts).toBe('33313a747e81');
    expect(Object.keys(M.overrides ?? {})).toEqual(['mmap_region']);
    expect(M.scenario).toBe('mmap-vs-fault');
  });

  it('is found by the default portfolio on mmap-vs-fault: the unlocked modification of a visible VMA (I2)', () => {
    const v = expectFoundShrunk(M, 50, 'VM_BUG_ON', 1, 0);
    expect(v.message).toMatch(/vma_assert_write_locked/);
    expect(v.report.trace!.some((e) => e.label === 'mas_store_prealloc:rcu_assign_pointer')).toBe(true);
  }, 60_000);

  it('the base configuration v6.6 passes mmap-vs-fault with the same budget', () => {
    expectBaseClean(M, 50);
  }, 60_000);

  it('test/regressions/b9-new-vma-visible.json replays the same assertion', () => {
    const r = expectReplays('test/regressions/b9-new-vma-visible.json', M);
    expect(r.violation!.property).toBe('VM_BUG_ON');
  });
});
