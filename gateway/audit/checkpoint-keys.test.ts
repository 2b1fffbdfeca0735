/**
 * The checkpoint key file (created at first start, owner-only, refused when others may read it)
 * and the trusted-key files a verifier is handed (PEM or JWKS). No database involved.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, importSPKI } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { SM2_JWS_ALG, verifyCompactJws } from '../auth/jws.js';
import { PrivateFileError } from '../platform/private-files.js';
import { Sm2PrivateKey } from '../../adapters/sdk/helpers/sm2.js';
import {
  TrustedKeyFileError,
  TrustedKeys,
  loadCheckpointSigner,
  publicKeyFileOf,
  readTrustedKeyFile,
} from './checkpoint-keys.js';
import { signCheckpoint } from './sealer.js';

const folders: string[] = [];
function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'ow-checkpoint-keys-'));
  folders.push(folder);
  return folder;
}

afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;

describe('the checkpoint key file', () => {
  it('is created at first start for its owner alone, in an owner-only folder, with its public half beside it', async () => {
    const keyFile = join(tempFolder(), 'keys', 'audit-checkpoint.pem');
    const signer = await loadCheckpointSigner({ keyFile, alg: 'ES256', create: true });
    expect(mode(keyFile)).toBe(0o600);
    expect(mode(join(keyFile, '..'))).toBe(0o700);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(signer.publicKeyFile).toBe(publicKeyFileOf(keyFile));
    expect(signer.publicKeyFile.endsWith('audit-checkpoint.pub.pem')).toBe(true);
    const publicPem = readFileSync(signer.publicKeyFile, 'utf8');
    expect(publicPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    // The kid is the RFC 7638 thumbprint anyone can recompute from the public key.
    expect(signer.kid).toBe(await calculateJwkThumbprint(await exportJWK(await importSPKI(publicPem, 'ES256'))));
    expect(signer.alg).toBe('ES256');

    const again = await loadCheckpointSigner({ keyFile, alg: 'ES256', create: true });
    expect(again.kid).toBe(signer.kid);
  });

  it('creates one key when several instances start at once on a shared folder', async () => {
    const folder = join(tempFolder(), 'shared');
    const keyFile = join(folder, 'audit-checkpoint.pem');
    const signers = await Promise.all(
      Array.from({ length: 8 }, () => loadCheckpointSigner({ keyFile, alg: 'EdDSA', create: true })),
    );
    expect(new Set(signers.map((signer) => signer.kid)).size).toBe(1);
    expect(signers[0]?.alg).toBe('EdDSA');
    // No temporary files left behind.
    expect(readdirSync(folder).sort()).toEqual(['audit-checkpoint.pem', 'audit-checkpoint.pub.pem']);
  });

  it.each([0o640, 0o604, 0o660, 0o606])('is refused with a clear message when its mode is %o', async (unsafe) => {
    const keyFile = join(tempFolder(), 'audit-checkpoint.pem');
    await loadCheckpointSigner({ keyFile, alg: 'ES256', create: true });
    chmodSync(keyFile, unsafe);
    await expect(loadCheckpointSigner({ keyFile, alg: 'ES256', create: true })).rejects.toThrow(
      `audit checkpoint key file ${keyFile} can be accessed by other users (mode 0${unsafe.toString(8)}); allow its ` +
        `owner only: chmod 600 ${keyFile}`,
    );
  });

  it('follows a symbolic link (mounted secrets) and checks its target; refuses a folder or a file without a usable key', async () => {
    const folder = tempFolder();
    const real = join(folder, 'real.pem');
    const signer = await loadCheckpointSigner({ keyFile: real, alg: 'ES256', create: true });
    const link = join(folder, 'link.pem');
    symlinkSync(real, link);
    expect((await loadCheckpointSigner({ keyFile: link, alg: 'ES256', create: false })).kid).toBe(signer.kid);
    chmodSync(real, 0o644);
    await expect(loadCheckpointSigner({ keyFile: link, alg: 'ES256', create: false })).rejects.toThrow(
      'can be accessed by other users',
    );
    mkdirSync(join(folder, 'folder.pem'), { mode: 0o700 });
    await expect(
      loadCheckpointSigner({ keyFile: join(folder, 'folder.pem'), alg: 'ES256', create: true }),
    ).rejects.toThrow('is not a regular file');

    const rsa = join(folder, 'rsa.pem');
    writeFileSync(
      rsa,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
      { mode: 0o600 },
    );
    await expect(loadCheckpointSigner({ keyFile: rsa, alg: 'ES256', create: true })).rejects.toThrow('holds a rsa key');

    const text = join(folder, 'text.pem');
    writeFileSync(text, 'not a key', { mode: 0o600 });
    await expect(loadCheckpointSigner({ keyFile: text, alg: 'ES256', create: true })).rejects.toThrow(
      'does not hold a PEM private key',
    );
  });

  it('is never created by a command (create: false)', async () => {
    const folder = tempFolder();
    const keyFile = join(folder, 'keys', 'audit-checkpoint.pem');
    await expect(loadCheckpointSigner({ keyFile, alg: 'ES256', create: false })).rejects.toThrow(PrivateFileError);
    expect(existsSync(join(folder, 'keys'))).toBe(false);
  });
});

describe('trusted key files', () => {
  function p256(): { publicPem: string; privatePem: string } {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    return {
      publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
  }

  it('read PEM public keys (several blocks), a private key (public half only) and a JWKS, each by thumbprint', async () => {
    const folder = tempFolder();
    const [a, b, c] = [p256(), p256(), p256()];
    const pemFile = join(folder, 'keys.pem');
    writeFileSync(pemFile, `${a.publicPem}\n${b.publicPem}`);
    const fromPem = await readTrustedKeyFile(pemFile);
    expect(fromPem).toHaveLength(2);
    expect(
      fromPem.every((key) => key.alg === 'ES256' && key.source === pemFile && key.verifyKey.type === 'public'),
    ).toBe(true);

    const privateFile = join(folder, 'private.pem');
    writeFileSync(privateFile, c.privatePem);
    const [fromPrivate] = await readTrustedKeyFile(privateFile);
    expect(fromPrivate?.verifyKey.type).toBe('public');

    // A JWKS may name a key by another kid too (e.g. keys pinned from an older deployment).
    const jwk = await exportJWK(await importSPKI(a.publicPem, 'ES256'));
    const jwksFile = join(folder, 'keys.jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...jwk, kid: 'legacy-kid-1' }] }));
    const trusted = await TrustedKeys.fromFiles([jwksFile]);
    expect(trusted.kids.sort()).toEqual([await calculateJwkThumbprint(jwk), 'legacy-kid-1'].sort());
    expect(trusted.get(fromPem[0]?.kid ?? '')?.alg).toBe('ES256');
  });

  it.each<[string, string, string]>([
    ['empty.pem', '', 'holds no public key'],
    ['other.pem', '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', 'is not a key'],
    ['broken.json', '{"keys": [', 'is neither PEM nor JSON'],
    ['notjwk.json', '{"keys": [{"x": 1}]}', 'key 1 is not a JWK'],
  ])('refuse %s with a message naming the file', async (name, contents, message) => {
    const file = join(tempFolder(), name);
    writeFileSync(file, contents);
    await expect(readTrustedKeyFile(file)).rejects.toThrow(TrustedKeyFileError);
    await expect(readTrustedKeyFile(file)).rejects.toThrow(message);
  });

  it('refuse an RSA key and a missing file', async () => {
    const folder = tempFolder();
    const rsaFile = join(folder, 'rsa.pem');
    writeFileSync(
      rsaFile,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }),
    );
    await expect(readTrustedKeyFile(rsaFile)).rejects.toThrow('holds a rsa key');
    mkdirSync(join(folder, 'sub'));
    await expect(readTrustedKeyFile(join(folder, 'sub', 'none.pem'))).rejects.toThrow('cannot be read');
  });
});

describe('SM2 checkpoint keys (SIGNING_ALG=SM2)', () => {
  it('are created as SM2 PKCS#8 files; the PEM and a JWKS with crv SM2 are trusted under the same kid, and verify its checkpoints', async () => {
    const keyFile = join(tempFolder(), 'keys', 'audit-checkpoint.pem');
    const signer = await loadCheckpointSigner({ keyFile, alg: SM2_JWS_ALG, create: true });
    expect(signer.alg).toBe('SM2SM3');
    expect(signer.publicJwk).toMatchObject({ kty: 'EC', crv: 'SM2' });
    expect(signer.kid).toBe(await calculateJwkThumbprint(signer.publicJwk));
    // The file is the one OpenSSL writes and reads: loading it again gives the same key.
    expect(Sm2PrivateKey.fromPem(readFileSync(keyFile, 'utf8'))?.publicKey.toJwk()).toEqual(signer.publicJwk);
    expect((await loadCheckpointSigner({ keyFile, alg: 'ES256', create: false })).kid).toBe(signer.kid);

    const fromPem = await readTrustedKeyFile(signer.publicKeyFile);
    expect(fromPem.map((key) => [key.kid, key.alg])).toEqual([[signer.kid, 'SM2SM3']]);
    const jwksFile = join(tempFolder(), 'trusted.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...signer.publicJwk, kid: 'sm2-legacy' }] }));
    const trusted = await TrustedKeys.fromFiles([jwksFile]);
    expect(trusted.kids.sort()).toEqual([signer.kid, 'sm2-legacy'].sort());

    const { signature } = await signCheckpoint(signer, { seq: 7, headHash: 'ab'.repeat(32), createdAt: 'now' });
    for (const key of [fromPem[0], trusted.get(signer.kid)]) {
      if (!key) throw new Error('no trusted key');
      const verified = await verifyCompactJws(signature, key.verifyKey, key.alg);
      expect(JSON.parse(new TextDecoder().decode(verified.payload))).toMatchObject({ seq: 7 });
    }
    const stranger = await loadCheckpointSigner({
      keyFile: join(tempFolder(), 'other.pem'),
      alg: SM2_JWS_ALG,
      create: true,
    });
    await expect(verifyCompactJws(signature, stranger.verifyKey, SM2_JWS_ALG)).rejects.toThrow();
  });
});
