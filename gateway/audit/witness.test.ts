/**
 * Publishing signed checkpoint heads outside the database: the append-only witness file (also
 * when it cannot be written for a while) and the HTTP witness, against the real receiver
 * (`npm run audit:witness`) on loopback: receipts, retries with backoff on an injected clock,
 * timeouts, and what the receiver refuses. No database involved.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../test/harness.js';
import { freePort } from '../../test/support/processes.js';
import { createLogger } from '../platform/logger.js';
import { type CheckpointSigner, TrustedKeys, loadCheckpointSigner, trustedKeyOfSigner } from './checkpoint-keys.js';
import { signCheckpoint } from './sealer.js';
import { CheckpointWitness, type SignedCheckpoint, readWitnessHeads } from './witness.js';
import { type RunningWitnessReceiver, startWitnessReceiver } from './witness-receiver.js';

const folders: string[] = [];
function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'ow-witness-test-'));
  folders.push(folder);
  return folder;
}

let signer: CheckpointSigner;
let stranger: CheckpointSigner;

beforeAll(async () => {
  signer = await loadCheckpointSigner({ keyFile: join(tempFolder(), 'checkpoint.pem'), alg: 'ES256', create: true });
  stranger = await loadCheckpointSigner({ keyFile: join(tempFolder(), 'stranger.pem'), alg: 'ES256', create: true });
});

afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** A signed head at `seq` (its hash derived from `seq` and `variant`, as a rewritten chain's would differ). */
async function head(seq: number, by: CheckpointSigner = signer, variant = ''): Promise<SignedCheckpoint> {
  const payload = {
    seq,
    headHash: createHash('sha256').update(`head ${seq}${variant}`).digest('hex'),
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
  };
  const { signature, kid } = await signCheckpoint(by, payload);
  return { ...payload, kid, signature };
}

function lines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A clock the test moves by hand, and a fixed jitter draw. */
function manualClock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let current = start;
  return { now: () => current, advance: (ms) => (current += ms) };
}

function quietLogger(): { logs: LogCapture; logger: ReturnType<typeof createLogger> } {
  const logs = new LogCapture();
  return { logs, logger: createLogger('info', logs) };
}

describe('the witness file', () => {
  it('gets one JSON line per signed head, appended in order', async () => {
    const file = join(tempFolder(), 'nested', 'witness.jsonl');
    const witness = new CheckpointWitness({ file, logger: quietLogger().logger });
    const heads = [await head(3), await head(7), await head(12)];
    for (const signed of heads) await witness.record(signed);
    expect(lines(file)).toEqual(heads.map((signed) => ({ type: 'checkpoint', ...signed })));
    expect((await readWitnessHeads([file], true)).map((witnessed) => witnessed.seq)).toEqual([3, 7, 12]);
  });

  it('keeps heads it cannot write in memory and writes them, in order, once it can', async () => {
    const folder = tempFolder();
    const blocker = join(folder, 'blocked');
    writeFileSync(blocker, 'a file where the witness folder should be');
    const file = join(blocker, 'witness.jsonl');
    const { logs, logger } = quietLogger();
    const witness = new CheckpointWitness({ file, logger });
    await witness.record(await head(1));
    await witness.record(await head(2));
    expect(witness.unwrittenCount).toBe(2);
    expect(logs.text()).toContain('audit witness file cannot be written');

    rmSync(blocker);
    await witness.record(await head(3));
    expect(witness.unwrittenCount).toBe(0);
    expect(lines(file).map((line) => line['seq'])).toEqual([1, 2, 3]);
  });
});

describe('the HTTP witness', () => {
  let receiver: RunningWitnessReceiver;
  let receiverFile: string;
  const token = 'witness-token-0123456789';

  beforeAll(async () => {
    receiverFile = join(tempFolder(), 'received.jsonl');
    receiver = await startWitnessReceiver({
      host: '127.0.0.1',
      port: 0,
      file: receiverFile,
      trustedKeys: new TrustedKeys([trustedKeyOfSigner(signer)]),
      bearerToken: token,
      logger: quietLogger().logger,
    });
  });

  afterAll(async () => {
    await receiver?.close();
  });

  it('gets the newest head, and its answer is kept in the witness file as a receipt', async () => {
    const file = join(tempFolder(), 'witness.jsonl');
    const witness = new CheckpointWitness({
      file,
      http: { url: receiver.url, bearerToken: token, timeoutMs: 5000 },
      logger: quietLogger().logger,
    });
    await witness.record(await head(10));
    const newest = await head(20);
    await witness.record(newest);
    await witness.publishToHttpWitness();
    expect(witness.http).toMatchObject({ acceptedSeq: 20, failures: 0 });
    expect(receiver.heads.get(20)).toBe(newest.headHash);
    expect(receiver.heads.has(10)).toBe(false); // a later head vouches for the earlier ones
    const receipt = lines(file).at(-1);
    expect(receipt).toMatchObject({
      type: 'receipt',
      seq: 20,
      headHash: newest.headHash,
      witness: receiver.url,
      status: 201,
      answer: { accepted: true, seq: 20, headHash: newest.headHash },
    });
    expect(lines(receiverFile).at(-1)).toEqual({ type: 'checkpoint', ...newest });

    // Nothing new: nothing sent.
    await witness.publishToHttpWitness();
    expect(lines(file)).toHaveLength(3);
  });

  it('is retried after a failure, not before its backoff, with the newest head', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/v1/audit-witness/checkpoints`;
    const clock = manualClock();
    const { logs, logger } = quietLogger();
    const file = join(tempFolder(), 'witness.jsonl');
    const witness = new CheckpointWitness({
      file,
      http: { url, bearerToken: undefined, timeoutMs: 5000 },
      logger,
      now: clock.now,
      random: () => 0.5,
    });
    await witness.record(await head(30));
    await witness.publishToHttpWitness(); // nobody listens yet
    expect(witness.http).toMatchObject({ acceptedSeq: 0, failures: 1, nextAttemptAt: clock.now() + 500 }); // full jitter: 0.5 × 1000 ms
    expect(logs.text()).toContain('audit HTTP witness did not take the checkpoint head; will retry');

    const late = await startWitnessReceiver({
      host: '127.0.0.1',
      port,
      file: join(tempFolder(), 'late.jsonl'),
      trustedKeys: new TrustedKeys([trustedKeyOfSigner(signer)]),
      logger,
    });
    try {
      const newest = await head(40);
      await witness.record(newest);
      clock.advance(499);
      await witness.publishToHttpWitness();
      expect(late.heads.size).toBe(0); // still waiting
      clock.advance(1);
      await witness.publishToHttpWitness();
      expect(witness.http).toMatchObject({ acceptedSeq: 40, failures: 0 });
      expect([...late.heads.keys()]).toEqual([40]);
    } finally {
      await late.close();
    }
  });

  it('backs off exponentially while refusals go on (wrong token), and records nothing as accepted', async () => {
    const clock = manualClock();
    const witness = new CheckpointWitness({
      file: join(tempFolder(), 'w.jsonl'),
      http: { url: receiver.url, bearerToken: 'wrong-token-0123456789', timeoutMs: 5000 },
      logger: quietLogger().logger,
      now: clock.now,
      random: () => 0.999,
    });
    await witness.record(await head(50));
    const waits: number[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      await witness.publishToHttpWitness();
      waits.push(witness.http.nextAttemptAt - clock.now());
      clock.advance(witness.http.nextAttemptAt - clock.now());
    }
    expect(waits).toEqual([999, 1998, 3996, 7992]);
    expect(witness.http).toMatchObject({ acceptedSeq: 0, failures: 4 });
    expect(receiver.heads.has(50)).toBe(false);
  });

  it('gives up on a witness that does not answer within the timeout, and retries later', async () => {
    const silent: Server = createServer(() => {
      // Never answers.
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
      const witness = new CheckpointWitness({
        file: join(tempFolder(), 'w.jsonl'),
        http: { url, bearerToken: undefined, timeoutMs: 200 },
        logger: quietLogger().logger,
      });
      await witness.record(await head(60));
      await witness.publishToHttpWitness();
      expect(witness.http).toMatchObject({ acceptedSeq: 0, failures: 1 });
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('the witness receiver (npm run audit:witness)', () => {
  let receiver: RunningWitnessReceiver;
  let file: string;

  beforeAll(async () => {
    file = join(tempFolder(), 'received.jsonl');
    receiver = await startWitnessReceiver({
      host: '127.0.0.1',
      port: 0,
      file,
      trustedKeys: new TrustedKeys([trustedKeyOfSigner(signer)]),
      logger: quietLogger().logger,
    });
  });

  afterAll(async () => {
    await receiver?.close();
  });

  const submit = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(receiver.url, {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });

  it('takes a head signed by a trusted key once; the same head again is a duplicate', async () => {
    const signed = await head(5);
    const first = await submit(signed);
    expect(first.status).toBe(201);
    expect(await first.json()).toMatchObject({ accepted: true, seq: 5, headHash: signed.headHash });
    const again = await submit(signed);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ accepted: true, duplicate: true });
    expect(lines(file)).toEqual([{ type: 'checkpoint', ...signed }]);
    const latest = await fetch(receiver.url.replace('/checkpoints', '/heads/latest'));
    expect(await latest.json()).toEqual({ seq: 5, headHash: signed.headHash });
  });

  it('refuses a different head at a position it holds (a rewritten history), also after a restart', async () => {
    await submit(await head(8));
    const rewritten = await head(8, signer, ' rewritten');
    const refused = await submit(rewritten);
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'witness_conflict', seq: 8 });

    const restarted = await startWitnessReceiver({
      host: '127.0.0.1',
      port: 0,
      file,
      trustedKeys: new TrustedKeys([trustedKeyOfSigner(signer)]),
      logger: quietLogger().logger,
    });
    try {
      const response = await fetch(restarted.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(rewritten),
      });
      expect(response.status).toBe(409);
    } finally {
      await restarted.close();
    }
  });

  it('refuses heads not signed by a trusted key, or whose signature does not match them', async () => {
    const foreign = await submit(await head(9, stranger));
    expect(foreign.status).toBe(422);
    expect((await foreign.json()) as { code: string }).toMatchObject({ code: 'witness_untrusted_checkpoint' });
    const signed = await head(11);
    const altered = await submit({ ...signed, headHash: 'f'.repeat(64) });
    expect(altered.status).toBe(422);
    expect(receiver.heads.has(9)).toBe(false);
    expect(receiver.heads.has(11)).toBe(false);
  });

  it.each<[string, unknown, Record<string, string>, number, string]>([
    ['malformed JSON', '{"seq":', { 'content-type': 'application/json' }, 400, 'malformed_json'],
    ['a body that is not a checkpoint', { seq: 1 }, { 'content-type': 'application/json' }, 400, 'validation_failed'],
    [
      'extra members',
      { seq: 1, headHash: 'a'.repeat(64), createdAt: 'x', kid: 'k', signature: 's', extra: true },
      { 'content-type': 'application/json' },
      400,
      'validation_failed',
    ],
    [
      'another media type',
      'seq=1',
      { 'content-type': 'application/x-www-form-urlencoded' },
      415,
      'unsupported_media_type',
    ],
    [
      'an oversized body',
      `{"pad":"${'x'.repeat(20_000)}"}`,
      { 'content-type': 'application/json' },
      413,
      'payload_too_large',
    ],
  ])('answers %s with a problem document', async (_case, body, headers, status, code) => {
    const response = await submit(body, headers);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(((await response.json()) as { code: string }).code).toBe(code);
  });
});
