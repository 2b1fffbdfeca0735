/**
 * Structured JSON logs. Request logs carry method, route, status, duration and the request id;
 * they never carry bodies, query strings, headers with credentials or personal data. The redact
 * list is a second line of defence should a credential end up in a log object anyway.
 */
import pino, { type Logger } from 'pino';
import type { Config } from '../config.js';

/** How often a buffered log is written out even when its buffer is not full: a quiet gateway's lines show within a second. */
const BUFFER_FLUSH_INTERVAL_MS = 1000;

/**
 * A logger writing to `destination`, by default standard output. There, with `bufferBytes` > 0,
 * lines are written once that many bytes wait (and at least every second, and on exit): one write
 * per line cost ~7 % of a small read's CPU (bench, issue 15).
 */
export function createLogger(level: Config['logLevel'], destination?: pino.DestinationStream, bufferBytes = 0): Logger {
  const logger = pino(
    {
      level,
      base: { service: 'onewindow' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // `err` is always errorForLog's output (or a plain `{ message }`), already safe and shaped;
      // pino's default serializer would rename its type to "Object" and glue the cause's message
      // onto the message.
      serializers: { err: (value: unknown) => value },
      // Explicit paths only: wildcard paths made redaction the largest cost of an access-log line.
      // Request logs never carry these objects; this is a second line of defence.
      redact: {
        paths: [
          'authorization',
          'headers.authorization',
          'client_secret',
          'clientSecret',
          'secret',
          'password',
          'privateJwk',
          'access_token',
          'accessToken',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false, minLength: bufferBytes }),
  );
  // pino writes what is still buffered when the process exits (its exit handler).
  if (!destination && bufferBytes > 0) setInterval(() => logger.flush(), BUFFER_FLUSH_INTERVAL_MS).unref();
  return logger;
}

/** What one access line says: no path, no query, no header, no body (see the module comment). */
export interface AccessLine {
  requestId: string;
  method: string;
  /** The route template, or `unmatched`. */
  route: string;
  status: number;
  durationMs: number;
}

interface LineStream {
  write(line: string): unknown;
}

/**
 * Writes the access line of every request, the same JSON pino writes for
 * `logger.info({requestId, method, route, status, durationMs}, 'request')`, to the logger's own
 * destination (tests read that too). The line is built as one string instead of through pino's
 * generic serialiser: at one line per request that serialiser was a tenth of a small read's work
 * (bench "read", issue 15). Only fixed, non-personal fields go through here, so pino's redaction
 * has nothing to do; everything else still logs through pino.
 */
export function accessLineWriter(logger: Logger): (line: AccessLine) => void {
  const stream = (logger as unknown as Record<symbol, LineStream | undefined>)[pino.symbols.streamSym];
  const infoLevel = logger.levels.values['info'] ?? 30;
  const bindings = logger.bindings();
  // The service logger's own bindings after the time, as pino orders them (`base` first).
  const bindingsJson = Object.keys(bindings).length > 0 ? `,${JSON.stringify(bindings).slice(1, -1)}` : '';
  if (!stream) {
    return (line) => logger.info({ ...line }, 'request');
  }
  return (line) => {
    if (logger.levelVal > infoLevel) return;
    stream.write(
      `{"level":${infoLevel},"time":"${new Date().toISOString()}"${bindingsJson},"requestId":${JSON.stringify(line.requestId)},"method":${JSON.stringify(line.method)},"route":${JSON.stringify(line.route)},"status":${line.status},"durationMs":${line.durationMs},"msg":"request"}\n`,
    );
  };
}
