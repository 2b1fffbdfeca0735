/**
 * Publishing and reading data contracts. A publication parses and validates the document, asks
 * the access policy whether the publisher may publish it (only the owning department changes the
 * sharing terms; an integrator describes the service), compares the new version with the latest,
 * refuses breaking changes without a major-version bump, and stores the version with its audit
 * entries in one transaction. Versions are never changed or deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { type SQL, and, asc, desc, eq, ilike, or, sql } from 'drizzle-orm';
import type { SelectedFields } from 'drizzle-orm/pg-core';
import type { RequestAccess } from '../access/context.js';
import { refusal } from '../access/context.js';
import { recordAudit } from '../audit/record.js';
import type { Principal } from '../auth/principal.js';
import type { Database, Queryable } from '../db/client.js';
import {
  clients,
  contractDocumentJson,
  contractResources,
  contractSourceText,
  contractVersionTexts,
  contractVersions,
} from '../db/schema.js';
import { ApiError, message } from '../platform/errors.js';
import { fieldProblem } from '../platform/field-problems.js';
import type { CatalogueData, PartialCatalogueData, SharingType } from './catalogue-data.js';
import { type ContractChange, ContractDiffError, breakingChanges } from './diff.js';
import { type CheckedContract, sharedContractChecker } from './contract-checker.js';
import { compareSemver, parseSemver } from './semver.js';
import { sharingTermChanges, termsFields } from './terms.js';

export type ContractResourceRow = typeof contractResources.$inferSelect;

/** Who publishes: a client, or the gateway itself seeding the repository's contract files. */
export type Publisher = Pick<Principal, 'clientId' | 'kind' | 'departmentCode'>;

export type PublishInput = (
  | {
      /** The OpenAPI document: JSON or YAML text, or a parsed JSON object. */
      document: string | Record<string, unknown>;
      catalogue?: PartialCatalogueData;
    }
  | {
      /** A publish request's JSON body as it came (`publication-request.ts`), read in the worker. */
      requestJson: string;
    }
) & { requestId?: string | null };

export interface PublishResult {
  resourceCode: string;
  version: string;
  previousVersion: string | null;
  openapiVersion: string;
  sha256: string;
  publishedAt: string;
  catalogue: CatalogueData;
  changes: ContractChange[];
  breakingChanges: number;
}

/** The document column's value: null when the source is the document's JSON text already. */
const storedDocumentJson = (parsed: { documentJson: string; sourceText: string; sourceFormat: string }) =>
  parsed.sourceFormat === 'json' && parsed.documentJson === parsed.sourceText ? null : parsed.documentJson;

/** Characters of text one statement writes (`contract_version_texts`): ~10 ms of PGlite's time. */
export const TEXT_PIECE_CHARS = 128 * 1024;

/** `text` in pieces of about `TEXT_PIECE_CHARS`, never cutting a surrogate pair in two. */
export function textPieces(text: string): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; ) {
    let end = Math.min(start + TEXT_PIECE_CHARS, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end += 1;
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}

/** Stores a version's large texts in pieces, one statement each; small ones stay in its row. */
async function insertTextPieces(
  tx: Queryable,
  versionId: string,
  texts: { part: 'source' | 'document'; text: string | null }[],
): Promise<void> {
  for (const { part, text } of texts) {
    if (text === null || text.length <= TEXT_PIECE_CHARS) continue;
    const pieces = textPieces(text);
    for (const [seq, piece] of pieces.entries())
      await tx.insert(contractVersionTexts).values({ versionId, part, seq, piece });
  }
}

const inRow = (text: string | null) => (text !== null && text.length <= TEXT_PIECE_CHARS ? text : null);

export function newContractVersionId(): string {
  return `ctv_${randomBytes(12).toString('base64url')}`;
}

/**
 * Who vouches for a publication: a client, whose rights the access policy decides, or the
 * operator deploying the repository's contract files at start (trusted configuration).
 */
export type PublishAuthority =
  | {
      access: RequestAccess;
      /** The department a resource code belongs to (DepartmentRegistry.ownerOfResourceCode). */
      ownerOfResourceCode: (resourceCode: string) => string | null;
    }
  | 'operator';

function semverOf(version: string) {
  const parsed = parseSemver(version);
  if (!parsed) throw new Error(`stored contract version ${version} is not semver`);
  return parsed;
}

/**
 * The department whose code prefixes `resourceCode` (`psb.household-register` → PSB), when one is
 * known here without configuration: it owns a published resource, or a client of it exists.
 */
async function departmentNamedBy(tx: Queryable, resourceCode: string): Promise<string | null> {
  const prefix = resourceCode.split('.')[0] ?? '';
  if (prefix === '' || prefix === resourceCode) return null;
  const [owner] = await tx
    .select({ code: contractResources.departmentCode })
    .from(contractResources)
    .where(sql`upper(${contractResources.departmentCode}) = upper(${prefix})`)
    .limit(1);
  if (owner) return owner.code;
  const [client] = await tx
    .select({ code: clients.departmentCode })
    .from(clients)
    .where(and(eq(clients.kind, 'department'), sql`upper(${clients.departmentCode}) = upper(${prefix})`))
    .limit(1);
  return client?.code ?? null;
}

/** Publishes a contract version; see the module comment for the checks. */
export async function publishContract(
  db: Database,
  publisher: Publisher,
  input: PublishInput,
  authority: PublishAuthority,
): Promise<PublishResult> {
  // Parsed, validated and (below) diffed in a worker: client text must not stall the event loop.
  // Only the document's JSON text comes back; this thread stores it without parsing it.
  const parsed =
    'requestJson' in input
      ? await sharedContractChecker.readRequest(input.requestJson)
      : await sharedContractChecker.read(input.document, input.catalogue);
  const { catalogue } = parsed;
  try {
    return await db.transaction((tx) => publishParsed(tx, publisher, authority, parsed, input.requestId ?? null));
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      await recordAudit(db, {
        actor: publisher,
        action: 'contract.publish',
        fields: [
          `contract:${catalogue.resourceCode}@${parsed.version}`,
          ...termsFields(catalogue),
          `refused:${error.code}`,
        ],
        outcome: 'denied',
        requestId: input.requestId,
      });
    }
    throw error;
  }
}

async function publishParsed(
  tx: Queryable,
  publisher: Publisher,
  authority: PublishAuthority,
  parsed: CheckedContract,
  requestId: string | null,
): Promise<PublishResult> {
  const { catalogue } = parsed;
  const { resourceCode } = catalogue;
  // Publications of one resource are serialised on its catalogue row.
  const [resource] = await tx
    .select()
    .from(contractResources)
    .where(eq(contractResources.resourceCode, resourceCode))
    .for('update');
  let previous: { version: string; seq: number; catalogue: Record<string, unknown>; documentJson: string } | undefined;
  if (resource) {
    [previous] = await tx
      .select({
        version: contractVersions.version,
        seq: contractVersions.seq,
        catalogue: contractVersions.catalogue,
        documentJson: contractDocumentJson,
      })
      .from(contractVersions)
      .where(eq(contractVersions.resourceCode, resourceCode))
      .orderBy(desc(contractVersions.seq))
      .limit(1);
  }
  const termChanges = previous ? sharingTermChanges(previous.catalogue as unknown as CatalogueData, catalogue) : [];
  if (authority !== 'operator') {
    const contract = {
      resourceCode,
      departmentCode: catalogue.departmentCode,
      sharingType: catalogue.sharingType,
      existing: resource ? { departmentCode: resource.departmentCode } : null,
      reservedFor: authority.ownerOfResourceCode(resourceCode) ?? (await departmentNamedBy(tx, resourceCode)),
      changesTerms: termChanges.length > 0,
    };
    const decision = await authority.access.decide(tx, 'contract.publish', { kind: 'contract', contract });
    if (!decision.allowed) {
      if (decision.rule === 'contract.code_reserved')
        throw new ApiError(
          'forbidden',
          message('contract.code_reserved', { resourceCode, department: contract.reservedFor ?? '' }),
        );
      if (decision.reason === 'not_owner' && resource && resource.departmentCode !== catalogue.departmentCode) {
        throw new ApiError(
          'forbidden',
          message('contract.owner_fixed', { resourceCode, department: resource.departmentCode }),
        );
      }
      if (decision.reason === 'not_owner')
        throw new ApiError(
          'forbidden',
          message('contract.own_department_only', { department: catalogue.departmentCode }),
        );
      throw refusal(decision, { kind: 'contract', contract });
    }
  } else if (resource && resource.departmentCode !== catalogue.departmentCode) {
    throw new ApiError(
      'forbidden',
      message('contract.owner_fixed', { resourceCode, department: resource.departmentCode }),
    );
  }

  let changes: ContractChange[] = [];
  if (previous) {
    const order = compareSemver(semverOf(parsed.version), semverOf(previous.version));
    if (order === 0 || (await versionExists(tx, resourceCode, parsed.version))) {
      throw new ApiError(
        'contract_version_exists',
        message('contract.version_exists', { version: parsed.version, resourceCode }),
        {
          resourceCode,
          version: parsed.version,
        },
      );
    }
    if (order < 0) {
      throw new ApiError(
        'contract_version_not_newer',
        message('contract.version_not_newer', { version: parsed.version, latest: previous.version }),
        {
          resourceCode,
          latestVersion: previous.version,
        },
      );
    }
    changes = [...termChanges, ...(await diffOrRefuse(previous.documentJson, parsed.documentJson))];
    const breaking = breakingChanges(changes);
    if (breaking.length > 0 && semverOf(parsed.version).major === semverOf(previous.version).major) {
      throw new ApiError(
        'contract_breaking_change',
        message('contract.breaking_change', {
          version: parsed.version,
          count: breaking.length,
          latest: previous.version,
          nextMajor: `${semverOf(previous.version).major + 1}.0.0`,
        }),
        { resourceCode, latestVersion: previous.version, breakingChanges: breaking },
      );
    }
  }

  const now = new Date();
  if (resource) {
    await tx
      .update(contractResources)
      .set({
        title: catalogue.title,
        sharingType: catalogue.sharingType,
        latestVersion: parsed.version,
        updatedAt: now,
      })
      .where(eq(contractResources.resourceCode, resourceCode));
  } else {
    const inserted = await tx
      .insert(contractResources)
      .values({
        resourceCode,
        departmentCode: catalogue.departmentCode,
        title: catalogue.title,
        sharingType: catalogue.sharingType,
        latestVersion: parsed.version,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing()
      .returning({ resourceCode: contractResources.resourceCode });
    if (inserted.length === 0)
      throw new ApiError('conflict', message('contract.publication_in_progress', { resourceCode }));
  }
  const versionId = newContractVersionId();
  // The worker's JSON text: stringifying the object would hold the event loop.
  const documentJson = storedDocumentJson(parsed);
  await tx.insert(contractVersions).values({
    id: versionId,
    resourceCode,
    version: parsed.version,
    seq: previous ? previous.seq + 1 : 1,
    openapiVersion: parsed.openapiVersion,
    document: inRow(documentJson),
    sourceText: inRow(parsed.sourceText),
    sourceFormat: parsed.sourceFormat,
    sourceSha256: parsed.sourceSha256,
    catalogue: catalogue as unknown as Record<string, unknown>,
    changes: changes as unknown as Record<string, unknown>[],
    publishedByClientId: publisher.clientId,
    publishedAt: now,
  });
  await insertTextPieces(tx, versionId, [
    { part: 'source', text: parsed.sourceText },
    { part: 'document', text: documentJson },
  ]);
  await recordAudit(tx, {
    actor: publisher,
    action: 'contract.publish',
    fields: [`contract:${resourceCode}@${parsed.version}`, ...termsFields(catalogue)],
    outcome: 'allowed',
    requestId,
  });
  if (previous && termChanges.length > 0) {
    // Who may read the resource changed: on the record as its own entry, with the old terms.
    await recordAudit(tx, {
      actor: publisher,
      action: 'contract.sharing_terms_change',
      fields: [
        `contract:${resourceCode}@${parsed.version}`,
        ...termsFields(previous.catalogue as unknown as CatalogueData).map((field) => `from:${field}`),
        ...termsFields(catalogue).map((field) => `to:${field}`),
        ...termChanges.map((change) => `change:${change.code}`),
      ],
      outcome: 'allowed',
      requestId,
    });
  }
  return {
    resourceCode,
    version: parsed.version,
    previousVersion: previous?.version ?? null,
    openapiVersion: parsed.openapiVersion,
    sha256: parsed.sourceSha256,
    publishedAt: now.toISOString(),
    catalogue,
    changes,
    breakingChanges: breakingChanges(changes).length,
  };
}

async function versionExists(db: Queryable, resourceCode: string, version: string): Promise<boolean> {
  const rows = await db
    .select({ id: contractVersions.id })
    .from(contractVersions)
    .where(and(eq(contractVersions.resourceCode, resourceCode), eq(contractVersions.version, version)));
  return rows.length > 0;
}

// --- reading --------------------------------------------------------------------------------

export interface ContractSummary {
  resourceCode: string;
  title: string;
  departmentCode: string;
  sharingType: SharingType;
  latestVersion: string;
  updatedAt: string;
}

export interface ContractFilters {
  /** Words in the title or resource code. */
  q?: string;
  department?: string;
  sharingType?: SharingType;
}

const MAX_LISTED = 500;

function summaryOf(row: ContractResourceRow): ContractSummary {
  return {
    resourceCode: row.resourceCode,
    title: row.title,
    departmentCode: row.departmentCode,
    sharingType: row.sharingType,
    latestVersion: row.latestVersion,
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The catalogue: every resource's latest version, filtered, by resource code. */
export async function listContracts(db: Queryable, filters: ContractFilters = {}): Promise<ContractSummary[]> {
  const conditions: SQL[] = [];
  if (filters.department) conditions.push(eq(contractResources.departmentCode, filters.department));
  if (filters.sharingType) conditions.push(eq(contractResources.sharingType, filters.sharingType));
  if (filters.q) {
    const pattern = `%${filters.q.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
    const matches = or(ilike(contractResources.title, pattern), ilike(contractResources.resourceCode, pattern));
    if (matches) conditions.push(matches);
  }
  const rows = await db
    .select()
    .from(contractResources)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(asc(contractResources.resourceCode))
    .limit(MAX_LISTED);
  return rows.map(summaryOf);
}

export async function requireContractResource(db: Queryable, resourceCode: string): Promise<ContractResourceRow> {
  const [row] = await db.select().from(contractResources).where(eq(contractResources.resourceCode, resourceCode));
  if (!row) throw new ApiError('unknown_contract', message('contract.unknown', { resourceCode }), { resourceCode });
  return row;
}

export interface VersionSummary {
  version: string;
  openapiVersion: string;
  sha256: string;
  publishedAt: string;
  publishedBy: string;
  changes: number;
  breakingChanges: number;
}

/**
 * What a version summary needs, the changes counted by the database: the catalogue entry lists
 * every version, and their lists of changes (up to 1,000 entries each, more for versions
 * published before that cap) need not be read to be counted.
 */
const versionSummaryColumns = {
  version: contractVersions.version,
  openapiVersion: contractVersions.openapiVersion,
  sourceSha256: contractVersions.sourceSha256,
  publishedAt: contractVersions.publishedAt,
  publishedByClientId: contractVersions.publishedByClientId,
  changeCount: sql<number>`jsonb_array_length(${contractVersions.changes})`.mapWith(Number),
  breakingCount:
    sql<number>`(select count(*)::int from jsonb_array_elements(${contractVersions.changes}) as change where change->>'severity' = 'breaking')`.mapWith(
      Number,
    ),
};

type VersionSummaryRow = {
  version: string;
  openapiVersion: string;
  sourceSha256: string;
  publishedAt: Date;
  publishedByClientId: string;
  changeCount: number;
  breakingCount: number;
};

function versionSummaryOf(row: VersionSummaryRow): VersionSummary {
  return {
    version: row.version,
    openapiVersion: row.openapiVersion,
    sha256: row.sourceSha256,
    publishedAt: row.publishedAt.toISOString(),
    publishedBy: row.publishedByClientId,
    changes: row.changeCount,
    breakingChanges: row.breakingCount,
  };
}

export interface ContractEntry extends ContractSummary {
  createdAt: string;
  catalogue: CatalogueData;
  /** Newest first. */
  versions: VersionSummary[];
}

export async function getContract(db: Queryable, resourceCode: string): Promise<ContractEntry> {
  const resource = await requireContractResource(db, resourceCode);
  // Summaries only: neither the documents nor the lists of changes are read.
  const versions = await db
    .select(versionSummaryColumns)
    .from(contractVersions)
    .where(eq(contractVersions.resourceCode, resourceCode))
    .orderBy(desc(contractVersions.seq));
  const [latest] = await db
    .select({ catalogue: contractVersions.catalogue })
    .from(contractVersions)
    .where(eq(contractVersions.resourceCode, resourceCode))
    .orderBy(desc(contractVersions.seq))
    .limit(1);
  if (!latest) throw new Error(`contract ${resourceCode} has no versions`);
  return {
    ...summaryOf(resource),
    createdAt: resource.createdAt.toISOString(),
    catalogue: latest.catalogue as unknown as CatalogueData,
    versions: versions.map(versionSummaryOf),
  };
}

/** One version's `columns`, or `unknown_contract` / `unknown_contract_version`. */
async function requireContractVersion<Columns extends SelectedFields>(
  db: Queryable,
  resourceCode: string,
  version: string,
  columns: Columns,
) {
  await requireContractResource(db, resourceCode);
  const [row] = await db
    .select(columns)
    .from(contractVersions)
    .where(and(eq(contractVersions.resourceCode, resourceCode), eq(contractVersions.version, version)));
  if (!row)
    throw new ApiError('unknown_contract_version', message('contract.unknown_version', { resourceCode, version }), {
      resourceCode,
      version,
    });
  return row;
}

/** The JSON body `GET …/versions/{version}` answers (the `ContractVersion` schema). */
export interface ContractVersionView extends VersionSummary {
  resourceCode: string;
  sourceFormat: string;
  catalogue: CatalogueData;
  /** The changes against the version published before this one. */
  changeList: ContractChange[];
  document: Record<string, unknown>;
}

/**
 * The version as a `ContractVersionView` in JSON text. The document is the published text as it
 * is when it was JSON, or the stored JSON of a YAML one (the document publication checked, read
 * with its linear key check: the YAML library's own took 6–9 s of worker time for 19,000 keys);
 * it and the list of changes are put into the answer as text, never parsed here: a document at
 * the limits parsed on the event loop held it for up to 0.4 s.
 */
export async function getContractVersionJson(db: Queryable, resourceCode: string, version: string): Promise<string> {
  const row = await requireContractVersion(db, resourceCode, version, {
    ...versionSummaryColumns,
    sourceFormat: contractVersions.sourceFormat,
    // A JSON source is answered as written, with its spacing; a YAML one as its stored JSON.
    documentJson: sql<string>`case when ${contractVersions.sourceFormat} = 'json' then ${contractSourceText} else ${contractDocumentJson} end`,
    catalogue: contractVersions.catalogue,
    changesJson: sql<string>`${contractVersions.changes}::text`,
  });
  const { documentJson } = row;
  const rest: Omit<ContractVersionView, 'changeList' | 'document'> = {
    resourceCode,
    ...versionSummaryOf(row),
    sourceFormat: row.sourceFormat,
    catalogue: row.catalogue as unknown as CatalogueData,
  };
  // `rest` is a non-empty object: its text ends with the `}` the two members go before.
  return `${JSON.stringify(rest).slice(0, -1)},"changeList":${row.changesJson},"document":${documentJson}}`;
}

/** The version's document as YAML: the published text when it was YAML, else converted. */
export async function getContractVersionYaml(db: Queryable, resourceCode: string, version: string): Promise<string> {
  const row = await requireContractVersion(db, resourceCode, version, {
    sourceFormat: contractVersions.sourceFormat,
    sourceText: contractSourceText,
  });
  return row.sourceFormat === 'yaml' ? row.sourceText : sharedContractChecker.toYaml(row.sourceText);
}

export interface VersionDiff {
  resourceCode: string;
  from: string;
  to: string;
  breaking: boolean;
  changes: ContractChange[];
}

/** The diff, or `contract_invalid` with the differ's reason when a document cannot be compared. */
async function diffOrRefuse(previousJson: string, nextJson: string): Promise<ContractChange[]> {
  try {
    return await sharedContractChecker.diff(previousJson, nextJson);
  } catch (error) {
    if (error instanceof ContractDiffError)
      throw new ApiError('contract_invalid', message('contract.not_comparable'), {
        errors: [fieldProblem('(document)', error.message, `无法比较这两个版本：${error.message}`)],
      });
    throw error;
  }
}

/** The classified changes from one version to another (any two, either order); the documents go to the worker as text. */
export async function diffContractVersions(
  db: Queryable,
  resourceCode: string,
  from: string,
  to: string,
): Promise<VersionDiff> {
  const columns = { catalogue: contractVersions.catalogue, documentJson: contractDocumentJson };
  const [previous, next] = await Promise.all([
    requireContractVersion(db, resourceCode, from, columns),
    requireContractVersion(db, resourceCode, to, columns),
  ]);
  const changes = [
    ...sharingTermChanges(previous.catalogue as unknown as CatalogueData, next.catalogue as unknown as CatalogueData),
    ...(await diffOrRefuse(previous.documentJson, next.documentJson)),
  ];
  return { resourceCode, from, to, breaking: breakingChanges(changes).length > 0, changes };
}
