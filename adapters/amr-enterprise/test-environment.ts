/**
 * Test wiring for the AMR adapter: the SDK's client and contract set when they exist, otherwise
 * small stand-ins with the same contract (status acceptance, size cap, retries of idempotent calls,
 * JSON-Schema check of the parsed body against the YAML contract). Test-only; the gateway builds
 * the environment itself.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import pino from 'pino';
import YAML from 'yaml';
import type { AdapterEnvironment, ContractSet, DepartmentClient, DepartmentRequest, DepartmentResponse } from '../sdk/adapter.js';
import type { ClientTuning } from '../sdk/client.js';
import { DepartmentError } from '../sdk/errors.js';

export const AMR_CONTRACT_PATH = new URL('../../contracts/amr/amr.enterprise.openapi.yaml', import.meta.url);

function loadContractDocument(): Record<string, unknown> {
  return YAML.parse(readFileSync(AMR_CONTRACT_PATH, 'utf8')) as Record<string, unknown>;
}

/** Stand-in contract check: the response schema of (operation, status) over the parsed body. */
function standInContracts(): ContractSet {
  const document = loadContractDocument();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ ...document, $id: 'amr-contract' });
  const paths = document['paths'] as Record<string, { post: { operationId: string; responses: Record<string, { $ref?: string }> } }>;
  const version = String((document['info'] as { version: string }).version);
  return {
    checkResponse(resourceCode, operationId, status, body) {
      const entry = Object.entries(paths).find(([, item]) => item.post.operationId === operationId);
      if (resourceCode !== 'amr.enterprise' || !entry) throw new Error(`no contract for ${resourceCode} ${operationId}`);
      const [path, item] = entry;
      const response = item.post.responses[String(status)];
      if (response === undefined) {
        throw new DepartmentError('contract_violation', 'status not in contract', { department: 'AMR', operation: operationId, status });
      }
      const pointer =
        response.$ref !== undefined
          ? `amr-contract${response.$ref}/content/text~1xml/schema`
          : `amr-contract#/paths/${path.replace(/~/g, '~0').replace(/\//g, '~1')}/post/responses/${status}/content/text~1xml/schema`;
      const validate = ajv.getSchema(pointer);
      if (!validate) throw new Error(`no schema at ${pointer}`);
      if (!validate(body)) {
        throw new DepartmentError('contract_violation', 'answer violates the contract', {
          department: 'AMR',
          operation: operationId,
          status,
          violations: (validate.errors ?? []).map((error) => ({ path: error.instancePath, keyword: error.keyword })),
        });
      }
      return version;
    },
  };
}

/** Stand-in client: fetch with a timeout, a size cap, acceptStatus and retries for idempotent calls. */
function standInClient(baseUrl: string, tuning: ClientTuning): DepartmentClient {
  const maxBytes = tuning.maxResponseBytes ?? 8 * 1024 * 1024;
  const timeoutMs = tuning.headersTimeoutMs ?? 5000;
  async function once(request: DepartmentRequest): Promise<DepartmentResponse> {
    const details = { department: 'AMR', operation: request.operation };
    let response: Response;
    try {
      response = await fetch(`${baseUrl}${request.path}`, {
        method: request.method,
        headers: request.headers ?? {},
        body: request.body ?? null,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
      throw new DepartmentError(timedOut ? 'timeout' : 'connection', 'no answer', { ...details, cause });
    }
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > maxBytes) throw new DepartmentError('oversized', 'too large', details);
    let body: Buffer;
    try {
      body = Buffer.from(await response.arrayBuffer());
    } catch (cause) {
      throw new DepartmentError('connection', 'body lost', { ...details, cause });
    }
    if (body.byteLength > maxBytes) throw new DepartmentError('oversized', 'too large', details);
    const accept = request.acceptStatus ?? ((status: number) => status >= 200 && status < 300);
    if (!accept(response.status)) {
      throw new DepartmentError(response.status >= 500 ? 'unavailable' : 'rejected', `HTTP ${response.status}`, { ...details, status: response.status });
    }
    return { status: response.status, headers: Object.fromEntries(response.headers), body };
  }
  return {
    department: 'AMR',
    baseUrl,
    async request(request) {
      const attempts = request.idempotent ? 1 + (tuning.retries ?? 2) : 1;
      for (let attempt = 1; ; attempt++) {
        try {
          return await once(request);
        } catch (error) {
          const retryable = error instanceof DepartmentError && ['unavailable', 'timeout', 'connection'].includes(error.kind);
          if (!retryable || attempt >= attempts) throw error;
        }
      }
    },
    breakerState: () => 'closed',
    close: async () => {},
  };
}

type ClientModule = { createDepartmentClient?: unknown };
type ContractModule = { createContractSet?: unknown };

/** The adapter environment for a simulator at `baseUrl`. */
export async function amrTestEnvironment(baseUrl: string, tuning: ClientTuning = {}): Promise<AdapterEnvironment> {
  const clientModule = (await import('../sdk/client.js')) as ClientModule;
  const client =
    typeof clientModule.createDepartmentClient === 'function'
      ? (clientModule.createDepartmentClient as typeof import('../sdk/client.js').createDepartmentClient)({
          ...tuning,
          department: 'AMR',
          baseUrl,
          urlPolicy: { allowedHosts: [], allowPrivateNetworks: true },
        })
      : standInClient(baseUrl, tuning);
  let contracts: ContractSet | undefined;
  try {
    const contractModule = (await import(/* @vite-ignore */ '../sdk/contract-validation' + '.js')) as ContractModule;
    if (typeof contractModule.createContractSet === 'function') {
      contracts = (contractModule.createContractSet as (documents: unknown) => ContractSet)([{ resourceCode: 'amr.enterprise', document: loadContractDocument() }]);
    }
  } catch {
    contracts = undefined;
  }
  return {
    department: 'AMR',
    client,
    contracts: contracts ?? standInContracts(),
    logger: pino({ level: 'silent' }),
    now: () => new Date(),
  };
}
