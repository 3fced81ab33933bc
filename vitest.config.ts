import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // much of the suite waits on real servers and deadlines, not the CPU: on 2 cores, 4 files at
    // once took 148 s against 173 s with 3 and 226 s with 2 (docs/benchmarks.md); on a busier
    // machine: npm test -- --maxWorkers=2
    maxWorkers: 4,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
