/**
 * Refusals that happen before a route's service runs — a token without the scope a personal-data
 * route needs — are on the record too, with the subject when the route names one (in its path,
 * or through the case in its path), so the citizen's access log shows the attempt.
 */
import { eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { recordAudit } from '../audit/record.js';
import { cases } from '../db/schema.js';
import type { AppEnv } from '../platform/context.js';
import type { ApiError } from '../platform/errors.js';
import type { PersonalDataKind } from '../auth/protected-route.js';

const SUBJECT_ID = /^sub_[A-Za-z0-9_-]{16}$/;
const CASE_ID = /^case_[A-Za-z0-9_-]{16}$/;

async function subjectOfRoute(
  c: Context<AppEnv>,
  kind: PersonalDataKind,
): Promise<{ subjectId: string | null; caseRef: string | null }> {
  if (kind === 'subject') {
    const subjectId = c.req.param('subjectId');
    return { subjectId: subjectId !== undefined && SUBJECT_ID.test(subjectId) ? subjectId : null, caseRef: null };
  }
  if (kind === 'case') {
    const caseId = c.req.param('caseId');
    if (caseId === undefined || !CASE_ID.test(caseId)) return { subjectId: null, caseRef: null };
    const [row] = await c
      .get('services')
      .db.select({ subjectId: cases.subjectId, caseNumber: cases.caseNumber })
      .from(cases)
      .where(eq(cases.id, caseId));
    return { subjectId: row?.subjectId ?? null, caseRef: row?.caseNumber ?? null };
  }
  return { subjectId: null, caseRef: null };
}

/** Records a refusal of an authenticated caller at a personal-data route, before its handler ran. */
export async function recordRouteRefusal(c: Context<AppEnv>, kind: PersonalDataKind, error: ApiError): Promise<void> {
  const principal = c.get('principal');
  const { subjectId, caseRef } = await subjectOfRoute(c, kind);
  await recordAudit(c.get('services').db, {
    actor: principal,
    action: `route.refused`,
    subjectRef: subjectId,
    fields: [`route:${c.req.method} ${c.req.routePath}`, `refused:${error.code}`],
    caseRef,
    outcome: 'denied',
    requestId: c.get('requestId'),
  });
}
