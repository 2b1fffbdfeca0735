/**
 * The department systems of this deployment, built once at start from the configuration: for
 * each, the SDK's resilient client (its own pool, breaker and concurrency cap) and the adapter
 * over it. Everything that talks to a department goes through here.
 */
import type { Logger } from 'pino';
import type { ContractSet, DepartmentClient, RegisteredAdapterFactory } from '../../adapters/sdk/adapter.js';
import { createDepartmentClient } from '../../adapters/sdk/client.js';
import type { DepartmentMetrics } from '../../adapters/sdk/metrics.js';
import type { UrlPolicy } from '../../adapters/sdk/url-policy.js';
import type { DepartmentAdapter } from '../../adapters/sdk/types.js';
import { DepartmentError } from '../../adapters/sdk/errors.js';
import { ConfigError } from '../config.js';
import type { DepartmentConfig } from './config.js';

export interface RegisteredDepartment {
  code: string;
  name: string;
  adapterKind: string;
  baseUrl: string;
  adapter: DepartmentAdapter;
  client: DepartmentClient;
}

export interface DepartmentRegistryOptions {
  departments: DepartmentConfig[];
  urlPolicy: UrlPolicy;
  /** Per-department URL policies that override `urlPolicy` (the demo's loopback simulators). */
  urlPolicyOverrides?: Record<string, UrlPolicy>;
  factories: readonly RegisteredAdapterFactory[];
  contracts: ContractSet;
  metrics: DepartmentMetrics;
  logger: Logger;
  now?: () => Date;
}

export class DepartmentRegistry {
  private constructor(private readonly departments: ReadonlyMap<string, RegisteredDepartment>) {}

  /**
   * Builds every department's client and adapter. Problems (unknown adapter kind, bad options,
   * a base URL the policy refuses) are collected and thrown together as a ConfigError, so a
   * misconfigured deployment does not start.
   */
  static create(options: DepartmentRegistryOptions): DepartmentRegistry {
    const factories = new Map(options.factories.map((factory) => [factory.kind, factory]));
    const problems: string[] = [];
    const built = new Map<string, RegisteredDepartment>();
    for (const department of options.departments) {
      const where = `department ${department.code}`;
      const factory = factories.get(department.adapter);
      if (!factory) {
        problems.push(`${where}: unknown adapter "${department.adapter}" (known: ${[...factories.keys()].join(', ')})`);
        continue;
      }
      const parsedOptions = factory.optionsSchema.safeParse(department.options);
      if (!parsedOptions.success) {
        for (const issue of parsedOptions.error.issues)
          problems.push(`${where}: options.${issue.path.join('.')}: ${issue.message}`);
        continue;
      }
      let client: DepartmentClient;
      try {
        client = createDepartmentClient({
          ...department.tuning,
          department: department.code,
          baseUrl: department.baseUrl,
          urlPolicy: options.urlPolicyOverrides?.[department.code] ?? options.urlPolicy,
          metrics: options.metrics,
          logger: options.logger,
        });
      } catch (error) {
        if (error instanceof DepartmentError) {
          problems.push(`${where}: baseUrl ${department.baseUrl}: ${error.message}`);
          continue;
        }
        throw error;
      }
      const adapter = factory.create(parsedOptions.data, {
        department: department.code,
        client,
        contracts: options.contracts,
        logger: options.logger.child({ department: department.code }),
        now: options.now ?? (() => new Date()),
      });
      built.set(department.code, {
        code: department.code,
        name: department.name,
        adapterKind: department.adapter,
        baseUrl: client.baseUrl,
        adapter,
        client,
      });
    }
    if (problems.length > 0) {
      for (const department of built.values()) void department.adapter.close();
      throw new ConfigError(problems);
    }
    return new DepartmentRegistry(built);
  }

  get(code: string): RegisteredDepartment | undefined {
    return this.departments.get(code);
  }

  list(): RegisteredDepartment[] {
    return [...this.departments.values()];
  }

  /** Departments whose adapter issues certificates of this type. */
  providersOf(certificateType: string): RegisteredDepartment[] {
    return this.list().filter(
      (department) =>
        department.adapter.fetchCertificate !== undefined &&
        (department.adapter.certificateTypes ?? []).includes(certificateType),
    );
  }

  /**
   * The resource through which a department shares certificates of this type: the sharing terms
   * of a document it issues of that type. Null when it publishes none for the type.
   */
  sharingResourceOf(departmentCode: string, certificateType: string): string | null {
    const department = this.providersOf(certificateType).find((provider) => provider.code === departmentCode);
    return department?.adapter.resources.fetchCertificate ?? null;
  }

  /** Departments that can verify identities. */
  identityVerifiers(): RegisteredDepartment[] {
    return this.list().filter((department) => department.adapter.verifyIdentity !== undefined);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.list().map((department) => department.adapter.close()));
  }
}
