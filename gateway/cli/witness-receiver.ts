/**
 * `npm run audit:witness`: runs an HTTP witness for a gateway's audit log (gateway/audit/witness-receiver.ts).
 * Another department or the supervision authority runs it with the gateway's checkpoint public
 * key; the gateway POSTs its signed heads to it (AUDIT_WITNESS_URL). The witness file it keeps
 * is what `npm run audit:verify -- --witness FILE` compares the gateway's database with.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { TrustedKeyFileError, TrustedKeys } from '../audit/checkpoint-keys.js';
import { startWitnessReceiver } from '../audit/witness-receiver.js';
import { createLogger } from '../platform/logger.js';

const USAGE = `Usage: npm run audit:witness -- --file FILE --trusted-keys FILE [options]

Takes the signed audit checkpoint heads a gateway POSTs (its AUDIT_WITNESS_URL) and keeps them
in an append-only witness file, refusing heads not signed by the trusted keys and a second,
different head for a position it already holds.

Options:
  --file FILE          the witness file (JSON lines); created if missing, never rewritten
  --trusted-keys FILE  the gateway's checkpoint public key(s): PEM or JWKS; repeat for several
  --host HOST          interface to listen on (default 127.0.0.1)
  --port PORT          port (default 9470; 0 picks a free one)
  --token-file FILE    require "Authorization: Bearer <the file's content>" from the gateway
  -h, --help           show this help
`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      allowPositionals: false,
      options: {
        file: { type: 'string' },
        'trusted-keys': { type: 'string', multiple: true, default: [] },
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '9470' },
        'token-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    process.stderr.write(
      `audit:witness: ${error instanceof Error ? error.message : String(error)}\nRun with --help for usage.\n`,
    );
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const port = /^[0-9]{1,5}$/.test(values.port) ? Number(values.port) : Number.NaN;
  if (!values.file || values['trusted-keys'].length === 0 || !(port >= 0 && port <= 65535)) {
    process.stderr.write(
      'audit:witness: --file and --trusted-keys are required, and --port must be 0-65535.\nRun with --help for usage.\n',
    );
    return 2;
  }
  let trustedKeys: TrustedKeys;
  let bearerToken: string | undefined;
  try {
    trustedKeys = await TrustedKeys.fromFiles(values['trusted-keys']);
    bearerToken = values['token-file'] ? (await readFile(values['token-file'], 'utf8')).trim() : undefined;
  } catch (error) {
    process.stderr.write(
      `audit:witness: ${error instanceof TrustedKeyFileError || error instanceof Error ? error.message : String(error)}\n`,
    );
    return 2;
  }
  const logger = createLogger('info');
  const receiver = await startWitnessReceiver({
    host: values.host,
    port,
    file: values.file,
    trustedKeys,
    bearerToken,
    logger,
  });
  process.stderr.write(
    `audit witness listening: ${receiver.url}  (file ${values.file}, ${receiver.heads.size} heads held, trusted keys ` +
      `${trustedKeys.kids.join(', ')})\n`,
  );
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
  });
  await receiver.close();
  return 0;
}

process.exitCode = await main();
