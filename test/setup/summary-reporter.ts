import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints the plain closing line CI reads: `N passed, N failed, N skipped`.
 * A file that fails to load counts as one failure, so a broken file can
 * never leave the line green.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[], unhandledErrors: readonly unknown[], reason: 'passed' | 'failed' | 'interrupted'): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      let seen = 0;
      for (const test of module.children.allTests()) {
        seen += 1;
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failed += 1;
        else skipped += 1;
      }
      if (seen === 0 && module.state() === 'failed') failed += 1;
    }
    failed += unhandledErrors.length;
    // A run that failed outside any test (global setup, say) must not read as green.
    if (reason !== 'passed' && failed === 0) failed = 1;
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
