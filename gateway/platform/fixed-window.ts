/**
 * A counter per key over fixed windows, in this process's memory: the shared limits'
 * (shared-limits.ts) local share and their fallback while the database does not answer.
 */
interface Window {
  startedAt: number;
  count: number;
}

export interface FixedWindowLimiter {
  /** Counts one request for `key`; the seconds to wait when over the limit, else null. */
  take(key: string, now?: number): number | null;
  /** The seconds to wait when `key` is already over the limit, else null; counts nothing. */
  blocked(key: string, now?: number): number | null;
}

export function fixedWindowLimiter(limit: number, windowMs: number, maxKeys = 100_000): FixedWindowLimiter {
  const windows = new Map<string, Window>();
  return {
    take(key, now = Date.now()) {
      let window = windows.get(key);
      if (!window || now - window.startedAt >= windowMs) {
        if (!window && windows.size >= maxKeys) {
          // Drop expired windows first; if none, the oldest entry (Map keeps insertion order).
          for (const [candidate, entry] of windows) if (now - entry.startedAt >= windowMs) windows.delete(candidate);
          if (windows.size >= maxKeys) windows.delete(windows.keys().next().value as string);
        }
        window = { startedAt: now, count: 0 };
        windows.delete(key);
        windows.set(key, window);
      }
      window.count += 1;
      if (window.count <= limit) return null;
      return secondsLeft(window, now);
    },
    blocked(key, now = Date.now()) {
      const window = windows.get(key);
      if (!window || now - window.startedAt >= windowMs || window.count < limit) return null;
      return secondsLeft(window, now);
    },
  };
  function secondsLeft(window: Window, now: number): number {
    return Math.max(1, Math.ceil((window.startedAt + windowMs - now) / 1000));
  }
}
