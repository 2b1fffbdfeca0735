/**
 * Baseline for the PostgreSQL benchmark: the gateway's `GET /v1/clients/{clientId}` written by
 * hand with hono + jose + one `postgres` (porsager) query on the gateway's own database.
 *
 * Environment: BASELINE_PORT, BASELINE_HOST, TOKEN_ISSUER, TOKEN_AUDIENCE, PUBLIC_JWK (the
 * gateway's public JWK as JSON), DATABASE_URL, DATABASE_POOL_SIZE (same pool size as the gateway).
 */
import postgres from 'postgres';
import { type ClientRow, requiredEnv, serveBaseline, settingsFromEnv } from './shared.js';

const settings = settingsFromEnv();
const sql = postgres(requiredEnv('DATABASE_URL'), {
  max: Number(requiredEnv('DATABASE_POOL_SIZE')),
  connect_timeout: 5,
  onnotice: () => {},
});
// Fail at start, not on the first request, if the database is unreachable.
await sql`select 1`;

await serveBaseline(
  settings,
  async (id) => {
    // Tagged-template queries are prepared and cached per connection by the driver (prepare: true).
    const [row] = await sql<ClientRow[]>`
      select id, name, kind, scopes, department_code, created_at, disabled_at from clients where id = ${id}`;
    return row;
  },
  () => sql.end({ timeout: 2 }),
);
