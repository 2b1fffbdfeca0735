/**
 * The gateway's own electronic seal: an SM2 key kept like the audit checkpoint key (a PKCS#8 PEM
 * file outside the database, created at first start, mode 0600), a self-signed certificate for it
 * and the SES_Seal made with it, both written beside the key (`seal.pem` → `seal.crt.pem`,
 * `seal.esl`) so verifiers can be handed them. The certificate and the seal are made again when
 * they no longer match the key or the configured name (a replaced key, a renamed seal), or have
 * expired. Instances sharing the key folder share the files: each is created once (written under a
 * temporary name and linked into place, so the first instance's wins), and any certificate of the
 * gateway's own key that the key itself signed is trusted, so a seal made by another instance (or
 * before a renaming) still verifies.
 *
 * The gateway is both maker (制章者) and signer (签章者) of this seal: a real deployment gets the
 * seal made by a seal authority and the certificate from a CA recognised for e-seals.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Sm2PrivateKey, generateSm2PrivateKey } from '../../adapters/sdk/helpers/sm2.js';
import { PrivateFileError, readOrCreatePrivateFile } from '../platform/private-files.js';
import {
  type CertificateFields,
  certificatePem,
  certificateSignedBy,
  readCertificate,
  selfSignedSm2Certificate,
} from './certificate.js';
import type { SealSettings } from './config.js';
import { drawSealPng } from './picture.js';
import { type SealVerification, makeSeal, signWithSeal, verifySealSignature } from './seal.js';
import { type SesSeal, decodeSesSeal } from './ses.js';

const SEAL_KEY_FILE = 'electronic seal key file';
/** The implementer id (Vid) written in the seal header. */
export const SEAL_VENDOR_ID = 'onewindow';
/** 印章类型: the standard leaves the numbering to applications; 1 is used for an organisation's seal. */
const ORGANISATION_SEAL = 1;
const SEAL_SIZE_MM = 40;
const YEAR_MS = 365 * 86_400_000;

/** `x.pem` → `x.crt.pem` and `x.esl`. */
export function sealFilesOf(keyFile: string): { certificateFile: string; sealFile: string } {
  const base = keyFile.endsWith('.pem') ? keyFile.slice(0, -'.pem'.length) : keyFile;
  return { certificateFile: `${base}.crt.pem`, sealFile: `${base}.esl` };
}

function pemBody(text: string, label: string): Buffer[] {
  const blocks = text.matchAll(new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g'));
  return [...blocks].map((block) => Buffer.from((block[1] ?? '').replace(/\s+/g, ''), 'base64'));
}

export class GatewaySeal {
  /** 印章名称, as written in the seal. */
  readonly name: string;

  constructor(
    private readonly key: Sm2PrivateKey,
    /** The seal key's certificate, DER. */
    readonly certificate: Buffer,
    /** The SES_Seal, DER. */
    readonly seal: Buffer,
    readonly trustedCertificates: Buffer[],
    readonly files: { keyFile: string; certificateFile: string; sealFile: string },
  ) {
    this.name = decodeSesSeal(seal).info.name;
  }

  get decoded(): SesSeal {
    return decodeSesSeal(this.seal);
  }

  /** SES_Signature (DER) of the seal over `document`, signed at `at`. */
  sign(document: Uint8Array, at: Date, propertyInfo = ''): Buffer {
    return signWithSeal(document, this.seal, { key: this.key, cert: this.certificate }, at, propertyInfo);
  }

  /**
   * Trusted for seals: a configured certificate (byte for byte), or a certificate of the gateway's
   * own seal key signed by that key (made by this instance, another one, or before a renaming).
   */
  trusts(certificate: Buffer, fields: CertificateFields): boolean {
    if (this.trustedCertificates.some((candidate) => candidate.equals(certificate))) return true;
    const own = this.key.publicKey;
    return fields.publicKey?.uncompressed.equals(own.uncompressed) === true && certificateSignedBy(fields, own);
  }

  /** Throws SealProblem when the signature does not verify. */
  verify(document: Uint8Array, signature: Uint8Array, now: Date): SealVerification {
    return verifySealSignature(document, signature, {
      now,
      trust: (certificate, fields) => this.trusts(certificate, fields),
    });
  }
}

/**
 * Puts `contents` at `path` whole or not at all (temporary file, then linked or renamed into
 * place). `replace`: a stale file is replaced; otherwise an existing file (another instance's,
 * written meanwhile) is kept. Answers the contents now at `path`.
 */
async function placeFile(path: string, contents: Buffer, replace: boolean): Promise<Buffer> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const temporary = join(folder, `.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o644);
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (replace) {
    await rename(temporary, path);
    return contents;
  }
  try {
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  return readFile(path);
}

async function readOptional(file: string): Promise<Buffer | undefined> {
  return readFile(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
}

/** Whether the stored seal is this key's, under this name, still usable at `now`. */
function sealMatches(sealDer: Buffer | undefined, certificate: Buffer, name: string, now: Date): boolean {
  if (!sealDer) return false;
  try {
    const seal = decodeSesSeal(sealDer);
    return seal.makerCert.equals(certificate) && seal.info.name === name && seal.info.validEnd > now;
  } catch {
    return false;
  }
}

/**
 * The gateway seal from its key file (created when missing), its certificate and its seal (made
 * when missing or stale). `now` dates what is made.
 */
export async function loadGatewaySeal(settings: SealSettings, now: Date): Promise<GatewaySeal> {
  const { keyFile } = settings;
  const pem = (await readOrCreatePrivateFile(keyFile, SEAL_KEY_FILE, async () => generateSm2PrivateKey().toPkcs8Pem()))
    .contents;
  let key: Sm2PrivateKey | undefined;
  try {
    key = Sm2PrivateKey.fromPem(pem);
  } catch (error) {
    throw new PrivateFileError(
      `${SEAL_KEY_FILE} ${keyFile} does not hold a PEM private key (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (!key)
    throw new PrivateFileError(`${SEAL_KEY_FILE} ${keyFile} holds no SM2 key; an electronic seal is SM2 (GB/T 38540)`);
  const { certificateFile, sealFile } = sealFilesOf(keyFile);

  const storedCertificate = pemBody((await readOptional(certificateFile))?.toString('utf8') ?? '', 'CERTIFICATE')[0];
  let certificate = storedCertificate;
  const usable = (der: Buffer) => {
    try {
      const fields = readCertificate(der);
      return fields.publicKey?.uncompressed.equals(key.publicKey.uncompressed) === true && fields.notAfter > now;
    } catch {
      return false;
    }
  };
  if (!certificate || !usable(certificate)) {
    certificate = selfSignedSm2Certificate(key, {
      organisation: settings.name,
      commonName: settings.name,
      notBefore: now,
      notAfter: new Date(now.getTime() + settings.validYears * YEAR_MS),
    });
    const placed = await placeFile(
      certificateFile,
      Buffer.from(certificatePem(certificate)),
      storedCertificate !== undefined,
    );
    certificate = pemBody(placed.toString('utf8'), 'CERTIFICATE')[0] ?? certificate;
  }

  const storedSeal = await readOptional(sealFile);
  let seal = storedSeal;
  if (!seal || !sealMatches(seal, certificate, settings.name, now)) {
    const fields = readCertificate(certificate);
    seal = makeSeal(
      {
        vid: SEAL_VENDOR_ID,
        esID: randomBytes(16).toString('hex'),
        type: ORGANISATION_SEAL,
        name: settings.name,
        certs: [certificate],
        createDate: now,
        validStart: now,
        validEnd: fields.notAfter,
        picture: { type: 'PNG', data: drawSealPng(), widthMm: SEAL_SIZE_MM, heightMm: SEAL_SIZE_MM },
      },
      { key, cert: certificate },
    );
    const made = seal;
    const placed = await placeFile(sealFile, made, storedSeal !== undefined);
    seal = sealMatches(placed, certificate, settings.name, now) ? placed : made;
  }

  const trusted = [certificate];
  for (const file of settings.trustedCertificateFiles) {
    const found = pemBody(await readFile(file, 'utf8'), 'CERTIFICATE');
    if (found.length === 0) throw new PrivateFileError(`${file} (SEAL_TRUSTED_CERTIFICATES) holds no PEM certificate`);
    trusted.push(...found);
  }
  return new GatewaySeal(key, certificate, seal, trusted, { keyFile, certificateFile, sealFile });
}
