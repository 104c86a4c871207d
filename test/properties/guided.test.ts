/**
 * Communication-guided campaigns (properties/guided.ts): the learner finds the steps on objects two
 * actors touch, and only those; a guided campaign finds a zoo mutant and passes the correct
 * generation.
 */
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../impl/rt/trace.js';
import { MUTANTS } from '../../impl/bugs/index.js';
import { resolveVariant, runCampaign } from '../../properties/campaign.js';
import { communicationSteps, innermostLock, profileScenario, soloScenario } from '../../properties/guided.js';
import { FAMILIES } from '../../properties/scenarios/index.js';

const ev = (task: number, label: string, obj = '', held = ''): TraceEvent => ({ step: 0, task, label, obj, held, blocked: false });

describe('the learner', () => {
  const names = ['setup', 'A', 'kd'];
  it('a step is a communication step when another actor touches its object', () => {
    const soloA = { taskNames: names, trace: [ev(0, 'setup_step', 'vma#2'), ev(1, 'fault:read', 'vma#2'), ev(1, 'fault:own', 'folio#9'), ev(2, 'kd:scan', 'folio#9')] };
    const soloB = { taskNames: ['setup', 'B', 'kd'], trace: [ev(0, 'setup_step', 'vma#2'), ev(1, 'munmap:write', 'vma#2'), ev(1, 'munmap:new', 'folio#9')] };
    const p = communicationSteps([soloA, soloB]);
    // vma#2 existed before the threads (the setup named it): A and B share it across their runs.
    expect(p.hot.has('fault:read@vma#')).toBe(true);
    expect(p.hot.has('munmap:write@vma#')).toBe(true);
    // folio#9 was made in A's run, where the daemon touched it too; B's folio#9 is another folio.
    expect(p.hot.has('fault:own@folio#')).toBe(true);
    expect(p.hot.has('kd:scan@folio#')).toBe(true);
    expect(p.hot.has('munmap:new@folio#')).toBe(false);
    expect(p.hot.has('setup_step@vma#')).toBe(false);
  });
  it('an object touched by one actor only is not communication', () => {
    const p = communicationSteps([{ taskNames: names, trace: [ev(1, 'a:x', 'mm(1)'), ev(1, 'a:y', 'mm(1)')] }]);
    expect(p.hot.size).toBe(0);
  });
  it('a step that names no object stands for its innermost lock', () => {
    expect(innermostLock('mm(1)->mmap_lock(R) ptl(pte_table#4) rcu')).toBe('ptl(pte_table#4)');
    expect(innermostLock('mm(1)->mmap_lock(R) rcu')).toBe('mm(1)->mmap_lock');
    expect(innermostLock('rcu')).toBe('');
    const p = communicationSteps([
      { taskNames: ['setup', 'A'], trace: [ev(0, 's', 'ptl(pte_table#4)'), ev(1, 'move_ptes:ptep_get', '', 'mm(1)->mmap_lock ptl(pte_table#4)')] },
      { taskNames: ['setup', 'B'], trace: [ev(0, 's', 'ptl(pte_table#4)'), ev(1, 'spin_lock', 'ptl(pte_table#4)', 'mm(1)->mmap_lock(R)')] },
    ]);
    expect([...p.hot].sort()).toEqual(['move_ptes:ptep_get@', 'spin_lock@ptl(pte_table#)']);
  });
  it('profiles each user thread alone, with the daemons', () => {
    const sc = FAMILIES.get('swapin-vs-writer')!.generate(3);
    expect(soloScenario(sc, 1).threads).toEqual([sc.threads[1]]);
    expect(soloScenario(sc, 1).daemons).toEqual(sc.daemons);
    const { runs, profile } = profileScenario(resolveVariant('v6.6'), sc);
    expect(runs).toHaveLength(sc.threads.length);
    for (const r of runs) expect(r.report.status).toBe('pass');
    expect(profile.hot.size).toBeGreaterThan(0);
    expect(profile.hotSteps).toBeLessThan(profile.steps);
  });
});

describe('the guided strategy', () => {
  it('finds b17-swapin-aba on its family, counting the profiling runs', () => {
    const m = MUTANTS.find((x) => x.name === 'b17-swapin-aba')!;
    const r = runCampaign({ variant: m, family: 'swapin-aba', strategy: 'guided', runs: 2000, seed: 1, shrink: false });
    expect(r.violations.map((v) => v.property)).toHaveLength(1);
    expect(r.executions).toBe(r.violations[0]!.executionsToFind);
  });
  it('passes v6.6 on every family', () => {
    for (const family of FAMILIES.keys()) {
      const r = runCampaign({ variant: resolveVariant('v6.6'), family, strategy: 'guided', runs: 40, seed: 2, shrink: false });
      expect(r.violations.map((v) => `${family}: ${v.message}`)).toEqual([]);
      expect(r.executions).toBe(40);
    }
  });
});
