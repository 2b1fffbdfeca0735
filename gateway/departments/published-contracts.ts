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
import { contractResources, contractVersions } from '../db/schema.js';
import { errorForLog } from '../platform/errors.js';

/** A 3.0 document this size is rewritten on the event loop in a few milliseconds. */
const REWRITE_HERE_MAX_CHARS = 64 * 1024;

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
     * Rewrites a large OpenAPI 3.0 document's schemas as JSON Schema off the event loop (the
     * contract worker); smaller ones are rewritten here. Without it, all are rewritten here.
     */
    private readonly rewriteOpenApi30?: (json: string) => Promise<string>,
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
        documentJson: contractVersions.document,
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
   * The document, its 3.0 schemas rewritten in the worker when it is large. Compiling needs the
   * object, so it is parsed here, once: publication bounds its values (`MAX_DOCUMENT_NODES`) so
   * that this stays short.
   */
  private async checkableDocument(
    json: string,
    openapiVersion: string,
  ): Promise<{ document: object; schemasRewritten: boolean }> {
    const is30 = openapiVersion.startsWith('3.0');
    if (!is30 || !this.rewriteOpenApi30 || json.length <= REWRITE_HERE_MAX_CHARS)
      return { document: JSON.parse(json) as object, schemasRewritten: false };
    return { document: JSON.parse(await this.rewriteOpenApi30(json)) as object, schemasRewritten: true };
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
