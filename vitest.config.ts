import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['gateway/**/*.test.ts', 'adapters/**/*.test.ts', 'test/**/*.test.ts'],
    // Each file gets its own fresh database; files run in separate processes.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
