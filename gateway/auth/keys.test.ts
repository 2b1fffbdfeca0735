/**
 * Token and certificate-envelope keys kept in the database: only sealed with the key-encryption
 * key file, and a key row someone adds, copies or alters in the database is never published nor
 * trusted. Runs on in-memory PGlite by default and on PostgreSQL when DATABASE_URL is set.
 */
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import {
  CompactEncrypt,
  CompactSign,
  SignJWT,
  base64url,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JWK,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestGateway, problemOf, type TestGateway } from '../../test/harness.js';
import { CERTIFICATE_ENVELOPE_TYPE } from '../certificates/envelope.js';
import { rowsOf } from '../db/client.js';
import { PrivateFileError } from '../platform/private-files.js';
import { KeyEncryptionKeyMismatchError, KeyStore } from './keys.js';

let gw: TestGateway;
const folders: string[] = [];

function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'ow-keys-test-'));
  folders.push(folder);
  return folder;
}

beforeAll(async () => {
  gw = await createTestGateway();
});

afterAll(async () => {
  await gw?.close();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

interface KeyRow {
  kid: string;
  alg: string;
  public_jwk: JWK;
  sealed_private_key: string | null;
}

async function keyRows(): Promise<KeyRow[]> {
  return rowsOf<KeyRow>(
    await gw.services.db.execute(
      sql`select kid, alg, public_jwk, sealed_private_key from signing_keys order by created_at`,
    ),
  );
}

async function publishedKids(): Promise<string[]> {
  const response = await gw.request('/.well-known/jwks.json');
  return ((await response.json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
}

/** A token as the gateway mints them, signed with `key` under `kid`: what a forger holding a key of their own would send. */
async function forgedToken(key: Parameters<SignJWT['sign']>[0], kid: string): Promise<string> {
  return new SignJWT({ client_id: 'cli_forged', scope: 'clients:admin', kind: 'admin' })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
    .setIssuer(gw.config.issuer)
    .setAudience(gw.config.audience)
    .setSubject('cli_forged')
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti('tok_forged')
    .sign(key);
}

describe('signing keys kept in the database', () => {
  it('are stored only sealed, with a key-encryption key file created at first start for its owner alone', async () => {
    const kekFile = gw.config.signing.keyEncryptionKeyFile;
    expect(kekFile).toBe(join(gw.config.dataDir, 'keys', 'signing-keys.kek.json'));
    expect(statSync(kekFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(gw.config.dataDir, 'keys')).mode & 0o777).toBe(0o700);

    const columns = rowsOf<{ column_name: string }>(
      await gw.services.db.execute(
        sql`select column_name from information_schema.columns where table_name = 'signing_keys'`,
      ),
    ).map((row) => row.column_name);
    expect(columns).toContain('sealed_private_key');
    expect(columns).not.toContain('private_jwk');

    const [row] = await keyRows();
    expect(row?.sealed_private_key).toMatch(/^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/); // compact JWE, `dir`: no encrypted key
    const header = decodeProtectedHeader(row?.sealed_private_key ?? '');
    expect(header).toMatchObject({ alg: 'dir', enc: 'A256GCM', signing_kid: row?.kid });
    // Nothing of the private key is readable in the row.
    expect(JSON.stringify(row)).not.toMatch(/"d"/);
    expect(await publishedKids()).toEqual([row?.kid]);
  });

  it('a key row a database writer adds is neither published nor trusted for tokens or certificate envelopes', async () => {
    const genuine = (await keyRows()).map((row) => row.kid);
    const forger = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = await exportJWK(forger.publicKey);
    const privateJwk = await exportJWK(forger.privateKey);
    // One row with the private key sealed under a key-encryption key of the forger's own, one
    // without any; both newer than the genuine key, so they would be the active one if trusted.
    const forgerKek = new Uint8Array(32).fill(7);
    const sealedByForger = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(privateJwk)))
      .setProtectedHeader({
        alg: 'dir',
        enc: 'A256GCM',
        kid: 'forger-kek',
        cty: 'onewindow-signing-key+jwk',
        signing_kid: 'forged-1',
        signing_alg: 'ES256',
      })
      .encrypt(forgerKek);
    await gw.services.db.execute(sql`
      insert into signing_keys (kid, alg, public_jwk, sealed_private_key, created_at)
      values ('forged-1', 'ES256', ${JSON.stringify(publicJwk)}::jsonb, ${sealedByForger}, now() + interval '1 hour'),
             ('forged-2', 'ES256', ${JSON.stringify(publicJwk)}::jsonb, null, now() + interval '2 hours')`);
    await gw.services.keys.initialise(); // as every instance does within 30 s, or at once for an unknown kid

    expect(await publishedKids()).toEqual(genuine);
    expect((await gw.services.keys.activeKey()).kid).toBe(genuine[0]);
    expect(decodeProtectedHeader(await gw.tokenFor('window')).kid).toBe(genuine[0]);
    for (const kid of ['forged-1', 'forged-2']) {
      const refused = await gw.request('/v1/clients?limit=1', {
        headers: bearer(await forgedToken(forger.privateKey, kid)),
      });
      expect(refused.status).toBe(401);
      const envelope = await new CompactSign(
        new TextEncoder().encode(
          JSON.stringify({ materialId: 'mat_x', subjectId: 'sub_x', certificate: {}, content: {} }),
        ),
      )
        .setProtectedHeader({ alg: 'ES256', kid, typ: CERTIFICATE_ENVELOPE_TYPE })
        .sign(forger.privateKey);
      const verified = await gw.request('/v1/certificates/verify', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ envelope }),
      });
      expect(verified.status).toBe(422);
      expect((await problemOf(verified)).code).toBe('envelope_unknown_key');
    }
    expect(gw.logs.text()).toContain('signing key in the database ignored');
  });

  it('a genuine seal copied to a row of another kid, or a genuine row given another public key, is ignored', async () => {
    const [genuine] = await keyRows();
    if (!genuine) throw new Error('no key');
    const forger = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
    await gw.services.db.execute(sql`
      insert into signing_keys (kid, alg, public_jwk, sealed_private_key, created_at)
      values ('copied-seal', 'ES256', ${JSON.stringify(genuine.public_jwk)}::jsonb, ${genuine.sealed_private_key}, now() + interval '3 hours')`);
    await gw.services.db.execute(
      sql`update signing_keys set public_jwk = ${JSON.stringify(forger)}::jsonb where kid = ${genuine.kid}`,
    );
    await gw.services.keys.initialise();
    const jwks = (await (await gw.request('/.well-known/jwks.json')).json()) as { keys: JWK[] };
    expect(jwks.keys.map((key) => key.kid)).not.toContain('copied-seal');
    expect(jwks.keys.map((key) => key.x)).not.toContain(forger.x);
    // With no usable key left, the gateway generated a new one rather than sign with a forged one.
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]?.kid).not.toBe(genuine.kid);
  });

  it('an instance with another key-encryption key file refuses to start on the database, saying what to do', async () => {
    const other = new KeyStore(gw.services.db, {
      ...gw.config.signing,
      keyEncryptionKeyFile: join(tempFolder(), 'other.kek.json'),
    });
    const error = await other.initialise().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(KeyEncryptionKeyMismatchError);
    expect((error as Error).message).toContain(
      'every instance of a deployment needs the same SIGNING_KEY_ENCRYPTION_KEY_FILE',
    );
  });

  it('a key-encryption key file others may read is refused, and a command never creates one', async () => {
    const exposed = join(tempFolder(), 'exposed.kek.json');
    copyFileSync(gw.config.signing.keyEncryptionKeyFile, exposed);
    chmodSync(exposed, 0o644);
    const store = new KeyStore(gw.services.db, { ...gw.config.signing, keyEncryptionKeyFile: exposed });
    await expect(store.initialise()).rejects.toThrow(
      `can be accessed by other users (mode 0644); allow its owner only: chmod 600 ${exposed}`,
    );

    const missing = join(tempFolder(), 'missing.kek.json');
    const command = new KeyStore(
      gw.services.db,
      { ...gw.config.signing, keyEncryptionKeyFile: missing },
      { keyEncryptionKey: 'require' },
    );
    await expect(command.initialise()).rejects.toThrow(PrivateFileError);
    expect(existsSync(missing)).toBe(false);

    const garbage = join(tempFolder(), 'garbage.kek.json');
    writeFileSync(garbage, JSON.stringify({ kty: 'oct', k: base64url.encode(new Uint8Array(16)) }), { mode: 0o600 });
    await expect(
      new KeyStore(gw.services.db, { ...gw.config.signing, keyEncryptionKeyFile: garbage }).initialise(),
    ).rejects.toThrow('does not hold a 256-bit key');
  });
});
