/**
 * Security suite: hostile electronic seals and result PDFs (gateway/seals). The seal check is
 * public (`POST /v1/seals/verify`, a seal of up to 256 KiB of base64) and reads department
 * callbacks' seals; the PDF stamp reads departments' result documents. Each crafted input here
 * must be refused (or left unstamped) in well under a second of CPU; before the fixes each took
 * seconds of one event loop.
 */
import { describe, expect, it } from 'vitest';
import { generateSm2PrivateKey, signatureToDer } from '../../adapters/sdk/helpers/sm2.js';
import { selfSignedSm2Certificate } from '../../gateway/seals/certificate.js';
import {
  DerError,
  decode,
  generalizedTime,
  ia5String,
  integer,
  octetString,
  oid,
  printableString,
  readGeneralizedTime,
  readOid,
  readX509Time,
  sequence,
  tlv,
  utf8String,
} from '../../gateway/seals/der.js';
import { addSealAppearance } from '../../gateway/seals/pdf-appearance.js';
import {
  type SealProblemCode,
  SealProblem,
  makeSeal,
  signWithSeal,
  trustCertificates,
  verifySealSignature,
} from '../../gateway/seals/seal.js';
import { type SealInfoInput, encodeSesSeal, encodeTbsSign } from '../../gateway/seals/ses.js';

/** CPU a crafted input may cost; the unfixed code took 7–14 s on each of these. */
const CPU_BUDGET_MS = 1000;
/** The largest seal `POST /v1/seals/verify` takes: 256 KiB of base64. */
const ROUTE_SEAL_MAX_BYTES = ((256 * 1024) / 4) * 3;
const SM2_WITH_SM3 = '1.2.156.10197.1.501';

function cpuMs<T>(action: () => T): { result: T; ms: number } {
  const started = process.cpuUsage();
  const result = action();
  const { user, system } = process.cpuUsage(started);
  return { result, ms: (user + system) / 1000 };
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

function party(organisation: string) {
  const key = generateSm2PrivateKey();
  const cert = selfSignedSm2Certificate(key, {
    organisation,
    commonName: 'seal',
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2030-01-01T00:00:00Z'),
  });
  return { key, cert };
}

function sealInfoFor(cert: Buffer): SealInfoInput {
  return {
    vid: 'v',
    esID: 'e',
    type: 1,
    name: 'n',
    certs: [cert],
    createDate: new Date('2026-01-01T00:00:00Z'),
    validStart: new Date('2026-01-01T00:00:00Z'),
    validEnd: new Date('2029-01-01T00:00:00Z'),
    picture: { type: 'PNG', data: Buffer.alloc(1), widthMm: 1, heightMm: 1 },
  };
}

describe('hostile DER in a seal', () => {
  it('refuses an object identifier with one enormous arc at once (it was quadratic)', () => {
    const arc = Buffer.alloc(190_000, 0x81);
    arc[arc.length - 1] = 0x01;
    const { result, ms } = cpuMs(() => {
      try {
        return readOid(decode(tlv(0x06, arc)), 'oid');
      } catch (error) {
        return error;
      }
    });
    expect(result).toBeInstanceOf(DerError);
    expect(String(result)).toMatch(/OID arc longer than/);
    expect(ms).toBeLessThan(CPU_BUDGET_MS);
    // UUID arcs (2.25, 128 bits) still read.
    const uuidOid = `2.25.${2n ** 128n - 1n}`;
    expect(readOid(decode(oid(uuidOid)), 'oid')).toBe(uuidOid);
  });

  it('reads a GeneralizedTime of the years 0–99 as those years, not as 1900–1999, and refuses UTCTimes that are no date', () => {
    const time = (text: string) => tlv(0x18, Buffer.from(text, 'latin1'));
    expect(readGeneralizedTime(decode(time('00260101000000Z')), 't').toISOString()).toBe('0026-01-01T00:00:00.000Z');
    expect(readGeneralizedTime(decode(time('20280229000000Z')), 't').toISOString()).toBe('2028-02-29T00:00:00.000Z');
    expect(() => readGeneralizedTime(decode(time('20260229000000Z')), 't')).toThrow(DerError);
    // UTCTime (certificate validity) is held to real dates too: month 13 was read as the next January.
    const utc = (text: string) => tlv(0x17, Buffer.from(text, 'latin1'));
    expect(readX509Time(decode(utc('261231000000Z')), 't').toISOString()).toBe('2026-12-31T00:00:00.000Z');
    for (const text of ['261301000000Z', '260230000000Z', '260100000000Z'])
      expect(() => readX509Time(decode(utc(text)), 't'), text).toThrow(DerError);
  });

  it('answers seal_malformed for such an identifier in SES_Signature.signatureAlgID', () => {
    const signer = party('signer');
    const arc = Buffer.alloc(180_000, 0x81);
    arc[arc.length - 1] = 0x01;
    const seal = makeSeal(sealInfoFor(signer.cert), signer);
    const toSign = encodeTbsSign({
      sealDer: seal,
      timeInfo: new Date('2026-03-01T00:00:00Z'),
      dataHash: Buffer.alloc(32),
      propertyInfo: '',
    });
    const signature = sequence(toSign, octetString(signer.cert), tlv(0x06, arc), tlv(0x03, Buffer.of(0)));
    const { result, ms } = cpuMs(() =>
      problemOf(() =>
        verifySealSignature(Buffer.from('doc'), signature, {
          now: new Date('2026-06-01'),
          trust: trustCertificates([]),
        }),
      ),
    );
    expect(result).toBe('seal_malformed');
    expect(ms).toBeLessThan(CPU_BUDGET_MS);
  });

  it('hashes the signer’s certificate once however many digests the seal lists (it was once per entry)', () => {
    // Self-made keys pass every check before trust, so anyone can send this to the public route.
    const signer = party('x'.repeat(45_000));
    const maker = party('maker');
    const digests = Array.from({ length: 8000 }, () => sequence(printableString('sm3'), octetString(Buffer.alloc(0))));
    const at = new Date('2026-02-01T00:00:00Z');
    const infoDer = sequence(
      sequence(ia5String('ES'), integer(4), ia5String('v')),
      ia5String('e'),
      sequence(
        integer(1),
        utf8String('n'),
        integer(2),
        sequence(...digests),
        generalizedTime(at),
        generalizedTime(at),
        generalizedTime(new Date('2029-01-01T00:00:00Z')),
      ),
      sequence(ia5String('PNG'), octetString(Buffer.alloc(1)), integer(1), integer(1)),
    );
    const seal = encodeSesSeal({
      infoDer,
      makerCert: maker.cert,
      signAlgId: SM2_WITH_SM3,
      signedValue: signatureToDer(maker.key.sign(infoDer)),
    });
    const document = Buffer.from('a document');
    const signature = signWithSeal(document, seal, signer, new Date('2026-03-01T00:00:00Z'));
    expect(signature.length).toBeLessThan(ROUTE_SEAL_MAX_BYTES);
    const { result, ms } = cpuMs(() =>
      problemOf(() =>
        verifySealSignature(document, signature, { now: new Date('2026-04-01'), trust: trustCertificates([]) }),
      ),
    );
    expect(result).toBe('seal_signer_not_in_seal');
    expect(ms).toBeLessThan(CPU_BUDGET_MS);
  });

  it('reads a digest type that is the name of an object property as unknown, not as a crash', () => {
    const signer = party('signer');
    const infoDer = sequence(
      sequence(ia5String('ES'), integer(4), ia5String('v')),
      ia5String('e'),
      sequence(
        integer(1),
        utf8String('n'),
        integer(2),
        sequence(sequence(printableString('constructor'), octetString(Buffer.alloc(32)))),
        generalizedTime(new Date('2026-02-01T00:00:00Z')),
        generalizedTime(new Date('2026-02-01T00:00:00Z')),
        generalizedTime(new Date('2029-01-01T00:00:00Z')),
      ),
      sequence(ia5String('PNG'), octetString(Buffer.alloc(1)), integer(1), integer(1)),
    );
    const seal = encodeSesSeal({
      infoDer,
      makerCert: signer.cert,
      signAlgId: SM2_WITH_SM3,
      signedValue: signatureToDer(signer.key.sign(infoDer)),
    });
    const document = Buffer.from('a document');
    const signature = signWithSeal(document, seal, signer, new Date('2026-03-01T00:00:00Z'));
    expect(
      problemOf(() =>
        verifySealSignature(document, signature, { now: new Date('2026-04-01'), trust: trustCertificates([]) }),
      ),
    ).toBe('seal_signer_not_in_seal');
  });
});

/** A classic-xref PDF of these objects (1 is the catalogue). */
function pdfOf(objects: string[]): Buffer {
  let out = '%PDF-1.7\n';
  const offsets: number[] = [];
  for (const [index, body] of objects.entries()) {
    offsets.push(out.length);
    out += `${index + 1} 0 obj\n${body}\nendobj\n`;
  }
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  out += offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('');
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

describe('hostile result PDFs', () => {
  it('reads a large object of a cyclic page tree once and leaves the file unstamped (it was read 32 times)', () => {
    // The Pages node's Kids is a large array whose last kid is the node itself.
    const kids = `[${'1 '.repeat(500_000)}2 0 R]`;
    const pdf = pdfOf(['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids 3 0 R /Count 1 >>', kids]);
    const { result, ms } = cpuMs(() => addSealAppearance(pdf, '印章'));
    expect(result).toBeUndefined();
    expect(ms).toBeLessThan(CPU_BUDGET_MS);
  });

  it('leaves a page tree whose nodes point at each other unstamped', () => {
    const pdf = pdfOf([
      '<< /Type /Catalog /Pages 2 0 R >>',
      '<< /Type /Pages /Kids [3 0 R] /Count 999999999 >>',
      '<< /Type /Pages /Kids [2 0 R] /Count 999999999 /Parent 2 0 R /MediaBox 2 0 R >>',
    ]);
    expect(addSealAppearance(pdf, '印章')).toBeUndefined();
  });

  it('leaves a file unstamped whose /Size cannot number new objects, and ignores a MediaBox of infinite numbers', () => {
    const page = (box: string) => [
      '<< /Type /Catalog /Pages 2 0 R >>',
      '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
      `<< /Type /Page /Parent 2 0 R /MediaBox ${box} >>`,
    ];
    const withSize = (size: string) =>
      Buffer.from(pdfOf(page('[0 0 595 842]')).toString('latin1').replace('/Size 4', `/Size ${size}`), 'latin1');
    expect(addSealAppearance(withSize('4'), '印章')).toBeInstanceOf(Buffer);
    for (const size of ['1.5', '-4', '0', '99999999999999999999'])
      expect(addSealAppearance(withSize(size), '印章'), size).toBeUndefined();
    const infinite = addSealAppearance(pdfOf(page(`[0 0 ${'9'.repeat(400)} 842]`)), '印章');
    expect(infinite?.toString('latin1')).not.toMatch(/Infinity|NaN/);
  });
});
