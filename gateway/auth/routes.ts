/**
 * OAuth 2.0 token endpoint (client credentials, RFC 6749 §4.4), the JWKS, and the admin API of
 * the client registry and signing keys.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../platform/context.js';
import { ApiError, type Message, message } from '../platform/errors.js';
import { clientAddress } from '../platform/rate-limit.js';
import { ProblemSchema, errorResponses, publicRoute } from '../platform/routes.js';
import { protectedRoute } from './protected-route.js';
import { recordAudit } from '../audit/record.js';
import { parseBasicCredentials } from './basic-credentials.js';
import { TOKEN_ENDPOINT_PATH, oauthErrorCodes, oauthUnavailableCodes } from './oauth-errors.js';
import { CLIENT_ID_PATTERN } from './sign-in-guard.js';
import { createClient, disableClient, listClients, type ClientRecord } from './clients.js';
import { type Scope, allScopes, clientKinds, isExplicitOnlyScope, isScope } from './scopes.js';

const ClientSchema = z
  .object({
    id: z.string().openapi({ example: 'cli_Q2x5b3dpbmRvdzE' }),
    name: z.string(),
    kind: z.enum(clientKinds),
    scopes: z.array(z.enum(allScopes as [Scope, ...Scope[]])),
    departmentCode: z.string().nullable(),
    createdAt: z.string().openapi({ format: 'date-time' }),
    disabledAt: z.string().nullable().openapi({ format: 'date-time' }),
  })
  .openapi('Client');

const clientJson = (client: ClientRecord): z.infer<typeof ClientSchema> => ({
  ...client,
  createdAt: client.createdAt.toISOString(),
  disabledAt: client.disabledAt?.toISOString() ?? null,
});

const ClientIdParam = z.object({
  clientId: z
    .string()
    .regex(CLIENT_ID_PATTERN)
    .openapi({ param: { name: 'clientId', in: 'path' }, example: 'cli_demo_window' }),
});

const TokenRequestSchema = z
  .object({
    grant_type: z.string().openapi({ example: 'client_credentials' }),
    scope: z.string().optional().openapi({ description: 'Space-separated subset of the client’s scopes' }),
    client_id: z.string().max(100).optional().openapi({ description: 'For client_secret_post; prefer HTTP Basic' }),
    client_secret: z.string().max(200).optional(),
  })
  .openapi('TokenRequest');

const TokenResponseSchema = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
    scope: z.string(),
  })
  .openapi('TokenResponse');

/** RFC 6749 §5.2 error answers (gateway/auth/oauth-errors.ts): the problem document plus `error` and `error_description`. */
const TokenErrorSchema = ProblemSchema.extend({
  error: z.enum([...oauthErrorCodes, ...oauthUnavailableCodes]),
  error_description: z.string(),
}).openapi('TokenError');

const tokenErrorResponses = (statuses: Record<number, string>) =>
  Object.fromEntries(
    Object.entries(statuses).map(([status, description]) => [
      status,
      { description, content: { 'application/json': { schema: TokenErrorSchema } } },
    ]),
  );

/** A token endpoint refusal; oauth-errors.ts adds `error` and `error_description` from its code and detail. */
const oauthError = (
  code: 'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_scope',
  detail: Message,
) =>
  new ApiError(
    code,
    detail,
    {},
    {
      headers: code === 'invalid_client' ? { 'WWW-Authenticate': 'Basic realm="onewindow"' } : {},
    },
  );

/** Token request parameters, refused in the URL: credentials there end up in logs and histories (RFC 6749 §2.3.1, §3.2). */
const tokenParameters = [
  'grant_type',
  'scope',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
];

/** Before the form is read or validated, so no other refusal hides this one. */
const refuseParametersInUrl: MiddlewareHandler<AppEnv> = async function refuseParametersInUrl(c, next) {
  const inUrl = tokenParameters.filter((name) => c.req.query(name) !== undefined);
  if (inUrl.length > 0) {
    throw oauthError('invalid_request', message('oauth.parameters_in_url', { parameters: inUrl.join(', ') }));
  }
  return next();
};

const tokenRoute = publicRoute({
  method: 'post',
  path: TOKEN_ENDPOINT_PATH,
  operationId: 'issueAccessToken',
  tags: ['auth'],
  summary: 'Issue an access token (OAuth 2.0 client credentials)',
  description:
    'Authenticate with HTTP Basic (client_secret_basic) or client_id/client_secret in the form (client_secret_post), never both, ' +
    'and never with parameters in the URL. Returns an RFC 9068 JWT access token signed by the gateway. Errors are ' +
    '`application/json` with `error` and `error_description` (RFC 6749 §5.2) beside the problem-document members.',
  middleware: [refuseParametersInUrl],
  request: {
    body: { required: true, content: { 'application/x-www-form-urlencoded': { schema: TokenRequestSchema } } },
  },
  responses: {
    200: { description: 'Token issued', content: { 'application/json': { schema: TokenResponseSchema } } },
    ...tokenErrorResponses({
      400: 'invalid_request, unsupported_grant_type or invalid_scope',
      401: 'invalid_client (with WWW-Authenticate)',
      413: 'Request body too large (invalid_request)',
      415: 'Not a form-encoded body (invalid_request)',
      429: 'Too many sign-in attempts (temporarily_unavailable, with Retry-After)',
      503: 'Database unavailable or shutting down (temporarily_unavailable, with Retry-After)',
    }),
  },
});

const jwksRoute = publicRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  operationId: 'getSigningKeys',
  tags: ['auth'],
  summary: 'The gateway’s public signing keys (JWKS)',
  responses: {
    200: {
      description: 'JSON Web Key Set',
      content: { 'application/json': { schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) } },
    },
  },
});

const createClientRoute = protectedRoute({
  method: 'post',
  path: '/v1/clients',
  operationId: 'createClient',
  tags: ['admin'],
  summary: 'Register a client system',
  description:
    'The secret is returned once, in this response, and is stored only as a keyed hash (HMAC-SHA256 under a pepper ' +
    'kept outside the database).',
  scopes: ['clients:admin'],
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .strictObject({
              name: z.string().trim().min(1).max(200),
              kind: z.enum(clientKinds),
              scopes: z
                .array(z.enum(allScopes as [Scope, ...Scope[]]))
                .max(allScopes.length)
                .optional(),
              departmentCode: z
                .string()
                .regex(/^[A-Z0-9_]{2,32}$/)
                .openapi({ example: 'PSB' })
                .optional(),
            })
            .openapi('NewClient'),
        },
      },
    },
  },
  responses: {
    201: {
      description: 'Client registered',
      content: { 'application/json': { schema: z.object({ client: ClientSchema, clientSecret: z.string() }) } },
    },
    ...errorResponses(400, 401, 403, 413, 415),
  },
});

const listClientsRoute = protectedRoute({
  method: 'get',
  path: '/v1/clients',
  operationId: 'listClients',
  tags: ['admin'],
  summary: 'List client systems',
  scopes: ['clients:admin'],
  request: {
    query: z.object({
      after: z.string().max(80).optional().openapi({ description: 'Cursor from the previous page' }),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    }),
  },
  responses: {
    200: {
      description: 'A page of clients',
      content: {
        'application/json': { schema: z.object({ items: z.array(ClientSchema), nextCursor: z.string().nullable() }) },
      },
    },
    ...errorResponses(400, 401, 403),
  },
});

const getClientRoute = protectedRoute({
  method: 'get',
  path: '/v1/clients/{clientId}',
  operationId: 'getClient',
  tags: ['admin'],
  summary: 'Read one client system',
  scopes: ['clients:admin'],
  request: { params: ClientIdParam },
  responses: {
    200: { description: 'The client', content: { 'application/json': { schema: ClientSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const disableClientRoute = protectedRoute({
  method: 'post',
  path: '/v1/clients/{clientId}/disable',
  operationId: 'disableClient',
  tags: ['admin'],
  summary: 'Disable a client system: no new tokens, and its current tokens are refused',
  scopes: ['clients:admin'],
  request: { params: ClientIdParam },
  responses: {
    200: { description: 'The disabled client', content: { 'application/json': { schema: ClientSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const rotateKeysRoute = protectedRoute({
  method: 'post',
  path: '/v1/keys/rotate',
  operationId: 'rotateSigningKey',
  tags: ['admin'],
  summary: 'Rotate the gateway signing key',
  description: 'A new key signs from now on; retired keys stay in the JWKS until their publication window ends.',
  scopes: ['keys:admin'],
  responses: {
    200: {
      description: 'Rotated',
      content: { 'application/json': { schema: z.object({ kid: z.string(), retired: z.array(z.string()) }) } },
    },
    ...errorResponses(401, 403, 409),
  },
});

export function registerAuthRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    tokenRoute,
    async (c) => {
      const form = c.req.valid('form');
      const { tokens, signInGuard } = c.get('services');
      // RFC 6749 §3.2: a parameter sent without a value is treated as omitted.
      const formId = form.client_id || undefined;
      const formSecret = form.client_secret || undefined;
      const basic = parseBasicCredentials(c.req.header('authorization'));
      if (basic === null) throw oauthError('invalid_client', message('auth.basic_invalid'));
      // RFC 6749 §2.3: a client MUST NOT use more than one authentication method in a request.
      if (basic && (formId !== undefined || formSecret !== undefined)) {
        throw oauthError('invalid_request', message('oauth.two_methods'));
      }
      if (form.grant_type !== 'client_credentials') {
        throw oauthError('unsupported_grant_type', message('oauth.grant_type'));
      }
      const credentials = basic ?? (formId && formSecret ? { id: formId, secret: formSecret } : undefined);
      if (!credentials) throw oauthError('invalid_client', message('oauth.client_authentication_required'));
      const address = clientAddress(c);
      const plausible = await signInGuard.admit(address, credentials.id);
      const client = plausible
        ? await c
            .get('services')
            .clientQueries.authenticate(c.get('services').clientSecrets, credentials.id, credentials.secret)
        : null;
      if (!client) {
        await signInGuard.recordFailure(address, credentials.id);
        throw oauthError('invalid_client', message('auth.client_credentials_refused'));
      }

      const requested = form.scope?.split(' ').filter((scope) => scope.length > 0);
      // Without a `scope` parameter a token gets the client's scopes except the explicit-only ones.
      let scopes: Scope[] = client.scopes.filter((scope) => !isExplicitOnlyScope(scope));
      if (requested && requested.length > 0) {
        const refused = requested.filter((scope) => !isScope(scope) || !client.scopes.includes(scope));
        if (refused.length > 0)
          throw oauthError('invalid_scope', message('oauth.scope_not_granted', { scopes: refused.join(' ') }));
        scopes = [...new Set(requested as Scope[])];
      }
      const issued = await tokens.issue(client, scopes);
      c.header('Cache-Control', 'no-store');
      c.header('Pragma', 'no-cache');
      return c.json(
        {
          access_token: issued.accessToken,
          token_type: 'Bearer' as const,
          expires_in: issued.expiresIn,
          scope: scopes.join(' '),
        },
        200,
      );
    },
    (result) => {
      if (!result.success) throw oauthError('invalid_request', message('oauth.parameter_repeated'));
      return undefined;
    },
  );

  app.openapi(jwksRoute, async (c) => {
    c.header('Cache-Control', 'public, max-age=60');
    return c.json(await c.get('services').keys.jwks(), 200);
  });

  app.openapi(createClientRoute, async (c) => {
    const input = c.req.valid('json');
    const principal = c.get('principal');
    const created = await c.get('services').db.transaction(async (tx) => {
      const result = await createClient(tx, c.get('services').clientSecrets, input);
      await recordAudit(tx, {
        actor: principal,
        action: 'client.create',
        outcome: 'allowed',
        requestId: c.get('requestId'),
        fields: [`client:${result.client.id}`],
      });
      return result;
    });
    c.header('Location', `/v1/clients/${created.client.id}`);
    return c.json({ client: clientJson(created.client), clientSecret: created.secret }, 201);
  });

  app.openapi(listClientsRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await listClients(c.get('services').db, {
      limit: query.limit,
      ...(query.after ? { after: query.after } : {}),
    });
    return c.json({ items: page.items.map(clientJson), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getClientRoute, async (c) => {
    const client = await c.get('services').clientQueries.getClient(c.req.valid('param').clientId);
    return c.json(clientJson(client), 200);
  });

  app.openapi(disableClientRoute, async (c) => {
    const { clientId } = c.req.valid('param');
    const principal = c.get('principal');
    const client = await c.get('services').db.transaction(async (tx) => {
      const disabled = await disableClient(tx, clientId);
      await recordAudit(tx, {
        actor: principal,
        action: 'client.disable',
        outcome: 'allowed',
        requestId: c.get('requestId'),
        fields: [`client:${clientId}`],
      });
      return disabled;
    });
    c.get('services').disabledClients.add(clientId);
    return c.json(clientJson(client), 200);
  });

  app.openapi(rotateKeysRoute, async (c) => {
    const { keys, db } = c.get('services');
    if (c.get('services').config.signing.keyFiles) {
      throw new ApiError('conflict', message('auth.keys_from_files'));
    }
    const rotated = await keys.rotate();
    await recordAudit(db, {
      actor: c.get('principal'),
      action: 'keys.rotate',
      outcome: 'allowed',
      requestId: c.get('requestId'),
      fields: [`kid:${rotated.kid}`],
    });
    return c.json(rotated, 200);
  });
}
