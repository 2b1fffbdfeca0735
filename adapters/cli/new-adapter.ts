/**
 * Scaffolds a new department adapter (`npm run new-adapter <name> -- --department XYZ --resource xyz.records`):
 *
 *   adapters/<name>/        protocol.ts, adapter.ts, seed.ts, simulator.ts, run-simulator.ts,
 *                           <name>.test.ts (the SDK's conformance suite against the simulator), README.md
 *   contracts/<dept>/       <resource>.openapi.yaml (a starter contract with catalogue data) and
 *                           <resource>.types.ts (its types, exactly as `npm run contracts:types` writes them)
 *
 * The result typechecks and its test passes as generated: the adapter and the simulator speak a
 * small placeholder protocol (REST/JSON, an API key, `{ code, message, data }` answers), and the
 * places where an integrator puts the department's real protocol are marked `TODO(<DEPT>)`.
 *
 * It never overwrites: an existing adapter folder, contract file, types file or a resource code
 * another contract already describes stops it before anything is written, and a failure half-way
 * removes what it wrote. The file templates live in `templates/` beside this file.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { renderContractTypes, typesFileFor } from '../../gateway/cli/contract-types.js';
import { findContractFiles } from '../../gateway/contracts/repository.js';

export const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));
const templatesDirectory = fileURLToPath(new URL('./templates/', import.meta.url));

export type HolderKind = 'person' | 'organisation';

export interface NewAdapterRequest {
  /** Adapter kind and folder name, e.g. `cab-marriage`. */
  name: string;
  /** Department code, e.g. `CAB`. */
  department: string;
  /** Data-contract resource code, e.g. `cab.marriage`. */
  resource: string;
  /** Gateway material-type code of the certificate. Default: the resource code with `_` for `.` and `-`. */
  certificateType?: string;
  /** Whose certificates the department keeps. Default `person`. */
  holderKind?: HolderKind;
  /** Human title of the department system. Default `<DEPT> <resource>`. */
  title?: string;
  /**
   * An adapter package outside the gateway's tree (`packages/adapter-<name>/`, npm package
   * `@onewindow/adapter-<name>`, the SDK imported by its package name), which a department entry
   * names with `adapterPackage`; instead of a folder under adapters/ listed in adapters/index.ts.
   */
  asPackage?: boolean;
}

/** Where to write; the defaults are the repository's own folders. */
export interface GenerateLocations {
  adaptersDirectory: string;
  /** Where adapter packages go (`asPackage`): an npm workspace folder (`packages/*`). */
  packagesDirectory?: string;
  contractsDirectory: string;
  /** The SDK the generated files import (relative imports are computed from it). */
  sdkDirectory: string;
  /** Paths shown in generated READMEs and comments are relative to this. */
  repositoryRoot: string;
}

export const repositoryLocations: GenerateLocations = {
  adaptersDirectory: join(repositoryRoot, 'adapters'),
  packagesDirectory: join(repositoryRoot, 'packages'),
  contractsDirectory: join(repositoryRoot, 'contracts'),
  sdkDirectory: join(repositoryRoot, 'adapters', 'sdk'),
  repositoryRoot,
};

export interface GeneratedAdapter {
  adapterDirectory: string;
  contractFile: string;
  typesFile: string;
  /** Every file written, absolute. */
  files: string[];
}

/** A refusal the user can act on; the CLI prints its problems and exits 1. */
export class NewAdapterError extends Error {
  override readonly name = 'NewAdapterError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

export const usage = `Usage: npm run new-adapter <name> -- --department <CODE> --resource <resource.code> [options]
   or: node --import tsx adapters/cli/new-adapter.ts <name> --department <CODE> --resource <resource.code> [options]

Scaffolds adapters/<name>/ (adapter, simulator, conformance harness and test, README) — or, with
--package, the adapter package packages/adapter-<name>/ (@onewindow/adapter-<name>) — and a starter
contract contracts/<department in lower case>/<resource.code>.openapi.yaml with its generated types.
Never overwrites.

  <name>                      adapter kind and folder: lower-case words joined by hyphens, e.g. cab-marriage
  --department <CODE>         department code: upper-case letters, digits and _, e.g. CAB
  --resource <resource.code>  data-contract resource code: dotted lower-case words, e.g. cab.marriage
  --certificate-type <code>   the certificate, as a gateway material-type code (GET /v1/material-types),
                              e.g. marriage_certificate; default: the resource code with _ for . and -,
                              a placeholder the gateway's material catalogue does not know
  --holder person|organisation  whose certificates the department keeps (default person)
  --title <text>              the system's name, for the contract and the README
  --package                   an adapter package outside the gateway's tree, loaded by name from the
                              departments file ("adapterPackage"), instead of a folder in adapters/
  -h, --help                  this text`;

const ADAPTER_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const DEPARTMENT_CODE = /^[A-Z][A-Z0-9_]{1,15}$/;
// The same rule as the contract catalogue's resource codes (gateway/contracts/catalogue-data.ts).
const RESOURCE_CODE = /^[a-z][a-z0-9]*(\.[a-z0-9][a-z0-9-]*)+$/;
const CERTIFICATE_TYPE = /^[a-z][a-z0-9_]{1,99}$/;
/** Folders under adapters/ that are not department systems. */
const RESERVED_NAMES = new Set(['sdk', 'cli', 'testing', 'templates', 'index', 'node-modules']);
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function defaultCertificateType(resource: string): string {
  return resource.replace(/[.-]/g, '_');
}

/** Every problem with the request, in the user's terms; empty when it can be generated. */
export function checkRequest(request: NewAdapterRequest): string[] {
  const problems: string[] = [];
  const { name, department, resource } = request;
  if (!ADAPTER_NAME.test(name) || name.length < 3 || name.length > 40) {
    problems.push(
      `the adapter name "${name}" is not valid: use lower-case letters and digits in words joined by single hyphens, starting with a letter, 3–40 characters (e.g. cab-marriage)`,
    );
  } else if (RESERVED_NAMES.has(name)) {
    problems.push(
      `the adapter name "${name}" is reserved (adapters/${name} is not a department system); choose another`,
    );
  }
  if (!DEPARTMENT_CODE.test(department)) {
    problems.push(
      `the department code "${department}" is not valid: upper-case letters, digits and _ (2–16), starting with a letter, e.g. PSB`,
    );
  }
  if (!RESOURCE_CODE.test(resource) || resource.length > 100) {
    problems.push(
      `the resource code "${resource}" is not valid: dotted lower-case words, e.g. psb.population (at most 100 characters)`,
    );
  }
  // The default is derived from the resource code, so it is only worth checking when given.
  const certificateType = request.certificateType;
  if (certificateType !== undefined && !CERTIFICATE_TYPE.test(certificateType)) {
    problems.push(
      `the certificate type "${certificateType}" is not valid: a gateway material-type code, lower-case letters, digits and _ (e.g. business_licence)`,
    );
  }
  if (request.holderKind !== undefined && request.holderKind !== 'person' && request.holderKind !== 'organisation') {
    problems.push(`the holder kind "${String(request.holderKind)}" is not valid: person or organisation`);
  }
  if (request.title !== undefined) {
    const title = request.title;
    if (
      title.trim() === '' ||
      title.length > 120 ||
      CONTROL_CHARACTERS.test(title) ||
      title.includes('*/') ||
      title.includes('`')
    ) {
      problems.push('the title must be 1–120 characters on one line, without "*/" or backquotes');
    }
  }
  return problems;
}

/** Reads the command line (everything after the script). Throws NewAdapterError for bad usage. */
export function parseArguments(argv: readonly string[]): NewAdapterRequest | 'help' {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    throw new NewAdapterError([error instanceof Error ? error.message : String(error)]);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const problems: string[] = [];
  if (positionals.length !== 1)
    problems.push(
      positionals.length === 0
        ? 'the adapter name is missing'
        : `one adapter name expected, got ${positionals.join(' ')}`,
    );
  if (values.department === undefined) problems.push('--department <CODE> is missing');
  if (values.resource === undefined) problems.push('--resource <resource.code> is missing');
  if (values.holder !== undefined && values.holder !== 'person' && values.holder !== 'organisation') {
    problems.push(`--holder must be person or organisation, not "${values.holder}"`);
  }
  if (problems.length > 0) throw new NewAdapterError(problems);
  return {
    name: positionals[0] ?? '',
    department: values.department ?? '',
    resource: values.resource ?? '',
    ...(values['certificate-type'] === undefined ? {} : { certificateType: values['certificate-type'] }),
    ...(values.holder === undefined ? {} : { holderKind: values.holder as HolderKind }),
    ...(values.title === undefined ? {} : { title: values.title }),
    ...(values.package ? { asPackage: true } : {}),
  };
}

function parseCommandLine(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      department: { type: 'string' },
      resource: { type: 'string' },
      'certificate-type': { type: 'string' },
      holder: { type: 'string' },
      title: { type: 'string' },
      package: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** `relative` with forward slashes and a leading `./` when it does not climb. */
function importPath(fromDirectory: string, to: string): string {
  const path = relative(fromDirectory, to).split(sep).join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

function repositoryPath(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}

/** A single-quoted TypeScript string literal. */
function tsString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}

interface SeedRecord {
  certificateNumber: string;
  holderName: string;
  holderIdentifier: string;
  issuingAuthority: string;
  issueDate: string;
  validFrom: string;
  validUntil: string | null;
  status: 'valid' | 'revoked';
}

/**
 * Seed holders with valid identifiers (the gateway refuses invalid ones before calling), shared
 * with the demo's other departments so one demo person can be followed across systems.
 */
function seedFor(
  holderKind: HolderKind,
  department: string,
): { records: SeedRecord[]; unknownHolder: string; unknownName: string } {
  const authority = `${department} issuing office (simulated)`;
  if (holderKind === 'organisation') {
    return {
      records: [
        {
          certificateNumber: `${department}-2024-000001`,
          holderName: '杭州西湖云栖科技有限公司',
          holderIdentifier: '91330106MA2B7K1Q20',
          issuingAuthority: authority,
          issueDate: '2024-03-15',
          validFrom: '2024-03-15',
          validUntil: null,
          status: 'valid',
        },
        {
          certificateNumber: `${department}-2023-000417`,
          holderName: '北京朝阳晨光餐饮管理有限公司',
          holderIdentifier: '91110105MA01C8XN3W',
          issuingAuthority: authority,
          issueDate: '2023-07-01',
          validFrom: '2023-07-01',
          validUntil: '2028-06-30',
          status: 'valid',
        },
        {
          certificateNumber: `${department}-2019-000033`,
          holderName: '宁波北仑甬港物流有限公司',
          holderIdentifier: '91330206MA2GW4E85T',
          issuingAuthority: authority,
          issueDate: '2019-01-10',
          validFrom: '2019-01-10',
          validUntil: '2024-01-09',
          status: 'revoked',
        },
      ],
      unknownHolder: '91330102MA2D9F6R18',
      unknownName: '未登记有限公司',
    };
  }
  return {
    records: [
      {
        certificateNumber: `${department}-2024-000001`,
        holderName: '张三',
        holderIdentifier: '11010519491231002X',
        issuingAuthority: authority,
        issueDate: '2024-03-15',
        validFrom: '2024-03-15',
        validUntil: null,
        status: 'valid',
      },
      {
        certificateNumber: `${department}-2023-000417`,
        holderName: '李梅',
        holderIdentifier: '330106198503150120',
        issuingAuthority: authority,
        issueDate: '2023-07-01',
        validFrom: '2023-07-01',
        validUntil: '2028-06-30',
        status: 'valid',
      },
      {
        certificateNumber: `${department}-2019-000033`,
        holderName: '王建国',
        holderIdentifier: '320102197807120033',
        issuingAuthority: authority,
        issueDate: '2019-01-10',
        validFrom: '2019-01-10',
        validUntil: '2024-01-09',
        status: 'revoked',
      },
    ],
    unknownHolder: '11010119800101007X',
    unknownName: '某某',
  };
}

function seedRecordsSource(records: readonly SeedRecord[]): string {
  return records
    .map((record) => {
      const fields = Object.entries(record).map(
        ([key, value]) => `    ${key}: ${value === null ? 'null' : tsString(value)},`,
      );
      return `  {\n${fields.join('\n')}\n  },`;
    })
    .join('\n');
}

/** The command that generates this request again, for the generated README. */
function commandLineOf(request: NewAdapterRequest): string {
  const quote = (value: string) => (/^[\w.@%+=:,/-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`);
  const parts = [
    'npm run new-adapter',
    request.name,
    '--',
    '--department',
    request.department,
    '--resource',
    request.resource,
  ];
  if (request.certificateType !== undefined) parts.push('--certificate-type', request.certificateType);
  if (request.holderKind !== undefined) parts.push('--holder', request.holderKind);
  if (request.title !== undefined) parts.push('--title', quote(request.title));
  if (request.asPackage) parts.push('--package');
  return parts.join(' ');
}

const PLACEHOLDER = /\{\{(\w+)\}\}/g;

/** Fills `{{name}}` placeholders in one pass (values are not scanned again); unknown names are a bug. */
function fill(template: string, values: Readonly<Record<string, string>>, templateName: string): string {
  return template.replace(PLACEHOLDER, (_match, key: string) => {
    const value = values[key];
    if (value === undefined)
      throw new Error(`template ${templateName} uses {{${key}}}, which the generator does not provide`);
    return value;
  });
}

/** Resource codes the contracts folder already describes, with the file of each. */
async function describedResources(contractsDirectory: string): Promise<Map<string, string>> {
  const described = new Map<string, string>();
  for (const file of await findContractFiles(contractsDirectory)) {
    try {
      const text = await readFile(file, 'utf8');
      const document: unknown = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 20 });
      const info =
        typeof document === 'object' && document !== null ? (document as { info?: unknown }).info : undefined;
      const catalogue =
        typeof info === 'object' && info !== null
          ? (info as Record<string, unknown>)['x-onewindow-catalogue']
          : undefined;
      const code =
        typeof catalogue === 'object' && catalogue !== null
          ? (catalogue as { resourceCode?: unknown }).resourceCode
          : undefined;
      if (typeof code === 'string') described.set(code, file);
    } catch {
      // A contract this scan cannot read is the contract checks' business, not the generator's.
    }
  }
  return described;
}

/** The SDK as an adapter package imports it: the gateway provides this one copy at run time. */
const SDK_PACKAGE = '@onewindow/adapter-sdk';

function packageFolderOf(name: string): string {
  return `adapter-${name}`;
}

function packageNameOf(name: string): string {
  return `@onewindow/adapter-${name}`;
}

/**
 * A package imports the SDK by its package name and the exports it has: the root for everything,
 * `/conformance` for the suite, `/testing/<file>` for test helpers (templates name SDK files).
 */
function sdkByPackageName(text: string): string {
  return text
    .replaceAll(`'${SDK_PACKAGE}/conformance.js'`, `'${SDK_PACKAGE}/conformance'`)
    .replace(new RegExp(`'${SDK_PACKAGE}/testing/([\\w-]+)\\.js'`, 'g'), `'${SDK_PACKAGE}/testing/$1'`)
    .replace(new RegExp(`'${SDK_PACKAGE}/[\\w-]+\\.js'`, 'g'), `'${SDK_PACKAGE}'`);
}

export async function generateAdapter(
  request: NewAdapterRequest,
  locations: GenerateLocations = repositoryLocations,
): Promise<GeneratedAdapter> {
  const problems = checkRequest(request);
  if (problems.length > 0) throw new NewAdapterError(problems);
  const { name, department, resource } = request;
  const holderKind = request.holderKind ?? 'person';
  const certificateType = request.certificateType ?? defaultCertificateType(resource);
  const title = request.title?.trim() ?? `${department} ${resource}`;
  const departmentLower = department.toLowerCase();

  const packagesDirectory = locations.packagesDirectory ?? join(locations.repositoryRoot, 'packages');
  const adapterDirectory = request.asPackage
    ? join(packagesDirectory, packageFolderOf(name))
    : join(locations.adaptersDirectory, name);
  const contractDirectory = join(locations.contractsDirectory, departmentLower);
  const contractFile = join(contractDirectory, `${resource}.openapi.yaml`);
  const typesFile = typesFileFor(contractFile);
  const show = (path: string) => repositoryPath(locations.repositoryRoot, path);

  // Everything that would be overwritten or duplicated is refused before anything is written.
  const collisions: string[] = [];
  const parentDirectory = request.asPackage ? packagesDirectory : locations.adaptersDirectory;
  if (!existsSync(parentDirectory)) collisions.push(`the folder ${show(parentDirectory)} does not exist`);
  if (existsSync(adapterDirectory))
    collisions.push(
      `${show(adapterDirectory)} exists already; the generator never overwrites (choose another name or remove the folder)`,
    );
  for (const file of [contractFile, typesFile])
    if (existsSync(file)) collisions.push(`${show(file)} exists already; the generator never overwrites`);
  const describedBy = (await describedResources(locations.contractsDirectory)).get(resource);
  if (describedBy !== undefined && describedBy !== contractFile) {
    collisions.push(
      `the resource ${resource} is described by ${show(describedBy)} already; a resource has one contract (choose another resource code)`,
    );
  }
  if (collisions.length > 0) throw new NewAdapterError(collisions);

  const seed = seedFor(holderKind, department);
  const values: Record<string, string> = {
    kind: name,
    camel: camelCase(name),
    Pascal: camelCase(name).replace(/^[a-z]/, (letter) => letter.toUpperCase()),
    snake: name.replace(/-/g, '_'),
    DEPARTMENT: department,
    departmentLower,
    resource,
    certificateType,
    subjectKind: holderKind,
    holderIdentifierName: holderKind === 'person' ? 'resident ID number' : 'unified social credit code',
    titleComment: title,
    titleMarkdown: title,
    titleYaml: JSON.stringify(title),
    titleJson: JSON.stringify(title),
    descriptionLiteral: tsString(`${title}: ${certificateType} certificates and health.`),
    sdk: request.asPackage ? SDK_PACKAGE : importPath(adapterDirectory, locations.sdkDirectory),
    packageName: packageNameOf(name),
    packageFileRows: request.asPackage
      ? '| `package.json` | the npm package: its name, the SDK as a peer, the adapter interface it was built for |\n' +
        '| `index.ts` | the package entry: exports `adapter` (the factory the gateway loads) |\n'
      : '',
    registerStep: request.asPackage
      ? `5. Link the package into the workspace: \`npm install\`; then \`npm run adapters:conformance -- ${packageNameOf(name)}\`\n` +
        '   runs the SDK conformance suite on it, loaded exactly as the gateway loads it at start.'
      : `5. Register the kind in \`adapters/index.ts\`:\n   \`import { ${camelCase(name)}Adapter } from './${name}/adapter.js';\`` +
        ` and add \`registerAdapter(${camelCase(name)}Adapter)\` to the list.`,
    adapterEntry: request.asPackage ? `"adapterPackage": "${packageNameOf(name)}"` : `"adapter": "${name}"`,
    typesFromAdapter: importPath(adapterDirectory, typesFile).replace(/\.ts$/, '.js'),
    contractFromAdapter: importPath(adapterDirectory, contractFile),
    contractRepoPath: show(contractFile),
    typesRepoPath: show(typesFile),
    adapterRepoPath: show(adapterDirectory),
    seedRecords: seedRecordsSource(seed.records),
    unknownHolder: seed.unknownHolder,
    unknownName: seed.unknownName,
    commandLine: commandLineOf(request),
    subjectOfBody:
      holderKind === 'person'
        ? "{ kind: 'person', idNumber: identifier, name }"
        : "{ kind: 'organisation', creditCode: identifier, name }",
  };

  const adapterFiles: [template: string, file: string][] = [
    ['protocol.ts.template', 'protocol.ts'],
    ['adapter.ts.template', 'adapter.ts'],
    ['seed.ts.template', 'seed.ts'],
    ['simulator.ts.template', 'simulator.ts'],
    ['run-simulator.ts.template', 'run-simulator.ts'],
    ['conformance.ts.template', 'conformance.ts'],
    ['adapter.test.ts.template', `${name}.test.ts`],
    ['README.md.template', 'README.md'],
    ...(request.asPackage
      ? ([
          ['package.json.template', 'package.json'],
          ['index.ts.template', 'index.ts'],
        ] satisfies [string, string][])
      : []),
  ];
  const rendered = await Promise.all(
    adapterFiles.map(async ([template, file]) => {
      const text = fill(await readFile(join(templatesDirectory, template), 'utf8'), values, template);
      return [join(adapterDirectory, file), request.asPackage ? sdkByPackageName(text) : text] as const;
    }),
  );
  const contractText = fill(
    await readFile(join(templatesDirectory, 'contract.openapi.yaml.template'), 'utf8'),
    values,
    'contract.openapi.yaml.template',
  );

  const written: string[] = [];
  let createdContractDirectory = false;
  let createdAdapterDirectory = false;
  try {
    // Not recursive: a folder that appeared since the check above makes this fail, not merge.
    await mkdir(adapterDirectory);
    createdAdapterDirectory = true;
    if (!existsSync(contractDirectory)) {
      await mkdir(contractDirectory, { recursive: true });
      createdContractDirectory = true;
    }
    // `wx`: fail rather than overwrite a file that appeared meanwhile.
    await writeFile(contractFile, contractText, { flag: 'wx' });
    written.push(contractFile);
    await writeFile(typesFile, await renderContractTypes(contractFile), { flag: 'wx' });
    written.push(typesFile);
    for (const [file, text] of rendered) {
      await writeFile(file, text, { flag: 'wx' });
      written.push(file);
    }
  } catch (error) {
    // Leave nothing half-generated behind (only what this run created).
    for (const file of written) await rm(file, { force: true });
    if (createdAdapterDirectory) await rm(adapterDirectory, { recursive: true, force: true });
    if (createdContractDirectory) await rm(contractDirectory, { recursive: true, force: true });
    throw error;
  }
  return { adapterDirectory, contractFile, typesFile, files: written };
}

/** What to do next, printed after a successful run. */
export function nextSteps(request: NewAdapterRequest, generated: GeneratedAdapter, root: string): string {
  const adapterPath = repositoryPath(root, generated.adapterDirectory);
  const contractPath = repositoryPath(root, generated.contractFile);
  const camel = camelCase(request.name);
  const packageName = packageNameOf(request.name);
  return [
    `Next (adapters/README.md walks through each step):`,
    `  1. Describe the real system in ${contractPath} (and its catalogue data), then: npm run contracts:types`,
    `  2. Work through the TODOs: grep -rn 'TODO(${request.department})' ${adapterPath} ${contractPath}`,
    `  3. Test: npx vitest run ${adapterPath}   and   npx tsc --noEmit -p .`,
    ...(request.asPackage
      ? [
          `  4. Link the package into the workspace: npm install   (then npm run adapters:conformance -- ${packageName})`,
          `  5. Configure the department in DEPARTMENTS_FILE with "adapterPackage": "${packageName}" (see ${adapterPath}/README.md)`,
        ]
      : [
          `  4. Register it in adapters/index.ts: import { ${camel}Adapter } from './${request.name}/adapter.js'; … registerAdapter(${camel}Adapter)`,
          `  5. Configure the department in DEPARTMENTS_FILE (see ${adapterPath}/README.md)`,
        ]),
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  let request: NewAdapterRequest | 'help';
  try {
    request = parseArguments(argv);
  } catch (error) {
    if (!(error instanceof NewAdapterError)) throw error;
    process.stderr.write(`${error.problems.map((problem) => `new-adapter: ${problem}`).join('\n')}\n\n${usage}\n`);
    return 1;
  }
  if (request === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    const generated = await generateAdapter(request);
    const listing = generated.files.map((file) => `  ${repositoryPath(repositoryRoot, file)}`).join('\n');
    process.stdout.write(
      `Generated adapter ${request.name} for ${request.department} (resource ${request.resource}):\n${listing}\n\n${nextSteps(request, generated, repositoryRoot)}\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof NewAdapterError)) throw error;
    process.stderr.write(`${error.problems.map((problem) => `new-adapter: ${problem}`).join('\n')}\n`);
    return 1;
  }
}

// Run only as a command, so tests can import the generator.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  process.exitCode = await main(process.argv.slice(2));
