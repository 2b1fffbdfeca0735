/**
 * The simulated marriage registry's records (valid resident ID numbers; the same people as the
 * other simulators where they appear there): a valid marriage, one registered this decade, one
 * cancelled by a later divorce (已注销), one revoked (已撤销), and an ID number nobody married.
 */
export interface SeededParty {
  name: string;
  idNumber: string;
}

export interface SeededMarriage {
  /** 结婚证字号: both spouses' certificates carry it. */
  certNo: string;
  /** `yyyy年MM月dd日`. */
  registeredOn: string;
  registry: string;
  state: '有效' | '已注销' | '已撤销';
  spouses: readonly [SeededParty, SeededParty];
}

export const WANG_JIANGUO: SeededParty = { name: '王建国', idNumber: '320102197807120033' };
export const ZHAO_LIHUA: SeededParty = { name: '赵丽华', idNumber: '440304199205180047' };
export const LI_MEI: SeededParty = { name: '李梅', idNumber: '330106198503150120' };
export const CHEN_ZHIQIANG: SeededParty = { name: '陈志强', idNumber: '510107200110230058' };
export const MA_XIAOYAN: SeededParty = { name: '马晓燕', idNumber: '640104199607010063' };
export const ZHOU_MING: SeededParty = { name: '周明', idNumber: '640104199403120033' };
export const ZHANG_SAN: SeededParty = { name: '张三', idNumber: '11010519491231002X' };
export const SUN_HONG: SeededParty = { name: '孙红', idNumber: '330106198309210011' };
/** Valid, and in no marriage record. */
export const MCA_UNKNOWN_ID_NUMBER = '330102199001010071';

export const seededMarriages: readonly SeededMarriage[] = [
  {
    certNo: 'J320102-2019-000517',
    registeredOn: '2019年05月20日',
    registry: '南京市玄武区民政局婚姻登记处',
    state: '有效',
    spouses: [WANG_JIANGUO, ZHAO_LIHUA],
  },
  {
    certNo: 'J330106-2023-000417',
    registeredOn: '2023年10月08日',
    registry: '杭州市西湖区民政局婚姻登记处',
    state: '有效',
    spouses: [CHEN_ZHIQIANG, LI_MEI],
  },
  {
    certNo: 'J640104-2018-000214',
    registeredOn: '2018年02月14日',
    registry: '银川市兴庆区民政局婚姻登记处',
    state: '已注销',
    spouses: [ZHOU_MING, MA_XIAOYAN],
  },
  {
    certNo: 'J110105-1975-000031',
    registeredOn: '1975年06月01日',
    registry: '北京市朝阳区革命委员会民政组',
    state: '已撤销',
    spouses: [ZHANG_SAN, SUN_HONG],
  },
];

/** The marriage record of a person (the latest, when there were several), if any. */
export function marriageOf(idNumber: string): SeededMarriage | undefined {
  return [...seededMarriages]
    .reverse()
    .find((marriage) => marriage.spouses.some((spouse) => spouse.idNumber === idNumber));
}
