import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Path tests boot a sandbox each; two cores — keep workers modest.
    pool: 'forks',
    maxWorkers: 2,
    allowOnly: false,
  },
});
