/**
 * Identifier masking in free text (error messages, request ids): every identifier-shaped run is
 * masked the way the API masks it, and ids of our own and longer runs are left alone.
 */
import { describe, expect, it } from 'vitest';
import { containsIdentifier, maskCreditCode, maskIdentifiersInText, maskResidentId } from './identifier-masking.js';

describe('maskIdentifiersInText', () => {
  it('masks ID numbers (18 characters, either x, and the 15-digit form) and credit codes (either case) wherever they stand alone', () => {
    expect(maskIdentifiersInText('GET /v1/subjects/11010519491231002X?again=11010519491231002x')).toBe('GET /v1/subjects/110105********002X?again=110105********002x');
    expect(maskIdentifiersInText('old form 110105491231002.')).toBe('old form 110105*****1002.');
    expect(maskIdentifiersInText('value "91350100M000100Y43" and 91350100m000100y43')).toBe('value "91350100********43" and 91350100********43');
    expect(maskIdentifiersInText('id_11010519491231002X_end')).toBe('id_110105********002X_end');
  });

  it('leaves our own ids, longer runs and ordinary words alone', () => {
    const untouched = [
      'req_d45b3a5ffa6a4a7da67baef65e6ccd51',
      'sub_ABCDEFGHJKLMNPQR',
      '1101051949123100211 has 19 digits',
      'date/time field value out of range: "0000-12-31T16:00:00.000Z"',
      'authenticationfailure',
    ];
    for (const text of untouched) expect(maskIdentifiersInText(text)).toBe(text);
  });

  it('agrees with the masks of single values', () => {
    expect(maskIdentifiersInText('11010519491231002X')).toBe(maskResidentId('11010519491231002X'));
    expect(maskIdentifiersInText('91350100M000100Y43')).toBe(maskCreditCode('91350100M000100Y43'));
  });
});

describe('containsIdentifier', () => {
  it('finds identifier shapes, every time it is asked', () => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect(containsIdentifier('trace-11010519491231002X')).toBe(true);
      expect(containsIdentifier('req_d45b3a5ffa6a4a7da67baef65e6ccd51')).toBe(false);
    }
  });
});
