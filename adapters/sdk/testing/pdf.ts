/**
 * A tiny, deterministic PDF generator for department simulators: one A4 page with a title and
 * lines of text. The result is a valid PDF 1.7 (header, catalogue, page tree, page, content stream,
 * fonts, cross-reference table with exact byte offsets, trailer, `%%EOF`), about 1-2 KB.
 *
 * Text handling, so no font program has to be embedded:
 *  - a line of printable ASCII is written as a literal string `( … )` in Helvetica (a standard-14
 *    font every reader has), with `\`, `(` and `)` escaped;
 *  - any other line is written as a hex string of UTF-16BE code units in the Adobe CJK font
 *    STSong-Light with the predefined `UniGB-UTF16-H` CMap (readers with Chinese support have it;
 *    characters outside Adobe-GB1 show as blanks, which is fine for test documents).
 *
 * Deterministic: no dates, ids or random parts of its own, so the same title and lines always give
 * the same bytes (the gateway's content store deduplicates by digest).
 */

export interface MinimalPdfInput {
  /** Drawn larger at the top of the page. */
  title: string;
  /** One text line each, top to bottom; lines past the bottom of the page are dropped. */
  lines: readonly string[];
}

const PAGE_WIDTH = 595;
const PAGE_HEIGHT = 842;
const LEFT_MARGIN = 72;
const TITLE_SIZE = 20;
const LINE_SIZE = 11;
const LINE_GAP = 22;
const BOTTOM_MARGIN = 60;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** A PDF literal string for printable ASCII text. */
function literalString(text: string): string {
  return `(${text.replace(/[\\()]/g, (char) => `\\${char}`)})`;
}

/** A PDF hex string of the UTF-16BE code units of `text` (surrogate pairs included). */
function utf16HexString(text: string): string {
  let hex = '';
  for (let index = 0; index < text.length; index++)
    hex += text.charCodeAt(index).toString(16).padStart(4, '0').toUpperCase();
  return `<${hex}>`;
}

/** One text-showing operation, choosing the font by the line's characters. */
function showText(text: string, size: number, x: number, y: number): string {
  return PRINTABLE_ASCII.test(text)
    ? `BT /F1 ${size} Tf ${x} ${y} Td ${literalString(text)} Tj ET`
    : `BT /F2 ${size} Tf ${x} ${y} Td ${utf16HexString(text)} Tj ET`;
}

function pageContent(input: MinimalPdfInput): string {
  const operations = [showText(input.title, TITLE_SIZE, LEFT_MARGIN, PAGE_HEIGHT - 90)];
  let y = PAGE_HEIGHT - 90 - 44;
  for (const line of input.lines) {
    if (y < BOTTOM_MARGIN) break;
    operations.push(showText(line, LINE_SIZE, LEFT_MARGIN, y));
    y -= LINE_GAP;
  }
  return operations.join('\n');
}

/** Numbers the objects from 1 and writes the cross-reference table with their exact offsets. */
function assemble(objects: readonly Buffer[]): Buffer {
  // The second line's high bytes tell transfer tools the file is binary (PDF 32000-1, 7.5.2).
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xE2\xE3\xCF\xD3\n', 'latin1')];
  let offset = parts[0]!.byteLength;
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    const wrapped = Buffer.concat([
      Buffer.from(`${index + 1} 0 obj\n`, 'latin1'),
      object,
      Buffer.from('\nendobj\n', 'latin1'),
    ]);
    offsets.push(offset);
    offset += wrapped.byteLength;
    parts.push(wrapped);
  });
  // Each xref entry is exactly 20 bytes, ending in space + LF.
  const xref = [
    `xref\n0 ${objects.length + 1}\n`,
    '0000000000 65535 f \n',
    ...offsets.map((at) => `${String(at).padStart(10, '0')} 00000 n \n`),
  ].join('');
  parts.push(
    Buffer.from(
      `${xref}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${offset}\n%%EOF\n`,
      'latin1',
    ),
  );
  return Buffer.concat(parts);
}

/** A one-page PDF showing `title` and `lines`; the same input always gives the same bytes. */
export function minimalPdf(input: MinimalPdfInput): Uint8Array {
  const content = Buffer.from(pageContent(input), 'latin1');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${PAGE_WIDTH} ${PAGE_HEIGHT}] /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> /Contents 4 0 R >>`,
    Buffer.concat([
      Buffer.from(`<< /Length ${content.byteLength} >>\nstream\n`, 'latin1'),
      content,
      Buffer.from('\nendstream', 'latin1'),
    ]),
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    '<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UTF16-H /DescendantFonts [7 0 R] >>',
    '<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor 8 0 R /DW 1000 >>',
    '<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>',
  ].map((object) => (typeof object === 'string' ? Buffer.from(object, 'latin1') : object));
  return new Uint8Array(assemble(objects));
}
