/**
 * The adapter interface: what the gateway asks of a department system, in the gateway's own
 * (department-neutral) terms. An adapter implements the capabilities its department offers and
 * leaves the others out; the gateway asks `capabilities` before calling.
 *
 * Adapters never touch the database and never call out except through the SDK's
 * `DepartmentClient` (timeouts, retries for idempotent calls, breaker, concurrency cap).
 */

/** Whom a call is about. Identifiers are already validated and normalised by the gateway. */
export type SubjectRef =
  | { kind: 'person'; idNumber: string; name: string }
  | { kind: 'organisation'; creditCode: string; name: string };

/** Passed to every capability call. */
export interface CallContext {
  /** The gateway request id; sent to the department (header `x-request-id`) for tracing. */
  requestId: string;
  /** Aborts the call (the caller's deadline, or the client went away). */
  signal?: AbortSignal;
}

/** The identifier types natural persons are known by in the gateway. */
export const personIdentifierTypes = [
  'resident_id',
  'passport',
  'mainland_travel_permit',
  'foreign_permanent_residence',
] as const;

export type PersonIdentifierType = (typeof personIdentifierTypes)[number];

export interface IdentityVerificationRequest {
  /**
   * The document number as the gateway normalised it: the 18-character resident ID number, or the
   * passport / travel permit / permanent resident card number (without the nationality).
   */
  idNumber: string;
  name: string;
  /**
   * Which document `idNumber` is. Absent means `resident_id`: adapters that only verify resident
   * ID numbers (the default of `identityIdentifierTypes`) never see another type.
   */
  identifierType?: PersonIdentifierType;
  /** ISO 3166-1 alpha-3 issuing state, with `passport` only. */
  nationality?: string;
}

/** 婚姻状况: 未婚, 已婚, 离婚, 丧偶. */
export const maritalStatuses = ['unmarried', 'married', 'divorced', 'widowed'] as const;
export type MaritalStatus = (typeof maritalStatuses)[number];

/**
 * Facts the verifying register holds about the person, beyond "the name matches", typed so the
 * gateway can check and pass them on (`identity.ts` has the schema it checks them with). Only with
 * `match`: nothing is said about a number whose name did not match. Add a fact here, with its
 * schema, rather than sending it untyped.
 */
export interface IdentityAttributes {
  /** The marital status the register records (a civil-affairs marriage registry, 婚姻登记). */
  maritalStatus?: MaritalStatus;
  /** `YYYY-MM-DD` of the last marital-status change the register records (结婚/离婚登记日期). */
  maritalStatusSince?: string;
  /** The six-digit division code (GB/T 2260) of the household registration (户籍地). */
  householdDivision?: string;
  /** `YYYY-MM-DD`, when the register records the person as deceased (死亡注销). */
  deceasedOn?: string;
}

/** Whether the department's register holds this ID number, and whether the name matches it. */
export type IdentityVerificationResult =
  | { outcome: 'match'; attributes?: IdentityAttributes }
  | { outcome: 'name_mismatch' }
  | { outcome: 'not_found' };

/**
 * Certificate metadata, in the fields of the national e-certificate metadata standard
 * (GB/T 36901-style: type, number, holder, issuing authority, dates).
 */
export interface CertificateMetadata {
  /** Gateway material-type code, e.g. `resident_id_card`, `business_licence`. */
  certificateType: string;
  certificateNumber: string;
  holderName: string;
  /** Resident ID number or unified social credit code of the holder. */
  holderIdentifier: string;
  issuingAuthority: string;
  /** `YYYY-MM-DD`. */
  issueDate: string;
  /** `YYYY-MM-DD`; the first day the certificate is valid. */
  validFrom: string;
  /** `YYYY-MM-DD`, inclusive; null when it does not expire. */
  validUntil: string | null;
  /**
   * What the department says about it now: `revoked` (撤销: it should never have been issued, or
   * was withdrawn as wrong) or `cancelled` (注销: ended by a later event — a divorce, a transfer of
   * the flat, a merged company — it was right when issued). Neither is served as valid.
   */
  status: CertificateStatus;
  /** Where the object of the certificate is (坐落), when the certificate is about a thing (a flat, land). */
  location?: string;
  /** How the right is held: by one holder (单独所有), jointly (共同共有) or in shares (按份共有). */
  shareType?: 'sole' | 'joint' | 'shares';
  /** Every holder of the right, the requested one included, with their share when held in shares. */
  holders?: CertificateHolder[];
  /** Restrictions registered on the right (权利限制): what may block a case about it. */
  restrictions?: CertificateRestriction[];
  /**
   * The other certificates of this type the subject holds, when asked by type alone and the
   * department holds several: the applicant chooses one by number.
   */
  alternatives?: CertificateChoice[];
}

/** Every status a certificate can have (cancelled: ended by a later event, e.g. 已注销 by divorce; not a revocation). */
export const certificateStatuses = ['valid', 'revoked', 'cancelled'] as const;
export type CertificateStatus = (typeof certificateStatuses)[number];

export interface CertificateHolder {
  name: string;
  /** Resident ID number or credit code, as the department registered it. */
  identifier: string;
  /** The share of a holder in shares (按份共有), e.g. `50%`. */
  share?: string;
}

/** 抵押 mortgage, 查封 seizure by a court or authority, 异议登记 objection, 预告登记 pre-notice registration. */
export type RestrictionKind = 'mortgage' | 'seizure' | 'objection' | 'pre_notice';

export interface CertificateRestriction {
  kind: RestrictionKind;
  /** `YYYY-MM-DD`: the day it was registered. */
  registeredOn: string;
  /** Who holds it: the court or authority (查封机关), the mortgagee (抵押权人), the objector. */
  party: string;
}

export interface CertificateChoice {
  certificateNumber: string;
  status: CertificateStatus;
  location?: string;
}

export interface CertificateRequest {
  /** Gateway material-type code. */
  certificateType: string;
  subject: SubjectRef;
  /**
   * The certificate number when the caller means one certificate (the flat named in the form);
   * absent: the department's usual choice among the subject's certificates of the type.
   */
  certificateNumber?: string;
}

export interface CertificateDocument {
  mediaType: 'application/pdf' | 'application/ofd';
  bytes: Uint8Array;
}

export type CertificateResult =
  | { outcome: 'found'; metadata: CertificateMetadata; document: CertificateDocument }
  | { outcome: 'not_found' };

/** A material handed over with a case submission: the department fetches or receives it by digest. */
export interface SubmittedMaterial {
  typeCode: string;
  sha256: string;
  mediaType: string;
  size: number;
}

export interface CaseSubmissionRequest {
  /**
   * Unique per delivery and stable across retries: the department drops duplicates by it, so a
   * submission retried after a lost answer has no double effect.
   */
  idempotencyKey: string;
  caseNumber: string;
  itemCode: string;
  /**
   * What the department is asked to register, one of the adapter's `submissionTypes` (the item
   * names it per department). An adapter refuses a type it does not declare (`rejected`).
   */
  submissionType: string;
  subject: SubjectRef;
  materials: SubmittedMaterial[];
  /** Item-specific form data, as the item's form defines it. */
  form: Record<string, unknown>;
  /**
   * The case's parties besides the applicant, each a subject the gateway resolved and validated:
   * `counterparty` (the buyer of a flat), `co_applicant`, `agent` (代办人), `legal_representative`.
   */
  parties?: { role: string; subject: SubjectRef }[];
}

/**
 * A kind of case a department's system takes (转移登记, 户口迁入登记), with the form fields it reads.
 * The gateway refuses to save an item that names a type its department does not declare, or whose
 * form does not require what the type's `formSchema` requires.
 */
export interface SubmissionTypeDeclaration {
  name: string;
  nameZh: string;
  /**
   * JSON Schema (an object schema) of the item form fields this type reads. `required` lists the
   * fields it cannot do without; a top-level `anyOf` of `{required: [...]}` branches says "one of
   * these sets" (an address or the property's certificate number). A field the adapter can take
   * from elsewhere (the subject, the case's parties) is described but not required. A property's
   * `type` is compared with the item form's.
   */
  formSchema: Readonly<Record<string, unknown>>;
}

export interface CaseSubmissionReceipt {
  /** The department's own reference for the case, used to query status. */
  departmentReference: string;
  /** True when the department had already received this idempotency key. */
  duplicate: boolean;
}

export type DepartmentCaseStatus = 'received' | 'in_progress' | 'awaiting_applicant' | 'completed' | 'rejected';

/**
 * The document a department issues when it completes a case (its 办理结果: a new business licence,
 * a new title certificate), handed over with the completion so the gateway can deliver it
 * electronically (电子证照) and keep it as a certificate material of its holder. `holderName` and
 * `holderIdentifier` name the first holder; `holders` lists every holder when there are several.
 */
export interface ResultCertificate {
  metadata: Omit<CertificateMetadata, 'status' | 'alternatives' | 'restrictions'>;
  document: CertificateDocument;
}

export interface CaseStatusResult {
  departmentReference: string;
  status: DepartmentCaseStatus;
  /** ISO 8601 timestamp of the department's last change. */
  updatedAt: string;
  message?: string;
  /** Only with `completed`: the result document the department issued, when it issues one. */
  resultCertificate?: ResultCertificate;
}

/** Why the gateway withdraws a case from a department: another department refused it. */
export interface CaseCancellationRequest {
  departmentReference: string;
  /** Unique per cancellation and stable across retries. */
  idempotencyKey: string;
  caseNumber: string;
  /** For the department's officer, in Chinese: which department refused, and why. */
  reason: string;
}

export interface CaseCancellationResult {
  /** False when the department had already finished its part: it cannot be withdrawn any more. */
  cancelled: boolean;
}

export interface HealthResult {
  ok: boolean;
  detail?: string;
}

/** The optional capabilities. Absent methods mean the department does not offer that service. */
export interface AdapterCapabilities {
  verifyIdentity?(request: IdentityVerificationRequest, context: CallContext): Promise<IdentityVerificationResult>;
  /**
   * The identifier types `verifyIdentity` accepts. Default: `['resident_id']`. The gateway sends a
   * department only the types it declares here and its configuration routes to it
   * (`identityVerification.identifierTypes` in the departments file).
   */
  identityIdentifierTypes?: readonly PersonIdentifierType[];
  /** Certificate types (gateway material-type codes) this department issues. */
  certificateTypes?: readonly string[];
  fetchCertificate?(request: CertificateRequest, context: CallContext): Promise<CertificateResult>;
  /** Withdraws a delivered case (撤回) because another department of a joint case refused it. */
  cancelCase?(request: CaseCancellationRequest, context: CallContext): Promise<CaseCancellationResult>;
  /** The kinds of case `submitCase` takes, by code (`transfer_registration`); required with `submitCase`. */
  submissionTypes?: Readonly<Record<string, SubmissionTypeDeclaration>>;
  submitCase?(request: CaseSubmissionRequest, context: CallContext): Promise<CaseSubmissionReceipt>;
  queryCaseStatus?(departmentReference: string, context: CallContext): Promise<CaseStatusResult>;
  health?(context: CallContext): Promise<HealthResult>;
}

export type CapabilityName =
  | 'verifyIdentity'
  | 'fetchCertificate'
  | 'submitCase'
  | 'queryCaseStatus'
  | 'cancelCase'
  | 'health';

export interface DepartmentAdapter extends AdapterCapabilities {
  /** Department code, e.g. `PSB`. */
  readonly department: string;
  /** Adapter kind, e.g. `psb-population`. */
  readonly kind: string;
  /**
   * Data-contract resource codes this adapter calls, per capability; the gateway enforces the
   * resource's sharing type and grants before calling.
   */
  readonly resources: Partial<Record<CapabilityName, string>>;
  /** Releases connections. */
  close(): Promise<void>;
}
