/**
 * The access policy: the one place that decides whether a principal may, for a purpose, do
 * something to a subject, a material, a case, a department resource or a contract. A pure function
 * of principal, action, resource and the facts about the caller's grants, in the shape of Cedar
 * or OPA policies: it returns allow or deny with the rule that decided, and never touches the
 * database. Service functions load the facts (access/facts.ts), ask through `AccessPolicy`
 * (access/context.ts), and audit what it decided.
 *
 * The rules, in words (docs/security.md's "Who may see and change what" table says the same for people):
 * - A window system sees a subject's data for a stated purpose. It sees every material handed in
 *   at a window; a material a department supplied (fetched or issued) only under that
 *   department's sharing terms, exactly as the certificate route would let it fetch the same
 *   certificate: unconditional, or conditional with a live grant; never when not shared.
 * - A department system sees what its department supplied, what it uploaded, and the material
 *   types an administrator granted it — the last under the supplying department's terms too.
 * - Provenance is authority: a department-supplied material is replaced or revoked only by its
 *   department; a handed-in one only by the client that handed it in.
 * - A case is seen by the window system that opened it, by the windows of the centres that
 *   accepted and now handle it, and by the departments it was delivered to (with the materials the
 *   window attached to it). Windows of an ancestor centre read it for supervision only (purpose
 *   `supervision`, a director or supervisor); sibling centres see nothing of it. Only a window of
 *   the centre handling it changes it (the opening window, for a case of no centre).
 * - A window system of a centre names its operator on every access to personal data, one
 *   registered at its centre; none, or an unknown or disabled one, is refused, not just recorded.
 * - Only the owning department changes who may read its resource (sharing type, conditions,
 *   field sensitivity, owner); any other publisher changes the technical description only.
 * - A rating of a case (好差评) and its follow-up are read by a centre director or supervisor at the
 *   rated case's centre or above, and answered only at that centre; other centres see nothing of it.
 * - A citizen's token reads that citizen's own access log and nothing else; a window mints one
 *   only at the applicant's own request, with the applicant's identity verified.
 * Auditors and administrators never see personal data through these actions.
 */
import type { Principal } from '../auth/principal.js';
import type { AccessPurpose } from '../platform/purpose.js';

export type SharingType = 'unconditional' | 'conditional' | 'not_shared';
export type Provenance = 'handed_in' | 'fetched' | 'issued';

/** What the policy needs to know about a department resource (a published contract). */
export interface ResourceFacts {
  code: string;
  departmentCode: string;
  sharingType: SharingType;
}

export type OperatorRole = 'acceptance_clerk' | 'back_office_approver' | 'centre_director' | 'supervisor';

/** The caller's place in the centre tree (reference data). */
export interface CentreFacts {
  /** The centres the caller serves (a window system: one); empty for a caller of no centre. */
  own: readonly string[];
  /** A centre's path from the root (`/610000000/610100000/`); undefined for an unknown centre. */
  pathOf(code: string): string | undefined;
  /** The role of an active operator registered at one of the caller's centres. */
  operatorRole(operatorId: string): OperatorRole | undefined;
}

/** What the caller holds, loaded once per request (access/facts.ts). */
export interface GrantFacts {
  /** Published resources by code. */
  resources: ReadonlyMap<string, ResourceFacts>;
  /** Live (approved, unexpired) access grants of the caller: resource code → grant id. */
  liveGrants: ReadonlyMap<string, string>;
  /** Material types an administrator granted the caller (department clients). */
  materialTypeGrants: ReadonlySet<string>;
  centres: CentreFacts;
}

export interface MaterialFacts {
  id: string;
  subjectId: string;
  typeCode: string;
  provenance: Provenance;
  providedByClientId: string;
  /** The department that supplied it (fetched from or issued by); null when handed in. */
  departmentCode: string | null;
  /** The department resource whose sharing terms govern it; null when none does. */
  sharingResource: string | null;
}

export interface CaseFacts {
  id: string;
  subjectId: string;
  /** The window system that opened it. */
  clientId: string;
  /** Departments the case was (or is being) delivered to. */
  deliveredTo: readonly string[];
  /** The centre handling it now, and the one that accepted it; null for a case of no centre. */
  centreCode: string | null;
  acceptingCentreCode: string | null;
}

export interface ContractTermsFacts {
  resourceCode: string;
  /** The owner the publication names. */
  departmentCode: string;
  sharingType: SharingType;
  /** The resource as published before this version; null for a first publication. */
  existing: { departmentCode: string } | null;
  /** The department the code belongs to (its adapter serves it, or the code is prefixed with it); null when none. */
  reservedFor: string | null;
  /** Whether this version changes the sharing terms of the existing one. */
  changesTerms: boolean;
}

export type PolicyResource =
  | { kind: 'subject'; subjectId: string }
  /**
   * `viaCase`: the material is read as an attachment of this case (a case view, its timeline);
   * a department the case was delivered to sees what the window sent it.
   */
  | { kind: 'material'; material: MaterialFacts; viaCase?: CaseFacts }
  | { kind: 'department_resource'; code: string }
  | { kind: 'case'; case: CaseFacts }
  | { kind: 'contract'; contract: ContractTermsFacts }
  | { kind: 'access_log'; subjectId: string }
  /** A case's rating (好差评): where the rated case was handled (null: a window of no centre). */
  | { kind: 'rating'; centreCode: string | null };

export type PolicyAction =
  /** Find or create a subject by identifier, read it, link department identifiers. */
  | 'subject.read'
  /** See a subject's personal data unmasked. */
  | 'subject.unmask'
  | 'subject.link'
  /** Read a material: list, metadata, content, reuse answers, case notices. */
  | 'material.read'
  /** Hand in or issue a material for a subject. */
  | 'material.create'
  /** Replace a material by a newer version. */
  | 'material.supersede'
  | 'material.revoke'
  /** Call a department's resource (fetch a certificate, verify an identity). */
  | 'resource.use'
  | 'case.open'
  | 'case.read'
  /** Attach materials, fetch certificates into it, submit it. */
  | 'case.change'
  /** Report the status of a department's part of a case. */
  | 'case.report_status'
  | 'contract.publish'
  /** Read a subject's access log: an auditor, or the citizen with their own token. */
  | 'access_log.read'
  /** Issue a citizen a token for their own access log. */
  | 'access_log.issue'
  /** Read ratings with the applicants' comments and their follow-ups (a centre's subtree). */
  | 'rating.read'
  /** Answer the follow-up of a bad rating (差评). */
  | 'rating.follow_up';

/** Why a request was refused; each maps to one stable error code where a route reports it. */
export type DenyReason =
  /** Answered as if the thing did not exist (`not_found`): nothing confirms it is there. */
  | 'not_visible'
  | 'no_grant'
  | 'not_shared'
  | 'unknown_resource'
  /** A department-supplied material is changed only by its department, a handed-in one by its provider. */
  | 'provenance_authority'
  | 'not_owner'
  | 'wrong_client_kind'
  | 'purpose_required'
  | 'sharing_terms_owner_only'
  | 'scope_missing'
  /** A window system of a centre must name its operator for this. */
  | 'operator_required'
  /** The operator named is not an active operator of the caller's centre. */
  | 'operator_unknown'
  /** An ancestor centre reads a case for supervision only (purpose, role). */
  | 'supervision_only'
  /** The case can be read here but is changed only at the centre handling it. */
  | 'read_only_here'
  /** A rating is read above its centre but answered only there. */
  | 'answered_at_its_centre'
  /** The purpose `supervision` oversees cases: it reads no subject or document directly. */
  | 'oversight_only';

export type Decision =
  | { allowed: true; rule: string; grantId: string | null }
  | { allowed: false; rule: string; reason: DenyReason };

export interface PolicyRequest {
  principal: Principal;
  action: PolicyAction;
  resource: PolicyResource;
  purpose: AccessPurpose | null;
  facts: GrantFacts;
}

const allow = (rule: string, grantId: string | null = null): Decision => ({ allowed: true, rule, grantId });
const deny = (rule: string, reason: DenyReason): Decision => ({ allowed: false, rule, reason });

function hasPurpose(purpose: AccessPurpose | null): boolean {
  return purpose !== null && (purpose.purpose !== null || purpose.caseRef !== null);
}

/** A citizen's subject-scoped token: it reads its own access log and nothing else. */
function isSubjectToken(principal: Principal): boolean {
  return principal.subjectId !== null;
}

/**
 * The sharing rule of the certificate route, for any use of a department's data by a client that
 * is not its owner: unconditional → yes; conditional → with a live grant; not shared → no.
 */
export function resourceRule(principal: Principal, resourceCode: string | null, facts: GrantFacts): Decision {
  if (resourceCode === null) return allow('resource.none');
  const resource = facts.resources.get(resourceCode);
  if (!resource) return deny('resource.unknown', 'unknown_resource');
  if (principal.kind === 'department' && principal.departmentCode === resource.departmentCode)
    return allow('resource.owner');
  switch (resource.sharingType) {
    case 'unconditional':
      return allow('resource.unconditional');
    case 'not_shared':
      return deny('resource.not_shared', 'not_shared');
    case 'conditional': {
      const grantId = facts.liveGrants.get(resourceCode);
      return grantId === undefined
        ? deny('resource.conditional_without_grant', 'no_grant')
        : allow('resource.conditional_with_grant', grantId);
    }
  }
}

function materialRead(principal: Principal, material: MaterialFacts, facts: GrantFacts): Decision {
  if (principal.kind === 'window') {
    if (material.provenance === 'handed_in') return allow('material.handed_in_shared_with_windows');
    return asNotVisible(resourceRule(principal, material.sharingResource, facts));
  }
  if (principal.kind === 'department') {
    if (material.providedByClientId === principal.clientId) return allow('material.own_upload');
    if (principal.departmentCode !== null && material.departmentCode === principal.departmentCode)
      return allow('material.own_department');
    if (!facts.materialTypeGrants.has(material.typeCode)) return deny('material.type_not_granted', 'not_visible');
    if (material.provenance === 'handed_in') return allow('material.type_granted');
    return asNotVisible(resourceRule(principal, material.sharingResource, facts));
  }
  return deny('material.client_kind', 'not_visible');
}

/** A material withheld by sharing terms is answered like one that does not exist. */
/**
 * Whether a refusal is for want of a grant (whatever it is answered as): a grant approved
 * moments ago, through another instance, could turn it.
 */
export function refusedForWantOfGrant(decision: Decision): boolean {
  return !decision.allowed && decision.rule === 'resource.conditional_without_grant';
}

const SUPERVISION_PURPOSE = 'supervision';

/**
 * What the purpose `supervision` may be stated for: reading cases (and what a case's notice names,
 * through the case), ratings and access logs. Reading a subject or a document directly, using a
 * department's data or changing anything needs the purpose of the work itself; otherwise a director
 * shown a case masked could read its documents in clear by their ids.
 */
function servesOversight(action: PolicyAction, resource: PolicyResource): boolean {
  switch (action) {
    case 'case.read':
    case 'access_log.read':
    case 'rating.read':
    case 'rating.follow_up':
      return true;
    case 'material.read':
      return resource.kind === 'material' && resource.viaCase !== undefined;
    default:
      return false;
  }
}

/**
 * Whether a yes to read a case is for overseeing it (a supervisor above its centre, reading for
 * supervision) rather than working it: such a reader needs its status, deadlines and notice, not
 * the applicant's answers, so the case's form and the certificate numbers in it are shown masked.
 */
export function readsForOversight(decision: Decision): boolean {
  return decision.allowed && decision.rule === 'case.ancestor_supervises';
}

function asNotVisible(decision: Decision): Decision {
  return decision.allowed ? decision : { ...decision, reason: 'not_visible' };
}

/** Who may replace or revoke a material: its provenance decides. */
function materialChange(principal: Principal, material: MaterialFacts): Decision {
  if (material.provenance === 'handed_in') {
    if (material.providedByClientId === principal.clientId) return allow('material.provider_changes_handed_in');
    return deny('material.handed_in_changed_by_provider_only', 'provenance_authority');
  }
  if (
    principal.kind === 'department' &&
    principal.departmentCode !== null &&
    principal.departmentCode === material.departmentCode
  ) {
    return allow('material.department_changes_its_own');
  }
  return deny('material.department_supplied_changed_by_department_only', 'provenance_authority');
}

/** Where the caller's centres stand to a case's centres: at one of them, above one, or elsewhere. */
function casePosition(centres: CentreFacts, facts: CaseFacts): 'at' | 'above' | 'elsewhere' {
  const caseCentres = [facts.centreCode, facts.acceptingCentreCode].filter((code): code is string => code !== null);
  return centrePosition(centres, caseCentres);
}

/** Where the caller's centres stand to the given ones: at one of them, above one, or elsewhere. */
function centrePosition(centres: CentreFacts, caseCentres: readonly string[]): 'at' | 'above' | 'elsewhere' {
  if (caseCentres.some((code) => centres.own.includes(code))) return 'at';
  for (const own of centres.own) {
    const ownPath = centres.pathOf(own);
    if (ownPath !== undefined && caseCentres.some((code) => centres.pathOf(code)?.startsWith(ownPath) === true))
      return 'above';
  }
  return 'elsewhere';
}

const SUPERVISING_ROLES: ReadonlySet<OperatorRole> = new Set(['centre_director', 'supervisor']);
const HANDLING_ROLES: ReadonlySet<OperatorRole> = new Set([
  'acceptance_clerk',
  'back_office_approver',
  'centre_director',
]);

function caseRead(
  principal: Principal,
  facts: CaseFacts,
  grantFacts: GrantFacts,
  purpose: AccessPurpose | null,
): Decision {
  if (principal.kind === 'window') {
    if (facts.clientId === principal.clientId) return allow('case.opening_window');
    const position = casePosition(grantFacts.centres, facts);
    if (position === 'at') return allow('case.window_of_its_centre');
    if (position === 'above') {
      const role = purpose?.operatorId ? grantFacts.centres.operatorRole(purpose.operatorId) : undefined;
      if (purpose?.purpose === 'supervision' && role !== undefined && SUPERVISING_ROLES.has(role))
        return allow('case.ancestor_supervises');
      return deny('case.ancestor_reads_for_supervision_only', 'supervision_only');
    }
  }
  if (
    principal.kind === 'department' &&
    principal.departmentCode !== null &&
    facts.deliveredTo.includes(principal.departmentCode)
  ) {
    return allow('case.delivered_to_department');
  }
  return deny('case.not_party', 'not_visible');
}

function caseChange(
  principal: Principal,
  facts: CaseFacts,
  grantFacts: GrantFacts,
  purpose: AccessPurpose | null,
): Decision {
  if (principal.kind === 'window') {
    const handlesIt =
      facts.centreCode === null
        ? facts.clientId === principal.clientId
        : grantFacts.centres.own.includes(facts.centreCode);
    if (handlesIt) {
      if (grantFacts.centres.own.length === 0) return allow('case.opening_window_changes');
      const role = purpose?.operatorId ? grantFacts.centres.operatorRole(purpose.operatorId) : undefined;
      return role !== undefined && HANDLING_ROLES.has(role)
        ? allow('case.its_centre_changes')
        : deny('case.changed_by_handling_operators', 'operator_unknown');
    }
  }
  const read = caseRead(principal, facts, grantFacts, purpose);
  if (read.allowed || read.reason === 'supervision_only')
    return deny(
      'case.changed_at_its_centre_only',
      principal.kind === 'window' ? 'read_only_here' : 'wrong_client_kind',
    );
  return read;
}

/**
 * A window system of a centre says who is at the window for every access to personal data: an
 * active operator registered there. Windows of no centre (before their centre is registered) are
 * not checked: their operator header is recorded as sent.
 */
function operatorCheck(principal: Principal, purpose: AccessPurpose | null, facts: GrantFacts): Decision | null {
  if (principal.kind !== 'window' || facts.centres.own.length === 0) return null;
  const operatorId = purpose?.operatorId ?? null;
  if (operatorId === null) return deny('operator.required', 'operator_required');
  return facts.centres.operatorRole(operatorId) === undefined
    ? deny('operator.not_registered_at_centre', 'operator_unknown')
    : null;
}

/** What a window does with personal data outside a case's own actions (which check the role themselves). */
const OUTSIDE_CASES: ReadonlySet<PolicyAction> = new Set<PolicyAction>([
  'subject.read',
  'subject.unmask',
  'subject.link',
  'material.read',
  'material.create',
  'material.supersede',
  'material.revoke',
  'resource.use',
  'access_log.issue',
]);

/** An operator whose role oversees cases and handles none (a `supervisor`). */
function oversightOnlyOperator(principal: Principal, purpose: AccessPurpose | null, facts: GrantFacts): boolean {
  if (principal.kind !== 'window' || !purpose?.operatorId) return false;
  const role = facts.centres.operatorRole(purpose.operatorId);
  return role !== undefined && !HANDLING_ROLES.has(role);
}

function contractPublish(principal: Principal, contract: ContractTermsFacts): Decision {
  if (contract.existing && contract.existing.departmentCode !== contract.departmentCode)
    return deny('contract.owner_fixed', 'not_owner');
  // A department's resource code is its own: nobody else opens it first under their name.
  if (contract.existing === null && contract.reservedFor !== null && contract.reservedFor !== contract.departmentCode)
    return deny('contract.code_reserved', 'not_owner');
  if (principal.kind === 'department') {
    return principal.departmentCode === contract.departmentCode
      ? allow('contract.owner_publishes')
      : deny('contract.other_department', 'not_owner');
  }
  if (principal.kind === 'integrator') {
    // An integrator describes the department's service; who may read it is the department's call.
    if (contract.existing === null) {
      return contract.sharingType === 'unconditional'
        ? deny('contract.integrator_cannot_open_a_resource', 'sharing_terms_owner_only')
        : allow('contract.integrator_first_version_restrictive');
    }
    return contract.changesTerms
      ? deny('contract.integrator_cannot_change_terms', 'sharing_terms_owner_only')
      : allow('contract.integrator_technical_change');
  }
  return deny('contract.client_kind', 'wrong_client_kind');
}

/** Who answers for a centre's ratings: its director and its supervisors (督查), not the clerks. */
const RATING_ROLES: ReadonlySet<OperatorRole> = new Set(['centre_director', 'supervisor']);

function ratingDecision(
  action: 'rating.read' | 'rating.follow_up',
  principal: Principal,
  centreCode: string | null,
  facts: GrantFacts,
  purpose: AccessPurpose | null,
): Decision {
  if (principal.kind !== 'window' || centreCode === null) return deny('rating.not_a_centre_window', 'not_visible');
  const position = centrePosition(facts.centres, [centreCode]);
  if (position === 'elsewhere') return deny('rating.other_centre', 'not_visible');
  const role = purpose?.operatorId ? facts.centres.operatorRole(purpose.operatorId) : undefined;
  if (role === undefined || !RATING_ROLES.has(role)) {
    return deny('rating.directors_and_supervisors_only', 'operator_unknown');
  }
  if (action === 'rating.read') {
    return allow(position === 'at' ? 'rating.its_centre_reads' : 'rating.centre_above_reads');
  }
  return position === 'at'
    ? allow('rating.its_centre_answers')
    : deny('rating.answered_at_its_centre', 'answered_at_its_centre');
}

/** The decision. Every branch names its rule, so an audit entry or a test can say which one applied. */
export function decide(request: PolicyRequest): Decision {
  const { principal, action, resource, purpose, facts } = request;
  if (isSubjectToken(principal)) {
    if (action === 'access_log.read' && resource.kind === 'access_log' && resource.subjectId === principal.subjectId)
      return allow('access_log.own');
    return deny('subject_token.own_access_log_only', 'not_visible');
  }
  const operatorRefusal = operatorCheck(principal, purpose, facts);
  if (operatorRefusal) return operatorRefusal;
  if (purpose?.purpose === SUPERVISION_PURPOSE && !servesOversight(action, resource))
    return deny('supervision.oversees_cases_only', 'oversight_only');
  // Decided by who is at the window, not by the purpose they state: a supervisor (督查人员) works
  // no case, so reads no subject or document directly, whatever the header says. (Case actions
  // check the role themselves.)
  if (
    OUTSIDE_CASES.has(action) &&
    !servesOversight(action, resource) &&
    oversightOnlyOperator(principal, purpose, facts)
  )
    return deny('operator.oversees_only', 'operator_unknown');
  switch (action) {
    case 'subject.read':
    case 'subject.link':
      if (principal.kind !== 'window' && principal.kind !== 'department')
        return deny('subject.client_kind', 'wrong_client_kind');
      return hasPurpose(purpose) ? allow('subject.with_purpose') : deny('subject.purpose_required', 'purpose_required');
    case 'subject.unmask':
      if (principal.kind !== 'window' && principal.kind !== 'department')
        return deny('subject.client_kind', 'wrong_client_kind');
      return principal.scopes.has('subjects:unmask')
        ? allow('subject.unmask_scope')
        : deny('subject.masked_without_unmask_scope', 'scope_missing');
    case 'material.read':
      if (resource.kind !== 'material') break;
      if (!hasPurpose(purpose)) return deny('material.purpose_required', 'purpose_required');
      if (
        resource.viaCase &&
        principal.kind === 'department' &&
        caseRead(principal, resource.viaCase, facts, purpose).allowed
      )
        return allow('material.sent_with_a_delivered_case');
      return materialRead(principal, resource.material, facts);
    case 'material.create':
      if (principal.kind !== 'window' && principal.kind !== 'department')
        return deny('material.client_kind', 'wrong_client_kind');
      return hasPurpose(purpose)
        ? allow('material.create_with_purpose')
        : deny('material.purpose_required', 'purpose_required');
    case 'material.supersede':
    case 'material.revoke': {
      if (resource.kind !== 'material') break;
      const visible = materialRead(principal, resource.material, facts);
      return visible.allowed ? materialChange(principal, resource.material) : visible;
    }
    case 'resource.use':
      if (resource.kind !== 'department_resource') break;
      if (principal.kind !== 'window' && principal.kind !== 'department')
        return deny('resource.client_kind', 'wrong_client_kind');
      if (!hasPurpose(purpose)) return deny('resource.purpose_required', 'purpose_required');
      return resourceRule(principal, resource.code, facts);
    case 'case.open': {
      if (principal.kind !== 'window') return deny('case.opened_by_windows', 'wrong_client_kind');
      if (facts.centres.own.length === 0) return allow('case.window_opens');
      const role = purpose?.operatorId ? facts.centres.operatorRole(purpose.operatorId) : undefined;
      return role !== undefined && HANDLING_ROLES.has(role)
        ? allow('case.centre_operator_opens')
        : deny('case.opened_by_handling_operators', 'operator_unknown');
    }
    case 'case.read':
      if (resource.kind !== 'case') break;
      return caseRead(principal, resource.case, facts, purpose);
    case 'case.change':
      if (resource.kind !== 'case') break;
      return caseChange(principal, resource.case, facts, purpose);
    case 'case.report_status':
      if (resource.kind !== 'case') break;
      return principal.kind === 'department' &&
        principal.departmentCode !== null &&
        resource.case.deliveredTo.includes(principal.departmentCode)
        ? allow('case.delivered_department_reports')
        : deny('case.not_delivered_to_department', 'not_visible');
    case 'contract.publish':
      if (resource.kind !== 'contract') break;
      return contractPublish(principal, resource.contract);
    case 'access_log.read':
      return principal.kind === 'auditor' && principal.scopes.has('audit:read')
        ? allow('access_log.auditor')
        : deny('access_log.auditors_only', 'wrong_client_kind');
    case 'access_log.issue':
      if (principal.kind !== 'window') return deny('access_log.issued_by_windows', 'wrong_client_kind');
      return purpose?.purpose === 'subject_request'
        ? allow('access_log.at_subject_request')
        : deny('access_log.subject_request_only', 'purpose_required');
    case 'rating.read':
    case 'rating.follow_up':
      if (resource.kind !== 'rating') break;
      return ratingDecision(action, principal, resource.centreCode, facts, purpose);
  }
  // An action asked about a resource it does not apply to is a programming error; refuse it.
  return deny(`${action}.resource_mismatch`, 'not_visible');
}
