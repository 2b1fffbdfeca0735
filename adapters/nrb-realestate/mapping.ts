/**
 * From the registry's records to the gateway's terms. Pure functions over records that already
 * passed the contract check (dates are real `YYYY-MM-DD` dates by then: the contract says
 * `format: date`, which the checker enforces).
 */
import type {
  CertificateChoice,
  CertificateMetadata,
  CertificateRestriction,
  DepartmentCaseStatus,
  RestrictionKind,
  SubjectRef,
} from '@onewindow/adapter-sdk';
import type {
  ApplicationStatus,
  CertificateRecordWire,
  IdType,
  PartyWire,
  RestrictionWire,
  RightHolderWire,
} from './protocol.js';

/** The gateway's material-type code for 不动产权证书 (gateway/materials/catalogue.ts). */
export const REAL_ESTATE_CERTIFICATE = 'real_estate_certificate';

/** The registry's view of a subject: ID type and upper-case number, and the name. */
export function partyOf(subject: SubjectRef): PartyWire {
  return subject.kind === 'person'
    ? { idType: 'ID_CARD', idNumber: subject.idNumber.trim().toUpperCase(), name: subject.name.trim() }
    : { idType: 'USCC', idNumber: subject.creditCode.trim().toUpperCase(), name: subject.name.trim() };
}

/** The holder entry of `party` on the record, or undefined when the record is about others. */
export function holderEntry(
  record: CertificateRecordWire,
  party: { idType: IdType; idNumber: string },
): RightHolderWire | undefined {
  return record.rightHolders.find(
    (holder) => holder.idType === party.idType && holder.idNumber.toUpperCase() === party.idNumber,
  );
}

/**
 * Which of a holder's certificates answers "the holder's real-estate certificate": the gateway
 * asks for one certificate of a type, and a holder may have several. Valid (现势) certificates
 * come before cancelled (注销) ones, then the most recently registered (登簿) first, then the
 * certificate number, so the choice is stable whatever order the registry pages in. A holder whose
 * certificates are all cancelled gets the most recent cancelled one (reported as revoked), as a
 * business licence of a dissolved company is reported revoked rather than absent.
 */
export function chooseCertificate(records: readonly CertificateRecordWire[]): CertificateRecordWire | undefined {
  return [...records].sort((a, b) => {
    if (a.certificateStatus !== b.certificateStatus) return a.certificateStatus === 'VALID' ? -1 : 1;
    if (a.registeredAt !== b.registeredAt) return a.registeredAt < b.registeredAt ? 1 : -1;
    return a.certificateNo < b.certificateNo ? -1 : a.certificateNo > b.certificateNo ? 1 : 0;
  })[0];
}

/**
 * The metadata of a certificate for one of its holders. A title certificate does not expire
 * (`validUntil` null; the land-use term is a property of the right, not of the certificate); it is
 * valid from its registration (登簿) and issued on its issue date (发证). A seal or mortgage does
 * not revoke it; only cancellation (注销) does.
 */
export function certificateMetadata(
  record: CertificateRecordWire,
  holder: RightHolderWire,
  others: readonly CertificateRecordWire[] = [],
): CertificateMetadata {
  const alternatives = others.filter((other) => other.certificateNo !== record.certificateNo).map(choiceOf);
  return {
    certificateType: REAL_ESTATE_CERTIFICATE,
    certificateNumber: record.certificateNo,
    holderName: holder.name,
    holderIdentifier: holder.idNumber.toUpperCase(),
    issuingAuthority: record.registrationAuthority,
    issueDate: record.issueDate,
    validFrom: record.registeredAt,
    validUntil: null,
    status: statusOf(record),
    location: record.location,
    shareType: shareTypes[record.shareType],
    holders: record.rightHolders.map((entry) => ({
      name: entry.name,
      identifier: entry.idNumber.toUpperCase(),
      ...(entry.share ? { share: entry.share } : {}),
    })),
    restrictions: record.restrictions.map(restrictionOf),
    ...(alternatives.length > 0 ? { alternatives } : {}),
  };
}

/** 现势 is valid; 注销 (ended by a later registration: a transfer, a merger of flats) is cancelled, not revoked. */
function statusOf(record: CertificateRecordWire): CertificateMetadata['status'] {
  return record.certificateStatus === 'VALID' ? 'valid' : 'cancelled';
}

const shareTypes = { SOLE: 'sole', JOINT: 'joint', SHARED: 'shares' } as const satisfies Record<
  CertificateRecordWire['shareType'],
  CertificateMetadata['shareType']
>;
const restrictionKinds = {
  SEAL: 'seizure',
  MORTGAGE: 'mortgage',
  OBJECTION: 'objection',
  PRE_NOTICE: 'pre_notice',
} as const satisfies Record<RestrictionWire['type'], RestrictionKind>;

function restrictionOf(restriction: RestrictionWire): CertificateRestriction {
  return { kind: restrictionKinds[restriction.type], registeredOn: restriction.registeredAt, party: restriction.party };
}

function choiceOf(record: CertificateRecordWire): CertificateChoice {
  return {
    certificateNumber: record.certificateNo,
    status: statusOf(record),
    location: record.location,
  };
}

/**
 * The holder's certificate with this number (valid or cancelled), or undefined when the holder
 * holds none with it: a number of someone else's flat is not found, never shown.
 */
export function certificateNumbered(
  records: readonly CertificateRecordWire[],
  certificateNo: string,
): CertificateRecordWire | undefined {
  const wanted = normaliseCertificateNo(certificateNo);
  return records.find((record) => normaliseCertificateNo(record.certificateNo) === wanted);
}

/** Numbers compare without spaces and with full-width brackets as ASCII: 京（2015） = 京(2015). */
export function normaliseCertificateNo(value: string): string {
  return value.normalize('NFKC').replace(/\s+/gu, '');
}

export const caseStatusOf: Readonly<Record<ApplicationStatus, DepartmentCaseStatus>> = {
  RECEIVED: 'received',
  UNDER_REVIEW: 'in_progress',
  SUPPLEMENT_REQUIRED: 'awaiting_applicant',
  REGISTERED: 'completed',
  REJECTED: 'rejected',
};

/** The first non-empty string among `keys` of a form. */
export function formText(form: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = form[key];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return undefined;
}

const RESIDENT_ID = /^\d{17}[\dX]$/;

/**
 * The transferee (受让人) of a transfer form, `{name, idNumber, idType?}`; the ID type follows
 * from the number's shape when not given. Undefined when the form has none (e.g. inheritance
 * cases where the heirs are named in the materials).
 */
export function transfereeOf(form: Record<string, unknown>): PartyWire | undefined {
  const value = form['transferee'];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const party = value as Record<string, unknown>;
  const name = formText(party, 'name');
  const idNumber = formText(party, 'idNumber')?.toUpperCase();
  if (name === undefined || idNumber === undefined) return undefined;
  const given = party['idType'];
  const idType: IdType =
    given === 'ID_CARD' || given === 'USCC' ? given : RESIDENT_ID.test(idNumber) ? 'ID_CARD' : 'USCC';
  return { name, idType, idNumber };
}
