/**
 * Subjects API: resolve-or-create, read, department identifier links and lookup by link.
 * Every response carries personal data, so every route takes the purpose headers and audits.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../platform/context.js';
import { accessContext } from '../access/request.js';
import { PurposeHeadersSchema } from '../platform/purpose.js';
import { errorResponses } from '../platform/routes.js';
import { bilingualCheck } from '../platform/field-problems.js';
import { protectedRoute } from '../auth/protected-route.js';
import { subjectIdentifierTypes } from './identifiers.js';
import { findSubjectByLink, linkSubject, readSubject, resolveSubject } from './subjects.js';
import { verifySubjectIdentity } from './verification.js';

export const SubjectIdSchema = z
  .string()
  .regex(
    /^sub_[A-Za-z0-9_-]{16}$/,
    bilingualCheck('a subject id looks like sub_ followed by 16 characters', '主体标识为 sub_ 加 16 个字符'),
  )
  .openapi({ example: 'sub_Qk2c9X1v0aLm4TzR' });

const SubjectSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['person', 'organisation']),
    identifierType: z.enum(subjectIdentifierTypes),
    identifier: z.string().openapi({
      description:
        'Masked unless the token has subjects:unmask: ID numbers and 2023 permanent resident card numbers keep the ' +
        'first 6 and last 4 characters, ' +
        'credit codes the first 8 and last 2, passports (stored as NATIONALITY:NUMBER, e.g. USA:123456789) the nationality and, ' +
        'from 8 characters on, the first and last 2, travel permits the H or M and the last 2, 2017 permanent ' +
        'resident card numbers the first 5 and last 2',
    }),
    name: z.string().openapi({ description: 'Masked (first character kept) unless the token has subjects:unmask' }),
    masked: z.boolean(),
    createdAt: z.string(),
    links: z.array(
      z.object({
        departmentCode: z.string(),
        identifierType: z.string(),
        value: z.string(),
        source: z.string().openapi({
          description:
            'Where the link comes from; identifiers and mobile numbers masked (the name too in a masked view)',
        }),
        linkedBy: z.string(),
        linkedAt: z.string(),
      }),
    ),
  })
  .openapi('Subject');

const subjectResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: SubjectSchema } },
});

const code = (what: string) =>
  z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/,
      bilingualCheck(`${what}: 1-40 letters, digits, _ . -`, `${what} 为 1–40 个字母、数字或 _ . -，以字母或数字开头`),
    )
    .openapi({ example: 'PSB' });

const resolveRoute = protectedRoute({
  method: 'post',
  path: '/v1/subjects/resolve',
  operationId: 'resolveSubject',
  personalData: 'request',
  tags: ['subjects'],
  summary: 'Resolve an applicant to a subject, creating it when new',
  description:
    'Validates the identifier (GB 11643 resident ID number, 15-digit form converted; GB 32100 unified social credit code; ' +
    'passport with its nationality; Mainland Travel Permit of Hong Kong, Macao or Taiwan residents; foreign permanent resident ID card, ' +
    '2023 or 2017 form), then returns the one subject with it, creating it when the caller holds subjects:write. A name that differs ' +
    'from the one on file is refused (subject_name_mismatch). Each identifier problem has its own error code. ' +
    'Five answers a day per client that were not a known number with its name (unknown, created, another name) for numbers ' +
    'of one masked shape, then 429 rate_limited for that shape until the day has passed (docs/access-policy.md).',
  scopes: ['subjects:read'],
  request: {
    headers: PurposeHeadersSchema,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.object({
            identifierType: z.enum(subjectIdentifierTypes),
            identifier: z.string().min(1).max(40).openapi({ example: '11010519491231002X' }),
            nationality: z
              .string()
              .max(8)
              .optional()
              .openapi({
                description:
                  'Passports only, and required for them: the ISO 3166-1 alpha-3 code of the issuing country (CHN, USA, DEU). ' +
                  'Refused (nationality_not_applicable) with any other identifier type.',
                example: 'USA',
              }),
            name: z
              .string()
              .trim()
              .min(1)
              .max(100)
              // A name travels to departments (in JSON, XML, signed requests): control and format
              // characters, lone surrogates and line separators have no place in it, and XML
              // cannot carry most of them at all.
              .regex(
                /^[^\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]+$/u,
                bilingualCheck(
                  'a name may not contain control, format or line-separator characters',
                  '姓名中不能含有控制字符、格式字符或换行类字符',
                ),
              )
              // How a sealed value begins (gateway/protection): a name kept in clear must not read as one.
              .refine(
                (name) => !name.startsWith('ow1.'),
                bilingualCheck('a name may not begin with "ow1."', '姓名不能以“ow1.”开头'),
              )
              // The generator would print the flagged regex as `…$/u`, which no JSON Schema validator reads.
              .openapi({ example: '张三', pattern: '^[^\\p{Cc}\\p{Cf}\\p{Cs}\\p{Zl}\\p{Zp}]+$' }),
          }),
        },
      },
    },
  },
  responses: {
    200: subjectResponse('The subject already existed'),
    201: subjectResponse('The subject was created'),
    ...errorResponses(400, 401, 403, 404, 422, 429),
  },
});

const readRoute = protectedRoute({
  method: 'get',
  path: '/v1/subjects/{subjectId}',
  operationId: 'getSubject',
  personalData: 'subject',
  tags: ['subjects'],
  summary: 'Read a subject and its department identifier links',
  scopes: ['subjects:read'],
  request: { params: z.object({ subjectId: SubjectIdSchema }), headers: PurposeHeadersSchema },
  responses: { 200: subjectResponse('The subject'), ...errorResponses(400, 401, 403, 404) },
});

const LinkBodySchema = z.object({
  departmentCode: code('departmentCode')
    .optional()
    .openapi({ description: 'Required for window clients; a department client links its own department.' }),
  identifierType: code('identifierType').openapi({ example: 'household_no' }),
  value: z.string().trim().min(1).max(64),
  source: z.string().trim().min(1).max(120).openapi({
    description: 'Where the link comes from; stored with identifiers and mobile numbers masked',
    example: 'department-system',
  }),
});

const linkRoute = protectedRoute({
  method: 'post',
  path: '/v1/subjects/{subjectId}/links',
  operationId: 'linkSubjectIdentifier',
  personalData: 'subject',
  tags: ['subjects'],
  summary: "Link a department's own identifier to a subject",
  scopes: ['subjects:write'],
  request: {
    params: z.object({ subjectId: SubjectIdSchema }),
    headers: PurposeHeadersSchema,
    body: { required: true, content: { 'application/json': { schema: LinkBodySchema } } },
  },
  responses: {
    200: subjectResponse('The link existed already'),
    201: subjectResponse('The link was added'),
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

const lookupRoute = protectedRoute({
  method: 'post',
  path: '/v1/subjects/lookup',
  operationId: 'lookUpSubject',
  personalData: 'request',
  tags: ['subjects'],
  summary: "Find the subject a department's identifier is linked to (exact match only)",
  description:
    "A department looks up by its own identifiers only (`403 forbidden` otherwise), and a subject view shows a department its own links only; a window may look up by any department's identifier.",
  scopes: ['subjects:read'],
  request: {
    headers: PurposeHeadersSchema,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.object({
            departmentCode: code('departmentCode'),
            identifierType: code('identifierType'),
            value: z.string().trim().min(1).max(64),
          }),
        },
      },
    },
  },
  responses: { 200: subjectResponse('The linked subject'), ...errorResponses(400, 401, 403, 404) },
});

const verifyRoute = protectedRoute({
  method: 'post',
  path: '/v1/subjects/{subjectId}/identity-verification',
  operationId: 'verifySubjectIdentity',
  personalData: 'subject',
  tags: ['subjects'],
  summary: "Verify a person's name against their ID number at the population register",
  description:
    "Sends the subject's ID number and name to a department that verifies identities: `department` when named, else the one " +
    "the departments configuration routes the subject's identifier type to (`identityVerification.identifierTypes`, " +
    'or the only department able to verify; none: 503 no_identity_verifier), ' +
    'through its adapter. Needs a purpose and, for a conditional resource, an approved access grant; the disclosure is audited. ' +
    'Outcomes: match, name_mismatch, not_found. Department failures answer with the department_* error codes. ' +
    'A person known by an identifier type that no configured department (or not the named one) verifies, e.g. a passport, is refused ' +
    '(422 identifier_type_not_supported_by_department) before any department is asked.',
  scopes: ['subjects:read'],
  request: {
    params: z.object({ subjectId: SubjectIdSchema }),
    headers: PurposeHeadersSchema,
    body: {
      required: false,
      content: {
        'application/json': {
          schema: z.object({
            department: z
              .string()
              .regex(/^[A-Z][A-Z0-9_]{1,15}$/, bilingualCheck('a department code, e.g. PSB', '应为部门代码，如 PSB'))
              .openapi({ example: 'PSB' })
              .optional(),
          }),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'What the department answered',
      content: {
        'application/json': {
          schema: z
            .object({
              subjectId: z.string(),
              department: z.string(),
              outcome: z.enum(['match', 'name_mismatch', 'not_found']),
              attributes: z
                .object({
                  maritalStatus: z.enum(['unmarried', 'married', 'divorced', 'widowed']).optional(),
                  maritalStatusSince: z.string().optional(),
                  householdDivision: z.string().optional(),
                  deceasedOn: z.string().optional(),
                })
                .optional()
                .openapi({
                  description:
                    'Facts the register holds about the person beyond the match (only with match, when its ' +
                    'department says them): typed in the adapter SDK (IdentityAttributes) and checked',
                }),
              checkedAt: z.string(),
            })
            .openapi('IdentityVerification'),
        },
      },
    },
    ...errorResponses(400, 401, 403, 404, 422, 502, 503, 504),
  },
});

export function registerSubjectRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(resolveRoute, async (c) => {
    const { subject, created } = await resolveSubject(
      accessContext(c, c.req.valid('header')),
      c.req.valid('json'),
      c.get('services').identifierProbeLimiter,
    );
    return created ? c.json(subject, 201) : c.json(subject, 200);
  });

  app.openapi(lookupRoute, async (c) => {
    return c.json(await findSubjectByLink(accessContext(c, c.req.valid('header')), c.req.valid('json')), 200);
  });

  app.openapi(readRoute, async (c) => {
    return c.json(await readSubject(accessContext(c, c.req.valid('header')), c.req.valid('param').subjectId), 200);
  });

  app.openapi(verifyRoute, async (c) => {
    const services = c.get('services');
    const body = c.req.header('content-length') === '0' || !c.req.header('content-type') ? {} : c.req.valid('json');
    const view = await verifySubjectIdentity(
      {
        ...accessContext(c, c.req.valid('header')),
        departments: services.departments,
        logger: services.logger,
        signal: c.req.raw.signal,
      },
      c.req.valid('param').subjectId,
      { department: body.department },
    );
    return c.json(view, 200);
  });

  app.openapi(linkRoute, async (c) => {
    const { subject, created } = await linkSubject(
      accessContext(c, c.req.valid('header')),
      c.req.valid('param').subjectId,
      c.req.valid('json'),
    );
    return created ? c.json(subject, 201) : c.json(subject, 200);
  });
}
