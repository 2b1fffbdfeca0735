/**
 * Review 20: any department (or integrator) may publish the FIRST version of a resource code in
 * another department's namespace, naming itself the owner; from then on the real department is
 * locked out (`contract.owner_fixed`), and the squatter holds `resource.owner` (reads without a
 * grant) and decides every grant for it (`POST /v1/access-requests/{id}/decision`).
 *
 * Nothing ties a resource code to the department whose adapter serves it: the policy's
 * `contractPublish` only checks `principal.departmentCode === contract.departmentCode` for a new
 * resource, and department adapters look up `resources.fetchCertificate` by code only
 * (departments/registry.ts `sharingResourceOf`), so a new department whose contract is not yet in
 * `contracts/` (an adapter package published through the API, docs/departments.md) can have its
 * sharing terms decided by a rival department.
 *
 * Promise broken (docs/access-policy.md `contract.publish`, docs/security.md): "the owning
 * department (terms included)" publishes and changes the terms of "its own resources"; sharing
 * terms are the owner's call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';

let gw: TestGateway;
let amr = '';
let psb = '';

const contract = (departmentCode: string, sharingType: string) => ({
  openapi: '3.1.0',
  info: {
    title: 'PSB household register (new)',
    version: '1.0.0',
    'x-onewindow-catalogue': {
      resourceCode: 'psb.household-register',
      departmentCode,
      sharingType,
      updateFrequency: 'daily',
      sla: { availabilityPercent: 99, p95LatencyMs: 500, supportHours: 'office hours' },
    },
  },
  paths: { '/items': { get: { responses: { '200': { description: 'ok' } } } } },
});

beforeAll(async () => {
  gw = await createTestGateway();
  amr = await gw.tokenFor('department', ['contracts:read', 'contracts:write', 'grants:decide'], {
    departmentCode: 'AMR',
  });
  psb = await gw.tokenFor('department', ['contracts:read', 'contracts:write', 'grants:decide'], {
    departmentCode: 'PSB',
  });
});
afterAll(async () => {
  await gw?.close();
});

const publish = (token: string, document: unknown) =>
  gw.request('/v1/contracts', {
    method: 'POST',
    headers: bearer(token, { 'content-type': 'application/json' }),
    body: JSON.stringify({ document }),
  });

describe("review 20: a department squats another department's resource code", () => {
  it('refuses AMR creating psb.* as its own, unconditionally shared', async () => {
    const squat = await publish(amr, contract('AMR', 'unconditional'));
    const text = await squat.text();
    // Safe: a resource in PSB's namespace is PSB's to create.
    expect(squat.status, text).toBe(403);
  });

  it('still lets PSB publish its own resource code', async () => {
    const own = await publish(psb, contract('PSB', 'conditional'));
    const text = await own.text();
    // Today: 403 contract.owner_fixed — the resource "belongs to AMR".
    expect(own.status, text).toBe(201);
  });
});
