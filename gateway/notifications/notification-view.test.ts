import { describe, expect, it } from 'vitest';
import { type NotificationRow, notificationView } from './notifications.js';

const at = new Date('2026-12-18T02:00:00.000Z');
const dead: NotificationRow = {
  id: 'ntf_1',
  caseId: 'case_1',
  eventId: 1,
  eventKind: 'submitted',
  recipientKind: 'applicant',
  warningKey: null,
  warning: null,
  mobile: '13812345678',
  template: 'case_submitted',
  templateCode: 'SMS_1',
  language: 'zh-CN',
  params: {},
  status: 'dead',
  attempts: 5,
  nextAttemptAt: at,
  leaseOwner: null,
  leaseUntil: null,
  lastError: 'isv.MOBILE_NUMBER_ILLEGAL: 13812345678 (证件 11010519491231002X)',
  slotAt: null,
  bizId: null,
  sentAt: null,
  receiptCode: null,
  receiptAt: null,
  receiptCheckedAt: null,
  deadAt: at,
  createdAt: at,
};

describe('notificationView', () => {
  it("masks a mobile number and an ID number an SMS provider's error quoted", () => {
    const view = notificationView(dead, 'OW2026121800000001');
    expect(view.lastError).toBe('isv.MOBILE_NUMBER_ILLEGAL: 138****5678 (证件 110105********002X)');
    expect(view.mobile).toBe('138****5678');
  });
});
