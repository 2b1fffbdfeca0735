/**
 * Access tokens: RFC 9068 JWTs (`typ: at+jwt`) signed by the gateway's active key.
 * Verification pins algorithms, issuer, audience and type, checks exp/nbf with a small
 * tolerance, and takes keys only from our own key store, never from the token's headers.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Config } from '../config.js';
import type { Principal } from './principal.js';
import { type KeyStore, acceptedAlgorithms } from './keys.js';
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

  get(token: string, isPublished: (kid: string) => boolean): Principal | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= Date.now() || !isPublished(entry.kid)) {
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

export class TokenService {
  private readonly verified = new VerifiedTokenCache(10_000);

  constructor(
    private readonly keys: KeyStore,
    private readonly settings: { issuer: string; audience: string } & Config['tokens'],
  ) {}

  async issue(client: { id: string; kind: ClientKind; departmentCode: string | null }, scopes: Scope[]): Promise<IssuedToken> {
    const claims: TokenClaims = { client_id: client.id, scope: scopes.join(' '), kind: client.kind };
    if (client.departmentCode) claims.dept = client.departmentCode;
    const accessToken = await this.sign(client.id, claims, this.settings.ttlSeconds);
    return { accessToken, expiresIn: this.settings.ttlSeconds, scopes };
  }

  private async sign(clientId: string, claims: TokenClaims, ttlSeconds: number): Promise<string> {
    const key = await this.keys.activeKey();
    return new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setSubject(clientId)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime(`${ttlSeconds}s`)
      .setJti(`tok_${randomBytes(12).toString('base64url')}`)
      .sign(key.signKey);
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
    const claims: TokenClaims = { client_id: client.id, scope: SUBJECT_TOKEN_SCOPE, kind: client.kind, subject_id: subjectId };
    const accessToken = await this.sign(client.id, claims, ttlSeconds);
    return { accessToken, expiresIn: ttlSeconds, scopes: [SUBJECT_TOKEN_SCOPE] };
  }

  /** Verifies a bearer token and returns the principal, or throws TokenRejected. */
  async verify(token: string): Promise<Principal> {
    const cached = this.verified.get(token, (kid) => this.keys.isPublished(kid));
    if (cached) return cached;
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new TokenRejected('malformed');
    }
    if (keyLocatingHeaders.some((name) => name in header)) throw new TokenRejected('key-locating header');
    if (typeof header.kid !== 'string') throw new TokenRejected('no kid');
    const key = await this.keys.verificationKey(header.kid);
    if (!key) throw new TokenRejected('unknown key');
    if (header.alg !== key.alg) throw new TokenRejected('algorithm does not match key');

    let payload: TokenClaims;
    try {
      ({ payload } = await jwtVerify<TokenClaims>(token, key.verifyKey, {
        algorithms: acceptedAlgorithms,
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: this.settings.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id', 'scope'],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) throw new TokenRejected(error.code);
      throw error;
    }
    const principal = principalFromClaims(payload);
    if (typeof payload.exp === 'number') this.verified.set(token, principal, header.kid, payload.exp * 1000);
    return principal;
  }
}

function principalFromClaims(payload: TokenClaims): Principal {
  const { sub, client_id: clientId, scope, kind, dept, jti, subject_id: subjectId } = payload;
  if (typeof clientId !== 'string' || clientId !== sub) throw new TokenRejected('client_id does not match sub');
  if (typeof scope !== 'string' || typeof jti !== 'string') throw new TokenRejected('bad claims');
  if (typeof kind !== 'string' || !(clientKinds as readonly string[]).includes(kind)) throw new TokenRejected('bad kind');
  if (subjectId !== undefined && typeof subjectId !== 'string') throw new TokenRejected('bad subject_id');
  const scopes = new Set(scope.split(' ').filter(isScope));
  // `tracker:read` means "this subject's own data" and is only meaningful together with
  // `subject_id`; a subject token, in turn, may carry nothing else.
  if (subjectId === undefined ? scopes.has(SUBJECT_TOKEN_SCOPE) : scopes.size !== 1 || !scopes.has(SUBJECT_TOKEN_SCOPE)) {
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
