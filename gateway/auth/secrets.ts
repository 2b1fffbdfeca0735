/**
 * Client secrets. A generated secret is 256 random bits: there is nothing to stretch, so a slow
 * password hash (scrypt, ~40 ms of CPU) buys nothing and caps the token endpoint at a dozen tokens
 * a second. Secrets are stored as a keyed hash instead, as API-key issuers do: HMAC-SHA256 under a
 * server-side pepper that lives in a file, never in the database (`CLIENT_SECRET_PEPPER_FILE`;
 * created at first start, mode 0600; every instance of a deployment shares it). A stolen table of
 * hashes is useless without the pepper; with it, 2^256 secrets are still not searchable.
 *
 * Stored form: `hmac-sha256$<pepper id>$<mac>` (base64url). Hashes from before
 * (`scrypt$N$r$p$salt$hash`) keep verifying; a successful sign-in with one stores the keyed hash in
 * its place, so they disappear as clients sign in.
 */
import {
  createHash,
  createHmac,
  randomBytes,
  scrypt as scryptCallback,
  timingSafeEqual,
  type ScryptOptions,
} from 'node:crypto';
import { PrivateFileError, readOrCreatePrivateFile } from '../platform/private-files.js';

const SCHEME = 'hmac-sha256';
const PEPPER_BYTES = 32;

export function generateClientSecret(): string {
  return `ows_${randomBytes(32).toString('base64url')}`;
}

export interface SecretCheck {
  matches: boolean;
  /** The stored hash is of an older scheme (or another pepper) and should be replaced by `hash(secret)`. */
  rehash: boolean;
}

export class ClientSecrets {
  private constructor(
    private readonly pepper: Buffer,
    /** Names the pepper in stored hashes, so a hash made under another pepper is told apart. */
    readonly pepperId: string,
  ) {}

  /** The pepper from its file, created (32 random bytes, mode 0600) when there is none. */
  static async open(file: string): Promise<ClientSecrets> {
    const { contents } = await readOrCreatePrivateFile(
      file,
      'client secret pepper file',
      async () => `${randomBytes(PEPPER_BYTES).toString('base64url')}\n`,
    );
    const pepper = Buffer.from(contents.trim(), 'base64url');
    if (pepper.length < PEPPER_BYTES)
      throw new PrivateFileError(
        `client secret pepper file ${file} holds ${pepper.length} bytes; it needs ${PEPPER_BYTES} (base64url)`,
      );
    return ClientSecrets.fromPepper(pepper);
  }

  /** For tests and tools that hold the pepper itself. */
  static fromPepper(pepper: Buffer): ClientSecrets {
    return new ClientSecrets(pepper, createHash('sha256').update(pepper).digest('base64url').slice(0, 8));
  }

  private mac(secret: string): Buffer {
    return createHmac('sha256', this.pepper).update(secret, 'utf8').digest();
  }

  hash(secret: string): string {
    return `${SCHEME}$${this.pepperId}$${this.mac(secret).toString('base64url')}`;
  }

  /**
   * Whether `secret` matches `stored` (undefined: an unknown client, checked against nothing at
   * the same cost, so the answer's time says nothing about which ids exist).
   */
  async verify(secret: string, stored: string | undefined): Promise<SecretCheck> {
    const actual = this.mac(secret);
    if (stored === undefined) return { matches: false, rehash: false };
    const [scheme, pepperId, mac] = stored.split('$');
    if (scheme === SCHEME) {
      const expected = Buffer.from(mac ?? '', 'base64url');
      const matches =
        pepperId === this.pepperId && expected.length === actual.length && timingSafeEqual(expected, actual);
      return { matches, rehash: false };
    }
    if (scheme === 'scrypt') return { matches: await verifyScrypt(secret, stored), rehash: true };
    return { matches: false, rehash: false };
  }
}

function scrypt(secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(
      secret,
      salt,
      32,
      { ...options, maxmem: 128 * (options.N ?? 1) * (options.r ?? 8) * 2 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

/** A hash of the earlier scheme: `scrypt$N$r$p$salt$hash`. */
async function verifyScrypt(secret: string, stored: string): Promise<boolean> {
  const [, n, r, p, salt, hash] = stored.split('$');
  if (!n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(secret, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
