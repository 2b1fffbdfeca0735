/**
 * Electronic seals (GB/T 38540): anyone holding a document and its seal signature may have the
 * gateway check them (public, like the envelope check), and fetch the gateway's seal certificate
 * and seal data to check them offline.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../platform/context.js';
import { ApiError, message } from '../platform/errors.js';
import { errorResponses, publicRoute } from '../platform/routes.js';
import { certificatePem } from './certificate.js';
import { SealProblem } from './seal.js';
import { clientAddress, rateLimit } from '../platform/rate-limit.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** The largest result document (10 MB) in base64. */
const DOCUMENT_BASE64_MAX = Math.ceil((10 * 1024 * 1024) / 3) * 4;

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

const SealFactsSchema = z.object({
  esID: z.string().openapi({ description: 'The seal’s identifier (esID)' }),
  name: z.string().openapi({ description: '印章名称', example: '某某市政务服务中心电子印章' }),
  type: z.number().int(),
  vid: z.string().openapi({ description: 'The implementer id in the seal header (Vid)' }),
  createDate: z.string(),
  validStart: z.string(),
  validEnd: z.string(),
  picture: z.object({ type: z.string(), widthMm: z.number().int(), heightMm: z.number().int() }),
});

const verifySealRoute = publicRoute({
  method: 'post',
  path: '/v1/seals/verify',
  operationId: 'verifySeal',
  tags: ['certificates'],
  summary: 'Verify an electronic seal (GB/T 38540 SES_Signature, SM2/SM3) over a document',
  description:
    "Checks, in order: the structure (version 4, SM2-with-SM3); the signer's SM2 signature over TBS_Sign; dataHash against SM3 of the document; the seal maker's signature over the seal information; the signer's certificate among the seal's; the signing time within the seal's and the certificates' validity and not later than now; both certificates trusted by this gateway (its own seal certificate and SEAL_TRUSTED_CERTIFICATES). The first failed check answers 422 with its code. The request body is limited by BODY_LIMIT_BYTES.",
  // Anonymous and CPU-bound (signature checks): rate limited per address across instances.
  middleware: [
    rateLimit(
      (c) => c.get('services').verificationLimiter,
      (c) => `verify:${clientAddress(c)}`,
    ),
  ] as const,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              documentBase64: z
                .string()
                .min(4)
                .max(DOCUMENT_BASE64_MAX)
                .openapi({ description: 'The document the seal was applied to, base64 (RFC 4648 §4)' }),
              sealBase64: z
                .string()
                .min(4)
                .max(256 * 1024)
                .openapi({ description: 'The SES_Signature (DER), base64, e.g. `seal` of a downloaded result' }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: json(
      z
        .object({
          valid: z.literal(true),
          signedAt: z.string(),
          dataHash: z.string().openapi({ description: 'SM3 of the document, hex' }),
          propertyInfo: z.string(),
          seal: SealFactsSchema,
          signer: z.object({ subject: z.string(), serialNumber: z.string() }),
          maker: z.object({ subject: z.string(), serialNumber: z.string() }),
        })
        .openapi('SealVerification'),
      'Every check passed',
    ),
    ...errorResponses(400, 413, 422, 429),
  },
});

const gatewaySealRoute = publicRoute({
  method: 'get',
  path: '/v1/seals/gateway',
  operationId: 'getGatewaySeal',
  tags: ['certificates'],
  summary: "The gateway's seal certificate and seal data, for verifying its seals offline",
  responses: {
    200: json(
      z
        .object({
          certificatePem: z
            .string()
            .openapi({ description: 'The seal key’s X.509 certificate (self-signed, SM2-with-SM3)' }),
          sealBase64: z.string().openapi({ description: 'The SES_Seal (DER), base64' }),
          seal: SealFactsSchema,
        })
        .openapi('GatewaySeal'),
      "The gateway's seal",
    ),
  },
});

function decodeBase64(text: string, field: string): Buffer {
  if (text.length % 4 !== 0 || !BASE64.test(text))
    throw new ApiError('validation_failed', message('seal.not_base64', { field }), { field });
  return Buffer.from(text, 'base64');
}

export function registerSealRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(verifySealRoute, async (c) => {
    const services = c.get('services');
    const body = c.req.valid('json');
    const document = decodeBase64(body.documentBase64, 'documentBase64');
    const seal = decodeBase64(body.sealBase64, 'sealBase64');
    try {
      const verified = services.seal.verify(document, seal, services.clock.now());
      return c.json(
        {
          ...verified,
          signedAt: verified.signedAt.toISOString(),
          seal: {
            ...verified.seal,
            createDate: verified.seal.createDate.toISOString(),
            validStart: verified.seal.validStart.toISOString(),
            validEnd: verified.seal.validEnd.toISOString(),
          },
        },
        200,
      );
    } catch (error) {
      if (error instanceof SealProblem)
        throw new ApiError(error.code, message('seal.not_verified', { problem: error.problem }), {
          problem: error.problem,
        });
      throw error;
    }
  });

  app.openapi(gatewaySealRoute, (c) => {
    const { seal } = c.get('services');
    const { info } = seal.decoded;
    return c.json(
      {
        certificatePem: certificatePem(seal.certificate),
        sealBase64: seal.seal.toString('base64'),
        seal: {
          esID: info.esID,
          name: info.name,
          type: info.type,
          vid: info.vid,
          createDate: info.createDate.toISOString(),
          validStart: info.validStart.toISOString(),
          validEnd: info.validEnd.toISOString(),
          picture: { type: info.picture.type, widthMm: info.picture.widthMm, heightMm: info.picture.heightMm },
        },
      },
      200,
    );
  });
}
