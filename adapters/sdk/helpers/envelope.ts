/**
 * The `{code, msg, data}` envelope many government systems answer with — on HTTP 200 whatever
 * happened. `readEnvelope` reads the verdict from a table of codes: the success code(s) hand back
 * `data`, "no record" codes give `not_found`, every other code is an error of the SDK's kinds. A
 * code the table does not know is `business_error` by default (the department said no, in a way
 * nobody told us about) — HTTP 200 with an error code is never a success.
 */
import { DepartmentError, type DepartmentErrorKind } from '../errors.js';

export interface Envelope<Data = unknown> {
  code: string;
  msg?: string;
  data?: Data;
}

/** What a code means: success, no record, or one of the error kinds. */
export type EnvelopeMeaning = 'success' | 'not_found' | DepartmentErrorKind;

export interface EnvelopeTable {
  /** Code → meaning. Codes are compared as strings (`0` and `"0"` alike). */
  codes: Readonly<Record<string, EnvelopeMeaning>>;
  /** The meaning of a code not in `codes`. Default `business_error`. */
  otherwise?: DepartmentErrorKind;
  /**
   * Meanings whose `msg` is the department's fixed reason (safe to show the window and applicant)
   * and kept as `departmentMessage`. Default: `business_error` only.
   */
  keepMessageFor?: readonly DepartmentErrorKind[];
}

export type EnvelopeResult<Data> = { outcome: 'success'; data: Data | undefined } | { outcome: 'not_found' };

export interface EnvelopeContext {
  department: string;
  operation: string;
  /** Prefix of error messages, e.g. the adapter kind. */
  source: string;
  status?: number;
}

/** Reads the envelope's code by the table; throws `DepartmentError` for error codes. */
export function readEnvelope<Data>(
  envelope: Envelope<Data>,
  table: EnvelopeTable,
  context: EnvelopeContext,
): EnvelopeResult<Data> {
  const code = String(envelope.code);
  const meaning: EnvelopeMeaning = Object.hasOwn(table.codes, code)
    ? (table.codes[code] as EnvelopeMeaning)
    : (table.otherwise ?? 'business_error');
  if (meaning === 'success') return { outcome: 'success', data: envelope.data };
  if (meaning === 'not_found') return { outcome: 'not_found' };
  const keep = (table.keepMessageFor ?? ['business_error']).includes(meaning);
  const message = typeof envelope.msg === 'string' ? envelope.msg.trim() : '';
  throw new DepartmentError(meaning, `${context.source}: the department answered code ${code} (${meaning})`, {
    department: context.department,
    operation: context.operation,
    departmentCode: code,
    ...(context.status === undefined ? {} : { status: context.status }),
    ...(keep && message !== '' ? { departmentMessage: message } : {}),
  });
}
