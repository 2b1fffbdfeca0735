/**
 * JSON columns that hold personal data (a case's form, a certificate's metadata, a stored
 * idempotent answer) sealed at rest. The writer seals explicitly (`DataProtection.sealJson`), so
 * a gateway with protection off writes clear JSON; every read opens by itself, in the column's
 * decoder: a sealed value is the object `{"$sealed": "ow1.<key id>.<base64url>"}`, opened with
 * the data key of that id, bound to its column (not to its row: the decoder does not see the row).
 *
 * The decoder is synchronous and has no services at hand, so the data keys every `DataProtection`
 * in this process loaded are kept here by id (key ids are random: instances on different
 * databases in one process, as in tests, never clash).
 */
import { customType } from 'drizzle-orm/pg-core';
import { base64url } from 'jose';
import { aeadOpen, type ProtectionAlgorithm, SealBrokenError } from '../platform/aead.js';

export const SEALED_JSON_MARK = '$sealed';
const SEALED_PREFIX = 'ow1.';

const openingKeys = new Map<string, { algorithm: ProtectionAlgorithm; key: Uint8Array }>();

/**
 * Values opened lately, by place and sealed form (a sealed form never changes: a new value gets a
 * new random IV): the same certificate read again costs a parse, not a decryption. Bounded; the
 * plaintext is in this process's memory anyway while requests use it.
 */
const OPENED_LIMIT = 4096;
const opened = new Map<string, string>();

/** `open()` of `sealed` at `place`, remembered (oldest forgotten first). */
export function openRemembered(place: string, sealed: string, open: () => string): string {
  const key = `${place}\u0000${sealed}`;
  const known = opened.get(key);
  if (known !== undefined) return known;
  const text = open();
  if (opened.size >= OPENED_LIMIT) opened.delete(opened.keys().next().value ?? '');
  opened.set(key, text);
  return text;
}

/** Makes a data key available to the column decoders of this process. */
export function registerOpeningKey(id: string, algorithm: ProtectionAlgorithm, key: Uint8Array): void {
  openingKeys.set(id, { algorithm, key });
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The sealed marker object, or undefined when `value` is not one. */
function sealedText(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== SEALED_JSON_MARK) return undefined;
  const text = (value as Record<string, unknown>)[SEALED_JSON_MARK];
  return typeof text === 'string' && text.startsWith(SEALED_PREFIX) ? text : undefined;
}

/** Whether a stored JSON value is sealed. */
export function isSealedJson(value: unknown): boolean {
  return sealedText(value) !== undefined;
}

/** The value a JSON column `column` holds, opened when sealed; clear JSON (written with protection off) as it is. */
export function openSealedJson(column: string, value: unknown): unknown {
  const text = sealedText(value);
  if (text === undefined) return value;
  const dot = text.indexOf('.', SEALED_PREFIX.length);
  const keyId = text.slice(SEALED_PREFIX.length, dot < 0 ? undefined : dot);
  const json = openRemembered(column, text, () => {
    const key = openingKeys.get(keyId);
    if (dot < 0 || !key) throw new SealBrokenError(`the data key ${keyId} of a sealed value in ${column} is unknown`);
    return decoder.decode(
      aeadOpen(key.algorithm, key.key, base64url.decode(text.slice(dot + 1)), encoder.encode(column)),
    );
  });
  return JSON.parse(json) as unknown;
}

/** A jsonb column whose values may be sealed; reads open them (see above). */
export const sealedJsonb = <Data>(name: string, column: string) =>
  customType<{ data: Data; driverData: unknown }>({
    dataType: () => 'jsonb',
    toDriver: (value) => JSON.stringify(value),
    fromDriver: (value) => openSealedJson(column, typeof value === 'string' ? JSON.parse(value) : value) as Data,
  })(name);
