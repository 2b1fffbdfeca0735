import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Sm2PrivateKey, generateSm2PrivateKey, sm2Supported } from '../../adapters/sdk/helpers/sm2.js';
import { opensslVerifySeal } from '../../test/support/openssl-seal.js';
import { certificatePem, certificateSignedBy, readCertificate, selfSignedSm2Certificate } from './certificate.js';
import {
  DerError,
  decode,
  generalizedTime,
  integer,
  oid,
  readGeneralizedTime,
  readInteger,
  readOid,
  sequence,
  sequenceOf,
  utf8String,
} from './der.js';
import { loadGatewaySeal, sealFilesOf } from './gateway-seal.js';
import { addSealAppearance, inspectPdf, sealDrawing } from './pdf-appearance.js';
import { drawSealPng } from './picture.js';
import {
  SealProblem,
  type SealProblemCode,
  makeSeal,
  signWithSeal,
  sm3,
  trustCertificates,
  verifySealSignature,
} from './seal.js';
import { type SealInfoInput, decodeSesSeal, decodeSesSignature, encodeSesSeal } from './ses.js';

const run = promisify(execFile);
const SIGNED_AT = new Date('2026-12-18T08:00:00Z');
const NOW = new Date('2026-12-18T09:00:00Z');
const DOCUMENT = Buffer.from('%PDF-1.7\n% a result document\n%%EOF\n', 'latin1');
const YEAR = 365 * 86_400_000;

async function opensslAvailable(): Promise<boolean> {
  try {
    await run('openssl', ['version']);
    const key = generateSm2PrivateKey();
    const folder = mkdtempSync(join(tmpdir(), 'seal-probe-'));
    writeFileSync(join(folder, 'k.pem'), key.publicKey.toSpkiPem());
    await run('openssl', ['pkey', '-pubin', '-in', join(folder, 'k.pem'), '-noout']);
    return true;
  } catch {
    return false;
  }
}
const withOpenssl = sm2Supported() && (await opensslAvailable());

function party(name: string, from = new Date('2026-01-01T00:00:00Z'), years = 5) {
  const key = generateSm2PrivateKey();
  const cert = selfSignedSm2Certificate(key, {
    organisation: name,
    commonName: name,
    notBefore: from,
    notAfter: new Date(from.getTime() + years * YEAR),
  });
  return { key, cert };
}

function sealInfo(signerCert: Buffer, overrides: Partial<SealInfoInput> = {}): SealInfoInput {
  return {
    vid: 'onewindow',
    esID: '0123456789abcdef0123456789abcdef',
    type: 1,
    name: '某某市政务服务中心电子印章',
    certs: [signerCert],
    createDate: new Date('2026-01-01T00:00:00Z'),
    validStart: new Date('2026-01-01T00:00:00Z'),
    validEnd: new Date('2030-12-31T00:00:00Z'),
    picture: { type: 'PNG', data: drawSealPng(64), widthMm: 40, heightMm: 40 },
    ...overrides,
  };
}

function problemOf(action: () => unknown): SealProblemCode | 'none' {
  try {
    action();
    return 'none';
  } catch (error) {
    if (error instanceof SealProblem) return error.code;
    throw error;
  }
}

describe('DER', () => {
  it('encodes integers minimally in two’s complement and reads them back', () => {
    const cases: [bigint, string][] = [
      [0n, '020100'],
      [127n, '02017f'],
      [128n, '02020080'],
      [256n, '02020100'],
      [-1n, '0201ff'],
      [-128n, '020180'],
      [-129n, '0202ff7f'],
    ];
    for (const [value, hex] of cases) {
      expect(integer(value).toString('hex')).toBe(hex);
      expect(readInteger(decode(integer(value)), 'n')).toBe(value);
    }
    const big = 2n ** 255n + 12345n;
    expect(readInteger(decode(integer(big)), 'n')).toBe(big);
  });

  it('encodes object identifiers and times and reads them back', () => {
    expect(oid('1.2.156.10197.1.501').toString('hex')).toBe('06082a811ccf55018375');
    expect(readOid(decode(oid('1.2.840.10045.2.1')), 'oid')).toBe('1.2.840.10045.2.1');
    expect(readOid(decode(oid('2.999.3')), 'oid')).toBe('2.999.3');
    expect(generalizedTime(SIGNED_AT).subarray(2).toString('latin1')).toBe('20261218080000Z');
    expect(readGeneralizedTime(decode(generalizedTime(SIGNED_AT)), 't')).toEqual(SIGNED_AT);
    const withFraction = Buffer.concat([Buffer.of(0x18, 17), Buffer.from('20261218080000.5Z', 'latin1')]);
    expect(readGeneralizedTime(decode(withFraction), 't')).toEqual(new Date('2026-12-18T08:00:00.500Z'));
    const trailingZero = Buffer.concat([Buffer.of(0x18, 18), Buffer.from('20261218080000.50Z', 'latin1')]);
    expect(() => readGeneralizedTime(decode(trailingZero), 't')).toThrow(DerError);
    const local = Buffer.concat([Buffer.of(0x18, 14), Buffer.from('20261218080000', 'latin1')]);
    expect(() => readGeneralizedTime(decode(local), 't')).toThrow(DerError);
  });

  it('refuses what is not DER: long lengths that fit short, indefinite lengths, trailing bytes, padded integers', () => {
    expect(() => decode(Buffer.from('04810100', 'hex'))).toThrow(DerError);
    expect(() => decode(Buffer.from('3080', 'hex'))).toThrow(DerError);
    expect(() => decode(Buffer.from('04000400', 'hex'))).toThrow(/after the end/);
    expect(() => decode(Buffer.from('040201', 'hex'))).toThrow(/truncated/);
    expect(() => readInteger(decode(Buffer.from('02020001', 'hex')), 'n')).toThrow(/shortest/);
  });

  it('writes long lengths in the shortest long form', () => {
    const element = sequence(utf8String('x'.repeat(300)));
    expect(element.subarray(0, 4).toString('hex')).toBe('30820130');
    expect(sequenceOf(decode(element), 's')).toHaveLength(1);
    expect(
      sequence(utf8String('x'.repeat(200)))
        .subarray(0, 3)
        .toString('hex'),
    ).toBe('3081cb');
  });
});

describe('the seal picture', () => {
  it('is a PNG of the size asked, red on transparent', () => {
    const png = drawSealPng(100);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.readUInt32BE(16)).toBe(100);
    const idatLength = png.readUInt32BE(33);
    const pixels = inflateSync(png.subarray(41, 41 + idatLength));
    expect(pixels.length).toBe(100 * (1 + 100 * 4));
    const at = (x: number, y: number) => pixels.subarray(y * 401 + 1 + x * 4, y * 401 + 5 + x * 4).toString('hex');
    expect(at(0, 0)).toBe('00000000');
    expect(at(50, 3)).toBe('d71a21ff'); // on the ring
    expect(at(50, 50)).toBe('d71a21ff'); // in the star
  });
});

describe('the seal certificate', () => {
  it('is a self-signed SM2-with-SM3 certificate the gateway reads back and checks', () => {
    const { key, cert } = party('某某市政务服务中心电子印章');
    const fields = readCertificate(cert);
    expect(fields).toMatchObject({
      subject: 'C=CN, O=某某市政务服务中心电子印章, CN=某某市政务服务中心电子印章',
      signatureAlgorithm: '1.2.156.10197.1.501',
      notBefore: new Date('2026-01-01T00:00:00Z'),
    });
    expect(fields.publicKey?.uncompressed.equals(key.publicKey.uncompressed)).toBe(true);
    expect(certificateSignedBy(fields, key.publicKey)).toBe(true);
    expect(certificateSignedBy(fields, generateSm2PrivateKey().publicKey)).toBe(false);
  });

  it.runIf(withOpenssl)('is read and verified by OpenSSL', async () => {
    const { cert } = party('某某市政务服务中心电子印章');
    const folder = mkdtempSync(join(tmpdir(), 'seal-cert-'));
    const file = join(folder, 'seal.crt.pem');
    writeFileSync(file, certificatePem(cert));
    const text = (await run('openssl', ['x509', '-in', file, '-noout', '-text'])).stdout;
    expect(text).toContain('Signature Algorithm: SM2-with-SM3');
    expect(text).toContain('ASN1 OID: SM2');
    expect(text).toMatch(/Digital Signature, Non Repudiation/);
    const at = String(Date.parse('2027-06-01T00:00:00Z') / 1000);
    const verified = await run('openssl', ['verify', '-attime', at, '-partial_chain', '-trusted', file, file]);
    expect(verified.stdout).toContain(': OK');
  });
});

describe('SES_Seal and SES_Signature', () => {
  let maker: { key: Sm2PrivateKey; cert: Buffer };
  let seal: Buffer;
  let signature: Buffer;

  beforeAll(() => {
    maker = party('某某市政务服务中心电子印章');
    seal = makeSeal(sealInfo(maker.cert), maker);
    signature = signWithSeal(DOCUMENT, seal, maker, SIGNED_AT, 'business_licence');
  });

  it('round-trips: every field decodes to what was encoded, and the decoded bytes are the signed ones', () => {
    const decoded = decodeSesSeal(seal);
    expect(decoded.info).toMatchObject({
      version: 4,
      vid: 'onewindow',
      esID: '0123456789abcdef0123456789abcdef',
      type: 1,
      name: '某某市政务服务中心电子印章',
      certListType: 1,
      createDate: new Date('2026-01-01T00:00:00Z'),
      validEnd: new Date('2030-12-31T00:00:00Z'),
      picture: { type: 'PNG', widthMm: 40, heightMm: 40 },
    });
    expect(decoded.info.certs[0]?.equals(maker.cert)).toBe(true);
    expect(decoded.encoded.equals(seal)).toBe(true);
    const sesSignature = decodeSesSignature(signature);
    expect(sesSignature.toSign).toMatchObject({ version: 4, timeInfo: SIGNED_AT, propertyInfo: 'business_licence' });
    expect(sesSignature.toSign.dataHash.equals(sm3(DOCUMENT))).toBe(true);
    expect(sesSignature.toSign.seal.encoded.equals(seal)).toBe(true);
    expect(sesSignature.signatureAlgId).toBe('1.2.156.10197.1.501');
    expect(sesSignature.timeStamp).toBeUndefined();
  });

  it.runIf(withOpenssl)('is readable by openssl asn1parse, field by field', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'seal-asn1-'));
    writeFileSync(join(folder, 'seal.sig'), signature);
    const listing = (await run('openssl', ['asn1parse', '-inform', 'DER', '-in', join(folder, 'seal.sig'), '-i']))
      .stdout;
    expect(listing).toMatch(/IA5STRING\s+:ES\n/);
    expect(listing).toMatch(/UTF8STRING\s+:某某市政务服务中心电子印章/);
    expect(listing).toMatch(/GENERALIZEDTIME\s+:20261218080000Z/);
    expect(listing).toMatch(/IA5STRING\s+:PNG/);
    expect(listing).toMatch(/IA5STRING\s+:business_licence/);
    expect(listing.match(/OBJECT\s+:SM2-with-SM3/g)).toHaveLength(2);
  });

  it('verifies, with the seal’s facts', () => {
    const verified = verifySealSignature(DOCUMENT, signature, { now: NOW, trust: trustCertificates([maker.cert]) });
    expect(verified).toMatchObject({
      valid: true,
      signedAt: SIGNED_AT,
      dataHash: sm3(DOCUMENT).toString('hex'),
      seal: { name: '某某市政务服务中心电子印章', esID: '0123456789abcdef0123456789abcdef', type: 1 },
      signer: { subject: 'C=CN, O=某某市政务服务中心电子印章, CN=某某市政务服务中心电子印章' },
    });
  });

  it('names the failed check: tampered document, tampered seal, wrong key, maker, dates, trust, structure', () => {
    const trusted = { now: NOW, trust: trustCertificates([maker.cert]) };
    const check = (document: Uint8Array, der: Uint8Array, options = trusted) =>
      problemOf(() => verifySealSignature(document, der, options));

    const changed = Buffer.from(DOCUMENT);
    changed[changed.length - 3] = 0x46;
    expect(check(changed, signature)).toBe('seal_document_mismatch');

    // A changed seal name inside the signed data (same length, so the DER stays well formed).
    const tamperedSeal = Buffer.from(signature);
    const nameAt = tamperedSeal.indexOf(Buffer.from('电子印章', 'utf8'));
    tamperedSeal[nameAt + 2] = (tamperedSeal[nameAt + 2] as number) ^ 1;
    expect(check(DOCUMENT, tamperedSeal)).toBe('seal_signature_invalid');

    // Signed with another key than the one in the certificate it carries.
    const stranger = generateSm2PrivateKey();
    expect(check(DOCUMENT, signWithSeal(DOCUMENT, seal, { key: stranger, cert: maker.cert }, SIGNED_AT))).toBe(
      'seal_signature_invalid',
    );

    // A seal whose maker signature is another seal's: the information was changed after making.
    const otherSeal = decodeSesSeal(makeSeal(sealInfo(maker.cert, { name: '伪造印章' }), maker));
    const relabelled = encodeSesSeal({ ...decodeSesSeal(seal), signedValue: otherSeal.signedValue });
    expect(check(DOCUMENT, signWithSeal(DOCUMENT, relabelled, maker, SIGNED_AT))).toBe('seal_maker_signature_invalid');

    const expiredSeal = makeSeal(sealInfo(maker.cert, { validEnd: new Date('2026-06-30T00:00:00Z') }), maker);
    expect(check(DOCUMENT, signWithSeal(DOCUMENT, expiredSeal, maker, SIGNED_AT))).toBe('seal_expired');

    const laterSeal = makeSeal(sealInfo(maker.cert, { validStart: new Date('2027-01-01T00:00:00Z') }), maker);
    expect(check(DOCUMENT, signWithSeal(DOCUMENT, laterSeal, maker, SIGNED_AT))).toBe('seal_not_yet_valid');

    // Signed "tomorrow" according to the injected clock.
    expect(
      check(DOCUMENT, signature, { now: new Date('2026-12-17T00:00:00Z'), trust: trustCertificates([maker.cert]) }),
    ).toBe('seal_not_yet_valid');

    const other = party('另一个单位');
    const notHolder = signWithSeal(DOCUMENT, seal, other, SIGNED_AT);
    expect(check(DOCUMENT, notHolder, { now: NOW, trust: trustCertificates([maker.cert, other.cert]) })).toBe(
      'seal_signer_not_in_seal',
    );

    const strangersSeal = makeSeal(sealInfo(other.cert), other);
    expect(check(DOCUMENT, signWithSeal(DOCUMENT, strangersSeal, other, SIGNED_AT))).toBe('seal_untrusted');

    expect(check(DOCUMENT, signature.subarray(0, 100))).toBe('seal_malformed');
    expect(check(DOCUMENT, Buffer.from('not a seal'))).toBe('seal_malformed');
  });

  it.runIf(withOpenssl)('verifies with OpenSSL alone, following the documented steps', async () => {
    const report = await opensslVerifySeal(DOCUMENT, signature);
    expect(report, report.output).toMatchObject({
      signatureVerified: true,
      documentMatches: true,
      makerSignatureVerified: true,
      certificateVerified: true,
    });
    const changed = Buffer.from(DOCUMENT);
    changed[0] = 0x25 ^ 1;
    expect((await opensslVerifySeal(changed, signature)).documentMatches).toBe(false);
  });
});

/** A PDF like the registry's licences: classic cross-reference table, one A4 page. */
function simplePdf(pageExtras = '', extraObjects: string[] = []): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>',
    `<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << >>${pageExtras} >>`,
    '<< /Length 22 >>\nstream\nBT (licence) Tj ET q Q\nendstream',
    ...extraObjects,
  ];
  let text = '%PDF-1.7\n';
  const offsets: number[] = [];
  for (const [index, object] of objects.entries()) {
    offsets.push(text.length);
    text += `${index + 1} 0 obj\n${object}\nendobj\n`;
  }
  const xref = text.length;
  text += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) text += `${String(offset).padStart(10, '0')} 00000 n \n`;
  text += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /ID [<00ff> <00ff>] >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(text, 'latin1');
}

describe('the seal’s appearance on a PDF', () => {
  it('stamps the last page in an incremental update: the original is the first part, unchanged', () => {
    const original = simplePdf();
    const sealed = addSealAppearance(original, '某某市政务服务中心电子印章');
    expect(sealed).toBeDefined();
    expect(sealed?.subarray(0, original.length).equals(original)).toBe(true);
    expect(inspectPdf(original)).toEqual({ objects: 4, lastPageAnnots: 0, sizeEntry: 5 });
    // Every object the new cross-reference names is where it says; the page has the stamp.
    expect(inspectPdf(sealed as Buffer)).toEqual({ objects: 9, lastPageAnnots: 1, sizeEntry: 10 });
    const update = (sealed as Buffer).subarray(original.length).toString('latin1');
    expect(update).toMatch(/^3 0 obj\n<< \/Type \/Page \/Parent 2 0 R .*\/Annots \[5 0 R\] >>/);
    expect(update).toContain('/Subtype /Stamp /Rect [425.61 56 539 169.39] /F 132');
    expect(update).toContain(`/Prev ${original.toString('latin1').match(/startxref\n(\d+)/)?.[1]}`);
    expect(update).toContain('/ID [<00ff> <00ff>]');
    expect(update.endsWith('%%EOF\n')).toBe(true);
    // Deterministic, and a second seal adds a second stamp.
    expect(addSealAppearance(original, '某某市政务服务中心电子印章')?.equals(sealed as Buffer)).toBe(true);
    expect(inspectPdf(addSealAppearance(sealed as Buffer, '第二枚印章') as Buffer)).toMatchObject({
      lastPageAnnots: 2,
    });
  });

  it('adds to existing annotations, inline or in their own object', () => {
    expect(inspectPdf(addSealAppearance(simplePdf(' /Annots [ ]'), '印章') as Buffer)).toMatchObject({
      lastPageAnnots: 1,
    });
    const referenced = addSealAppearance(simplePdf(' /Annots 5 0 R', ['[]']), '印章') as Buffer;
    expect(inspectPdf(referenced)).toMatchObject({ lastPageAnnots: 1 });
    expect(referenced.toString('latin1')).toMatch(/5 0 obj\n\[ 6 0 R\]/);
  });

  it('leaves alone what it cannot update safely: no classic cross-reference, encrypted, no pages', () => {
    expect(addSealAppearance(Buffer.from('%PDF-1.7\n1 0 obj <</Type /Catalog>> endobj\n%%EOF\n'), 'x')).toBeUndefined();
    const xrefStream = Buffer.from(
      '%PDF-1.7\n1 0 obj\n<< /Type /XRef /Size 2 /Root 1 0 R /Length 0 >>\nstream\n\nendstream\nendobj\nstartxref\n9\n%%EOF\n',
      'latin1',
    );
    expect(addSealAppearance(xrefStream, 'x')).toBeUndefined();
    const encrypted = Buffer.from(
      simplePdf().toString('latin1').replace('/Root 1 0 R', '/Root 1 0 R /Encrypt 9 0 R'),
      'latin1',
    );
    expect(addSealAppearance(encrypted, 'x')).toBeUndefined();
    const hybrid = Buffer.from(
      simplePdf().toString('latin1').replace('/Root 1 0 R', '/Root 1 0 R /XRefStm 9'),
      'latin1',
    );
    expect(addSealAppearance(hybrid, 'x')).toBeUndefined();
    const tiny = Buffer.from(simplePdf().toString('latin1').replace('[0 0 595 842]', '[0 0 100 100]'), 'latin1');
    expect(addSealAppearance(tiny, 'x')).toBeUndefined();
    expect(addSealAppearance(Buffer.from('%PDF-1.7\nstartxref\n999999\n%%EOF\n'), 'x')).toBeUndefined();
  });

  it('draws a ring, a star and the name in seal red', () => {
    const drawing = sealDrawing(113.39, '电子印章');
    expect(drawing).toMatch(/^q 0\.843 0\.102 0\.129 rg\n/);
    expect(drawing.match(/ c\n?/g)?.length).toBe(8);
    expect(drawing).toContain('f*');
    expect(drawing.match(/Tj/g)).toHaveLength(4);
    expect(drawing).toContain('<7535> Tj');
  });
});

describe('the gateway seal', () => {
  it('creates its key (0600), certificate and seal at first start, keeps them, and remakes the seal when renamed', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'gateway-seal-'));
    const keyFile = join(folder, 'seal.pem');
    const settings = { keyFile, name: '某某市政务服务中心电子印章', validYears: 5, trustedCertificateFiles: [] };
    const first = await loadGatewaySeal(settings, SIGNED_AT);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const { certificateFile, sealFile } = sealFilesOf(keyFile);
    expect(readFileSync(certificateFile, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(readFileSync(sealFile).equals(first.seal)).toBe(true);
    expect(first.decoded.info).toMatchObject({ name: settings.name, validStart: SIGNED_AT });

    const again = await loadGatewaySeal(settings, NOW);
    expect(again.seal.equals(first.seal)).toBe(true);
    const signature = again.sign(DOCUMENT, SIGNED_AT);
    expect(first.verify(DOCUMENT, signature, NOW).seal.name).toBe(settings.name);

    const renamed = await loadGatewaySeal({ ...settings, name: '某某市行政审批服务局电子印章' }, NOW);
    expect(renamed.decoded.info.name).toBe('某某市行政审批服务局电子印章');
    expect(renamed.certificate.equals(first.certificate)).toBe(true);
    // A signature made with the old seal still verifies: same key and certificate.
    expect(renamed.verify(DOCUMENT, signature, NOW).seal.name).toBe(settings.name);
  });

  it('is one seal for instances starting together on one key folder, and trusts its own key’s certificates', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'gateway-seal-'));
    const settings = {
      keyFile: join(folder, 'seal.pem'),
      name: '某某市政务服务中心电子印章',
      validYears: 1,
      trustedCertificateFiles: [],
    };
    const [first, second] = await Promise.all([
      loadGatewaySeal(settings, SIGNED_AT),
      loadGatewaySeal(settings, SIGNED_AT),
    ]);
    expect(second?.seal.equals(first?.seal as Buffer)).toBe(true);
    const signature = (first as Awaited<ReturnType<typeof loadGatewaySeal>>).sign(DOCUMENT, SIGNED_AT);
    // Two years on, the seal and its certificate are made again; what was sealed before still verifies.
    const later = new Date(SIGNED_AT.getTime() + 2 * YEAR);
    const renewed = await loadGatewaySeal(settings, later);
    expect(renewed.certificate.equals(first?.certificate as Buffer)).toBe(false);
    expect(renewed.verify(DOCUMENT, signature, later).signedAt).toEqual(SIGNED_AT);
    // A certificate for another key, even with the same name, is not trusted.
    const stranger = party('某某市政务服务中心电子印章');
    const strangersSeal = makeSeal(sealInfo(stranger.cert), stranger);
    expect(
      problemOf(() => renewed.verify(DOCUMENT, signWithSeal(DOCUMENT, strangersSeal, stranger, SIGNED_AT), NOW)),
    ).toBe('seal_untrusted');
  });
});
