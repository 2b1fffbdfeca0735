/**
 * Building a request's `AccessContext` in a route handler: the caller from the verified token, the
 * purpose from the request headers (required on every personal-data route), the request id, and
 * the access policy bound to them at the request's time.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../platform/context.js';
import { type AccessPurpose, type PurposeHeaders, requirePurpose } from '../platform/purpose.js';
import type { AccessContext } from './context.js';

/** The context of a route whose caller states a purpose (a purpose code or a case reference). */
export function accessContext(c: Context<AppEnv>, headers: PurposeHeaders): AccessContext {
  return contextWithPurpose(c, requirePurpose(headers, c.get('services').config.purposeCodes));
}

/** The context of a route whose purpose is given by what it works on (a case: its own reference). */
export function contextWithPurpose(c: Context<AppEnv>, purpose: AccessPurpose): AccessContext {
  const services = c.get('services');
  const principal = c.get('principal');
  const requestId = c.get('requestId');
  return {
    db: services.db,
    principal,
    purpose,
    requestId,
    access: services.access.forRequest(principal, purpose, requestId, services.clock.now()),
  };
}
