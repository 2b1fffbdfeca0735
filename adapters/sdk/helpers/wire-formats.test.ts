import { describe, expect, it } from 'vitest';
import { DepartmentError } from '../errors.js';
import { minimalPdf } from '../testing/pdf.js';
import { readEnvelope, type EnvelopeTable } from './envelope.js';
import { collectPages, type Page } from './pagination.js';
import {
  beijingTimestamp,
  decodeBase64Document,
  DocumentTooLargeError,
  formatChineseDate,
  parseBeijingTimestamp,
  parseChineseDate,
  randomNonce,
  WireFormatError,
} from './wire-formats.js';

describe('Beijing time stamps', () => {
  it('writes the instant in UTC+08:00 as yyyy-MM-dd HH:mm:ss, across the date line', () => {
    expect(beijingTimestamp(new Date('2019-05-20T02:00:00Z'))).toBe('2019-05-20 10:00:00');
    expect(beijingTimestamp(new Date('2019-12-31T16:30:05.999Z'))).toBe('2020-01-01 00:30:05');
    expect(beijingTimestamp(new Date('2024-02-28T16:00:00Z'))).toBe('2024-02-29 00:00:00');
  });

  it('reads one back to the instant, refusing impossible times', () => {
    expect(parseBeijingTimestamp('2020-01-01 00:30:05').toISOString()).toBe('2019-12-31T16:30:05.000Z');
    expect(() => parseBeijingTimestamp('2019-02-29 10:00:00')).toThrow(WireFormatError);
    expect(() => parseBeijingTimestamp('2019-05-20 24:00:00')).toThrow(WireFormatError);
    expect(() => parseBeijingTimestamp('2019-05-20T10:00:00')).toThrow(WireFormatError);
  });
});

describe('nonces', () => {
  it('are random hex of the asked length, never repeated in practice', () => {
    const nonces = new Set(Array.from({ length: 1000 }, () => randomNonce()));
    expect(nonces.size).toBe(1000);
    for (const nonce of nonces) expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(randomNonce(8)).toMatch(/^[0-9a-f]{16}$/);
    expect(() => randomNonce(4)).toThrow(RangeError);
  });
});

describe('Chinese dates', () => {
  it('reads 2019年05月20日, 2019年5月20日, 2019-05-20 and 20190520', () => {
    for (const text of ['2019年05月20日', '2019年5月20日', ' 2019-05-20 ', '20190520'])
      expect(parseChineseDate(text)).toBe('2019-05-20');
    expect(parseChineseDate('2020年02月29日')).toBe('2020-02-29');
    expect(parseChineseDate('2000年2月29日')).toBe('2000-02-29');
  });

  it('refuses dates that do not exist and other shapes', () => {
    for (const text of [
      '2019年02月30日',
      '2019年02月29日',
      '1900-02-29',
      '20191301',
      '2019年04月31日',
      '2019年00月10日',
      '2019/05/20',
      '二〇一九年五月二十日',
      '',
    ])
      expect(() => parseChineseDate(text), text).toThrow(WireFormatError);
  });

  it('writes YYYY-MM-DD as 2019年05月20日', () => {
    expect(formatChineseDate('2019-05-20')).toBe('2019年05月20日');
    expect(() => formatChineseDate('2019-02-30')).toThrow(WireFormatError);
  });
});

describe('base64 documents', () => {
  const pdf = minimalPdf({ title: '结婚证', lines: ['持证人：李梅'] });
  const ofd = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(60, 1)]);

  it('decodes a PDF or an OFD (line breaks allowed) and names its media type', () => {
    const wrapped = Buffer.from(pdf)
      .toString('base64')
      .replace(/(.{76})/g, '$1\r\n');
    const decoded = decodeBase64Document(wrapped, { maxBytes: 1 << 20 });
    expect(decoded.mediaType).toBe('application/pdf');
    expect(Buffer.from(decoded.bytes).equals(Buffer.from(pdf))).toBe(true);
    expect(decodeBase64Document(ofd.toString('base64'), { maxBytes: 1024 }).mediaType).toBe('application/ofd');
  });

  it('refuses what is not base64, not an accepted kind, or over the limit (before decoding)', () => {
    expect(() => decodeBase64Document('not base64!', { maxBytes: 1024 })).toThrow(WireFormatError);
    expect(() => decodeBase64Document('', { maxBytes: 1024 })).toThrow(WireFormatError);
    expect(() => decodeBase64Document(Buffer.from('GIF89a....').toString('base64'), { maxBytes: 1024 })).toThrow(
      /not PDF or OFD/,
    );
    expect(() => decodeBase64Document(ofd.toString('base64'), { maxBytes: 1024, accept: ['pdf'] })).toThrow(/not PDF/);
    const big = Buffer.from(pdf).toString('base64');
    const error = (() => {
      try {
        decodeBase64Document(big, { maxBytes: pdf.byteLength - 1 });
        return null;
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(DocumentTooLargeError);
    // A huge text is refused by its length alone (the limit applies before any allocation).
    expect(() => decodeBase64Document('A'.repeat(4_000_000), { maxBytes: 1000 })).toThrow(DocumentTooLargeError);
  });
});

describe('the {code, msg, data} envelope', () => {
  const table: EnvelopeTable = {
    codes: {
      '10000': 'success',
      '40004': 'not_found',
      '40001': 'rejected',
      '50001': 'unavailable',
      '40301': 'business_error',
    },
  };
  const context = { department: 'MCA', operation: 'mca.marriage.query', source: 'mca-marriage', status: 200 };

  function thrown(run: () => unknown): DepartmentError {
    try {
      run();
    } catch (error) {
      if (error instanceof DepartmentError) return error;
      throw error;
    }
    throw new Error('nothing thrown');
  }

  it('hands back data for success codes and not_found for no-record codes', () => {
    expect(readEnvelope({ code: '10000', msg: 'Success', data: { a: 1 } }, table, context)).toEqual({
      outcome: 'success',
      data: { a: 1 },
    });
    expect(readEnvelope({ code: '40004', msg: '无记录' }, table, context)).toEqual({ outcome: 'not_found' });
  });

  it('maps error codes to the error kinds of the table, HTTP 200 notwithstanding', () => {
    const rejected = thrown(() => readEnvelope({ code: '40001', msg: '签名错误' }, table, context));
    expect(rejected.kind).toBe('rejected');
    expect(rejected.details).toMatchObject({ department: 'MCA', departmentCode: '40001', status: 200 });
    // Only business refusals keep the department's words.
    expect(rejected.details.departmentMessage).toBeUndefined();
    expect(thrown(() => readEnvelope({ code: '50001' }, table, context)).kind).toBe('unavailable');
    const refused = thrown(() => readEnvelope({ code: '40301', msg: ' 该婚姻登记已注销 ' }, table, context));
    expect(refused.kind).toBe('business_error');
    expect(refused.details.departmentMessage).toBe('该婚姻登记已注销');
  });

  it('treats an unknown code as an error (business_error, or the table’s `otherwise`)', () => {
    expect(thrown(() => readEnvelope({ code: '99999', data: {} }, table, context)).kind).toBe('business_error');
    expect(thrown(() => readEnvelope({ code: '99999' }, { ...table, otherwise: 'unavailable' }, context)).kind).toBe(
      'unavailable',
    );
    // Inherited names are not codes.
    expect(thrown(() => readEnvelope({ code: 'toString' }, table, context)).kind).toBe('business_error');
  });
});

describe('collectPages', () => {
  const options = { pageSize: 2, maxPages: 3, department: 'MCA', operation: 'list', source: 'test' };
  const pages = (items: number[], extra: (page: number) => Partial<Page<number>> = () => ({})) => {
    const asked: number[] = [];
    const fetchPage = async (page: number): Promise<Page<number>> => {
      asked.push(page);
      return { items: items.slice((page - 1) * 2, page * 2), ...extra(page) };
    };
    return { asked, fetchPage };
  };

  it('reads until a short page, total or hasMore ends it', async () => {
    const short = pages([1, 2, 3]);
    expect(await collectPages(short.fetchPage, options)).toEqual([1, 2, 3]);
    expect(short.asked).toEqual([1, 2]);
    const byTotal = pages([1, 2, 3, 4], () => ({ total: 4 }));
    expect(await collectPages(byTotal.fetchPage, options)).toEqual([1, 2, 3, 4]);
    expect(byTotal.asked).toEqual([1, 2]);
    const byFlag = pages([1, 2, 3, 4], (page) => ({ hasMore: page < 1 }));
    expect(await collectPages(byFlag.fetchPage, options)).toEqual([1, 2]);
  });

  it('refuses more pages or items than allowed (oversized) and pages larger than asked (malformed)', async () => {
    const endless = async (): Promise<Page<number>> => ({ items: [1, 2], hasMore: true });
    await expect(collectPages(endless, options)).rejects.toMatchObject({ kind: 'oversized' });
    await expect(collectPages(pages([1, 2, 3, 4, 5]).fetchPage, { ...options, maxItems: 3 })).rejects.toMatchObject({
      kind: 'oversized',
    });
    const fat = async (): Promise<Page<number>> => ({ items: [1, 2, 3] });
    await expect(collectPages(fat, options)).rejects.toMatchObject({ kind: 'malformed' });
  });
});
