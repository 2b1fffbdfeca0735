import { describe, expect, it } from 'vitest';
import { parseCreditCode } from '../../gateway/identity/identifiers.js';
import { CharsetError, decodeMessage, declaredCharset, encodeMessage } from './charset.js';
import { licenceDocument } from './licence-document.js';
import { repeatedElements, soapDocument, soapFault } from './protocol.js';
import { seededEnterprises, unknownCreditCode } from './seed.js';
import { element, parseSoapEnvelope, parseXml, XmlRefusal } from './xml.js';

const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a>&lol3;</a></soap:Body></soap:Envelope>`;

const externalEntity = `<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a>&xxe;</a></soap:Body></soap:Envelope>`;

function refusal(action: () => unknown): XmlRefusal {
  try {
    action();
  } catch (error) {
    if (error instanceof XmlRefusal) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('safe XML', () => {
  it('refuses a billion-laughs document before parsing', () => {
    expect(refusal(() => parseXml(billionLaughs)).reason).toBe('dtd');
  });

  it('refuses an external entity', () => {
    const error = refusal(() => parseXml(externalEntity));
    expect(error.reason).toBe('dtd');
    expect(error.message).not.toContain('passwd');
  });

  it('refuses an undeclared entity reference instead of passing it through', () => {
    expect(refusal(() => parseXml('<a>&xxe;</a>')).reason).toBe('syntax');
  });

  it('decodes predefined entities and character references exactly once', () => {
    const parsed = parseXml('<a><b>R&amp;D &lt;x&gt; &#20013;&#x56FD; &amp;lt;</b></a>');
    expect(parsed).toEqual({ a: { b: 'R&D <x> 中国 &lt;' } });
  });

  it('refuses documents nested too deeply, too large or with too many elements', () => {
    const deep = `${'<a>'.repeat(40)}x${'</a>'.repeat(40)}`;
    expect(
      refusal(() => parseXml(deep, { limits: { maxChars: 10_000, maxDepth: 32, maxElements: 100 } })).reason,
    ).toMatch(/too_deep|syntax/);
    expect(
      refusal(() => parseXml('<a>xxxxxxxxxx</a>', { limits: { maxChars: 5, maxDepth: 8, maxElements: 8 } })).reason,
    ).toBe('too_large');
    const wide = `<a>${'<b>1</b>'.repeat(50)}</a>`;
    expect(refusal(() => parseXml(wide, { limits: { maxChars: 10_000, maxDepth: 8, maxElements: 20 } })).reason).toBe(
      'too_many_elements',
    );
  });

  it('refuses XML that is not well-formed or not a SOAP envelope', () => {
    expect(refusal(() => parseXml('<a><b></a>')).reason).toBe('syntax');
    expect(refusal(() => parseSoapEnvelope('<a>1</a>')).reason).toBe('not_soap');
  });

  it('keeps codes as text and lists repeated elements as arrays', () => {
    const document = soapDocument(
      element('amr:X', [
        element('amr:blzt', '01'),
        element('amr:clxx', [element('amr:cl', [element('amr:dx', '0012')])]),
      ]),
      'UTF-8',
    );
    const message = parseSoapEnvelope(document, { repeated: repeatedElements });
    expect(message.body).toEqual({ X: { blzt: '01', clxx: { cl: [{ dx: '0012' }] } } });
  });

  it('escapes text and attributes when building', () => {
    const built = element('amr:n', 'A & B <c> "q"', { t: '"x" & <y>' });
    expect(built).toBe('<amr:n t="&quot;x&quot; &amp; &lt;y&gt;">A &amp; B &lt;c&gt; "q"</amr:n>');
    expect(parseXml(built)).toEqual({ n: 'A & B <c> "q"' });
    expect(() => element('amr:n', 'bell\u0007')).toThrow(RangeError);
    expect(() => element('a><b', 'x')).toThrow(RangeError);
  });

  it('builds a fault that parses back', () => {
    const message = parseSoapEnvelope(soapDocument(soapFault('Client', 'E404', '未查询到'), 'GBK'));
    expect(message.body).toEqual({
      Fault: { faultcode: 'soap:Client', faultstring: '未查询到', detail: { errorCode: 'E404' } },
    });
  });
});

describe('charsets', () => {
  const chinese = '<?xml version="1.0" encoding="GBK"?><a>杭州西湖云栖科技有限公司 阿依古丽·买买提 王喆</a>';

  it('round-trips Chinese through GBK', () => {
    const bytes = encodeMessage(chinese, 'GBK');
    expect(bytes.byteLength).toBeLessThan(Buffer.byteLength(chinese, 'utf8'));
    expect(decodeMessage('text/xml; charset=GBK', bytes).text).toBe(chinese);
  });

  it('takes the header charset first, then the XML declaration, else UTF-8', () => {
    const gbk = encodeMessage(chinese, 'GBK');
    expect(declaredCharset('text/xml; charset="gb2312"', gbk)).toBe('GB2312');
    expect(declaredCharset('text/xml', gbk)).toBe('GBK');
    expect(decodeMessage('text/xml', gbk).text).toBe(chinese);
    expect(declaredCharset(undefined, Buffer.from('<a/>'))).toBe('UTF-8');
  });

  it('refuses unknown charsets and invalid bytes', () => {
    expect(() => declaredCharset('text/xml; charset=EBCDIC-US', Buffer.from('<a/>'))).toThrow(CharsetError);
    expect(() => decodeMessage('text/xml; charset=UTF-8', Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0xfe]))).toThrow(
      CharsetError,
    );
    expect(() => decodeMessage('text/xml; charset=GBK', Buffer.from([0x3c, 0x61, 0x3e, 0x81]))).toThrow(CharsetError);
  });

  it('refuses to encode text the charset cannot carry', () => {
    expect(() => encodeMessage('<a>😀</a>', 'GBK')).toThrow(CharsetError);
  });
});

describe('seed data and licence documents', () => {
  it('seeds valid, distinct credit codes, one cancelled and one revoked, and an unknown valid code', () => {
    for (const enterprise of seededEnterprises) expect(parseCreditCode(enterprise.tyshxydm).ok).toBe(true);
    expect(new Set(seededEnterprises.map((enterprise) => enterprise.tyshxydm)).size).toBe(seededEnterprises.length);
    expect(seededEnterprises.map((enterprise) => enterprise.djzt)).toEqual(
      expect.arrayContaining(['存续', '注销', '吊销']),
    );
    expect(parseCreditCode(unknownCreditCode).ok).toBe(true);
    expect(seededEnterprises.some((enterprise) => enterprise.tyshxydm === unknownCreditCode)).toBe(false);
  });

  it('generates a deterministic one-page PDF 1.7 with a consistent xref', () => {
    const [first, second] = seededEnterprises;
    if (!first || !second) throw new Error('seed');
    const pdf = Buffer.from(licenceDocument(first));
    expect(Buffer.from(licenceDocument(first)).equals(pdf)).toBe(true);
    expect(Buffer.from(licenceDocument(second)).equals(pdf)).toBe(false);
    const textual = pdf.toString('latin1');
    expect(textual.startsWith('%PDF-1.7\n')).toBe(true);
    expect(textual.trimEnd().endsWith('%%EOF')).toBe(true);
    expect(textual).toContain('/Count 1');
    const startxref = Number(/startxref\n(\d+)\n/.exec(textual)?.[1]);
    expect(textual.slice(startxref, startxref + 4)).toBe('xref');
    const offsets = [...textual.slice(startxref).matchAll(/^(\d{10}) 00000 n $/gm)].map((match) => Number(match[1]));
    offsets.forEach((offset, index) => expect(textual.slice(offset).startsWith(`${index + 1} 0 obj`)).toBe(true));
  });
});
