/**
 * The registry's OAuth access token, cached for the adapter's lifetime.
 *
 * - One token serves every call until shortly before it expires (`refreshSkewMs`, at most half
 *   its lifetime, so a short-lived token is not refreshed on every call).
 * - Callers arriving while a token is being requested wait for that one request: a burst of calls
 *   at start, or at expiry, costs one token request, not one each.
 * - The shared request does not carry any one caller's abort signal (one caller giving up must not
 *   fail the others); each caller stops waiting on its own signal instead.
 * - `invalidate(token)` drops the token only if it is still the cached one, so several calls that
 *   all got 401 with the same old token cause one refresh, not several.
 */

export interface IssuedAccessToken {
  token: string;
  /** `expires_in`, seconds from when the answer arrived. */
  expiresInSeconds: number;
}

export interface AccessTokenCacheOptions {
  /** Asks the registry for a new token; `requestId` is the id of the call that needed it (tracing). */
  issue: (requestId: string) => Promise<IssuedAccessToken>;
  /** The clock, ms since epoch. */
  now: () => number;
  /** Refresh this long before expiry (capped at half the token's lifetime). */
  refreshSkewMs: number;
  /** The error a caller whose signal aborted while waiting gets. */
  cancelled: () => Error;
}

interface CachedToken {
  token: string;
  refreshAtMs: number;
}

export class AccessTokenCache {
  private cached: CachedToken | null = null;
  private inFlight: Promise<string> | null = null;

  constructor(private readonly options: AccessTokenCacheOptions) {}

  /** A token that is good for a while yet: the cached one, or a fresh one. */
  get(requestId: string, signal?: AbortSignal): Promise<string> {
    if (this.cached !== null && this.options.now() < this.cached.refreshAtMs) return Promise.resolve(this.cached.token);
    return this.waitFor(this.refresh(requestId), signal);
  }

  /** Forgets `token` if it is still the cached one (the registry refused it). */
  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = null;
  }

  private refresh(requestId: string): Promise<string> {
    this.inFlight ??= this.options
      .issue(requestId)
      .then((issued) => {
        const lifetimeMs = issued.expiresInSeconds * 1000;
        const skewMs = Math.min(this.options.refreshSkewMs, lifetimeMs / 2);
        this.cached = { token: issued.token, refreshAtMs: this.options.now() + lifetimeMs - skewMs };
        return issued.token;
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  private waitFor(pending: Promise<string>, signal: AbortSignal | undefined): Promise<string> {
    if (signal === undefined) return pending;
    if (signal.aborted) return Promise.reject(this.options.cancelled());
    return new Promise<string>((resolve, reject) => {
      const onAbort = (): void => reject(this.options.cancelled());
      signal.addEventListener('abort', onAbort, { once: true });
      pending.then(
        (token) => {
          signal.removeEventListener('abort', onAbort);
          resolve(token);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }
}
