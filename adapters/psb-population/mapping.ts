/**
 * From the registry's pinyin wire records to the gateway's terms. Pure functions; they assume the
 * record already passed the contract check and refuse (as `malformed`) only what a schema cannot
 * say, such as 20230231 as a date.
 */
import type { CertificateMetadata } from '../sdk/types.js';
import { psbCodes, type HouseholdRegisterWire, type PersonWireFields, type ResidentIdCardWire } from './protocol.js';

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
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== iso) throw new WireValueError('a date does not exist');
  return iso;
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

/** What a result code means for the gateway. */
export type CodeMeaning = 'success' | 'not_found' | 'rejected' | 'unavailable' | 'business_error';

/**
 * 1xxx: the registry did not accept our request (signature, clock, nonce, app key) → `rejected`;
 * 3001: it found our parameters invalid → `rejected` too (our bug, not a business answer);
 * 2001/2002: no record → not found; 9999: busy → `unavailable`; anything else → `business_error`.
 */
export function meaningOfCode(code: string): CodeMeaning {
  if (code === psbCodes.success) return 'success';
  if (code === psbCodes.personNotFound || code === psbCodes.householdNotFound) return 'not_found';
  if (/^1\d{3}$/.test(code) || code === psbCodes.parameterInvalid) return 'rejected';
  if (code === psbCodes.systemBusy) return 'unavailable';
  return 'business_error';
}
