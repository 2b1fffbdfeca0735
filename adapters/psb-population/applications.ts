/**
 * The simulated registry's application desk (户籍业务受理): household move-in applications that
 * one-window systems send in, deduplicated by 业务流水号 (`ywlsh`), and their status.
 *
 * Deduplication is what lets a sender retry safely: a resubmission with a known `ywlsh` and the
 * same content answers the original acceptance with `cfbz` 1 and creates nothing (so
 * `count()` counts distinct applications, whatever the number of deliveries); a known `ywlsh`
 * with other content is refused (4005), because one key must never stand for two applications.
 *
 * Status: 01 受理 → 02 办理中 → 04 办结, one step per `statusStepMs`, unless the application was
 * moved by `advance` (to any status, 03 待补正 and 05 不予受理 included), after which it stays where
 * it was put until the next `advance`. 办结 and 不予受理 are final.
 *
 * No transport here: the simulator parses, authenticates and answers; this module decides.
 */
import { createHash } from 'node:crypto';
import {
  applicationStatusCodes,
  applicationStatusNames,
  compactBeijingTimestamp,
  isFinalApplicationStatus,
  moveInTypeCodes,
  psbCodes,
  type ApplicationReceiptWire,
  type ApplicationStatusCode,
  type ApplicationStatusWire,
  type MoveInApplicationWire,
  type WithdrawalReceiptWire,
} from './protocol.js';
import type { SeededPerson } from './seed.js';

interface Application {
  slbh: string;
  ywlsh: string;
  /** SHA-256 of the application's canonical JSON, to tell a retry from a reused key. */
  fingerprint: string;
  receivedAtMs: number;
  /** Who applies to move in (申请人): the name and ID number as received. */
  sqr: { xm: string; sfzh: string };
  /** Where `advance` put it; automatic progression no longer applies. */
  pinned?: CurrentStatus;
}

interface CurrentStatus {
  blzt: ApplicationStatusCode;
  bz?: string;
  atMs: number;
}

/** A decision of the desk: the data of a `0000` answer, or a refusal code. */
export type DeskAnswer<Data> = { code: typeof psbCodes.success; data: Data } | { code: string };

export type AdvanceOutcome = 'advanced' | 'unknown' | 'final';

export interface ApplicationSummary {
  slbh: string;
  ywlsh: string;
  /** Who applies to move in, as received. */
  sqr: { xm: string; sfzh: string };
  blzt: ApplicationStatusCode;
  gxsj: string;
}

export interface ApplicationDeskOptions {
  /** The registry's people; applicants from elsewhere (another province) are not among them. */
  people: ReadonlyMap<string, SeededPerson>;
  /** The registry's clock, ms since epoch. */
  now: () => number;
  /** Milliseconds per automatic status step; `false`: statuses change only by `advance`. */
  statusStepMs: number | false;
}

const SERIAL_NUMBER = /^[A-Za-z0-9._:-]{1,128}$/;
const ID_NUMBER = /^\d{17}[\dX]$/;
const DIGEST = /^[0-9a-f]{64}$/;
const APPLICATION_FIELDS = new Set([
  'ywlsh',
  'ajbh',
  'sxbm',
  'sqr',
  'qrlx',
  'qrdz',
  'qcdz',
  'bdcqzh',
  'sqry',
  'clxx',
  'bdsj',
]);
const MOVE_IN_TYPES: ReadonlySet<string> = new Set(Object.values(moveInTypeCodes));
const COMPLETION_REMARK = '准予迁入，已办理户口登记';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isText(value: unknown, maxLength: number): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= maxLength;
}

function hasOnly(value: Record<string, unknown>, fields: readonly string[]): boolean {
  return Object.keys(value).every((key) => fields.includes(key));
}

/** The contract's MoveInApplication schema, checked by hand (the registry answers 3001 otherwise). */
export function isMoveInApplication(value: unknown): value is MoveInApplicationWire {
  if (!isRecord(value) || !Object.keys(value).every((key) => APPLICATION_FIELDS.has(key))) return false;
  const { ywlsh, ajbh, sxbm, sqr, qrlx, qrdz, qcdz, bdcqzh, sqry, clxx, bdsj } = value;
  if (typeof ywlsh !== 'string' || !SERIAL_NUMBER.test(ywlsh) || !isText(ajbh, 64) || !isText(sxbm, 64)) return false;
  if (
    !isRecord(sqr) ||
    !hasOnly(sqr, ['xm', 'sfzh']) ||
    !isText(sqr['xm'], 64) ||
    typeof sqr['sfzh'] !== 'string' ||
    !ID_NUMBER.test(sqr['sfzh'])
  )
    return false;
  if (typeof qrlx !== 'string' || !MOVE_IN_TYPES.has(qrlx)) return false;
  // The address is given, or taken from the property's registration.
  if (qrdz === undefined && bdcqzh === undefined) return false;
  if (
    (qrdz !== undefined && !isText(qrdz, 200)) ||
    (qcdz !== undefined && !isText(qcdz, 200)) ||
    (bdcqzh !== undefined && !isText(bdcqzh, 100))
  )
    return false;
  if (sqry !== undefined) {
    if (!Array.isArray(sqry) || sqry.length > 20) return false;
    const valid = sqry.every(
      (person: unknown) =>
        isRecord(person) &&
        hasOnly(person, ['xm', 'sfzh', 'yhzgx']) &&
        isText(person['xm'], 64) &&
        typeof person['sfzh'] === 'string' &&
        ID_NUMBER.test(person['sfzh']) &&
        isText(person['yhzgx'], 20),
    );
    if (!valid) return false;
  }
  if (!Array.isArray(clxx) || clxx.length > 50) return false;
  const materialsValid = clxx.every(
    (material: unknown) =>
      isRecord(material) &&
      hasOnly(material, ['cllx', 'sha256', 'mtlx', 'dx']) &&
      isText(material['cllx'], 64) &&
      typeof material['sha256'] === 'string' &&
      DIGEST.test(material['sha256']) &&
      isText(material['mtlx'], 100) &&
      typeof material['dx'] === 'number' &&
      Number.isSafeInteger(material['dx']) &&
      material['dx'] >= 0,
  );
  return materialsValid && isRecord(bdsj);
}

/** JSON with object keys sorted, so the same application always has the same fingerprint. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export class ApplicationDesk {
  private readonly byKey = new Map<string, Application>();
  private readonly byNumber = new Map<string, Application>();
  private sequence = 0;

  constructor(private readonly options: ApplicationDeskOptions) {
    const step = options.statusStepMs;
    if (step !== false && !(Number.isFinite(step) && step > 0))
      throw new RangeError('statusStepMs must be a positive number of milliseconds or false');
  }

  /**
   * Receives an application. `otherSubject` (the `wrong_subject` fault) accepts it but echoes
   * another `ywlsh`, as a registry mixing up two deliveries would.
   */
  submit(application: MoveInApplicationWire, otherSubject = false): DeskAnswer<ApplicationReceiptWire> {
    const fingerprint = createHash('sha256').update(canonicalJson(application)).digest('hex');
    const known = this.byKey.get(application.ywlsh);
    if (known !== undefined) {
      if (known.fingerprint !== fingerprint) return { code: psbCodes.serialNumberConflict };
      return { code: psbCodes.success, data: this.receiptOf(known, true, otherSubject) };
    }
    const refusal = this.refusalOf(application);
    if (refusal !== null) return { code: refusal };

    this.sequence += 1;
    const receivedAtMs = this.options.now();
    const day = compactBeijingTimestamp(receivedAtMs).slice(0, 8);
    const created: Application = {
      slbh: `HK${day}${String(this.sequence % 1_000_000).padStart(6, '0')}`,
      ywlsh: application.ywlsh,
      fingerprint,
      receivedAtMs,
      sqr: { xm: application.sqr.xm, sfzh: application.sqr.sfzh },
    };
    this.byKey.set(created.ywlsh, created);
    this.byNumber.set(created.slbh, created);
    return { code: psbCodes.success, data: this.receiptOf(created, false, otherSubject) };
  }

  /** The status of `slbh`; `otherSubject` answers with another application's number. */
  status(slbh: string, otherSubject = false): DeskAnswer<ApplicationStatusWire> {
    const application = this.byNumber.get(slbh);
    if (application === undefined) return { code: psbCodes.applicationNotFound };
    const current = this.statusOf(application);
    return {
      code: psbCodes.success,
      data: {
        // Another application's number: the last digit turned over.
        slbh: otherSubject ? `${slbh.slice(0, -1)}${(Number(slbh.slice(-1)) + 1) % 10}` : slbh,
        blzt: current.blzt,
        blztmc: applicationStatusNames[current.blzt],
        gxsj: compactBeijingTimestamp(current.atMs),
        ...(current.bz === undefined ? {} : { bz: current.bz }),
      },
    };
  }

  /** Moves an application to `blzt` (with a remark: what to supply for 03, why for 05). */
  advance(slbh: string, blzt: ApplicationStatusCode, bz?: string): AdvanceOutcome {
    const application = this.byNumber.get(slbh);
    if (application === undefined) return 'unknown';
    if (isFinalApplicationStatus(this.statusOf(application).blzt)) return 'final';
    application.pinned = { blzt, atMs: this.options.now(), ...(bz === undefined ? {} : { bz }) };
    return 'advanced';
  }

  /**
   * Withdraws an application not yet concluded (06 已撤回). Withdrawing a withdrawn one answers its
   * withdrawal again; a concluded one (04, 05) is refused with 4006 and stays as it is.
   */
  withdraw(slbh: string, reason: string): DeskAnswer<WithdrawalReceiptWire> {
    const application = this.byNumber.get(slbh);
    if (application === undefined) return { code: psbCodes.applicationNotFound };
    const current = this.statusOf(application);
    if (current.blzt === applicationStatusCodes.withdrawn)
      return { code: psbCodes.success, data: { slbh, blzt: '06', cxsj: compactBeijingTimestamp(current.atMs) } };
    if (isFinalApplicationStatus(current.blzt)) return { code: psbCodes.applicationConcluded };
    const atMs = this.options.now();
    application.pinned = { blzt: applicationStatusCodes.withdrawn, atMs, bz: reason };
    return { code: psbCodes.success, data: { slbh, blzt: '06', cxsj: compactBeijingTimestamp(atMs) } };
  }

  /** Distinct applications received (resubmissions of a known `ywlsh` are not counted). */
  count(): number {
    return this.byNumber.size;
  }

  list(): ApplicationSummary[] {
    return [...this.byNumber.values()].map((application) => {
      const current = this.statusOf(application);
      return {
        slbh: application.slbh,
        ywlsh: application.ywlsh,
        sqr: { ...application.sqr },
        blzt: current.blzt,
        gxsj: compactBeijingTimestamp(current.atMs),
      };
    });
  }

  /** The registry's business rules for a new application, in the order it checks them. */
  private refusalOf(application: MoveInApplicationWire): string | null {
    const person = this.options.people.get(application.sqr.sfzh);
    // Someone not on this registry moves in from another province: nothing to check here.
    if (person !== undefined) {
      if (person.xm !== application.sqr.xm.trim()) return psbCodes.applicantMismatch;
      // Without a household-register record the person's registration is being moved already.
      if (person.household === undefined) return psbCodes.migrationInProgress;
    }
    if (application.qrlx === moveInTypeCodes.purchase && application.bdcqzh === undefined)
      return psbCodes.propertyCertificateRequired;
    return null;
  }

  private receiptOf(application: Application, duplicate: boolean, otherSubject: boolean): ApplicationReceiptWire {
    return {
      slbh: application.slbh,
      ywlsh: otherSubject ? `${application.ywlsh}-other` : application.ywlsh,
      cfbz: duplicate ? '1' : '0',
      blzt: this.statusOf(application).blzt,
      slsj: compactBeijingTimestamp(application.receivedAtMs),
    };
  }

  private statusOf(application: Application): CurrentStatus {
    if (application.pinned) return application.pinned;
    const step = this.options.statusStepMs;
    const steps = step === false ? 0 : Math.floor((this.options.now() - application.receivedAtMs) / step);
    if (steps <= 0 || step === false) return { blzt: applicationStatusCodes.received, atMs: application.receivedAtMs };
    if (steps === 1) return { blzt: applicationStatusCodes.inProgress, atMs: application.receivedAtMs + step };
    return { blzt: applicationStatusCodes.completed, bz: COMPLETION_REMARK, atMs: application.receivedAtMs + 2 * step };
  }
}
