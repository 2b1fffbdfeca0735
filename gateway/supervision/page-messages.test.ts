/** Every text of the supervision page exists in both languages: a missing translation fails here. */
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../platform/language.js';
import { type PageMessageKey, pageMessages, pageText } from './page-messages.js';

const CJK = /[\u4e00-\u9fff]/;
const PLACEHOLDER = /\{(\w+)\}/g;

describe('the supervision page messages', () => {
  const keys = Object.keys(pageMessages) as PageMessageKey[];

  it.each(keys)('%s has a Chinese text with Chinese characters and an English one', (key) => {
    const message: Readonly<Record<string, string>> = pageMessages[key];
    expect(Object.keys(message).sort()).toEqual([...LANGUAGES].sort());
    expect(message['zh-CN']?.trim()).not.toBe('');
    expect(message['zh-CN']).toMatch(CJK);
    expect(message.en?.trim()).not.toBe('');
  });

  it.each(keys)('%s names the same placeholders in both languages', (key) => {
    const names = (text: string) => [...text.matchAll(PLACEHOLDER)].map((match) => match[1]).sort();
    expect(names(pageMessages[key]['zh-CN'])).toEqual(names(pageMessages[key].en));
  });

  it('fills the placeholders it is given and leaves the rest', () => {
    expect(pageText('en', 'daysLeft', { days: 3 })).toBe('3 left');
    expect(pageText('zh-CN', 'daysLeft', { days: 3 })).toBe('剩余 3 天');
    expect(pageText('en', 'deadLettersExplanation', { count: 2 })).toContain('/v1/deliveries/{id}/retry');
  });
});
