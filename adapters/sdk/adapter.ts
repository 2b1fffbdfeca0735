/**
 * How an adapter is built: a factory over typed, documented options, handed the environment the
 * gateway prepares for its department (the resilient client, the department's contracts, a
 * logger). The interfaces live here; `client.ts` and `contract-validation.ts` implement them.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { CallContext, DepartmentAdapter } from './types.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What one attempt sends, when the adapter builds each attempt itself (`DepartmentRequest.build`). */
export interface AttemptRequest {
  method: HttpMethod;
  /** Path and query, relative to the department's base URL (starts with `/`). */
  path: string;
  /** Merged over the call's `headers` (and under `prepare`'s). */
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** Which attempt is being built: 1 for the first, 2 for the first retry, … */
export interface AttemptInfo {
  attempt: number;
}

export interface DepartmentRequest {
  /** Names the call for metrics, logs and faults, e.g. the contract's operationId. */
  operation: string;
  method: HttpMethod;
  /** Path and query, relative to the department's base URL (starts with `/`). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /**
   * Only idempotent calls are retried (reads, and writes the department deduplicates by an
   * idempotency key). A non-idempotent call is made once, whatever happens.
   */
  idempotent: boolean;
  context: CallContext;
  /**
   * Headers computed afresh for every attempt (retries included), after `headers`: signatures over
   * a timestamp and nonce must not be replayed by a retry.
   */
  prepare?: (request: {
    method: HttpMethod;
    path: string;
    body: Uint8Array;
  }) => Record<string, string> | Promise<Record<string, string>>;
  /**
   * Builds the whole request afresh for every attempt (retries included): method, path, headers
   * and body. For protocols that sign a timestamp and nonce inside the body (form-encoded
   * single-URL gateways): a retry must not resend the first attempt's signature. When given, its
   * result replaces `method`, `path` and `body` (which then only name the call in logs) and its
   * headers are merged over `headers`; `prepare`, if also given, runs on the built request.
   */
  build?: (attempt: AttemptInfo) => AttemptRequest | Promise<AttemptRequest>;
  /**
   * Statuses handed back to the adapter instead of being turned into an error. Default: 2xx.
   * Other 4xx become `rejected`, 5xx `unavailable` (retried when idempotent).
   */
  acceptStatus?: (status: number) => boolean;
}

export interface DepartmentResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

/** One per department: pool, timeouts, size cap, retries, breaker, concurrency cap. */
export interface DepartmentClient {
  readonly department: string;
  readonly baseUrl: string;
  request(request: DepartmentRequest): Promise<DepartmentResponse>;
  breakerState(): BreakerState;
  close(): Promise<void>;
}

/** The department's published contracts, compiled for checking what the department answers. */
export interface ContractSet {
  /**
   * Throws `DepartmentError('contract_violation')` unless `body` is what the contract of
   * `resourceCode` promises for `operationId` answering `status` (the response schema of that
   * status, or `default`). Returns the contract version checked against.
   */
  checkResponse(resourceCode: string, operationId: string, status: number, body: unknown): string;
}

export interface AdapterEnvironment {
  department: string;
  client: DepartmentClient;
  contracts: ContractSet;
  logger: Logger;
  /** The clock (tests move it). */
  now: () => Date;
}

export interface AdapterFactory<Options = unknown> {
  /** Adapter kind, e.g. `psb-population`; departments name it in their configuration. */
  kind: string;
  description: string;
  /** Adapter-specific options (credentials, paths), each documented with `.describe()`. */
  optionsSchema: z.ZodType<Options>;
  create(options: Options, environment: AdapterEnvironment): DepartmentAdapter;
}

/** Keeps the options type when listing factories of different option types together. */
export function defineAdapter<Options>(factory: AdapterFactory<Options>): AdapterFactory<Options> {
  return factory;
}

/**
 * A factory whose options are checked at `create` time, so factories of different option types
 * can sit in one list (the gateway's adapter registry) without casts.
 */
export type RegisteredAdapterFactory = AdapterFactory<unknown>;

export function registerAdapter<Options>(factory: AdapterFactory<Options>): RegisteredAdapterFactory {
  return {
    kind: factory.kind,
    description: factory.description,
    optionsSchema: factory.optionsSchema,
    create: (options, environment) => factory.create(factory.optionsSchema.parse(options), environment),
  };
}
