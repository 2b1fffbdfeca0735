/**
 * One error shape for every error a client sees: RFC 9457 problem details with a stable
 * machine-readable `code` and the request id. Codes are listed here with their status; their
 * titles and the details people read are in the message catalogues (messages/en.ts, zh-CN.ts).
 * New capabilities add their codes to this table and a title in both catalogues (a code without
 * one does not compile) rather than inventing statuses inline.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import type { AppEnv } from './context.js';
import { fieldProblem } from './field-problems.js';
import { maskPersonalText } from './identifier-masking.js';
import { type Bilingual, type Language, inLanguage, requestLanguage } from './language.js';
import { type Message, type TitleCode, formatMessage, isMessage, message, titleIn } from './messages/catalogue.js';

export { type Message, message } from './messages/catalogue.js';
import { requestLogger } from './request-logger.js';

export const errorCatalogue = {
  validation_failed: { status: 400 },
  malformed_json: { status: 400 },
  bad_request: { status: 400 },
  invalid_request: { status: 400 },
  unsupported_grant_type: { status: 400 },
  invalid_scope: { status: 400 },
  purpose_required: { status: 400 },
  purpose_unknown: { status: 400 },
  invalid_content_digest: { status: 400 },
  unsupported_digest_algorithm: { status: 400 },
  invalid_multipart: { status: 400 },
  unauthenticated: { status: 401 },
  invalid_token: { status: 401 },
  invalid_client: { status: 401 },
  insufficient_scope: { status: 403 },
  forbidden: { status: 403 },
  operator_required: { status: 400 },
  operator_unknown: { status: 403 },
  supervision_only: { status: 403 },
  oversight_only: { status: 403 },
  not_issuer: { status: 403 },
  case_handled_elsewhere: { status: 403 },
  centre_not_found: { status: 404 },
  centre_outside_your_tree: { status: 403 },
  centre_invalid: { status: 422 },
  centre_cycle: { status: 409 },
  representative_department_unknown: { status: 422 },
  representative_mobile_invalid: { status: 422 },
  item_not_offered_here: { status: 409 },
  no_deciding_centre: { status: 409 },
  centre_above_deciding_level: { status: 422 },
  promised_days_above_statutory: { status: 422 },
  centre_not_handling_item: { status: 409 },
  transfer_to_same_centre: { status: 409 },
  case_has_no_centre: { status: 409 },
  case_concluded: { status: 409 },
  client_centres_invalid: { status: 422 },
  not_found: { status: 404 },
  route_not_found: { status: 404 },
  method_not_allowed: { status: 405 },
  conflict: { status: 409 },
  request_timeout: { status: 408 },
  payload_too_large: { status: 413 },
  request_header_too_large: { status: 431 },
  unsupported_media_type: { status: 415 },
  unprocessable: { status: 422 },
  id_number_length: { status: 422 },
  id_number_characters: { status: 422 },
  id_number_division: { status: 422 },
  id_number_birth_date: { status: 422 },
  id_number_check: { status: 422 },
  credit_code_length: { status: 422 },
  credit_code_characters: { status: 422 },
  credit_code_authority: { status: 422 },
  credit_code_division: { status: 422 },
  credit_code_organisation_check: { status: 422 },
  credit_code_check: { status: 422 },
  id_number_permanent_residence: { status: 422 },
  nationality_not_applicable: { status: 422 },
  passport_length: { status: 422 },
  passport_characters: { status: 422 },
  passport_nationality_missing: { status: 422 },
  passport_nationality: { status: 422 },
  travel_permit_renewal_count: { status: 422 },
  travel_permit_format: { status: 422 },
  permanent_residence_length: { status: 422 },
  permanent_residence_characters: { status: 422 },
  permanent_residence_prefix: { status: 422 },
  permanent_residence_division: { status: 422 },
  permanent_residence_nationality: { status: 422 },
  permanent_residence_birth_date: { status: 422 },
  permanent_residence_check: { status: 422 },
  identifier_type_not_supported_by_department: { status: 422 },
  subject_name_mismatch: { status: 422 },
  digest_mismatch: { status: 422 },
  material_type_mismatch: { status: 415 },
  unknown_material_type: { status: 422 },
  certificate_cancelled: { status: 422 },
  material_not_current: { status: 409 },
  unknown_certificate_type: { status: 422 },
  certificate_type_not_for_subject: { status: 422 },
  envelope_malformed: { status: 422 },
  envelope_unknown_key: { status: 422 },
  envelope_signature_invalid: { status: 422 },
  witness_untrusted_checkpoint: { status: 422 },
  witness_conflict: { status: 409 },
  audit_witness_unreadable: { status: 503 },
  unknown_item: { status: 422 },
  item_invalid: { status: 422 },
  item_not_deliverable: { status: 422 },
  form_invalid: { status: 422 },
  item_not_for_subject: { status: 422 },
  requirement_unknown: { status: 422 },
  material_not_accepted: { status: 422 },
  materials_missing: { status: 422 },
  case_not_open: { status: 409 },
  result_delivery_not_offered: { status: 422 },
  result_delivery_address_required: { status: 422 },
  result_delivery_address_not_applicable: { status: 422 },
  result_not_for_pickup: { status: 409 },
  result_not_ready: { status: 409 },
  result_already_collected: { status: 409 },
  pickup_code_mismatch: { status: 422 },
  result_certificate_invalid: { status: 422 },
  result_document_not_available: { status: 409 },
  result_document_revoked: { status: 409 },
  seal_malformed: { status: 422 },
  seal_document_mismatch: { status: 422 },
  seal_signature_invalid: { status: 422 },
  seal_maker_signature_invalid: { status: 422 },
  seal_signer_not_in_seal: { status: 422 },
  seal_expired: { status: 422 },
  seal_not_yet_valid: { status: 422 },
  seal_untrusted: { status: 422 },
  pickup_code_locked: { status: 429 },
  case_not_rateable: { status: 409 },
  rating_exists: { status: 409 },
  rating_follow_up_not_open: { status: 409 },
  rating_answered_at_its_centre: { status: 403 },
  restriction_blocks_acceptance: { status: 409 },
  certificate_reference_mismatch: { status: 409 },
  certificate_not_held: { status: 422 },
  party_role_not_allowed: { status: 422 },
  party_duplicate: { status: 422 },
  party_missing: { status: 422 },
  party_kind_mismatch: { status: 422 },
  party_form_mismatch: { status: 422 },
  party_role_single: { status: 422 },
  party_subject_required: { status: 422 },
  party_subject_unknown: { status: 422 },
  idempotency_key_required: { status: 400 },
  idempotency_key_reused: { status: 422 },
  idempotency_in_progress: { status: 409 },
  department_not_receiving: { status: 503 },
  callback_unknown_case: { status: 404 },
  callback_wrong_department: { status: 403 },
  callback_replayed: { status: 409 },
  callback_stale: { status: 422 },
  case_already_final: { status: 409 },
  range_not_satisfiable: { status: 416 },
  precondition_failed: { status: 412 },
  rate_limited: { status: 429 },
  internal_error: { status: 500 },
  content_corrupted: { status: 503 },
  department_error: { status: 502 },
  department_rejected: { status: 502 },
  department_unavailable: { status: 503 },
  department_circuit_open: { status: 503 },
  department_overloaded: { status: 503 },
  department_connection_failed: { status: 502 },
  department_malformed_response: { status: 502 },
  department_response_too_large: { status: 502 },
  department_contract_violation: { status: 502 },
  department_wrong_subject: { status: 502 },
  department_not_allowed: { status: 502 },
  department_timeout: { status: 504 },
  unknown_department: { status: 404 },
  capability_not_offered: { status: 422 },
  no_identity_verifier: { status: 503 },
  identity_verification_not_applicable: { status: 422 },
  contract_invalid: { status: 422 },
  contract_catalogue_invalid: { status: 422 },
  contract_too_large: { status: 413 },
  contract_too_complex: { status: 422 },
  contract_breaking_change: { status: 409 },
  contract_version_exists: { status: 409 },
  contract_version_not_newer: { status: 409 },
  unknown_contract: { status: 404 },
  unknown_contract_version: { status: 404 },
  resource_not_shared: { status: 403 },
  resource_grant_required: { status: 403 },
  sharing_terms_owner_only: { status: 403 },
  provenance_authority: { status: 403 },
  presence_unproven: { status: 403 },
  access_request_decided: { status: 409 },
  calendar_invalid: { status: 422 },
  calendar_year_missing: { status: 503 },
  shutting_down: { status: 503 },
  database_unavailable: { status: 503 },
  service_unavailable: { status: 503 },
  gateway_timeout: { status: 504 },
} as const satisfies Record<TitleCode, { status: ContentfulStatusCode }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** A code's title in `language`, from the message catalogues. */
export function problemTitle(code: ErrorCode, language: Language): string {
  return titleIn(code, language);
}

/**
 * What went wrong in this case: a catalogue message (written in the reader's language), both
 * languages as text, or English alone (texts a person does not read, e.g. Hono's own messages).
 */
export type DetailText = string | Bilingual | Message;

/** `detail` in `language`. */
export function detailIn(detail: DetailText, language: Language): string {
  return isMessage(detail) ? formatMessage(detail, language) : inLanguage(detail, language);
}

/** Extra members a problem document may carry, e.g. `errors` for validation failures. */
export type ProblemExtras = Record<string, unknown>;

export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(
    readonly code: ErrorCode,
    /** What went wrong in this case, preferably a catalogue `message(…)`. */
    readonly detail?: DetailText,
    readonly extras: ProblemExtras = {},
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(
      detail === undefined ? titleIn(code, 'en') : detailIn(detail, 'en'),
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'ApiError';
    this.status = errorCatalogue[code].status;
    this.headers = options?.headers ?? {};
  }
  readonly headers: Record<string, string>;
}

/**
 * An error whose message a clerk or an applicant reads: `detail` in the request's language, and
 * both languages in `message` too ({zh, en}, the shape case notices and rating receipts use).
 */
export function bilingualError(
  code: ErrorCode,
  detail: Message,
  extras: ProblemExtras = {},
  options?: { headers?: Record<string, string> },
): ApiError {
  const both = { zh: formatMessage(detail, 'zh-CN'), en: formatMessage(detail, 'en') };
  return new ApiError(code, detail, { ...extras, message: both }, options);
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: ErrorCode;
  requestId?: string;
  [extra: string]: unknown;
}

/** `value` with identifier-shaped runs and mobile numbers masked in every string it holds (arrays and plain objects walked). */
function withIdentifiersMasked(value: unknown): unknown {
  if (typeof value === 'string') return maskPersonalText(value);
  if (Array.isArray(value)) return value.map(withIdentifiersMasked);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, withIdentifiersMasked(member)]));
  }
  return value;
}

/**
 * The problem document of `error`. Details and extras often name what was asked for (`No client
 * cli_…`, `There is no material type "…"`), which a caller may have filled with an ID number:
 * identifier-shaped runs in them are masked, whatever the route.
 */
export function problemDocument(
  error: ApiError,
  requestId: string | undefined,
  instance?: string,
  language: Language = 'zh-CN',
): ProblemDocument {
  return {
    ...(withIdentifiersMasked(error.extras) as ProblemExtras),
    type: `urn:onewindow:problem:${error.code}`,
    title: problemTitle(error.code, language),
    status: error.status,
    ...(error.detail === undefined ? {} : { detail: maskPersonalText(detailIn(error.detail, language)) }),
    ...(instance === undefined ? {} : { instance }),
    code: error.code,
    ...(requestId === undefined ? {} : { requestId }),
  };
}

/**
 * The problem's `instance`: this occurrence, named by the request id, never by the request path —
 * a path can carry an ID number (`/v1/subjects/11010519491231002X`), and a problem document is
 * logged and shown by whatever the caller is.
 */
export function problemInstance(requestId: string | undefined): string | undefined {
  return requestId === undefined ? undefined : `urn:onewindow:request:${requestId}`;
}

export function problemResponse(c: Context<AppEnv>, error: ApiError): Response {
  const requestId = c.get('requestId');
  // Before the request context ran there are no services: the shipped default then.
  const language = requestLanguage(c, c.get('services')?.config.defaultLanguage ?? 'zh-CN');
  const body = problemDocument(error, requestId, problemInstance(requestId), language);
  const response = c.body(JSON.stringify(body), error.status, {
    'Content-Type': 'application/problem+json',
    'Content-Language': language,
    ...error.headers,
  });
  return response;
}

const statusToCode: Partial<Record<number, ErrorCode>> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'rate_limited',
  502: 'department_error',
  503: 'service_unavailable',
  504: 'gateway_timeout',
};

/** Maps a Hono HTTPException (thrown by validators and middleware) to our error shape. */
function fromHttpException(exception: HTTPException): ApiError {
  if (exception.status === 400 && /JSON/i.test(exception.message)) {
    return new ApiError('malformed_json', message('request.malformed_json'));
  }
  const code = statusToCode[exception.status] ?? (exception.status >= 500 ? 'internal_error' : 'bad_request');
  // Hono's messages are short and English (e.g. a form body it could not parse): passed on as the
  // English detail, beside a Chinese one that says what happened in general.
  const general = message('request.not_handled', { status: exception.status });
  const english = exception.message || formatMessage(general, 'en');
  return new ApiError(code, { 'zh-CN': formatMessage(general, 'zh-CN'), en: english });
}

/**
 * The app's error handler, in three tiers: our errors as they are; Hono's HTTPExceptions by
 * status; anything else logged with its stack and answered with a bare 500.
 */
/** The request's logger; none when the error came before the request context ran. */
const loggerIfAny = (c: Context<AppEnv>): Logger | undefined => (c.get('services') ? requestLogger(c) : undefined);

export function handleError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof ApiError) {
    if (error.status >= 500) loggerIfAny(c)?.warn({ code: error.code, err: errorForLog(error) }, 'request failed');
    return problemResponse(c, error);
  }
  if (error instanceof HTTPException) return problemResponse(c, fromHttpException(error));
  if (isUnstorableCharacter(error)) {
    // Usually client data: PostgreSQL stores no NUL (U+0000) in text or jsonb. Logged (without the
    // values) because the text may also have come from a department's answer.
    loggerIfAny(c)?.warn({ err: errorForLog(error) }, 'text with U+0000 refused by the database');
    return problemResponse(
      c,
      new ApiError('validation_failed', message('request.nul_character'), {
        errors: [
          fieldProblem('(body)', 'text values may not contain U+0000 (NUL)', '文本中不能含有 U+0000（NUL）字符'),
        ],
      }),
    );
  }
  if (isDatabaseUnavailable(error)) {
    loggerIfAny(c)?.error({ err: errorForLog(error) }, 'database unavailable');
    return problemResponse(
      c,
      new ApiError(
        'database_unavailable',
        message('request.database_unavailable'),
        {},
        { headers: { 'Retry-After': '2' } },
      ),
    );
  }
  loggerIfAny(c)?.error({ err: errorForLog(error) }, 'unhandled error');
  return problemResponse(c, new ApiError('internal_error'));
}

/** Network-level and server-state errors from the database drivers, anywhere in the cause chain. */
const unavailableNetworkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECTION_CLOSED',
  'CONNECT_TIMEOUT',
]);
/** PostgreSQL SQLSTATEs meaning "not now": connection exceptions, too many connections, shutting down. */
const unavailableSqlStates = /^(08...|53300|57P01|57P02|57P03)$/;

export function isDatabaseUnavailable(error: unknown): boolean {
  for (
    let current: unknown = error, depth = 0;
    current instanceof Error && depth < 5;
    current = current.cause, depth += 1
  ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (unavailableNetworkCodes.has(code) || unavailableSqlStates.test(code))) return true;
  }
  return false;
}

/** SQLSTATEs of text the database cannot store: 22021 (NUL in text), 22P05 (\u0000 in jsonb). */
const unstorableCharacterSqlStates = new Set(['22021', '22P05']);

function isUnstorableCharacter(error: unknown): boolean {
  for (
    let current: unknown = error, depth = 0;
    current instanceof Error && depth < 5;
    current = current.cause, depth += 1
  ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && unstorableCharacterSqlStates.has(code)) return true;
  }
  return false;
}

/**
 * drizzle's query errors put the SQL text and the bound values (`Failed query: …\nparams: …`,
 * spanning lines) in their message and so in their stack: the values are resident ID numbers and
 * names, and the text is the schema. Neither is logged: the SQLSTATE and the database's own
 * message say what went wrong, the stack frames say which query. Whatever else a message carries
 * (a database message quoting a value, a URL) has identifier-shaped runs masked.
 */
function logSafeMessage(message: string): string {
  return maskPersonalText(
    message.replace(/Failed query: [\s\S]*$/, 'Failed query (SQL text and parameters are not logged)'),
  );
}

/** The SQLSTATE of a database error (postgres and PGlite both set `code`), anywhere in the cause chain. */
function sqlStateOf(error: Error): string | undefined {
  for (
    let current: unknown = error, depth = 0;
    current instanceof Error && depth < 5;
    current = current.cause, depth += 1
  ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** The error's class: its `name`, or its constructor's where `name` was left at "Error" (drizzle's errors). */
function typeOf(error: Error): string {
  return error.name === 'Error' && error.constructor.name !== '' ? error.constructor.name : error.name;
}

function stackFrames(error: Error, type: string, message: string): string | undefined {
  if (error.stack === undefined) return undefined;
  const frames = error.stack.split('\n').filter((line) => /^\s+at /.test(line));
  return [`${type}: ${message}`, ...frames].join('\n');
}

/** What is safe to log about an error: type, message, SQLSTATE and stack frames, never the values it carried. */
export function errorForLog(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const type = typeOf(error);
  const message = logSafeMessage(error.message);
  const cause =
    error.cause instanceof Error
      ? { type: typeOf(error.cause), message: logSafeMessage(error.cause.message) }
      : undefined;
  const sqlState = sqlStateOf(error);
  return {
    type,
    message,
    ...(sqlState ? { sqlState } : {}),
    stack: stackFrames(error, type, message),
    ...(cause ? { cause } : {}),
  };
}
