/**
 * The bare Hono baseline of the mixed load benchmark (bench/mixed-load.ts): a Hono app on
 * @hono/node-server with default server options answering `GET /json` with a small fixed JSON
 * document (about 60 bytes) — no authentication, no database, no logging, no metrics. It shows
 * what the same machine, load generator and connections give for HTTP + JSON alone, so the
 * gateway's mixed throughput can be read as a share of it. Port and host from BARE_PORT/BARE_HOST.
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const port = Number(process.env.BARE_PORT);
const hostname = process.env.BARE_HOST ?? '127.0.0.1';
if (!Number.isInteger(port) || port <= 0) throw new Error('BARE_PORT must be a port number');

const app = new Hono();
app.get('/json', (c) => c.json({ ok: true, service: 'bare-hono', answeredAt: Date.now() }));
app.get('/healthz', (c) => c.json({ ok: true }));

const server = await new Promise<Server>((resolve) => {
  const created = serve({ fetch: app.fetch, port, hostname }, () => resolve(created as Server));
});
process.stdout.write(`bare hono listening on http://${hostname}:${port}\n`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => server.close(() => process.exit(0)));
