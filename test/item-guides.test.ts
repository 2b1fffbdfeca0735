/**
 * Public item guides (办事指南): the catalogue's guides as JSON and as a Chinese HTML page with
 * schema.org data, without a token, cacheable with an ETag and 304; administrators edit a guide
 * through the item API, a bad one refused with nothing written, a good one shown at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAmrCredentials, startAmrEnterpriseSimulator } from '../adapters/amr-enterprise/simulator.js';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  startPsbPopulationSimulator,
} from '../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import type { Clock } from '../gateway/platform/clock.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from './harness.js';

/** Nothing here depends on the day; the clock is fixed all the same. */
const clock: Clock = { now: () => new Date('2026-12-18T02:00:00.000Z') };
const json = { 'content-type': 'application/json' };

let gw: TestGateway;
let adminToken: string;
// Real department simulators: an item is saved only when its departments can take its cases.
let psb: RunningSimulator;
let amr: RunningSimulator;

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  amr = await startAmrEnterpriseSimulator();
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: JSON.stringify([
        {
          code: 'PSB',
          name: '市公安局',
          adapter: 'psb-population',
          baseUrl: psb.url,
          options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
        },
        {
          code: 'AMR',
          name: '市市场监督管理局',
          adapter: 'amr-enterprise',
          baseUrl: amr.url,
          options: { wsUsername: defaultAmrCredentials.username, wsPassword: defaultAmrCredentials.password },
        },
      ]),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
    },
    { clock },
  );
  adminToken = await gw.tokenFor('admin', ['catalogue:admin', 'contracts:read']);
});
afterAll(async () => {
  await gw?.close();
  await psb?.close();
  await amr?.close();
});

interface PublicItemAnswer {
  code: string;
  nameZh: string;
  statutoryDays: number;
  materials: { requirementCode: string; fetchableFrom: string[]; acceptedTypes: { nameZh: string }[] }[];
  guide: { maxTrips: number; fee: { free: boolean; amountYuan?: string }; procedure: { name: string }[] } | null;
}

async function itemBody(code: string): Promise<Record<string, unknown>> {
  const response = await gw.request(`/v1/items/${code}`, { headers: bearer(adminToken) });
  expect(response.status).toBe(200);
  const { code: _code, ...body } = (await response.json()) as Record<string, unknown>;
  return body;
}

function putItem(code: string, body: Record<string, unknown>): Promise<Response> {
  return gw.request(`/v1/items/${code}`, {
    method: 'PUT',
    headers: bearer(adminToken, json),
    body: JSON.stringify(body),
  });
}

/** The JSON-LD data blocks of a page, parsed (a parse error fails the test). */
function structuredData(html: string): Record<string, unknown>[] {
  const blocks = [...html.matchAll(/<script type="application\/ld\+json">([\s\S]*?)<\/script>/g)];
  return blocks.map((match) => JSON.parse(match[1] ?? '') as Record<string, unknown>);
}

describe('the public catalogue', () => {
  it('lists every active item with its guide, without a token, cacheable', async () => {
    const response = await gw.request('/v1/public/items');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    expect(response.headers.get('etag')).toMatch(/^"sha256-[0-9a-f]{64}"$/);
    const { items } = (await response.json()) as { items: PublicItemAnswer[] };
    const transfer = items.find((item) => item.code === 'real_estate_transfer');
    expect(transfer?.nameZh).toBe('不动产转移登记（含户口迁入）');
    expect(transfer?.guide?.maxTrips).toBe(1);
    expect(transfer?.guide?.fee).toMatchObject({ free: false, amountYuan: '80' });
    expect(items.every((item) => item.guide !== null)).toBe(true);
  });

  it('answers one item with its materials and a 304 when the client holds the current copy', async () => {
    const response = await gw.request('/v1/public/items/enterprise_establishment');
    expect(response.status).toBe(200);
    const item = (await response.json()) as PublicItemAnswer;
    expect(item.guide?.maxTrips).toBe(0);
    expect(item.guide?.procedure.map((step) => step.name)).toEqual(['申请', '受理', '审核', '发证']);
    expect(item.materials.map((entry) => entry.requirementCode)).toContain('articles');
    // The registry shares ID cards: the applicant need not bring one.
    const identity = item.materials.find((entry) => entry.requirementCode === 'applicant_identity');
    expect(identity?.fetchableFrom).toEqual(['PSB']);
    expect(item.materials.find((entry) => entry.requirementCode === 'articles')?.fetchableFrom).toEqual([]);
    // Only catalogue facts: nothing about a subject, a case or a client.
    expect(Object.keys(item).sort()).toEqual(
      [
        'code',
        'departments',
        'guide',
        'kind',
        'materials',
        'name',
        'nameZh',
        'promisedDays',
        'statutoryDays',
        'subjectKind',
      ].sort(),
    );
    const etag = response.headers.get('etag') ?? '';
    const again = await gw.request('/v1/public/items/enterprise_establishment', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe('');
    const stale = await gw.request('/v1/public/items/enterprise_establishment', {
      headers: { 'if-none-match': '"sha256-0000"' },
    });
    expect(stale.status).toBe(200);
  });

  it('answers 404 for an unknown item, and 400 for a code that cannot be one', async () => {
    const unknown = await gw.request('/v1/public/items/no_such_item');
    expect(unknown.status).toBe(404);
    expect((await problemOf(unknown)).code).toBe('not_found');
    expect((await gw.request('/guides/no_such_item')).status).toBe(404);
    expect((await gw.request('/v1/public/items/NOT-A-CODE')).status).toBe(400);
  });
});

describe('the guide page', () => {
  it('shows the guide in Chinese with schema.org GovernmentService data, under a strict policy, cacheable', async () => {
    const response = await gw.request('/guides/real_estate_transfer');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-/);
    const html = await response.text();
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('不动产转移登记（含户口迁入） 办事指南');
    expect(html).toContain('《不动产登记暂行条例》第十四条');
    expect(html).toContain('最多跑一次');
    expect(html).toContain('80 元');
    expect(html).toContain('可由部门共享调取');
    const [data] = structuredData(html);
    expect(data).toMatchObject({
      '@context': 'https://schema.org',
      '@type': 'GovernmentService',
      name: '不动产转移登记（含户口迁入）',
      url: 'http://gateway.test/guides/real_estate_transfer',
      offers: { '@type': 'Offer', price: '80', priceCurrency: 'CNY' },
    });
    const etag = response.headers.get('etag') ?? '';
    const again = await gw.request('/guides/real_estate_transfer', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });
});

describe('editing a guide through the item API', () => {
  it('refuses a guide of the wrong shape with 400 and an inconsistent one with 422, writing nothing', async () => {
    const body = await itemBody('household_move_in');
    const before = await (await gw.request('/v1/public/items/household_move_in')).text();
    const guide = body['guide'] as Record<string, unknown>;

    const badFee = await putItem('household_move_in', { ...body, guide: { ...guide, fee: { free: false } } });
    expect(badFee.status).toBe(400);
    expect((await problemOf(badFee)).code).toBe('validation_failed');

    const zeroTrips = await putItem('household_move_in', {
      ...body,
      guide: { ...guide, maxTrips: 0, onlineLevel: 'offline' },
    });
    expect(zeroTrips.status).toBe(422);
    const problem = await problemOf(zeroTrips);
    expect(problem.code).toBe('item_invalid');
    expect(problem['problems']).toContain('guide: zero trips (零跑动) needs onlineLevel fully_online');

    const strangeSample = await putItem('household_move_in', {
      ...body,
      guide: { ...guide, samples: [{ requirementCode: 'no_such', title: '样表', url: '/samples/x.pdf' }] },
    });
    expect((await problemOf(strangeSample)).code).toBe('item_invalid');

    const scriptUrl = await putItem('household_move_in', {
      ...body,
      guide: { ...guide, samples: [{ requirementCode: 'household', title: '样表', url: 'javascript:alert(1)' }] },
    });
    expect(scriptUrl.status).toBe(400);

    expect(await (await gw.request('/v1/public/items/household_move_in')).text()).toBe(before);
  });

  it('shows a good guide at once, with a new ETag; text in the guide cannot break out of the page', async () => {
    const body = await itemBody('household_move_in');
    const before = await gw.request('/guides/household_move_in');
    const oldEtag = before.headers.get('etag') ?? '';
    const guide = {
      ...(body['guide'] as Record<string, unknown>),
      fee: { free: false, amountYuan: '12.50', basis: '某省物价局收费批复' },
      notes: '请携带原件核验 </script><script>alert(1)</script>',
      samples: [{ requirementCode: 'household', title: '户口簿填写样例', url: '/samples/household.pdf' }],
    };
    const saved = await putItem('household_move_in', { ...body, guide });
    expect(saved.status, await saved.clone().text()).toBe(200);

    const page = await gw.request('/guides/household_move_in', { headers: { 'if-none-match': oldEtag } });
    expect(page.status).toBe(200);
    expect(page.headers.get('etag')).not.toBe(oldEtag);
    const html = await page.text();
    expect(html).toContain('12.50 元（收费依据：某省物价局收费批复）');
    expect(html).toContain('户口簿填写样例');
    expect(html).toContain('市公安局');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(structuredData(html)[0]).toMatchObject({ offers: { price: '12.50' } });

    const item = (await (await gw.request('/v1/public/items/household_move_in')).json()) as PublicItemAnswer;
    expect(item.guide?.fee).toEqual({ free: false, amountYuan: '12.50', basis: '某省物价局收费批复' });
  });

  it('withdraws an inactive item from the public catalogue', async () => {
    const body = await itemBody('business_licence_reissue');
    expect((await putItem('business_licence_reissue', { ...body, active: false })).status).toBe(200);
    expect((await gw.request('/v1/public/items/business_licence_reissue')).status).toBe(404);
    const { items } = (await (await gw.request('/v1/public/items')).json()) as { items: PublicItemAnswer[] };
    expect(items.map((item) => item.code)).not.toContain('business_licence_reissue');
  });
});
