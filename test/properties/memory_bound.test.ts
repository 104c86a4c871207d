/**
 * Memory flat over a campaign: nothing of a run stays reachable after it (its kernel, its
 * execution), and what is kept across runs — the linearizability caches of
 * properties/linearizability/model_cache.ts — is bounded by a byte budget, dropped wholesale
 * when over it. (The acceptance run, a million executions in a 64 MB heap, is a deep test:
 * test/properties/memory_deep.test.ts; the figures come from `npm run bench -- --only=memory`.)
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { k } from '../../impl/sim/kernel.js';
import { generationVariant } from '../../impl/sim/variant.js';
import { RandomScheduler, mixSeed } from '../../impl/rt/schedulers/random.js';
import { runScenario } from '../../properties/runner.js';
import { runCampaign } from '../../properties/campaign.js';
import { FAMILIES } from '../../properties/scenarios/index.js';
import { clearLinearizabilityCaches } from '../../properties/linearizability/checker.js';
import {
  MODEL_CACHE_BYTES, VERDICT_CACHE_BYTES, cacheVerdict, cachedVerdict, clearModelCache, clearVerdicts, intern,
  modelCacheStats, trimModelCache,
} from '../../properties/linearizability/model_cache.js';
import type { MmState } from '../../model/state.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('memory: nothing of a run is reachable after it', () => {
  it('a finished run\'s kernel and execution are collected once the next run started', async () => {
    const v = generationVariant('v6.6');
    for (const fam of ['random', 'uffd', 'swapoff', 'smaps-vs-split', 'driver-fault']) {
      const scenario = FAMILIES.get(fam)!.generate(mixSeed(3, 0));
      runScenario({ variant: v, scenario, scheduler: new RandomScheduler(mixSeed(3, 1)) });
      const kernel = new WeakRef(k);
      const exec = new WeakRef(k.exec);
      const mm = new WeakRef([...k.procs.values()].find((p) => p.mm)?.mm ?? {});
      // The next runs replace the running kernel (impl/sim/kernel.ts `k`, one at a time).
      for (let i = 2; i < 6; i++) runScenario({ variant: v, scenario, scheduler: new RandomScheduler(mixSeed(3, i)) });
      await new Promise((r) => setTimeout(r, 0));
      gc();
      expect(kernel.deref(), `${fam}: the kernel of an earlier run is still reachable`).toBeUndefined();
      expect(exec.deref(), `${fam}: the execution of an earlier run is still reachable`).toBeUndefined();
      expect(mm.deref(), `${fam}: an mm of an earlier run is still reachable`).toBeUndefined();
    }
  });
});

describe('memory: the linearizability caches stay within their budgets', () => {
  it('the verdict cache is dropped once over VERDICT_CACHE_BYTES', () => {
    clearVerdicts();
    const key = (i: number) => `0/1000/1;${i},0,1,2,{"op":"load","pid":1,"addr":268435456}|{"kind":"value","value":${i}}`;
    let i = 0;
    while (modelCacheStats().verdictBytes < VERDICT_CACHE_BYTES) cacheVerdict(key(i++), { order: [i], steps: 1 });
    expect(cachedVerdict(key(0))).toEqual({ order: [1], steps: 1 });
    const drops = modelCacheStats().verdictDrops;
    trimModelCache();
    expect(modelCacheStats().verdicts).toBe(0);
    expect(modelCacheStats().verdictDrops).toBe(drops + 1);
    expect(cachedVerdict(key(0))).toBeUndefined();
  });

  it('the model cache is dropped once over MODEL_CACHE_BYTES, and a dropped node stays valid for its holder', () => {
    clearModelCache();
    const state = (i: number) => ({ processes: {}, files: {}, pad: 'x'.repeat(2000), i }) as unknown as MmState;
    const first = intern(state(0));
    let i = 1;
    while (modelCacheStats().estimatedBytes < MODEL_CACHE_BYTES) intern(state(i++));
    expect(intern(state(0))).toBe(first); // still interned
    trimModelCache();
    expect(modelCacheStats().states).toBe(0);
    expect(modelCacheStats().estimatedBytes).toBe(0);
    const again = intern(state(0));
    expect(again).not.toBe(first);
    expect(again.id).toBeGreaterThan(first.id); // ids are never reused
    expect(first.state).toEqual(state(0));
  });

  it('a campaign keeps its caches within budget (random family, 600 executions)', () => {
    clearLinearizabilityCaches();
    let over = 0;
    runCampaign({
      variant: generationVariant('v6.6'), family: 'random', strategy: 'portfolio', runs: 600, seed: 5, stopAtFirst: false, shrink: false,
      onProgress: () => {
        const s = modelCacheStats();
        // Between two searches a cache may exceed its budget by one search's worth at most.
        if (s.estimatedBytes > 2 * MODEL_CACHE_BYTES || s.verdictBytes > 2 * VERDICT_CACHE_BYTES) over++;
      },
    });
    expect(over).toBe(0);
    expect(modelCacheStats().states).toBeGreaterThan(0);
  });
});
