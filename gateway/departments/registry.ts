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
import type { DepartmentAdapter, PersonIdentifierType } from '../../adapters/sdk/types.js';
import { DepartmentError } from '../../adapters/sdk/errors.js';
import { ConfigError } from '../config.js';
import { shippedAdapterKinds } from './adapter-packages.js';
import type { DepartmentConfig } from './config.js';

export interface RegisteredDepartment {
  code: string;
  name: string;
  adapterKind: string;
  baseUrl: string;
  adapter: DepartmentAdapter;
  client: DepartmentClient;
  /** Where the outcomes of its capability calls are counted (`invokeDepartment`). */
  metrics: DepartmentMetrics;
  /** The identifier types the configuration routes identity verification of to this department. */
  answersIdentityVerification: PersonIdentifierType[];
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

/** The identifier types an adapter's `verifyIdentity` accepts (none when it does not verify). */
export function verifiableIdentifierTypes(adapter: DepartmentAdapter): readonly PersonIdentifierType[] {
  if (adapter.verifyIdentity === undefined) return [];
  return adapter.identityIdentifierTypes ?? ['resident_id'];
}

/**
 * Who answers identity verification for each identifier type, from the departments'
 * `identityVerification.identifierTypes`. Refuses (problems) a type claimed by two departments
 * and a claim the department's adapter cannot honour, so nothing is decided by list order. When
 * no department names any, a single department able to verify answers; several refuse the start
 * (ambiguous: which one answers is the operator's decision, written in the file).
 */
function identityRoutes(
  departments: readonly DepartmentConfig[],
  built: ReadonlyMap<string, RegisteredDepartment>,
  problems: string[],
): Map<PersonIdentifierType, string> {
  const routes = new Map<PersonIdentifierType, string>();
  for (const department of departments) {
    const claimed = department.identityVerification?.identifierTypes;
    if (claimed === undefined) continue;
    const where = `department ${department.code}: identityVerification.identifierTypes`;
    const registered = built.get(department.code);
    // A department that failed to build already has its problem listed.
    if (!registered) continue;
    const accepted = verifiableIdentifierTypes(registered.adapter);
    if (accepted.length === 0) {
      problems.push(`${where}: its adapter ${department.adapter} does not verify identities`);
      continue;
    }
    for (const type of new Set(claimed)) {
      const other = routes.get(type);
      if (other !== undefined) {
        problems.push(
          `${where}: ${type} is already answered by ${other}; exactly one department may answer each identifier type`,
        );
        continue;
      }
      if (!accepted.includes(type)) {
        problems.push(
          `${where}: its adapter ${department.adapter} does not verify ${type} (it verifies ${accepted.join(', ')})`,
        );
        continue;
      }
      routes.set(type, department.code);
      registered.answersIdentityVerification.push(type);
    }
  }
  if (departments.some((department) => department.identityVerification !== undefined)) return routes;
  // Nothing named: one department able to verify is unambiguous and answers what it verifies. Two
  // or more are ambiguous; a newly listed one must neither take over silently nor leave every
  // window's checks answering 503 unnoticed, so the start stops and names the key that decides.
  const verifiers = departments.flatMap((department) => {
    const registered = built.get(department.code);
    return registered && verifiableIdentifierTypes(registered.adapter).length > 0 ? [registered] : [];
  });
  const [first] = verifiers;
  if (first === undefined) return routes;
  if (verifiers.length === 1) {
    for (const type of verifiableIdentifierTypes(first.adapter)) {
      routes.set(type, first.code);
      first.answersIdentityVerification.push(type);
    }
  } else {
    const example = JSON.stringify({ identifierTypes: verifiableIdentifierTypes(first.adapter) });
    problems.push(
      `departments ${verifiers.map((verifier) => verifier.code).join(', ')} can all verify identities and none names ` +
        'what it answers: set identityVerification.identifierTypes on the department that answers each identifier ' +
        `type (e.g. "identityVerification": ${example} on ${first.code}); the others answer only when a caller names them`,
    );
  }
  return routes;
}

export class DepartmentRegistry {
  private constructor(
    private readonly departments: ReadonlyMap<string, RegisteredDepartment>,
    private readonly identityRoutes: ReadonlyMap<PersonIdentifierType, string>,
  ) {}

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
      const kind = department.adapter;
      if (kind === undefined) {
        // An adapterPackage/adapterPath entry: loadDepartmentAdapters sets its kind before this.
        problems.push(
          `${where}: adapter ${department.adapterPackage ?? department.adapterPath ?? ''} was not loaded (loadDepartmentAdapters)`,
        );
        continue;
      }
      const factory = factories.get(kind);
      if (!factory) {
        const known = [...new Set([...factories.keys(), ...Object.keys(shippedAdapterKinds)])];
        problems.push(
          `${where}: unknown adapter "${kind}" (known: ${known.join(', ')}; an adapter of your own is named with ` +
            '"adapterPackage" or "adapterPath")',
        );
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
        adapterKind: kind,
        baseUrl: client.baseUrl,
        adapter,
        client,
        metrics: options.metrics,
        answersIdentityVerification: [],
      });
    }
    const routes = identityRoutes(options.departments, built, problems);
    if (problems.length > 0) {
      for (const department of built.values()) void department.adapter.close();
      throw new ConfigError(problems);
    }
    return new DepartmentRegistry(built, routes);
  }

  get(code: string): RegisteredDepartment | undefined {
    return this.departments.get(code);
  }

  list(): RegisteredDepartment[] {
    return [...this.departments.values()];
  }

  /**
   * The department a resource code belongs to: the one whose adapter serves it, else the one whose
   * code is the code's prefix (`psb.household-register` is PSB's). Null when no configured
   * department claims it. A first publication must name this owner (review 20).
   */
  ownerOfResourceCode(resourceCode: string): string | null {
    const departments = this.list();
    const serving = departments.find((department) =>
      Object.values(department.adapter.resources).includes(resourceCode),
    );
    if (serving) return serving.code;
    const prefix = resourceCode.split('.')[0]?.toUpperCase() ?? '';
    return departments.find((department) => department.code.toUpperCase() === prefix)?.code ?? null;
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

  /** Departments that can verify identities (whether or not the configuration routes any type to them). */
  identityVerifiers(): RegisteredDepartment[] {
    return this.list().filter((department) => department.adapter.verifyIdentity !== undefined);
  }

  /**
   * The department the configuration names to verify persons known by this identifier type;
   * undefined when none is named (then only a caller naming a department gets a verification).
   */
  identityVerifierFor(identifierType: PersonIdentifierType): RegisteredDepartment | undefined {
    const code = this.identityRoutes.get(identifierType);
    return code === undefined ? undefined : this.departments.get(code);
  }

  /** Identifier type → department code, as configured (the departments API shows it). */
  identityVerificationRoutes(): Record<string, string> {
    return Object.fromEntries(this.identityRoutes);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.list().map((department) => department.adapter.close()));
  }
}
