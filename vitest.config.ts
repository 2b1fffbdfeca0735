import { defineConfig } from 'vitest/config';
import { sdkAlias } from './vitest.sdk-alias.js';

export default defineConfig({
  // Adapter packages get the gateway's own SDK, as at run time (vitest.sdk-alias.ts).
  resolve: { alias: sdkAlias },
  test: {
    include: ['gateway/**/*.test.ts', 'adapters/**/*.test.ts', 'packages/**/*.test.ts', 'test/**/*.test.ts'],
    // The fault suite (`npm run test:faults`, vitest.faults.config.ts) stops databases and drips
    // bytes for minutes; it runs on its own, once, in CI.
    exclude: ['**/node_modules/**', 'test/faults/**'],
    // Each file gets its own fresh database; files run in separate processes.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
