/**
 * Cases: open one for an applicant and an item, get the one-time notice (一次性告知) of everything
 * the item needs in one answer, attach what the applicant hands in (and what the departments
 * supply through the certificate flow), and submit: the case and one delivery per department in
 * one transaction (the outbox the delivery workers drain).
 *
 * A case references materials; it never copies them. Who may see a case: the window client that
 * opened it, and the departments it was delivered to. Anyone else gets the same 404 as for a case
 * that does not exist.
 */
import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, gte, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Principal } from '../auth/principal.js';
import type { WorkingCalendar } from '../calendar/calendar.js';
import { withProvisionalYears, yearsNotLoaded } from '../calendar/provisional.js';
import { type Database, type Queryable, rowsOf } from '../db/client.js';
import { caseEvents, caseMaterials, cases, deliveries, materials, subjects } from '../db/schema.js';
import type { DepartmentRegistry } from '../departments/registry.js';
import { type AccessContext, auditAccess } from '../identity/subjects.js';
import { type ItemDefinition, type ItemRequirement, requireItem } from '../items/catalogue.js';
import { checkForm } from '../items/form.js';
import { chinaToday } from '../materials/dates.js';
import type { MaterialRow } from '../materials/materials.js';
import type { Clock } from '../platform/clock.js';
import { ApiError } from '../platform/errors.js';
import { type CaseRow, type DeliveryRow, dueDates } from './status.js';

export type RequirementState = 'reused' | 'fetched' | 'handed_in' | 'fetchable' | 'missing' | 'deferrable' | 'deferred' | 'optional';

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
  /** True when submitting now would be accepted (nothing missing that cannot be deferred). */
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
  clockStopped: boolean;
  pausedWorkingDays: number;
  completedOn: string | null;
  onTime: boolean | null;
  form: Record<string, unknown>;
  notice: CaseNotice;
  deliveries: DeliveryView[];
}

type CaseMaterialRow = typeof caseMaterials.$inferSelect;

export function newCaseId(): string {
  return `case_${randomBytes(12).toString('base64url')}`;
}

export function newDeliveryId(): string {
  return `dlv_${randomBytes(12).toString('base64url')}`;
}

/** `OW` + acceptance-centre date + a sequence shared by every instance: short enough to read out. */
async function nextCaseNumber(tx: Queryable, today: string): Promise<string> {
  const [row] = rowsOf<{ value: string | number }>(await tx.execute(sql`select nextval('case_number_seq') as value`));
  const value = Number(row?.value);
  return `OW${today.replaceAll('-', '')}${String(value).padStart(6, '0')}`;
}

function isUsableOn(material: Pick<MaterialRow, 'status' | 'validFrom' | 'validUntil'>, day: string): boolean {
  return material.status === 'valid' && material.validFrom <= day && (material.validUntil === null || material.validUntil >= day);
}

/** Valid materials of the subject of any of these types, newest first. */
async function usableMaterials(tx: Queryable, subjectId: string, typeCodes: readonly string[], day: string): Promise<MaterialRow[]> {
  if (typeCodes.length === 0) return [];
  return tx
    .select()
    .from(materials)
    .where(
      and(
        eq(materials.subjectId, subjectId),
        inArray(materials.typeCode, [...typeCodes]),
        eq(materials.status, 'valid'),
        sql`${materials.validFrom} <= ${day}`,
        or(isNull(materials.validUntil), gte(materials.validUntil, day)),
      ),
    )
    .orderBy(desc(materials.createdAt));
}

function fetchableFrom(requirement: ItemRequirement, departments: DepartmentRegistry): { department: string; certificateType: string }[] {
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
function buildNotice(item: ItemDefinition, rows: readonly CaseMaterialRow[], attached: ReadonlyMap<string, MaterialRow>, departments: DepartmentRegistry, today: string): CaseNotice {
  const entries: NoticeEntry[] = item.materials.map((requirement) => {
    const row = rows.find((entry) => entry.requirementCode === requirement.requirementCode);
    const material = row?.materialId ? attached.get(row.materialId) : undefined;
    const usable = material !== undefined && isUsableOn(material, today);
    const sources = fetchableFrom(requirement, departments);
    let state: RequirementState;
    if (usable && row && (row.resolution === 'reused' || row.resolution === 'fetched' || row.resolution === 'handed_in')) state = row.resolution;
    else if (row?.resolution === 'deferred') state = 'deferred';
    else if (requirement.optional) state = 'optional';
    else if (sources.length > 0) state = 'fetchable';
    else if (requirement.deferrableDays !== null) state = 'deferrable';
    else state = 'missing';
    return {
      requirementCode: requirement.requirementCode,
      name: requirement.name,
      acceptedTypes: requirement.acceptedTypes,
      optional: requirement.optional,
      deferrableDays: requirement.deferrableDays,
      state,
      material: usable && material ? { id: material.id, typeCode: material.typeCode, provenance: material.provenance, validUntil: material.validUntil } : null,
      fetchableFrom: state === 'fetchable' ? sources : [],
      deferredUntil: state === 'deferred' ? (row?.dueOn ?? null) : null,
    };
  });
  const count = (state: RequirementState) => entries.filter((entry) => entry.state === state).length;
  const blocking = entries.filter((entry) => (entry.state === 'missing' || entry.state === 'fetchable') && !entry.optional && entry.deferrableDays === null);
  return {
    entries,
    toHandIn: entries.filter((entry) => entry.state === 'missing' || entry.state === 'deferrable' || entry.state === 'deferred').map((entry) => entry.requirementCode),
    counts: {
      required: item.materials.filter((requirement) => !requirement.optional).length,
      reused: count('reused'),
      fetched: count('fetched'),
      handedIn: count('handed_in'),
      fetchable: count('fetchable'),
      missing: count('missing'),
      deferrable: count('deferrable'),
      deferred: count('deferred'),
    },
    readyToSubmit: blocking.length === 0,
  };
}

export interface CaseServices {
  departments: DepartmentRegistry;
  calendar: () => Promise<WorkingCalendar>;
  /** Where "today" comes from: acceptance days and due dates are counted from it. */
  clock: Clock;
  /** Wakes the local delivery worker after a submission. */
  onSubmitted?: () => void;
}

/** The case if the caller may see it; otherwise the same 404 as a missing one. */
async function visibleCase(tx: Queryable, principal: Principal, caseId: string, options: { lock?: boolean } = {}): Promise<CaseRow> {
  const query = tx.select().from(cases).where(eq(cases.id, caseId));
  const [row] = options.lock ? await query.for('update') : await query;
  if (row && (await mayAccess(tx, principal, row))) return row;
  throw new ApiError('not_found', 'No such case.');
}

async function mayAccess(tx: Queryable, principal: Principal, row: CaseRow): Promise<boolean> {
  if (principal.kind === 'window') return row.clientId === principal.clientId;
  if (principal.kind === 'department' && principal.departmentCode !== null) {
    const [delivery] = await tx
      .select({ id: deliveries.id })
      .from(deliveries)
      .where(and(eq(deliveries.caseId, row.id), eq(deliveries.departmentCode, principal.departmentCode)));
    return delivery !== undefined;
  }
  return false;
}

async function caseView(tx: Queryable, row: CaseRow, services: CaseServices, today = chinaToday(services.clock.now())): Promise<CaseView> {
  const item = await requireItem(tx, row.itemCode);
  const rows = await tx.select().from(caseMaterials).where(eq(caseMaterials.caseId, row.id));
  const ids = rows.flatMap((entry) => (entry.materialId ? [entry.materialId] : []));
  const attached = new Map((ids.length === 0 ? [] : await tx.select().from(materials).where(inArray(materials.id, ids))).map((material) => [material.id, material]));
  const deliveryRows = await tx.select().from(deliveries).where(eq(deliveries.caseId, row.id)).orderBy(asc(deliveries.departmentCode));
  const lastDue = [row.dueOn, row.statutoryDueOn].filter((day): day is string => day !== null).sort().at(-1);
  const loadedYears = (await services.calendar()).years;
  const provisional = row.acceptedOn !== null && lastDue !== undefined && yearsNotLoaded(loadedYears, row.acceptedOn, lastDue).length > 0;
  return {
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
    clockStopped: row.pausedOn !== null,
    pausedWorkingDays: row.pausedWorkingDays,
    completedOn: row.completedOn,
    onTime: row.completedOn && row.dueOn ? row.completedOn <= row.dueOn : null,
    form: row.form,
    notice: buildNotice(item, rows, attached, services.departments, today),
    deliveries: deliveryRows.map((delivery) => ({
      department: delivery.departmentCode,
      status: delivery.status,
      attempts: delivery.attempts,
      departmentReference: delivery.departmentReference,
      departmentStatus: delivery.departmentStatus,
      deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
      lastError: delivery.lastError,
    })),
  };
}

async function addEvent(tx: Queryable, caseId: string, kind: string, detail: Record<string, unknown> = {}): Promise<void> {
  await tx.insert(caseEvents).values({ caseId, kind, detail });
}

export interface OpenCaseInput {
  itemCode: string;
  subjectId: string;
  form?: Record<string, unknown>;
}

/**
 * Opens a case and answers the one-time notice: for each requirement, a material the applicant
 * already has (reused), one a department can supply (fetchable), or what they must bring.
 */
export async function openCase(context: AccessContext, services: CaseServices, input: OpenCaseInput): Promise<CaseView> {
  if (context.principal.kind !== 'window') throw new ApiError('forbidden', 'Cases are opened by window systems.');
  return context.db.transaction(async (tx) => {
    const item = await requireItem(tx, input.itemCode, { activeOnly: true });
    const [subject] = await tx.select({ id: subjects.id, kind: subjects.kind }).from(subjects).where(eq(subjects.id, input.subjectId));
    if (!subject) throw new ApiError('not_found', 'No such subject.');
    if (item.subjectKind !== null && item.subjectKind !== subject.kind) {
      throw new ApiError('item_not_for_subject', `${item.name} is for ${item.subjectKind === 'person' ? 'persons' : 'organisations'}; this subject is ${subject.kind === 'person' ? 'a person' : 'an organisation'}.`, {
        itemCode: item.code,
        subjectKind: subject.kind,
      });
    }
    const today = chinaToday(services.clock.now());
    const id = newCaseId();
    const caseNumber = await nextCaseNumber(tx, today);
    const [row] = await tx
      .insert(cases)
      .values({
        id,
        caseNumber,
        itemCode: item.code,
        subjectId: subject.id,
        clientId: context.principal.clientId,
        operatorId: context.purpose.operatorId,
        form: input.form ?? {},
        promisedDays: item.promisedDays,
        materialsRequired: item.materials.filter((requirement) => !requirement.optional).length,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');

    const available = await usableMaterials(tx, subject.id, [...new Set(item.materials.flatMap((requirement) => requirement.acceptedTypes))], today);
    const values = item.materials.map((requirement) => {
      // The accepted types are in order of preference; the newest material of the first type held wins.
      const reused = requirement.acceptedTypes.map((type) => available.find((material) => material.typeCode === type)).find((material) => material !== undefined);
      return { caseId: id, requirementCode: requirement.requirementCode, materialId: reused?.id ?? null, resolution: reused ? ('reused' as const) : ('missing' as const) };
    });
    if (values.length > 0) await tx.insert(caseMaterials).values(values);
    await addEvent(tx, id, 'opened', { itemCode: item.code, reused: values.filter((value) => value.resolution === 'reused').length });
    await auditAccess(tx, { ...context, purpose: { ...context.purpose, caseRef: caseNumber } }, {
      action: 'case.open',
      subjectId: subject.id,
      fields: ['materials'],
      materialTypes: available.map((material) => material.typeCode),
    });
    return caseView(tx, row, services, today);
  });
}

export async function readCase(context: AccessContext, services: CaseServices, caseId: string): Promise<CaseView> {
  return context.db.transaction(async (tx) => caseView(tx, await visibleCase(tx, context.principal, caseId), services));
}

export interface CaseEventView {
  at: string;
  kind: string;
  department: string | null;
  detail: Record<string, unknown>;
}

export async function caseTimeline(db: Database, principal: Principal, caseId: string): Promise<CaseEventView[]> {
  return db.transaction(async (tx) => {
    await visibleCase(tx, principal, caseId);
    const rows = await tx.select().from(caseEvents).where(eq(caseEvents.caseId, caseId)).orderBy(asc(caseEvents.occurredAt), asc(caseEvents.id));
    return rows.map((row) => ({ at: row.occurredAt.toISOString(), kind: row.kind, department: row.departmentCode, detail: row.detail }));
  });
}

/**
 * Attaches a material of the case's subject to a requirement: before submission, or afterwards for
 * a requirement accepted missing (容缺) or while the case awaits the applicant (补正).
 */
export async function attachMaterial(context: AccessContext, services: CaseServices, caseId: string, input: { requirementCode: string; materialId: string }): Promise<CaseView> {
  return context.db.transaction(async (tx) => {
    const row = await visibleCase(tx, context.principal, caseId, { lock: true });
    if (context.principal.kind !== 'window') throw new ApiError('forbidden', 'Materials are attached by the window system that opened the case.');
    const item = await requireItem(tx, row.itemCode);
    const requirement = item.materials.find((entry) => entry.requirementCode === input.requirementCode);
    if (!requirement) {
      throw new ApiError('requirement_unknown', `${item.name} has no requirement ${input.requirementCode}; it has ${item.materials.map((entry) => entry.requirementCode).join(', ')}.`);
    }
    const [current] = await tx
      .select()
      .from(caseMaterials)
      .where(and(eq(caseMaterials.caseId, caseId), eq(caseMaterials.requirementCode, input.requirementCode)));
    const supplying = current?.resolution === 'deferred' || row.status === 'awaiting_applicant';
    if (row.status !== 'open' && !supplying) throw new ApiError('case_not_open', `Case ${row.caseNumber} is ${row.status}; only deferred materials can still be supplied.`);

    const [material] = await tx.select().from(materials).where(and(eq(materials.id, input.materialId), eq(materials.subjectId, row.subjectId)));
    const today = chinaToday(services.clock.now());
    if (!material) throw new ApiError('material_not_accepted', 'No such material of this applicant.');
    if (!requirement.acceptedTypes.includes(material.typeCode)) {
      throw new ApiError('material_not_accepted', `A ${material.typeCode} does not satisfy "${requirement.name}"; accepted: ${requirement.acceptedTypes.join(', ')}.`);
    }
    if (!isUsableOn(material, today)) throw new ApiError('material_not_accepted', `The material is not valid today (${material.status}${material.validUntil ? `, valid until ${material.validUntil}` : ''}).`);

    const resolution = resolutionOf(material, row.openedAt);
    await tx
      .insert(caseMaterials)
      .values({ caseId, requirementCode: input.requirementCode, materialId: material.id, resolution })
      .onConflictDoUpdate({ target: [caseMaterials.caseId, caseMaterials.requirementCode], set: { materialId: material.id, resolution, dueOn: null, updatedAt: new Date() } });
    if (row.status !== 'open') {
      const counter = resolution === 'handed_in' ? { materialsHandedIn: sql`${cases.materialsHandedIn} + 1` } : resolution === 'fetched' ? { materialsFetched: sql`${cases.materialsFetched} + 1` } : { materialsReused: sql`${cases.materialsReused} + 1` };
      await tx
        .update(cases)
        .set({ ...counter, ...(current?.resolution === 'deferred' ? { materialsDeferred: sql`greatest(${cases.materialsDeferred} - 1, 0)` } : {}), updatedAt: new Date() })
        .where(eq(cases.id, caseId));
    }
    await addEvent(tx, caseId, row.status === 'open' ? 'material_attached' : 'material_supplied', { requirementCode: input.requirementCode, materialId: material.id, resolution });
    await auditAccess(tx, { ...context, purpose: { ...context.purpose, caseRef: row.caseNumber } }, {
      action: 'case.attach_material',
      subjectId: row.subjectId,
      fields: [`material:${material.id}`],
      materialTypes: [material.typeCode],
    });
    const [updated] = await tx.select().from(cases).where(eq(cases.id, caseId));
    return caseView(tx, updated ?? row, services, today);
  });
}

/** The certificate types to fetch for a case: per fetchable requirement, its first type a department issues. */
export async function fetchPlan(context: AccessContext, services: CaseServices, caseId: string): Promise<{ row: CaseRow; byRequirement: Map<string, string> }> {
  return context.db.transaction(async (tx) => {
    const row = await visibleCase(tx, context.principal, caseId);
    if (row.status !== 'open' && row.status !== 'awaiting_applicant') throw new ApiError('case_not_open', `Case ${row.caseNumber} is ${row.status}.`);
    const view = await caseView(tx, row, services);
    const byRequirement = new Map<string, string>();
    for (const entry of view.notice.entries) {
      const first = entry.fetchableFrom[0];
      if (entry.state === 'fetchable' && first) byRequirement.set(entry.requirementCode, first.certificateType);
    }
    return { row, byRequirement };
  });
}

export interface SubmitInput {
  form?: Record<string, unknown>;
}

/**
 * Submits an open case inside the caller's transaction (the idempotency wrapper's): checks the
 * form and the materials, accepts deferrable ones as deferred with their due dates, computes the
 * promised and statutory due dates on the working-day calendar, and writes the case and one
 * delivery per department of the item — all or nothing.
 */
export async function submitCase(tx: Queryable, context: AccessContext, services: CaseServices, caseId: string, input: SubmitInput): Promise<CaseView> {
  const row = await visibleCase(tx, context.principal, caseId, { lock: true });
  if (context.principal.kind !== 'window') throw new ApiError('forbidden', 'Cases are submitted by the window system that opened them.');
  if (row.status !== 'open') throw new ApiError('case_not_open', `Case ${row.caseNumber} was already submitted (${row.status}).`);
  const item = await requireItem(tx, row.itemCode);
  const form = input.form ?? row.form;
  checkForm(item.code, item.formSchema, form);

  const notReceiving = item.departments.filter((code) => services.departments.get(code)?.adapter.submitCase === undefined);
  if (notReceiving.length > 0) {
    throw new ApiError('department_not_receiving', `No configured department system receives cases for ${notReceiving.join(', ')}; the case was not submitted.`, { departments: notReceiving });
  }

  const today = chinaToday(services.clock.now());
  // Days of a year whose holidays are not published yet count by the weekday rule (provisional).
  const calendar = withProvisionalYears(await services.calendar());
  const view = await caseView(tx, row, services, today);
  const missing = view.notice.entries.filter((entry) => (entry.state === 'missing' || entry.state === 'fetchable') && !entry.optional && entry.deferrableDays === null);
  if (missing.length > 0) {
    throw new ApiError(
      'materials_missing',
      `The case cannot be accepted without: ${missing.map((entry) => `${entry.name} (${entry.state === 'fetchable' ? 'fetch it from ' + entry.fetchableFrom.map((source) => source.department).join('/') : 'hand it in'})`).join('; ')}.`,
      { missing: missing.map((entry) => ({ requirementCode: entry.requirementCode, name: entry.name, state: entry.state })) },
    );
  }
  const deferred = view.notice.entries.filter((entry) => (entry.state === 'missing' || entry.state === 'fetchable' || entry.state === 'deferrable') && !entry.optional && entry.deferrableDays !== null);
  for (const entry of deferred) {
    await tx
      .update(caseMaterials)
      .set({ resolution: 'deferred', materialId: null, dueOn: calendar.addWorkingDays(today, entry.deferrableDays ?? 0), updatedAt: new Date() })
      .where(and(eq(caseMaterials.caseId, row.id), eq(caseMaterials.requirementCode, entry.requirementCode)));
  }

  const due = dueDates(calendar, today, item.promisedDays, item.statutoryDays, 0);
  const counts = view.notice.counts;
  const now = new Date();
  const [submitted] = await tx
    .update(cases)
    .set({
      status: 'submitted',
      form,
      submittedAt: now,
      acceptedOn: today,
      promisedDays: item.promisedDays,
      ...due,
      materialsRequired: counts.required,
      materialsHandedIn: counts.handedIn,
      materialsReused: counts.reused,
      materialsFetched: counts.fetched,
      materialsDeferred: deferred.length,
      updatedAt: now,
    })
    .where(eq(cases.id, row.id))
    .returning();
  if (!submitted) throw new Error('update returned no row');
  await tx.insert(deliveries).values(item.departments.map((department) => ({ id: newDeliveryId(), caseId: row.id, departmentCode: department })));
  await addEvent(tx, row.id, 'submitted', { acceptedOn: today, ...due, departments: item.departments, deferred: deferred.map((entry) => entry.requirementCode) });
  await auditAccess(tx, { ...context, purpose: { ...context.purpose, caseRef: row.caseNumber } }, {
    action: 'case.submit',
    subjectId: row.subjectId,
    fields: ['materials', `departments:${item.departments.join(',')}`],
    materialTypes: view.notice.entries.flatMap((entry) => (entry.material ? [entry.material.typeCode] : [])),
  });
  return caseView(tx, submitted, services, today);
}

/** Attaches fetched certificates to the requirements they were fetched for. */
export async function attachFetched(
  context: AccessContext,
  services: CaseServices,
  caseId: string,
  fetched: { requirementCode: string; materialId: string; source: 'stored' | 'department' }[],
): Promise<CaseView> {
  return context.db.transaction(async (tx) => {
    const row = await visibleCase(tx, context.principal, caseId, { lock: true });
    for (const entry of fetched) {
      const resolution = entry.source === 'department' ? ('fetched' as const) : ('reused' as const);
      await tx
        .update(caseMaterials)
        .set({ materialId: entry.materialId, resolution, dueOn: null, updatedAt: new Date() })
        .where(and(eq(caseMaterials.caseId, caseId), eq(caseMaterials.requirementCode, entry.requirementCode)));
      await addEvent(tx, caseId, 'certificate_fetched', { requirementCode: entry.requirementCode, materialId: entry.materialId, source: entry.source });
    }
    const [updated] = await tx.select().from(cases).where(eq(cases.id, caseId));
    return caseView(tx, updated ?? row, services);
  });
}
