/**
 * A certificate number as compared: NFKC (full-width brackets and digits as ASCII) without spaces,
 * so 京（2015）朝阳区… typed at a window finds 京(2015)朝阳区…. Departments' numbers are stored as
 * they sent them; only the comparison normalises.
 */
export function normaliseCertificateNumber(value: string): string {
  return value.normalize('NFKC').replace(/\s+/gu, '');
}
