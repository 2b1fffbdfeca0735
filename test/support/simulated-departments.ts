/**
 * The three simulated departments (PSB, AMR, NRB) as `DEPARTMENTS_JSON`, with the simulators' demo
 * credentials: the set-up the case stories share.
 */
import { defaultAmrCredentials } from '../../adapters/amr-enterprise/simulator.js';
import { NRB_DEMO_CLIENT_ID, NRB_DEMO_CLIENT_SECRET } from '../../adapters/nrb-realestate/simulator.js';
import { PSB_DEMO_APP_KEY, PSB_DEMO_APP_SECRET } from '../../adapters/psb-population/simulator.js';

/** Retries short and the breaker out of the way: a test waits on the department, not on back-off. */
export const FAST_TUNING = { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 };

/** The simulated departments whose URL is given (all three in the case stories), as `DEPARTMENTS_JSON`. */
export function simulatedDepartmentsJson(
  urls: { psb?: string; amr?: string; nrb?: string },
  tuning: Record<string, number> = FAST_TUNING,
): string {
  const departments = [
    urls.psb && {
      code: 'PSB',
      name: 'Population registry',
      adapter: 'psb-population',
      baseUrl: urls.psb,
      options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
      tuning,
    },
    urls.amr && {
      code: 'AMR',
      name: 'Enterprise registry',
      adapter: 'amr-enterprise',
      baseUrl: urls.amr,
      options: { wsUsername: defaultAmrCredentials.username, wsPassword: defaultAmrCredentials.password },
      tuning,
    },
    urls.nrb && {
      code: 'NRB',
      name: 'Real-estate registry',
      adapter: 'nrb-realestate',
      baseUrl: urls.nrb,
      options: { clientId: NRB_DEMO_CLIENT_ID, clientSecret: NRB_DEMO_CLIENT_SECRET },
      tuning,
    },
  ];
  return JSON.stringify(departments.filter(Boolean));
}
