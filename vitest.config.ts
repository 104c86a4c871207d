import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // examples/ import the package by name, as a user's project does; here it is the source.
  resolve: {
    alias: [{ find: /^faultline$/, replacement: fileURLToPath(new URL('./properties/fastcheck/index.ts', import.meta.url)) }],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    // Deep campaigns (FAULTLINE_DEEP=1) run long random searches; the default run keeps fixed seeds.
    testTimeout: process.env.FAULTLINE_DEEP ? 3_600_000 : 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // vitest's default is cores - 1 workers: one file at a time on a 2-core CI machine. The main
    // process only collects results, so every core runs a test file. Deep: the long campaigns of
    // configs and fault_injection_configs also run on a pool of worker threads (deep_pool.ts).
    maxWorkers: availableParallelism(),
    reporters: ['default'],
  },
});
