/**
 * The item catalogue (政务服务事项): per item, the departments a case goes to, its kind, its
 * statutory and promised time limits in working days, the JSON Schema of its application form, and
 * the materials it requires — each with the material types that satisfy it, whether it is
 * optional, and whether it may be accepted missing and supplied within N working days (容缺).
 *
 * Per department the item names the submission type its cases are delivered as (`submissions`),
 * one the department's adapter declares; an item is saved only when every department can take its
 * cases (`deliverability.ts`).
 *
 * A realistic set is seeded at start (missing items only: an administrator's changes stay); an
 * administrator replaces an item with `PUT /v1/items/{code}`.
 */
import { asc, eq, inArray } from 'drizzle-orm';
import type { ReferenceData } from '../access/reference-data.js';
import type { Database, Queryable } from '../db/client.js';
import { type ItemGuideColumn, itemMaterials, items, materialTypes } from '../db/schema.js';
import { ApiError, message } from '../platform/errors.js';
import { completedSubmissions, deliverabilityGaps, type ReceivingDepartments } from './deliverability.js';
import { compileFormSchema, nonLinearPatterns } from './form.js';
import type { RestrictionKind } from '../../adapters/sdk/types.js';
import { isResultDeliveryMethod, type ResultDeliveryMethod } from '../results/methods.js';

export type ItemKind = 'immediate' | 'promised' | 'joint' | 'escalated';

export interface ItemRequirement {
  requirementCode: string;
  name: string;
  /** Material types that satisfy it, most usual first. */
  acceptedTypes: string[];
  optional: boolean;
  /** 容缺: may be missing at submission and supplied within this many working days; null: never. */
  deferrableDays: number | null;
  /**
   * The form field that names the one certificate meant (e.g. `certificateNo`): a certificate is
   * reused, fetched and accepted for this requirement only with that number. Null: any.
   */
  formReference: string | null;
  /** Restrictions on the certificate's right that make the case unacceptable (a seized flat cannot be transferred). */
  blockingRestrictions: RestrictionKind[];
  /** Whose material: the applicant's, or that of the case's party in this role (listed only when the case has that party). */
  party: PartyRole;
}

/** 申请人, 共同申请人, 相对人 (the other side: buyer, seller), 代办人, 法定代表人. */
export const PARTY_ROLES = ['applicant', 'co_applicant', 'counterparty', 'agent', 'legal_representative'] as const;
export type PartyRole = (typeof PARTY_ROLES)[number];

/**
 * The roles a case may name several subjects in: two buyers (a married couple) as counterparty,
 * the co-owners applying with the seller. An agent and a legal representative are one person;
 * a party's requirements are repeated per subject of its role (each buyer's ID card).
 */
export const SEVERAL_SUBJECT_ROLES: ReadonlySet<PartyRole> = new Set(['co_applicant', 'counterparty']);

/** A party a case of the item has besides its applicant. */
export interface ItemParty {
  role: Exclude<PartyRole, 'applicant'>;
  name: string;
  nameZh: string;
  /** A case cannot be opened without it. */
  required: boolean;
  /**
   * The form field that also names this party (`{name, idNumber}`, e.g. the transfer's `transferee`):
   * its ID number must be valid and, when the party is named, be the party's.
   */
  formField?: string;
}

export const RESTRICTION_KINDS = [
  'mortgage',
  'seizure',
  'objection',
  'pre_notice',
] as const satisfies readonly RestrictionKind[];

export interface ItemDefinition {
  code: string;
  name: string;
  nameZh: string;
  kind: ItemKind;
  subjectKind: 'person' | 'organisation' | null;
  departments: string[];
  statutoryDays: number;
  promisedDays: number;
  /** An escalated item (上报件): the level of centre that decides it (null: the accepting centre). */
  decidingLevel: CentreLevel | null;
  formSchema: Record<string, unknown>;
  /**
   * A joint item approved in stages (e.g. NRB registration first, then PSB and tax in parallel):
   * the departments of each stage in order; a stage starts when the one before has completed.
   * Null: every department at once.
   */
  stages: string[][] | null;
  /** A joint item whose departments' parts stand alone: a refusal leaves the others (partially_rejected). */
  allowsPartial: boolean;
  /** The parties a case has besides its applicant (the buyer, an agent), each a resolved subject. */
  parties: ItemParty[];
  /** Per department, the submission type its cases are delivered as (`{"NRB": "transfer_registration"}`). */
  submissions: Record<string, string>;
  /** How the result may reach the applicant, the usual first; the window picks one at opening (results/methods.ts). */
  resultDeliveries: ResultDeliveryMethod[];
  /**
   * What the result is when a department issues it as a certificate: its material type and the
   * issuing department. Needed to offer `electronic` (电子证照): the gateway then expects that
   * department to hand the document over at completion. Absent or null: no declared result.
   */
  resultCertificate?: ItemResultCertificate | null;
  /** The published guide (办事指南), public by design; absent or null: not written yet. */
  guide?: ItemGuide | null;
  active: boolean;
  materials: ItemRequirement[];
}

/** 办事指南: legal basis, conditions, procedure, fees, where to go, online-ability, trips (schema.ts). */
export type ItemGuide = ItemGuideColumn;

export interface ItemResultCertificate {
  certificateType: string;
  department: string;
}

export type CentreLevel = 'province' | 'city' | 'county' | 'town' | 'village';

const requirement = (
  requirementCode: string,
  name: string,
  acceptedTypes: string[],
  options: {
    optional?: boolean;
    deferrableDays?: number;
    formReference?: string;
    blockingRestrictions?: RestrictionKind[];
    party?: PartyRole;
  } = {},
): ItemRequirement => ({
  requirementCode,
  name,
  acceptedTypes,
  optional: options.optional ?? false,
  deferrableDays: options.deferrableDays ?? null,
  formReference: options.formReference ?? null,
  blockingRestrictions: options.blockingRestrictions ?? [],
  party: options.party ?? 'applicant',
});

const partySchema = {
  type: 'object',
  required: ['name', 'idNumber'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 50 },
    idNumber: { type: 'string', pattern: '^[0-9A-Za-z]{15,18}$' },
  },
};

/** The seed items' guides (办事指南), written as a centre publishes them. */
const seedGuides: Record<string, ItemGuide> = {
  enterprise_establishment: {
    legalBasis: [
      { title: '《中华人民共和国公司法》', article: '第二十九条' },
      { title: '《中华人民共和国市场主体登记管理条例》', article: '第十九条' },
    ],
    conditions: [
      '有符合公司章程规定的全体股东认缴的出资额',
      '有公司名称，建立符合要求的组织机构',
      '有公司住所，住所使用证明真实有效',
    ],
    procedure: [
      { name: '申请', description: '通过一网通办平台在线填报，或到综合受理窗口提交申请材料' },
      { name: '受理', description: '综合受理窗口一次性告知所需材料，材料齐全、符合法定形式的当场受理' },
      { name: '审核', description: '市场监管部门对申请材料进行审查，作出准予登记或不予登记的决定' },
      { name: '发证', description: '准予登记的，核发营业执照，同步生成电子营业执照' },
    ],
    fee: { free: true },
    whereToGo: '市政务服务中心一楼综合受理窗口（企业开办专区），工作日 9:00-17:00',
    onlineLevel: 'fully_online',
    maxTrips: 0,
    samples: [
      {
        requirementCode: 'articles',
        title: '有限责任公司章程（示范文本）',
        url: '/samples/articles-of-association.docx',
      },
    ],
    notes: '申请人可选择窗口领取或电子营业执照，全程网办零跑动。',
  },
  real_estate_transfer: {
    legalBasis: [
      { title: '《中华人民共和国民法典》', article: '第二百零九条' },
      { title: '《不动产登记暂行条例》', article: '第十四条' },
      { title: '《中华人民共和国户口登记条例》', article: '第十三条' },
    ],
    conditions: [
      '不动产权属清楚，未被查封，无异议登记或预告登记',
      '转让方与受让方身份真实，已签订买卖、赠与或互换合同',
      '已依法缴纳契税；办理户口迁入的，迁入人在该不动产处取得合法稳定住所',
    ],
    procedure: [
      { name: '申请', description: '转让双方（或代办人）到综合受理窗口提出申请，一窗受理不动产登记与户口迁入' },
      { name: '受理', description: '窗口核验身份并调取不动产权证书、户口簿等电子证照，一次性告知缺少的材料' },
      { name: '审核', description: '不动产登记机构审核并登簿，公安机关同步办理户口迁入' },
      { name: '登簿发证', description: '核发新的不动产权证书，可窗口领取或邮寄送达' },
    ],
    fee: {
      free: false,
      amountYuan: '80',
      basis:
        '《国家发展改革委 财政部关于不动产登记收费标准等有关问题的通知》（发改价格规〔2016〕2559号）：住宅每件80元',
    },
    whereToGo: '市政务服务中心二楼不动产登记综合窗口，工作日 9:00-17:00',
    onlineLevel: 'online_application',
    maxTrips: 1,
    notes: '婚姻状况证明、契税完税证明可容缺受理，在规定的工作日内补交。',
  },
  household_move_in: {
    legalBasis: [{ title: '《中华人民共和国户口登记条例》', article: '第十三条' }],
    conditions: ['在本市有合法稳定住所（自有住房或依法登记的租赁住房）', '符合本市户口迁入政策'],
    procedure: [
      { name: '申请', description: '到综合受理窗口或派出所户籍窗口提出申请' },
      { name: '审核', description: '公安机关审核迁入条件' },
      { name: '办结', description: '准予迁入的，办理落户并签发户口簿' },
    ],
    fee: { free: true },
    whereToGo: '市政务服务中心一楼公安综合窗口，或户籍所在地派出所',
    onlineLevel: 'online_application',
    maxTrips: 1,
  },
  business_licence_reissue: {
    legalBasis: [{ title: '《中华人民共和国市场主体登记管理条例实施细则》', article: '第六十三条' }],
    conditions: ['营业执照遗失或者毁损', '市场主体处于存续状态'],
    procedure: [
      { name: '申请', description: '在线或到窗口提交补领申请' },
      { name: '办结', description: '即办件，当场核发营业执照' },
    ],
    fee: { free: true },
    whereToGo: '市政务服务中心一楼市场监管窗口',
    onlineLevel: 'fully_online',
    maxTrips: 0,
  },
  real_estate_mortgage_cancellation: {
    legalBasis: [
      { title: '《中华人民共和国民法典》', article: '第三百九十三条' },
      { title: '《不动产登记暂行条例实施细则》', article: '第七十四条' },
    ],
    conditions: ['主债权已消灭、抵押权人放弃抵押权或抵押权已实现'],
    procedure: [
      { name: '申请', description: '抵押人与抵押权人共同申请，或抵押权人单方申请' },
      { name: '上报', description: '镇街窗口受理后上报县级不动产登记机构审核' },
      { name: '登簿', description: '县级登记机构办理注销登记并登簿' },
    ],
    fee: { free: true },
    whereToGo: '镇（街道）便民服务中心综合窗口',
    onlineLevel: 'online_application',
    maxTrips: 1,
  },
};

/** Seed items: the three the reform's first "one thing" packages usually start with, and two more kinds. */
export const seedItems: readonly ItemDefinition[] = [
  {
    code: 'enterprise_establishment',
    name: 'Enterprise establishment registration',
    nameZh: '企业设立登记',
    kind: 'promised',
    subjectKind: 'person',
    departments: ['AMR'],
    submissions: { AMR: 'enterprise_establishment' },
    statutoryDays: 15,
    promisedDays: 3,
    decidingLevel: null,
    stages: null,
    allowsPartial: false,
    parties: [],
    // The registry issues the new enterprise's 营业执照 at approval; electronically it is the 电子营业执照.
    resultDeliveries: ['window_pickup', 'electronic'],
    resultCertificate: { certificateType: 'business_licence', department: 'AMR' },
    formSchema: {
      type: 'object',
      required: ['companyName', 'registeredCapital', 'businessScope'],
      additionalProperties: false,
      properties: {
        companyName: { type: 'string', minLength: 4, maxLength: 100 },
        registeredCapital: { type: 'string', minLength: 1, maxLength: 40 },
        businessScope: { type: 'string', minLength: 2, maxLength: 2000 },
        address: { type: 'string', maxLength: 200 },
      },
    },
    guide: seedGuides['enterprise_establishment'],
    active: true,
    materials: [
      requirement('applicant_identity', 'Identity of the legal representative', ['resident_id_card']),
      requirement('articles', 'Articles of association', ['articles_of_association']),
      requirement('premises', 'Proof of the registered address', ['real_estate_certificate', 'lease_contract']),
      requirement('authorisation', 'Power of attorney (when an agent applies)', ['power_of_attorney'], {
        optional: true,
      }),
    ],
  },
  {
    code: 'real_estate_transfer',
    name: 'Real-estate transfer registration with household move-in',
    nameZh: '不动产转移登记（含户口迁入）',
    kind: 'joint',
    subjectKind: 'person',
    departments: ['NRB', 'PSB'],
    submissions: { NRB: 'transfer_registration', PSB: 'household_move_in' },
    // The new title certificate is collected or posted; electronic issuing (电子不动产权证书) joins when it is built.
    resultDeliveries: ['window_pickup', 'express'],
    statutoryDays: 30,
    promisedDays: 5,
    decidingLevel: null,
    stages: null,
    allowsPartial: false,
    // The buyer, a co-owner and an agent are parties with their own materials; the form's transferee must agree with the buyer.
    parties: [
      {
        role: 'counterparty',
        name: 'Buyer (transferee)',
        nameZh: '买受人（受让人）',
        required: false,
        formField: 'transferee',
      },
      // A jointly owned flat (共同共有) is disposed of by all its owners: the other owner applies with the seller.
      {
        role: 'co_applicant',
        name: 'Co-owner applying with the seller',
        nameZh: '共有人（共同申请人）',
        required: false,
      },
      { role: 'agent', name: 'Agent acting for the seller', nameZh: '代办人', required: false },
    ],
    formSchema: {
      type: 'object',
      required: ['certificateNo', 'transferee', 'transferReason'],
      additionalProperties: false,
      properties: {
        certificateNo: { type: 'string', minLength: 4, maxLength: 64 },
        transferee: partySchema,
        transferReason: { type: 'string', enum: ['sale', 'gift', 'exchange'] },
        price: { type: 'string', maxLength: 40 },
      },
    },
    guide: seedGuides['real_estate_transfer'],
    active: true,
    materials: [
      requirement('applicant_identity', 'Identity of the transferor', ['resident_id_card']),
      // A mortgaged flat may be transferred (Civil Code art. 406); a seized one, one under objection or pre-noticed to another may not.
      requirement('title', 'Real-estate title certificate', ['real_estate_certificate'], {
        formReference: 'certificateNo',
        blockingRestrictions: ['seizure', 'objection', 'pre_notice'],
      }),
      requirement('household', 'Household register', ['household_register']),
      requirement('marital_status', 'Proof of marital status', ['marriage_certificate', 'divorce_certificate'], {
        deferrableDays: 5,
      }),
      requirement('tax', 'Deed tax payment certificate', ['tax_clearance_certificate'], { deferrableDays: 10 }),
      requirement('buyer_identity', 'Identity of the buyer', ['resident_id_card'], { party: 'counterparty' }),
      requirement('co_owner_identity', 'Identity of the co-owner', ['resident_id_card'], { party: 'co_applicant' }),
      requirement('agent_identity', 'Identity of the agent', ['resident_id_card'], { party: 'agent' }),
      requirement('power_of_attorney', 'Power of attorney for the agent', ['power_of_attorney'], { party: 'agent' }),
    ],
  },
  {
    code: 'household_move_in',
    name: 'Household registration move-in',
    nameZh: '户口迁入登记',
    kind: 'promised',
    subjectKind: 'person',
    departments: ['PSB'],
    submissions: { PSB: 'household_move_in' },
    statutoryDays: 20,
    promisedDays: 5,
    decidingLevel: null,
    stages: null,
    allowsPartial: false,
    parties: [],
    resultDeliveries: ['window_pickup'],
    formSchema: {
      type: 'object',
      required: ['moveToAddress'],
      additionalProperties: false,
      properties: {
        moveToAddress: { type: 'string', minLength: 4, maxLength: 200 },
        reason: { type: 'string', enum: ['home_purchase', 'employment', 'family_reunion', 'education'] },
        certificateNo: {
          type: 'string',
          minLength: 4,
          maxLength: 64,
          description: 'Real-estate title number (needed when moving in after a home purchase)',
        },
        moveOutAddress: { type: 'string', maxLength: 200 },
      },
      // Moving in after a purchase: the registry checks the title.
      if: { properties: { reason: { const: 'home_purchase' } }, required: ['reason'] },
      then: { required: ['certificateNo'] },
    },
    guide: seedGuides['household_move_in'],
    active: true,
    materials: [
      requirement('applicant_identity', 'Identity card', ['resident_id_card']),
      requirement('household', 'Household register', ['household_register']),
      requirement('residence', 'Proof of lawful residence', ['real_estate_certificate', 'lease_contract'], {
        formReference: 'certificateNo',
      }),
      requirement('photo', 'Identity photo', ['id_photo'], { optional: true, deferrableDays: 3 }),
    ],
  },
  {
    code: 'business_licence_reissue',
    name: 'Business licence reissue (lost or damaged)',
    nameZh: '营业执照遗失补领',
    kind: 'immediate',
    subjectKind: 'organisation',
    departments: ['AMR'],
    submissions: { AMR: 'business_licence_reissue' },
    statutoryDays: 0,
    promisedDays: 0,
    decidingLevel: null,
    stages: null,
    allowsPartial: false,
    // The legal representative (法定代表人) signs the application for the enterprise; when named, their ID card is asked for.
    parties: [{ role: 'legal_representative', name: 'Legal representative', nameZh: '法定代表人', required: false }],
    resultDeliveries: ['window_pickup'],
    formSchema: {
      type: 'object',
      additionalProperties: false,
      properties: { reason: { type: 'string', enum: ['lost', 'damaged'] } },
    },
    guide: seedGuides['business_licence_reissue'],
    active: true,
    materials: [
      requirement('licence', 'Business licence on record', ['business_licence']),
      requirement('legal_representative_identity', 'Identity of the legal representative', ['resident_id_card'], {
        party: 'legal_representative',
      }),
      requirement('authorisation', 'Power of attorney (when an agent applies)', ['power_of_attorney'], {
        optional: true,
      }),
    ],
  },
  {
    code: 'real_estate_mortgage_cancellation',
    name: 'Mortgage cancellation registration (escalated to the county registry)',
    nameZh: '抵押权注销登记',
    kind: 'escalated',
    subjectKind: null,
    departments: ['NRB'],
    // Delivered as a mortgage cancellation, not as a transfer.
    submissions: { NRB: 'mortgage_cancellation' },
    statutoryDays: 10,
    promisedDays: 3,
    decidingLevel: 'county',
    stages: null,
    allowsPartial: false,
    parties: [],
    resultDeliveries: ['window_pickup'],
    formSchema: {
      type: 'object',
      required: ['certificateNo'],
      additionalProperties: true,
      properties: {
        certificateNo: { type: 'string', minLength: 4, maxLength: 64 },
        mortgagee: { type: 'string', minLength: 1, maxLength: 200 },
        cancellationReason: { type: 'string', enum: ['debt_repaid', 'mortgagee_waiver', 'realised', 'other'] },
      },
    },
    guide: seedGuides['real_estate_mortgage_cancellation'],
    active: true,
    materials: [
      requirement('title', 'Real-estate title certificate', ['real_estate_certificate'], {
        formReference: 'certificateNo',
      }),
    ],
  },
];

export type ItemRow = typeof items.$inferSelect;

function toDefinition(row: ItemRow, requirements: (typeof itemMaterials.$inferSelect)[]): ItemDefinition {
  return {
    code: row.code,
    name: row.name,
    nameZh: row.nameZh,
    kind: row.kind,
    subjectKind: row.subjectKind,
    departments: row.departments,
    statutoryDays: row.statutoryDays,
    promisedDays: row.promisedDays,
    decidingLevel: row.decidingLevel as CentreLevel | null,
    formSchema: row.formSchema,
    stages: row.stages ?? null,
    allowsPartial: row.allowsPartial,
    parties: row.parties as ItemParty[],
    submissions: row.submissions,
    resultDeliveries: row.resultDeliveries.filter(isResultDeliveryMethod),
    resultCertificate: row.resultCertificate ?? null,
    guide: row.guide ?? null,
    active: row.active,
    materials: requirements
      .sort((a, b) => a.position - b.position)
      .map((entry) => ({
        requirementCode: entry.requirementCode,
        name: entry.name,
        acceptedTypes: entry.acceptedTypes,
        optional: entry.optional,
        deferrableDays: entry.deferrableDays,
        formReference: entry.formReference,
        blockingRestrictions: entry.blockingRestrictions as RestrictionKind[],
        party: entry.party as PartyRole,
      })),
  };
}

async function writeRequirements(tx: Queryable, code: string, requirements: readonly ItemRequirement[]): Promise<void> {
  if (requirements.length === 0) return;
  await tx.insert(itemMaterials).values(
    requirements.map((entry, position) => ({
      itemCode: code,
      requirementCode: entry.requirementCode,
      name: entry.name,
      position,
      acceptedTypes: [...entry.acceptedTypes],
      optional: entry.optional,
      deferrableDays: entry.deferrableDays,
      formReference: entry.formReference,
      blockingRestrictions: [...entry.blockingRestrictions],
      party: entry.party,
    })),
  );
}

/** Adds the seed items that are missing; never touches one an administrator changed. */
export async function applySeedItems(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    for (const item of seedItems) {
      const { materials: requirements, ...row } = item;
      const inserted = await tx
        .insert(items)
        .values({ ...row, departments: [...row.departments] })
        .onConflictDoNothing()
        .returning({ code: items.code });
      if (inserted.length > 0) await writeRequirements(tx, item.code, requirements);
    }
  });
}

export async function listItems(db: Queryable): Promise<ItemDefinition[]> {
  const rows = await db.select().from(items).orderBy(asc(items.code));
  const requirements = await db.select().from(itemMaterials);
  return rows.map((row) =>
    toDefinition(
      row,
      requirements.filter((entry) => entry.itemCode === row.code),
    ),
  );
}

export async function findItem(db: Queryable, code: string): Promise<ItemDefinition | null> {
  const [row] = await db.select().from(items).where(eq(items.code, code));
  if (!row) return null;
  return toDefinition(row, await db.select().from(itemMaterials).where(eq(itemMaterials.itemCode, code)));
}

/** The item, or `unknown_item` naming the code (an inactive item counts as unknown for new cases). */
export async function requireItem(
  db: Queryable,
  code: string,
  options: { activeOnly?: boolean } = {},
): Promise<ItemDefinition> {
  return checkedItem(await findItem(db, code), code, options);
}

function checkedItem(item: ItemDefinition | null, code: string, options: { activeOnly?: boolean }): ItemDefinition {
  if (!item || (options.activeOnly && !item.active))
    throw new ApiError('unknown_item', message('item.public_not_found', { itemCode: code }), { itemCode: code });
  return item;
}

/** Definitions built from the in-memory rows, once per version of the rows (a new copy after a change). */
const definitionsOfRows = new WeakMap<object, ItemDefinition>();

/** `requireItem` from the reference data in memory: the hot paths (opening and submitting cases) read no catalogue rows. */
export async function requireItemFrom(
  reference: ReferenceData,
  db: Queryable,
  code: string,
  options: { activeOnly?: boolean } = {},
): Promise<ItemDefinition> {
  return reference.decideConfirmingRefusal(db, async () => {
    const entry = await reference.item(db, code);
    let definition = entry ? definitionsOfRows.get(entry) : undefined;
    if (entry && !definition) {
      definition = toDefinition(entry.row, [...entry.requirements]);
      definitionsOfRows.set(entry, definition);
    }
    return checkedItem(definition ?? null, code, options);
  });
}

/** What is wrong with an item's stages and partial rule: only joint items have them; stages name each department once. */
function stageProblems(definition: ItemDefinition): string[] {
  const problems: string[] = [];
  if (definition.allowsPartial && definition.kind !== 'joint')
    problems.push('only a joint item can end partially rejected (allowsPartial)');
  if (definition.stages === null) return problems;
  if (definition.kind !== 'joint') problems.push('only a joint item is approved in stages');
  const staged = definition.stages.flat();
  const twice = staged.filter((code, index) => staged.indexOf(code) !== index);
  if (twice.length > 0) problems.push(`stages name ${[...new Set(twice)].join(', ')} more than once`);
  const missing = definition.departments.filter((code) => !staged.includes(code));
  if (missing.length > 0) problems.push(`stages leave out ${missing.join(', ')}`);
  const extra = staged.filter((code) => !definition.departments.includes(code));
  if (extra.length > 0) problems.push(`stages name ${[...new Set(extra)].join(', ')}, not a department of the item`);
  if (definition.stages.some((stage) => stage.length === 0)) problems.push('a stage names no department');
  return problems;
}

/** What is wrong with an item's parties: each role once; a requirement's party must be one of them; a legal representative only for organisations. */
function partyProblems(definition: ItemDefinition): string[] {
  const problems: string[] = [];
  const roles = definition.parties.map((party) => party.role);
  const twice = roles.filter((role, index) => roles.indexOf(role) !== index);
  if (twice.length > 0) problems.push(`parties name the role ${[...new Set(twice)].join(', ')} more than once`);
  for (const entry of definition.materials) {
    if (entry.party !== 'applicant' && !roles.includes(entry.party))
      problems.push(
        `requirement ${entry.requirementCode} is the ${entry.party}'s, but the item names no ${entry.party}`,
      );
  }
  if (roles.includes('legal_representative') && definition.subjectKind === 'person')
    problems.push('a legal representative acts for an organisation; this item is for persons');
  return problems;
}

/**
 * What is wrong with an item's guide beyond its shape: a sample names a requirement of the item,
 * and the trips agree with the online-ability (an applicant cannot make zero trips to a window-only item).
 */
function guideProblems(definition: ItemDefinition): string[] {
  const guide = definition.guide;
  if (!guide) return [];
  const problems: string[] = [];
  const requirementCodes = new Set(definition.materials.map((entry) => entry.requirementCode));
  for (const sample of guide.samples ?? []) {
    if (!requirementCodes.has(sample.requirementCode))
      problems.push(`guide: the sample ${sample.title} names ${sample.requirementCode}, not a requirement of the item`);
  }
  if (guide.maxTrips === 0 && guide.onlineLevel !== 'fully_online')
    problems.push('guide: zero trips (零跑动) needs onlineLevel fully_online');
  const ownStep = new Set<string>();
  for (const step of guide.procedure) {
    if (ownStep.has(step.name)) problems.push(`guide: the procedure names the step ${step.name} twice`);
    ownStep.add(step.name);
  }
  return problems;
}

/** The stage (1 = first) a department's part of a case belongs to. */
export function stageOf(item: Pick<ItemDefinition, 'stages'>, departmentCode: string): number {
  if (item.stages === null) return 1;
  const index = item.stages.findIndex((stage) => stage.includes(departmentCode));
  return index < 0 ? 1 : index + 1;
}

/** The top-level property names a form schema defines. */
function formPropertyNames(schema: Record<string, unknown>): Set<string> {
  const properties = schema['properties'];
  return new Set(typeof properties === 'object' && properties !== null ? Object.keys(properties) : []);
}

/**
 * Creates or replaces an item and its requirements in one transaction, after two checks. It must
 * make sense (`item_invalid` with every problem): every accepted material type exists, requirement
 * codes are unique, the form schema compiles, the kind agrees with the departments (a joint item
 * has several). And its cases must be deliverable to every department (`item_not_deliverable`
 * with every gap, see `deliverability.ts`). Nothing is written otherwise. A department the item
 * names no submission type for gets its adapter's only one, when it declares exactly one.
 */
export async function upsertItem(
  db: Database,
  given: ItemDefinition,
  departments: ReceivingDepartments,
): Promise<{ item: ItemDefinition; created: boolean }> {
  const definition: ItemDefinition = {
    ...given,
    resultCertificate: given.resultCertificate ?? null,
    guide: given.guide ?? null,
    submissions: completedSubmissions(given, departments),
  };
  const problems: string[] = [];
  const codes = new Set<string>();
  for (const entry of definition.materials) {
    if (codes.has(entry.requirementCode)) problems.push(`requirement ${entry.requirementCode} is listed twice`);
    codes.add(entry.requirementCode);
  }
  if (definition.kind === 'joint' && new Set(definition.departments).size < 2)
    problems.push('a joint item is handled by two or more departments');
  if (definition.kind !== 'joint' && new Set(definition.departments).size > 1)
    problems.push(`a ${definition.kind} item is handled by one department; use kind "joint" for several`);
  if (definition.promisedDays > definition.statutoryDays)
    problems.push('the promised time limit cannot exceed the statutory one');
  const formFields = formPropertyNames(definition.formSchema);
  for (const entry of definition.materials) {
    if (entry.formReference !== null && !formFields.has(entry.formReference)) {
      problems.push(
        `requirement ${entry.requirementCode} binds to the form field ${entry.formReference}, which the formSchema does not define`,
      );
    }
  }
  problems.push(...stageProblems(definition), ...partyProblems(definition), ...guideProblems(definition));
  if (definition.decidingLevel !== null && definition.kind !== 'escalated')
    problems.push('only an escalated item names the level that decides it (decidingLevel)');
  const strangers = Object.keys(definition.submissions).filter((code) => !definition.departments.includes(code));
  if (strangers.length > 0) problems.push(`submissions name ${strangers.join(', ')}, not a department of the item`);
  if (definition.resultDeliveries.length === 0)
    problems.push('an item offers at least one result delivery method (resultDeliveries)');
  if (new Set(definition.resultDeliveries).size !== definition.resultDeliveries.length)
    problems.push('resultDeliveries names a method more than once');
  // Offered only when a department issues the result: a window must not promise an applicant what never comes.
  const declared = definition.resultCertificate ?? null;
  if (definition.resultDeliveries.includes('electronic') && declared === null) {
    problems.push(
      'electronic result delivery (电子证照) needs resultCertificate: the certificate type the result is and the department that issues it',
    );
  }
  if (declared !== null && !definition.departments.includes(declared.department)) {
    problems.push(`resultCertificate names ${declared.department}, not a department of the item`);
  }
  try {
    compileFormSchema(definition.formSchema);
  } catch (error) {
    problems.push(`formSchema: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const { pattern, problem } of nonLinearPatterns(definition.formSchema))
    problems.push(`formSchema: the pattern ${pattern} ${problem}`);
  const typeCodes = [
    ...new Set([
      ...definition.materials.flatMap((entry) => entry.acceptedTypes),
      ...(declared === null ? [] : [declared.certificateType]),
    ]),
  ];
  const known =
    typeCodes.length === 0
      ? []
      : await db.select({ code: materialTypes.code }).from(materialTypes).where(inArray(materialTypes.code, typeCodes));
  const unknownTypes = typeCodes.filter((code) => !known.some((row) => row.code === code));
  if (unknownTypes.length > 0) problems.push(`unknown material types ${unknownTypes.join(', ')}`);
  if (problems.length > 0)
    throw new ApiError('item_invalid', message('item.definition_invalid', { problems: problems.join('; ') }), {
      problems,
    });
  const gaps = deliverabilityGaps(definition, departments);
  if (gaps.length > 0) {
    throw new ApiError(
      'item_not_deliverable',
      message('item.not_deliverable', { gaps: gaps.map((gap) => gap.message).join(' ') }),
      { gaps },
    );
  }

  return db.transaction(async (tx) => {
    const { materials: requirements, ...row } = definition;
    const [existing] = await tx
      .select({ code: items.code })
      .from(items)
      .where(eq(items.code, definition.code))
      .for('update');
    await tx
      .insert(items)
      .values({ ...row, departments: [...row.departments] })
      .onConflictDoUpdate({
        target: items.code,
        set: { ...row, departments: [...row.departments], updatedAt: new Date() },
      });
    await tx.delete(itemMaterials).where(eq(itemMaterials.itemCode, definition.code));
    await writeRequirements(tx, definition.code, requirements);
    return { item: definition, created: !existing };
  });
}
