/**
 * A gateway started with SIGNING_ALG=SM2 (issue 21): its JWKS publishes an SM2 key, the access
 * tokens it issues are accepted by its own routes, its certificate envelopes carry the document's
 * SM3 digest and verify at its verify endpoint and with OpenSSL's command line (the independent
 * implementation, given only the JWKS), tampering is refused, audit checkpoints are SM2-signed and
 * verified (in process and by `npm run audit:verify`), keys come from OpenSSL-made files too, and
 * after a key rotation what the old key signed still verifies.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { desc } from 'drizzle-orm';
import { calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  startPsbPopulationSimulator,
} from '../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import { readTrustedKeyFile } from '../gateway/audit/checkpoint-keys.js';
import { sealAll, sealPendingEntries } from '../gateway/audit/sealer.js';
import { verifyAuditChain } from '../gateway/audit/verify.js';
import { signCompactJws } from '../gateway/auth/jws.js';
import { TokenRejected } from '../gateway/auth/tokens.js';
import { accessRequests, auditCheckpoints } from '../gateway/db/schema.js';
import { type TestGateway, bearer, createTestGateway, problemOf, testPostgresUrl } from './harness.js';
import { opensslVerifySm2Jws, opensslVersion } from './support/openssl-sm2.js';

const run = promisify(execFile);
const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const json = { 'content-type': 'application/json' };
const forCase = { 'onewindow-purpose': 'case_acceptance', 'onewindow-case-ref': 'CASE-SM2' };

interface PublishedJwk {
  kty: string;
  crv: string;
  x: string;
  y: string;
  kid: string;
  alg: string;
  use: string;
}

let psb: RunningSimulator;
let gw: TestGateway;
let windowToken: string;
let subjectId: string;

async function jwks(): Promise<PublishedJwk[]> {
  const response = await gw.request('/.well-known/jwks.json');
  expect(response.status).toBe(200);
  return ((await response.json()) as { keys: PublishedJwk[] }).keys;
}

async function publishedKey(kid: string): Promise<PublishedJwk> {
  const key = (await jwks()).find((candidate) => candidate.kid === kid);
  if (!key) throw new Error(`kid ${kid} is not in the JWKS`);
  return key;
}

async function fetchEnvelope(refresh: boolean): Promise<{ envelope: string; materialId: string }> {
  const response = await gw.request(`/v1/subjects/${subjectId}/certificates`, {
    method: 'POST',
    headers: bearer(windowToken, { ...forCase, ...json }),
    body: JSON.stringify({ types: ['resident_id_card'], refresh }),
  });
  expect(response.status).toBe(200);
  const [answer] = ((await response.json()) as { results: { envelope: string; material: { id: string } }[] }).results;
  if (!answer?.envelope) throw new Error('no envelope');
  return { envelope: answer.envelope, materialId: answer.material.id };
}

function verifyEnvelope(envelope: string): Promise<Response> {
  return gw.request('/v1/certificates/verify', { method: 'POST', headers: json, body: JSON.stringify({ envelope }) });
}

beforeAll(async () => {
  expect(await opensslVersion()).toMatch(/^OpenSSL 3\./);
  psb = await startPsbPopulationSimulator();
  gw = await createTestGateway({
    SIGNING_ALG: 'SM2',
    DEPARTMENTS_JSON: JSON.stringify([
      {
        code: 'PSB',
        name: 'Population registry',
        adapter: 'psb-population',
        baseUrl: psb.url,
        options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
        tuning: { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 },
      },
    ]),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  // The token comes from the token endpoint, as a window system gets it.
  const window = await gw.createClient('window', {
    scopes: ['subjects:read', 'subjects:write', 'certificates:read', 'materials:read'],
  });
  const issued = await gw.request('/oauth/token', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${Buffer.from(`${window.client.id}:${window.secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  expect(issued.status).toBe(200);
  windowToken = ((await issued.json()) as { access_token: string }).access_token;
  const now = new Date();
  await gw.services.db.insert(accessRequests).values({
    id: 'acr_test_sm2',
    resourceCode: 'psb.population',
    clientId: window.client.id,
    purpose: 'fetch certificates at the window',
    legalBasis: 'test',
    status: 'approved',
    requestedAt: now,
    decidedAt: now,
    decidedByClientId: 'cli_test_department',
  });
  const resolved = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(windowToken, { ...forCase, ...json }),
    body: JSON.stringify({ identifierType: 'resident_id', ...ZHANG_SAN }),
  });
  expect(resolved.status).toBeLessThan(300);
  subjectId = ((await resolved.json()) as { id: string }).id;
});

afterAll(async () => {
  await gw?.close();
  await psb?.close();
});

/** This process's environment without its database settings: the command gets the test's own. */
function inheritedEnvironment(): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => key !== 'DATABASE_URL' && key !== 'PGLITE_DATA_DIR'),
  );
}

describe('a gateway with SIGNING_ALG=SM2', () => {
  it('publishes its SM2 key in the JWKS as kty EC, crv SM2, alg SM2SM3', async () => {
    expect(gw.config.signing.alg).toBe('SM2SM3');
    const [key, ...others] = await jwks();
    expect(others).toEqual([]);
    expect(key).toEqual({
      kty: 'EC',
      crv: 'SM2',
      x: expect.stringMatching(/^[\w-]{43}$/),
      y: expect.stringMatching(/^[\w-]{43}$/),
      kid: expect.any(String),
      alg: 'SM2SM3',
      use: 'sig',
    });
  });

  it('issues SM2SM3 access tokens that its own routes accept and OpenSSL verifies; an altered token is refused', async () => {
    const header = decodeProtectedHeader(windowToken);
    expect(header).toMatchObject({ alg: 'SM2SM3', typ: 'at+jwt' });
    expect(await opensslVerifySm2Jws(windowToken, await publishedKey(String(header.kid)))).toMatchObject({
      verified: true,
    });
    const accepted = await gw.request(`/v1/subjects/${subjectId}`, { headers: bearer(windowToken, forCase) });
    expect(accepted.status).toBe(200);

    const [encodedHeader, payload, signature] = windowToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: `${String(claims['scope'])} keys:admin` }));
    const altered = `${encodedHeader}.${widened.toString('base64url')}.${signature}`;
    const refused = await gw.request(`/v1/subjects/${subjectId}`, { headers: bearer(altered, forCase) });
    expect(refused.status).toBe(401);
    // Same for a token whose signature was changed in one bit.
    const raw = Buffer.from(signature, 'base64url');
    raw[10] = (raw[10] as number) ^ 1;
    const flipped = `${encodedHeader}.${payload}.${raw.toString('base64url')}`;
    expect((await gw.request(`/v1/subjects/${subjectId}`, { headers: bearer(flipped, forCase) })).status).toBe(401);
  });

  it('checks the claims of SM2 tokens as jose does for ES256: issuer, audience, expiry, not-before, required claims', async () => {
    const active = await gw.services.keys.activeKey();
    const now = Math.floor(Date.now() / 1000);
    const base = {
      client_id: 'cli_sm2',
      scope: 'subjects:read',
      kind: 'window',
      iss: gw.config.issuer,
      aud: gw.config.audience,
      sub: 'cli_sm2',
      iat: now,
      nbf: now,
      exp: now + 60,
      jti: 'tok_sm2',
    };
    const sign = (claims: Record<string, unknown>, header: Record<string, string> = {}) =>
      signCompactJws(
        { alg: active.alg, kid: active.kid, typ: 'at+jwt', ...header },
        new TextEncoder().encode(JSON.stringify(claims)),
        active.signKey,
      );
    const reason = (token: string) =>
      gw.services.tokens.verify(token).then(
        () => 'accepted',
        (error: unknown) => (error instanceof TokenRejected ? error.reason : String(error)),
      );
    expect(await reason(await sign(base))).toBe('accepted');
    const { jti: _jti, ...withoutJti } = base;
    const cases: [string, Record<string, unknown>, string][] = [
      ['expired', { ...base, iat: now - 600, nbf: now - 600, exp: now - 300 }, 'ERR_JWT_EXPIRED'],
      ['wrong issuer', { ...base, iss: 'https://elsewhere.example' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      ['wrong audience', { ...base, aud: 'another-api' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      ['not yet valid', { ...base, nbf: now + 600, exp: now + 660, iat: now }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      ['without jti', withoutJti, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      ['issued in the future', { ...base, iat: now + 600, nbf: now, exp: now + 660 }, 'issued in the future'],
    ];
    for (const [, claims, expected] of cases) expect(await reason(await sign(claims))).toBe(expected);
  });

  it('signs certificate envelopes with SM2 over the SM3 digest of the document; the verify endpoint and OpenSSL accept them, tampering is refused', async () => {
    const { envelope, materialId } = await fetchEnvelope(false);
    const header = decodeProtectedHeader(envelope);
    expect(header).toMatchObject({ alg: 'SM2SM3', typ: 'onewindow-certificate+jws' });
    const [headerPart, payloadPart, signaturePart] = envelope.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString()) as {
      content: { sha256: string; sm3: string };
      certificate: Record<string, unknown>;
    };
    // The SM3 digest signed is the one of the very bytes the gateway serves.
    const download = await gw.request(`/v1/subjects/${subjectId}/materials/${materialId}/content`, {
      headers: bearer(windowToken, forCase),
    });
    expect(download.status).toBe(200);
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(claims.content.sm3).toBe(createHash('sm3').update(bytes).digest('hex'));
    expect(claims.content.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));

    const good = await verifyEnvelope(envelope);
    expect(good.status).toBe(200);
    expect(await good.json()).toMatchObject({ valid: true, signature: 'valid' });
    const published = await publishedKey(String(header.kid));
    expect(await opensslVerifySm2Jws(envelope, published)).toMatchObject({ verified: true });

    claims.certificate['validUntil'] = '2099-12-31';
    const altered = `${headerPart}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signaturePart}`;
    expect(await problemOf(await verifyEnvelope(altered))).toMatchObject({ code: 'envelope_signature_invalid' });
    expect((await opensslVerifySm2Jws(altered, published)).verified).toBe(false);
    // An ES256 header on the SM2 key's kid is refused, not verified some other way.
    const es256Header = Buffer.from(JSON.stringify({ ...header, alg: 'ES256' })).toString('base64url');
    expect(await problemOf(await verifyEnvelope(`${es256Header}.${payloadPart}.${signaturePart}`))).toMatchObject({
      code: 'envelope_signature_invalid',
    });
  });

  it('signs audit checkpoints with its SM2 checkpoint key; the chain verifies with it and with the public key file, and OpenSSL verifies the signature', async () => {
    const { signer, trustedKeys } = gw.services.audit;
    expect(signer.alg).toBe('SM2SM3');
    // The background sealer may have sealed already (it runs every second): seal what is left, then
    // take the newest checkpoint, whoever signed it.
    await sealPendingEntries(gw.services.db, signer);
    const [checkpoint] = await gw.services.db
      .select()
      .from(auditCheckpoints)
      .orderBy(desc(auditCheckpoints.seq))
      .limit(1);
    if (!checkpoint) throw new Error('no checkpoint');
    expect(decodeProtectedHeader(checkpoint.signature)).toMatchObject({ alg: 'SM2SM3', kid: signer.kid });
    expect(await opensslVerifySm2Jws(checkpoint.signature, signer.publicJwk)).toMatchObject({ verified: true });

    const verified = await verifyAuditChain(gw.services.db, { trustedKeys });
    expect(verified).toMatchObject({ ok: true, firstProblem: null });
    expect(verified.checkpointsChecked).toBeGreaterThan(0);
    // What an auditor is handed: the PEM public key written beside the key file (audit:verify --trusted-keys).
    expect(await readFile(signer.publicKeyFile, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const [fromFile] = await readTrustedKeyFile(signer.publicKeyFile);
    expect(fromFile).toMatchObject({ kid: signer.kid, alg: 'SM2SM3' });
  });

  it('after a key rotation signs with the new key, and tokens and envelopes of the old key still verify', async () => {
    const oldToken = windowToken;
    const { envelope: oldEnvelope } = await fetchEnvelope(false);
    const oldKid = String(decodeProtectedHeader(oldEnvelope).kid);

    const adminToken = await gw.tokenFor('admin', ['keys:admin']);
    const rotated = await gw.request('/v1/keys/rotate', { method: 'POST', headers: bearer(adminToken) });
    expect(rotated.status).toBe(200);
    const { kid: newKid, retired } = (await rotated.json()) as { kid: string; retired: string[] };
    expect(retired).toEqual([oldKid]);
    expect((await jwks()).map((key) => key.kid).sort()).toEqual([newKid, oldKid].sort());

    expect((await gw.request(`/v1/subjects/${subjectId}`, { headers: bearer(oldToken, forCase) })).status).toBe(200);
    expect(await (await verifyEnvelope(oldEnvelope)).json()).toMatchObject({ valid: true, signature: 'valid' });

    const { envelope: newEnvelope } = await fetchEnvelope(true);
    expect(decodeProtectedHeader(newEnvelope)).toMatchObject({ alg: 'SM2SM3', kid: newKid });
    expect(await (await verifyEnvelope(newEnvelope)).json()).toMatchObject({ valid: true, signature: 'valid' });
    expect(await opensslVerifySm2Jws(newEnvelope, await publishedKey(newKid))).toMatchObject({ verified: true });
    const newToken = await gw.tokenFor('window', ['subjects:read']);
    expect(decodeProtectedHeader(newToken)).toMatchObject({ alg: 'SM2SM3', kid: newKid });
    expect((await gw.request(`/v1/subjects/${subjectId}`, { headers: bearer(newToken, forCase) })).status).toBe(200);
  });

  it('takes SM2 keys from PKCS#8 files made by OpenSSL (the first signs, the others stay verifiable)', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'onewindow-sm2-keys-'));
    const files = [join(folder, 'active.pem'), join(folder, 'previous.pem')];
    for (const file of files) await run('openssl', ['genpkey', '-algorithm', 'SM2', '-out', file]);
    const fileGateway = await createTestGateway({ SIGNING_ALG: 'SM2', SIGNING_KEY_FILES: files.join(',') });
    try {
      const keys = ((await (await fileGateway.request('/.well-known/jwks.json')).json()) as { keys: PublishedJwk[] })
        .keys;
      expect(keys.map((key) => [key.crv, key.alg])).toEqual([
        ['SM2', 'SM2SM3'],
        ['SM2', 'SM2SM3'],
      ]);
      for (const key of keys) expect(key.kid).toBe((await calculateJwkThumbprint(key)).slice(0, 16));
      const token = await fileGateway.tokenFor('admin');
      expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'SM2SM3', kid: keys[0]?.kid });
      expect((await opensslVerifySm2Jws(token, keys[0] ?? {})).verified).toBe(true);
      expect((await fileGateway.request('/v1/clients', { headers: bearer(token) })).status).toBe(200);
    } finally {
      await fileGateway.close();
      await rm(folder, { recursive: true, force: true });
    }
  }, 120_000);

  it('npm run audit:verify verifies the SM2-signed chain with the PEM public key, and not with a stranger SM2 key', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'onewindow-sm2-audit-'));
    const pgliteDir = await mkdtemp(join(tmpdir(), 'onewindow-sm2-audit-db-'));
    // PGlite: a folder the command opens after the gateway closed it (one process at a time);
    // PostgreSQL (DATABASE_URL set): the gateway's own fresh database.
    let environment: Record<string, string> = { PGLITE_DATA_DIR: pgliteDir, DATA_DIR: dataDir, SIGNING_ALG: 'SM2' };
    let sealing: TestGateway | undefined;
    try {
      sealing = await createTestGateway(testPostgresUrl ? { DATA_DIR: dataDir, SIGNING_ALG: 'SM2' } : environment);
      const { signer, witness } = sealing.services.audit;
      await sealAll(sealing.services.db, signer, { witness });
      const database = sealing.config.database;
      if (database.kind === 'postgres') {
        // Its database lives as long as the gateway: the command reads it while it is open.
        environment = { DATABASE_URL: database.url, DATA_DIR: dataDir, SIGNING_ALG: 'SM2' };
      } else {
        await sealing.close();
        sealing = undefined;
      }
      const stranger = join(dataDir, 'stranger.pem');
      await run('openssl', ['genpkey', '-algorithm', 'SM2', '-out', stranger]);
      const auditVerify = (trusted: string) =>
        run(process.execPath, ['--import', 'tsx', 'gateway/cli/verify-audit.ts', '--trusted-keys', trusted, '--json'], {
          env: { ...inheritedEnvironment(), ...environment },
          timeout: 120_000,
        }).then(
          ({ stdout }) => ({
            code: 0,
            report: JSON.parse(stdout) as { verified: boolean; trust: { trustedKeys: string[] } },
          }),
          (error: { code?: number; stdout?: string }) => ({
            code: error.code ?? -1,
            report: JSON.parse(error.stdout || '{}') as { verified?: boolean; firstProblem?: { kind: string } },
          }),
        );
      const trusted = await auditVerify(signer.publicKeyFile);
      expect(trusted.code).toBe(0);
      expect(trusted.report).toMatchObject({ verified: true, trust: { trustedKeys: [signer.kid] } });
      const untrusted = await auditVerify(stranger);
      expect(untrusted.code).toBe(1);
      expect(untrusted.report).toMatchObject({ verified: false, firstProblem: { kind: 'untrusted_key' } });
    } finally {
      await sealing?.close();
      await rm(dataDir, { recursive: true, force: true });
      await rm(pgliteDir, { recursive: true, force: true });
    }
  }, 180_000);
});
