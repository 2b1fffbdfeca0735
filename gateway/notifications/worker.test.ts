import { describe, expect, it } from 'vitest';
import { withoutMessageValues } from './worker.js';

describe('a platform error recorded as last_error', () => {
  it('stars the values of the message it quotes (the pick-up code), whole and longest first', () => {
    const summary = 'business_error (isv.CONTENT_ILLEGAL): 短信内容含敏感词：取件码 482913，请到朝阳区政务服务中心取件';
    expect(
      withoutMessageValues(summary, { pickupCode: '482913', centreName: '朝阳区政务服务中心', centre: '朝阳区' }),
    ).toBe('business_error (isv.CONTENT_ILLEGAL): 短信内容含敏感词：取件码 ******，请到*********取件');
  });

  it('leaves values under four characters, which would star the text at random', () => {
    expect(withoutMessageValues('unavailable: HTTP 503', { days: '503' })).toBe('unavailable: HTTP 503');
  });
});
