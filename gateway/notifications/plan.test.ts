/** Which template each case event becomes, with what parameters, in each language. */
import { describe, expect, it } from 'vitest';
import { type EventFacts, planMessage } from './plan.js';
import { renderTemplate } from './templates.js';

const base: EventFacts = {
  kind: 'submitted',
  detail: { acceptedOn: '2026-12-18', dueOn: '2026-12-23' },
  caseNumber: 'OW20261218000007',
  dueOn: '2026-12-25',
  item: { name: 'Enterprise establishment registration', nameZh: '企业设立登记' },
  centre: null,
  names: [],
  deliveries: [],
};
const at = (iso: string) => new Date(iso);

describe('planning a message from a case event', () => {
  it('accepts with the due date the submission set, in each language', () => {
    expect(planMessage(base, 'zh-CN')).toEqual({
      template: 'case_accepted',
      params: { itemName: '企业设立登记', caseNumber: 'OW20261218000007', dueOn: '2026年12月23日' },
    });
    expect(planMessage(base, 'en')).toEqual({
      template: 'case_accepted',
      params: {
        itemName: 'Enterprise establishment registration',
        caseNumber: 'OW20261218000007',
        dueOn: '2026-12-23',
      },
    });
    expect(planMessage({ ...base, detail: {}, dueOn: null }, 'zh-CN')).toBeNull();
  });

  it('asks for supplements with the words of the department waiting, the latest to ask', () => {
    const facts: EventFacts = {
      ...base,
      kind: 'clock_stopped',
      deliveries: [
        {
          status: 'delivered',
          departmentStatus: 'awaiting_applicant',
          departmentMessage: '请补充公司章程原件。',
          departmentUpdatedAt: at('2026-12-19T02:00:00Z'),
        },
        {
          status: 'delivered',
          departmentStatus: 'awaiting_applicant',
          departmentMessage: '请补充租赁合同',
          departmentUpdatedAt: at('2026-12-20T02:00:00Z'),
        },
        {
          status: 'delivered',
          departmentStatus: 'in_progress',
          departmentMessage: '办理中',
          departmentUpdatedAt: at('2026-12-21T02:00:00Z'),
        },
      ],
    };
    const planned = planMessage(facts, 'zh-CN');
    expect(planned).toEqual({
      template: 'case_supplement_reason',
      params: { itemName: '企业设立登记', caseNumber: 'OW20261218000007', reason: '请补充租赁合同' },
    });
    expect(renderTemplate(planned!.template, 'zh-CN', planned!.params)).toBe(
      '您的企业设立登记（受理编号OW20261218000007）需补正材料：请补充租赁合同。补正期间办理时限暂停计算。',
    );
    expect(planMessage({ ...facts, deliveries: [] }, 'zh-CN')?.template).toBe('case_supplement');
  });

  it('completes with where to collect the result when the centre has an address', () => {
    expect(planMessage({ ...base, kind: 'completed' }, 'zh-CN')).toEqual({
      template: 'case_completed',
      params: { itemName: '企业设立登记', caseNumber: 'OW20261218000007' },
    });
    expect(
      planMessage({ ...base, kind: 'completed', centre: { name: '雁塔区政务服务中心', address: ' ' } }, 'zh-CN')
        ?.template,
    ).toBe('case_completed');
    expect(
      planMessage(
        { ...base, kind: 'completed', centre: { name: '雁塔区政务服务中心', address: '西安市雁塔区雁塔北路1号' } },
        'zh-CN',
      ),
    ).toEqual({
      template: 'case_completed_pickup',
      params: {
        itemName: '企业设立登记',
        caseNumber: 'OW20261218000007',
        centreName: '雁塔区政务服务中心',
        address: '西安市雁塔区雁塔北路1号',
      },
    });
  });

  it('tells a refusal at submission (不予受理) from a decision against the case (不予许可), with the first refusing department’s reason', () => {
    const refusedAtSubmission: EventFacts = {
      ...base,
      kind: 'rejected',
      deliveries: [
        { status: 'cancelled', departmentStatus: null, departmentMessage: null, departmentUpdatedAt: null },
        {
          status: 'refused',
          departmentStatus: 'rejected',
          departmentMessage: '该不动产已被查封，不予办理转移登记。',
          departmentUpdatedAt: at('2026-12-18T03:00:00Z'),
        },
      ],
    };
    expect(planMessage(refusedAtSubmission, 'zh-CN')).toMatchObject({
      template: 'case_not_accepted_reason',
      params: { reason: '该不动产已被查封，不予办理转移登记' },
    });
    const decided: EventFacts = {
      ...base,
      kind: 'rejected',
      deliveries: [
        {
          status: 'delivered',
          departmentStatus: 'rejected',
          departmentMessage: '申请人110105194912310021名下已有企业',
          departmentUpdatedAt: at('2026-12-19T03:00:00Z'),
        },
        {
          status: 'delivered',
          departmentStatus: 'rejected',
          departmentMessage: '后来的理由',
          departmentUpdatedAt: at('2026-12-20T03:00:00Z'),
        },
      ],
    };
    expect(planMessage(decided, 'zh-CN')).toMatchObject({
      template: 'case_rejected_reason',
      params: { reason: '申请人110105********0021名下已有企业' },
    });
    expect(
      planMessage(
        {
          ...decided,
          deliveries: [
            { status: 'delivered', departmentStatus: 'rejected', departmentMessage: null, departmentUpdatedAt: null },
          ],
        },
        'zh-CN',
      )?.template,
    ).toBe('case_rejected');
    expect(
      planMessage(
        {
          ...refusedAtSubmission,
          deliveries: [
            { status: 'refused', departmentStatus: 'rejected', departmentMessage: '', departmentUpdatedAt: null },
          ],
        },
        'zh-CN',
      )?.template,
    ).toBe('case_not_accepted');
  });

  it('tells a partial refusal of a joint case, with the reason when there is one', () => {
    const partial: EventFacts = {
      ...base,
      kind: 'partially_rejected',
      deliveries: [
        {
          status: 'delivered',
          departmentStatus: 'completed',
          departmentMessage: '已办结',
          departmentUpdatedAt: at('2026-12-19T03:00:00Z'),
        },
        {
          status: 'delivered',
          departmentStatus: 'rejected',
          departmentMessage: '迁入地址不符合落户条件',
          departmentUpdatedAt: at('2026-12-20T03:00:00Z'),
        },
      ],
    };
    expect(planMessage(partial, 'en')).toEqual({
      template: 'case_partially_rejected_reason',
      params: {
        itemName: 'Enterprise establishment registration',
        caseNumber: 'OW20261218000007',
        reason: '迁入地址不符合落户条件',
      },
    });
    expect(planMessage({ ...partial, deliveries: [] }, 'zh-CN')?.template).toBe('case_partially_rejected');
  });

  it('tells a result at the window with its pick-up code instead of the completion, and a posted one with carrier and tracking number', () => {
    const centre = { name: '未央区政务服务中心', address: '西安市未央区凤城八路109号' };
    const pickup = { method: 'window_pickup', pickupCode: '048213', carrier: null, trackingNumber: null };
    expect(planMessage({ ...base, kind: 'completed', centre, result: pickup }, 'zh-CN')).toBeNull();
    const ready = planMessage(
      { ...base, kind: 'result_ready', detail: { method: 'window_pickup' }, centre, result: pickup },
      'zh-CN',
    );
    expect(ready).toEqual({
      template: 'result_ready_pickup',
      params: {
        itemName: '企业设立登记',
        caseNumber: 'OW20261218000007',
        pickupCode: '048213',
        centreName: centre.name,
        address: centre.address,
      },
    });
    expect(renderTemplate(ready!.template, 'zh-CN', ready!.params)).toBe(
      '您的企业设立登记（受理编号OW20261218000007）办理结果已可领取，取件码048213，请携带本人有效身份证件到未央区政务服务中心（西安市未央区凤城八路109号）领取，取件码请勿告知他人。',
    );
    expect(
      planMessage({ ...base, kind: 'result_ready', detail: {}, result: { ...pickup, pickupCode: null } }, 'zh-CN'),
    ).toBeNull();
    const posted = { method: 'express', pickupCode: null, carrier: '顺丰速运', trackingNumber: 'SF1400000000001' };
    expect(planMessage({ ...base, kind: 'completed', centre, result: posted }, 'zh-CN')?.template).toBe(
      'case_completed',
    );
    const shipped = planMessage(
      {
        ...base,
        kind: 'result_shipped',
        detail: { carrier: '顺丰速运', trackingNumber: 'SF1400000000001' },
        result: posted,
      },
      'en',
    );
    expect(renderTemplate(shipped!.template, 'en', shipped!.params)).toBe(
      'The result of your application for Enterprise establishment registration (case OW20261218000007) has been ' +
        'sent by 顺丰速运, tracking number SF1400000000001.',
    );
  });

  it('tells an electronic result once it is issued instead of the completion; one still awaiting its document gets the plain completion', () => {
    const centre = { name: '未央区政务服务中心', address: '西安市未央区凤城八路109号' };
    const issued = { method: 'electronic', status: 'issued', pickupCode: null, carrier: null, trackingNumber: null };
    expect(planMessage({ ...base, kind: 'completed', centre, result: issued }, 'zh-CN')).toBeNull();
    const told = planMessage(
      { ...base, kind: 'result_issued', detail: { method: 'electronic' }, centre, result: issued },
      'zh-CN',
    );
    expect(told).toEqual({
      template: 'result_issued_electronic',
      params: { itemName: '企业设立登记', caseNumber: 'OW20261218000007' },
    });
    expect(renderTemplate(told!.template, 'zh-CN', told!.params)).toBe(
      '您的企业设立登记（受理编号OW20261218000007）已办结，电子证照已签发，请凭受理编号和证件号码后四位在办件进度查询中下载。',
    );
    const waiting = { ...issued, status: 'awaiting_document' };
    expect(planMessage({ ...base, kind: 'completed', centre, result: waiting }, 'zh-CN')?.template).toBe(
      'case_completed',
    );
  });
});
