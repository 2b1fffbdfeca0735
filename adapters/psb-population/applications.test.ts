/**
 * The registry's application desk on the wire, with undici directly (no adapter): signatures are
 * required on the new endpoints, applications are checked against the contract's shape (3001),
 * deduplicated by `ywlsh` whatever the key order of the body, and moved by the HTTP controls
 * under `/__psb/`.
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { PSB_PATHS, signatureHeaders, type MoveInApplicationWire } from './protocol.js';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  startPsbPopulationSimulator,
  type PsbSimulatorOptions,
  type RunningPsbSimulator,
} from './simulator.js';

const credentials = { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET };

const application: MoveInApplicationWire = {
  ywlsh: 'dlv_wire_0001',
  ajbh: 'OW-2026-000123',
  sxbm: 'household_move_in',
  sqr: { xm: '李梅', sfzh: '330106198503150120' },
  qrlx: '01',
  qrdz: '杭州市西湖区文一西路100号',
  bdcqzh: '浙(2026)杭州市不动产权第0098765号',
  clxx: [{ cllx: 'real_estate_certificate', sha256: 'ab'.repeat(32), mtlx: 'application/pdf', dx: 1024 }],
  bdsj: { moveInAddress: '杭州市西湖区文一西路100号' },
};

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function simulator(options: PsbSimulatorOptions = {}): Promise<RunningPsbSimulator> {
  const running = await startPsbPopulationSimulator(options);
  closers.push(() => running.close());
  return running;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function send(
  url: string,
  method: 'GET' | 'POST',
  target: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<Answer> {
  const response = await request(`${url}${target}`, {
    method,
    headers: { ...headers, ...(body ? { 'content-type': 'application/json;charset=UTF-8' } : {}) },
    ...(body ? { body } : {}),
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

function signed(method: 'GET' | 'POST', target: string, body: Buffer = Buffer.alloc(0)): Record<string, string> {
  return signatureHeaders(credentials, { method, target, body }, Date.now());
}

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

function submit(url: string, value: unknown): Promise<Answer> {
  const body = bytes(value);
  return send(url, 'POST', PSB_PATHS.householdMoveIn, signed('POST', PSB_PATHS.householdMoveIn, body), body);
}

function statusOf(url: string, slbh: string): Promise<Answer> {
  const target = `${PSB_PATHS.applicationStatus}?slbh=${encodeURIComponent(slbh)}`;
  return send(url, 'GET', target, signed('GET', target));
}

function control(url: string, method: 'GET' | 'POST', path: string, value?: unknown): Promise<Answer> {
  return send(url, method, path, {}, value === undefined ? undefined : bytes(value));
}

describe('PSB application desk: signatures', () => {
  it('refuses unsigned, badly signed and replayed submissions and status queries, creating nothing', async () => {
    const psb = await simulator();
    const body = bytes(application);
    expect((await send(psb.url, 'POST', PSB_PATHS.householdMoveIn, {}, body)).body).toEqual({
      code: '1001',
      msg: expect.any(String),
      data: null,
    });
    const forOtherBody = signed('POST', PSB_PATHS.householdMoveIn, bytes({ ...application, ywlsh: 'dlv_wire_other' }));
    expect((await send(psb.url, 'POST', PSB_PATHS.householdMoveIn, forOtherBody, body)).body['code']).toBe('1001');
    expect(psb.applicationCount()).toBe(0);

    const headers = signed('POST', PSB_PATHS.householdMoveIn, body);
    const accepted = await send(psb.url, 'POST', PSB_PATHS.householdMoveIn, headers, body);
    expect(accepted.body['code']).toBe('0000');
    expect((await send(psb.url, 'POST', PSB_PATHS.householdMoveIn, headers, body)).body['code']).toBe('1003');
    expect(psb.applicationCount()).toBe(1);

    const slbh = String((accepted.body['data'] as Record<string, unknown>)['slbh']);
    const target = `${PSB_PATHS.applicationStatus}?slbh=${slbh}`;
    expect((await send(psb.url, 'GET', target, {})).body['code']).toBe('1001');
    expect(
      (await send(psb.url, 'GET', target, signed('GET', `${PSB_PATHS.applicationStatus}?slbh=HK20260101000001`))).body[
        'code'
      ],
    ).toBe('1001');
    expect((await statusOf(psb.url, slbh)).body['code']).toBe('0000');
  });
});

describe('PSB application desk: receiving', () => {
  it('answers the acceptance, and the same acceptance flagged duplicate for the same content in any key order', async () => {
    const psb = await simulator();
    const first = await submit(psb.url, application);
    expect(first).toEqual({
      status: 200,
      body: {
        code: '0000',
        msg: '成功',
        data: {
          slbh: expect.stringMatching(/^HK\d{14}$/),
          ywlsh: 'dlv_wire_0001',
          cfbz: '0',
          blzt: '01',
          slsj: expect.stringMatching(/^\d{14}$/),
        },
      },
    });
    const reordered = Object.fromEntries(Object.entries(application).reverse());
    const again = await submit(psb.url, reordered);
    expect(again.body['data']).toEqual({ ...(first.body['data'] as object), cfbz: '1' });
    expect(psb.applicationCount()).toBe(1);
    expect((await submit(psb.url, { ...application, qrdz: '杭州市西湖区文二路1号' })).body['code']).toBe('4005');
    expect(psb.applicationCount()).toBe(1);
  });

  it("refuses applications that do not have the contract's shape (3001)", async () => {
    const psb = await simulator();
    const { clxx: _materials, ...withoutMaterials } = application;
    const { qrdz: _address, bdcqzh: _property, ...withoutAddressOrProperty } = application;
    const invalid: unknown[] = [
      withoutMaterials,
      withoutAddressOrProperty,
      { ...application, extra: 1 },
      { ...application, ywlsh: 'has spaces' },
      { ...application, qrlx: '07' },
      { ...application, sqr: { xm: '李梅', sfzh: '33010619850315012' } },
      { ...application, clxx: [{ cllx: 'x', sha256: 'AB'.repeat(32), mtlx: 'application/pdf', dx: 1 }] },
      { ...application, clxx: [{ cllx: 'x', sha256: 'ab'.repeat(32), mtlx: 'application/pdf', dx: -1 }] },
      { ...application, sqry: [{ xm: '李小梅', sfzh: '330106201001010012' }] },
      { ...application, bdsj: [] },
      'not an object',
    ];
    for (const value of invalid)
      expect((await submit(psb.url, value)).body['code'], JSON.stringify(value).slice(0, 80)).toBe('3001');
    expect((await statusOf(psb.url, 'hk-lower-case')).body['code']).toBe('3001');
    expect(psb.applicationCount()).toBe(0);
    // The property alone names the address.
    const { qrdz: _given, ...propertyOnly } = application;
    expect((await submit(psb.url, propertyOnly)).body['code']).toBe('0000');
  });

  it('creates nothing under the business_error fault (4000), nor under 5xx', async () => {
    const psb = await simulator();
    psb.setFault({ kind: 'business_error', operation: 'submitHouseholdMoveIn', times: 1 });
    expect((await submit(psb.url, application)).body['code']).toBe('4000');
    psb.setFault({ kind: 'http_5xx', operation: 'submitHouseholdMoveIn', times: 1 });
    expect((await submit(psb.url, application)).status).toBe(503);
    expect(psb.applicationCount()).toBe(0);
    expect((await submit(psb.url, application)).body['data']).toMatchObject({ cfbz: '0' });
  });
});

describe('PSB application desk: status controls', () => {
  it('moves an application over HTTP and lists applications with their count', async () => {
    const psb = await simulator({ statusStepMs: false });
    const slbh = String(((await submit(psb.url, application)).body['data'] as Record<string, unknown>)['slbh']);
    const path = `/__psb/applications/${slbh}/status`;

    expect(await control(psb.url, 'POST', path, { blzt: '03', bz: '请补充购房合同' })).toEqual({
      status: 200,
      body: { slbh, blzt: '03' },
    });
    expect((await statusOf(psb.url, slbh)).body['data']).toMatchObject({
      slbh,
      blzt: '03',
      blztmc: '待补正',
      bz: '请补充购房合同',
    });
    expect((await control(psb.url, 'POST', path, { blzt: '04' })).status).toBe(200);
    expect((await statusOf(psb.url, slbh)).body['data']).toMatchObject({ blzt: '04', blztmc: '办结' });

    expect((await control(psb.url, 'POST', path, { blzt: '02' })).status).toBe(409);
    expect((await control(psb.url, 'POST', path, { blzt: '10' })).status).toBe(400);
    expect((await control(psb.url, 'POST', path, { blzt: '02', bz: 7 })).status).toBe(400);
    expect((await control(psb.url, 'POST', '/__psb/applications/HK20990101000001/status', { blzt: '02' })).status).toBe(
      404,
    );
    expect((await control(psb.url, 'GET', '/__psb/nothing')).status).toBe(404);

    await submit(psb.url, application);
    expect(await control(psb.url, 'GET', '/__psb/applications')).toEqual({
      status: 200,
      body: {
        count: 1,
        applications: [
          {
            slbh,
            ywlsh: 'dlv_wire_0001',
            sqr: { xm: '李梅', sfzh: '330106198503150120' },
            blzt: '04',
            gxsj: expect.stringMatching(/^\d{14}$/),
          },
        ],
      },
    });
  });

  it('answers 2003 for an application it never received', async () => {
    const psb = await simulator();
    expect((await statusOf(psb.url, 'HK20260101000001')).body).toEqual({
      code: '2003',
      msg: '查无此受理编号',
      data: null,
    });
  });

  it('refuses a status step that is not a positive duration', async () => {
    await expect(startPsbPopulationSimulator({ statusStepMs: 0 })).rejects.toThrow(/statusStepMs/);
  });
});
