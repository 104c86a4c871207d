/**
 * The exhaustive search split into subtrees (properties/explore_split.ts, explore --split D): the
 * prefixes partition the search tree, the plain DFS split is the unsplit DFS run in pieces (the
 * same executions, the same first violations, counted from the start), and the reduced searches
 * split find what they find unsplit, and cover the space, on the zoo's mutants and on correct
 * generations.
 */
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../../impl/bugs/index.js';
import { generationVariant, type Variant } from '../../impl/sim/variant.js';
import { mixSeed } from '../../impl/rt/schedulers/random.js';
import { formatPrefix, parsePrefix } from '../../impl/rt/schedulers/subtrees.js';
import { FAMILIES } from '../../properties/scenarios/index.js';
import { exploreScenario, type ExploreReduction } from '../../properties/explore.js';
import { exploreSplit, exploreSubtrees, foldSubtrees } from '../../properties/explore_split.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';

function scenarioOf(family: string): ScenarioSpec {
  return FAMILIES.get(family)!.generate(mixSeed(1, 0));
}

const mutant = (name: string): Variant => MUTANTS.find((m) => m.name === name)!;

function both(variant: Variant, family: string, bound: number, reduction: ExploreReduction, depth: number) {
  const scenario = scenarioOf(family);
  const one = exploreScenario({ variant, scenario, preemptions: bound, reduction, traceViolations: false });
  const split = exploreSplit({ variant, scenario, preemptions: bound, reduction, traceViolations: false, depth });
  return { one, split };
}

describe('subtrees: the prefixes of the first D branching decisions', () => {
  it('depth 0 is the whole tree; deeper, distinct prefixes none of which extends another, each within the bound', () => {
    const m = mutant('b8-fork');
    const sc = scenarioOf('fork-vs-fault');
    expect(exploreSubtrees(m, sc, 1, 0)).toEqual([{ prefix: [], preemptions: 0 }]);
    for (const reduction of ['none', 'dpor'] as const) {
      for (const [bound, depth] of [[0, 2], [1, 2], [1, 3]] as const) {
        const subs = exploreSubtrees(m, sc, bound, depth, reduction);
        expect(subs.length, `${reduction} bound ${bound} depth ${depth}`).toBeGreaterThan(1);
        const texts = subs.map((s) => formatPrefix(s.prefix));
        expect(new Set(texts).size).toBe(texts.length);
        for (const a of texts) for (const b of texts) if (a !== b) expect(b.startsWith(a + ' ')).toBe(false);
        for (const s of subs) {
          expect(s.preemptions).toBeLessThanOrEqual(bound);
          expect(parsePrefix(formatPrefix(s.prefix))).toEqual(s.prefix);
        }
      }
    }
  });
});

describe('the plain DFS split is the unsplit DFS in pieces', () => {
  for (const [name, family, bound] of [['b9-new-vma-visible', 'mmap-vs-fault', 1], ['b8-fork', 'fork-vs-fault', 0]] as const) {
    for (const depth of [1, 3]) {
      it(`${name}, bound ${bound}, depth ${depth}: the same executions and first violations, counted from the start`, () => {
        const { one, split } = both(mutant(name), family, bound, 'none', depth);
        expect(one.complete).toBe(true);
        expect(split.complete).toBe(true);
        expect(split.subtrees).toBeGreaterThan(1);
        expect(split.executions).toBe(one.executions);
        const key = (vs: typeof one.violations) => vs.map((v) => [v.property, v.executionsToFind, v.report.schedule]);
        expect(key(split.violations)).toEqual(key(one.violations));
      });
    }
  }
});

describe('the reduced searches split find what they find unsplit, and cover the space', () => {
  // Every mutant whose family's search finishes in plain npm test at bound 0 (not uffd, as in explore.test.ts).
  for (const m of MUTANTS) {
    if (m.scenario === 'uffd') continue;
    it(`${m.name} (${m.scenario}), bound 0, dpor, depth 2`, () => {
      const { one, split } = both(m, m.scenario!, 0, 'dpor', 2);
      expect(split.complete).toBe(true);
      expect(split.violations.map((v) => v.property).sort()).toEqual(one.violations.map((v) => v.property).sort());
      expect(split.executions).toBeGreaterThanOrEqual(one.executions);
    });
  }

  for (const reduction of ['dpor', 'cache'] as const) {
    it(`b9-new-vma-visible (mmap-vs-fault), bound 1, ${reduction}, depth 2`, () => {
      const { one, split } = both(mutant('b9-new-vma-visible'), 'mmap-vs-fault', 1, reduction, 2);
      expect(one.violations.length).toBeGreaterThan(0);
      expect(split.complete).toBe(true);
      expect(split.subtrees).toBeGreaterThan(1);
      expect(split.violations.map((v) => v.property).sort()).toEqual(one.violations.map((v) => v.property).sort());
    });
  }

  it('b8-fork (fork-vs-fault), bound 1, dpor, depth 2: the violation the unsplit search needs a preemption for', () => {
    const { one, split } = both(mutant('b8-fork'), 'fork-vs-fault', 1, 'dpor', 2);
    expect(one.violations.map((v) => v.property)).toEqual(['fork-snapshot']);
    expect(split.complete).toBe(true);
    expect(split.violations.map((v) => v.property)).toEqual(['fork-snapshot']);
  });

  for (const [gen, family, bound] of [['v6.4', 'mbind-vs-fault', 1], ['v6.15', 'fork-vs-fault', 0]] as const) {
    it(`${gen} ${family}, bound ${bound}, dpor, depth 2: covered, nothing found`, () => {
      const { one, split } = both(generationVariant(gen), family, bound, 'dpor', 2);
      expect(one.complete).toBe(true);
      expect(split.complete).toBe(true);
      expect(split.violations).toEqual([]);
      expect(split.unknown).toBe(0);
    });
  }
});

describe('the fold of subtrees', () => {
  const part = (executions: number, violations: { property: string; executionsToFind: number }[] = [], complete = true) => ({
    executions, judged: executions, steps: 10 * executions, prunedByReduction: 1, prunedByBound: 0, prunedByCache: 0, states: 5, complete, unknown: 0, violations,
  });
  it('the first violation of each property is the earliest subtree\'s, counted from the start; a missing subtree leaves the space uncovered', () => {
    const f = foldSubtrees([part(3), part(4, [{ property: 'a', executionsToFind: 2 }]), part(5, [{ property: 'a', executionsToFind: 1 }, { property: 'b', executionsToFind: 5 }])],
      (v, e) => ({ ...v, executionsToFind: e }));
    expect(f.violations).toEqual([{ property: 'a', executionsToFind: 5 }, { property: 'b', executionsToFind: 12 }]);
    expect(f).toMatchObject({ executions: 12, steps: 120, prunedByReduction: 3, states: 15, complete: true });
    expect(foldSubtrees([part(1), undefined], (v) => v).complete).toBe(false);
    expect(foldSubtrees([part(1), part(1, [], false)], (v) => v).complete).toBe(false);
  });
});
