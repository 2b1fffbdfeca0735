/**
 * The simulated registry's people. 张三 and 李梅 agree with the gateway's demo, 王秀英 (张三's wife,
 * in his household) with the NRB simulator's co-owner of his 2019 flat; the others have generated numbers with valid GB 11643 check characters. 马晓燕 is registered but has
 * no household-register record (her household registration is being moved), and
 * `PSB_UNKNOWN_ID_NUMBER` is a valid number the registry does not know.
 */
import type { HouseholdRegisterWire, PersonWireFields } from './protocol.js';

export interface SeededPerson extends PersonWireFields {
  idCard: {
    qfjg: string;
    yxqxq: string;
    yxqjzrq: string;
    zjzt: '1' | '2';
  };
  /** 婚姻状况 as the registry records it (GB/T 2261.2) and since when; absent: not recorded (not sent). */
  marital?: { hyzk: string; hyzkbgrq: string };
  /** Absent: the registry answers 2002 for this person's household register. */
  household?: Pick<HouseholdRegisterWire, 'hh' | 'hzxm' | 'yhzgx' | 'hb' | 'qfjg' | 'yxqxq' | 'zjhm'>;
}

export const seededPeople: readonly SeededPerson[] = [
  {
    xm: '张三',
    sfzh: '11010519491231002X',
    xb: '2',
    mz: '01',
    csrq: '19491231',
    zz: '北京市朝阳区建国路88号院3号楼1单元502室',
    idCard: { qfjg: '北京市公安局朝阳分局', yxqxq: '20150610', yxqjzrq: '长期', zjzt: '1' },
    household: {
      hh: '110105012345',
      hzxm: '张三',
      yhzgx: '户主',
      hb: '家庭户',
      qfjg: '北京市公安局朝阳分局建外派出所',
      yxqxq: '19800312',
      zjhm: 'HJ110105012345',
    },
  },
  {
    // 张三's wife, in his household: co-owner of his 2019 flat in the NRB simulator.
    xm: '王秀英',
    sfzh: '110105195203150021',
    xb: '2',
    mz: '01',
    csrq: '19520315',
    zz: '北京市朝阳区建国路88号院3号楼1单元502室',
    idCard: { qfjg: '北京市公安局朝阳分局', yxqxq: '20120305', yxqjzrq: '长期', zjzt: '1' },
    marital: { hyzk: '20', hyzkbgrq: '19760520' },
    household: {
      hh: '110105012345',
      hzxm: '张三',
      yhzgx: '妻',
      hb: '家庭户',
      qfjg: '北京市公安局朝阳分局建外派出所',
      yxqxq: '19800312',
      zjhm: 'HJ110105012345',
    },
  },
  {
    xm: '李梅',
    sfzh: '330106198503150120',
    xb: '2',
    mz: '01',
    csrq: '19850315',
    zz: '浙江省杭州市西湖区文三路159号2幢301室',
    idCard: { qfjg: '杭州市公安局西湖分局', yxqxq: '20180722', yxqjzrq: '20380722', zjzt: '1' },
    marital: { hyzk: '20', hyzkbgrq: '20231008' },
    household: {
      hh: '330106078901',
      hzxm: '李梅',
      yhzgx: '户主',
      hb: '家庭户',
      qfjg: '杭州市公安局西湖分局文新派出所',
      yxqxq: '20090506',
      zjhm: 'HJ330106078901',
    },
  },
  {
    xm: '王建国',
    sfzh: '320102197807120033',
    xb: '1',
    mz: '01',
    csrq: '19780712',
    zz: '江苏省南京市玄武区中山路18号',
    idCard: { qfjg: '南京市公安局玄武分局', yxqxq: '20100301', yxqjzrq: '20300301', zjzt: '1' },
    marital: { hyzk: '20', hyzkbgrq: '20190520' },
    household: {
      hh: '320102004567',
      hzxm: '王建国',
      yhzgx: '户主',
      hb: '家庭户',
      qfjg: '南京市公安局玄武分局梅园新村派出所',
      yxqxq: '19960815',
      zjhm: 'HJ320102004567',
    },
  },
  {
    xm: '赵丽华',
    sfzh: '440304199205180047',
    xb: '2',
    mz: '08',
    csrq: '19920518',
    zz: '广东省深圳市福田区福华三路100号',
    // Her card was reported lost and voided (作废); the number stays hers.
    idCard: { qfjg: '深圳市公安局福田分局', yxqxq: '20220830', yxqjzrq: '20420830', zjzt: '2' },
    marital: { hyzk: '20', hyzkbgrq: '20190520' },
    household: {
      hh: '440304112233',
      hzxm: '周明',
      yhzgx: '妻',
      hb: '家庭户',
      qfjg: '深圳市公安局福田分局莲花派出所',
      yxqxq: '20160120',
      zjhm: 'HJ440304112233',
    },
  },
  {
    xm: '陈志强',
    sfzh: '510107200110230058',
    xb: '1',
    mz: '01',
    csrq: '20011023',
    zz: '四川省成都市武侯区人民南路四段27号',
    idCard: { qfjg: '成都市公安局武侯区分局', yxqxq: '20171105', yxqjzrq: '20271105', zjzt: '1' },
    marital: { hyzk: '20', hyzkbgrq: '20231008' },
    household: {
      hh: '510107334455',
      hzxm: '陈建华',
      yhzgx: '子',
      hb: '家庭户',
      qfjg: '成都市公安局武侯区分局玉林派出所',
      yxqxq: '20011120',
      zjhm: 'HJ510107334455',
    },
  },
  {
    xm: '马晓燕',
    sfzh: '640104199607010063',
    xb: '2',
    mz: '03',
    csrq: '19960701',
    zz: '宁夏回族自治区银川市兴庆区解放西街2号',
    idCard: { qfjg: '银川市公安局兴庆区分局', yxqxq: '20140811', yxqjzrq: '20240811', zjzt: '1' },
    marital: { hyzk: '40', hyzkbgrq: '20220915' },
  },
];

/** A valid resident ID number (check character computed) that is not on the register. */
export const PSB_UNKNOWN_ID_NUMBER = '11010119800101007X';

/** A seeded person with no household-register record. */
export const PSB_NO_HOUSEHOLD_ID_NUMBER = '640104199607010063';

/** GB/T 3304 ethnicity names for the codes the seed uses (and a few more), for the documents. */
export const ethnicityNames: Readonly<Record<string, string>> = {
  '01': '汉族',
  '02': '蒙古族',
  '03': '回族',
  '04': '藏族',
  '05': '维吾尔族',
  '06': '苗族',
  '07': '彝族',
  '08': '壮族',
};
