/**
 * The electronic real-estate certificate (不动产权证书) the simulated registry hands out, as a small
 * PDF from the shared generator, laid out like the paper certificate's register page. Built from
 * the record alone (no dates or ids of its own), so the same certificate always gives the same bytes.
 */
import { minimalPdf } from '@onewindow/adapter-sdk/testing/pdf';
import type { CertificateRecordWire } from './protocol.js';

const shareTypeNames: Readonly<Record<CertificateRecordWire['shareType'], string>> = {
  SOLE: '单独所有',
  JOINT: '共同共有',
  SHARED: '按份共有',
};

const restrictionNames = { SEAL: '查封', MORTGAGE: '抵押', OBJECTION: '异议登记', PRE_NOTICE: '预告登记' } as const;

function displayDate(iso: string): string {
  return `${iso.slice(0, 4)}年${iso.slice(5, 7)}月${iso.slice(8, 10)}日`;
}

function area(squareMetres: number): string {
  return `${squareMetres.toFixed(2)}平方米`;
}

export function certificateDocument(record: CertificateRecordWire): Uint8Array {
  const holders = record.rightHolders
    .map((holder) => (holder.share ? `${holder.name}（${holder.share}）` : holder.name))
    .join('、');
  const term = `${displayDate(record.landUseFrom)} 起 ${record.landUseTo === null ? '无固定期限' : `${displayDate(record.landUseTo)} 止`}`;
  const notes = record.restrictions.map(
    (restriction) =>
      `${restrictionNames[restriction.type]}：${restriction.party}，${displayDate(restriction.registeredAt)}`,
  );
  return minimalPdf({
    title: '不动产权证书',
    lines: [
      record.certificateNo,
      `权利人：${holders}`,
      `共有情况：${shareTypeNames[record.shareType]}`,
      `坐落：${record.location}`,
      `不动产单元号：${record.unitNo}`,
      `权利类型：${record.rightType}`,
      `权利性质：${record.rightNature}`,
      `用途：${record.usage}`,
      `面积：土地 ${area(record.landArea)}${record.buildingArea === null ? '' : ` / 房屋建筑 ${area(record.buildingArea)}`}`,
      `使用期限：${term}`,
      `权利其他状况：${notes.length === 0 ? '无' : notes.join('；')}`,
      `登记机构：${record.registrationAuthority}`,
      `登簿日期：${displayDate(record.registeredAt)}`,
      `发证日期：${displayDate(record.issueDate)}`,
      `证书状态：${record.certificateStatus === 'VALID' ? '现势' : '注销'}`,
    ],
  });
}
