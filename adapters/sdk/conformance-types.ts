/**
 * What an adapter's own test gives the shared conformance suite (`conformance.ts`): how to start
 * its simulator and build the adapter against it, and sample requests for each declared
 * capability. The suite then runs every happy path and every department failure.
 */
import type { DepartmentClient } from './adapter.js';
import type { ClientTuning } from './client.js';
import type { RunningSimulator } from './simulator.js';
import type {
  CaseSubmissionRequest,
  CertificateRequest,
  DepartmentAdapter,
  IdentityVerificationRequest,
} from './types.js';

export interface ConformanceFixture {
  simulator: RunningSimulator;
  adapter: DepartmentAdapter;
  /** The client the adapter was built with; when given, the suite also checks its breaker state. */
  client?: DepartmentClient;
  /** Stops the adapter and the simulator. */
  close(): Promise<void>;
}

export interface ConformanceHarness {
  /** Shown in the test names, e.g. `PSB population registry`. */
  name: string;
  /**
   * Starts a fresh simulator and an adapter against it, built with the SDK client (the suite
   * passes short timeouts and a small breaker so faults are seen quickly).
   */
  start(tuning: ClientTuning): Promise<ConformanceFixture>;
  /** Samples for each capability the adapter declares; the suite checks that they exist. */
  samples: {
    verifyIdentity?: {
      match: IdentityVerificationRequest;
      mismatch: IdentityVerificationRequest;
      unknown: IdentityVerificationRequest;
    };
    fetchCertificate?: { found: CertificateRequest[]; notFound: CertificateRequest };
    /** A submission; the suite also sends it twice with one idempotency key. Faults are tried on it. */
    submitCase?: CaseSubmissionRequest;
    /**
     * A submission of each other declared submission type (`submitCase` covers one): every type the
     * adapter declares needs a sample, and each is delivered twice with one key.
     */
    otherSubmissionTypes?: CaseSubmissionRequest[];
    /** Status queries need a reference: the suite submits `submitCase` first and queries its receipt. */
    queryCaseStatus?: true;
  };
  /**
   * The simulator operation names each capability uses (for faults limited to one operation and
   * for counting retries), e.g. `{ fetchCertificate: 'certificate' }`.
   */
  operations: Partial<
    Record<'verifyIdentity' | 'fetchCertificate' | 'submitCase' | 'queryCaseStatus' | 'health', string>
  >;
}
