/**
 * Witnesses of the audit chain outside the database. Every signed checkpoint head is appended to
 * an append-only file (JSON lines), and the latest head is POSTed to an HTTP witness when one is
 * configured (another department's gateway, a receiver run by the supervision authority). A
 * database administrator who rewrites or cuts history cannot reach either: verification compares
 * the database with the witness and reports a witnessed head the database lost or changed.
 *
 * Publishing never blocks a request or a seal: a failed append is kept in memory and retried at
 * the next seal; a failed POST is retried later with exponential backoff and full jitter, always
 * with the newest head (a later head vouches for everything before it).
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { request } from 'undici';
import { z } from 'zod';

/** A checkpoint as signed: what the witness keeps and what a verifier can check on its own. */
export interface SignedCheckpoint {
  seq: number;
  headHash: string;
  createdAt: string;
  kid: string;
  /** Compact JWS over { seq, headHash, createdAt } by the checkpoint key. */
  signature: string;
}

const hash = z.string().regex(/^[0-9a-f]{64}$/);
const position = z.number().int().min(1);

const checkpointRecord = z.object({
  type: z.literal('checkpoint'),
  seq: position,
  headHash: hash,
  createdAt: z.string(),
  kid: z.string(),
  signature: z.string(),
});

const receiptRecord = z.object({
  type: z.literal('receipt'),
  seq: position,
  headHash: hash,
  /** The HTTP witness that took the head, and what it answered. */
  witness: z.string(),
  status: z.number().int(),
  answer: z.unknown(),
  receivedAt: z.string(),
});

export const witnessRecordSchema = z.discriminatedUnion('type', [checkpointRecord, receiptRecord]);
export type WitnessRecord = z.infer<typeof witnessRecordSchema>;

/** The body an HTTP witness receives: the signed checkpoint, so it can check the signature itself. */
export const witnessSubmissionSchema = z.object({
  seq: position,
  headHash: hash,
  createdAt: z.string(),
  kid: z.string(),
  signature: z.string(),
});

/** A witness file that cannot be read or holds something other than witness records. */
export class WitnessFileError extends Error {
  override name = 'WitnessFileError';
}

/** One head a witness holds: position, hash, and where it was read. */
export interface WitnessedHead {
  seq: number;
  headHash: string;
  /** The signature the witness kept (checkpoint records); null for receipts. */
  signature: string | null;
  source: string;
}

/**
 * Every head in the witness files, in file order. A missing file is an error when `required`
 * (a file the verifier was handed), and an empty witness otherwise (the gateway's own file
 * before its first checkpoint).
 */
export async function readWitnessHeads(files: string[], required: boolean): Promise<WitnessedHead[]> {
  const heads: WitnessedHead[] = [];
  for (const file of files) {
    let stream;
    try {
      stream = (await open(file, 'r')).createReadStream({ encoding: 'utf8' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !required) continue;
      throw new WitnessFileError(
        `witness file ${file} cannot be read (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    let lineNumber = 0;
    try {
      for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
        lineNumber += 1;
        if (line.trim() !== '') heads.push(parseWitnessLine(line, file, lineNumber));
      }
    } catch (error) {
      if (error instanceof WitnessFileError) throw error;
      throw new WitnessFileError(
        `witness file ${file} cannot be read (${error instanceof Error ? error.message : String(error)})`,
      );
    } finally {
      stream.destroy();
    }
  }
  return heads;
}

function parseWitnessLine(line: string, file: string, lineNumber: number): WitnessedHead {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    parsed = undefined;
  }
  const record = witnessRecordSchema.safeParse(parsed);
  if (!record.success) throw new WitnessFileError(`witness file ${file}, line ${lineNumber}: not a witness record`);
  return {
    seq: record.data.seq,
    headHash: record.data.headHash,
    signature: record.data.type === 'checkpoint' ? record.data.signature : null,
    source: `${file}:${lineNumber}`,
  };
}

/** Appends records to a witness file (created if missing) and flushes them to disk. */
export async function appendWitnessRecords(file: string, records: WitnessRecord[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  // O_APPEND: each write lands at the end, also with several instances sharing the file.
  const handle = await open(file, 'a', 0o644);
  try {
    await handle.appendFile(records.map((record) => `${JSON.stringify(record)}\n`).join(''), 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface HttpWitnessSettings {
  url: string;
  bearerToken: string | undefined;
  timeoutMs: number;
}

export interface WitnessOptions {
  file: string;
  http?: HttpWitnessSettings | undefined;
  logger: Logger;
  /** Milliseconds now, for scheduling retries (tests pass their own). */
  now?: () => number;
  /** [0, 1) for the jitter (tests pass their own). */
  random?: () => number;
}

/** Backoff of the HTTP witness after failed attempts: full jitter up to base·2^(n−1), at most the cap. */
const HTTP_BACKOFF_BASE_MS = 1000;
const HTTP_BACKOFF_MAX_MS = 5 * 60_000;
/** Heads kept in memory while the witness file cannot be written, at most. */
const MAX_UNWRITTEN = 10_000;
/** How much of an HTTP witness's answer is kept in its receipt. */
const MAX_ANSWER_BYTES = 8 * 1024;

export interface HttpWitnessState {
  /** The newest head the HTTP witness accepted (0: none yet). */
  acceptedSeq: number;
  /** Consecutive failed attempts since the last acceptance. */
  failures: number;
  /** When the next attempt may be made (ms, `now()` clock). */
  nextAttemptAt: number;
}

/** Publishes signed checkpoint heads to the witness file and the HTTP witness. */
export class CheckpointWitness {
  private unwritten: WitnessRecord[] = [];
  /** Appends run one after another, so no record is written twice. */
  private appending: Promise<void> = Promise.resolve();
  private latest: SignedCheckpoint | undefined;
  private posting: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  readonly http: HttpWitnessState = { acceptedSeq: 0, failures: 0, nextAttemptAt: 0 };

  constructor(private readonly options: WitnessOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  get file(): string {
    return this.options.file;
  }

  /**
   * Appends a checkpoint the sealer has committed. Never throws: when the file cannot be
   * written the record waits in memory for the next call.
   */
  async record(checkpoint: SignedCheckpoint): Promise<void> {
    this.unwritten.push({ type: 'checkpoint', ...checkpoint });
    if (!this.latest || checkpoint.seq > this.latest.seq) this.latest = checkpoint;
    await this.flushFile();
  }

  /** Records waiting for the witness file (it could not be written). */
  get unwrittenCount(): number {
    return this.unwritten.length;
  }

  private flushFile(): Promise<void> {
    this.appending = this.appending.then(() => this.appendUnwritten());
    return this.appending;
  }

  private async appendUnwritten(): Promise<void> {
    if (this.unwritten.length === 0) return;
    const records = this.unwritten;
    this.unwritten = [];
    try {
      await appendWitnessRecords(this.options.file, records);
    } catch (error) {
      // Back in front of anything recorded meanwhile, in order; the oldest go first when too many.
      this.unwritten = [...records, ...this.unwritten].slice(-MAX_UNWRITTEN);
      this.options.logger.error(
        {
          err: { message: error instanceof Error ? error.message : String(error) },
          witnessFile: this.options.file,
          unwritten: this.unwritten.length,
        },
        'audit witness file cannot be written; its records wait in memory and are retried at the next seal',
      );
    }
  }

  /**
   * Sends the newest head to the HTTP witness if it has not taken it and a retry is due. One
   * attempt at a time; never throws. The answer is kept in the witness file as a receipt.
   */
  publishToHttpWitness(): Promise<void> {
    const http = this.options.http;
    const head = this.latest;
    if (!http || !head || head.seq <= this.http.acceptedSeq || this.posting || this.now() < this.http.nextAttemptAt)
      return this.posting ?? Promise.resolve();
    this.posting = this.post(http, head).finally(() => {
      this.posting = undefined;
    });
    return this.posting;
  }

  private async post(http: HttpWitnessSettings, head: SignedCheckpoint): Promise<void> {
    let status = 0;
    let answer: unknown = null;
    try {
      const response = await request(http.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(http.bearerToken ? { authorization: `Bearer ${http.bearerToken}` } : {}),
        },
        body: JSON.stringify(witnessSubmissionSchema.parse(head)),
        headersTimeout: http.timeoutMs,
        bodyTimeout: http.timeoutMs,
        signal: AbortSignal.timeout(http.timeoutMs),
      });
      status = response.statusCode;
      answer = await readAnswer(response.body, response.headers['content-type']);
    } catch (error) {
      this.failed(http, head, `${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (status < 200 || status > 299) {
      this.failed(http, head, `HTTP ${status}`, answer);
      return;
    }
    this.http.acceptedSeq = head.seq;
    this.http.failures = 0;
    this.http.nextAttemptAt = 0;
    this.unwritten.push({
      type: 'receipt',
      seq: head.seq,
      headHash: head.headHash,
      witness: http.url,
      status,
      answer,
      receivedAt: new Date(this.now()).toISOString(),
    });
    await this.flushFile();
  }

  private failed(http: HttpWitnessSettings, head: SignedCheckpoint, reason: string, answer?: unknown): void {
    this.http.failures += 1;
    const ceiling = Math.min(HTTP_BACKOFF_MAX_MS, HTTP_BACKOFF_BASE_MS * 2 ** Math.min(this.http.failures - 1, 30));
    const delay = Math.floor(this.random() * ceiling);
    this.http.nextAttemptAt = this.now() + delay;
    this.options.logger.warn(
      {
        witness: http.url,
        auditHeadSeq: head.seq,
        reason,
        ...(answer === undefined ? {} : { answer }),
        failures: this.http.failures,
        retryInMs: delay,
      },
      'audit HTTP witness did not take the checkpoint head; will retry with the newest head',
    );
  }

  /** Waits for an HTTP attempt in flight (bounded by its timeout). */
  async close(): Promise<void> {
    await this.posting;
    await this.flushFile();
  }
}

async function readAnswer(
  body: AsyncIterable<Buffer | Uint8Array> & { destroy?: () => void },
  contentType: string | string[] | undefined,
): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.from(chunk);
    chunks.push(buffer);
    size += buffer.length;
    if (size > MAX_ANSWER_BYTES) {
      body.destroy?.();
      break;
    }
  }
  const text = Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER_BYTES);
  if (String(contentType ?? '').includes('json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}
