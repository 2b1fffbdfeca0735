/**
 * The simulator's memory of nonces seen within the signature window, so a captured request cannot
 * be replayed while its time stamp is still fresh. Entries expire when their time stamp leaves the
 * window (after that the request is refused as stale anyway). Bounded: when it is full of live
 * nonces it refuses new ones rather than forgetting live ones, because forgetting would reopen
 * replay (fail closed; the registry answers "busy").
 */
export type NonceVerdict = 'fresh' | 'replayed' | 'full';

export class NonceCache {
  /** key → expiry (ms). Insertion order is expiry order as long as time stamps arrive roughly in order. */
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly capacity: number,
    private readonly windowMs: number,
  ) {}

  /** Records `nonce` of `appKey` (time stamp `timestampMs`) unless it was seen before. */
  remember(appKey: string, nonce: string, timestampMs: number, nowMs: number): NonceVerdict {
    const key = `${appKey}\n${nonce}`;
    const expiry = this.entries.get(key);
    if (expiry !== undefined && expiry > nowMs) return 'replayed';
    this.evictExpired(nowMs);
    if (this.entries.size >= this.capacity) return 'full';
    this.entries.set(key, timestampMs + this.windowMs);
    return 'fresh';
  }

  get size(): number {
    return this.entries.size;
  }

  private evictExpired(nowMs: number): void {
    for (const [key, expiry] of this.entries) {
      if (expiry > nowMs) {
        // Entries are mostly in expiry order; stop at the first live one unless we are full,
        // in which case a full sweep may still find expired ones further on.
        if (this.entries.size < this.capacity) return;
        continue;
      }
      this.entries.delete(key);
    }
  }
}
