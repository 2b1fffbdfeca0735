/**
 * Sniffing tests on real minimal files assembled here byte by byte: a PDF, a 1x1 PNG with valid
 * chunk CRCs, a JFIF JPEG prefix and ZIP archives laid out as OFD packages (or not).
 */
import { crc32, deflateRawSync, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  type DocumentMediaType,
  detectMediaType,
  isDocumentMediaType,
  normaliseDeclaredMediaType,
} from './media-type.js';

const HEAD_BYTES = 4096;

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (character) => character.charCodeAt(0));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const result = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}

function uint16le(value: number): Uint8Array {
  return Uint8Array.of(value & 0xff, (value >>> 8) & 0xff);
}

function uint32le(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}

function uint32be(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, false);
  return bytes;
}

/** What `put` hands to the sniffer: at most the first 4096 bytes. */
function headOf(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(0, HEAD_BYTES);
}

// --- Minimal files -----------------------------------------------------------------------------

const MINIMAL_PDF = [
  '%PDF-1.4',
  '1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj',
  '2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj',
  '3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >> endobj',
  'trailer << /Root 1 0 R >>',
  '%%EOF',
].join('\n');

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const typeAndData = concat(ascii(type), data);
  return concat(uint32be(data.length), typeAndData, uint32be(crc32(typeAndData)));
}

/** A valid 1x1 8-bit greyscale PNG. */
function onePixelPng(): Uint8Array {
  const signature = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
  // width 1, height 1, bit depth 8, colour type 0, compression 0, filter 0, interlace 0
  const header = concat(uint32be(1), uint32be(1), Uint8Array.of(8, 0, 0, 0, 0));
  // One scanline: filter byte 0, one grey pixel.
  const pixels = deflateSync(Uint8Array.of(0, 0x80));
  return concat(signature, pngChunk('IHDR', header), pngChunk('IDAT', pixels), pngChunk('IEND', new Uint8Array(0)));
}

/** JPEG start of image followed by a JFIF APP0 segment. */
const JPEG_PREFIX = concat(
  Uint8Array.of(0xff, 0xd8),
  Uint8Array.of(0xff, 0xe0, 0x00, 0x10),
  ascii('JFIF\0'),
  Uint8Array.of(0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00),
);

interface ZipEntry {
  name: string;
  content: string | Uint8Array;
  /** Deflate the content (method 8) instead of storing it. */
  deflate?: boolean;
  /** Set general-purpose bit 3: zero sizes in the local header, a data descriptor after the data. */
  dataDescriptor?: boolean;
  extra?: Uint8Array;
}

/** A complete ZIP archive: local headers and data, central directory, end record. */
function zipArchive(entries: ZipEntry[]): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const entry of entries) {
    const raw = typeof entry.content === 'string' ? ascii(entry.content) : entry.content;
    const data = entry.deflate ? new Uint8Array(deflateRawSync(raw)) : raw;
    const method = entry.deflate ? 8 : 0;
    const flags = entry.dataDescriptor ? 0x0008 : 0;
    const crc = crc32(raw);
    const name = ascii(entry.name);
    const extra = entry.extra ?? new Uint8Array(0);
    const sizesInHeader = entry.dataDescriptor ? [0, 0, 0] : [crc, data.length, raw.length];
    const local = concat(
      ascii('PK\x03\x04'),
      uint16le(20),
      uint16le(flags),
      uint16le(method),
      uint16le(0),
      uint16le(0x21),
      ...sizesInHeader.map(uint32le),
      uint16le(name.length),
      uint16le(extra.length),
      name,
      extra,
      data,
      entry.dataDescriptor
        ? concat(ascii('PK\x07\x08'), uint32le(crc), uint32le(data.length), uint32le(raw.length))
        : new Uint8Array(0),
    );
    centrals.push(
      concat(
        ascii('PK\x01\x02'),
        uint16le(20),
        uint16le(20),
        uint16le(flags),
        uint16le(method),
        uint16le(0),
        uint16le(0x21),
        uint32le(crc),
        uint32le(data.length),
        uint32le(raw.length),
        uint16le(name.length),
        uint16le(0),
        uint16le(0),
        uint16le(0),
        uint16le(0),
        uint32le(0),
        uint32le(offset),
        name,
      ),
    );
    locals.push(local);
    offset += local.length;
  }
  const centralDirectory = concat(...centrals);
  const end = concat(
    ascii('PK\x05\x06'),
    uint16le(0),
    uint16le(0),
    uint16le(entries.length),
    uint16le(entries.length),
    uint32le(centralDirectory.length),
    uint32le(offset),
    uint16le(0),
  );
  return concat(...locals, centralDirectory, end);
}

const OFD_XML =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD">' +
  '<ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>';
const DOCUMENT_XML =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:CommonData/></ofd:Document>';

// --- Tests -------------------------------------------------------------------------------------

describe('detectMediaType: PDF', () => {
  it('recognises a PDF from %PDF- at offset 0', () => {
    expect(detectMediaType(headOf(ascii(MINIMAL_PDF)))).toEqual({ mediaType: 'application/pdf', document: true });
  });

  it('needs only the five-byte marker', () => {
    expect(detectMediaType(ascii('%PDF-'))).toEqual({ mediaType: 'application/pdf', document: true });
  });

  it('rejects a marker that does not start at byte 0, even though PDF readers would accept it', () => {
    expect(detectMediaType(ascii(`junk\n${MINIMAL_PDF}`))).toBeNull();
    expect(detectMediaType(ascii(` ${MINIMAL_PDF}`))).toBeNull();
    expect(detectMediaType(concat(Uint8Array.of(0xef, 0xbb, 0xbf), ascii(MINIMAL_PDF)))).toBeNull();
  });

  it('rejects a marker without its dash, in the wrong case, or cut short', () => {
    expect(detectMediaType(ascii('%PDF1.4\n'))).toBeNull();
    expect(detectMediaType(ascii('%pdf-1.4\n'))).toBeNull();
    expect(detectMediaType(ascii('%PDF'))).toBeNull();
  });
});

describe('detectMediaType: JPEG', () => {
  it('recognises SOI followed by an APP0 marker', () => {
    expect(detectMediaType(JPEG_PREFIX)).toEqual({ mediaType: 'image/jpeg', document: true });
  });

  it('needs the third byte to be a marker prefix (FF D8 FF)', () => {
    expect(detectMediaType(Uint8Array.of(0xff, 0xd8, 0xfe, 0xe0))).toBeNull();
  });

  it('does not guess from a two-byte head', () => {
    expect(detectMediaType(Uint8Array.of(0xff, 0xd8))).toBeNull();
  });
});

describe('detectMediaType: PNG', () => {
  const png = onePixelPng();

  it('recognises a complete 1x1 PNG', () => {
    expect(detectMediaType(png)).toEqual({ mediaType: 'image/png', document: true });
  });

  it('recognises a head cut right after the IHDR chunk type', () => {
    expect(detectMediaType(png.subarray(0, 16))).toEqual({ mediaType: 'image/png', document: true });
  });

  it('does not recognise a head that ends before the chunk type is complete', () => {
    expect(detectMediaType(png.subarray(0, 15))).toBeNull();
    expect(detectMediaType(png.subarray(0, 8))).toBeNull();
  });

  it('rejects a signature whose first chunk is not IHDR', () => {
    const signature = png.subarray(0, 8);
    expect(detectMediaType(concat(signature, pngChunk('IDAT', Uint8Array.of(1, 2, 3))))).toBeNull();
  });

  it('rejects a damaged signature (the line-ending bytes converted)', () => {
    const damaged = png.slice();
    damaged[4] = 0x0a; // CR LF turned into LF LF, as a text-mode transfer does
    expect(detectMediaType(damaged)).toBeNull();
  });
});

describe('detectMediaType: OFD and ZIP', () => {
  it('recognises an OFD package whose first entry is OFD.xml', () => {
    const ofd = zipArchive([
      { name: 'OFD.xml', content: OFD_XML },
      { name: 'Doc_0/Document.xml', content: DOCUMENT_XML },
    ]);
    expect(detectMediaType(headOf(ofd))).toEqual({ mediaType: 'application/ofd', document: true });
  });

  it('finds OFD.xml after other entries by walking the local headers', () => {
    const ofd = zipArchive([
      { name: 'Doc_0/Document.xml', content: DOCUMENT_XML, deflate: true },
      { name: 'Doc_0/Pages/Page_0/Content.xml', content: '<ofd:Page/>'.repeat(20) },
      { name: 'OFD.xml', content: OFD_XML, deflate: true },
    ]);
    expect(detectMediaType(headOf(ofd))).toEqual({ mediaType: 'application/ofd', document: true });
  });

  it('skips extra fields when walking', () => {
    const extendedTimestamp = concat(uint16le(0x5455), uint16le(5), Uint8Array.of(1, 0, 0, 0, 0));
    const ofd = zipArchive([
      { name: 'Doc_0/Document.xml', content: DOCUMENT_XML, extra: extendedTimestamp },
      { name: 'OFD.xml', content: OFD_XML, extra: extendedTimestamp },
    ]);
    expect(detectMediaType(ofd)?.mediaType).toBe('application/ofd');
  });

  it('falls back to searching when an entry uses a data descriptor (flag bit 3)', () => {
    const ofd = zipArchive([
      { name: 'Doc_0/Document.xml', content: DOCUMENT_XML, deflate: true, dataDescriptor: true },
      { name: 'OFD.xml', content: OFD_XML, deflate: true, dataDescriptor: true },
    ]);
    expect(detectMediaType(ofd)).toEqual({ mediaType: 'application/ofd', document: true });
  });

  it('calls a data-descriptor archive without OFD.xml a plain ZIP', () => {
    const zip = zipArchive([
      { name: 'a.txt', content: 'hello', dataDescriptor: true },
      { name: 'b.txt', content: 'world', dataDescriptor: true },
    ]);
    expect(detectMediaType(zip)).toEqual({ mediaType: 'application/zip', document: false });
  });

  it('requires OFD.xml at the archive root, with that exact name', () => {
    for (const name of ['Doc_0/OFD.xml', 'ofd.xml', 'OFD.XML', 'OFD.xml.bak', '/OFD.xml', 'xOFD.xml']) {
      const zip = zipArchive([{ name, content: OFD_XML }]);
      expect(detectMediaType(zip), name).toEqual({ mediaType: 'application/zip', document: false });
    }
  });

  it('does not take header-like bytes inside an entry of known size for a header', () => {
    // A stored entry whose content is itself a ZIP with OFD.xml: a signature search would find
    // the inner header; walking by compressed size steps over it.
    const inner = zipArchive([{ name: 'OFD.xml', content: OFD_XML }]);
    const zip = zipArchive([
      { name: 'nested.zip', content: inner },
      { name: 'readme.txt', content: 'not an OFD package' },
    ]);
    expect(detectMediaType(zip)).toEqual({ mediaType: 'application/zip', document: false });
  });

  it('does not see an OFD.xml entry that starts beyond the head', () => {
    const bulky = new Uint8Array(HEAD_BYTES).fill(0x41);
    const ofd = zipArchive([
      { name: 'Doc_0/Res/image.bin', content: bulky },
      { name: 'OFD.xml', content: OFD_XML },
    ]);
    expect(detectMediaType(ofd)?.mediaType).toBe('application/ofd');
    expect(detectMediaType(headOf(ofd))).toEqual({ mediaType: 'application/zip', document: false });
  });

  it('does not accept a name cut off by the end of the head', () => {
    const ofd = zipArchive([{ name: 'OFD.xml', content: OFD_XML }]);
    expect(detectMediaType(ofd.subarray(0, 30 + 6))).toEqual({ mediaType: 'application/zip', document: false });
    expect(detectMediaType(ofd.subarray(0, 30 + 7))).toEqual({ mediaType: 'application/ofd', document: true });
  });

  it('reads the header fields relative to the view, not the underlying buffer', () => {
    const ofd = zipArchive([
      { name: 'Doc_0/Document.xml', content: DOCUMENT_XML },
      { name: 'OFD.xml', content: OFD_XML },
    ]);
    const padded = concat(new Uint8Array(3).fill(0xaa), ofd);
    expect(detectMediaType(padded.subarray(3))?.mediaType).toBe('application/ofd');
  });

  it('calls an empty archive and a bare local header signature ZIP', () => {
    expect(detectMediaType(zipArchive([]))).toEqual({ mediaType: 'application/zip', document: false });
    expect(detectMediaType(ascii('PK\x03\x04'))).toEqual({ mediaType: 'application/zip', document: false });
  });

  it('does not recognise a truncated signature', () => {
    expect(detectMediaType(ascii('PK'))).toBeNull();
    expect(detectMediaType(ascii('PK\x03'))).toBeNull();
  });
});

describe('detectMediaType: non-documents', () => {
  const cases: Array<[string, Uint8Array, string]> = [
    ['GIF87a', ascii('GIF87a\x01\x00\x01\x00'), 'image/gif'],
    ['GIF89a', ascii('GIF89a\x01\x00\x01\x00'), 'image/gif'],
    ['WebP', concat(ascii('RIFF'), uint32le(26), ascii('WEBPVP8 ')), 'image/webp'],
    ['little-endian TIFF', Uint8Array.of(0x49, 0x49, 0x2a, 0x00, 0x08, 0, 0, 0), 'image/tiff'],
    ['big-endian TIFF', Uint8Array.of(0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 0x08), 'image/tiff'],
    ['BigTIFF', Uint8Array.of(0x49, 0x49, 0x2b, 0x00, 0x08, 0, 0, 0), 'image/tiff'],
    ['Windows executable', concat(ascii('MZ'), Uint8Array.of(0x90, 0x00, 0x03)), 'application/x-msdownload'],
    ['ELF', Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01), 'application/x-executable'],
    ['HTML doctype', ascii('<!DOCTYPE html>\n<html></html>'), 'text/html'],
    ['lower-case doctype', ascii('<!doctype html>'), 'text/html'],
    ['html element with attributes', ascii('<HTML lang="zh-CN">'), 'text/html'],
    ['HTML after BOM and whitespace', concat(Uint8Array.of(0xef, 0xbb, 0xbf), ascii(' \r\n\t<html>')), 'text/html'],
    ['XML declaration', ascii('<?xml version="1.0"?><a/>'), 'application/xml'],
    ['bare OFD.xml', ascii(OFD_XML), 'application/xml'],
  ];

  it.each(cases)('names %s', (_label, head, mediaType) => {
    expect(detectMediaType(head)).toEqual({ mediaType, document: false });
  });

  const unknown: Array<[string, Uint8Array]> = [
    ['an empty head', new Uint8Array(0)],
    ['a single byte', ascii('%')],
    ['plain text', ascii('Hello, world')],
    ['GIF with an unknown version', ascii('GIF88a\x01\x00')],
    ['a RIFF container that is not WebP', concat(ascii('RIFF'), uint32le(36), ascii('WAVEfmt '))],
    ['a RIFF header cut before its form type', ascii('RIFF\x00\x00\x00\x00WE')],
    ['a tag that only starts like html', ascii('<htmlx>')],
    ['another element', ascii('<head><title>x</title></head>')],
    ['"<html" at the very end of the head', ascii('<html')],
    ['a doctype that is not html', ascii('<!DOCTYPE svg>')],
    ['an upper-case XML declaration', ascii('<?XML version="1.0"?>')],
    ['a different processing instruction', ascii('<?xml-stylesheet href="a.xsl"?>')],
    ['markup after other text', ascii('x<html>')],
    ['a half TIFF header', Uint8Array.of(0x49, 0x49, 0x2a)],
  ];

  it.each(unknown)('returns null for %s', (_label, head) => {
    expect(detectMediaType(head)).toBeNull();
  });

  it('marks only the four document types as documents', () => {
    const detected = [
      ascii(MINIMAL_PDF),
      JPEG_PREFIX,
      onePixelPng(),
      zipArchive([{ name: 'OFD.xml', content: OFD_XML }]),
      zipArchive([{ name: 'a.txt', content: 'a' }]),
      ascii('GIF89a'),
      ascii('MZ'),
    ].map((head) => detectMediaType(head));
    expect(detected.map((result) => result?.document)).toEqual([true, true, true, true, false, false, false]);
  });

  it('narrows the media type of a document result to DocumentMediaType', () => {
    const result = detectMediaType(JPEG_PREFIX);
    if (result === null || !result.document) throw new Error('expected a document');
    const narrowed: DocumentMediaType = result.mediaType;
    expect(narrowed).toBe('image/jpeg');
  });
});

describe('isDocumentMediaType', () => {
  it.each(['application/pdf', 'application/ofd', 'image/jpeg', 'image/png'])('accepts %s', (value) => {
    expect(isDocumentMediaType(value)).toBe(true);
  });

  it.each(['application/zip', 'image/gif', 'APPLICATION/PDF', 'application/pdf; charset=binary', 'image/jpg', ''])(
    'rejects %j',
    (value) => {
      expect(isDocumentMediaType(value)).toBe(false);
    },
  );
});

describe('normaliseDeclaredMediaType', () => {
  it.each([
    ['application/pdf', 'application/pdf'],
    ['application/PDF; charset=binary', 'application/pdf'],
    ['Image/JPEG', 'image/jpeg'],
    ['  image/png  ', 'image/png'],
    ['application/ofd ; name="a;b"', 'application/ofd'],
    ['application/vnd.ms-excel', 'application/vnd.ms-excel'],
    ['application/x-www-form-urlencoded;', 'application/x-www-form-urlencoded'],
  ])('normalises %j to %j', (header, expected) => {
    expect(normaliseDeclaredMediaType(header)).toBe(expected);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['only whitespace', '   '],
    ['without a slash', 'pdf'],
    ['with an empty subtype', 'application/'],
    ['with an empty type', '/pdf'],
    ['with two slashes', 'application/pdf/x'],
    ['with a space inside', 'application /pdf'],
    ['with illegal characters', 'application/p(d)f'],
    ['with non-ASCII characters', 'application/pdfé'],
    ['with only parameters', '; charset=utf-8'],
  ])('returns undefined when %s', (_label, header) => {
    expect(normaliseDeclaredMediaType(header)).toBeUndefined();
  });
});
