/**
 * The access policy as service functions use it. Every request that touches personal data builds
 * one `AccessContext` (caller, purpose, request id, clock, and its `RequestAccess`); the service
 * asks `context.access.decide(...)` before it reads or changes anything, and audits what it did in
 * the same transaction. Facts about the caller's grants come from the reference data kept in
 * memory (access/reference-data.ts), computed once per request.
 *
 * `AccessPolicy` also reports every decision to an optional observer: the route-coverage test
 * uses it to prove that every route which returns or changes personal data consults the policy.
 */
import type { Principal } from '../auth/principal.js';
import type { Database, Queryable } from '../db/client.js';
import { ApiError, bilingualError, type DetailText, message } from '../platform/errors.js';
import type { AccessPurpose } from '../platform/purpose.js';
import type { DataProtection } from '../protection/data-protection.js';
import type { ReferenceData } from './reference-data.js';
import {
  type Decision,
  type DenyReason,
  type GrantFacts,
  type PolicyAction,
  type PolicyResource,
  decide,
  refusedForWantOfGrant,
} from './policy.js';

export interface DecisionEvent {
  requestId: string;
  clientId: string;
  action: PolicyAction;
  resourceKind: PolicyResource['kind'];
  decision: Decision;
}

export type AllowedDecision = Extract<Decision, { allowed: true }>;

export class AccessPolicy {
  /** Told of every decision (tests; could feed metrics). Must not throw. */
  observer: ((event: DecisionEvent) => void) | undefined;

  constructor(
    /** Resources and grants, kept in memory and current (see reference-data.ts). */
    readonly reference: ReferenceData,
    /** Seals and opens personal data at rest, and makes identifier lookups (gateway/protection). */
    readonly protection: DataProtection,
  ) {}

  forRequest(principal: Principal, purpose: AccessPurpose | null, requestId: string, now: Date): RequestAccess {
    return new RequestAccess(this, principal, purpose, requestId, now);
  }

  report(event: DecisionEvent): void {
    this.observer?.(event);
  }
}

/**
 * What one request knows of its caller, shared by the request's `RequestAccess` under every purpose
 * (the facts do not depend on the purpose): computed once per request.
 */
interface RequestFacts {
  facts: Promise<GrantFacts> | undefined;
  /** The facts once loaded: the caller's centre for audit entries written after a decision. */
  loaded: GrantFacts | undefined;
  /** Whether this request's facts were confirmed current against the database. */
  confirmed: boolean;
}

/** The policy bound to one request: its caller, purpose and clock, with the facts memoised. */
export class RequestAccess {
  private readonly known: RequestFacts;

  constructor(
    private readonly policy: AccessPolicy,
    readonly principal: Principal,
    readonly purpose: AccessPurpose | null,
    readonly requestId: string,
    readonly now: Date,
    known?: RequestFacts,
  ) {
    this.known = known ?? { facts: undefined, loaded: undefined, confirmed: false };
  }

  /** Seals and opens personal data at rest for this request's reads and writes. */
  get protection(): DataProtection {
    return this.policy.protection;
  }

  /** The same caller and facts under another purpose (a case route: the case is the purpose). */
  withPurpose(purpose: AccessPurpose): RequestAccess {
    return new RequestAccess(this.policy, this.principal, purpose, this.requestId, this.now, this.known);
  }

  /**
   * The caller's grant facts, computed once per request from the reference data in memory. `db`
   * is where the caller is working (its transaction): a stale copy is read again there, never on
   * another connection the caller's open transaction could be waiting for.
   */
  grantFacts(db: Queryable): Promise<GrantFacts> {
    const known = this.known;
    known.facts ??= this.policy.reference
      .grantFacts(db, this.principal, this.now)
      .then((facts) => (known.loaded = facts));
    return known.facts;
  }

  /**
   * The service centre the caller acts at, for its audit entries: its one centre (a window system,
   * or a department system serving one); null before any decision or when it serves none or several.
   */
  actingCentre(): string | null {
    const own = this.known.loaded?.centres.own ?? [];
    return own.length === 1 ? (own[0] ?? null) : null;
  }

  /**
   * The grant facts from reference data confirmed current against the database (once per
   * request): for a refusal about to be answered, which a grant approved through another
   * instance moments ago could turn.
   */
  private async confirmedGrantFacts(db: Queryable): Promise<GrantFacts> {
    if (!this.known.confirmed) {
      this.known.confirmed = true;
      await this.policy.reference.confirmCurrent(db);
      // Computed again from the confirmed copy (in memory): the memoised facts may be older.
      this.known.facts = undefined;
    }
    return this.grantFacts(db);
  }

  /** The decision on facts already loaded (a loop over many materials). */
  decideWith(facts: GrantFacts, action: PolicyAction, resource: PolicyResource): Decision {
    const decision = decide({ principal: this.principal, action, resource, purpose: this.purpose, facts });
    this.policy.report({
      requestId: this.requestId,
      clientId: this.principal.clientId,
      action,
      resourceKind: resource.kind,
      decision,
    });
    return decision;
  }

  /**
   * Decisions made by `make` from the facts in memory; when one of them refuses for want of a
   * grant, made again from facts confirmed current (a grant approved through another instance a
   * moment ago must not be refused). Every door that decides goes through here.
   */
  async decideConfirmed<T>(
    db: Queryable,
    make: (facts: GrantFacts) => T,
    decisionsOf: (made: T) => readonly Decision[],
  ): Promise<T> {
    const made = make(await this.grantFacts(db));
    if (this.known.confirmed || !decisionsOf(made).some(refusedForWantOfGrant)) return made;
    return make(await this.confirmedGrantFacts(db));
  }

  async decide(db: Queryable, action: PolicyAction, resource: PolicyResource): Promise<Decision> {
    return this.decideConfirmed(
      db,
      (facts) => this.decideWith(facts, action, resource),
      (decision) => [decision],
    );
  }

  /** The decision, or the refusal as the error a client sees (see `refusal`). */
  async require(
    db: Queryable,
    action: PolicyAction,
    resource: PolicyResource,
    notFoundDetail: DetailText = message('access.not_found'),
  ): Promise<AllowedDecision> {
    const decision = await this.decide(db, action, resource);
    if (!decision.allowed) throw refusal(decision, resource, notFoundDetail);
    return decision;
  }
}

/** The error a refused decision answers with; `not_visible` looks exactly like a missing thing. */
export function refusal(
  decision: Extract<Decision, { allowed: false }>,
  resource: PolicyResource,
  notFoundDetail: DetailText = message('access.not_found'),
): ApiError {
  const resourceCode =
    resource.kind === 'department_resource'
      ? resource.code
      : resource.kind === 'contract'
        ? resource.contract.resourceCode
        : undefined;
  const messages: Record<DenyReason, () => ApiError> = {
    not_visible: () => new ApiError('not_found', notFoundDetail),
    no_grant: () =>
      new ApiError('resource_grant_required', message('access.grant_required', { resourceCode: resourceCode ?? '' }), {
        resourceCode,
      }),
    not_shared: () =>
      new ApiError('resource_not_shared', message('access.not_shared', { resourceCode: resourceCode ?? '' }), {
        resourceCode,
      }),
    unknown_resource: () =>
      new ApiError('unknown_contract', message('access.unknown_contract', { resourceCode: resourceCode ?? '' }), {
        resourceCode,
      }),
    provenance_authority: () => new ApiError('provenance_authority', message('access.provenance_authority')),
    not_owner: () => new ApiError('forbidden', message('access.not_owner')),
    wrong_client_kind: () => new ApiError('forbidden', message('access.wrong_client_kind')),
    purpose_required: () =>
      resource.kind === 'access_log'
        ? new ApiError('purpose_required', message('access.own_log_purpose'))
        : new ApiError('purpose_required', message('access.purpose_required')),
    sharing_terms_owner_only: () =>
      new ApiError(
        'sharing_terms_owner_only',
        message('access.sharing_terms_owner_only', { resourceCode: resourceCode ?? '' }),
        { resourceCode },
      ),
    scope_missing: () => new ApiError('insufficient_scope', message('access.scope_missing')),
    operator_required: () => new ApiError('operator_required', message('access.operator_required')),
    operator_unknown: () => new ApiError('operator_unknown', message('access.operator_unknown')),
    supervision_only: () => new ApiError('supervision_only', message('access.supervision_only')),
    oversight_only: () => new ApiError('oversight_only', message('access.oversight_only')),
    read_only_here: () => new ApiError('case_handled_elsewhere', message('access.handled_elsewhere')),
    answered_at_its_centre: () =>
      bilingualError('rating_answered_at_its_centre', message('rating.answered_at_its_centre')),
  };
  return messages[decision.reason]();
}

/** The context with another purpose, e.g. the case a case route works on. */
export function withPurpose<Context extends AccessContext>(context: Context, purpose: AccessPurpose): Context {
  return { ...context, purpose, access: context.access.withPurpose(purpose) };
}

/** Who is asking, why, and under which request: what every personal-data service function needs. */
export interface AccessContext {
  db: Database;
  principal: Principal;
  purpose: AccessPurpose;
  requestId: string;
  /** The access policy bound to this request. */
  access: RequestAccess;
}
