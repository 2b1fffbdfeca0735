/**
 * What the gateway's audit sealing and verification rely on outside the database, built once at
 * start from the configuration: the checkpoint key file, the public keys checkpoints may be
 * signed with, and the witnesses signed heads are published to.
 */
import type { Logger } from 'pino';
import type { SigningAlg } from '../auth/keys.js';
import type { AuditSettings } from '../config.js';
import { type CheckpointSigner, TrustedKeys, loadCheckpointSigner, trustedKeyOfSigner } from './checkpoint-keys.js';
import { CheckpointWitness } from './witness.js';

export interface AuditTrust {
  /** Signs checkpoints (AUDIT_CHECKPOINT_KEY_FILE). */
  signer: CheckpointSigner;
  /** The signer's public key and AUDIT_CHECKPOINT_TRUSTED_KEYS; never keys from the database. */
  trustedKeys: TrustedKeys;
  /** Publishes signed heads to the witness file and the HTTP witness. */
  witness: CheckpointWitness;
}

export interface AuditTrustOptions {
  /** Milliseconds now and [0, 1) jitter for the HTTP witness's retries (tests pass their own). */
  now?: () => number;
  random?: () => number;
}

export async function createAuditTrust(
  settings: AuditSettings,
  alg: SigningAlg,
  logger: Logger,
  options: AuditTrustOptions = {},
): Promise<AuditTrust> {
  const signer = await loadCheckpointSigner({ keyFile: settings.checkpointKeyFile, alg, create: true });
  const trustedKeys = await TrustedKeys.fromFiles(settings.trustedKeyFiles, [trustedKeyOfSigner(signer)]);
  const witness = new CheckpointWitness({
    file: settings.witness.file,
    http: settings.witness.url
      ? { url: settings.witness.url, bearerToken: settings.witness.bearerToken, timeoutMs: settings.witness.timeoutMs }
      : undefined,
    logger,
    ...(options.now ? { now: options.now } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
  return { signer, trustedKeys, witness };
}
