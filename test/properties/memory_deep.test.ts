/**
 * The acceptance run of "memory flat over a campaign" (npm run test:deep only; long: the random
 * family is the general generator, about 5 ms of CPU per execution on v6.6, so well over an hour
 * on an idle core — FAULTLINE_MEMORY_RUNS=N runs fewer): a million executions of the random family
 * on v6.6 complete in a 64 MB heap —
 *   NODE_OPTIONS=--max-old-space-size=64 npx faultline check --config v6.6 --scenario random --runs 1000000
 * (before the caches were bounded, 30,000 executions did not fit in 60 MB). The heap figures of
 * such a run come from `npm run bench -- --only=memory` (test/properties/memory_bound.test.ts has
 * the fast checks).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DEEP = !!process.env.FAULTLINE_DEEP;
const RUNS = Number(process.env.FAULTLINE_MEMORY_RUNS ?? 1_000_000);

describe('memory: a long campaign in a small heap', () => {
  it.skipIf(!DEEP)(`faultline check --config v6.6 --scenario random --runs ${RUNS} completes with --max-old-space-size=64`, () => {
    const bin = join(import.meta.dirname, '..', '..', 'cli', 'bin.js');
    const r = spawnSync(process.execPath, [bin, 'check', '--config', 'v6.6', '--scenario', 'random', '--runs', String(RUNS), '--json'], {
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
  }, 6 * 3_600_000); // hours: above the deep default of one
});
