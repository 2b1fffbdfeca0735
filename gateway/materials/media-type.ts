/**
 * Content sniffing for uploaded documents. The gateway accepts four kinds of document (PDF, OFD,
 * JPEG, PNG) and decides what an upload is from its first bytes, never from the name or the
 * declared Content-Type alone: a client can mislabel a file, by mistake or on purpose.
 *
 * Besides the documents, a handful of common non-document types are recognised only so that a
 * rejection can name what was actually sent ("this is a Windows executable, not a PDF").
 *
 * Pure functions over a byte prefix (`BLOB_HEAD_BYTES`, 4096 bytes, in practice).
 */

/** The media types the gateway accepts as documents. */
export type DocumentMediaType = 'application/pdf' | 'application/ofd' | 'image/jpeg' | 'image/png';

/**
 * What the leading bytes are. `document` tells the accepted document types apart, and narrows
 * `mediaType` to `DocumentMediaType` when true.
 */
export type DetectedMediaType =
  | { mediaType: DocumentMediaType; document: true }
  | { mediaType: string; document: false };

const DOCUMENT_MEDIA_TYPES: ReadonlySet<string> = new Set<DocumentMediaType>([
  'application/pdf',
  'application/ofd',
  'image/jpeg',
  'image/png',
]);

export function isDocumentMediaType(value: string): value is DocumentMediaType {
  return DOCUMENT_MEDIA_TYPES.has(value);
}

function bytesOf(text: string): Uint8Array {
  return Uint8Array.from(text, (character) => character.charCodeAt(0));
}

const PDF_MAGIC = bytesOf('%PDF-');
const JPEG_MAGIC = Uint8Array.of(0xff, 0xd8, 0xff);
const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const PNG_FIRST_CHUNK_TYPE = bytesOf('IHDR');
/** Offset of the first chunk's type: 8-byte signature, then the chunk's 4-byte length. */
const PNG_FIRST_CHUNK_TYPE_OFFSET = 12;
const ZIP_LOCAL_FILE_HEADER = bytesOf('PK\x03\x04');
const ZIP_END_OF_CENTRAL_DIRECTORY = bytesOf('PK\x05\x06');
/** GB/T 33190: the package's entry point is this file at the archive root. */
const OFD_ROOT_ENTRY_NAME = bytesOf('OFD.xml');
const GIF87_MAGIC = bytesOf('GIF87a');
const GIF89_MAGIC = bytesOf('GIF89a');
const RIFF_MAGIC = bytesOf('RIFF');
const WEBP_FORM_TYPE = bytesOf('WEBP');
const TIFF_LITTLE_ENDIAN = Uint8Array.of(0x49, 0x49, 0x2a, 0x00);
const TIFF_BIG_ENDIAN = Uint8Array.of(0x4d, 0x4d, 0x00, 0x2a);
const BIGTIFF_LITTLE_ENDIAN = Uint8Array.of(0x49, 0x49, 0x2b, 0x00);
const BIGTIFF_BIG_ENDIAN = Uint8Array.of(0x4d, 0x4d, 0x00, 0x2b);
const WINDOWS_EXECUTABLE_MAGIC = bytesOf('MZ');
const ELF_MAGIC = Uint8Array.of(0x7f, 0x45, 0x4c, 0x46);
const UTF8_BOM = Uint8Array.of(0xef, 0xbb, 0xbf);

function matchesAt(head: Uint8Array, offset: number, pattern: Uint8Array): boolean {
  if (offset < 0 || offset + pattern.length > head.length) return false;
  for (let index = 0; index < pattern.length; index += 1) {
    if (head[offset + index] !== pattern[index]) return false;
  }
  return true;
}

function indexOfPattern(head: Uint8Array, pattern: Uint8Array, from: number): number {
  for (let offset = Math.max(0, from); offset + pattern.length <= head.length; offset += 1) {
    if (matchesAt(head, offset, pattern)) return offset;
  }
  return -1;
}

function document(mediaType: DocumentMediaType): DetectedMediaType {
  return { mediaType, document: true };
}

function nonDocument(mediaType: string): DetectedMediaType {
  return { mediaType, document: false };
}

/**
 * Identifies `head`, the first bytes of an upload, or returns null when the bytes match nothing
 * we know. A truncated head is judged only on the bytes present: a prefix too short to hold a
 * full signature is unknown rather than guessed at.
 */
export function detectMediaType(head: Uint8Array): DetectedMediaType | null {
  // PDF readers accept `%PDF-` anywhere in the first 1024 bytes, but that slack is what
  // PDF/ZIP and PDF/HTML polyglots hide in; a document we store must be a PDF from byte 0.
  if (matchesAt(head, 0, PDF_MAGIC)) return document('application/pdf');
  if (matchesAt(head, 0, JPEG_MAGIC)) return document('image/jpeg');
  if (matchesAt(head, 0, PNG_SIGNATURE)) {
    // A PNG's first chunk must be IHDR; requiring it rejects a bare signature glued to other data.
    return matchesAt(head, PNG_FIRST_CHUNK_TYPE_OFFSET, PNG_FIRST_CHUNK_TYPE) ? document('image/png') : null;
  }
  if (matchesAt(head, 0, ZIP_LOCAL_FILE_HEADER)) {
    return zipHasRootOfdEntry(head) ? document('application/ofd') : nonDocument('application/zip');
  }
  if (matchesAt(head, 0, ZIP_END_OF_CENTRAL_DIRECTORY)) return nonDocument('application/zip');
  return detectNonDocument(head);
}

function detectNonDocument(head: Uint8Array): DetectedMediaType | null {
  if (matchesAt(head, 0, GIF87_MAGIC) || matchesAt(head, 0, GIF89_MAGIC)) {
    return nonDocument('image/gif');
  }
  if (matchesAt(head, 0, RIFF_MAGIC) && matchesAt(head, 8, WEBP_FORM_TYPE)) {
    return nonDocument('image/webp');
  }
  if (
    matchesAt(head, 0, TIFF_LITTLE_ENDIAN) ||
    matchesAt(head, 0, TIFF_BIG_ENDIAN) ||
    matchesAt(head, 0, BIGTIFF_LITTLE_ENDIAN) ||
    matchesAt(head, 0, BIGTIFF_BIG_ENDIAN)
  ) {
    return nonDocument('image/tiff');
  }
  if (matchesAt(head, 0, WINDOWS_EXECUTABLE_MAGIC)) return nonDocument('application/x-msdownload');
  if (matchesAt(head, 0, ELF_MAGIC)) return nonDocument('application/x-executable');
  return detectMarkup(head);
}

// ---------------------------------------------------------------------------------------------
// OFD: a ZIP archive with OFD.xml at its root.

/** Offsets within a ZIP local file header (APPNOTE.TXT §4.3.7); all fields little-endian. */
const LOCAL_HEADER_FLAGS_OFFSET = 6;
const LOCAL_HEADER_COMPRESSED_SIZE_OFFSET = 18;
const LOCAL_HEADER_NAME_LENGTH_OFFSET = 26;
const LOCAL_HEADER_EXTRA_LENGTH_OFFSET = 28;
const LOCAL_HEADER_FIXED_LENGTH = 30;
/** General-purpose flag bit 3: sizes are zero here and follow the data in a data descriptor. */
const FLAG_SIZES_IN_DATA_DESCRIPTOR = 0x0008;
/** A compressed size of 0xFFFFFFFF means the real size is in a ZIP64 extra field. */
const ZIP64_SIZE_MARKER = 0xffffffff;

interface LocalFileHeader {
  name: Uint8Array;
  flags: number;
  compressedSize: number;
  /** Where the entry's data starts: after the fixed part, the name and the extra field. */
  dataOffset: number;
}

/** The local file header at `offset`, or null when none starts there or its name is cut off. */
function readLocalFileHeader(head: Uint8Array, offset: number): LocalFileHeader | null {
  if (offset + LOCAL_HEADER_FIXED_LENGTH > head.length) return null;
  if (!matchesAt(head, offset, ZIP_LOCAL_FILE_HEADER)) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const nameLength = view.getUint16(offset + LOCAL_HEADER_NAME_LENGTH_OFFSET, true);
  const extraLength = view.getUint16(offset + LOCAL_HEADER_EXTRA_LENGTH_OFFSET, true);
  const nameStart = offset + LOCAL_HEADER_FIXED_LENGTH;
  const nameEnd = nameStart + nameLength;
  if (nameEnd > head.length) return null;
  return {
    name: head.subarray(nameStart, nameEnd),
    flags: view.getUint16(offset + LOCAL_HEADER_FLAGS_OFFSET, true),
    compressedSize: view.getUint32(offset + LOCAL_HEADER_COMPRESSED_SIZE_OFFSET, true),
    dataOffset: nameEnd + extraLength,
  };
}

function isRootOfdEntry(header: LocalFileHeader): boolean {
  // Exact comparison: `Doc_0/OFD.xml` or `ofd.xml` is not the package entry point.
  return header.name.length === OFD_ROOT_ENTRY_NAME.length && matchesAt(header.name, 0, OFD_ROOT_ENTRY_NAME);
}

/**
 * Whether a ZIP archive (starting at byte 0 of `head`) has an `OFD.xml` entry among the local
 * headers that lie within `head`. The headers are walked from the start using each entry's
 * compressed size; that is exact, and does not mistake bytes inside compressed data for a header.
 * When the walk cannot skip an entry (its size is only known after its data, or is in a ZIP64
 * field) the rest of the head is searched for local header signatures instead.
 */
function zipHasRootOfdEntry(head: Uint8Array): boolean {
  let offset = 0;
  for (;;) {
    const header = readLocalFileHeader(head, offset);
    if (header === null) {
      // The next header is past (or cut off by) the end of the head, or the walk reached the
      // central directory: every entry that starts within the head has been seen.
      return false;
    }
    if (isRootOfdEntry(header)) return true;
    const sizeUnknown =
      (header.flags & FLAG_SIZES_IN_DATA_DESCRIPTOR) !== 0 || header.compressedSize === ZIP64_SIZE_MARKER;
    if (sizeUnknown) return searchForRootOfdEntry(head, header.dataOffset);
    offset = header.dataOffset + header.compressedSize;
  }
}

/** Fallback: any `PK\x03\x04` from `from` on that begins a local header named `OFD.xml`. */
function searchForRootOfdEntry(head: Uint8Array, from: number): boolean {
  for (
    let offset = indexOfPattern(head, ZIP_LOCAL_FILE_HEADER, from);
    offset !== -1;
    offset = indexOfPattern(head, ZIP_LOCAL_FILE_HEADER, offset + 1)
  ) {
    const header = readLocalFileHeader(head, offset);
    if (header !== null && isRootOfdEntry(header)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Markup, named only so that a rejection can say "you sent HTML".

const MARKUP_WHITESPACE: ReadonlySet<number> = new Set([0x09, 0x0a, 0x0c, 0x0d, 0x20]);
/** A tag name ends at whitespace or `>`; without this check `<htmlx` would count as HTML. */
const TAG_NAME_TERMINATORS: ReadonlySet<number> = new Set([...MARKUP_WHITESPACE, 0x3e]);

/** Where the text starts after an optional UTF-8 byte order mark and leading whitespace. */
function markupStart(head: Uint8Array): number {
  let offset = matchesAt(head, 0, UTF8_BOM) ? UTF8_BOM.length : 0;
  while (offset < head.length && MARKUP_WHITESPACE.has(head[offset] ?? -1)) offset += 1;
  return offset;
}

/**
 * Whether the ASCII `pattern` (lower-case) is at `offset`, compared case-insensitively unless
 * `caseSensitive`, and followed by one of `terminators`.
 */
function matchesWordAt(
  head: Uint8Array,
  offset: number,
  pattern: string,
  terminators: ReadonlySet<number>,
  caseSensitive: boolean,
): boolean {
  if (offset + pattern.length >= head.length) return false;
  for (let index = 0; index < pattern.length; index += 1) {
    const actual = head[offset + index] ?? -1;
    const expected = pattern.charCodeAt(index);
    const folded = !caseSensitive && actual >= 0x41 && actual <= 0x5a ? actual + 0x20 : actual;
    if (folded !== expected) return false;
  }
  return terminators.has(head[offset + pattern.length] ?? -1);
}

function detectMarkup(head: Uint8Array): DetectedMediaType | null {
  const start = markupStart(head);
  if (
    matchesWordAt(head, start, '<!doctype html', TAG_NAME_TERMINATORS, false) ||
    matchesWordAt(head, start, '<html', TAG_NAME_TERMINATORS, false)
  ) {
    return nonDocument('text/html');
  }
  // The XML declaration is lower-case by the XML grammar, and `<?xml-stylesheet` is a different
  // processing instruction, hence the whitespace terminator.
  if (matchesWordAt(head, start, '<?xml', MARKUP_WHITESPACE, true)) return nonDocument('application/xml');
  return null;
}

// ---------------------------------------------------------------------------------------------
// The declared Content-Type.

/** RFC 9110 §5.6.2 token characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The `type/subtype` of a Content-Type field value, lower-cased (media types are
 * case-insensitive) and without parameters, or undefined when the value is absent, empty or not
 * a media type. Only meant for comparison with the sniffed type, so parameters are not validated.
 */
export function normaliseDeclaredMediaType(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const semicolon = header.indexOf(';');
  const essence = (semicolon === -1 ? header : header.slice(0, semicolon)).replace(/^[ \t]+|[ \t]+$/g, '');
  const slash = essence.indexOf('/');
  if (slash === -1) return undefined;
  const type = essence.slice(0, slash);
  const subtype = essence.slice(slash + 1);
  if (!TOKEN.test(type) || !TOKEN.test(subtype)) return undefined;
  return `${type.toLowerCase()}/${subtype.toLowerCase()}`;
}
