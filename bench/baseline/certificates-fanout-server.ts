/**
 * Baseline of the cold certificate fetch (`npm run bench:certificates`, part b): the least code
 * that answers `POST /v1/subjects/{subjectId}/certificates` with `refresh: true` by asking the
 * issuing departments — hono, the token and purpose checks, then the departments' own protocols
 * over undici, every type in parallel under one deadline, as the gateway's adapters speak them:
 *
 *   PSB (population registry, resident_id_card and household_register): one HMAC-signed GET per
 *   type (`signatureHeaders`, fresh time stamp and nonce), JSON envelope with code 0000, the
 *   record's ID number checked, the base64 PDF decoded and checked;
 *   NRB (real-estate registry, real_estate_certificate): an OAuth client-credentials token
 *   (cached until shortly before it expires), POST the certificate query (202, a job), poll the
 *   job with the same backoff as the adapter's options until SUCCEEDED, read every result page,
 *   choose the certificate (`chooseCertificate`), GET its document, check SHA-256 and PDF.
 *
 * It stores nothing (no database at all: the subject's ID number and name come from
 * BASELINE_SUBJECTS, given at start) and checks no contract; the adapters' own protocol, signing
 * and mapping helpers are imported, the SDK client is not. Each answer carries the metadata and
 * the SHA-256 of each document.
 *
 * Environment: see certificates-shared.ts, plus PSB_URL, PSB_APP_KEY, PSB_APP_SECRET, NRB_URL,
 * NRB_CLIENT_ID, NRB_CLIENT_SECRET, NRB_POLL_INITIAL_MS, NRB_POLL_MAX_MS, DEPARTMENT_CONNECTIONS,
 * FETCH_DEADLINE_MS, BASELINE_SUBJECTS (JSON: {subjectId: {idNumber, name}}).
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Hono } from 'hono';
import { Pool } from 'undici';
import {
  certificateMetadata,
  chooseCertificate,
  holderEntry,
  REAL_ESTATE_CERTIFICATE,
} from '../../adapters/nrb-realestate/mapping.js';
import {
  NRB_PATHS,
  NRB_TOKEN_PATH,
  type CertificateDocumentWire,
  type CertificateQueryWireRequest,
  type CertificateRecordWire,
  type QueryJobWire,
  type ResultPageWire,
  type TokenWireResponse,
} from '../../adapters/nrb-realestate/protocol.js';
import {
  HOUSEHOLD_REGISTER,
  householdRegisterMetadata,
  RESIDENT_ID_CARD,
  residentIdCardMetadata,
} from '../../adapters/psb-population/mapping.js';
import {
  PSB_PATHS,
  psbCodes,
  signatureHeaders,
  type HouseholdRegisterWire,
  type PsbEnvelope,
  type ResidentIdCardWire,
} from '../../adapters/psb-population/protocol.js';
import type { CertificateMetadata } from '../../adapters/sdk/types.js';
import { createTokenCheck, hasPurpose, requestedTypes, serveUntilStopped } from './certificates-shared.js';
import { requiredEnv, settingsFromEnv } from './shared.js';

interface Person {
  idNumber: string;
  name: string;
}

interface Fetched {
  metadata: CertificateMetadata;
  document: Buffer;
}

const settings = settingsFromEnv();
const subjects = new Map(Object.entries(JSON.parse(requiredEnv('BASELINE_SUBJECTS')) as Record<string, Person>));
const connections = Number(requiredEnv('DEPARTMENT_CONNECTIONS'));
const deadlineMs = Number(requiredEnv('FETCH_DEADLINE_MS'));
const psb = {
  pool: new Pool(requiredEnv('PSB_URL'), { connections }),
  credentials: { appKey: requiredEnv('PSB_APP_KEY'), appSecret: requiredEnv('PSB_APP_SECRET') },
};
const nrb = {
  pool: new Pool(requiredEnv('NRB_URL'), { connections }),
  clientId: requiredEnv('NRB_CLIENT_ID'),
  clientSecret: requiredEnv('NRB_CLIENT_SECRET'),
  pollInitialMs: Number(requiredEnv('NRB_POLL_INITIAL_MS')),
  pollMaxMs: Number(requiredEnv('NRB_POLL_MAX_MS')),
};
/** The adapter's defaults: polls at most, result page size. */
const MAX_POLLS = 20;
const PAGE_SIZE = 20;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const EMPTY = new Uint8Array(0);

function pdfFromBase64(text: string, what: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (!BASE64.test(compact)) throw new Error(`${what}: the document is not base64`);
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.subarray(0, 5).toString('latin1') !== '%PDF-') throw new Error(`${what}: the document is not a PDF`);
  return bytes;
}

// ---- PSB: one signed GET per certificate ----

async function fetchFromPsb(type: string, person: Person, signal: AbortSignal): Promise<Fetched | null> {
  const sfzh = person.idNumber.toUpperCase();
  const path = `${type === RESIDENT_ID_CARD ? PSB_PATHS.residentIdCard : PSB_PATHS.householdRegister}?${new URLSearchParams({ sfzh }).toString()}`;
  const response = await psb.pool.request({
    method: 'GET',
    path,
    headers: {
      accept: 'application/json',
      'x-request-id': randomUUID(),
      ...signatureHeaders(psb.credentials, { method: 'GET', target: path, body: EMPTY }, Date.now()),
    },
    signal,
  });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`PSB answered HTTP ${response.statusCode}`);
  }
  const envelope = (await response.body.json()) as PsbEnvelope<ResidentIdCardWire & HouseholdRegisterWire>;
  if (envelope.code === psbCodes.personNotFound || envelope.code === psbCodes.householdNotFound) return null;
  if (envelope.code !== psbCodes.success || envelope.data === null)
    throw new Error(`PSB answered code ${envelope.code}`);
  if (envelope.data.sfzh.trim().toUpperCase() !== sfzh) throw new Error('PSB answered about another person');
  const metadata =
    type === RESIDENT_ID_CARD ? residentIdCardMetadata(envelope.data) : householdRegisterMetadata(envelope.data);
  return { metadata, document: pdfFromBase64(envelope.data.wjnr, 'PSB') };
}

// ---- NRB: token, query job, polls, result pages, document ----

let nrbToken: { token: string; refreshAtMs: number } | null = null;
let nrbTokenRequest: Promise<string> | null = null;

/** The cached token, or one shared request for a new one (30 s before expiry, at most half its life). */
function tokenForNrb(): Promise<string> {
  if (nrbToken && Date.now() < nrbToken.refreshAtMs) return Promise.resolve(nrbToken.token);
  nrbTokenRequest ??= (async () => {
    const response = await nrb.pool.request({
      method: 'POST',
      path: NRB_TOKEN_PATH,
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: nrb.clientId,
        client_secret: nrb.clientSecret,
      }).toString(),
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`NRB token endpoint answered HTTP ${response.statusCode}`);
    }
    const issued = (await response.body.json()) as TokenWireResponse;
    const lifetimeMs = issued.expires_in * 1000;
    nrbToken = { token: issued.access_token, refreshAtMs: Date.now() + lifetimeMs - Math.min(30_000, lifetimeMs / 2) };
    return issued.access_token;
  })().finally(() => {
    nrbTokenRequest = null;
  });
  return nrbTokenRequest;
}

async function nrbCall<Body>(
  method: 'GET' | 'POST',
  path: string,
  expected: number,
  signal: AbortSignal,
  body?: unknown,
): Promise<Body> {
  const token = await tokenForNrb();
  const response = await nrb.pool.request({
    method,
    path,
    headers: {
      accept: 'application/json',
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json;charset=UTF-8' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal,
  });
  if (response.statusCode !== expected) {
    await response.body.dump();
    throw new Error(`NRB ${method} ${path} answered HTTP ${response.statusCode}`);
  }
  return (await response.body.json()) as Body;
}

async function fetchFromNrb(person: Person, signal: AbortSignal): Promise<Fetched | null> {
  const party = { idType: 'ID_CARD' as const, idNumber: person.idNumber.toUpperCase(), name: person.name };
  const query: CertificateQueryWireRequest = { idType: party.idType, idNumber: party.idNumber, holderName: party.name };
  let job = await nrbCall<QueryJobWire>('POST', NRB_PATHS.certificateQueries, 202, signal, query);
  // The adapter's backoff: wait, poll, double the wait up to the maximum.
  let delay = nrb.pollInitialMs;
  for (let polls = 0; (job.status === 'PENDING' || job.status === 'RUNNING') && polls < MAX_POLLS; polls += 1) {
    await sleep(delay, undefined, { signal });
    job = await nrbCall<QueryJobWire>('GET', NRB_PATHS.job(job.jobId), 200, signal);
    delay = Math.min(delay * 2, nrb.pollMaxMs);
  }
  if (job.status !== 'SUCCEEDED') throw new Error(`NRB query job ended ${job.status}`);
  if (job.totalCount === 0) return null;
  const records: CertificateRecordWire[] = [];
  for (let page = 1, pages = 1; page <= pages; page += 1) {
    const result = await nrbCall<ResultPageWire>('GET', NRB_PATHS.jobResults(job.jobId, page, PAGE_SIZE), 200, signal);
    if (result.items.some((record) => holderEntry(record, party) === undefined))
      throw new Error('NRB answered with another holder');
    pages = result.totalPages;
    records.push(...result.items);
  }
  const chosen = chooseCertificate(records);
  const holder = chosen === undefined ? undefined : holderEntry(chosen, party);
  if (chosen === undefined || holder === undefined) return null;
  const document = await nrbCall<CertificateDocumentWire>(
    'GET',
    NRB_PATHS.certificateDocument(chosen.certificateId),
    200,
    signal,
  );
  const bytes = pdfFromBase64(document.fileContent, 'NRB');
  if (createHash('sha256').update(bytes).digest('hex') !== document.sha256)
    throw new Error('NRB document does not match its SHA-256');
  return { metadata: certificateMetadata(chosen, holder), document: bytes };
}

// ---- the endpoint ----

const departmentOf = (type: string): 'PSB' | 'NRB' | null =>
  type === RESIDENT_ID_CARD || type === HOUSEHOLD_REGISTER ? 'PSB' : type === REAL_ESTATE_CERTIFICATE ? 'NRB' : null;

const checkToken = await createTokenCheck(settings, 'certificates:read');
const app = new Hono();
app.get('/healthz', (c) => c.json({ status: 'ok' }));
app.post('/v1/subjects/:subjectId/certificates', async (c) => {
  const refused = await checkToken(c.req.header('authorization'));
  if (refused) return c.json({ code: refused.code }, refused.status);
  if (!hasPurpose((name) => c.req.header(name))) return c.json({ code: 'purpose_required' }, 400);
  const types = requestedTypes(await c.req.json().catch(() => null));
  if (!types || types.some((type) => departmentOf(type) === null)) return c.json({ code: 'validation_failed' }, 400);
  const subjectId = c.req.param('subjectId');
  const person = subjects.get(subjectId);
  if (!person) return c.json({ code: 'not_found' }, 404);

  const signal = AbortSignal.any([AbortSignal.timeout(deadlineMs), c.req.raw.signal]);
  const results = await Promise.all(
    types.map(async (type) => {
      const department = departmentOf(type);
      try {
        const fetched =
          department === 'PSB' ? await fetchFromPsb(type, person, signal) : await fetchFromNrb(person, signal);
        if (!fetched) return { certificateType: type, status: 'not_found', department, source: null };
        return {
          certificateType: type,
          status: 'ok',
          department,
          source: 'department',
          certificate: fetched.metadata,
          content: {
            sha256: createHash('sha256').update(fetched.document).digest('hex'),
            mediaType: 'application/pdf',
            size: fetched.document.byteLength,
          },
        };
      } catch (error) {
        return {
          certificateType: type,
          status: 'department_error',
          department,
          source: null,
          error: error instanceof Error ? error.message : String(error),
        };
      }
    }),
  );
  return c.json({ subjectId, deadlineMs, results });
});

await serveUntilStopped(app, settings, async () => {
  await Promise.all([psb.pool.close(), nrb.pool.close()]);
});
