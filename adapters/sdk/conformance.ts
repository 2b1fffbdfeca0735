/**
 * The shared conformance suite. Every adapter's own test file calls
 * `describeConformance(harness)`; the suite starts a fresh simulator and adapter per test (so a
 * breaker opened by one fault never leaks into the next) and checks, for every capability the
 * adapter declares: the happy paths, each department failure mapped to the right error kind,
 * retries only where safe, and the breaker opening under failure and closing after recovery. An
 * adapter that receives cases declares its submission types: each is checked, delivered from its
 * sample, and a type it does not declare is refused (`rejected`) without a call.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ClientTuning } from './client.js';
import type { ConformanceFixture, ConformanceHarness } from './conformance-types.js';
import { DepartmentError, type DepartmentErrorKind } from './errors.js';
import type { FaultKind } from './simulator.js';
import { submissionTypeProblems } from './submissions.js';
import {
  type CallContext,
  type CaseSubmissionRequest,
  type CertificateRequest,
  type DepartmentAdapter,
  certificateStatuses,
} from './types.js';

/**
 * Short timeouts and a small breaker so faults show quickly. The size cap is lowered to 2 MiB:
 * simulators pad their `oversized` answers past the 8 MiB default, and real samples are far
 * smaller than 2 MiB.
 */
export const conformanceTuning: Required<
  Pick<
    ClientTuning,
    | 'connectTimeoutMs'
    | 'headersTimeoutMs'
    | 'bodyTimeoutMs'
    | 'retries'
    | 'retryMinDelayMs'
    | 'retryMaxDelayMs'
    | 'budgetMs'
    | 'breakerFailures'
    | 'breakerHalfOpenAfterMs'
    | 'maxResponseBytes'
  >
> = {
  connectTimeoutMs: 500,
  headersTimeoutMs: 400,
  bodyTimeoutMs: 400,
  retries: 2,
  retryMinDelayMs: 10,
  retryMaxDelayMs: 30,
  budgetMs: 3000,
  breakerFailures: 3,
  breakerHalfOpenAfterMs: 300,
  maxResponseBytes: 2 * 1024 * 1024,
};

type TestedCapability = 'verifyIdentity' | 'fetchCertificate' | 'submitCase' | 'queryCaseStatus';

/** What each simulator fault must become at the adapter's surface. */
const expectedKinds: Record<Exclude<FaultKind, 'delay'>, readonly DepartmentErrorKind[]> = {
  business_error: ['business_error'],
  http_4xx: ['rejected'],
  http_5xx: ['unavailable'],
  timeout: ['timeout'],
  reset: ['connection'],
  malformed: ['malformed', 'contract_violation'],
  oversized: ['oversized'],
  wrong_subject: ['wrong_subject'],
};

/** Faults that only make sense where the answer names a subject. */
const subjectFaults = new Set<FaultKind>(['wrong_subject']);
const subjectCapabilities = new Set<TestedCapability>(['verifyIdentity', 'fetchCertificate']);
const idempotentReads = new Set<TestedCapability>(['verifyIdentity', 'fetchCertificate', 'queryCaseStatus']);

let requestSerial = 0;
function context(): CallContext {
  requestSerial += 1;
  return { requestId: `req_conformance_${requestSerial}` };
}

function identifierOf(request: CertificateRequest): string {
  return request.subject.kind === 'person' ? request.subject.idNumber : request.subject.creditCode;
}

async function failureOf(promise: Promise<unknown>): Promise<DepartmentError> {
  const outcome: unknown = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  if (!(outcome instanceof DepartmentError)) {
    throw new Error(`expected a DepartmentError, got ${outcome === null ? 'a result' : String(outcome)}`);
  }
  return outcome;
}

const isoDate = /^\d{4}-\d{2}-\d{2}$/;

export function describeConformance(harness: ConformanceHarness): void {
  const tuning: ClientTuning = { ...conformanceTuning };

  /** Runs `body` against a fresh simulator and adapter, always closing them. */
  function withFixture(body: (fixture: ConformanceFixture) => Promise<void>): () => Promise<void> {
    return async () => {
      const fixture = await harness.start(tuning);
      try {
        await body(fixture);
      } finally {
        fixture.simulator.setFault(null);
        await fixture.close();
      }
    };
  }

  function submission(suffix: string): CaseSubmissionRequest {
    const sample = harness.samples.submitCase;
    if (!sample) throw new Error(`${harness.name}: queryCaseStatus and submitCase need samples.submitCase`);
    return { ...sample, idempotencyKey: `${sample.idempotencyKey}-${suffix}` };
  }

  /** One call of the capability with its first sample (status queries submit first, fault-free). */
  async function prepareCall(
    fixture: ConformanceFixture,
    capability: TestedCapability,
    suffix: string,
  ): Promise<() => Promise<unknown>> {
    const adapter = fixture.adapter;
    switch (capability) {
      case 'verifyIdentity': {
        const sample = harness.samples.verifyIdentity;
        if (!sample || !adapter.verifyIdentity) throw new Error('verifyIdentity sample missing');
        return () => adapter.verifyIdentity!(sample.match, context());
      }
      case 'fetchCertificate': {
        const sample = harness.samples.fetchCertificate?.found[0];
        if (!sample || !adapter.fetchCertificate) throw new Error('fetchCertificate sample missing');
        return () => adapter.fetchCertificate!(sample, context());
      }
      case 'submitCase': {
        if (!adapter.submitCase) throw new Error('submitCase missing');
        let attempt = 0;
        // A fresh idempotency key per call: a department's deduplication must not hide a fault.
        return () => adapter.submitCase!(submission(`${suffix}-${(attempt += 1)}`), context());
      }
      case 'queryCaseStatus': {
        if (!adapter.submitCase || !adapter.queryCaseStatus) throw new Error('queryCaseStatus needs submitCase');
        const receipt = await adapter.submitCase(submission(`${suffix}-for-status`), context());
        return () => adapter.queryCaseStatus!(receipt.departmentReference, context());
      }
    }
  }

  const declared = (adapter: DepartmentAdapter): TestedCapability[] =>
    (['verifyIdentity', 'fetchCertificate', 'submitCase', 'queryCaseStatus'] as const).filter(
      (capability) => adapter[capability] !== undefined,
    );

  /** Capabilities with samples, known before any fixture starts (vitest collects tests up front). */
  const sampled: TestedCapability[] = (
    ['verifyIdentity', 'fetchCertificate', 'submitCase', 'queryCaseStatus'] as const
  ).filter((capability) => harness.samples[capability] !== undefined);

  function operationOf(capability: TestedCapability): string {
    const operation = harness.operations[capability];
    if (operation === undefined) throw new Error(`${harness.name}: operations.${capability} is not given`);
    return operation;
  }

  describe(`conformance: ${harness.name}`, () => {
    describe('declarations', () => {
      it(
        'has samples, simulator operations and a contract resource for every declared capability',
        withFixture(async ({ adapter }) => {
          expect(typeof adapter.department).toBe('string');
          expect(typeof adapter.kind).toBe('string');
          for (const capability of declared(adapter)) {
            expect(harness.samples[capability], `samples.${capability}`).toBeDefined();
            expect(harness.operations[capability], `operations.${capability}`).toEqual(expect.any(String));
            expect(adapter.resources[capability], `resources.${capability}`).toEqual(expect.stringMatching(/\S/));
          }
          for (const capability of sampled)
            expect(adapter[capability], `a sample is given for ${capability}, which the adapter lacks`).toBeDefined();
          if (adapter.fetchCertificate) {
            for (const request of harness.samples.fetchCertificate?.found ?? [])
              expect(adapter.certificateTypes ?? []).toContain(request.certificateType);
          }
        }),
      );

      it(
        'declares the submission types it receives, each well-formed and each with a sample',
        withFixture(async ({ adapter }) => {
          expect(
            adapter.submissionTypes !== undefined,
            'submissionTypes are declared exactly when submitCase is offered',
          ).toBe(adapter.submitCase !== undefined);
          if (!adapter.submitCase || !adapter.submissionTypes) return;
          expect(submissionTypeProblems(adapter.submissionTypes)).toEqual([]);
          const samples = [harness.samples.submitCase, ...(harness.samples.otherSubmissionTypes ?? [])].filter(
            (sample) => sample !== undefined,
          );
          const sampledTypes = samples.map((sample) => sample.submissionType);
          for (const type of sampledTypes)
            expect(Object.keys(adapter.submissionTypes), `a sample of ${type}, which is not declared`).toContain(type);
          for (const type of Object.keys(adapter.submissionTypes))
            expect(sampledTypes, `no sample of the declared type ${type} (samples.otherSubmissionTypes)`).toContain(
              type,
            );
        }),
      );
    });

    describe('happy paths', () => {
      if (harness.samples.verifyIdentity) {
        const samples = harness.samples.verifyIdentity;
        it(
          'verifyIdentity: match, name mismatch, not found',
          withFixture(async ({ adapter }) => {
            expect(await adapter.verifyIdentity!(samples.match, context())).toEqual({ outcome: 'match' });
            expect(await adapter.verifyIdentity!(samples.mismatch, context())).toEqual({ outcome: 'name_mismatch' });
            expect(await adapter.verifyIdentity!(samples.unknown, context())).toEqual({ outcome: 'not_found' });
          }),
        );
      }

      if (harness.samples.fetchCertificate) {
        const samples = harness.samples.fetchCertificate;
        it(
          'fetchCertificate: every sample is found with complete metadata about its subject and a real document',
          withFixture(async ({ adapter }) => {
            expect(samples.found.length).toBeGreaterThan(0);
            for (const request of samples.found) {
              const result = await adapter.fetchCertificate!(request, context());
              if (result.outcome !== 'found') throw new Error(`sample ${request.certificateType} was not found`);
              const { metadata, document } = result;
              expect(metadata.certificateType).toBe(request.certificateType);
              for (const field of ['certificateNumber', 'holderName', 'issuingAuthority'] as const)
                expect(metadata[field], field).toEqual(expect.stringMatching(/\S/));
              expect(metadata.holderIdentifier).toBe(identifierOf(request));
              expect(metadata.issueDate).toMatch(isoDate);
              expect(metadata.validFrom).toMatch(isoDate);
              if (metadata.validUntil !== null) expect(metadata.validUntil).toMatch(isoDate);
              expect(certificateStatuses).toContain(metadata.status);
              const head = Buffer.from(document.bytes.subarray(0, 5)).toString('latin1');
              if (document.mediaType === 'application/pdf') expect(head).toBe('%PDF-');
              else {
                expect(document.mediaType).toBe('application/ofd');
                expect(head.slice(0, 2)).toBe('PK');
              }
            }
          }),
        );
        it(
          'fetchCertificate: an unknown subject is not_found',
          withFixture(async ({ adapter }) => {
            expect(await adapter.fetchCertificate!(samples.notFound, context())).toEqual({ outcome: 'not_found' });
          }),
        );
      }

      if (harness.samples.submitCase) {
        it(
          'submitCase: a second delivery with the same idempotency key is recognised as a duplicate',
          withFixture(async ({ adapter }) => {
            const request = submission('twice');
            const first = await adapter.submitCase!(request, context());
            expect(first.departmentReference).toEqual(expect.stringMatching(/\S/));
            expect(first.duplicate).toBe(false);
            const second = await adapter.submitCase!(request, context());
            expect(second).toEqual({ departmentReference: first.departmentReference, duplicate: true });
          }),
        );
      }

      if (harness.samples.submitCase) {
        const samples = [harness.samples.submitCase, ...(harness.samples.otherSubmissionTypes ?? [])];
        it(
          'submitCase: every declared submission type is received, once per idempotency key',
          withFixture(async ({ adapter }) => {
            for (const [index, sample] of samples.entries()) {
              const request = { ...sample, idempotencyKey: `${sample.idempotencyKey}-type-${index}` };
              const first = await adapter.submitCase!(request, context());
              expect(first.duplicate, sample.submissionType).toBe(false);
              expect(await adapter.submitCase!(request, context()), sample.submissionType).toEqual({
                departmentReference: first.departmentReference,
                duplicate: true,
              });
              if (adapter.queryCaseStatus)
                expect((await adapter.queryCaseStatus(first.departmentReference, context())).departmentReference).toBe(
                  first.departmentReference,
                );
            }
          }),
        );

        it(
          'submitCase: a submission type the adapter does not declare is refused (rejected) without calling the department',
          withFixture(async ({ adapter, simulator }) => {
            simulator.resetCounts();
            const error = await failureOf(
              adapter.submitCase!(
                { ...submission('undeclared'), submissionType: 'no_such_submission_type' },
                context(),
              ),
            );
            expect(error.kind).toBe('rejected');
            expect(error.message).toContain('no_such_submission_type');
            expect(simulator.requestCount(), 'nothing is sent for an undeclared type').toBe(0);
          }),
        );
      }

      if (harness.samples.queryCaseStatus) {
        it(
          'queryCaseStatus: a submitted case has a status',
          withFixture(async ({ adapter }) => {
            const receipt = await adapter.submitCase!(submission('status'), context());
            const status = await adapter.queryCaseStatus!(receipt.departmentReference, context());
            expect(status.departmentReference).toBe(receipt.departmentReference);
            expect(['received', 'in_progress', 'awaiting_applicant', 'completed', 'rejected']).toContain(status.status);
            expect(Number.isNaN(Date.parse(status.updatedAt))).toBe(false);
          }),
        );
      }

      it(
        'health: answers ok when offered',
        withFixture(async ({ adapter }) => {
          if (adapter.health) expect((await adapter.health(context())).ok).toBe(true);
        }),
      );
    });

    for (const capability of sampled) {
      describe(`${capability}: department failures`, () => {
        for (const [fault, kinds] of Object.entries(expectedKinds) as [
          Exclude<FaultKind, 'delay'>,
          readonly DepartmentErrorKind[],
        ][]) {
          if (subjectFaults.has(fault) && !subjectCapabilities.has(capability)) continue;
          it(
            `${fault} → ${kinds.join(' or ')}`,
            withFixture(async (fixture) => {
              const call = await prepareCall(fixture, capability, fault);
              const operation = operationOf(capability);
              fixture.simulator.resetCounts();
              fixture.simulator.setFault({ kind: fault, operation });
              const error = await failureOf(call());
              expect(kinds, `${fault} became ${error.kind}: ${error.message}`).toContain(error.kind);
              const attempts = fixture.simulator.requestCount(operation);
              expect(attempts).toBeGreaterThanOrEqual(1);
              expect(attempts).toBeLessThanOrEqual(1 + conformanceTuning.retries);
              // A refusal or a business error is an answer: asking again changes nothing.
              if (fault === 'business_error' || fault === 'http_4xx')
                expect(attempts, `${fault} must not be retried`).toBe(1);
            }),
          );
        }
      });
    }

    describe('retries', () => {
      for (const capability of sampled) {
        const safe = idempotentReads.has(capability);
        it(
          safe
            ? `${capability}: an idempotent read is retried ${conformanceTuning.retries} times under 5xx`
            : `${capability}: a submission under 5xx is sent at most ${1 + conformanceTuning.retries} times`,
          withFixture(async (fixture) => {
            const call = await prepareCall(fixture, capability, 'retry');
            const operation = operationOf(capability);
            fixture.simulator.resetCounts();
            fixture.simulator.setFault({ kind: 'http_5xx', operation });
            expect((await failureOf(call())).kind).toBe('unavailable');
            const attempts = fixture.simulator.requestCount(operation);
            if (safe) expect(attempts).toBe(1 + conformanceTuning.retries);
            else {
              expect(attempts).toBeGreaterThanOrEqual(1);
              expect(attempts).toBeLessThanOrEqual(1 + conformanceTuning.retries);
            }
          }),
        );
      }
    });

    const breakerCapability = sampled.find((capability) => idempotentReads.has(capability)) ?? sampled[0];
    if (breakerCapability !== undefined) {
      describe('circuit breaker', () => {
        it(
          `${breakerCapability}: opens after ${conformanceTuning.breakerFailures} failed calls, fails fast, and closes after recovery`,
          withFixture(async (fixture) => {
            const call = await prepareCall(fixture, breakerCapability, 'breaker');
            const operation = operationOf(breakerCapability);
            fixture.simulator.setFault({ kind: 'http_5xx', operation });
            for (let failed = 0; failed < conformanceTuning.breakerFailures; failed++)
              expect((await failureOf(call())).kind).toBe('unavailable');
            const seen = fixture.simulator.requestCount(operation);
            expect((await failureOf(call())).kind).toBe('circuit_open');
            expect(fixture.simulator.requestCount(operation), 'an open breaker must not call the department').toBe(
              seen,
            );
            if (fixture.client) expect(fixture.client.breakerState()).toBe('open');

            fixture.simulator.setFault(null);
            await sleep(conformanceTuning.breakerHalfOpenAfterMs + 100);
            await call();
            if (fixture.client) expect(fixture.client.breakerState()).toBe('closed');
            const afterTrial = fixture.simulator.requestCount(operation);
            await call();
            expect(fixture.simulator.requestCount(operation), 'calls reach the department again').toBeGreaterThan(
              afterTrial,
            );
          }),
        );

        it(
          `${breakerCapability}: refusals (4xx) and business errors do not open it`,
          withFixture(async (fixture) => {
            const call = await prepareCall(fixture, breakerCapability, 'no-breaker');
            const operation = operationOf(breakerCapability);
            for (const kind of ['http_4xx', 'business_error'] as const) {
              fixture.simulator.setFault({ kind, operation });
              for (let index = 0; index < conformanceTuning.breakerFailures + 1; index++) await failureOf(call());
            }
            fixture.simulator.setFault(null);
            await call();
            if (fixture.client) expect(fixture.client.breakerState()).toBe('closed');
          }),
        );
      });
    }
  });
}
