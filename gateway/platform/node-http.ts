/**
 * Node's own request and response under a Hono context, when served by @hono/node-server (not in
 * `app.request`, as tests call it). Reading them directly is cheaper on hot paths than the web
 * views the adapter builds on first use (a `Headers` object per request, for one).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Context } from 'hono';
import type { AppEnv } from './context.js';

export function nodeRequestOf(c: Context<AppEnv>): IncomingMessage | undefined {
  const env: unknown = c.env;
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  const incoming = (env as { incoming: unknown }).incoming;
  return incoming instanceof Readable ? (incoming as IncomingMessage) : undefined;
}

export function nodeResponseOf(c: Context<AppEnv>): ServerResponse | undefined {
  const env: unknown = c.env;
  if (typeof env !== 'object' || env === null || !('outgoing' in env)) return undefined;
  const { outgoing } = env as { outgoing: unknown };
  return typeof (outgoing as Partial<ServerResponse> | undefined)?.setHeader === 'function'
    ? (outgoing as ServerResponse)
    : undefined;
}

/**
 * The headers whose repeats Node drops from `IncomingMessage.headers`, keeping the first
 * (node:http, `message.headers`). Web Headers join every copy instead.
 */
const FIRST_KEPT_BY_NODE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/**
 * A request header by its lower-case name, as `c.req.header(name)` answers it: every copy of a
 * repeated header joined with ", ". For the headers Node keeps only the first of (Authorization
 * among them) the copies are read from the raw headers, so a second Authorization makes the value
 * no single token and the request is refused, as through web Headers, instead of the first copy
 * silently winning over one a proxy may have looked at.
 */
export function requestHeader(c: Context<AppEnv>, lowerCaseName: string): string | undefined {
  const incoming = nodeRequestOf(c);
  if (!incoming) return c.req.header(lowerCaseName);
  const value = incoming.headers[lowerCaseName];
  if (Array.isArray(value)) return value.join(', ');
  if (value === undefined || !FIRST_KEPT_BY_NODE.has(lowerCaseName)) return value;
  const { rawHeaders } = incoming;
  const copies: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === lowerCaseName.length && name.toLowerCase() === lowerCaseName)
      copies.push(rawHeaders[i + 1] as string);
  }
  return copies.length > 1 ? copies.join(', ') : value;
}
