import { describe, expect, it } from 'vitest';
import { fixedWindowLimiter } from './rate-limit.js';

describe('fixed-window limiter', () => {
  it('allows the limit per window, then says how long to wait, then allows again', () => {
    const limiter = fixedWindowLimiter(3, 60_000);
    const start = 1_000_000;
    expect([1, 2, 3].map(() => limiter.take('a', start))).toEqual([null, null, null]);
    expect(limiter.take('a', start + 10_000)).toBe(50);
    expect(limiter.take('b', start + 10_000)).toBeNull();
    expect(limiter.take('a', start + 60_000)).toBeNull();
  });

  it('keeps at most maxKeys keys', () => {
    const limiter = fixedWindowLimiter(1, 60_000, 2);
    expect(limiter.take('a', 0)).toBeNull();
    expect(limiter.take('b', 0)).toBeNull();
    expect(limiter.take('c', 0)).toBeNull(); // evicts a
    expect(limiter.take('a', 0)).toBeNull(); // a starts afresh
    expect(limiter.take('c', 0)).toBe(60);
  });

  it('tells whether a key is over its limit without counting', () => {
    const limiter = fixedWindowLimiter(2, 60_000);
    expect(limiter.blocked('a', 0)).toBeNull();
    limiter.take('a', 0);
    expect(limiter.blocked('a', 0)).toBeNull();
    limiter.take('a', 0);
    // Two failures recorded, limit two: the next attempt must wait, and asking did not count one.
    expect(limiter.blocked('a', 30_000)).toBe(30);
    expect(limiter.blocked('a', 30_000)).toBe(30);
    expect(limiter.blocked('a', 60_000)).toBeNull();
  });
});
