/**
 * The seal's appearance on a PDF result: a red round seal (ring, star and the seal's name along the
 * upper arc, drawn as PDF vector graphics) stamped at the bottom right of the last page, added as
 * a PDF incremental update (ISO 32000-1 §7.5.6). The original file is left byte for byte as the
 * first part of the new one, so whatever the department signed inside it stays intact and its
 * original can be cut back out at the first `%%EOF` the new part follows.
 *
 * The stamp is a Stamp annotation (printable, locked) with its own appearance stream: the page's
 * content and resources are not touched, only its /Annots gains one entry. The update is written
 * with a classic cross-reference table, so a file whose last cross-reference section is a stream
 * (PDF 1.5 object streams), an encrypted file, or one whose last page cannot be found this way is
 * not changed: `undefined`, and the result is sealed without an appearance (so is a hybrid file,
 * whose trailer points at a cross-reference stream too, and a page too small for the stamp). The
 * stamp is placed in the page's unrotated coordinates (a /Rotate page shows it turned with the
 * page). Deterministic: the same PDF and seal name give the same bytes.
 */

const WHITESPACE = new Set([0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]);
const DELIMITERS = new Set('()<>[]{}/%'.split('').map((char) => char.charCodeAt(0)));

export type PdfValue =
  | { kind: 'dict'; entries: Map<string, { value: PdfValue; raw: string }> }
  | { kind: 'array'; items: PdfValue[]; raw: string }
  | { kind: 'ref'; num: number; gen: number }
  | { kind: 'name'; name: string }
  | { kind: 'number'; value: number }
  | { kind: 'other' };

class PdfSyntaxError extends Error {
  override name = 'PdfSyntaxError';
}

/** A reader of PDF objects (enough for dictionaries, arrays and references) over the file's text. */
class PdfReader {
  constructor(
    readonly text: string,
    public pos = 0,
  ) {}

  private code(at = this.pos): number {
    return this.text.charCodeAt(at);
  }

  skipSpace(): void {
    while (this.pos < this.text.length) {
      const code = this.code();
      if (WHITESPACE.has(code)) this.pos++;
      else if (code === 0x25) {
        while (this.pos < this.text.length && this.code() !== 0x0a && this.code() !== 0x0d) this.pos++;
      } else break;
    }
  }

  private regularToken(): string {
    const start = this.pos;
    while (this.pos < this.text.length && !WHITESPACE.has(this.code()) && !DELIMITERS.has(this.code())) this.pos++;
    return this.text.slice(start, this.pos);
  }

  value(depth = 0): PdfValue {
    if (depth > 64) throw new PdfSyntaxError('nested too deeply');
    this.skipSpace();
    const start = this.pos;
    const char = this.text[this.pos];
    if (char === undefined) throw new PdfSyntaxError('unexpected end');
    if (this.text.startsWith('<<', this.pos)) {
      this.pos += 2;
      const entries = new Map<string, { value: PdfValue; raw: string }>();
      for (;;) {
        this.skipSpace();
        if (this.text.startsWith('>>', this.pos)) {
          this.pos += 2;
          return { kind: 'dict', entries };
        }
        const key = this.value(depth + 1);
        if (key.kind !== 'name') throw new PdfSyntaxError(`a dictionary key at ${this.pos} is not a name`);
        this.skipSpace();
        const valueStart = this.pos;
        const value = this.value(depth + 1);
        entries.set(key.name, { value, raw: this.text.slice(valueStart, this.pos) });
      }
    }
    if (char === '[') {
      this.pos++;
      const items: PdfValue[] = [];
      for (;;) {
        this.skipSpace();
        if (this.text[this.pos] === ']') {
          this.pos++;
          return { kind: 'array', items, raw: this.text.slice(start, this.pos) };
        }
        items.push(this.value(depth + 1));
      }
    }
    if (char === '<') {
      const end = this.text.indexOf('>', this.pos);
      if (end < 0) throw new PdfSyntaxError('unterminated hex string');
      this.pos = end + 1;
      return { kind: 'other' };
    }
    if (char === '(') {
      let nesting = 0;
      for (; this.pos < this.text.length; this.pos++) {
        const current = this.text[this.pos];
        if (current === '\\') this.pos++;
        else if (current === '(') nesting++;
        else if (current === ')' && --nesting === 0) {
          this.pos++;
          return { kind: 'other' };
        }
      }
      throw new PdfSyntaxError('unterminated string');
    }
    if (char === '/') {
      this.pos++;
      return { kind: 'name', name: this.regularToken() };
    }
    const token = this.regularToken();
    if (token === '') throw new PdfSyntaxError(`unexpected ${JSON.stringify(char)} at ${this.pos}`);
    if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(token)) {
      // "n g R" is a reference; look ahead without consuming anything else.
      if (/^\d+$/.test(token)) {
        const match = /^\s+(\d+)\s+R(?![^\s()<>[\]{}/%])/.exec(this.text.slice(this.pos, this.pos + 32));
        if (match) {
          this.pos += match[0].length;
          return { kind: 'ref', num: Number(token), gen: Number(match[1]) };
        }
      }
      return { kind: 'number', value: Number(token) };
    }
    return { kind: 'other' };
  }
}

interface XrefEntry {
  offset: number;
  gen: number;
}

interface PdfFile {
  text: string;
  offsets: Map<number, XrefEntry>;
  trailer: Map<string, { value: PdfValue; raw: string }>;
  startxref: number;
  /** Objects already read: a page tree whose nodes share (or are) one large object reads it once. */
  read: Map<number, { value: PdfValue; gen: number } | undefined>;
}

function dictOf(value: PdfValue | undefined): Map<string, { value: PdfValue; raw: string }> | undefined {
  return value?.kind === 'dict' ? value.entries : undefined;
}

/** The classic cross-reference sections from the last one back through /Prev; undefined when not classic. */
function readStructure(text: string): PdfFile | undefined {
  const marker = text.lastIndexOf('startxref');
  if (marker < 0) return undefined;
  const startxref = Number(/^startxref\s+(\d+)/.exec(text.slice(marker, marker + 40))?.[1]);
  if (!Number.isInteger(startxref)) return undefined;
  const offsets = new Map<number, XrefEntry>();
  let trailer: PdfFile['trailer'] | undefined;
  const seen = new Set<number>();
  for (let at: number | undefined = startxref; at !== undefined; ) {
    if (seen.has(at) || seen.size > 64 || !text.startsWith('xref', at)) return undefined;
    seen.add(at);
    const reader = new PdfReader(text, at + 4);
    for (;;) {
      reader.skipSpace();
      const header = /^(\d+)\s+(\d+)/.exec(text.slice(reader.pos, reader.pos + 40));
      if (!header) break;
      const [whole, first, count] = header;
      reader.pos += whole.length;
      for (let i = 0; i < Number(count); i++) {
        reader.skipSpace();
        const entry = /^(\d{10})\s(\d{5})\s([nf])/.exec(text.slice(reader.pos, reader.pos + 20));
        if (!entry) return undefined;
        reader.pos += entry[0].length;
        const num = Number(first) + i;
        if (entry[3] === 'n' && !offsets.has(num))
          offsets.set(num, { offset: Number(entry[1]), gen: Number(entry[2]) });
      }
    }
    reader.skipSpace();
    if (!text.startsWith('trailer', reader.pos)) return undefined;
    reader.pos += 'trailer'.length;
    const dict = dictOf(reader.value());
    // A hybrid file keeps some objects in a cross-reference stream only: not followed here.
    if (!dict || dict.has('XRefStm')) return undefined;
    trailer ??= dict;
    const prev = dict.get('Prev')?.value;
    at = prev?.kind === 'number' ? prev.value : undefined;
  }
  return trailer ? { text, offsets, trailer, startxref, read: new Map() } : undefined;
}

/** The object `num` (its value and its generation), read at its offset. */
function objectAt(file: PdfFile, num: number): { value: PdfValue; gen: number } | undefined {
  if (file.read.has(num)) return file.read.get(num);
  const entry = file.offsets.get(num);
  const header =
    entry && new RegExp(`^${num}\\s+${entry.gen}\\s+obj`).exec(file.text.slice(entry.offset, entry.offset + 40));
  const object =
    entry && header
      ? { value: new PdfReader(file.text, entry.offset + header[0].length).value(), gen: entry.gen }
      : undefined;
  file.read.set(num, object);
  return object;
}

function resolve(file: PdfFile, value: PdfValue | undefined): PdfValue | undefined {
  return value?.kind === 'ref' ? objectAt(file, value.num)?.value : value;
}

/** The last leaf of the page tree (a page), with its object number and generation. */
function lastPage(
  file: PdfFile,
): { num: number; gen: number; dict: NonNullable<ReturnType<typeof dictOf>> } | undefined {
  const root = dictOf(resolve(file, file.trailer.get('Root')?.value));
  let node = root?.get('Pages')?.value;
  const visited = new Set<number>();
  for (let depth = 0; depth < 32 && node?.kind === 'ref'; depth++) {
    // A page tree with a cycle has no last page.
    if (visited.has(node.num)) return undefined;
    visited.add(node.num);
    const object = objectAt(file, node.num);
    const dict = dictOf(object?.value);
    if (!object || !dict) return undefined;
    const kids = resolve(file, dict.get('Kids')?.value);
    const type = dict.get('Type')?.value;
    if (type?.kind === 'name' && type.name === 'Page') return { num: node.num, gen: object.gen, dict };
    if (kids?.kind !== 'array') return undefined;
    node = kids.items[kids.items.length - 1];
  }
  return undefined;
}

/** The page's MediaBox, inherited from its parents when it has none; A4 when none is readable. */
function mediaBoxOf(file: PdfFile, page: NonNullable<ReturnType<typeof dictOf>>): [number, number, number, number] {
  let dict: ReturnType<typeof dictOf> = page;
  for (let depth = 0; dict && depth < 32; depth++) {
    const box = resolve(file, dict.get('MediaBox')?.value);
    if (
      box?.kind === 'array' &&
      box.items.length === 4 &&
      box.items.every((item) => item.kind === 'number' && Number.isFinite(item.value))
    ) {
      const [x1, y1, x2, y2] = box.items.map((item) => (item as { value: number }).value) as [
        number,
        number,
        number,
        number,
      ];
      return [Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)];
    }
    dict = dictOf(resolve(file, dict.get('Parent')?.value));
  }
  return [0, 0, 595.28, 841.89];
}

const round = (value: number) => Number(value.toFixed(2)).toString();

function circle(cx: number, cy: number, r: number): string {
  // Four Bézier quarter arcs; k = 4(√2 − 1)/3.
  const k = 0.5523 * r;
  return [
    `${round(cx + r)} ${round(cy)} m`,
    `${round(cx + r)} ${round(cy + k)} ${round(cx + k)} ${round(cy + r)} ${round(cx)} ${round(cy + r)} c`,
    `${round(cx - k)} ${round(cy + r)} ${round(cx - r)} ${round(cy + k)} ${round(cx - r)} ${round(cy)} c`,
    `${round(cx - r)} ${round(cy - k)} ${round(cx - k)} ${round(cy - r)} ${round(cx)} ${round(cy - r)} c`,
    `${round(cx + k)} ${round(cy - r)} ${round(cx + r)} ${round(cy - k)} ${round(cx + r)} ${round(cy)} c h`,
  ].join('\n');
}

function hexUcs2(char: string): string {
  const code = char.codePointAt(0) ?? 0x3f;
  return `<${(code > 0xffff ? 0x3f : code).toString(16).padStart(4, '0').toUpperCase()}>`;
}

/** The seal drawn in a size×size box: ring, star, and the name along the upper arc. */
export function sealDrawing(size: number, name: string): string {
  const c = size / 2;
  const outer = size * 0.48;
  const inner = size * 0.44;
  const star = Array.from({ length: 10 }, (_, i) => {
    const radius = i % 2 === 0 ? size * 0.17 : size * 0.17 * 0.382;
    const angle = Math.PI / 2 + (i * Math.PI) / 5;
    return `${round(c + radius * Math.cos(angle))} ${round(c + radius * Math.sin(angle))} ${i === 0 ? 'm' : 'l'}`;
  });
  const chars = [...name];
  const fontSize = Math.min(size * 0.12, (Math.PI * inner * 1.3) / Math.max(chars.length, 1));
  const textRadius = inner - fontSize * 1.1;
  const span = (Math.min(240, 16 * chars.length) * Math.PI) / 180;
  const text = chars.map((char, index) => {
    const theta = Math.PI / 2 + span / 2 - (chars.length > 1 ? (index * span) / (chars.length - 1) : span / 2);
    const phi = theta - Math.PI / 2;
    const [cos, sin] = [Math.cos(phi), Math.sin(phi)];
    const x = c + textRadius * Math.cos(theta) - (fontSize / 2) * cos;
    const y = c + textRadius * Math.sin(theta) - (fontSize / 2) * sin;
    return `${round(cos)} ${round(sin)} ${round(-sin)} ${round(cos)} ${round(x)} ${round(y)} Tm ${hexUcs2(char)} Tj`;
  });
  return [
    'q 0.843 0.102 0.129 rg',
    circle(c, c, outer),
    circle(c, c, inner),
    'f*',
    ...star,
    'h f',
    chars.length > 0 ? `BT /F0 ${round(fontSize)} Tf\n${text.join('\n')}\nET` : '',
    'Q',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

/** 40 mm in PDF points (1/72 in). */
const SEAL_SIZE_PT = (40 / 25.4) * 72;
const MARGIN_PT = 56;

/**
 * `pdf` with the seal's appearance on its last page, as an incremental update; undefined when the
 * file is not one this can update safely (see the module comment).
 */
export function addSealAppearance(pdf: Uint8Array, sealName: string): Buffer | undefined {
  const original = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength);
  const text = original.toString('latin1');
  let file: PdfFile | undefined;
  let page: ReturnType<typeof lastPage>;
  try {
    file = readStructure(text);
    if (!file || file.trailer.has('Encrypt')) return undefined;
    page = lastPage(file);
  } catch (error) {
    if (error instanceof PdfSyntaxError) return undefined;
    throw error;
  }
  const size = file.trailer.get('Size')?.value;
  const root = file.trailer.get('Root')?.value;
  // The new objects are numbered from /Size on: it must be a plain object number for them to be.
  if (!page || size?.kind !== 'number' || !Number.isSafeInteger(size.value) || size.value < 1 || root?.kind !== 'ref')
    return undefined;

  const [x1, y1, x2] = mediaBoxOf(file, page.dict);
  const rect = [x2 - MARGIN_PT - SEAL_SIZE_PT, y1 + MARGIN_PT, x2 - MARGIN_PT, y1 + MARGIN_PT + SEAL_SIZE_PT];
  const [, , , top] = mediaBoxOf(file, page.dict);
  if ((rect[0] as number) < x1 || (rect[3] as number) > top) return undefined;
  const [annotation, form, font, cidFont, descriptor] = [0, 1, 2, 3, 4].map((i) => size.value + i) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const drawing = Buffer.from(sealDrawing(SEAL_SIZE_PT, sealName), 'latin1');

  const updated = new Map<number, { gen: number; body: Buffer }>();
  const annots = page.dict.get('Annots');
  let annotsRaw = `[${annotation} 0 R]`;
  if (annots?.value.kind === 'array')
    annotsRaw = `${annots.raw.slice(0, annots.raw.lastIndexOf(']'))} ${annotation} 0 R]`;
  else if (annots?.value.kind === 'ref') {
    const list = objectAt(file, annots.value.num);
    if (list?.value.kind !== 'array') return undefined;
    const raw = list.value.raw;
    updated.set(annots.value.num, {
      gen: list.gen,
      body: Buffer.from(`${raw.slice(0, raw.lastIndexOf(']'))} ${annotation} 0 R]`, 'latin1'),
    });
    annotsRaw = annots.raw;
  } else if (annots) return undefined;
  const entries = [...page.dict.entries()]
    .filter(([key]) => key !== 'Annots')
    .map(([key, { raw }]) => `/${key} ${raw}`);
  updated.set(page.num, {
    gen: page.gen,
    body: Buffer.from(`<< ${entries.join(' ')} /Annots ${annotsRaw} >>`, 'latin1'),
  });
  const nameHex = [...sealName].map((char) => hexUcs2(char).slice(1, -1)).join('');
  updated.set(annotation, {
    gen: 0,
    body: Buffer.from(
      `<< /Type /Annot /Subtype /Stamp /Rect [${rect.map(round).join(' ')}] /F 132 /NM (onewindow-seal) /Contents <FEFF${nameHex}> /P ${page.num} ${page.gen} R /AP << /N ${form} 0 R >> >>`,
      'latin1',
    ),
  });
  updated.set(form, {
    gen: 0,
    body: Buffer.concat([
      Buffer.from(
        `<< /Type /XObject /Subtype /Form /BBox [0 0 ${round(SEAL_SIZE_PT)} ${round(SEAL_SIZE_PT)}] /Resources << /Font << /F0 ${font} 0 R >> >> /Length ${drawing.byteLength} >>\nstream\n`,
        'latin1',
      ),
      drawing,
      Buffer.from('\nendstream', 'latin1'),
    ]),
  });
  // The standard Chinese font every reader with Chinese support has (not embedded), as in the licences.
  updated.set(font, {
    gen: 0,
    body: Buffer.from(
      `<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [${cidFont} 0 R] >>`,
      'latin1',
    ),
  });
  updated.set(cidFont, {
    gen: 0,
    body: Buffer.from(
      `<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor ${descriptor} 0 R /DW 1000 >>`,
      'latin1',
    ),
  });
  updated.set(descriptor, {
    gen: 0,
    body: Buffer.from(
      '<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>',
      'latin1',
    ),
  });

  const parts: Buffer[] = [original];
  let offset = original.byteLength;
  if (!/[\r\n]$/.test(text)) {
    parts.push(Buffer.from('\n', 'latin1'));
    offset += 1;
  }
  const written: { num: number; gen: number; offset: number }[] = [];
  for (const num of [...updated.keys()].sort((a, b) => a - b)) {
    const { gen, body } = updated.get(num) as { gen: number; body: Buffer };
    const object = Buffer.concat([
      Buffer.from(`${num} ${gen} obj\n`, 'latin1'),
      body,
      Buffer.from('\nendobj\n', 'latin1'),
    ]);
    written.push({ num, gen, offset });
    parts.push(object);
    offset += object.byteLength;
  }
  // Subsections of consecutive object numbers.
  const sections: string[] = ['xref\n'];
  for (let i = 0; i < written.length; ) {
    let j = i;
    while (
      j + 1 < written.length &&
      (written[j + 1] as { num: number }).num === (written[j] as { num: number }).num + 1
    )
      j++;
    sections.push(`${(written[i] as { num: number }).num} ${j - i + 1}\n`);
    for (const entry of written.slice(i, j + 1))
      sections.push(`${String(entry.offset).padStart(10, '0')} ${String(entry.gen).padStart(5, '0')} n \n`);
    i = j + 1;
  }
  const carried = ['Info', 'ID']
    .map((key) => [key, file.trailer.get(key)?.raw] as const)
    .filter((entry): entry is readonly [string, string] => entry[1] !== undefined)
    .map(([key, raw]) => ` /${key} ${raw}`)
    .join('');
  sections.push(
    `trailer\n<< /Size ${descriptor + 1} /Root ${root.num} ${root.gen} R /Prev ${file.startxref}${carried} >>\nstartxref\n${offset}\n%%EOF\n`,
  );
  parts.push(Buffer.from(sections.join(''), 'latin1'));
  return Buffer.concat(parts);
}

/** For tests: the structure an updated file presents (last page's annotations, every object's offset). */
export function inspectPdf(
  pdf: Uint8Array,
): { objects: number; lastPageAnnots: number; sizeEntry: number } | undefined {
  const file = readStructure(Buffer.from(pdf).toString('latin1'));
  if (!file) return undefined;
  for (const num of file.offsets.keys()) if (!objectAt(file, num)) return undefined;
  const page = lastPage(file);
  const annots = resolve(file, page?.dict.get('Annots')?.value);
  const size = file.trailer.get('Size')?.value;
  return {
    objects: file.offsets.size,
    lastPageAnnots: annots?.kind === 'array' ? annots.items.length : 0,
    sizeEntry: size?.kind === 'number' ? size.value : 0,
  };
}
