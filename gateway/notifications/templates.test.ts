/**
 * Every template exists in Chinese and English, uses exactly the parameters it declares, renders
 * with them, and carries nothing about the applicant; reasons are cleaned before they are passed on.
 */
import { describe, expect, it } from 'vitest';
import { maskMobile, isMobileNumber } from './mobile.js';
import {
  SUPERVISION_WARNING,
  REASON_MAX_CHARS,
  defaultTemplateCode,
  formatDate,
  notificationLanguages,
  notificationTemplates,
  notifiedEventKinds,
  reasonParam,
  renderTemplate,
  templateIds,
  variablesOf,
  type TemplateParam,
} from './templates.js';

const SAMPLE: Record<TemplateParam, string> = {
  itemName: '企业设立登记',
  caseNumber: 'OW20261218000001',
  dueOn: '2026年12月23日',
  reason: '该不动产已被查封',
  centreName: '西安市政务服务中心',
  address: '西安市未央区凤城八路109号',
  pickupCode: '048213',
  carrier: '顺丰速运',
  trackingNumber: 'SF1400000000001',
  days: '3',
};

describe('notification templates', () => {
  it('has every template in every language, with the variables it declares and no others', () => {
    expect(templateIds.length).toBe(17);
    for (const id of templateIds) {
      const template = notificationTemplates[id];
      for (const language of notificationLanguages) {
        const text = template.text[language];
        expect(text.length, `${id} ${language}`).toBeGreaterThan(10);
        expect(new Set(variablesOf(text)), `${id} ${language}`).toEqual(new Set(template.params));
      }
    }
  });

  it('renders each template with its parameters, and refuses to render one with a parameter missing', () => {
    for (const id of templateIds) {
      const params = Object.fromEntries(notificationTemplates[id].params.map((name) => [name, SAMPLE[name]]));
      for (const language of notificationLanguages) {
        const rendered = renderTemplate(id, language, params);
        expect(rendered, `${id} ${language}`).not.toMatch(/\$\{/);
        for (const value of Object.values(params)) expect(rendered).toContain(value);
      }
      const [first] = notificationTemplates[id].params;
      const { [first]: _dropped, ...missing } = params;
      expect(() => renderTemplate(id, 'zh-CN', missing)).toThrow(`needs ${first}`);
    }
    expect(renderTemplate('case_accepted', 'zh-CN', SAMPLE)).toBe(
      '您的企业设立登记已受理，受理编号OW20261218000001，承诺2026年12月23日前办结。',
    );
    expect(renderTemplate('case_completed_pickup', 'en', { ...SAMPLE, itemName: 'enterprise establishment' })).toBe(
      'Your application for enterprise establishment (case OW20261218000001) has been completed. Please collect the ' +
        'result at 西安市政务服务中心 (西安市未央区凤城八路109号) with your identity document.',
    );
  });

  it('covers every notified event kind, and asks for nothing about the applicant', () => {
    expect(new Set(templateIds.map((id) => notificationTemplates[id].event))).toEqual(
      new Set([...notifiedEventKinds, SUPERVISION_WARNING]),
    );
    // A pick-up code is a one-time secret of the case, not something about the applicant.
    const allowed = new Set<string>([
      'itemName',
      'caseNumber',
      'dueOn',
      'reason',
      'centreName',
      'address',
      'pickupCode',
      'carrier',
      'trackingNumber',
      'days',
    ]);
    for (const id of templateIds)
      for (const param of notificationTemplates[id].params) expect(allowed.has(param), `${id}: ${param}`).toBe(true);
  });

  it('names default platform codes per template and language', () => {
    expect(defaultTemplateCode('case_accepted', 'zh-CN')).toBe('OW_CASE_ACCEPTED');
    expect(defaultTemplateCode('case_rejected_reason', 'en')).toBe('OW_CASE_REJECTED_REASON_EN');
    expect(
      new Set(templateIds.flatMap((id) => notificationLanguages.map((language) => defaultTemplateCode(id, language))))
        .size,
    ).toBe(templateIds.length * 2);
  });

  it('writes dates as each language does', () => {
    expect(formatDate('2026-01-05', 'zh-CN')).toBe('2026年1月5日');
    expect(formatDate('2026-01-05', 'en')).toBe('2026-01-05');
  });
});

describe('reasons and numbers', () => {
  it('cleans a department reason: identifiers masked, brackets and control characters gone, closing punctuation dropped, capped', () => {
    expect(reasonParam('该不动产已被杭州市西湖区人民法院查封。')).toBe('该不动产已被杭州市西湖区人民法院查封');
    expect(reasonParam('申请人11010519491231002X户口不在本辖区')).toBe('申请人110105********002X户口不在本辖区');
    expect(reasonParam('【通知】请补充\n购房合同；')).toBe('通知 请补充 购房合同');
    expect(reasonParam('张三请补充股东会决议，联系13812345678', ['张三'])).toBe('张*请补充股东会决议，联系138****5678');
    expect(reasonParam(null)).toBe('');
    expect(reasonParam('。')).toBe('');
    const long = reasonParam('请补充'.repeat(40));
    expect([...long].length).toBe(REASON_MAX_CHARS);
    expect(long.endsWith('…')).toBe(true);
  });

  it('accepts mainland mobile numbers only, and masks them as 138****1234', () => {
    for (const good of ['13812341234', '19912345678', '14700000000']) expect(isMobileNumber(good), good).toBe(true);
    for (const bad of [
      '12812341234',
      '1381234123',
      '138123412345',
      '+8613812341234',
      '138 1234 1234',
      '1381234123a',
      '',
    ])
      expect(isMobileNumber(bad), bad).toBe(false);
    expect(maskMobile('13812341234')).toBe('138****1234');
  });
});
