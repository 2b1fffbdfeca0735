/**
 * Personal data at rest (issue 21): identifiers and names are sealed with a data key before they
 * are written, and opened after they are read; lookups by identifier match a keyed blind index,
 * so the database alone holds neither the values nor a way to test a guess.
 *
 * Keys, outermost first:
 * - the key-encryption key (KEK): a 256-bit file outside the database (DATA_KEY_ENCRYPTION_KEY_FILE),
 *   created at first start; earlier files (…_PREVIOUS_FILES) are kept while rotating it;
 * - data keys (`data_keys`): random, wrapped by the KEK (a key derived from it per algorithm with
 *   HKDF). Rotating the KEK wraps them again at the next start; the data is not touched;
 * - one sealing key per algorithm is active; `npm run data-keys -- rotate` makes a new one, the
 *   old ones keep opening what they sealed; one index key (HMAC), never rotated (every lookup
 *   value would change).
 *
 * Stored forms: `ow1.<key id>.<base64url(iv ‖ ciphertext ‖ tag)>` for a sealed value, bound by
 * its associated data to where it is kept (`subjects.name:<subject id>`); `bi1.<base64url(HMAC)>`
 * for a lookup. A value without the prefix is from before protection was turned on and is read
 * as it is, until `npm run data-keys -- seal-existing` (or the start) seals it.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { base64url } from 'jose';
import type { Logger } from 'pino';
import type { ProtectionSettings } from '../config.js';
import type { Database } from '../db/client.js';
import { dataKeys } from '../db/schema.js';
import { PrivateFileError, readOrCreatePrivateFile, readPrivateFile } from '../platform/private-files.js';
import { openRemembered, registerOpeningKey, SEALED_JSON_MARK } from '../db/sealed-json.js';
import { aeadOpen, aeadSeal, HASH_OF, KEY_BYTES, type ProtectionAlgorithm, SealBrokenError } from '../platform/aead.js';

const SEALED_PREFIX = 'ow1.';

/** The JSON columns kept sealed; the name is the associated data a value is bound to. */
export type SealedJsonColumn =
  | 'certificates.metadata'
  | 'cases.form'
  | 'idempotency_keys.response_body'
  | 'case_results.address';
const LOOKUP_PREFIX = 'bi1.';
const KEK_FILE = 'data key-encryption key file';
const INDEX_KEY_BYTES = 32;

type IndexAlgorithm = 'hmac-sha256' | 'hmac-sm3';

interface KeyEncryptionKey {
  id: string;
  secret: Uint8Array;
}

interface DataKey {
  id: string;
  purpose: 'seal' | 'index';
  algorithm: ProtectionAlgorithm | IndexAlgorithm;
  key: Buffer;
  active: boolean;
}

type DataKeyRow = typeof dataKeys.$inferSelect;

/** The keys are missing or do not fit: the message says what to do (start refuses). */
export class DataKeyError extends Error {
  override name = 'DataKeyError';
}

const encoder = new TextEncoder();

async function readKek(file: string, create: boolean): Promise<KeyEncryptionKey> {
  const generate = async () => `${JSON.stringify({ kty: 'oct', k: base64url.encode(randomBytes(32)), use: 'enc' })}\n`;
  const contents = create
    ? (await readOrCreatePrivateFile(file, KEK_FILE, generate)).contents
    : await readPrivateFile(file, KEK_FILE);
  if (contents === undefined) throw new PrivateFileError(`no ${KEK_FILE} at ${file}`);
  let secret: Uint8Array | undefined;
  try {
    const jwk = JSON.parse(contents) as { kty?: unknown; k?: unknown };
    if (jwk.kty === 'oct' && typeof jwk.k === 'string') secret = base64url.decode(jwk.k);
  } catch {
    secret = undefined;
  }
  if (secret?.length !== 32)
    throw new PrivateFileError(`${KEK_FILE} ${file} does not hold a 256-bit key (a JSON JWK {"kty":"oct","k":…})`);
  // The id names the file's key without revealing it: a keyed hash of a fixed label.
  const id = base64url.encode(createHmac('sha256', secret).update('onewindow data-key KEK id').digest()).slice(0, 16);
  return { id, secret };
}

/** The key that wraps data keys with `algorithm`, derived from the KEK (HKDF with SM3 or SHA-256). */
function wrappingKey(kek: KeyEncryptionKey, algorithm: ProtectionAlgorithm): Uint8Array {
  return new Uint8Array(
    hkdfSync(HASH_OF[algorithm], kek.secret, new Uint8Array(0), 'onewindow data-key wrapping', KEY_BYTES[algorithm]),
  );
}

function wrap(kek: KeyEncryptionKey, algorithm: ProtectionAlgorithm, id: string, key: Uint8Array): string {
  return base64url.encode(aeadSeal(algorithm, wrappingKey(kek, algorithm), key, encoder.encode(`data-key:${id}`)));
}

function unwrap(kek: KeyEncryptionKey, row: DataKeyRow): Buffer {
  const algorithm = row.wrapAlgorithm as ProtectionAlgorithm;
  return aeadOpen(
    algorithm,
    wrappingKey(kek, algorithm),
    base64url.decode(row.wrappedKey),
    encoder.encode(`data-key:${row.id}`),
  );
}

const newKeyId = (): string => base64url.encode(randomBytes(9));

/** How a subject's identifier is looked up, and sealed values opened, for one deployment. */
export class DataProtection {
  private keys = new Map<string, DataKey>();
  private sealingKey: DataKey | undefined;
  private indexKey: DataKey | undefined;

  private constructor(
    private readonly db: Database,
    private readonly settings: ProtectionSettings,
    private readonly kek: KeyEncryptionKey,
    private readonly previousKeks: readonly KeyEncryptionKey[],
  ) {}

  /**
   * Loads the data keys (creating the sealing and index keys when protection is on and there are
   * none), wrapping again under the current KEK those an earlier one wrapped. Refuses to start
   * when a key was wrapped by a KEK this instance does not have.
   */
  static async start(db: Database, settings: ProtectionSettings, logger: Logger): Promise<DataProtection> {
    const kek = await readKek(settings.keyEncryptionKeyFile, true);
    const previous = await Promise.all(settings.previousKeyEncryptionKeyFiles.map((file) => readKek(file, false)));
    const protection = new DataProtection(db, settings, kek, previous);
    await protection.rewrapUnderCurrentKek(logger);
    if (settings.mode !== 'off') await protection.ensureKeys(settings.mode);
    await protection.load();
    return protection;
  }

  get mode(): ProtectionSettings['mode'] {
    return this.settings.mode;
  }

  /** Seals `text` for the place `where` names (table.column:row id); clear when protection is off. */
  sealText(where: string, text: string): string {
    const key = this.sealingKey;
    // Kept in clear, it would later read as a sealed value that does not open (routes refuse such names).
    if (!key && text.startsWith(SEALED_PREFIX))
      throw new TypeError(`a value kept in clear at ${where.split(':')[0]} may not begin with ${SEALED_PREFIX}`);
    if (!key) return text;
    const sealed = aeadSeal(key.algorithm as ProtectionAlgorithm, key.key, encoder.encode(text), encoder.encode(where));
    return `${SEALED_PREFIX}${key.id}.${base64url.encode(sealed)}`;
  }

  /**
   * `value` sealed for the JSON column `column` (see sealed-json.ts), as the column's type; as it
   * is when protection is off.
   */
  sealJson<Value>(column: SealedJsonColumn, value: Value): Value {
    const key = this.sealingKey;
    if (!key) return value;
    return this.sealedMark(key, column, JSON.stringify(value)) as Value;
  }

  /**
   * `sealJson` for a value already written as JSON text (`json`): the JSON text to store in
   * `column` — `json` itself when protection is off. Spares a second `JSON.stringify` of a value
   * whose text is also sent (an idempotent answer).
   */
  sealJsonText(column: SealedJsonColumn, json: string): string {
    const key = this.sealingKey;
    if (!key) return json;
    return JSON.stringify(this.sealedMark(key, column, json));
  }

  private sealedMark(key: DataKey, column: SealedJsonColumn, json: string) {
    const sealed = aeadSeal(
      key.algorithm as ProtectionAlgorithm,
      key.key,
      encoder.encode(json),
      encoder.encode(column),
    );
    return { [SEALED_JSON_MARK]: `${SEALED_PREFIX}${key.id}.${base64url.encode(sealed)}` };
  }

  /** Opens a value read from `where`; a value in clear (from before protection) is returned as it is. */
  async openText(where: string, stored: string): Promise<string> {
    if (!stored.startsWith(SEALED_PREFIX)) return stored;
    const dot = stored.indexOf('.', SEALED_PREFIX.length);
    if (dot < 0) throw new SealBrokenError(`a sealed value at ${where} names no key`);
    const keyId = stored.slice(SEALED_PREFIX.length, dot);
    let key = this.keys.get(keyId);
    // Made by another instance since this one loaded its keys (a rotation): read them again once.
    if (!key) {
      await this.load();
      key = this.keys.get(keyId);
    }
    if (!key || key.purpose !== 'seal')
      throw new SealBrokenError(`the data key ${keyId} of a value at ${where} is unknown`);
    const sealingKey = key;
    return openRemembered(where, stored, () =>
      new TextDecoder().decode(
        aeadOpen(
          sealingKey.algorithm as ProtectionAlgorithm,
          sealingKey.key,
          base64url.decode(stored.slice(dot + 1)),
          encoder.encode(where),
        ),
      ),
    );
  }

  /**
   * The active sealing key, for sealing bytes in a format of their own (documents); undefined
   * when protection is off. Callers keep the key id beside what they sealed.
   */
  get activeSealingKey(): { id: string; algorithm: ProtectionAlgorithm; key: Uint8Array } | undefined {
    const key = this.sealingKey;
    return key ? { id: key.id, algorithm: key.algorithm as ProtectionAlgorithm, key: key.key } : undefined;
  }

  /** The sealing key with this id (read again from the database once when unknown), for opening. */
  async sealingKeyById(id: string): Promise<{ id: string; algorithm: ProtectionAlgorithm; key: Uint8Array }> {
    let key = this.keys.get(id);
    if (!key) {
      await this.load();
      key = this.keys.get(id);
    }
    if (!key || key.purpose !== 'seal') throw new SealBrokenError(`the data key ${id} is unknown`);
    return { id: key.id, algorithm: key.algorithm as ProtectionAlgorithm, key: key.key };
  }

  /** What every value sealed now begins with (null when protection is off): values without it are sealed again by `reseal`. */
  get currentSealPrefix(): string | null {
    return this.sealingKey ? `${SEALED_PREFIX}${this.sealingKey.id}.` : null;
  }

  /** What a lookup of `value` (of kind `kind`, e.g. an identifier type) matches when written now. */
  lookupOf(kind: string, value: string): string {
    const key = this.settings.mode === 'off' ? undefined : this.indexKey;
    return key ? this.blindIndex(key, kind, value) : value;
  }

  /**
   * Every form a stored lookup of `value` may have: the blind index and the clear value (rows
   * written while protection was off, not yet sealed). The clear value is only sent, never kept.
   */
  lookupsOf(kind: string, value: string): string[] {
    return this.indexKey ? [this.blindIndex(this.indexKey, kind, value), value] : [value];
  }

  /**
   * What a certificate's number is stored and matched as: a resident ID card's or household
   * register's number IS the holder's ID number, so numbers are kept as a blind index too (the
   * number itself is in the sealed metadata).
   */
  certificateNumberLookup(certificateType: string, certificateNumber: string): string {
    return this.lookupOf(`certificate:${certificateType}`, certificateNumber);
  }

  /** Every stored form of a certificate number (see lookupsOf): the blind index and the clear number. */
  certificateNumberLookups(certificateType: string, certificateNumber: string): [string, string] {
    const forms = this.lookupsOf(`certificate:${certificateType}`, certificateNumber);
    return [forms[0] ?? certificateNumber, forms.at(-1) ?? certificateNumber];
  }

  private blindIndex(key: DataKey, kind: string, value: string): string {
    const hash = key.algorithm === 'hmac-sm3' ? 'sm3' : 'sha256';
    const mac = createHmac(hash, key.key).update(`${kind}\u001f${value}`).digest();
    return `${LOOKUP_PREFIX}${base64url.encode(mac)}`;
  }

  /** Makes a new active sealing key for the configured algorithm; values sealed before still open. */
  async rotateSealingKey(): Promise<string> {
    if (this.settings.mode === 'off')
      throw new DataKeyError('data protection is off (DATA_PROTECTION): nothing to rotate');
    const algorithm = this.settings.mode;
    const id = newKeyId();
    await this.db.transaction(async (tx) => {
      await tx
        .update(dataKeys)
        .set({ active: false })
        .where(and(eq(dataKeys.purpose, 'seal'), eq(dataKeys.algorithm, algorithm), eq(dataKeys.active, true)));
      await tx.insert(dataKeys).values(this.newKeyRow(id, 'seal', algorithm, randomBytes(KEY_BYTES[algorithm])));
    });
    await this.load();
    return id;
  }

  private newKeyRow(
    id: string,
    purpose: 'seal' | 'index',
    algorithm: ProtectionAlgorithm | IndexAlgorithm,
    key: Uint8Array,
  ): typeof dataKeys.$inferInsert {
    const wrapAlgorithm = this.settings.mode === 'off' ? 'aes-256-gcm' : this.settings.mode;
    return {
      id,
      purpose,
      algorithm,
      kekId: this.kek.id,
      wrapAlgorithm,
      wrappedKey: wrap(this.kek, wrapAlgorithm, id, key),
    };
  }

  /** The sealing key of `algorithm` and the index key, made when missing (several instances may race: one wins). */
  private async ensureKeys(algorithm: ProtectionAlgorithm): Promise<void> {
    const rows = await this.db.select().from(dataKeys);
    const missing: (typeof dataKeys.$inferInsert)[] = [];
    if (!rows.some((row) => row.purpose === 'seal' && row.algorithm === algorithm && row.active))
      missing.push(this.newKeyRow(newKeyId(), 'seal', algorithm, randomBytes(KEY_BYTES[algorithm])));
    if (!rows.some((row) => row.purpose === 'index')) {
      const indexAlgorithm: IndexAlgorithm = algorithm === 'sm4-gcm' ? 'hmac-sm3' : 'hmac-sha256';
      missing.push(this.newKeyRow(newKeyId(), 'index', indexAlgorithm, randomBytes(INDEX_KEY_BYTES)));
    }
    for (const row of missing) await this.db.insert(dataKeys).values(row).onConflictDoNothing();
  }

  private async rewrapUnderCurrentKek(logger: Logger): Promise<void> {
    const rows = await this.db.select().from(dataKeys);
    for (const row of rows) {
      if (row.kekId === this.kek.id) continue;
      const previous = this.previousKeks.find((kek) => kek.id === row.kekId);
      if (!previous) continue;
      const algorithm = row.wrapAlgorithm as ProtectionAlgorithm;
      await this.db
        .update(dataKeys)
        .set({ kekId: this.kek.id, wrappedKey: wrap(this.kek, algorithm, row.id, unwrap(previous, row)) })
        .where(and(eq(dataKeys.id, row.id), eq(dataKeys.kekId, previous.id)));
      logger.info(
        { dataKey: row.id, from: previous.id, to: this.kek.id },
        'data key wrapped under the current key-encryption key',
      );
    }
  }

  private async load(): Promise<void> {
    const rows = await this.db.select().from(dataKeys);
    const keys = new Map<string, DataKey>();
    for (const row of rows) {
      const kek = row.kekId === this.kek.id ? this.kek : this.previousKeks.find((entry) => entry.id === row.kekId);
      if (!kek) {
        throw new DataKeyError(
          `the data key ${row.id} is wrapped by the key-encryption key ${row.kekId}, which this instance does not have: ` +
            'start it with the same DATA_KEY_ENCRYPTION_KEY_FILE as the others (or name the earlier file in DATA_KEY_ENCRYPTION_KEY_PREVIOUS_FILES)',
        );
      }
      let key: Buffer;
      try {
        key = unwrap(kek, row);
      } catch (error) {
        throw new DataKeyError(`the data key ${row.id} does not open with the key-encryption key ${kek.id}`, {
          cause: error,
        });
      }
      if (row.purpose === 'seal') registerOpeningKey(row.id, row.algorithm as ProtectionAlgorithm, key);
      keys.set(row.id, {
        id: row.id,
        purpose: row.purpose as DataKey['purpose'],
        algorithm: row.algorithm as DataKey['algorithm'],
        key,
        active: row.active,
      });
    }
    this.keys = keys;
    const mode = this.settings.mode;
    this.sealingKey =
      mode === 'off'
        ? undefined
        : [...keys.values()].find((key) => key.purpose === 'seal' && key.algorithm === mode && key.active);
    this.indexKey = [...keys.values()].find((key) => key.purpose === 'index');
  }
}
