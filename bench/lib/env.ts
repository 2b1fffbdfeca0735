import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Benchmark knobs from the environment: a bad value stops the run with the variable's name. */
export function integerFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

/** A comma-separated list of some of `allowed` (each once, in the order given); `fallback` when unset. */
export function listFromEnv<T extends string>(name: string, fallback: T[], allowed: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
  const known = (item: string): item is T => (allowed as readonly string[]).includes(item);
  if (items.length === 0 || !items.every(known))
    throw new Error(`${name} must be a comma-separated list of: ${allowed.join(', ')}`);
  return [...new Set(items.filter(known))];
}

/**
 * Gateway settings every benchmark gives its gateway: one client sends thousands of requests a
 * second from one address here, which the per-client and sign-in rate limits (meant to stop a
 * runaway or hostile caller) would otherwise turn into 429s and measure instead of the gateway.
 */
export const unthrottledGatewayEnv: Record<string, string> = {
  CLIENT_REQUESTS_PER_MINUTE: '10000000',
  SIGN_IN_ATTEMPTS_PER_MINUTE: '100000',
};

/**
 * The gateway's entry for a benchmark: its TypeScript source through tsx (`BENCH_GATEWAY_BUILD=source`,
 * the default) or the production build that operators run (`dist`, made by `npm run build`).
 */
export function gatewayEntry(root: string): string {
  const build = listFromEnv('BENCH_GATEWAY_BUILD', ['source'], ['source', 'dist'])[0];
  if (build === 'source') return 'gateway/main.ts';
  if (!existsSync(join(root, 'dist/gateway/main.js')))
    throw new Error('BENCH_GATEWAY_BUILD=dist needs the production build: run `npm run build` first');
  return 'dist/gateway/main.js';
}
