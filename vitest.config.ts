import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Deep campaigns (FAULTLINE_DEEP=1) run long random searches; the default run keeps fixed seeds.
    testTimeout: process.env.FAULTLINE_DEEP ? 3_600_000 : 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Deep: a test file per core (vitest's default leaves one free); the long campaigns of
    // configs and fault_injection_configs also run on a pool of worker threads (deep_pool.ts).
    ...(process.env.FAULTLINE_DEEP ? { maxWorkers: availableParallelism() } : {}),
    reporters: ['default'],
  },
});
