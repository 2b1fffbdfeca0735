import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const sdk = (file: string): string => fileURLToPath(new URL(`./adapters/sdk/${file}`, import.meta.url));

export default defineConfig({
  resolve: {
    // What the gateway's resolve hook does at run time (gateway/departments/adapter-packages.ts):
    // an adapter package or folder importing the SDK gets the gateway's own, wherever it lies (vitest
    // resolves modules itself and does not run Node's hooks).
    alias: [
      { find: /^@onewindow\/adapter-sdk$/, replacement: sdk('index.ts') },
      { find: /^@onewindow\/adapter-sdk\/conformance$/, replacement: sdk('conformance.ts') },
      { find: /^@onewindow\/adapter-sdk\/testing\/(.+)$/, replacement: sdk('testing/$1.ts') },
    ],
  },
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
