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

/** `138****1234`: the network prefix and the last four digits, as Chinese services show a number. */
export function maskMobile(value: string): string {
  if (value.length < 8) return '*'.repeat(value.length);
  return `${value.slice(0, 3)}${'*'.repeat(value.length - 7)}${value.slice(-4)}`;
}
