/**
 * A signal that aborts after `ms` (its reason a `TimeoutError`, as `AbortSignal.timeout`'s), or
 * when any of `others` aborts.
 *
 * Not `AbortSignal.any([…, AbortSignal.timeout(ms)])`: a combined signal holds its sources weakly,
 * so a timeout signal nothing else references can be collected before it fires, and the deadline
 * never comes. Seen under load in CI: a 300 ms certificate deadline let a department's 3 s answer
 * through. Here the timer holds its controller until it fires.
 */
export function signalWithin(ms: number, ...others: readonly (AbortSignal | undefined)[]): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    ms,
  );
  // A pending deadline alone must not keep the process running.
  timer.unref();
  const sources = others.filter((signal): signal is AbortSignal => signal !== undefined);
  return sources.length === 0 ? controller.signal : AbortSignal.any([controller.signal, ...sources]);
}
