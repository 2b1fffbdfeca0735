/**
 * What the adapters check department answers against: the latest published version of every
 * contract in the catalogue, compiled once and swapped when a newer version is published. The
 * instance that publishes swaps at once (`refresh`); every instance also re-reads the catalogue's
 * version pointers periodically, so a publication through another instance is seen within the
 * interval without a restart.
 */
import { and, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { MutableContractSet } from '../../adapters/sdk/contract-validation.js';
import type { Database } from '../db/client.js';
import { contractDocumentJson, contractResources, contractVersions } from '../db/schema.js';
import { errorForLog } from '../platform/errors.js';
import { type JsonSlice, assembleJsonSlices } from '../platform/json-slices.js';

/** A document this size is parsed (and its 3.0 schemas rewritten) on the event loop in a few milliseconds. */
const LOAD_HERE_MAX_CHARS = 64 * 1024;

export class PublishedContracts {
  /** resource code → version currently compiled into the set. */
  private readonly loaded = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    readonly set: MutableContractSet,
    private readonly logger: Logger,
    /**
     * Cuts a large document into slices off the event loop (the contract worker), its OpenAPI 3.0
     * schemas rewritten as JSON Schema first when asked; smaller ones are parsed and rewritten
     * here. Without it, all are.
     */
    private readonly checkableSlices?: (json: string, options: { rewriteOpenApi30: boolean }) => Promise<JsonSlice[]>,
  ) {}

  /** Compiles every resource whose latest version is not the one loaded. */
  sync(): Promise<void> {
    this.syncing ??= this.syncOnce().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const latest = await this.db
      .select({
        resourceCode: contractResources.resourceCode,
        version: contractResources.latestVersion,
        departmentCode: contractResources.departmentCode,
      })
      .from(contractResources);
    for (const resource of latest) {
      if (this.loaded.get(resource.resourceCode) === resource.version) continue;
      await this.load(resource.resourceCode, resource.version, resource.departmentCode);
    }
  }

  /** Loads the latest version of one resource now (after this instance published it). */
  async refresh(resourceCode: string): Promise<void> {
    const [resource] = await this.db
      .select()
      .from(contractResources)
      .where(eq(contractResources.resourceCode, resourceCode));
    if (resource && this.loaded.get(resourceCode) !== resource.latestVersion)
      await this.load(resourceCode, resource.latestVersion, resource.departmentCode);
  }

  private async load(resourceCode: string, version: string, departmentCode: string): Promise<void> {
    const [row] = await this.db
      .select({
        documentJson: contractDocumentJson,
        openapiVersion: contractVersions.openapiVersion,
      })
      .from(contractVersions)
      .where(and(eq(contractVersions.resourceCode, resourceCode), eq(contractVersions.version, version)));
    if (!row) return;
    try {
      const { document, schemasRewritten } = await this.checkableDocument(row.documentJson, row.openapiVersion);
      this.set.setContract(resourceCode, document, version, departmentCode, { schemasRewritten });
      this.loaded.set(resourceCode, version);
    } catch (error) {
      // A published document always passed validation; failing to compile it here is a gateway
      // bug worth a loud log, but must not take the other contracts down with it.
      this.logger.error(
        { err: errorForLog(error), resourceCode, version },
        'cannot compile published contract for run-time checks',
      );
    }
  }

  /**
   * The document as an object: compiling the checks needs one. A large one is built here from the
   * worker's slices, one per turn of the event loop, its 3.0 schemas already rewritten there.
   */
  private async checkableDocument(
    json: string,
    openapiVersion: string,
  ): Promise<{ document: object; schemasRewritten: boolean }> {
    if (!this.checkableSlices || json.length <= LOAD_HERE_MAX_CHARS)
      return { document: JSON.parse(json) as object, schemasRewritten: false };
    const rewriteOpenApi30 = openapiVersion.startsWith('3.0');
    const slices = await this.checkableSlices(json, { rewriteOpenApi30 });
    return { document: (await assembleJsonSlices(slices)) as object, schemasRewritten: rewriteOpenApi30 };
  }

  /** Re-reads the catalogue every `intervalMs` until `stop`. */
  startPolling(intervalMs: number): void {
    this.timer ??= setInterval(() => {
      this.sync().catch((error: unknown) =>
        this.logger.warn({ err: errorForLog(error) }, 'refreshing published contracts failed'),
      );
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
