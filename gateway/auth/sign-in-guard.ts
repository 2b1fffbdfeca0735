/**
 * Rate limits on signing in with a client secret — the token endpoint and the supervision page's
 * HTTP Basic — counted in the database, so they hold across all instances of a deployment
 * (gateway/platform/shared-limits.ts; per instance only while the database does not answer).
 *
 * Client secrets are 256-bit random, so guessing one is hopeless; what the limits protect is the
 * gateway itself: every attempt costs a database read and a keyed hash, so an anonymous caller
 * is held to `signInAttemptsPerMinute` per address, and repeated wrong secrets for one client id
 * from one address are refused until their window ends. Failures are counted per client id AND
 * address on purpose: client ids are not secret (a citizen's data tracker names the clients that
 * read their data), and a count per id alone would let anyone lock a window system out by sending
 * wrong secrets for its id. Both refusals are 429 with Retry-After, before any secret is checked.
 *
 * A client id that cannot exist (not the `cli_…` form) is refused without a secret check and
 * without a key of its own, so made-up ids cannot fill the limiter's memory.
 */
import type { Config } from '../config.js';
import { message } from '../platform/errors.js';
import { rateLimited } from '../platform/rate-limit.js';
import type { SharedLimiter, SharedLimits } from '../platform/shared-limits.js';

/** The form of every client id (gateway/auth/clients.ts issues `cli_` + base64url). */
export const CLIENT_ID_PATTERN = /^cli_[A-Za-z0-9_]{3,64}$/;

export class SignInGuard {
  private readonly attemptsPerAddress: SharedLimiter;
  private readonly failuresPerClientAndAddress: SharedLimiter;

  constructor(limits: Config['rateLimits'], shared: SharedLimits) {
    this.attemptsPerAddress = shared.limiter({
      name: 'sign-in-attempts',
      limit: limits.signInAttemptsPerMinute,
      windowMs: 60_000,
    });
    this.failuresPerClientAndAddress = shared.limiter({
      name: 'sign-in-failures',
      limit: limits.signInFailuresPerClient,
      windowMs: limits.signInFailureWindowMs,
    });
  }

  /**
   * Counts one sign-in attempt from `address`; throws `rate_limited` (429) when the address, or
   * this client id from this address, is over its limit. Returns false for an id that cannot
   * exist: the caller answers `invalid_client` without checking a secret.
   */
  async admit(address: string, clientId: string): Promise<boolean> {
    const plausible = CLIENT_ID_PATTERN.test(clientId);
    // Both counters at once: on PostgreSQL the two round trips overlap instead of adding up.
    const [retryAfter, lockedFor] = await Promise.all([
      this.attemptsPerAddress.take(address),
      plausible ? this.failuresPerClientAndAddress.blocked(failureKey(clientId, address)) : null,
    ]);
    if (retryAfter !== null) throw rateLimited(retryAfter, message('rate.sign_in_attempts', { seconds: retryAfter }));
    if (!plausible) return false;
    if (lockedFor !== null) throw rateLimited(lockedFor, message('rate.sign_in_failures', { seconds: lockedFor }));
    return true;
  }

  /** Counts a failed secret check of the client id from the address. */
  async recordFailure(address: string, clientId: string): Promise<void> {
    if (CLIENT_ID_PATTERN.test(clientId)) await this.failuresPerClientAndAddress.take(failureKey(clientId, address));
  }
}

function failureKey(clientId: string, address: string): string {
  return `${clientId} ${address}`;
}
