/**
 * Fetched certificates in the database: each one is a material (its rendition in the content
 * store, stored once whoever fetched it) plus a certificate record with the standard metadata,
 * the department and contract version it came from, and when the department last confirmed it.
 * Fetching the same certificate again only moves `checkedAt`; a new rendition supersedes the
 * previous material, and so does a new number of a personal certificate (a renewed card) — not
 * another flat of the same holder (`replacedBy`); a revoked one is never served as valid again.
 */
import { newRandomId } from '../platform/random-ids.js';
import { and, asc, desc, eq, gt, inArray, ne, or, sql } from 'drizzle-orm';
import type { CertificateMetadata } from '../../adapters/sdk/types.js';
import type { Database, Queryable } from '../db/client.js';
import { reusableStatement, valuePlaceholder } from '../db/statements.js';
import { certificateRevocations, certificates, materials, subjects } from '../db/schema.js';
import { maskCreditCode, maskResidentId } from '../identity/identifiers.js';
import { maskIdentifiersInNote } from '../platform/identifier-masking.js';
import type { DataProtection } from '../protection/data-protection.js';
import { SEALED_JSON_MARK } from '../db/sealed-json.js';
import { auditAccess } from '../access/audit.js';
import type { AccessContext, AllowedDecision } from '../access/context.js';
import type { MaterialTypeRow } from '../materials/catalogue.js';
import { type MaterialRow, lockContent, newMaterialId } from '../materials/materials.js';
import { normaliseCertificateNumber } from './numbers.js';

/**
 * The certificate number as the material's file name and source reference, which every reader of
 * the subject's materials sees, also without `subjects:unmask`: an ID card's or household
 * register's number IS the holder's ID number, so it is masked there (the certificate row keeps it).
 */
export function materialLabel(metadata: Pick<CertificateMetadata, 'certificateNumber' | 'holderIdentifier'>): string {
  const number = metadata.certificateNumber;
  if (number.toUpperCase() !== metadata.holderIdentifier.toUpperCase()) return number;
  return /^\d{17}[\dX]$/i.test(number) ? maskResidentId(number) : maskCreditCode(number);
}

export type CertificateRow = typeof certificates.$inferSelect;

export interface StoredCertificate {
  certificate: CertificateRow;
  material: MaterialRow;
}

export interface FetchedCertificate {
  type: MaterialTypeRow;
  department: string;
  contractResource: string | null;
  contractVersion: string | null;
  metadata: CertificateMetadata;
  /** `sm3`: lower-case hex SM3 of the bytes, recorded on the material and signed in its envelopes. */
  content: { sha256: string; sm3?: string; size: number; mediaType: string };
}

/** The client id recorded as a fetched material's provider: the department, never the caller. */
export function departmentProvider(department: string): string {
  return `department:${department}`;
}

const placeholder = sql.placeholder;

// The statements every re-fetch runs, built once (gateway/db/statements.ts).
const selectRevocation = reusableStatement<
  { department: string; certificateType: string; certificateNumber: string; certificateNumberClear: string },
  { id: string }[]
>((on) =>
  on
    .select({ id: certificateRevocations.id })
    .from(certificateRevocations)
    .where(
      and(
        eq(certificateRevocations.departmentCode, placeholder('department')),
        eq(certificateRevocations.certificateType, placeholder('certificateType')),
        or(
          eq(certificateRevocations.certificateNumber, placeholder('certificateNumber')),
          eq(certificateRevocations.certificateNumber, placeholder('certificateNumberClear')),
        ),
      ),
    )
    .limit(1)
    .prepare('select_certificate_revocation'),
);

/** The subject's stored copy of this very certificate and rendition (locked), unless superseded. */
const selectSameCertificate = reusableStatement<
  {
    subjectId: string;
    department: string;
    certificateType: string;
    certificateNumber: string;
    certificateNumberClear: string;
    sha256: string;
  },
  { certificate: CertificateRow; material: MaterialRow }[]
>((on) =>
  on
    .select({ certificate: certificates, material: materials })
    .from(certificates)
    .innerJoin(materials, eq(materials.id, certificates.materialId))
    .where(
      and(
        eq(certificates.subjectId, placeholder('subjectId')),
        eq(certificates.certificateType, placeholder('certificateType')),
        eq(certificates.departmentCode, placeholder('department')),
        or(
          eq(certificates.certificateNumber, placeholder('certificateNumber')),
          eq(certificates.certificateNumber, placeholder('certificateNumberClear')),
        ),
        eq(materials.contentSha256, placeholder('sha256')),
        ne(materials.status, 'superseded'),
      ),
    )
    .for('update')
    .prepare('select_same_certificate'),
);

/** The department confirmed the stored certificate: when, under which contract, with what it says now. */
const confirmCertificate = reusableStatement<
  {
    materialId: string;
    checkedAt: Date;
    metadata: Record<string, unknown>;
    contractResource: string | null;
    contractVersion: string | null;
  },
  CertificateRow[]
>((on) =>
  on
    .update(certificates)
    .set({
      checkedAt: valuePlaceholder<Date>('checkedAt'),
      metadata: valuePlaceholder<Record<string, unknown>>('metadata'),
      contractResource: valuePlaceholder<string | null>('contractResource'),
      contractVersion: valuePlaceholder<string | null>('contractVersion'),
    })
    .where(eq(certificates.materialId, placeholder('materialId')))
    .returning()
    .prepare('confirm_certificate'),
);

function newRevocationId(): string {
  return newRandomId('rvk');
}

/**
 * Which stored certificate a newly fetched one replaces: the same number (a new rendition); for a
 * certificate about a thing (a flat: `location` set), another number only for the same object (a
 * replacement certificate) — a holder's two flats stand side by side; for a personal certificate
 * (no object: an ID card, a licence) the newest one, as a renewed card replaces the old.
 */
function replacedBy(
  current: readonly { id: string; metadata: Record<string, unknown> }[],
  metadata: CertificateMetadata,
): { id: string } | undefined {
  const sameNumber = current.find((row) => row.metadata.certificateNumber === metadata.certificateNumber);
  if (sameNumber) return sameNumber;
  if (metadata.location === undefined) return current[0];
  return current.find((row) => row.metadata['location'] === metadata.location);
}

/**
 * Records a certificate the department just returned, in one transaction with its audit entry.
 * The same certificate with the same rendition is confirmed (checkedAt moves); anything else
 * becomes a new material superseding the subject's previous one of this type from this
 * department. A certificate the department reports revoked is stored revoked.
 */
export async function recordFetchedCertificate(
  context: AccessContext,
  decision: AllowedDecision,
  subjectId: string,
  fetched: FetchedCertificate,
  now: Date,
): Promise<StoredCertificate> {
  const { content } = fetched;
  return context.db.transaction(async (tx) => {
    // One round trip: the server runs the reads after the content lock, in this order. A
    // certificate the department revoked stays revoked even if its system still answers "valid"
    // (a pushed revocation can arrive before the registry itself is updated).
    const { protection } = context.access;
    const [certificateNumber, certificateNumberClear] = protection.certificateNumberLookups(
      fetched.metadata.certificateType,
      normaliseCertificateNumber(fetched.metadata.certificateNumber),
    );
    const identity = {
      department: fetched.department,
      certificateType: fetched.metadata.certificateType,
      certificateNumber,
      certificateNumberClear,
    };
    const [, [revoked], [same]] = await Promise.all([
      lockContent(tx, content.sha256),
      selectRevocation(tx, identity),
      selectSameCertificate(tx, { ...identity, subjectId, sha256: content.sha256 }),
    ]);
    if (same && same.material.contentSm3 === null && content.sm3) {
      // A copy stored before SM3 digests were recorded gets its digest at its next refresh.
      await tx.update(materials).set({ contentSm3: content.sm3 }).where(eq(materials.id, same.material.id));
      same.material = { ...same.material, contentSm3: content.sm3 };
    }
    const knownRevoked = revoked !== undefined;
    const metadata: CertificateMetadata = knownRevoked ? { ...fetched.metadata, status: 'revoked' } : fetched.metadata;
    const certificate = { ...fetched, metadata };
    const coHolders = await coHoldersKnown(tx, context.access.protection, metadata, subjectId);
    const audit = async () => {
      await auditAccess(tx, context, {
        decision,
        action: 'certificate.fetch',
        subjectId,
        fields: ['certificate', 'content'],
        materialTypes: [metadata.certificateType],
      });
      // A jointly held right names every holder: the read is on the other holders' record too,
      // and the copy is theirs as well (stored in their file below).
      for (const coHolder of coHolders)
        await auditAccess(tx, context, {
          decision,
          action: 'certificate.fetch',
          subjectId: coHolder.subjectId,
          fields: ['co_holder', `certificate_of:${subjectId}`],
          materialTypes: [metadata.certificateType],
        });
    };
    const origin: CertificateOrigin = {
      provenance: 'fetched',
      // Stored as the audit entry stores them: a window's reference may be the applicant's ID number.
      operatorId: maskIdentifiersInNote(context.purpose.operatorId),
      caseRef: maskIdentifiersInNote(context.purpose.caseRef),
    };
    const [stored] = await Promise.all([
      storeHolderCopy(tx, context.access.protection, origin, subjectId, same, certificate, now),
      audit(),
    ]);
    // One certificate with several holders (spouses, joint owners) is each holder's: every holder
    // the gateway knows gets it in their file, so a later fetch for them is served from the store
    // instead of asking the department again for what it has already answered.
    for (const { subjectId: coHolder, holder } of coHolders) {
      const [coHolderSame] = await selectSameCertificate(tx, {
        ...identity,
        subjectId: coHolder,
        sha256: content.sha256,
      });
      // Their copy names them as its holder, as the department answers when asked for them. The
      // alternatives are the asked holder's other certificates, not theirs: never in their copy
      // (review 9: a co-owner's own flats were served as the other's choices).
      const { alternatives: _askedHoldersOwn, ...shared } = metadata;
      const theirs = { ...shared, holderName: holder.name, holderIdentifier: holder.identifier };
      await storeHolderCopy(
        tx,
        context.access.protection,
        origin,
        coHolder,
        coHolderSame,
        { ...certificate, metadata: theirs },
        now,
      );
    }
    if (metadata.status === 'revoked' && !knownRevoked) {
      const id = newRevocationId();
      await tx.insert(certificateRevocations).values({
        id,
        departmentCode: fetched.department,
        certificateType: metadata.certificateType,
        ...storedRevocationNumber(protection, id, metadata.certificateType, metadata.certificateNumber),
        reason: 'Reported revoked by the issuing department when fetched',
        reportedBy: 'adapter',
        materialsRevoked: 1 + coHolders.length,
      });
    }
    return stored;
  });
}

/**
 * One holder's copy of a certificate the department just returned: the same valid certificate
 * confirmed (checkedAt moves), anything else a new material superseding the holder's previous
 * one; stored revoked or cancelled as the department says.
 */
async function storeHolderCopy(
  tx: Queryable,
  protection: DataProtection,
  origin: CertificateOrigin,
  holderId: string,
  same: StoredCertificate | undefined,
  fetched: FetchedCertificate,
  now: Date,
): Promise<StoredCertificate> {
  const { metadata } = fetched;
  const confirm = async (copy: StoredCertificate): Promise<StoredCertificate> => {
    const [certificate] = await confirmCertificate(tx, {
      materialId: copy.material.id,
      checkedAt: now,
      metadata: protection.sealJson('certificates.metadata', { ...metadata }),
      contractResource: fetched.contractResource,
      contractVersion: fetched.contractVersion,
    });
    return { certificate: certificate ?? copy.certificate, material: copy.material };
  };
  // The usual re-fetch: the same valid certificate confirmed.
  if (same && same.material.status === 'valid' && metadata.status === 'valid') return confirm(same);

  let stored =
    same && !(same.material.status === 'revoked' && metadata.status === 'valid')
      ? await confirm(same)
      : await insertCertificateMaterial(tx, protection, origin, holderId, fetched, now);
  if (metadata.status === 'revoked' && stored.material.status !== 'revoked') {
    stored = {
      ...stored,
      material: await revokeStored(tx, stored.material, 'Reported revoked by the issuing department', 'adapter', now),
    };
  }
  if (metadata.status === 'cancelled' && stored.material.status === 'valid') {
    // 注销 by a later event: kept and shown as cancelled, never recorded as a revocation.
    const [cancelled] = await tx
      .update(materials)
      .set({ status: 'cancelled' })
      .where(eq(materials.id, stored.material.id))
      .returning();
    stored = { ...stored, material: cancelled ?? stored.material };
  }
  return stored;
}

/**
 * The gateway's subjects among a certificate's other holders (by resident ID number or credit
 * code, as the department registered them), for auditing a read of a jointly held right. None
 * when `holders` does not name the holder itself.
 */
export async function coHolderSubjects(
  tx: Queryable,
  protection: DataProtection,
  metadata: Pick<CertificateMetadata, 'holders' | 'holderIdentifier'>,
  subjectId: string,
): Promise<string[]> {
  return (await coHoldersKnown(tx, protection, metadata, subjectId)).map((coHolder) => coHolder.subjectId);
}

/**
 * A stored copy of a jointly held certificate read through the materials routes (its metadata or
 * its document, which names every holder) is a read on each co-holder's record too, as a serve of
 * it by the certificates route is (review 23). In the read's transaction; handed-in documents have
 * no certificate and cost nothing.
 */
export async function auditCoHolderCopyRead(
  tx: Queryable,
  context: AccessContext,
  read: { row: MaterialRow; decision: AllowedDecision; action: string; field: string },
): Promise<void> {
  const { row } = read;
  if (row.provenance === 'handed_in') return;
  const [certificate] = await tx
    .select({ metadata: certificates.metadata })
    .from(certificates)
    .where(eq(certificates.materialId, row.id));
  const metadata = certificate?.metadata as unknown as CertificateMetadata | undefined;
  if (!metadata || (metadata.holders?.length ?? 0) < 2) return;
  for (const coHolder of await coHolderSubjects(tx, context.access.protection, metadata, row.subjectId))
    await auditAccess(tx, context, {
      decision: read.decision,
      action: read.action,
      subjectId: coHolder,
      fields: ['co_holder', `certificate_of:${row.subjectId}`, read.field],
      materialTypes: [row.typeCode],
    });
}

/** The other holders the gateway knows as subjects, each with the department's entry for them. */
async function coHoldersKnown(
  tx: Queryable,
  protection: DataProtection,
  metadata: Pick<CertificateMetadata, 'holders' | 'holderIdentifier'>,
  subjectId: string,
): Promise<{ subjectId: string; holder: NonNullable<CertificateMetadata['holders']>[number] }[]> {
  const entries = new Map((metadata.holders ?? []).map((holder) => [holder.identifier.toUpperCase(), holder]));
  // A list that does not name the holder asked about is not this certificate's list of holders
  // (an adapter's mistake): nobody in it gets the copy, or the read on their record.
  if (!entries.delete(metadata.holderIdentifier.toUpperCase()) || entries.size === 0) return [];
  // Found by the identifier's lookup (a blind index when data protection is on), either kind of identifier.
  const byLookup = new Map<string, string>();
  const lookups = new Set<string>();
  for (const identifier of entries.keys()) {
    for (const type of ['resident_id', 'credit_code']) {
      for (const lookup of protection.lookupsOf(type, identifier)) {
        byLookup.set(`${type}\u001f${lookup}`, identifier);
        lookups.add(lookup);
      }
    }
  }
  const rows = await tx
    .select({ id: subjects.id, identifierType: subjects.identifierType, lookup: subjects.identifierLookup })
    .from(subjects)
    .where(
      and(
        inArray(subjects.identifierType, ['resident_id', 'credit_code']),
        inArray(subjects.identifierLookup, [...lookups]),
      ),
    );
  return rows.flatMap((row) => {
    const identifier = byLookup.get(`${row.identifierType}\u001f${row.lookup}`);
    const holder = identifier === undefined ? undefined : entries.get(identifier);
    return holder && row.id !== subjectId ? [{ subjectId: row.id, holder }] : [];
  });
}

/** How a certificate material came to be: fetched for a caller, or issued to its holder at a case's completion. */
export interface CertificateOrigin {
  provenance: 'fetched' | 'issued';
  operatorId: string | null;
  caseRef: string | null;
}

/**
 * Stores a certificate as a new material of `subjectId`, superseding the one it replaces (see
 * `replacedBy`), with its certificate record. Inside the caller's transaction, after `lockContent`.
 */
export async function insertCertificateMaterial(
  tx: Queryable,
  protection: DataProtection,
  origin: CertificateOrigin,
  subjectId: string,
  fetched: FetchedCertificate,
  now: Date,
): Promise<StoredCertificate> {
  const { metadata, content } = fetched;
  const current = await tx
    .select({ id: materials.id, metadata: certificates.metadata })
    .from(certificates)
    .innerJoin(materials, eq(materials.id, certificates.materialId))
    .where(
      and(
        eq(certificates.subjectId, subjectId),
        eq(certificates.certificateType, metadata.certificateType),
        eq(certificates.departmentCode, fetched.department),
        eq(materials.status, 'valid'),
      ),
    )
    .orderBy(desc(certificates.checkedAt))
    .for('update');
  const previous = replacedBy(current, metadata);
  const id = newMaterialId();
  const label = materialLabel(metadata);
  const [material] = await tx
    .insert(materials)
    .values({
      id,
      subjectId,
      typeCode: fetched.type.code,
      contentSha256: content.sha256,
      contentSm3: content.sm3 ?? null,
      contentSize: content.size,
      mediaType: content.mediaType,
      fileName: `${metadata.certificateType}-${label}.${content.mediaType === 'application/ofd' ? 'ofd' : 'pdf'}`,
      provenance: origin.provenance,
      providedByClientId: departmentProvider(fetched.department),
      operatorId: origin.operatorId,
      departmentCode: fetched.department,
      // Who may read the copy later is decided by the terms it was fetched under.
      sharingResource: fetched.contractResource,
      sourceRef: label,
      caseRef: origin.caseRef,
      validFrom: metadata.validFrom,
      validUntil: metadata.validUntil,
      supersedesId: previous?.id ?? null,
    })
    .returning();
  if (!material) throw new Error('insert returned no row');
  if (previous)
    await tx.update(materials).set({ status: 'superseded', supersededById: id }).where(eq(materials.id, previous.id));
  const [certificate] = await tx
    .insert(certificates)
    .values({
      materialId: id,
      subjectId,
      certificateType: metadata.certificateType,
      certificateNumber: protection.certificateNumberLookup(
        metadata.certificateType,
        normaliseCertificateNumber(metadata.certificateNumber),
      ),
      departmentCode: fetched.department,
      contractResource: fetched.contractResource,
      contractVersion: fetched.contractVersion,
      metadata: protection.sealJson('certificates.metadata', { ...metadata }),
      fetchedAt: now,
      checkedAt: now,
    })
    .returning();
  if (!certificate) throw new Error('insert returned no row');
  return { certificate, material };
}

async function revokeStored(
  tx: Queryable,
  material: MaterialRow,
  reason: string,
  by: string,
  now: Date,
): Promise<MaterialRow> {
  const [revoked] = await tx
    .update(materials)
    .set({ status: 'revoked', revokedAt: now, revokedReason: reason, revokedByClientId: by })
    .where(eq(materials.id, material.id))
    .returning();
  return revoked ?? material;
}

/** Where a revocation's sealed number is kept: what its seal is bound to. */
export const revocationNumberPlace = (revocationId: string) => `certificate_revocations.number:${revocationId}`;

/** A revocation's number as stored: its lookup, and the number sealed for showing when protection is on. */
function storedRevocationNumber(
  protection: DataProtection,
  revocationId: string,
  certificateType: string,
  certificateNumber: string,
): { certificateNumber: string; certificateNumberSealed: string | null } {
  // Kept normalised (as the copies' numbers are), so a later fetch of the same number in another
  // form stays revoked; with protection on, the number as sent is sealed for showing.
  const normalised = normaliseCertificateNumber(certificateNumber);
  const lookup = protection.certificateNumberLookup(certificateType, normalised);
  return {
    certificateNumber: lookup,
    certificateNumberSealed:
      lookup === normalised ? null : protection.sealText(revocationNumberPlace(revocationId), certificateNumber),
  };
}

export interface RevocationInput {
  department: string;
  certificateType: string;
  certificateNumber: string;
  reason: string;
  reportedBy: string;
}

export type RevocationRow = typeof certificateRevocations.$inferSelect;

/**
 * A department's revocation: every material holding that certificate (whatever its subject)
 * becomes revoked, in one transaction with the revocation record. A revocation of a certificate
 * the gateway never fetched is recorded too, so a later fetch cannot be mistaken for news.
 */
export async function revokeCertificate(
  tx: Queryable,
  protection: DataProtection,
  input: RevocationInput,
  now: Date,
  /** The access policy's check of each material to revoke; throws to refuse. */
  mayRevoke: (material: MaterialRow) => void,
): Promise<{ revocation: RevocationRow; revoked: MaterialRow[] }> {
  const normalised = normaliseCertificateNumber(input.certificateNumber);
  const [stored, uploaded] = await Promise.all([
    tx
      .select({ material: materials })
      .from(certificates)
      .innerJoin(materials, eq(materials.id, certificates.materialId))
      .where(
        and(
          eq(certificates.departmentCode, input.department),
          eq(certificates.certificateType, input.certificateType),
          // Compared normalised (「京（2015）…」 is 「京(2015)…」); copies stored before numbers were
          // stored normalised are found as sent too.
          inArray(certificates.certificateNumber, [
            ...new Set([
              ...protection.certificateNumberLookups(input.certificateType, normalised),
              ...protection.certificateNumberLookups(input.certificateType, input.certificateNumber),
            ]),
          ]),
          ne(materials.status, 'revoked'),
        ),
      )
      .for('update'),
    // The documents the department itself issued under that number (uploaded as `issued` with the
    // number as their reference) hold the certificate as much as a fetched copy (review 17).
    tx
      .select()
      .from(materials)
      .where(
        and(
          eq(materials.provenance, 'issued'),
          eq(materials.departmentCode, input.department),
          eq(materials.typeCode, input.certificateType),
          inArray(materials.sourceRef, [...new Set([normalised, input.certificateNumber])]),
          ne(materials.status, 'revoked'),
        ),
      )
      .for('update'),
  ]);
  const held = [
    ...stored,
    ...uploaded
      .filter((material) => !stored.some((copy) => copy.material.id === material.id))
      .map((material) => ({ material })),
  ];
  for (const { material } of held) mayRevoke(material);
  for (const { material } of held) await revokeStored(tx, material, input.reason, input.reportedBy, now);
  const id = newRevocationId();
  const [revocation] = await tx
    .insert(certificateRevocations)
    .values({
      id,
      departmentCode: input.department,
      certificateType: input.certificateType,
      ...storedRevocationNumber(protection, id, input.certificateType, input.certificateNumber),
      reason: input.reason,
      reportedBy: input.reportedBy,
      materialsRevoked: held.length,
      revokedAt: now,
    })
    .returning();
  if (!revocation) throw new Error('insert returned no row');
  return { revocation, revoked: held.map(({ material }) => material) };
}

/**
 * Seals the certificates and revocations kept in clear (written while data protection was off)
 * or, with `allKeys`, sealed under a data key that is no longer the active one: the metadata
 * sealed, the number stored as its lookup (and, for a revocation, sealed for showing). In
 * batches by id; returns how many rows were written.
 */
export async function sealStoredCertificates(
  db: Database,
  protection: DataProtection,
  options: { allKeys?: boolean; batchSize?: number } = {},
): Promise<number> {
  const prefix = protection.currentSealPrefix;
  if (prefix === null) return 0;
  const batchSize = options.batchSize ?? 500;
  const sealedAs = options.allKeys ? `${prefix}%` : 'ow1.%';
  let written = 0;
  for (let after = ''; ; ) {
    const rows = await db
      .select({
        materialId: certificates.materialId,
        type: certificates.certificateType,
        metadata: certificates.metadata,
      })
      .from(certificates)
      .where(
        and(
          gt(certificates.materialId, after),
          sql`coalesce(${certificates.metadata} ->> ${SEALED_JSON_MARK}, '') not like ${sealedAs}`,
        ),
      )
      .orderBy(asc(certificates.materialId))
      .limit(batchSize);
    for (const row of rows) {
      const number = String(row.metadata.certificateNumber ?? '');
      await db
        .update(certificates)
        .set({
          metadata: protection.sealJson('certificates.metadata', row.metadata),
          certificateNumber: protection.certificateNumberLookup(row.type, normaliseCertificateNumber(number)),
        })
        .where(eq(certificates.materialId, row.materialId));
      written += 1;
    }
    const last = rows.at(-1);
    if (!last || rows.length < batchSize) break;
    after = last.materialId;
  }
  for (let after = ''; ; ) {
    const rows = await db
      .select()
      .from(certificateRevocations)
      .where(
        and(
          gt(certificateRevocations.id, after),
          sql`coalesce(${certificateRevocations.certificateNumberSealed}, '') not like ${sealedAs}`,
        ),
      )
      .orderBy(asc(certificateRevocations.id))
      .limit(batchSize);
    for (const row of rows) {
      const number =
        row.certificateNumberSealed === null
          ? row.certificateNumber
          : await protection.openText(revocationNumberPlace(row.id), row.certificateNumberSealed);
      await db
        .update(certificateRevocations)
        .set(storedRevocationNumber(protection, row.id, row.certificateType, number))
        .where(eq(certificateRevocations.id, row.id));
      written += 1;
    }
    const last = rows.at(-1);
    if (!last || rows.length < batchSize) break;
    after = last.id;
  }
  return written;
}
