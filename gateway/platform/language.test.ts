import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { ApiError, errorCatalogue, problemDocument, problemTitle } from './errors.js';
import { requestLanguage } from './language.js';
import { problemTitlesZh } from './messages/zh-CN.js';

const CHINESE = /[\u4e00-\u9fff]/;

async function languageOf(acceptLanguage: string | undefined, fallback: 'zh-CN' | 'en' = 'zh-CN'): Promise<string> {
  const app = new Hono();
  app.get('/', (c) => c.text(requestLanguage(c, fallback)));
  const response = await app.request('/', {
    headers: acceptLanguage === undefined ? {} : { 'Accept-Language': acceptLanguage },
  });
  return response.text();
}

describe('the language of what a person reads', () => {
  it('has a Chinese title for every error code, and none for a code that does not exist', () => {
    expect(Object.keys(problemTitlesZh).sort()).toEqual(Object.keys(errorCatalogue).sort());
    for (const [code, title] of Object.entries(problemTitlesZh)) expect(title, code).toMatch(CHINESE);
  });

  it('reads Simplified Chinese by default and English on request', async () => {
    expect(await languageOf(undefined)).toBe('zh-CN');
    expect(await languageOf('en')).toBe('en');
    expect(await languageOf('en-GB,en;q=0.8')).toBe('en');
    expect(await languageOf('zh-TW,zh;q=0.9,en;q=0.5')).toBe('zh-CN');
    expect(await languageOf('zh-Hans-CN')).toBe('zh-CN');
    // The first language the gateway writes, by quality: French is not one.
    expect(await languageOf('fr-FR,fr;q=0.9,en;q=0.4,zh;q=0.3')).toBe('en');
    expect(await languageOf('fr')).toBe('zh-CN');
    expect(await languageOf('fr', 'en')).toBe('en');
    expect(await languageOf('en;q=0, zh;q=0.1')).toBe('zh-CN');
  });

  it('answers a problem in the chosen language: title by code, detail when it has both languages', () => {
    const error = new ApiError('pickup_code_mismatch', {
      'zh-CN': '取件码不对，还可以再试 4 次。',
      en: 'Wrong pick-up code; 4 tries left.',
    });
    expect(problemDocument(error, 'req-1', undefined, 'zh-CN')).toMatchObject({
      title: '取件码不是该办件的',
      detail: '取件码不对，还可以再试 4 次。',
      code: 'pickup_code_mismatch',
    });
    expect(problemDocument(error, 'req-1', undefined, 'en')).toMatchObject({
      title: "The pick-up code is not this case's",
      detail: 'Wrong pick-up code; 4 tries left.',
    });
    // Logs and CLIs read the English.
    expect(error.message).toBe('Wrong pick-up code; 4 tries left.');
    expect(problemTitle('not_found', 'zh-CN')).toBe('资源不存在，或该客户端无权查看');
  });
});
