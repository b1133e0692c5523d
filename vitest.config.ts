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
      // A few points under what the suite reaches (about 89% of statements and
      // 85% of branches), so a real drop fails the run and noise does not.
      thresholds: { statements: 85, branches: 80, functions: 85, lines: 87 },
    },
  },
});
