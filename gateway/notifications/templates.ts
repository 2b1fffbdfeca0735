/**
 * The messages an applicant gets about their case, one template per kind of news, each in
 * Simplified Chinese (the default) and English. Chinese SMS platforms send only templates they
 * approved in advance (模板审核) and fill in the variables themselves, so the gateway sends a
 * template's code and its parameters, never text; these texts are what gets approved (and what the
 * simulator and the tests render).
 *
 * A template needs only what the applicant needs to recognise the case and act: the item's name,
 * the case number, a date, a department's stated reason, where to collect the result. Never an ID
 * number, a name or anything else about the applicant: the text goes through the platform and
 * the operators' networks, and lies on a phone's lock screen.
 */
import { maskPersonalText } from '../platform/identifier-masking.js';

export const notificationLanguages = ['zh-CN', 'en'] as const;
export type NotificationLanguage = (typeof notificationLanguages)[number];

/** Every parameter any template takes. */
export type TemplateParam =
  | 'itemName'
  | 'caseNumber'
  | 'dueOn'
  | 'reason'
  | 'centreName'
  | 'address'
  | 'pickupCode'
  | 'carrier'
  | 'trackingNumber'
  | 'days';

/** The case events applicants are told about (`case_events.kind`). */
export const notifiedEventKinds = [
  'submitted',
  'clock_stopped',
  'completed',
  'rejected',
  'partially_rejected',
  'result_ready',
  'result_shipped',
  'result_issued',
] as const;
export type NotifiedEventKind = (typeof notifiedEventKinds)[number];

/** What a supervision warning to a department's chief representative tells about (no case event: a date reached). */
export const SUPERVISION_WARNING = 'supervision_warning';

export interface NotificationTemplate {
  /** The event it tells about (a supervision warning is no case event: see supervision-warnings.ts). */
  event: NotifiedEventKind | typeof SUPERVISION_WARNING;
  /** When it is chosen over the other templates of its event. */
  when: string;
  params: readonly TemplateParam[];
  text: Record<NotificationLanguage, string>;
}

export const notificationTemplates = {
  // To a department's chief representative at the centre, not to the applicant: the department's
  // part of a case nears or passes its due date. Nothing about the applicant, as for the others.
  // 督办提醒 is written without 【】: platforms keep those brackets for the sign name.
  supervision_approaching: {
    event: SUPERVISION_WARNING,
    when: "a department's part of a case has used the warning share of its promised days (to the department's chief representative)",
    params: ['itemName', 'caseNumber', 'dueOn'],
    text: {
      'zh-CN': '督办提醒：您部门承办的${itemName}（受理编号${caseNumber}）将于${dueOn}到期，请抓紧办理。',
      en: 'Supervision reminder: ${itemName} (case ${caseNumber}), handled by your department, is due on ${dueOn}. Please complete it in time.',
    },
  },
  supervision_overdue: {
    event: SUPERVISION_WARNING,
    when: "a department's part of a case is past its due date (to the department's chief representative)",
    params: ['itemName', 'caseNumber', 'dueOn', 'days'],
    text: {
      'zh-CN':
        '督办提醒：您部门承办的${itemName}（受理编号${caseNumber}）应于${dueOn}办结，已超期${days}个工作日，请立即办理。',
      en: 'Supervision reminder: ${itemName} (case ${caseNumber}), handled by your department, was due on ${dueOn} and is ${days} working days overdue. Please complete it now.',
    },
  },
  case_accepted: {
    event: 'submitted',
    when: 'the case was submitted and accepted (受理)',
    params: ['itemName', 'caseNumber', 'dueOn'],
    text: {
      'zh-CN': '您的${itemName}已受理，受理编号${caseNumber}，承诺${dueOn}前办结。',
      en: 'Your application for ${itemName} has been accepted, case number ${caseNumber}. It will be completed by ${dueOn}.',
    },
  },
  case_supplement: {
    event: 'clock_stopped',
    when: 'a department waits for the applicant (补正) and gave no reason',
    params: ['itemName', 'caseNumber'],
    text: {
      'zh-CN': '您的${itemName}（受理编号${caseNumber}）需补正材料，请按受理窗口的告知补齐，补正期间办理时限暂停计算。',
      en: 'Your application for ${itemName} (case ${caseNumber}) needs more documents. Please supply them as the service window tells you; the time limit is paused meanwhile.',
    },
  },
  case_supplement_reason: {
    event: 'clock_stopped',
    when: 'a department waits for the applicant (补正) and said what is needed',
    params: ['itemName', 'caseNumber', 'reason'],
    text: {
      'zh-CN': '您的${itemName}（受理编号${caseNumber}）需补正材料：${reason}。补正期间办理时限暂停计算。',
      en: 'Your application for ${itemName} (case ${caseNumber}) needs more documents: ${reason}. The time limit is paused meanwhile.',
    },
  },
  case_completed: {
    event: 'completed',
    when: 'the case is completed (办结) and the centre handling it has no address on file',
    params: ['itemName', 'caseNumber'],
    text: {
      'zh-CN': '您的${itemName}（受理编号${caseNumber}）已办结。',
      en: 'Your application for ${itemName} (case ${caseNumber}) has been completed.',
    },
  },
  case_completed_pickup: {
    event: 'completed',
    when: 'the case is completed (办结): where to collect the result',
    params: ['itemName', 'caseNumber', 'centreName', 'address'],
    text: {
      'zh-CN':
        '您的${itemName}（受理编号${caseNumber}）已办结，请携带本人有效身份证件到${centreName}（${address}）领取办理结果。',
      en: 'Your application for ${itemName} (case ${caseNumber}) has been completed. Please collect the result at ${centreName} (${address}) with your identity document.',
    },
  },
  case_not_accepted: {
    event: 'rejected',
    when: 'a department refused the submission itself (不予受理) without a reason',
    params: ['itemName', 'caseNumber'],
    text: {
      'zh-CN': '您的${itemName}（受理编号${caseNumber}）不予受理，详情请咨询受理窗口。',
      en: 'Your application for ${itemName} (case ${caseNumber}) was not accepted. Please ask the service window for details.',
    },
  },
  case_not_accepted_reason: {
    event: 'rejected',
    when: 'a department refused the submission itself (不予受理) and gave its reason',
    params: ['itemName', 'caseNumber', 'reason'],
    text: {
      'zh-CN': '您的${itemName}（受理编号${caseNumber}）不予受理，原因：${reason}。',
      en: 'Your application for ${itemName} (case ${caseNumber}) was not accepted: ${reason}.',
    },
  },
  case_rejected: {
    event: 'rejected',
    when: 'a department decided against the case (不予许可) without a reason',
    params: ['itemName', 'caseNumber'],
    text: {
      'zh-CN': '您的${itemName}（受理编号${caseNumber}）审批结果为不予许可，详情请咨询受理窗口。',
      en: 'Your application for ${itemName} (case ${caseNumber}) has been refused. Please ask the service window for details.',
    },
  },
  case_rejected_reason: {
    event: 'rejected',
    when: 'a department decided against the case (不予许可) and gave its reason',
    params: ['itemName', 'caseNumber', 'reason'],
    text: {
      'zh-CN': '您的${itemName}（受理编号${caseNumber}）审批结果为不予许可，原因：${reason}。',
      en: 'Your application for ${itemName} (case ${caseNumber}) has been refused: ${reason}.',
    },
  },
  case_partially_rejected: {
    event: 'partially_rejected',
    when: 'a joint case ended with some parts refused, without a reason',
    params: ['itemName', 'caseNumber'],
    text: {
      'zh-CN': '您的${itemName}（受理编号${caseNumber}）已办结，其中部分事项不予许可，详情请咨询受理窗口。',
      en: 'Your application for ${itemName} (case ${caseNumber}) has been decided; part of it was refused. Please ask the service window for details.',
    },
  },
  case_partially_rejected_reason: {
    event: 'partially_rejected',
    when: 'a joint case ended with some parts refused, with the refusing department’s reason',
    params: ['itemName', 'caseNumber', 'reason'],
    text: {
      'zh-CN': '您的${itemName}（受理编号${caseNumber}）已办结，其中部分事项不予许可，原因：${reason}。',
      en: 'Your application for ${itemName} (case ${caseNumber}) has been decided; part of it was refused: ${reason}.',
    },
  },
  // The result is ready at the window (gateway/results): the pick-up code is said there. It also
  // says the case is completed, so a pick-up case gets this instead of case_completed*.
  result_ready_pickup: {
    event: 'result_ready',
    when: 'the result waits at the centre handling the case: its pick-up code and address',
    params: ['itemName', 'caseNumber', 'pickupCode', 'centreName', 'address'],
    text: {
      'zh-CN':
        '您的${itemName}（受理编号${caseNumber}）办理结果已可领取，取件码${pickupCode}，请携带本人有效身份证件到${centreName}（${address}）领取，取件码请勿告知他人。',
      en: 'The result of your application for ${itemName} (case ${caseNumber}) is ready. Collect it at ${centreName} (${address}) with your identity document and the pick-up code ${pickupCode}; do not share the code.',
    },
  },
  result_ready_pickup_window: {
    event: 'result_ready',
    when: 'the result waits at the window and the centre has no address on file: its pick-up code',
    params: ['itemName', 'caseNumber', 'pickupCode'],
    text: {
      'zh-CN':
        '您的${itemName}（受理编号${caseNumber}）办理结果已可领取，取件码${pickupCode}，请携带本人有效身份证件到受理窗口领取，取件码请勿告知他人。',
      en: 'The result of your application for ${itemName} (case ${caseNumber}) is ready. Collect it at the service window with your identity document and the pick-up code ${pickupCode}; do not share the code.',
    },
  },
  result_shipped: {
    event: 'result_shipped',
    when: 'the result was handed to the courier: the carrier and the tracking number',
    params: ['itemName', 'caseNumber', 'carrier', 'trackingNumber'],
    text: {
      'zh-CN':
        '您的${itemName}（受理编号${caseNumber}）办理结果已由${carrier}寄出，运单号${trackingNumber}，请注意查收。',
      en: 'The result of your application for ${itemName} (case ${caseNumber}) has been sent by ${carrier}, tracking number ${trackingNumber}.',
    },
  },
  // Electronic (电子证照): says the case is completed too, so an issued case gets this instead of
  // case_completed*. How to download, never the certificate's number or holder.
  result_issued_electronic: {
    event: 'result_issued',
    when: 'the result was issued as an electronic certificate: download it from the progress look-up',
    params: ['itemName', 'caseNumber'],
    text: {
      'zh-CN':
        '您的${itemName}（受理编号${caseNumber}）已办结，电子证照已签发，请凭受理编号和证件号码后四位在办件进度查询中下载。',
      en: 'Your application for ${itemName} (case ${caseNumber}) has been completed and the electronic certificate issued. Download it from the progress look-up with the case number and the last 4 characters of your identifier.',
    },
  },
} as const satisfies Record<string, NotificationTemplate>;

export type TemplateId = keyof typeof notificationTemplates;
export const templateIds = Object.keys(notificationTemplates) as TemplateId[];

export function isTemplateId(value: string): value is TemplateId {
  return Object.hasOwn(notificationTemplates, value);
}

/**
 * The code a template is approved under when the configuration names none: `OW_CASE_ACCEPTED`,
 * `OW_CASE_ACCEPTED_EN`. Deployments map their platform's codes in NOTIFICATIONS_JSON.
 */
export function defaultTemplateCode(id: TemplateId, language: NotificationLanguage): string {
  return `OW_${id.toUpperCase()}${language === 'en' ? '_EN' : ''}`;
}

const VARIABLE = /\$\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/** The variables a template text uses, in order. */
export function variablesOf(text: string): string[] {
  return [...text.matchAll(VARIABLE)].map((match) => match[1]!);
}

/** The text as the platform renders it (without the 【sign name】); throws when a parameter is missing. */
export function renderTemplate(
  id: TemplateId,
  language: NotificationLanguage,
  params: Readonly<Record<string, string>>,
): string {
  const template: NotificationTemplate = notificationTemplates[id];
  return template.text[language].replace(VARIABLE, (_whole, name: string) => {
    const value = params[name];
    if (value === undefined || value === '') throw new Error(`template ${id} (${language}) needs ${name}`);
    return value;
  });
}

/** A date as the language writes it: 2026年12月25日, 2026-12-25. */
export function formatDate(day: string, language: NotificationLanguage): string {
  if (language === 'en') return day;
  const [year, month, date] = day.split('-').map(Number);
  return `${year}年${month}月${date}日`;
}

/** Longest department reason passed on (platforms cap variables; the rest is at the window). */
export const REASON_MAX_CHARS = 60;

/**
 * A department's reason as a template variable: identifiers masked (a reason quoting an ID number
 * must not carry it to a phone), brackets the platform reserves for sign names and control
 * characters dropped, white space collapsed, closing punctuation dropped (the template ends the
 * sentence), at most REASON_MAX_CHARS characters. Empty: no usable reason.
 */
export function reasonParam(text: string | null | undefined, names: readonly string[] = []): string {
  if (!text) return '';
  const cleaned = maskPersonalText(text, names)
    .replace(/[【】[\]\u0000-\u001f\u007f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[。．.;；,，!！\s]+$/u, '');
  const chars = [...cleaned];
  return chars.length <= REASON_MAX_CHARS ? cleaned : `${chars.slice(0, REASON_MAX_CHARS - 1).join('')}…`;
}
