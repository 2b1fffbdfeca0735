/**
 * The certificate documents the simulated registry hands out, as small PDFs from the shared
 * generator. Built from the record alone (no dates or ids of their own), so the same certificate
 * always gives the same bytes.
 */
import { minimalPdf } from '@onewindow/adapter-sdk/testing/pdf';
import { ethnicityNames, type SeededPerson } from './seed.js';

function displayDate(yyyymmdd: string): string {
  return /^\d{8}$/.test(yyyymmdd)
    ? `${yyyymmdd.slice(0, 4)}年${yyyymmdd.slice(4, 6)}月${yyyymmdd.slice(6, 8)}日`
    : yyyymmdd;
}

function personLines(person: SeededPerson): string[] {
  return [
    `姓名：${person.xm}`,
    `性别：${person.xb === '1' ? '男' : '女'}`,
    `民族：${ethnicityNames[person.mz] ?? person.mz}`,
    `出生：${displayDate(person.csrq)}`,
    `住址：${person.zz}`,
    `公民身份号码：${person.sfzh}`,
  ];
}

export function residentIdCardDocument(person: SeededPerson): Uint8Array {
  const card = person.idCard;
  return minimalPdf({
    title: '居民身份证（电子证照）',
    lines: [
      ...personLines(person),
      `签发机关：${card.qfjg}`,
      `有效期限：${displayDate(card.yxqxq)} 至 ${displayDate(card.yxqjzrq)}`,
      `证件状态：${card.zjzt === '1' ? '有效' : '作废'}`,
    ],
  });
}

/** Null when the person has no household-register record. */
export function householdRegisterDocument(person: SeededPerson): Uint8Array | null {
  const household = person.household;
  if (!household) return null;
  return minimalPdf({
    title: '常住人口登记表',
    lines: [
      `户别：${household.hb}`,
      `户号：${household.hh}`,
      `户主姓名：${household.hzxm}`,
      `与户主关系：${household.yhzgx}`,
      ...personLines(person),
      `登记机关：${household.qfjg}`,
      `登记日期：${displayDate(household.yxqxq)}`,
      `证明编号：${household.zjhm}`,
    ],
  });
}
