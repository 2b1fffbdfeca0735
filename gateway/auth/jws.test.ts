/**
 * SM2 signatures (gateway/platform/sm2.ts) and their compact JWS form (gateway/auth/jws.ts),
 * checked against OpenSSL 3's command line as the independent implementation: OpenSSL verifies
 * what we sign, we verify what OpenSSL signs, and tampering is refused by both.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { errors as joseErrors } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SM2_DEFAULT_ID,
  SM2_ORDER,
  Sm2PrivateKey,
  Sm2PublicKey,
  generateSm2PrivateKey,
  signatureToDer,
  sm2VerifySignature,
} from '../../adapters/sdk/helpers/sm2.js';
import { opensslVerifySm2Jws, opensslVersion } from '../../test/support/openssl-sm2.js';
import {
  SM2_JWS_ALG,
  generateSigningJwks,
  importSignKey,
  importVerifyKey,
  signCompactJws,
  verifyCompactJws,
} from './jws.js';

const run = promisify(execFile);
let folder: string;

beforeAll(async () => {
  // OpenSSL is the outside verifier; a machine without it cannot run these tests meaningfully.
  expect(await opensslVersion()).toMatch(/^OpenSSL 3\./);
  folder = await mkdtemp(join(tmpdir(), 'onewindow-sm2-'));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** r and s of a DER SEQUENCE { INTEGER, INTEGER } (short lengths, as SM2 signatures have). */
function readDerSignature(der: Buffer): { r: bigint; s: bigint } {
  expect(der[0]).toBe(0x30);
  let offset = 2;
  const integer = () => {
    expect(der[offset]).toBe(0x02);
    const length = der[offset + 1] as number;
    const value = BigInt(`0x${der.subarray(offset + 2, offset + 2 + length).toString('hex')}`);
    offset += 2 + length;
    return value;
  };
  return { r: integer(), s: integer() };
}

describe('SM2 signatures (GB/T 32918.2) against OpenSSL', () => {
  it('OpenSSL verifies our signatures with the default ID, and refuses them for another message or ID', async () => {
    const key = generateSm2PrivateKey();
    const message = Buffer.from('一窗受理 onewindow');
    const signature = key.sign(message);
    await writeFile(join(folder, 'key.pub.pem'), key.publicKey.toSpkiPem());
    await writeFile(join(folder, 'message'), message);
    await writeFile(join(folder, 'signature.der'), signatureToDer(signature));
    const verify = (file: string, distid: string) =>
      run('openssl', [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        join(folder, 'key.pub.pem'),
        '-rawin',
        '-in',
        join(folder, file),
        '-sigfile',
        join(folder, 'signature.der'),
        '-digest',
        'sm3',
        '-pkeyopt',
        `distid:${distid}`,
      ]).then(
        ({ stdout }) => stdout,
        (error: { stdout?: string }) => error.stdout ?? 'failed',
      );
    expect(await verify('message', SM2_DEFAULT_ID)).toContain('Signature Verified Successfully');
    expect(await verify('message', 'ALICE123@YAHOO.COM')).not.toContain('Verified Successfully');
    await writeFile(join(folder, 'other'), Buffer.from('一窗受理 onewindoW'));
    expect(await verify('other', SM2_DEFAULT_ID)).not.toContain('Verified Successfully');
    // And the dgst front end, the other OpenSSL command docs describe.
    const { stdout } = await run('openssl', [
      'dgst',
      '-sm3',
      '-verify',
      join(folder, 'key.pub.pem'),
      '-sigopt',
      `distid:${SM2_DEFAULT_ID}`,
      '-signature',
      join(folder, 'signature.der'),
      join(folder, 'message'),
    ]);
    expect(stdout).toContain('Verified OK');
  });

  it('verifies what OpenSSL signs, with the default and with another ID, from a key OpenSSL generated', async () => {
    await run('openssl', ['genpkey', '-algorithm', 'SM2', '-out', join(folder, 'openssl.pem')]);
    const key = Sm2PrivateKey.fromPem(await readFile(join(folder, 'openssl.pem'), 'utf8'));
    if (!key) throw new Error('an OpenSSL SM2 key was not read as SM2');
    const { stdout: publicPem } = await run('openssl', ['pkey', '-in', join(folder, 'openssl.pem'), '-pubout']);
    expect(key.publicKey.toSpkiPem()).toBe(publicPem);
    await writeFile(join(folder, 'message'), 'message digest');
    for (const id of [SM2_DEFAULT_ID, 'ALICE123@YAHOO.COM']) {
      await run('openssl', [
        'pkeyutl',
        '-sign',
        '-inkey',
        join(folder, 'openssl.pem'),
        '-rawin',
        '-in',
        join(folder, 'message'),
        '-digest',
        'sm3',
        '-pkeyopt',
        `distid:${id}`,
        '-out',
        join(folder, 'openssl.sig'),
      ]);
      const signature = readDerSignature(await readFile(join(folder, 'openssl.sig')));
      expect(sm2VerifySignature(key.publicKey, Buffer.from('message digest'), signature, id)).toBe(true);
      expect(sm2VerifySignature(key.publicKey, Buffer.from('message digesT'), signature, id)).toBe(false);
      expect(
        sm2VerifySignature(key.publicKey, Buffer.from('message digest'), { ...signature, s: signature.s ^ 1n }, id),
      ).toBe(false);
    }
  });

  it('refuses signatures out of range and keys off the curve; keys survive PEM and JWK round trips', () => {
    const key = generateSm2PrivateKey();
    const message = Buffer.from('m');
    const { r, s } = key.sign(message);
    expect(sm2VerifySignature(key.publicKey, message, { r, s })).toBe(true);
    expect(sm2VerifySignature(key.publicKey, message, { r: r + SM2_ORDER, s })).toBe(false);
    expect(sm2VerifySignature(key.publicKey, message, { r, s: 0n })).toBe(false);
    expect(sm2VerifySignature(key.publicKey, message, { r: SM2_ORDER - s, s })).toBe(false);
    const { x, y } = key.publicKey.point;
    expect(() => new Sm2PublicKey({ x, y: y ^ 1n })).toThrow(RangeError);
    expect(() => new Sm2PrivateKey(0n)).toThrow(RangeError);
    expect(() => new Sm2PrivateKey(SM2_ORDER - 1n)).toThrow(RangeError);
    const again = Sm2PrivateKey.fromPem(key.toPkcs8Pem());
    expect(again?.publicKey.point).toEqual(key.publicKey.point);
    expect(Sm2PublicKey.fromSpkiDer(key.publicKey.toSpkiDer())?.point).toEqual(key.publicKey.point);
    const fromJwk = Sm2PrivateKey.fromJwk(key.toJwk());
    expect(sm2VerifySignature(key.publicKey, message, fromJwk.sign(message))).toBe(true);
    const other = generateSm2PrivateKey();
    const { x: otherX, y: otherY } = other.publicKey.toJwk();
    expect(() => Sm2PrivateKey.fromJwk({ ...key.toJwk(), x: otherX, y: otherY })).toThrow(TypeError);
  });
});

describe('compact JWS with alg SM2SM3', () => {
  it('signs a JWS that we and OpenSSL verify from the published JWK alone; a changed byte is refused by both', async () => {
    const { privateJwk, publicJwk } = await generateSigningJwks(SM2_JWS_ALG);
    expect(publicJwk).toEqual({ kty: 'EC', crv: 'SM2', x: expect.any(String), y: expect.any(String) });
    const signKey = await importSignKey(privateJwk, SM2_JWS_ALG);
    const verifyKey = await importVerifyKey(publicJwk, SM2_JWS_ALG);
    const payload = new TextEncoder().encode(JSON.stringify({ hello: '世界' }));
    const jws = await signCompactJws({ alg: SM2_JWS_ALG, kid: 'k1', typ: 'test+jws' }, payload, signKey);
    const [header, , signature] = jws.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({
      alg: 'SM2SM3',
      kid: 'k1',
      typ: 'test+jws',
    });
    expect(Buffer.from(signature, 'base64url')).toHaveLength(64);

    const verified = await verifyCompactJws(jws, verifyKey, SM2_JWS_ALG);
    expect(new TextDecoder().decode(verified.payload)).toBe('{"hello":"世界"}');
    expect(verified.protectedHeader).toMatchObject({ alg: 'SM2SM3', kid: 'k1' });
    expect(await opensslVerifySm2Jws(jws, publicJwk)).toMatchObject({ verified: true });

    const tamperedBody = Buffer.from(JSON.stringify({ hello: '世間' })).toString('base64url');
    const tampered = `${header}.${tamperedBody}.${signature}`;
    await expect(verifyCompactJws(tampered, verifyKey, SM2_JWS_ALG)).rejects.toBeInstanceOf(
      joseErrors.JWSSignatureVerificationFailed,
    );
    expect((await opensslVerifySm2Jws(tampered, publicJwk)).verified).toBe(false);
    // A signature by another key, and one with another ID, do not verify either.
    const stranger = await generateSigningJwks(SM2_JWS_ALG);
    expect((await opensslVerifySm2Jws(jws, stranger.publicJwk)).verified).toBe(false);
    expect((await opensslVerifySm2Jws(jws, publicJwk, 'ALICE123@YAHOO.COM')).verified).toBe(false);
  });

  it('refuses headers it does not sign: another alg, crit, b64, non-canonical spelling, a short signature', async () => {
    const key = generateSm2PrivateKey();
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signed = (header: Record<string, unknown>) => {
      const input = `${encode(header)}.${encode({ a: 1 })}`;
      const { r, s } = key.sign(Buffer.from(input));
      const raw = Buffer.concat([r, s].map((n) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex')));
      return `${input}.${raw.toString('base64url')}`;
    };
    const verify = (jws: string) => verifyCompactJws(jws, key.publicKey, SM2_JWS_ALG);
    await expect(verify(signed({ alg: 'SM2SM3', kid: 'k' }))).resolves.toBeDefined();
    await expect(verify(signed({ alg: 'ES256', kid: 'k' }))).rejects.toBeInstanceOf(joseErrors.JOSEAlgNotAllowed);
    await expect(verify(signed({ alg: 'SM2SM3', crit: ['x'], x: 1 }))).rejects.toBeInstanceOf(joseErrors.JWSInvalid);
    await expect(verify(signed({ alg: 'SM2SM3', b64: false, crit: ['b64'] }))).rejects.toBeInstanceOf(
      joseErrors.JWSInvalid,
    );
    const good = signed({ alg: 'SM2SM3' });
    await expect(verify(`${good}=`)).rejects.toBeInstanceOf(joseErrors.JWSInvalid);
    await expect(verify(good.slice(0, -4))).rejects.toBeInstanceOf(joseErrors.JOSEError);
    await expect(verifyCompactJws(good, key.publicKey, 'ES256')).rejects.toBeInstanceOf(joseErrors.JOSENotSupported);
    await expect(signCompactJws({ alg: 'ES256', kid: 'k', typ: 't' }, new Uint8Array(), key)).rejects.toBeInstanceOf(
      TypeError,
    );
  });
});
