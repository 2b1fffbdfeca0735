/**
 * Issue 17, the flat transfer as a window clerk does it: the right certificate (by the number the
 * form names, not the registry's usual choice), co-owners and restrictions carried as data, and a
 * seized flat refused at the one-time notice — before anything is dispatched — instead of a dead
 * letter days later. Real NRB and PSB simulators; the gateway's clock stands still.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAmrCredentials, startAmrEnterpriseSimulator } from '../adapters/amr-enterprise/simulator.js';
import {
  NRB_DEMO_CLIENT_ID,
  NRB_DEMO_CLIENT_SECRET,
  type RunningNrbSimulator,
  startNrbRealEstateSimulator,
} from '../adapters/nrb-realestate/simulator.js';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  startPsbPopulationSimulator,
} from '../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import {
  auditEntries,
  caseEvents,
  caseMaterials,
  cases,
  deliveries,
  idempotencyKeys,
  materials,
} from '../gateway/db/schema.js';
import { fixedClock } from '../gateway/platform/clock.js';
import { type TestGateway, bearer, createTestGateway, problemOf, caseWindow, CASE_WINDOW_SCOPES } from './harness.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const LI_MEI = { identifier: '330106198503150120', name: '李梅' };
const SOLE_FLAT = '京(2015)朝阳区不动产权第0031287号';
const JOINT_MORTGAGED_FLAT = '京(2019)朝阳区不动产权第0107652号';
const SEIZED_FLAT = '浙(2020)杭州市不动产权第0234567号';

interface Block {
  code: string;
  restriction: { kind: string; registeredOn: string; party: string } | null;
  message: { zh: string; en: string };
}
interface NoticeEntry {
  requirementCode: string;
  party: string;
  partySubjectId: string | null;
  state: string;
  material: { id: string; typeCode: string } | null;
  reference: string | null;
  blocks: Block[];
  choices: { certificateNumber: string }[];
}
interface CaseBody {
  id: string;
  caseNumber: string;
  status: string;
  parties: { role: string; subjectId: string }[];
  notice: { entries: NoticeEntry[]; acceptable: boolean; readyToSubmit: boolean };
}
interface CertificateAnswer {
  certificateType: string;
  status: string;
  error: { code: string; message: string } | null;
  certificate: {
    certificateNumber: string;
    shareType?: string;
    holders?: { name: string; identifier: string; share?: string }[];
    restrictions?: { kind: string }[];
  } | null;
  material: { id: string } | null;
  choices: { certificateNumber: string; status: string }[] | null;
}

let psb: RunningSimulator;
let nrb: RunningNrbSimulator;
let amr: RunningSimulator;
let gw: TestGateway;
let windowToken: string;
let zhangSan: string;
let liMei: string;

const purpose = { 'onewindow-purpose': 'case_acceptance' };
const tuning = { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 };

async function call(
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; token?: string } = {},
): Promise<Response> {
  return gw.request(path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: bearer(init.token ?? windowToken, {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.headers ?? {}),
    }),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

async function ok<T>(response: Response, status = 200): Promise<T> {
  if (response.status !== status)
    throw new Error(`expected ${status}, got ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

function entry(body: CaseBody, requirementCode: string): NoticeEntry {
  const found = body.notice.entries.find((candidate) => candidate.requirementCode === requirementCode);
  if (!found) throw new Error(`no requirement ${requirementCode}`);
  return found;
}

const transferForm = (certificateNo: string) => ({
  certificateNo,
  transferee: { name: '王小明', idNumber: '110101199003070038' },
  transferReason: 'sale',
  price: '560万元',
});

async function openTransfer(subjectId: string, certificateNo: string): Promise<CaseBody> {
  return ok<CaseBody>(
    await call('/v1/cases', {
      body: { itemCode: 'real_estate_transfer', subjectId, form: transferForm(certificateNo) },
    }),
    201,
  );
}

/** The subject's id, resolved now or before (200 or 201). */
async function resolved(identifierType: 'resident_id' | 'credit_code', identifier: string, name: string) {
  const response = await call('/v1/subjects/resolve', { body: { identifierType, identifier, name }, headers: purpose });
  if (response.status !== 200 && response.status !== 201)
    throw new Error(`resolve: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** The subject's certificates of these types, fetched (or served from storage) outside any case. */
async function onFile(subjectId: string, types: string[]): Promise<void> {
  await ok(await call(`/v1/subjects/${subjectId}/certificates`, { body: { types }, headers: purpose }));
}

/** Whose material it is (its subject id), read from the store. */
async function ownerOf(materialId: string | undefined): Promise<string | undefined> {
  if (materialId === undefined) return undefined;
  const [row] = await gw.services.db
    .select({ subjectId: materials.subjectId })
    .from(materials)
    .where(eq(materials.id, materialId));
  return row?.subjectId;
}

async function fetchForCase(caseId: string): Promise<CaseBody> {
  return (await ok<{ case: CaseBody }>(await call(`/v1/cases/${caseId}/certificates`, { body: {} }))).case;
}

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  nrb = await startNrbRealEstateSimulator();
  amr = await startAmrEnterpriseSimulator();
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: JSON.stringify([
        {
          code: 'PSB',
          name: 'Population registry',
          adapter: 'psb-population',
          baseUrl: psb.url,
          options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
          tuning,
        },
        {
          code: 'NRB',
          name: 'Real-estate registry',
          adapter: 'nrb-realestate',
          baseUrl: nrb.url,
          options: { clientId: NRB_DEMO_CLIENT_ID, clientSecret: NRB_DEMO_CLIENT_SECRET },
          tuning,
        },
        {
          code: 'AMR',
          name: 'Market regulation registry',
          adapter: 'amr-enterprise',
          baseUrl: amr.url,
          options: { wsUsername: defaultAmrCredentials.username, wsPassword: defaultAmrCredentials.password },
          tuning,
        },
      ]),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
    },
    { clock: fixedClock('2026-12-18T02:00:00.000Z') },
  );
  const window = await caseWindow(
    gw,
    ['psb.population', 'nrb.real-estate', 'amr.enterprise'],
    [...CASE_WINDOW_SCOPES, 'contracts:read'],
  );
  windowToken = window.token;
  zhangSan = (
    await ok<{ id: string }>(
      await call('/v1/subjects/resolve', { body: { identifierType: 'resident_id', ...ZHANG_SAN }, headers: purpose }),
      201,
    )
  ).id;
  liMei = (
    await ok<{ id: string }>(
      await call('/v1/subjects/resolve', { body: { identifierType: 'resident_id', ...LI_MEI }, headers: purpose }),
      201,
    )
  ).id;
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), nrb?.close(), amr?.close()]);
});

describe('the right certificate', () => {
  it('fetched by type, answers the usual choice with co-owners and restrictions as data, and lists the other flat to choose from', async () => {
    const answer = await ok<{ results: CertificateAnswer[] }>(
      await call(`/v1/subjects/${zhangSan}/certificates`, {
        body: { types: ['real_estate_certificate'] },
        headers: purpose,
      }),
    );
    const [result] = answer.results;
    expect(result?.certificate).toMatchObject({
      certificateNumber: JOINT_MORTGAGED_FLAT,
      shareType: 'joint',
      restrictions: [{ kind: 'mortgage', registeredOn: '2019-11-06', party: '中国工商银行股份有限公司北京望京支行' }],
    });
    // Co-owners are masked like the holder for a caller without subjects:unmask.
    expect(result?.certificate?.holders?.map((holder) => holder.name)).toEqual(['张*', '王**']);
    expect(result?.certificate?.holders?.every((holder) => holder.identifier.includes('*'))).toBe(true);
    expect(result?.choices).toEqual([
      { certificateNumber: SOLE_FLAT, status: 'valid', location: '北京市朝阳区建国路88号院3号楼1单元502' },
    ]);
  });

  it("a case whose form names no number reuses the usual flat and lists the holder's other flat in the notice, to name one", async () => {
    // The registry's usual choice (the joint flat) on file, as the fetch above left it.
    await ok(
      await call(`/v1/subjects/${zhangSan}/certificates`, {
        body: { types: ['real_estate_certificate'] },
        headers: purpose,
      }),
    );
    // 户口迁入 for work: the title number is optional, so the residence requirement is not bound to one.
    const opened = await ok<CaseBody>(
      await call('/v1/cases', {
        body: {
          itemCode: 'household_move_in',
          subjectId: zhangSan,
          form: { moveToAddress: '北京市朝阳区望京西园四区412号楼8单元801', reason: 'employment' },
        },
      }),
      201,
    );
    const expected = {
      state: 'reused',
      reference: null,
      blocks: [],
      choices: [{ certificateNumber: SOLE_FLAT, status: 'valid', location: '北京市朝阳区建国路88号院3号楼1单元502' }],
    };
    expect(entry(opened, 'residence')).toMatchObject(expected);
    expect(entry(opened, 'residence').material?.typeCode).toBe('real_estate_certificate');
    // The same notice when the case is read again.
    expect(entry(await ok<CaseBody>(await call(`/v1/cases/${opened.id}`)), 'residence')).toMatchObject(expected);
  });

  it('fetched by number, answers that flat (also as typed with full-width brackets), and a stored copy of the other flat is not served for it', async () => {
    const answer = await ok<{ results: CertificateAnswer[] }>(
      await call(`/v1/subjects/${zhangSan}/certificates`, {
        body: {
          types: ['real_estate_certificate'],
          numbers: { real_estate_certificate: '京（2015）朝阳区不动产权第0031287号' },
        },
        headers: purpose,
      }),
    );
    expect(answer.results[0]).toMatchObject({
      status: 'ok',
      source: 'department',
      certificate: { certificateNumber: SOLE_FLAT, shareType: 'sole', restrictions: [] },
      choices: null,
    });
    // Now both flats are stored: each number is served from its own stored copy.
    const again = await ok<{ results: (CertificateAnswer & { source: string })[] }>(
      await call(`/v1/subjects/${zhangSan}/certificates`, {
        body: { types: ['real_estate_certificate'], numbers: { real_estate_certificate: JOINT_MORTGAGED_FLAT } },
        headers: purpose,
      }),
    );
    expect(again.results[0]).toMatchObject({
      source: 'stored',
      certificate: { certificateNumber: JOINT_MORTGAGED_FLAT },
    });
  });

  it('refuses a number for a type not asked for', async () => {
    const refused = await call(`/v1/subjects/${zhangSan}/certificates`, {
      body: { types: ['resident_id_card'], numbers: { real_estate_certificate: SOLE_FLAT } },
      headers: purpose,
    });
    expect(refused.status).toBe(400);
    expect((await problemOf(refused)).code).toBe('validation_failed');
  });

  it('a transfer naming the sole flat reuses that flat, not the jointly owned one the registry would choose', async () => {
    const opened = await openTransfer(zhangSan, SOLE_FLAT);
    const title = entry(opened, 'title');
    expect(title).toMatchObject({ state: 'reused', reference: SOLE_FLAT, blocks: [], choices: [] });
    const [row] = await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.id));
    expect(row?.kind).toBe('opened');
    expect(opened.notice.acceptable).toBe(true);
  });

  it('a transfer naming a flat not stored yet fetches exactly that flat from the registry', async () => {
    // 王秀英 co-owns only the joint flat; 张三's second flat was fetched above. A fresh subject shows the fetch by number.
    const wang = (
      await ok<{ id: string }>(
        await call('/v1/subjects/resolve', {
          body: { identifierType: 'resident_id', identifier: '110105195203150021', name: '王秀英' },
          headers: purpose,
        }),
        201,
      )
    ).id;
    const opened = await openTransfer(wang, JOINT_MORTGAGED_FLAT);
    expect(entry(opened, 'title')).toMatchObject({ state: 'fetchable', reference: JOINT_MORTGAGED_FLAT });
    const fetched = await fetchForCase(opened.id);
    expect(entry(fetched, 'title')).toMatchObject({ state: 'fetched', blocks: [] });
    // Mortgaged, but a mortgage does not stop a transfer (Civil Code art. 406): acceptable.
    expect(fetched.notice.acceptable).toBe(true);
  });

  it('refuses attaching another flat than the form names, with nothing written', async () => {
    const opened = await openTransfer(zhangSan, SOLE_FLAT);
    const stored = await ok<{ results: CertificateAnswer[] }>(
      await call(`/v1/subjects/${zhangSan}/certificates`, {
        body: { types: ['real_estate_certificate'], numbers: { real_estate_certificate: JOINT_MORTGAGED_FLAT } },
        headers: purpose,
      }),
    );
    const events = await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.id));
    const refused = await call(`/v1/cases/${opened.id}/materials`, {
      body: { requirementCode: 'title', materialId: stored.results[0]?.material?.id },
    });
    expect(refused.status).toBe(409);
    expect((await problemOf(refused)).code).toBe('certificate_reference_mismatch');
    expect(await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.id))).toHaveLength(
      events.length,
    );
  });
});

describe('a seized flat', () => {
  let opened: CaseBody;

  it('is refused at the one-time notice, in Chinese and English, as soon as its certificate is on the case', async () => {
    opened = await openTransfer(liMei, SEIZED_FLAT);
    const notice = await fetchForCase(opened.id);
    const title = entry(notice, 'title');
    expect(title.blocks).toEqual([
      {
        code: 'restriction_blocks_acceptance',
        restriction: { kind: 'seizure', registeredOn: '2024-05-20', party: '杭州市西湖区人民法院' },
        message: {
          zh: '不予受理：该不动产已于2024年5月20日被杭州市西湖区人民法院查封。',
          en: 'Not acceptable: seized by 杭州市西湖区人民法院 on 2024-05-20.',
        },
      },
    ]);
    expect(notice.notice).toMatchObject({ acceptable: false, readyToSubmit: false });
  });

  it('cannot be submitted: 409 before anything is written or dispatched', async () => {
    const refused = await call(`/v1/cases/${opened.id}/submit`, {
      body: {},
      headers: { 'idempotency-key': 'seized-flat-0001' },
    });
    expect(refused.status).toBe(409);
    const problem = await problemOf(refused);
    expect(problem.code).toBe('restriction_blocks_acceptance');
    expect(problem['messageZh']).toContain('查封');
    expect(await gw.services.db.select().from(deliveries).where(eq(deliveries.caseId, opened.id))).toEqual([]);
    const read = await ok<CaseBody>(await call(`/v1/cases/${opened.id}`));
    expect(read.status).toBe('open');
    // The refusal is the key's answer: repeating it gets the same refusal, not a second attempt.
    const [key] = await gw.services.db
      .select()
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.key, 'seized-flat-0001'));
    expect(key?.responseStatus).toBe(409);
  });
});

describe('a flat under an objection (异议登记) or pre-noticed (预告登记)', () => {
  const restricted = [
    {
      kind: 'objection',
      holder: { identifier: '33010619760912003X', name: '赵志刚' },
      flat: '浙(2019)杭州市不动产权第0211408号',
      restriction: { kind: 'objection', registeredOn: '2025-10-14', party: '杭州恒达建设工程有限公司' },
      message: {
        zh: '不予受理：该不动产已于2025年10月14日办理异议登记（申请人：杭州恒达建设工程有限公司）。',
        en: 'Not acceptable: an objection by 杭州恒达建设工程有限公司 is registered since 2025-10-14.',
      },
      zhWord: '异议登记',
    },
    {
      kind: 'pre_notice',
      holder: { identifier: '330106198102270041', name: '孙雅琴' },
      flat: '浙(2021)杭州市不动产权第0264315号',
      restriction: { kind: 'pre_notice', registeredOn: '2025-06-30', party: '杭州西湖云栖科技有限公司' },
      message: {
        zh: '不予受理：该不动产已于2025年6月30日办理预告登记（权利人：杭州西湖云栖科技有限公司）。',
        en: 'Not acceptable: a pre-notice registration for 杭州西湖云栖科技有限公司 since 2025-06-30.',
      },
      zhWord: '预告登记',
    },
  ];

  it.each(restricted)(
    '$kind: the notice says not acceptable once the certificate is fetched, and submitting is 409 with nothing written',
    async ({ kind, holder, flat, restriction, message, zhWord }) => {
      const seller = (
        await ok<{ id: string }>(
          await call('/v1/subjects/resolve', { body: { identifierType: 'resident_id', ...holder }, headers: purpose }),
          201,
        )
      ).id;
      const opened = await openTransfer(seller, flat);
      expect(entry(opened, 'title')).toMatchObject({ state: 'fetchable', reference: flat, blocks: [] });
      const notice = await fetchForCase(opened.id);
      expect(entry(notice, 'title')).toMatchObject({
        state: 'fetched',
        blocks: [{ code: 'restriction_blocks_acceptance', restriction, message }],
      });
      expect(notice.notice).toMatchObject({ acceptable: false, readyToSubmit: false });

      const events = await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.id));
      const attached = await gw.services.db.select().from(caseMaterials).where(eq(caseMaterials.caseId, opened.id));
      const refused = await call(`/v1/cases/${opened.id}/submit`, {
        body: {},
        headers: { 'idempotency-key': `restricted-flat-${kind}` },
      });
      expect(refused.status).toBe(409);
      const problem = await problemOf(refused);
      expect(problem.code).toBe('restriction_blocks_acceptance');
      expect(problem['messageZh']).toBe(message.zh);
      expect(problem['blocks']).toEqual([
        { requirementCode: 'title', code: 'restriction_blocks_acceptance', restriction, message },
      ]);
      expect(String(problem.detail)).toContain(zhWord);
      // Nothing written: no delivery, no event, the requirements as they were, the case still open.
      expect(await gw.services.db.select().from(deliveries).where(eq(deliveries.caseId, opened.id))).toEqual([]);
      expect(await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.id))).toHaveLength(
        events.length,
      );
      expect(await gw.services.db.select().from(caseMaterials).where(eq(caseMaterials.caseId, opened.id))).toEqual(
        attached,
      );
      const [row] = await gw.services.db.select().from(cases).where(eq(cases.id, opened.id));
      expect(row).toMatchObject({ status: 'open', submittedAt: null });

      // A second case about the same flat reuses the stored certificate: not acceptable at opening already.
      const again = await openTransfer(seller, flat);
      expect(entry(again, 'title')).toMatchObject({ state: 'reused', blocks: [{ restriction, message }] });
      expect(again.notice.acceptable).toBe(false);
    },
  );
});

describe('the item catalogue binds requirements', () => {
  it('refuses a requirement bound to a form field the form does not define', async () => {
    const admin = await gw.tokenFor('admin');
    const refused = await call('/v1/items/bound_item', {
      method: 'PUT',
      token: admin,
      body: {
        name: 'Bound item',
        nameZh: '绑定事项',
        kind: 'promised',
        subjectKind: 'person',
        departments: ['NRB'],
        statutoryDays: 5,
        promisedDays: 3,
        formSchema: { type: 'object', properties: { titleNo: { type: 'string' } } },
        materials: [
          {
            requirementCode: 'title',
            name: 'Title',
            acceptedTypes: ['real_estate_certificate'],
            formReference: 'certificateNo',
            blockingRestrictions: ['seizure'],
          },
        ],
      },
    });
    expect(refused.status).toBe(422);
    expect(((await problemOf(refused))['problems'] as string[]).join(' ')).toContain('certificateNo');
  });
});

describe('parties of a case', () => {
  const buyerForm = (idNumber = LI_MEI.identifier) => ({
    certificateNo: SOLE_FLAT,
    transferee: { name: '李梅', idNumber },
    transferReason: 'sale',
  });
  const open = (body: Record<string, unknown>) =>
    call('/v1/cases', { body: { itemCode: 'real_estate_transfer', subjectId: zhangSan, ...body } });
  const caseCount = async () => (await gw.services.db.select({ id: cases.id }).from(cases)).length;

  it("names the buyer as a party: the buyer's own requirements are listed and reused from the buyer's record, per party", async () => {
    const opened = await ok<CaseBody>(
      await open({ form: buyerForm(), parties: [{ role: 'counterparty', subjectId: liMei }] }),
      201,
    );
    expect(opened.parties).toEqual([{ role: 'counterparty', subjectId: liMei }]);
    // 李梅's ID card was fetched for her own case above: reused for her as the buyer here.
    expect(entry(opened, 'buyer_identity')).toMatchObject({
      party: 'counterparty',
      partySubjectId: liMei,
      state: 'reused',
    });
    expect(entry(opened, 'applicant_identity')).toMatchObject({ party: 'applicant', partySubjectId: null });
    // No agent on this case: the agent's materials are not asked for.
    expect(opened.notice.entries.some((candidate) => candidate.requirementCode === 'power_of_attorney')).toBe(false);
    const buyer = entry(opened, 'buyer_identity');
    const stored = await ok<{ subjectId: string }>(
      await call(`/v1/subjects/${liMei}/materials/${buyer.material?.id}`, { headers: purpose }),
    );
    expect(stored.subjectId).toBe(liMei);
  });

  it('refuses a form naming a buyer whose ID number has a wrong check digit, before anything is written', async () => {
    const before = await caseCount();
    const refused = await open({ form: buyerForm('330106198503150121') });
    expect(refused.status).toBe(422);
    expect((await problemOf(refused)).code).toBe('id_number_check');
    expect(await caseCount()).toBe(before);
  });

  it('refuses a form whose buyer is not the party named as buyer', async () => {
    const refused = await open({
      form: { ...buyerForm(), transferee: { name: '王秀英', idNumber: '110105195203150021' } },
      parties: [{ role: 'counterparty', subjectId: liMei }],
    });
    expect(refused.status).toBe(422);
    expect((await problemOf(refused)).code).toBe('party_form_mismatch');
  });

  it('refuses roles the item does not have, the applicant as a party, and an organisation as agent', async () => {
    const notAllowed = await open({ form: buyerForm(), parties: [{ role: 'legal_representative', subjectId: liMei }] });
    expect((await problemOf(notAllowed)).code).toBe('party_role_not_allowed');
    const applicantAgain = await open({ form: buyerForm(), parties: [{ role: 'counterparty', subjectId: zhangSan }] });
    expect((await problemOf(applicantAgain)).code).toBe('party_duplicate');
    const company = (
      await ok<{ id: string }>(
        await call('/v1/subjects/resolve', {
          body: { identifierType: 'credit_code', identifier: '91330106MA2B7K1Q20', name: '杭州西湖云栖科技有限公司' },
          headers: purpose,
        }),
        201,
      )
    ).id;
    const companyAgent = await open({ form: buyerForm(), parties: [{ role: 'agent', subjectId: company }] });
    expect((await problemOf(companyAgent)).code).toBe('party_kind_mismatch');
  });

  it('refuses a case without a party the item requires (party_missing), in both languages, with nothing written', async () => {
    // The seeded transfer with the buyer required as a party.
    const seeded = await ok<Record<string, unknown> & { parties: { role: string }[] }>(
      await call('/v1/items/real_estate_transfer'),
    );
    const { code: _code, ...definition } = seeded;
    const saved = await call('/v1/items/transfer_buyer_required', {
      method: 'PUT',
      token: await gw.tokenFor('admin'),
      body: {
        ...definition,
        name: 'Transfer (buyer required)',
        parties: definition.parties.map((party) =>
          party.role === 'counterparty' ? { ...party, required: true } : party,
        ),
      },
    });
    expect([200, 201]).toContain(saved.status);
    const before = await caseCount();
    for (const [language, expected] of [
      ['zh-CN', '不动产转移登记（含户口迁入）须填写当事人：买受人（受让人）。'],
      ['en', 'Transfer (buyer required) needs Buyer (transferee) as a party of the case.'],
    ] as const) {
      const refused = await call('/v1/cases', {
        body: { itemCode: 'transfer_buyer_required', subjectId: zhangSan, form: buyerForm() },
        headers: { 'accept-language': language },
      });
      expect(refused.status).toBe(422);
      const problem = await problemOf(refused);
      expect(problem).toMatchObject({ code: 'party_missing', roles: ['counterparty'], detail: expected });
    }
    // An agent alone does not stand in for the buyer.
    const agentOnly = await call('/v1/cases', {
      body: {
        itemCode: 'transfer_buyer_required',
        subjectId: zhangSan,
        form: buyerForm(),
        parties: [{ role: 'agent', subjectId: liMei }],
      },
    });
    expect((await problemOf(agentOnly)).code).toBe('party_missing');
    expect(await caseCount()).toBe(before);
    // Named, it opens.
    const opened = await ok<CaseBody>(
      await call('/v1/cases', {
        body: {
          itemCode: 'transfer_buyer_required',
          subjectId: zhangSan,
          form: buyerForm(),
          parties: [{ role: 'counterparty', subjectId: liMei }],
        },
      }),
      201,
    );
    expect(opened.parties).toEqual([{ role: 'counterparty', subjectId: liMei }]);
  });

  it("refuses attaching a material to a party's requirement on a case without that party (party_missing)", async () => {
    const opened = await ok<CaseBody>(await open({ form: buyerForm() }), 201);
    expect(opened.parties).toEqual([]);
    const events = await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.id));
    const [idCard] = await gw.services.db
      .select({ id: materials.id })
      .from(materials)
      .where(eq(materials.subjectId, liMei))
      .limit(1);
    const refused = await call(`/v1/cases/${opened.id}/materials`, {
      body: { requirementCode: 'buyer_identity', materialId: idCard?.id ?? 'mat_none' },
    });
    expect(refused.status).toBe(422);
    expect(await problemOf(refused)).toMatchObject({ code: 'party_missing', roles: ['counterparty'] });
    expect(await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.id))).toHaveLength(
      events.length,
    );
  });

  it("an agent brings the agent's identity and a power of attorney, listed as the agent's", async () => {
    const agent = (
      await ok<{ id: string }>(
        await call('/v1/subjects/resolve', {
          body: { identifierType: 'resident_id', identifier: '110101199003070038', name: '王小明' },
          headers: purpose,
        }),
        201,
      )
    ).id;
    const opened = await ok<CaseBody>(
      await open({ form: buyerForm(), parties: [{ role: 'agent', subjectId: agent }] }),
      201,
    );
    expect(entry(opened, 'power_of_attorney')).toMatchObject({
      party: 'agent',
      partySubjectId: agent,
      state: 'missing',
    });
    expect(entry(opened, 'agent_identity')).toMatchObject({ party: 'agent', partySubjectId: agent });
  });
});

describe('two buyers (a married couple) as counterparty', () => {
  const WANG_JIANGUO = { identifier: '320102197807120033', name: '王建国' };
  const coupleForm = (transferee: { name: string; identifier: string }) => ({
    certificateNo: SOLE_FLAT,
    transferee: { name: transferee.name, idNumber: transferee.identifier },
    transferReason: 'sale',
  });
  const buyers = (body: CaseBody) =>
    body.notice.entries.filter((candidate) => candidate.requirementCode === 'buyer_identity');
  const buyerEntry = (body: CaseBody, subjectId: string) => {
    const found = buyers(body).find((candidate) => candidate.partySubjectId === subjectId);
    if (!found) throw new Error(`no buyer_identity for ${subjectId}`);
    return found;
  };
  const caseCount = async () => (await gw.services.db.select({ id: cases.id }).from(cases)).length;
  let wangJianguo: string;

  beforeAll(async () => {
    wangJianguo = await resolved('resident_id', WANG_JIANGUO.identifier, WANG_JIANGUO.name);
    // 李梅's ID card is on file; 王建国's is not yet.
    await onFile(liMei, ['resident_id_card']);
  });

  const openCouple = async (transferee = WANG_JIANGUO) =>
    call('/v1/cases', {
      body: {
        itemCode: 'real_estate_transfer',
        subjectId: zhangSan,
        // The form names one transferee: one of the buyers named as parties (here the second).
        form: coupleForm(transferee),
        parties: [
          { role: 'counterparty', subjectId: liMei },
          { role: 'counterparty', subjectId: wangJianguo },
        ],
      },
    });

  it("lists each buyer's ID card, reuses and fetches per buyer, the next case reuses both, and NRB gets the first buyer", async () => {
    const opened = await ok<CaseBody>(await openCouple(), 201);
    expect(opened.parties).toEqual([
      { role: 'counterparty', subjectId: liMei },
      { role: 'counterparty', subjectId: wangJianguo },
    ]);
    expect(buyers(opened)).toHaveLength(2);
    expect(buyerEntry(opened, liMei)).toMatchObject({ party: 'counterparty', state: 'reused' });
    expect(await ownerOf(buyerEntry(opened, liMei).material?.id)).toBe(liMei);
    expect(buyerEntry(opened, wangJianguo)).toMatchObject({
      party: 'counterparty',
      state: 'fetchable',
      material: null,
    });

    // The case's fetch asks PSB for 王建国's own ID card and attaches it to his requirement only.
    const fetched = await fetchForCase(opened.id);
    expect(buyerEntry(fetched, wangJianguo)).toMatchObject({ state: 'fetched' });
    expect(await ownerOf(buyerEntry(fetched, wangJianguo).material?.id)).toBe(wangJianguo);
    expect(await ownerOf(buyerEntry(fetched, liMei).material?.id)).toBe(liMei);
    const rows = await gw.services.db.select().from(caseMaterials).where(eq(caseMaterials.caseId, opened.id));
    expect(
      rows
        .filter((row) => row.requirementCode === 'buyer_identity')
        .map((row) => row.partySubjectId)
        .sort(),
    ).toEqual([liMei, wangJianguo].sort());
    expect(rows.find((row) => row.requirementCode === 'applicant_identity')?.partySubjectId).toBeNull();
    // Showing the case with 王建国's card is a use of his data: on his own record, with the request's purpose.
    const shownToWang = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.subjectRef, wangJianguo), eq(auditEntries.action, 'case.fetch_certificates')));
    expect(shownToWang.map((entry) => [entry.caseRef, entry.materialTypes])).toEqual([
      [opened.caseNumber, ['resident_id_card']],
    ]);

    // The next case of the same couple reuses each buyer's own card.
    const again = await ok<CaseBody>(await openCouple(LI_MEI), 201);
    expect(buyerEntry(again, liMei)).toMatchObject({ state: 'reused' });
    expect(buyerEntry(again, wangJianguo)).toMatchObject({ state: 'reused' });
    expect(await ownerOf(buyerEntry(again, wangJianguo).material?.id)).toBe(wangJianguo);

    // Submitted, the registry's transfer (one transferee in its contract) names the first buyer.
    expect(fetched.notice.readyToSubmit).toBe(true);
    const submitted = await ok<CaseBody>(
      await call(`/v1/cases/${opened.id}/submit`, { body: {}, headers: { 'idempotency-key': 'two-buyers-0001' } }),
    );
    expect(submitted.status).toBe('submitted');
    await gw.services.deliveryWorker.runOnce();
    const nrbDelivery = (await gw.services.db.select().from(deliveries).where(eq(deliveries.caseId, opened.id))).find(
      (row) => row.departmentCode === 'NRB',
    );
    expect(nrbDelivery?.status).toBe('delivered');
    const application = nrb
      .applications()
      .find((candidate) => candidate.applicationNo === nrbDelivery?.departmentReference);
    expect(application?.transferee).toMatchObject({ name: LI_MEI.name, idNumber: LI_MEI.identifier });
    // PSB moves in the buyer the form names, one of the two.
    const psbDelivery = (await gw.services.db.select().from(deliveries).where(eq(deliveries.caseId, opened.id))).find(
      (row) => row.departmentCode === 'PSB',
    );
    expect(psbDelivery?.status).toBe('delivered');
  });

  it('attaches a material to the second buyer by naming him; without the name, or naming someone else, it is refused', async () => {
    const opened = await ok<CaseBody>(await openCouple(), 201);
    const [hisCard] = await gw.services.db
      .select({ id: materials.id })
      .from(materials)
      .where(eq(materials.subjectId, wangJianguo))
      .limit(1);
    if (!hisCard) throw new Error('no material of 王建国');
    const events = async () =>
      (await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.id))).length;
    const before = await events();
    for (const [language, detail] of [
      ['en', 'The case has 2 subjects as counterparty: name whose "Identity of the buyer" this is (partySubjectId).'],
      ['zh-CN', '该办件有 2 位 counterparty 当事人，须指明“Identity of the buyer”属于哪一位（partySubjectId）。'],
    ] as const) {
      const unnamed = await call(`/v1/cases/${opened.id}/materials`, {
        body: { requirementCode: 'buyer_identity', materialId: hisCard.id },
        headers: { 'accept-language': language },
      });
      expect(unnamed.status).toBe(422);
      expect(await problemOf(unnamed)).toMatchObject({
        code: 'party_subject_required',
        partySubjectIds: [liMei, wangJianguo],
        detail,
      });
    }
    const notAParty = await call(`/v1/cases/${opened.id}/materials`, {
      body: { requirementCode: 'buyer_identity', materialId: hisCard.id, partySubjectId: zhangSan },
    });
    expect((await problemOf(notAParty)).code).toBe('party_subject_unknown');
    // His card is not hers.
    const wrongBuyer = await call(`/v1/cases/${opened.id}/materials`, {
      body: { requirementCode: 'buyer_identity', materialId: hisCard.id, partySubjectId: liMei },
    });
    expect((await problemOf(wrongBuyer)).code).toBe('material_not_accepted');
    expect(await events()).toBe(before);

    const attached = await ok<CaseBody>(
      await call(`/v1/cases/${opened.id}/materials`, {
        body: { requirementCode: 'buyer_identity', materialId: hisCard.id, partySubjectId: wangJianguo },
      }),
    );
    expect(buyerEntry(attached, wangJianguo)).toMatchObject({ state: 'reused', material: { id: hisCard.id } });
    expect(buyerEntry(attached, liMei).material?.id).not.toBe(hisCard.id);
    const [event] = (await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.id))).filter(
      (row) => row.kind === 'material_attached',
    );
    expect(event?.detail).toMatchObject({ requirementCode: 'buyer_identity', partySubjectId: wangJianguo });
  });

  it('refuses a form whose transferee is neither buyer, the same buyer twice, and an agent twice; nothing written', async () => {
    const before = await caseCount();
    const mismatch = await openCouple({ name: '王秀英', identifier: '110105195203150021' });
    expect(mismatch.status).toBe(422);
    expect(await problemOf(mismatch)).toMatchObject({ code: 'party_form_mismatch', role: 'counterparty' });

    const twice = await call('/v1/cases', {
      body: {
        itemCode: 'real_estate_transfer',
        subjectId: zhangSan,
        form: coupleForm(LI_MEI),
        parties: [
          { role: 'counterparty', subjectId: liMei },
          { role: 'counterparty', subjectId: liMei },
        ],
      },
    });
    expect(twice.status).toBe(422);
    expect(await problemOf(twice)).toMatchObject({ code: 'party_duplicate', subjectIds: [liMei] });

    for (const [language, detail] of [
      [
        'en',
        'A case names one agent; only co_applicant, counterparty may name several subjects (two buyers, co-owners).',
      ],
      ['zh-CN', '办件只能填写一个 agent；只有 co_applicant, counterparty 可以填写多人（如两位买受人、多位共有人）。'],
    ] as const) {
      const agents = await call('/v1/cases', {
        body: {
          itemCode: 'real_estate_transfer',
          subjectId: zhangSan,
          form: coupleForm(LI_MEI),
          parties: [
            { role: 'agent', subjectId: liMei },
            { role: 'agent', subjectId: wangJianguo },
          ],
        },
        headers: { 'accept-language': language },
      });
      expect(agents.status).toBe(422);
      expect(await problemOf(agents)).toMatchObject({ code: 'party_role_single', roles: ['agent'], detail });
    }
    expect(await caseCount()).toBe(before);
  });
});

describe('a co-owner applying with the seller (co_applicant)', () => {
  it("is listed with the co-owner's own ID card, reused from the co-owner's record, and the case goes through", async () => {
    const wang = await resolved('resident_id', '110105195203150021', '王秀英');
    // 王秀英's ID card on file (from PSB): it is hers, and reused for her as the co-applicant.
    await onFile(wang, ['resident_id_card']);
    const opened = await ok<CaseBody>(
      await call('/v1/cases', {
        body: {
          itemCode: 'real_estate_transfer',
          subjectId: zhangSan,
          // The jointly owned flat: both owners dispose of it.
          form: transferForm(JOINT_MORTGAGED_FLAT),
          parties: [{ role: 'co_applicant', subjectId: wang }],
        },
      }),
      201,
    );
    expect(opened.parties).toEqual([{ role: 'co_applicant', subjectId: wang }]);
    expect(entry(opened, 'co_owner_identity')).toMatchObject({
      party: 'co_applicant',
      partySubjectId: wang,
      state: 'reused',
      material: { typeCode: 'resident_id_card' },
    });
    expect(await ownerOf(entry(opened, 'co_owner_identity').material?.id)).toBe(wang);
    expect(opened.notice.entries.some((candidate) => candidate.requirementCode === 'buyer_identity')).toBe(false);
    const fetched = await fetchForCase(opened.id);
    expect(entry(fetched, 'title')).toMatchObject({ reference: JOINT_MORTGAGED_FLAT, blocks: [] });
    // The seller's own ID card is his, hers stays hers.
    expect(await ownerOf(entry(fetched, 'applicant_identity').material?.id)).toBe(zhangSan);
    expect(await ownerOf(entry(fetched, 'co_owner_identity').material?.id)).toBe(wang);
    expect(fetched.notice.readyToSubmit).toBe(true);
    const submitted = await ok<CaseBody>(
      await call(`/v1/cases/${opened.id}/submit`, { body: {}, headers: { 'idempotency-key': 'co-applicant-0001' } }),
    );
    expect(submitted.status).toBe('submitted');
    expect(submitted.parties).toEqual([{ role: 'co_applicant', subjectId: wang }]);
    // Her access log shows the case that named her.
    const audit = await gw.services.db.select().from(auditEntries).where(eq(auditEntries.subjectRef, wang));
    expect(audit.some((row) => row.action === 'case.open' && row.fields.includes('party:co_applicant'))).toBe(true);
  });
});

describe('an organisation applying through its legal representative (legal_representative)', () => {
  it("lists the legal representative's ID card, reuses the representative's own, and is decided and delivered to AMR", async () => {
    const company = await resolved('credit_code', '91330106MA2B7K1Q20', '杭州西湖云栖科技有限公司');
    // 李梅 is the company's legal representative (法定代表人) at AMR; her ID card is on file.
    await onFile(liMei, ['resident_id_card']);
    const reissue = (parties: { role: string; subjectId: string }[]) =>
      call('/v1/cases', {
        body: { itemCode: 'business_licence_reissue', subjectId: company, form: { reason: 'lost' }, parties },
      });
    // Without a legal representative named, the representative's ID card is not asked for.
    const alone = await ok<CaseBody>(await reissue([]), 201);
    expect(alone.notice.entries.map((candidate) => candidate.requirementCode)).not.toContain(
      'legal_representative_identity',
    );
    // An organisation cannot be a legal representative.
    const other = await resolved('credit_code', '91110105MA01C8XN3W', '北京朝阳晨光餐饮管理有限公司');
    expect((await problemOf(await reissue([{ role: 'legal_representative', subjectId: other }]))).code).toBe(
      'party_kind_mismatch',
    );

    const opened = await ok<CaseBody>(await reissue([{ role: 'legal_representative', subjectId: liMei }]), 201);
    expect(opened.parties).toEqual([{ role: 'legal_representative', subjectId: liMei }]);
    expect(entry(opened, 'legal_representative_identity')).toMatchObject({
      party: 'legal_representative',
      partySubjectId: liMei,
      state: 'reused',
      material: { typeCode: 'resident_id_card' },
    });
    expect(await ownerOf(entry(opened, 'legal_representative_identity').material?.id)).toBe(liMei);
    expect(entry(opened, 'licence')).toMatchObject({ party: 'applicant', state: 'fetchable' });
    const fetched = await fetchForCase(opened.id);
    expect(entry(fetched, 'licence').state).toBe('fetched');
    expect(fetched.notice.readyToSubmit).toBe(true);
    // 即办件: decided at the window; AMR gets the record.
    const decided = await ok<CaseBody>(
      await call(`/v1/cases/${opened.id}/submit`, { body: {}, headers: { 'idempotency-key': 'legal-rep-0001' } }),
    );
    expect(decided.status).toBe('completed');
    await gw.services.deliveryWorker.runOnce();
    const [delivery] = await gw.services.db.select().from(deliveries).where(eq(deliveries.caseId, opened.id));
    expect(delivery).toMatchObject({ departmentCode: 'AMR', status: 'delivered' });
  });
});

describe('a certificate number that is not the subject’s', () => {
  // No one holds the first; the second is 李梅's seized flat: both are answered alike, so the refusal never says whether another holder has it.
  const UNKNOWN_FLAT = '浙(2024)杭州市不动产权第0099999号';
  const materialsOf = async (subjectId: string) =>
    (await gw.services.db.select({ id: materials.id }).from(materials).where(eq(materials.subjectId, subjectId)))
      .length;

  it.each([UNKNOWN_FLAT, SEIZED_FLAT])(
    'asked for alone (%s) is 422 certificate_not_held, audited, nothing stored',
    async (number) => {
      const before = await materialsOf(zhangSan);
      const refused = await call(`/v1/subjects/${zhangSan}/certificates`, {
        body: { types: ['real_estate_certificate'], numbers: { real_estate_certificate: number } },
        headers: purpose,
      });
      expect(refused.status).toBe(422);
      const problem = await problemOf(refused);
      expect(problem).toMatchObject({
        code: 'certificate_not_held',
        certificateType: 'real_estate_certificate',
        certificateNumber: number,
      });
      expect(String(problem['detail'])).toContain(number);
      expect(JSON.stringify(problem)).not.toContain('李');
      expect(await materialsOf(zhangSan)).toBe(before);
      const audit = await gw.services.db
        .select()
        .from(auditEntries)
        .where(eq(auditEntries.requestId, String(problem.requestId)));
      expect(audit).toContainEqual(
        expect.objectContaining({
          action: 'certificate.fetch',
          subjectRef: zhangSan,
          outcome: 'not_found',
          fields: ['department:NRB', 'refused:certificate_not_held'],
        }),
      );
    },
  );

  it('asked for with another type keeps the other answer and marks this one not_found with the code', async () => {
    const answer = await ok<{ results: CertificateAnswer[] }>(
      await call(`/v1/subjects/${zhangSan}/certificates`, {
        body: {
          types: ['real_estate_certificate', 'resident_id_card'],
          numbers: { real_estate_certificate: UNKNOWN_FLAT },
        },
        headers: purpose,
      }),
    );
    const byType = new Map(answer.results.map((result) => [result.certificateType, result]));
    expect(byType.get('real_estate_certificate')).toMatchObject({
      status: 'not_found',
      certificate: null,
      error: { code: 'certificate_not_held' },
    });
    expect(byType.get('resident_id_card')?.status).toBe('ok');
  });

  it('named in a transfer form is refused at the case’s fetch with the code, in both languages; nothing attached or dispatched', async () => {
    const opened = await openTransfer(zhangSan, UNKNOWN_FLAT);
    expect(entry(opened, 'title')).toMatchObject({ state: 'fetchable', reference: UNKNOWN_FLAT });
    const events = await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.id));
    const attachedBefore = await gw.services.db.select().from(caseMaterials).where(eq(caseMaterials.caseId, opened.id));
    const refused = await call(`/v1/cases/${opened.id}/certificates`, { body: {} });
    expect(refused.status).toBe(422);
    const problem = await problemOf(refused);
    expect(problem).toMatchObject({
      code: 'certificate_not_held',
      requirementCode: 'title',
      certificateType: 'real_estate_certificate',
      certificateNumber: UNKNOWN_FLAT,
      party: 'applicant',
    });
    const both = problem['message'] as { zh: string; en: string };
    expect(both.zh).toContain('申请人未持有该证照');
    expect(both.en).toContain('the applicant does not hold it');
    expect(await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.id))).toHaveLength(
      events.length,
    );
    expect(await gw.services.db.select().from(caseMaterials).where(eq(caseMaterials.caseId, opened.id))).toEqual(
      attachedBefore,
    );
    expect(await gw.services.db.select().from(deliveries).where(eq(deliveries.caseId, opened.id))).toEqual([]);
    const read = await ok<CaseBody>(await call(`/v1/cases/${opened.id}`));
    expect(read.status).toBe('open');
    expect(entry(read, 'title')).toMatchObject({ state: 'fetchable', material: null });
  });
});

describe('a flat held in shares (按份共有)', () => {
  it('carries each co-owner with their share, masked like the holder', async () => {
    const chen = (
      await ok<{ id: string }>(
        await call('/v1/subjects/resolve', {
          body: { identifierType: 'resident_id', identifier: '330106198806120041', name: '陈志强' },
          headers: purpose,
        }),
        201,
      )
    ).id;
    const answer = await ok<{ results: CertificateAnswer[] }>(
      await call(`/v1/subjects/${chen}/certificates`, {
        body: { types: ['real_estate_certificate'] },
        headers: purpose,
      }),
    );
    const [result] = answer.results;
    expect(result?.certificate).toMatchObject({
      certificateNumber: '浙(2023)杭州市不动产权第0187430号',
      shareType: 'shares',
      restrictions: [],
    });
    const holders = result?.certificate?.holders ?? [];
    expect(holders.map((holder) => [holder.name, holder.share])).toEqual([
      ['陈**', '60%'],
      ['刘*', '40%'],
    ]);
    expect(holders.every((holder) => holder.identifier.includes('*'))).toBe(true);
    expect(JSON.stringify(result)).not.toContain('330106199009180089');
  });
});
