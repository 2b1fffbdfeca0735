/**
 * A fetch answered after the case moved on. The departments answer a case's certificate fetch in
 * seconds; meanwhile the window may hand in what was missing and submit. The fetch's answers are
 * then stored (the certificates stay reusable) but not attached: the submitted case keeps the
 * materials it was submitted with, and the window hears `409 case_not_open`.
 *
 * The business registry takes the submission; the real-estate registry sits behind a small proxy the test can hold, so the order is fixed.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAmrEnterpriseSimulator } from '../adapters/amr-enterprise/simulator.js';
import { startNrbRealEstateSimulator } from '../adapters/nrb-realestate/simulator.js';
import { startPsbPopulationSimulator } from '../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import { caseMaterials, cases } from '../gateway/db/schema.js';
import { fixedClock } from '../gateway/platform/clock.js';
import { pdfDocument } from './fixtures/documents.js';
import {
  CASE_WINDOW_SCOPES,
  type TestGateway,
  bearer,
  caseWindow,
  createTestGateway,
  ok,
  problemOf,
} from './harness.js';
import { simulatedDepartmentsJson } from './support/simulated-departments.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };

/** A pass-through proxy whose non-token requests wait while `held`, or fail while `failing`. */
interface HoldingProxy {
  url: string;
  failing: boolean;
  hold(): void;
  /** Resolves once a request is waiting. */
  waiting(): Promise<void>;
  release(): void;
  close(): Promise<void>;
}

async function holdingProxy(target: string): Promise<HoldingProxy> {
  const upstream = new URL(target);
  let held = false;
  let parked: (() => void)[] = [];
  let onWaiting: (() => void) | undefined;
  const forward = (incoming: IncomingMessage, answer: ServerResponse) => {
    const outgoing = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: incoming.url,
        method: incoming.method,
        headers: { ...incoming.headers, host: upstream.host },
      },
      (reply) => {
        answer.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(answer);
      },
    );
    outgoing.on('error', () => answer.destroy());
    incoming.pipe(outgoing);
  };
  const proxy: HoldingProxy = {
    url: '',
    failing: false,
    hold: () => {
      held = true;
    },
    waiting: () =>
      new Promise((resolve) => {
        if (parked.length > 0) resolve();
        else onWaiting = resolve;
      }),
    release: () => {
      held = false;
      for (const go of parked) go();
      parked = [];
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((incoming, answer) => {
    const isToken = (incoming.url ?? '').includes('token');
    if (proxy.failing && !isToken) {
      answer.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"unavailable"}');
      return;
    }
    if (held && !isToken) {
      parked.push(() => forward(incoming, answer));
      onWaiting?.();
      onWaiting = undefined;
      return;
    }
    forward(incoming, answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

let psb: RunningSimulator;
let amr: RunningSimulator;
let nrb: RunningSimulator;
let proxy: HoldingProxy;
let gw: TestGateway;
let token: string;

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  amr = await startAmrEnterpriseSimulator();
  nrb = await startNrbRealEstateSimulator();
  proxy = await holdingProxy(nrb.url);
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: simulatedDepartmentsJson({ psb: psb.url, amr: amr.url, nrb: proxy.url }),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
    },
    { clock: fixedClock('2026-12-18T02:00:00.000Z') },
  );
  ({ token } = await caseWindow(gw, ['psb.population', 'nrb.real-estate'], [...CASE_WINDOW_SCOPES]));
});

afterAll(async () => {
  proxy?.release();
  await gw?.close();
  await Promise.all([psb?.close(), amr?.close(), nrb?.close(), proxy?.close()]);
});

const call = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
  gw.request(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: bearer(token, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function handIn(subjectId: string, typeCode: string, label: string): Promise<string> {
  const response = await gw.request(`/v1/subjects/${subjectId}/materials?typeCode=${typeCode}&fileName=${label}.pdf`, {
    method: 'POST',
    headers: bearer(token, { ...PURPOSE, 'content-type': 'application/pdf' }),
    body: Buffer.from(pdfDocument(label)),
  });
  return (await ok<{ id: string }>(response, 201)).id;
}

it('a fetch answered after the case was submitted attaches nothing to it and says so', async () => {
  const subjectId = (
    await ok<{ id: string }>(
      await call('/v1/subjects/resolve', { identifierType: 'resident_id', ...ZHANG_SAN }, PURPOSE),
      201,
    )
  ).id;
  const opened = await ok<{ id: string }>(
    await call('/v1/cases', { itemCode: 'enterprise_establishment', subjectId }),
    201,
  );
  // The identity comes from the PSB at once; the registry is down, so the premises stay fetchable.
  proxy.failing = true;
  await ok(await call(`/v1/cases/${opened.id}/certificates`, {}));
  proxy.failing = false;

  // A second fetch reaches the registry and waits there.
  proxy.hold();
  const fetching = call(`/v1/cases/${opened.id}/certificates`, {});
  await proxy.waiting();

  // Meanwhile the applicant hands in a lease and the articles, and the window submits.
  const lease = await handIn(subjectId, 'lease_contract', 'lease');
  const articles = await handIn(subjectId, 'articles_of_association', 'articles');
  await ok(await call(`/v1/cases/${opened.id}/materials`, { requirementCode: 'premises', materialId: lease }));
  await ok(await call(`/v1/cases/${opened.id}/materials`, { requirementCode: 'articles', materialId: articles }));
  const submitted = await ok<{ status: string }>(
    await call(
      `/v1/cases/${opened.id}/submit`,
      {
        form: {
          companyName: '北京朝阳晨星咨询有限公司',
          registeredCapital: '100万元人民币',
          businessScope: '企业管理咨询',
        },
      },
      { 'idempotency-key': 'fetch-race-submit-0001' },
    ),
  );
  expect(submitted.status).toBe('submitted');

  proxy.release();
  const late = await fetching;
  expect(late.status).toBe(409);
  const problem = await problemOf(late);
  expect(problem.code).toBe('case_not_open');
  expect(String(problem.message ?? problem.detail ?? '')).toMatch(/[\u4e00-\u9fff]/);

  // The case keeps what it was submitted with.
  const [premises] = await gw.services.db
    .select()
    .from(caseMaterials)
    .where(and(eq(caseMaterials.caseId, opened.id), eq(caseMaterials.requirementCode, 'premises')));
  expect(premises).toMatchObject({ materialId: lease, resolution: 'handed_in' });
  const [row] = await gw.services.db.select().from(cases).where(eq(cases.id, opened.id));
  expect(row?.status).toBe('submitted');
});
