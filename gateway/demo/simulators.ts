/**
 * Demo only: the department simulators `npm start` runs beside the gateway, so the walk-through
 * works on a fresh machine with no department systems at hand. Each simulator is a real HTTP
 * server on loopback speaking its department's own protocol; the gateway is connected to them
 * exactly as it would be to the real systems (same adapters, same client, same contracts), with
 * one difference: these departments' URL policy allows loopback and nothing else. Every department
 * adapter is a package named by `adapterPackage`, and its simulator comes from the same package.
 */
import type { Logger } from 'pino';
import type * as AmrSimulator from '@onewindow/adapter-amr-enterprise/simulator';
import type * as McaSimulator from '@onewindow/adapter-mca-marriage/simulator';
import type * as NrbSimulator from '@onewindow/adapter-nrb-realestate/simulator';
import type * as PsbSimulator from '@onewindow/adapter-psb-population/simulator';
import { importAdapterPackageExport } from '../departments/adapter-packages.js';
import type { RunningSimulator, StartSimulatorOptions } from '../../adapters/sdk/simulator.js';
import type { UrlPolicy } from '../../adapters/sdk/url-policy.js';
import {
  SMS_DEMO_APP_KEY,
  SMS_DEMO_APP_SECRET,
  SMS_DEMO_SIGN_NAME,
  startSmsGatewaySimulator,
} from '../../adapters/sms-gateway/simulator.js';
import {
  EXPRESS_DEMO_CHECK_WORD,
  EXPRESS_DEMO_PARTNER_ID,
  type RunningExpressSimulator,
  startExpressSimulator,
} from '../../adapters/courier-express/simulator.js';
import { type CourierSettings, courierConfigSchema } from '../results/courier-config.js';
import type { DepartmentConfig } from '../departments/config.js';
import {
  type NotificationSettings,
  notificationSettingsFrom,
  notificationsConfigSchema,
} from '../notifications/config.js';
import {
  defaultTemplateCode,
  notificationLanguages,
  notificationTemplates,
  templateIds,
} from '../notifications/templates.js';

interface DemoDepartment {
  code: string;
  name: string;
  /** The adapter package, as a departments file names it. */
  adapter: { adapterPackage: string };
  /** Demo credentials: well known, like the demo clients' secrets. */
  options(): Promise<Record<string, unknown>>;
  /** Its port is the base port plus this (default: its place in the list); SMS and courier take +3 and +4. */
  portOffset?: number;
  /** The identity verifications this department answers (PSB: resident ID numbers). */
  identityVerification?: DepartmentConfig['identityVerification'];
  start(options: StartSimulatorOptions): Promise<RunningSimulator>;
}

const PSB_PACKAGE = '@onewindow/adapter-psb-population';
const AMR_PACKAGE = '@onewindow/adapter-amr-enterprise';
const NRB_PACKAGE = '@onewindow/adapter-nrb-realestate';
const MCA_PACKAGE = '@onewindow/adapter-mca-marriage';
// Each simulator comes from its adapter's package, found as the gateway finds the adapter, so the
// gateway's own code links no adapter in.
const psbSimulator = async (): Promise<typeof PsbSimulator> =>
  (await importAdapterPackageExport(PSB_PACKAGE, './simulator')) as typeof PsbSimulator;
const amrSimulator = async (): Promise<typeof AmrSimulator> =>
  (await importAdapterPackageExport(AMR_PACKAGE, './simulator')) as typeof AmrSimulator;
const nrbSimulator = async (): Promise<typeof NrbSimulator> =>
  (await importAdapterPackageExport(NRB_PACKAGE, './simulator')) as typeof NrbSimulator;
const mcaSimulator = async (): Promise<typeof McaSimulator> =>
  (await importAdapterPackageExport(MCA_PACKAGE, './simulator')) as typeof McaSimulator;

export const demoDepartments: readonly DemoDepartment[] = [
  {
    code: 'PSB',
    name: 'Public Security population registry (simulator)',
    adapter: { adapterPackage: PSB_PACKAGE },
    options: async () => {
      const { PSB_DEMO_APP_KEY, PSB_DEMO_APP_SECRET } = await psbSimulator();
      return { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET };
    },
    identityVerification: { identifierTypes: ['resident_id'] },
    start: async (options) => (await psbSimulator()).startPsbPopulationSimulator(options),
  },
  {
    code: 'AMR',
    name: 'Market Regulation enterprise registry (simulator)',
    adapter: { adapterPackage: AMR_PACKAGE },
    options: async () => {
      const { defaultAmrCredentials } = await amrSimulator();
      return { wsUsername: defaultAmrCredentials.username, wsPassword: defaultAmrCredentials.password };
    },
    start: async (options) => (await amrSimulator()).startAmrEnterpriseSimulator(options),
  },
  {
    code: 'NRB',
    name: 'Natural Resources real-estate registry (simulator)',
    adapter: { adapterPackage: NRB_PACKAGE },
    options: async () => {
      const { NRB_DEMO_CLIENT_ID, NRB_DEMO_CLIENT_SECRET } = await nrbSimulator();
      return { clientId: NRB_DEMO_CLIENT_ID, clientSecret: NRB_DEMO_CLIENT_SECRET };
    },
    start: async (options) => (await nrbSimulator()).startNrbRealEstateSimulator(options),
  },
  {
    code: 'MCA',
    name: 'Civil Affairs marriage registry (simulator)',
    adapter: { adapterPackage: MCA_PACKAGE },
    options: async () => {
      const { MCA_DEMO_APP_ID, MCA_DEMO_APP_KEY } = await mcaSimulator();
      return { appId: MCA_DEMO_APP_ID, appKey: MCA_DEMO_APP_KEY };
    },
    // 7106 by default: 7104 and 7105 are the SMS platform's and the courier's.
    portOffset: 5,
    // With its front proxy: about one call in ten is a 502 the client retries, as in real life.
    start: async (options) => {
      const { startMcaMarriageSimulator, MCA_DEMO_PROXY_SEED } = await mcaSimulator();
      return startMcaMarriageSimulator({ ...options, frontProxy: { seed: MCA_DEMO_PROXY_SEED } });
    },
  },
];

/** Only the simulators' own loopback address, for the demo departments. */
const loopbackOnly: UrlPolicy = { allowedHosts: ['127.0.0.1'], allowPrivateNetworks: true };

export interface DemoSimulators {
  departments: DepartmentConfig[];
  urlPolicyOverrides: Record<string, UrlPolicy>;
  simulators: { code: string; url: string }[];
  close(): Promise<void>;
}

function isAddressInUse(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'EADDRINUSE';
}

/**
 * Starts every demo simulator on consecutive loopback ports from `basePort` (0: free ports). A
 * port already taken (another demo running) falls back to a free port with a warning, so a second
 * `npm start` still works.
 */
export async function startDemoSimulators(basePort: number, logger: Logger): Promise<DemoSimulators> {
  const running: { department: DemoDepartment; simulator: RunningSimulator }[] = [];
  try {
    for (const [index, department] of demoDepartments.entries()) {
      const port = basePort === 0 ? 0 : basePort + (department.portOffset ?? index);
      let simulator: RunningSimulator;
      try {
        simulator = await department.start({ port, host: '127.0.0.1' });
      } catch (error) {
        if (!isAddressInUse(error)) throw error;
        logger.warn({ department: department.code, port }, 'demo simulator port in use; using a free port instead');
        simulator = await department.start({ port: 0, host: '127.0.0.1' });
      }
      running.push({ department, simulator });
    }
  } catch (error) {
    await Promise.allSettled(running.map(({ simulator }) => simulator.close()));
    throw error;
  }
  const departments: DepartmentConfig[] = [];
  for (const { department, simulator } of running)
    departments.push({
      code: department.code,
      name: department.name,
      ...department.adapter,
      baseUrl: simulator.url,
      options: await department.options(),
      tuning: {},
      ...(department.identityVerification ? { identityVerification: department.identityVerification } : {}),
    });
  return {
    departments,
    urlPolicyOverrides: Object.fromEntries(running.map(({ department }) => [department.code, loopbackOnly])),
    simulators: running.map(({ department, simulator }) => ({ code: department.code, url: simulator.url })),
    close: async () => {
      await Promise.allSettled(running.map(({ simulator }) => simulator.close()));
    },
  };
}

/** The demo's SMS platform: the simulator and the notification channel connected to it. */
export interface DemoSmsGateway {
  channel: { settings: NotificationSettings; urlPolicy: UrlPolicy };
  simulator: { code: string; url: string };
  close(): Promise<void>;
}

/**
 * Starts the SMS platform simulator beside the demo gateway (port 0: a free one; a taken port
 * falls back to a free one), with the gateway's templates approved under their default codes, and
 * describes the notification channel to it. Receipts are final two seconds after a message and
 * asked for every two seconds, so the walk-through shows them quickly.
 */
export async function startDemoSmsGateway(port: number, logger: Logger): Promise<DemoSmsGateway> {
  const templates = Object.fromEntries(
    templateIds.flatMap((id) =>
      notificationLanguages.map((language) => [
        defaultTemplateCode(id, language),
        notificationTemplates[id].text[language],
      ]),
    ),
  );
  const options = { host: '127.0.0.1', templates, receiptDelayMs: 2000 };
  let simulator: RunningSimulator;
  try {
    simulator = await startSmsGatewaySimulator({ ...options, port });
  } catch (error) {
    if (!isAddressInUse(error)) throw error;
    logger.warn({ channel: 'SMS', port }, 'demo SMS simulator port in use; using a free port instead');
    simulator = await startSmsGatewaySimulator({ ...options, port: 0 });
  }
  const settings = notificationSettingsFrom(
    notificationsConfigSchema.parse({
      adapter: 'sms-gateway',
      code: 'SMS',
      baseUrl: simulator.url,
      options: { appKey: SMS_DEMO_APP_KEY, appSecret: SMS_DEMO_APP_SECRET, signName: SMS_DEMO_SIGN_NAME },
      receipts: { pollIntervalMs: 2000 },
    }),
  );
  return {
    channel: { settings, urlPolicy: loopbackOnly },
    simulator: { code: 'SMS', url: simulator.url },
    close: () => simulator.close(),
  };
}

/** The demo's courier: the express platform's simulator and the courier settings pointing at it. */
export interface DemoCourier {
  channel: { settings: CourierSettings; urlPolicy: UrlPolicy };
  simulator: { code: string; url: string };
  close(): Promise<void>;
}

/**
 * Starts the express platform's simulator beside the demo gateway (after the SMS platform's port;
 * a taken port falls back to a free one) and describes the courier to it. Routes are asked for
 * every ten seconds, so a parcel moved on with `POST /__express/advance` shows up quickly.
 */
export async function startDemoCourier(port: number, logger: Logger): Promise<DemoCourier> {
  let simulator: RunningExpressSimulator;
  try {
    simulator = await startExpressSimulator({ host: '127.0.0.1', port });
  } catch (error) {
    if (!isAddressInUse(error)) throw error;
    logger.warn({ channel: 'EXPRESS', port }, 'demo express simulator port in use; using a free port instead');
    simulator = await startExpressSimulator({ host: '127.0.0.1', port: 0 });
  }
  const settings = courierConfigSchema.parse({
    adapter: 'courier-express',
    baseUrl: simulator.url,
    options: { partnerId: EXPRESS_DEMO_PARTNER_ID, checkWord: EXPRESS_DEMO_CHECK_WORD, carrierName: '顺丰速运' },
    sender: {
      name: '某某市政务服务中心',
      mobile: '13800000000',
      province: '陕西省',
      city: '西安市',
      district: '未央区',
      detail: '凤城八路109号',
    },
    delivery: { maxAttempts: 8, backoffBaseMs: 2000, backoffMaxMs: 60000, leaseMs: 60000 },
    routes: { pollIntervalMs: 10_000 },
  });
  return {
    channel: { settings, urlPolicy: loopbackOnly },
    simulator: { code: 'EXPRESS', url: simulator.url },
    close: () => simulator.close(),
  };
}
