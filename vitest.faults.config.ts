import { defineConfig } from 'vitest/config';

/**
 * `npm run test:faults`: the fault scenarios at the issue's sizes
 * (test/faults/*.long.ts; their short forms run in `npm test`). One file at a
 * time: each starts several role processes and loads the machine on its own.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.long.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    setupFiles: ['test/setup/worker-database.ts'],
    reporters: ['default', './test/setup/summary-reporter.ts'],
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
  },
});
