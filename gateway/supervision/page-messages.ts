/**
 * Every text of the supervision page, in Simplified Chinese (the default) and English. A text
 * with `{name}` placeholders is filled by `pageText`; the terms are those service centres use.
 */
import type { Bilingual, Language } from '../platform/language.js';

export const pageMessages = {
  pageTitle: { 'zh-CN': '电子监察 — onewindow', en: 'Supervision — onewindow' },
  heading: { 'zh-CN': '电子监察', en: 'Supervision' },
  todayAndViewer: {
    'zh-CN': '今天 {today}（北京时间）· 当前登录：{viewer}',
    en: 'Today {today} (China Standard Time) · signed in as {viewer}',
  },
  switchLanguage: { 'zh-CN': 'English（英文）', en: '中文' },
  periodFrom: { 'zh-CN': '自', en: 'From' },
  periodTo: { 'zh-CN': '至', en: 'to' },
  periodCentre: { 'zh-CN': '中心', en: 'Centre' },
  periodShow: { 'zh-CN': '查询', en: 'Show' },
  figuresAtAGlance: { 'zh-CN': '主要指标', en: 'Figures at a glance' },
  onTimeLabel: { 'zh-CN': '按时办结率', en: 'On-time completion' },
  onTimeNote: {
    'zh-CN': '{from} – {to} 办结 {concluded} 件，按时办结 {onTime} 件',
    en: '{onTime} of {concluded} cases concluded {from} – {to} on time',
  },
  overdueLabel: { 'zh-CN': '超期办件', en: 'Overdue cases' },
  deferredOverdueNote: { 'zh-CN': '容缺材料超期未补 {count} 件', en: '{count} deferred material(s) overdue' },
  approachingLabel: { 'zh-CN': '临近到期办件', en: 'Approaching their deadline' },
  handedInLabel: { 'zh-CN': '件均提交材料', en: 'Handed in per case' },
  handedInNote: {
    'zh-CN': '应交材料 {required} 份，实交 {handedIn} 份',
    en: '{handedIn} of {required} required materials',
  },
  deadLetterLabel: { 'zh-CN': '投递失败（死信）', en: 'Dead letters' },
  retriedNote: { 'zh-CN': '{count} 次投递经过重试', en: '{count} deliveries needed retries' },
  warningsHeading: { 'zh-CN': '办件时限预警', en: 'Deadline warnings' },
  warningsExplanation: {
    'zh-CN': '办件用去承诺时限的 {share} 即发出临近到期预警，过了到期日即为超期。等待申请人补正期间暂停计时。',
    en:
      'A case warns when it has used {share} of its promised working days, and is overdue after its due date. ' +
      'The clock of a case awaiting the applicant is stopped.',
  },
  provisionalNotice: {
    'zh-CN':
      '{years} 年的节假日尚未导入：这些日子只按星期计算，标 * 的数字为暂估值。管理员可通过 PUT /v1/calendar/years/{year} 导入。',
    en:
      'The holidays of {years} are not loaded: its days count by weekday alone, so the figures marked * are ' +
      'provisional. An administrator loads them with PUT /v1/calendar/years/{year}.',
  },
  noCaseWarnings: { 'zh-CN': '没有临近到期或超期的办件。', en: 'No case is close to or past its deadline.' },
  columnLevel: { 'zh-CN': '预警级别', en: 'Level' },
  columnCase: { 'zh-CN': '办件', en: 'Case' },
  columnItem: { 'zh-CN': '事项', en: 'Item' },
  columnStatus: { 'zh-CN': '状态', en: 'Status' },
  columnAccepted: { 'zh-CN': '受理日期', en: 'Accepted' },
  columnDue: { 'zh-CN': '到期日', en: 'Due' },
  columnDaysUsed: { 'zh-CN': '已用工作日', en: 'Working days used' },
  columnDaysLeft: { 'zh-CN': '工作日', en: 'Working days' },
  columnDepartments: { 'zh-CN': '部门', en: 'Departments' },
  columnMaterial: { 'zh-CN': '材料', en: 'Material' },
  levelOverdue: { 'zh-CN': '超期', en: 'Overdue' },
  levelApproaching: { 'zh-CN': '临近到期', en: 'Approaching' },
  daysUsed: { 'zh-CN': '已用 {used} / {promised}（{share}）', en: '{used} of {promised} ({share})' },
  daysLeft: { 'zh-CN': '剩余 {days} 天', en: '{days} left' },
  dueToday: { 'zh-CN': '今日到期', en: 'due today' },
  daysOver: { 'zh-CN': '超期 {days} 天', en: '{days} over' },
  pastDue: { 'zh-CN': '已过期', en: 'past due' },
  deferredHeading: {
    'zh-CN': '容缺受理材料逾期未补',
    en: 'Materials accepted missing (容缺) and not supplied in time',
  },
  none: { 'zh-CN': '无', en: 'None' },
  cancellationsHeading: {
    'zh-CN': '联办件退回，需人工撤件',
    en: 'Refused joint cases to withdraw by hand (联办件退回，需人工撤件)',
  },
  columnWithdrawFrom: { 'zh-CN': '撤件部门', en: 'Withdraw from' },
  columnRefusedBy: { 'zh-CN': '退回部门', en: 'Refused by' },
  columnSince: { 'zh-CN': '退回时间', en: 'Since' },
  barRequired: { 'zh-CN': '应交', en: 'Required' },
  barHandedIn: { 'zh-CN': '实交', en: 'Handed in' },
  barReused: { 'zh-CN': '复用', en: 'Reused' },
  barFetched: { 'zh-CN': '部门调取', en: 'Fetched' },
  allItems: { 'zh-CN': '全部事项', en: 'All items' },
  chartTitle: {
    'zh-CN': '各事项应交、实交、复用及部门调取的材料',
    en: 'Materials required, handed in, reused and fetched, per item',
  },
  materialsHeading: { 'zh-CN': '材料：实交与应交', en: 'Materials: handed in versus required' },
  materialsFigures: {
    'zh-CN':
      '受理 {cases} 件：应交材料 {required} 份，实交 {handedIn} 份；复用 {reused} 份，从部门调取 {fetched} 份，' +
      '容缺受理 {deferred} 份。',
    en:
      '{cases} cases accepted: {handedIn} materials handed in of {required} required; {reused} reused, ' +
      '{fetched} fetched from departments, {deferred} accepted missing. ',
  },
  materialsPerCase: {
    'zh-CN': '件均提交 {perCase} 份，免于申请人提交 {share}。',
    en: 'Handed in per case: {perCase}. Not asked of the applicant: {share}.',
  },
  noCaseAccepted: { 'zh-CN': '本期没有受理的办件。', en: 'No case was accepted in this period.' },
  departmentsHeading: { 'zh-CN': '部门系统', en: 'Departments' },
  columnDepartment: { 'zh-CN': '部门', en: 'Department' },
  columnBreaker: { 'zh-CN': '熔断器', en: 'Breaker' },
  columnCalls: { 'zh-CN': '调用', en: 'Calls' },
  columnErrors: { 'zh-CN': '错误', en: 'Errors' },
  columnDelivered: { 'zh-CN': '已投递', en: 'Delivered' },
  columnPending: { 'zh-CN': '待投递', en: 'Pending' },
  columnDead: { 'zh-CN': '死信', en: 'Dead' },
  columnRetried: { 'zh-CN': '重试', en: 'Retried' },
  columnLatencyP50: { 'zh-CN': '投递耗时 p50', en: 'Delivery p50' },
  columnLatencyP95: { 'zh-CN': '投递耗时 p95', en: 'Delivery p95' },
  notConfigured: { 'zh-CN': '{code}（未配置）', en: '{code} (not configured)' },
  breakerClosed: { 'zh-CN': '闭合（正常）', en: 'closed' },
  breakerHalfOpen: { 'zh-CN': '半开', en: 'half-open' },
  breakerOpen: { 'zh-CN': '断开', en: 'open' },
  noDepartments: { 'zh-CN': '尚未配置部门系统。', en: 'No department system is configured.' },
  deadLettersHeading: { 'zh-CN': '投递失败（死信）', en: 'Dead letters' },
  noDeadLetters: { 'zh-CN': '没有投递失败的办件。', en: 'No delivery is dead-lettered.' },
  deadLettersExplanation: {
    'zh-CN': '{count} 次投递未能送达，等待管理员处理（排除原因后调用 POST /v1/deliveries/{id}/retry）。',
    en:
      '{count} deliveries could not be delivered and wait for an administrator ' +
      '(POST /v1/deliveries/{id}/retry once the cause is fixed).',
  },
  deadLettersNewest: { 'zh-CN': '仅列出最新的 {count} 条。', en: ' The newest {count} are listed.' },
  columnDelivery: { 'zh-CN': '投递', en: 'Delivery' },
  columnAttempts: { 'zh-CN': '尝试次数', en: 'Attempts' },
  columnLastError: { 'zh-CN': '最后错误', en: 'Last error' },
  columnDeadSince: { 'zh-CN': '失败时间', en: 'Dead since' },
  statusHeading: { 'zh-CN': '本期新建办件（按状态）', en: 'Cases opened in the period, by status' },
  statusOpen: { 'zh-CN': '已建件', en: 'Open' },
  statusSubmitted: { 'zh-CN': '已提交', en: 'Submitted' },
  statusInProgress: { 'zh-CN': '办理中', en: 'In progress' },
  statusAwaitingApplicant: { 'zh-CN': '待申请人补正（暂停计时）', en: 'Awaiting applicant (clock stopped)' },
  statusCompleted: { 'zh-CN': '已办结', en: 'Completed' },
  statusRejected: { 'zh-CN': '不予受理/不予许可', en: 'Rejected' },
  statusPartiallyRejected: {
    'zh-CN': '部分退回（有部门不予办理）',
    en: 'Partly rejected (a department refused its part)',
  },
  deliveryPending: { 'zh-CN': '待投递', en: 'pending' },
  deliveryDelivered: { 'zh-CN': '已投递', en: 'delivered' },
  deliveryDead: { 'zh-CN': '投递失败', en: 'dead' },
  deliveryHeld: { 'zh-CN': '暂缓投递', en: 'held' },
  deliveryRefused: { 'zh-CN': '已退回', en: 'refused' },
  deliveryCancelled: { 'zh-CN': '已撤件', en: 'cancelled' },
  centresHeading: { 'zh-CN': '中心：{name}及下级', en: 'Centres: {name} and below' },
  columnCentre: { 'zh-CN': '中心', en: 'Centre' },
  columnCentreAccepted: { 'zh-CN': '受理', en: 'Accepted' },
  columnOnTime: { 'zh-CN': '按时办结率', en: 'On time' },
  columnOverdue: { 'zh-CN': '超期', en: 'Overdue' },
  columnAverageDays: { 'zh-CN': '平均用时（天）', en: 'Avg. days' },
  columnHandedIn: { 'zh-CN': '实交材料', en: 'Handed in' },
  columnReused: { 'zh-CN': '复用材料', en: 'Reused' },
  columnTransfers: { 'zh-CN': '转办', en: 'Transfers' },
  ratingsHeading: { 'zh-CN': '满意度评价（好差评）', en: 'Satisfaction ratings' },
  ratingsTotals: {
    'zh-CN':
      '{from} – {to}：{ratings} 条评价，平均 {average} 分，差评 {bad} 条（{badShare}），回访按时率 {followUps}。',
    en:
      '{from} – {to}: {ratings} ratings, average {average}, {bad} bad ({badShare}), ' +
      'follow-ups answered on time {followUps}.',
  },
  columnRatings: { 'zh-CN': '评价', en: 'Ratings' },
  columnAverage: { 'zh-CN': '平均分', en: 'Average' },
  columnBad: { 'zh-CN': '差评', en: 'Bad' },
  columnBadShare: { 'zh-CN': '差评率', en: 'Bad share' },
  columnAnsweredOnTime: { 'zh-CN': '回访按时', en: 'Answered on time' },
  columnFollowUpsOverdue: { 'zh-CN': '回访超期', en: 'Overdue' },
  followUpsHeading: { 'zh-CN': '差评回访超期', en: 'Follow-ups of bad ratings past due' },
  columnScore: { 'zh-CN': '评分', en: 'Score' },
  columnAnswerDue: { 'zh-CN': '应答复', en: 'Due' },
  columnOver: { 'zh-CN': '超期', en: 'Over' },
  workingDaysOver: { 'zh-CN': '{days} 个工作日', en: '{days} working days' },
  satisfiedWindowsHeading: { 'zh-CN': '{month} 群众满意窗口', en: '{month} Most satisfying windows' },
  serviceStarsHeading: { 'zh-CN': '{month} 为民服务标兵', en: '{month} Service stars' },
  noRankedWindow: {
    'zh-CN': '暂无达到 {minimum} 条评价的窗口。',
    en: 'No window has {minimum} ratings this month.',
  },
  noRankedOperator: {
    'zh-CN': '暂无达到 {minimum} 条评价的工作人员。',
    en: 'No operator has {minimum} ratings this month.',
  },
  columnRank: { 'zh-CN': '名次', en: 'Rank' },
  columnWindow: { 'zh-CN': '窗口', en: 'Window' },
  columnOperator: { 'zh-CN': '工作人员', en: 'Operator' },
  columnVolume: { 'zh-CN': '办结量', en: 'Volume' },
  columnPoints: { 'zh-CN': '得分', en: 'Points' },
  rankingFormula: {
    'zh-CN':
      '得分 = {rating}×(平均分−1)/4 + {onTime}×按时率 + {volume}×办结量/最高办结量；每月至少 {minimum} 条评价方可参评。',
    en:
      'Points = {rating}·(average − 1)/4 + {onTime}·on-time rate + {volume}·volume/highest volume; ' +
      'ranked with at least {minimum} ratings in the month.',
  },
  trendsHeading: { 'zh-CN': '趋势', en: 'Trends' },
  casesPerDayTitle: {
    'zh-CN': '每日受理与办结件数（{from} 至 {until}）',
    en: 'Cases accepted and concluded per day ({from} to {until})',
  },
  casesPerDayDescription: {
    'zh-CN':
      '柱形为每日受理件数，折线为每日办结件数；共受理 {accepted} 件，办结 {concluded} 件。点击柱形查看当日受理的办件。',
    en: 'Bars: cases accepted each day; line: cases concluded each day. {accepted} accepted and {concluded} concluded in all. A bar links to the cases accepted that day.',
  },
  onTimePerWeekTitle: {
    'zh-CN': '每周按时办结率（近 {weeks} 周，周一至周日）',
    en: 'On-time rate per week (last {weeks} weeks, Monday to Sunday)',
  },
  onTimePerWeekDescription: {
    'zh-CN': '每周办结的办件中按时办结的比例；没有办结的周不画点。点击圆点查看该周办结的办件。',
    en: "The share of the cases concluded each week that were concluded on time; a week without concluded cases has no point. A point links to the week's concluded cases.",
  },
  overduePerDayTitle: {
    'zh-CN': '每日超期办件（{from} 至 {until}）',
    en: 'Cases overdue on each day ({from} to {until})',
  },
  overduePerDayDescription: {
    'zh-CN':
      '当日已过到期日仍未办结的办件数（等待补正暂停计时的不计），按日历日判断；最高 {highest} 件。点击柱形查看当日超期的办件。',
    en: 'Cases past their due date and not concluded on each day (those waiting for the applicant not counted), by calendar date; at most {highest}. A bar links to the cases overdue that day.',
  },
  showFigures: { 'zh-CN': '查看数据表', en: 'Show the figures as a table' },
  seriesAccepted: { 'zh-CN': '受理', en: 'Accepted' },
  seriesConcluded: { 'zh-CN': '办结', en: 'Concluded' },
  columnDay: { 'zh-CN': '日期', en: 'Day' },
  columnWeek: { 'zh-CN': '周', en: 'Week' },
  columnConcluded: { 'zh-CN': '办结件数', en: 'Concluded' },
  columnOnTimeCount: { 'zh-CN': '按时办结件数', en: 'On time' },
  columnOnTimeRate: { 'zh-CN': '按时办结率', en: 'On-time rate' },
  columnOverdueOnDay: { 'zh-CN': '当日超期件数', en: 'Overdue that day' },
  columnCases: { 'zh-CN': '件数', en: 'Cases' },
  columnDeferred: { 'zh-CN': '容缺', en: 'Deferred' },
  columnApplicant: { 'zh-CN': '申请人', en: 'Applicant' },
  columnOpened: { 'zh-CN': '申报日期', en: 'Opened' },
  columnCompleted: { 'zh-CN': '办结日期', en: 'Concluded on' },
  columnRepresentative: { 'zh-CN': '首席代表', en: 'Chief representative' },
  exportCsv: { 'zh-CN': '导出 CSV', en: 'CSV' },
  exportXlsx: { 'zh-CN': '导出 Excel', en: 'Excel' },
  exportAll: { 'zh-CN': '全部表格导出为 Excel', en: 'Every table as one Excel workbook' },
  exportLabel: { 'zh-CN': '导出“{table}”', en: 'Export “{table}”' },
  caseListTitle: { 'zh-CN': '办件清单', en: 'Cases' },
  caseListTotal: { 'zh-CN': '共 {total} 件 · 第 {page}/{pages} 页', en: '{total} cases · page {page} of {pages}' },
  caseListBasisAccepted: { 'zh-CN': '{from} 至 {to} 受理', en: 'accepted {from} to {to}' },
  caseListBasisOpened: { 'zh-CN': '{from} 至 {to} 申报', en: 'opened {from} to {to}' },
  caseListBasisConcluded: { 'zh-CN': '{from} 至 {to} 办结', en: 'concluded {from} to {to}' },
  caseListOverdueOn: { 'zh-CN': '{day} 当日超期', en: 'overdue on {day}' },
  caseListOutcomeOnTime: { 'zh-CN': '按时办结', en: 'concluded on time' },
  caseListOutcomeLate: { 'zh-CN': '超时办结', en: 'concluded late' },
  caseListOutcomeOverdue: { 'zh-CN': '超期（含超时办结）', en: 'overdue (concluded late or open past the due date)' },
  caseListDepartment: { 'zh-CN': '涉及部门 {code}', en: 'involving department {code}' },
  caseListStatus: { 'zh-CN': '当前状态：{status}', en: 'now {status}' },
  caseListCentre: { 'zh-CN': '{name}（含下级中心）', en: '{name} and the centres below it' },
  caseListProvince: { 'zh-CN': '全省', en: 'the whole province' },
  caseListMasked: {
    'zh-CN': '申请人姓名已脱敏。每次查看和导出均记入审计日志。',
    en: 'Applicant names are masked. Every view and export is recorded in the audit log.',
  },
  noCases: { 'zh-CN': '没有符合条件的办件。', en: 'No case matches.' },
  previousPage: { 'zh-CN': '上一页', en: 'Previous page' },
  nextPage: { 'zh-CN': '下一页', en: 'Next page' },
  backToSupervision: { 'zh-CN': '返回电子监察', en: 'Back to supervision' },
  viewCases: { 'zh-CN': '查看办件', en: 'Show the cases' },
  refusalTitleSuffix: { 'zh-CN': '{title} — onewindow 电子监察', en: '{title} — onewindow supervision' },
  signInRequired: { 'zh-CN': '需要登录', en: 'Sign-in required' },
  signInDetail: {
    'zh-CN': '请使用审计员或管理员客户端的客户端编号和密钥登录（HTTP {status}，{code}）。',
    en: 'Sign in with the client id and secret of an auditor or administrator client (HTTP {status}, {code}).',
  },
} as const satisfies Record<string, Bilingual>;

export type PageMessageKey = keyof typeof pageMessages;

/** The message in `language`, each `{name}` replaced by `values[name]` (unknown names stay as they are). */
export function pageText(
  language: Language,
  key: PageMessageKey,
  values: Readonly<Record<string, string | number>> = {},
): string {
  return pageMessages[key][language].replace(/\{(\w+)\}/g, (placeholder, name: string) => {
    const value = values[name];
    return value === undefined ? placeholder : String(value);
  });
}
