import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
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
