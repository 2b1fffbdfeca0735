/**
 * Client secrets are stored as scrypt hashes: `scrypt$N$r$p$salt$hash` (base64url), so the cost
 * parameters can be raised later without invalidating stored hashes. scrypt runs on libuv's thread
 * pool, which also bounds how much memory concurrent token requests can take.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// Generated secrets carry 256 bits of entropy, so the KDF need not stretch a guessable password;
// scrypt at N=2^14 (16 MiB, ~40 ms) still makes a stolen hash table useless and keeps the token
// endpoint able to serve hundreds of clients a second.
const COST = { N: 2 ** 14, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function scrypt(secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(secret, salt, KEY_LENGTH, { ...options, maxmem: 128 * (options.N ?? 1) * (options.r ?? 8) * 2 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export function generateClientSecret(): string {
  return `ows_${randomBytes(32).toString('base64url')}`;
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(secret, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(secret, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A real hash of a random secret, to spend the same time on unknown client ids as on known ones. */
export const decoyHash = hashSecret(randomBytes(16).toString('hex'));
