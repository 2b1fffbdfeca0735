/**
 * Baseline for the PGlite benchmark: the same hand-written endpoint on its own embedded PGlite
 * (a second instance cannot open the gateway's data directory), holding an equivalent `clients`
 * table and row, read with a plain `pg.query('select ... where id = $1')`.
 *
 * Environment: BASELINE_PORT, BASELINE_HOST, TOKEN_ISSUER, TOKEN_AUDIENCE, PUBLIC_JWK,
 * PGLITE_DATA_DIR (an empty temporary folder), CLIENT_JSON (the row to serve, as the gateway
 * answered it, so both endpoints return identical documents).
 */
import { PGlite } from '@electric-sql/pglite';
import { type ClientRow, requiredEnv, serveBaseline, settingsFromEnv } from './shared.js';

interface ClientJson {
  id: string;
  name: string;
  kind: string;
  scopes: string[];
  departmentCode: string | null;
  createdAt: string;
  disabledAt: string | null;
}

const settings = settingsFromEnv();
const seed = JSON.parse(requiredEnv('CLIENT_JSON')) as ClientJson;
const pg = new PGlite(requiredEnv('PGLITE_DATA_DIR'));
await pg.waitReady;

// The gateway's table definition (gateway/db/migrations/0000_foundation.sql), so the row has the
// same types (enum, text[], timestamptz) and the same primary-key lookup.
await pg.exec(`
  create type client_kind as enum ('window', 'department', 'integrator', 'auditor', 'admin');
  create table clients (
    id text primary key not null,
    name text not null,
    kind client_kind not null,
    scopes text[] not null,
    department_code text,
    secret_hash text not null,
    created_at timestamp with time zone default now() not null,
    disabled_at timestamp with time zone
  );`);
await pg.query(
  `insert into clients (id, name, kind, scopes, department_code, secret_hash, created_at, disabled_at)
   values ($1, $2, $3, $4, $5, 'not-used-by-the-benchmark', $6, $7)`,
  [seed.id, seed.name, seed.kind, seed.scopes, seed.departmentCode, seed.createdAt, seed.disabledAt],
);

await serveBaseline(
  settings,
  async (id) => {
    const result = await pg.query<ClientRow>(
      'select id, name, kind, scopes, department_code, created_at, disabled_at from clients where id = $1',
      [id],
    );
    return result.rows[0];
  },
  () => pg.close(),
);
