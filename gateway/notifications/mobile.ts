/**
 * The applicant's mobile number: a mainland number (11 digits, 13x–19x), given when the case is
 * opened and kept with it and with every notification; outside the notification worker it is
 * only ever shown masked.
 */

/** Mainland mobile numbers, as the API accepts them (no country code, no spaces). */
export const MOBILE_PATTERN = /^1[3-9]\d{9}$/;

export function isMobileNumber(value: string): boolean {
  return MOBILE_PATTERN.test(value);
}

// One masking rule for a number wherever it shows (also inside free text): the platform's.
export { maskMobile } from '../platform/identifier-masking.js';
