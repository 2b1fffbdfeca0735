/**
 * The independent verifier for SM2 signatures in tests: OpenSSL's command line, given nothing
 * but the compact JWS and the JWK the gateway publishes. It follows the offline steps of
 * docs/national-cryptography.md: the signature (r ‖ s) and the public key (x, y) are turned into
 * DER with `openssl asn1parse -genconf`, and `openssl pkeyutl -verify … -digest sm3 -pkeyopt
 * distid:1234567812345678` checks the SM2 signature over the JWS signing input. No code of the
 * gateway takes part.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface OpensslVerdict {
  verified: boolean;
  /** What OpenSSL printed (stdout and stderr), for assertion messages. */
  output: string;
}

/** The `openssl` binary's version line, or undefined when there is none. */
export async function opensslVersion(): Promise<string | undefined> {
  try {
    return (await run('openssl', ['version'])).stdout.trim();
  } catch {
    return undefined;
  }
}

/** Verifies `jws` (compact, alg SM2SM3) with OpenSSL against the public JWK `{ x, y }`. */
export async function opensslVerifySm2Jws(
  jws: string,
  jwk: { x?: unknown; y?: unknown },
  distid = '1234567812345678',
): Promise<OpensslVerdict> {
  const [header = '', payload = '', signature = ''] = jws.split('.');
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') throw new TypeError('the JWK has no x and y');
  const raw = Buffer.from(signature, 'base64url');
  const hex = (value: string) => Buffer.from(value, 'base64url').toString('hex').toUpperCase();
  const folder = await mkdtemp(join(tmpdir(), 'onewindow-openssl-sm2-'));
  const file = (name: string) => join(folder, name);
  try {
    await writeFile(file('signing-input'), `${header}.${payload}`, 'ascii');
    await writeFile(
      file('signature.cnf'),
      [
        'asn1=SEQUENCE:signature',
        '[signature]',
        `r=INTEGER:0x${raw.subarray(0, 32).toString('hex').toUpperCase()}`,
        `s=INTEGER:0x${raw.subarray(32).toString('hex').toUpperCase()}`,
        '',
      ].join('\n'),
    );
    await writeFile(
      file('key.cnf'),
      [
        'asn1=SEQUENCE:spki',
        '[spki]',
        'algorithm=SEQUENCE:algorithm',
        `key=FORMAT:HEX,BITSTRING:04${hex(jwk.x)}${hex(jwk.y)}`,
        '[algorithm]',
        'type=OID:id-ecPublicKey',
        'curve=OID:1.2.156.10197.1.301',
        '',
      ].join('\n'),
    );
    await run('openssl', ['asn1parse', '-genconf', file('signature.cnf'), '-out', file('signature.der'), '-noout']);
    await run('openssl', ['asn1parse', '-genconf', file('key.cnf'), '-out', file('key.der'), '-noout']);
    await run('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', file('key.der'), '-out', file('key.pem')]);
    try {
      const { stdout, stderr } = await run('openssl', [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        file('key.pem'),
        '-rawin',
        '-in',
        file('signing-input'),
        '-sigfile',
        file('signature.der'),
        '-digest',
        'sm3',
        '-pkeyopt',
        `distid:${distid}`,
      ]);
      const output = `${stdout}${stderr}`;
      return { verified: output.includes('Signature Verified Successfully'), output };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string };
      return { verified: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
