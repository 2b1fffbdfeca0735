/**
 * The electronic seal (电子印章, SES_Seal) and seal signature (电子签章, SES_Signature) data
 * structures of GB/T 38540-2020 (version 4 of the structures), as DER. Field names follow the
 * standard; the module encodes what the gateway makes and decodes (strictly) what it is asked to
 * verify, keeping the exact bytes each signature covers.
 *
 * ```asn1
 * SES_Seal ::= SEQUENCE {
 *   eSealInfo   SES_SealInfo,
 *   cert        OCTET STRING,          -- 制章者证书 (X.509, DER)
 *   signAlgID   OBJECT IDENTIFIER,     -- 1.2.156.10197.1.501 SM2-with-SM3
 *   signedValue BIT STRING }           -- 制章者签名 over DER(eSealInfo)
 * SES_SealInfo ::= SEQUENCE {
 *   header SES_Header, esID IA5String, property SES_ESPropertyInfo,
 *   picture SES_ESPictrueInfo, extDatas ExtensionDatas OPTIONAL }
 * SES_Header ::= SEQUENCE { ID IA5String ("ES"), version INTEGER (4), Vid IA5String }
 * SES_ESPropertyInfo ::= SEQUENCE {
 *   type INTEGER, name UTF8String, certListType INTEGER (1: certificates, 2: digests),
 *   certList SES_CertList, createDate GeneralizedTime, validStart GeneralizedTime,
 *   validEnd GeneralizedTime }
 * SES_CertList ::= CHOICE { certs SEQUENCE OF OCTET STRING,
 *   certDigestList SEQUENCE OF SEQUENCE { type PrintableString, value OCTET STRING } }
 * SES_ESPictrueInfo ::= SEQUENCE { type IA5String, data OCTET STRING, width INTEGER, height INTEGER }  -- mm
 * SES_Signature ::= SEQUENCE {
 *   toSign TBS_Sign, cert OCTET STRING, signatureAlgID OBJECT IDENTIFIER,
 *   signature BIT STRING, timeStamp [0] BIT STRING OPTIONAL }
 * TBS_Sign ::= SEQUENCE {
 *   version INTEGER (4), eseal SES_Seal, timeInfo GeneralizedTime,
 *   dataHash BIT STRING, propertyInfo IA5String, extDatas [0] EXPLICIT ExtensionDatas OPTIONAL }
 * ```
 */
import {
  DerError,
  type DerElement,
  TAG,
  bitString,
  decode,
  generalizedTime,
  ia5String,
  integer,
  octetString,
  oid,
  readBitString,
  readGeneralizedTime,
  readOctetString,
  readOid,
  readSmallInteger,
  readText,
  sequence,
  sequenceOf,
  utf8String,
} from './der.js';

/** The structure version of GB/T 38540-2020. */
export const SES_VERSION = 4;
export const SES_HEADER_ID = 'ES';

export interface SealPicture {
  /** Image format, e.g. "PNG". */
  type: string;
  data: Buffer;
  widthMm: number;
  heightMm: number;
}

export interface SealInfo {
  version: number;
  /** Vendor id (Vid). */
  vid: string;
  esID: string;
  /** Seal type (印章类型); the standard leaves the values to the application. */
  type: number;
  name: string;
  /** 1: certList holds signer certificates (DER); 2: digests of them. */
  certListType: 1 | 2;
  certs: Buffer[];
  certDigests: { type: string; value: Buffer }[];
  createDate: Date;
  validStart: Date;
  validEnd: Date;
  picture: SealPicture;
}

export interface SesSeal {
  info: SealInfo;
  /** DER of eSealInfo: what the maker signed. */
  infoDer: Buffer;
  /** The maker's (制章者) certificate, DER. */
  makerCert: Buffer;
  signAlgId: string;
  /** DER SEQUENCE { r, s }. */
  signedValue: Buffer;
  encoded: Buffer;
}

export interface TbsSign {
  version: number;
  seal: SesSeal;
  timeInfo: Date;
  /** SM3 of the document. */
  dataHash: Buffer;
  propertyInfo: string;
  encoded: Buffer;
}

export interface SesSignature {
  toSign: TbsSign;
  /** The signer's (签章者) certificate, DER. */
  cert: Buffer;
  signatureAlgId: string;
  /** DER SEQUENCE { r, s }. */
  signature: Buffer;
  timeStamp: Buffer | undefined;
  encoded: Buffer;
}

export type SealInfoInput = Omit<SealInfo, 'version' | 'certListType' | 'certDigests'>;

export function encodeSealInfo(info: SealInfoInput): Buffer {
  return sequence(
    sequence(ia5String(SES_HEADER_ID), integer(SES_VERSION), ia5String(info.vid)),
    ia5String(info.esID),
    sequence(
      integer(info.type),
      utf8String(info.name),
      integer(1),
      sequence(...info.certs.map((cert) => octetString(cert))),
      generalizedTime(info.createDate),
      generalizedTime(info.validStart),
      generalizedTime(info.validEnd),
    ),
    sequence(
      ia5String(info.picture.type),
      octetString(info.picture.data),
      integer(info.picture.widthMm),
      integer(info.picture.heightMm),
    ),
  );
}

export function encodeSesSeal(parts: {
  infoDer: Buffer;
  makerCert: Buffer;
  signAlgId: string;
  signedValue: Buffer;
}): Buffer {
  return sequence(parts.infoDer, octetString(parts.makerCert), oid(parts.signAlgId), bitString(parts.signedValue));
}

export function encodeTbsSign(parts: {
  sealDer: Buffer;
  timeInfo: Date;
  dataHash: Buffer;
  propertyInfo: string;
}): Buffer {
  return sequence(
    integer(SES_VERSION),
    parts.sealDer,
    generalizedTime(parts.timeInfo),
    bitString(parts.dataHash),
    ia5String(parts.propertyInfo),
  );
}

export function encodeSesSignature(parts: {
  tbsDer: Buffer;
  cert: Buffer;
  signatureAlgId: string;
  signature: Buffer;
}): Buffer {
  return sequence(parts.tbsDer, octetString(parts.cert), oid(parts.signatureAlgId), bitString(parts.signature));
}

function readSealInfo(element: DerElement | undefined, path: string): SealInfo {
  const [header, esID, property, picture, extDatas, ...rest] = sequenceOf(element, path);
  if (rest.length > 0 || (extDatas && extDatas.tag !== TAG.sequence))
    throw new DerError(`${path}: unexpected elements after picture`);
  const [id, version, vid, ...headerRest] = sequenceOf(header, `${path}.header`);
  if (headerRest.length > 0) throw new DerError(`${path}.header: unexpected elements`);
  if (readText(id, TAG.ia5String, `${path}.header.ID`) !== SES_HEADER_ID)
    throw new DerError(`${path}.header.ID: not "ES"`);
  const versionNumber = readSmallInteger(version, `${path}.header.version`);
  if (versionNumber !== SES_VERSION)
    throw new DerError(`${path}.header.version: ${versionNumber}; only version 4 (GB/T 38540-2020) is read`);
  const propertyPath = `${path}.property`;
  const [type, name, certListType, certList, createDate, validStart, validEnd, ...propertyRest] = sequenceOf(
    property,
    propertyPath,
  );
  if (propertyRest.length > 0) throw new DerError(`${propertyPath}: unexpected elements`);
  const listType = readSmallInteger(certListType, `${propertyPath}.certListType`);
  if (listType !== 1 && listType !== 2) throw new DerError(`${propertyPath}.certListType: neither 1 nor 2`);
  const entries = sequenceOf(certList, `${propertyPath}.certList`);
  const certs =
    listType === 1 ? entries.map((entry, index) => readOctetString(entry, `${propertyPath}.certList[${index}]`)) : [];
  const certDigests =
    listType === 2
      ? entries.map((entry, index) => {
          const entryPath = `${propertyPath}.certList[${index}]`;
          const [digestType, value] = sequenceOf(entry, entryPath);
          return {
            type: readText(digestType, TAG.printableString, `${entryPath}.type`),
            value: readOctetString(value, `${entryPath}.value`),
          };
        })
      : [];
  const picturePath = `${path}.picture`;
  const [pictureType, data, width, height, ...pictureRest] = sequenceOf(picture, picturePath);
  if (pictureRest.length > 0) throw new DerError(`${picturePath}: unexpected elements`);
  return {
    version: versionNumber,
    vid: readText(vid, TAG.ia5String, `${path}.header.Vid`),
    esID: readText(esID, TAG.ia5String, `${path}.esID`),
    type: readSmallInteger(type, `${propertyPath}.type`),
    name: readText(name, TAG.utf8String, `${propertyPath}.name`),
    certListType: listType,
    certs,
    certDigests,
    createDate: readGeneralizedTime(createDate, `${propertyPath}.createDate`),
    validStart: readGeneralizedTime(validStart, `${propertyPath}.validStart`),
    validEnd: readGeneralizedTime(validEnd, `${propertyPath}.validEnd`),
    picture: {
      type: readText(pictureType, TAG.ia5String, `${picturePath}.type`),
      data: readOctetString(data, `${picturePath}.data`),
      widthMm: readSmallInteger(width, `${picturePath}.width`),
      heightMm: readSmallInteger(height, `${picturePath}.height`),
    },
  };
}

function readSesSeal(element: DerElement | undefined, path: string): SesSeal {
  const [info, cert, signAlgId, signedValue, ...rest] = sequenceOf(element, path);
  if (rest.length > 0) throw new DerError(`${path}: unexpected elements`);
  return {
    info: readSealInfo(info, `${path}.eSealInfo`),
    infoDer: (info as DerElement).encoded,
    makerCert: readOctetString(cert, `${path}.cert`),
    signAlgId: readOid(signAlgId, `${path}.signAlgID`),
    signedValue: readBitString(signedValue, `${path}.signedValue`),
    encoded: (element as DerElement).encoded,
  };
}

/** An SES_Seal (印章数据) from its DER. Throws DerError naming the field that is wrong. */
export function decodeSesSeal(der: Uint8Array): SesSeal {
  return readSesSeal(decode(der, 'SES_Seal'), 'SES_Seal');
}

/** An SES_Signature (签章数据) from its DER. Throws DerError naming the field that is wrong. */
export function decodeSesSignature(der: Uint8Array): SesSignature {
  const root = decode(der, 'SES_Signature');
  const [toSign, cert, signatureAlgId, signature, timeStamp, ...rest] = sequenceOf(root, 'SES_Signature');
  if (rest.length > 0 || (timeStamp && timeStamp.tag !== 0xa0 && timeStamp.tag !== 0x80))
    throw new DerError('SES_Signature: unexpected elements after signature');
  const tbsPath = 'SES_Signature.toSign';
  const [version, eseal, timeInfo, dataHash, propertyInfo, extDatas, ...tbsRest] = sequenceOf(toSign, tbsPath);
  if (tbsRest.length > 0 || (extDatas && extDatas.tag !== 0xa0))
    throw new DerError(`${tbsPath}: unexpected elements after propertyInfo`);
  const tbsVersion = readSmallInteger(version, `${tbsPath}.version`);
  if (tbsVersion !== SES_VERSION) throw new DerError(`${tbsPath}.version: ${tbsVersion}; only version 4 is read`);
  return {
    toSign: {
      version: tbsVersion,
      seal: readSesSeal(eseal, `${tbsPath}.eseal`),
      timeInfo: readGeneralizedTime(timeInfo, `${tbsPath}.timeInfo`),
      dataHash: readBitString(dataHash, `${tbsPath}.dataHash`),
      propertyInfo: readText(propertyInfo, TAG.ia5String, `${tbsPath}.propertyInfo`),
      encoded: (toSign as DerElement).encoded,
    },
    cert: readOctetString(cert, 'SES_Signature.cert'),
    signatureAlgId: readOid(signatureAlgId, 'SES_Signature.signatureAlgID'),
    signature: readBitString(signature, 'SES_Signature.signature'),
    timeStamp: timeStamp?.value,
    encoded: root.encoded,
  };
}
