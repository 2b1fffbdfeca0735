/**
 * Masking of subject identifiers: resident ID numbers (GB 11643) and unified social credit codes
 * (GB 32100). Pure functions. They live in the platform because the platform itself masks
 * identifiers wherever client-supplied text could reach a log line or a response (error messages,
 * request ids) and may not import a capability; identity re-exports them for its own use.
 *
 * Masking keeps a fixed, non-identifying part visible: ID numbers keep the first 6 (division) and
 * last 4 characters; credit codes keep the first 8 (authority, category, division) and the last 2.
 */

/**
 * Keeps `keepStart` leading and `keepEnd` trailing code points and replaces each one between with
 * `*`. A value too short to hide anything that way is masked completely.
 */
function maskMiddle(value: string, keepStart: number, keepEnd: number): string {
  const chars = [...value];
  if (chars.length <= keepStart + keepEnd) return '*'.repeat(chars.length);
  return [
    ...chars.slice(0, keepStart),
    '*'.repeat(chars.length - keepStart - keepEnd),
    ...chars.slice(chars.length - keepEnd),
  ].join('');
}

/** `110105********1234`: division and last four kept, birth date and sequence hidden. */
export function maskResidentId(value: string): string {
  return maskMiddle(value, 6, 4);
}

/**
 * `91350100********43`: authority, category and division kept, the organisation-code body hidden;
 * like `maskResidentId`, 10 of 18 characters visible and 8 hidden.
 */
export function maskCreditCode(value: string): string {
  return maskMiddle(value, 8, 2);
}

/**
 * Anything shaped like an identifier, standing alone (not inside a longer run of letters and
 * digits): an 18-character ID number, a credit code (its 31-character alphabet, either case), or
 * the 15-digit first-generation ID number. Check characters are deliberately not verified: a
 * mistyped number is still someone's number, and masking a look-alike in a log line costs nothing.
 */
const IDENTIFIER_SHAPES = /(?<![0-9A-Za-z])(?:(\d{17}[\dX])|([0-9A-HJ-NPQRTUWXY]{18})|(\d{15}))(?![0-9A-Za-z])/gi;

/** `text` with every identifier-shaped run masked (see IDENTIFIER_SHAPES). */
export function maskIdentifiersInText(text: string): string {
  return text.replace(IDENTIFIER_SHAPES, (whole, residentId: string | undefined, creditCode: string | undefined) =>
    creditCode !== undefined && residentId === undefined ? maskCreditCode(whole) : maskResidentId(whole),
  );
}

/** The same shapes without the global flag, whose `lastIndex` would make `test` stateful. */
const IDENTIFIER_SHAPE = new RegExp(IDENTIFIER_SHAPES.source, 'i');

/** True when `text` holds something shaped like an identifier. */
export function containsIdentifier(text: string): boolean {
  return IDENTIFIER_SHAPE.test(text);
}
