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
 * A request header by its lower-case name, as `c.req.header(name)` answers it: Node joins repeated
 * headers with ", " as web Headers do (and keeps only the first of those HTTP allows once, such as
 * Authorization, where a second would be a forgery attempt either way).
 */
export function requestHeader(c: Context<AppEnv>, lowerCaseName: string): string | undefined {
  const incoming = nodeRequestOf(c);
  if (!incoming) return c.req.header(lowerCaseName);
  const value = incoming.headers[lowerCaseName];
  return Array.isArray(value) ? value.join(', ') : value;
}
