import type { ClientKind, Scope } from './scopes.js';

/** The authenticated caller of a request, taken from a verified access token. */
export interface Principal {
  clientId: string;
  kind: ClientKind;
  scopes: ReadonlySet<Scope>;
  /** Department code of a department client, if it is one. */
  departmentCode: string | null;
  /**
   * Set only in a subject-scoped token: the subject (citizen or company) on whose behalf a portal
   * calls, e.g. to read their own data tracker. Such a token carries `tracker:read` and nothing else.
   */
  subjectId: string | null;
  /** The token's `jti`, for audit correlation. */
  tokenId: string;
}

// Protected routes carry the caller on the request context (set by auth/middleware.ts).
declare module '../platform/context.js' {
  interface AppVariables {
    principal: Principal;
  }
}
