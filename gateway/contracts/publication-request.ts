/**
 * The JSON body of a publish request, `{ "document": …, "catalogue": {…} }`. It is parsed and
 * checked in the contract worker, not by the route's validator on the event loop: a 4 MiB body of
 * a million small objects took the loop a quarter of a second to parse before any limit applied.
 */
import { z } from '@hono/zod-openapi';
import { ApiError, message } from '../platform/errors.js';
import { validationFailed } from '../platform/openapi-app.js';
import { type PartialCatalogueData, PartialCatalogueDataSchema } from './catalogue-data.js';

export const ContractPublicationRequestSchema = z
  .object({
    document: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
    catalogue: PartialCatalogueDataSchema.optional(),
  })
  .openapi('ContractPublicationRequest');

export interface PublicationRequest {
  document: string | Record<string, unknown>;
  catalogue?: PartialCatalogueData;
}

/** The body's document and catalogue data; `malformed_json` or `validation_failed` as the route's validator would. */
export function readPublicationRequest(body: string): PublicationRequest {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ApiError('malformed_json', message('request.malformed_json'));
  }
  const parsed = ContractPublicationRequestSchema.safeParse(value);
  if (!parsed.success) throw validationFailed(parsed.error.issues);
  return parsed.data;
}
