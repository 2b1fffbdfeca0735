/**
 * The gateway's signing keys for access tokens and certificate envelopes. Every key still within
 * its publication window is in the JWKS, so what an older key signed keeps verifying after a
 * rotation. (Audit checkpoints have a key of their own: gateway/audit/checkpoint-keys.ts.)
 *
 * Keys come either from configured PKCS#8 PEM files (the first is active) or, by default, from
 * the database, where the first instance to start generates one. Either way every instance of a
 * deployment signs with the same keys. Keys are imported once as CryptoKeys and cached.
 *
 * In the database a key's private half is sealed (JWE, `dir` + A256GCM) with a key-encryption key
 * that lives in a file on the gateway hosts, never in the database. The seal also binds the row's
 * `kid` and public key, so someone who can write the database can neither read a private key nor
 * add a key of their own: a row the gateway cannot unseal is ignored (never published, never used
 * to verify) and logged. What such a writer can still do is delete rows or change their lifetime
 * columns (which genuine key is active or published): denial of service, not forgery.
 */
import { createPublicKey, randomBytes, type webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { desc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import {
  CompactEncrypt,
  base64url,
  calculateJwkThumbprint,
  compactDecrypt,
  decodeProtectedHeader,
  exportJWK,
  importPKCS8,
  type JWK,
} from 'jose';
import type { Logger } from 'pino';
import type { SigningSettings } from '../config.js';
import type { Database } from '../db/client.js';
import { signingKeys } from '../db/schema.js';
import { PrivateFileError, readOrCreatePrivateFile, readPrivateFile } from '../platform/private-files.js';
import { Sm2PrivateKey } from '../../adapters/sdk/helpers/sm2.js';
import {
  SM2_JWS_ALG,
  type SignKey,
  type VerifyKey,
  generateSigningJwks,
  importSignKey,
  importVerifyKey,
  isSigningAlg,
} from './jws.js';

/** WebCrypto key, as jose uses them; imported once and reused for every signature. */
export type CryptoKey = webcrypto.CryptoKey;

export type SigningAlg = SigningSettings['alg'];
export const acceptedAlgorithms: SigningAlg[] = ['ES256', 'EdDSA', SM2_JWS_ALG];

export interface PublishedKey {
  kid: string;
  alg: SigningAlg;
  publicJwk: JWK;
  verifyKey: VerifyKey;
}

export interface ActiveKey {
  kid: string;
  alg: SigningAlg;
  signKey: SignKey;
}

interface KeySet {
  active: ActiveKey;
  published: Map<string, PublishedKey>;
  loadedAt: number;
}

/** How often a cached key set is refreshed, so a rotation on one instance reaches the others. */
const REFRESH_INTERVAL_MS = 30_000;
/** An unknown `kid` triggers a reload at most this often, so random kids cannot hammer the database. */
const UNKNOWN_KID_RELOAD_MS = 5_000;

function publicJwkOnly(jwk: JWK): JWK {
  // Copy only public members, so a private member can never reach the JWKS by accident.
  const { kty, crv, x, y } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y }).filter(([, value]) => value !== undefined));
}

type SigningKeyRow = typeof signingKeys.$inferSelect;

/** The symmetric key that seals the private keys kept in the database. */
interface KeyEncryptionKey {
  /** Names the key in each seal, so a seal made with another file is told apart from a forgery. */
  kid: string;
  secret: Uint8Array;
}

const KEY_ENCRYPTION_KEY_FILE = 'signing key-encryption key file';
/** `cty` of a sealed private key: a private JWK. */
const SEALED_KEY_CONTENT_TYPE = 'onewindow-signing-key+jwk';

/** The database holds keys sealed with another key-encryption key than this instance's file. */
export class KeyEncryptionKeyMismatchError extends Error {
  override name = 'KeyEncryptionKeyMismatchError';
}

async function loadKeyEncryptionKey(file: string, create: boolean): Promise<KeyEncryptionKey> {
  const generate = async () =>
    `${JSON.stringify({ kty: 'oct', k: base64url.encode(randomBytes(32)), alg: 'dir', use: 'enc' })}\n`;
  const contents = create
    ? (await readOrCreatePrivateFile(file, KEY_ENCRYPTION_KEY_FILE, generate)).contents
    : await readPrivateFile(file, KEY_ENCRYPTION_KEY_FILE);
  if (contents === undefined) {
    throw new PrivateFileError(
      `no ${KEY_ENCRYPTION_KEY_FILE} at ${file}: run this where the gateway runs, with its SIGNING_KEY_ENCRYPTION_KEY_FILE (or DATA_DIR)`,
    );
  }
  let jwk: { kty?: unknown; k?: unknown };
  try {
    jwk = JSON.parse(contents) as { kty?: unknown; k?: unknown };
  } catch {
    jwk = {};
  }
  const secret = jwk.kty === 'oct' && typeof jwk.k === 'string' ? base64url.decode(jwk.k) : undefined;
  if (secret?.length !== 32 || typeof jwk.k !== 'string') {
    throw new PrivateFileError(
      `${KEY_ENCRYPTION_KEY_FILE} ${file} does not hold a 256-bit key (a JSON JWK {"kty":"oct","k":…})`,
    );
  }
  return { kid: (await calculateJwkThumbprint({ kty: 'oct', k: jwk.k })).slice(0, 16), secret };
}

async function sealPrivateKey(kek: KeyEncryptionKey, kid: string, alg: SigningAlg, privateJwk: JWK): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(privateJwk)))
    .setProtectedHeader({
      alg: 'dir',
      enc: 'A256GCM',
      kid: kek.kid,
      cty: SEALED_KEY_CONTENT_TYPE,
      signing_kid: kid,
      signing_alg: alg,
    })
    .encrypt(kek.secret);
}

type Unsealed =
  | { status: 'ok'; alg: SigningAlg; privateJwk: JWK }
  | { status: 'foreign'; kekKid: string }
  | { status: 'invalid'; reason: string };

/** Opens a row's sealed private key and checks that it belongs to the row (kid, alg, public key). */
async function unsealPrivateKey(kek: KeyEncryptionKey, row: SigningKeyRow): Promise<Unsealed> {
  if (!row.sealedPrivateKey)
    return {
      status: 'invalid',
      reason: 'it has no sealed private key (a row from before keys were sealed, or written by hand)',
    };
  if (!isSigningAlg(row.alg))
    return { status: 'invalid', reason: `its algorithm ${row.alg} is not one the gateway signs with` };
  let headerKid: unknown;
  try {
    headerKid = decodeProtectedHeader(row.sealedPrivateKey).kid;
  } catch {
    return { status: 'invalid', reason: 'its sealed private key is not a JWE' };
  }
  if (headerKid !== kek.kid) {
    return typeof headerKid === 'string'
      ? { status: 'foreign', kekKid: headerKid }
      : { status: 'invalid', reason: 'its seal names no key-encryption key' };
  }
  let opened;
  try {
    opened = await compactDecrypt(row.sealedPrivateKey, kek.secret, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
  } catch {
    return {
      status: 'invalid',
      reason: "its seal does not open with this gateway's key-encryption key: it was altered or forged",
    };
  }
  const header = opened.protectedHeader;
  if (
    header.cty !== SEALED_KEY_CONTENT_TYPE ||
    header['signing_kid'] !== row.kid ||
    header['signing_alg'] !== row.alg
  ) {
    return { status: 'invalid', reason: 'its seal was made for another key (kid or algorithm differ)' };
  }
  let privateJwk: JWK;
  try {
    privateJwk = JSON.parse(new TextDecoder().decode(opened.plaintext)) as JWK;
  } catch {
    return { status: 'invalid', reason: 'its sealed private key is not a JWK' };
  }
  const sealedThumbprint = await calculateJwkThumbprint(publicJwkOnly(privateJwk));
  const rowThumbprint = await calculateJwkThumbprint(publicJwkOnly(row.publicJwk as JWK)).catch(() => '');
  if (sealedThumbprint !== rowThumbprint)
    return { status: 'invalid', reason: 'its public key is not the public half of its sealed private key' };
  return { status: 'ok', alg: row.alg, privateJwk };
}

/** Whether a row's seal names `kek` (whether or not it opens): a key this deployment's file sealed. */
function sealNamesKey(row: SigningKeyRow, kek: KeyEncryptionKey): boolean {
  try {
    return row.sealedPrivateKey !== null && decodeProtectedHeader(row.sealedPrivateKey).kid === kek.kid;
  } catch {
    return false;
  }
}

async function generateSealedKey(alg: SigningAlg, kek: KeyEncryptionKey) {
  const generated = await generateSigningJwks(alg);
  const publicJwk = publicJwkOnly(generated.publicJwk);
  const privateJwk = generated.privateJwk;
  // The thumbprint plus a random suffix: stable for the key and unique even if a key repeats.
  const kid = `${(await calculateJwkThumbprint(publicJwk)).slice(0, 16)}-${randomBytes(3).toString('hex')}`;
  return {
    kid,
    alg,
    publicJwk: publicJwk as Record<string, unknown>,
    sealedPrivateKey: await sealPrivateKey(kek, kid, alg, privateJwk),
  };
}

async function publishedKeyOf(kid: string, alg: SigningAlg, privateJwk: JWK): Promise<PublishedKey> {
  const publicJwk = publicJwkOnly(privateJwk);
  return { kid, alg, publicJwk, verifyKey: await importVerifyKey(publicJwk, alg) };
}

export interface KeyStoreOptions {
  /** Where rows the gateway ignores (not sealed by it) are reported. */
  logger?: Logger;
  /**
   * The gateway creates the key-encryption key file at first start; a command run beside it
   * (`npm run keys:rotate`) requires it, so it never seals a key no gateway can open.
   */
  keyEncryptionKey?: 'create' | 'require';
}

export class KeyStore {
  private keySet: KeySet | undefined;
  private loading: Promise<KeySet> | undefined;
  private lastUnknownKidReload = 0;
  private kek: KeyEncryptionKey | undefined;
  /** Retired keys unsealed for verifying old signatures, by kid. */
  private readonly historical = new Map<string, PublishedKey>();
  /** Rows already reported as ignored, so each is logged once per process. */
  private readonly reportedRows = new Set<string>();

  constructor(
    private readonly db: Database,
    private readonly signing: SigningSettings,
    private readonly options: KeyStoreOptions = {},
  ) {}

  /** Loads (and in database mode, creates if missing) the keys. Call once at start. */
  async initialise(): Promise<void> {
    this.keySet = await this.load();
  }

  async activeKey(): Promise<ActiveKey> {
    return (await this.current()).active;
  }

  /** The key that may verify a signature with this `kid`, or undefined if we never published it. */
  async verificationKey(kid: string): Promise<PublishedKey | undefined> {
    const set = await this.current();
    const found = set.published.get(kid);
    if (found) return found;
    const now = Date.now();
    if (now - this.lastUnknownKidReload < UNKNOWN_KID_RELOAD_MS) return undefined;
    this.lastUnknownKidReload = now;
    return (await this.reload()).published.get(kid);
  }

  /**
   * A key that may verify an old signature kept in our own records (certificate envelopes), even
   * after it has left the JWKS: rows of generated keys are never deleted. Only rows this gateway
   * sealed count. With key files, only the configured files are known.
   */
  async historicalVerificationKey(kid: string): Promise<PublishedKey | undefined> {
    const published = await this.verificationKey(kid);
    if (published || this.signing.keyFiles) return published;
    const cached = this.historical.get(kid);
    if (cached) return cached;
    const [row] = await this.db.select().from(signingKeys).where(eq(signingKeys.kid, kid));
    if (!row) return undefined;
    const unsealed = await unsealPrivateKey(await this.keyEncryptionKey(), row);
    if (unsealed.status !== 'ok') {
      this.reportIgnored(row, unsealed);
      return undefined;
    }
    const key = await publishedKeyOf(row.kid, unsealed.alg, unsealed.privateJwk);
    this.historical.set(kid, key);
    return key;
  }

  /**
   * Whether `kid` is still published, answered from memory (the key set is refreshed in the
   * background). Used to drop cached token verifications once their key leaves the JWKS.
   */
  isPublished(kid: string): boolean {
    if (this.keySet && Date.now() - this.keySet.loadedAt >= REFRESH_INTERVAL_MS)
      void this.reload().catch(() => undefined);
    return this.keySet?.published.has(kid) ?? false;
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    const set = await this.current();
    return {
      keys: [...set.published.values()].map((key) => ({ ...key.publicJwk, kid: key.kid, alg: key.alg, use: 'sig' })),
    };
  }

  /**
   * Makes a new key active. The old one stays published for RETIRED_KEY_PUBLISH_SECONDS so tokens
   * and signatures it made still verify. Only for keys kept in the database.
   */
  async rotate(): Promise<{ kid: string; retired: string[] }> {
    if (this.signing.keyFiles) {
      throw new Error('keys: rotation is done by changing SIGNING_KEY_FILES when keys come from files');
    }
    const created = await generateSealedKey(this.signing.alg, await this.keyEncryptionKey());
    const retired = await this.db.transaction(async (tx) => {
      // One rotation at a time across instances.
      await tx.execute(sql`select pg_advisory_xact_lock(7461230002)`);
      const publishUntil = new Date(Date.now() + this.signing.retiredKeyPublishSeconds * 1000);
      const retiredRows = await tx
        .update(signingKeys)
        .set({ retiredAt: new Date(), publishUntil })
        .where(isNull(signingKeys.retiredAt))
        .returning({ kid: signingKeys.kid });
      await tx.insert(signingKeys).values(created);
      return retiredRows.map((row) => row.kid);
    });
    this.keySet = await this.load();
    return { kid: created.kid, retired };
  }

  private async current(): Promise<KeySet> {
    if (this.keySet && Date.now() - this.keySet.loadedAt < REFRESH_INTERVAL_MS) return this.keySet;
    if (this.keySet) {
      // Serve the cached set while a refresh runs in the background; never block a request on it.
      void this.reload().catch(() => undefined);
      return this.keySet;
    }
    return this.reload();
  }

  private reload(): Promise<KeySet> {
    this.loading ??= this.load()
      .then((set) => {
        this.keySet = set;
        return set;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  private async load(): Promise<KeySet> {
    return this.signing.keyFiles ? loadFromFiles(this.signing.keyFiles) : this.loadFromDatabase();
  }

  private async keyEncryptionKey(): Promise<KeyEncryptionKey> {
    this.kek ??= await loadKeyEncryptionKey(
      this.signing.keyEncryptionKeyFile,
      (this.options.keyEncryptionKey ?? 'create') === 'create',
    );
    return this.kek;
  }

  private reportIgnored(row: SigningKeyRow, unsealed: Exclude<Unsealed, { status: 'ok' }>): void {
    if (this.reportedRows.has(row.kid)) return;
    this.reportedRows.add(row.kid);
    const reason =
      unsealed.status === 'foreign'
        ? `it is sealed with another key-encryption key (${unsealed.kekKid})`
        : unsealed.reason;
    this.options.logger?.warn(
      { kid: row.kid, reason },
      'signing key in the database ignored: this gateway did not seal it, so it is neither published nor trusted',
    );
  }

  /** The published rows this gateway sealed; the newest unretired one of them signs. */
  private async readPublished(
    kek: KeyEncryptionKey,
  ): Promise<{ active: ActiveKey | undefined; published: Map<string, PublishedKey> }> {
    const rows = await this.db
      .select()
      .from(signingKeys)
      .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.publishUntil, new Date())))
      .orderBy(desc(signingKeys.createdAt), desc(signingKeys.kid));
    const published = new Map<string, PublishedKey>();
    let active: ActiveKey | undefined;
    for (const row of rows) {
      const unsealed = await unsealPrivateKey(kek, row);
      if (unsealed.status !== 'ok') {
        this.reportIgnored(row, unsealed);
        continue;
      }
      published.set(row.kid, await publishedKeyOf(row.kid, unsealed.alg, unsealed.privateJwk));
      if (!active && row.retiredAt === null) {
        active = {
          kid: row.kid,
          alg: unsealed.alg,
          signKey: await importSignKey(unsealed.privateJwk, unsealed.alg),
        };
      }
    }
    return { active, published };
  }

  private async loadFromDatabase(): Promise<KeySet> {
    const kek = await this.keyEncryptionKey();
    let found = await this.readPublished(kek);
    if (!found.active) {
      await this.db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(7461230002)`);
        const rows = await tx.select().from(signingKeys);
        const opened = await Promise.all(
          rows.map(async (row) => ({ row, unsealed: await unsealPrivateKey(kek, row) })),
        );
        // Another instance generated one meanwhile.
        if (opened.some(({ row, unsealed }) => unsealed.status === 'ok' && row.retiredAt === null)) return;
        // Keys sealed with another key-encryption key, and none naming ours: this instance was
        // given another file than the deployment it joins. Generating a key of its own would
        // leave instances signing with keys the others cannot open: refuse and say why. (Once a
        // seal names our key, foreign rows are forgeries to ignore.)
        const foreign = opened.find(({ row, unsealed }) => unsealed.status === 'foreign' && row.retiredAt === null);
        if (foreign && !rows.some((row) => sealNamesKey(row, kek))) {
          throw new KeyEncryptionKeyMismatchError(
            `keys: the active signing key ${foreign.row.kid} in the database is sealed with another key-encryption ` +
              `key than ${this.signing.keyEncryptionKeyFile}; ` +
              'every instance of a deployment needs the same SIGNING_KEY_ENCRYPTION_KEY_FILE (copy it from the ' +
              'instance that created the key)',
          );
        }
        await tx.insert(signingKeys).values(await generateSealedKey(this.signing.alg, kek));
      });
      found = await this.readPublished(kek);
    }
    if (!found.active) throw new Error('keys: no usable active signing key in the database');
    return { active: found.active, published: found.published, loadedAt: Date.now() };
  }
}

/** The key in a PEM file, with the algorithm its type implies. */
async function keyOfPem(
  pem: string,
  file: string,
): Promise<{ alg: SigningAlg; publicJwk: JWK; signKey: SignKey; verifyKey: VerifyKey }> {
  // SM2 first: Node reports an SM2 key read from PEM as of no known type, and jose cannot use it.
  const sm2 = Sm2PrivateKey.fromPem(pem);
  if (sm2) {
    return { alg: SM2_JWS_ALG, publicJwk: sm2.publicKey.toJwk(), signKey: sm2, verifyKey: sm2.publicKey };
  }
  const keyType = createPublicKey(pem).asymmetricKeyType;
  const alg: SigningAlg | undefined = keyType === 'ec' ? 'ES256' : keyType === 'ed25519' ? 'EdDSA' : undefined;
  if (!alg)
    throw new Error(`keys: ${file} holds a ${keyType ?? 'unknown'} key; use a P-256, Ed25519 or SM2 PKCS#8 key`);
  const publicJwk = publicJwkOnly(await exportJWK(createPublicKey(pem)));
  return { alg, publicJwk, signKey: await importPKCS8(pem, alg), verifyKey: await importVerifyKey(publicJwk, alg) };
}

async function loadFromFiles(files: string[]): Promise<KeySet> {
  const published = new Map<string, PublishedKey>();
  let active: ActiveKey | undefined;
  for (const file of files) {
    const pem = await readFile(file, 'utf8').catch((cause: unknown) => {
      throw new Error(`keys: cannot read signing key file ${file}`, { cause });
    });
    const key = await keyOfPem(pem, file).catch((cause: unknown) => {
      if (cause instanceof Error && cause.message.startsWith('keys:')) throw cause;
      throw new Error(`keys: ${file} does not hold a usable PEM private key`, { cause });
    });
    const kid = (await calculateJwkThumbprint(key.publicJwk)).slice(0, 16);
    published.set(kid, { kid, alg: key.alg, publicJwk: key.publicJwk, verifyKey: key.verifyKey });
    active ??= { kid, alg: key.alg, signKey: key.signKey };
  }
  if (!active) throw new Error('keys: SIGNING_KEY_FILES names no file');
  return { active, published, loadedAt: Date.now() };
}
