/**
 * The language a person reads an answer in: Simplified Chinese by default, English on request.
 * Chosen from the request's Accept-Language (RFC 9110 quality values, parsed by Hono's language
 * detector); any Chinese tag (zh, zh-CN, zh-Hans-CN, zh-TW) reads Simplified Chinese, the only
 * Chinese the gateway writes, and any English tag English. Codes stay language-free.
 */
import type { Context } from 'hono';
import { type DetectorOptions, detectFromHeader } from 'hono/language';

export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

/** A text a person reads, in each language the gateway writes. */
export type Bilingual = Readonly<Record<Language, string>>;

const detector: DetectorOptions = {
  order: ['header'],
  lookupQueryString: 'lang',
  lookupCookie: 'language',
  lookupFromPathIndex: 0,
  lookupFromHeaderKey: 'accept-language',
  caches: false,
  ignoreCase: true,
  fallbackLanguage: 'zh-CN',
  supportedLanguages: [...LANGUAGES],
  convertDetectedLanguage: (tag) => {
    const lower = tag.toLowerCase();
    if (lower === 'zh' || lower.startsWith('zh-')) return 'zh-CN';
    if (lower === 'en' || lower.startsWith('en-')) return 'en';
    return lower;
  },
};

/** The request's language, or `fallback` when Accept-Language is absent or names neither. */
export function requestLanguage(c: Context, fallback: Language): Language {
  if (!c.req.header('accept-language')) return fallback;
  return (detectFromHeader(c, detector) as Language | undefined) ?? fallback;
}

export function inLanguage(text: string | Bilingual, language: Language): string {
  return typeof text === 'string' ? text : text[language];
}
