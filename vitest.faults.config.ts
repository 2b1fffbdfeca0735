import { defineConfig } from 'vitest/config';
import { sdkAlias } from './vitest.sdk-alias.js';

/**
 * `npm run test:faults`: the fault suite under test/faults. It starts its own department
 * simulators, fault proxies and (for the database outage) a private PostgreSQL cluster, so it runs
 * the same whatever DATABASE_URL says. Files run one at a time: the timings they show (a breaker
 * failing fast while another department keeps its latency) need the machine to themselves.
 */
export default defineConfig({
  resolve: { alias: sdkAlias },
  test: {
    include: ['test/faults/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
