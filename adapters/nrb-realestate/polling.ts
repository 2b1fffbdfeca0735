/**
 * Polling an asynchronous job with backoff, bounded three ways: a number of polls, a time budget
 * (no wait is started that would end past it) and the caller's abort signal (a wait in progress
 * ends at once). The first poll comes after the first wait: a job that was just accepted is not
 * finished yet.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PollingOptions {
  /** Wait before the first poll; doubled after each unfinished poll. */
  initialDelayMs: number;
  /** The longest wait between two polls. */
  maxDelayMs: number;
  /** Polls at most. */
  maxAttempts: number;
  /** Total time for all waits and polls. */
  budgetMs: number;
  signal?: AbortSignal;
  /** The error thrown when `signal` aborts. */
  cancelled: () => Error;
}

export type PollingOutcome<Result> =
  | { outcome: 'done'; result: Result; polls: number }
  | { outcome: 'exhausted'; reason: 'attempts' | 'budget'; polls: number };

/**
 * Calls `poll` until it returns a result (not `undefined`). Errors from `poll` end the polling and
 * are thrown as they are.
 */
export async function pollUntilDone<Result>(
  poll: () => Promise<Result | undefined>,
  options: PollingOptions,
): Promise<PollingOutcome<Result>> {
  const deadline = performance.now() + options.budgetMs;
  let delay = Math.max(1, options.initialDelayMs);
  const maxDelay = Math.max(delay, options.maxDelayMs);
  for (let polls = 0; polls < options.maxAttempts; ) {
    if (performance.now() + delay >= deadline) return { outcome: 'exhausted', reason: 'budget', polls };
    try {
      await sleep(delay, undefined, options.signal === undefined ? undefined : { signal: options.signal });
    } catch {
      throw options.cancelled();
    }
    polls += 1;
    const result = await poll();
    if (result !== undefined) return { outcome: 'done', result, polls };
    delay = Math.min(delay * 2, maxDelay);
  }
  return { outcome: 'exhausted', reason: 'attempts', polls: options.maxAttempts };
}
