/**
 * The worker thread that reads, validates and diffs contract documents for `contract-checker.ts`.
 * Parsing publish requests and YAML, validating against the OpenAPI schema and diffing are CPU work
 * on text a client sent; here they cannot hold up the gateway's event loop, and the checker can
 * stop them.
 */
import { parentPort } from 'node:worker_threads';
import { stringify as toYaml } from 'yaml';
import { rewriteOpenApi30 } from '../../adapters/sdk/openapi-30-schemas.js';
import { ApiError } from '../platform/errors.js';
import { sliceJson } from '../platform/json-slices.js';
import { type PartialCatalogueData, resolveCatalogueData } from './catalogue-data.js';
import { ContractDiffError, diffContracts } from './diff.js';
import { readContractDocument } from './document.js';
import type { CheckJob, CheckReply } from './contract-checker.js';
import { readPublicationRequest } from './publication-request.js';

/**
 * The document checked and its catalogue data resolved here: the event loop gets the document as
 * JSON text (which crosses the thread boundary far more cheaply than a cloned object graph) and
 * never needs to parse it.
 */
async function read(input: string | Record<string, unknown>, catalogue?: PartialCatalogueData): Promise<CheckReply> {
  const { document, documentJson, ...parsed } = await readContractDocument(input);
  return { ok: true, kind: 'read', parsed, documentJson, catalogue: resolveCatalogueData(document, catalogue) };
}

async function run(job: CheckJob): Promise<CheckReply> {
  try {
    if (job.kind === 'read') return await read(job.input, job.catalogue);
    if (job.kind === 'read-object') return await read(JSON.parse(job.json) as Record<string, unknown>, job.catalogue);
    if (job.kind === 'read-request') {
      const request = readPublicationRequest(job.body);
      return await read(request.document, request.catalogue);
    }
    if (job.kind === 'checkable-slices') {
      const document = JSON.parse(job.json) as unknown;
      return {
        ok: true,
        kind: 'slices',
        slices: sliceJson(job.rewriteOpenApi30 ? rewriteOpenApi30(document) : document),
      };
    }
    if (job.kind === 'json-to-yaml') {
      return {
        ok: true,
        kind: 'text',
        text: toYaml(JSON.parse(job.json) as unknown, { aliasDuplicateObjects: false }),
      };
    }
    const changes = diffContracts(JSON.parse(job.previousJson) as unknown, JSON.parse(job.nextJson) as unknown);
    return { ok: true, kind: 'diff', changes };
  } catch (error) {
    if (error instanceof ApiError)
      return { ok: false, apiError: { code: error.code, detail: error.detail, extras: error.extras } };
    if (error instanceof ContractDiffError) return { ok: false, diffError: error.message };
    return { ok: false, failure: error instanceof Error ? error.message : String(error) };
  }
}

parentPort?.on('message', (message: { id: number; job: CheckJob }) => {
  void run(message.job).then((reply) => parentPort?.postMessage({ id: message.id, reply }));
});
