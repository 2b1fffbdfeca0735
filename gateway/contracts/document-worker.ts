/**
 * The worker thread that reads, validates and diffs contract documents for `contract-checker.ts`.
 * Parsing YAML, validating against the OpenAPI schema and diffing are CPU work on text a client
 * sent; here they cannot hold up the gateway's event loop, and the checker can stop them.
 */
import { parentPort } from 'node:worker_threads';
import { ApiError } from '../platform/errors.js';
import { ContractDiffError, diffContracts } from './diff.js';
import { readContractDocument } from './document.js';
import type { CheckJob, CheckReply } from './contract-checker.js';

async function run(job: CheckJob): Promise<CheckReply> {
  try {
    if (job.kind === 'read') {
      const { document, ...parsed } = await readContractDocument(job.input);
      // Text crosses the thread boundary far more cheaply than a cloned object graph.
      return { ok: true, kind: 'read', parsed, documentJson: JSON.stringify(document) };
    }
    const changes = diffContracts(JSON.parse(job.previousJson) as unknown, JSON.parse(job.nextJson) as unknown);
    return { ok: true, kind: 'diff', changes };
  } catch (error) {
    if (error instanceof ApiError) return { ok: false, apiError: { code: error.code, detail: error.detail, extras: error.extras } };
    if (error instanceof ContractDiffError) return { ok: false, diffError: error.message };
    return { ok: false, failure: error instanceof Error ? error.message : String(error) };
  }
}

parentPort?.on('message', (message: { id: number; job: CheckJob }) => {
  void run(message.job).then((reply) => parentPort?.postMessage({ id: message.id, reply }));
});
