/**
 * Certificates for window systems: for one subject and several certificate types, answer each
 * type from a fresh stored copy or from its issuing department, all departments asked in
 * parallel under one overall deadline, so one slow or failing department never holds the others.
 *
 * Per request: one transaction checks the subject, the caller's grants for every department
 * resource involved, and serves the fresh copies (with their audit entries); then the departments
 * are called with no transaction open; each certificate they return is checked (right subject,
 * right type, real document type), stored once by content, and audited in its own transaction.
 * A department that cannot answer is replaced by a stale copy only where the type's policy
 * allows it, and that copy is marked stale.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type {
  CertificateChoice,
  CertificateMetadata,
  CertificateResult,
  SubjectRef,
} from '../../adapters/sdk/types.js';
import { recordAudit } from '../audit/record.js';
import type { KeyStore } from '../auth/keys.js';
import { auditAccess, auditRefusal, auditRefusals } from '../access/audit.js';
import { type AccessContext, type AllowedDecision, refusal } from '../access/context.js';
import type { ReferenceData } from '../access/reference-data.js';
import type { Decision, GrantFacts } from '../access/policy.js';
import type { DatabaseHandle, Queryable } from '../db/client.js';
import { invokeDepartment } from '../departments/calls.js';
import type { PublishedContracts } from '../departments/published-contracts.js';
import type { DepartmentRegistry, RegisteredDepartment } from '../departments/registry.js';
import { maskCreditCode, maskName, maskResidentId } from '../identity/identifiers.js';
import { departmentSubjectRef } from '../identity/subjects.js';
import type { BlobStore } from '../materials/blob-store.js';
import type { MaterialTypeRow } from '../materials/catalogue.js';
import { detectMediaType } from '../materials/media-type.js';
import { ApiError, message } from '../platform/errors.js';
import { fieldProblem } from '../platform/field-problems.js';
import { isPersonName, maskPersonalText } from '../platform/identifier-masking.js';
import type { CertificateClaims, EnvelopeCache } from './envelope.js';
import { normaliseCertificateNumber } from './numbers.js';
import { readAndAudit } from './read-stored.js';
import { type CertificateRow, type StoredCertificate, coHolderSubjects, recordFetchedCertificate } from './store.js';
import { signalWithin } from '../platform/deadline.js';

export interface CertificateServices {
  departments: DepartmentRegistry;
  /** The material-type catalogue (and the policy's facts) in memory. */
  reference: ReferenceData;
  /** Envelopes signed once per certificate version and view. */
  envelopes: EnvelopeCache;
  /** For the one prepared statement of an answer from storage. */
  database: Pick<DatabaseHandle, 'prepared'>;
  blobStore: BlobStore;
  keys: KeyStore;
  logger: Logger;
  publishedContracts: PublishedContracts;
  issuer: string;
  defaultDeadlineMs: number;
}

export interface CertificateFetchContext extends AccessContext {
  services: CertificateServices;
  /** The client went away: stop asking departments. Read only when a department is asked (a getter may build it then). */
  readonly signal?: AbortSignal;
  now?: () => Date;
}

export interface CertificateFetchRequest {
  types: string[];
  /** Ask the departments even when a fresh copy is stored. */
  refresh?: boolean;
  /** At most the configured deadline. */
  deadlineMs?: number;
  /** Per type, the number of the one certificate meant (the flat named in the form), normalised by `normaliseCertificateNumber`. */
  numbers?: Readonly<Record<string, string>>;
  /**
   * False: a number the holder does not hold stays a per-type `not_found` result (code
   * `certificate_not_held`) even when nothing else was asked — for a caller that decides itself.
   */
  refuseNotHeld?: boolean;
}

export type CertificateStatus =
  | 'ok'
  | 'not_found'
  | 'revoked'
  | 'cancelled'
  | 'department_unavailable'
  | 'denied'
  | 'department_error';

export interface CertificateAnswer {
  certificateType: string;
  status: CertificateStatus;
  department: string | null;
  /** Where the certificate came from in this answer: a stored copy or the department just now. */
  source: 'stored' | 'department' | null;
  /** Served past its freshness because the department could not answer. */
  stale: boolean;
  certificate: CertificateClaims['certificate'] | null;
  material: { id: string; status: string; content: CertificateClaims['content'] } | null;
  fetchedAt: string | null;
  checkedAt: string | null;
  /** Compact JWS by the gateway over the certificate; verify at /v1/certificates/verify or offline. */
  envelope: string | null;
  error: { code: string; message: string } | null;
  /**
   * The subject's other certificates of the type, when it was asked for by type alone and the
   * department reported several: choose one and ask again by number. Null otherwise.
   */
  choices: CertificateChoice[] | null;
}

export interface CertificateFetchAnswer {
  subjectId: string;
  deadlineMs: number;
  results: CertificateAnswer[];
}

/** Department errors that mean "could not answer now" rather than "answered wrongly". */
const UNAVAILABLE_CODES = new Set([
  'department_unavailable',
  'department_circuit_open',
  'department_overloaded',
  'department_timeout',
  'department_connection_failed',
]);

interface SubjectRow {
  id: string;
  kind: 'person' | 'organisation';
  identifierType: string;
  identifier: string;
  name: string;
}

/** A stored certificate as this flow needs it: the certificate row and what it uses of its material. */
export interface ServedCertificate {
  certificate: CertificateRow;
  material: Pick<
    StoredCertificate['material'],
    'id' | 'subjectId' | 'status' | 'contentSha256' | 'mediaType' | 'contentSize'
  > & { contentSm3?: string | null };
}

interface TypePlan {
  type: MaterialTypeRow;
  provider: RegisteredDepartment;
  resourceCode: string | null;
  /** The policy's answer to using the provider's resource: the certificate route's sharing rule. */
  access: Decision;
  stored: ServedCertificate | undefined;
  /** The one certificate meant, by number; undefined: the department's usual choice. */
  number: string | undefined;
}

function emptyAnswer(
  certificateType: string,
  status: CertificateStatus,
  department: string | null,
  error: ApiError | null = null,
): CertificateAnswer {
  return {
    certificateType,
    status,
    department,
    source: null,
    stale: false,
    certificate: null,
    material: null,
    fetchedAt: null,
    checkedAt: null,
    envelope: null,
    error: error ? answerError(error) : null,
    choices: null,
  };
}

/**
 * A per-type error as the answer carries it: its text masked as a problem document's is (a
 * department's words, or a number the caller sent, may quote an ID number or a mobile).
 */
export function answerError(error: ApiError): { code: string; message: string } {
  return { code: error.code, message: maskPersonalText(error.message) };
}

/** The instant after which a copy last confirmed then is fresh at `now`; null when the type is never served from storage. */
function freshAfterMs(type: MaterialTypeRow, now: Date): number | null {
  return type.freshForSeconds === null ? null : now.getTime() - type.freshForSeconds * 1000;
}

function isFresh(stored: ServedCertificate, type: MaterialTypeRow, now: Date): boolean {
  const after = freshAfterMs(type, now);
  return after !== null && stored.certificate.checkedAt.getTime() > after;
}

function mayServeStale(
  stored: ServedCertificate | undefined,
  type: MaterialTypeRow,
  now: Date,
): stored is ServedCertificate {
  return (
    stored !== undefined &&
    type.staleGraceSeconds !== null &&
    now.getTime() - stored.certificate.checkedAt.getTime() <= type.staleGraceSeconds * 1000
  );
}

/** Refuses types no department issues, before anything is read or asked. */
function checkTypesOffered(
  types: readonly string[],
  catalogue: Map<string, MaterialTypeRow>,
  departments: DepartmentRegistry,
): void {
  const unknown = types.filter((code) => !catalogue.has(code) || departments.providersOf(code).length === 0);
  if (unknown.length > 0) {
    const offered = [
      ...new Set(departments.list().flatMap((department) => [...(department.adapter.certificateTypes ?? [])])),
    ].sort();
    throw new ApiError(
      'unknown_certificate_type',
      message('certificate.unknown_types', { unknown: unknown.join(', '), offered: offered.join(', ') || 'none' }),
      { unknown, offered },
    );
  }
}

/** Refuses types of the other kind of subject (a person's card for a company). */
function checkTypesFitSubject(
  types: readonly string[],
  catalogue: Map<string, MaterialTypeRow>,
  subject: SubjectRow,
): void {
  const wrongKind = types.filter((code) => {
    const kind = catalogue.get(code)?.subjectKind;
    return kind !== null && kind !== undefined && kind !== subject.kind;
  });
  if (wrongKind.length > 0) {
    throw new ApiError(
      'certificate_type_not_for_subject',
      message('certificate.type_not_for_subject', {
        types: wrongKind.join(', '),
        count: wrongKind.length,
        subjectKind: subject.kind,
      }),
      { types: wrongKind },
    );
  }
}

export async function fetchCertificates(
  context: CertificateFetchContext,
  subjectId: string,
  request: CertificateFetchRequest,
): Promise<CertificateFetchAnswer> {
  const { services } = context;
  const now = context.now ?? (() => new Date());
  const types = [...new Set(request.types)];
  const numbers = Object.fromEntries(
    Object.entries(request.numbers ?? {}).map(([type, number]) => [type, normaliseCertificateNumber(number)]),
  );
  const unasked = Object.keys(numbers).filter((type) => !types.includes(type));
  if (unasked.length > 0) {
    throw new ApiError(
      'validation_failed',
      message('certificate.number_for_unasked_type', { types: unasked.join(', ') }),
      {
        errors: unasked.map((type) =>
          fieldProblem(`numbers.${type}`, 'not among types', '该证照类型不在 types 所列之中'),
        ),
      },
    );
  }
  const deadlineMs = Math.min(request.deadlineMs ?? services.defaultDeadlineMs, services.defaultDeadlineMs);

  // 1. Decide from what is in memory — the catalogue, the resources' terms, the caller's grants —
  // then one statement reads the subject and its stored copies and writes the audit entries of
  // the copies it serves and of the refusals, atomically: nothing is shown that is not recorded.
  const startedAt = now();
  const { plans, unmask } = await auditRefusals(
    context,
    { action: 'certificate.fetch', subjectId, materialTypes: types },
    async () => {
      const catalogue = await services.reference.decideConfirmingRefusal(context.db, async () => {
        const found = await services.reference.materialTypes(context.db, types);
        checkTypesOffered(types, found, services.departments);
        return found;
      });
      const subjectResource = { kind: 'subject' as const, subjectId };
      const planWith = (facts: GrantFacts) => {
        const read = context.access.decideWith(facts, 'subject.read', subjectResource);
        const decided = new Map<string, Decision>();
        const planned: TypePlan[] = types.map((code) => {
          const provider = services.departments.providersOf(code)[0]!;
          const resourceCode = provider.adapter.resources.fetchCertificate ?? null;
          let access =
            resourceCode === null
              ? { allowed: true as const, rule: 'resource.none', grantId: null }
              : decided.get(resourceCode);
          if (access === undefined && resourceCode !== null) {
            access = context.access.decideWith(facts, 'resource.use', {
              kind: 'department_resource',
              code: resourceCode,
            });
            decided.set(resourceCode, access);
          }
          return {
            type: catalogue.get(code)!,
            provider,
            resourceCode,
            access: access!,
            stored: undefined,
            number: numbers[code],
          };
        });
        return { read, planned, unmask: context.access.decideWith(facts, 'subject.unmask', subjectResource).allowed };
      };
      const plan = await context.access.decideConfirmed(context.db, planWith, (made) => [
        made.read,
        ...made.planned.map((entry) => entry.access),
      ]);
      if (!plan.read.allowed) throw refusal(plan.read, subjectResource, message('subject.not_found'));
      return { plans: plan.planned, unmask: plan.unmask };
    },
  );
  const read = await readAndAudit(context, services.database, subjectId, plans, {
    refresh: request.refresh === true,
    at: startedAt,
    numbers,
  });
  if (!read.subject) {
    await auditRefusal(context, { action: 'certificate.fetch', subjectId, outcome: 'not_found', materialTypes: types });
    throw new ApiError('not_found', message('subject.not_found'));
  }
  const subject = read.subject;
  checkTypesFitSubject(types, new Map(plans.map((plan) => [plan.type.code, plan.type])), subject);
  const served = new Map<string, ServedCertificate>();
  for (const plan of plans) {
    plan.stored = read.stored.get(plan.type.code);
    // The same test the statement applied when it recorded what it would serve.
    if (plan.access.allowed && !request.refresh && plan.stored && isFresh(plan.stored, plan.type, startedAt))
      served.set(plan.type.code, plan.stored);
  }

  // 2. Departments, in parallel, under one deadline; no transaction open.
  // The deadline starts only when a department is asked: an answer from storage needs no timer.
  let signal: AbortSignal | undefined;
  const departmentSignal = (): AbortSignal => {
    if (!signal) {
      signal = signalWithin(deadlineMs, context.signal);
    }
    return signal;
  };
  const answers = await Promise.all(
    plans.map(async (plan): Promise<CertificateAnswer> => {
      if (!plan.access.allowed) {
        const code = plan.access.reason === 'not_shared' ? 'resource_not_shared' : 'resource_grant_required';
        return emptyAnswer(
          plan.type.code,
          'denied',
          plan.provider.code,
          new ApiError(
            code,
            message('certificate.grant_required', { resourceCode: plan.resourceCode ?? plan.type.code }),
          ),
        );
      }
      const fresh = served.get(plan.type.code);
      if (fresh) {
        await auditCoHolderRead(context, fresh, subjectId, plan, 'certificate.serve');
        return answerFor(context, fresh, plan, { source: 'stored', stale: false, unmask });
      }
      return askDepartment(context, subject, plan, departmentSignal(), deadlineMs, unmask, now);
    }),
  );
  // Asked for nothing but certificates by number the holder does not hold: the request itself is
  // wrong, so it is refused as a whole (each refusal is on record above, nothing was stored).
  if (request.refuseNotHeld !== false && answers.every((answer) => answer.error?.code === 'certificate_not_held')) {
    const [first] = plans;
    if (first?.number !== undefined) throw certificateNotHeld(first.type, first.number);
  }
  return { subjectId, deadlineMs, results: answers };
}

/** A number the holder does not hold (as its department reports): named by type and number, never by whose it is. */
export function certificateNotHeld(type: Pick<MaterialTypeRow, 'code' | 'name' | 'nameZh'>, number: string): ApiError {
  return new ApiError(
    'certificate_not_held',
    message('certificate.not_held', { typeName: type.name, typeNameZh: type.nameZh, certificateNumber: number }),
    { certificateType: type.code, certificateNumber: number },
  );
}

/** The decision of a plan the departments are asked for: only allowed plans get that far. */
/** A stored jointly held certificate served to one holder is a read on the other holders' record too. */
async function auditCoHolderRead(
  context: CertificateFetchContext,
  stored: ServedCertificate,
  subjectId: string,
  plan: TypePlan,
  action: string,
): Promise<void> {
  const metadata = stored.certificate.metadata as unknown as CertificateMetadata;
  if ((metadata.holders?.length ?? 0) < 2) return;
  await context.db.transaction(async (tx) => {
    for (const coHolder of await coHolderSubjects(tx, context.access.protection, metadata, subjectId))
      await auditAccess(tx, context, {
        decision: allowedAccess(plan),
        action,
        subjectId: coHolder,
        fields: ['co_holder', `certificate_of:${subjectId}`],
        materialTypes: [plan.type.code],
      });
  });
}

function allowedAccess(plan: TypePlan): AllowedDecision {
  if (!plan.access.allowed) throw new Error(`certificate plan for ${plan.type.code} was refused, yet used`);
  return plan.access;
}

/** Resolves when the signal aborts, so a department that ignores it cannot hold the answer. */
function whenAborted(signal: AbortSignal): Promise<'deadline'> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve('deadline');
    else signal.addEventListener('abort', () => resolve('deadline'), { once: true });
  });
}

async function askDepartment(
  context: CertificateFetchContext,
  subject: SubjectRow,
  plan: TypePlan,
  signal: AbortSignal,
  deadlineMs: number,
  unmask: boolean,
  now: () => Date,
): Promise<CertificateAnswer> {
  const { services } = context;
  const department = plan.provider;
  let subjectRef: SubjectRef;
  try {
    subjectRef = departmentSubjectRef(subject, department.code);
  } catch (error) {
    // A person known by a passport or a permit: the department cannot be asked, so it is not called.
    if (!(error instanceof ApiError)) throw error;
    await auditCertificate(context.db, context, subject.id, plan, 'denied', [
      `department:${department.code}`,
      `refused:${error.code}`,
    ]);
    return emptyAnswer(plan.type.code, 'denied', department.code, error);
  }
  let result: CertificateResult | 'deadline';
  try {
    result = await Promise.race([
      invokeDepartment(
        { requestId: context.requestId, logger: services.logger, signal },
        department,
        'fetchCertificate',
        (adapter, callContext) =>
          adapter.fetchCertificate!(
            {
              certificateType: plan.type.code,
              subject: subjectRef,
              ...(plan.number === undefined ? {} : { certificateNumber: plan.number }),
            },
            callContext,
          ),
      ),
      whenAborted(signal),
    ]);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return departmentFailed(context, subject.id, plan, error, unmask, now);
  }
  if (result === 'deadline') {
    return departmentFailed(
      context,
      subject.id,
      plan,
      new ApiError('department_timeout', message('certificate.deadline', { department: department.code, deadlineMs })),
      unmask,
      now,
    );
  }
  if (result.outcome === 'not_found') {
    if (plan.number === undefined) {
      await auditCertificate(context.db, context, subject.id, plan, 'not_found', [`department:${department.code}`]);
      return emptyAnswer(plan.type.code, 'not_found', department.code);
    }
    // Asked by number: the department looked among this holder's certificates only, so the answer
    // says nothing about whether someone else holds that number — and neither does the code.
    await auditCertificate(context.db, context, subject.id, plan, 'not_found', [
      `department:${department.code}`,
      'refused:certificate_not_held',
    ]);
    return emptyAnswer(plan.type.code, 'not_found', department.code, certificateNotHeld(plan.type, plan.number));
  }

  const { metadata, document } = result;
  const problem =
    plan.number !== undefined && normaliseCertificateNumber(metadata.certificateNumber) !== plan.number
      ? new ApiError('department_malformed_response', message('certificate.other_number', { type: plan.type.code }))
      : checkCertificate(
          subject,
          plan.type,
          metadata.certificateType,
          metadata.holderIdentifier,
          document.mediaType,
          document.bytes,
        );
  if (problem) return departmentFailed(context, subject.id, plan, problem, unmask, now);

  // The department sent the very rendition of the stored copy (the usual answer to a refresh):
  // its content is in the store already, so the put (a transaction, and a chunk buffer) is skipped
  // — unless the stored copy was found corrupt (quarantined) or is gone: then this put repairs it.
  const sha256 = createHash('sha256').update(document.bytes).digest('hex');
  // The SM3 digest goes into every envelope of this copy (GB/T 32905), whatever CONTENT_SM3 says.
  const sm3 = createHash('sm3').update(document.bytes).digest('hex');
  const storedCopyServable =
    plan.stored?.material.contentSha256 === sha256 && (await services.blobStore.stat(sha256))?.quarantined === false;
  const put = storedCopyServable
    ? { sha256, size: document.bytes.byteLength }
    : await services.blobStore.put(
        (async function* () {
          yield document.bytes;
        })(),
        { maxBytes: Math.max(document.bytes.byteLength, 1) },
      );
  const contract = plan.resourceCode ? services.publishedContracts.set.get(plan.resourceCode) : undefined;
  const stored = await recordFetchedCertificate(
    context,
    allowedAccess(plan),
    subject.id,
    {
      type: plan.type,
      department: department.code,
      contractResource: plan.resourceCode,
      contractVersion: contract?.version ?? null,
      metadata,
      content: { sha256: put.sha256, sm3, size: put.size, mediaType: document.mediaType },
    },
    now(),
  );
  return answerFor(context, stored, plan, { source: 'department', stale: false, unmask });
}

/**
 * What must hold before a department's certificate is stored: about this subject, of the type
 * asked for, and a real document of a type the catalogue allows (its first bytes say so).
 */
function checkCertificate(
  subject: SubjectRow,
  type: MaterialTypeRow,
  certificateType: string,
  holderIdentifier: string,
  mediaType: string,
  bytes: Uint8Array,
): ApiError | null {
  if (holderIdentifier.toUpperCase() !== subject.identifier.toUpperCase()) {
    return new ApiError('department_wrong_subject', message('certificate.other_holder'));
  }
  if (certificateType !== type.code) {
    return new ApiError(
      'department_malformed_response',
      message('certificate.other_type', { answered: certificateType, asked: type.code }),
    );
  }
  const detected = detectMediaType(bytes.subarray(0, 4096));
  if (!detected || detected.mediaType !== mediaType || !type.allowedMediaTypes.includes(mediaType)) {
    return new ApiError(
      'department_malformed_response',
      message('certificate.document_type', { mediaType, type: type.code }),
    );
  }
  return null;
}

async function departmentFailed(
  context: CertificateFetchContext,
  subjectId: string,
  plan: TypePlan,
  error: ApiError,
  unmask: boolean,
  now: () => Date,
): Promise<CertificateAnswer> {
  const unavailable = UNAVAILABLE_CODES.has(error.code);
  // A refresh that the department could not answer falls back to a copy that is still fresh
  // (not stale: the policy would have served it anyway), or to a stale one where the policy allows.
  const fallback =
    unavailable &&
    plan.stored &&
    (isFresh(plan.stored, plan.type, now()) ? 'fresh' : mayServeStale(plan.stored, plan.type, now()) ? 'stale' : null);
  if (fallback && plan.stored) {
    const stale = fallback === 'stale';
    const action = stale ? 'certificate.serve_stale' : 'certificate.serve';
    await auditAccess(context.db, context, {
      decision: allowedAccess(plan),
      action,
      subjectId,
      fields: ['certificate', 'content', `department_error:${error.code}`],
      materialTypes: [plan.type.code],
    });
    // A jointly held copy served while the department is down is a read of every holder's record too.
    await auditCoHolderRead(context, plan.stored, subjectId, plan, action);
    const answer = await answerFor(context, plan.stored, plan, { source: 'stored', stale, unmask });
    return { ...answer, error: answerError(error) };
  }
  await auditCertificate(context.db, context, subjectId, plan, 'failed', [
    `department:${plan.provider.code}`,
    `department_error:${error.code}`,
  ]);
  return emptyAnswer(
    plan.type.code,
    unavailable ? 'department_unavailable' : 'department_error',
    plan.provider.code,
    error,
  );
}

/** A certificate fetch that disclosed nothing to the caller (refused, not found, failed): still on record. */
async function auditCertificate(
  db: Queryable,
  context: AccessContext,
  subjectId: string,
  plan: TypePlan,
  outcome: 'denied' | 'not_found' | 'failed',
  fields: string[],
): Promise<void> {
  await recordAudit(db, {
    actor: context.principal,
    operatorId: context.purpose.operatorId,
    action: 'certificate.fetch',
    subjectRef: subjectId,
    fields,
    materialTypes: [plan.type.code],
    purpose: context.purpose.purpose,
    caseRef: context.purpose.caseRef,
    outcome,
    requestId: context.requestId,
  });
}

function choicesIn(metadata: Record<string, unknown>): CertificateChoice[] | null {
  const listed = metadata['alternatives'];
  return Array.isArray(listed) && listed.length > 0 ? (listed as CertificateChoice[]) : null;
}

/**
 * The object, shares, holders and restrictions a department reported. The other holders'
 * identifiers are always masked: the reader is served this holder's certificate, and unmasking
 * another person's number would need a read of that person. Their names follow the holder's.
 */
function objectFacts(
  metadata: CertificateClaims['certificate'],
  unmask: boolean,
): Partial<CertificateClaims['certificate']> {
  const self = metadata.holderIdentifier.toUpperCase();
  return {
    ...(metadata.location === undefined ? {} : { location: metadata.location }),
    ...(metadata.shareType === undefined ? {} : { shareType: metadata.shareType }),
    ...(metadata.holders === undefined
      ? {}
      : {
          holders: metadata.holders.map((holder) => ({
            name: unmask ? holder.name : maskName(holder.name),
            identifier:
              unmask && holder.identifier.toUpperCase() === self
                ? holder.identifier
                : maskIdentifier(holder.identifier),
            ...(holder.share === undefined ? {} : { share: holder.share }),
          })),
        }),
    ...(metadata.restrictions === undefined
      ? {}
      : {
          restrictions: metadata.restrictions.map((restriction) =>
            unmask || !isPersonName(restriction.party)
              ? restriction
              : { ...restriction, party: maskName(restriction.party) },
          ),
        }),
  };
}

function maskIdentifier(identifier: string): string {
  return /^\d{17}[\dX]$/i.test(identifier) ? maskResidentId(identifier) : maskCreditCode(identifier);
}

/**
 * What the gateway signs about a stored certificate (everything but `iat`): masked unless the
 * reader may see unmasked personal data. Shared by certificate answers and electronic results.
 */
export function certificateClaimsOf(
  stored: ServedCertificate,
  issuer: string,
  how: { stale: boolean; unmask: boolean },
): Omit<CertificateClaims, 'iat'> {
  const { certificate: record, material } = stored;
  const metadata = record.metadata as unknown as CertificateClaims['certificate'];
  const certificate: CertificateClaims['certificate'] = {
    certificateType: record.certificateType,
    // A resident ID card's or household register's number IS the holder's ID number: masked like it.
    certificateNumber:
      how.unmask || metadata.certificateNumber.toUpperCase() !== metadata.holderIdentifier.toUpperCase()
        ? metadata.certificateNumber
        : maskIdentifier(metadata.certificateNumber),
    holderName: how.unmask ? metadata.holderName : maskName(metadata.holderName),
    holderIdentifier: how.unmask ? metadata.holderIdentifier : maskIdentifier(metadata.holderIdentifier),
    issuingAuthority: metadata.issuingAuthority,
    issueDate: metadata.issueDate,
    validFrom: metadata.validFrom,
    validUntil: metadata.validUntil,
    status: material.status === 'revoked' || material.status === 'cancelled' ? material.status : metadata.status,
    ...objectFacts(metadata, how.unmask),
  };
  return {
    iss: issuer,
    materialId: material.id,
    subjectId: material.subjectId,
    certificate,
    content: {
      sha256: material.contentSha256,
      ...(material.contentSm3 ? { sm3: material.contentSm3 } : {}),
      mediaType: material.mediaType,
      size: material.contentSize,
    },
    source: {
      department: record.departmentCode,
      contractResource: record.contractResource,
      contractVersion: record.contractVersion,
      fetchedAt: record.fetchedAt.toISOString(),
      checkedAt: record.checkedAt.toISOString(),
    },
    stale: how.stale,
  };
}

async function answerFor(
  context: CertificateFetchContext,
  stored: ServedCertificate,
  plan: TypePlan,
  how: { source: 'stored' | 'department'; stale: boolean; unmask: boolean },
): Promise<CertificateAnswer> {
  const { certificate: record, material } = stored;
  const claims = certificateClaimsOf(stored, context.services.issuer, how);
  const { certificate, content } = claims;
  // Revoked (撤销) and cancelled (注销 by a later event) are shown as what they are, never as ok.
  const ended = material.status === 'revoked' || material.status === 'cancelled' ? material.status : null;
  return {
    certificateType: plan.type.code,
    status: ended ?? 'ok',
    department: record.departmentCode,
    source: how.source,
    stale: how.stale,
    certificate,
    material: { id: material.id, status: material.status, content },
    fetchedAt: claims.source.fetchedAt,
    checkedAt: claims.source.checkedAt,
    // A revoked or cancelled certificate gets no signature: nothing should vouch for it.
    envelope: ended !== null ? null : await context.services.envelopes.sign(context.services.keys, claims, new Date()),
    error: null,
    choices: plan.number === undefined ? choicesIn(record.metadata) : null,
  };
}
