/**
 * The enterprises the simulated registry knows. Credit codes are valid GB 32100 codes (checked by
 * the tests with gateway/identity/identifiers.ts); the legal representatives 张三 and 李梅 are the
 * gateway demo's persons. One enterprise is cancelled (注销) and one revoked (吊销).
 */
import type { LicenceRecord } from './protocol.js';

export const seededEnterprises: readonly LicenceRecord[] = [
  {
    tyshxydm: '91330106MA2B7K1Q20',
    qymc: '杭州西湖云栖科技有限公司',
    qylx: '有限责任公司（自然人投资或控股）',
    fddbr: '李梅',
    zczb: '500万元人民币',
    clrq: '20160318',
    yyqxz: '长期',
    zs: '浙江省杭州市西湖区文三路90号东部软件园1号楼5层',
    djjg: '杭州市西湖区市场监督管理局',
    fzrq: '20230612',
    djzt: '存续',
  },
  {
    tyshxydm: '91110105MA01C8XN3W',
    qymc: '北京朝阳晨光餐饮管理有限公司',
    qylx: '有限责任公司（自然人独资）',
    fddbr: '张三',
    zczb: '100万元人民币',
    clrq: '20180521',
    yyqxz: '20380520',
    zs: '北京市朝阳区建国路88号院3号楼1层101',
    djjg: '北京市朝阳区市场监督管理局',
    fzrq: '20210909',
    djzt: '存续',
  },
  {
    tyshxydm: '913300001439287544',
    qymc: '浙江钱塘江建设工程股份有限公司',
    qylx: '股份有限公司（非上市、自然人投资或控股）',
    fddbr: '阿依古丽·买买提',
    zczb: '12000万元人民币',
    clrq: '19980806',
    yyqxz: '长期',
    zs: '浙江省杭州市上城区钱江路1366号华润大厦A座28层',
    djjg: '浙江省市场监督管理局',
    fzrq: '20200115',
    djzt: '存续',
  },
  {
    tyshxydm: '91330110MA27UL3D3K',
    qymc: '杭州余杭旧街贸易有限公司',
    qylx: '有限责任公司（自然人投资或控股）',
    fddbr: '王喆',
    zczb: '50万元人民币',
    clrq: '20150402',
    yyqxz: '20350401',
    zs: '浙江省杭州市余杭区临平街道旧街路12号',
    djjg: '杭州市余杭区市场监督管理局',
    fzrq: '20190730',
    djzt: '注销',
  },
  {
    tyshxydm: '91330206MA2GW4E85T',
    qymc: '宁波北仑甬港物流有限公司',
    qylx: '有限责任公司（法人独资）',
    fddbr: '陈晓东',
    zczb: '2000万元人民币',
    clrq: '20170911',
    yyqxz: '20470910',
    zs: '浙江省宁波市北仑区新碶街道明州路255号',
    djjg: '宁波市北仑区市场监督管理局',
    fzrq: '20220318',
    djzt: '吊销',
  },
];

/** A valid credit code the registry does not know (for not-found). */
export const unknownCreditCode = '91330102MA2D9F6R18';
