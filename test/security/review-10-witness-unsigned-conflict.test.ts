/**
 * Review 10 (attacker's eye): the HTTP audit witness (`npm run audit:witness`,
 * gateway/audit/witness-receiver.ts) compares a submitted head with the one it holds for that
 * position *before* it checks the signature. A head nobody signed — any JSON with a held `seq`
 * and another `headHash` — is answered `409 witness_conflict` and logged at error level as
 * 「a second, different head for a position already witnessed」: the very alarm that means "the
 * gateway's history was rewritten". Anyone who can reach the witness (its bearer token is
 * optional) can raise that alarm at will without any key, drowning or discrediting the real one,
 * and learns the held hash from the problem's `heldHash`. docs/audit-trust.md: it "checks the
 * signature, refuses a different head for a position it holds (409) and heads not signed by the
 * trusted key (422 witness_untrusted_checkpoint)".
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CheckpointSigner,
  TrustedKeys,
  loadCheckpointSigner,
  trustedKeyOfSigner,
} from '../../gateway/audit/checkpoint-keys.js';
import { signCheckpoint } from '../../gateway/audit/sealer.js';
import { type RunningWitnessReceiver, startWitnessReceiver } from '../../gateway/audit/witness-receiver.js';
import { createLogger } from '../../gateway/platform/logger.js';
import { LogCapture } from '../harness.js';

let folder = '';
let signer: CheckpointSigner;
let receiver: RunningWitnessReceiver;
const logs = new LogCapture();

const submit = (body: unknown) =>
  fetch(receiver.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'ow-r10-witness-'));
  signer = await loadCheckpointSigner({ keyFile: join(folder, 'checkpoint.pem'), alg: 'ES256', create: true });
  receiver = await startWitnessReceiver({
    host: '127.0.0.1',
    port: 0,
    file: join(folder, 'received.jsonl'),
    trustedKeys: new TrustedKeys([trustedKeyOfSigner(signer)]),
    logger: createLogger('info', logs),
  });
  // The gateway's genuine head at position 8.
  const payload = {
    seq: 8,
    headHash: createHash('sha256').update('genuine 8').digest('hex'),
    createdAt: new Date(Date.UTC(2026, 0, 1)).toISOString(),
  };
  const { signature, kid } = await signCheckpoint(signer, payload);
  const taken = await submit({ ...payload, kid, signature });
  expect(taken.status).toBe(201);
});

afterAll(async () => {
  await receiver?.close();
  rmSync(folder, { recursive: true, force: true });
});

describe('review 10: an unsigned head at a witnessed position', () => {
  it('is refused as untrusted (422), not taken for a rewritten history (409 and an error-level alarm)', async () => {
    const forged = {
      seq: 8,
      headHash: createHash('sha256').update('attacker').digest('hex'),
      createdAt: new Date(Date.UTC(2026, 0, 1)).toISOString(),
      kid: 'nobody',
      signature: 'e30.e30.AAAA',
    };
    const answer = await submit(forged);
    const body = (await answer.json()) as { code: string };
    expect(logs.text()).not.toContain('a second, different head for a position already witnessed');
    // Before a fix: 409 witness_conflict with heldHash.
    expect(answer.status).toBe(422);
    expect(body.code).toBe('witness_untrusted_checkpoint');
  });
});
