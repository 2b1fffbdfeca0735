/**
 * The simulated registry's certificates (不动产权证书). 张三, 李梅 and 杭州西湖云栖科技有限公司 agree with
 * the gateway's demo and with the PSB and AMR simulators; 王秀英's number is generated with a valid
 * GB 11643 check character. What the seed exercises:
 *  - 张三: a sole-owned flat, a jointly owned (共同共有) mortgaged flat registered later, and a
 *    certificate registered later still but cancelled (注销, sold), so "the most recent valid one"
 *    and "the most recent one" differ;
 *  - 李梅: three certificates (pagination with small pages), the most recent one sealed (查封) by a
 *    court, one cancelled;
 *  - the company: a mortgaged office and a land-only certificate (no building, unit code `W`);
 *  - 王建国: only a cancelled certificate (→ revoked);
 *  - 陈志强 and 刘芳: one flat held in shares (按份共有), 60% and 40% — their only certificate, so
 *    it is the usual choice for either of them;
 *  - 赵志刚: one flat under an objection registration (异议登记) by a builder who has sued over it;
 *  - 孙雅琴: one flat pre-noticed (预告登记) to the company, which has contracted to buy it — the
 *    registry refuses its transfer to anyone else (Civil Code art. 221);
 *  - `NRB_UNKNOWN_ID_NUMBER` / `NRB_UNKNOWN_CREDIT_CODE`: valid identifiers with no certificates.
 */
import type { CertificateRecordWire, RightHolderWire } from './protocol.js';

export const ZHANG_SAN: RightHolderWire = { name: '张三', idType: 'ID_CARD', idNumber: '11010519491231002X' };
export const WANG_XIUYING: RightHolderWire = { name: '王秀英', idType: 'ID_CARD', idNumber: '110105195203150021' };
export const LI_MEI: RightHolderWire = { name: '李梅', idType: 'ID_CARD', idNumber: '330106198503150120' };
export const WANG_JIANGUO: RightHolderWire = { name: '王建国', idType: 'ID_CARD', idNumber: '320102197807120033' };
export const CHEN_ZHIQIANG: RightHolderWire = { name: '陈志强', idType: 'ID_CARD', idNumber: '330106198806120041' };
export const LIU_FANG: RightHolderWire = { name: '刘芳', idType: 'ID_CARD', idNumber: '330106199009180089' };
export const ZHAO_ZHIGANG: RightHolderWire = { name: '赵志刚', idType: 'ID_CARD', idNumber: '33010619760912003X' };
export const SUN_YAQIN: RightHolderWire = { name: '孙雅琴', idType: 'ID_CARD', idNumber: '330106198102270041' };
export const YUNQI_TECH: RightHolderWire = {
  name: '杭州西湖云栖科技有限公司',
  idType: 'USCC',
  idNumber: '91330106MA2B7K1Q20',
};

/** A valid resident ID number (check character computed) that holds no real estate. */
export const NRB_UNKNOWN_ID_NUMBER = '11010119800101007X';
/** A valid credit code that holds no real estate. */
export const NRB_UNKNOWN_CREDIT_CODE = '91330102MA2D9F6R18';

const BEIJING_CHAOYANG = '北京市规划和自然资源委员会朝阳分局';
const HANGZHOU = '杭州市规划和自然资源局';

export const seededCertificates: readonly CertificateRecordWire[] = [
  {
    certificateId: 'ZS11010520150031287',
    certificateNo: '京(2015)朝阳区不动产权第0031287号',
    unitNo: '110105003001GB00012F00030502',
    location: '北京市朝阳区建国路88号院3号楼1单元502',
    rightHolders: [ZHANG_SAN],
    shareType: 'SOLE',
    rightType: '国有建设用地使用权/房屋所有权',
    rightNature: '出让/市场化商品房',
    usage: '城镇住宅用地/住宅',
    landArea: 21.37,
    buildingArea: 89.56,
    landUseFrom: '2004-06-01',
    landUseTo: '2074-05-31',
    registrationAuthority: BEIJING_CHAOYANG,
    registeredAt: '2015-08-20',
    issueDate: '2015-08-25',
    certificateStatus: 'VALID',
    restrictions: [],
  },
  {
    certificateId: 'ZS11010520190107652',
    certificateNo: '京(2019)朝阳区不动产权第0107652号',
    unitNo: '110105007002GB00031F00120801',
    location: '北京市朝阳区望京西园四区412号楼8单元801',
    rightHolders: [ZHANG_SAN, WANG_XIUYING],
    shareType: 'JOINT',
    rightType: '国有建设用地使用权/房屋所有权',
    rightNature: '出让/市场化商品房',
    usage: '城镇住宅用地/住宅',
    landArea: 30.12,
    buildingArea: 126.38,
    landUseFrom: '2009-03-01',
    landUseTo: '2079-02-28',
    registrationAuthority: BEIJING_CHAOYANG,
    registeredAt: '2019-11-06',
    issueDate: '2019-11-12',
    certificateStatus: 'VALID',
    restrictions: [{ type: 'MORTGAGE', registeredAt: '2019-11-06', party: '中国工商银行股份有限公司北京望京支行' }],
  },
  {
    certificateId: 'ZS11010520210045218',
    certificateNo: '京(2021)朝阳区不动产权第0045218号',
    unitNo: '110105011004GB00008F00020301',
    location: '北京市朝阳区十里堡北里6号楼2单元301',
    rightHolders: [ZHANG_SAN],
    shareType: 'SOLE',
    rightType: '国有建设用地使用权/房屋所有权',
    rightNature: '划拨/房改房',
    usage: '城镇住宅用地/住宅',
    landArea: 12.05,
    buildingArea: 58.2,
    landUseFrom: '1998-07-01',
    landUseTo: null,
    registrationAuthority: BEIJING_CHAOYANG,
    registeredAt: '2021-04-15',
    issueDate: '2021-04-20',
    // Sold in 2023: the certificate was cancelled when the buyer's was issued.
    certificateStatus: 'CANCELLED',
    restrictions: [],
  },
  {
    certificateId: 'ZS33010620180156789',
    certificateNo: '浙(2018)杭州市不动产权第0156789号',
    unitNo: '330106012003GB00045F00020301',
    location: '浙江省杭州市西湖区文三路159号2幢301室',
    rightHolders: [LI_MEI],
    shareType: 'SOLE',
    rightType: '国有建设用地使用权/房屋所有权',
    rightNature: '出让/市场化商品房',
    usage: '城镇住宅用地/住宅',
    landArea: 18.44,
    buildingArea: 95.12,
    landUseFrom: '2001-09-01',
    landUseTo: '2071-08-31',
    registrationAuthority: HANGZHOU,
    registeredAt: '2018-03-09',
    issueDate: '2018-03-14',
    certificateStatus: 'VALID',
    restrictions: [],
  },
  {
    certificateId: 'ZS33010620200234567',
    certificateNo: '浙(2020)杭州市不动产权第0234567号',
    unitNo: '330106014001GB00102F00051202',
    location: '浙江省杭州市西湖区古墩路702号5幢1202室',
    rightHolders: [LI_MEI],
    shareType: 'SOLE',
    rightType: '国有建设用地使用权/房屋所有权',
    rightNature: '出让/市场化商品房',
    usage: '城镇住宅用地/住宅',
    landArea: 22.9,
    buildingArea: 118.64,
    landUseFrom: '2016-05-01',
    landUseTo: '2086-04-30',
    registrationAuthority: HANGZHOU,
    registeredAt: '2020-07-01',
    issueDate: '2020-07-08',
    certificateStatus: 'VALID',
    // Sealed by a court in a civil case: still valid, but it may not be transferred.
    restrictions: [{ type: 'SEAL', registeredAt: '2024-05-20', party: '杭州市西湖区人民法院' }],
  },
  {
    certificateId: 'ZS33010620160012345',
    certificateNo: '浙(2016)杭州市不动产权第0012345号',
    unitNo: '330106009002GB00017F00120402',
    location: '浙江省杭州市西湖区翠苑一区12幢402室',
    rightHolders: [LI_MEI],
    shareType: 'SOLE',
    rightType: '国有建设用地使用权/房屋所有权',
    rightNature: '出让/市场化商品房',
    usage: '城镇住宅用地/住宅',
    landArea: 10.6,
    buildingArea: 62.3,
    landUseFrom: '1994-10-01',
    landUseTo: '2064-09-30',
    registrationAuthority: HANGZHOU,
    registeredAt: '2016-01-12',
    issueDate: '2016-01-18',
    certificateStatus: 'CANCELLED',
    restrictions: [],
  },
  {
    certificateId: 'ZS33010620170098765',
    certificateNo: '浙(2017)杭州市不动产权第0098765号',
    unitNo: '330106011002GB00023F00010501',
    location: '浙江省杭州市西湖区文三路90号东部软件园1号楼5层',
    rightHolders: [YUNQI_TECH],
    shareType: 'SOLE',
    rightType: '国有建设用地使用权/房屋所有权',
    rightNature: '出让/自建房',
    usage: '科教用地/办公',
    landArea: 312.8,
    buildingArea: 1260.5,
    landUseFrom: '2003-12-01',
    landUseTo: '2053-11-30',
    registrationAuthority: HANGZHOU,
    registeredAt: '2017-09-15',
    issueDate: '2017-09-20',
    certificateStatus: 'VALID',
    restrictions: [{ type: 'MORTGAGE', registeredAt: '2021-03-02', party: '杭州银行股份有限公司西湖支行' }],
  },
  {
    certificateId: 'ZS33010620220301122',
    certificateNo: '浙(2022)杭州市不动产权第0301122号',
    unitNo: '330106020001GB00007W00000000',
    location: '浙江省杭州市西湖区三墩镇西园八路以南地块',
    rightHolders: [YUNQI_TECH],
    shareType: 'SOLE',
    rightType: '国有建设用地使用权',
    rightNature: '出让',
    usage: '工业用地',
    landArea: 15320,
    buildingArea: null,
    landUseFrom: '2022-02-01',
    landUseTo: '2072-01-31',
    registrationAuthority: HANGZHOU,
    registeredAt: '2022-03-18',
    issueDate: '2022-03-25',
    certificateStatus: 'VALID',
    restrictions: [],
  },
  {
    certificateId: 'ZS32010220160067890',
    certificateNo: '苏(2016)南京市不动产权第0067890号',
    unitNo: '320102004001GB00056F00040603',
    location: '江苏省南京市玄武区中山路18号4幢603室',
    rightHolders: [WANG_JIANGUO],
    shareType: 'SOLE',
    rightType: '国有建设用地使用权/房屋所有权',
    rightNature: '出让/市场化商品房',
    usage: '城镇住宅用地/住宅',
    landArea: 16.2,
    buildingArea: 84.7,
    landUseFrom: '2006-01-01',
    landUseTo: '2075-12-31',
    registrationAuthority: '南京市不动产登记中心',
    registeredAt: '2016-06-30',
    issueDate: '2016-07-05',
    certificateStatus: 'CANCELLED',
    restrictions: [],
  },
  {
    certificateId: 'ZS33010620230187430',
    certificateNo: '浙(2023)杭州市不动产权第0187430号',
    unitNo: '330106016002GB00064F00070702',
    location: '浙江省杭州市西湖区紫金港路21号7幢702室',
    // 按份共有: each holder's share is registered; the holders may dispose of their own share.
    rightHolders: [
      { ...CHEN_ZHIQIANG, share: '60%' },
      { ...LIU_FANG, share: '40%' },
    ],
    shareType: 'SHARED',
    rightType: '国有建设用地使用权/房屋所有权',
    rightNature: '出让/市场化商品房',
    usage: '城镇住宅用地/住宅',
    landArea: 19.8,
    buildingArea: 102.45,
    landUseFrom: '2018-04-01',
    landUseTo: '2088-03-31',
    registrationAuthority: HANGZHOU,
    registeredAt: '2023-06-12',
    issueDate: '2023-06-19',
    certificateStatus: 'VALID',
    restrictions: [],
  },
  {
    certificateId: 'ZS33010620190211408',
    certificateNo: '浙(2019)杭州市不动产权第0211408号',
    unitNo: '330106018003GB00031F00031101',
    location: '浙江省杭州市西湖区天目山路398号3幢1101室',
    rightHolders: [ZHAO_ZHIGANG],
    shareType: 'SOLE',
    rightType: '国有建设用地使用权/房屋所有权',
    rightNature: '出让/市场化商品房',
    usage: '城镇住宅用地/住宅',
    landArea: 17.35,
    buildingArea: 91.08,
    landUseFrom: '2012-08-01',
    landUseTo: '2082-07-31',
    registrationAuthority: HANGZHOU,
    registeredAt: '2019-05-22',
    issueDate: '2019-05-28',
    certificateStatus: 'VALID',
    // The builder claims the flat was registered to the wrong owner and sued within 15 days, so the
    // objection stands until the court decides.
    restrictions: [{ type: 'OBJECTION', registeredAt: '2025-10-14', party: '杭州恒达建设工程有限公司' }],
  },
  {
    certificateId: 'ZS33010620210264315',
    certificateNo: '浙(2021)杭州市不动产权第0264315号',
    unitNo: '330106021002GB00012F00020902',
    location: '浙江省杭州市西湖区丰潭路430号2幢902室',
    rightHolders: [SUN_YAQIN],
    shareType: 'SOLE',
    rightType: '国有建设用地使用权/房屋所有权',
    rightNature: '出让/市场化商品房',
    usage: '城镇住宅用地/住宅',
    landArea: 16.72,
    buildingArea: 88.4,
    landUseFrom: '2015-03-01',
    landUseTo: '2085-02-28',
    registrationAuthority: HANGZHOU,
    registeredAt: '2021-09-08',
    issueDate: '2021-09-14',
    certificateStatus: 'VALID',
    // Sold to the company by contract; the pre-notice secures the purchase until the transfer is registered.
    restrictions: [{ type: 'PRE_NOTICE', registeredAt: '2025-06-30', party: '杭州西湖云栖科技有限公司' }],
  },
];
