/**
 * bench section `memory` (opt-in: `npm run bench -- --only=memory`): the heap of a long campaign.
 * `faultline check --config v6.6 --scenario random` (portfolio, seed 1, no stop) for
 * FAULTLINE_MEMORY_RUNS executions (default 100,000), in this process; at each checkpoint (1k,
 * 2k, 5k, 10k, 20k, 50k, … and the end) the peak heap used and RSS so far (sampled every 500 executions,
 * without forcing a collection: what the process really needed) and the heap after a full
 * collection (what is kept). Flat means: the kept heap does not grow with the executions. Run it
 * under a small heap to see the bound hold: NODE_OPTIONS=--max-old-space-size=64.
 *   { runs, msPerExecution, checkpoints: [{ executions, peakHeapUsedMB, peakRssMB, keptHeapMB }],
 *     heapLimitMB, cache: modelCacheStats() }
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { performance } from 'node:perf_hooks';
import { generationVariant } from '../impl/sim/variant.js';
import { runCampaign } from '../properties/campaign.js';
import { clearLinearizabilityCaches } from '../properties/linearizability/checker.js';
import { modelCacheStats, type ModelCacheStats } from '../properties/linearizability/model_cache.js';

export interface MemoryCheckpoint {
  readonly executions: number;
  readonly peakHeapUsedMB: number;
  readonly peakRssMB: number;
  /** Heap used right after a full collection. */
  readonly keptHeapMB: number;
}

export interface MemorySection {
  readonly runs: number;
  readonly msPerExecution: number;
  readonly heapLimitMB: number;
  readonly checkpoints: MemoryCheckpoint[];
  readonly cache: ModelCacheStats;
}

const MB = (b: number): number => Math.round(b / 1e5) / 10;

export async function benchMemory(opts: { runs?: number; family?: string; config?: string } = {}): Promise<MemorySection> {
  const runs = opts.runs ?? Number(process.env.FAULTLINE_MEMORY_RUNS ?? 100_000);
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  clearLinearizabilityCaches();
  const checkpoints: MemoryCheckpoint[] = [];
  let peakHeap = 0;
  let peakRss = 0;
  const sample = (): void => {
    peakHeap = Math.max(peakHeap, getHeapStatistics().used_heap_size);
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  };
  const checkpoint = (n: number): void => {
    sample();
    gc();
    checkpoints.push({ executions: n, peakHeapUsedMB: MB(peakHeap), peakRssMB: MB(peakRss), keptHeapMB: MB(getHeapStatistics().used_heap_size) });
  };
  const t0 = performance.now();
  // Checkpoints 1k, 2k, 5k, 10k, 20k, 50k, …
  const series = [1, 2, 5];
  let step = 0;
  const at = (i: number): number => series[i % 3]! * 1000 * 10 ** Math.floor(i / 3);
  let next = at(step);
  const r = runCampaign({
    variant: generationVariant(opts.config ?? 'v6.6'), family: opts.family ?? 'random', strategy: 'portfolio', runs, seed: 1,
    stopAtFirst: false, shrink: false,
    onProgress: (n) => {
      if (n % 500 === 0) sample();
      if (n === next) {
        checkpoint(n);
        next = at(++step);
      }
    },
  });
  const ms = performance.now() - t0;
  if (checkpoints.at(-1)?.executions !== r.executions) checkpoint(r.executions);
  if (r.violations.length > 0) throw new Error(`memory campaign: ${r.violations[0]!.property}: ${r.violations[0]!.message}`);
  return {
    runs: r.executions,
    msPerExecution: Math.round((ms / r.executions) * 1000) / 1000,
    heapLimitMB: MB(getHeapStatistics().heap_size_limit),
    checkpoints,
    cache: modelCacheStats(),
  };
}
