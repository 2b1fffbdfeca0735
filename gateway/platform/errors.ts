/**
 * One error shape for every error a client sees: RFC 9457 problem details with a stable
 * machine-readable `code` and the request id. Codes are listed here with their status and title;
 * new capabilities add their codes to this table rather than inventing statuses inline.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import type { AppEnv } from './context.js';
import { errorTitlesZh } from './error-titles-zh.js';
import { maskIdentifiersInText } from './identifier-masking.js';
import { type Bilingual, type Language, inLanguage, requestLanguage } from './language.js';
import { requestLogger } from './request-logger.js';

export const errorCatalogue = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The request body is not well-formed JSON' },
  bad_request: { status: 400, title: 'Bad request' },
  invalid_request: { status: 400, title: 'The token request is missing or repeats a parameter' },
  unsupported_grant_type: { status: 400, title: 'Only the client_credentials grant is supported' },
  invalid_scope: { status: 400, title: 'A requested scope is unknown or not granted to this client' },
  purpose_required: { status: 400, title: 'Reading personal data needs a purpose: a case reference or a purpose code' },
  purpose_unknown: { status: 400, title: 'The purpose code is not one of the configured purpose codes' },
  invalid_content_digest: { status: 400, title: 'The Content-Digest header is not a valid RFC 9530 digest field' },
  unsupported_digest_algorithm: { status: 400, title: 'Content-Digest carries no sha-256 digest' },
  invalid_multipart: { status: 400, title: 'The multipart body is malformed or lacks its file part' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  invalid_token: { status: 401, title: 'The access token is missing, malformed, expired or not ours' },
  invalid_client: { status: 401, title: 'Client authentication failed' },
  insufficient_scope: { status: 403, title: 'The access token lacks a scope this operation needs' },
  forbidden: { status: 403, title: 'This client may not perform this operation' },
  operator_required: { status: 400, title: 'A window system of a service centre must name the operator' },
  operator_unknown: { status: 403, title: 'The operator is not registered at this service centre for this' },
  supervision_only: { status: 403, title: 'A case of a centre below is read for supervision only' },
  case_handled_elsewhere: { status: 403, title: 'The case is handled at another centre now' },
  centre_not_found: { status: 404, title: 'No such service centre' },
  centre_outside_your_tree: { status: 403, title: 'The centre is not at or below your own' },
  centre_invalid: { status: 422, title: 'The service centre is not valid' },
  centre_cycle: { status: 409, title: 'The move would put a centre below itself' },
  representative_department_unknown: {
    status: 422,
    title: 'No department system with this code is configured to have a chief representative',
  },
  representative_mobile_invalid: {
    status: 422,
    title: "The chief representative's mobile number is not a mainland mobile number",
  },
  item_not_offered_here: { status: 409, title: "The item is not offered at this window's service centre" },
  no_deciding_centre: { status: 409, title: 'No centre above decides this escalated item' },
  centre_above_deciding_level: { status: 422, title: 'The centre is above the level that decides this escalated item' },
  promised_days_above_statutory: { status: 422, title: 'A promised time limit cannot exceed the statutory one' },
  centre_not_handling_item: { status: 409, title: 'The target centre does not handle this item' },
  transfer_to_same_centre: { status: 409, title: 'The case is already at that centre' },
  case_has_no_centre: { status: 409, title: 'The case was accepted at no service centre' },
  case_concluded: { status: 409, title: 'The case is concluded' },
  client_centres_invalid: { status: 422, title: 'The client cannot serve these centres' },
  not_found: { status: 404, title: 'The resource does not exist or is not visible to this client' },
  route_not_found: { status: 404, title: 'No such route' },
  method_not_allowed: { status: 405, title: 'Method not allowed on this route' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  request_timeout: { status: 408, title: 'The request did not arrive in time' },
  payload_too_large: { status: 413, title: 'The request body is larger than allowed' },
  request_header_too_large: { status: 431, title: 'The request header fields are larger than allowed' },
  unsupported_media_type: { status: 415, title: 'The request body has an unsupported media type' },
  unprocessable: { status: 422, title: 'The request is well-formed but cannot be processed' },
  id_number_length: { status: 422, title: 'A resident ID number has 18 characters (or 15 in the old form)' },
  id_number_characters: { status: 422, title: 'A resident ID number has only digits, and X as its last character' },
  id_number_division: {
    status: 422,
    title: 'The resident ID number does not start with a valid administrative division',
  },
  id_number_birth_date: { status: 422, title: 'The birth date in the resident ID number is not a real past date' },
  id_number_check: {
    status: 422,
    title: 'The check character of the resident ID number is wrong (a digit is mistyped)',
  },
  credit_code_length: { status: 422, title: 'A unified social credit code has 18 characters' },
  credit_code_characters: {
    status: 422,
    title: 'A unified social credit code uses digits and letters other than I, O, S, V and Z',
  },
  credit_code_authority: {
    status: 422,
    title: 'The registration authority or institution category of the credit code is unknown',
  },
  credit_code_division: { status: 422, title: 'The credit code does not carry a valid administrative division' },
  credit_code_organisation_check: {
    status: 422,
    title: 'The organisation code inside the credit code has a wrong check character',
  },
  credit_code_check: {
    status: 422,
    title: 'The check character of the unified social credit code is wrong (a character is mistyped)',
  },
  id_number_permanent_residence: {
    status: 422,
    title: 'This is a foreign permanent resident ID card number: use the identifier type foreign_permanent_residence',
  },
  nationality_not_applicable: { status: 422, title: 'A nationality is given with passports only' },
  passport_length: { status: 422, title: 'A passport number has 5 to 20 characters' },
  passport_characters: { status: 422, title: 'A passport number has only letters A-Z and digits, without spaces' },
  passport_nationality_missing: {
    status: 422,
    title: 'A passport needs its nationality (ISO 3166-1 alpha-3, e.g. USA)',
  },
  passport_nationality: { status: 422, title: 'The nationality is not an ISO 3166-1 alpha-3 country code' },
  travel_permit_renewal_count: {
    status: 422,
    title: 'Leave out the 2-digit renewal count after the travel permit number',
  },
  travel_permit_format: {
    status: 422,
    title: 'A Mainland Travel Permit number is H or M and 8 digits, or 8 digits for Taiwan residents',
  },
  permanent_residence_length: {
    status: 422,
    title: 'A foreign permanent resident ID card number has 18 characters (or 15 on older cards)',
  },
  permanent_residence_characters: {
    status: 422,
    title: 'A permanent resident ID card number has 17 digits and a digit or X, or 3 letters and 12 digits',
  },
  permanent_residence_prefix: {
    status: 422,
    title: 'An 18-character permanent resident ID card number starts with 9: this looks like a resident ID number',
  },
  permanent_residence_division: {
    status: 422,
    title: 'The permanent resident ID card number does not carry a valid issuing province',
  },
  permanent_residence_nationality: {
    status: 422,
    title: 'The permanent resident ID card number does not carry a valid foreign nationality',
  },
  permanent_residence_birth_date: {
    status: 422,
    title: 'The birth date in the permanent resident ID card number is not a real past date',
  },
  permanent_residence_check: {
    status: 422,
    title: 'The check character of the permanent resident ID card number is wrong (a digit is mistyped)',
  },
  identifier_type_not_supported_by_department: {
    status: 422,
    title: 'Department systems are asked about persons by resident ID number only; this subject has another identifier',
  },
  subject_name_mismatch: { status: 422, title: 'The name does not match the name on file for this identifier' },
  digest_mismatch: { status: 422, title: 'The content does not have the digest announced in Content-Digest' },
  material_type_mismatch: {
    status: 415,
    title: 'The document format is not allowed for this material type, or not what was declared',
  },
  unknown_material_type: { status: 422, title: 'No material type has this code' },
  certificate_cancelled: {
    status: 422,
    title: 'The certificate was cancelled by its issuing department (ended by a later event) and cannot be attached',
  },
  material_not_current: { status: 409, title: 'The material is already revoked or superseded' },
  unknown_certificate_type: { status: 422, title: 'No department system issues certificates of this type' },
  certificate_type_not_for_subject: { status: 422, title: 'This certificate type belongs to another kind of subject' },
  envelope_malformed: { status: 422, title: 'The envelope is not a certificate envelope of this gateway' },
  envelope_unknown_key: { status: 422, title: 'The envelope names a key this gateway never signed with' },
  envelope_signature_invalid: {
    status: 422,
    title: 'The envelope signature does not verify: it was altered or forged',
  },
  witness_untrusted_checkpoint: {
    status: 422,
    title: 'The audit checkpoint is not signed by a key this witness trusts, or its signature does not match it',
  },
  witness_conflict: { status: 409, title: 'This witness already holds a different audit head at that position' },
  audit_witness_unreadable: {
    status: 503,
    title: "The gateway's audit witness file cannot be read, so the log cannot be compared with it",
  },
  unknown_item: { status: 422, title: 'There is no such service item' },
  item_invalid: { status: 422, title: 'The item definition is not valid; `problems` lists why' },
  item_not_deliverable: {
    status: 422,
    title: "The item's cases could not be delivered to its departments; `gaps` lists each department's problem",
  },
  form_invalid: {
    status: 422,
    title: "The application form does not satisfy the item's form schema; `errors` lists every problem",
  },
  item_not_for_subject: { status: 422, title: 'This item is for the other kind of subject (persons or organisations)' },
  requirement_unknown: { status: 422, title: 'The item has no such required material' },
  material_not_accepted: {
    status: 422,
    title: 'The material does not satisfy this requirement (type, subject or validity)',
  },
  materials_missing: {
    status: 422,
    title: 'Required materials are missing and may not be supplied later; `missing` lists them',
  },
  case_not_open: { status: 409, title: 'The case is no longer open for changes' },
  // Results reach the applicant (gateway/results).
  result_delivery_not_offered: { status: 422, title: 'The item does not offer this result delivery method' },
  result_delivery_address_required: { status: 422, title: 'Sending the result by courier needs the address' },
  result_delivery_address_not_applicable: { status: 422, title: 'Only a result sent by courier takes an address' },
  result_not_for_pickup: { status: 409, title: 'The result of this case is not collected at the window' },
  result_not_ready: { status: 409, title: 'The result is not ready yet: the case has not completed' },
  result_already_collected: { status: 409, title: 'The result was already collected' },
  pickup_code_mismatch: { status: 422, title: "The pick-up code is not this case's" },
  result_certificate_invalid: {
    status: 422,
    title: "The result document a department sent is not valid or not this item's result; nothing was applied",
  },
  result_document_not_available: {
    status: 409,
    title: 'The case has no electronic result document to download (not electronic, or not issued yet)',
  },
  pickup_code_locked: { status: 429, title: 'Too many wrong pick-up codes: collection is locked for a while' },
  // Satisfaction ratings (gateway/ratings).
  case_not_rateable: { status: 409, title: 'The case cannot be rated: only a completed case is rated' },
  rating_exists: { status: 409, title: 'The case has been rated already: a case is rated once' },
  rating_follow_up_not_open: {
    status: 409,
    title: 'The rating has no open follow-up: not a bad rating, or answered already',
  },
  rating_answered_at_its_centre: { status: 403, title: 'A bad rating is followed up at the centre of the rated case' },
  restriction_blocks_acceptance: {
    status: 409,
    title: "A restriction on the certificate's right (e.g. a seizure) makes the case unacceptable; `blocks` says which",
  },
  certificate_reference_mismatch: { status: 409, title: 'The certificate is not the one the form names by number' },
  party_role_not_allowed: { status: 422, title: 'The item has no party in this role' },
  party_duplicate: {
    status: 422,
    title: 'A role or a subject is named twice, or the applicant is named as a party too',
  },
  party_missing: { status: 422, title: 'A party the item requires is not named' },
  party_kind_mismatch: { status: 422, title: 'The party in this role must be a person' },
  party_form_mismatch: { status: 422, title: 'The form names another person than the party in that role' },
  idempotency_key_required: { status: 400, title: 'This request needs an Idempotency-Key header' },
  idempotency_key_reused: { status: 422, title: 'The Idempotency-Key was already used for a different request' },
  idempotency_in_progress: { status: 409, title: 'A request with this Idempotency-Key is still being processed' },
  department_not_receiving: { status: 503, title: 'A department of this item is not configured to receive cases' },
  callback_unknown_case: { status: 404, title: 'No case with this number was delivered to the calling department' },
  callback_wrong_department: { status: 403, title: 'The case was not delivered to the calling department' },
  callback_replayed: { status: 409, title: 'This status event was already received' },
  callback_stale: {
    status: 422,
    title: 'The status event is too old, in the future, or older than the last one applied',
  },
  case_already_final: { status: 409, title: "The department's part of the case is already finished" },
  range_not_satisfiable: { status: 416, title: 'The requested byte range lies outside the document' },
  precondition_failed: { status: 412, title: 'A precondition (If-Match / If-Unmodified-Since) failed' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Internal error' },
  content_corrupted: {
    status: 503,
    title: 'The stored document is damaged; it is withheld until the same document is uploaded again',
  },
  department_error: { status: 502, title: 'A department system answered with an error' },
  department_rejected: { status: 502, title: 'The department system refused the request the gateway sent' },
  department_unavailable: { status: 503, title: 'The department system is failing or unreachable; try again later' },
  department_circuit_open: {
    status: 503,
    title: 'The department system failed repeatedly and is not being called for now',
  },
  department_overloaded: { status: 503, title: 'Too many calls to this department system are in flight' },
  department_connection_failed: { status: 502, title: 'The connection to the department system failed' },
  department_malformed_response: {
    status: 502,
    title: 'The department system answered with something that cannot be parsed',
  },
  department_response_too_large: { status: 502, title: 'The department system answered with more data than allowed' },
  department_contract_violation: {
    status: 502,
    title: "The department system's answer violates its published data contract",
  },
  department_wrong_subject: {
    status: 502,
    title: 'The department system answered about a different subject than asked',
  },
  department_not_allowed: {
    status: 502,
    title: "The department system's address is not allowed (allowlist, private network or redirect)",
  },
  department_timeout: { status: 504, title: 'The department system did not answer in time' },
  unknown_department: { status: 404, title: 'No department system has this code' },
  capability_not_offered: { status: 422, title: 'The department system does not offer this service' },
  no_identity_verifier: { status: 503, title: 'No configured department system verifies identities' },
  identity_verification_not_applicable: {
    status: 422,
    title: 'Only persons can be verified against the population register',
  },
  contract_invalid: { status: 422, title: 'The contract is not a valid OpenAPI 3.0 or 3.1 document' },
  contract_catalogue_invalid: { status: 422, title: "The contract's catalogue data is missing or invalid" },
  contract_too_large: { status: 413, title: 'The contract document is larger than allowed' },
  contract_too_complex: {
    status: 422,
    title: 'The contract document has more operations or keys than allowed, or took too long to check',
  },
  contract_breaking_change: {
    status: 409,
    title: 'The new contract version makes breaking changes without a major-version bump',
  },
  contract_version_exists: { status: 409, title: 'This contract version is already published' },
  contract_version_not_newer: {
    status: 409,
    title: 'A new contract version must be greater than the latest published version',
  },
  unknown_contract: { status: 404, title: 'No contract is published under this resource code' },
  unknown_contract_version: { status: 404, title: 'The contract has no such version' },
  resource_not_shared: { status: 403, title: 'The owning department does not share this resource' },
  resource_grant_required: {
    status: 403,
    title: 'This conditional resource needs an approved access grant for the calling client',
  },
  sharing_terms_owner_only: { status: 403, title: 'Only the owning department may change who may read its resource' },
  provenance_authority: {
    status: 403,
    title: 'Only the provider of a material may replace or revoke it: its department, or the client that handed it in',
  },
  presence_unproven: {
    status: 403,
    title: "The applicant's presence is not proven: their identity must be verified in this request or case",
  },
  access_request_decided: { status: 409, title: 'The access request has already been decided' },
  calendar_invalid: { status: 422, title: 'The calendar document is not valid; `errors` lists every problem' },
  calendar_year_missing: {
    status: 503,
    title: 'The working-day calendar of a year needed for a deadline is not loaded',
  },
  shutting_down: { status: 503, title: 'The gateway is shutting down' },
  database_unavailable: { status: 503, title: 'The database is unavailable' },
  service_unavailable: { status: 503, title: 'The service is temporarily unavailable' },
  gateway_timeout: { status: 504, title: 'A department system did not answer in time' },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** Every code's title in Chinese (error-titles-zh.ts): a code without one does not compile. */
const titlesZh: Readonly<Record<ErrorCode, string>> = errorTitlesZh satisfies Record<ErrorCode, string>;

/** A code's title in `language`. */
export function problemTitle(code: ErrorCode, language: Language): string {
  return language === 'zh-CN' ? titlesZh[code] : errorCatalogue[code].title;
}

/** Extra members a problem document may carry, e.g. `errors` for validation failures. */
export type ProblemExtras = Record<string, unknown>;

export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(
    readonly code: ErrorCode,
    /** What went wrong in this case: both languages where a person reads it, or English alone. */
    readonly detail?: string | Bilingual,
    readonly extras: ProblemExtras = {},
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(
      detail === undefined ? errorCatalogue[code].title : inLanguage(detail, 'en'),
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
  message: { zh: string; en: string },
  extras: ProblemExtras = {},
  options?: { headers?: Record<string, string> },
): ApiError {
  return new ApiError(code, { 'zh-CN': message.zh, en: message.en }, { ...extras, message }, options);
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

/** `value` with identifier-shaped runs masked in every string it holds (arrays and plain objects walked). */
function withIdentifiersMasked(value: unknown): unknown {
  if (typeof value === 'string') return maskIdentifiersInText(value);
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
    ...(error.detail === undefined ? {} : { detail: maskIdentifiersInText(inLanguage(error.detail, language)) }),
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
    return new ApiError('malformed_json', 'The request body could not be parsed as JSON.');
  }
  const code = statusToCode[exception.status] ?? (exception.status >= 500 ? 'internal_error' : 'bad_request');
  // Hono's messages are short and fixed (no user data, no internals), so they are safe to pass on.
  return new ApiError(code, exception.message || undefined);
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
      new ApiError('validation_failed', 'A text value contains a character that cannot be stored (U+0000, NUL).', {
        errors: [{ path: '(body)', message: 'text values may not contain U+0000 (NUL)' }],
      }),
    );
  }
  if (isDatabaseUnavailable(error)) {
    loggerIfAny(c)?.error({ err: errorForLog(error) }, 'database unavailable');
    return problemResponse(
      c,
      new ApiError(
        'database_unavailable',
        'The database cannot be reached; retry shortly.',
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
  return maskIdentifiersInText(
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
