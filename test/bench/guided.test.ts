/** bench/guided.ts: the section runs on a small budget and returns its shape (no timing asserted). */
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../../impl/bugs/index.js';
import { benchGuided } from '../../bench/guided.js';

describe('bench/guided', () => {
  it('time to bug per strategy and family, and coverage per strategy', async () => {
    const m = MUTANTS.find((x) => x.name === 'b9-new-vma-visible')!;
    const r = await benchGuided({ mutants: [m], strategies: ['pct', 'guided'], seeds: 2, runs: 4, budgetMs: 4000, maxExecutions: 200 });
    expect(r.timeToBug.map((x) => [x.family, x.strategy])).toEqual([
      ['mmap-vs-fault', 'pct'], ['mmap-vs-fault', 'guided'], ['random', 'pct'], ['random', 'guided'],
    ]);
    for (const row of r.timeToBug.filter((x) => x.family === 'mmap-vs-fault')) expect(row.found).toBe(2);
    expect(r.coverage.map((x) => x.strategy)).toEqual(['pct', 'guided']);
    for (const c of r.coverage) {
      expect(c.labels).toBeGreaterThan(50);
      expect(c.switchPairs).toBeGreaterThan(0);
    }
  });
});
