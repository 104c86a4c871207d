/**
 * b6-stackrot (impl/bugs/b6-stackrot.ts): StackRot, CVE-2023-3269 — stack growth under
 * mmap_read_lock replaces a maple node a read-locked find_vma_prev still walks.
 *
 *   |  grow here  |--stack (GROWSDOWN)--|
 *   grower2: mmap_read_lock; find_vma_prev: walk(node N) ······················ mas_prev(N) → KASAN
 *   grower1: mmap_read_lock; expand_downwards → mas_store_prealloc → call_rcu(N)
 *   rcu_gp_kthread:                                          ma_free_rcu(N)
 */
import { describe, expect, it } from 'vitest';
import { expectBaseClean, expectFoundShrunk, expectReplays, mutant } from './harness.js';

const M = mutant('b6-stackrot');

describe('b6-stackrot', () => {
  it('reverts 9471f1f2f502 on v6.3 by growing the stack under the read lock', () => {
    expect(M.base).toBe('v6.3');
    expect(M.reverts).toBe('9471f1f2f502');
    expect(M.cfg.expand_stack_lock).toBe('read');
    expect(M.scenario).toBe('stack-rot');
  });

  it('is found by the default portfolio on stack-rot, shrunk to 2 threads and 1 preemption', () => {
    const v = expectFoundShrunk(M, 300, 'kasan', 2, 2);
    expect(v.message).toMatch(/slab-use-after-free in (mas_prev|find_vma_prev): read of maple_node object freed at ma_free_rcu/);
  }, 60_000);

  it('the base configuration v6.3 (stack growth under mmap_write_lock) passes stack-rot with the same budget', () => {
    expectBaseClean(M, 300);
  }, 60_000);

  it('test/regressions/b6-stackrot.json replays the same use-after-free', () => {
    const r = expectReplays('test/regressions/b6-stackrot.json', M);
    expect(r.violation!.property).toBe('kasan');
    expect(r.violation!.report.join('\n')).toMatch(/call_rcu from ma_free_rcu/);
  });
});
