import { describe, expect, it } from 'vitest';
import { minimalPdf } from './pdf.js';

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

describe('minimalPdf', () => {
  it('writes a PDF 1.7 with a trailer and %%EOF', () => {
    const text = latin1(minimalPdf({ title: 'Test', lines: ['a (b) \\ c'] }));
    expect(text.startsWith('%PDF-1.7\n')).toBe(true);
    expect(text.endsWith('%%EOF\n')).toBe(true);
    expect(text).toContain('(a \\(b\\) \\\\ c) Tj');
  });

  it('points every cross-reference entry and startxref at the right byte', () => {
    const text = latin1(minimalPdf({ title: '居民身份证', lines: ['姓名：张三', 'ID 11010519491231002X'] }));
    const startxref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)?.[1]);
    expect(text.slice(startxref, startxref + 4)).toBe('xref');
    const entries = text
      .slice(startxref)
      .split('\n')
      .slice(3)
      .filter((line) => / 00000 n $/.test(line));
    expect(entries).toHaveLength(8);
    entries.forEach((entry, index) => {
      const at = Number(entry.slice(0, 10));
      expect(text.slice(at, at + `${index + 1} 0 obj`.length)).toBe(`${index + 1} 0 obj`);
    });
    const length = Number(/\/Length (\d+) >>\nstream\n/.exec(text)?.[1]);
    const streamStart = text.indexOf('stream\n') + 'stream\n'.length;
    expect(text.slice(streamStart + length, streamStart + length + '\nendstream'.length)).toBe('\nendstream');
  });

  it('writes non-ASCII lines as UTF-16BE hex strings, surrogate pairs included', () => {
    const text = latin1(minimalPdf({ title: 'T', lines: ['张三', '𠀀'] }));
    expect(text).toContain('<5F204E09> Tj');
    expect(text).toContain('<D840DC00> Tj');
  });

  it('is deterministic', () => {
    const input = { title: '常住人口登记表', lines: ['户号：110105000123'] };
    expect(Buffer.from(minimalPdf(input)).equals(Buffer.from(minimalPdf(input)))).toBe(true);
    expect(
      Buffer.from(minimalPdf(input)).equals(Buffer.from(minimalPdf({ ...input, lines: ['户号：110105000124'] }))),
    ).toBe(false);
  });
});
