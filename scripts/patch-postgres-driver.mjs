/**
 * Install-time guard for a crash in the `postgres` driver (3.4.x, upstream issues porsager/postgres
 * #1066, #1154, #1208; unfixed in the latest release when this was written): a small write is
 * flushed from a `setImmediate`, and when the connection has closed in between, `socket` is null
 * and `socket.write` throws from the timer — an uncaught exception that ends the process. Seen
 * here when PostgreSQL restarts under load (test/dispatch-processes.test.ts).
 *
 * The guard, applied to each build of the driver (ESM, CommonJS, Cloudflare): a write with no
 * socket drops its buffered bytes and rejects the queries waiting on this connection with
 * CONNECTION_CLOSED (so no caller waits forever), and the teardown paths forget the cancelled timer
 * and buffer so a reconnected connection is not left unable to flush.
 *
 * Idempotent; fails loudly if the driver's code no longer looks as expected (then check whether the
 * new release fixed it and remove this script).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const MARK = '/* onewindow: null-socket guard */';
const require = createRequire(import.meta.url);

let root;
try {
  // The package exports no package.json; its CommonJS entry is <root>/cjs/src/index.js.
  root = join(dirname(require.resolve('postgres')), '..', '..');
} catch {
  console.log('patch-postgres-driver: postgres is not installed; nothing to do');
  process.exit(0);
}

const replacements = [
  {
    from: '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    to:
      `  function nextWrite(fn) {\n    ${MARK}\n    if (socket === null) {\n` +
      '      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n' +
      '      chunk = nextWriteTimer = null\n' +
      "      error(Errors.connection('CONNECTION_CLOSED', options, socket))\n" +
      '      return false\n    }\n    const x = socket.write(chunk, fn)',
  },
  // terminate() and closed(): forget the cancelled timer and its buffer.
  { from: '    clearImmediate(nextWriteTimer)\n    if (socket) {', to: '    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    if (socket) {' },
  { from: '    clearImmediate(nextWriteTimer)\n    socket.removeListener', to: '    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    socket.removeListener' },
];

let patched = 0;
for (const build of ['src', 'cjs/src', 'cf/src']) {
  const file = join(root, build, 'connection.js');
  if (!existsSync(file)) continue;
  let source = readFileSync(file, 'utf8');
  if (source.includes(MARK)) continue;
  for (const { from, to } of replacements) {
    if (!source.includes(from)) throw new Error(`patch-postgres-driver: ${file} does not contain the expected code; the driver changed — check whether it fixed the null-socket crash and remove this script`);
    source = source.replace(from, to);
  }
  writeFileSync(file, source);
  patched += 1;
}
console.log(`patch-postgres-driver: ${patched} build(s) of postgres patched (null-socket guard)`);
