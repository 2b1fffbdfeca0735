/**
 * The demo guard's second half. config.ts refuses ONEWINDOW_DEMO on a non-loopback HOST, but a
 * database seeded by an earlier demo start still holds the demo clients with their published
 * secrets (`cli_demo_admin` / `demo-admin-secret` among them): turning the demo off stops the
 * seeding, not those clients. So a start reachable from other machines is refused while any of
 * them is enabled, unless the demo is exposed on purpose (ONEWINDOW_DEMO=force).
 */
import { and, asc, inArray, isNull } from 'drizzle-orm';
import { type Config, isLoopbackHost } from '../config.js';
import type { Queryable } from '../db/client.js';
import { clients } from '../db/schema.js';
import { demoClients } from './seed.js';

/** The demo client ids: fixed, so a look-up by id finds what an earlier demo start created. */
export const demoClientIds: readonly string[] = demoClients.map((client) => client.id);

/** The demo clients in the database that are not disabled, by id. */
export async function enabledDemoClients(db: Queryable): Promise<string[]> {
  const rows = await db
    .select({ id: clients.id })
    .from(clients)
    .where(and(inArray(clients.id, [...demoClientIds]), isNull(clients.disabledAt)))
    .orderBy(asc(clients.id));
  return rows.map((row) => row.id);
}

export class DemoClientsExposedError extends Error {
  constructor(
    readonly clientIds: string[],
    host: string,
  ) {
    super(
      [
        `HOST=${host} makes the gateway reachable from other machines, but demo clients with published secrets ` +
          `are still enabled in the database: ${clientIds.join(', ')}.`,
        'Anyone who can reach the gateway could sign in as them (cli_demo_admin is an administrator). Either:',
        '  - disable them: `npm run clients:disable -- --demo` (or `node dist/gateway/cli/disable-clients.js --demo`),',
        '    or `POST /v1/clients/{id}/disable` for each, from a start on loopback; or',
        '  - set ONEWINDOW_DEMO=force to expose the demo anyway.',
        `HOST=${host} 使网关可被其他机器访问，但数据库中仍有启用的演示客户端（密钥已公开）：` +
          `${clientIds.join('、')}。`,
        '任何能访问网关的人都可以用它们登录（cli_demo_admin 是管理员）。请二选一：',
        '  - 停用它们：`npm run clients:disable -- --demo`（或 `node dist/gateway/cli/disable-clients.js --demo`），',
        '    或在仅本机监听的启动中对每个客户端调用 `POST /v1/clients/{id}/disable`；',
        '  - 或设置 ONEWINDOW_DEMO=force，有意公开演示。',
      ].join('\n'),
    );
    this.name = 'DemoClientsExposedError';
  }
}

/**
 * Throws DemoClientsExposedError when the gateway is about to listen on a non-loopback address,
 * the demo is not forced, and demo clients are enabled in the database.
 */
export async function refuseExposedDemoClients(
  config: Pick<Config, 'host' | 'demoForced'>,
  db: Queryable,
): Promise<void> {
  if (config.demoForced || isLoopbackHost(config.host)) return;
  const enabled = await enabledDemoClients(db);
  if (enabled.length > 0) throw new DemoClientsExposedError(enabled, config.host);
}
