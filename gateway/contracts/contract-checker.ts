/**
 * Reads and diffs contract documents off the event loop, within a time limit.
 *
 * A `contracts:write` client controls the text: YAML with huge mappings, thousands of operations
 * sharing an invalid schema and similar shapes once made parsing and the validator's error
 * reporting take seconds to minutes of blocked event loop. The size, key and operation limits in
 * `document.ts` keep honest documents fast; this runs the work in a worker thread so that nothing
 * a client sends can stall other requests, and stops the worker when a check exceeds its time.
 * Checks run one at a time (publications are rare); a stopped worker is replaced on the next check.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ApiError, type DetailText, type ErrorCode, type ProblemExtras, message } from '../platform/errors.js';
import { type FieldProblem, fieldProblem } from '../platform/field-problems.js';
import type { JsonSlice } from '../platform/json-slices.js';
import type { CatalogueData, PartialCatalogueData } from './catalogue-data.js';
import { type ContractChange, ContractDiffError } from './diff.js';
import type { ParsedContractDocument } from './document.js';

export type CheckJob =
  | { kind: 'read'; input: string; catalogue?: PartialCatalogueData }
  /** A document given as an object, sent as JSON text (cloning a 2 MiB object graph holds the loop). */
  | { kind: 'read-object'; json: string; catalogue?: PartialCatalogueData }
  /** A publish request's JSON body, `{ document, catalogue }`, as it came. */
  | { kind: 'read-request'; body: string }
  | { kind: 'diff'; previousJson: string; nextJson: string }
  | { kind: 'json-to-yaml'; json: string }
  | { kind: 'checkable-slices'; json: string; rewriteOpenApi30: boolean };

export type CheckReply =
  | {
      ok: true;
      kind: 'read';
      parsed: Omit<ParsedContractDocument, 'document' | 'documentJson'>;
      documentJson: string;
      catalogue: CatalogueData;
    }
  | { ok: true; kind: 'diff'; changes: ContractChange[] }
  | { ok: true; kind: 'text'; text: string }
  | { ok: true; kind: 'slices'; slices: JsonSlice[] }
  | { ok: false; apiError: { code: ErrorCode; detail?: DetailText; extras: ProblemExtras } }
  | { ok: false; diffError: string }
  | { ok: false; failure: string };

export interface ContractCheckerOptions {
  /** Longest one check may run before its worker is stopped (ms). Honest 2 MiB documents take about a second. */
  timeLimitMs?: number;
  /** Heap the worker may use (MiB); a document that needs more is refused rather than starving the gateway. */
  maxHeapMb?: number;
  /**
   * How long the worker is kept after its last check (ms). Publications are rare and a worker
   * holds ~100 MiB (its own heap and module graph): stopped when idle, started again on demand.
   */
  idleStopMs?: number;
}

/**
 * A document read and checked in the worker, without the parsed object: the event loop stores,
 * serves and diffs its JSON text and never parses it (a 2 MiB document can hold the loop).
 */
export type CheckedContract = Omit<ParsedContractDocument, 'document'> & {
  /** The catalogue data, resolved from the document's and the request's (`resolveCatalogueData`). */
  catalogue: CatalogueData;
};

export interface ContractChecker {
  /**
   * `readContractDocument` and `resolveCatalogueData`, in the worker. Throws `contract_invalid`,
   * `contract_too_large`, `contract_too_complex` or `contract_catalogue_invalid`.
   */
  read(input: string | Record<string, unknown>, catalogue?: PartialCatalogueData): Promise<CheckedContract>;
  /**
   * `read` of a publish request's JSON body as it came (`publication-request.ts`): also
   * `malformed_json` or `validation_failed` when the body is not such a request.
   */
  readRequest(body: string): Promise<CheckedContract>;
  /** `diffContracts`, in the worker; throws `ContractDiffError` as the diff does. */
  diff(previousJson: string, nextJson: string): Promise<ContractChange[]>;
  /**
   * A published JSON document as YAML text. Converting a 2 MiB document takes the YAML library half
   * a second; readers must not hold the event loop either.
   */
  toYaml(json: string): Promise<string>;
  /**
   * A published document (JSON text) for the run-time checks of department answers, in slices the
   * event loop parses one per turn (`assembleJsonSlices`): parsing the largest allowed document at
   * once held it 50–150 ms. With `rewriteOpenApi30`, its 3.0 schemas are first rewritten as JSON
   * Schema (`rewriteOpenApi30`), here too.
   */
  checkableSlices(json: string, options: { rewriteOpenApi30: boolean }): Promise<JsonSlice[]>;
  /** Whether a worker is running now (it is stopped when idle). */
  hasWorker(): boolean;
  /** Stops the worker (tests, shutdown); a later check starts a new one. */
  close(): Promise<void>;
}

/** The problem of a value that is not plain JSON (a cycle, a BigInt), with the runtime's reason. */
function notPlainJson(error: unknown): FieldProblem {
  const reason = (error as Error).message;
  return fieldProblem('(document)', reason, `不是纯 JSON 数据：${reason}`);
}

const DEFAULT_TIME_LIMIT_MS = 15_000;
const DEFAULT_MAX_HEAP_MB = 512;
const DEFAULT_IDLE_STOP_MS = 5_000;

/**
 * A worker running the compiled `document-worker.js` in production. From source (`npm start`, the
 * tests) it first registers tsx's loader in the worker and then imports the `.ts` file: Node 20
 * does not apply `--import` hooks to a worker's own entry file.
 */
function startWorker(maxHeapMb: number): Worker {
  const resourceLimits = { maxOldGenerationSizeMb: maxHeapMb };
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./document-worker.js', import.meta.url), { resourceLimits });
  // The ESM build of tsx's API: its CommonJS build cannot register hooks from inside a worker.
  const tsxApi = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const entry = new URL('./document-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, resourceLimits });
}

export function createContractChecker(options: ContractCheckerOptions = {}): ContractChecker {
  const timeLimitMs = options.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS;
  const maxHeapMb = options.maxHeapMb ?? DEFAULT_MAX_HEAP_MB;
  const idleStopMs = options.idleStopMs ?? DEFAULT_IDLE_STOP_MS;
  let worker: Worker | undefined;
  let nextId = 1;
  let queue: Promise<unknown> = Promise.resolve();
  let inFlight = 0;
  let idleTimer: NodeJS.Timeout | undefined;

  const stop = async (): Promise<void> => {
    const current = worker;
    worker = undefined;
    if (current) await current.terminate();
  };

  const start = (): Worker => {
    const started = startWorker(maxHeapMb);
    // An idle checker must not keep the process alive.
    started.unref();
    return started;
  };

  const runOnce = (job: CheckJob): Promise<CheckReply> =>
    new Promise<CheckReply>((resolve, reject) => {
      worker ??= start();
      const current = worker;
      const id = nextId;
      nextId += 1;
      const cleanup = () => {
        clearTimeout(timer);
        current.off('message', onMessage);
        current.off('error', onError);
        current.off('exit', onExit);
      };
      const onMessage = (message: { id: number; reply: CheckReply }) => {
        if (message.id !== id) return;
        cleanup();
        resolve(message.reply);
      };
      const onError = (error: Error) => {
        cleanup();
        if (worker === current) worker = undefined;
        const outOfMemory = (error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
        if (outOfMemory) reject(new ApiError('contract_too_complex', message('contract.check_memory', { maxHeapMb })));
        else reject(new Error(`contract checker: the worker failed: ${error.message}`, { cause: error }));
      };
      const onExit = (code: number) => {
        cleanup();
        if (worker === current) worker = undefined;
        reject(new Error(`contract checker: the worker exited (code ${code}) during a check`));
      };
      const timer = setTimeout(() => {
        cleanup();
        void stop();
        reject(new ApiError('contract_too_complex', message('contract.check_time', { timeLimitMs })));
      }, timeLimitMs);
      current.on('message', onMessage);
      current.on('error', onError);
      current.on('exit', onExit);
      try {
        current.postMessage({ id, job });
      } catch (error) {
        // Jobs carry text and plain values only; a failure to clone them is a bug, reported as such.
        cleanup();
        reject(
          new ApiError('contract_invalid', message('contract.not_plain_json'), {
            errors: [notPlainJson(error)],
          }),
        );
      }
    });

  const enqueue = (job: CheckJob): Promise<CheckReply> => {
    clearTimeout(idleTimer);
    inFlight += 1;
    const result = queue.then(() => runOnce(job));
    // The next check waits for this one to settle, whatever its outcome.
    queue = result.catch(() => undefined);
    void queue.then(() => {
      inFlight -= 1;
      if (inFlight > 0) return;
      idleTimer = setTimeout(() => void stop(), idleStopMs);
      idleTimer.unref();
    });
    return result;
  };

  const unwrap = (reply: CheckReply): CheckReply & { ok: true } => {
    if (reply.ok) return reply;
    if ('apiError' in reply) throw new ApiError(reply.apiError.code, reply.apiError.detail, reply.apiError.extras);
    if ('diffError' in reply) throw new ContractDiffError(reply.diffError);
    throw new Error(`contract checker: ${reply.failure}`);
  };

  const checked = (reply: CheckReply & { ok: true }): CheckedContract => {
    if (reply.kind !== 'read') throw new Error('contract checker: a read answered as something else');
    return { ...reply.parsed, documentJson: reply.documentJson, catalogue: reply.catalogue };
  };

  return {
    async read(input, catalogue) {
      let job: CheckJob;
      if (typeof input === 'string') job = { kind: 'read', input, catalogue };
      else {
        let json: string;
        try {
          json = JSON.stringify(input);
        } catch (error) {
          // A cycle or a BigInt: not a JSON document (HTTP bodies never are; a caller's object may be).
          throw new ApiError('contract_invalid', message('contract.not_plain_json'), {
            errors: [notPlainJson(error)],
          });
        }
        job = { kind: 'read-object', json, catalogue };
      }
      return checked(unwrap(await enqueue(job)));
    },
    async readRequest(body) {
      return checked(unwrap(await enqueue({ kind: 'read-request', body })));
    },
    async diff(previousJson, nextJson) {
      const reply = unwrap(await enqueue({ kind: 'diff', previousJson, nextJson }));
      if (reply.kind !== 'diff') throw new Error('contract checker: a diff answered as a read');
      return reply.changes;
    },
    async toYaml(json) {
      const reply = unwrap(await enqueue({ kind: 'json-to-yaml', json }));
      if (reply.kind !== 'text') throw new Error('contract checker: a conversion answered as something else');
      return reply.text;
    },
    async checkableSlices(json, options) {
      const reply = unwrap(await enqueue({ kind: 'checkable-slices', json, ...options }));
      if (reply.kind !== 'slices') throw new Error('contract checker: slicing answered as something else');
      return reply.slices;
    },
    hasWorker: () => worker !== undefined,
    close: async () => {
      clearTimeout(idleTimer);
      await stop();
    },
  };
}

/** The checker publications share. */
export const sharedContractChecker: ContractChecker = createContractChecker();
