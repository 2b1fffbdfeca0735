/**
 * The electronic business licence the simulated registry hands out: a small, valid PDF 1.7 with
 * one A4 page listing the licence fields in Chinese. Text uses the standard Adobe CJK font
 * STSong-Light with the UniGB-UCS2-H CMap (not embedded; every PDF reader with Chinese support has
 * it), written as UTF-16BE hex strings, so no font program is needed and the file stays ~2 KB.
 *
 * Deterministic: the same licence gives the same bytes (no dates or ids of its own), so the
 * gateway's content store keeps one copy however often it is fetched.
 */
import type { LicenceRecord } from './protocol.js';

function hexUcs2(text: string): string {
  let hex = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0x3f;
    // UCS-2 covers the Basic Multilingual Plane only; anything beyond shows as '?'.
    hex += (code > 0xffff ? 0x3f : code).toString(16).padStart(4, '0').toUpperCase();
  }
  return `<${hex}>`;
}

function displayDate(yyyymmdd: string): string {
  return /^\d{8}$/.test(yyyymmdd)
    ? `${yyyymmdd.slice(0, 4)}年${yyyymmdd.slice(4, 6)}月${yyyymmdd.slice(6, 8)}日`
    : yyyymmdd;
}

/** The page's lines: title, then label and value pairs. */
function licenceLines(record: LicenceRecord): { text: string; size: number }[] {
  const term =
    record.yyqxz === '长期'
      ? `${displayDate(record.clrq)} 至 长期`
      : `${displayDate(record.clrq)} 至 ${displayDate(record.yyqxz)}`;
  return [
    { text: '营业执照（电子）', size: 22 },
    { text: `统一社会信用代码：${record.tyshxydm}`, size: 11 },
    { text: `名称：${record.qymc}`, size: 11 },
    { text: `类型：${record.qylx}`, size: 11 },
    { text: `法定代表人：${record.fddbr}`, size: 11 },
    { text: `注册资本：${record.zczb}`, size: 11 },
    { text: `成立日期：${displayDate(record.clrq)}`, size: 11 },
    { text: `营业期限：${term}`, size: 11 },
    { text: `住所：${record.zs}`, size: 11 },
    { text: `登记状态：${record.djzt}`, size: 11 },
    { text: `登记机关：${record.djjg}`, size: 11 },
    { text: `发照日期：${displayDate(record.fzrq)}`, size: 11 },
  ];
}

/** Assembles numbered objects into a PDF with a correct cross-reference table. */
function assemblePdf(objects: readonly Buffer[]): Uint8Array {
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xE2\xE3\xCF\xD3\n', 'latin1')];
  let offset = parts[0]?.byteLength ?? 0;
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
  return new Uint8Array(Buffer.concat(parts));
}

export function licenceDocument(record: LicenceRecord): Uint8Array {
  let y = 780;
  const content = licenceLines(record)
    .map(({ text, size }, index) => {
      y -= index === 0 ? 0 : index === 1 ? 48 : 26;
      return `BT /F1 ${size} Tf ${index === 0 ? 200 : 72} ${y} Td ${hexUcs2(text)} Tj ET`;
    })
    .join('\n');
  const stream = Buffer.from(content, 'latin1');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
    null,
    '<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [6 0 R] >>',
    '<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor 7 0 R /DW 1000 >>',
    '<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>',
  ].map((object) =>
    object === null
      ? Buffer.concat([
          Buffer.from(`<< /Length ${stream.byteLength} >>\nstream\n`, 'latin1'),
          stream,
          Buffer.from('\nendstream', 'latin1'),
        ])
      : Buffer.from(object, 'latin1'),
  );
  return assemblePdf(objects);
}
