/**
 * The adapter SDK in one import: the adapter interface and factory helpers, department errors,
 * the resilient client, the URL policy, metrics, run-time contract validation, the simulator kit
 * and the shared conformance suite (test-only: it imports vitest, so it is not re-exported here;
 * import `adapters/sdk/conformance.js` from test files).
 */
export * from './types.js';
export * from './errors.js';
export * from './adapter.js';
export * from './client.js';
export * from './url-policy.js';
export * from './metrics.js';
export * from './contract-validation.js';
export * from './simulator.js';
export * from './submissions.js';
export type * from './conformance-types.js';
export * from './helpers/index.js';
export * from './version.js';
