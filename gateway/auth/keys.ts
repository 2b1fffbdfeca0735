/**
 * The gateway's signing keys. Tokens, audit checkpoints and (later) certificate envelopes are all
 * signed with the active key; every key still within its publication window is in the JWKS, so
 * what an older key signed keeps verifying after a rotation.
 *
 * Keys come either from configured PKCS#8 PEM files (the first is active) or, by default, from
 * the database, where the first instance to start generates one. Either way every instance of a
 * deployment signs with the same keys. Keys are imported once as CryptoKeys and cached.
 */
import { createPublicKey, randomBytes, type webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { desc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, importPKCS8, type JWK } from 'jose';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { signingKeys } from '../db/schema.js';

/** WebCrypto key, as jose uses them; imported once and reused for every signature. */
export type CryptoKey = webcrypto.CryptoKey;

export type SigningAlg = Config['signing']['alg'];
export const acceptedAlgorithms: SigningAlg[] = ['ES256', 'EdDSA'];

export interface PublishedKey {
  kid: string;
  alg: SigningAlg;
  publicJwk: JWK;
  verifyKey: CryptoKey;
}

export interface ActiveKey {
  kid: string;
  alg: SigningAlg;
  signKey: CryptoKey;
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

function isSigningAlg(value: unknown): value is SigningAlg {
  return value === 'ES256' || value === 'EdDSA';
}

function publicJwkOnly(jwk: JWK): JWK {
  // Copy only public members, so a private member can never reach the JWKS by accident.
  const { kty, crv, x, y } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y }).filter(([, value]) => value !== undefined));
}

export class KeyStore {
  private keySet: KeySet | undefined;
  private loading: Promise<KeySet> | undefined;
  private lastUnknownKidReload = 0;

  constructor(
    private readonly db: Database,
    private readonly signing: Config['signing'],
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
   * A key that may verify an old signature kept in our own records (audit checkpoints), even
   * after it has left the JWKS: public halves of generated keys are never deleted. With key
   * files, only the configured files are known.
   */
  async historicalVerificationKey(kid: string): Promise<PublishedKey | undefined> {
    const published = await this.verificationKey(kid);
    if (published || this.signing.keyFiles) return published;
    const [row] = await this.db
      .select({ kid: signingKeys.kid, alg: signingKeys.alg, publicJwk: signingKeys.publicJwk })
      .from(signingKeys)
      .where(eq(signingKeys.kid, kid));
    if (!row || !isSigningAlg(row.alg)) return undefined;
    const publicJwk = publicJwkOnly(row.publicJwk as JWK);
    return { kid: row.kid, alg: row.alg, publicJwk, verifyKey: (await importJWK(publicJwk, row.alg)) as CryptoKey };
  }

  /**
   * Whether `kid` is still published, answered from memory (the key set is refreshed in the
   * background). Used to drop cached token verifications once their key leaves the JWKS.
   */
  isPublished(kid: string): boolean {
    if (this.keySet && Date.now() - this.keySet.loadedAt >= REFRESH_INTERVAL_MS) void this.reload().catch(() => undefined);
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
    const created = await generateStoredKey(this.signing.alg);
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
    return this.signing.keyFiles ? loadFromFiles(this.signing.keyFiles) : loadFromDatabase(this.db, this.signing.alg);
  }
}

async function generateStoredKey(alg: SigningAlg) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = publicJwkOnly(await exportJWK(publicKey));
  const privateJwk = await exportJWK(privateKey);
  // The thumbprint plus a random suffix: stable for the key and unique even if a key repeats.
  const kid = `${(await calculateJwkThumbprint(publicJwk)).slice(0, 16)}-${randomBytes(3).toString('hex')}`;
  return { kid, alg, publicJwk: publicJwk as Record<string, unknown>, privateJwk: privateJwk as Record<string, unknown> };
}

async function loadFromDatabase(db: Database, alg: SigningAlg): Promise<KeySet> {
  const publishedRows = () =>
    db
      .select()
      .from(signingKeys)
      .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.publishUntil, new Date())))
      .orderBy(desc(signingKeys.createdAt), desc(signingKeys.kid));
  let rows = await publishedRows();
  if (!rows.some((row) => row.retiredAt === null)) {
    await db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(7461230002)`);
      const active = await tx.select({ kid: signingKeys.kid }).from(signingKeys).where(isNull(signingKeys.retiredAt));
      if (active.length === 0) await tx.insert(signingKeys).values(await generateStoredKey(alg));
    });
    rows = await publishedRows();
  }
  const published = new Map<string, PublishedKey>();
  let active: ActiveKey | undefined;
  for (const row of rows) {
    if (!isSigningAlg(row.alg)) continue;
    const publicJwk = row.publicJwk as JWK;
    published.set(row.kid, { kid: row.kid, alg: row.alg, publicJwk, verifyKey: (await importJWK(publicJwk, row.alg)) as CryptoKey });
    if (!active && row.retiredAt === null) {
      active = { kid: row.kid, alg: row.alg, signKey: (await importJWK(row.privateJwk as JWK, row.alg)) as CryptoKey };
    }
  }
  if (!active) throw new Error('keys: no active signing key in the database');
  return { active, published, loadedAt: Date.now() };
}

function algOfPem(pem: string, file: string): SigningAlg {
  const keyType = createPublicKey(pem).asymmetricKeyType;
  if (keyType === 'ec') return 'ES256';
  if (keyType === 'ed25519') return 'EdDSA';
  throw new Error(`keys: ${file} holds a ${keyType ?? 'unknown'} key; use a P-256 or Ed25519 PKCS#8 key`);
}

async function loadFromFiles(files: string[]): Promise<KeySet> {
  const published = new Map<string, PublishedKey>();
  let active: ActiveKey | undefined;
  for (const file of files) {
    const pem = await readFile(file, 'utf8').catch((cause: unknown) => {
      throw new Error(`keys: cannot read signing key file ${file}`, { cause });
    });
    const alg = algOfPem(pem, file);
    const publicJwk = publicJwkOnly(await exportJWK(createPublicKey(pem)));
    const kid = (await calculateJwkThumbprint(publicJwk)).slice(0, 16);
    published.set(kid, { kid, alg, publicJwk, verifyKey: (await importJWK(publicJwk, alg)) as CryptoKey });
    active ??= { kid, alg, signKey: await importPKCS8(pem, alg) };
  }
  if (!active) throw new Error('keys: SIGNING_KEY_FILES names no file');
  return { active, published, loadedAt: Date.now() };
}

