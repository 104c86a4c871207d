/**
 * The article's proposals (impl/bugs/proposals.ts) as configurations: what the checker says of
 * each, on the families that exercise it, with the findings kept in test/regressions/.
 *
 *  - io-hold-vma-lock: clean (unmap-during-io, swapin-vs-writer).
 *  - smaps-rcu: UNSAFE — smaps under RCU alone reads VMAs nobody has locked: a line can be a VMA
 *    munmap has already cut off (test/regressions/smaps-rcu.json, linearizability).
 *  - lockless-fault: clean on first-touch-vs-unmap; on fork-vs-fault it trips I17 (fork-snapshot:
 *    a PTE installed in the parent VMA while dup_mmap copies it — the install is serialised before
 *    the table copy by the PTL, but dup_mmap's contract is that nothing changes during the copy).
 */
import { describe, expect, it } from 'vitest';
import { PROPOSALS } from '../../impl/bugs/proposals.js';
import type { Variant } from '../../impl/sim/variant.js';
import { campaign, expectReplays } from './harness.js';

const P = (name: string): Variant => PROPOSALS.find((p) => p.name === name)!;

describe('proposals', () => {
  it('io-hold-vma-lock passes unmap-during-io and swapin-vs-writer', () => {
    for (const family of ['unmap-during-io', 'swapin-vs-writer']) {
      const r = campaign(P('io-hold-vma-lock'), family, 300);
      expect(r.violations.map((v) => v.message)).toEqual([]);
    }
  }, 60_000);

  it('smaps-rcu is found unsafe on smaps-vs-split, and the kept counterexample replays', () => {
    const r = campaign(P('smaps-rcu'), 'smaps-vs-split', 300);
    expect(r.violations[0]?.property).toBe('linearizability');
    expectReplays('test/regressions/smaps-rcu.json', P('smaps-rcu'));
  }, 60_000);

  it('lockless-fault passes first-touch-vs-unmap (the race its re-check closes)', () => {
    const r = campaign(P('lockless-fault'), 'first-touch-vs-unmap', 400);
    expect(r.violations.map((v) => v.message)).toEqual([]);
  }, 60_000);

  it('lockless-fault trips I17 (fork-snapshot) on fork-vs-fault: the kept counterexample replays', () => {
    const r = expectReplays('test/regressions/lockless-fault.json', P('lockless-fault'));
    expect(r.violation!.property).toBe('fork-snapshot');
  });
});
