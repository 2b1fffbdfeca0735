/**
 * The certificate PDFs the simulated registry hands out, from the shared generator: built from
 * the record alone, so one certificate always gives the same bytes.
 */
import { minimalPdf } from '@onewindow/adapter-sdk/testing/pdf';
import type { SeededMarriage, SeededParty } from './seed.js';

export function marriageCertificateDocument(marriage: SeededMarriage, holder: SeededParty): Uint8Array {
  const spouse = marriage.spouses[0].idNumber === holder.idNumber ? marriage.spouses[1] : marriage.spouses[0];
  return minimalPdf({
    title: '结婚证（电子证照）',
    lines: [
      `结婚证字号：${marriage.certNo}`,
      `持证人：${holder.name}`,
      `登记日期：${marriage.registeredOn}`,
      `姓名：${holder.name}  身份证件号：${holder.idNumber}`,
      `姓名：${spouse.name}  身份证件号：${spouse.idNumber}`,
      `登记机关：${marriage.registry}`,
    ],
  });
}
