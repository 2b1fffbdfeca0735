/**
 * The key that signs audit checkpoints, and the keys a verifier trusts checkpoints to be signed
 * with. Neither ever comes from the database: whoever can write the database could otherwise
 * rewrite history and sign it again. The signing key is a PKCS#8 PEM file on the gateway host
 * (created at first start, mode 0600, its public half written beside it); trusted keys are
 * files handed to the verifier out of band (PEM public keys, certificates or a JWKS).
 *
 * Keys are named by their RFC 7638 thumbprint (SHA-256, base64url), which anyone can recompute
 * from the public key: a checkpoint's `kid` says which trusted key must verify it.
 */
import { type JsonWebKey, type KeyObject, X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { type JWK, calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8 } from 'jose';
import { SM2_JWS_ALG, type SignKey, type VerifyKey, importVerifyKey } from '../auth/jws.js';
import type { SigningAlg } from '../auth/keys.js';
import { PrivateFileError, readOrCreatePrivateFile, readPrivateFile } from '../platform/private-files.js';
import { Sm2PrivateKey, Sm2PublicKey, generateSm2PrivateKey } from '../../adapters/sdk/helpers/sm2.js';

const CHECKPOINT_KEY_FILE = 'audit checkpoint key file';

export interface CheckpointSigner {
  /** RFC 7638 thumbprint of the public key. */
  kid: string;
  alg: SigningAlg;
  signKey: SignKey;
  verifyKey: VerifyKey;
  publicJwk: JWK;
  /** The private key file, and the public key file written beside it for verifiers. */
  keyFile: string;
  publicKeyFile: string;
}

export interface TrustedKey {
  kid: string;
  alg: SigningAlg;
  verifyKey: VerifyKey;
  /** Where the verifier was given it (a file name), for reports. */
  source: string;
}

/** A trusted-key file that cannot be used; the message names the file and the reason. */
export class TrustedKeyFileError extends Error {
  override name = 'TrustedKeyFileError';
}

/** The public key file beside a private key file: `x.pem` → `x.pub.pem`. */
export function publicKeyFileOf(keyFile: string): string {
  return keyFile.endsWith('.pem') ? `${keyFile.slice(0, -'.pem'.length)}.pub.pem` : `${keyFile}.pub.pem`;
}

function algOfKey(key: KeyObject): SigningAlg | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  return undefined;
}

function publicMembers(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y }).filter(([, value]) => value !== undefined));
}

/**
 * An SM2 public key in a KeyObject: Node reports such a key (read from PEM) as of no known type,
 * so it is recognised by its SubjectPublicKeyInfo.
 */
function sm2KeyOf(publicKey: KeyObject): Sm2PublicKey | undefined {
  if (publicKey.asymmetricKeyType !== undefined && publicKey.asymmetricKeyType !== 'ec') return undefined;
  return Sm2PublicKey.fromSpkiDer(publicKey.export({ type: 'spki', format: 'der' }));
}

async function trustedKeyOf(
  publicKey: KeyObject | Sm2PublicKey,
  source: string,
  statedKid?: string,
): Promise<TrustedKey[]> {
  const sm2 = publicKey instanceof Sm2PublicKey ? publicKey : sm2KeyOf(publicKey);
  const alg = sm2 ? SM2_JWS_ALG : algOfKey(publicKey as KeyObject);
  if (!alg)
    throw new TrustedKeyFileError(
      `${source}: holds a ${(publicKey as KeyObject).asymmetricKeyType ?? 'unknown'} key; checkpoints are signed ` +
        'with P-256 (ES256), Ed25519 (EdDSA) or SM2 (SM2SM3) keys',
    );
  const publicJwk = sm2 ? sm2.toJwk() : publicMembers(await exportJWK(publicKey as KeyObject));
  const verifyKey = await importVerifyKey(publicJwk, alg);
  const thumbprint = await calculateJwkThumbprint(publicJwk);
  const keys = [{ kid: thumbprint, alg, verifyKey, source }];
  // A JWKS may name a key by another kid (e.g. keys exported from an older deployment): the
  // file's author vouches for that name too.
  if (statedKid && statedKid !== thumbprint) keys.push({ kid: statedKid, alg, verifyKey, source });
  return keys;
}

async function keysOfJwks(text: string, source: string): Promise<TrustedKey[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TrustedKeyFileError(`${source}: is neither PEM nor JSON (a JWKS)`);
  }
  const jwks = (parsed as { keys?: unknown }).keys;
  const entries = Array.isArray(jwks) ? (jwks as unknown[]) : [parsed];
  const keys: TrustedKey[] = [];
  for (const [index, entry] of entries.entries()) {
    if (typeof entry !== 'object' || entry === null || typeof (entry as JWK).kty !== 'string') {
      throw new TrustedKeyFileError(`${source}: key ${index + 1} is not a JWK`);
    }
    const jwk = entry as JWK;
    let publicKey: KeyObject | Sm2PublicKey;
    try {
      publicKey =
        jwk.crv === 'SM2'
          ? Sm2PublicKey.fromJwk(jwk)
          : createPublicKey({ key: publicMembers(jwk) as JsonWebKey, format: 'jwk' });
    } catch (error) {
      throw new TrustedKeyFileError(
        `${source}: key ${index + 1} is not a usable public key (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    keys.push(
      ...(await trustedKeyOf(publicKey, `${source}#${index + 1}`, typeof jwk.kid === 'string' ? jwk.kid : undefined)),
    );
  }
  return keys;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

async function keysOfPem(text: string, source: string): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const [block, label] = match;
    let publicKey: KeyObject;
    try {
      if (label === 'CERTIFICATE') publicKey = new X509Certificate(block).publicKey;
      else if (label === 'PUBLIC KEY') publicKey = createPublicKey(block);
      // A private key file is accepted for convenience; only its public half is kept.
      else if (label === 'PRIVATE KEY' || label === 'EC PRIVATE KEY')
        publicKey = createPublicKey(createPrivateKey(block));
      else throw new TrustedKeyFileError(`${source}: a PEM block of type ${label ?? '?'} is not a key`);
    } catch (error) {
      if (error instanceof TrustedKeyFileError) throw error;
      throw new TrustedKeyFileError(
        `${source}: a ${label ?? ''} PEM block cannot be read (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    keys.push(...(await trustedKeyOf(publicKey, source)));
  }
  return keys;
}

/** The public keys in a file: PEM (public keys, certificates; several blocks allowed) or a JWKS. */
export async function readTrustedKeyFile(file: string): Promise<TrustedKey[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new TrustedKeyFileError(
      `${file}: cannot be read (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const keys = text.trimStart().startsWith('{') ? await keysOfJwks(text, file) : await keysOfPem(text, file);
  if (keys.length === 0)
    throw new TrustedKeyFileError(`${file}: holds no public key (expected PEM "PUBLIC KEY" blocks or a JWKS)`);
  return keys;
}

/** The keys checkpoint signatures are checked against, by kid. */
export class TrustedKeys {
  private readonly byKid = new Map<string, TrustedKey>();

  constructor(keys: Iterable<TrustedKey>) {
    for (const key of keys) if (!this.byKid.has(key.kid)) this.byKid.set(key.kid, key);
  }

  static async fromFiles(files: string[], extra: TrustedKey[] = []): Promise<TrustedKeys> {
    const loaded: TrustedKey[] = [...extra];
    for (const file of files) loaded.push(...(await readTrustedKeyFile(file)));
    return new TrustedKeys(loaded);
  }

  get(kid: string): TrustedKey | undefined {
    return this.byKid.get(kid);
  }

  get kids(): string[] {
    return [...this.byKid.keys()];
  }

  get size(): number {
    return this.byKid.size;
  }
}

/** The signer's public key as a trusted key: what a gateway verifies its own checkpoints with. */
export function trustedKeyOfSigner(signer: CheckpointSigner): TrustedKey {
  return { kid: signer.kid, alg: signer.alg, verifyKey: signer.verifyKey, source: signer.keyFile };
}

async function generatePem(alg: SigningAlg): Promise<string> {
  if (alg === SM2_JWS_ALG) return generateSm2PrivateKey().toPkcs8Pem();
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return exportPKCS8(privateKey);
}

/**
 * The checkpoint signer from its key file. `create`: generate the file when there is none (the
 * gateway at start); otherwise a missing file is an error (commands never create keys). An
 * existing file the group or others may access is refused.
 */
export async function loadCheckpointSigner(options: {
  keyFile: string;
  alg: SigningAlg;
  create: boolean;
}): Promise<CheckpointSigner> {
  const { keyFile } = options;
  const pem = options.create
    ? (await readOrCreatePrivateFile(keyFile, CHECKPOINT_KEY_FILE, () => generatePem(options.alg))).contents
    : await readPrivateFile(keyFile, CHECKPOINT_KEY_FILE);
  if (pem === undefined)
    throw new PrivateFileError(
      `no ${CHECKPOINT_KEY_FILE} at ${keyFile} (AUDIT_CHECKPOINT_KEY_FILE, or DATA_DIR): the gateway creates it at first start`,
    );
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new PrivateFileError(
      `${CHECKPOINT_KEY_FILE} ${keyFile} does not hold a PEM private key (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const publicKey = createPublicKey(privateKey);
  const publicKeyFile = publicKeyFileOf(keyFile);
  const sm2 = Sm2PrivateKey.fromPem(pem);
  if (sm2) {
    if (options.create) await writePublicKeyFile(publicKeyFile, publicKey);
    const publicJwk = sm2.publicKey.toJwk();
    return {
      kid: await calculateJwkThumbprint(publicJwk),
      alg: SM2_JWS_ALG,
      signKey: sm2,
      verifyKey: sm2.publicKey,
      publicJwk,
      keyFile,
      publicKeyFile,
    };
  }
  const alg = algOfKey(publicKey);
  if (!alg)
    throw new PrivateFileError(
      `${CHECKPOINT_KEY_FILE} ${keyFile} holds a ${privateKey.asymmetricKeyType ?? 'unknown'} key; use a P-256, Ed25519 or SM2 key`,
    );
  const publicJwk = publicMembers(await exportJWK(publicKey));
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  if (options.create) await writePublicKeyFile(publicKeyFile, publicKey);
  return {
    kid: await calculateJwkThumbprint(publicJwk),
    alg,
    signKey: await importPKCS8(pkcs8, alg),
    verifyKey: await importVerifyKey(publicJwk, alg),
    publicJwk,
    keyFile,
    publicKeyFile,
  };
}

/** Writes the public key beside the private one, for handing to verifiers (kept in step with it). */
async function writePublicKeyFile(file: string, publicKey: KeyObject): Promise<void> {
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current !== pem) await writeFile(file, pem, { mode: 0o644 });
}
