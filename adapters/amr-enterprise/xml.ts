/**
 * Safe XML for SOAP messages, used by both the adapter (answers from the department) and the
 * simulator (requests from the gateway).
 *
 * Parsing: a document with a DTD (`<!DOCTYPE`) or an entity declaration (`<!ENTITY`) is refused
 * before the parser sees it, so neither entity expansion (billion laughs) nor external entities
 * (`file:///etc/passwd`) can happen; fast-xml-parser then runs with entity processing off and
 * nesting capped, and the five predefined entities and character references are decoded here by a
 * closed table. Size and element count are bounded.
 *
 * Building: `element(name, content)` escapes every text and attribute value; fragments are a
 * branded type so raw strings cannot slip into a document.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlLimits {
  /** Largest document in characters. */
  maxChars: number;
  /** Deepest element nesting. */
  maxDepth: number;
  /** Most elements in one document. */
  maxElements: number;
}

export const defaultXmlLimits: XmlLimits = { maxChars: 12 * 1024 * 1024, maxDepth: 32, maxElements: 10_000 };

export type XmlRefusalReason = 'too_large' | 'dtd' | 'syntax' | 'too_deep' | 'too_many_elements' | 'not_soap';

/** Why a document was refused. Messages never quote the document (it may hold personal data). */
export class XmlRefusal extends Error {
  override readonly name = 'XmlRefusal';
  constructor(
    readonly reason: XmlRefusalReason,
    message: string,
  ) {
    super(message);
  }
}

/** A parsed element: text (leaf), or child elements by local name (arrays where repeated). */
export type XmlValue = string | XmlObject | XmlValue[];
export interface XmlObject {
  [name: string]: XmlValue;
}

const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function isXmlCharacter(codePoint: number): boolean {
  return (
    codePoint === 0x9 ||
    codePoint === 0xa ||
    codePoint === 0xd ||
    (codePoint >= 0x20 && codePoint <= 0xd7ff) ||
    (codePoint >= 0xe000 && codePoint <= 0xfffd) ||
    (codePoint >= 0x10000 && codePoint <= 0x10ffff)
  );
}

/** Decodes `&amp;`-style predefined entities and `&#…;` references; anything else is refused. */
export function decodeReferences(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&([^;&\s]{0,16});/g, (_whole, reference: string) => {
    const predefined = PREDEFINED_ENTITIES[reference];
    if (predefined !== undefined) return predefined;
    const numeric = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(reference);
    if (numeric) {
      const codePoint = numeric[1] !== undefined ? Number.parseInt(numeric[1], 16) : Number(numeric[2]);
      if (isXmlCharacter(codePoint)) return String.fromCodePoint(codePoint);
    }
    throw new XmlRefusal('syntax', 'the document uses an entity reference other than the predefined ones');
  });
}

function countAndCheck(value: XmlValue, depth: number, limits: XmlLimits, counter: { elements: number }): void {
  if (depth > limits.maxDepth) throw new XmlRefusal('too_deep', 'the document nests elements too deeply');
  if (typeof value === 'string') return;
  const children = Array.isArray(value) ? value : Object.values(value);
  for (const child of children) {
    if (!Array.isArray(child)) counter.elements += 1;
    if (counter.elements > limits.maxElements)
      throw new XmlRefusal('too_many_elements', 'the document has too many elements');
    countAndCheck(child, Array.isArray(child) ? depth : depth + 1, limits, counter);
  }
}

/**
 * Parses an XML document safely. Element names lose their namespace prefix (`soap:Body` → `Body`);
 * attributes are dropped (SOAP messages carry their data in elements); text stays text (no number
 * guessing: `0012` is a code, not 12). `repeated` names elements that are always arrays.
 */
export function parseXml(
  text: string,
  options: { limits?: XmlLimits; repeated?: ReadonlySet<string> } = {},
): XmlObject {
  const limits = options.limits ?? defaultXmlLimits;
  if (text.length > limits.maxChars) throw new XmlRefusal('too_large', 'the document is larger than allowed');
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) {
    throw new XmlRefusal('dtd', 'the document declares a DTD or entities, which are not accepted');
  }
  const validation = XMLValidator.validate(text);
  if (validation !== true) throw new XmlRefusal('syntax', 'the document is not well-formed XML');
  const repeated = options.repeated ?? new Set<string>();
  const parser = new XMLParser({
    ignoreAttributes: true,
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    processEntities: false,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    trimValues: true,
    maxNestedTags: limits.maxDepth,
    isArray: (name) => repeated.has(name),
    tagValueProcessor: (_name, value) => decodeReferences(value),
  });
  let parsed: unknown;
  try {
    parsed = parser.parse(text);
  } catch (error) {
    if (error instanceof XmlRefusal) throw error;
    throw new XmlRefusal('syntax', 'the document could not be parsed as XML');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new XmlRefusal('syntax', 'the document has no root element');
  const root = parsed as XmlObject;
  countAndCheck(root, 0, limits, { elements: 0 });
  return root;
}

export interface SoapMessage {
  /** The `soap:Header` content, if any. */
  header: XmlObject | undefined;
  /** The `soap:Body` content: one child element (the operation's request, response or a Fault). */
  body: XmlObject;
}

/** Parses a SOAP 1.1 envelope and returns its header and body content. */
export function parseSoapEnvelope(
  text: string,
  options: { limits?: XmlLimits; repeated?: ReadonlySet<string> } = {},
): SoapMessage {
  const root = parseXml(text, options);
  const envelope = root['Envelope'];
  if (
    Object.keys(root).length !== 1 ||
    envelope === undefined ||
    typeof envelope !== 'object' ||
    Array.isArray(envelope)
  ) {
    throw new XmlRefusal('not_soap', 'the document is not a SOAP envelope');
  }
  const body = envelope['Body'];
  if (body === undefined || typeof body !== 'object' || Array.isArray(body))
    throw new XmlRefusal('not_soap', 'the SOAP envelope has no Body');
  const header = envelope['Header'];
  return {
    header: header !== undefined && typeof header === 'object' && !Array.isArray(header) ? header : undefined,
    body,
  };
}

// ---------------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------------

declare const fragmentBrand: unique symbol;
/** Well-formed, escaped XML. Only `element`, `fragments` and `rawTrusted` make one. */
export type XmlFragment = string & { readonly [fragmentBrand]: true };

function checkCharacters(value: string): string {
  for (const char of value) {
    if (!isXmlCharacter(char.codePointAt(0) ?? 0)) throw new RangeError('text contains a character XML cannot carry');
  }
  return value;
}

export function escapeText(value: string): string {
  return checkCharacters(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttribute(value: string): string {
  return escapeText(value).replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9._-]*(?::[A-Za-z_][A-Za-z0-9._-]*)?$/;

/**
 * One element. `content` is text (escaped here), child fragments, or undefined/null for an
 * element that is left out entirely (optional fields).
 */
export function element(
  name: string,
  content: string | readonly XmlFragment[] | undefined | null,
  attributes: Readonly<Record<string, string>> = {},
): XmlFragment {
  if (content === undefined || content === null) return '' as XmlFragment;
  if (!NAME_PATTERN.test(name)) throw new RangeError('invalid XML element name');
  let open = name;
  for (const [attribute, value] of Object.entries(attributes)) {
    if (!NAME_PATTERN.test(attribute)) throw new RangeError('invalid XML attribute name');
    open += ` ${attribute}="${escapeAttribute(value)}"`;
  }
  const inner = typeof content === 'string' ? escapeText(content) : content.join('');
  return `<${open}>${inner}</${name}>` as XmlFragment;
}

/** Joins fragments. */
export function fragments(parts: readonly XmlFragment[]): XmlFragment {
  return parts.join('') as XmlFragment;
}

/** The XML declaration plus a root fragment. */
export function xmlDocument(root: XmlFragment, charset: string): string {
  return `<?xml version="1.0" encoding="${escapeAttribute(charset)}"?>${root}`;
}
