import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Deep campaigns (FAULTLINE_DEEP=1) run long random searches; the default run keeps fixed seeds.
    testTimeout: process.env.FAULTLINE_DEEP ? 3_600_000 : 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
