/**
 * Rate limits on signing in with a client secret — the token endpoint and the supervision page's
 * HTTP Basic — in memory, per instance.
 *
 * Client secrets are 256-bit random, so guessing one is hopeless; what the limits protect is the
 * gateway itself and the clients' availability: every attempt costs one scrypt check (tens of ms
 * of CPU), so an anonymous caller is held to `signInAttemptsPerMinute` per address, and a client
 * id with repeated failed checks (from any address: a distributed guess) is refused until its
 * window ends. Both answer 429 with Retry-After before any secret is checked.
 */
import type { Config } from '../config.js';
import { type FixedWindowLimiter, fixedWindowLimiter, rateLimited } from '../platform/rate-limit.js';

export class SignInGuard {
  private readonly attemptsPerAddress: FixedWindowLimiter;
  private readonly failuresPerClient: FixedWindowLimiter;

  constructor(limits: Config['rateLimits']) {
    this.attemptsPerAddress = fixedWindowLimiter(limits.signInAttemptsPerMinute, 60_000);
    this.failuresPerClient = fixedWindowLimiter(limits.signInFailuresPerClient, limits.signInFailureWindowMs);
  }

  /** Counts one sign-in attempt; throws `rate_limited` (429) when the address or the client id is over its limit. */
  admit(address: string, clientId: string): void {
    const lockedFor = this.failuresPerClient.blocked(clientId);
    if (lockedFor !== null) throw rateLimited(lockedFor, `Too many failed sign-ins for this client; try again in ${lockedFor} s.`);
    const retryAfter = this.attemptsPerAddress.take(address);
    if (retryAfter !== null) throw rateLimited(retryAfter, `Too many sign-in attempts from this address; try again in ${retryAfter} s.`);
  }

  /** Counts a failed secret check against the client id. */
  recordFailure(clientId: string): void {
    this.failuresPerClient.take(clientId);
  }
}
