/**
 * "Memory flat over a campaign" in a small heap (npm run test:deep only): `faultline check --config
 * v6.6 --scenario random` on every core (--jobs = the machine's cores, each worker thread an isolate
 * of its own under the same 64 MB limit) completes with NODE_OPTIONS=--max-old-space-size=64.
 *
 * Its size: FAULTLINE_MEMORY_RUNS executions, by default 50,000 per core — each worker runs about
 * 50,000, above the 30,000 that did not fit in 60 MB before the linearizability caches were bounded,
 * and the wall time stays about five minutes whatever the core count (the random family is the
 * general generator, about 6 ms of CPU per execution on v6.6). The million-execution run is a
 * separate acceptance run, not part of test:deep (well over an hour on 2 cores):
 *   NODE_OPTIONS=--max-old-space-size=64 npx faultline check --config v6.6 --scenario random --runs 1000000
 * and its heap figures come from `npm run bench -- --only=memory` (test/properties/memory_bound.test.ts
 * has the fast checks).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DEEP = !!process.env.FAULTLINE_DEEP;
const JOBS = availableParallelism();
const RUNS_PER_CORE = 50_000;
const RUNS = memoryRuns(process.env.FAULTLINE_MEMORY_RUNS);

function memoryRuns(env: string | undefined): number {
  if (env === undefined || env === '') return RUNS_PER_CORE * JOBS;
  const n = Number(env);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`FAULTLINE_MEMORY_RUNS=${env}: a positive integer`);
  return n;
}

describe('memory: a long campaign in a small heap', () => {
  it.skipIf(!DEEP)(`faultline check --config v6.6 --scenario random --runs ${RUNS} --jobs ${JOBS} completes with --max-old-space-size=64`, () => {
    const bin = join(import.meta.dirname, '..', '..', 'cli', 'bin.js');
    const r = spawnSync(process.execPath, [bin, 'check', '--config', 'v6.6', '--scenario', 'random', '--runs', String(RUNS), '--jobs', String(JOBS), '--json'], {
      cwd: mkdtempSync(join(tmpdir(), 'faultline-memory-')),
      env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=64' },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(r.stderr.split('\n').filter((l) => /heap|out of memory|FATAL/i.test(l)), 'the heap ran out').toEqual([]);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { executions: number; violations: unknown[] };
    expect(j.executions).toBe(RUNS);
    expect(j.violations).toEqual([]);
  }, 6 * 3_600_000); // FAULTLINE_MEMORY_RUNS may ask for hours: above the deep default of one
});
