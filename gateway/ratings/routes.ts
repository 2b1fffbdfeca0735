/**
 * The centre's side of the ratings (好差评): its directors and supervisors list the ratings of
 * their centre's subtree with the follow-ups of the 差评, and answer those of their own centre.
 * Window systems of a centre call these with the operator at the desk (a centre director or a
 * supervisor) and the purpose `supervision`; the applicants' side is in cases/progress-routes.ts.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { accessContext } from '../access/request.js';
import { protectedRoute } from '../auth/protected-route.js';
import { chinaToday } from '../materials/dates.js';
import type { AppEnv } from '../platform/context.js';
import { PurposeHeadersSchema } from '../platform/purpose.js';
import { errorResponses } from '../platform/routes.js';
import { bilingualCheck } from '../platform/field-problems.js';
import { FOLLOW_UP_ANSWER_MAX_LENGTH, RATING_LIST_LIMIT, answerFollowUp, listRatings } from './ratings.js';

const CentreQuerySchema = z
  .string()
  .regex(/^[1-8][0-9]{8}$/, bilingualCheck('a centre code is 9 digits', '服务中心代码为 9 位数字'))
  .openapi({
    description: "The centre whose subtree's ratings to list (default: the window's own centre)",
    example: '610113000',
  });

const CentreRatingSchema = z
  .object({
    id: z.string().openapi({ example: 'rat_Xk3vQ9pL2mN8rT4w' }),
    caseNumber: z.string(),
    score: z.number().int(),
    comment: z
      .string()
      .nullable()
      .openapi({ description: "The applicant's comment, ID numbers and mobile numbers masked" }),
    centreCode: z.string().nullable(),
    centreName: z.string().nullable(),
    itemCode: z.string(),
    departments: z.array(z.string()),
    windowClientId: z.string().openapi({ description: 'The window system that opened the case' }),
    operatorId: z.string().nullable().openapi({ description: 'The operator who opened the case' }),
    completedOn: z.string(),
    onTime: z.boolean(),
    ratedAt: z.string(),
    followUp: z
      .object({
        state: z.enum(['open', 'overdue', 'answered']),
        dueOn: z.string(),
        answer: z.string().nullable(),
        contacted: z.boolean().nullable(),
        answeredAt: z.string().nullable(),
        answeredBy: z.string().nullable().openapi({ description: 'The operator (or window system) who answered' }),
      })
      .nullable()
      .openapi({ description: 'The follow-up of a 差评 (score ≤ 2); null for a good rating' }),
  })
  .openapi('CentreRating');

const CentreRatingsSchema = z
  .object({ centre: z.string(), ratings: z.array(CentreRatingSchema) })
  .openapi('CentreRatings');

const listRoute = protectedRoute({
  method: 'get',
  path: '/v1/ratings',
  operationId: 'listRatings',
  tags: ['ratings'],
  summary: "A centre's ratings (好差评) and the follow-ups of its 差评, newest first",
  description:
    'For a centre director or supervisor (`onewindow-operator`) of a window system at the centre or above it; ' +
    `purpose \`supervision\`. At most ${RATING_LIST_LIMIT} ratings. Comments are masked, and each one listed is ` +
    "on its applicant's access log. " +
    'A centre outside yours answers 404 as if it did not exist.',
  scopes: ['cases:read'],
  personalData: 'request',
  request: {
    query: z.object({
      centre: CentreQuerySchema.optional(),
      status: z
        .enum(['open', 'answered', 'overdue'])
        .optional()
        .openapi({ description: 'Only the follow-ups in this state (default: every rating)' }),
    }),
    headers: PurposeHeadersSchema,
  },
  responses: {
    200: { description: 'The ratings', content: { 'application/json': { schema: CentreRatingsSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const followUpRoute = protectedRoute({
  method: 'post',
  path: '/v1/ratings/{ratingId}/follow-up',
  operationId: 'answerRatingFollowUp',
  tags: ['ratings'],
  summary: 'The centre answers the follow-up of a 差评 (回访)',
  description:
    'By a centre director or supervisor of the centre of the rated case (`onewindow-operator`), purpose ' +
    '`supervision`. A rating of another centre answers 404 like one that does not exist; a centre above reads it ' +
    'but does not answer it (`403 rating_answered_at_its_centre`); a rating without an open follow-up is ' +
    '`409 rating_follow_up_not_open`. The applicant sees the answer in the progress look-up.',
  scopes: ['cases:write'],
  personalData: 'request',
  request: {
    params: z.object({
      ratingId: z
        .string()
        .regex(
          /^rat_[A-Za-z0-9_-]{16}$/,
          bilingualCheck('a rating id looks like rat_ and 16 characters', '评价标识为 rat_ 加 16 个字符'),
        )
        .openapi({ example: 'rat_9fKq2LmXz7TcW4pB' }),
    }),
    headers: PurposeHeadersSchema,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              answer: z.string().trim().min(1).max(FOLLOW_UP_ANSWER_MAX_LENGTH).openapi({
                description: 'The answer to the applicant, in Chinese',
                example: '已致电申请人核实，已增设叫号窗口。',
              }),
              contacted: z
                .boolean()
                .openapi({ description: 'Whether the centre reached the applicant (telephone, in person)' }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: { description: 'Answered', content: { 'application/json': { schema: CentreRatingSchema } } },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

export function registerRatingRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listRoute, async (c) => {
    const services = c.get('services');
    const query = c.req.valid('query');
    const directory = await services.access.reference.centreDirectoryWith(services.db, [query.centre]);
    const context = accessContext(c, c.req.valid('header'));
    const answer = await listRatings(context, directory, query, chinaToday(services.clock.now()));
    return c.json(answer, 200);
  });

  app.openapi(followUpRoute, async (c) => {
    const services = c.get('services');
    const context = accessContext(c, c.req.valid('header'));
    const { ratingId } = c.req.valid('param');
    const answer = await answerFollowUp(context, ratingId, c.req.valid('json'), services.clock.now());
    return c.json(answer, 200);
  });
}
