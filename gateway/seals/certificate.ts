/**
 * The X.509 certificate of a seal key: a self-signed SM2 certificate (signature algorithm
 * SM2-with-SM3, 1.2.156.10197.1.501, the default user ID 1234567812345678), written with the DER
 * encoder here and signed with the one SM2 implementation (adapters/sdk/helpers/sm2.ts), and the
 * few fields of any certificate a seal check needs. OpenSSL reads these certificates
 * (`openssl x509 -text`); a real seal's certificate comes from a CA recognised for e-seals, not
 * from the gateway itself (see docs/national-cryptography.md).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  type Sm2PrivateKey,
  Sm2PublicKey,
  signatureFromDer,
  signatureToDer,
  sm2VerifySignature,
} from '../../adapters/sdk/helpers/sm2.js';
import {
  DerError,
  type DerElement,
  TAG,
  bitString,
  boolean,
  children,
  decode,
  expectTag,
  explicit,
  integer,
  octetString,
  oid,
  printableString,
  readBitString,
  readInteger,
  readOid,
  readX509Time,
  sequence,
  sequenceOf,
  set,
  utf8String,
  x509Time,
} from './der.js';

/** SM2 signature with SM3 (GB/T 33560, GM/T 0006). */
export const OID_SM2_WITH_SM3 = '1.2.156.10197.1.501';
const OID_COUNTRY = '2.5.4.6';
const OID_ORGANISATION = '2.5.4.10';
const OID_COMMON_NAME = '2.5.4.3';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_SUBJECT_KEY_ID = '2.5.29.14';

export interface CertificateFields {
  serialNumber: string;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** The SM2 public key, or undefined when the certificate holds a key of another kind. */
  publicKey: Sm2PublicKey | undefined;
  signatureAlgorithm: string;
  /** DER of the TBSCertificate and the signature, for checking who signed it. */
  tbs: Buffer;
  signature: Buffer;
}

function name(parts: { organisation: string; commonName: string }): Buffer {
  const attribute = (type: string, value: Buffer) => set(sequence(oid(type), value));
  return sequence(
    attribute(OID_COUNTRY, printableString('CN')),
    attribute(OID_ORGANISATION, utf8String(parts.organisation)),
    attribute(OID_COMMON_NAME, utf8String(parts.commonName)),
  );
}

/**
 * A self-signed v3 certificate for `key`: basicConstraints CA:FALSE, keyUsage digitalSignature and
 * nonRepudiation (critical), the subject key identifier (SHA-1 of the public key, RFC 5280 §4.2.1.2).
 */
export function selfSignedSm2Certificate(
  key: Sm2PrivateKey,
  options: { organisation: string; commonName: string; notBefore: Date; notAfter: Date },
): Buffer {
  const subject = name(options);
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  const algorithm = sequence(oid(OID_SM2_WITH_SM3));
  const keyId = createHash('sha1').update(key.publicKey.uncompressed).digest();
  const extensions = sequence(
    sequence(oid(OID_BASIC_CONSTRAINTS), boolean(true), octetString(sequence())),
    // digitalSignature (bit 0) and nonRepudiation (bit 1): 0b11000000, 6 unused bits.
    sequence(oid(OID_KEY_USAGE), boolean(true), octetString(Buffer.of(TAG.bitString, 2, 6, 0xc0))),
    sequence(oid(OID_SUBJECT_KEY_ID), octetString(octetString(keyId))),
  );
  const tbs = sequence(
    explicit(0, integer(2)),
    integer(BigInt(`0x${serial.toString('hex')}`)),
    algorithm,
    subject,
    sequence(x509Time(options.notBefore), x509Time(options.notAfter)),
    subject,
    key.publicKey.toSpkiDer(),
    explicit(3, extensions),
  );
  return sequence(tbs, algorithm, bitString(signatureToDer(key.sign(tbs))));
}

function nameText(element: DerElement | undefined, path: string): string {
  const labels: Record<string, string> = { [OID_COUNTRY]: 'C', [OID_ORGANISATION]: 'O', [OID_COMMON_NAME]: 'CN' };
  const parts: string[] = [];
  for (const [index, rdn] of sequenceOf(element, path).entries()) {
    for (const attribute of children(expectTag(rdn, TAG.set, `${path}[${index}]`), `${path}[${index}]`)) {
      const [type, value] = sequenceOf(attribute, `${path}[${index}]`);
      const typeOid = readOid(type, path);
      const text = value ? value.value.toString(value.tag === TAG.utf8String ? 'utf8' : 'latin1') : '';
      parts.push(`${labels[typeOid] ?? typeOid}=${text}`);
    }
  }
  return parts.join(', ');
}

/** The fields of an X.509 certificate (DER) a seal check uses. Throws DerError when it is none. */
export function readCertificate(der: Uint8Array, path = 'certificate'): CertificateFields {
  const [tbs, algorithm, signature] = sequenceOf(decode(der, path), path);
  const tbsFields = sequenceOf(tbs, `${path}.tbsCertificate`);
  const offset = tbsFields[0]?.tag === 0xa0 ? 1 : 0;
  const [serial, , issuer, validity, subject, spki] = tbsFields.slice(offset);
  const [notBefore, notAfter] = sequenceOf(validity, `${path}.validity`);
  if (!spki) throw new DerError(`${path}: no subjectPublicKeyInfo`);
  const [signatureAlgorithm] = sequenceOf(algorithm, `${path}.signatureAlgorithm`);
  return {
    serialNumber: readInteger(serial, `${path}.serialNumber`).toString(16),
    issuer: nameText(issuer, `${path}.issuer`),
    subject: nameText(subject, `${path}.subject`),
    notBefore: readX509Time(notBefore, `${path}.notBefore`),
    notAfter: readX509Time(notAfter, `${path}.notAfter`),
    publicKey: sm2PublicKeyOf(spki.encoded),
    signatureAlgorithm: readOid(signatureAlgorithm, `${path}.signatureAlgorithm`),
    tbs: (tbs as DerElement).encoded,
    signature: readBitString(signature, `${path}.signature`),
  };
}

function sm2PublicKeyOf(spki: Buffer): Sm2PublicKey | undefined {
  try {
    return Sm2PublicKey.fromSpkiDer(spki);
  } catch {
    return undefined;
  }
}

/** Whether `certificate` is signed (SM2-with-SM3, default ID) by `issuerKey`. */
export function certificateSignedBy(certificate: CertificateFields, issuerKey: Sm2PublicKey): boolean {
  if (certificate.signatureAlgorithm !== OID_SM2_WITH_SM3) return false;
  const signature = signatureFromDer(certificate.signature);
  return signature !== undefined && sm2VerifySignature(issuerKey, certificate.tbs, signature);
}

/** Certificate text as PEM, for files handed to verifiers and to OpenSSL. */
export function certificatePem(der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
