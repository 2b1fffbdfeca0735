import { describe, expect, it } from 'vitest';
import { ApiError } from '../platform/errors.js';
import { answerError } from './fetch.js';

describe('answerError', () => {
  it("masks an ID number and a mobile quoted in a per-type error, as a problem document's text is", () => {
    const error = new ApiError('department_error', {
      'zh-CN': '证件号11010519491231002X与姓名不符，请致电13812345678',
      en: 'ID number 11010519491231002X does not match; call 13812345678',
    });
    const shown = answerError(error);
    expect(shown.code).toBe('department_error');
    expect(shown.message).not.toContain('11010519491231002X');
    expect(shown.message).not.toContain('13812345678');
    expect(shown.message).toContain('110105********002X');
  });
});
