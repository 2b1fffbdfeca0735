/**
 * From the registry's pinyin wire records to the gateway's terms. Pure functions; they assume the
 * record already passed the contract check and refuse (as `malformed`) only what a schema cannot
 * say, such as 20230231 as a date.
 */
import type {
  CaseSubmissionRequest,
  CertificateMetadata,
  DepartmentCaseStatus,
  IdentityAttributes,
} from '@onewindow/adapter-sdk';
import {
  moveInTypeCodes,
  psbCodes,
  type ApplicationStatusCode,
  type HouseholdRegisterWire,
  type MoveInApplicationWire,
  type MoveInTypeCode,
  type PersonWireFields,
  type ResidentIdCardWire,
  type VerifyIdentityWireResult,
} from './protocol.js';

export const RESIDENT_ID_CARD = 'resident_id_card';
export const HOUSEHOLD_REGISTER = 'household_register';

/** The wire word for "does not expire". */
export const NO_EXPIRY = '长期';

export class WireValueError extends Error {
  override readonly name = 'WireValueError';
}

/** `yyyyMMdd` → `YYYY-MM-DD`, refusing dates that do not exist. */
export function isoDateFromCompact(compact: string): string {
  if (!/^\d{8}$/.test(compact)) throw new WireValueError('a date is not yyyyMMdd');
  const iso = `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6, 8)}`;
  const parsed = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== iso)
    throw new WireValueError('a date does not exist');
  return iso;
}

/** `yyyyMMddHHmmss` in Beijing time (UTC+8) → an ISO 8601 instant in UTC, refusing times that do not exist. */
export function isoInstantFromCompactBeijing(compact: string): string {
  if (!/^\d{14}$/.test(compact)) throw new WireValueError('a time stamp is not yyyyMMddHHmmss');
  const date = isoDateFromCompact(compact.slice(0, 8));
  const [hour, minute, second] = [compact.slice(8, 10), compact.slice(10, 12), compact.slice(12, 14)].map(Number) as [
    number,
    number,
    number,
  ];
  if (hour > 23 || minute > 59 || second > 59) throw new WireValueError('a time of day does not exist');
  return new Date(
    `${date}T${compact.slice(8, 10)}:${compact.slice(10, 12)}:${compact.slice(12, 14)}+08:00`,
  ).toISOString();
}

/** `长期` → null (no expiry), otherwise the date. */
export function validUntilFromWire(value: string): string | null {
  return value.trim() === NO_EXPIRY ? null : isoDateFromCompact(value);
}

/** A person as the registry describes them, in English field names. */
export interface PopulationPerson {
  name: string;
  idNumber: string;
  sex: 'male' | 'female';
  /** GB/T 3304 ethnicity code, e.g. `01`. */
  ethnicityCode: string;
  /** `YYYY-MM-DD` */
  birthDate: string;
  address: string;
}

export function personFromWire(wire: PersonWireFields): PopulationPerson {
  return {
    name: wire.xm.trim(),
    idNumber: wire.sfzh.trim().toUpperCase(),
    sex: wire.xb === '1' ? 'male' : 'female',
    ethnicityCode: wire.mz,
    birthDate: isoDateFromCompact(wire.csrq),
    address: wire.zz,
  };
}

export function residentIdCardMetadata(wire: ResidentIdCardWire): CertificateMetadata {
  const person = personFromWire(wire);
  const validFrom = isoDateFromCompact(wire.yxqxq);
  return {
    certificateType: RESIDENT_ID_CARD,
    certificateNumber: wire.zjhm.trim().toUpperCase(),
    holderName: person.name,
    holderIdentifier: person.idNumber,
    issuingAuthority: wire.qfjg,
    // A card is issued on the first day of its validity.
    issueDate: validFrom,
    validFrom,
    validUntil: validUntilFromWire(wire.yxqjzrq),
    status: wire.zjzt === '1' ? 'valid' : 'revoked',
  };
}

export function householdRegisterMetadata(wire: HouseholdRegisterWire): CertificateMetadata {
  const person = personFromWire(wire);
  const registeredOn = isoDateFromCompact(wire.yxqxq);
  return {
    certificateType: HOUSEHOLD_REGISTER,
    certificateNumber: wire.zjhm.trim().toUpperCase(),
    holderName: person.name,
    holderIdentifier: person.idNumber,
    issuingAuthority: wire.qfjg,
    issueDate: registeredOn,
    validFrom: registeredOn,
    validUntil: validUntilFromWire(wire.yxqjzrq),
    status: wire.zjzt === '1' ? 'valid' : 'revoked',
  };
}

/** 办理状态 → the gateway's case status. */
export const caseStatusOf: Readonly<Record<ApplicationStatusCode, DepartmentCaseStatus>> = {
  '01': 'received',
  '02': 'in_progress',
  '03': 'awaiting_applicant',
  '04': 'completed',
  '05': 'rejected',
  // Withdrawn at the gateway's request (another department refused the joint case): concluded, not done.
  '06': 'rejected',
};

/** A case's form lacks what the registry needs, or holds a value it cannot take: our request is wrong. */
export class FormValueError extends Error {
  override readonly name = 'FormValueError';
}

/** The first non-empty string among `keys` of a form, trimmed. */
function formText(form: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = form[key];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/**
 * The form's words for 迁入类型, besides the codes themselves: the adapter's own vocabulary and the
 * seeded item catalogue's (`home_purchase`, `family_reunion`, `education`).
 */
const moveInTypeByWord: Readonly<Record<string, MoveInTypeCode>> = {
  purchase: moveInTypeCodes.purchase,
  home_purchase: moveInTypeCodes.purchase,
  relatives: moveInTypeCodes.relatives,
  family_reunion: moveInTypeCodes.relatives,
  employment: moveInTypeCodes.employment,
  education: moveInTypeCodes.education,
  other: moveInTypeCodes.other,
};

function moveInTypeOf(form: Record<string, unknown>, propertyCertificate: string | undefined): MoveInTypeCode {
  const given = formText(form, 'moveInReason', 'reason', 'qrlx');
  // Moving into a property the form names is a purchase move-in: the joint item "real-estate
  // transfer + household move-in" carries the property's certificate number and no reason.
  if (given === undefined) return propertyCertificate === undefined ? moveInTypeCodes.other : moveInTypeCodes.purchase;
  const codes: readonly MoveInTypeCode[] = Object.values(moveInTypeCodes);
  const code = Object.hasOwn(moveInTypeByWord, given)
    ? moveInTypeByWord[given]
    : codes.find((known) => known === given);
  if (code === undefined)
    throw new FormValueError(
      `the move-in reason must be one of ${Object.keys(moveInTypeByWord).join(', ')} (or ${codes.join(' ')})`,
    );
  return code;
}

const ID_NUMBER = /^\d{17}[\dX]$/;

/** The form's `transferee` `{name, idNumber}` as the moving person; undefined when the form has none. */
function formTransfereeOf(form: Record<string, unknown>): MoveInApplicationWire['sqr'] | undefined {
  const transferee = form['transferee'];
  if (typeof transferee !== 'object' || transferee === null || Array.isArray(transferee)) return undefined;
  const party = transferee as Record<string, unknown>;
  const name = formText(party, 'name');
  const idNumber = formText(party, 'idNumber')?.toUpperCase();
  if (name === undefined || idNumber === undefined || !ID_NUMBER.test(idNumber)) {
    throw new FormValueError(
      'the transferee who moves in needs a name and a resident ID number (an organisation has no household)',
    );
  }
  return { xm: name, sfzh: idNumber };
}

/**
 * Who moves in. In a transfer with move-in a buyer moves in, not the case's subject (the seller):
 * of the buyers named as the case's `counterparty` (subjects the gateway resolved and validated;
 * a married couple may be two), the one the form's `transferee` names — it must be one of them —
 * else the first named. Otherwise the subject, who must be a person.
 */
function movingPersonOf(request: CaseSubmissionRequest): MoveInApplicationWire['sqr'] {
  const fromForm = formTransfereeOf(request.form);
  const buyers = (request.parties ?? []).filter((party) => party.role === 'counterparty').map((party) => party.subject);
  if (buyers.length > 0) {
    const buyer =
      fromForm === undefined
        ? buyers[0]
        : buyers.find(
            (candidate) => candidate.kind === 'person' && candidate.idNumber.trim().toUpperCase() === fromForm.sfzh,
          );
    if (buyer === undefined)
      throw new FormValueError("the form's transferee is none of the buyers named as the case's counterparty");
    if (buyer.kind !== 'person')
      throw new FormValueError('the buyer who moves in must be a person (an organisation has no household)');
    return { xm: buyer.name.trim(), sfzh: buyer.idNumber.trim().toUpperCase() };
  }
  if (fromForm !== undefined) return fromForm;
  const { subject } = request;
  if (subject.kind !== 'person')
    throw new FormValueError('a household move-in is applied for by a person, not an organisation');
  return { xm: subject.name.trim(), sfzh: subject.idNumber.trim().toUpperCase() };
}

/** 随迁人员 from the form's `accompanyingPersons: [{name, idNumber, relation}]`. */
function accompanyingPersonsOf(form: Record<string, unknown>): MoveInApplicationWire['sqry'] {
  const value = form['accompanyingPersons'];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new FormValueError('accompanyingPersons must be a list');
  return value.map((entry: unknown, index) => {
    const person =
      typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? (entry as Record<string, unknown>) : {};
    const name = formText(person, 'name');
    const idNumber = formText(person, 'idNumber')?.toUpperCase();
    const relation = formText(person, 'relation');
    if (name === undefined || idNumber === undefined || !ID_NUMBER.test(idNumber) || relation === undefined) {
      throw new FormValueError(`accompanyingPersons[${index}] needs a name, a resident ID number and a relation`);
    }
    return { xm: name, sfzh: idNumber, yhzgx: relation };
  });
}

/**
 * A case submission as the registry's move-in application. Form members read (English keys, the
 * item catalogue's, or the registry's own): `moveInAddress` / `moveToAddress` / `qrdz`,
 * `moveOutAddress` / `qcdz`, `certificateNo` / `bdcqzh` (the property's certificate number; without
 * an address the registry takes the property's), `moveInReason` / `reason` / `qrlx`,
 * `accompanyingPersons`, and `transferee` (who moves in after a transfer, unless the case names the
 * buyer as its `counterparty`: then that party, and the form's transferee must agree). The whole form also
 * travels as `bdsj`.
 */
export function moveInApplicationOf(request: CaseSubmissionRequest): MoveInApplicationWire {
  const { form } = request;
  const sqr = movingPersonOf(request);
  const qrdz = formText(form, 'moveInAddress', 'moveToAddress', 'qrdz');
  const bdcqzh = formText(form, 'certificateNo', 'bdcqzh');
  if (qrdz === undefined && bdcqzh === undefined)
    throw new FormValueError(
      'the form names neither a moveInAddress (迁入地址) nor the certificateNo of the property moved into',
    );
  const qcdz = formText(form, 'moveOutAddress', 'qcdz');
  const sqry = accompanyingPersonsOf(form);
  return {
    ywlsh: request.idempotencyKey,
    ajbh: request.caseNumber,
    sxbm: request.itemCode,
    sqr,
    qrlx: moveInTypeOf(form, bdcqzh),
    ...(qrdz === undefined ? {} : { qrdz }),
    ...(qcdz === undefined ? {} : { qcdz }),
    ...(bdcqzh === undefined ? {} : { bdcqzh }),
    ...(sqry === undefined ? {} : { sqry }),
    clxx: request.materials.map((material) => ({
      cllx: material.typeCode,
      sha256: material.sha256.toLowerCase(),
      mtlx: material.mediaType,
      dx: material.size,
    })),
    bdsj: form,
  };
}

/** What a result code means for the gateway. */
export type CodeMeaning = 'success' | 'not_found' | 'rejected' | 'unavailable' | 'business_error';

/**
 * 1xxx: the registry did not accept our request (signature, clock, nonce, app key) → `rejected`;
 * 3001: it found our parameters invalid → `rejected` too (our bug, not a business answer);
 * 2001/2002/2003: no record → not found (the adapter turns it into a business error where the
 * capability has no "not found" answer); 9999: busy → `unavailable`; anything else →
 * `business_error`.
 */
export function meaningOfCode(code: string): CodeMeaning {
  if (code === psbCodes.success) return 'success';
  if (code === psbCodes.personNotFound || code === psbCodes.householdNotFound || code === psbCodes.applicationNotFound)
    return 'not_found';
  if (/^1\d{3}$/.test(code) || code === psbCodes.parameterInvalid) return 'rejected';
  if (code === psbCodes.systemBusy) return 'unavailable';
  return 'business_error';
}

/** 婚姻状况 (GB/T 2261.2) → the SDK's marital status; 90 未说明 says nothing. */
const maritalStatusOfCode: Readonly<Record<string, IdentityAttributes['maritalStatus']>> = {
  '10': 'unmarried',
  '20': 'married',
  '21': 'married',
  '22': 'married',
  '23': 'married',
  '30': 'widowed',
  '40': 'divorced',
  '90': undefined,
};

/**
 * The typed facts a matching verification carries (contract 1.3.0): the marital status and since
 * when; nothing when the registry sends none or 90 (未说明). A day that does not exist is refused.
 */
export function identityAttributesOf(wire: VerifyIdentityWireResult): IdentityAttributes | undefined {
  const maritalStatus = wire.hyzk === undefined ? undefined : maritalStatusOfCode[wire.hyzk];
  if (maritalStatus === undefined) return undefined;
  return {
    maritalStatus,
    ...(wire.hyzkbgrq === undefined ? {} : { maritalStatusSince: isoDateFromCompact(wire.hyzkbgrq) }),
  };
}
