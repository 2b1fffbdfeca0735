/**
 * Baseline of the case submission benchmark (`npm run bench:cases`, part a): the least code that
 * does the durable work of opening and submitting a case, written by hand with hono and one
 * `postgres` (porsager) pool on the gateway's own database, same pool size:
 *
 *   POST /cases              {itemCode, subjectId, form}  → 201 {id, status: "open"}
 *        one insert of the case row;
 *   POST /cases/:id/submit   header Idempotency-Key        → 200 {id, status: "submitted", deliveryId}
 *        one transaction: the case row marked submitted (only if still open), one outbox row for
 *        its department, and the key with its answer; a repeated key gets the stored answer.
 *
 * Both check the bearer token as the gateway does (ES256 with the gateway's public key, scope
 * `cases:write`, verified tokens cached until they expire: `certificates-shared.ts`). Nothing
 * else: no request id, access log, metrics, schema validation, item catalogue, one-time notice,
 * material reuse, case number, working-day calendar, timeline, audit entry, and no delivery to
 * a department — that is what the benchmark measures.
 *
 * The tables live in a schema of their own (`bench_baseline`), created at start.
 *
 * Environment: BASELINE_PORT, BASELINE_HOST, TOKEN_ISSUER, TOKEN_AUDIENCE, PUBLIC_JWK,
 * BASELINE_TOKEN_CACHE (see shared.ts), DATABASE_URL, DATABASE_POOL_SIZE. Not part of the
 * product, so it reads `process.env`.
 */
import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import postgres from 'postgres';
import { createTokenCheck, serveUntilStopped } from './certificates-shared.js';
import { requiredEnv, settingsFromEnv } from './shared.js';

const settings = settingsFromEnv();
const checkToken = await createTokenCheck(settings, 'cases:write');
const sql = postgres(requiredEnv('DATABASE_URL'), {
  max: Number(requiredEnv('DATABASE_POOL_SIZE')),
  connect_timeout: 5,
  onnotice: () => {},
});

await sql.unsafe(`
  create schema if not exists bench_baseline;
  create table if not exists bench_baseline.cases (
    id text primary key,
    item_code text not null,
    subject_id text not null,
    form jsonb not null,
    status text not null default 'open',
    opened_at timestamptz not null default now(),
    submitted_at timestamptz
  );
  create table if not exists bench_baseline.outbox (
    id text primary key,
    case_id text not null references bench_baseline.cases (id),
    department_code text not null,
    status text not null default 'pending',
    created_at timestamptz not null default now()
  );
  create table if not exists bench_baseline.idempotency_keys (
    key text primary key,
    answer jsonb not null,
    created_at timestamptz not null default now()
  );`);

/** The one department the benchmark's item goes to. */
const DEPARTMENT = 'PSB';
const UNIQUE_VIOLATION = '23505';

const newId = (prefix: string): string => `${prefix}_${randomBytes(12).toString('base64url')}`;

const app = new Hono();
app.get('/healthz', (c) => c.json({ ok: true }));

app.use('*', async (c, next) => {
  if (c.req.path === '/healthz') return next();
  const refusal = await checkToken(c.req.header('authorization'));
  if (refusal) return c.json({ code: refusal.code }, refusal.status);
  await next();
});

app.post('/cases', async (c) => {
  const body: unknown = await c.req.json().catch(() => null);
  if (typeof body !== 'object' || body === null) return c.json({ code: 'validation_failed' }, 400);
  const { itemCode, subjectId, form } = body as { itemCode?: unknown; subjectId?: unknown; form?: unknown };
  if (typeof itemCode !== 'string' || typeof subjectId !== 'string') return c.json({ code: 'validation_failed' }, 400);
  const id = newId('case');
  await sql`insert into bench_baseline.cases (id, item_code, subject_id, form) values (${id}, ${itemCode}, ${subjectId}, ${sql.json((form ?? {}) as postgres.JSONValue)})`;
  return c.json({ id, status: 'open' }, 201);
});

app.post('/cases/:id/submit', async (c) => {
  const key = c.req.header('idempotency-key');
  if (!key) return c.json({ code: 'idempotency_key_required' }, 400);
  const caseId = c.req.param('id');
  const deliveryId = newId('dlv');
  const answer = { id: caseId, status: 'submitted', deliveryId };
  try {
    const outcome = await sql.begin(async (tx) => {
      const updated =
        await tx`update bench_baseline.cases set status = 'submitted', submitted_at = now() where id = ${caseId} and status = 'open' returning id`;
      if (updated.length === 0) return 'not_open' as const;
      await tx`insert into bench_baseline.outbox (id, case_id, department_code) values (${deliveryId}, ${caseId}, ${DEPARTMENT})`;
      await tx`insert into bench_baseline.idempotency_keys (key, answer) values (${key}, ${tx.json(answer)})`;
      return 'submitted' as const;
    });
    if (outcome === 'submitted') return c.json(answer, 200);
  } catch (error) {
    // The key is known: the whole transaction rolled back; answer what the first request got.
    if (!(error instanceof postgres.PostgresError && error.code === UNIQUE_VIOLATION)) throw error;
  }
  const [stored] = await sql<
    { answer: Record<string, unknown> }[]
  >`select answer from bench_baseline.idempotency_keys where key = ${key}`;
  if (stored) return c.json(stored.answer, 200);
  return c.json({ code: 'case_not_open' }, 409);
});

await serveUntilStopped(app, settings, () => sql.end({ timeout: 2 }));
