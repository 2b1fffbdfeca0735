/**
 * Access tokens: RFC 9068 JWTs (`typ: at+jwt`) signed by the gateway's active key.
 *
 * Verification follows RFC 8725: the token must be spelled exactly as this gateway writes it
 * (canonical base64url, compact JSON without repeated names, a header of exactly `alg`, `kid` and
 * `typ: at+jwt`), so no header can smuggle in a key (`jwk`, `jku`, `x5u`, `x5c`), a critical
 * extension or an unencoded payload, and a certificate envelope or audit checkpoint signed by the
 * same key is never taken for a token. The algorithm is the key's own, keys come only from our key
 * store, and issuer, audience (a string), exp, nbf and iat are checked with a small clock
 * tolerance: no `iat` in the future, and no lifetime longer than this gateway issues.
 */
import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Config } from '../config.js';
import type { Sm2PublicKey } from '../../adapters/sdk/helpers/sm2.js';
import { type Clock, systemClock } from '../platform/clock.js';
import { parseCompactJsonObject, readCanonicalCompactJws } from './compact-jws.js';
import { SM2_JWS_ALG, type SigningAlg, type VerifyKey, signCompactJws, verifyCompactJws } from './jws.js';
import type { Principal } from './principal.js';
import type { KeyStore } from './keys.js';
import { type ClientKind, type Scope, clientKinds, isScope } from './scopes.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** Why a token was refused; logged, never sent to the caller beyond "invalid_token". */
export class TokenRejected extends Error {
  constructor(readonly reason: string) {
    super(`token rejected: ${reason}`);
    this.name = 'TokenRejected';
  }
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  scopes: Scope[];
}

interface TokenClaims extends JWTPayload {
  client_id?: unknown;
  scope?: unknown;
  kind?: unknown;
  dept?: unknown;
  subject_id?: unknown;
}

/** The only scope a subject-scoped token carries. */
export const SUBJECT_TOKEN_SCOPE: Scope = 'tracker:read';

/**
 * Verified tokens, by their exact text. A window system sends the same token with every request
 * for its whole lifetime; checking its ES256 signature again each time was a quarter of the CPU
 * of a small request. An entry is used only until the token's `exp` and only while its key is
 * still published; disabled clients are checked separately on every request.
 */
class VerifiedTokenCache {
  private readonly entries = new Map<string, { principal: Principal; kid: string; expiresAtMs: number }>();
  constructor(private readonly maxEntries: number) {}

  get(token: string, nowMs: number, isPublished: (kid: string) => boolean): Principal | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= nowMs || !isPublished(entry.kid)) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.principal;
  }

  set(token: string, principal: Principal, kid: string, expiresAtMs: number): void {
    if (this.entries.size >= this.maxEntries) {
      // Oldest first: Map iteration follows insertion order.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(token, { principal, kid, expiresAtMs });
  }
}

/** Header members that point at keys elsewhere; we never follow them and refuse tokens carrying them. */
const keyLocatingHeaders = ['jku', 'x5u', 'jwk', 'x5c'] as const;
/** The whole protected header of every token this gateway signs. */
const tokenHeaderMembers = new Set(['alg', 'kid', 'typ']);

export type TokenSettings = Config['tokens'] & {
  issuer: string;
  audience: string;
  /** Lifetime of subject-scoped tokens (SUBJECT_TOKEN_TTL_SECONDS): the longest such a token may claim. */
  subjectTokenTtlSeconds: number;
};

export class TokenService {
  private readonly verified = new VerifiedTokenCache(10_000);

  constructor(
    private readonly keys: KeyStore,
    private readonly settings: TokenSettings,
    /** Issue and expiry times are read from it, so tests can stand on a claim's edge exactly. */
    private readonly clock: Clock = systemClock,
  ) {}

  async issue(
    client: { id: string; kind: ClientKind; departmentCode: string | null },
    scopes: Scope[],
  ): Promise<IssuedToken> {
    const claims: TokenClaims = { client_id: client.id, scope: scopes.join(' '), kind: client.kind };
    if (client.departmentCode) claims.dept = client.departmentCode;
    const accessToken = await this.sign(client.id, claims, this.settings.ttlSeconds);
    return { accessToken, expiresIn: this.settings.ttlSeconds, scopes };
  }

  private async sign(clientId: string, claims: TokenClaims, ttlSeconds: number): Promise<string> {
    const key = await this.keys.activeKey();
    const issuedAt = Math.floor(this.clock.now().getTime() / 1000);
    const payload: TokenClaims = {
      ...claims,
      iss: this.settings.issuer,
      aud: this.settings.audience,
      sub: clientId,
      iat: issuedAt,
      nbf: issuedAt,
      exp: issuedAt + ttlSeconds,
      jti: `tok_${randomUUID().replaceAll('-', '')}`,
    };
    return signCompactJws(
      { alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE },
      new TextEncoder().encode(JSON.stringify(payload)),
      key.signKey,
    );
  }

  /**
   * A token that lets a portal act for one subject (a citizen who signed in to it) on the routes
   * that accept `tracker:read`, and nowhere else. The portal stays the client of record.
   */
  async issueForSubject(
    client: { id: string; kind: ClientKind; departmentCode: string | null },
    subjectId: string,
    ttlSeconds: number,
  ): Promise<IssuedToken> {
    const claims: TokenClaims = {
      client_id: client.id,
      scope: SUBJECT_TOKEN_SCOPE,
      kind: client.kind,
      subject_id: subjectId,
    };
    const accessToken = await this.sign(client.id, claims, ttlSeconds);
    return { accessToken, expiresIn: ttlSeconds, scopes: [SUBJECT_TOKEN_SCOPE] };
  }

  /** Verifies a bearer token and returns the principal, or throws TokenRejected. */
  /**
   * The principal of a token verified earlier and still valid (not expired, its key still
   * published), without a promise: the common case of a client sending its token again.
   */
  cachedPrincipal(token: string): Principal | undefined {
    return this.verified.get(token, this.clock.now().getTime(), (kid) => this.keys.isPublished(kid));
  }

  async verify(token: string): Promise<Principal> {
    const now = this.clock.now();
    const cached = this.verified.get(token, now.getTime(), (kid) => this.keys.isPublished(kid));
    if (cached) return cached;
    const parts = readCanonicalCompactJws(token);
    if (!parts) throw new TokenRejected('not a compact JWS in canonical base64url');
    const header = parseCompactJsonObject(parts.header);
    if (!header) throw new TokenRejected('header is not compact JSON with unique names');
    if (keyLocatingHeaders.some((name) => Object.hasOwn(header, name))) throw new TokenRejected('key-locating header');
    if (Object.keys(header).some((name) => !tokenHeaderMembers.has(name)))
      throw new TokenRejected('unexpected header member');
    // Exactly our type: jose would also take `application/at+jwt` or other letter cases.
    if (header['typ'] !== ACCESS_TOKEN_TYPE) throw new TokenRejected('not an access token (typ)');
    const kid = header['kid'];
    if (typeof kid !== 'string') throw new TokenRejected('no kid');
    if (!parseCompactJsonObject(parts.payload))
      throw new TokenRejected('claims are not compact JSON with unique names');
    const key = await this.keys.verificationKey(kid);
    if (!key) throw new TokenRejected('unknown key');
    if (header['alg'] !== key.alg) throw new TokenRejected('algorithm does not match key');

    let payload: TokenClaims;
    try {
      payload = await this.verifySignatureAndClaims(token, key.verifyKey, key.alg, now);
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) throw new TokenRejected(error.code);
      throw error;
    }
    const expiresAt = this.checkTimes(payload, now);
    if (typeof payload.aud !== 'string') throw new TokenRejected('aud is not a single string');
    const principal = principalFromClaims(payload);
    this.verified.set(token, principal, kid, expiresAt * 1000);
    return principal;
  }

  /**
   * The signature and the registered claims. jose does both for the algorithms it knows; for SM2
   * the signature is checked by our own JWS module and the claims here, with jose's rules and
   * error codes (issuer and audience equal, required claims present, `exp` not passed and `nbf`
   * reached within the clock tolerance).
   */
  private async verifySignatureAndClaims(
    token: string,
    verifyKey: VerifyKey,
    alg: SigningAlg,
    now: Date,
  ): Promise<TokenClaims> {
    const required = ['exp', 'iat', 'sub', 'jti', 'client_id', 'scope'];
    const tolerance = this.settings.clockToleranceSeconds;
    if (alg !== SM2_JWS_ALG) {
      const { payload } = await jwtVerify<TokenClaims>(token, verifyKey as Exclude<VerifyKey, Sm2PublicKey>, {
        algorithms: [alg],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: tolerance,
        currentDate: now,
        requiredClaims: required,
      });
      return payload;
    }
    const verified = await verifyCompactJws(token, verifyKey, alg);
    const payload = parseCompactJsonObject(new TextDecoder().decode(verified.payload)) as TokenClaims | undefined;
    if (!payload) throw new joseErrors.JWTInvalid('JWT Claims Set must be a top-level JSON object');
    const claimFailed = (claim: string, reason: string) =>
      new joseErrors.JWTClaimValidationFailed(`unexpected "${claim}" claim value`, payload, claim, reason);
    for (const claim of required) {
      if (!Object.hasOwn(payload, claim)) throw claimFailed(claim, 'missing');
    }
    if (payload.iss !== this.settings.issuer) throw claimFailed('iss', 'check_failed');
    const audiences = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
    if (!audiences.includes(this.settings.audience)) throw claimFailed('aud', 'check_failed');
    const nowSeconds = Math.floor(now.getTime() / 1000);
    if (typeof payload.iat !== 'number') throw claimFailed('iat', 'invalid');
    if (payload.nbf !== undefined) {
      if (typeof payload.nbf !== 'number') throw claimFailed('nbf', 'invalid');
      if (payload.nbf > nowSeconds + tolerance) throw claimFailed('nbf', 'check_failed');
    }
    if (typeof payload.exp !== 'number') throw claimFailed('exp', 'invalid');
    if (payload.exp <= nowSeconds - tolerance)
      throw new joseErrors.JWTExpired('"exp" claim timestamp check failed', payload, 'exp', 'check_failed');
    return payload;
  }

  /**
   * What jose leaves open (RFC 8725 §3.10, RFC 9068 §4): `iat` in the future beyond the clock
   * tolerance, and a lifetime longer than this gateway gives its tokens. Returns `exp`.
   */
  private checkTimes(payload: TokenClaims, now: Date): number {
    const { iat, exp } = payload;
    if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp))
      throw new TokenRejected('iat and exp are not whole seconds');
    const issuedAt = iat as number;
    const expiresAt = exp as number;
    const tolerance = this.settings.clockToleranceSeconds;
    if (issuedAt > Math.floor(now.getTime() / 1000) + tolerance) throw new TokenRejected('issued in the future');
    const longestLifetime =
      payload.subject_id === undefined ? this.settings.ttlSeconds : this.settings.subjectTokenTtlSeconds;
    if (expiresAt - issuedAt > longestLifetime + tolerance) throw new TokenRejected('lifetime longer than issued');
    return expiresAt;
  }
}

function principalFromClaims(payload: TokenClaims): Principal {
  const { sub, client_id: clientId, scope, kind, dept, jti, subject_id: subjectId } = payload;
  if (typeof clientId !== 'string' || clientId !== sub) throw new TokenRejected('client_id does not match sub');
  if (typeof jti !== 'string' || jti.length === 0) throw new TokenRejected('bad jti');
  if (typeof kind !== 'string' || !(clientKinds as readonly string[]).includes(kind))
    throw new TokenRejected('bad kind');
  if (dept !== undefined && typeof dept !== 'string') throw new TokenRejected('bad dept');
  if (subjectId !== undefined && typeof subjectId !== 'string') throw new TokenRejected('bad subject_id');
  // Space-separated scope names (RFC 9068 §2.2.3), each one we know: an unknown name is not ignored.
  if (typeof scope !== 'string') throw new TokenRejected('scope is not a string');
  const names = scope === '' ? [] : scope.split(' ');
  if (!names.every(isScope)) throw new TokenRejected('unknown scope');
  const scopes = new Set(names);
  // `tracker:read` means "this subject's own data" and is only meaningful together with
  // `subject_id`; a subject token, in turn, may carry nothing else.
  if (
    subjectId === undefined ? scopes.has(SUBJECT_TOKEN_SCOPE) : scopes.size !== 1 || !scopes.has(SUBJECT_TOKEN_SCOPE)
  ) {
    throw new TokenRejected('subject scope mismatch');
  }
  return {
    clientId,
    kind: kind as ClientKind,
    scopes,
    departmentCode: typeof dept === 'string' ? dept : null,
    subjectId: subjectId ?? null,
    tokenId: jti,
  };
}
