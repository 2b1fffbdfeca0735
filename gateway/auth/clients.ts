/**
 * The registry of client systems: create, read, list, disable, and authenticate by secret.
 * Transport-free service verbs; routes and the admin command both call these.
 */
import { randomBytes } from 'node:crypto';
import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { DatabaseHandle, Queryable } from '../db/client.js';
import { batchedRead } from '../db/batched-reads.js';
import { clients } from '../db/schema.js';
import { ApiError, message } from '../platform/errors.js';
import { fieldProblem } from '../platform/field-problems.js';
import { type ClientSecrets, generateClientSecret } from './secrets.js';
import { type ClientKind, type Scope, defaultScopesForKind, scopesAllowedForKind } from './scopes.js';

export interface ClientRecord {
  id: string;
  name: string;
  kind: ClientKind;
  scopes: Scope[];
  departmentCode: string | null;
  createdAt: Date;
  disabledAt: Date | null;
}

export interface NewClient {
  name: string;
  kind: ClientKind;
  /** Defaults to the kind's default scopes. Each must be allowed for the kind. */
  scopes?: Scope[];
  departmentCode?: string | null;
  /** Fixed id and secret, for the demo clients only; normally both are generated. */
  id?: string;
  secret?: string;
}

const publicColumns = {
  id: clients.id,
  name: clients.name,
  kind: clients.kind,
  scopes: clients.scopes,
  departmentCode: clients.departmentCode,
  createdAt: clients.createdAt,
  disabledAt: clients.disabledAt,
};

function toRecord(row: { scopes: string[] } & Omit<ClientRecord, 'scopes'>): ClientRecord {
  return { ...row, scopes: row.scopes as Scope[] };
}

export function newClientId(): string {
  return `cli_${randomBytes(10).toString('base64url').replace(/[-_]/g, 'x')}`;
}

/** Checks the kind/scope/department combination and returns the scopes to store. */
export function scopesForNewClient(input: Pick<NewClient, 'kind' | 'scopes' | 'departmentCode'>): Scope[] {
  const allowed = scopesAllowedForKind[input.kind];
  const scopes = input.scopes ?? defaultScopesForKind(input.kind);
  const refused = scopes.filter((scope) => !allowed.includes(scope));
  if (refused.length > 0) {
    throw new ApiError(
      'validation_failed',
      message('client.scopes_not_for_kind', { kind: input.kind, scopes: refused.join(', ') }),
      {
        errors: [
          fieldProblem(
            'scopes',
            `not allowed for kind ${input.kind}: ${refused.join(', ')}`,
            `${input.kind} 类客户端不能持有：${refused.join('、')}`,
          ),
        ],
      },
    );
  }
  if (input.kind === 'department' && !input.departmentCode) {
    throw new ApiError('validation_failed', message('client.department_code_required'), {
      errors: [fieldProblem('departmentCode', 'required for kind department', '部门客户端必须填写部门代码')],
    });
  }
  if (input.kind !== 'department' && input.departmentCode) {
    throw new ApiError('validation_failed', message('client.department_code_departments_only'), {
      errors: [
        fieldProblem('departmentCode', `not allowed for kind ${input.kind}`, `${input.kind} 类客户端不填写部门代码`),
      ],
    });
  }
  return [...new Set(scopes)];
}

export async function createClient(
  db: Queryable,
  secrets: ClientSecrets,
  input: NewClient,
): Promise<{ client: ClientRecord; secret: string }> {
  const scopes = scopesForNewClient(input);
  const secret = input.secret ?? generateClientSecret();
  const [row] = await db
    .insert(clients)
    .values({
      id: input.id ?? newClientId(),
      name: input.name,
      kind: input.kind,
      scopes,
      departmentCode: input.departmentCode ?? null,
      secretHash: secrets.hash(secret),
    })
    .returning(publicColumns);
  if (!row) throw new Error('clients: insert returned no row');
  return { client: toRecord(row), secret };
}

interface ClientRow {
  id: string;
  name: string;
  kind: ClientKind;
  scopes: string[];
  department_code: string | null;
  created_ms: number;
  disabled_ms: number | null;
}

/** Prepared once per database: reading a client by id is on a hot path (admin UIs, benchmarks). */
const signInColumns = { ...publicColumns, secretHash: clients.secretHash };
interface SignInRow {
  id: string;
  name: string;
  kind: ClientKind;
  scopes: string[];
  departmentCode: string | null;
  createdAt: Date;
  disabledAt: Date | null;
  secretHash: string;
}

const CLIENT_BY_ID = `select id, name, kind, scopes, department_code,
    (extract(epoch from created_at) * 1000)::float8 as created_ms, (extract(epoch from disabled_at) * 1000)::float8 as disabled_ms
  from clients where id = $1`;
const CLIENTS_BY_IDS = CLIENT_BY_ID.replace('where id = $1', 'where id = any($1::text[])');

export function prepareClientQueries(database: Pick<DatabaseHandle, 'db' | 'preparedText'>) {
  const signInById = database.db
    .select(signInColumns)
    .from(clients)
    .where(eq(clients.id, sql.placeholder('id')))
    .prepare('client_sign_in');
  // A named prepared statement with the driver's own rows: drizzle's mapping and tracing cost more
  // than the rest of the read (bench "read"). One record is built from the row, nothing in between.
  // Reads arriving together (an admin UI's burst, a load test) share one statement.
  const readRow = batchedRead<string, ClientRow>({
    readOne: (id) => database.preparedText<ClientRow>(CLIENT_BY_ID, [id]),
    readMany: (ids) => database.preparedText<ClientRow>(CLIENTS_BY_IDS, [ids]),
    keyOf: (row) => row.id,
  });
  const read = (id: string): Promise<ClientRecord | undefined> =>
    readRow(id).then((row) =>
      row === undefined
        ? undefined
        : {
            id: row.id,
            name: row.name,
            kind: row.kind,
            // Its own copy: callers of one batched read share the row.
            scopes: [...row.scopes] as Scope[],
            departmentCode: row.department_code,
            // Times as epoch milliseconds: the drivers give timestamps back in different forms.
            createdAt: new Date(Number(row.created_ms)),
            disabledAt: row.disabled_ms === null ? null : new Date(Number(row.disabled_ms)),
          },
    );
  return {
    /** `authenticateClient` with the client read by a prepared statement (the token endpoint's hot path). */
    authenticate(secrets: ClientSecrets, id: string, secret: string): Promise<ClientRecord | null> {
      return authenticateClient(
        database.db,
        secrets,
        id,
        secret,
        async (clientId) => (await signInById.execute({ id: clientId }))[0],
      );
    },
    async getClient(id: string): Promise<ClientRecord> {
      const client = await read(id);
      if (!client) throw new ApiError('not_found', message('client.no_such_id'));
      return client;
    },
  };
}
export type ClientQueries = ReturnType<typeof prepareClientQueries>;

export async function getClient(db: Queryable, id: string): Promise<ClientRecord> {
  const [row] = await db.select(publicColumns).from(clients).where(eq(clients.id, id));
  if (!row) throw new ApiError('not_found', message('client.no_such_id'));
  return toRecord(row);
}

export async function listClients(
  db: Queryable,
  page: { after?: string; limit: number },
): Promise<{ items: ClientRecord[]; nextCursor: string | null }> {
  const rows = await db
    .select(publicColumns)
    .from(clients)
    .where(page.after ? gt(clients.id, page.after) : undefined)
    .orderBy(asc(clients.id))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit).map(toRecord);
  return { items, nextCursor: rows.length > page.limit ? (items.at(-1)?.id ?? null) : null };
}

export async function disableClient(db: Queryable, id: string): Promise<ClientRecord> {
  const [row] = await db
    .update(clients)
    .set({ disabledAt: new Date() })
    .where(and(eq(clients.id, id), isNull(clients.disabledAt)))
    .returning(publicColumns);
  if (row) return toRecord(row);
  return getClient(db, id); // already disabled (idempotent) or 404
}

/**
 * Authenticates a client by id and secret. Unknown ids, wrong secrets and disabled clients take
 * the same time and give the same answer, so the endpoint reveals nothing about which ids exist.
 */
export async function authenticateClient(
  db: Queryable,
  secrets: ClientSecrets,
  id: string,
  secret: string,
  /** The row with its secret hash (a prepared statement on the hot path); default: a plain select. */
  signInRow: (id: string) => Promise<SignInRow | undefined> = async (clientId) =>
    (await db.select(signInColumns).from(clients).where(eq(clients.id, clientId)))[0],
): Promise<ClientRecord | null> {
  const row = await signInRow(id);
  const check = await secrets.verify(secret, row?.secretHash);
  if (!row || !check.matches || row.disabledAt) return null;
  if (check.rehash) {
    // An older (scrypt) hash: replaced by the keyed hash now that the secret is known to match,
    // unless another sign-in got there first.
    await db
      .update(clients)
      .set({ secretHash: secrets.hash(secret) })
      .where(and(eq(clients.id, id), eq(clients.secretHash, row.secretHash)));
  }
  const { secretHash: _secretHash, ...rest } = row;
  return toRecord(rest);
}
