/**
 * The example typed client (examples/typed-client) against a gateway: types generated from the
 * gateway's own OpenAPI document, requests through openapi-fetch, a token by client credentials,
 * refusals as problem documents in the language asked for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnewindowError, createOnewindowClient } from '../examples/typed-client/client.js';
import { renderClientTypes } from '../gateway/cli/client-types.js';
import { readFileSync } from 'node:fs';
import { type TestGateway, createTestGateway } from './harness.js';

let gw: TestGateway;
let credentials: { clientId: string; clientSecret: string };
const sent: string[] = [];

beforeAll(async () => {
  gw = await createTestGateway();
  const { client, secret } = await gw.createClient('integrator');
  credentials = { clientId: client.id, clientSecret: secret };
});
afterAll(async () => {
  await gw?.close();
});

/** The client sends through the app in-process, recording what it sent. */
function clientFor(language?: 'zh-CN' | 'en', secret = credentials.clientSecret) {
  return createOnewindowClient({
    baseUrl: 'http://gateway.test',
    clientId: credentials.clientId,
    clientSecret: secret,
    ...(language ? { language } : {}),
    fetch: async (request) => {
      sent.push(
        `${request.method} ${new URL(request.url).pathname} ${request.headers.get('authorization') ? 'bearer' : '-'}`,
      );
      return gw.app.request(request);
    },
  });
}

describe('the typed client example', () => {
  it('has types generated from the committed OpenAPI document (npm run client:types)', async () => {
    const committed = readFileSync(new URL('../examples/typed-client/onewindow.types.ts', import.meta.url), 'utf8');
    expect(committed).toBe(await renderClientTypes());
  });

  it('reads public routes without a token and protected ones with a client-credentials token', async () => {
    sent.length = 0;
    const client = clientFor();
    expect(await client.health()).toMatchObject({ status: 'ok' });
    const guides = await client.publicItems();
    expect(guides.length).toBeGreaterThan(0);
    const first = guides[0];
    if (!first) throw new Error('no public item');
    expect(await client.publicItem(first.code)).toMatchObject({ code: first.code, nameZh: first.nameZh });
    const items = await client.items();
    expect(items.map((item) => item.code)).toContain(first.code);
    expect((await client.items()).length).toBe(items.length);
    // One token for both protected calls; none sent to the public routes.
    expect(sent).toEqual([
      'GET /healthz -',
      'GET /v1/public/items -',
      `GET /v1/public/items/${first.code} -`,
      'POST /oauth/token -',
      'GET /v1/items bearer',
      'GET /v1/items bearer',
    ]);
  });

  it('turns a refusal into an error with the stable code and the detail in the language asked for', async () => {
    const chinese = await clientFor('zh-CN')
      .publicItem('no_such_item')
      .catch((error: unknown) => error);
    expect(chinese).toBeInstanceOf(OnewindowError);
    expect((chinese as OnewindowError).status).toBe(404);
    expect((chinese as OnewindowError).problem).toMatchObject({
      code: 'not_found',
      detail: '没有服务事项 no_such_item。',
    });
    const english = await clientFor('en')
      .publicItem('no_such_item')
      .catch((error: unknown) => error);
    expect((english as OnewindowError).problem).toMatchObject({
      code: 'not_found',
      detail: 'No service item no_such_item.',
    });

    const wrongSecret = await clientFor('en', 'not-the-secret')
      .items()
      .catch((error: unknown) => error);
    expect(wrongSecret).toBeInstanceOf(OnewindowError);
    expect((wrongSecret as OnewindowError).problem.code).toBe('invalid_client');
  });
});
