/**
 * Cases: open one for an applicant and an item, get the one-time notice (一次性告知) of everything
 * the item needs in one answer, attach what the applicant hands in (and what the departments
 * supply through the certificate flow), and submit: the case and one delivery per department in
 * one transaction (the outbox the delivery workers drain).
 *
 * A case references materials; it never copies them. Who may see a case is the access policy's
 * decision (access/policy.ts): the window client that opened it, and the departments it was
 * delivered to; anyone else gets the same 404 as for a case that does not exist, and the refusal
 * is on the record. Every answer that carries the case (its form, its materials) is audited.
 */
import { newRandomId } from '../platform/random-ids.js';
import {
  isPersonName,
  maskForOversight,
  maskIdentifiersInNote,
  maskJsonForOversight,
  maskName,
  maskPersonalJson,
  maskProseForOversight,
  maskPersonalText,
} from '../platform/identifier-masking.js';
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { auditAccess, auditRefusal, disclosureEntry } from '../access/audit.js';
import { auditEntryValues } from '../audit/record.js';
import { type AccessContext, type AllowedDecision, refusal, withPurpose } from '../access/context.js';
import { type CaseFacts, readsForOversight } from '../access/policy.js';
import { type CentreDirectory, type ReferenceData, pairKey } from '../access/reference-data.js';
import type { CertificateRestriction } from '../../adapters/sdk/types.js';
import type { WorkingCalendar } from '../calendar/calendar.js';
import { withProvisionalYears, yearsNotLoaded } from '../calendar/provisional.js';
import { type Queryable, transactionEndingWith } from '../db/client.js';
import { normaliseCertificateNumber } from '../certificates/numbers.js';
import { caseEvents, caseMaterials, caseParties, cases, deliveries, materials, subjects } from '../db/schema.js';
import type { DepartmentRegistry } from '../departments/registry.js';
import { parseSubjectIdentifier } from '../identity/identifiers.js';
import {
  guardIdentifierProbe,
  identifierProbeKey,
  openSubjectIdentifier,
  requireDepartmentIdentifier,
  subjectDisclosure,
} from '../identity/subjects.js';
import type { SharedLimiter } from '../platform/shared-limits.js';
import {
  type ItemDefinition,
  type ItemRequirement,
  type PartyRole,
  SEVERAL_SUBJECT_ROLES,
  requireItemFrom,
  stageOf,
} from '../items/catalogue.js';
import { deliverabilityGaps } from '../items/deliverability.js';
import { checkForm } from '../items/form.js';
import { chinaToday } from '../materials/dates.js';
import { type MaterialRow, preferredReadableMaterialsWith, visibleMaterials } from '../materials/materials.js';
import type { Clock } from '../platform/clock.js';
import { maskMobile } from '../notifications/mobile.js';
import type { ResultDeliveryChoice } from '../results/methods.js';
import {
  type CaseResultRow,
  checkResultChoice,
  findResult,
  prepareResult,
  resultChoiceRow,
  type WindowResultView,
  windowResultView,
} from '../results/results.js';
import { ApiError, type Message, bilingualError, message } from '../platform/errors.js';
import { formatMessage } from '../platform/messages/catalogue.js';
import {
  insertOpenedCase,
  insertCaseEvent,
  insertDelivery,
  selectSubjectNumberingCase,
  markCaseSubmitted,
  submitCaseWrites,
  selectCase,
  selectCaseForUpdate,
  selectCaseMaterials,
  selectCertificateFacts,
  selectDeliveries,
  selectSubjectKind,
  selectSubmissionParts,
  type JoinedRequirementRow,
} from './statements.js';
import { namesInCase } from './names.js';
import { type CaseRow, type DeliveryRow, dueDates, isFinalCaseStatus } from './status.js';

export type RequirementState =
  | 'reused'
  | 'fetched'
  | 'handed_in'
  | 'fetchable'
  | 'missing'
  | 'deferrable'
  | 'deferred'
  | 'optional';

export interface NoticeEntry {
  requirementCode: string;
  name: string;
  acceptedTypes: string[];
  optional: boolean;
  deferrableDays: number | null;
  /**
   * `reused`: a valid material the applicant already had; `fetched`: supplied by a department for
   * this case; `handed_in`: handed in for this case; `fetchable`: a department issues it — fetch it
   * (`POST /v1/cases/{id}/certificates`); `missing`: the applicant must hand it in; `deferrable`:
   * missing, but may be supplied after acceptance (容缺); `deferred`: accepted missing, due by
   * `deferredUntil`; `optional`: not needed.
   */
  state: RequirementState;
  material: { id: string; typeCode: string; provenance: string; validUntil: string | null } | null;
  fetchableFrom: { department: string; certificateType: string }[];
  deferredUntil: string | null;
  /** Whose material: the applicant's, or the party's in this role (`partySubjectId`). */
  party: string;
  partySubjectId: string | null;
  /** The certificate number the form names for this requirement (its `formReference`); null: any certificate. */
  reference: string | null;
  /** Why the case cannot be accepted because of this requirement's certificate (empty: nothing stands in the way). */
  blocks: NoticeBlock[];
  /** The applicant holds several certificates of the type: the others, to name one in the form. */
  choices: { certificateNumber: string; status: 'valid' | 'revoked' | 'cancelled'; location?: string }[];
}

/** A reason, found on the attached certificate, why the case is not acceptable. */
export interface NoticeBlock {
  code: 'restriction_blocks_acceptance' | 'certificate_reference_mismatch';
  restriction: CertificateRestriction | null;
  /** What the window reads out to the applicant, in Chinese and English. */
  message: { zh: string; en: string };
}

export interface CaseNotice {
  entries: NoticeEntry[];
  /** What the applicant still has to bring (missing, and deferrable ones they may bring later). */
  toHandIn: string[];
  counts: {
    /** Materials the item requires (not optional). */
    required: number;
    reused: number;
    fetched: number;
    handedIn: number;
    fetchable: number;
    missing: number;
    deferrable: number;
    deferred: number;
  };
  /**
   * False when the case cannot be accepted whatever is handed in: a certificate's restriction
   * blocks the item (a seized flat cannot be transferred) or the attached certificate is not the
   * one the form names. The entries' `blocks` say why.
   */
  acceptable: boolean;
  /** True when submitting now would be accepted (acceptable, and nothing missing that cannot be deferred). */
  readyToSubmit: boolean;
}

export interface DeliveryView {
  department: string;
  status: DeliveryRow['status'];
  attempts: number;
  departmentReference: string | null;
  departmentStatus: string | null;
  deliveredAt: string | null;
  lastError: string | null;
  /** The stage of a staged item this part belongs to (1 = first). */
  stage: number;
  /** The department's own words with its last status or its refusal, verbatim (Chinese). */
  departmentMessage: string | null;
  /** Withdrawing this part after another department refused the case: pending, cancelled, manual (by hand) or handled. */
  cancelStatus: string | null;
}

export interface CaseView {
  id: string;
  caseNumber: string;
  itemCode: string;
  itemName: string;
  itemKind: ItemDefinition['kind'];
  subjectId: string;
  status: CaseRow['status'];
  openedAt: string;
  submittedAt: string | null;
  acceptedOn: string | null;
  promisedDays: number;
  dueOn: string | null;
  statutoryDueOn: string | null;
  /**
   * True while a due date reaches into a year whose holidays are not loaded yet: it was counted by
   * the weekday rule and is recomputed when an administrator loads that year.
   */
  dueDatesProvisional: boolean;
  /** The centre handling it now and the one that accepted it (null: a window of no centre). */
  centreCode: string | null;
  acceptingCentreCode: string | null;
  transfers: number;
  clockStopped: boolean;
  pausedWorkingDays: number;
  completedOn: string | null;
  onTime: boolean | null;
  form: Record<string, unknown>;
  notice: CaseNotice;
  /** The case's parties besides the applicant (the buyer, an agent), by role. */
  parties: { role: string; subjectId: string }[];
  deliveries: DeliveryView[];
  /** How the applicant is told about the case (SMS), masked: `138****1234`; null: not told. */
  contact: { mobile: string } | null;
  /** How the result reaches the applicant and where it stands; never the pick-up code. Null: a case opened before results. */
  result: WindowResultView | null;
}

type CaseMaterialRow = typeof caseMaterials.$inferSelect;

export function newCaseId(): string {
  return newRandomId('case');
}

export function newDeliveryId(): string {
  return newRandomId('dlv');
}

function isUsableOn(material: Pick<MaterialRow, 'status' | 'validFrom' | 'validUntil'>, day: string): boolean {
  return (
    material.status === 'valid' &&
    material.validFrom <= day &&
    (material.validUntil === null || material.validUntil >= day)
  );
}

function fetchableFrom(
  requirement: ItemRequirement,
  departments: DepartmentRegistry,
): { department: string; certificateType: string }[] {
  return requirement.acceptedTypes.flatMap((type) =>
    departments
      .providersOf(type)
      .filter((department) => department.adapter.fetchCertificate !== undefined)
      .map((department) => ({ department: department.code, certificateType: type })),
  );
}

/** How a material attached to a case counts: handed in for it, fetched for it, or reused. */
function resolutionOf(material: MaterialRow, openedAt: Date): 'handed_in' | 'fetched' | 'reused' {
  if (material.createdAt.getTime() < openedAt.getTime()) return 'reused';
  return material.provenance === 'fetched' ? 'fetched' : material.provenance === 'handed_in' ? 'handed_in' : 'reused';
}

/** The notice from the case's requirement rows and the materials they reference. */
function buildNotice(
  item: ItemDefinition,
  rows: readonly CaseMaterialRow[],
  attached: ReadonlyMap<string, MaterialRow>,
  departments: DepartmentRegistry,
  today: string,
  bound: {
    form: Record<string, unknown>;
    certificates: ReadonlyMap<string, CertificateFacts>;
    parties?: PartySubjects;
  } = { form: {}, certificates: new Map() },
): CaseNotice {
  const listed = requirementsOfCase(item, bound.parties ?? new Map());
  const entries: NoticeEntry[] = listed.map(({ requirement, partySubjectId }) => {
    const row = rows.find(
      (entry) => entry.requirementCode === requirement.requirementCode && entry.partySubjectId === partySubjectId,
    );
    const material = row?.materialId ? attached.get(row.materialId) : undefined;
    const usable = material !== undefined && isUsableOn(material, today);
    const sources = fetchableFrom(requirement, departments);
    let state: RequirementState;
    if (
      usable &&
      row &&
      (row.resolution === 'reused' || row.resolution === 'fetched' || row.resolution === 'handed_in')
    )
      state = row.resolution;
    else if (row?.resolution === 'deferred') state = 'deferred';
    else if (requirement.optional) state = 'optional';
    else if (sources.length > 0) state = 'fetchable';
    else if (requirement.deferrableDays !== null) state = 'deferrable';
    else state = 'missing';
    const reference = referenceOf(requirement, bound.form);
    const facts = usable && material ? bound.certificates.get(material.id) : undefined;
    return {
      requirementCode: requirement.requirementCode,
      name: requirement.name,
      acceptedTypes: requirement.acceptedTypes,
      optional: requirement.optional,
      deferrableDays: requirement.deferrableDays,
      state,
      material:
        usable && material
          ? {
              id: material.id,
              typeCode: material.typeCode,
              provenance: material.provenance,
              validUntil: material.validUntil,
            }
          : null,
      fetchableFrom: state === 'fetchable' ? sources : [],
      deferredUntil: state === 'deferred' ? (row?.dueOn ?? null) : null,
      party: requirement.party,
      partySubjectId,
      reference: reference ?? null,
      blocks: usable && material ? blocksOf(requirement, material, reference, facts) : [],
      choices: reference === undefined ? (facts?.alternatives ?? []) : [],
    };
  });
  const count = (state: RequirementState) => entries.filter((entry) => entry.state === state).length;
  const blocking = entries.filter(
    (entry) =>
      (entry.state === 'missing' || entry.state === 'fetchable') && !entry.optional && entry.deferrableDays === null,
  );
  return {
    entries,
    toHandIn: entries
      .filter((entry) => entry.state === 'missing' || entry.state === 'deferrable' || entry.state === 'deferred')
      .map((entry) => entry.requirementCode),
    counts: {
      required: listed.filter(({ requirement }) => !requirement.optional).length,
      reused: count('reused'),
      fetched: count('fetched'),
      handedIn: count('handed_in'),
      fetchable: count('fetchable'),
      missing: count('missing'),
      deferrable: count('deferrable'),
      deferred: count('deferred'),
    },
    acceptable: entries.every((entry) => entry.blocks.length === 0),
    readyToSubmit: blocking.length === 0 && entries.every((entry) => entry.blocks.length === 0),
  };
}

/** A case's parties besides its applicant: per role, the subject ids in the order named (the first buyer first). */
export type PartySubjects = ReadonlyMap<string, readonly string[]>;

/**
 * The requirements a case lists: the applicant's once, and a party's once per subject of its role
 * (each buyer's ID card) — none for a role the case does not name (an agent's power of attorney).
 */
function requirementsOfCase(
  item: ItemDefinition,
  parties: PartySubjects,
): { requirement: ItemRequirement; partySubjectId: string | null }[] {
  return item.materials.flatMap<{ requirement: ItemRequirement; partySubjectId: string | null }>((requirement) =>
    requirement.party === 'applicant'
      ? [{ requirement, partySubjectId: null }]
      : (parties.get(requirement.party) ?? []).map((subjectId) => ({ requirement, partySubjectId: subjectId })),
  );
}

/** What a case needs to know of an attached certificate beyond its material row. */
export interface CertificateFacts {
  restrictions: CertificateRestriction[];
  alternatives: { certificateNumber: string; status: 'valid' | 'revoked' | 'cancelled'; location?: string }[];
}

/** The certificate number the form names for a requirement bound to a form field, normalised. */
function referenceOf(requirement: ItemRequirement, form: Record<string, unknown>): string | undefined {
  if (requirement.formReference === null) return undefined;
  const value = form[requirement.formReference];
  return typeof value === 'string' && value.trim() !== '' ? normaliseCertificateNumber(value) : undefined;
}

/** Per accepted type of a bound requirement, the number the form names (the first requirement naming a type wins). */
function boundReferences(item: ItemDefinition, form: Record<string, unknown>): Map<string, string> {
  const references = new Map<string, string>();
  for (const requirement of item.materials) {
    const reference = referenceOf(requirement, form);
    if (reference === undefined) continue;
    for (const type of requirement.acceptedTypes) if (!references.has(type)) references.set(type, reference);
  }
  return references;
}

/** Whether a material is the certificate the form names: only certificates carry a number (`sourceRef`) to compare. */
function matchesReference(material: Pick<MaterialRow, 'sourceRef'>, reference: string | undefined): boolean {
  return (
    reference === undefined ||
    material.sourceRef === null ||
    normaliseCertificateNumber(material.sourceRef) === reference
  );
}

const RESTRICTION_TEXT: Record<
  CertificateRestriction['kind'],
  (party: string, on: string, onZh: string) => { zh: string; en: string }
> = {
  seizure: (party, on, onZh) => ({
    zh: `不予受理：该不动产已于${onZh}被${party}查封。`,
    en: `Not acceptable: seized by ${party} on ${on}.`,
  }),
  mortgage: (party, on, onZh) => ({
    zh: `不予受理：该不动产已于${onZh}设定抵押（抵押权人：${party}）。`,
    en: `Not acceptable: mortgaged to ${party} since ${on}.`,
  }),
  objection: (party, on, onZh) => ({
    zh: `不予受理：该不动产已于${onZh}办理异议登记（申请人：${party}）。`,
    en: `Not acceptable: an objection by ${party} is registered since ${on}.`,
  }),
  pre_notice: (party, on, onZh) => ({
    zh: `不予受理：该不动产已于${onZh}办理预告登记（权利人：${party}）。`,
    en: `Not acceptable: a pre-notice registration for ${party} since ${on}.`,
  }),
};

function chineseDate(day: string): string {
  const [year, month, date] = day.split('-').map(Number);
  return `${year}年${month}月${date}日`;
}

/** The reasons an attached certificate stops the case: another number than the form's, or a blocking restriction. */
function blocksOf(
  requirement: ItemRequirement,
  material: MaterialRow,
  reference: string | undefined,
  facts: CertificateFacts | undefined,
): NoticeBlock[] {
  const blocks: NoticeBlock[] = [];
  if (!matchesReference(material, reference)) {
    blocks.push({
      code: 'certificate_reference_mismatch',
      restriction: null,
      message: {
        zh: `所附证照（${material.sourceRef}）与申请表所填证号（${reference}）不一致，请取用申请表所填的证照。`,
        en: `The attached certificate (${material.sourceRef}) is not the one the form names (${reference}); fetch or attach that one.`,
      },
    });
  }
  for (const restriction of facts?.restrictions ?? []) {
    if (!requirement.blockingRestrictions.includes(restriction.kind)) continue;
    blocks.push({
      code: 'restriction_blocks_acceptance',
      restriction,
      message: RESTRICTION_TEXT[restriction.kind](
        restriction.party,
        restriction.registeredOn,
        chineseDate(restriction.registeredOn),
      ),
    });
  }
  return blocks;
}

/**
 * Whether a view built from materials read without their certificates (the reused ones at opening)
 * needs one more read for them: only when a restriction could block the case, or when a
 * requirement bound to a form field is not named in the form (the notice lists the choices).
 */
function needsCertificateFacts(item: ItemDefinition, form: Record<string, unknown>): boolean {
  return item.materials.some(
    (requirement) =>
      requirement.blockingRestrictions.length > 0 ||
      (requirement.formReference !== null && referenceOf(requirement, form) === undefined),
  );
}

function certificateFactsFrom(metadata: Record<string, unknown>): CertificateFacts {
  const restrictions = Array.isArray(metadata['restrictions'])
    ? (metadata['restrictions'] as CertificateRestriction[])
    : [];
  const alternatives = Array.isArray(metadata['alternatives'])
    ? (metadata['alternatives'] as CertificateFacts['alternatives'])
    : [];
  return { restrictions, alternatives };
}

/** Restrictions and alternatives of the attached certificates, by material id; one statement. */
async function certificateFactsOf(
  tx: Queryable,
  materialIds: readonly string[],
): Promise<Map<string, CertificateFacts>> {
  if (materialIds.length === 0) return new Map();
  const rows = await selectCertificateFacts(tx, { materialIds: [...materialIds] });
  return new Map(rows.map((row) => [row.materialId, certificateFactsFrom(row.metadata)]));
}

export interface CaseServices {
  departments: DepartmentRegistry;
  /** The item catalogue (and the policy's facts) in memory. */
  reference: ReferenceData;
  calendar: () => Promise<WorkingCalendar>;
  /** Where "today" comes from: acceptance days and due dates are counted from it. */
  clock: Clock;
  /** Wakes the local delivery worker after a submission. */
  onSubmitted?: () => void;
  /** Answers telling a right identifier from a wrong one, per client and masked shape (a form's party numbers). */
  identifierProbes: SharedLimiter;
}

/** What the policy knows of a case: who opened it, whose it is, whom it was delivered to. */
export async function caseFacts(tx: Queryable, row: CaseRow): Promise<CaseFacts> {
  const delivered = await tx
    .select({ departmentCode: deliveries.departmentCode, status: deliveries.status })
    .from(deliveries)
    .where(eq(deliveries.caseId, row.id));
  return factsOfCase(row, delivered);
}

type ReachedFacts = Pick<DeliveryRow, 'departmentCode' | 'status'>;

/** Parts that have not reached their department and are not on their way (see departmentsReached). */
const UNREACHED: ReadonlySet<ReachedFacts['status']> = new Set(['held', 'cancelled', 'dead']);

/**
 * The departments a case has reached or is being sent to. A later stage's department (its part
 * held), one whose part was cancelled unsent (never acknowledged: a refusal elsewhere came first,
 * even after failed attempts — review 16), or one whose every attempt failed (dead-lettered, until
 * an operator requeues it: its status callbacks are refused too — review 19) has not: it may not
 * read the case.
 */
export function departmentsReached(deliveryRows: readonly ReachedFacts[]): string[] {
  return deliveryRows.flatMap((delivery) => (UNREACHED.has(delivery.status) ? [] : [delivery.departmentCode]));
}

/** The policy's facts of a case row and its deliveries. */
export function factsOfCase(row: CaseRow, deliveryRows: readonly ReachedFacts[]): CaseFacts {
  return {
    id: row.id,
    subjectId: row.subjectId,
    clientId: row.clientId,
    deliveredTo: departmentsReached(deliveryRows),
    centreCode: row.centreCode,
    acceptingCentreCode: row.acceptingCentreCode,
  };
}

export interface VisibleCase {
  row: CaseRow;
  facts: CaseFacts;
  deliveries: DeliveryRow[];
  decision: AllowedDecision;
  /** The caller's context with the case as its purpose. */
  context: AccessContext;
}

/**
 * The case and the policy's yes to `action` on it; otherwise the same 404 as a missing case (or
 * 403 for a party that may read but not change it). The refusal names the case's real subject, so
 * the citizen's access log shows the attempt.
 */
export async function visibleCase(
  tx: Queryable,
  context: AccessContext,
  caseId: string,
  action: 'case.read' | 'case.change',
  options: { lock?: boolean } = {},
): Promise<VisibleCase> {
  // One round trip: the case (locked when asked) and its deliveries, which say whom it went to.
  const [[row], deliveryRows] = await Promise.all([
    (options.lock ? selectCaseForUpdate : selectCase)(tx, { caseId }),
    selectDeliveries(tx, { caseId }),
  ]);
  if (!row) throw new ApiError('not_found', message('case.not_found'));
  return decidedCase(tx, context, row, deliveryRows, action);
}

/** The policy's yes to `action` on a case read (with its deliveries); otherwise as `visibleCase` refuses. */
async function decidedCase(
  tx: Queryable,
  context: AccessContext,
  row: CaseRow,
  deliveryRows: DeliveryRow[],
  action: 'case.read' | 'case.change',
): Promise<VisibleCase> {
  const caseContext = withPurpose(context, { ...context.purpose, caseRef: row.caseNumber });
  const facts = factsOfCase(row, deliveryRows);
  const decision = await caseContext.access.decide(tx, action, { kind: 'case', case: facts });
  if (!decision.allowed) {
    const refused =
      decision.reason === 'not_visible'
        ? new ApiError('not_found', message('case.not_found'))
        : decision.reason === 'wrong_client_kind'
          ? new ApiError('forbidden', message('case.window_of_its_centre'))
          : refusal(decision, { kind: 'case', case: facts });
    throw new CaseRefusal(row, refused);
  }
  return { row, facts, decision, context: caseContext, deliveries: deliveryRows };
}

/** A refusal that knows the case it refused, so the audit entry can name its subject. */
class CaseRefusal extends ApiError {
  constructor(
    readonly caseRow: CaseRow,
    refused: ApiError,
  ) {
    super(refused.code, refused.detail, refused.extras);
  }
}

/**
 * Runs a case service's work and records a refusal (403, or the 404 that hides a case): with the
 * case's subject and number when the refusal came from the case's own check, so the citizen's
 * access log shows who tried to read their case. The record is written on a connection of its
 * own after `work` ends: never call it inside a transaction (PGlite has one connection).
 */
export async function auditCaseRefusals<T>(context: AccessContext, action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 403 || error.status === 404)) {
      const refused = error instanceof CaseRefusal ? error.caseRow : null;
      await auditRefusal(context, {
        action,
        subjectId: refused?.subjectId ?? null,
        caseRef: refused?.caseNumber ?? context.purpose.caseRef,
        outcome: error.status === 404 ? 'not_found' : 'denied',
        fields: [`refused:${error.code}`],
      });
    }
    throw error;
  }
}

/**
 * The case as the caller may see it: a material attached to it appears only when the policy lets
 * the caller read it through this case (a window whose grant has lapsed no longer sees a
 * department's certificate it once attached).
 */
/** What a case view is built from besides the case row; what a service already holds it passes in. */
interface CaseParts {
  entries: readonly CaseMaterialRow[];
  /** The attached materials, by id (all of them: the caller's view is filtered here). */
  materials: ReadonlyMap<string, MaterialRow>;
  deliveries: readonly DeliveryRow[];
  /** The case's parties by role (subject ids); read by the view when the item has parties and they are not given. */
  parties?: PartySubjects;
  /** Restrictions and alternatives of the attached certificates, when read with the requirement rows. */
  certificates?: ReadonlyMap<string, CertificateFacts>;
  /** The case's result row (null: none), when the caller read or wrote it already. */
  result?: CaseResultRow | null;
}

/** The case's requirement rows with their materials, and its deliveries: one round trip. */
async function readCaseParts(
  tx: Queryable,
  caseId: string,
  known: { deliveries?: readonly DeliveryRow[] } = {},
): Promise<CaseParts> {
  const [joined, deliveryRows] = await Promise.all([
    selectCaseMaterials(tx, { caseId }),
    known.deliveries ? Promise.resolve(known.deliveries) : selectDeliveries(tx, { caseId }),
  ]);
  return casePartsFrom(joined, deliveryRows);
}

function casePartsFrom(joined: readonly JoinedRequirementRow[], deliveryRows: readonly DeliveryRow[]): CaseParts {
  const attached = new Map<string, MaterialRow>();
  const facts = new Map<string, CertificateFacts>();
  for (const { material, certificate } of joined) {
    if (!material) continue;
    attached.set(material.id, material);
    if (certificate) facts.set(material.id, certificateFactsFrom(certificate));
  }
  return {
    entries: joined.map(({ entry }) => entry),
    materials: attached,
    deliveries: deliveryRows,
    certificates: facts,
  };
}

async function caseView(
  tx: Queryable,
  visible: Pick<VisibleCase, 'row' | 'facts' | 'context'> & {
    deliveries?: readonly DeliveryRow[];
    decision?: AllowedDecision;
  },
  services: CaseServices,
  today = chinaToday(services.clock.now()),
  parts?: CaseParts,
): Promise<CaseView> {
  const { row } = visible;
  const [item, known, resultRow] = await Promise.all([
    requireItemFrom(services.reference, tx, row.itemCode),
    parts ?? readCaseParts(tx, row.id, visible.deliveries ? { deliveries: visible.deliveries } : {}),
    parts?.result !== undefined ? parts.result : findResult(tx, row.id),
  ]);
  const rows = known.entries;
  const parties: PartySubjects =
    item.parties.length === 0 ? new Map() : (known.parties ?? (await partiesOf(tx, row.id)));
  const readable = await visibleMaterials(tx, visible.context.access, [...known.materials.values()], visible.facts);
  const attached = new Map(readable.map((material) => [material.id, material]));
  // Restrictions and alternatives come from every attached certificate, also one the caller may
  // not read: whether the case is acceptable does not depend on who asks.
  const certificateFacts =
    known.certificates ??
    (needsCertificateFacts(item, row.form)
      ? await certificateFactsOf(tx, [...known.materials.keys()])
      : new Map<string, CertificateFacts>());
  const deliveryRows = [...known.deliveries].sort(
    (a, b) => a.stage - b.stage || a.departmentCode.localeCompare(b.departmentCode),
  );
  const lastDue = [row.dueOn, row.statutoryDueOn]
    .filter((day): day is string => day !== null)
    .sort()
    .at(-1);
  const loadedYears = (await services.calendar()).years;
  const provisional =
    row.acceptedOn !== null && lastDue !== undefined && yearsNotLoaded(loadedYears, row.acceptedOn, lastDue).length > 0;
  const view: CaseView = {
    id: row.id,
    caseNumber: row.caseNumber,
    itemCode: row.itemCode,
    itemName: item.name,
    itemKind: item.kind,
    subjectId: row.subjectId,
    status: row.status,
    openedAt: row.openedAt.toISOString(),
    submittedAt: row.submittedAt?.toISOString() ?? null,
    acceptedOn: row.acceptedOn,
    promisedDays: row.promisedDays,
    dueOn: row.dueOn,
    statutoryDueOn: row.statutoryDueOn,
    dueDatesProvisional: provisional,
    centreCode: row.centreCode,
    acceptingCentreCode: row.acceptingCentreCode,
    transfers: row.transfers,
    clockStopped: row.pausedOn !== null,
    pausedWorkingDays: row.pausedWorkingDays,
    completedOn: row.completedOn,
    onTime: row.completedOn && row.dueOn ? row.completedOn <= row.dueOn : null,
    form: row.form,
    notice: buildNotice(item, rows, attached, services.departments, today, {
      form: row.form,
      certificates: certificateFacts,
      parties,
    }),
    parties: [...parties].flatMap(([role, subjectIds]) => subjectIds.map((subjectId) => ({ role, subjectId }))),
    deliveries: deliveryRows.map((delivery) => ({
      department: delivery.departmentCode,
      status: delivery.status,
      attempts: delivery.attempts,
      departmentReference: delivery.departmentReference,
      departmentStatus: delivery.departmentStatus,
      deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
      lastError: maskIdentifiersInNote(delivery.lastError),
      stage: delivery.stage,
      // Stored masked since 2026-12; older rows masked here.
      departmentMessage: maskIdentifiersInNote(delivery.departmentMessage),
      cancelStatus: delivery.cancelStatus,
    })),
    contact: row.contactMobile ? { mobile: maskMobile(row.contactMobile) } : null,
    result: resultRow ? windowResultView(resultRow) : null,
  };
  if (visible.decision && readsForOversight(visible.decision))
    return overseenCaseView(view, await namesInCase(tx, visible.context.access.protection, row.id));
  // One decision for both maskings, taken only when one of them needs it.
  let unmask: Promise<boolean> | undefined;
  const mayUnmask = () => {
    unmask ??= mayUnmaskApplicant(tx, visible);
    return unmask;
  };
  const names = await namesHiddenFrom(tx, visible, mayUnmask);
  return withPrivatePartiesMasked(mayUnmask, names === null ? view : maskedCaseView(view, names));
}

/** Whether the policy lets the caller read the case's applicant unmasked (`subject.unmask`). */
async function mayUnmaskApplicant(tx: Queryable, visible: Pick<VisibleCase, 'row' | 'context'>): Promise<boolean> {
  const { row, context } = visible;
  return (await context.access.decide(tx, 'subject.unmask', { kind: 'subject', subjectId: row.subjectId })).allowed;
}

/**
 * A restriction held by a person (a private buyer's pre-notice, an objector) names someone the
 * case does not hold, whom not even the window that opened the case typed: masked, in the
 * restriction and the message read out, for a caller who may not unmask the applicant, as in the
 * certificate's own answer. Decided only when such a restriction is there.
 */
async function withPrivatePartiesMasked(mayUnmask: () => Promise<boolean>, view: CaseView): Promise<CaseView> {
  const held = (block: NoticeBlock) => block.restriction !== null && isPersonName(block.restriction.party);
  if (!view.notice.entries.some((entry) => entry.blocks.some(held))) return view;
  if (await mayUnmask()) return view;
  const masked = (block: NoticeBlock): NoticeBlock => {
    if (block.restriction === null || !held(block)) return block;
    const { party } = block.restriction;
    const hidden = maskName(party);
    return {
      ...block,
      restriction: { ...block.restriction, party: hidden },
      message: { zh: block.message.zh.replaceAll(party, hidden), en: block.message.en.replaceAll(party, hidden) },
    };
  };
  return {
    ...view,
    notice: {
      ...view.notice,
      entries: view.notice.entries.map((entry) => ({ ...entry, blocks: entry.blocks.map(masked) })),
    },
  };
}

/**
 * The case's names (applicant and parties) to mask in what `visible`'s caller reads of the case,
 * or null when it reads them in clear: the window system that opened the case (it typed them, and
 * its every answer on the case path would otherwise read the names again) or a caller the policy
 * lets unmask the applicant. The form repeats them (a buyer's 「transferee」), and so may a
 * department's words or a courier's remark.
 */
async function namesHiddenFrom(
  tx: Queryable,
  visible: Pick<VisibleCase, 'row' | 'context'>,
  mayUnmask = () => mayUnmaskApplicant(tx, visible),
): Promise<string[] | null> {
  const { row, context } = visible;
  if (row.clientId === context.principal.clientId || (await mayUnmask())) return null;
  return namesInCase(tx, context.access.protection, row.id);
}

/**
 * The case as a caller who sees subjects masked reads it: its `names` masked, with identifiers and
 * mobiles, in the form, a department's words, a delivery's error and the courier's remark and error.
 */
function maskedCaseView(view: CaseView, names: readonly string[]): CaseView {
  const masked = (text: string) => maskPersonalText(text, names);
  return {
    ...view,
    form: maskPersonalJson(view.form, names) as Record<string, unknown>,
    ...withOutsideTexts(view, masked, masked),
  };
}

/**
 * A case view's deliveries and result with the texts written elsewhere passed through `words` (a
 * department's words, the courier's remark and error) and `errors` (a delivery's error).
 */
function withOutsideTexts(
  view: CaseView,
  words: (text: string) => string,
  errors: (text: string) => string,
): Pick<CaseView, 'deliveries' | 'result'> {
  const through = (mask: (text: string) => string, text: string | null) => (text === null ? null : mask(text));
  const { result } = view;
  return {
    deliveries: view.deliveries.map((delivery) => ({
      ...delivery,
      departmentMessage: through(words, delivery.departmentMessage),
      lastError: through(errors, delivery.lastError),
    })),
    result:
      result === null
        ? null
        : {
            ...result,
            lastRoute:
              result.lastRoute === null ? null : { ...result.lastRoute, remark: words(result.lastRoute.remark) },
            courierError: through(words, result.courierError),
          },
  };
}

/**
 * A notice's words for oversight: personal identifiers and the case's names masked, and each of
 * `quoted` (the number the form names, a restriction's holder) as it is masked where it stands alone.
 */
function maskedMessage(text: string, names: readonly string[], quoted: readonly (string | null)[]): string {
  let masked = maskPersonalText(text, names);
  for (const clear of quoted) if (clear) masked = masked.replaceAll(clear, maskForOversight(clear, names));
  return masked;
}

/**
 * The case as a supervisor above its centre sees it: the applicant's answers, certificate numbers,
 * the addresses of the applicant's other certificates, who holds a restriction, and the case's
 * `names` (applicant and parties) masked.
 */
function overseenCaseView(view: CaseView, names: readonly string[]): CaseView {
  const masked = (text: string | null) => (text === null ? null : maskForOversight(text, names));
  return {
    ...view,
    form: maskJsonForOversight(view.form, names) as Record<string, unknown>,
    // A department's words, as on the timeline, and a carrier's remark, which names who signed
    // (「签收人：张三」): their leading third.
    ...withOutsideTexts(
      view,
      (text) => maskForOversight(text, names),
      (text) => maskPersonalText(text, names),
    ),
    notice: {
      ...view.notice,
      entries: view.notice.entries.map((entry) => ({
        ...entry,
        reference: masked(entry.reference),
        choices: entry.choices.map((choice) => ({
          ...choice,
          certificateNumber: maskForOversight(choice.certificateNumber),
          // The 坐落 of the applicant's other flats: where they own a home.
          ...(choice.location === undefined ? {} : { location: maskForOversight(choice.location, names) }),
        })),
        blocks: entry.blocks.map((block) => {
          // A court or a bank, but an objector or a pre-notice holder may be a private person.
          const holder = block.restriction?.party ?? null;
          const quoted = [entry.reference, holder];
          return {
            ...block,
            restriction:
              block.restriction === null
                ? null
                : { ...block.restriction, party: maskForOversight(block.restriction.party, names) },
            message: {
              zh: maskedMessage(block.message.zh, names, quoted),
              en: maskedMessage(block.message.en, names, quoted),
            },
          };
        }),
      })),
    },
  };
}

/**
 * The materials a timeline's events name that the caller may read, by id. Only those still
 * attached to the case are read through it (a department it was delivered to reads what it was
 * sent); one replaced before, or a result filed elsewhere, is decided on its own terms.
 */
async function timelineMaterials(
  tx: Queryable,
  visible: Pick<VisibleCase, 'facts' | 'context'>,
  caseId: string,
  ids: readonly string[],
): Promise<Map<string, MaterialRow>> {
  if (ids.length === 0) return new Map();
  const [rows, attachedRows] = await Promise.all([
    tx
      .select()
      .from(materials)
      .where(inArray(materials.id, [...new Set(ids)])),
    tx.select({ materialId: caseMaterials.materialId }).from(caseMaterials).where(eq(caseMaterials.caseId, caseId)),
  ]);
  const attached = new Set(attachedRows.map((row) => row.materialId));
  const access = visible.context.access;
  const readable = [
    ...(await visibleMaterials(
      tx,
      access,
      rows.filter((row) => attached.has(row.id)),
      visible.facts,
    )),
    ...(await visibleMaterials(
      tx,
      access,
      rows.filter((row) => !attached.has(row.id)),
    )),
  ];
  return new Map(readable.map((material) => [material.id, material]));
}

/**
 * A party's materials shown with a case are a use of that party's data: on the party's own record
 * too, so each buyer's access log shows who saw their ID card and why. So is the form, which names
 * the parties (a buyer's 「transferee」 with her ID number): each of `named` gets the entry, with
 * their role, when the caller was shown it.
 */
async function auditOthersMaterials(
  tx: Queryable,
  visible: Pick<VisibleCase, 'context' | 'decision' | 'row'>,
  action: string,
  shown: readonly { subjectId: string; typeCode: string }[],
  named: readonly { role: string; subjectId: string }[] = [],
): Promise<void> {
  const bySubject = new Map<string, { fields: Set<string>; materialTypes: string[] }>();
  const entryOf = (subjectId: string) => {
    let entry = bySubject.get(subjectId);
    if (!entry) {
      entry = { fields: new Set(), materialTypes: [] };
      bySubject.set(subjectId, entry);
    }
    return entry;
  };
  for (const { role, subjectId } of named) {
    if (subjectId === visible.row.subjectId) continue;
    entryOf(subjectId).fields.add(`party:${role}`).add('form');
  }
  for (const { subjectId, typeCode } of shown) {
    if (subjectId === visible.row.subjectId) continue;
    const entry = entryOf(subjectId);
    entry.fields.add('materials');
    entry.materialTypes.push(typeCode);
  }
  // Issued together (each statement is sent when issued), so a caller may queue its commit behind them.
  await Promise.all(
    [...bySubject].map(([subjectId, { fields, materialTypes }]) =>
      auditAccess(tx, visible.context, {
        decision: visible.decision,
        action,
        subjectId,
        fields: [...fields],
        materialTypes,
      }),
    ),
  );
}

/** The types of the materials a case view shows. */
function materialTypesShown(view: CaseView): string[] {
  return view.notice.entries.flatMap((entry) => (entry.material ? [entry.material.typeCode] : []));
}

/** The party materials of a case view, as `auditOthersMaterials` takes them. */
function partyMaterialsShown(view: CaseView): { subjectId: string; typeCode: string }[] {
  return view.notice.entries.flatMap((entry) =>
    entry.material && entry.partySubjectId !== null
      ? [{ subjectId: entry.partySubjectId, typeCode: entry.material.typeCode }]
      : [],
  );
}

/** Records that the caller was shown the case: its form, requirements and the material types in it. */
async function auditCaseView(
  tx: Queryable,
  visible: VisibleCase,
  action: string,
  view: CaseView,
  fields: string[] = ['form', 'materials', 'deliveries'],
): Promise<void> {
  await auditAccess(tx, visible.context, {
    decision: visible.decision,
    action,
    subjectId: visible.row.subjectId,
    fields,
    materialTypes: materialTypesShown(view),
  });
  await auditOthersMaterials(
    tx,
    visible,
    action,
    partyMaterialsShown(view),
    fields.includes('form') ? view.parties : [],
  );
}

async function addEvent(
  tx: Queryable,
  caseId: string,
  kind: string,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await insertCaseEvent(tx, { caseId, kind, detail });
}

/** The case's parties besides its applicant, by role, in the order they were named. */
async function partiesOf(tx: Queryable, caseId: string): Promise<Map<string, string[]>> {
  const rows = await tx
    .select({ role: caseParties.role, subjectId: caseParties.subjectId })
    .from(caseParties)
    .where(eq(caseParties.caseId, caseId))
    .orderBy(asc(caseParties.position), asc(caseParties.subjectId));
  return groupByRole(rows.map((row) => [row.role, row.subjectId] as const));
}

function groupByRole(entries: Iterable<readonly [string, string]>): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const [role, subjectId] of entries) grouped.set(role, [...(grouped.get(role) ?? []), subjectId]);
  return grouped;
}

const PERSON_ROLES: ReadonlySet<string> = new Set(['co_applicant', 'agent', 'legal_representative']);

/** A party named at opening, resolved and allowed: its role, subject id and the policy's yes. */
interface CheckedParty {
  role: string;
  id: string;
  decision: AllowedDecision;
}

/**
 * The parties named at opening, checked against the item: each role one the item names — an agent
 * or a legal representative once, a co-applicant or counterparty as often as there are (two buyers);
 * each subject once, and not the applicant again; the required ones present; each an existing
 * subject the caller may read (the policy's yes, as for the applicant); persons where the role is a person's.
 */
async function checkedParties(
  tx: Queryable,
  context: AccessContext,
  item: ItemDefinition,
  applicantId: string,
  given: readonly { role: string; subjectId: string }[],
): Promise<CheckedParty[]> {
  const declared = new Map(item.parties.map((party) => [party.role as string, party]));
  const unknown = given.filter((party) => !declared.has(party.role)).map((party) => party.role);
  if (unknown.length > 0) {
    throw new ApiError(
      'party_role_not_allowed',
      message('case.party_role_not_allowed', {
        itemName: item.name,
        itemNameZh: item.nameZh,
        roles: unknown.join(', '),
        allowed: item.parties.map((party) => party.role).join(', ') || 'none',
      }),
      { roles: unknown },
    );
  }
  const roles = given.map((party) => party.role);
  const subjects = given.map((party) => party.subjectId);
  if (new Set(subjects).size !== subjects.length || subjects.includes(applicantId)) {
    const twice = subjects.filter(
      (subjectId, index) => subjectId === applicantId || subjects.indexOf(subjectId) !== index,
    );
    throw new ApiError('party_duplicate', message('case.party_duplicate'), { subjectIds: [...new Set(twice)] });
  }
  const single = [...new Set(roles)].filter(
    (role) => !SEVERAL_SUBJECT_ROLES.has(role as PartyRole) && roles.filter((named) => named === role).length > 1,
  );
  if (single.length > 0) {
    throw new ApiError(
      'party_role_single',
      message('case.party_role_single', {
        roles: single.join(', '),
        several: [...SEVERAL_SUBJECT_ROLES].join(', '),
      }),
      { roles: single },
    );
  }
  const missing = item.parties.filter((party) => party.required && !roles.includes(party.role));
  if (missing.length > 0) {
    throw new ApiError(
      'party_missing',
      message('case.party_missing', {
        itemName: item.name,
        itemNameZh: item.nameZh,
        parties: missing.map((party) => party.name).join(', '),
        partiesZh: missing.map((party) => party.nameZh).join('、'),
      }),
      { roles: missing.map((party) => party.role) },
    );
  }
  const checked: CheckedParty[] = [];
  for (const party of given) {
    const { decision } = await subjectDisclosure(tx, context, party.subjectId);
    const [found] = await selectSubjectKind(tx, { subjectId: party.subjectId });
    if (!found) throw new ApiError('not_found', message('subject.not_found'));
    if (PERSON_ROLES.has(party.role) && found.kind !== 'person') {
      throw new ApiError(
        'party_kind_mismatch',
        message('case.party_must_be_person', {
          party: declared.get(party.role)?.name ?? party.role,
          partyZh: declared.get(party.role)?.nameZh ?? party.role,
        }),
        { role: party.role },
      );
    }
    requireDepartmentIdentifier(found.identifierType, item.departments.join(', '));
    checked.push({ role: party.role, id: found.id, decision });
  }
  return checked;
}

/**
 * A party the form names too (the transfer's `transferee`): its ID number must be a valid one —
 * an invalid check digit is refused here, not by a department days later — and, when the case
 * names subjects in that role, one of theirs (one of the two buyers).
 */
async function checkFormParties(
  tx: Queryable,
  context: AccessContext,
  services: CaseServices,
  item: ItemDefinition,
  form: Record<string, unknown>,
  parties: PartySubjects,
): Promise<void> {
  const { protection } = context.access;
  for (const party of item.parties) {
    if (party.formField === undefined) continue;
    const value = form[party.formField];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const idNumber = (value as Record<string, unknown>)['idNumber'];
    if (typeof idNumber !== 'string') continue;
    const type = /^\d{15}$|^\d{17}[\dXx]$/.test(idNumber.trim()) ? 'resident_id' : 'credit_code';
    const parsed = parseSubjectIdentifier(type, idNumber);
    if (!parsed.ok)
      throw new ApiError(
        parsed.code,
        message('case.party_identifier_invalid', {
          party: party.name,
          partyZh: party.nameZh,
          field: party.formField,
          reason: parsed.message,
          reasonZh: parsed.messageZh,
        }),
        { field: `${party.formField}.idNumber` },
      );
    const subjectIds = parties.get(party.role) ?? [];
    if (subjectIds.length === 0) continue;
    // Right or wrong tells a number a window may see only masked: counted as resolve's answers are
    // (review 24: the birth dates of 「330106********0120」 tried one case at a time).
    const probeKey = identifierProbeKey(context.principal.clientId, type, parsed.value);
    await guardIdentifierProbe(tx, services.identifierProbes, probeKey);
    const named = await tx
      .select({ id: subjects.id, identifier: subjects.identifier })
      .from(subjects)
      .where(inArray(subjects.id, [...subjectIds]));
    const identifiers = await Promise.all(
      named.map((subject) => openSubjectIdentifier(protection, subject.id, subject.identifier)),
    );
    if (!identifiers.some((identifier) => identifier.toUpperCase() === parsed.value.toUpperCase())) {
      await services.identifierProbes.take(probeKey);
      throw new ApiError(
        'party_form_mismatch',
        message('case.party_form_mismatch', {
          field: party.formField,
          party: party.name,
          partyZh: party.nameZh,
          count: subjectIds.length,
        }),
        { role: party.role, field: party.formField },
      );
    }
  }
}

export interface OpenCaseInput {
  itemCode: string;
  subjectId: string;
  form?: Record<string, unknown>;
  /** The applicant's mainland mobile number for SMS about the case (validated by the route). */
  contact?: { mobile: string };
  /** The case's parties besides the applicant, each a resolved subject (the buyer, an agent). */
  parties?: { role: string; subjectId: string }[];
  /** How the result reaches the applicant; absent: the item's first method. */
  resultDelivery?: ResultDeliveryChoice;
}

/**
 * Opens a case and answers the one-time notice: for each requirement, a material the applicant
 * already has and the window may reuse (reused), one a department can supply (fetchable), or
 * what they must bring. Three round trips: the subject and its reusable materials together, the
 * case (numbered by the database), and its requirement rows, event and audit entry together.
 */
export async function openCase(
  context: AccessContext,
  services: CaseServices,
  input: OpenCaseInput,
): Promise<CaseView> {
  const opened = await auditCaseRefusals(context, 'case.open', () =>
    transactionEndingWith(context.db, async (tx) => {
      const item = await requireItemFrom(services.reference, tx, input.itemCode, { activeOnly: true });
      const today = chinaToday(services.clock.now());
      const id = newCaseId();
      const offer = await services.reference.decideConfirmingRefusal(tx, async () =>
        offerAt(await services.reference.centreDirectory(tx), context.principal.clientId, item),
      );
      const facts: CaseFacts = {
        id,
        subjectId: input.subjectId,
        clientId: context.principal.clientId,
        deliveredTo: [],
        centreCode: offer.centreCode,
        acceptingCentreCode: offer.centreCode,
      };
      // The number is known only from the database: until then the case's id stands for it as the purpose.
      const opening = withPurpose(context, { ...context.purpose, caseRef: id });
      const decision = await opening.access.require(tx, 'case.open', { kind: 'case', case: facts });
      await subjectDisclosure(tx, opening, input.subjectId);
      const parties = await checkedParties(tx, opening, item, input.subjectId, input.parties ?? []);
      const partyIds = groupByRole(parties.map((party) => [party.role, party.id] as const));
      await checkFormParties(tx, context, services, item, input.form ?? {}, partyIds);
      const listed = requirementsOfCase(item, partyIds);
      const acceptedTypes = [
        ...new Set(
          item.materials
            .filter((requirement) => requirement.party === 'applicant')
            .flatMap((requirement) => requirement.acceptedTypes),
        ),
      ];
      // The chosen certificates' restrictions and alternatives come with the materials when the view needs them.
      const withCertificates = needsCertificateFacts(item, input.form ?? {});
      const [[subject], applicantMaterials, ...partyMaterials] = await Promise.all([
        // With the case number: `OW` + acceptance-centre date + a sequence shared by every instance,
        // short enough to read out. Drawn now, so every write of the case goes in one round trip (a
        // refused opening leaves a gap in the sequence, as a rolled-back one always did).
        selectSubjectNumberingCase(tx, [input.subjectId, `OW${today.replaceAll('-', '')}`]),
        preferredReadableMaterialsWith(
          tx,
          opening.access,
          input.subjectId,
          acceptedTypes,
          today,
          boundReferences(item, input.form ?? {}),
          withCertificates,
        ),
        // Reuse works per party subject: each buyer's ID card on file is that buyer's, not the seller's.
        ...parties.map((party) =>
          preferredReadableMaterialsWith(
            tx,
            opening.access,
            party.id,
            [
              ...new Set(
                item.materials
                  .filter((requirement) => requirement.party === party.role)
                  .flatMap((requirement) => requirement.acceptedTypes),
              ),
            ],
            today,
            new Map(),
            withCertificates,
          ),
        ),
      ]);
      const available = applicantMaterials.chosen;
      const certificateFacts = new Map<string, CertificateFacts>();
      for (const { certificates: held } of [applicantMaterials, ...partyMaterials])
        for (const [materialId, metadata] of held) certificateFacts.set(materialId, certificateFactsFrom(metadata));
      if (!subject) throw new ApiError('not_found', message('subject.not_found'));
      // The case goes to department systems that know persons by resident ID number only.
      requireDepartmentIdentifier(subject.identifierType, item.departments.join(', '));
      // Per subject id: the applicant's and each party's (no party is the applicant).
      const reusableFor = new Map<string, Map<string, MaterialRow>>([
        [input.subjectId, available],
        ...parties.map(
          (party, index) => [party.id, partyMaterials[index]?.chosen ?? new Map<string, MaterialRow>()] as const,
        ),
      ]);
      if (item.subjectKind !== null && item.subjectKind !== subject.kind) {
        throw new ApiError(
          'item_not_for_subject',
          message('case.item_not_for_subject', {
            itemName: item.name,
            itemNameZh: item.nameZh,
            subjectKind: subject.kind,
          }),
          {
            itemCode: item.code,
            subjectKind: subject.kind,
          },
        );
      }
      const resultChoice = checkResultChoice(context.access.protection, item, id, input.resultDelivery);
      const caseContext = withPurpose(context, { ...context.purpose, caseRef: subject.caseNumber });

      const now = new Date();
      const entries: CaseMaterialRow[] = listed.map(({ requirement, partySubjectId }) => {
        // The accepted types are in order of preference; the preferred material of the first type held wins.
        const held = reusableFor.get(partySubjectId ?? input.subjectId) ?? new Map<string, MaterialRow>();
        const reused = requirement.acceptedTypes
          .map((type) => held.get(type))
          .find((material) => material !== undefined);
        return {
          caseId: id,
          requirementCode: requirement.requirementCode,
          partySubjectId,
          materialId: reused?.id ?? null,
          resolution: reused ? 'reused' : 'missing',
          dueOn: null,
          updatedAt: now,
        };
      });
      const attached = new Map(
        [...reusableFor.values()].flatMap((held) => [...held.values()]).map((material) => [material.id, material]),
      );
      // The case, its other writes and the view's one read in one round trip with the commit (the
      // case row goes first: the others refer to it). Each is issued here, before the commit.
      const written = Promise.all([
        // The case with its requirement rows, event, result choice and the applicant's audit entry: one statement.
        // Written out rather than spread: keys added after a spread this large cost ~50 µs (V8
        // turns the object into a dictionary); the audit entry's spread goes last.
        insertOpenedCase(tx, {
          id,
          caseNumber: subject.caseNumber,
          itemCode: item.code,
          subjectId: subject.id,
          clientId: context.principal.clientId,
          operatorId: context.purpose.operatorId ?? null,
          acceptingCentreCode: offer.centreCode,
          centreCode: offer.centreCode,
          form: context.access.protection.sealJson('cases.form', input.form ?? {}),
          promisedDays: offer.promisedDays,
          materialsRequired: listed.filter(({ requirement }) => !requirement.optional).length,
          contactMobile: input.contact?.mobile ?? null,
          requirementRows: JSON.stringify(
            entries.map((entry) => ({
              requirement_code: entry.requirementCode,
              party_subject_id: entry.partySubjectId,
              material_id: entry.materialId,
              resolution: entry.resolution,
            })),
          ),
          materialsUpdatedAt: now.toISOString(),
          resultMethod: resultChoice.method,
          resultAddress: resultChoice.address,
          eventDetail: {
            itemCode: item.code,
            reused: entries.filter((entry) => entry.resolution === 'reused').length,
            ...(parties.length > 0 ? { parties: parties.map((party) => party.role) } : {}),
          },
          ...auditEntryValues(
            disclosureEntry(caseContext, {
              decision,
              action: 'case.open',
              subjectId: subject.id,
              fields: ['materials'],
              materialTypes: [...available.keys()],
            }),
          ),
        }),
        parties.length > 0
          ? tx
              .insert(caseParties)
              .values(
                parties.map((party, position) => ({ caseId: id, role: party.role, subjectId: party.id, position })),
              )
              .execute()
          : Promise.resolve(),
        // Each party's access log shows the case that named them, and which of their materials it reused.
        ...parties.map((party) =>
          auditAccess(tx, caseContext, {
            decision: party.decision,
            action: 'case.open',
            subjectId: party.id,
            fields: [`party:${party.role}`, 'materials'],
            materialTypes: [...(reusableFor.get(party.id)?.keys() ?? [])],
          }),
        ),
      ]);
      return {
        last: written.then(([[row]]) => {
          if (!row) throw new Error('insert returned no row');
          // The answer is built once the case is committed, from what was written and read.
          return () =>
            caseView(context.db, { row, facts, context: caseContext }, services, today, {
              entries,
              materials: attached,
              deliveries: [],
              parties: partyIds,
              certificates: certificateFacts,
              // As the result row reads back (the address opened: the choice as given).
              result: resultChoiceRow(resultChoice, input.resultDelivery?.address ?? null, now),
            });
        }),
      };
    }),
  );
  return opened();
}

export async function readCase(
  context: AccessContext,
  services: CaseServices,
  caseId: string,
  action = 'case.read',
): Promise<CaseView> {
  return auditCaseRefusals(context, action, () =>
    context.db.transaction(async (tx) => {
      const visible = await visibleCase(tx, context, caseId, 'case.read');
      const view = await caseView(tx, visible, services);
      await auditCaseView(tx, visible, action, view);
      return view;
    }),
  );
}

export interface CaseEventView {
  at: string;
  kind: string;
  department: string | null;
  detail: Record<string, unknown>;
}

export async function caseTimeline(context: AccessContext, caseId: string): Promise<CaseEventView[]> {
  return auditCaseRefusals(context, 'case.timeline', () =>
    context.db.transaction(async (tx) => {
      const visible = await visibleCase(tx, context, caseId, 'case.read');
      const rows = await tx
        .select()
        .from(caseEvents)
        .where(eq(caseEvents.caseId, caseId))
        .orderBy(asc(caseEvents.occurredAt), asc(caseEvents.id));
      const mentioned = rows.flatMap((row) =>
        typeof row.detail['materialId'] === 'string' ? [row.detail['materialId']] : [],
      );
      const readable = await timelineMaterials(tx, visible, caseId, mentioned);
      const oversight = readsForOversight(visible.decision)
        ? { names: await namesInCase(tx, visible.context.access.protection, caseId) }
        : null;
      // A department's words and a clerk's reason may name the applicant (「张三的户口已迁入」).
      const hidden = oversight?.names ?? (await namesHiddenFrom(tx, visible)) ?? [];
      const events = rows.map((row) => ({
        at: row.occurredAt.toISOString(),
        kind: row.kind,
        department: row.departmentCode,
        detail: redactedDetail(row.detail, readable, hidden, oversight !== null),
      }));
      await auditAccess(tx, visible.context, {
        decision: visible.decision,
        action: 'case.timeline',
        subjectId: visible.row.subjectId,
        fields: ['timeline'],
        materialTypes: [...readable.values()].map((material) => material.typeCode),
      });
      // A party's (or a result's other holder's) materials named on the timeline: on their record too.
      await auditOthersMaterials(tx, visible, 'case.timeline', [...readable.values()]);
      return events;
    }),
  );
}

/**
 * An event's detail as the caller may see it: identifiers and mobile numbers masked in every text
 * (a department's words and a clerk's reason are stored masked since 2026-12; older rows are
 * masked here), and the case's `names` the caller sees masked; for a supervisor above the centre
 * (`oversight`) the free text kept to its leading third; and without the id of a material the
 * caller may not read (the event stays).
 */
function redactedDetail(
  detail: Record<string, unknown>,
  readable: ReadonlyMap<string, MaterialRow>,
  names: readonly string[],
  oversight: boolean,
): Record<string, unknown> {
  const masked = (oversight ? maskProseForOversight(detail, names) : maskPersonalJson(detail, names)) as Record<
    string,
    unknown
  >;
  const materialId = detail['materialId'];
  if (typeof materialId !== 'string' || readable.has(materialId)) return masked;
  return { ...masked, materialId: null, withheld: true };
}

/**
 * Attaches a material of the case's subject to a requirement: before submission, or afterwards for
 * a requirement accepted missing (容缺) or while the case awaits the applicant (补正). The window
 * must be allowed to read the material (a department's certificate only under its sharing terms).
 */
export async function attachMaterial(
  context: AccessContext,
  services: CaseServices,
  caseId: string,
  input: { requirementCode: string; materialId: string; partySubjectId?: string },
): Promise<CaseView> {
  return auditCaseRefusals(context, 'case.attach_material', () =>
    context.db.transaction(async (tx) => {
      const visible = await visibleCase(tx, context, caseId, 'case.change', { lock: true });
      const { row } = visible;
      const item = await requireItemFrom(services.reference, tx, row.itemCode);
      const requirement = item.materials.find((entry) => entry.requirementCode === input.requirementCode);
      if (!requirement) {
        throw new ApiError(
          'requirement_unknown',
          message('case.requirement_unknown', {
            itemName: item.name,
            itemNameZh: item.nameZh,
            requirementCode: input.requirementCode,
            requirements: item.materials.map((entry) => entry.requirementCode).join(', '),
          }),
        );
      }
      // A party's requirement takes that party's material (the buyer's ID card), not the applicant's;
      // where the role has several subjects (two buyers) the window names whose.
      const owner = await requirementOwner(tx, row, requirement, input.partySubjectId);
      const partySubjectId = requirement.party === 'applicant' ? null : owner;
      const [current] = await tx
        .select()
        .from(caseMaterials)
        .where(
          and(
            eq(caseMaterials.caseId, caseId),
            eq(caseMaterials.requirementCode, input.requirementCode),
            partyOf(partySubjectId),
          ),
        );
      const supplying = current?.resolution === 'deferred' || row.status === 'awaiting_applicant';
      // A concluded case takes nothing more, a deferred requirement included (review 21).
      if (isFinalCaseStatus(row.status))
        throw new ApiError(
          'case_not_open',
          message('case.status_is', { caseNumber: row.caseNumber, status: row.status }),
        );
      if (row.status !== 'open' && !supplying)
        throw new ApiError(
          'case_not_open',
          message('case.only_deferred_materials', { caseNumber: row.caseNumber, status: row.status }),
        );

      const candidates = await tx
        .select()
        .from(materials)
        .where(and(eq(materials.id, input.materialId), eq(materials.subjectId, owner)));
      // A material the window may not read is answered like one that does not exist.
      const [material] = await visibleMaterials(tx, visible.context.access, candidates);
      const today = chinaToday(services.clock.now());
      if (!material) throw new ApiError('material_not_accepted', message('case.no_such_material'));
      if (!requirement.acceptedTypes.includes(material.typeCode)) {
        throw new ApiError(
          'material_not_accepted',
          message('case.material_type_not_accepted', {
            typeCode: material.typeCode,
            requirement: requirement.name,
            accepted: requirement.acceptedTypes.join(', '),
          }),
        );
      }
      if (material.status === 'cancelled')
        throw new ApiError(
          'certificate_cancelled',
          message('case.certificate_cancelled', { sourceRef: material.sourceRef ?? '', requirement: requirement.name }),
          { requirementCode: requirement.requirementCode },
        );
      if (!isUsableOn(material, today))
        throw new ApiError(
          'material_not_accepted',
          message('case.material_not_valid', { status: material.status, validUntil: material.validUntil ?? 'none' }),
        );
      const reference = referenceOf(requirement, row.form);
      if (!matchesReference(material, reference)) {
        throw new ApiError(
          'certificate_reference_mismatch',
          message('case.certificate_reference_mismatch', {
            sourceRef: material.sourceRef ?? '',
            reference: reference ?? '',
          }),
          { requirementCode: requirement.requirementCode, formReference: requirement.formReference },
        );
      }

      const resolution = resolutionOf(material, row.openedAt);
      await tx
        .insert(caseMaterials)
        .values({ caseId, requirementCode: input.requirementCode, partySubjectId, materialId: material.id, resolution })
        .onConflictDoUpdate({
          target: [caseMaterials.caseId, caseMaterials.requirementCode, caseMaterials.partySubjectId],
          set: { materialId: material.id, resolution, dueOn: null, updatedAt: new Date() },
        });
      if (row.status !== 'open') {
        const counter =
          resolution === 'handed_in'
            ? { materialsHandedIn: sql`${cases.materialsHandedIn} + 1` }
            : resolution === 'fetched'
              ? { materialsFetched: sql`${cases.materialsFetched} + 1` }
              : { materialsReused: sql`${cases.materialsReused} + 1` };
        await tx
          .update(cases)
          .set({
            ...counter,
            ...(current?.resolution === 'deferred'
              ? { materialsDeferred: sql`greatest(${cases.materialsDeferred} - 1, 0)` }
              : {}),
            updatedAt: new Date(),
          })
          .where(eq(cases.id, caseId));
      }
      await addEvent(tx, caseId, row.status === 'open' ? 'material_attached' : 'material_supplied', {
        requirementCode: input.requirementCode,
        ...(partySubjectId === null ? {} : { partySubjectId }),
        materialId: material.id,
        resolution,
      });
      const [updated] = await tx.select().from(cases).where(eq(cases.id, caseId));
      const view = await caseView(tx, { ...visible, row: updated ?? row }, services, today);
      await auditCaseView(tx, visible, 'case.attach_material', view, [`material:${material.id}`, 'form', 'materials']);
      return view;
    }),
  );
}

/** The row condition for whose a requirement row is: the applicant's (null) or one party subject's. */
function partyOf(partySubjectId: string | null) {
  return partySubjectId === null
    ? isNull(caseMaterials.partySubjectId)
    : eq(caseMaterials.partySubjectId, partySubjectId);
}

/**
 * Whose material a requirement takes on this case: the applicant's, or the one party subject of
 * its role — the one named (`partySubjectId`), which must be a subject of that role; naming none
 * is enough only where the role has one.
 */
async function requirementOwner(
  tx: Queryable,
  row: CaseRow,
  requirement: ItemRequirement,
  named: string | undefined,
): Promise<string> {
  if (requirement.party === 'applicant') {
    if (named !== undefined && named !== row.subjectId)
      throw new ApiError(
        'party_subject_unknown',
        message('case.party_subject_unknown', { requirement: requirement.name, party: 'applicant' }),
        { requirementCode: requirement.requirementCode, partySubjectId: named },
      );
    return row.subjectId;
  }
  const subjectIds = (await partiesOf(tx, row.id)).get(requirement.party) ?? [];
  if (subjectIds.length === 0)
    throw new ApiError(
      'party_missing',
      message('case.requirement_party_missing', { party: requirement.party, requirement: requirement.name }),
      { roles: [requirement.party] },
    );
  if (named === undefined) {
    if (subjectIds.length === 1) return subjectIds[0]!;
    throw new ApiError(
      'party_subject_required',
      message('case.party_subject_required', {
        requirement: requirement.name,
        party: requirement.party,
        count: subjectIds.length,
      }),
      { requirementCode: requirement.requirementCode, role: requirement.party, partySubjectIds: subjectIds },
    );
  }
  if (!subjectIds.includes(named))
    throw new ApiError(
      'party_subject_unknown',
      message('case.party_subject_unknown', { requirement: requirement.name, party: requirement.party }),
      { requirementCode: requirement.requirementCode, partySubjectId: named, partySubjectIds: subjectIds },
    );
  return named;
}

/** One requirement of a case to fetch: whose certificate of which type. */
export interface PlannedFetch {
  requirementCode: string;
  /** Null: the applicant's requirement; otherwise the party subject it is for (the second buyer). */
  partySubjectId: string | null;
  certificateType: string;
  /** Whose certificate: the applicant's or the party subject's. */
  subjectId: string;
  party: string;
}

/** The certificate types to fetch for a case: per fetchable requirement, its first type a department issues. */
export async function fetchPlan(
  context: AccessContext,
  services: CaseServices,
  caseId: string,
): Promise<{
  row: CaseRow;
  planned: PlannedFetch[];
  numbers: Record<string, string>;
}> {
  return auditCaseRefusals(context, 'case.fetch_certificates', () =>
    context.db.transaction(async (tx) => {
      const visible = await visibleCase(tx, context, caseId, 'case.change');
      const { row } = visible;
      if (row.status !== 'open' && row.status !== 'awaiting_applicant')
        throw new ApiError(
          'case_not_open',
          message('case.status_is', { caseNumber: row.caseNumber, status: row.status }),
        );
      const view = await caseView(tx, visible, services);
      const planned: PlannedFetch[] = [];
      // A requirement bound to the form's number fetches that certificate, not the department's usual choice.
      const numbers: Record<string, string> = {};
      for (const entry of view.notice.entries) {
        const first = entry.fetchableFrom[0];
        const mismatched = entry.blocks.some((block) => block.code === 'certificate_reference_mismatch');
        if ((entry.state === 'fetchable' || mismatched) && first) {
          planned.push({
            requirementCode: entry.requirementCode,
            partySubjectId: entry.partySubjectId,
            certificateType: first.certificateType,
            subjectId: entry.partySubjectId ?? row.subjectId,
            party: entry.party,
          });
          if (entry.reference !== null && numbers[first.certificateType] === undefined)
            numbers[first.certificateType] = entry.reference;
        }
      }
      return { row, planned, numbers };
    }),
  );
}

/**
 * A case's fetch refused when the form names a certificate by number that its holder does not hold
 * (the department looked among that holder's certificates): the case could only fail at submission,
 * so nothing is attached and the window hears it now, in both languages, with the requirement.
 * The fetch answers on record say the rest (each is audited with `refused:certificate_not_held`).
 */
export function refuseCertificatesNotHeld(
  planned: readonly PlannedFetch[],
  answers: ReadonlyMap<string, { results: readonly { certificateType: string; error: { code: string } | null }[] }>,
  numbers: Readonly<Record<string, string>>,
  types: ReadonlyMap<string, { name: string; nameZh: string }>,
): void {
  for (const { requirementCode, certificateType, subjectId, party } of planned) {
    const number = numbers[certificateType];
    if (number === undefined) continue;
    const result = answers.get(subjectId)?.results.find((entry) => entry.certificateType === certificateType);
    if (result?.error?.code !== 'certificate_not_held') continue;
    const type = types.get(certificateType);
    throw bilingualError(
      'certificate_not_held',
      message('case.certificate_not_held', {
        typeName: type?.name ?? certificateType,
        typeNameZh: type?.nameZh ?? certificateType,
        certificateNumber: number,
        requirementCode,
        party,
      }),
      { requirementCode, certificateType, certificateNumber: number, party },
    );
  }
}

/** Where a window system's new case is accepted, and the promised days it gets there. */
function offerAt(
  directory: CentreDirectory,
  clientId: string,
  item: ItemDefinition,
): { centreCode: string | null; promisedDays: number } {
  const [centreCode = null] = directory.clientCentres.get(clientId) ?? [];
  if (centreCode === null) return { centreCode: null, promisedDays: item.promisedDays };
  const offered = directory.centreItems.get(pairKey(centreCode, item.code));
  if (!offered?.enabled) {
    throw new ApiError(
      'item_not_offered_here',
      message('case.item_not_offered_here', {
        itemName: item.name,
        itemNameZh: item.nameZh,
        centreCode,
        itemCode: item.code,
      }),
      {
        centreCode,
        itemCode: item.code,
      },
    );
  }
  // An escalated item must have a centre to go up to, known before anyone hands anything in.
  if (item.kind === 'escalated') decidingCentreFor(directory, centreCode, item);
  return { centreCode, promisedDays: offered.promisedDays ?? item.promisedDays };
}

/**
 * The centre that decides an escalated item for a case at `from`: the nearest centre at or above
 * it of the item's deciding level that offers the item; `from` itself when the item names no level.
 */
function decidingCentreFor(directory: CentreDirectory, from: string, item: ItemDefinition): string {
  if (item.decidingLevel === null) return from;
  for (let code: string | null = from; code !== null; code = directory.centres.get(code)?.parentCode ?? null) {
    const centre = directory.centres.get(code);
    if (centre?.level === item.decidingLevel && directory.centreItems.get(pairKey(code, item.code))?.enabled)
      return code;
  }
  throw new ApiError(
    'no_deciding_centre',
    message('case.no_deciding_centre', {
      decidingLevel: item.decidingLevel,
      from,
      itemName: item.name,
      itemNameZh: item.nameZh,
    }),
    {
      centreCode: from,
      itemCode: item.code,
      decidingLevel: item.decidingLevel,
    },
  );
}

/** Moves a case to another centre (a transfer or an escalation): the deadline clock runs on, unchanged. */
async function moveCase(
  tx: Queryable,
  visible: VisibleCase,
  move: { to: string; kind: 'transferred' | 'escalated'; reason: string | null },
  shown?: CaseView,
): Promise<void> {
  const { row } = visible;
  const action = `case.${move.kind === 'transferred' ? 'transfer' : 'escalate'}`;
  await Promise.all([
    tx
      .update(cases)
      .set({ centreCode: move.to, transfers: sql`${cases.transfers} + 1`, updatedAt: new Date() })
      .where(eq(cases.id, row.id)),
    addEvent(tx, row.id, move.kind, {
      from: row.centreCode,
      to: move.to,
      // A clerk's words may quote the applicant's number: kept masked, as a department's are.
      ...(move.reason === null ? {} : { reason: maskPersonalText(move.reason) }),
    }),
    auditAccess(tx, visible.context, {
      decision: visible.decision,
      action,
      subjectId: row.subjectId,
      // With the case view it answers (a transfer's): what was shown, as on every read of the case.
      fields: [`centre:${row.centreCode}->${move.to}`, ...(shown ? ['form', 'materials', 'deliveries'] : [])],
      ...(shown ? { materialTypes: materialTypesShown(shown) } : {}),
    }),
    ...(shown ? [auditOthersMaterials(tx, visible, action, partyMaterialsShown(shown), shown.parties)] : []),
  ]);
}

export interface TransferInput {
  toCentre: string;
  reason: string;
}

/**
 * Transfers a case to another centre (就近办、异地受理、跨域通办): by a window of the centre handling
 * it, to a centre that offers the item. The deadline runs on; both centres see the case from then on.
 */
export async function transferCase(
  context: AccessContext,
  services: CaseServices,
  caseId: string,
  input: TransferInput,
): Promise<CaseView> {
  return auditCaseRefusals(context, 'case.transfer', () =>
    context.db.transaction(async (tx) => {
      const visible = await visibleCase(tx, context, caseId, 'case.change', { lock: true });
      const { row } = visible;
      if (isFinalCaseStatus(row.status))
        throw new ApiError(
          'case_concluded',
          message('case.concluded_no_transfer', { caseNumber: row.caseNumber, status: row.status }),
        );
      if (row.centreCode === null) throw new ApiError('case_has_no_centre', message('case.no_centre_no_transfer'));
      const directory = await services.reference.centreDirectory(tx);
      if (!directory.centres.has(input.toCentre))
        throw new ApiError('centre_not_found', message('centre.not_found', { centreCode: input.toCentre }), {
          centreCode: input.toCentre,
        });
      if (input.toCentre === row.centreCode)
        throw new ApiError(
          'transfer_to_same_centre',
          message('case.already_at_centre', { centreCode: input.toCentre }),
        );
      if (!directory.centreItems.get(pairKey(input.toCentre, row.itemCode))?.enabled) {
        throw new ApiError(
          'centre_not_handling_item',
          message('case.centre_not_handling_item', { centreCode: input.toCentre, itemCode: row.itemCode }),
          {
            centreCode: input.toCentre,
            itemCode: row.itemCode,
          },
        );
      }
      const moved = { ...row, centreCode: input.toCentre, transfers: row.transfers + 1 };
      const view = await caseView(
        tx,
        { ...visible, row: moved, facts: { ...visible.facts, centreCode: input.toCentre } },
        services,
      );
      await moveCase(tx, visible, { to: input.toCentre, kind: 'transferred', reason: input.reason }, view);
      return view;
    }),
  );
}

export interface SubmitInput {
  form?: Record<string, unknown>;
}

/**
 * The refusal naming the materials still missing: each entry written in both languages (where to
 * fetch it, or that the applicant hands it in), the list joined in each language's own way.
 */
function missingMaterials(missing: NoticeEntry[]): Message {
  const entries = missing.map((entry) =>
    message('case.missing_material', {
      name: entry.name,
      state: entry.state,
      departments: entry.fetchableFrom.map((source) => source.department).join('/'),
    }),
  );
  return message('case.materials_missing', {
    missing: entries.map((entry) => formatMessage(entry, 'en')).join('; '),
    missingZh: entries.map((entry) => formatMessage(entry, 'zh-CN')).join('；'),
  });
}

/**
 * Submits an open case inside the caller's transaction (the idempotency wrapper's): checks the
 * form and the materials, accepts deferrable ones as deferred with their due dates, computes the
 * promised and statutory due dates on the working-day calendar, and writes the case and one
 * delivery per department of the item — all or nothing. Answers the case as submitted and its
 * writes (`written`: issued, not yet answered — the caller sends its last statement and the
 * commit behind them and awaits them after; their failure aborts the transaction).
 */
export async function submitCase(
  tx: Queryable,
  context: AccessContext,
  services: CaseServices,
  caseId: string,
  input: SubmitInput,
): Promise<{ view: CaseView; written: Promise<void> }> {
  // One round trip: the case locked, then (a statement of its own, so it reads after the lock is
  // granted) its deliveries, requirement rows and result. Used only once the policy has said yes.
  const [[locked], { deliveries: readDeliveries, requirements: joined, result: resultRow }] = await Promise.all([
    selectCaseForUpdate(tx, { caseId }),
    selectSubmissionParts(tx, caseId),
  ]);
  if (!locked) throw new ApiError('not_found', message('case.not_found'));
  const visible = await decidedCase(tx, context, locked, readDeliveries, 'case.change');
  const { row } = visible;
  if (row.status !== 'open')
    throw new ApiError(
      'case_not_open',
      message('case.already_submitted', { caseNumber: row.caseNumber, status: row.status }),
    );
  const item = await requireItemFrom(services.reference, tx, row.itemCode);
  const form = input.form ?? row.form;
  checkForm(item.code, item.formSchema, form);
  if (item.parties.some((party) => party.formField !== undefined))
    await checkFormParties(tx, context, services, item, form, await partiesOf(tx, row.id));

  // Deliverable as the departments stand now: an adapter may have changed since the item was saved.
  const gaps = deliverabilityGaps(item, services.departments);
  if (gaps.length > 0) {
    const notReceiving = [...new Set(gaps.map((gap) => gap.department))];
    throw new ApiError(
      'department_not_receiving',
      message('case.department_not_receiving', {
        departments: notReceiving.join(', '),
        gaps: gaps.map((gap) => gap.message).join(' '),
      }),
      { departments: notReceiving, gaps },
    );
  }

  const today = chinaToday(services.clock.now());
  // Days of a year whose holidays are not published yet count by the weekday rule (provisional).
  const calendar = withProvisionalYears(await services.calendar());
  const parts = { ...casePartsFrom(joined, visible.deliveries), result: resultRow };
  const view = await caseView(tx, { ...visible, row: { ...row, form } }, services, today, parts);
  // Not acceptable whatever is handed in: refused before anything is written or dispatched.
  const blocks = view.notice.entries.flatMap((entry) =>
    entry.blocks.map((block) => ({ requirementCode: entry.requirementCode, ...block })),
  );
  if (blocks.length > 0) {
    const first = blocks[0]!;
    const detail = {
      'zh-CN': blocks.map((block) => block.message.zh).join(''),
      en: blocks.map((block) => block.message.en).join(' '),
    };
    throw new ApiError(first.code, detail, {
      blocks,
      messageZh: blocks.map((block) => block.message.zh).join(''),
    });
  }
  const missing = view.notice.entries.filter(
    (entry) =>
      (entry.state === 'missing' || entry.state === 'fetchable') && !entry.optional && entry.deferrableDays === null,
  );
  if (missing.length > 0) {
    throw new ApiError('materials_missing', missingMaterials(missing), {
      missing: missing.map((entry) => ({
        requirementCode: entry.requirementCode,
        partySubjectId: entry.partySubjectId,
        name: entry.name,
        state: entry.state,
      })),
    });
  }
  const deferred = view.notice.entries.filter(
    (entry) =>
      (entry.state === 'missing' || entry.state === 'fetchable' || entry.state === 'deferrable') &&
      !entry.optional &&
      entry.deferrableDays !== null,
  );
  const now = services.clock.now();
  // Per requirement row: the requirement and whose (a party's requirement is one row per subject).
  const rowKey = (requirementCode: string, partySubjectId: string | null) =>
    partySubjectId === null ? requirementCode : `${requirementCode} ${partySubjectId}`;
  const deferredUntil = new Map(
    deferred.map((entry) => [
      rowKey(entry.requirementCode, entry.partySubjectId),
      {
        requirementCode: entry.requirementCode,
        partySubjectId: entry.partySubjectId,
        dueOn: calendar.addWorkingDays(today, entry.deferrableDays ?? 0),
      },
    ]),
  );
  const due = dueDates(calendar, today, row.promisedDays, item.statutoryDays, 0);
  // An escalated item (上报件) goes up the tree to the centre of the level that decides it.
  const decidingCentre =
    item.kind === 'escalated' && row.centreCode !== null
      ? decidingCentreFor(await services.reference.centreDirectory(tx), row.centreCode, item)
      : null;
  const counts = view.notice.counts;
  // A staged item's later stages wait (held) until the stage before has completed.
  const firstStage = Math.min(...item.departments.map((department) => stageOf(item, department)));
  const deliveryRows = item.departments.map((department) => {
    const stage = stageOf(item, department);
    return {
      id: newDeliveryId(),
      caseId: row.id,
      departmentCode: department,
      stage,
      status: stage === firstStage ? ('pending' as const) : ('held' as const),
    };
  });
  // Every write in one round trip: they do not depend on each other. Each is issued here (a
  // builder by `.execute()`), so the caller may send its own last statement and the commit behind them.
  const moved = decidingCentre !== null && decidingCentre !== row.centreCode;
  const submittedValues = {
    caseId: row.id,
    form: context.access.protection.sealJson('cases.form', form),
    submittedAt: now,
    acceptedOn: today,
    promisedDays: row.promisedDays,
    ...due,
    materialsRequired: counts.required,
    materialsHandedIn: counts.handedIn,
    materialsReused: counts.reused,
    materialsFetched: counts.fetched,
    materialsDeferred: deferred.length,
  };
  const submittedEvent = {
    acceptedOn: today,
    ...due,
    departments: item.departments,
    deferred: deferred.map((entry) => entry.requirementCode),
  };
  const disclosure = {
    decision: visible.decision,
    action: 'case.submit',
    subjectId: row.subjectId,
    fields: ['materials', `departments:${item.departments.join(',')}`],
    materialTypes: materialTypesShown(view),
  };
  const deferring = () =>
    [...deferredUntil.values()].map(({ requirementCode, partySubjectId, dueOn }) =>
      tx
        .update(caseMaterials)
        .set({ resolution: 'deferred', materialId: null, dueOn, updatedAt: now })
        .where(
          and(
            eq(caseMaterials.caseId, row.id),
            eq(caseMaterials.requirementCode, requirementCode),
            partyOf(partySubjectId),
          ),
        )
        .execute(),
    );
  const single = deliveryRows.length === 1 && item.kind !== 'immediate' && !moved ? deliveryRows[0] : undefined;
  const writes: Promise<{ submitted: CaseRow | undefined; inserted: DeliveryRow[] } | { updated: boolean }> = single
    ? // The common case, one department: the case's update, its delivery row, its event and the
      // audit entry in one statement (data-modifying CTEs), the deferred rows (if any) beside it.
      Promise.all([
        // Written out rather than spread (see insertOpenedCase's call); the audit entry's spread goes last.
        submitCaseWrites(tx, {
          caseId: submittedValues.caseId,
          form: submittedValues.form,
          submittedAt: submittedValues.submittedAt,
          acceptedOn: submittedValues.acceptedOn,
          promisedDays: submittedValues.promisedDays,
          dueOn: submittedValues.dueOn,
          statutoryDueOn: submittedValues.statutoryDueOn,
          materialsRequired: submittedValues.materialsRequired,
          materialsHandedIn: submittedValues.materialsHandedIn,
          materialsReused: submittedValues.materialsReused,
          materialsFetched: submittedValues.materialsFetched,
          materialsDeferred: submittedValues.materialsDeferred,
          deliveryId: single.id,
          departmentCode: single.departmentCode,
          stage: single.stage,
          deliveryStatus: single.status,
          eventDetail: submittedEvent,
          ...auditEntryValues(disclosureEntry(visible.context, disclosure)),
        }),
        ...deferring(),
        auditOthersMaterials(tx, visible, 'case.submit', partyMaterialsShown(view), view.parties),
      ]).then(([updated]) => ({ updated: updated.length > 0 }))
    : Promise.all([
        markCaseSubmitted(tx, submittedValues),
        deliveryRows.length === 1 && deliveryRows[0]
          ? insertDelivery(tx, deliveryRows[0])
          : tx.insert(deliveries).values(deliveryRows).returning().execute(),
        ...deferring(),
        addEvent(tx, row.id, 'submitted', submittedEvent),
        ...(moved && decidingCentre
          ? [moveCase(tx, visible, { to: decidingCentre, kind: 'escalated', reason: null })]
          : []),
        auditAccess(tx, visible.context, disclosure),
        auditOthersMaterials(tx, visible, 'case.submit', partyMaterialsShown(view), view.parties),
      ]).then(([[submitted], inserted]) => ({ submitted, inserted: inserted as DeliveryRow[] }));
  // The answer from what is written, without reading it back.
  const entries = parts.entries.map((entry) => {
    const dueOn = deferredUntil.get(rowKey(entry.requirementCode, entry.partySubjectId))?.dueOn;
    return dueOn === undefined
      ? entry
      : { ...entry, resolution: 'deferred' as const, materialId: null, dueOn, updatedAt: now };
  });
  const answer = (submitted: CaseRow, inserted: readonly DeliveryRow[]) =>
    caseView(
      tx,
      { ...visible, row: submitted, facts: { ...visible.facts, deliveredTo: departmentsReached(inserted) } },
      services,
      today,
      {
        entries,
        materials: parts.materials,
        deliveries: inserted,
        // As `caseView` would read them (the same rows as the requirement rows' join).
        certificates: needsCertificateFacts(item, form)
          ? (parts.certificates ?? new Map<string, CertificateFacts>())
          : new Map<string, CertificateFacts>(),
        // An immediate case's result was just prepared: read again.
        ...(item.kind === 'immediate' ? {} : { result: resultRow }),
      },
    );

  if (item.kind !== 'immediate' && !moved) {
    // The common case: the rows the writes return are known already (no trigger or default of
    // these tables shows in the answer), so the answer is built without waiting for them and the
    // writes go out with the idempotency key's answer and the commit.
    writes.catch(() => undefined);
    const submitted: CaseRow = {
      ...row,
      status: 'submitted',
      form,
      submittedAt: now,
      acceptedOn: today,
      promisedDays: row.promisedDays,
      dueOn: due.dueOn,
      statutoryDueOn: due.statutoryDueOn,
      materialsRequired: counts.required,
      materialsHandedIn: counts.handedIn,
      materialsReused: counts.reused,
      materialsFetched: counts.fetched,
      materialsDeferred: deferred.length,
      updatedAt: now,
    };
    const inserted: DeliveryRow[] = deliveryRows.map((delivery) => ({
      attempts: 0,
      nextAttemptAt: now,
      leaseOwner: null,
      leaseUntil: null,
      lastError: null,
      departmentReference: null,
      departmentStatus: null,
      departmentUpdatedAt: null,
      createdAt: now,
      deliveredAt: null,
      deadAt: null,
      lastPolledAt: null,
      departmentMessage: null,
      cancelStatus: null,
      cancelledAt: null,
      ...delivery,
    }));
    return {
      view: await answer(submitted, inserted),
      written: writes.then((done) => {
        if ('updated' in done ? !done.updated : !done.submitted) throw new Error('update returned no row');
      }),
    };
  }

  const done = await writes;
  const submitted = 'submitted' in done ? done.submitted : undefined;
  if (!submitted || !('inserted' in done)) throw new Error('update returned no row');
  const { inserted } = done;
  // 即办件: decided at the window in the same visit — concluded today; the departments get the record.
  if (item.kind === 'immediate') {
    const [concluded] = await tx
      .update(cases)
      .set({ status: 'completed', completedAt: now, completedOn: today, updatedAt: now })
      .where(eq(cases.id, row.id))
      .returning();
    if (concluded) Object.assign(submitted, concluded);
    await addEvent(tx, row.id, 'completed', { on: today, dueOn: submitted.dueOn, onTime: true, decidedAt: 'window' });
    await prepareResult(tx, row.id, now);
  }
  if (moved) Object.assign(submitted, { centreCode: decidingCentre, transfers: submitted.transfers + 1 });
  return { view: await answer(submitted, inserted), written: Promise.resolve() };
}

/** Attaches fetched certificates to the requirements they were fetched for. */
export async function attachFetched(
  context: AccessContext,
  services: CaseServices,
  caseId: string,
  fetched: {
    requirementCode: string;
    partySubjectId: string | null;
    materialId: string;
    source: 'stored' | 'department';
  }[],
): Promise<CaseView> {
  return auditCaseRefusals(context, 'case.fetch_certificates', () =>
    context.db.transaction(async (tx) => {
      const visible = await visibleCase(tx, context, caseId, 'case.change', { lock: true });
      // The departments answered in seconds: the window may have submitted meanwhile (fetchPlan's
      // check, again under the lock). What was fetched stays stored for reuse.
      const { status, caseNumber } = visible.row;
      if (status !== 'open' && status !== 'awaiting_applicant')
        throw new ApiError('case_not_open', message('case.fetched_after_status_change', { caseNumber, status }));
      for (const entry of fetched) {
        const resolution = entry.source === 'department' ? ('fetched' as const) : ('reused' as const);
        await tx
          .update(caseMaterials)
          .set({ materialId: entry.materialId, resolution, dueOn: null, updatedAt: new Date() })
          .where(
            and(
              eq(caseMaterials.caseId, caseId),
              eq(caseMaterials.requirementCode, entry.requirementCode),
              partyOf(entry.partySubjectId),
            ),
          );
        await addEvent(tx, caseId, 'certificate_fetched', {
          requirementCode: entry.requirementCode,
          ...(entry.partySubjectId === null ? {} : { partySubjectId: entry.partySubjectId }),
          materialId: entry.materialId,
          source: entry.source,
        });
      }
      const [updated] = await tx.select().from(cases).where(eq(cases.id, caseId));
      const view = await caseView(tx, { ...visible, row: updated ?? visible.row }, services);
      await auditCaseView(tx, visible, 'case.fetch_certificates', view);
      return view;
    }),
  );
}
