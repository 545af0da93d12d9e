import { defineConfig } from 'vitest/config';

// Interop, service and browser tests talk to real processes: generous timeouts, and
// forks so that a crash in one file cannot take the others down with it.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // CI runs the fault-injection files (faults-*.test.ts) in their own bounded step.
    exclude:
      process.env.SWARMCAST_FAULTS_SEPARATE === '1'
        ? ['**/node_modules/**', '**/faults-*.test.ts']
        : ['**/node_modules/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: '.tmp/vitest-report.json' }]]
      : ['default'],
  },
});
