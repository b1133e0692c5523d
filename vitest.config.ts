import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    setupFiles: ['test/setup/worker-database.ts'],
    reporters: ['default', './test/setup/summary-reporter.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    coverage: {
      // `npm run test:coverage`, or COVERAGE=1 (as .ci/run does for one of its two runs).
      enabled: process.env.COVERAGE === '1',
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.d.ts'],
      reporter: ['text-summary', 'html', 'json-summary'],
      // A few points under what the suite reaches (87.6% of statements, 79.6% of
      // branches, 90.2% of functions, 90.8% of lines), so a real drop fails the
      // run and noise does not. Code that runs in the role processes the tests
      // spawn (attune worker, rules, timers, sensors, up) is exercised there but
      // not measured, which is why branches sit lower than before the platform.
      thresholds: { statements: 85, branches: 77, functions: 87, lines: 88 },
    },
  },
});
