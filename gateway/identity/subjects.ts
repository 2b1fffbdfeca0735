/**
 * Subjects: resolve-or-create from an identifier and a name, read, and department identifier
 * links. Service functions are transport-free: they get the database, the caller and the stated
 * purpose, run in one transaction, and write the audit entry of every personal-data disclosure in
 * that same transaction. There is no listing or search: a subject is reached by its exact
 * identifier, its exact department link, or its id.
 */
import { newRandomId } from '../platform/random-ids.js';
import { and, eq, inArray, notInArray, notLike, or, sql } from 'drizzle-orm';
import type { SubjectRef } from '../../adapters/sdk/types.js';
import { auditAccess, auditRefusal, auditRefusals } from '../access/audit.js';
import { type AccessContext, type AllowedDecision, refusal } from '../access/context.js';
import type { Principal } from '../auth/principal.js';
import type { Database, Queryable } from '../db/client.js';
import { clients, subjectLinks, subjects } from '../db/schema.js';
import type { DataProtection } from '../protection/data-protection.js';
import { ApiError, message } from '../platform/errors.js';
import { fieldProblem } from '../platform/field-problems.js';
import { maskPersonalText } from '../platform/identifier-masking.js';
import { rateLimited } from '../platform/rate-limit.js';
import type { SharedLimiter } from '../platform/shared-limits.js';
import {
  type SubjectIdentifierType,
  maskName,
  maskSubjectIdentifier,
  parseSubjectIdentifier,
  personIdentifierTypes,
} from './identifiers.js';

export type SubjectKind = 'person' | 'organisation';

export interface SubjectLinkView {
  departmentCode: string;
  identifierType: string;
  value: string;
  source: string;
  linkedBy: string;
  linkedAt: string;
}

export interface SubjectView {
  id: string;
  kind: SubjectKind;
  identifierType: SubjectIdentifierType;
  identifier: string;
  name: string;
  /** False only for callers holding `subjects:unmask`. */
  masked: boolean;
  createdAt: string;
  links: SubjectLinkView[];
}

type SubjectRow = typeof subjects.$inferSelect;
type LinkRow = typeof subjectLinks.$inferSelect;

export function newSubjectId(): string {
  return newRandomId('sub');
}

/** Where a subject's sealed values are kept: what their seal is bound to (gateway/protection). */
const identifierPlace = (subjectId: string) => `subjects.identifier:${subjectId}`;
const namePlace = (subjectId: string) => `subjects.name:${subjectId}`;

/** A new subject row as it is stored: identifier and name sealed, the identifier's lookup beside them. */
export function storedSubjectValues(
  protection: DataProtection,
  subject: {
    id: string;
    kind: SubjectKind;
    identifierType: string;
    identifier: string;
    name: string;
    createdByClientId: string;
  },
): typeof subjects.$inferInsert {
  return {
    ...subject,
    identifier: protection.sealText(identifierPlace(subject.id), subject.identifier),
    identifierLookup: protection.lookupOf(subject.identifierType, subject.identifier),
    name: protection.sealText(namePlace(subject.id), subject.name),
  };
}

/** The subject values of a stored row, opened (rows written while protection was off read as they are). */
export async function openSubjectValues<Row extends { identifier: string; name: string }>(
  protection: DataProtection,
  subjectId: string,
  row: Row,
): Promise<Row> {
  const [identifier, name] = await Promise.all([
    protection.openText(identifierPlace(subjectId), row.identifier),
    protection.openText(namePlace(subjectId), row.name),
  ]);
  return { ...row, identifier, name };
}

/** PostgreSQL's unique_violation, wherever the driver put it in the chain of causes. */
function isUniqueViolation(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause)
    if ((current as Error & { code?: unknown }).code === '23505') return true;
  return false;
}

/**
 * Seals the subjects kept in clear (written while protection was off) or, with `allKeys`, also
 * those sealed under a data key that is no longer the active one (after a rotation), in batches,
 * each row only if unchanged since read. A clear row whose identifier was also stored sealed
 * since (two rows of one person) is left and reported: merging subjects is an administrator's
 * decision. Returns how many rows were sealed and which were left.
 */
export async function sealStoredSubjects(
  db: Database,
  protection: DataProtection,
  options: { allKeys?: boolean; batchSize?: number } = {},
): Promise<{ sealed: number; left: string[] }> {
  const prefix = protection.currentSealPrefix;
  if (prefix === null) return { sealed: 0, left: [] };
  const batchSize = options.batchSize ?? 500;
  const outdated = options.allKeys
    ? or(notLike(subjects.identifier, `${prefix}%`), notLike(subjects.name, `${prefix}%`))
    : or(notLike(subjects.identifier, 'ow1.%'), notLike(subjects.name, 'ow1.%'));
  const left: string[] = [];
  let sealed = 0;
  for (;;) {
    const rows = await db
      .select()
      .from(subjects)
      .where(left.length > 0 ? and(outdated, notInArray(subjects.id, left)) : outdated)
      .orderBy(subjects.id)
      .limit(batchSize);
    if (rows.length === 0) break;
    for (const stored of rows) {
      const row = await openSubjectValues(protection, stored.id, stored);
      const values = storedSubjectValues(protection, row);
      try {
        const updated = await db
          .update(subjects)
          .set({ identifier: values.identifier, identifierLookup: values.identifierLookup, name: values.name })
          .where(
            and(eq(subjects.id, row.id), eq(subjects.identifier, stored.identifier), eq(subjects.name, stored.name)),
          )
          .returning({ id: subjects.id });
        sealed += updated.length;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        left.push(row.id);
      }
    }
  }
  return { sealed, left };
}

/** A subject's stored identifier, opened (when only the identifier was read). */
export function openSubjectIdentifier(protection: DataProtection, subjectId: string, stored: string): Promise<string> {
  return protection.openText(identifierPlace(subjectId), stored);
}

/** A subject's stored name, opened (when only the name was read). */
export function openSubjectName(protection: DataProtection, subjectId: string, stored: string): Promise<string> {
  return protection.openText(namePlace(subjectId), stored);
}

function kindOf(type: SubjectIdentifierType): SubjectKind {
  return personIdentifierTypes.has(type) ? 'person' : 'organisation';
}

/**
 * The subject as a department adapter names it. Adapters know persons by resident ID number and
 * organisations by credit code only (`SubjectRef`): a person known by a passport, a travel permit
 * or a permanent resident ID card cannot be asked about, and is refused here
 * (`identifier_type_not_supported_by_department`) rather than sent with that number posing as an
 * ID number.
 */
export function departmentSubjectRef(
  subject: { identifierType: string; identifier: string; name: string },
  departmentCode?: string,
): SubjectRef {
  requireDepartmentIdentifier(subject.identifierType, departmentCode);
  return subject.identifierType === 'resident_id'
    ? { kind: 'person', idNumber: subject.identifier, name: subject.name }
    : { kind: 'organisation', creditCode: subject.identifier, name: subject.name };
}

/** Refuses a subject that department systems cannot be asked about (see departmentSubjectRef). */
export function requireDepartmentIdentifier(identifierType: string, departmentCode?: string): void {
  if (identifierType === 'resident_id' || identifierType === 'credit_code') return;
  throw new ApiError(
    'identifier_type_not_supported_by_department',
    message('subject.department_needs_resident_id', { department: departmentCode ?? 'none', identifierType }),
    { identifierType },
  );
}

/** Names compare after Unicode normalisation and with inner whitespace collapsed. */
export function normaliseName(name: string): string {
  return name.normalize('NFC').trim().replace(/\s+/gu, ' ');
}

/** Department-local identifiers keep two characters at each end when masked. */
function maskLinkValue(value: string): string {
  const chars = [...value];
  if (chars.length <= 4) return '*'.repeat(chars.length);
  return chars.slice(0, 2).join('') + '*'.repeat(chars.length - 4) + chars.slice(-2).join('');
}

/**
 * The policy's yes to showing a subject (thrown as the refusal otherwise), and whether the caller
 * sees it unmasked.
 */
export async function subjectDisclosure(
  tx: Queryable,
  context: AccessContext,
  subjectId: string,
  action: 'subject.read' | 'subject.link' = 'subject.read',
): Promise<{ decision: AllowedDecision; unmask: boolean }> {
  const decision = await context.access.decide(tx, action, { kind: 'subject', subjectId });
  if (!decision.allowed) throw refusal(decision, { kind: 'subject', subjectId }, message('subject.not_found'));
  const unmask = (await context.access.decide(tx, 'subject.unmask', { kind: 'subject', subjectId })).allowed;
  return { decision, unmask };
}

/** The fields an audit entry lists for a subject disclosure, marked when they were masked. */
export function disclosedSubjectFields(masked: boolean, withLinks: boolean): string[] {
  const fields = ['identifier', 'name', ...(withLinks ? ['links'] : [])];
  return masked ? fields.map((field) => `${field}:masked`) : fields;
}

export function subjectView(row: SubjectRow, links: LinkRow[], unmask: boolean): SubjectView {
  const type = row.identifierType as SubjectIdentifierType;
  const identifier = unmask ? row.identifier : maskSubjectIdentifier(type, row.identifier);
  return {
    id: row.id,
    kind: row.kind,
    identifierType: type,
    identifier,
    name: unmask ? row.name : maskName(row.name),
    masked: !unmask,
    createdAt: row.createdAt.toISOString(),
    links: links.map((link) => ({
      departmentCode: link.departmentCode,
      identifierType: link.identifierType,
      value: unmask ? link.value : maskLinkValue(link.value),
      // Free text the linking system typed (「窗口核验 身份证… 手机…」): stored masked since
      // review 7, masked again here for older rows, and the subject's name too unless unmasked.
      source: maskPersonalText(link.source, unmask ? [] : [row.name]),
      linkedBy: link.linkedByClientId,
      linkedAt: link.linkedAt.toISOString(),
    })),
  };
}

/**
 * The links the caller sees: a department sees its own identifiers only (another department's
 * internal number is no business of it, and would let it correlate the two systems' files).
 */
async function linksOf(tx: Queryable, subjectId: string, principal: Principal): Promise<LinkRow[]> {
  const ofSubject = eq(subjectLinks.subjectId, subjectId);
  const departmentCode = principal.kind === 'department' ? (principal.departmentCode ?? '') : null;
  return tx
    .select()
    .from(subjectLinks)
    .where(departmentCode === null ? ofSubject : and(ofSubject, eq(subjectLinks.departmentCode, departmentCode)))
    .orderBy(subjectLinks.linkedAt);
}

export interface ResolveSubjectInput {
  identifierType: SubjectIdentifierType;
  identifier: string;
  /** Passports only: ISO 3166-1 alpha-3; stored in the identifier (`USA:123456789`). */
  nationality?: string | undefined;
  name: string;
}

/**
 * Finds the subject with this identifier, or creates it when the caller may (`subjects:write`).
 * A name that differs from the one on file is refused without revealing the name on file.
 */
/** The subject of a resolve before it is found: the policy's rule for reading subjects names none. */
const UNRESOLVED_SUBJECT = '';

export const IDENTIFIER_PROBES_PER_SHAPE = 5;
export const IDENTIFIER_PROBE_WINDOW_MS = 24 * 3600_000;
/** The first key of the probes' advisory locks: a space of its own. */
const PROBE_LOCK_SPACE = 0x70726f62;

/** A client's probes of numbers of one masked shape (「110105********002X」) count together. */
export function identifierProbeKey(clientId: string, identifierType: SubjectIdentifierType, value: string): string {
  return [clientId, identifierType, maskSubjectIdentifier(identifierType, value)].join('\n');
}

/**
 * Before an answer that tells a right number from a wrong one (resolve, a case form's party
 * number): refused (429) once the client has had its probes of that shape today; otherwise the
 * shape is locked until `tx` ends, so probes sent at once are checked and counted one by one
 * (count them with `probes.take(key)` before `tx` commits).
 */
export async function guardIdentifierProbe(tx: Queryable, probes: SharedLimiter, key: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${PROBE_LOCK_SPACE}, hashtext(${key}))`);
  const lockedFor = await probes.blocked(key);
  if (lockedFor !== null)
    throw rateLimited(lockedFor, message('subject.identifier_probes_exhausted', { seconds: lockedFor }));
}

/**
 * Resolves a person or organisation by its identifier and name. Its answers tell a known number from
 * an unknown one, so they could confirm the digits a masked number hides (「110105********002X」
 * and the birth dates that fit it): a client gets IDENTIFIER_PROBES_PER_SHAPE answers that were not
 * a known number with its right name (unknown, created, another name) for numbers of one masked
 * shape per day (`identifierProbes`, across instances), then `429` until the day has passed.
 */
export async function resolveSubject(
  context: AccessContext,
  input: ResolveSubjectInput,
  identifierProbes: SharedLimiter,
): Promise<{ subject: SubjectView; created: boolean }> {
  const parsed = parseSubjectIdentifier(
    input.identifierType,
    input.identifier,
    input.nationality === undefined ? {} : { nationality: input.nationality },
  );
  if (!parsed.ok) throw new ApiError(parsed.code, { 'zh-CN': parsed.messageZh, en: parsed.message });
  const name = normaliseName(input.name);
  const { principal } = context;
  const mayCreate = principal.scopes.has('subjects:write');
  const { protection } = context.access;
  const probeKey = identifierProbeKey(principal.clientId, input.identifierType, parsed.value);

  const outcome = await auditRefusals(context, { action: 'subject.resolve', subjectId: null }, () =>
    context.db.transaction(async (tx) => {
      // The policy's yes first (it does not depend on which subject): a caller it refuses learns
      // nothing, not whether the number is known nor whether the name is the right one.
      await context.access.require(
        tx,
        'subject.read',
        { kind: 'subject', subjectId: UNRESOLVED_SUBJECT },
        message('subject.not_found'),
      );
      await guardIdentifierProbe(tx, identifierProbes, probeKey);
      let created = false;
      if (mayCreate) {
        const inserted = await tx
          .insert(subjects)
          .values(
            storedSubjectValues(protection, {
              id: newSubjectId(),
              kind: kindOf(input.identifierType),
              identifierType: input.identifierType,
              identifier: parsed.value,
              name,
              createdByClientId: principal.clientId,
            }),
          )
          .onConflictDoNothing()
          .returning({ id: subjects.id });
        created = inserted.length > 0;
      }
      const [stored] = await tx
        .select()
        .from(subjects)
        .where(
          and(
            eq(subjects.identifierType, input.identifierType),
            inArray(subjects.identifierLookup, protection.lookupsOf(input.identifierType, parsed.value)),
          ),
        )
        .limit(1);
      if (!stored) {
        await identifierProbes.take(probeKey);
        return { kind: 'missing' as const };
      }
      const row = await openSubjectValues(protection, stored.id, stored);
      if (normaliseName(row.name) !== name) {
        await identifierProbes.take(probeKey);
        return { kind: 'name_mismatch' as const, subjectId: row.id };
      }
      // Counted while the probe's lock is held, so answers sent at once are counted one by one.
      if (created) await identifierProbes.take(probeKey);
      const { decision, unmask } = await subjectDisclosure(tx, context, row.id);
      const links = await linksOf(tx, row.id, context.principal);
      await auditAccess(tx, context, {
        decision,
        action: created ? 'subject.create' : 'subject.resolve',
        subjectId: row.id,
        fields: disclosedSubjectFields(!unmask, true),
      });
      return { kind: 'found' as const, created, subject: subjectView(row, links, unmask) };
    }),
  );

  if (outcome.kind === 'missing') {
    await auditRefusal(context, { action: 'subject.resolve', subjectId: null, outcome: 'not_found' });
    throw new ApiError('not_found', message('subject.unknown_may_not_create'));
  }
  if (outcome.kind === 'name_mismatch') {
    await auditRefusal(context, {
      action: 'subject.resolve',
      subjectId: outcome.subjectId,
      outcome: 'denied',
      fields: ['name_mismatch'],
    });
    throw new ApiError('subject_name_mismatch', message('subject.name_mismatch'));
  }
  return { subject: outcome.subject, created: outcome.created };
}

/** Loads a subject row inside a transaction, or throws the generic not-found. */
export async function requireSubject(
  tx: Queryable,
  protection: DataProtection,
  subjectId: string,
): Promise<SubjectRow> {
  const [row] = await tx.select().from(subjects).where(eq(subjects.id, subjectId));
  if (!row) throw new ApiError('not_found', message('subject.not_found'));
  return openSubjectValues(protection, row.id, row);
}

export async function readSubject(context: AccessContext, subjectId: string): Promise<SubjectView> {
  return auditRefusals(context, { action: 'subject.read', subjectId }, () =>
    context.db.transaction(async (tx) => {
      const row = await requireSubject(tx, context.access.protection, subjectId);
      const { decision, unmask } = await subjectDisclosure(tx, context, row.id);
      const links = await linksOf(tx, row.id, context.principal);
      await auditAccess(tx, context, {
        decision,
        action: 'subject.read',
        subjectId: row.id,
        fields: disclosedSubjectFields(!unmask, true),
      });
      return subjectView(row, links, unmask);
    }),
  );
}

export interface LinkInput {
  /** Required from window clients; a department client links only its own department. */
  departmentCode?: string | undefined;
  identifierType: string;
  value: string;
  source: string;
}

function linkDepartment(principal: Principal, requested: string | undefined): string {
  if (principal.kind === 'department') {
    if (!principal.departmentCode) throw new ApiError('forbidden', message('subject.client_without_department'));
    if (requested !== undefined && requested !== principal.departmentCode) {
      throw new ApiError('forbidden', message('subject.link_own_department'));
    }
    return principal.departmentCode;
  }
  if (requested === undefined)
    throw new ApiError('validation_failed', message('subject.name_department'), {
      errors: [fieldProblem('departmentCode', 'required for non-department clients', '非部门客户端须填写部门代码')],
    });
  return requested;
}

/**
 * Links a department's own identifier to a subject. Idempotent for the same subject; an
 * identifier already linked to another subject is a conflict (without saying which subject).
 */
export async function linkSubject(
  context: AccessContext,
  subjectId: string,
  input: LinkInput,
): Promise<{ subject: SubjectView; created: boolean }> {
  const departmentCode = linkDepartment(context.principal, input.departmentCode);
  return auditRefusals(context, { action: 'subject.link', subjectId }, () =>
    context.db.transaction(async (tx) => {
      const row = await requireSubject(tx, context.access.protection, subjectId);
      const { decision, unmask } = await subjectDisclosure(tx, context, row.id, 'subject.link');
      const inserted = await tx
        .insert(subjectLinks)
        .values({
          id: newRandomId('lnk'),
          subjectId,
          departmentCode,
          identifierType: input.identifierType,
          value: input.value,
          source: maskPersonalText(input.source),
          linkedByClientId: context.principal.clientId,
        })
        .onConflictDoNothing()
        .returning({ id: subjectLinks.id });
      let moved = false;
      if (inserted.length === 0) {
        const [existing] = await tx
          .select({ id: subjectLinks.id, subjectId: subjectLinks.subjectId, byKind: clients.kind })
          .from(subjectLinks)
          .leftJoin(clients, eq(clients.id, subjectLinks.linkedByClientId))
          .where(
            and(
              eq(subjectLinks.departmentCode, departmentCode),
              eq(subjectLinks.identifierType, input.identifierType),
              eq(subjectLinks.value, input.value),
            ),
          )
          .for('update', { of: subjectLinks });
        // The identifier is the department's own: its word on whom it names outranks a window's
        // (review 23: a window linked PSB's household number to the wrong person first).
        const departmentCorrects =
          existing !== undefined && context.principal.kind === 'department' && existing.byKind !== 'department';
        if (existing?.subjectId !== subjectId && !departmentCorrects) {
          throw new ApiError('conflict', message('subject.link_taken'));
        }
        if (existing && existing.subjectId !== subjectId) {
          await tx
            .update(subjectLinks)
            .set({ subjectId, source: maskPersonalText(input.source), linkedByClientId: context.principal.clientId })
            .where(eq(subjectLinks.id, existing.id));
          // The person it pointed at before sees on their record that it was taken off them.
          await auditAccess(tx, context, {
            decision,
            action: 'subject.link_moved',
            subjectId: existing.subjectId,
            fields: [`link:${departmentCode}:${input.identifierType}`, `to:${subjectId}`],
          });
          moved = true;
        }
      }
      const links = await linksOf(tx, subjectId, context.principal);
      await auditAccess(tx, context, {
        decision,
        action: 'subject.link',
        subjectId,
        fields: disclosedSubjectFields(!unmask, true),
      });
      return { subject: subjectView(row, links, unmask), created: inserted.length > 0 || moved };
    }),
  );
}

/** Finds the subject a department identifier is linked to (exact match only). */
export async function findSubjectByLink(
  context: AccessContext,
  link: { departmentCode: string; identifierType: string; value: string },
): Promise<SubjectView> {
  const view = await auditRefusals(context, { action: 'subject.lookup', subjectId: null }, () =>
    context.db.transaction(async (tx) => {
      // A department looks up by its own identifiers only, as it links only those.
      if (context.principal.kind === 'department' && context.principal.departmentCode !== link.departmentCode)
        throw new ApiError('forbidden', message('subject.lookup_own_department'));
      const [found] = await tx
        .select({ subjectId: subjectLinks.subjectId })
        .from(subjectLinks)
        .where(
          and(
            eq(subjectLinks.departmentCode, link.departmentCode),
            eq(subjectLinks.identifierType, link.identifierType),
            eq(subjectLinks.value, link.value),
          ),
        );
      if (!found) return null;
      const row = await requireSubject(tx, context.access.protection, found.subjectId);
      const { decision, unmask } = await subjectDisclosure(tx, context, row.id);
      const links = await linksOf(tx, row.id, context.principal);
      await auditAccess(tx, context, {
        decision,
        action: 'subject.lookup',
        subjectId: row.id,
        fields: disclosedSubjectFields(!unmask, true),
      });
      return subjectView(row, links, unmask);
    }),
  );
  if (!view) {
    await auditRefusal(context, { action: 'subject.lookup', subjectId: null, outcome: 'not_found' });
    throw new ApiError('not_found', message('subject.no_link'));
  }
  return view;
}
