import { describe, expect, it } from 'vitest';
import { signalWithin } from './deadline.js';

describe('signalWithin', () => {
  it('aborts at the deadline with a TimeoutError, even when nothing else holds the timer', async () => {
    const signal = signalWithin(20, new AbortController().signal);
    // Garbage the moment the combined signal is made: the deadline must still come.
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    expect(signal.reason).toMatchObject({ name: 'TimeoutError' });
  });

  it('aborts with another signal, with its reason', () => {
    const shutdown = new AbortController();
    const signal = signalWithin(60_000, shutdown.signal);
    shutdown.abort(new Error('shutting down'));
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ message: 'shutting down' });
  });
});
