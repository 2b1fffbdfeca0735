/**
 * Review 24: the case form's party check is the resolve oracle review 18 closed, one route away,
 * with no count at all.
 *
 * The door: `checkFormParties` (gateway/cases/cases.ts), run by `POST /v1/cases` and
 * `POST /v1/cases/{id}/submit`, answers `422 party_form_mismatch` when the form's `transferee.idNumber`
 * is not the ID number of the subject named as `counterparty`, and goes on (201 / another answer)
 * when it is. A window without `subjects:unmask` that sees 李梅 as 「330106********0120」 (she is
 * merely a subject id to it) names her as the buyer and tries the birth dates of one year: the
 * single guess not answered `party_form_mismatch` is her clear number. The identifier-probes
 * limiter (five answers a day per masked shape) is not consulted here.
 *
 * Promises broken: docs/access-policy.md `subject.unmask` ("with the subjects:unmask scope",
 * otherwise masked) and "Resolving a subject" (five answers per masked shape, then 429 "so a locked
 * client learns nothing").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { residentIdCheckCharacter } from '../../gateway/identity/identifiers.js';
import { CASE_WINDOW_SCOPES, bearer, caseWindow } from '../harness.js';
import { type FlatSaleStage, LI_MEI, PURPOSE, SOLE_FLAT, flatSaleStage } from '../support/flat-sale.js';

let stage: FlatSaleStage;
let snoop = '';

beforeAll(async () => {
  stage = await flatSaleStage();
  // Another window system of the same kind: case work, no subjects:unmask.
  const scopes = CASE_WINDOW_SCOPES.filter((scope) => scope !== 'subjects:write');
  snoop = (await caseWindow(stage.gw, ['psb.population', 'nrb.real-estate'], scopes)).token;
}, 60_000);

afterAll(async () => {
  await stage?.close();
});

function candidates(year: number): string[] {
  const found: string[] = [];
  for (let day = new Date(Date.UTC(year, 0, 1)); day.getUTCFullYear() === year; day.setUTCDate(day.getUTCDate() + 1)) {
    const body = `330106${day.toISOString().slice(0, 10).replaceAll('-', '')}012`;
    if (residentIdCheckCharacter(body) === '0') found.push(`${body}0`);
  }
  return found;
}

describe('review 24: a case form confirms a party’s masked ID number', () => {
  it('gives a window without subjects:unmask no more than five answers for a masked shape', async () => {
    const { gw, zhangSan, liMei } = stage;
    const seen = await gw.request(`/v1/subjects/${liMei}`, { headers: bearer(snoop, PURPOSE) });
    const shown = await seen.text();
    expect(seen.status).toBe(200);
    expect(shown).toContain('330106********0120');
    expect(shown).not.toContain(LI_MEI.identifier);

    const tries = candidates(1985);
    expect(tries).toContain(LI_MEI.identifier);
    const answers: { number: string; status: number; code: string | undefined }[] = [];
    for (const number of tries) {
      const response = await gw.request('/v1/cases', {
        method: 'POST',
        headers: bearer(snoop, { ...PURPOSE, 'content-type': 'application/json' }),
        body: JSON.stringify({
          itemCode: 'real_estate_transfer',
          subjectId: zhangSan,
          form: { certificateNo: SOLE_FLAT, transferee: { name: '某某', idNumber: number }, transferReason: 'sale' },
          parties: [{ role: 'counterparty', subjectId: liMei }],
        }),
      });
      const body = (await response.json()) as { code?: string };
      answers.push({ number, status: response.status, code: body.code });
    }
    const mismatches = answers.filter((answer) => answer.code === 'party_form_mismatch');
    const right = answers.find((answer) => answer.number === LI_MEI.identifier);
    // Today: every wrong birth date is answered party_form_mismatch, the right one opens the case (201).
    expect(mismatches.length).toBeLessThanOrEqual(5);
    expect(right?.status).not.toBe(201);
  }, 120_000);
});
