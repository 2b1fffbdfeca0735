import { describe, expect, it } from 'vitest';
import { type DeliveryRow, deliveryView } from './dispatch.js';

const at = new Date('2026-12-18T02:00:00.000Z');
const dead: DeliveryRow = {
  id: 'dlv_1',
  caseId: 'case_1',
  departmentCode: 'PSB',
  stage: 1,
  status: 'dead',
  attempts: 8,
  nextAttemptAt: at,
  leaseOwner: null,
  leaseUntil: null,
  lastError: 'department_error 4001: 证件号11010519491231002X不存在，联系13812345678',
  departmentReference: null,
  departmentStatus: null,
  departmentUpdatedAt: null,
  createdAt: at,
  deliveredAt: null,
  deadAt: at,
  lastPolledAt: null,
  departmentMessage: null,
  cancelStatus: null,
  cancelledAt: null,
};

describe('deliveryView', () => {
  it("masks an ID number and a mobile a department's error quoted, as the case view does", () => {
    const view = deliveryView(dead, 'OW2026121800000001');
    expect(view.lastError).toBe('department_error 4001: 证件号110105********002X不存在，联系138****5678');
  });
});

describe('deliveryView with the case names', () => {
  it("masks the case's names in a department's words and in an error", () => {
    const view = deliveryView(
      { ...dead, departmentMessage: '张三、李梅请到场补正', lastError: 'department_error: 张三不在册' },
      'OW2026121800000001',
      ['张三', '李梅'],
    );
    expect(view.departmentMessage).not.toMatch(/张三|李梅/);
    expect(view.lastError).not.toContain('张三');
    expect(view.departmentMessage).toContain('请到场补正');
  });
});
