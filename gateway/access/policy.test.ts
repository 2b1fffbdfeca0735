/**
 * The access policy as a decision table: every kind of caller × every action × the kinds of
 * resource it applies to, with the answer and the reason. The table is the policy in readable
 * form; a change of rule shows up here as a changed row.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import { type ClientKind, type Scope, scopesAllowedForKind } from '../auth/scopes.js';
import type { AccessPurpose } from '../platform/purpose.js';
import {
  type CaseFacts,
  type CentreFacts,
  type OperatorRole,
  type DenyReason,
  type GrantFacts,
  type MaterialFacts,
  type PolicyAction,
  type PolicyResource,
  decide,
} from './policy.js';

function principal(kind: ClientKind, overrides: Partial<Principal> = {}): Principal {
  return {
    clientId: `cli_${kind}`,
    kind,
    scopes: new Set<Scope>(scopesAllowedForKind[kind]),
    departmentCode: kind === 'department' ? 'PSB' : null,
    subjectId: null,
    tokenId: 'test',
    ...overrides,
  };
}

const actors = {
  window: principal('window'),
  windowMasked: principal('window', {
    clientId: 'cli_window_masked',
    scopes: new Set<Scope>(['subjects:read', 'materials:read']),
  }),
  otherWindow: principal('window', { clientId: 'cli_window_2' }),
  psb: principal('department'),
  amr: principal('department', { clientId: 'cli_amr', departmentCode: 'AMR' }),
  integrator: principal('integrator'),
  auditor: principal('auditor'),
  admin: principal('admin'),
  citizen: principal('window', {
    clientId: 'cli_portal',
    scopes: new Set<Scope>(['tracker:read']),
    subjectId: 'sub_citizen',
  }),
} satisfies Record<string, Principal>;
type Actor = keyof typeof actors;

const resources = new Map([
  ['psb.population', { code: 'psb.population', departmentCode: 'PSB', sharingType: 'conditional' as const }],
  ['amr.enterprise', { code: 'amr.enterprise', departmentCode: 'AMR', sharingType: 'unconditional' as const }],
  ['nrb.secret', { code: 'nrb.secret', departmentCode: 'NRB', sharingType: 'not_shared' as const }],
]);

/** The window holds a grant for psb.population; AMR was granted household registers as a type. */
function factsOf(actor: Actor): GrantFacts {
  return {
    resources,
    liveGrants: new Map(actor === 'window' || actor === 'windowMasked' ? [['psb.population', 'acr_window_psb']] : []),
    materialTypeGrants: new Set(actor === 'amr' ? ['household_register', 'lease_contract'] : []),
    centres: NO_CENTRE,
  };
}

/** The windows of the table serve no centre: the centre rules have their own table below. */
const NO_CENTRE: CentreFacts = { own: [], pathOf: () => undefined, operatorRole: () => undefined };

const material = (overrides: Partial<MaterialFacts>): MaterialFacts => ({
  id: 'mat_x',
  subjectId: 'sub_citizen',
  typeCode: 'household_register',
  provenance: 'fetched',
  providedByClientId: 'department:PSB',
  departmentCode: 'PSB',
  sharingResource: 'psb.population',
  ...overrides,
});

const fetchedFromPsb = material({});
const handedInByWindow = material({
  typeCode: 'lease_contract',
  provenance: 'handed_in',
  providedByClientId: 'cli_window',
  departmentCode: null,
  sharingResource: null,
});
const issuedByAmrOpen = material({
  typeCode: 'business_licence',
  provenance: 'issued',
  providedByClientId: 'cli_amr',
  departmentCode: 'AMR',
  sharingResource: 'amr.enterprise',
});
const notShared = material({
  typeCode: 'real_estate_certificate',
  departmentCode: 'NRB',
  providedByClientId: 'department:NRB',
  sharingResource: 'nrb.secret',
});

const caseOfWindow: CaseFacts = {
  id: 'case_1',
  subjectId: 'sub_citizen',
  clientId: 'cli_window',
  deliveredTo: ['PSB'],
  centreCode: null,
  acceptingCentreCode: null,
};

const withPurpose: AccessPurpose = { purpose: 'case_acceptance', caseRef: null, operatorId: 'clerk-1' };
const subjectRequest: AccessPurpose = { purpose: 'subject_request', caseRef: null, operatorId: null };

type Row = [
  actor: Actor,
  action: PolicyAction,
  resource: PolicyResource,
  purpose: AccessPurpose | null,
  expected: true | DenyReason,
];

const subject: PolicyResource = { kind: 'subject', subjectId: 'sub_citizen' };
const asMaterial = (facts: MaterialFacts, viaCase?: CaseFacts): PolicyResource => ({
  kind: 'material',
  material: facts,
  ...(viaCase ? { viaCase } : {}),
});
const aCase = (facts: CaseFacts = caseOfWindow): PolicyResource => ({ kind: 'case', case: facts });
const departmentResource = (code: string): PolicyResource => ({ kind: 'department_resource', code });
const contract = (overrides: Partial<Extract<PolicyResource, { kind: 'contract' }>['contract']>): PolicyResource => ({
  kind: 'contract',
  contract: {
    resourceCode: 'psb.population',
    departmentCode: 'PSB',
    sharingType: 'conditional',
    existing: { departmentCode: 'PSB' },
    reservedFor: 'PSB',
    changesTerms: false,
    ...overrides,
  },
});
const accessLog = (subjectId = 'sub_citizen'): PolicyResource => ({ kind: 'access_log', subjectId });

const table: Row[] = [
  // Subjects: windows and departments, with a purpose; unmasked only with the scope.
  ['window', 'subject.read', subject, withPurpose, true],
  ['window', 'subject.read', subject, null, 'purpose_required'],
  ['psb', 'subject.read', subject, withPurpose, true],
  ['integrator', 'subject.read', subject, withPurpose, 'wrong_client_kind'],
  ['auditor', 'subject.read', subject, withPurpose, 'wrong_client_kind'],
  ['admin', 'subject.read', subject, withPurpose, 'wrong_client_kind'],
  ['citizen', 'subject.read', subject, withPurpose, 'not_visible'],
  ['window', 'subject.unmask', subject, withPurpose, true],
  ['windowMasked', 'subject.unmask', subject, withPurpose, 'scope_missing'],
  ['window', 'subject.link', subject, withPurpose, true],
  ['integrator', 'subject.link', subject, withPurpose, 'wrong_client_kind'],

  // Materials: handed-in documents are shared with windows; a department's only under its terms.
  ['window', 'material.read', asMaterial(handedInByWindow), withPurpose, true],
  ['otherWindow', 'material.read', asMaterial(handedInByWindow), withPurpose, true],
  ['otherWindow', 'material.read', asMaterial(handedInByWindow), null, 'purpose_required'],
  ['window', 'material.read', asMaterial(fetchedFromPsb), withPurpose, true],
  ['otherWindow', 'material.read', asMaterial(fetchedFromPsb), withPurpose, 'not_visible'],
  ['otherWindow', 'material.read', asMaterial(issuedByAmrOpen), withPurpose, true],
  ['window', 'material.read', asMaterial(notShared), withPurpose, 'not_visible'],
  ['window', 'material.read', asMaterial(material({ sharingResource: 'nobody.knows' })), withPurpose, 'not_visible'],
  ['window', 'material.read', asMaterial(material({ sharingResource: null, provenance: 'issued' })), withPurpose, true],
  ['psb', 'material.read', asMaterial(fetchedFromPsb), withPurpose, true],
  ['psb', 'material.read', asMaterial(handedInByWindow), withPurpose, 'not_visible'],
  ['amr', 'material.read', asMaterial(handedInByWindow), withPurpose, true],
  ['amr', 'material.read', asMaterial(fetchedFromPsb), withPurpose, 'not_visible'],
  ['amr', 'material.read', asMaterial(issuedByAmrOpen), withPurpose, true],
  ['amr', 'material.read', asMaterial(fetchedFromPsb, caseOfWindow), withPurpose, 'not_visible'],
  ['psb', 'material.read', asMaterial(handedInByWindow, caseOfWindow), withPurpose, true],
  ['integrator', 'material.read', asMaterial(handedInByWindow), withPurpose, 'not_visible'],
  ['auditor', 'material.read', asMaterial(handedInByWindow), withPurpose, 'not_visible'],
  ['citizen', 'material.read', asMaterial(handedInByWindow), withPurpose, 'not_visible'],
  ['window', 'material.create', subject, withPurpose, true],
  ['psb', 'material.create', subject, withPurpose, true],
  ['integrator', 'material.create', subject, withPurpose, 'wrong_client_kind'],

  // Provenance is authority: who replaces or revokes what.
  ['window', 'material.supersede', asMaterial(handedInByWindow), withPurpose, true],
  ['otherWindow', 'material.supersede', asMaterial(handedInByWindow), withPurpose, 'provenance_authority'],
  ['window', 'material.supersede', asMaterial(fetchedFromPsb), withPurpose, 'provenance_authority'],
  ['otherWindow', 'material.supersede', asMaterial(fetchedFromPsb), withPurpose, 'not_visible'],
  ['psb', 'material.supersede', asMaterial(fetchedFromPsb), withPurpose, true],
  ['amr', 'material.supersede', asMaterial(issuedByAmrOpen), withPurpose, true],
  ['amr', 'material.supersede', asMaterial(handedInByWindow), withPurpose, 'provenance_authority'],
  ['window', 'material.revoke', asMaterial(handedInByWindow), withPurpose, true],
  ['window', 'material.revoke', asMaterial(fetchedFromPsb), withPurpose, 'provenance_authority'],
  ['psb', 'material.revoke', asMaterial(fetchedFromPsb), withPurpose, true],
  ['admin', 'material.revoke', asMaterial(handedInByWindow), withPurpose, 'not_visible'],

  // Department resources: the certificate route's sharing rule.
  ['window', 'resource.use', departmentResource('psb.population'), withPurpose, true],
  ['otherWindow', 'resource.use', departmentResource('psb.population'), withPurpose, 'no_grant'],
  ['otherWindow', 'resource.use', departmentResource('amr.enterprise'), withPurpose, true],
  ['window', 'resource.use', departmentResource('nrb.secret'), withPurpose, 'not_shared'],
  ['window', 'resource.use', departmentResource('no.such'), withPurpose, 'unknown_resource'],
  ['window', 'resource.use', departmentResource('psb.population'), null, 'purpose_required'],
  ['psb', 'resource.use', departmentResource('psb.population'), withPurpose, true],
  ['amr', 'resource.use', departmentResource('psb.population'), withPurpose, 'no_grant'],
  ['integrator', 'resource.use', departmentResource('amr.enterprise'), withPurpose, 'wrong_client_kind'],

  // Cases: the opening window and the departments it went to.
  ['window', 'case.open', subject, withPurpose, true],
  ['psb', 'case.open', subject, withPurpose, 'wrong_client_kind'],
  ['window', 'case.read', aCase(), withPurpose, true],
  ['otherWindow', 'case.read', aCase(), withPurpose, 'not_visible'],
  ['psb', 'case.read', aCase(), withPurpose, true],
  ['amr', 'case.read', aCase(), withPurpose, 'not_visible'],
  ['auditor', 'case.read', aCase(), withPurpose, 'not_visible'],
  ['window', 'case.change', aCase(), withPurpose, true],
  ['psb', 'case.change', aCase(), withPurpose, 'wrong_client_kind'],
  ['otherWindow', 'case.change', aCase(), withPurpose, 'not_visible'],
  ['psb', 'case.report_status', aCase(), withPurpose, true],
  ['amr', 'case.report_status', aCase(), withPurpose, 'not_visible'],
  ['window', 'case.report_status', aCase(), withPurpose, 'not_visible'],

  // Contracts: only the owner changes who may read its resource.
  ['psb', 'contract.publish', contract({ changesTerms: true }), null, true],
  ['amr', 'contract.publish', contract({}), null, 'not_owner'],
  ['integrator', 'contract.publish', contract({}), null, true],
  [
    'integrator',
    'contract.publish',
    contract({ changesTerms: true, sharingType: 'unconditional' }),
    null,
    'sharing_terms_owner_only',
  ],
  [
    'integrator',
    'contract.publish',
    contract({ existing: null, sharingType: 'unconditional' }),
    null,
    'sharing_terms_owner_only',
  ],
  ['integrator', 'contract.publish', contract({ existing: null, sharingType: 'conditional' }), null, true],
  ['psb', 'contract.publish', contract({ existing: { departmentCode: 'AMR' } }), null, 'not_owner'],
  // Review 20: AMR may not open PSB's code first under its own name, nor an integrator for it.
  [
    'amr',
    'contract.publish',
    contract({ existing: null, departmentCode: 'AMR', sharingType: 'unconditional' }),
    null,
    'not_owner',
  ],
  ['integrator', 'contract.publish', contract({ existing: null, departmentCode: 'AMR' }), null, 'not_owner'],
  ['amr', 'contract.publish', contract({ existing: null, departmentCode: 'AMR', reservedFor: null }), null, true],
  ['window', 'contract.publish', contract({}), null, 'wrong_client_kind'],

  // Access logs: auditors for anyone, the citizen for their own; tokens only at the subject's request.
  ['auditor', 'access_log.read', accessLog(), withPurpose, true],
  ['window', 'access_log.read', accessLog(), withPurpose, 'wrong_client_kind'],
  ['citizen', 'access_log.read', accessLog(), null, true],
  ['citizen', 'access_log.read', accessLog('sub_someone_else'), null, 'not_visible'],
  ['window', 'access_log.issue', accessLog(), subjectRequest, true],
  ['window', 'access_log.issue', accessLog(), withPurpose, 'purpose_required'],
  ['psb', 'access_log.issue', accessLog(), subjectRequest, 'wrong_client_kind'],
];

describe('the access policy, as a decision table', () => {
  it.each(table.map((row, index) => [index, ...row] as const))(
    'row %i: %s %s on %o',
    (_index, actor, action, resource, purpose, expected) => {
      const decision = decide({ principal: actors[actor], action, resource, purpose, facts: factsOf(actor) });
      if (expected === true) expect(decision).toMatchObject({ allowed: true });
      else expect(decision).toMatchObject({ allowed: false, reason: expected });
      expect(decision.rule).toMatch(/^[a-z_]+\.[a-z_]+/);
    },
  );

  it('records the grant that allowed a conditional use', () => {
    const decision = decide({
      principal: actors.window,
      action: 'resource.use',
      resource: departmentResource('psb.population'),
      purpose: withPurpose,
      facts: factsOf('window'),
    });
    expect(decision).toEqual({ allowed: true, rule: 'resource.conditional_with_grant', grantId: 'acr_window_psb' });
  });

  it('refuses an action asked about a resource it does not apply to', () => {
    expect(
      decide({
        principal: actors.window,
        action: 'case.read',
        resource: subject,
        purpose: withPurpose,
        facts: factsOf('window'),
      }),
    ).toMatchObject({ allowed: false, reason: 'not_visible' });
  });

  it('covers every action and every kind of caller', () => {
    const actions = new Set(table.map(([, action]) => action));
    const kinds = new Set(table.map(([actor]) => actors[actor].kind));
    expect([...kinds].sort()).toEqual(['admin', 'auditor', 'department', 'integrator', 'window']);
    expect(actions.size).toBe(15);
  });
});

describe('cases by position in the centre tree', () => {
  // 市 C above 县 A and 县 B; 镇 A1 and 镇 A2 below A. The case was accepted at A1 and escalated to A.
  const paths = new Map([
    ['C', '/C/'],
    ['A', '/C/A/'],
    ['B', '/C/B/'],
    ['A1', '/C/A/A1/'],
    ['A2', '/C/A/A2/'],
  ]);
  const operators: Record<string, OperatorRole> = {
    clerk: 'acceptance_clerk',
    director: 'centre_director',
    supervisor: 'supervisor',
  };
  const windowAt = (centre: string): { principal: Principal; facts: GrantFacts } => ({
    principal: { ...actors.window, clientId: `cli_window_${centre}` },
    facts: {
      ...factsOf('window'),
      centres: { own: [centre], pathOf: (code) => paths.get(code), operatorRole: (id) => operators[id] },
    },
  });
  const escalated: CaseFacts = {
    id: 'case_2',
    subjectId: 'sub_citizen',
    clientId: 'cli_window_A1',
    deliveredTo: [],
    centreCode: 'A',
    acceptingCentreCode: 'A1',
  };
  const asked = (operatorId: string | null, purpose = 'case_review'): AccessPurpose => ({
    purpose,
    caseRef: null,
    operatorId,
  });

  const rows: [
    centre: string,
    action: 'case.read' | 'case.change',
    purpose: AccessPurpose,
    expected: true | DenyReason,
  ][] = [
    ['A1', 'case.read', asked('clerk'), true], // the accepting town
    ['A1', 'case.change', asked('clerk'), 'read_only_here'], // …which no longer handles it
    ['A', 'case.read', asked('clerk'), true], // the deciding county
    ['A', 'case.change', asked('clerk'), true],
    ['A', 'case.change', asked(null), 'operator_required'],
    ['A', 'case.change', asked('nobody-at-all'), 'operator_unknown'],
    ['A', 'case.read', asked('nobody-at-all'), 'operator_unknown'],
    ['A2', 'case.read', asked('clerk'), 'not_visible'], // a sibling town sees nothing
    ['B', 'case.read', asked('director', 'supervision'), 'not_visible'], // nor a sibling county
    ['C', 'case.read', asked('director', 'supervision'), true], // the city supervises
    ['C', 'case.read', asked('supervisor', 'supervision'), true],
    ['C', 'case.read', asked('clerk', 'supervision'), 'supervision_only'],
    ['C', 'case.read', asked('director', 'case_review'), 'supervision_only'],
    ['C', 'case.change', asked('director', 'supervision'), 'oversight_only'], // supervision changes nothing
    ['C', 'case.change', asked('director', 'case_review'), 'read_only_here'],
  ];
  it.each(rows)('a window at %s: %s as %o', (centre, action, purpose, expected) => {
    const { principal, facts } = windowAt(centre);
    const decision = decide({ principal, action, resource: { kind: 'case', case: escalated }, purpose, facts });
    if (expected === true) expect(decision).toMatchObject({ allowed: true });
    else expect(decision).toMatchObject({ allowed: false, reason: expected });
  });

  // A 差评 of a case handled at A: read by A's and C's directors and supervisors, answered at A only.
  type RatingRow = [
    centre: string,
    action: 'rating.read' | 'rating.follow_up',
    operatorId: string | null,
    expected: true | DenyReason,
  ];
  const ratingRows: RatingRow[] = [
    ['A', 'rating.read', 'director', true],
    ['A', 'rating.follow_up', 'director', true],
    ['A', 'rating.follow_up', 'supervisor', true],
    ['A', 'rating.read', 'clerk', 'operator_unknown'], // clerks do not answer for the centre
    ['A', 'rating.follow_up', null, 'operator_required'],
    ['C', 'rating.read', 'supervisor', true], // the city reads…
    ['C', 'rating.follow_up', 'supervisor', 'answered_at_its_centre'], // …but does not answer for A
    ['A1', 'rating.read', 'director', 'not_visible'], // a centre below sees nothing of it
    ['B', 'rating.read', 'director', 'not_visible'], // nor a sibling
    ['B', 'rating.follow_up', 'director', 'not_visible'],
  ];
  it.each(ratingRows)('a window at %s: %s by %s', (centre, action, operatorId, expected) => {
    const { principal, facts } = windowAt(centre);
    const resource = { kind: 'rating', centreCode: 'A' } as const;
    const decision = decide({ principal, action, resource, purpose: asked(operatorId, 'supervision'), facts });
    if (expected === true) expect(decision).toMatchObject({ allowed: true });
    else expect(decision).toMatchObject({ allowed: false, reason: expected });
  });

  it('shows ratings to no department, auditor or window of no centre', () => {
    for (const actor of ['psb', 'auditor', 'admin', 'window'] as const) {
      const decision = decide({
        principal: actors[actor],
        action: 'rating.read',
        resource: { kind: 'rating', centreCode: 'A' },
        purpose: asked('director', 'supervision'),
        facts: factsOf(actor),
      });
      expect(decision).toMatchObject({ allowed: false, reason: 'not_visible' });
    }
  });

  it('lets the purpose supervision read cases and what they name through them, never a subject or a document directly', () => {
    const { principal, facts } = windowAt('C');
    const purpose = asked('director', 'supervision');
    const asks = (action: PolicyAction, resource: PolicyResource) =>
      decide({ principal, action, resource, purpose, facts });
    const material = { kind: 'material', material: handedInByWindow } as const;
    expect(asks('material.read', { ...material, viaCase: escalated })).toMatchObject({ allowed: true });
    for (const [action, resource] of [
      ['material.read', material],
      ['material.create', material],
      ['subject.read', { kind: 'subject', subjectId: 'sub_citizen' }],
      ['subject.unmask', { kind: 'subject', subjectId: 'sub_citizen' }],
      ['resource.use', { kind: 'department_resource', code: 'psb.household' }],
    ] as const) {
      expect(asks(action, resource)).toMatchObject({ allowed: false, reason: 'oversight_only' });
    }
  });

  it('lets a supervisor, who handles no case, read no subject or document directly whatever purpose is stated', () => {
    const { principal, facts } = windowAt('C');
    const material = { kind: 'material', material: handedInByWindow } as const;
    const asks = (operatorId: string, action: PolicyAction, resource: PolicyResource) =>
      decide({ principal, action, resource, purpose: asked(operatorId, 'case_acceptance'), facts });
    for (const [action, resource] of [
      ['material.read', material],
      ['material.create', material],
      ['subject.read', { kind: 'subject', subjectId: 'sub_citizen' }],
      ['subject.link', { kind: 'subject', subjectId: 'sub_citizen' }],
      ['resource.use', { kind: 'department_resource', code: 'psb.household' }],
    ] as const) {
      expect(asks('supervisor', action, resource)).toMatchObject({ allowed: false, reason: 'operator_unknown' });
      // A director handles cases at their centre: the documents are theirs to read for that work.
      expect(asks('director', action, resource)).not.toMatchObject({ reason: 'operator_unknown' });
    }
    // What a case's notice names, through the case, stays the case rule's to decide.
    expect(asks('supervisor', 'material.read', { ...material, viaCase: escalated })).not.toMatchObject({
      reason: 'operator_unknown',
    });
  });

  it('opens cases at a centre only by its handling operators', () => {
    const { principal, facts } = windowAt('A1');
    const open = (purpose: AccessPurpose) =>
      decide({ principal, action: 'case.open', resource: { kind: 'case', case: escalated }, purpose, facts });
    expect(open(asked('clerk'))).toMatchObject({ allowed: true });
    expect(open(asked('supervisor'))).toMatchObject({ allowed: false, reason: 'operator_unknown' });
    expect(open(asked(null))).toMatchObject({ allowed: false, reason: 'operator_required' });
  });
});
