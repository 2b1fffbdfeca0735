/**
 * Making and checking electronic seal signatures (电子签章, GB/T 38540-2020): a seal (SES_Seal,
 * signed by its maker) is applied to a document by signing TBS_Sign — the seal, the time, SM3 of
 * the document and a property string — with the signer's SM2 key. Verification answers, for a
 * document and an SES_Signature, either the seal's facts or the first check that failed as a
 * problem code (see `SealProblem`).
 */
import { createHash } from 'node:crypto';
import {
  type Sm2PrivateKey,
  signatureFromDer,
  signatureToDer,
  sm2VerifySignature,
} from '../../adapters/sdk/helpers/sm2.js';
import { type CertificateFields, OID_SM2_WITH_SM3, readCertificate } from './certificate.js';
import { DerError } from './der.js';
import {
  type SealInfoInput,
  type SesSeal,
  type SesSignature,
  decodeSesSeal,
  decodeSesSignature,
  encodeSealInfo,
  encodeSesSeal,
  encodeSesSignature,
  encodeTbsSign,
} from './ses.js';

export const sm3 = (bytes: Uint8Array): Buffer => createHash('sm3').update(bytes).digest();

/** Makes an SES_Seal: the maker signs DER(eSealInfo) with its key. */
export function makeSeal(info: SealInfoInput, maker: { key: Sm2PrivateKey; cert: Buffer }): Buffer {
  const infoDer = encodeSealInfo(info);
  return encodeSesSeal({
    infoDer,
    makerCert: maker.cert,
    signAlgId: OID_SM2_WITH_SM3,
    signedValue: signatureToDer(maker.key.sign(infoDer)),
  });
}

/** Applies a seal to `document`: an SES_Signature over SM3(document), signed at `at`. */
export function signWithSeal(
  document: Uint8Array,
  seal: Buffer,
  signer: { key: Sm2PrivateKey; cert: Buffer },
  at: Date,
  propertyInfo = '',
): Buffer {
  const tbsDer = encodeTbsSign({ sealDer: seal, timeInfo: at, dataHash: sm3(document), propertyInfo });
  return encodeSesSignature({
    tbsDer,
    cert: signer.cert,
    signatureAlgId: OID_SM2_WITH_SM3,
    signature: signatureToDer(signer.key.sign(tbsDer)),
  });
}

/** Why a seal signature does not verify; each is a problem code of the verify endpoint. */
export type SealProblemCode =
  | 'seal_malformed'
  | 'seal_document_mismatch'
  | 'seal_signature_invalid'
  | 'seal_maker_signature_invalid'
  | 'seal_signer_not_in_seal'
  | 'seal_expired'
  | 'seal_not_yet_valid'
  | 'seal_untrusted';

export class SealProblem extends Error {
  override name = 'SealProblem';
  constructor(
    readonly code: SealProblemCode,
    /** English, technical: which field or date (kept for the problem's `problem` member). */
    readonly problem: string,
  ) {
    super(`${code}: ${problem}`);
  }
}

export interface SealVerification {
  valid: true;
  signedAt: Date;
  /** SM3 of the document, hex. */
  dataHash: string;
  propertyInfo: string;
  seal: {
    esID: string;
    name: string;
    type: number;
    vid: string;
    createDate: Date;
    validStart: Date;
    validEnd: Date;
    picture: { type: string; widthMm: number; heightMm: number };
  };
  signer: { subject: string; serialNumber: string };
  maker: { subject: string; serialNumber: string };
}

function certificateOf(
  der: Buffer,
  path: string,
): CertificateFields & { publicKey: NonNullable<CertificateFields['publicKey']> } {
  let fields: CertificateFields;
  try {
    fields = readCertificate(der, path);
  } catch (error) {
    throw new SealProblem('seal_malformed', error instanceof Error ? error.message : String(error));
  }
  if (!fields.publicKey) throw new SealProblem('seal_malformed', `${path}: not an SM2 key`);
  return { ...fields, publicKey: fields.publicKey };
}

function signedBy(message: Buffer, signature: Buffer, certificate: CertificateFields): boolean {
  const decoded = signatureFromDer(signature);
  return (
    decoded !== undefined &&
    certificate.publicKey !== undefined &&
    sm2VerifySignature(certificate.publicKey, message, decoded)
  );
}

const day = (at: Date) => at.toISOString();

/** How far a signer's clock may run ahead of the verifier's (as for status callbacks). */
export const CLOCK_TOLERANCE_MS = 5 * 60_000;

/** Which certificates a verifier trusts for seals (as signer and as maker). */
export type SealTrust = (certificate: Buffer, fields: CertificateFields) => boolean;

/** Trusts exactly these certificates, byte for byte (no chain building). */
export const trustCertificates =
  (certificates: Buffer[]): SealTrust =>
  (certificate) =>
    certificates.some((candidate) => candidate.equals(certificate));

/**
 * Checks an SES_Signature over `document`, in this order: structure and algorithms; the signer's
 * signature over TBS_Sign (any change to the seal, time, hash or property breaks it); the document's
 * SM3 against dataHash; the maker's signature over the seal information; the signer among the
 * seal's certificates; the signing time within the seal's and both certificates' validity and not
 * after `now` (give or take `clockToleranceMs`, 5 minutes); both certificates trusted (`trust`: e.g. a list, byte for byte: no chain building).
 */
export function verifySealSignature(
  document: Uint8Array,
  signatureDer: Uint8Array,
  options: { now: Date; trust: SealTrust; clockToleranceMs?: number },
): SealVerification {
  let signature: SesSignature;
  try {
    signature = decodeSesSignature(signatureDer);
  } catch (error) {
    if (error instanceof DerError) throw new SealProblem('seal_malformed', error.message);
    throw error;
  }
  const { toSign } = signature;
  const { seal } = toSign;
  for (const [field, algorithm] of [
    ['SES_Signature.signatureAlgID', signature.signatureAlgId],
    ['SES_Seal.signAlgID', seal.signAlgId],
  ] as const) {
    if (algorithm !== OID_SM2_WITH_SM3)
      throw new SealProblem(
        'seal_malformed',
        `${field} is ${algorithm}; only SM2-with-SM3 (${OID_SM2_WITH_SM3}) is verified`,
      );
  }
  const signer = certificateOf(signature.cert, 'SES_Signature.cert');
  const maker = certificateOf(seal.makerCert, 'SES_Seal.cert');
  if (!signedBy(toSign.encoded, signature.signature, signer))
    throw new SealProblem(
      'seal_signature_invalid',
      "the signature over TBS_Sign does not verify with the signer's certificate",
    );
  if (!sm3(document).equals(toSign.dataHash))
    throw new SealProblem('seal_document_mismatch', 'dataHash is not the SM3 digest of this document');
  if (!signedBy(seal.infoDer, seal.signedValue, maker))
    throw new SealProblem('seal_maker_signature_invalid', "the seal maker's signature over eSealInfo does not verify");
  if (!signerInSeal(seal, signature.cert))
    throw new SealProblem('seal_signer_not_in_seal', "the signer's certificate is not in the seal's certList");
  const signedAt = toSign.timeInfo;
  const periods = [
    ['the seal', seal.info.validStart, seal.info.validEnd],
    ["the signer's certificate", signer.notBefore, signer.notAfter],
    ["the maker's certificate", maker.notBefore, maker.notAfter],
  ] as const;
  for (const [what, start, end] of periods) {
    if (signedAt < start)
      throw new SealProblem(
        'seal_not_yet_valid',
        `signed at ${day(signedAt)}, before ${what} is valid (${day(start)})`,
      );
    if (signedAt > end)
      throw new SealProblem('seal_expired', `signed at ${day(signedAt)}, after ${what} ended (${day(end)})`);
  }
  if (signedAt.getTime() > options.now.getTime() + (options.clockToleranceMs ?? CLOCK_TOLERANCE_MS))
    throw new SealProblem('seal_not_yet_valid', `signed at ${day(signedAt)}, which is later than now`);
  if (!options.trust(signature.cert, signer) || !options.trust(seal.makerCert, maker))
    throw new SealProblem(
      'seal_untrusted',
      "the signer's or the maker's certificate is not one this gateway trusts for seals",
    );
  const { info } = seal;
  return {
    valid: true,
    signedAt,
    dataHash: toSign.dataHash.toString('hex'),
    propertyInfo: toSign.propertyInfo,
    seal: {
      esID: info.esID,
      name: info.name,
      type: info.type,
      vid: info.vid,
      createDate: info.createDate,
      validStart: info.validStart,
      validEnd: info.validEnd,
      picture: { type: info.picture.type, widthMm: info.picture.widthMm, heightMm: info.picture.heightMm },
    },
    signer: { subject: signer.subject, serialNumber: signer.serialNumber },
    maker: { subject: maker.subject, serialNumber: maker.serialNumber },
  };
}

/** certList holds the signer's certificate itself (type 1) or its digest (type 2, SM3 or SHA-256). */
function signerInSeal(seal: SesSeal, cert: Buffer): boolean {
  if (seal.info.certListType === 1) return seal.info.certs.some((candidate) => candidate.equals(cert));
  // Each digest once, not once per entry: thousands of entries over a large certificate were seconds of hashing.
  const digests = new Map([
    ['sm3', sm3(cert)],
    ['sha256', createHash('sha256').update(cert).digest()],
  ]);
  return seal.info.certDigests.some(({ type, value }) =>
    digests.get(type.toLowerCase().replace(/[^a-z0-9]/g, ''))?.equals(value),
  );
}

export { decodeSesSeal };
